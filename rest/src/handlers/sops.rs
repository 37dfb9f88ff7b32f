//! SOPs and their versions: listing, reading, deploying.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sopflow_core::auth::ADMIN;
use sopflow_core::queries;
use sopflow_core::registry::DeployError;

use super::store_error;
use crate::dto;
use crate::extract::Caller;
use crate::problem::{FieldError, Problem};
use crate::state::AppState;

/// The SOPs with their versions, and refused definition files.
#[utoipa::path(get, path = "/sops", security(("bearer" = [])), responses((status = 200, body = dto::SopList)))]
pub async fn list_sops(
    State(state): State<AppState>,
    _user: Caller,
) -> Result<Json<dto::SopList>, Problem> {
    let sops = queries::sop_catalog(&state.runtime).await?;
    let refused_files = state
        .runtime
        .registry
        .file_problems()
        .into_iter()
        .map(|f| dto::RefusedFile {
            file: f.file,
            problems: f.problems,
        })
        .collect();
    Ok(Json(dto::SopList {
        sops: sops.into_iter().map(dto::SopSummary::from).collect(),
        refused_files,
    }))
}

/// One SOP's versions.
#[utoipa::path(get, path = "/sops/{id}", security(("bearer" = [])), responses((status = 200, body = dto::SopSummary), (status = 404, body = Problem)))]
pub async fn get_sop(
    State(state): State<AppState>,
    _user: Caller,
    Path(id): Path<String>,
) -> Result<Json<dto::SopSummary>, Problem> {
    let entry = queries::sop_entry(&state.runtime, &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no SOP `{id}`")))?;
    Ok(Json(entry.into()))
}

/// One version: its YAML and its flowchart.
#[utoipa::path(get, path = "/sops/{id}/versions/{version}", security(("bearer" = [])), responses((status = 200, body = dto::SopVersionDetail), (status = 404, body = Problem)))]
pub async fn get_sop_version(
    State(state): State<AppState>,
    _user: Caller,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Json<dto::SopVersionDetail>, Problem> {
    let deployed = state
        .runtime
        .registry
        .get(&state.runtime.store, &id, version)
        .await
        .map_err(store_error)?
        .ok_or_else(|| Problem::not_found(format!("no version {version} of SOP `{id}`")))?;
    Ok(Json(dto::SopVersionDetail {
        sop_id: deployed.sop_id.clone(),
        version: deployed.version,
        content_hash: deployed.content_hash.clone(),
        created_at: deployed.created_at,
        yaml: deployed.yaml.clone(),
        mermaid: sopflow_engine::render::mermaid(deployed.sop.document()),
    }))
}

/// Deploys an SOP (admin). The body is the YAML text.
#[utoipa::path(post, path = "/sops", security(("bearer" = [])), request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = dto::Deployment), (status = 422, body = Problem)))]
pub async fn deploy_sop(
    State(state): State<AppState>,
    user: Caller,
    body: Bytes,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::bad_request("the SOP must be UTF-8 text"))?;
    match state
        .runtime
        .registry
        .deploy(&state.runtime.store, text)
        .await
    {
        Ok(d) => {
            tracing::info!(sop_id = %d.sop_id, version = d.version, user = %user.name, "SOP deployed through the API");
            Ok((
                StatusCode::CREATED,
                Json(dto::Deployment {
                    sop_id: d.sop_id.clone(),
                    version: d.version,
                    content_hash: d.content_hash.clone(),
                }),
            )
                .into_response())
        }
        Err(DeployError::Invalid(problems)) => Err(Problem::unprocessable(
            "invalid-sop",
            "The SOP is invalid",
            format!("{} problems", problems.len()),
        )
        .errors(
            problems
                .iter()
                .map(|p| FieldError {
                    pointer: format!("{}:{}", p.pos.line, p.pos.column),
                    message: p.to_string(),
                })
                .collect(),
        )),
        Err(DeployError::Store(e)) => Err(store_error(e)),
    }
}

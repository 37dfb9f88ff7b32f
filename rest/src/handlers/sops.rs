//! SOPs and their versions: listing, reading, deploying.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sopflow_core::auth::ADMIN;
use sopflow_core::queries;
use sopflow_core::registry::{DeployError, ReleaseError};
use sopflow_core::releases::Releaser;

use super::store_error;
use crate::dto;
use crate::extract::{Caller, JsonBody, now};
use crate::problem::{FieldError, Problem};
use crate::state::AppState;

/// The SOPs with their versions, and refused definition files.
#[utoipa::path(get, path = "/sops", security(("bearer" = [])), responses((status = 200, body = dto::SopList)))]
pub async fn list_sops(
    State(state): State<AppState>,
    _user: Caller,
) -> Result<Json<dto::SopList>, Problem> {
    let sops = queries::sop_catalog(&state.runtime, now()).await?;
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
    let entry = queries::sop_entry(&state.runtime, &id, now())
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeployQuery {
    /// Why it is deployed (recorded with the release; default: "deployed through the API").
    pub reason: Option<String>,
}

/// Deploys an SOP (admin). The body is the YAML text. The version (a new one, or the
/// existing one with the same text: the same text is never numbered twice) is released: new
/// cases start on it now, or from its Tanggal Efektif when that lies ahead.
#[utoipa::path(post, path = "/sops", security(("bearer" = [])), params(DeployQuery), request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = dto::Deployment), (status = 422, body = Problem)))]
pub async fn deploy_sop(
    State(state): State<AppState>,
    user: Caller,
    query: Result<Query<DeployQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let Query(q) = query?;
    if let Some(reason) = &q.reason {
        crate::text::check_reason(reason, "reason", Problem::bad_request)?;
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::bad_request("the SOP must be UTF-8 text"))?;
    let releaser = Releaser {
        source: "api".to_owned(),
        by: user.name.clone(),
        reason: q
            .reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "deployed through the API".to_owned()),
    };
    match state
        .runtime
        .registry
        .deploy(&state.runtime.store, text, &releaser)
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

/// Chooses the version new cases of an SOP start on (admin), at once or from a date, with a
/// reason: a rollback is choosing an earlier version. Recorded with who and why.
#[utoipa::path(post, path = "/sops/{id}/releases", security(("bearer" = [])), request_body = dto::NewRelease,
    responses((status = 201, body = dto::ReleaseView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn release_sop(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
    body: JsonBody<dto::NewRelease>,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let request = body.parse()?.value;
    crate::text::check_reason(&request.reason, "reason", Problem::invalid_body)?;
    let effective = request
        .effective_on
        .as_deref()
        .map(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| Problem::invalid_body("effective_on must be a date, YYYY-MM-DD"))
        })
        .transpose()?;
    let releaser = Releaser {
        source: "api".to_owned(),
        by: user.name.clone(),
        reason: request.reason,
    };
    match state
        .runtime
        .registry
        .release(
            &state.runtime.store,
            &id,
            request.version,
            effective,
            &releaser,
        )
        .await
    {
        Ok(release) => {
            Ok((StatusCode::CREATED, Json(dto::ReleaseView::from(&release))).into_response())
        }
        Err(ReleaseError::NoVersion { .. }) => Err(Problem::not_found(format!(
            "no version {} of SOP `{id}`",
            request.version
        ))),
        Err(ReleaseError::NoReason) => Err(Problem::invalid_body("a release needs a reason")),
        Err(ReleaseError::Store(e)) => Err(store_error(e)),
    }
}

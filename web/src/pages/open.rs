//! Opening a case from a form generated from the SOP (the fields its case schema requires and
//! its first step collects, the first step's documents), and the printable receipt (tanda
//! terima): registration number, queue number when one is given, date, service point,
//! tracking code; never a NIK or a name.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::RuntimeError;
use sopflow_core::queries;
use sopflow_core::registry::Deployed;
use sopflow_core::runtime::CommandRequest;
use sopflow_engine::case::{Command, CommandError, Documents};

use super::now;
use crate::WebState;
use crate::forms::{self, Field, Input};
use crate::people::{Chrome, Officer, Posted};
use crate::view::{self, DocRow};

#[derive(Template)]
#[template(path = "open_choose.html")]
struct ChoosePage {
    c: Chrome,
    sops: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "open_form.html")]
struct OpenPage {
    c: Chrome,
    sop_id: String,
    service: String,
    step_name: String,
    activity: Option<String>,
    fields: Vec<Field>,
    docs: Vec<DocRow>,
    missing: usize,
    general_errors: Vec<String>,
    has_field_errors: bool,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    c: Chrome,
    case_id: String,
    government: String,
    unit: String,
    service: String,
    registration: String,
    queue_number: Option<String>,
    date: String,
    service_point: String,
    tracking_code: String,
    status_url: String,
}

/// `GET /baru`: the services the officer's role opens cases of.
pub async fn choose(State(state): State<WebState>, officer: Officer) -> Response {
    let point = officer.point(&state);
    match queries::openable_sops(&state.runtime, &officer.session.user, &point, now()).await {
        Ok(sops) => {
            let page = ChoosePage {
                c: officer.chrome("/baru", "open"),
                sops: sops
                    .iter()
                    .map(|d| (d.sop_id.clone(), d.sop.document().header.title.clone()))
                    .collect(),
            };
            crate::html(StatusCode::OK, page.render())
        }
        Err(e) => super::errors::runtime(officer.lang, e),
    }
}

/// The SOP `sop_id` on the version new cases start on, if the officer may open its cases.
async fn openable(
    state: &WebState,
    officer: &Officer,
    sop_id: &str,
) -> Result<std::sync::Arc<Deployed>, Response> {
    let lang = officer.lang;
    let deployed = state
        .runtime
        .registry
        .in_force(&state.runtime.store, sop_id, now())
        .await
        .map_err(|e| super::errors::runtime(lang, e.into()))?
        .ok_or_else(|| super::errors::not_found(lang))?;
    let point = officer.point(state);
    if sopflow_core::access::opening_roles(&officer.session.user, &deployed, &point).is_empty() {
        return Err(super::errors::forbidden(lang, lang.msg().open_none));
    }
    Ok(deployed)
}

/// The opening form's fields: what the case schema requires, and what the first step collects.
fn opening_fields(d: &Deployed) -> Vec<Field> {
    let schema = &d.sop.document().case_schema;
    let required = forms::required_fields(schema);
    let mut names = required.clone();
    names.extend(d.sop.step(d.sop.start()).collects.iter().cloned());
    forms::fields(schema, &names, &required, &serde_json::Map::new())
}

fn opening_docs(
    d: &Deployed,
    data: &serde_json::Map<String, serde_json::Value>,
    posted: &[(String, String)],
    m: &crate::i18n::Msg,
) -> Vec<DocRow> {
    match queries::checklist(d, d.sop.start(), data, &Documents::default()) {
        Ok(items) => view::doc_rows(
            &items,
            |i| crate::people::field(posted, &format!("d.{}", i.doc)).is_some(),
            m,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "document condition failed");
            Vec::new()
        }
    }
}

fn render_form(
    officer: &Officer,
    d: &Deployed,
    status: StatusCode,
    fields: Vec<Field>,
    docs: Vec<DocRow>,
    general_errors: Vec<String>,
) -> Response {
    let start = d.sop.step(d.sop.start());
    let page = OpenPage {
        c: officer.chrome(&format!("/baru/{}", d.sop_id), "open"),
        sop_id: d.sop_id.clone(),
        service: d.sop.document().header.title.clone(),
        step_name: start.name.clone(),
        activity: start.activity.clone(),
        has_field_errors: fields.iter().any(|f| f.error.is_some()),
        missing: view::missing_count(&docs),
        fields,
        docs,
        general_errors,
    };
    crate::html(status, page.render())
}

/// `GET /baru/{sop}`.
pub async fn form(
    State(state): State<WebState>,
    officer: Officer,
    Path(sop_id): Path<String>,
) -> Response {
    let d = match openable(&state, &officer, &sop_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let docs = opening_docs(&d, &serde_json::Map::new(), &[], officer.lang.msg());
    render_form(
        &officer,
        &d,
        StatusCode::OK,
        opening_fields(&d),
        docs,
        Vec::new(),
    )
}

/// `POST /baru/{sop}`: opens the case (the API's `POST /cases`), and completes its first step
/// when the officer records it (the file is handed in with the form); then the receipt.
pub async fn submit(
    State(state): State<WebState>,
    Path(sop_id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let lang = officer.lang;
    let m = lang.msg();
    let d = match openable(&state, officer, &sop_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let schema = &d.sop.document().case_schema;
    let mut fields = opening_fields(&d);
    let data = forms::typed_values(schema, &mut fields, &posted.fields);
    let docs: Vec<String> = d
        .sop
        .compiled(d.sop.start())
        .documents
        .iter()
        .map(|&i| d.sop.document().documents[i].id.clone())
        .collect();
    let receipts = forms::ticked_documents(&docs, &posted.fields);
    let actor = officer.session.user.actor();
    let user = &officer.session.user;
    let start = CommandRequest::start(&sop_id, data.clone(), receipts, actor.clone(), now())
        .by(user)
        .at(Some(officer.point(&state)));
    match state.runtime.run(start).await {
        Ok(outcome) => {
            let case_id = outcome.case.state.case_id.clone();
            let first = d.sop.step(d.sop.start());
            if first.kind == sopflow_engine::sop::model::StepKind::Task {
                let complete = Command::CompleteStep {
                    step: first.id.clone(),
                    data: serde_json::Map::new(),
                    documents: Vec::new(),
                    outcome: None,
                };
                // A refusal here (a blocking missing document) leaves the case at its first
                // step, where the case page shows it.
                if let Err(e) = state
                    .runtime
                    .run(CommandRequest::on_case(&case_id, complete, actor, now()).by(user))
                    .await
                {
                    tracing::debug!(error = %e, "first step not completed with the opening");
                }
            }
            Redirect::to(&format!("/berkas/{case_id}/tanda-terima")).into_response()
        }
        Err(RuntimeError::Command {
            error: CommandError::InvalidData { errors },
            ..
        }) => {
            let general = forms::place_errors(&mut fields, &errors, m);
            let docs = opening_docs(&d, &data, &posted.fields, m);
            render_form(
                officer,
                &d,
                StatusCode::UNPROCESSABLE_ENTITY,
                fields,
                docs,
                general,
            )
        }
        Err(RuntimeError::Command {
            error: CommandError::WrongRole { .. } | CommandError::MayNotStart { .. },
            ..
        }) => super::errors::forbidden(lang, m.open_none),
        Err(RuntimeError::Command { error, .. }) => {
            let docs = opening_docs(&d, &data, &posted.fields, m);
            render_form(
                officer,
                &d,
                StatusCode::UNPROCESSABLE_ENTITY,
                fields,
                docs,
                vec![format!("{}: {error}", m.err_invalid)],
            )
        }
        Err(e) => super::errors::runtime(lang, e),
    }
}

/// `POST /baru/{sop}/dokumen`: the opening checklist for the form as it is now (htmx).
pub async fn checklist(
    State(state): State<WebState>,
    Path(sop_id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let d = match openable(&state, officer, &sop_id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut fields = opening_fields(&d);
    let data = forms::typed_values(&d.sop.document().case_schema, &mut fields, &posted.fields);
    let docs = opening_docs(&d, &data, &posted.fields, officer.lang.msg());
    let update = super::case::ChecklistUpdate {
        c: officer.chrome("/baru", "open"),
        missing: view::missing_count(&docs),
        docs,
    };
    crate::html(StatusCode::OK, update.render())
}

/// `GET /berkas/{id}/tanda-terima`: the receipt, printable.
pub async fn receipt(
    State(state): State<WebState>,
    officer: Officer,
    Path(id): Path<String>,
) -> Response {
    let lang = officer.lang;
    let loaded = match state.runtime.load_for(&officer.session.user, &id).await {
        Ok((l, _)) => l,
        Err(e) => return super::errors::runtime(lang, e),
    };
    let point = match sopflow_core::counters::point(&state.runtime, &loaded.service_point).await {
        Ok(p) => p,
        Err(e) => return super::errors::query(lang, e),
    };
    let refs =
        match queries::receipt_references(&state.runtime, &officer.session.user, &loaded).await {
            Ok(Some(refs)) => refs,
            Ok(None) => return super::errors::not_found(lang),
            Err(e) => return super::errors::query(lang, e),
        };
    let header = &loaded.deployed.sop.document().header;
    let local = loaded.state.started_at.to_offset(point.utc_offset);
    let date = local
        .format(time::macros::format_description!(
            "[day]-[month]-[year] [hour]:[minute] (UTC[offset_hour sign:mandatory]:[offset_minute])"
        ))
        .unwrap_or_default();
    let page = ReceiptPage {
        c: officer.chrome(&format!("/berkas/{id}/tanda-terima"), "desk"),
        case_id: id,
        government: header.government.clone(),
        unit: header.unit.clone(),
        service: header.title.clone(),
        registration: refs.registration_number,
        queue_number: loaded.state.queue_number.clone(),
        date,
        service_point: point.name.clone(),
        tracking_code: sopflow_core::codes::display_tracking_code(&refs.tracking_code),
        status_url: format!("{}/status", state.config.public_url.trim_end_matches('/')),
    };
    crate::html(StatusCode::OK, page.render())
}

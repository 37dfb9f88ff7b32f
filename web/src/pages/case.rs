//! A case and the form of its current step: generated from the SOP (the fields the step
//! collects, typed from the case schema; its documents, checked with the SOP's conditions as
//! the form changes; its outcomes as buttons), posted as the same `CompleteStep` command the
//! API sends, with the server's errors beside their fields.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Map;
use sopflow_core::access::Sight;
use sopflow_core::queries::{self, ChecklistItem};
use sopflow_core::runtime::{CommandRequest, LoadedCase};
use sopflow_core::{RuntimeError, registry::Deployed};
use sopflow_engine::case::{CaseState, Command, CommandError, DocumentReceipt};
use sopflow_engine::sop::model::StepKind;

use super::now;
use crate::WebState;
use crate::forms::{self, Field, Input};
use crate::i18n::Msg;
use crate::people::{Chrome, Officer, Posted};
use crate::view::{self, DataRow, DocRow};

/// The current step as the page shows it.
pub struct StepView {
    pub id: String,
    pub name: String,
    pub activity: Option<String>,
    pub output: Option<String>,
    pub actor: String,
    pub urgency: &'static str,
    pub time_left: String,
    /// Whether the officer's role records this step here.
    pub may_record: bool,
    /// Why not, in words.
    pub why_not: String,
    pub outcomes: Vec<String>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    c: Chrome,
    case_id: String,
    registration: String,
    service: String,
    status: &'static str,
    queue_number: Option<String>,
    version: u64,
    step: Option<StepView>,
    incident: Option<String>,
    fields: Vec<Field>,
    docs: Vec<DocRow>,
    missing: usize,
    general_errors: Vec<String>,
    has_field_errors: bool,
    conflict: Option<String>,
    data: Vec<DataRow>,
}

#[derive(Template)]
#[template(path = "checklist_update.html")]
pub struct ChecklistUpdate {
    pub c: Chrome,
    pub docs: Vec<DocRow>,
    pub missing: usize,
}

/// The step `state` is at, when it is one a person may record (a task, or a service step
/// answered by hand) and the case is open.
/// The officer's roles at the case's service point.
fn roles_at<'a>(officer: &'a Officer, loaded: &'a LoadedCase) -> Vec<&'a str> {
    officer
        .session
        .user
        .roles_at(&loaded.service_point)
        .collect()
}

fn current_index(d: &Deployed, state: &CaseState) -> Option<usize> {
    if state.status.is_closed() {
        return None;
    }
    state
        .current_step
        .as_deref()
        .and_then(|s| d.sop.step_index(s))
}

fn step_view(
    web: &WebState,
    d: &Deployed,
    state: &CaseState,
    roles: &[&str],
    m: &Msg,
) -> Option<StepView> {
    let idx = current_index(d, state)?;
    let step = d.sop.step(idx);
    let (urgency, time_left) = view::time_left(d, state, now(), m);
    let records = roles.iter().any(|r| d.sop.may_record(idx, r));
    let open = state.status == sopflow_engine::case::CaseStatus::Open && !state.current_completed;
    // A service step gets a form only when its adapter is answered by hand.
    let by_hand = match step.kind {
        StepKind::Task => true,
        StepKind::Service => step
            .adapter
            .as_deref()
            .and_then(|a| d.sop.document().adapters.iter().find(|def| def.id == a))
            .is_some_and(|def| web.adapters.is_manual(def)),
        _ => false,
    };
    let why_not = match step.kind {
        StepKind::Queue => m.waiting_queue.to_owned(),
        _ if !records => format!("{} {}.", m.other_role_step, d.sop.recorders(idx).join(", ")),
        StepKind::Service => format!(
            "{} {}.",
            m.waiting_adapter,
            step.adapter.clone().unwrap_or_default()
        ),
        _ => String::new(),
    };
    let actor = d
        .sop
        .document()
        .actor(&step.actor)
        .map(|a| a.name.clone())
        .unwrap_or_else(|| step.actor.clone());
    Some(StepView {
        id: step.id.clone(),
        name: step.name.clone(),
        activity: step.activity.clone(),
        output: step.output.clone(),
        actor,
        urgency: urgency.class(),
        time_left,
        may_record: open && records && by_hand,
        why_not,
        outcomes: step.outcomes.clone(),
    })
}

/// The fields of the step's form, with the case's values.
fn step_fields(d: &Deployed, state: &CaseState, idx: usize) -> Vec<Field> {
    let schema = &d.sop.document().case_schema;
    forms::fields(
        schema,
        &d.sop.step(idx).collects,
        &forms::required_fields(schema),
        &state.data,
    )
}

/// The checklist of step `idx` for `data`, ticked as `ticked` says.
fn doc_rows(
    d: &Deployed,
    state: &CaseState,
    idx: usize,
    data: &Map<String, serde_json::Value>,
    ticked: impl Fn(&ChecklistItem) -> bool,
    m: &Msg,
) -> Vec<DocRow> {
    match queries::checklist(d, idx, data, &state.documents) {
        Ok(items) => view::doc_rows(&items, ticked, m),
        Err(e) => {
            tracing::warn!(error = %e, "document condition failed");
            Vec::new()
        }
    }
}

struct Extra {
    fields: Option<Vec<Field>>,
    docs: Option<Vec<DocRow>>,
    general_errors: Vec<String>,
    conflict: Option<String>,
}

fn render(
    web: &WebState,
    officer: &Officer,
    (loaded, sight): (&LoadedCase, Sight),
    status: StatusCode,
    extra: Extra,
    refs_registration: Option<String>,
) -> Response {
    let d = &loaded.deployed;
    let state = &loaded.state;
    let m = officer.lang.msg();
    let roles = roles_at(officer, loaded);
    let step = step_view(web, d, state, &roles, m);
    let idx = current_index(d, state);
    let (fields, docs) = match (idx, step.as_ref().is_some_and(|s| s.may_record)) {
        (Some(idx), true) => (
            extra.fields.unwrap_or_else(|| step_fields(d, state, idx)),
            extra
                .docs
                .unwrap_or_else(|| doc_rows(d, state, idx, &state.data, |i| i.received, m)),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let path = format!("/berkas/{}", state.case_id);
    let page = CasePage {
        c: officer.chrome(&path, "desk"),
        case_id: state.case_id.clone(),
        registration: state
            .registration_number
            .clone()
            .or(refs_registration)
            .unwrap_or_default(),
        service: d.sop.document().header.title.clone(),
        status: view::status_text(state.status, m),
        queue_number: state.queue_number.clone(),
        version: state.version,
        incident: state.incident.clone(),
        has_field_errors: fields.iter().any(|f| f.error.is_some()),
        missing: view::missing_count(&docs),
        fields,
        docs,
        general_errors: extra.general_errors,
        conflict: extra.conflict,
        data: view::data_rows(d, state, sight.personal(), m),
        step,
    };
    crate::html(status, page.render())
}

/// `GET /berkas/{id}`.
pub async fn page(
    State(state): State<WebState>,
    officer: Officer,
    Path(id): Path<String>,
) -> Response {
    match state.runtime.load_for(&officer.session.user, &id).await {
        Ok((loaded, sight)) => render(
            &state,
            &officer,
            (&loaded, sight),
            StatusCode::OK,
            Extra {
                fields: None,
                docs: None,
                general_errors: Vec::new(),
                conflict: None,
            },
            None,
        ),
        Err(e) => super::errors::runtime(officer.lang, e),
    }
}

/// Receipts for what the posted checklist changed: ticked documents not yet held are handed
/// in; held ones unticked are recorded as missing.
fn receipts(
    d: &Deployed,
    state: &CaseState,
    idx: usize,
    fields: &[(String, String)],
) -> Vec<DocumentReceipt> {
    let docs: Vec<String> = d
        .sop
        .compiled(idx)
        .documents
        .iter()
        .map(|&i| d.sop.document().documents[i].id.clone())
        .collect();
    let ticked = forms::ticked_documents(&docs, fields);
    docs.iter()
        .filter_map(|doc| {
            let now_ticked = ticked.iter().any(|r| r.doc == *doc);
            let held = state.documents.get(doc).is_some_and(|r| r.received);
            (now_ticked != held).then(|| DocumentReceipt {
                doc: doc.clone(),
                number: None,
                received: now_ticked,
                sha256: None,
            })
        })
        .collect()
}

/// `POST /berkas/{id}/langkah/{step}`: completes the step through the runtime, as the API's
/// `POST /cases/{id}/steps/{step}/complete` does.
pub async fn complete(
    State(state): State<WebState>,
    Path((id, step_id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let lang = officer.lang;
    let m = lang.msg();
    let (loaded, sight) = match state.runtime.load_for(&officer.session.user, &id).await {
        Ok(l) => l,
        Err(e) => return super::errors::runtime(lang, e),
    };
    let d = &loaded.deployed;
    let Some(idx) = d.sop.step_index(&step_id) else {
        return super::errors::not_found(lang);
    };
    let schema = &d.sop.document().case_schema;
    let mut fields = step_fields(d, &loaded.state, idx);
    let data = forms::typed_values(schema, &mut fields, &posted.fields);
    let documents = receipts(d, &loaded.state, idx, &posted.fields);
    let expected = posted.get("versi").and_then(|v| v.parse::<u64>().ok());
    let command = Command::CompleteStep {
        step: step_id.clone(),
        data,
        documents,
        outcome: posted.get("outcome").map(str::to_owned),
    };
    let request = CommandRequest::on_case(&id, command, officer.session.user.actor(), now())
        .by(&officer.session.user)
        .expected_version(expected);
    let error = match state.runtime.run(request).await {
        Ok(outcome) => {
            // The next step is this officer's too (e.g. hand-in, then verification): stay.
            let next = step_view(
                &state,
                &outcome.case.deployed,
                &outcome.case.state,
                &roles_at(officer, &outcome.case),
                m,
            );
            let target = if next.is_some_and(|s| s.may_record) {
                format!("/berkas/{id}")
            } else {
                format!("/meja?selesai={id}")
            };
            return Redirect::to(&target).into_response();
        }
        Err(e) => e,
    };
    // Refused: the page again, with what the officer entered and why.
    let ticked_docs: Vec<String> = forms::ticked_documents(
        &d.sop
            .compiled(idx)
            .documents
            .iter()
            .map(|&i| d.sop.document().documents[i].id.clone())
            .collect::<Vec<_>>(),
        &posted.fields,
    )
    .into_iter()
    .map(|r| r.doc)
    .collect();
    let mut merged = loaded.state.data.clone();
    merged.extend(forms::typed_values(
        schema,
        &mut fields.clone(),
        &posted.fields,
    ));
    let docs = doc_rows(
        d,
        &loaded.state,
        idx,
        &merged,
        |i| ticked_docs.contains(&i.doc),
        m,
    );
    let mut extra = Extra {
        fields: None,
        docs: Some(docs),
        general_errors: Vec::new(),
        conflict: None,
    };
    let status = match error {
        RuntimeError::Command {
            error,
            current_step,
            ..
        } => match error {
            CommandError::InvalidData { errors } => {
                extra.general_errors = forms::place_errors(&mut fields, &errors, m);
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CommandError::MissingDocuments { missing } => {
                let names: Vec<String> = missing
                    .iter()
                    .map(|doc| {
                        d.sop
                            .document()
                            .document(doc)
                            .map(|def| def.name.clone())
                            .unwrap_or_else(|| doc.clone())
                    })
                    .collect();
                extra
                    .general_errors
                    .push(format!("{} {}", m.err_missing_docs, names.join(", ")));
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CommandError::FieldsNotAllowed { fields: names, .. } => {
                extra.general_errors.push(format!(
                    "{} {}",
                    m.err_not_allowed_fields,
                    names.join(", ")
                ));
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CommandError::WrongRole { .. } => {
                return super::errors::forbidden(lang, m.wrong_role);
            }
            CommandError::InvalidOutcome { .. } | CommandError::UnknownDocument { .. } => {
                extra.general_errors.push(m.err_invalid.to_owned());
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => {
                extra.conflict = Some(conflict_text(d, current_step, m));
                StatusCode::CONFLICT
            }
        },
        RuntimeError::Conflict { current_step, .. } => {
            extra.conflict = Some(conflict_text(d, current_step, m));
            StatusCode::CONFLICT
        }
        other => return super::errors::runtime(lang, other),
    };
    extra.fields = Some(fields);
    // The page shows the case as it is now (another officer may have moved it on).
    let current = state
        .runtime
        .load_for(&officer.session.user, &id)
        .await
        .unwrap_or((loaded, sight));
    if status == StatusCode::CONFLICT {
        extra.fields = None;
        extra.docs = None;
    }
    render(
        &state,
        officer,
        (&current.0, current.1),
        status,
        extra,
        None,
    )
}

fn conflict_text(d: &Deployed, current_step: Option<String>, m: &Msg) -> String {
    let name = current_step
        .as_deref()
        .and_then(|s| d.sop.document().step(s))
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "-".to_owned());
    format!("{} {name}.", m.conflict)
}

/// `POST /berkas/{id}/dokumen`: the checklist's statuses for the form as it is now (htmx, on
/// every change): which documents the SOP requires for the values entered.
pub async fn checklist(
    State(state): State<WebState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let loaded = match state.runtime.load_for(&officer.session.user, &id).await {
        Ok((l, _)) => l,
        Err(e) => return super::errors::runtime(officer.lang, e),
    };
    let d = &loaded.deployed;
    let Some(idx) = current_index(d, &loaded.state) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut fields = step_fields(d, &loaded.state, idx);
    let mut data = loaded.state.data.clone();
    data.extend(forms::typed_values(
        &d.sop.document().case_schema,
        &mut fields,
        &posted.fields,
    ));
    let docs = doc_rows(
        d,
        &loaded.state,
        idx,
        &data,
        |i| posted.get(&format!("d.{}", i.doc)).is_some(),
        officer.lang.msg(),
    );
    let update = ChecklistUpdate {
        c: officer.chrome("/meja", "desk"),
        missing: view::missing_count(&docs),
        docs,
    };
    crate::html(StatusCode::OK, update.render())
}

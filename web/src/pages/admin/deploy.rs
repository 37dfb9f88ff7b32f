//! Deploying a new SOP version from the browser: the text pasted or read from a file,
//! checked by the same validator as `sopflow validate` and `POST /sops` with every problem at
//! its line, compared with the version in force, then deployed through the registry.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::changes::{self, Area, LineTag};
use sopflow_core::registry::DeployError;
use sopflow_core::releases::Releaser;
use sopflow_engine::sop::{self, Diagnostic};

use super::admin_only;
use crate::WebState;
use crate::i18n::Msg;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer, Posted};

/// One line of the submitted text, with the problems found at it.
pub struct CodeLine {
    pub n: usize,
    pub text: String,
    /// `(field, message)`.
    pub problems: Vec<(String, String)>,
}

/// One problem in the list above the code.
#[derive(Clone)]
pub struct ProblemRow {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
    pub warning: bool,
}

/// One line of a change summary, in the administrator's words.
pub struct ChangeRow {
    pub area: &'static str,
    pub item: String,
    pub before: String,
    pub after: String,
    /// `added`, `removed` or `changed`.
    pub kind: &'static str,
}

/// One line of the text diff.
pub struct DiffRow {
    pub class: &'static str,
    pub sign: &'static str,
    pub old: String,
    pub new: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin_deploy.html")]
struct DeployPage {
    c: Chrome,
    admin_css: String,
    admin_js: String,
    /// The text as submitted (line breaks as LF).
    text: String,
    reason: String,
    checked: bool,
    problems: Vec<ProblemRow>,
    code: Vec<CodeLine>,
    /// Problems without a line inside the text.
    unplaced: Vec<ProblemRow>,
    /// When the text is valid: its SOP, the version in force and what changes.
    sop_id: String,
    in_force: Option<u32>,
    same_as_in_force: bool,
    summary: Vec<ChangeRow>,
    hunks: Vec<Vec<DiffRow>>,
    text_error: Option<String>,
}

impl DeployPage {
    fn new(officer: &Officer, text: String, reason: String) -> Self {
        Self {
            c: officer.chrome("/kelola/pasang", "admin"),
            admin_css: crate::assets::url("admin.css"),
            admin_js: crate::assets::url("admin.js"),
            text,
            reason,
            checked: false,
            problems: Vec::new(),
            code: Vec::new(),
            unplaced: Vec::new(),
            sop_id: String::new(),
            in_force: None,
            same_as_in_force: false,
            summary: Vec::new(),
            hunks: Vec::new(),
            text_error: None,
        }
    }
}

/// `GET /kelola/pasang`.
pub async fn form(officer: Officer) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let page = DeployPage::new(&officer, String::new(), String::new());
    crate::html(StatusCode::OK, page.render())
}

/// The posted text with its line breaks as LF: a browser sends CRLF, and the same SOP must
/// hash the same whether it came from a file or a form.
fn posted_text(posted: &Posted) -> String {
    sop::load::normalize_newlines(posted.get("yaml").unwrap_or("")).into_owned()
}

/// `POST /kelola/pasang`: checks the text; shows its problems at their lines, or what it
/// changes against the version in force.
pub async fn check(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let text = posted_text(&posted);
    let reason = posted.get("alasan").unwrap_or("").to_owned();
    let mut page = DeployPage::new(officer, text.clone(), reason);
    page.checked = true;
    if text.trim().is_empty() {
        page.text_error = Some(officer.lang.msg().adm_text_empty.to_owned());
        return crate::html(StatusCode::UNPROCESSABLE_ENTITY, page.render());
    }
    match sop::load(&text) {
        Err(problems) => {
            place(&mut page, &text, &problems);
            crate::html(StatusCode::UNPROCESSABLE_ENTITY, page.render())
        }
        Ok(compiled) => {
            place(&mut page, &text, compiled.warnings());
            let m = officer.lang.msg();
            let sop_id = compiled.id().to_owned();
            let current = match state
                .runtime
                .registry
                .in_force(&state.runtime.store, &sop_id, now())
                .await
            {
                Ok(c) => c,
                Err(e) => return errors::runtime(officer.lang, e.into()),
            };
            if let Some(current) = &current {
                page.in_force = Some(current.version);
                page.same_as_in_force = current.yaml == text;
                page.summary = changes::summary(current.sop.document(), compiled.document())
                    .into_iter()
                    .map(|c| change_row(m, c))
                    .collect();
                page.hunks = changes::text_diff(&current.yaml, &text, 3)
                    .into_iter()
                    .map(|hunk| hunk.into_iter().map(diff_row).collect())
                    .collect();
            }
            page.sop_id = sop_id;
            crate::html(StatusCode::OK, page.render())
        }
    }
}

/// `POST /kelola/pasang/simpan`: deploys the checked text (validated again: it is what the
/// browser sent) and releases it as the API does; then the SOP's page.
pub async fn deploy(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let text = posted_text(&posted);
    let reason = posted.get("alasan").unwrap_or("").trim().to_owned();
    let releaser = Releaser {
        source: "web".to_owned(),
        by: officer.session.user.name.clone(),
        reason: if reason.is_empty() {
            "deployed through the pages".to_owned()
        } else {
            reason.clone()
        },
    };
    match state
        .runtime
        .registry
        .deploy(&state.runtime.store, &text, &releaser)
        .await
    {
        Ok(d) => {
            tracing::info!(sop_id = %d.sop_id, version = d.version, user = %officer.session.user.name, "SOP deployed through the pages");
            Redirect::to(&format!("/kelola/sop/{}?dipasang={}", d.sop_id, d.version))
                .into_response()
        }
        Err(DeployError::Invalid(problems)) => {
            let mut page = DeployPage::new(officer, text.clone(), reason);
            page.checked = true;
            place(&mut page, &text, &problems);
            crate::html(StatusCode::UNPROCESSABLE_ENTITY, page.render())
        }
        Err(DeployError::Store(e)) => errors::runtime(officer.lang, e.into()),
    }
}

/// Puts each problem under its line of the code view (and in the list above it).
fn place(page: &mut DeployPage, text: &str, problems: &[Diagnostic]) {
    page.code = super::sops::numbered(text)
        .into_iter()
        .map(|(n, text)| CodeLine {
            n,
            text,
            problems: Vec::new(),
        })
        .collect();
    for p in problems {
        let row = ProblemRow {
            line: p.pos.line,
            column: p.pos.column,
            field: p.field.clone(),
            message: p.message.clone(),
            warning: p.severity == sop::Severity::Warning,
        };
        match page.code.get_mut(p.pos.line.wrapping_sub(1)) {
            Some(line) => line.problems.push((p.field.clone(), p.message.clone())),
            None => page.unplaced.push(row.clone()),
        }
        page.problems.push(row);
    }
}

fn change_row(m: &Msg, c: changes::Change) -> ChangeRow {
    let area = match c.area {
        Area::Steps => m.adm_area_steps,
        Area::Budgets => m.adm_area_budgets,
        Area::Documents => m.adm_area_documents,
        Area::Guards => m.adm_area_guards,
        Area::Actors => m.adm_area_actors,
        Area::CaseSchema => m.adm_area_schema,
        Area::Header => m.adm_area_header,
    };
    let kind = match (&c.before, &c.after) {
        (None, Some(_)) => "added",
        (Some(_), None) => "removed",
        _ => "changed",
    };
    ChangeRow {
        area,
        item: c.item,
        before: c.before.unwrap_or_default(),
        after: c.after.unwrap_or_default(),
        kind,
    }
}

fn diff_row(l: changes::DiffLine) -> DiffRow {
    let (class, sign) = match l.tag {
        LineTag::Same => ("same", " "),
        LineTag::Removed => ("removed", "−"),
        LineTag::Added => ("added", "+"),
    };
    DiffRow {
        class,
        sign,
        old: l.old_line.map(|n| n.to_string()).unwrap_or_default(),
        new: l.new_line.map(|n| n.to_string()).unwrap_or_default(),
        text: l.text,
    }
}

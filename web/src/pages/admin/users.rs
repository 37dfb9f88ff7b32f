//! Users: the list; adding one (role, service points, password; the token shown once);
//! resetting a password; a new token (shown once); roles at service points; disabling.
//! Every change is a [`sopflow_core::accounts`] function, checked as the CLI checks it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::accounts::{self, AccountError};
use sopflow_store::Membership;

use super::{admin_only, local};
use crate::WebState;
use crate::i18n::Msg;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer, Posted};

pub struct UserRow {
    pub name: String,
    pub held: Vec<String>,
    pub created: String,
    pub disabled: Option<String>,
}

/// The add form's entries and the error beside each field.
#[derive(Default)]
pub struct AddForm {
    pub name: String,
    pub role: String,
    pub points: Vec<String>,
    pub errors: Vec<(&'static str, String)>,
}

impl AddForm {
    pub fn has(&self, point: &str) -> bool {
        self.points.iter().any(|p| p == point)
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    c: Chrome,
    admin_css: String,
    users: Vec<UserRow>,
    roles: Vec<String>,
    points: Vec<String>,
    everywhere: &'static str,
    form: AddForm,
    flash: Option<String>,
    /// A token just made: `(user, token)`, shown once on this answer only.
    token: Option<(String, String)>,
    /// A refused change to one user: `(user, message)`.
    row_error: Option<(String, String)>,
}

#[derive(Default)]
struct Shown {
    flash: Option<String>,
    token: Option<(String, String)>,
    row_error: Option<(String, String)>,
    form: AddForm,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    /// The change just made (an action name: nothing personal).
    ok: Option<String>,
}

/// `GET /kelola/pengguna`.
pub async fn list(
    State(state): State<WebState>,
    officer: Officer,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let m = officer.lang.msg();
    let flash = q.ok.as_deref().and_then(|done| match done {
        "sandi" => Some(m.adm_password_set),
        "peran" => Some(m.adm_granted),
        "nonaktif" => Some(m.adm_disabled_done),
        "aktif" => Some(m.adm_enabled_done),
        _ => None,
    });
    let shown = Shown {
        flash: flash.map(str::to_owned),
        ..Shown::default()
    };
    render(&state, &officer, StatusCode::OK, shown).await
}

async fn render(state: &WebState, officer: &Officer, status: StatusCode, shown: Shown) -> Response {
    let store = &state.runtime.store;
    let lang = officer.lang;
    let (roles, points) = match accounts::choices(store, &state.runtime.registry).await {
        Ok(c) => c,
        Err(e) => return account_failure(lang, e),
    };
    let listed = match store.list_users().await {
        Ok(u) => u,
        Err(e) => return errors::runtime(lang, e.into()),
    };
    let offset = state.runtime.registry.utc_offset();
    let mut users = Vec::with_capacity(listed.len());
    for u in listed {
        let held = match store.memberships(&u.name).await {
            Ok(h) if h.is_empty() => vec![format!("{} ({})", u.role, lang.msg().adm_default_point)],
            Ok(h) => h
                .iter()
                .map(|m| format!("{}@{}", m.role, m.service_point))
                .collect(),
            Err(e) => return errors::runtime(lang, e.into()),
        };
        users.push(UserRow {
            name: u.name,
            held,
            created: local(u.created_at, offset),
            disabled: u.disabled_at.map(|at| local(at, offset)),
        });
    }
    let page = UsersPage {
        c: officer.chrome("/kelola/pengguna", "admin"),
        admin_css: crate::assets::url("admin.css"),
        users,
        roles: roles.into_iter().collect(),
        points: points.into_iter().collect(),
        everywhere: Membership::EVERYWHERE,
        form: shown.form,
        flash: shown.flash,
        token: shown.token,
        row_error: shown.row_error,
    };
    crate::html(status, page.render())
}

fn account_failure(lang: crate::i18n::Lang, e: AccountError) -> Response {
    match e {
        AccountError::Store(e) => errors::runtime(lang, e.into()),
        other => errors::forbidden(lang, &other.to_string()),
    }
}

/// The message for a refused field, in the administrator's words.
fn field_message(m: &Msg, field: &str) -> &'static str {
    match field {
        "name" => m.adm_bad_name,
        "role" => m.adm_bad_role,
        "points" => m.adm_bad_points,
        _ => m.adm_bad_password,
    }
}

fn points_of(posted: &Posted) -> Vec<String> {
    posted
        .fields
        .iter()
        .filter(|(k, v)| k == "tempat" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// `POST /kelola/pengguna`: adds a user; the answer shows their token once.
pub async fn add(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let store = &state.runtime.store;
    let mut form = AddForm {
        name: posted.get("nama").unwrap_or("").trim().to_owned(),
        role: posted.get("peran").unwrap_or("").to_owned(),
        points: points_of(&posted),
        errors: Vec::new(),
    };
    let password = posted.get("sandi").filter(|p| !p.is_empty());
    let result =
        match accounts::memberships(store, &state.runtime.registry, &form.role, &form.points).await
        {
            Ok(memberships) => {
                accounts::add(store, &form.name, &memberships, password, now()).await
            }
            Err(e) => Err(e),
        };
    match result {
        Ok(token) => {
            let name = std::mem::take(&mut form.name);
            let shown = Shown {
                flash: Some(format!("{} {name}.", m.adm_user_added)),
                token: Some((name, token)),
                ..Shown::default()
            };
            render(&state, officer, StatusCode::OK, shown).await
        }
        Err(AccountError::Invalid { field, .. }) => {
            form.errors
                .push((field, field_message(m, field).to_owned()));
            let shown = Shown {
                form,
                ..Shown::default()
            };
            render(&state, officer, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(AccountError::Exists(_)) => {
            form.errors.push(("name", m.adm_user_exists.to_owned()));
            let shown = Shown {
                form,
                ..Shown::default()
            };
            render(&state, officer, StatusCode::CONFLICT, shown).await
        }
        Err(e) => account_failure(officer.lang, e),
    }
}

/// One change to one user (`nama` is posted, never in the path): password, token, grant,
/// disable or enable.
pub async fn change(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let store = &state.runtime.store;
    let name = posted.get("nama").unwrap_or("").to_owned();
    let action = posted.get("aksi").unwrap_or("");
    let result: Result<(String, Option<String>), AccountError> = match action {
        "sandi" => accounts::reset_password(store, &name, posted.get("sandi").unwrap_or(""))
            .await
            .map(|()| (m.adm_password_set.to_owned(), None)),
        "token" => accounts::rotate_token(store, &name)
            .await
            .map(|t| (m.adm_token_rotated.to_owned(), Some(t))),
        "peran" => {
            let role = posted.get("peran").unwrap_or("");
            match accounts::memberships(store, &state.runtime.registry, role, &points_of(&posted))
                .await
            {
                Ok(ms) => accounts::grant(store, &name, &ms)
                    .await
                    .map(|()| (m.adm_granted.to_owned(), None)),
                Err(e) => Err(e),
            }
        }
        "nonaktif" if name == officer.session.user.name => Err(AccountError::Invalid {
            field: "self",
            message: String::new(),
        }),
        "nonaktif" => accounts::set_disabled(store, &name, Some(now()))
            .await
            .map(|()| (m.adm_disabled_done.to_owned(), None)),
        "aktif" => accounts::set_disabled(store, &name, None)
            .await
            .map(|()| (m.adm_enabled_done.to_owned(), None)),
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    match result {
        Ok((_, None)) => Redirect::to(&format!("/kelola/pengguna?ok={action}")).into_response(),
        Ok((text, Some(token))) => {
            let shown = Shown {
                flash: Some(format!("{text} {name}.")),
                token: Some((name, token)),
                ..Shown::default()
            };
            render(&state, officer, StatusCode::OK, shown).await
        }
        Err(AccountError::Invalid { field, .. }) => {
            let text = match field {
                "self" => m.adm_not_yourself,
                other => field_message(m, other),
            };
            let shown = Shown {
                row_error: Some((name, text.to_owned())),
                ..Shown::default()
            };
            render(&state, officer, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(AccountError::NotFound(_)) => errors::not_found(officer.lang),
        Err(e) => account_failure(officer.lang, e),
    }
}

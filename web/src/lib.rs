//! The web pages of sopflow: the front office in the browser, a second face over the same
//! core as the REST API.
//!
//! # Layout
//! - [`pages`]: the handlers, one module per page (login, desk, case and its step form,
//!   opening a case and the receipt, counter, display board, citizen's status page);
//! - [`people`]: who is asking (the session cookie), CSRF checks, the language cookie;
//! - [`forms`]: forms generated from an SOP's case schema and steps, and the server's errors
//!   placed beside the fields they concern;
//! - [`view`]: what templates show of cases (time left against the budget, checklists);
//! - [`i18n`]: the interface's words (Bahasa Indonesia, English), in one table;
//! - [`assets`]: htmx, its SSE extension, the script and the style sheet, embedded and served
//!   under content-hashed paths.
//!
//! **Architecture invariant:** as for the REST face, a page holds no rule of cases and never
//! writes the store itself: every change goes through [`sopflow_core::Runtime::run`] (or a
//! core query that does), every read through [`sopflow_core::queries`] and the runtime, and
//! people through [`sopflow_core::auth`] and [`sopflow_core::session`]. Templates are checked
//! at compile time and escape every value (an SOP's or a case's text is never markup); no
//! inline script or style, so the Content Security Policy forbids both; personal data never
//! goes into a URL (forms post it).

pub mod assets;
pub mod forms;
pub mod i18n;
pub mod pages;
pub mod people;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sopflow_core::Runtime;
use sopflow_core::auth::Authenticator;
use sopflow_core::session::Sessions;

/// What the pages need of the configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Cookies carry `Secure` (the service is reached over https).
    pub secure_cookies: bool,
    /// Where citizens reach the service (the receipt prints `{public_url}/status`).
    pub public_url: String,
}

/// The web face's state: the core runtime and what only the pages need around it.
#[derive(Clone)]
pub struct WebState {
    pub runtime: Runtime,
    /// Passwords, with the failures limit shared with bearer tokens.
    pub auth: Arc<Authenticator>,
    pub sessions: Sessions,
    /// The status page's own limit on unknown codes per address (guessing stays slow).
    pub status_limit: Arc<Authenticator>,
    pub config: Arc<WebConfig>,
    /// Which adapters are answered by hand (their service steps get a form).
    pub adapters: Arc<sopflow_core::adapters::Adapters>,
    /// The auditors' background verifications (their progress is polled).
    pub audit_jobs: pages::audit_tools::AuditJobs,
    /// The public key of the log's checkpoints (from the service's `[log]` key): verifying
    /// from the pages checks every stored checkpoint against it.
    pub log_key: Option<sopflow_audit::checkpoint::PublicKey>,
}

/// The first segment of every page path: the router that mounts both faces sends other paths
/// to the REST API's fallback (problem+json).
pub const PAGE_PREFIXES: &[&str] = &[
    "", "masuk", "keluar", "bahasa", "meja", "cari", "berkas", "baru", "loket", "papan", "status",
    "aset", "periksa", // periksa: the auditor pages
    "kelola",  // the administrator's pages
    "pantau", "laporan", "ikm", "survei", // supervisor pages and the survey
];

/// Whether `path` belongs to the pages (its 404s and 405s are HTML pages).
pub fn owns_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    PAGE_PREFIXES.contains(&first)
}

/// The pages, without a socket: the binary merges them with the REST API.
pub fn app(state: WebState) -> Router {
    use pages::{admin, audit, audit_tools, board, case, counter, desk, login, open, status};
    Router::new()
        .route("/", get(desk::home))
        .route("/masuk", get(login::form).post(login::submit))
        .route("/keluar", post(login::logout))
        .route("/bahasa/{lang}", get(login::language))
        .route("/meja", get(desk::page))
        .route("/meja/daftar", get(desk::list))
        .route("/cari", post(desk::find))
        .route("/berkas/{id}", get(case::page))
        .route("/berkas/{id}/langkah/{step}", post(case::complete))
        .route("/berkas/{id}/dokumen", post(case::checklist))
        .route("/berkas/{id}/tanda-terima", get(open::receipt))
        .route("/baru", get(open::choose))
        .route("/baru/{sop}", get(open::form).post(open::submit))
        .route("/baru/{sop}/dokumen", post(open::checklist))
        .route("/loket", get(counter::page))
        .route("/loket/meja", post(counter::set_counter))
        .route("/loket/panggil/{queue}", post(counter::call_next))
        .route("/loket/ulang", post(counter::recall))
        .route("/loket/tidak-hadir", post(counter::no_show))
        .route("/loket/alihkan", post(counter::transfer))
        .route("/papan", get(board::choose))
        .route("/papan/{point}", get(board::page))
        .route("/papan/{point}/isi", get(board::content))
        .route("/papan/{point}/aliran", get(board::stream))
        .route("/status", get(status::form).post(status::lookup))
        .route("/aset/{hash}/{name}", get(assets::serve))
        // auditor pages
        .route(
            "/periksa",
            get(audit::search_page).post(audit::search_submit),
        )
        .route("/periksa/berkas/{id}", get(audit::case_page))
        .route("/periksa/berkas/{id}/buka", post(audit::reveal))
        .route("/periksa/berkas/{id}/verifikasi", post(audit::verify_case))
        .route("/periksa/alat", get(audit_tools::tools))
        .route("/periksa/verifikasi", post(audit_tools::start_verify))
        .route("/periksa/verifikasi/kemajuan", get(audit_tools::progress))
        .route("/periksa/jangkar", get(audit_tools::anchor))
        .route("/periksa/ekspor", post(audit_tools::export))
        .route("/periksa/akses", get(audit_tools::access))
        // admin pages
        .route("/kelola", get(admin::home))
        .route("/kelola/sop", get(admin::sops::list))
        .route("/kelola/sop/{id}", get(admin::sops::page))
        .route("/kelola/sop/{id}/rilis", post(admin::sops::release))
        .route(
            "/kelola/sop/{id}/versi/{version}",
            get(admin::sops::version),
        )
        .route(
            "/kelola/sop/{id}/versi/{version}/tabel",
            get(admin::sops::table),
        )
        .route(
            "/kelola/pasang",
            get(admin::deploy::form).post(admin::deploy::check),
        )
        .route("/kelola/pasang/simpan", post(admin::deploy::deploy))
        .route("/kelola/insiden", get(admin::incidents::list))
        .route("/kelola/insiden/{id}/ulang", post(admin::incidents::retry))
        .route(
            "/kelola/pengguna",
            get(admin::users::list).post(admin::users::add),
        )
        .route("/kelola/pengguna/ubah", post(admin::users::change))
        // supervisor pages and the satisfaction survey
        .route("/pantau", get(pages::supervisor::choose))
        .route("/pantau/{point}", get(pages::supervisor::live))
        .route("/pantau/{point}/isi", get(pages::supervisor::live_content))
        .route("/laporan", get(pages::supervisor::report))
        .route("/laporan/csv", get(pages::supervisor::report_csv))
        .route("/ikm", get(pages::supervisor::ikm))
        .route("/ikm/csv", get(pages::supervisor::ikm_csv))
        .route(
            "/survei",
            get(pages::survey::kiosk).post(pages::survey::answer),
        )
        // admin pages: service points, counters and calendars
        .route(
            "/kelola/tempat",
            get(admin::offices::list).post(admin::offices::save),
        )
        .route("/kelola/kalender", get(admin::calendars::page))
        .layer(axum::middleware::from_fn(pages::errors::plain_errors))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The Content Security Policy of every page: scripts, styles and connections from this
/// origin only, no inline script or style, no frames, forms only to this origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every page answer carries; pages are never cached (they show case data).
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}

/// A rendered template as an HTML answer; a template that fails to render is an error page.
pub fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "internal error",
            )
                .into_response()
        }
    }
}

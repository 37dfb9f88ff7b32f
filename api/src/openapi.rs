//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{audit, dto, problem, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "sopflow", description = "Run government SOPs: cases, tasks, queues, histories."),
    paths(
        routes::healthz,
        routes::openapi,
        routes::metrics,
        routes::list_sops,
        routes::get_sop,
        routes::get_sop_version,
        routes::deploy_sop,
        routes::start_case,
        routes::list_cases,
        routes::get_case,
        routes::history,
        routes::complete_step,
        routes::cancel_case,
        routes::resolve_incident,
        routes::tasks,
        routes::call_next,
        audit::http::replay,
        audit::http::verify_case,
        audit::http::anchor,
        audit::http::export_cases,
        audit::http::sop_report,
    ),
    components(schemas(problem::Problem, problem::FieldError, dto::CaseView, dto::Task, dto::DocumentInput)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

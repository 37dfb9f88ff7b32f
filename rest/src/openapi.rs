//! The OpenAPI 3.1 document, generated from the handlers and DTOs.

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{audit, cases, incidents, offices, sops, system, work};
use crate::{dto, problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "sopflow", description = "Run government SOPs: cases, tasks, queues, histories."),
    paths(
        system::healthz,
        serve,
        system::metrics,
        sops::list_sops,
        sops::get_sop,
        sops::get_sop_version,
        sops::deploy_sop,
        sops::release_sop,
        cases::start_case,
        cases::list_cases,
        cases::search_cases,
        cases::lookup_case,
        cases::get_case,
        cases::history,
        cases::complete_step,
        cases::cancel_case,
        cases::resolve_incident,
        work::tasks,
        work::call_next,
        offices::list_service_points,
        offices::get_service_point,
        offices::put_service_point,
        offices::queues,
        offices::call_stream,
        offices::call_next,
        offices::recall,
        offices::no_show,
        offices::transfer,
        incidents::list_incidents,
        incidents::retry_incident,
        incidents::consultation_callback,
        audit::replay,
        audit::verify_case,
        audit::anchor,
        audit::export_cases,
        audit::sop_report,
    ),
    components(schemas(problem::Problem, problem::FieldError, dto::CaseView, dto::Task, dto::DocumentInput)),
    modifiers(&BearerAuth, &PathParamsAndErrors, &TextRules)
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

/// What every operation may answer besides its own results, as `application/problem+json`.
const COMMON_ERRORS: [(&str, &str); 9] = [
    ("400", "The request is malformed"),
    (
        "401",
        "No valid bearer token (or, for callbacks, signature)",
    ),
    ("403", "Not allowed for this role"),
    ("404", "No such case, SOP, step, queue or incident"),
    ("413", "The request body is too large"),
    ("415", "The body is not of the expected media type"),
    ("422", "The request is well-formed but refused"),
    ("429", "Too many failed authentications from this address"),
    ("503", "Busy: retry"),
];

/// Completes the generated document so that it describes every answer: path parameters for
/// every `{name}` of a path, the common error answers on every operation, and error bodies typed
/// `application/problem+json` (what the service sends), not `application/json`.
struct PathParamsAndErrors;

impl Modify for PathParamsAndErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{
            Content, Ref, RefOr, Required, ResponseBuilder, Type, schema::ObjectBuilder,
        };
        for (template, item) in openapi.paths.paths.iter_mut() {
            let names: Vec<String> = template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                for name in &names {
                    let declared = parameters.iter().any(|p| {
                        matches!(p, RefOr::T(p) if p.name == *name && p.parameter_in == ParameterIn::Path)
                    });
                    if declared {
                        continue;
                    }
                    // SOP versions are u32, incident ids i64; everything else is a string id.
                    let schema = if name == "version" {
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(u32::MAX))
                    } else if template.starts_with("/incidents/") {
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(i64::MAX))
                    } else {
                        ObjectBuilder::new().schema_type(Type::String)
                    };
                    parameters.push(RefOr::T(
                        ParameterBuilder::new()
                            .name(name.clone())
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .schema(Some(schema))
                            .build(),
                    ));
                }
                let responses = &mut operation.responses.responses;
                for (code, description) in COMMON_ERRORS {
                    responses.entry(code.to_owned()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/problem+json",
                                    Content::new(Some(Ref::from_schema_name("Problem"))),
                                )
                                .build(),
                        )
                    });
                }
                for (code, response) in responses.iter_mut() {
                    let is_error = code.starts_with('4') || code.starts_with('5');
                    if let (true, RefOr::T(response)) = (is_error, response)
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response
                            .content
                            .insert("application/problem+json".to_owned(), content);
                    }
                }
            }
        }
    }
}

/// States the text rules the handlers check ([`crate::text`]) on the parameters and fields
/// they apply to, so that what the document calls valid is accepted and the rest refused.
/// Done on the document's JSON: utoipa's derive has no attribute for a header's pattern.
struct TextRules;

impl Modify for TextRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::text::{
            BASE64_PATTERN, IDEMPOTENCY_KEY_PATTERN, MAX_TEXT_CHARS, REASON_PATTERN, TEXT_PATTERN,
        };
        use serde_json::{Value, json};
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        let text =
            |max: usize| json!({ "type": "string", "maxLength": max, "pattern": TEXT_PATTERN });
        let reveal_reason = text(sopflow_audit::MAX_REASON);
        if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
            for (template, item) in paths.iter_mut() {
                let Some(item) = item.as_object_mut() else {
                    continue;
                };
                for operation in item.values_mut() {
                    let Some(parameters) = operation
                        .get_mut("parameters")
                        .and_then(Value::as_array_mut)
                    else {
                        continue;
                    };
                    for parameter in parameters {
                        let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                        let place = parameter["in"].as_str().unwrap_or_default().to_owned();
                        let schema = match (place.as_str(), name.as_str()) {
                            ("header", "Idempotency-Key") => json!({
                                "type": "string", "minLength": 1, "maxLength": 200,
                                "pattern": IDEMPOTENCY_KEY_PATTERN,
                            }),
                            ("query", "reason") if template == "/sops" => text(MAX_TEXT_CHARS),
                            ("query", "reason") => reveal_reason.clone(),
                            _ => continue,
                        };
                        parameter["schema"] = schema;
                    }
                }
            }
        }
        if let Some(schemas) = doc
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
        {
            let fields: [(&str, &str, Value); 7] = [
                ("Reason", "reason", text(MAX_TEXT_CHARS)),
                (
                    "NewRelease",
                    "reason",
                    json!({ "type": "string", "maxLength": MAX_TEXT_CHARS, "pattern": REASON_PATTERN }),
                ),
                ("DocumentInput", "type", text(MAX_TEXT_CHARS)),
                (
                    "DocumentInput",
                    "number",
                    json!({
                        "type": ["string", "null"], "maxLength": MAX_TEXT_CHARS, "pattern": TEXT_PATTERN,
                    }),
                ),
                (
                    "CompleteStep",
                    "outcome",
                    json!({
                        "type": ["string", "null"], "maxLength": MAX_TEXT_CHARS, "pattern": TEXT_PATTERN,
                    }),
                ),
                ("StartCase", "sop_id", text(MAX_TEXT_CHARS)),
                (
                    "DocumentInput",
                    "content_base64",
                    json!({
                        "type": ["string", "null"], "pattern": BASE64_PATTERN,
                    }),
                ),
            ];
            for (schema, field, rule) in fields {
                if let Some(property) = schemas
                    .get_mut(schema)
                    .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
                {
                    let description = property.get("description").cloned();
                    *property = rule;
                    if let Some(description) = description {
                        property["description"] = description;
                    }
                }
            }
            for schema in ["StartCase", "CompleteStep"] {
                if let Some(data) = schemas
                    .get_mut(schema)
                    .and_then(|s| s.pointer_mut("/properties/data"))
                {
                    data["maxProperties"] = json!(sopflow_core::runtime::limits::MAX_FIELDS);
                }
            }
        }
        if let Ok(tightened) = serde_json::from_value(doc) {
            *openapi = tightened;
        }
    }
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI document")))]
pub async fn serve() -> Response {
    Json(document()).into_response()
}

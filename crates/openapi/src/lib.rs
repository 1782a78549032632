//! The OpenAPI 3.1 document of what this process serves, generated from the route
//! catalog every endpoint registers itself in (`crossbar_crud::api`) and from the JSON
//! schemas requests are validated with. Nothing here is written per route by hand.
//!
//! Paths, operations, parameters, request bodies, responses and security are built with
//! utoipa's OpenAPI model; the Kazoo JSON schemas (Draft 4) are then added as
//! components, translated to the JSON Schema dialect of OpenAPI 3.1.

use crossbar_crud::api::{Operation, Payload};
use crossbar_schema::SchemaRegistry;
use serde_json::{json, Map, Value};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder, Ref, Required};

/// Header carrying the token (Kazoo's `X-Auth-Token`).
const TOKEN_SCHEME: &str = "X-Auth-Token";

fn method(name: &str) -> HttpMethod {
    match name {
        "GET" => HttpMethod::Get,
        "PUT" => HttpMethod::Put,
        "POST" => HttpMethod::Post,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "HEAD" => HttpMethod::Head,
        "OPTIONS" => HttpMethod::Options,
        _ => HttpMethod::Trace,
    }
}

fn schema_ref(name: &str) -> Ref {
    Ref::from_schema_name(name)
}

/// Names of the path parameters of an actix template (`{account_id}` -> account_id).
pub fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.split(':').next().unwrap_or(name).to_string())
        .collect()
}

fn operation_id(op: &Operation) -> String {
    let mut id = op.method.to_ascii_lowercase();
    for segment in op.path.split('/').filter(|s| !s.is_empty() && *s != "v2") {
        id.push('_');
        id.push_str(segment.trim_matches(|c| c == '{' || c == '}'));
    }
    id
}

fn content_for(payload: &Payload, list: bool) -> Option<(String, utoipa::openapi::Content)> {
    let envelope = |name: &str| ContentBuilder::new().schema(Some(schema_ref(name))).build();
    match payload {
        Payload::Empty => None,
        Payload::Envelope(Some(schema)) if !list => Some((
            "application/json".into(),
            envelope(&format!("{schema}.request")),
        )),
        Payload::Envelope(_) if !list => {
            Some(("application/json".into(), envelope("RequestEnvelope")))
        }
        Payload::Envelope(_) | Payload::EnvelopeList => {
            Some(("application/json".into(), envelope("SuccessEnvelope")))
        }
        Payload::Raw(types) => types.first().map(|media| {
            (
                media.clone(),
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(
                        Some(utoipa::openapi::SchemaFormat::Custom("binary".into())),
                    )))
                    .build(),
            )
        }),
        Payload::Plain(media) => Some((
            media.clone(),
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new()))
                .build(),
        )),
    }
}

fn success_content(payload: &Payload) -> Option<(String, utoipa::openapi::Content)> {
    let envelope = |name: &str| ContentBuilder::new().schema(Some(schema_ref(name))).build();
    match payload {
        Payload::EnvelopeList => Some(("application/json".into(), envelope("ListEnvelope"))),
        Payload::Envelope(_) => Some(("application/json".into(), envelope("SuccessEnvelope"))),
        other => content_for(other, true),
    }
}

/// Builds the document for `operations` (an app's `RouteCatalog::operations()`).
pub fn document(operations: &[Operation], schemas: &SchemaRegistry) -> Value {
    let mut paths = PathsBuilder::new();
    let mut used_schemas: Vec<String> = Vec::new();
    for op in operations {
        let doc = &op.doc;
        let mut builder = OperationBuilder::new()
            .summary(Some(doc.summary.clone()))
            .operation_id(Some(operation_id(op)))
            .tag(op.tag.clone());
        for name in path_parameters(&op.path) {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        for (name, description) in &doc.query {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(description.clone()))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if let Some((media, content)) = content_for(&doc.request, false) {
            if let Payload::Envelope(Some(schema)) = &doc.request {
                used_schemas.push(schema.clone());
            }
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media, content)
                    .required(Some(Required::False))
                    .build(),
            ));
        }
        let error = |description: String| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref("ErrorEnvelope")))
                    .build(),
            )
        };
        let success = if doc.success >= 400 {
            // An endpoint that only ever refuses (e.g. 501 not implemented).
            error(doc.summary.clone())
        } else {
            let mut success = ResponseBuilder::new().description(doc.summary.clone());
            if let Some((media, content)) = success_content(&doc.response) {
                success = success.content(media, content);
            }
            success
        };
        builder = builder.responses(
            ResponsesBuilder::new()
                .response(doc.success.to_string(), success)
                .response(
                    "default",
                    error(
                        "Kazoo error envelope (`status` \"error\", `error` code, `message`, `data`)"
                            .to_string(),
                    ),
                ),
        );
        if doc.auth {
            builder =
                builder.security(SecurityRequirement::new(TOKEN_SCHEME, Vec::<String>::new()));
        }
        if doc.replayable {
            // The gateway retries these on another replica (crud `create_replayable`).
            builder = builder.extensions(Some(
                utoipa::openapi::extensions::ExtensionsBuilder::new()
                    .add(crossbar_crud::REPLAYABLE_EXTENSION, true)
                    .build(),
            ));
        }
        let mut item_paths = utoipa::openapi::Paths::new();
        item_paths.add_path_operation(openapi_path(&op.path), vec![method(op.method)], builder);
        paths = paths.path(
            openapi_path(&op.path),
            item_paths.paths.into_values().next().unwrap_or_default(),
        );
    }
    let components = ComponentsBuilder::new()
        .security_scheme(
            TOKEN_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(TOKEN_SCHEME))),
        )
        .build();
    let api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("crossbar: Kazoo Crossbar-compatible REST API")
                .version("2")
                .description(Some(
                    "The Kazoo Crossbar `/v2` API. Requests carry `{\"data\": ...}`; every \
                     answer is the Kazoo envelope (`status`, `data`, `request_id`, \
                     `auth_token`, `revision`, `node`, `timestamp`, `version`). Errors keep \
                     Kazoo's `error`/`message`/`data` shape.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build();
    let mut value = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    if let Some(Value::Object(components)) = value.get_mut("components") {
        let schemas_out = components
            .entry("schemas")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(out) = schemas_out {
            for (name, raw) in schemas.raw_schemas() {
                out.insert(name.to_string(), openapi_schema(raw));
            }
            for name in &used_schemas {
                out.insert(format!("{name}.request"), request_envelope(Some(name)));
            }
            out.insert("RequestEnvelope".into(), request_envelope(None));
            out.insert("SuccessEnvelope".into(), success_envelope(json!({})));
            out.insert(
                "ListEnvelope".into(),
                success_envelope(json!({"type": "array"})),
            );
            out.insert("ErrorEnvelope".into(), error_envelope());
        }
    }
    value
}

/// actix templates with regex parts (`{tail:.*}`) as plain OpenAPI templates.
fn openapi_path(path: &str) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(inner) => format!("{{{}}}", inner.split(':').next().unwrap_or(inner)),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn request_envelope(schema: Option<&str>) -> Value {
    let data = match schema {
        Some(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
        None => json!({"type": "object"}),
    };
    json!({
        "type": "object",
        "description": "Kazoo request envelope",
        "properties": {
            "data": data,
            "auth_token": {"type": "string"},
            "verb": {"type": "string"},
            "accept_charges": {"type": "boolean"}
        }
    })
}

fn envelope_common() -> Map<String, Value> {
    let mut properties = Map::new();
    for key in [
        "request_id",
        "auth_token",
        "node",
        "timestamp",
        "version",
        "revision",
    ] {
        properties.insert(key.into(), json!({"type": "string"}));
    }
    properties
}

fn success_envelope(data: Value) -> Value {
    let mut properties = envelope_common();
    properties.insert("status".into(), json!({"const": "success"}));
    properties.insert("data".into(), data);
    properties.insert("page_size".into(), json!({"type": "integer"}));
    properties.insert("start_key".into(), json!({"type": "string"}));
    properties.insert("next_start_key".into(), json!({"type": "string"}));
    json!({
        "type": "object",
        "required": ["status", "request_id"],
        "properties": properties
    })
}

fn error_envelope() -> Value {
    let mut properties = envelope_common();
    properties.insert("status".into(), json!({"const": "error"}));
    properties.insert(
        "error".into(),
        json!({"type": "string", "pattern": "^[0-9]{3}$"}),
    );
    properties.insert("message".into(), json!({"type": "string"}));
    properties.insert("data".into(), json!({}));
    json!({
        "type": "object",
        "required": ["status", "error", "message", "request_id"],
        "properties": properties
    })
}

/// A Kazoo (Draft 4) schema as an OpenAPI 3.1 schema object: document-level `$schema`
/// and `_id`/`id` dropped, bare `$ref` names pointed at components.
pub fn openapi_schema(raw: &Value) -> Value {
    let mut out = translate(raw);
    if let Value::Object(map) = &mut out {
        map.remove("$schema");
        map.remove("_id");
        map.remove("id");
    }
    out
}

fn translate(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) if !target.starts_with('#') => {
                        out.insert(
                            key.clone(),
                            Value::String(format!("#/components/schemas/{target}")),
                        );
                    }
                    // Property names, not keywords: translate the schemas under them.
                    (
                        "properties" | "patternProperties" | "definitions",
                        Value::Object(members),
                    ) => {
                        let members = members
                            .iter()
                            .map(|(name, schema)| (name.clone(), translate(schema)))
                            .collect();
                        out.insert(key.clone(), Value::Object(members));
                    }
                    _ => {
                        out.insert(key.clone(), translate(inner));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(translate).collect()),
        other => other.clone(),
    }
}

/// A page that renders the document (Redoc, loaded from its CDN by the browser).
pub fn docs_page(spec_url: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>crossbar API</title>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         </head>\n<body>\n<redoc spec-url=\"{spec_url}\"></redoc>\n\
         <script src=\"https://cdn.redoc.ly/redoc/latest/bundles/redoc.standalone.js\"></script>\n\
         <noscript>The API description is at <a href=\"{spec_url}\">{spec_url}</a>.</noscript>\n\
         </body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_crud::api::Doc;

    #[test]
    fn path_parameters_and_ids() {
        assert_eq!(
            path_parameters("/v2/accounts/{account_id}/users/{id}"),
            vec!["account_id", "id"]
        );
        assert_eq!(openapi_path("/v2/x/{tail:.*}"), "/v2/x/{tail}");
    }

    #[test]
    fn refs_point_at_components() {
        let raw = json!({"$schema": "http://json-schema.org/draft-04/schema#", "_id": "x",
            "properties": {"caller_id": {"$ref": "caller_id"}, "$ref": {"type": "string"}}});
        let out = openapi_schema(&raw);
        assert_eq!(
            out["properties"]["caller_id"]["$ref"],
            "#/components/schemas/caller_id"
        );
        assert_eq!(out["properties"]["$ref"]["type"], "string");
        assert!(out.get("$schema").is_none() && out.get("_id").is_none());
    }

    #[test]
    fn a_document_from_operations() {
        let schemas = SchemaRegistry::load_embedded().unwrap();
        let ops = vec![
            Operation {
                method: "PUT",
                path: "/v2/accounts/{account_id}/users".into(),
                tag: "users".into(),
                doc: Doc::create("Create a user", Some("users")),
            },
            Operation {
                method: "GET",
                path: "/v2/accounts/{account_id}/users".into(),
                tag: "users".into(),
                doc: Doc::list("List users"),
            },
        ];
        let doc = document(&ops, &schemas);
        assert_eq!(doc["openapi"], "3.1.0");
        let item = &doc["paths"]["/v2/accounts/{account_id}/users"];
        assert_eq!(
            item["put"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/SuccessEnvelope"
        );
        assert_eq!(
            item["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/users.request"
        );
        assert_eq!(item["get"]["parameters"][0]["name"], "account_id");
        assert!(doc["components"]["schemas"]["users"].is_object());
        assert!(doc["components"]["securitySchemes"]["X-Auth-Token"].is_object());
    }
}

//! The OpenAPI document against what is actually served: every documented operation
//! answers (not the unknown-path 404, not 405), every other method on a documented
//! path is 405, no route is mounted around the self-describing `Endpoint`, and the
//! document's shape is OpenAPI 3.1 with the Kazoo envelope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use crossbar_e2e::TestServer;
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "PATCH", "DELETE"];
const BOGUS_ID: &str = "0123456789abcdef0123456789abcdef";

fn document(server: &TestServer) -> Value {
    let answer = server.call("GET", "/v2/openapi.json", None, None);
    assert_eq!(answer.status, 200);
    answer.body
}

/// A concrete path for a template: ids for `{...}` parameters.
fn concrete(template: &str, account: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{account_id}" => account.to_string(),
            "{state}" => "submitted".to_string(),
            s if s.starts_with('{') => {
                if s.contains("number") {
                    "%2B14155550000".to_string()
                } else {
                    BOGUS_ID.to_string()
                }
            }
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether an answer came from the catch-all (no route matched the path).
fn unmatched(body: &Value, status: u16) -> bool {
    status == 404 && body["message"] == "not_found"
}

#[test]
fn every_documented_operation_is_served_and_nothing_else_is() {
    crossbar_e2e::skip_in_cluster!(
        "probes /healthz, /readyz, /metrics of one process (the gateway answers them itself)"
    );
    let server = TestServer::start();
    let sd = server.admin_token();
    let doc = document(&server);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 70, "only {} paths documented", paths.len());
    let mut operations = 0;
    for (template, item) in paths {
        let path = concrete(template, &server.master_id);
        for method in METHODS {
            let documented = item.get(method.to_ascii_lowercase()).is_some();
            // A DELETE of the master account would succeed (405 by rule), and
            // deleting the caller's token would end the test: probe those safely.
            let answer = server.call(method, &path, Some(&sd), None);
            if documented {
                operations += 1;
                assert!(
                    !unmatched(&answer.body, answer.status),
                    "{method} {template} is documented but not served: {:?}",
                    answer.body
                );
                assert!(
                    answer.status != 405
                        || answer.body["message"] != "invalid_method"
                        || template == "/v2/accounts/{account_id}",
                    "{method} {template} is documented but answers 405"
                );
            } else {
                // Kazoo answers 403 to other verbs on the port-authority view.
                let refusal = if template == "/v2/port_requests" {
                    403
                } else {
                    405
                };
                assert_eq!(
                    answer.status, refusal,
                    "{method} {template} answers {} but is not documented: {:?}",
                    answer.status, answer.body
                );
            }
        }
    }
    assert!(operations > 110, "only {operations} operations");
}

#[test]
fn operations_describe_parameters_bodies_errors_and_security() {
    let server = TestServer::start();
    let doc = document(&server);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "SuccessEnvelope",
        "ListEnvelope",
        "ErrorEnvelope",
        "RequestEnvelope",
        "users",
        "devices",
        "callflows",
        "vmboxes",
    ] {
        assert!(
            schemas.contains_key(name),
            "components.schemas.{name} missing"
        );
    }
    assert!(doc["components"]["securitySchemes"]["X-Auth-Token"].is_object());
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    for target in refs {
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {target}");
    }
    for (template, item) in doc["paths"].as_object().unwrap() {
        let declared: BTreeSet<String> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_string)
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let params: BTreeSet<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(params, declared, "{method} {template}: path parameters");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(op["operationId"].is_string());
            assert!(
                op["responses"]["default"].is_object(),
                "{method} {template}: no error response"
            );
            if template.starts_with("/v2/accounts/") {
                assert!(
                    op["security"].is_array(),
                    "{method} {template} must need a token"
                );
            }
        }
    }
    // Public operations carry no security requirement.
    assert!(doc["paths"]["/v2/user_auth"]["put"]
        .get("security")
        .is_none());
    // Kazoo's schemas are translated: bare refs point at components.
    assert_eq!(
        schemas["users"]["properties"]["caller_id"]["$ref"],
        "#/components/schemas/caller_id"
    );
    let page = server.call("GET", "/v2/docs", None, None);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.body.as_str().unwrap().contains("/v2/openapi.json"));
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    if let Some(target) = inner.as_str() {
                        out.insert(target.to_string());
                    }
                } else {
                    collect_refs(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Routes mounted with actix directly would be served but not documented; only the
/// route catalog (`crossbar_crud::api::Endpoint`) may mount them.
#[test]
fn no_route_is_mounted_outside_the_catalog() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut offenders = Vec::new();
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // Crates' own tests and benches mount throwaway apps; the product does not.
                if !path.ends_with("target")
                    && !path.ends_with("benches")
                    && !path.ends_with("tests")
                {
                    stack.push(path);
                }
                continue;
            }
            // The gateway's own endpoints (health, metrics, the merged document) are the
            // same operations every service documents; everything else it forwards.
            if path.extension().and_then(|e| e.to_str()) != Some("rs")
                || path.ends_with("api.rs")
                || path.ends_with("gateway/src/proxy.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in text.lines().enumerate() {
                // The unit-test module closes each file (so does this scan).
                if line.trim() == "mod tests {" {
                    break;
                }
                let mounts = line.contains("web::resource(")
                    || line.contains("web::scope(")
                    || line.contains(".route(\"");
                // A GET override of a path the catalog documents says so on its line.
                if mounts && !line.contains("documented by the catalog") {
                    offenders.push(format!(
                        "{}:{}: {}",
                        path.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes mounted outside the catalog:\n{}",
        offenders.join("\n")
    );
}

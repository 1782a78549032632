//! The callflow lint: references to documents that do not exist in the account, and
//! children no call can ever reach (a branch key the module never takes).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::callflow::nodes;

/// One reference a node makes: `id` should be a live document of `expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub node: String,
    pub module: String,
    pub field: String,
    pub id: String,
    pub expected: &'static str,
}

/// Which service owns a kind of document.
pub fn owner_of(kind: &str) -> &'static str {
    match kind {
        "user" | "device" => "accounts",
        "callflow" => "callflows",
        _ => "office_hours",
    }
}

/// The references of every node of a flow whose module is known.
pub fn references(flow: Option<&Value>) -> Vec<Reference> {
    let mut out = Vec::new();
    let Some(flow) = flow else { return out };
    for (path, node) in nodes(flow) {
        let module = node.get("module").and_then(Value::as_str).unwrap_or("");
        let data = node.get("data").cloned().unwrap_or(Value::Null);
        let mut push = |field: String, id: &str, expected: &'static str| {
            if !id.is_empty() {
                out.push(Reference {
                    node: path.clone(),
                    module: module.to_string(),
                    field,
                    id: id.to_string(),
                    expected,
                });
            }
        };
        let id = data.get("id").and_then(Value::as_str);
        match module {
            "user" => id
                .into_iter()
                .for_each(|i| push("data.id".into(), i, "user")),
            "device" => id
                .into_iter()
                .for_each(|i| push("data.id".into(), i, "device")),
            "menu" => id
                .into_iter()
                .for_each(|i| push("data.id".into(), i, "menu")),
            "voicemail" => id
                .into_iter()
                .for_each(|i| push("data.id".into(), i, "vmbox")),
            "callflow" => id
                .into_iter()
                .for_each(|i| push("data.id".into(), i, "callflow")),
            "temporal_route" => {
                if let Some(set) = data.get("rule_set").and_then(Value::as_str) {
                    push("data.rule_set".into(), set, "temporal_rule_set");
                }
                if let Some(rules) = data.get("rules").and_then(Value::as_array) {
                    for (i, rule) in rules.iter().enumerate() {
                        if let Some(rule) = rule.as_str() {
                            push(format!("data.rules.{i}"), rule, "temporal_rule");
                        }
                    }
                }
            }
            "ring_group" => {
                if let Some(endpoints) = data.get("endpoints").and_then(Value::as_array) {
                    for (i, ep) in endpoints.iter().enumerate() {
                        let kind = match ep.get("endpoint_type").and_then(Value::as_str) {
                            Some("user") => "user",
                            None | Some("device") => "device",
                            Some(_) => continue,
                        };
                        if let Some(id) = ep.get("id").and_then(Value::as_str) {
                            push(format!("data.endpoints.{i}.id"), id, kind);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// References whose id is not a live document of the expected kind. `found` maps
/// the ids that exist to their kind.
pub fn missing_references(refs: &[Reference], found: &HashMap<String, String>) -> Vec<Value> {
    refs.iter()
        .filter_map(|r| match found.get(&r.id) {
            Some(kind) if kind == r.expected => None,
            Some(kind) => Some(json!({
                "node": r.node, "module": r.module, "field": r.field, "id": r.id,
                "expected": r.expected, "found": kind,
                "message": format!("{} is a {kind}, not a {}", r.id, r.expected)
            })),
            None => Some(json!({
                "node": r.node, "module": r.module, "field": r.field, "id": r.id,
                "expected": r.expected,
                "message": format!("{} {} does not exist in this account", r.expected, r.id)
            })),
        })
        .collect()
}

/// Whether a module can take branch `key` (`None`: the module is not known, so its
/// children are not judged).
fn reachable(module: &str, data: &Value, key: &str) -> Option<bool> {
    Some(match module {
        "temporal_route" => {
            if data.get("action").and_then(Value::as_str).is_some() {
                false
            } else if data.get("rule_set").and_then(Value::as_str).is_some() {
                key == "_" || key == "rule_set"
            } else {
                key == "_"
                    || data
                        .get("rules")
                        .and_then(Value::as_array)
                        .is_some_and(|rules| rules.iter().any(|r| r.as_str() == Some(key)))
            }
        }
        "menu" => {
            matches!(key, "_" | "timeout" | "max_retries")
                || (!key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '*' || c == '#'))
        }
        "user" | "device" | "ring_group" => key == "_",
        "voicemail" | "callflow" => false,
        other if super::simulate::is_pass_through(other) => key == "_",
        other if super::simulate::is_terminal(other) => false,
        _ => return None,
    })
}

/// Children of known modules that no call can reach.
pub fn unreachable_children(flow: Option<&Value>) -> Vec<Value> {
    let mut out = Vec::new();
    let Some(flow) = flow else { return out };
    for (path, node) in nodes(flow) {
        let module = node.get("module").and_then(Value::as_str).unwrap_or("");
        let data = node.get("data").cloned().unwrap_or(Value::Null);
        let Some(children) = node.get("children").and_then(Value::as_object) else {
            continue;
        };
        let mut keys: Vec<&String> = children.keys().collect();
        keys.sort();
        for key in keys {
            if reachable(module, &data, key) == Some(false) {
                let why = match module {
                    "voicemail" | "callflow" => format!("{module} never continues to a child"),
                    "temporal_route" => {
                        format!("'{key}' is neither one of the route's rules nor '_'")
                    }
                    "menu" => format!("'{key}' is not a key a caller can press"),
                    m if super::simulate::is_terminal(m) => {
                        format!("{m} never continues to a child")
                    }
                    m => format!("{m} only continues to '_'"),
                };
                out.push(json!({
                    "node": format!("{path}.children.{key}"), "parent_module": module,
                    "branch": key, "message": why
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Value {
        json!({
            "module": "temporal_route", "data": {"rules": ["r1", "r2"]},
            "children": {
                "r1": {"module": "user", "data": {"id": "u1"}, "children": {
                    "_": {"module": "voicemail", "data": {"id": "vm1"}, "children": {"_": {"module": "hangup", "data": {}}}},
                    "busy": {"module": "hangup", "data": {}}
                }},
                "r9": {"module": "hangup", "data": {}},
                "_": {"module": "menu", "data": {"id": "m1"}, "children": {
                    "1": {"module": "ring_group", "data": {"endpoints": [{"id": "d1"}, {"id": "u2", "endpoint_type": "user"}, {"id": "g", "endpoint_type": "group"}]}},
                    "9#": {"module": "callflow", "data": {"id": "c2"}},
                    "invalid": {"module": "hangup", "data": {}},
                    "x": {"module": "mystery", "data": {}, "children": {"y": {"module": "hangup", "data": {}}}}
                }}
            }
        })
    }

    #[test]
    fn references_by_module() {
        let refs = references(Some(&flow()));
        let got: Vec<(&str, &str, &str)> = refs
            .iter()
            .map(|r| (r.id.as_str(), r.expected, r.field.as_str()))
            .collect();
        for want in [
            ("r1", "temporal_rule", "data.rules.0"),
            ("r2", "temporal_rule", "data.rules.1"),
            ("u1", "user", "data.id"),
            ("vm1", "vmbox", "data.id"),
            ("m1", "menu", "data.id"),
            ("d1", "device", "data.endpoints.0.id"),
            ("u2", "user", "data.endpoints.1.id"),
            ("c2", "callflow", "data.id"),
        ] {
            assert!(got.contains(&want), "{want:?} in {got:?}");
        }
        assert!(!got.iter().any(|(id, _, _)| *id == "g"));
    }

    #[test]
    fn missing_and_mistyped_references() {
        let refs = references(Some(&flow()));
        let found: HashMap<String, String> = [
            ("r1", "temporal_rule"),
            ("u1", "user"),
            ("vm1", "vmbox"),
            ("m1", "menu"),
            ("d1", "device"),
            ("u2", "device"),
            ("c2", "callflow"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let missing = missing_references(&refs, &found);
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert_eq!(missing[0]["id"], "r2");
        assert_eq!(
            missing[0]["message"],
            "temporal_rule r2 does not exist in this account"
        );
        assert_eq!(missing[1]["message"], "u2 is a device, not a user");
    }

    #[test]
    fn unreachable_children_of_known_modules() {
        let found: Vec<String> = unreachable_children(Some(&flow()))
            .iter()
            .map(|u| u["node"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            found,
            vec![
                "flow.children.r9",
                "flow.children._.children.invalid",
                "flow.children._.children.x",
                "flow.children.r1.children.busy",
                "flow.children.r1.children._.children._",
            ]
        );
    }
}

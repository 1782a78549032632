//! What a callflow document is made of: its numbers (normalised to E.164 when they
//! are DIDs), its patterns (regular expressions), its flow tree, and the rows and
//! messages Kazoo shows for it.

use crossbar_crud::StoredDoc;
use crossbar_envelope::ValidationErrors;
use serde_json::{json, Map, Value};

/// `pvt_type` of callflows.
pub const CALLFLOW: &str = "callflow";

/// Claim name of a callflow's numbers in the unique keys.
pub const NUMBER_CLAIM: &str = "numbers";
/// Claim name of a callflow's patterns in the unique keys.
pub const PATTERN_CLAIM: &str = "patterns";

/// Kazoo's message when a callflow has neither numbers nor patterns.
pub const NUMBERS_REQUIRED: &str = "Callflows must be assigned at least one number or pattern";

/// Normalises every string of `numbers` in place (`4155550100` → `+14155550100`;
/// short extensions are left alone). Anything that is not an array of strings is
/// left for the schema to refuse.
pub fn normalize_numbers(data: &mut Map<String, Value>) {
    if let Some(Value::Array(numbers)) = data.get_mut("numbers") {
        for number in numbers.iter_mut() {
            if let Value::String(raw) = number {
                *raw = crossbar_numbering::normalize(raw);
            }
        }
    }
}

/// The strings of an array field (`numbers`, `patterns`), duplicates dropped, in order.
pub fn strings(doc: &Map<String, Value>, field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(Value::Array(items)) = doc.get(field) {
        for item in items.iter().filter_map(Value::as_str) {
            if !out.iter().any(|seen| seen == item) {
                out.push(item.to_string());
            }
        }
    }
    out
}

/// `numbers.required` when the document has no number and no pattern.
pub fn require_number_or_pattern(doc: &Map<String, Value>) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    if strings(doc, "numbers").is_empty() && strings(doc, "patterns").is_empty() {
        errors.add("numbers", "required", NUMBERS_REQUIRED);
    }
    errors
}

/// `patterns.invalid` for every pattern that does not compile.
pub fn invalid_patterns(doc: &Map<String, Value>) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    for pattern in strings(doc, "patterns") {
        if let Err(error) = regex::Regex::new(&pattern) {
            let reason = match error {
                regex::Error::Syntax(text) => text.lines().last().unwrap_or_default().to_string(),
                other => other.to_string(),
            };
            errors.add_with(
                "patterns",
                "invalid",
                format!("Pattern {pattern} is not a valid regular expression"),
                json!({"cause": pattern, "reason": reason}),
            );
        }
    }
    errors
}

/// Kazoo's `numbers.unique` error (`Number N exists in callflow ID NAME`).
pub fn number_conflict(number: &str, holder_id: &str, holder_name: &str) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    errors.add_with(
        "numbers",
        "unique",
        format!("Number {number} exists in callflow {holder_id} {holder_name}"),
        json!({ "cause": number }),
    );
    errors
}

/// Kazoo's `patterns.unique` error (`Pattern P exists in callflow ID NAME`).
pub fn pattern_conflict(pattern: &str, holder_id: &str, holder_name: &str) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    errors.add_with(
        "patterns",
        "unique",
        format!("Pattern {pattern} exists in callflow {holder_id} {holder_name}"),
        json!({ "cause": pattern }),
    );
    errors
}

/// Every node of a flow, depth first, children in key order, with its path
/// (`flow`, `flow.children.1`, ...).
pub fn nodes(flow: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    let mut stack = vec![("flow".to_string(), flow)];
    while let Some((path, node)) = stack.pop() {
        if !node.is_object() {
            continue;
        }
        out.push((path.clone(), node));
        if let Some(Value::Object(children)) = node.get("children") {
            let mut keys: Vec<&String> = children.keys().collect();
            keys.sort();
            for key in keys.into_iter().rev() {
                if let Some(child) = children.get(key) {
                    stack.push((format!("{path}.children.{key}"), child));
                }
            }
        }
    }
    out
}

/// The distinct modules of a flow, in depth-first order (the listing's `modules`).
pub fn modules(flow: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(flow) = flow {
        for (_, node) in nodes(flow) {
            if let Some(module) = node.get("module").and_then(Value::as_str) {
                if !out.iter().any(|m| m == module) {
                    out.push(module.to_string());
                }
            }
        }
    }
    out
}

/// The ids a flow names, the way Kazoo collects them for `metadata`: each node's
/// `data.id` and `data.*_id` string values, and every child branch key of two or
/// more characters other than `_` (temporal routes branch on rule ids).
pub fn referenced_ids(flow: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        if !id.is_empty() && !out.iter().any(|seen| seen == id) {
            out.push(id.to_string());
        }
    };
    let Some(flow) = flow else { return out };
    for (_, node) in nodes(flow) {
        if let Some(Value::Object(data)) = node.get("data") {
            for (key, value) in data {
                if key == "id" || key.contains("_id") {
                    if let Some(id) = value.as_str() {
                        push(id);
                    }
                }
            }
        }
        if let Some(Value::Object(children)) = node.get("children") {
            for key in children.keys() {
                if key != "_" && key.len() >= 2 {
                    push(key);
                }
            }
        }
    }
    out
}

/// The listing row (Kazoo's `callflows/crossbar_listing`): `id`, `name`, `type`,
/// `numbers`, `patterns`, `featurecode` (false when absent), `owner_id`, `group_id`,
/// `modules` and `flags` (`[]` when absent); absent optional fields are left out.
pub fn summary(doc: &StoredDoc) -> Value {
    let d = &doc.doc;
    let mut out = Map::new();
    out.insert("id".into(), Value::String(doc.id.clone()));
    for key in ["name", "type", "owner_id", "group_id"] {
        if let Some(value) = d.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), value.clone());
        }
    }
    out.insert(
        "numbers".into(),
        d.get("numbers").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert(
        "patterns".into(),
        d.get("patterns").cloned().unwrap_or_else(|| json!([])),
    );
    out.insert(
        "featurecode".into(),
        d.get("featurecode")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Bool(false)),
    );
    out.insert("modules".into(), json!(modules(d.get("flow"))));
    out.insert(
        "flags".into(),
        d.get("flags")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    Value::Object(out)
}

/// `{name, numbers, pvt_type}` of a referenced document (Kazoo's metadata entry); a
/// user's name is "first last".
pub fn metadata_entry(kind: &str, doc: &Value) -> Value {
    let mut out = Map::new();
    let name = if kind == "user" {
        let first = doc.get("first_name").and_then(Value::as_str).unwrap_or("");
        let last = doc.get("last_name").and_then(Value::as_str).unwrap_or("");
        let full = format!("{first} {last}");
        (!full.trim().is_empty()).then(|| Value::String(full.trim().to_string()))
    } else {
        doc.get("name").filter(|v| !v.is_null()).cloned()
    };
    if let Some(name) = name {
        out.insert("name".into(), name);
    }
    if let Some(numbers) = doc.get("numbers").filter(|v| !v.is_null()) {
        out.insert("numbers".into(), numbers.clone());
    }
    out.insert("pvt_type".into(), Value::String(kind.to_string()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn numbers_normalise_but_extensions_stay() {
        let mut data = obj(json!({"numbers": ["4155550100", "2000", "011441234567890", 5]}));
        normalize_numbers(&mut data);
        assert_eq!(
            data["numbers"],
            json!(["+14155550100", "2000", "+441234567890", 5])
        );
    }

    #[test]
    fn one_number_or_pattern_is_required() {
        assert!(!require_number_or_pattern(&obj(json!({}))).is_empty());
        assert!(
            !require_number_or_pattern(&obj(json!({"numbers": [], "patterns": []}))).is_empty()
        );
        assert!(require_number_or_pattern(&obj(json!({"patterns": ["^1$"]}))).is_empty());
        assert_eq!(
            require_number_or_pattern(&obj(json!({}))).to_json(),
            json!({"numbers": {"required": {"message": NUMBERS_REQUIRED}}})
        );
    }

    #[test]
    fn invalid_patterns_are_reported() {
        let errors = invalid_patterns(&obj(json!({"patterns": ["^\\*7(\\d+$", "^2\\d{3}$"]})));
        let json = errors.to_json();
        assert_eq!(
            json["patterns"]["invalid"]["message"],
            "Pattern ^\\*7(\\d+$ is not a valid regular expression"
        );
        assert_eq!(json["patterns"]["invalid"]["cause"], "^\\*7(\\d+$");
    }

    #[test]
    fn conflicts_read_like_kazoo() {
        assert_eq!(
            number_conflict("2000", "abc", "Main").to_json(),
            json!({"numbers": {"unique": {"message": "Number 2000 exists in callflow abc Main", "cause": "2000"}}})
        );
        assert_eq!(
            pattern_conflict("^1$", "abc", "").to_json()["patterns"]["unique"]["message"],
            "Pattern ^1$ exists in callflow abc "
        );
    }

    #[test]
    fn modules_and_ids_of_a_flow() {
        let flow = json!({
            "module": "temporal_route",
            "data": {"rules": ["r1"]},
            "children": {
                "rule0000000000000000000000000001": {"module": "user", "data": {"id": "u1", "owner_id": "o1"},
                    "children": {"_": {"module": "voicemail", "data": {"id": "v1"}}}},
                "_": {"module": "menu", "data": {"id": "m1"}, "children": {"1": {"module": "user", "data": {"id": "u2"}}}}
            }
        });
        assert_eq!(
            modules(Some(&flow)),
            vec!["temporal_route", "menu", "user", "voicemail"]
        );
        let ids = referenced_ids(Some(&flow));
        for id in [
            "u1",
            "o1",
            "v1",
            "m1",
            "u2",
            "rule0000000000000000000000000001",
        ] {
            assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
        }
        assert!(!ids.contains(&"1".to_string()));
        assert!(!ids.contains(&"_".to_string()));
    }

    #[test]
    fn listing_row_defaults() {
        let doc = StoredDoc {
            id: "c1".into(),
            kind: CALLFLOW.into(),
            account_id: "a".into(),
            sort_key: String::new(),
            doc: obj(json!({"name": "Main", "numbers": ["2000"], "patterns": [],
                "flow": {"module": "user", "data": {}}, "pvt_type": "callflow"})),
            rev: 1,
            deleted: false,
            created: 0,
            modified: 0,
        };
        assert_eq!(
            summary(&doc),
            json!({"id": "c1", "name": "Main", "numbers": ["2000"], "patterns": [],
                "featurecode": false, "modules": ["user"], "flags": []})
        );
    }

    #[test]
    fn metadata_of_users_joins_names() {
        assert_eq!(
            metadata_entry("user", &json!({"first_name": "Ann", "last_name": "Lee"})),
            json!({"name": "Ann Lee", "pvt_type": "user"})
        );
        assert_eq!(
            metadata_entry("callflow", &json!({"name": "Main", "numbers": ["2000"]})),
            json!({"name": "Main", "numbers": ["2000"], "pvt_type": "callflow"})
        );
    }
}

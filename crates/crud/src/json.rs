//! Document helpers: deep merge (PATCH), private-field handling, JSON paths.

use serde_json::{Map, Value};

/// Merges `patch` into `base` recursively; the patch wins, and `null` removes a key
/// (Kazoo's PATCH semantics).
pub fn deep_merge(base: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                base.remove(key);
            }
            Value::Object(patch_child) => match base.get_mut(key) {
                Some(Value::Object(base_child)) => deep_merge(base_child, patch_child),
                _ => {
                    let mut fresh = Map::new();
                    deep_merge(&mut fresh, patch_child);
                    base.insert(key.clone(), Value::Object(fresh));
                }
            },
            other => {
                base.insert(key.clone(), other.clone());
            }
        }
    }
}

/// `true` for keys a client never sets and never sees (`pvt_*`, `_*`).
pub fn is_private_key(key: &str) -> bool {
    key.starts_with("pvt_") || key.starts_with('_')
}

/// Removes what a request may not set: private keys and `id`.
pub fn strip_request_fields(data: &mut Map<String, Value>) {
    data.retain(|key, _| !is_private_key(key) && key != "id");
}

/// The public part of a stored document.
pub fn public_fields(doc: &Map<String, Value>) -> Map<String, Value> {
    doc.iter()
        .filter(|(key, _)| !is_private_key(key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The private part of a stored document.
pub fn private_fields(doc: &Map<String, Value>) -> Map<String, Value> {
    doc.iter()
        .filter(|(key, _)| key.starts_with("pvt_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Splits a Kazoo dotted path (`caller_id.external.number`); `%2E` is a literal dot.
pub fn split_path(path: &str) -> Vec<String> {
    path.split('.')
        .map(|part| part.replace("%2E", "."))
        .collect()
}

/// The value at a dotted path.
pub fn get_path<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(doc, |node, key| node.get(key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_is_deep_and_null_removes() {
        let mut base = obj(json!({"a": {"b": 1, "c": 2}, "d": 3, "e": [1]}));
        deep_merge(
            &mut base,
            &obj(json!({"a": {"b": 9, "x": null}, "d": null, "e": [2]})),
        );
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 9, "c": 2}, "e": [2]})
        );
    }

    #[test]
    fn private_fields_are_stripped() {
        let mut data = obj(json!({"id": "x", "pvt_a": 1, "_read_only": {}, "name": "n"}));
        strip_request_fields(&mut data);
        assert_eq!(Value::Object(data), json!({"name": "n"}));
    }

    #[test]
    fn paths() {
        assert_eq!(
            split_path("a.b%2Ec"),
            vec!["a".to_string(), "b.c".to_string()]
        );
        let doc = json!({"a": {"b.c": 5}});
        assert_eq!(get_path(&doc, &split_path("a.b%2Ec")), Some(&json!(5)));
    }
}

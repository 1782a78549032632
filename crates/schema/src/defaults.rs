//! Filling schema `default`s into a document, as jesse does with Kazoo's options
//! `use_defaults` and `apply_defaults_to_empty_objects`
//! (`jesse_validator_draft4.erl: check_properties/3, check_default/4`):
//!
//! * for each entry of `properties` that is missing from the object: if the property's
//!   schema has a `default` *and* a `type` the default matches, the default is set, and
//!   then walked with the property's schema, so an object default (`{}`) gets the
//!   defaults of its own properties;
//! * present members are walked with their schema (`properties`, `patternProperties`,
//!   schema-valued `additionalProperties`), array items with `items`;
//! * `$ref` (siblings are still applied, as jesse does), `allOf` and schema
//!   `dependencies` are followed. `anyOf`/`oneOf`/`not` branches are not (no Kazoo
//!   schema has a default inside one).
//!
//! Missing intermediate objects are never created unless they have a default themselves.

use serde_json::{Map, Value};

use crate::SchemaRegistry;

/// Deep enough for any real document; stops `$ref` cycles that consume no document depth.
const MAX_DEPTH: usize = 128;

/// Fills the defaults of `schema` (the root schema of a document) into `doc`.
pub(crate) fn fill(registry: &SchemaRegistry, schema: &Value, doc: &mut Value) {
    walk(registry, schema, schema, doc, 0);
}

/// `root` is the document `schema` lives in, for local (`#/...`) references.
fn walk(registry: &SchemaRegistry, root: &Value, schema: &Value, doc: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Value::Object(schema_map) = schema else {
        return;
    };

    if let Some(Value::String(reference)) = schema_map.get("$ref") {
        if let Some((ref_root, target)) = resolve_ref(registry, root, reference) {
            walk(registry, ref_root, target, doc, depth + 1);
        }
    }

    if let Some(Value::Array(all_of)) = schema_map.get("allOf") {
        for sub in all_of {
            walk(registry, root, sub, doc, depth + 1);
        }
    }

    match doc {
        Value::Object(object) => walk_object(registry, root, schema_map, object, depth),
        Value::Array(items) => walk_items(registry, root, schema_map, items, depth),
        _ => {}
    }
}

fn walk_object(
    registry: &SchemaRegistry,
    root: &Value,
    schema: &Map<String, Value>,
    object: &mut Map<String, Value>,
    depth: usize,
) {
    let properties = match schema.get("properties") {
        Some(Value::Object(properties)) => Some(properties),
        _ => None,
    };
    let patterns = match schema.get("patternProperties") {
        Some(Value::Object(patterns)) => Some(patterns),
        _ => None,
    };

    if let Some(properties) = properties {
        for (name, property_schema) in properties {
            match object.get_mut(name) {
                Some(value) => walk(registry, root, property_schema, value, depth + 1),
                None => {
                    if let Some(default) = usable_default(property_schema) {
                        let value = object.entry(name.clone()).or_insert(default);
                        walk(registry, root, property_schema, value, depth + 1);
                    }
                }
            }
        }
    }

    if let Some(patterns) = patterns {
        for (key, value) in object.iter_mut() {
            for (pattern, pattern_schema) in patterns {
                if registry.pattern_matches(pattern, key) {
                    walk(registry, root, pattern_schema, value, depth + 1);
                }
            }
        }
    }

    if let Some(additional @ Value::Object(_)) = schema.get("additionalProperties") {
        for (key, value) in object.iter_mut() {
            let named = properties.is_some_and(|properties| properties.contains_key(key));
            let patterned = patterns.is_some_and(|patterns| {
                patterns
                    .keys()
                    .any(|pattern| registry.pattern_matches(pattern, key))
            });
            if !named && !patterned {
                walk(registry, root, additional, value, depth + 1);
            }
        }
    }

    if let Some(Value::Object(dependencies)) = schema.get("dependencies") {
        let present: Vec<&Value> = dependencies
            .iter()
            .filter(|(name, dependency)| dependency.is_object() && object.contains_key(*name))
            .map(|(_, dependency)| dependency)
            .collect();
        for dependency in present {
            let mut whole = Value::Object(std::mem::take(object));
            walk(registry, root, dependency, &mut whole, depth + 1);
            if let Value::Object(back) = whole {
                *object = back;
            }
        }
    }
}

fn walk_items(
    registry: &SchemaRegistry,
    root: &Value,
    schema: &Map<String, Value>,
    items: &mut [Value],
    depth: usize,
) {
    match schema.get("items") {
        Some(item_schema @ Value::Object(_)) => {
            for item in items.iter_mut() {
                walk(registry, root, item_schema, item, depth + 1);
            }
        }
        Some(Value::Array(item_schemas)) => {
            for (item, item_schema) in items.iter_mut().zip(item_schemas) {
                walk(registry, root, item_schema, item, depth + 1);
            }
            if let Some(additional @ Value::Object(_)) = schema.get("additionalItems") {
                for item in items.iter_mut().skip(item_schemas.len()) {
                    walk(registry, root, additional, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The property's `default` if jesse would apply it: there is a `type` (a name or a list
/// of names) and the default is of that type.
fn usable_default(property_schema: &Value) -> Option<Value> {
    let default = property_schema.get("default")?;
    let fits = match property_schema.get("type")? {
        Value::String(name) => is_type(name, default),
        Value::Array(names) => names
            .iter()
            .any(|name| name.as_str().is_some_and(|name| is_type(name, default))),
        _ => false,
    };
    fits.then(|| default.clone())
}

/// jesse's `is_type_valid/2` (an Erlang float such as `1.0` is not an integer).
fn is_type(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Resolves a `$ref` to (the schema document it lands in, the schema node).
/// `NAME`, `NAME#/pointer` and `#/pointer` are understood.
pub(crate) fn resolve_ref<'a>(
    registry: &'a SchemaRegistry,
    root: &'a Value,
    reference: &str,
) -> Option<(&'a Value, &'a Value)> {
    let (document, fragment) = match reference.split_once('#') {
        Some((document, fragment)) => (document, fragment),
        None => (reference, ""),
    };
    let target_root = if document.is_empty() {
        root
    } else {
        registry.raw(crate::schema_name_of_uri(document))?
    };
    let node = if fragment.is_empty() {
        target_root
    } else {
        target_root.pointer(fragment)?
    };
    Some((target_root, node))
}

//! jsonschema errors -> Kazoo's validation error shape, following
//! `kz_json_schema.erl: error_to_jobj/2` (Kazoo 4.3/5.x, with `value` keys) and the
//! jesse draft-4 error each keyword raises:
//!
//! | keyword | field | rule | message | extra keys |
//! |---|---|---|---|---|
//! | required | path + property | `required` | Field is required but missing | value (the property name) |
//! | type | path | `type` | Value did not match type(s): T | target T, value |
//! | minLength / maxLength | path | `minLength` / `maxLength` | String must be at least N characters / String must not be more than N characters | target, cause, value |
//! | minimum / maximum (also exclusive) | path | `minimum` / `maximum` | Value must be at least N / Value must be at most N | target, value |
//! | minItems / maxItems | path | `minItems` / `maxItems` | The list must have at least N items / The list is more than N items | target, value |
//! | uniqueItems | path | `uniqueItems` | List of items is not unique | value |
//! | pattern | path | `pattern` | Failed to match pattern 'P' | target P, value |
//! | enum | path | `enum` | Value not found in enumerated list of values | target (the list), value |
//! | format | path | `wrong_format` | Field is not in the correct format | value, format |
//! | additionalProperties: false | path + each extra property | `additionalProperties` | Strict checking of data is enabled; only include schema-defined properties | value (the object) |
//! | additionalItems: false | path | `additionalItems` | Strict checking of data is enabled; only include schema-defined items | value |
//! | anyOf | path | `any_schemas_not_valid` | failed to validate | value |
//! | oneOf, none valid | path | `not_one_schema_valid` | failed to validate | value |
//! | oneOf, several valid | path | `more_than_one_schema_valid` | failed to validate | value |
//! | not | path | `not_schema_valid` | failed to validate | value |
//! | minProperties / maxProperties | path | `too_few_properties` / `too_many_properties` | failed to validate | value |
//! | multipleOf | path | `not_multiple_of` | failed to validate | value |
//!
//! The last rows are Kazoo's catch-all clause (`rule` = jesse's error atom, message
//! "failed to validate"); jesse keeps no branch errors for `anyOf`/`oneOf`, and neither
//! does Kazoo's answer. The field is the instance path joined with `.`, array indexes as
//! numbers, a `.` inside a key written `%2E`; an error on the document itself has the
//! field `""`, as in Kazoo.

use crossbar_envelope::ValidationErrors;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Value};

use crate::defaults::resolve_ref;
use crate::SchemaRegistry;

const FAILED: &str = "failed to validate";

/// All errors of `doc` against the schema `name`, in Kazoo's shape.
pub(crate) fn collect(
    registry: &SchemaRegistry,
    name: &str,
    validator: &Validator,
    doc: &Value,
) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    for error in validator.iter_errors(doc) {
        add(registry, name, &error, &mut errors);
    }
    errors
}

fn add(
    registry: &SchemaRegistry,
    name: &str,
    error: &ValidationError<'_>,
    out: &mut ValidationErrors,
) {
    let segments = pointer_segments(error.instance_path().as_str());
    let field = field_key(&segments);
    let value = error.instance().as_ref();

    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let property_name = match property {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let mut path = segments.clone();
            path.push(property_name);
            out.add_with(
                &field_key(&path),
                "required",
                "Field is required but missing",
                json!({ "value": property }),
            );
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for property in unexpected {
                let mut path = segments.clone();
                path.push(property.clone());
                out.add_with(
                    &field_key(&path),
                    "additionalProperties",
                    "Strict checking of data is enabled; only include schema-defined properties",
                    json!({ "value": value }),
                );
            }
        }
        ValidationErrorKind::AdditionalItems { .. } => out.add_with(
            &field,
            "additionalItems",
            "Strict checking of data is enabled; only include schema-defined items",
            json!({ "value": value }),
        ),
        ValidationErrorKind::Type { kind } => {
            let types = declared_types(registry, name, error).unwrap_or_else(|| type_names(kind));
            out.add_with(
                &field,
                "type",
                format!("Value did not match type(s): {types}"),
                json!({ "target": types, "value": value }),
            );
        }
        ValidationErrorKind::MinLength { limit } => out.add_with(
            &field,
            "minLength",
            format!("String must be at least {limit} characters"),
            json!({ "target": limit, "cause": value, "value": value }),
        ),
        ValidationErrorKind::MaxLength { limit } => out.add_with(
            &field,
            "maxLength",
            format!("String must not be more than {limit} characters"),
            json!({ "target": limit, "cause": value, "value": value }),
        ),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out.add_with(
                &field,
                "minimum",
                format!("Value must be at least {}", number_text(limit)),
                json!({ "target": limit, "value": value }),
            );
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            out.add_with(
                &field,
                "maximum",
                format!("Value must be at most {}", number_text(limit)),
                json!({ "target": limit, "value": value }),
            );
        }
        ValidationErrorKind::MinItems { limit } => out.add_with(
            &field,
            "minItems",
            format!("The list must have at least {limit} items"),
            json!({ "target": limit, "value": value }),
        ),
        ValidationErrorKind::MaxItems { limit } => out.add_with(
            &field,
            "maxItems",
            format!("The list is more than {limit} items"),
            json!({ "target": limit, "value": value }),
        ),
        ValidationErrorKind::UniqueItems => out.add_with(
            &field,
            "uniqueItems",
            "List of items is not unique",
            json!({ "value": value }),
        ),
        ValidationErrorKind::Pattern { pattern } => out.add_with(
            &field,
            "pattern",
            format!("Failed to match pattern '{pattern}'"),
            json!({ "target": pattern, "value": value }),
        ),
        ValidationErrorKind::Enum { options } => out.add_with(
            &field,
            "enum",
            "Value not found in enumerated list of values",
            json!({ "target": options.as_ref(), "value": value }),
        ),
        ValidationErrorKind::Format { format } => out.add_with(
            &field,
            "wrong_format",
            "Field is not in the correct format",
            json!({ "value": value, "format": format }),
        ),
        ValidationErrorKind::AnyOf { .. } => failed(out, &field, "any_schemas_not_valid", value),
        ValidationErrorKind::OneOfNotValid { .. } => {
            failed(out, &field, "not_one_schema_valid", value);
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            failed(out, &field, "more_than_one_schema_valid", value);
        }
        ValidationErrorKind::Not { .. } => failed(out, &field, "not_schema_valid", value),
        ValidationErrorKind::MinProperties { .. } => {
            failed(out, &field, "too_few_properties", value);
        }
        ValidationErrorKind::MaxProperties { .. } => {
            failed(out, &field, "too_many_properties", value);
        }
        ValidationErrorKind::MultipleOf { .. } => failed(out, &field, "not_multiple_of", value),
        ValidationErrorKind::Referencing(err) => {
            tracing::error!(schema = name, error = %err, "schema reference failed during validation");
            out.add_with(
                "schema",
                "schema",
                "schema is invalid",
                json!({ "schema": name }),
            );
        }
        ValidationErrorKind::Custom { keyword, message } => {
            out.add_with(&field, keyword, message.clone(), json!({ "value": value }));
        }
        other => failed(out, &field, other.keyword(), value),
    }
}

/// Kazoo's catch-all clause of `error_to_jobj/2`.
fn failed(out: &mut ValidationErrors, field: &str, rule: &str, value: &Value) {
    out.add_with(field, rule, FAILED, json!({ "value": value }));
}

/// The unescaped segments of a JSON pointer (`/a~1b/0` -> `["a/b", "0"]`).
fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Kazoo's field key: segments joined with `.`, a `.` inside a segment as `%2E`.
pub(crate) fn field_key(segments: &[String]) -> String {
    segments
        .iter()
        .map(|segment| segment.replace('.', "%2E"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A number as `kz_term:to_binary/1` writes it (`5`, `0.5`, `1.0`).
fn number_text(limit: &Value) -> String {
    match limit {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Type names from the error itself (used when the schema node cannot be found).
fn type_names(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(single) => single.as_str().to_string(),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|single| single.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The `type` keyword as written in the failing schema (`kz_json_schema:get_types/1`:
/// a name, or names joined with ", " in the schema's order). Found by walking the
/// error's evaluation path from the root schema, following `$ref`s.
fn declared_types(
    registry: &SchemaRegistry,
    name: &str,
    error: &ValidationError<'_>,
) -> Option<String> {
    let root = registry.raw(name)?;
    let mut current_root = root;
    let mut node = root;
    for segment in pointer_segments(error.evaluation_path().as_str()) {
        if segment == "$ref" {
            if let Some(Value::String(reference)) = node.get("$ref") {
                let (next_root, next) = resolve_ref(registry, current_root, reference)?;
                current_root = next_root;
                node = next;
                continue;
            }
        }
        node = match node {
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match node {
        Value::String(single) => Some(single.clone()),
        Value::Array(names) => Some(
            names
                .iter()
                .map(|name| match name {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        // `type` with a schema in it (draft 3): kz_json_schema says "type schema".
        Value::Object(_) => Some("type schema".to_string()),
        _ => None,
    }
}

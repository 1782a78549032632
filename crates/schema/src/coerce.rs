//! Kazoo's lenient mode (`crossbar.schema_strict_validation` = false, the default):
//! when a value fails `"type": "integer" | "number" | "boolean"` and is a string that
//! converts (`kz_term:to_integer/1`, `to_number/1`, `to_boolean/1`), the document is
//! fixed and validated again (`kz_json_schema:fix_js_types/2`,
//! `cb_context:maybe_fix_js_types/5`).
//!
//! Only strings are converted (`"5"` -> `5`, `"2.5"` -> `2.5`, `"true"` -> `true`);
//! Kazoo's integer conversion of a string like `"2.6"` rounds (to `3`), which is kept.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, Validator};
use serde_json::{Number, Value};

/// One fix: the JSON pointer of the value and what to put there.
pub(crate) struct Conversion {
    pointer: String,
    value: Value,
}

/// The conversions the current errors of `doc` allow.
pub(crate) fn find(validator: &Validator, doc: &Value) -> Vec<Conversion> {
    validator
        .iter_errors(doc)
        .filter_map(|error| {
            let ValidationErrorKind::Type {
                kind: TypeKind::Single(wanted),
            } = error.kind()
            else {
                return None;
            };
            let Value::String(text) = error.instance().as_ref() else {
                return None;
            };
            let value = convert(text, *wanted)?;
            Some(Conversion {
                pointer: error.instance_path().as_str().to_string(),
                value,
            })
        })
        .collect()
}

/// Applies the conversions; true if the document changed.
pub(crate) fn apply(doc: &mut Value, conversions: &[Conversion]) -> bool {
    let mut changed = false;
    for conversion in conversions {
        if let Some(slot) = doc.pointer_mut(&conversion.pointer) {
            if *slot != conversion.value {
                *slot = conversion.value.clone();
                changed = true;
            }
        }
    }
    changed
}

fn convert(text: &str, wanted: JsonType) -> Option<Value> {
    match wanted {
        JsonType::Integer => to_integer(text).map(Value::from),
        JsonType::Number => to_number(text),
        JsonType::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

/// `kz_term:to_integer/1` on a binary: an integer, else a float rounded (half away from
/// zero, as Erlang's `round/1`).
fn to_integer(text: &str) -> Option<i64> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer);
    }
    let float = erlang_float(text)?.round();
    // i64::MAX as f64 rounds up to 2^63, so compare strictly below it.
    if float >= i64::MIN as f64 && float < i64::MAX as f64 {
        Some(float as i64)
    } else {
        None
    }
}

/// `kz_term:to_number/1` on a binary: an integer, else a float.
fn to_number(text: &str) -> Option<Value> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(Value::from(integer));
    }
    erlang_float(text)
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// `binary_to_float/1`: `[+-]digits.digits[(e|E)[+-]digits]`, finite.
fn erlang_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.')?;
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    if let Some(exponent) = exponent {
        if !digits(exponent.strip_prefix(['+', '-']).unwrap_or(exponent)) {
            return None;
        }
    }
    text.parse::<f64>().ok().filter(|float| float.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_kz_term() {
        assert_eq!(to_integer("5"), Some(5));
        assert_eq!(to_integer("-12"), Some(-12));
        assert_eq!(to_integer("2.5"), Some(3));
        assert_eq!(to_integer("-2.5"), Some(-3));
        assert_eq!(to_integer("5x"), None);
        assert_eq!(to_integer("1e5"), None);
        assert_eq!(to_integer("NaN"), None);
        assert_eq!(to_integer(""), None);
        assert_eq!(to_number("5"), Some(Value::from(5)));
        assert_eq!(to_number("2.25"), Some(Value::from(2.25)));
        assert_eq!(to_number("1.0e3"), Some(Value::from(1000.0)));
        assert_eq!(to_number(".5"), None);
        assert_eq!(to_number("inf"), None);
        assert_eq!(convert("true", JsonType::Boolean), Some(Value::Bool(true)));
        assert_eq!(
            convert("false", JsonType::Boolean),
            Some(Value::Bool(false))
        );
        assert_eq!(convert("yes", JsonType::Boolean), None);
        assert_eq!(convert("5", JsonType::String), None);
    }
}

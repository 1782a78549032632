//! Number classifiers (Kazoo's default `number_manager.classifiers`): the first whose
//! regex matches names a number's kind.

use regex::Regex;
use serde_json::{json, Map, Value};

/// (name, regex, friendly name, pretty print), in matching order.
pub const CLASSIFIERS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "tollfree_us",
        r"^\+1((?:800|888|877|866|855|844|833)\d{7})$",
        "US TollFree",
        Some("SS(###) ### - ####"),
    ),
    (
        "toll_us",
        r"^\+1(900\d{7})$",
        "US Toll",
        Some("SS(###) ### - ####"),
    ),
    ("emergency", r"^(911)$", "Emergency Dispatcher", None),
    (
        "caribbean",
        r"^\+?1((?:684|264|268|242|246|441|284|345|767|809|829|849|473|671|876|664|670|787|939|869|758|784|721|868|649|340)\d{7})$",
        "Caribbean",
        Some("SS(###) ### - ####"),
    ),
    (
        "did_us",
        r"^\+?1?([2-9][0-9]{2}[2-9][0-9]{6})$",
        "US DID",
        Some("SS(###) ### - ####"),
    ),
    (
        "international",
        r"^(011\d*)$|^(00\d*)$",
        "International",
        None,
    ),
    ("unknown", r"^(.*)$", "Unknown", None),
];

fn entry(regex: &str, friendly: &str, pretty: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("regex".into(), json!(regex));
    out.insert("friendly_name".into(), json!(friendly));
    if let Some(pretty) = pretty {
        out.insert("pretty_print".into(), json!(pretty));
    }
    out
}

/// `GET /phone_numbers/classifiers`.
pub fn all() -> Value {
    let mut out = Map::new();
    for (name, regex, friendly, pretty) in CLASSIFIERS {
        out.insert(
            (*name).into(),
            Value::Object(entry(regex, friendly, *pretty)),
        );
    }
    Value::Object(out)
}

/// `GET /phone_numbers/classifiers/{N}`: the first classifier matching the number as
/// normalised (and, like Kazoo, as given).
pub fn classify(raw: &str) -> Value {
    let e164 = crossbar_numbering::normalize(raw);
    for (name, regex, friendly, pretty) in CLASSIFIERS {
        let Ok(compiled) = Regex::new(regex) else {
            continue;
        };
        if compiled.is_match(&e164) || compiled.is_match(raw) {
            let mut out = entry(regex, friendly, *pretty);
            out.insert("name".into(), json!(name));
            out.insert("number".into(), json!(raw));
            out.insert("e164".into(), json!(e164));
            return Value::Object(out);
        }
    }
    json!({"number": raw, "e164": e164, "name": "unknown"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins() {
        assert_eq!(classify("8005550100")["name"], "tollfree_us");
        assert_eq!(classify("4155550100")["name"], "did_us");
        assert_eq!(classify("911")["name"], "emergency");
        assert_eq!(classify("+18765550100")["name"], "caribbean");
        assert_eq!(classify("011442079460000")["name"], "international");
        assert_eq!(classify("4155550100")["e164"], "+14155550100");
        assert_eq!(all().as_object().map(|m| m.len()), Some(7));
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};

use super::*;

fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| SchemaRegistry::load_embedded().expect("embedded schemas compile"))
}

/// Validates and returns the error JSON (panics if the document is valid).
fn errors_of(name: &str, doc: &mut Value) -> Value {
    match registry().validate(name, doc) {
        Ok(()) => panic!("{name}: expected errors, document accepted: {doc}"),
        Err(errors) => errors.to_json(),
    }
}

fn accept(name: &str, doc: &mut Value) {
    if let Err(errors) = registry().validate(name, doc) {
        panic!("{name}: expected valid, got {}", errors.to_json());
    }
}

#[test]
fn registry_is_send_sync_and_cheap_to_share() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SchemaRegistry>();
    assert_send_sync::<Arc<SchemaRegistry>>();
}

#[test]
fn every_embedded_schema_compiles() {
    let registry = registry();
    assert!(embedded::EMBEDDED.len() >= 32, "schemas/ is embedded");
    for (name, _) in embedded::EMBEDDED {
        assert!(registry.has(name), "{name} compiled");
    }
    for name in [
        "accounts",
        "users",
        "devices",
        "callflows",
        "callflows.action",
        "temporal_rules",
        "temporal_rules_sets",
        "menus",
        "vmboxes",
        "port_requests",
        "phone_numbers",
        "api_auth",
        "user_auth",
        "user_auth_recovery",
        "user_auth_recovery_reset",
        "find_numbers",
        "caller_id",
    ] {
        assert!(registry.has(name), "{name} is embedded");
    }
    assert!(!registry.has("nope"));
    assert!(!registry.has("users.json"));
}

#[test]
fn kazoo_example_10_8_temporal_rule_with_bad_cycle() {
    let mut doc = json!({"cycle": "hourly"});
    assert_eq!(
        errors_of("temporal_rules", &mut doc),
        json!({
            "cycle": {"enum": {
                "message": "Value not found in enumerated list of values",
                "target": ["date", "daily", "weekly", "monthly", "yearly"],
                "value": "hourly"
            }},
            "name": {"required": {
                "message": "Field is required but missing",
                "value": "name"
            }}
        })
    );
}

#[test]
fn users_fill_defaults() {
    let mut doc = json!({"first_name": "Ada", "last_name": "Lovelace"});
    accept("users", &mut doc);
    assert_eq!(doc["enabled"], json!(true));
    assert_eq!(doc["priv_level"], json!("user"));
    assert_eq!(doc["vm_to_email_enabled"], json!(true));
    assert_eq!(doc["require_password_update"], json!(false));
    assert_eq!(doc["verified"], json!(false));
    assert_eq!(doc["call_restriction"], json!({}));
    assert_eq!(doc["contact_list"], json!({}));
    assert_eq!(doc["music_on_hold"], json!({}));
    assert_eq!(doc["ringtones"], json!({}));
    // An object default is walked too: hotdesk's own properties get their defaults.
    assert_eq!(
        doc["hotdesk"],
        json!({"enabled": false, "keep_logged_in_elsewhere": false, "require_pin": false})
    );
    // Objects without a default are not created, even if their members have defaults.
    assert!(doc.get("call_forward").is_none());
    assert!(doc.get("caller_id").is_none());
}

#[test]
fn users_defaults_go_into_present_sub_objects_only() {
    let mut doc = json!({
        "first_name": "Ada", "last_name": "Lovelace",
        "enabled": false,
        "call_forward": {"number": "+14155550100"}
    });
    accept("users", &mut doc);
    assert_eq!(doc["enabled"], json!(false), "a present value is kept");
    assert_eq!(doc["call_forward"]["enabled"], json!(false));
    assert_eq!(doc["call_forward"]["keep_caller_id"], json!(true));
    assert_eq!(doc["call_forward"]["number"], json!("+14155550100"));
}

#[test]
fn users_reject_missing_first_name() {
    let mut doc = json!({"last_name": "Lovelace"});
    let errors = errors_of("users", &mut doc);
    assert_eq!(
        errors,
        json!({"first_name": {"required": {"message": "Field is required but missing", "value": "first_name"}}})
    );
    // Defaults are still filled into the document.
    assert_eq!(doc["priv_level"], json!("user"));
}

#[test]
fn users_accept_unknown_fields_unchanged_apart_from_defaults() {
    let original = json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "username": "ada",
        "email": "ada@example.com",
        "priv_level": "admin",
        "my_custom_field": {"nested": [1, 2, {"x": "y"}]},
        "another.dotted": "kept",
        "caller_id": {"internal": {"name": "Ada", "number": "1001"}}
    });
    let mut doc = original.clone();
    accept("users", &mut doc);
    let added: Vec<&String> = doc
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| original.get(key.as_str()).is_none())
        .collect();
    for key in &added {
        assert!(
            registry().raw("users").unwrap()["properties"][key.as_str()]
                .get("default")
                .is_some(),
            "{key} was added but has no default"
        );
    }
    for (key, value) in original.as_object().unwrap() {
        assert_eq!(&doc[key], value, "{key} unchanged");
    }
}

#[test]
fn accounts_require_name_and_check_realm_length() {
    let mut doc = json!({"realm": "a.b"});
    let errors = errors_of("accounts", &mut doc);
    assert_eq!(
        errors,
        json!({
            "name": {"required": {"message": "Field is required but missing", "value": "name"}},
            "realm": {"minLength": {
                "message": "String must be at least 4 characters",
                "target": 4, "cause": "a.b", "value": "a.b"
            }}
        })
    );

    let mut doc = json!({"name": "Acme", "realm": "x".repeat(254)});
    let errors = errors_of("accounts", &mut doc);
    assert_eq!(
        errors["realm"]["maxLength"]["message"],
        json!("String must not be more than 253 characters")
    );

    let mut doc = json!({"name": "Acme", "realm": "acme.sip.example.com"});
    accept("accounts", &mut doc);
    assert_eq!(doc["enabled"], json!(true));
}

#[test]
fn devices_accept_a_minimal_device_and_fill_defaults() {
    let mut doc = json!({"name": "x"});
    accept("devices", &mut doc);
    assert_eq!(doc["name"], json!("x"));
    assert_eq!(doc["enabled"], json!(true));
    assert_eq!(doc["exclude_from_queues"], json!(false));
    assert_eq!(doc["mwi_unsolicited_updates"], json!(true));
    assert_eq!(doc["call_restriction"], json!({}));
    assert_eq!(
        doc["sip"],
        json!({"expire_seconds": 300, "invite_format": "contact", "method": "password"})
    );
}

#[test]
fn nested_error_paths_are_dot_joined() {
    let mut doc = json!({
        "first_name": "Ada", "last_name": "Lovelace",
        "caller_id": {"external": {"number": 5551234}}
    });
    let errors = errors_of("users", &mut doc);
    assert_eq!(
        errors,
        json!({"caller_id.external.number": {"type": {
            "message": "Value did not match type(s): string",
            "target": "string",
            "value": 5551234
        }}})
    );
}

#[test]
fn array_indexes_are_numbers_in_the_path() {
    let mut doc =
        json!({"numbers": ["1000", "x".repeat(37)], "flow": {"module": "user", "data": {}}});
    let errors = errors_of("callflows", &mut doc);
    assert_eq!(
        errors["numbers.1"]["maxLength"]["message"],
        json!("String must not be more than 36 characters"),
        "{errors}"
    );
}

#[test]
fn dots_inside_keys_are_escaped() {
    assert_eq!(
        errors::field_key(&["a.b".to_string(), "0".to_string(), "c".to_string()]),
        "a%2Eb.0.c"
    );
    assert_eq!(errors::field_key(&[]), "");
    // callflows.action children are keyed by branch names; a dotted branch key is escaped.
    let mut doc = json!({
        "numbers": ["1000"],
        "flow": {"module": "user", "data": {}, "children": {"a.b": {"data": {}}}}
    });
    let errors = errors_of("callflows", &mut doc);
    assert_eq!(
        errors,
        json!({"flow.children.a%2Eb.module": {"required": {
            "message": "Field is required but missing", "value": "module"
        }}})
    );
}

#[test]
fn nested_flow_nodes_get_their_data_default() {
    let mut doc = json!({
        "numbers": ["1000"],
        "flow": {"module": "user", "children": {"_": {"module": "voicemail"}}}
    });
    accept("callflows", &mut doc);
    assert_eq!(doc["flow"]["data"], json!({}));
    assert_eq!(doc["flow"]["children"]["_"]["data"], json!({}));
    assert_eq!(doc["patterns"], json!([]));
}

#[test]
fn strings_are_coerced_where_the_schema_wants_numbers_or_booleans() {
    let mut doc = json!({
        "name": "weekdays", "cycle": "weekly", "interval": "5",
        "enabled": "true", "days": ["1", "15"]
    });
    accept("temporal_rules", &mut doc);
    assert_eq!(doc["interval"], json!(5));
    assert_eq!(doc["enabled"], json!(true));
    assert_eq!(doc["days"], json!([1, 15]));
    assert_eq!(doc["start_date"], json!(62_586_115_200_i64));

    // A string that does not convert stays and is reported.
    let mut doc = json!({"name": "n", "cycle": "weekly", "interval": "often"});
    let errors = errors_of("temporal_rules", &mut doc);
    assert_eq!(
        errors,
        json!({"interval": {"type": {
            "message": "Value did not match type(s): integer",
            "target": "integer",
            "value": "often"
        }}})
    );

    // A converted value must still pass the other checks.
    let mut doc = json!({"name": "n", "cycle": "weekly", "interval": "0"});
    let errors = errors_of("temporal_rules", &mut doc);
    assert_eq!(doc["interval"], json!(0));
    assert_eq!(
        errors,
        json!({"interval": {"minimum": {"message": "Value must be at least 1", "target": 1, "value": 0}}})
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let mut doc = json!({
        "name": "",
        "cycle": "weekly",
        "interval": 0,
        "month": 13,
        "wdays": ["monday", "funday"],
        "ordinal": 3
    });
    let errors = errors_of("temporal_rules", &mut doc);
    let fields: Vec<&String> = errors.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["interval", "month", "name", "ordinal", "wdays.1"],
        "{errors}"
    );
    assert_eq!(
        errors["name"]["minLength"]["message"],
        json!("String must be at least 1 characters")
    );
    assert_eq!(
        errors["interval"]["minimum"]["message"],
        json!("Value must be at least 1")
    );
    assert_eq!(
        errors["month"]["maximum"]["message"],
        json!("Value must be at most 12")
    );
    assert_eq!(errors["wdays.1"]["enum"]["value"], json!("funday"));
    assert_eq!(
        errors["ordinal"]["type"]["message"],
        json!("Value did not match type(s): string")
    );
}

#[test]
fn one_of_failures_are_reported_like_kazoo() {
    let mut doc = json!({"name": "main", "media": {"exit_media": 5}});
    let errors = errors_of("menus", &mut doc);
    assert_eq!(
        errors,
        json!({"media.exit_media": {"not_one_schema_valid": {"message": "failed to validate", "value": 5}}})
    );
}

#[test]
fn any_of_failures_are_reported_like_kazoo() {
    let mut doc = json!({"name": "phone", "sip": {"custom_sip_headers": {"in": 5}}});
    let errors = errors_of("devices", &mut doc);
    let value = &errors["sip.custom_sip_headers"]["any_schemas_not_valid"];
    assert_eq!(value["message"], json!("failed to validate"), "{errors}");
    assert_eq!(value["value"], json!({"in": 5}));
}

#[test]
fn additional_properties_are_keyed_per_property() {
    // call_restriction members must be objects of {action}; extra members are checked
    // against that schema, each at its own path.
    let mut doc = json!({
        "first_name": "Ada", "last_name": "Lovelace",
        "call_restriction": {"tollfree_us": {"action": "sometimes"}}
    });
    let errors = errors_of("users", &mut doc);
    assert_eq!(
        errors["call_restriction.tollfree_us.action"]["enum"]["value"],
        json!("sometimes")
    );

    // additionalProperties: false (api_auth) names each unexpected property.
    let schema = registry().raw("api_auth").unwrap();
    assert_eq!(schema["additionalProperties"], json!(false));
    let mut doc = json!({"api_key": "k".repeat(64), "one": 1, "two.x": 2});
    let errors = errors_of("api_auth", &mut doc);
    let message = "Strict checking of data is enabled; only include schema-defined properties";
    assert_eq!(
        errors["one"]["additionalProperties"]["message"],
        json!(message),
        "{errors}"
    );
    assert_eq!(
        errors["two%2Ex"]["additionalProperties"]["message"],
        json!(message)
    );
}

#[test]
fn multiple_types_are_named_in_schema_order() {
    let sources = [
        (
            "t",
            r#"{"$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": {"a": {"type": ["object", "null"]}, "b": {"$ref": "u"}}}"#,
        ),
        (
            "u",
            r#"{"type": "object", "properties": {"c": {"type": ["string", "boolean"]}}}"#,
        ),
    ];
    let registry = SchemaRegistry::from_sources(sources).unwrap();
    let mut doc = json!({"a": 1, "b": {"c": 2}});
    let errors = registry.validate("t", &mut doc).unwrap_err().to_json();
    assert_eq!(
        errors["a"]["type"]["message"],
        json!("Value did not match type(s): object, null")
    );
    assert_eq!(errors["b.c"]["type"]["target"], json!("string, boolean"));
}

#[test]
fn formats_are_checked_like_jesse() {
    let mut doc = json!({
        "name": "port", "numbers": {"+14155550100": {}},
        "notifications": {"email": {"send_to": "not-an-email"}}
    });
    let errors = errors_of("port_requests", &mut doc);
    assert_eq!(
        errors["notifications.email.send_to"]["not_one_schema_valid"]["message"],
        json!("failed to validate"),
        "{errors}"
    );

    let mut doc = json!({
        "name": "port", "numbers": {"+14155550100": {}},
        "notifications": {"email": {"send_to": ["a@b", "x@example.com"]}}
    });
    accept("port_requests", &mut doc);

    let mut doc = json!({
        "name": "port", "numbers": {"+14155550100": {}},
        "notifications": {"email": {"send_to": ["a@b", "nope"]}}
    });
    let errors = errors_of("port_requests", &mut doc);
    assert!(
        errors.get("notifications.email.send_to").is_some(),
        "{errors}"
    );
}

#[test]
fn min_properties_uses_kazoos_catch_all() {
    let mut doc = json!({"name": "port", "numbers": {}});
    let errors = errors_of("port_requests", &mut doc);
    assert_eq!(
        errors,
        json!({"numbers": {"too_few_properties": {"message": "failed to validate", "value": {}}}})
    );
}

#[test]
fn unique_items_and_min_items() {
    let mut doc = json!({"name": "set", "temporal_rules": []});
    let errors = errors_of("temporal_rules_sets", &mut doc);
    assert_eq!(
        errors,
        json!({"temporal_rules": {"minItems": {
            "message": "The list must have at least 1 items", "target": 1, "value": []
        }}})
    );

    let mut doc = json!({"numbers": ["1000", "1000"], "flow": {"module": "user"}});
    let errors = errors_of("callflows", &mut doc);
    assert_eq!(
        errors,
        json!({"numbers": {"uniqueItems": {"message": "List of items is not unique", "value": ["1000", "1000"]}}})
    );
}

#[test]
fn pattern_failures() {
    let mut doc = json!({"name": "Acme", "realm": "bad realm!"});
    let errors = errors_of("accounts", &mut doc);
    assert_eq!(
        errors,
        json!({"realm": {"pattern": {
            "message": "Failed to match pattern '^[.\\w-]+$'",
            "target": "^[.\\w-]+$",
            "value": "bad realm!"
        }}})
    );
}

#[test]
fn unknown_schema_is_a_schema_not_found_error() {
    let mut doc = json!({});
    let errors = registry().validate("no_such_schema", &mut doc).unwrap_err();
    assert_eq!(
        errors.to_json(),
        json!({"schema": {"not_found": {"message": "schema not found", "schema": "no_such_schema"}}})
    );
}

#[test]
fn a_document_that_is_not_an_object_is_reported_not_panicked() {
    let mut doc = json!(["not", "an", "object"]);
    let errors = errors_of("users", &mut doc);
    assert_eq!(
        errors[""]["type"]["message"],
        json!("Value did not match type(s): object")
    );
}

#[test]
fn a_missing_ref_target_fails_to_load() {
    let sources = [("t", r#"{"properties": {"a": {"$ref": "missing"}}}"#)];
    let err = SchemaRegistry::from_sources(sources).unwrap_err();
    assert!(err.contains("schema t does not compile"), "{err}");
}

#[test]
fn uri_names() {
    assert_eq!(schema_name_of_uri("json-schema:///caller_id"), "caller_id");
    assert_eq!(
        schema_name_of_uri("json-schema:///callflows.action#/x"),
        "callflows.action"
    );
    assert_eq!(schema_name_of_uri("./users.json"), "users");
    assert_eq!(schema_name_of_uri("file://users"), "users");
}

#[test]
fn pattern_properties_keys_match_as_the_validator_sees_them() {
    let registry = registry();
    assert!(registry.pattern_matches("^[0-9]+$", "12"));
    assert!(!registry.pattern_matches("^[0-9]+$", "1a"));
    assert!(registry.pattern_matches(".+", "_"));
    assert!(!registry.pattern_matches(".+", ""));
    assert!(!registry.pattern_matches("not a known pattern", "x"));
}

#[test]
fn formatters_pattern_is_the_ascii_spelling_of_kazoos_posix_class() {
    // Kazoo's formatters.json keys members with "^[[:alnum:]_]+$" (PCRE). ECMA-262
    // regexes (the validator's dialect) read that as a plain character class followed by
    // "]", so schemas/formatters.json spells it "^[A-Za-z0-9_]+$" (see SOURCE.md).
    let registry = registry();
    assert!(registry.pattern_matches("^[A-Za-z0-9_]+$", "from_user1"));
    assert!(!registry.pattern_matches("^[A-Za-z0-9_]+$", "from-user"));

    let mut doc = json!({"from": [{"direction": "sideways"}], "to-x": 5});
    let errors = errors_of("formatters", &mut doc);
    assert_eq!(
        errors.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["from"],
        "{errors}"
    );
    assert!(
        errors["from"].get("not_one_schema_valid").is_some(),
        "{errors}"
    );
}

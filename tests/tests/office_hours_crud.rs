//! Office hours over HTTP: temporal rules, rule sets, menus and voicemail boxes
//! (defaults, validation, listings, the five verbs, references, mailbox numbers,
//! owners, and who may reach them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_user, id_of, ids_of};
use crossbar_e2e::{assert_error, Answer, TestServer};
use serde_json::{json, Value};

const ACCOUNT: &str = "Office Co";
const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// A server with one account ("Office Co") and its admin token.
fn setup() -> (TestServer, String, String) {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (account, token) = server.account_with_admin(&sd, &server.master_id, ACCOUNT);
    (server, account, token)
}

fn path(account: &str, collection: &str) -> String {
    format!("/v2/accounts/{account}/{collection}")
}

fn put(server: &TestServer, token: &str, account: &str, collection: &str, data: Value) -> Answer {
    server.call(
        "PUT",
        &path(account, collection),
        Some(token),
        Some(json!({ "data": data })),
    )
}

/// Creates a document; returns its id.
fn create(
    server: &TestServer,
    token: &str,
    account: &str,
    collection: &str,
    data: Value,
) -> String {
    let answer = put(server, token, account, collection, data);
    assert_eq!(answer.status, 201, "{collection}: {:?}", answer.body);
    id_of(&answer)
}

fn rule(server: &TestServer, token: &str, account: &str, name: &str) -> String {
    create(
        server,
        token,
        account,
        "temporal_rules",
        json!({"name": name, "cycle": "weekly", "wdays": ["monday"]}),
    )
}

fn listing(
    server: &TestServer,
    token: &str,
    account: &str,
    collection: &str,
    query: &str,
) -> Answer {
    let answer = server.call(
        "GET",
        &format!("{}?{query}", path(account, collection)),
        Some(token),
        None,
    );
    assert_eq!(
        answer.status, 200,
        "{collection}?{query}: {:?}",
        answer.body
    );
    answer
}

fn row_of(answer: &Answer, id: &str) -> Value {
    answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed in {:?}", answer.body))
        .clone()
}

fn no_private_keys(data: &Value) {
    assert!(
        data.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("pvt_") && k != "_id" && k != "_rev"),
        "{data}"
    );
}

#[test]
fn christmas_rule_round_trips_and_defaults_are_filled() {
    let (server, account, token) = setup();
    let christmas = json!({"time_window_start": 0, "time_window_stop": 86400, "days": [25],
        "name": "Christmas", "cycle": "yearly", "start_date": 62586115200u64, "month": 12,
        "ordinal": "every", "interval": 1});
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules",
        christmas.clone(),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "success");
    assert!(answer.body["revision"].is_string());
    let id = id_of(&answer);
    assert_eq!(id.len(), 32);
    assert!(answer
        .header("location")
        .unwrap_or_default()
        .ends_with(&format!("/temporal_rules/{id}")));
    let mut expected = christmas.clone();
    expected["id"] = json!(id);
    assert_eq!(answer.body["data"], expected);

    let item = format!("{}/{id}", path(&account, "temporal_rules"));
    let read = server.call("GET", &item, Some(&token), None);
    assert_eq!(read.status, 200);
    assert_eq!(read.body["data"], expected);
    assert_eq!(read.body["revision"], answer.body["revision"]);

    // Schema defaults: interval 1, start_date 62586115200; `wensday` is accepted.
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules",
        json!({"name": "Midweek", "cycle": "weekly", "wdays": ["monday", "wensday", "wednesday"],
               "time_window_start": "32400", "flags": ["ui"], "type": "main_weekdays"}),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let midweek = id_of(&answer);
    let data = &answer.body["data"];
    assert_eq!(data["interval"], 1);
    assert_eq!(data["start_date"], 62_586_115_200u64);
    // Lenient mode: a numeric string becomes the integer the schema wants.
    assert_eq!(data["time_window_start"], 32400);
    assert_eq!(data["wdays"], json!(["monday", "wensday", "wednesday"]));
    no_private_keys(data);

    // Listing rows are Kazoo's {id, name, type, flags}, flags defaulting to [].
    let list = listing(&server, &token, &account, "temporal_rules", "");
    assert_eq!(
        row_of(&list, &id),
        json!({"id": id, "name": "Christmas", "flags": []})
    );
    assert_eq!(
        row_of(&list, &midweek),
        json!({"id": midweek, "name": "Midweek", "type": "main_weekdays", "flags": ["ui"]})
    );
}

#[test]
fn invalid_rules_answer_kazoo_validation_errors() {
    let (server, account, token) = setup();
    // §10.8 of the contract.
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules",
        json!({"cycle": "hourly"}),
    );
    assert_error(&answer, 400, "validation error");
    let data = answer.body["data"].as_object().unwrap();
    assert_eq!(data.len(), 2, "{data:?}");
    assert_eq!(
        data["cycle"],
        json!({"enum": {"message": "Value not found in enumerated list of values",
                        "target": ["date", "daily", "weekly", "monthly", "yearly"],
                        "value": "hourly"}})
    );
    assert_eq!(
        data["name"]["required"]["message"],
        "Field is required but missing"
    );
    assert_eq!(data["name"].as_object().unwrap().len(), 1);

    for (body, field, rule) in [
        (
            json!({"name": "r", "cycle": "daily", "interval": 0}),
            "interval",
            "minimum",
        ),
        (
            json!({"name": "r", "cycle": "daily", "time_window_stop": 86401}),
            "time_window_stop",
            "maximum",
        ),
        (
            json!({"name": "r", "cycle": "daily", "time_window_start": -1}),
            "time_window_start",
            "minimum",
        ),
        (
            json!({"name": "r", "cycle": "monthly", "days": [32]}),
            "days.0",
            "maximum",
        ),
        (
            json!({"name": "r", "cycle": "yearly", "month": 13}),
            "month",
            "maximum",
        ),
        (
            json!({"name": "r", "cycle": "weekly", "wdays": ["funday"]}),
            "wdays.0",
            "enum",
        ),
        (
            json!({"name": "r", "cycle": "monthly", "ordinal": "sixth"}),
            "ordinal",
            "enum",
        ),
        (json!({"name": "", "cycle": "date"}), "name", "minLength"),
        (json!({"name": "r"}), "cycle", "required"),
    ] {
        let answer = put(&server, &token, &account, "temporal_rules", body.clone());
        assert_error(&answer, 400, "validation error");
        assert!(
            answer.body["data"][field][rule]["message"].is_string(),
            "{body}: {:?}",
            answer.body
        );
    }
    // Nothing was stored.
    let list = listing(&server, &token, &account, "temporal_rules", "");
    assert_eq!(ids_of(&list), Vec::<String>::new());
}

#[test]
fn verbs_on_every_resource() {
    let (server, account, token) = setup();
    let rule_id = rule(&server, &token, &account, "Base rule");
    let cases = [
        (
            "temporal_rules",
            json!({"name": "Weekdays", "cycle": "weekly", "wdays": ["monday"], "time_window_start": 3600}),
            json!({"name": "Weekdays", "cycle": "daily"}),
            "time_window_start",
        ),
        (
            "temporal_rules_sets",
            json!({"name": "Holidays", "temporal_rules": [rule_id], "flags": ["x"]}),
            json!({"name": "Holidays"}),
            "temporal_rules",
        ),
        (
            "menus",
            json!({"name": "Main menu", "timeout": 5000}),
            json!({"name": "Main menu"}),
            "timeout",
        ),
        (
            "vmboxes",
            json!({"name": "Sales box", "mailbox": "3000", "pin": "1234"}),
            json!({"name": "Sales box", "mailbox": "3000"}),
            "pin",
        ),
    ];
    let mut created = Vec::new();
    for (collection, full, replacement, dropped) in &cases {
        let id = create(&server, &token, &account, collection, full.clone());
        created.push(id.clone());
        let item = format!("{}/{id}", path(&account, collection));

        // PATCH merges over the stored document and keeps the rest.
        let answer = server.call(
            "PATCH",
            &item,
            Some(&token),
            Some(json!({"data": {"name": "Renamed", "custom_field": {"a": 1}}})),
        );
        assert_eq!(answer.status, 200, "{collection}: {:?}", answer.body);
        assert_eq!(answer.body["data"]["name"], "Renamed");
        assert_eq!(answer.body["data"]["custom_field"], json!({"a": 1}));
        assert_eq!(answer.body["data"][dropped], full[dropped], "{collection}");
        no_private_keys(&answer.body["data"]);
        let revision = answer.body["revision"].clone();

        // POST replaces the public part: what is not sent is gone.
        let answer = server.call(
            "POST",
            &item,
            Some(&token),
            Some(json!({ "data": replacement })),
        );
        assert_eq!(answer.status, 200, "{collection}: {:?}", answer.body);
        assert!(
            answer.body["data"].get(*dropped).is_none(),
            "{collection}: {:?}",
            answer.body
        );
        assert!(answer.body["data"].get("custom_field").is_none());
        assert_eq!(answer.body["data"]["id"], id.as_str());
        assert_ne!(answer.body["revision"], revision);
        let read = server.call("GET", &item, Some(&token), None);
        assert_eq!(read.body["data"], answer.body["data"], "{collection}");

        // A PATCH that breaks the schema is refused and changes nothing.
        let answer = server.call(
            "PATCH",
            &item,
            Some(&token),
            Some(json!({"data": {"name": ""}})),
        );
        assert_error(&answer, 400, "validation error");
        assert!(answer.body["data"]["name"]["minLength"].is_object());

        // Unknown ids are 404 bad_identifier for every item verb.
        let unknown = format!("{}/{UNKNOWN}", path(&account, collection));
        for method in ["GET", "POST", "PATCH", "DELETE"] {
            let body =
                (method == "POST" || method == "PATCH").then(|| json!({"data": replacement}));
            let answer = server.call(method, &unknown, Some(&token), body);
            assert_error(&answer, 404, "bad_identifier");
            assert_eq!(
                answer.body["data"],
                json!({"message": "bad identifier", "cause": UNKNOWN}),
                "{method} {collection}"
            );
        }
        // Verbs a path does not serve are 405.
        let answer = server.call(
            "POST",
            &path(&account, collection),
            Some(&token),
            Some(json!({"data": {}})),
        );
        assert_error(&answer, 405, "invalid_method");
        let answer = server.call(
            "PUT",
            &item,
            Some(&token),
            Some(json!({"data": replacement})),
        );
        assert_error(&answer, 405, "invalid_method");
    }

    // An id of another kind is 404 at every other resource.
    let collections: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for (i, id) in created.iter().enumerate() {
        for (j, other) in collections.iter().enumerate() {
            if i == j {
                continue;
            }
            let item = format!("{}/{id}", path(&account, other));
            let answer = server.call("GET", &item, Some(&token), None);
            assert_error(&answer, 404, "bad_identifier");
            assert_eq!(answer.body["data"]["cause"], id.as_str());
            let answer = server.call("DELETE", &item, Some(&token), None);
            assert_error(&answer, 404, "bad_identifier");
        }
    }
    // A user id is not an office-hours document either.
    let user = create_user(&server, &token, &account, "someone", "pw-someone-1", "user");
    let answer = server.call(
        "GET",
        &format!("{}/{user}", path(&account, "menus")),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");

    // DELETE is soft: the answer says so, then the document is gone everywhere.
    for (collection, id) in collections.iter().zip(&created) {
        let item = format!("{}/{id}", path(&account, collection));
        let answer = server.call("DELETE", &item, Some(&token), None);
        assert_eq!(answer.status, 200, "{collection}: {:?}", answer.body);
        assert_eq!(answer.body["data"]["_read_only"]["deleted"], true);
        assert_eq!(answer.body["data"]["id"], id.as_str());
        assert_error(
            &server.call("GET", &item, Some(&token), None),
            404,
            "bad_identifier",
        );
        assert_error(
            &server.call("DELETE", &item, Some(&token), None),
            404,
            "bad_identifier",
        );
        let list = listing(&server, &token, &account, collection, "");
        assert!(!ids_of(&list).contains(id), "{collection}");
    }
}

#[test]
fn rule_sets_reference_rules_of_their_account() {
    let (server, account, token) = setup();
    let sd = server.admin_token();
    let (other, other_token) = server.account_with_admin(&sd, &server.master_id, "Elsewhere Co");
    let open = rule(&server, &token, &account, "Open");
    let lunch = rule(&server, &token, &account, "Lunch");
    let foreign = rule(&server, &other_token, &other, "Foreign");
    let menu = create(
        &server,
        &token,
        &account,
        "menus",
        json!({"name": "A menu"}),
    );

    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"name": "Business hours", "temporal_rules": [open, lunch]}),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let set = id_of(&answer);
    assert_eq!(answer.body["data"]["temporal_rules"], json!([open, lunch]));
    let list = listing(&server, &token, &account, "temporal_rules_sets", "");
    assert_eq!(
        row_of(&list, &set),
        json!({"id": set, "name": "Business hours", "rules": [open, lunch], "flags": []})
    );
    // Without rules the row has no `rules`.
    let bare = create(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"name": "Empty"}),
    );
    let list = listing(&server, &token, &account, "temporal_rules_sets", "");
    assert_eq!(
        row_of(&list, &bare),
        json!({"id": bare, "name": "Empty", "flags": []})
    );

    // Ids that are not temporal rules of this account: unknown, another account's,
    // another kind of document.
    for bad in [UNKNOWN, foreign.as_str(), menu.as_str(), "not-an-id"] {
        let answer = put(
            &server,
            &token,
            &account,
            "temporal_rules_sets",
            json!({"name": "Broken", "temporal_rules": [open, bad]}),
        );
        assert_error(&answer, 400, "validation error");
        assert_eq!(
            answer.body["data"],
            json!({"temporal_rules": {"not_found": {
                "message": format!("Temporal rule {bad} not found in this account"),
                "cause": [bad]
            }}}),
            "{bad}"
        );
    }
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"name": "Broken", "temporal_rules": [UNKNOWN, foreign]}),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["temporal_rules"]["not_found"]["cause"],
        json!([UNKNOWN, foreign])
    );

    // Schema first: an empty list or a missing name.
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"name": "None", "temporal_rules": []}),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["temporal_rules"]["minItems"].is_object(),
        "{:?}",
        answer.body
    );
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"temporal_rules": [open]}),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["name"]["required"].is_object());

    // A deleted rule no longer counts, for new sets and for updates of old ones.
    let answer = server.call(
        "DELETE",
        &format!("{}/{lunch}", path(&account, "temporal_rules")),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200);
    let answer = put(
        &server,
        &token,
        &account,
        "temporal_rules_sets",
        json!({"name": "Stale", "temporal_rules": [lunch]}),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["temporal_rules"]["not_found"]["cause"],
        json!([lunch])
    );
    let set_item = format!("{}/{set}", path(&account, "temporal_rules_sets"));
    let answer = server.call(
        "PATCH",
        &set_item,
        Some(&token),
        Some(json!({"data": {"name": "Business hours v2"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["temporal_rules"]["not_found"].is_object());
    let answer = server.call(
        "PATCH",
        &set_item,
        Some(&token),
        Some(json!({"data": {"name": "Business hours v2", "temporal_rules": [open]}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["temporal_rules"], json!([open]));

    // The other account may use its own rule.
    create(
        &server,
        &other_token,
        &other,
        "temporal_rules_sets",
        json!({"name": "Theirs", "temporal_rules": [foreign]}),
    );
}

#[test]
fn menus_get_kazoo_defaults() {
    let (server, account, token) = setup();
    let answer = put(&server, &token, &account, "menus", json!({"name": "Main"}));
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let id = id_of(&answer);
    assert_eq!(
        answer.body["data"],
        json!({"id": id, "name": "Main", "retries": 3, "max_extension_length": 4, "hunt": true,
               "allow_record_from_offnet": false, "suppress_media": false, "media": {}})
    );
    let read = server.call(
        "GET",
        &format!("{}/{id}", path(&account, "menus")),
        Some(&token),
        None,
    );
    assert_eq!(read.body["data"], answer.body["data"]);

    // Given values win over defaults; numeric strings are converted.
    let answer = put(
        &server,
        &token,
        &account,
        "menus",
        json!({"name": "After hours", "retries": "5", "hunt": false, "record_pin": "4321",
               "media": {"greeting": "greeting-media-id"}, "flags": ["ivr"]}),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let after = id_of(&answer);
    assert_eq!(answer.body["data"]["retries"], 5);
    assert_eq!(answer.body["data"]["hunt"], false);
    assert_eq!(answer.body["data"]["max_extension_length"], 4);
    assert_eq!(
        answer.body["data"]["media"],
        json!({"greeting": "greeting-media-id"})
    );

    for (body, field, rule) in [
        (json!({}), "name", "required"),
        (json!({"name": "m", "retries": 11}), "retries", "maximum"),
        (
            json!({"name": "m", "max_extension_length": 0}),
            "max_extension_length",
            "minimum",
        ),
        (
            json!({"name": "m", "record_pin": "12"}),
            "record_pin",
            "minLength",
        ),
        (json!({"name": "m", "timeout": 60001}), "timeout", "maximum"),
        (json!({"name": "m", "hunt": "maybe"}), "hunt", "type"),
    ] {
        let answer = put(&server, &token, &account, "menus", body.clone());
        assert_error(&answer, 400, "validation error");
        assert!(
            answer.body["data"][field][rule].is_object(),
            "{body}: {:?}",
            answer.body
        );
    }

    let list = listing(&server, &token, &account, "menus", "");
    assert_eq!(
        row_of(&list, &id),
        json!({"id": id, "name": "Main", "flags": []})
    );
    assert_eq!(
        row_of(&list, &after),
        json!({"id": after, "name": "After hours", "flags": ["ivr"]})
    );
}

#[test]
fn vmboxes_mailboxes_owners_and_listing() {
    let (server, account, token) = setup();
    let sd = server.admin_token();
    let (other, other_token) = server.account_with_admin(&sd, &server.master_id, "Other Boxes");

    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Support", "mailbox": "2000"}),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let support = id_of(&answer);
    let data = &answer.body["data"];
    assert_eq!(data["mailbox"], "2000");
    assert_eq!(data["check_if_owner"], true);
    assert_eq!(data["media_extension"], "mp3");
    assert_eq!(data["media"], json!({}));
    assert_eq!(data["notify_email_addresses"], json!([]));
    assert_eq!(data["seek_duration_ms"], 10000);
    for key in [
        "require_pin",
        "skip_greeting",
        "skip_instructions",
        "delete_after_notify",
        "is_setup",
        "transcribe",
        "not_configurable",
        "oldest_message_first",
        "save_after_notify",
    ] {
        assert_eq!(data[key], false, "{key}");
    }
    assert!(data.get("messages").is_none());
    no_private_keys(data);

    // The mailbox is required, and so is the name.
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "No number"}),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"].as_object().unwrap().len(),
        1,
        "{:?}",
        answer.body
    );
    assert_eq!(
        answer.body["data"]["mailbox"]["required"]["message"],
        "Field is required but missing"
    );

    // Unique in the account, compared as integers.
    let unique =
        json!({"mailbox": {"unique": {"message": "Invalid mailbox number or already exists"}}});
    for taken in ["2000", "02000", "+2000"] {
        let answer = put(
            &server,
            &token,
            &account,
            "vmboxes",
            json!({"name": "Dup", "mailbox": taken}),
        );
        assert_error(&answer, 400, "validation error");
        assert_eq!(answer.body["data"], unique, "{taken}");
    }
    // Not an integer: the same error, beside the schema's.
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Letters", "mailbox": "abc"}),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(answer.body["data"], unique);
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"mailbox": "12x"}),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(answer.body["data"]["mailbox"], unique["mailbox"]);
    assert_eq!(
        answer.body["data"]["name"]["required"]["message"],
        "Field is required but missing"
    );
    // Pin length per schema.
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Pin", "mailbox": "2001", "pin": "123"}),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["pin"]["minLength"].is_object());
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Pin", "mailbox": "2001", "pin": "1234567"}),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["pin"]["maxLength"].is_object());

    // Another account may use the same number.
    create(
        &server,
        &other_token,
        &other,
        "vmboxes",
        json!({"name": "Theirs", "mailbox": "2000"}),
    );

    // Updating a box keeps its own number; taking another's is refused.
    let sales = create(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "sales", "mailbox": "2002", "pin": "0000"}),
    );
    let sales_item = format!("{}/{sales}", path(&account, "vmboxes"));
    let answer = server.call(
        "PATCH",
        &sales_item,
        Some(&token),
        Some(json!({"data": {"pin": "9876"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let answer = server.call(
        "PATCH",
        &sales_item,
        Some(&token),
        Some(json!({"data": {"mailbox": "2000"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(answer.body["data"], unique);
    let answer = server.call(
        "PATCH",
        &sales_item,
        Some(&token),
        Some(json!({"data": {"mailbox": "two"}})),
    );
    assert_error(&answer, 400, "validation error");
    // A renumbered box frees its old number; a deleted box frees its number.
    let answer = server.call(
        "PATCH",
        &sales_item,
        Some(&token),
        Some(json!({"data": {"mailbox": "2003"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    create(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Reuse", "mailbox": "2002"}),
    );
    let support_item = format!("{}/{support}", path(&account, "vmboxes"));
    assert_eq!(
        server
            .call("DELETE", &support_item, Some(&token), None)
            .status,
        200
    );
    let again = create(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Support again", "mailbox": "2000"}),
    );

    // owner_id must be a (live) user of this account.
    let owner = create_user(&server, &token, &account, "boxowner", "pw-owner-1", "user");
    let foreign_user = create_user(
        &server,
        &other_token,
        &other,
        "foreigner",
        "pw-foreign-1",
        "user",
    );
    for bad in [UNKNOWN, foreign_user.as_str(), sales.as_str()] {
        let answer = put(
            &server,
            &token,
            &account,
            "vmboxes",
            json!({"name": "Owned", "mailbox": "2100", "owner_id": bad}),
        );
        assert_error(&answer, 400, "validation error");
        assert_eq!(
            answer.body["data"]["owner_id"]["not_found"]["message"],
            format!("Owner {bad} is not a user of this account"),
            "{:?}",
            answer.body
        );
        let answer = server.call(
            "PATCH",
            &sales_item,
            Some(&token),
            Some(json!({"data": {"owner_id": bad}})),
        );
        assert_error(&answer, 400, "validation error");
    }
    let owned = create(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Owned", "mailbox": "2100", "owner_id": owner}),
    );
    server.call(
        "DELETE",
        &format!("/v2/accounts/{account}/users/{owner}"),
        Some(&token),
        None,
    );
    let answer = put(
        &server,
        &token,
        &account,
        "vmboxes",
        json!({"name": "Orphan", "mailbox": "2101", "owner_id": owner}),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["owner_id"]["not_found"].is_object());

    // A `messages` array in a request is not stored.
    let answer = server.call(
        "PATCH",
        &sales_item,
        Some(&token),
        Some(json!({"data": {"messages": [{"media_id": "x"}]}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["data"].get("messages").is_none());

    // Listing rows {id, name, mailbox, owner_id, messages, flags}, in name order
    // (descending by default).
    let list = listing(&server, &token, &account, "vmboxes", "");
    assert_eq!(
        row_of(&list, &owned),
        json!({"id": owned, "name": "Owned", "mailbox": "2100", "owner_id": owner, "messages": 0, "flags": []})
    );
    assert_eq!(
        row_of(&list, &sales),
        json!({"id": sales, "name": "sales", "mailbox": "2003", "messages": 0, "flags": []})
    );
    let names = |answer: &Answer| -> Vec<String> {
        answer.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&list), ["Support again", "sales", "Reuse", "Owned"]);
    let list = listing(&server, &token, &account, "vmboxes", "ascending=true");
    assert_eq!(names(&list), ["Owned", "Reuse", "sales", "Support again"]);
    assert!(ids_of(&list).contains(&again));
    let list = listing(&server, &token, &account, "vmboxes", "filter_mailbox=2100");
    assert_eq!(ids_of(&list), vec![owned]);
}

#[test]
fn concurrent_boxes_cannot_share_a_mailbox() {
    let (server, account, token) = setup();
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (server, account, token) = (&server, &account, &token);
                scope.spawn(move || {
                    // "5000", "05000", "005000"...: one number however it is written.
                    let mailbox = format!("{}5000", "0".repeat(i % 3));
                    put(
                        server,
                        token,
                        account,
                        "vmboxes",
                        json!({"name": format!("Racer {i}"), "mailbox": mailbox}),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for answer in answers.iter().filter(|a| a.status != 201) {
        assert_error(answer, 400, "validation error");
        assert!(answer.body["data"]["mailbox"]["unique"].is_object());
    }
    let list = listing(&server, &token, &account, "vmboxes", "");
    assert_eq!(ids_of(&list), vec![id_of(created[0])]);
}

#[test]
fn accounts_reach_only_their_own_and_their_descendants_office_hours() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (parent, parent_token) = server.account_with_admin(&sd, &server.master_id, "Parent Office");
    let (child, child_token) = server.account_with_admin(&parent_token, &parent, "Child Office");
    let (stranger, stranger_token) =
        server.account_with_admin(&sd, &server.master_id, "Stranger Office");

    let bodies = [
        (
            "temporal_rules",
            json!({"name": "Child rule", "cycle": "daily"}),
        ),
        ("temporal_rules_sets", json!({"name": "Child set"})),
        ("menus", json!({"name": "Child menu"})),
        ("vmboxes", json!({"name": "Child box", "mailbox": "100"})),
    ];
    for (collection, body) in &bodies {
        let id = create(&server, &child_token, &child, collection, body.clone());
        let item = format!("{}/{id}", path(&child, collection));
        // The parent (and the master) reach the child's documents.
        for token in [&parent_token, &sd] {
            let answer = server.call("GET", &item, Some(token), None);
            assert_eq!(answer.status, 200, "{collection}: {:?}", answer.body);
            assert_eq!(answer.body["data"]["name"], body["name"]);
        }
        // A stranger is refused every verb, and sees nothing.
        let attempts = [
            ("GET", path(&child, collection), None),
            ("PUT", path(&child, collection), Some(json!({"data": body}))),
            ("GET", item.clone(), None),
            ("POST", item.clone(), Some(json!({"data": body}))),
            (
                "PATCH",
                item.clone(),
                Some(json!({"data": {"name": "Hijacked"}})),
            ),
            ("DELETE", item.clone(), None),
        ];
        for (method, target, body) in attempts {
            let answer = server.call(method, &target, Some(&stranger_token), body);
            assert_error(&answer, 403, "forbidden");
            assert!(
                !answer.body.to_string().contains("Child"),
                "{method} {target}"
            );
        }
        // Nor may a child reach up to its parent.
        let answer = server.call("GET", &path(&parent, collection), Some(&child_token), None);
        assert_error(&answer, 403, "forbidden");
        // The document is untouched, and does not show in another account's listing.
        let answer = server.call("GET", &item, Some(&child_token), None);
        assert_eq!(answer.body["data"]["name"], body["name"]);
        let list = listing(&server, &stranger_token, &stranger, collection, "");
        assert!(!ids_of(&list).contains(&id));
        // A document of one account is not found under another's path.
        let answer = server.call(
            "GET",
            &format!("{}/{id}", path(&parent, collection)),
            Some(&parent_token),
            None,
        );
        assert_error(&answer, 404, "bad_identifier");
    }
    // No token at all.
    let answer = server.call("GET", &path(&child, "menus"), None, None);
    assert_error(&answer, 401, "invalid_credentials");
}

#[test]
fn rule_listings_page_by_id() {
    let (server, account, token) = setup();
    let mut ids: Vec<String> = ["b", "c", "a", "e", "d"]
        .iter()
        .map(|name| rule(&server, &token, &account, name))
        .collect();
    ids.sort();
    for (query, expected) in [
        ("page_size=2&ascending=true", ids.clone()),
        ("page_size=2", ids.iter().rev().cloned().collect::<Vec<_>>()),
    ] {
        let mut seen = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..10 {
            let q = match &next {
                Some(key) => format!("{query}&start_key={key}"),
                None => query.to_string(),
            };
            let page = listing(&server, &token, &account, "temporal_rules", &q);
            seen.extend(ids_of(&page));
            next = page
                .body
                .get("next_start_key")
                .and_then(Value::as_str)
                .map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "{query}");
    }
    let answer = listing(
        &server,
        &token,
        &account,
        "temporal_rules",
        "paginate=false",
    );
    assert_eq!(ids_of(&answer).len(), 5);
    assert!(answer.body.get("page_size").is_none());

    // The service's database is part of readiness (of the process; a gateway
    // reports its replicas instead).
    if !crossbar_e2e::cluster_mode() {
        let ready = server.call("GET", "/readyz", None, None);
        assert_eq!(ready.status, 200, "{:?}", ready.body);
        assert_eq!(ready.body["checks"]["database.office_hours"], "ok");
    }
}

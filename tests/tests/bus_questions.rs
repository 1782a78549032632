//! Request-reply questions services ask each other over the bus, through a real node:
//! temporal evaluation (for the callflow simulator), document lookups, account lookups,
//! and the office-hours time-zone projection following account events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_account, create_device, create_user, id_of};
use crossbar_e2e::TestServer;
use crossbar_events::subjects::{
    documents_find_subject, documents_get_subject, ACCOUNT_GET_SUBJECT, TEMPORAL_EVALUATE_SUBJECT,
};
use serde_json::{json, Value};

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// 2026-03-09 is a Monday: 09:30 UTC is 05:30 in New York (EDT) and 09:30 in London.
const MONDAY_0930_UTC: i64 = 1_773_048_600;

fn create(
    server: &TestServer,
    token: &str,
    account: &str,
    collection: &str,
    data: Value,
) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/{collection}"),
        Some(token),
        Some(json!({ "data": data })),
    );
    assert_eq!(answer.status, 201, "{collection}: {:?}", answer.body);
    id_of(&answer)
}

fn account_in(server: &TestServer, token: &str, name: &str, timezone: &str) -> String {
    let created = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(token),
        Some(json!({"data": {"name": name, "timezone": timezone}})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    id_of(&created)
}

fn monday_hours(server: &TestServer, token: &str, account: &str) -> String {
    create(
        server,
        token,
        account,
        "temporal_rules",
        json!({"name": "Monday 9-17", "cycle": "weekly", "wdays": ["monday"],
               "time_window_start": 32_400, "time_window_stop": 61_200}),
    )
}

fn evaluate(server: &TestServer, account: &str, at: i64, ids: &[&str]) -> Value {
    server
        .ask(
            TEMPORAL_EVALUATE_SUBJECT,
            json!({"account_id": account, "at": at, "ids": ids}),
        )
        .unwrap()
}

#[test]
fn temporal_evaluation_answers_rules_and_sets_in_the_accounts_zone() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let account = account_in(&server, &sd, "Eastern", "America/New_York");
    let rule = monday_hours(&server, &sd, &account);
    let weekend = create(
        &server,
        &sd,
        &account,
        "temporal_rules",
        json!({"name": "Weekend", "cycle": "weekly", "wdays": ["saturday", "sunday"]}),
    );
    let set = create(
        &server,
        &sd,
        &account,
        "temporal_rules_sets",
        json!({"name": "Open", "temporal_rules": [weekend, rule]}),
    );

    // 13:30 UTC = 09:30 EDT: open. Results come back in the order asked.
    let answer = evaluate(
        &server,
        &account,
        MONDAY_0930_UTC + 4 * 3600,
        &[&set, &weekend, &rule, UNKNOWN],
    );
    assert_eq!(answer["timezone"], "America/New_York");
    assert_eq!(answer["at"], "2026-03-09T13:30:00Z");
    assert_eq!(answer["at_local"], "2026-03-09T09:30:00-04:00");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["id"], set.as_str());
    assert_eq!(results[0]["kind"], "temporal_rule_set");
    assert_eq!(results[0]["active"], true);
    assert_eq!(results[0]["matched_rule_ids"], json!([rule]));
    assert_eq!(results[1]["kind"], "temporal_rule");
    assert_eq!(results[1]["active"], false);
    assert_eq!(results[1]["next_change"], "2026-03-14T04:00:00Z");
    assert_eq!(results[2]["active"], true);
    assert_eq!(results[2]["name"], "Monday 9-17");
    assert_eq!(results[2]["next_change"], "2026-03-09T21:00:01Z");
    assert_eq!(results[3]["kind"], Value::Null);
    assert_eq!(results[3]["active"], false);

    // One second before opening: closed, opening next.
    let answer = evaluate(
        &server,
        &account,
        MONDAY_0930_UTC + 3 * 3600 + 1799,
        &[&rule],
    );
    assert_eq!(answer["results"][0]["active"], false);
    assert_eq!(answer["results"][0]["next_change"], "2026-03-09T13:00:00Z");

    // Another account's rule is not visible from this account.
    let other = account_in(&server, &sd, "Other", "Europe/London");
    let foreign = evaluate(&server, &other, MONDAY_0930_UTC, &[&rule]);
    assert_eq!(foreign["results"][0]["kind"], Value::Null);
    assert_eq!(foreign["timezone"], "Europe/London");

    // Bad questions are refused, not guessed.
    assert!(server
        .ask(TEMPORAL_EVALUATE_SUBJECT, json!({"account_id": account}))
        .is_err());
    assert!(server
        .ask(
            TEMPORAL_EVALUATE_SUBJECT,
            json!({"at": MONDAY_0930_UTC, "ids": []})
        )
        .is_err());
    assert!(server
        .ask("crossbar.rpc.office_hours.nothing", json!({}))
        .unwrap_err()
        .contains("no responder"));
}

#[test]
fn the_time_zone_projection_follows_account_changes() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let account = account_in(&server, &sd, "Moving Office", "America/New_York");
    let rule = monday_hours(&server, &sd, &account);

    let before = evaluate(&server, &account, MONDAY_0930_UTC, &[&rule]);
    assert_eq!(before["timezone"], "America/New_York");
    assert_eq!(before["results"][0]["active"], false);

    // The account moves to London: the next evaluation uses the new zone, over the
    // bus and over HTTP alike.
    let patched = server.call(
        "PATCH",
        &format!("/v2/accounts/{account}"),
        Some(&sd),
        Some(json!({"data": {"timezone": "Europe/London"}})),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let after = evaluate(&server, &account, MONDAY_0930_UTC, &[&rule]);
    assert_eq!(after["timezone"], "Europe/London");
    assert_eq!(after["results"][0]["active"], true);
    let http = server.call(
        "GET",
        &format!("/v2/accounts/{account}/temporal_rules/{rule}/evaluate?at=2026-03-09T09:30:00Z"),
        Some(&sd),
        None,
    );
    assert_eq!(http.body["data"]["timezone"], "Europe/London");
    assert_eq!(http.body["data"]["active"], true);

    // An unknown zone falls back to Kazoo's default.
    let patched = server.call(
        "PATCH",
        &format!("/v2/accounts/{account}"),
        Some(&sd),
        Some(json!({"data": {"timezone": "Mars/Olympus_Mons"}})),
    );
    if patched.status == 200 {
        let fallback = evaluate(&server, &account, MONDAY_0930_UTC, &[&rule]);
        assert_eq!(fallback["timezone"], "America/Los_Angeles");
    }
}

#[test]
fn account_and_document_lookups_answer_only_within_the_account() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let account = create_account(&server, &sd, &server.master_id, "Lookup Co");
    let other = create_account(&server, &sd, &server.master_id, "Elsewhere Co");
    let user = create_user(&server, &sd, &account, "alice", "secret-pass-1", "user");
    let phone = create_device(
        &server,
        &sd,
        &account,
        json!({"name": "Alice desk", "owner_id": user}),
    );
    let _unowned = create_device(&server, &sd, &account, json!({"name": "Lobby"}));

    let found = server
        .ask(ACCOUNT_GET_SUBJECT, json!({"account_id": account}))
        .unwrap();
    assert_eq!(found["account"]["id"], account.as_str());
    assert_eq!(found["account"]["name"], "Lookup Co");
    assert_eq!(found["account"]["tree"], json!([server.master_id]));
    let missing = server
        .ask(ACCOUNT_GET_SUBJECT, json!({"account_id": UNKNOWN}))
        .unwrap();
    assert_eq!(missing["account"], Value::Null);

    let docs = server
        .ask(
            &documents_get_subject("accounts"),
            json!({"account_id": account, "ids": [user, phone, UNKNOWN]}),
        )
        .unwrap();
    let docs = docs["documents"].as_object().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[&user]["kind"], "user");
    assert_eq!(docs[&user]["doc"]["username"], "alice");
    let text = docs[&user]["doc"].to_string();
    assert!(
        !text.contains("secret-pass-1") && !text.contains("pvt_"),
        "{text}"
    );
    assert_eq!(docs[&phone]["kind"], "device");

    // The same ids asked for from another account: nothing.
    let foreign = server
        .ask(
            &documents_get_subject("accounts"),
            json!({"account_id": other, "ids": [user, phone]}),
        )
        .unwrap();
    assert_eq!(foreign["documents"], json!({}));

    // Devices owned by the user.
    let owned = server
        .ask(
            &documents_find_subject("accounts"),
            json!({"account_id": account, "kind": "device", "field": "owner_id", "value": user}),
        )
        .unwrap();
    let owned = owned["documents"].as_array().unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0]["id"], phone.as_str());
    // Private fields cannot be searched on.
    assert!(server
        .ask(
            &documents_find_subject("accounts"),
            json!({"account_id": account, "kind": "user", "field": "pvt_md5_hash", "value": "x"}),
        )
        .is_err());
}

//! Callflows mark the numbers they route `used_by: "callflow"` (issue 3 scope 6), end to
//! end over HTTP: the callflows service publishes its callflow events, the numbers
//! service follows them. Only numbers of the callflow's own account are marked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crossbar_e2e::{Answer, TestServer};
use serde_json::{json, Value};

fn import(server: &TestServer, token: &str, csv: &str) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let result = agent
        .put(&format!("{}/v2/phone_numbers/inventory", server.base))
        .set("X-Auth-Token", token)
        .set("Content-Type", "text/csv")
        .send_string(csv);
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers: Vec::new(),
    }
}

fn number_path(account: &str, number: &str) -> String {
    format!("/v2/accounts/{account}/phone_numbers/{number}")
}

/// Adds (reserves) and activates `number` in `account` as its own admin.
fn add_and_activate(server: &TestServer, account: &str, token: &str, number: &str) {
    let added = server.call("PUT", &number_path(account, number), Some(token), None);
    assert_eq!(added.status, 201, "{:?}", added.body);
    let active = server.call(
        "PUT",
        &format!("{}/activate", number_path(account, number)),
        Some(token),
        None,
    );
    assert_eq!(active.status, 200, "{:?}", active.body);
    assert_eq!(active.body["data"]["state"], "in_service");
}

/// `used_by` of `number` as `GET /phone_numbers/{N}` shows it (`_read_only.used_by`,
/// kazoo-api.md §9.9), which the account listing must agree with.
/// The two reads are two requests: an event handled between them (more likely when the
/// consumer is another process) makes them differ once, so they are read again.
fn used_by(server: &TestServer, account: &str, token: &str, number: &str) -> Value {
    let mut attempts = 0;
    loop {
        let read = server.call("GET", &number_path(account, number), Some(token), None);
        assert_eq!(read.status, 200, "{:?}", read.body);
        let listing = server.call(
            "GET",
            &format!("/v2/accounts/{account}/phone_numbers"),
            Some(token),
            None,
        );
        assert_eq!(listing.status, 200, "{:?}", listing.body);
        let listed = listing.body["data"]["numbers"][number]["used_by"].clone();
        let read_only = read.body["data"]["_read_only"]["used_by"].clone();
        attempts += 1;
        if listed == read_only || attempts >= 20 {
            assert_eq!(listed, read_only, "listing vs _read_only: {:?}", read.body);
            return read_only;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits (the bus may deliver after the answer) until `used_by` is `expected`.
fn expect_used_by(server: &TestServer, account: &str, token: &str, number: &str, expected: Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = used_by(server, account, token, number);
        let matches = match &expected {
            Value::Null => seen.is_null(),
            other => &seen == other,
        };
        if matches {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{number}: used_by is {seen:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn callflows_mark_and_unmark_their_accounts_numbers() {
    let server = TestServer::start();
    let admin = server.admin_token();
    let (account, token) = server.account_with_admin(&admin, &server.master_id, "Used By Customer");
    let (other, other_token) =
        server.account_with_admin(&admin, &server.master_id, "Used By Other");
    let imported = import(
        &server,
        &admin,
        "number,city\n4155550300,SF\n4155550301,SF\n4155550302,SF\n",
    );
    assert_eq!(imported.status, 200, "{:?}", imported.body);
    assert_eq!(imported.body["data"]["added"], 3);
    let (n1, n2, foreign) = ("+14155550300", "+14155550301", "+14155550302");
    add_and_activate(&server, &account, &token, n1);
    add_and_activate(&server, &account, &token, n2);
    add_and_activate(&server, &other, &other_token, foreign);
    expect_used_by(&server, &account, &token, n1, Value::Null);

    // A callflow listing both numbers (one in national format) marks both.
    let callflows = format!("/v2/accounts/{account}/callflows");
    let created = server.call(
        "PUT",
        &callflows,
        Some(&token),
        Some(
            json!({"data": {"name": "Main", "numbers": ["4155550300", n2, "2000"],
                             "flow": {"module": "hangup", "data": {}}}}),
        ),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let callflow = created.body["data"]["id"].as_str().unwrap().to_string();
    expect_used_by(&server, &account, &token, n1, json!("callflow"));
    expect_used_by(&server, &account, &token, n2, json!("callflow"));

    // Updated to drop n1: n1 is unmarked, n2 stays marked.
    let path = format!("{callflows}/{callflow}");
    let dropped = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": {"name": "Main", "numbers": [n2, "2000"],
                             "flow": {"module": "hangup", "data": {}}}})),
    );
    assert_eq!(dropped.status, 200, "{:?}", dropped.body);
    expect_used_by(&server, &account, &token, n1, Value::Null);
    expect_used_by(&server, &account, &token, n2, json!("callflow"));

    // Re-added (through PATCH this time): marked again.
    let readded = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"numbers": [n2, n1, "2000"]}})),
    );
    assert_eq!(readded.status, 200, "{:?}", readded.body);
    expect_used_by(&server, &account, &token, n1, json!("callflow"));

    // Deleted: both unmarked.
    let deleted = server.call("DELETE", &path, Some(&token), None);
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    expect_used_by(&server, &account, &token, n1, Value::Null);
    expect_used_by(&server, &account, &token, n2, Value::Null);

    // A number of another account listed in this account's callflow (the superduper
    // may list it) is not marked: used_by belongs to the number's own account.
    let cross = server.call(
        "PUT",
        &callflows,
        Some(&admin),
        Some(json!({"data": {"name": "Cross", "numbers": [foreign, n1],
                             "flow": {"module": "hangup", "data": {}}}})),
    );
    assert_eq!(cross.status, 201, "{:?}", cross.body);
    expect_used_by(&server, &account, &token, n1, json!("callflow"));
    // n1 marked means the event was handled; the foreign number stayed unmarked.
    assert_eq!(
        used_by(&server, &other, &other_token, foreign),
        Value::Null,
        "a number of another account is not marked"
    );
    // The other account's own callflow does mark it.
    let own = server.call(
        "PUT",
        &format!("/v2/accounts/{other}/callflows"),
        Some(&other_token),
        Some(json!({"data": {"name": "Own", "numbers": ["+14155550302"],
                             "flow": {"module": "hangup", "data": {}}}})),
    );
    // The number is claimed by the cross callflow only within the customer account,
    // so the other account may route it too.
    assert_eq!(own.status, 201, "{:?}", own.body);
    expect_used_by(&server, &other, &other_token, foreign, json!("callflow"));
}

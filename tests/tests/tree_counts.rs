//! `descendants_count` is kept by create, delete and move, and descendants come in
//! tree order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_e2e::TestServer;
use serde_json::{json, Value};

fn create(server: &TestServer, token: &str, parent: &str, name: &str) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(token),
        Some(json!({"data": {"name": name}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body["data"]["id"].as_str().unwrap().to_string()
}

fn counts(server: &TestServer, token: &str, parent: &str) -> Vec<(String, i64)> {
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{parent}/children"),
        Some(token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["name"].as_str().unwrap().to_string(),
                row["descendants_count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The `descendants_count` of `id` in the children listing of `parent`.
fn count_of(server: &TestServer, token: &str, parent: &str, id: &str) -> i64 {
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{parent}/children"),
        Some(token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == id)
        .and_then(|row| row["descendants_count"].as_i64())
        .unwrap_or_else(|| panic!("{id} is not a child of {parent}: {:?}", answer.body))
}

#[test]
fn counts_follow_creates_moves_and_deletes() {
    let server = TestServer::start();
    let token = server.admin_token();
    let master = server.master_id.clone();
    // A root of this test's own under the master: its children are this test's.
    let root = create(&server, &token, &master, "Count Root");
    let a = create(&server, &token, &root, "Count A");
    let b = create(&server, &token, &root, "Count B");
    let a1 = create(&server, &token, &a, "Count A1");
    let a1x = create(&server, &token, &a1, "Count A1x");
    assert_eq!(
        counts(&server, &token, &root),
        vec![("Count A".into(), 2), ("Count B".into(), 0)]
    );
    assert_eq!(count_of(&server, &token, &master, &root), 4);

    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&token),
        Some(json!({"data": {"to": b}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        counts(&server, &token, &root),
        vec![("Count A".into(), 0), ("Count B".into(), 2)]
    );
    assert_eq!(counts(&server, &token, &b), vec![("Count A1".into(), 1)]);
    assert_eq!(count_of(&server, &token, &master, &root), 4);

    assert_eq!(
        server
            .call("DELETE", &format!("/v2/accounts/{a1x}"), Some(&token), None)
            .status,
        200
    );
    assert_eq!(
        counts(&server, &token, &root),
        vec![("Count A".into(), 0), ("Count B".into(), 1)]
    );
    assert_eq!(count_of(&server, &token, &master, &root), 3);

    // Descendants in tree order: each parent before its subtree.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{root}/descendants"),
        Some(&token),
        None,
    );
    let ids: Vec<&str> = answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    assert!(pos(&b) < pos(&a1));
    assert_eq!(ids.len(), 3);
    let trees: Vec<&Value> = answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["tree"])
        .collect();
    assert!(trees
        .iter()
        .all(|t| t[0] == master.as_str() && t[1] == root.as_str()));
}

//! The cross-account matrix: who reaches which account, and that a refusal never
//! carries the other account's data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_device, create_user, id_of};
use crossbar_e2e::{assert_error, TestServer, MASTER_NAME};
use serde_json::json;

const NAME_A: &str = "Reseller A";
const NAME_A1: &str = "Child A1";
const NAME_A1X: &str = "Grandchild A1x";
const NAME_B: &str = "Sibling B";
const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// master -> A -> A1 -> A1x, master -> B; each with an admin, a user and a device.
struct World {
    server: TestServer,
    sd: String,
    a: Acct,
    a1: Acct,
    a1x: Acct,
    b: Acct,
}

struct Acct {
    id: String,
    token: String,
    user: String,
    device: String,
}

fn acct(server: &TestServer, creator: &str, parent: &str, name: &str) -> Acct {
    let (id, token) = server.account_with_admin(creator, parent, name);
    let user = create_user(server, &token, &id, "someone", "pw-someone-1", "user");
    let device = create_device(
        server,
        &token,
        &id,
        json!({"name": format!("phone of {name}")}),
    );
    Acct {
        id,
        token,
        user,
        device,
    }
}

fn world() -> World {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    let a = acct(&server, &sd, &master, NAME_A);
    let a1 = acct(&server, &a.token, &a.id, NAME_A1);
    let a1x = acct(&server, &a1.token, &a1.id, NAME_A1X);
    let b = acct(&server, &sd, &master, NAME_B);
    World {
        server,
        sd,
        a,
        a1,
        a1x,
        b,
    }
}

/// The read paths of one account.
fn read_paths(account: &str) -> Vec<String> {
    vec![
        format!("/v2/accounts/{account}"),
        format!("/v2/accounts/{account}/users"),
        format!("/v2/accounts/{account}/devices"),
        format!("/v2/accounts/{account}/children"),
        format!("/v2/accounts/{account}/descendants"),
    ]
}

fn assert_reaches(server: &TestServer, token: &str, account: &str, name: &str) {
    for path in read_paths(account) {
        let answer = server.call("GET", &path, Some(token), None);
        assert_eq!(answer.status, 200, "GET {path}: {:?}", answer.body);
        assert_eq!(answer.body["status"], "success");
    }
    let answer = server.call("GET", &format!("/v2/accounts/{account}"), Some(token), None);
    assert_eq!(answer.body["data"]["name"], name);
}

/// 403 forbidden for every read and write, and the other account's name never shows.
fn assert_forbidden(server: &TestServer, token: &str, account: &str, hidden_name: &str) {
    let mut attempts: Vec<(&str, String, Option<serde_json::Value>)> = read_paths(account)
        .into_iter()
        .map(|p| ("GET", p, None))
        .collect();
    attempts.extend([
        ("GET", format!("/v2/accounts/{account}/parents"), None),
        ("GET", format!("/v2/accounts/{account}/tree"), None),
        ("GET", format!("/v2/accounts/{account}/api_key"), None),
        (
            "PATCH",
            format!("/v2/accounts/{account}"),
            Some(json!({"data": {"language": "de-de"}})),
        ),
        (
            "POST",
            format!("/v2/accounts/{account}"),
            Some(json!({"data": {"name": "Hijacked"}})),
        ),
        (
            "PUT",
            format!("/v2/accounts/{account}"),
            Some(json!({"data": {"name": "Planted Child"}})),
        ),
        (
            "PUT",
            format!("/v2/accounts/{account}/users"),
            Some(json!({"data": {"first_name": "X", "last_name": "Y"}})),
        ),
        (
            "PUT",
            format!("/v2/accounts/{account}/devices"),
            Some(json!({"data": {"name": "planted"}})),
        ),
        ("DELETE", format!("/v2/accounts/{account}"), None),
    ]);
    for (method, path, body) in attempts {
        let answer = server.call(method, &path, Some(token), body);
        assert_error(&answer, 403, "forbidden");
        assert_eq!(
            answer.body["data"]["message"], "forbidden",
            "{method} {path}"
        );
        let text = answer.body.to_string();
        assert!(
            !text.contains(hidden_name),
            "{method} {path} leaked {hidden_name}: {text}"
        );
        assert!(answer.body.get("revision").is_none());
    }
}

fn assert_unknown(server: &TestServer, token: &str) {
    for path in read_paths(UNKNOWN) {
        let answer = server.call("GET", &path, Some(token), None);
        assert_error(&answer, 404, "bad_identifier");
        assert_eq!(answer.body["data"]["cause"], UNKNOWN, "{path}");
    }
}

#[test]
fn reseller_admin_reaches_its_subtree_only() {
    let w = world();
    let s = &w.server;
    let tok = &w.a.token;
    assert_reaches(s, tok, &w.a.id, NAME_A);
    assert_reaches(s, tok, &w.a1.id, NAME_A1);
    assert_reaches(s, tok, &w.a1x.id, NAME_A1X);
    assert_forbidden(s, tok, &w.b.id, NAME_B);
    assert_forbidden(s, tok, &s.master_id, MASTER_NAME);
    assert_unknown(s, tok);

    // The listings of a reachable account show its own documents only.
    let users = s.call(
        "GET",
        &format!("/v2/accounts/{}/users", w.a1.id),
        Some(tok),
        None,
    );
    let ids: Vec<&str> = users.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&w.a1.user.as_str()));
    assert!(!ids.contains(&w.a.user.as_str()) && !ids.contains(&w.a1x.user.as_str()));
    let children = s.call(
        "GET",
        &format!("/v2/accounts/{}/children", w.a.id),
        Some(tok),
        None,
    );
    assert_eq!(children.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(children.body["data"][0]["id"], w.a1.id.as_str());

    // Nothing was written by the refused attempts.
    let b = s.call(
        "GET",
        &format!("/v2/accounts/{}", w.b.id),
        Some(&w.sd),
        None,
    );
    assert_eq!(b.body["data"]["name"], NAME_B);
    assert!(b.body["data"].get("language").is_none() || b.body["data"]["language"] != "de-de");
    let b_children = s.call(
        "GET",
        &format!("/v2/accounts/{}/children", w.b.id),
        Some(&w.sd),
        None,
    );
    assert_eq!(b_children.body["data"], json!([]));
    let b_users = s.call(
        "GET",
        &format!("/v2/accounts/{}/users", w.b.id),
        Some(&w.sd),
        None,
    );
    assert_eq!(
        b_users.body["data"].as_array().unwrap().len(),
        2,
        "{:?}",
        b_users.body
    );
}

#[test]
fn child_admin_cannot_climb() {
    let w = world();
    let s = &w.server;
    let tok = &w.a1.token;
    assert_reaches(s, tok, &w.a1.id, NAME_A1);
    assert_reaches(s, tok, &w.a1x.id, NAME_A1X);
    assert_forbidden(s, tok, &w.a.id, NAME_A);
    assert_forbidden(s, tok, &w.b.id, NAME_B);
    assert_forbidden(s, tok, &s.master_id, MASTER_NAME);
    // The grandchild sees nobody above it.
    assert_forbidden(s, &w.a1x.token, &w.a1.id, NAME_A1);
    assert_forbidden(s, &w.a1x.token, &w.a.id, NAME_A);
    assert_reaches(s, &w.a1x.token, &w.a1x.id, NAME_A1X);
    // B sees neither A's subtree nor the master.
    for (id, name) in [
        (&w.a.id, NAME_A),
        (&w.a1.id, NAME_A1),
        (&w.a1x.id, NAME_A1X),
    ] {
        assert_forbidden(s, &w.b.token, id, name);
    }
}

#[test]
fn superduper_reaches_everything() {
    let w = world();
    let s = &w.server;
    let master = s.master_id.clone();
    for (id, name) in [
        (&master, MASTER_NAME),
        (&w.a.id, NAME_A),
        (&w.a1.id, NAME_A1),
        (&w.a1x.id, NAME_A1X),
        (&w.b.id, NAME_B),
    ] {
        assert_reaches(s, &w.sd, id, name);
    }
    for acct in [&w.a, &w.a1, &w.a1x, &w.b] {
        let user = s.call(
            "GET",
            &format!("/v2/accounts/{}/users/{}", acct.id, acct.user),
            Some(&w.sd),
            None,
        );
        assert_eq!(user.status, 200, "{:?}", user.body);
        let device = s.call(
            "GET",
            &format!("/v2/accounts/{}/devices/{}", acct.id, acct.device),
            Some(&w.sd),
            None,
        );
        assert_eq!(device.status, 200, "{:?}", device.body);
    }
    assert_unknown(s, &w.sd);
}

#[test]
fn api_key_token_has_the_same_reach_as_the_account() {
    let w = world();
    let s = &w.server;
    let key = s.call(
        "GET",
        &format!("/v2/accounts/{}/api_key", w.a.id),
        Some(&w.a.token),
        None,
    );
    let answer = s.call(
        "PUT",
        "/v2/api_auth",
        None,
        Some(json!({"data": {"api_key": key.body["data"]["api_key"]}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let tok = answer.body["auth_token"].as_str().unwrap().to_string();
    assert_reaches(s, &tok, &w.a1x.id, NAME_A1X);
    assert_forbidden(s, &tok, &w.b.id, NAME_B);
    assert_forbidden(s, &tok, &s.master_id, MASTER_NAME);
}

#[test]
fn documents_of_another_account_are_unknown_through_your_own_path() {
    let w = world();
    let s = &w.server;
    let tok = &w.a.token;
    let b_user = s.call(
        "GET",
        &format!("/v2/accounts/{}/users/{}", w.b.id, w.b.user),
        Some(&w.sd),
        None,
    );
    let b_last_name = b_user.body["data"]["last_name"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        ("users", &w.b.user),
        ("devices", &w.b.device),
        // A descendant's document is not A's either: it must be addressed through A1's path.
        ("users", &w.a1.user),
        ("devices", &w.a1.device),
    ];
    for (collection, doc_id) in cases {
        let path = format!("/v2/accounts/{}/{collection}/{doc_id}", w.a.id);
        for (method, body) in [
            ("GET", None),
            (
                "POST",
                Some(
                    json!({"data": {"first_name": "Hacked", "last_name": "Hacked", "name": "Hacked"}}),
                ),
            ),
            (
                "PATCH",
                Some(json!({"data": {"first_name": "Hacked", "name": "Hacked"}})),
            ),
            ("DELETE", None),
        ] {
            let answer = s.call(method, &path, Some(tok), body);
            assert_error(&answer, 404, "bad_identifier");
            assert_eq!(
                answer.body["data"]["cause"],
                doc_id.as_str(),
                "{method} {path}"
            );
            assert_eq!(answer.body["data"]["message"], "bad identifier");
            let text = answer.body.to_string();
            assert!(
                !text.contains(&b_last_name) && !text.contains("phone of"),
                "{method} {path} leaked: {text}"
            );
        }
    }
    // B's documents are untouched.
    let user = s.call(
        "GET",
        &format!("/v2/accounts/{}/users/{}", w.b.id, w.b.user),
        Some(&w.sd),
        None,
    );
    assert_eq!(user.status, 200);
    assert_eq!(user.body["data"]["first_name"], "First");
    let device = s.call(
        "GET",
        &format!("/v2/accounts/{}/devices/{}", w.b.id, w.b.device),
        Some(&w.b.token),
        None,
    );
    assert_eq!(device.status, 200);
    assert_eq!(device.body["data"]["name"], format!("phone of {NAME_B}"));
    // And through the right path A reaches its child's documents.
    let own = s.call(
        "GET",
        &format!("/v2/accounts/{}/users/{}", w.a1.id, w.a1.user),
        Some(tok),
        None,
    );
    assert_eq!(own.status, 200);
    assert_eq!(id_of(&own), w.a1.user);
}

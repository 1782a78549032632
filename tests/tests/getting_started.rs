//! Kazoo's getting-started walkthrough, and the envelope rules, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_e2e::{assert_error, md5_credentials, TestServer, MASTER_NAME};
use serde_json::json;

#[test]
fn login_then_read_own_account() {
    let server = TestServer::start();
    let (token, data) = server.login(MASTER_NAME, "admin", crossbar_e2e::ADMIN_PASSWORD);
    assert_eq!(data["account_id"], server.master_id.as_str());
    assert_eq!(data["is_master_account"], true);
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200);
    let body = &answer.body;
    assert_eq!(body["status"], "success");
    assert_eq!(body["auth_token"], token.as_str());
    assert_eq!(body["data"]["id"], server.master_id.as_str());
    assert_eq!(body["data"]["name"], MASTER_NAME);
    assert_eq!(body["data"]["superduper_admin"], true);
    for key in ["request_id", "revision", "timestamp", "version", "node"] {
        assert!(body[key].is_string(), "{key} missing: {body}");
    }
    assert_eq!(answer.header("x-request-id"), body["request_id"].as_str());
    assert!(body["data"].get("pvt_tree").is_none());
}

#[test]
fn missing_and_invalid_tokens_are_401() {
    let server = TestServer::start();
    let path = format!("/v2/accounts/{}", server.master_id);
    let answer = server.call("GET", &path, None, None);
    assert_error(&answer, 401, "invalid_credentials");
    assert_eq!(
        answer.body["data"],
        json!({"message": "invalid credentials"})
    );
    let answer = server.call("GET", &path, Some("garbage"), None);
    assert_error(&answer, 401, "invalid_credentials");
}

#[test]
fn token_from_bearer_header_query_and_body() {
    let server = TestServer::start();
    let token = server.admin_token();
    let path = format!("/v2/accounts/{}", server.master_id);
    let bearer = format!("Bearer {token}");
    let answer = server.call_with(
        "GET",
        &path,
        None,
        None,
        &[("Authorization", bearer.as_str())],
    );
    assert_eq!(answer.status, 200);
    let answer = server.call("GET", &format!("{path}?auth_token={token}"), None, None);
    assert_eq!(answer.status, 200);
    let answer = server.call(
        "PATCH",
        &path,
        None,
        Some(json!({"auth_token": token, "data": {"language": "fr-fr"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["language"], "fr-fr");
}

#[test]
fn bad_account_ids_are_404() {
    let server = TestServer::start();
    let token = server.admin_token();
    let answer = server.call("GET", "/v2/accounts/not-an-id", Some(&token), None);
    assert_error(&answer, 404, "bad identifier");
    assert_eq!(
        answer.body["data"]["message"],
        "invalid account_id 'not-an-id'"
    );
    let unknown = "0123456789abcdef0123456789abcdef";
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{unknown}"),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], unknown);
}

#[test]
fn unknown_paths_and_verbs() {
    let server = TestServer::start();
    let token = server.admin_token();
    let answer = server.call("GET", "/v2/nothing_here", Some(&token), None);
    assert_error(&answer, 404, "not_found");
    let answer = server.call("GET", "/v2/accounts", Some(&token), None);
    assert_error(&answer, 405, "invalid_method");
    assert_eq!(answer.body["data"]["message"], "method not allowed");
}

#[test]
fn invalid_json_is_400() {
    let server = TestServer::start();
    let token = server.admin_token();
    let agent = ureq::agent();
    let result = agent
        .put(&format!("{}/v2/accounts/{}", server.base, server.master_id))
        .set("X-Auth-Token", &token)
        .set("Content-Type", "application/json")
        .send_string("{not json");
    let Err(ureq::Error::Status(400, response)) = result else {
        panic!("expected 400");
    };
    let body: serde_json::Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(body["error"], "400");
    assert_eq!(body["data"]["json"]["invalid"]["target"], "body");
}

#[test]
fn verb_tunnelling_through_post() {
    let server = TestServer::start();
    let token = server.admin_token();
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        Some(json!({"verb": "PUT", "data": {"name": "Tunnelled Child"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["name"], "Tunnelled Child");
    let child = answer.body["data"]["id"].as_str().unwrap().to_string();
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{child}?verb=DELETE"),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[test]
fn wrong_credentials_and_revocation() {
    let server = TestServer::start();
    let answer = server.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": md5_credentials("admin", "wrong"), "account_name": MASTER_NAME}})),
    );
    assert_error(&answer, 401, "invalid_credentials");
    let token = server.admin_token();
    assert_eq!(
        server
            .call("GET", "/v2/token_auth", Some(&token), None)
            .status,
        200
    );
    assert_eq!(
        server
            .call("DELETE", "/v2/token_auth", Some(&token), None)
            .status,
        200
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        None,
    );
    assert_error(&answer, 401, "invalid_credentials");
    let answer = server.call("GET", "/v2/token_auth", Some(&token), None);
    assert_error(&answer, 401, "invalid_credentials");
}

#[test]
fn api_key_login() {
    let server = TestServer::start();
    let token = server.admin_token();
    let key = server.call(
        "GET",
        &format!("/v2/accounts/{}/api_key", server.master_id),
        Some(&token),
        None,
    );
    let api_key = key.body["data"]["api_key"].as_str().unwrap().to_string();
    assert_eq!(api_key.len(), 64);
    let answer = server.call(
        "PUT",
        "/v2/api_auth",
        None,
        Some(json!({"data": {"api_key": api_key}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let api_token = answer.body["auth_token"].as_str().unwrap();
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(api_token),
        None,
    );
    assert_eq!(answer.status, 200);
}

#[test]
fn trailing_slashes_reach_the_same_resource() {
    let server = TestServer::start();
    let token = server.admin_token();
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}/", server.master_id),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["id"], server.master_id.as_str());
}

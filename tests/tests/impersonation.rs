//! Impersonation: only an admin user of the superduper account, on another account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_e2e::{assert_error, TestServer};
use serde_json::json;

#[test]
fn superduper_admin_impersonates_a_user_of_another_account() {
    let server = TestServer::start();
    let admin = server.admin_token();
    let (child, child_admin) =
        server.account_with_admin(&admin, &server.master_id, "Impersonated Co");
    let users = server.call(
        "GET",
        &format!("/v2/accounts/{child}/users"),
        Some(&admin),
        None,
    );
    let user_id = users.body["data"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v2/accounts/{child}/users/{user_id}/user_auth");

    let answer = server.call(
        "PUT",
        &path,
        Some(&admin),
        Some(json!({"action": "impersonate_user", "data": {}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["account_id"], child.as_str());
    assert_eq!(answer.body["data"]["owner_id"], user_id.as_str());
    assert_eq!(
        answer.body["data"]["original_account_id"],
        server.master_id.as_str()
    );
    let token = answer.body["auth_token"].as_str().unwrap().to_string();
    assert_ne!(token, admin);
    // The new token acts as the child account, and cannot reach the master.
    assert_eq!(
        server
            .call("GET", &format!("/v2/accounts/{child}"), Some(&token), None)
            .status,
        200
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        None,
    );
    assert_error(&answer, 403, "forbidden");
    // An impersonation token cannot impersonate again.
    let answer = server.call(
        "PUT",
        &path,
        Some(&token),
        Some(json!({"action": "impersonate_user"})),
    );
    assert_error(&answer, 403, "forbidden");

    // The child's own admin is not a superduper admin: refused.
    let answer = server.call(
        "PUT",
        &path,
        Some(&child_admin),
        Some(json!({"action": "impersonate_user"})),
    );
    assert_error(&answer, 403, "forbidden");
    // A wrong action is a validation error; an unknown user is 404.
    let answer = server.call("PUT", &path, Some(&admin), Some(json!({"action": "nope"})));
    assert_error(&answer, 400, "validation error");
    assert_eq!(answer.body["data"]["action"]["enum"]["value"], "nope");
    let unknown = format!("/v2/accounts/{child}/users/{}/user_auth", "f".repeat(32));
    let answer = server.call(
        "PUT",
        &unknown,
        Some(&admin),
        Some(json!({"action": "impersonate_user"})),
    );
    assert_error(&answer, 404, "bad_identifier");
    // Impersonating a user of one's own account is refused.
    let own_users = server.call(
        "GET",
        &format!("/v2/accounts/{}/users", server.master_id),
        Some(&admin),
        None,
    );
    let own_user = own_users.body["data"][0]["id"].as_str().unwrap();
    let own = format!(
        "/v2/accounts/{}/users/{own_user}/user_auth",
        server.master_id
    );
    let answer = server.call(
        "PUT",
        &own,
        Some(&admin),
        Some(json!({"action": "impersonate_user"})),
    );
    assert_error(&answer, 403, "forbidden");
}

//! Users (credentials, uniqueness, soft delete, who may write) and devices (defaults,
//! owners, filters).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_device, create_user, id_of, ids_of, sha1, sha1_credentials, try_login};
use crossbar_e2e::{assert_error, TestServer};
use serde_json::{json, Value};

const ACCOUNT: &str = "Directory Co";

/// A server with one account ("Directory Co") and its admin token.
fn setup() -> (TestServer, String, String) {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (account, token) = server.account_with_admin(&sd, &server.master_id, ACCOUNT);
    (server, account, token)
}

fn users_path(account: &str) -> String {
    format!("/v2/accounts/{account}/users")
}

fn devices_path(account: &str) -> String {
    format!("/v2/accounts/{account}/devices")
}

fn no_secrets(value: &Value) {
    fn walk(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    assert!(
                        !key.starts_with("pvt_")
                            && key != "password"
                            && key != "credentials"
                            && !key.contains("md5")
                            && !key.contains("sha1"),
                        "secret key {key} returned"
                    );
                    walk(child);
                }
            }
            Value::Array(items) => items.iter().for_each(walk),
            _ => {}
        }
    }
    walk(value);
    let text = value.to_string();
    for secret in [
        "s3cret-Pass",
        "old-pass-1",
        "new-pass-2",
        "third-pass-3",
        "pw-leave-1",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn sha1_helper_matches_known_vectors() {
    assert_eq!(
        hex::encode(sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex::encode(sha1(b"")),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
    assert_eq!(
        hex::encode(sha1(&[b'a'; 100])),
        "7f9000257a4918d7072655ea468540cdcbd42e0c"
    );
}

#[test]
fn create_user_fills_defaults_and_hides_the_password() {
    let (server, account, token) = setup();
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"first_name": "Jane", "last_name": "Doe", "username": "Jane.Doe@Example.COM", "password": "s3cret-Pass"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let id = id_of(&answer);
    assert_eq!(id.len(), 32);
    let location = answer.header("location").unwrap_or_default();
    assert!(location.ends_with(&id), "{location}");
    assert!(answer.body["revision"].is_string());
    let data = &answer.body["data"];
    no_secrets(data);
    assert_eq!(data["username"], "jane.doe@example.com");
    assert_eq!(data["enabled"], true);
    assert_eq!(data["priv_level"], "user");
    assert_eq!(data["vm_to_email_enabled"], true);
    assert_eq!(data["require_password_update"], false);
    assert_eq!(data["verified"], false);
    for key in [
        "call_restriction",
        "contact_list",
        "music_on_hold",
        "ringtones",
    ] {
        assert_eq!(data[key], json!({}), "{key}");
    }
    // Nested defaults are filled into the default object too.
    assert_eq!(
        data["hotdesk"],
        json!({"enabled": false, "keep_logged_in_elsewhere": false, "require_pin": false})
    );

    let answer = server.call(
        "GET",
        &format!("{}/{id}", users_path(&account)),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200);
    no_secrets(&answer.body);
    assert_eq!(answer.body["data"]["username"], "jane.doe@example.com");
    let listing = server.call("GET", &users_path(&account), Some(&token), None);
    no_secrets(&listing.body);
    let row = listing.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["username"], "jane.doe@example.com");
    assert_eq!(row["first_name"], "Jane");
    assert_eq!(row["priv_level"], "user");

    // Required fields.
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"username": "nobody"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["first_name"]["required"]["message"],
        "Field is required but missing"
    );
    assert_eq!(
        answer.body["data"]["last_name"]["required"]["message"],
        "Field is required but missing"
    );

    // The login works with md5 and with sha credentials, using the lowercased name.
    let (tok, login) = server.login(ACCOUNT, "JANE.DOE@example.com", "s3cret-Pass");
    assert_eq!(login["owner_id"], id.as_str());
    assert_eq!(login["account_id"], account.as_str());
    assert_eq!(
        server
            .call(
                "GET",
                &format!("{}/{id}", users_path(&account)),
                Some(&tok),
                None
            )
            .status,
        200
    );
    let answer = server.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": sha1_credentials("jane.doe@example.com", "s3cret-Pass"), "method": "sha", "account_name": ACCOUNT}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["owner_id"], id.as_str());
    // md5 credentials presented as sha (and the reverse) do not match.
    let answer = server.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": common::sha1_credentials("jane.doe@example.com", "wrong"), "method": "sha", "account_name": ACCOUNT}})),
    );
    assert_error(&answer, 401, "invalid_credentials");
}

#[test]
fn usernames_are_unique_per_account() {
    let (server, account, token) = setup();
    let sd = server.admin_token();
    let (other, other_token) = server.account_with_admin(&sd, &server.master_id, "Other Co");
    let first = create_user(&server, &token, &account, "dup", "pw-one-111", "user");
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"first_name": "A", "last_name": "B", "username": "DUP", "password": "pw-two-222"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["username"]["unique"]["message"],
        "Username must be unique within account"
    );
    // Also on update.
    let second = create_user(&server, &token, &account, "second", "pw-two-222", "user");
    let answer = server.call(
        "PATCH",
        &format!("{}/{second}", users_path(&account)),
        Some(&token),
        Some(json!({"data": {"username": "Dup", "password": "pw-two-222"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["username"]["unique"].is_object(),
        "{:?}",
        answer.body
    );
    // Another account may use it.
    let elsewhere = create_user(&server, &other_token, &other, "dup", "pw-three-333", "user");
    assert_ne!(elsewhere, first);
    // Each logs in to its own account.
    let (_, login) = server.login(ACCOUNT, "dup", "pw-one-111");
    assert_eq!(login["owner_id"], first.as_str());
    let (_, login) = server.login("Other Co", "dup", "pw-three-333");
    assert_eq!(login["owner_id"], elsewhere.as_str());
    let answer = try_login(&server, "Other Co", "dup", "pw-one-111");
    assert_error(&answer, 401, "invalid_credentials");
}

#[test]
fn password_and_username_changes() {
    let (server, account, token) = setup();
    let user = create_user(&server, &token, &account, "mover", "old-pass-1", "user");
    let path = format!("{}/{user}", users_path(&account));
    server.login(ACCOUNT, "mover", "old-pass-1");

    // New password: the old one stops working.
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"password": "new-pass-2"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    no_secrets(&answer.body["data"]);
    assert_error(
        &try_login(&server, ACCOUNT, "mover", "old-pass-1"),
        401,
        "invalid_credentials",
    );
    server.login(ACCOUNT, "mover", "new-pass-2");
    let sha = server.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": sha1_credentials("mover", "old-pass-1"), "method": "sha", "account_name": ACCOUNT}})),
    );
    assert_error(&sha, 401, "invalid_credentials");

    // A username change needs the password.
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"username": "renamed"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["password"]["required"]["message"].is_string(),
        "{:?}",
        answer.body
    );
    let current = server.call("GET", &path, Some(&token), None);
    assert_eq!(current.body["data"]["username"], "mover");
    // POST without the username but with a password: refused too.
    let mut doc = current.body["data"].clone();
    doc.as_object_mut().unwrap().remove("username");
    doc["password"] = json!("another-3");
    let answer = server.call("POST", &path, Some(&token), Some(json!({"data": doc})));
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["username"]["required"]["message"].is_string(),
        "{:?}",
        answer.body
    );

    // With both, the new name and password log in, the old ones do not.
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"username": "Renamed", "password": "third-pass-3"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["username"], "renamed");
    server.login(ACCOUNT, "renamed", "third-pass-3");
    assert_error(
        &try_login(&server, ACCOUNT, "mover", "new-pass-2"),
        401,
        "invalid_credentials",
    );
    // POST of the GET document (no password) keeps the credentials.
    let current = server.call("GET", &path, Some(&token), None);
    let answer = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": current.body["data"]})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    server.login(ACCOUNT, "renamed", "third-pass-3");
    // The old username is free again.
    create_user(&server, &token, &account, "mover", "pw-fresh-4", "user");
}

#[test]
fn unknown_and_deleted_users() {
    let (server, account, token) = setup();
    let unknown = "fedcba9876543210fedcba9876543210";
    let answer = server.call(
        "GET",
        &format!("{}/{unknown}", users_path(&account)),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(
        answer.body["data"],
        json!({"message": "bad identifier", "cause": unknown})
    );
    for method in ["POST", "PATCH"] {
        let answer = server.call(
            method,
            &format!("{}/{unknown}", users_path(&account)),
            Some(&token),
            Some(json!({"data": {"first_name": "a", "last_name": "b"}})),
        );
        assert_error(&answer, 404, "bad_identifier");
    }

    let user = create_user(&server, &token, &account, "leaver", "pw-leave-1", "user");
    let path = format!("{}/{user}", users_path(&account));
    let answer = server.call("DELETE", &path, Some(&token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["_read_only"]["deleted"], true);
    assert_eq!(answer.body["data"]["id"], user.as_str());
    no_secrets(&answer.body["data"]);
    let answer = server.call("GET", &path, Some(&token), None);
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], user.as_str());
    assert_error(
        &server.call("DELETE", &path, Some(&token), None),
        404,
        "bad_identifier",
    );
    assert_error(
        &server.call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"data": {"first_name": "x"}})),
        ),
        404,
        "bad_identifier",
    );
    let listing = server.call("GET", &users_path(&account), Some(&token), None);
    assert!(!ids_of(&listing).contains(&user));
    // A deleted user cannot log in, and the username is free again.
    assert_error(
        &try_login(&server, ACCOUNT, "leaver", "pw-leave-1"),
        401,
        "invalid_credentials",
    );
    let again = create_user(&server, &token, &account, "leaver", "pw-leave-2", "user");
    assert_ne!(again, user);
    let (_, login) = server.login(ACCOUNT, "leaver", "pw-leave-2");
    assert_eq!(login["owner_id"], again.as_str());
}

#[test]
fn plain_users_edit_themselves_only() {
    let (server, account, token) = setup();
    let me = create_user(&server, &token, &account, "plain", "pw-plain-1", "user");
    let other = create_user(&server, &token, &account, "colleague", "pw-coll-1", "user");
    let (tok, _) = server.login(ACCOUNT, "plain", "pw-plain-1");

    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&tok),
        Some(json!({"data": {"first_name": "New", "last_name": "Hire"}})),
    );
    assert_error(&answer, 403, "forbidden");
    let answer = server.call(
        "PATCH",
        &format!("{}/{other}", users_path(&account)),
        Some(&tok),
        Some(json!({"data": {"first_name": "Changed"}})),
    );
    assert_error(&answer, 403, "forbidden");
    let answer = server.call(
        "DELETE",
        &format!("{}/{other}", users_path(&account)),
        Some(&tok),
        None,
    );
    assert_error(&answer, 403, "forbidden");
    let colleague = server.call(
        "GET",
        &format!("{}/{other}", users_path(&account)),
        Some(&token),
        None,
    );
    assert_eq!(colleague.body["data"]["first_name"], "First");

    let my_path = format!("{}/{me}", users_path(&account));
    let answer = server.call(
        "PATCH",
        &my_path,
        Some(&tok),
        Some(json!({"data": {"first_name": "Myself"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["first_name"], "Myself");
    // Raising its own privilege does not stick (PATCH or POST).
    let answer = server.call(
        "PATCH",
        &my_path,
        Some(&tok),
        Some(json!({"data": {"priv_level": "admin"}})),
    );
    assert!(
        answer.status == 200 || answer.status == 403,
        "{:?}",
        answer.body
    );
    let mut doc = server.call("GET", &my_path, Some(&token), None).body["data"].clone();
    assert_eq!(doc["priv_level"], "user");
    doc["priv_level"] = json!("admin");
    let answer = server.call("POST", &my_path, Some(&tok), Some(json!({"data": doc})));
    assert!(
        answer.status == 200 || answer.status == 403,
        "{:?}",
        answer.body
    );
    assert_eq!(
        server.call("GET", &my_path, Some(&token), None).body["data"]["priv_level"],
        "user"
    );
    // A fresh login is still a plain user.
    let (tok, _) = server.login(ACCOUNT, "plain", "pw-plain-1");
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&tok),
        Some(json!({"data": {"first_name": "New", "last_name": "Hire"}})),
    );
    assert_error(&answer, 403, "forbidden");
    // It can change its own password.
    let answer = server.call(
        "PATCH",
        &my_path,
        Some(&tok),
        Some(json!({"data": {"password": "pw-plain-2"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    server.login(ACCOUNT, "plain", "pw-plain-2");
    // The admin can promote it.
    let answer = server.call(
        "PATCH",
        &my_path,
        Some(&token),
        Some(json!({"data": {"priv_level": "admin"}})),
    );
    assert_eq!(answer.body["data"]["priv_level"], "admin");
    let (tok, _) = server.login(ACCOUNT, "plain", "pw-plain-2");
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&tok),
        Some(json!({"data": {"first_name": "New", "last_name": "Hire"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

#[test]
fn disabled_users_cannot_log_in() {
    let (server, account, token) = setup();
    let user = create_user(&server, &token, &account, "sleepy", "pw-sleep-1", "user");
    let path = format!("{}/{user}", users_path(&account));
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"enabled": false}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], false);
    assert_error(
        &try_login(&server, ACCOUNT, "sleepy", "pw-sleep-1"),
        401,
        "invalid_credentials",
    );
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"enabled": true}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    server.login(ACCOUNT, "sleepy", "pw-sleep-1");
}

#[test]
fn devices_defaults_and_owner() {
    let (server, account, token) = setup();
    let answer = server.call(
        "PUT",
        &devices_path(&account),
        Some(&token),
        Some(json!({"data": {"name": "x"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let device = id_of(&answer);
    assert!(answer
        .header("location")
        .unwrap_or_default()
        .ends_with(&device));
    let data = &answer.body["data"];
    assert_eq!(data["name"], "x");
    assert_eq!(data["enabled"], true);
    assert_eq!(data["exclude_from_queues"], false);
    assert_eq!(data["mwi_unsolicited_updates"], true);
    assert_eq!(data["register_overwrite_notify"], false);
    assert_eq!(data["suppress_unregister_notifications"], false);
    for key in [
        "call_restriction",
        "contact_list",
        "music_on_hold",
        "ringtones",
    ] {
        assert_eq!(data[key], json!({}), "{key}");
    }
    // The default `sip` object gets its own nested defaults.
    assert_eq!(
        data["sip"],
        json!({"expire_seconds": 300, "invite_format": "contact", "method": "password"}),
        "{data}"
    );
    assert!(data.get("call_forward").is_none(), "{data}");
    assert!(data
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("pvt_")));
    let stored = server.call(
        "GET",
        &format!("{}/{device}", devices_path(&account)),
        Some(&token),
        None,
    );
    assert_eq!(stored.body["data"], *data);

    // The name is required.
    let answer = server.call(
        "PUT",
        &devices_path(&account),
        Some(&token),
        Some(json!({"data": {"device_type": "sip_device"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["name"]["required"]["message"],
        "Field is required but missing"
    );

    // owner_id must name a user of this account.
    let sd = server.admin_token();
    let (other, other_token) = server.account_with_admin(&sd, &server.master_id, "Owner Elsewhere");
    let foreign_user = create_user(
        &server,
        &other_token,
        &other,
        "foreign",
        "pw-foreign-1",
        "user",
    );
    let owner = create_user(&server, &token, &account, "owner", "pw-owner-1", "user");
    for bad in [
        "0123456789abcdef0123456789abcdef",
        foreign_user.as_str(),
        device.as_str(),
    ] {
        let answer = server.call(
            "PUT",
            &devices_path(&account),
            Some(&token),
            Some(json!({"data": {"name": "owned", "owner_id": bad}})),
        );
        assert_error(&answer, 400, "validation error");
        assert!(
            answer.body["data"]["owner_id"].is_object(),
            "{:?}",
            answer.body
        );
        let answer = server.call(
            "PATCH",
            &format!("{}/{device}", devices_path(&account)),
            Some(&token),
            Some(json!({"data": {"owner_id": bad}})),
        );
        assert_error(&answer, 400, "validation error");
    }
    let answer = server.call(
        "PUT",
        &devices_path(&account),
        Some(&token),
        Some(json!({"data": {"name": "owned", "owner_id": owner}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["owner_id"], owner.as_str());
    // A deleted owner no longer counts.
    server.call(
        "DELETE",
        &format!("{}/{owner}", users_path(&account)),
        Some(&token),
        None,
    );
    let answer = server.call(
        "PUT",
        &devices_path(&account),
        Some(&token),
        Some(json!({"data": {"name": "orphan", "owner_id": owner}})),
    );
    assert_error(&answer, 400, "validation error");

    // Wrong resource type: a device id at /users/{id} and the reverse.
    let answer = server.call(
        "GET",
        &format!("{}/{device}", users_path(&account)),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], device.as_str());
    let answer = server.call(
        "PATCH",
        &format!("{}/{device}", users_path(&account)),
        Some(&token),
        Some(json!({"data": {"first_name": "x"}})),
    );
    assert_error(&answer, 404, "bad_identifier");
    let answer = server.call(
        "DELETE",
        &format!("{}/{device}", users_path(&account)),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");
    let answer = server.call(
        "GET",
        &format!("{}/{foreign_user}", devices_path(&account)),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(
        server
            .call(
                "GET",
                &format!("{}/{device}", devices_path(&account)),
                Some(&token),
                None
            )
            .status,
        200
    );
}

#[test]
fn device_listing_filters() {
    let (server, account, token) = setup();
    let alice = create_user(&server, &token, &account, "alice", "pw-alice-1", "user");
    let bob = create_user(&server, &token, &account, "bob", "pw-bob-1", "user");
    let a1 = create_device(
        &server,
        &token,
        &account,
        json!({"name": "alice desk", "owner_id": alice, "device_type": "sip_device", "mac_address": "00:11:22:33:44:55"}),
    );
    let a2 = create_device(
        &server,
        &token,
        &account,
        json!({"name": "alice phone", "owner_id": alice, "device_type": "cellphone", "mac_address": ""}),
    );
    let b1 = create_device(
        &server,
        &token,
        &account,
        json!({"name": "bob desk", "owner_id": bob, "device_type": "sip_device", "caller_id": {"internal": {"number": "101"}}}),
    );
    let lobby = create_device(
        &server,
        &token,
        &account,
        json!({"name": "lobby", "device_type": "sip_device", "enabled": false}),
    );

    let list = |query: &str| -> Vec<String> {
        let answer = server.call(
            "GET",
            &format!("{}?{query}", devices_path(&account)),
            Some(&token),
            None,
        );
        assert_eq!(answer.status, 200, "{query}: {:?}", answer.body);
        let mut ids = ids_of(&answer);
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<&String>| -> Vec<String> {
        ids.sort();
        ids.into_iter().cloned().collect()
    };

    assert_eq!(list(""), sorted(vec![&a1, &a2, &b1, &lobby]));
    assert_eq!(
        list(&format!("filter_owner_id={alice}")),
        sorted(vec![&a1, &a2])
    );
    assert_eq!(list(&format!("filter_owner_id={bob}")), sorted(vec![&b1]));
    assert_eq!(
        list(&format!("filter_not_owner_id={alice}")),
        sorted(vec![&b1, &lobby])
    );
    assert_eq!(
        list("filter_device_type=sip_device"),
        sorted(vec![&a1, &b1, &lobby])
    );
    assert_eq!(
        list("filter_device_type=[\"cellphone\",\"sip_device\"]"),
        sorted(vec![&a1, &a2, &b1, &lobby])
    );
    assert_eq!(
        list(&format!(
            "filter_device_type=sip_device&filter_owner_id={alice}"
        )),
        sorted(vec![&a1])
    );
    assert_eq!(list("filter_enabled=false"), sorted(vec![&lobby]));
    assert_eq!(
        list("filter_not_enabled=false"),
        sorted(vec![&a1, &a2, &b1])
    );
    assert_eq!(
        list("filter_caller_id.internal.number=101"),
        sorted(vec![&b1])
    );
    assert_eq!(list("has_key=owner_id"), sorted(vec![&a1, &a2, &b1]));
    assert_eq!(list("key_missing=owner_id"), sorted(vec![&lobby]));
    assert_eq!(list("has_key=caller_id.internal"), sorted(vec![&b1]));
    assert_eq!(list("has_key=mac_address"), sorted(vec![&a1, &a2]));
    assert_eq!(list("has_value=mac_address"), sorted(vec![&a1]));
    assert_eq!(
        list("value_missing=mac_address"),
        sorted(vec![&a2, &b1, &lobby])
    );
    assert_eq!(
        list("filter_owner_id=0123456789abcdef0123456789abcdef"),
        Vec::<String>::new()
    );

    // Listing rows carry the summary fields.
    let answer = server.call(
        "GET",
        &format!("{}?filter_owner_id={bob}", devices_path(&account)),
        Some(&token),
        None,
    );
    let row = &answer.body["data"][0];
    assert_eq!(row["name"], "bob desk");
    assert_eq!(row["owner_id"], bob.as_str());
    assert_eq!(row["device_type"], "sip_device");
    assert_eq!(row["enabled"], true);

    // A deleted device drops out of every listing.
    server.call(
        "DELETE",
        &format!("{}/{a1}", devices_path(&account)),
        Some(&token),
        None,
    );
    assert_eq!(list(&format!("filter_owner_id={alice}")), sorted(vec![&a2]));
}

#[test]
fn hotdesk_ids_are_unique() {
    let (server, account, token) = setup();
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"first_name": "Hot", "last_name": "Desk", "hotdesk": {"id": "1234", "enabled": true}}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let first = id_of(&answer);
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"first_name": "Hot", "last_name": "Two", "hotdesk": {"id": "1234"}}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["hotdesk.id"]["unique"]["message"].is_string(),
        "{:?}",
        answer.body
    );
    // Updating the holder itself is fine; once it lets go, the id is free.
    let path = format!("{}/{first}", users_path(&account));
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"first_name": "Hotter"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"hotdesk": {"id": null}}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let answer = server.call(
        "PUT",
        &users_path(&account),
        Some(&token),
        Some(json!({"data": {"first_name": "Hot", "last_name": "Two", "hotdesk": {"id": "1234"}}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

#[test]
fn device_patch_merges_and_post_replaces() {
    let (server, account, token) = setup();
    let device = create_device(
        &server,
        &token,
        &account,
        json!({"name": "desk", "sip": {"username": "desk-1", "password": "sip-secret", "expire_seconds": 600}, "caller_id": {"internal": {"number": "100"}}}),
    );
    let path = format!("{}/{device}", devices_path(&account));
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"sip": {"expire_seconds": 900}, "caller_id": null, "language": "fr-fr"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["sip"]["username"], "desk-1");
    assert_eq!(data["sip"]["password"], "sip-secret");
    assert_eq!(data["sip"]["expire_seconds"], 900);
    assert!(data.get("caller_id").is_none(), "{data}");
    assert_eq!(data["language"], "fr-fr");
    assert_eq!(data["name"], "desk");

    let answer = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": {"name": "renamed desk"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["name"], "renamed desk");
    assert!(data.get("language").is_none(), "{data}");
    assert!(data["sip"].get("username").is_none(), "{data}");
    // Defaults come back on a replace.
    assert_eq!(data["enabled"], true);
    assert_eq!(data["id"], device.as_str());
    let listing = server.call("GET", &devices_path(&account), Some(&token), None);
    assert_eq!(listing.body["data"][0]["name"], "renamed desk");
    // The version moves on each write.
    let first = server.call("GET", &path, Some(&token), None);
    let answer = server.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"data": {"name": "again"}})),
    );
    assert_ne!(first.body["revision"], answer.body["revision"]);
}

//! Accounts: create, realm and name rules, replace/patch, enabled, the tree listings,
//! api keys, resellers, move and delete.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_account, create_user, id_of, ids_of, try_login};
use crossbar_e2e::{assert_error, TestServer, MASTER_NAME};
use serde_json::{json, Value};

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn get_account(server: &TestServer, token: &str, id: &str) -> Value {
    let answer = server.call("GET", &format!("/v2/accounts/{id}"), Some(token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"].clone()
}

fn tree_of(server: &TestServer, token: &str, id: &str) -> Vec<String> {
    let answer = server.call("GET", &format!("/v2/accounts/{id}/tree"), Some(token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    ids_of(&answer)
}

#[test]
fn create_under_token_account_and_under_path_parent() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (a, tok_a) = server.account_with_admin(&sd, &server.master_id, "Parent A");

    // PUT /v2/accounts: the parent is the token's account.
    let answer = server.call(
        "PUT",
        "/v2/accounts",
        Some(&tok_a),
        Some(json!({"data": {"name": "Via Token"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let via_token = id_of(&answer);
    assert!(is_hex(&via_token, 32));
    assert!(
        answer
            .header("location")
            .is_some_and(|l| l.ends_with(&via_token)),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.body["status"], "success");
    assert!(answer.body["revision"].is_string());
    let data = &answer.body["data"];
    assert_eq!(data["name"], "Via Token");
    assert_eq!(data["timezone"], "America/Los_Angeles");
    let realm = data["realm"].as_str().unwrap();
    let (prefix, suffix) = realm.split_once('.').unwrap();
    assert!(is_hex(prefix, 6), "{realm}");
    assert_eq!(suffix, "sip.2600hz.com");
    assert_eq!(data["enabled"], true);
    assert_eq!(data["superduper_admin"], false);
    assert_eq!(data["is_reseller"], false);
    assert_eq!(data["wnm_allow_additions"], false);
    assert!(data["created"].as_i64().unwrap() > common::GREGORIAN_OFFSET);
    assert!(data["reseller_id"].is_string());
    assert!(data["billing_mode"].is_string());
    assert!(data.get("pvt_tree").is_none() && data.get("api_key").is_none());
    assert_eq!(
        tree_of(&server, &sd, &via_token),
        vec![server.master_id.clone(), a.clone()]
    );

    // PUT /v2/accounts/{P}: the parent is P, whoever the caller is.
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{via_token}"),
        Some(&sd),
        Some(json!({"data": {"name": "Via Path", "realm": " Custom.Realm.Test ", "timezone": "Europe/Paris"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let via_path = id_of(&answer);
    assert_eq!(answer.body["data"]["realm"], "Custom.Realm.Test");
    assert_eq!(answer.body["data"]["timezone"], "Europe/Paris");
    assert_eq!(
        tree_of(&server, &sd, &via_path),
        vec![server.master_id.clone(), a.clone(), via_token.clone()]
    );
    let children = server.call(
        "GET",
        &format!("/v2/accounts/{via_token}/children"),
        Some(&tok_a),
        None,
    );
    assert_eq!(ids_of(&children), vec![via_path]);

    // Two generated realms differ.
    let other = create_account(&server, &tok_a, &a, "Another");
    assert_ne!(get_account(&server, &tok_a, &other)["realm"], realm);
}

#[test]
fn realm_and_name_are_unique() {
    let server = TestServer::start();
    let sd = server.admin_token();
    // Realms and names are unique in the whole system; the accounts of this test live
    // under a parent of their own, so that "nothing else was created" can be counted.
    let parent = create_account(&server, &sd, &server.master_id, "Uniqueness Parent");
    let first = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(&sd),
        Some(json!({"data": {"name": "Acme Inc", "realm": "Acme.Example.Com"}})),
    );
    assert_eq!(first.status, 201, "{:?}", first.body);
    let first_id = id_of(&first);

    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(&sd),
        Some(json!({"data": {"name": "Other", "realm": "acme.example.COM"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["realm"]["unique"]["message"].is_string(),
        "{:?}",
        answer.body
    );
    assert!(
        answer.body["data"].get("name").is_none(),
        "{:?}",
        answer.body
    );

    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(&sd),
        Some(json!({"data": {"name": "acme-inc"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["name"]["unique"]["message"].is_string(),
        "{:?}",
        answer.body
    );
    assert!(
        answer.body["data"].get("realm").is_none(),
        "{:?}",
        answer.body
    );
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(&sd),
        Some(json!({"data": {"name": "ACME, inc."}})),
    );
    assert!(
        answer.body["data"]["name"]["unique"].is_object(),
        "{:?}",
        answer.body
    );
    // The master's name is taken too.
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(&sd),
        Some(json!({"data": {"name": MASTER_NAME.to_uppercase()}})),
    );
    assert!(
        answer.body["data"]["name"]["unique"].is_object(),
        "{:?}",
        answer.body
    );

    // Updating another account onto a taken realm or name is refused the same way...
    let second = create_account(&server, &sd, &parent, "Second Co");
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{second}"),
        Some(&sd),
        Some(json!({"data": {"realm": "ACME.example.com"}})),
    );
    assert!(
        answer.body["data"]["realm"]["unique"].is_object(),
        "{:?}",
        answer.body
    );
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{second}"),
        Some(&sd),
        Some(json!({"data": {"name": "Acme  Inc"}})),
    );
    assert!(
        answer.body["data"]["name"]["unique"].is_object(),
        "{:?}",
        answer.body
    );
    // ...but an account keeps its own realm and name (even with another case).
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{first_id}"),
        Some(&sd),
        Some(json!({"data": {"name": "ACME INC", "realm": "acme.example.com"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["name"], "ACME INC");

    // Nothing was created by the refusals.
    let children = server.call(
        "GET",
        &format!("/v2/accounts/{parent}/children"),
        Some(&sd),
        None,
    );
    assert_eq!(
        children.body["data"].as_array().unwrap().len(),
        2,
        "{:?}",
        children.body
    );
}

#[test]
fn schema_failure_has_kazoo_shape() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"timezone": "Europe/Paris"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["name"]["required"]["message"],
        "Field is required but missing"
    );
    assert!(answer.body.get("revision").is_none());
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"name": ""}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["name"]["minLength"]["message"],
        "String must be at least 1 characters"
    );
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"name": "Ok Name", "timezone": "UTC"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(
        answer.body["data"]["timezone"]["minLength"].is_object(),
        "{:?}",
        answer.body
    );
    // An update that breaks the schema is refused and changes nothing.
    let child = create_account(&server, &sd, &server.master_id, "Valid Child");
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{child}"),
        Some(&sd),
        Some(json!({"data": {"language": "en-us"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["name"]["required"]["message"],
        "Field is required but missing"
    );
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{child}"),
        Some(&sd),
        Some(json!({"data": {"name": null}})),
    );
    assert_error(&answer, 400, "validation error");
    assert_eq!(get_account(&server, &sd, &child)["name"], "Valid Child");
}

#[test]
fn post_replaces_patch_merges() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {
            "name": "Shape Co",
            "language": "de-de",
            "caller_id": {"external": {"name": "Ext", "number": "+14155550100"}, "internal": {"name": "Int"}},
            "custom_field": "kept?",
        }})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let id = id_of(&answer);
    let realm = answer.body["data"]["realm"].as_str().unwrap().to_string();
    let created = answer.body["data"]["created"].clone();
    assert_eq!(answer.body["data"]["custom_field"], "kept?");

    // PATCH: deep merge, null removes.
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{id}"),
        Some(&sd),
        Some(json!({"data": {"caller_id": {"internal": {"number": "100"}, "external": {"name": null}}, "language": null}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(
        data["caller_id"],
        json!({"external": {"number": "+14155550100"}, "internal": {"name": "Int", "number": "100"}})
    );
    assert!(data.get("language").is_none(), "{data}");
    assert_eq!(data["custom_field"], "kept?");
    assert_eq!(data["name"], "Shape Co");
    assert_eq!(data["realm"], realm.as_str());
    let stored = get_account(&server, &sd, &id);
    assert_eq!(&stored, data);

    // POST the exact document GET returned: accepted, nothing changes.
    let before = server.call("GET", &format!("/v2/accounts/{id}"), Some(&sd), None);
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{id}"),
        Some(&sd),
        Some(json!({"data": before.body["data"]})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"], before.body["data"]);
    assert_ne!(answer.body["revision"], before.body["revision"]);

    // POST replaces: what is left out disappears; the realm, id and created stay.
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{id}"),
        Some(&sd),
        Some(json!({"data": {"name": "Shape Co Renamed"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["name"], "Shape Co Renamed");
    assert!(
        data.get("caller_id").is_none() && data.get("custom_field").is_none(),
        "{data}"
    );
    assert_eq!(data["realm"], realm.as_str());
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["created"], created);
    assert_eq!(get_account(&server, &sd, &id), *data);

    // Read-only fields in a request are ignored.
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{id}"),
        Some(&sd),
        Some(json!({"data": {"superduper_admin": true, "is_reseller": true, "billing_mode": "limits_only", "pvt_tree": [], "created": 5}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["superduper_admin"], false);
    assert_eq!(answer.body["data"]["is_reseller"], false);
    assert_eq!(answer.body["data"]["created"], created);
    assert_eq!(tree_of(&server, &sd, &id), vec![server.master_id.clone()]);
}

#[test]
fn enabled_is_set_by_the_parent_only_and_disabled_accounts_cannot_log_in() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (a, tok_a) = server.account_with_admin(&sd, &server.master_id, "Parent Co");
    let (a1, tok_a1) = server.account_with_admin(&tok_a, &a, "Child Co");

    // The account itself cannot switch itself off (PATCH or POST).
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a1),
        Some(json!({"data": {"enabled": false, "language": "fr-fr"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], true);
    assert_eq!(answer.body["data"]["language"], "fr-fr");
    let mut doc = get_account(&server, &tok_a1, &a1);
    doc["enabled"] = json!(false);
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a1),
        Some(json!({"data": doc})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], true);
    server.login("Child Co", "admin", "pw-123456");

    // Its parent can.
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a),
        Some(json!({"data": {"enabled": false}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], false);
    assert_eq!(get_account(&server, &sd, &a1)["enabled"], false);

    // Right credentials in a disabled account: 400 account.disabled (crates/auth).
    let answer = try_login(&server, "Child Co", "admin", "pw-123456");
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["account"]["disabled"]["message"],
        "account disabled"
    );
    assert!(
        answer.body["auth_token"].as_str().is_none_or(str::is_empty),
        "{:?}",
        answer.body
    );
    // Wrong credentials there are still just 401.
    let answer = try_login(&server, "Child Co", "admin", "wrong");
    assert_error(&answer, 401, "invalid_credentials");
    // Its API key no longer logs in either, and its live tokens stop working.
    let key = server.call(
        "GET",
        &format!("/v2/accounts/{a1}/api_key"),
        Some(&tok_a),
        None,
    );
    let answer = server.call(
        "PUT",
        "/v2/api_auth",
        None,
        Some(json!({"data": {"api_key": key.body["data"]["api_key"]}})),
    );
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    let answer = server.call("GET", &format!("/v2/accounts/{a1}"), Some(&tok_a1), None);
    assert_error(&answer, 401, "invalid_credentials");

    // Switched back on by the parent (POST this time), the account works again.
    let mut doc = get_account(&server, &tok_a, &a1);
    doc["enabled"] = json!(true);
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a),
        Some(json!({"data": doc})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], true);
    let (tok, _) = server.login("Child Co", "admin", "pw-123456");
    assert_eq!(
        server
            .call("GET", &format!("/v2/accounts/{a1}"), Some(&tok), None)
            .status,
        200
    );

    // A new child inherits a disabled parent's state.
    server.call(
        "PATCH",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a),
        Some(json!({"data": {"enabled": false}})),
    );
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{a1}"),
        Some(&tok_a),
        Some(json!({"data": {"name": "Grandchild Co"}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["enabled"], false);
}

#[test]
fn tree_listings() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    // A root of this test's own under the master, so its children are this test's.
    let root = create_account(&server, &sd, &master, "Tree Root");
    let (a, tok_a) = server.account_with_admin(&sd, &root, "Tree A");
    let a1 = create_account(&server, &tok_a, &a, "Zulu Child");
    let a2 = create_account(&server, &tok_a, &a, "Alpha Child");
    let a1x = create_account(&server, &tok_a, &a1, "Zulu Grandchild");
    let b = create_account(&server, &sd, &root, "Tree B");

    // children: direct only, sorted by name, with descendants_count.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/children"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(ids_of(&answer), vec![a2.clone(), a1.clone()]);
    let zulu = &answer.body["data"][1];
    assert_eq!(zulu["name"], "Zulu Child");
    assert_eq!(zulu["descendants_count"], 1);
    assert_eq!(answer.body["data"][0]["descendants_count"], 0);
    assert!(zulu["realm"].is_string());
    assert!(zulu["flags"].is_array());
    let mut keys: Vec<&String> = zulu.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["descendants_count", "flags", "id", "name", "realm"]);
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{root}/children"),
        Some(&sd),
        None,
    );
    assert_eq!(ids_of(&answer), vec![a.clone(), b.clone()]);
    assert_eq!(answer.body["data"][0]["descendants_count"], 3);

    // descendants: the whole subtree, each with its tree.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/descendants"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let mut ids = ids_of(&answer);
    ids.sort();
    let mut expected = vec![a1.clone(), a2.clone(), a1x.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let rows = answer.body["data"].as_array().unwrap();
    let row = rows.iter().find(|r| r["id"] == a1x.as_str()).unwrap();
    assert_eq!(row["tree"], json!([master, root, a, a1]));
    assert_eq!(row["name"], "Zulu Grandchild");
    assert!(row["realm"].is_string());
    let row = rows.iter().find(|r| r["id"] == a2.as_str()).unwrap();
    assert_eq!(row["tree"], json!([master, root, a]));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1x}/descendants"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));

    // siblings: the children of the parent; own account is 403 (not for superduper).
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1}/siblings"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let ids = ids_of(&answer);
    assert!(ids.contains(&a2) && ids.contains(&a1), "{ids:?}");
    assert!(!ids.contains(&b));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/siblings"),
        Some(&tok_a),
        None,
    );
    assert_error(&answer, 403, "forbidden");
    assert!(!answer.body.to_string().contains("Tree B"));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/siblings"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(ids_of(&answer).contains(&b));

    // parents / tree: ancestors from the caller's account down to the parent.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1x}/parents"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["data"],
        json!([{"id": a, "name": "Tree A"}, {"id": a1, "name": "Zulu Child"}])
    );
    assert_eq!(answer.body["page_size"], 2);
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1x}/tree"),
        Some(&tok_a),
        None,
    );
    assert_eq!(
        answer.body["data"],
        json!([{"id": a, "name": "Tree A"}, {"id": a1, "name": "Zulu Child"}])
    );
    let answer = server.call("GET", &format!("/v2/accounts/{a1x}/tree"), Some(&sd), None);
    assert_eq!(
        answer.body["data"],
        json!([{"id": master, "name": MASTER_NAME}, {"id": root, "name": "Tree Root"},
               {"id": a, "name": "Tree A"}, {"id": a1, "name": "Zulu Child"}])
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{master}/tree"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));
}

#[test]
fn api_key_get_and_regenerate() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (a, tok_a) = server.account_with_admin(&sd, &server.master_id, "Key Co");
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/api_key"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let old_key = answer.body["data"]["api_key"].as_str().unwrap().to_string();
    assert!(is_hex(&old_key, 64), "{old_key}");
    assert_eq!(answer.body["data"].as_object().unwrap().len(), 1);
    // Not in a plain GET; with include_api_key=true it is.
    assert!(get_account(&server, &tok_a, &a).get("api_key").is_none());
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}?include_api_key=true"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.body["data"]["api_key"], old_key.as_str());

    // A plain user may not make a new key.
    create_user(&server, &tok_a, &a, "plain", "pw-plain-1", "user");
    let (tok_user, _) = server.login("Key Co", "plain", "pw-plain-1");
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{a}/api_key"),
        Some(&tok_user),
        None,
    );
    assert_error(&answer, 403, "forbidden");

    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{a}/api_key"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let new_key = answer.body["data"]["api_key"].as_str().unwrap().to_string();
    assert!(is_hex(&new_key, 64));
    assert_ne!(new_key, old_key);
    let answer = server.call("GET", &format!("/v2/accounts/{a}/api_key"), Some(&sd), None);
    assert_eq!(answer.body["data"]["api_key"], new_key.as_str());

    let answer = server.call(
        "PUT",
        "/v2/api_auth",
        None,
        Some(json!({"data": {"api_key": old_key}})),
    );
    assert_error(&answer, 404, "bad identifier");
    assert_eq!(answer.body["data"], json!([old_key]));
    let answer = server.call(
        "PUT",
        "/v2/api_auth",
        None,
        Some(json!({"data": {"api_key": new_key}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["account_id"], a.as_str());
}

#[test]
fn reseller_promotion_and_demotion() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    let (r, tok_r) = server.account_with_admin(&sd, &master, "Reseller Co");

    // Only the superduper admin.
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{r}/reseller"),
        Some(&tok_r),
        None,
    );
    assert_error(&answer, 403, "forbidden");
    assert_eq!(get_account(&server, &sd, &r)["is_reseller"], false);
    // Never the master.
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{master}/reseller"),
        Some(&sd),
        None,
    );
    assert_error(&answer, 403, "forbidden");
    let answer = server.call(
        "DELETE",
        &format!("/v2/accounts/{master}/reseller"),
        Some(&sd),
        None,
    );
    assert_error(&answer, 403, "forbidden");

    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{r}/reseller"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["is_reseller"], true);
    assert_eq!(get_account(&server, &sd, &r)["is_reseller"], true);
    let answer = server.call(
        "DELETE",
        &format!("/v2/accounts/{r}/reseller"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["is_reseller"], false);
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{r}/reseller"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    // The reseller of a new child (and grandchild) is R.
    let c = create_account(&server, &tok_r, &r, "Reseller Child");
    let cx = create_account(&server, &tok_r, &c, "Reseller Grandchild");
    for id in [&c, &cx] {
        let data = get_account(&server, &sd, id);
        assert_eq!(data["reseller_id"], r.as_str());
        assert_eq!(data["is_reseller"], false);
        assert_eq!(data["billing_mode"], "manual");
        assert_eq!(
            get_account(&server, &tok_r, id)["billing_mode"],
            "limits_only"
        );
    }
    // An account under the master is billed by the master.
    let plain = create_account(&server, &sd, &master, "Plain Co");
    assert_eq!(
        get_account(&server, &sd, &plain)["reseller_id"],
        master.as_str()
    );
    assert_eq!(
        get_account(&server, &sd, &plain)["billing_mode"],
        "limits_only"
    );
    let (_, tok_plain) = server.account_with_admin(&sd, &plain, "Plain Child");
    let plain_child = server.call("GET", "/v2/token_auth", Some(&tok_plain), None);
    let plain_child_id = plain_child.body["data"]["account_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get_account(&server, &tok_plain, &plain_child_id)["billing_mode"],
        "normal"
    );

    // With descendants: neither promotion nor demotion.
    for method in ["PUT", "DELETE"] {
        let answer = server.call(
            method,
            &format!("/v2/accounts/{r}/reseller"),
            Some(&sd),
            None,
        );
        assert_error(&answer, 500, "account_has_descendants");
        assert_eq!(answer.body["data"]["message"], "account has descendants");
    }
    assert_eq!(get_account(&server, &sd, &r)["is_reseller"], true);
}

#[test]
fn move_reparents_the_subtree() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    let (a, tok_a) = server.account_with_admin(&sd, &master, "Move A");
    let (b, tok_b) = server.account_with_admin(&sd, &master, "Move B");
    let a1 = create_account(&server, &tok_a, &a, "Move A1");
    let (a1x, tok_a1x) = server.account_with_admin(&tok_a, &a1, "Move A1x");

    // Only the superduper admin moves (default policy).
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&tok_a),
        Some(json!({"data": {"to": a}})),
    );
    assert_error(&answer, 403, "forbidden");
    // Not under itself or its own subtree.
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&sd),
        Some(json!({"data": {"to": a1x}})),
    );
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&sd),
        Some(json!({"data": {}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["to"]["required"].is_object());
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&sd),
        Some(json!({"data": {"to": "0123456789abcdef0123456789abcdef"}})),
    );
    assert_eq!(answer.status, 404, "{:?}", answer.body);
    assert_eq!(
        tree_of(&server, &sd, &a1x),
        vec![master.clone(), a.clone(), a1.clone()]
    );

    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{a1}/move"),
        Some(&sd),
        Some(json!({"data": {"to": b}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["id"], a1.as_str());

    assert_eq!(tree_of(&server, &sd, &a1), vec![master.clone(), b.clone()]);
    assert_eq!(
        tree_of(&server, &sd, &a1x),
        vec![master.clone(), b.clone(), a1.clone()]
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{b}/descendants"),
        Some(&tok_b),
        None,
    );
    let rows = answer.body["data"].as_array().unwrap();
    let row = rows.iter().find(|r| r["id"] == a1x.as_str()).unwrap();
    assert_eq!(row["tree"], json!([master, b, a1]));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/descendants"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}/children"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{b}/children"),
        Some(&tok_b),
        None,
    );
    assert_eq!(ids_of(&answer), vec![a1.clone()]);
    assert_eq!(answer.body["data"][0]["descendants_count"], 1);

    // The old parent no longer reaches the subtree; the new one does.
    for id in [&a1, &a1x] {
        let answer = server.call("GET", &format!("/v2/accounts/{id}"), Some(&tok_a), None);
        assert_error(&answer, 403, "forbidden");
        assert!(!answer.body.to_string().contains("Move A1"));
        let answer = server.call(
            "GET",
            &format!("/v2/accounts/{id}/users"),
            Some(&tok_a),
            None,
        );
        assert_error(&answer, 403, "forbidden");
        assert_eq!(
            server
                .call("GET", &format!("/v2/accounts/{id}"), Some(&tok_b), None)
                .status,
            200
        );
    }
    // The moved account's own token still works, and its tree view follows.
    assert_eq!(
        server
            .call("GET", &format!("/v2/accounts/{a1x}"), Some(&tok_a1x), None)
            .status,
        200
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1x}/parents"),
        Some(&tok_b),
        None,
    );
    assert_eq!(
        answer.body["data"],
        json!([{"id": b, "name": "Move B"}, {"id": a1, "name": "Move A1"}])
    );
}

#[test]
fn delete_accounts() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    let (a, tok_a) = server.account_with_admin(&sd, &master, "Delete A");
    let a1 = create_account(&server, &tok_a, &a, "Delete A1");
    let (a1x, _) = server.account_with_admin(&tok_a, &a1, "Delete A1x");

    let answer = server.call("DELETE", &format!("/v2/accounts/{a1}"), Some(&tok_a), None);
    assert_error(&answer, 500, "account_has_descendants");
    assert_eq!(answer.body["data"]["message"], "account has descendants");
    assert_eq!(get_account(&server, &tok_a, &a1)["name"], "Delete A1");

    let answer = server.call("DELETE", &format!("/v2/accounts/{master}"), Some(&sd), None);
    assert_error(&answer, 405, "invalid_method");
    assert_eq!(get_account(&server, &sd, &master)["name"], MASTER_NAME);

    let answer = server.call("DELETE", &format!("/v2/accounts/{a1x}"), Some(&tok_a), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["_read_only"]["deleted"], true);
    assert_eq!(answer.body["data"]["id"], a1x.as_str());
    assert_eq!(answer.body["data"]["name"], "Delete A1x");
    let answer = server.call("GET", &format!("/v2/accounts/{a1x}"), Some(&tok_a), None);
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], a1x.as_str());
    let answer = server.call("GET", &format!("/v2/accounts/{a1x}/users"), Some(&sd), None);
    assert_error(&answer, 404, "bad_identifier");
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a1}/children"),
        Some(&tok_a),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));
    // Its users are gone with it.
    let answer = try_login(&server, "Delete A1x", "admin", "pw-123456");
    assert_error(&answer, 401, "invalid_credentials");
    // Its name and realm are free again.
    let again = create_account(&server, &tok_a, &a1, "Delete A1x");
    assert_ne!(again, a1x);

    // Now A1 has a child again; delete that, then A1 itself.
    assert_eq!(
        server
            .call(
                "DELETE",
                &format!("/v2/accounts/{again}"),
                Some(&tok_a),
                None
            )
            .status,
        200
    );
    let answer = server.call("DELETE", &format!("/v2/accounts/{a1}"), Some(&tok_a), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["_read_only"]["deleted"], true);
    assert_error(
        &server.call("GET", &format!("/v2/accounts/{a1}"), Some(&sd), None),
        404,
        "bad_identifier",
    );
}

#[test]
fn reseller_follows_a_move() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let master = server.master_id.clone();
    let r = create_account(&server, &sd, &master, "Moving Reseller");
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{r}/reseller"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let c = create_account(&server, &sd, &r, "Moving Customer");
    let cx = create_account(&server, &sd, &c, "Moving Customer Sub");
    assert_eq!(get_account(&server, &sd, &cx)["reseller_id"], r.as_str());

    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{c}/move"),
        Some(&sd),
        Some(json!({"data": {"to": master}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["reseller_id"], master.as_str());
    assert_eq!(
        get_account(&server, &sd, &cx)["reseller_id"],
        master.as_str()
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{r}/descendants"),
        Some(&sd),
        None,
    );
    assert_eq!(answer.body["data"], json!([]));

    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{c}/move"),
        Some(&sd),
        Some(json!({"data": {"to": r}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(get_account(&server, &sd, &cx)["reseller_id"], r.as_str());
    assert_eq!(tree_of(&server, &sd, &cx), vec![master, r, c]);
}

#[test]
fn deleted_accounts_lose_their_tokens_and_plain_users_cannot_create_accounts() {
    let server = TestServer::start();
    let sd = server.admin_token();
    // Under a parent of this test's own, so its children are this test's.
    let parent = create_account(&server, &sd, &server.master_id, "Short Lived Parent");
    let (a, tok_a) = server.account_with_admin(&sd, &parent, "Short Lived");
    create_user(&server, &tok_a, &a, "plain", "pw-plain-1", "user");
    let (tok_plain, _) = server.login("Short Lived", "plain", "pw-plain-1");
    let answer = server.call(
        "PUT",
        "/v2/accounts",
        Some(&tok_plain),
        Some(json!({"data": {"name": "Sneaky"}})),
    );
    assert_error(&answer, 403, "forbidden");
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{a}"),
        Some(&tok_plain),
        Some(json!({"data": {"name": "Sneaky"}})),
    );
    assert_error(&answer, 403, "forbidden");
    let answer = server.call(
        "PATCH",
        &format!("/v2/accounts/{a}"),
        Some(&tok_plain),
        Some(json!({"data": {"name": "Renamed"}})),
    );
    assert_error(&answer, 403, "forbidden");
    // A plain user still reads its account, but never the key.
    assert_eq!(
        server
            .call("GET", &format!("/v2/accounts/{a}"), Some(&tok_plain), None)
            .status,
        200
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{a}?include_api_key=true"),
        Some(&tok_plain),
        None,
    );
    assert!(
        answer.body["data"].get("api_key").is_none(),
        "{:?}",
        answer.body
    );
    // An account does not delete itself.
    let answer = server.call("DELETE", &format!("/v2/accounts/{a}"), Some(&tok_a), None);
    assert_error(&answer, 403, "forbidden");
    let children = server.call(
        "GET",
        &format!("/v2/accounts/{parent}/children"),
        Some(&sd),
        None,
    );
    assert_eq!(ids_of(&children), vec![a.clone()]);

    let answer = server.call("DELETE", &format!("/v2/accounts/{a}"), Some(&sd), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    for tok in [&tok_a, &tok_plain] {
        let answer = server.call("GET", &format!("/v2/accounts/{a}"), Some(tok), None);
        assert_error(&answer, 401, "invalid_credentials");
        let answer = server.call("GET", "/v2/token_auth", Some(tok), None);
        assert_error(&answer, 401, "invalid_credentials");
    }
}

#[test]
fn unknown_accounts_in_sub_paths_are_404() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let unknown = "0123456789abcdef0123456789abcdef";
    for (method, sub) in [
        ("GET", "siblings"),
        ("GET", "parents"),
        ("GET", "tree"),
        ("GET", "api_key"),
        ("PUT", "api_key"),
        ("PUT", "reseller"),
        ("DELETE", "reseller"),
    ] {
        let answer = server.call(
            method,
            &format!("/v2/accounts/{unknown}/{sub}"),
            Some(&sd),
            None,
        );
        assert_error(&answer, 404, "bad_identifier");
        assert_eq!(answer.body["data"]["cause"], unknown, "{method} {sub}");
    }
    for method in ["POST", "PATCH", "DELETE", "PUT"] {
        let answer = server.call(
            method,
            &format!("/v2/accounts/{unknown}"),
            Some(&sd),
            Some(json!({"data": {"name": "Ghost"}})),
        );
        assert_error(&answer, 404, "bad_identifier");
    }
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{unknown}/move"),
        Some(&sd),
        Some(json!({"data": {"to": server.master_id}})),
    );
    assert_error(&answer, 404, "bad_identifier");
    // Verbs a tree path does not serve.
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{}/children", server.master_id),
        Some(&sd),
        Some(json!({"data": {}})),
    );
    assert_error(&answer, 405, "invalid_method");
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{}/move", server.master_id),
        Some(&sd),
        None,
    );
    assert_error(&answer, 405, "invalid_method");
}

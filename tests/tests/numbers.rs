//! phone_numbers end to end (kazoo-api.md §9.9): inventory import and search, the
//! account's numbers through every row of the state machine, collections, classifiers,
//! identify/check/fix, visibility across accounts, and the owners question.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crossbar_e2e::{assert_error, Answer, TestNumbers, TestServer};
use crossbar_events::subjects::{ACCOUNT_GET_SUBJECT, NUMBER_OWNERS_SUBJECT};
use serde_json::{json, Value};

/// Sends a raw (non-JSON) body.
pub fn raw_call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let result = agent
        .request(method, &format!("{}{}", server.base, path))
        .set("X-Auth-Token", token)
        .set("Content-Type", content_type)
        .send_bytes(body);
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_string();
            (name, value)
        })
        .collect();
    let text = response.into_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

fn import(server: &TestServer, token: &str, csv: &str) -> Answer {
    raw_call(
        server,
        "PUT",
        "/v2/phone_numbers/inventory",
        token,
        "text/csv",
        csv.as_bytes(),
    )
}

fn knm_error(answer: &Answer, code: u16, error: &str, message: &str, cause: Option<&str>) {
    assert_error(answer, code, error);
    let mut expected = json!({"code": code, "error": error, "message": message});
    if let Some(cause) = cause {
        expected["cause"] = json!(cause);
    }
    assert_eq!(answer.body["data"], expected, "{:?}", answer.body);
}

fn numbers_path(account: &str, rest: &str) -> String {
    format!("/v2/accounts/{account}/phone_numbers{rest}")
}

struct World {
    server: TestServer,
    admin: String,
    /// A customer account (not superduper) and its admin's token.
    customer: (String, String),
    /// A sibling of the customer.
    other: (String, String),
    /// This test's numbers (`format!("415{x}100")` with `x = nums.block()`), so tests
    /// sharing one inventory (the cluster run) never meet.
    nums: TestNumbers,
}

/// Imports lines 100..=105 of area 415 (San Francisco), line 100 of area 212 (New
/// York) and the test's London number.
fn world() -> World {
    let server = TestServer::start();
    let admin = server.admin_token();
    let customer = server.account_with_admin(&admin, &server.master_id, "Numbers Customer");
    let other = server.account_with_admin(&admin, &server.master_id, "Numbers Other");
    let nums = TestNumbers::fresh();
    let x = nums.block();
    let london = nums.london();
    let csv = format!(
        "number,city,state,rate_center\n\
         415{x}100,San Francisco,CA,SNFC\n\
         415{x}101,San Francisco,CA,SNFC\n\
         415{x}102,San Francisco,CA,SNFC\n\
         415{x}103,San Francisco,CA,SNFC\n\
         415{x}104,San Francisco,CA,SNFC\n\
         415{x}105,San Francisco,CA,SNFC\n\
         212{x}100,New York,NY,NWYK\n\
         {london},London,,\n\
         not-a-number,x,y,z\n"
    );
    let imported = import(&server, &admin, &csv);
    assert_eq!(imported.status, 200, "{:?}", imported.body);
    assert_eq!(imported.body["data"]["added"], 8);
    assert_eq!(imported.body["data"]["rejected"][0]["line"], 10);
    World {
        server,
        admin,
        customer,
        other,
        nums,
    }
}

#[test]
fn inventory_import_is_superduper_only_and_idempotent() {
    let w = world();
    let x = w.nums.block();
    let again = import(
        &w.server,
        &w.admin,
        &format!("number\n415{x}100\n415{x}199\n"),
    );
    assert_eq!(again.body["data"]["added"], 1);
    assert_eq!(again.body["data"]["already_present"], 1);
    let refused = import(&w.server, &w.customer.1, &format!("number\n415{x}198\n"));
    assert_error(&refused, 403, "forbidden");
    let no_column = import(&w.server, &w.admin, "city\nx\n");
    assert_error(&no_column, 400, "validation error");
}

#[test]
fn search_without_token_by_prefix_quantity_offset_and_country() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let found = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}&quantity=3"),
        None,
        None,
    );
    assert_eq!(found.status, 200, "{:?}", found.body);
    let numbers: Vec<&str> = found.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            format!("+1415{x}100"),
            format!("+1415{x}101"),
            format!("+1415{x}102")
        ]
    );
    let first = &found.body["data"][0];
    assert_eq!(first["e164"], format!("+1415{x}100"));
    assert_eq!(first["npa_nxx"], w.nums.npa_nxx(415));
    assert_eq!(first["city"], "San Francisco");
    assert_eq!(first["formatted_number"], w.nums.formatted(415, 100));
    let page = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}&quantity=2&offset=4"),
        None,
        None,
    );
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["data"][0]["number"], format!("+1415{x}104"));
    // Without a quantity: one number (of six under this prefix).
    let default_one = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=212{x}"),
        None,
        None,
    );
    assert_eq!(default_one.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        default_one.body["data"][0]["number"],
        format!("+1212{x}100")
    );
    let default_sf = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}"),
        None,
        None,
    );
    assert_eq!(default_sf.body["data"].as_array().unwrap().len(), 1);
    // National digits of another country; a `+` prefix is taken as it is.
    let london = w.nums.london_prefix();
    let gb = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix={london}&country=GB"),
        None,
        None,
    );
    assert_eq!(gb.body["data"][0]["number"], w.nums.london());
    let plus = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=%2B44{london}&quantity=5"),
        None,
        None,
    );
    assert_eq!(plus.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(plus.body["data"][0]["number"], w.nums.london());
    let missing = s.call("GET", "/v2/phone_numbers", None, None);
    assert_error(&missing, 400, "validation error");
    assert_eq!(
        missing.body["data"]["prefix"]["required"]["message"],
        "Field is required but missing"
    );
    let short = s.call("GET", "/v2/phone_numbers?prefix=41", None, None);
    assert_eq!(
        short.body["data"]["prefix"]["minLength"]["message"],
        "String must be at least 3 characters"
    );
    let zero = s.call("GET", "/v2/phone_numbers?prefix=415&quantity=0", None, None);
    assert_eq!(
        zero.body["data"]["quantity"]["minimum"]["message"],
        "Value must be at least 1"
    );
    let letters = s.call("GET", "/v2/phone_numbers?prefix=abc", None, None);
    assert_error(&letters, 400, "validation error");
    // The same search under an account.
    let (account, token) = &w.customer;
    let under = s.call(
        "GET",
        &numbers_path(account, &format!("?prefix=415{x}&quantity=1")),
        Some(token),
        None,
    );
    assert_eq!(under.body["data"][0]["number"], format!("+1415{x}100"));
}

#[test]
fn customer_adds_activates_reads_lists_updates_and_releases() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    let n = format!("%2B1415{x}100");
    // PUT without create_with_state reserves (DESIGN §8).
    let added = s.call(
        "PUT",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        Some(json!({"data": {"my_own_field": {}}, "accept_charges": true})),
    );
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(added.body["data"]["id"], format!("+1415{x}100"));
    assert_eq!(added.body["data"]["state"], "reserved");
    assert_eq!(added.body["data"]["_read_only"]["state"], "reserved");
    assert_eq!(added.body["data"]["my_own_field"], json!({}));
    // Again: number_exists.
    let again = s.call(
        "PUT",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        None,
    );
    knm_error(
        &again,
        409,
        "number_exists",
        &format!("number +1415{x}100 already exists"),
        Some(&format!("+1415{x}100")),
    );
    // Reserving what the account already reserved: no_change_required.
    let reserve = s.call(
        "PUT",
        &numbers_path(account, &format!("/{n}/reserve")),
        Some(token),
        None,
    );
    knm_error(
        &reserve,
        400,
        "no_change_required",
        "no change required",
        None,
    );
    // Reserved is no longer in the inventory search.
    let search = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}100"),
        None,
        None,
    );
    assert_eq!(search.body["data"], json!([]));
    // Activate: reserved -> in_service; again: no-op.
    let active = s.call(
        "PUT",
        &numbers_path(account, &format!("/{n}/activate")),
        Some(token),
        None,
    );
    assert_eq!(active.status, 200, "{:?}", active.body);
    assert_eq!(active.body["data"]["state"], "in_service");
    let noop = s.call(
        "PUT",
        &numbers_path(account, &format!("/{n}/activate")),
        Some(token),
        None,
    );
    assert_eq!(noop.status, 200);
    assert_eq!(noop.body["data"]["state"], "in_service");
    // The raw `+` works in the path too, and 10-digit NANP is normalised.
    let read = s.call(
        "GET",
        &numbers_path(account, &format!("/+1415{x}100")),
        Some(token),
        None,
    );
    assert_eq!(read.body["data"]["state"], "in_service");
    let read10 = s.call(
        "GET",
        &numbers_path(account, &format!("/415{x}100")),
        Some(token),
        None,
    );
    assert_eq!(read10.body["data"]["id"], format!("+1415{x}100"));
    // Listing.
    let listing = s.call("GET", &numbers_path(account, ""), Some(token), None);
    let entry = &listing.body["data"]["numbers"][format!("+1415{x}100")];
    assert_eq!(entry["state"], "in_service");
    assert_eq!(entry["assigned_to"], account.as_str());
    assert_eq!(listing.body["data"]["cascade_quantity"], 0);
    // POST replaces the public fields, PATCH merges; schema applies.
    let posted = s.call(
        "POST",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        Some(json!({"data": {"cnam": {"display_name": "Shop"}}})),
    );
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    assert!(posted.body["data"].get("my_own_field").is_none());
    let patched = s.call(
        "PATCH",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        Some(json!({"data": {"extra": 1}})),
    );
    assert_eq!(patched.body["data"]["cnam"]["display_name"], "Shop");
    assert_eq!(patched.body["data"]["extra"], 1);
    let bad = s.call(
        "POST",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        Some(json!({"data": {"cnam": {"display_name": "x".repeat(20)}}})),
    );
    assert_error(&bad, 400, "validation error");
    assert!(
        bad.body["data"]["cnam.display_name"]["maxLength"].is_object(),
        "{:?}",
        bad.body
    );
    // A client never sets state or ownership through fields.
    let sneaky = s.call(
        "PATCH",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        Some(json!({"data": {"state": "available", "assigned_to": w.other.0}})),
    );
    assert_eq!(sneaky.body["data"]["state"], "in_service");
    // Release: back to the inventory.
    let released = s.call(
        "DELETE",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        None,
    );
    assert_eq!(released.status, 200, "{:?}", released.body);
    assert_eq!(released.body["data"]["state"], "available");
    assert!(
        released.body["data"].get("cnam").is_none(),
        "public fields reset"
    );
    let gone = s.call(
        "GET",
        &numbers_path(account, &format!("/{n}")),
        Some(token),
        None,
    );
    assert_error(&gone, 404, "bad_identifier");
    assert_eq!(
        gone.body["data"],
        json!({"message": "bad identifier", "not_found": "The number could not be found"})
    );
    let back = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}100"),
        None,
        None,
    );
    assert_eq!(back.body["data"][0]["number"], format!("+1415{x}100"));
}

#[test]
fn creation_permissions() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    // A number that is not in the inventory: only superduper may create it...
    let refused = s.call(
        "PUT",
        &numbers_path(account, &format!("/%2B1312{x}100")),
        Some(token),
        None,
    );
    knm_error(
        &refused,
        403,
        "forbidden",
        "requestor is unauthorized to perform operation",
        None,
    );
    let in_service = s.call(
        "PUT",
        &numbers_path(account, &format!("/%2B1312{x}100")),
        Some(token),
        Some(json!({"data": {"create_with_state": "in_service"}})),
    );
    assert_error(&in_service, 403, "forbidden");
    // ...except as port_in, which anyone may.
    let port = s.call(
        "PUT",
        &numbers_path(account, &format!("/%2B1312{x}100/port")),
        Some(token),
        None,
    );
    assert_eq!(port.status, 201, "{:?}", port.body);
    assert_eq!(port.body["data"]["state"], "port_in");
    let by_state = s.call(
        "PUT",
        &numbers_path(account, &format!("/%2B1312{x}101")),
        Some(token),
        Some(json!({"data": {"create_with_state": "port_in"}})),
    );
    assert_eq!(by_state.body["data"]["state"], "port_in");
    // Superduper creates in any allowed state.
    for (n, state) in [
        (format!("1312{x}110"), "reserved"),
        (format!("1312{x}111"), "in_service"),
        (format!("1312{x}112"), "available"),
        (format!("1312{x}113"), "aging"),
        (format!("1312{x}114"), "port_in"),
    ] {
        let created = s.call(
            "PUT",
            &numbers_path(account, &format!("/{n}")),
            Some(&w.admin),
            Some(json!({"data": {"create_with_state": state}})),
        );
        assert_eq!(created.status, 201, "{state}: {:?}", created.body);
        assert_eq!(created.body["data"]["state"], state);
    }
    // ...but not in the others.
    for state in ["released", "deleted", "discovery", "port_out"] {
        let refused = s.call(
            "PUT",
            &numbers_path(account, &format!("/1312{x}120")),
            Some(&w.admin),
            Some(json!({"data": {"create_with_state": state}})),
        );
        assert_error(&refused, 403, "forbidden");
    }
    let bogus = s.call(
        "PUT",
        &numbers_path(account, &format!("/1312{x}120")),
        Some(&w.admin),
        Some(json!({"data": {"create_with_state": "bogus"}})),
    );
    assert_error(&bogus, 400, "validation error");
    assert!(bogus.body["data"]["create_with_state"]["enum"].is_object());
    // Existing numbers may be created again only from aging/available/port_in.
    let from_aging = s.call(
        "PUT",
        &numbers_path(account, &format!("/1312{x}113")),
        Some(token),
        None,
    );
    assert_eq!(
        from_aging.body["data"]["state"], "reserved",
        "{:?}",
        from_aging.body
    );
    let from_in_service = s.call(
        "PUT",
        &numbers_path(&w.other.0, &format!("/1312{x}111")),
        Some(&w.other.1),
        None,
    );
    knm_error(
        &from_in_service,
        409,
        "number_exists",
        &format!("number +1312{x}111 already exists"),
        Some(&format!("+1312{x}111")),
    );
    let path_junk = s.call("GET", &numbers_path(account, "/abc"), Some(token), None);
    assert_error(&path_junk, 404, "bad_identifier");
}

/// Kazoo's `pvt_wnm_allow_additions`: an account with it may create numbers that are
/// not in the inventory, `reserved` or `in_service` only. The flag is the caller's
/// account's (Kazoo's `auth_by`), only a superduper admin sets it (through the account's
/// POST/PATCH here), and the numbers service learns it from the accounts service
/// (`crossbar.rpc.accounts.account.get`).
#[test]
fn allow_additions_permits_creation_outside_the_inventory() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    let account_path = format!("/v2/accounts/{account}");
    let flag = |who: &str| {
        let read = s.call("GET", &account_path, Some(who), None);
        assert_eq!(read.status, 200, "{:?}", read.body);
        let asked = s
            .ask(ACCOUNT_GET_SUBJECT, json!({"account_id": account}))
            .unwrap();
        assert_eq!(
            asked["account"]["wnm_allow_additions"], read.body["data"]["wnm_allow_additions"],
            "the bus answer and the account view agree"
        );
        read.body["data"]["wnm_allow_additions"].clone()
    };
    let put = |acct: &str, n: &str, tok: &str, state: Option<&str>| {
        let body = state.map(|state| json!({"data": {"create_with_state": state}}));
        s.call(
            "PUT",
            &numbers_path(acct, &format!("/{n}")),
            Some(tok),
            body,
        )
    };
    // Without the flag: refused.
    assert_eq!(flag(token), false);
    knm_error(
        &put(account, &format!("1312{x}200"), token, None),
        403,
        "forbidden",
        "requestor is unauthorized to perform operation",
        None,
    );
    // The account's own admin cannot grant it (dropped like any read-only field).
    let own = s.call(
        "PATCH",
        &account_path,
        Some(token),
        Some(json!({"data": {"wnm_allow_additions": true}})),
    );
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["data"]["wnm_allow_additions"], false);
    assert_eq!(flag(token), false);
    assert_error(
        &put(account, &format!("1312{x}200"), token, None),
        403,
        "forbidden",
    );

    // A superduper grants it.
    let granted = s.call(
        "PATCH",
        &account_path,
        Some(&w.admin),
        Some(json!({"data": {"wnm_allow_additions": true}})),
    );
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    assert_eq!(granted.body["data"]["wnm_allow_additions"], true);
    assert_eq!(flag(token), true);
    // A read-modify-write POST by the account's admin keeps it.
    let mut doc = s.call("GET", &account_path, Some(token), None).body["data"].clone();
    doc["wnm_allow_additions"] = json!(false);
    doc["timezone"] = json!("Europe/Paris");
    let posted = s.call(
        "POST",
        &account_path,
        Some(token),
        Some(json!({"data": doc})),
    );
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    assert_eq!(flag(token), true);

    // Now: reserved (default) and in_service are allowed...
    let reserved = put(account, &format!("1312{x}200"), token, None);
    assert_eq!(reserved.status, 201, "{:?}", reserved.body);
    assert_eq!(reserved.body["data"]["state"], "reserved");
    let in_service = put(account, &format!("1312{x}201"), token, Some("in_service"));
    assert_eq!(in_service.status, 201, "{:?}", in_service.body);
    assert_eq!(in_service.body["data"]["state"], "in_service");
    let listing = s.call("GET", &numbers_path(account, ""), Some(token), None);
    let numbers = &listing.body["data"]["numbers"];
    assert_eq!(
        numbers[format!("+1312{x}200")]["assigned_to"],
        account.as_str()
    );
    assert_eq!(numbers[format!("+1312{x}201")]["state"], "in_service");
    // ...the superduper-only states are not.
    for state in ["available", "aging"] {
        knm_error(
            &put(account, &format!("1312{x}202"), token, Some(state)),
            403,
            "forbidden",
            "requestor is unauthorized to perform operation",
            None,
        );
    }
    // The flag does not override existing numbers: number_exists as before.
    knm_error(
        &put(account, &format!("1312{x}201"), token, None),
        409,
        "number_exists",
        &format!("number +1312{x}201 already exists"),
        Some(&format!("+1312{x}201")),
    );

    // It is the caller's account that counts: the flagged account's admin may create in
    // its sub-account; the sub-account's own admin (no flag) may not.
    let (sub, sub_token) = s.account_with_admin(&w.admin, account, "Numbers Sub");
    let by_parent = put(&sub, &format!("1312{x}203"), token, None);
    assert_eq!(by_parent.status, 201, "{:?}", by_parent.body);
    let held = s.call(
        "GET",
        &numbers_path(&sub, &format!("/%2B1312{x}203")),
        Some(&sub_token),
        None,
    );
    assert_eq!(held.body["data"]["state"], "reserved", "{:?}", held.body);
    assert_error(
        &put(&sub, &format!("1312{x}204"), &sub_token, None),
        403,
        "forbidden",
    );
    // A sibling without the flag is refused too.
    assert_error(
        &put(&w.other.0, &format!("1312{x}205"), &w.other.1, None),
        403,
        "forbidden",
    );

    // Revoked by a superduper (POST with the flag false): refused again.
    let mut doc = s.call("GET", &account_path, Some(&w.admin), None).body["data"].clone();
    doc["wnm_allow_additions"] = json!(false);
    let revoked = s.call(
        "POST",
        &account_path,
        Some(&w.admin),
        Some(json!({"data": doc})),
    );
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(flag(token), false);
    assert_error(
        &put(account, &format!("1312{x}206"), token, None),
        403,
        "forbidden",
    );
}

#[test]
fn transition_table_rows() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    let admin = w.admin.as_str();
    let put = |n: &str, action: &str, tok: &str| {
        s.call(
            "PUT",
            &numbers_path(account, &format!("/{n}{action}")),
            Some(tok),
            None,
        )
    };
    let create = |n: &str, state: &str| {
        let answer = s.call(
            "PUT",
            &numbers_path(account, &format!("/{n}")),
            Some(admin),
            Some(json!({"data": {"create_with_state": state}})),
        );
        assert_eq!(answer.status, 201, "{:?}", answer.body);
    };
    // in_service from available, aging, reserved, port_in, in_service.
    assert_eq!(
        put(&format!("415{x}101"), "/activate", token).body["data"]["state"],
        "in_service"
    );
    create(&format!("+1646{x}100"), "aging");
    assert_eq!(
        put(&format!("+1646{x}100"), "/activate", token).body["data"]["state"],
        "in_service"
    );
    create(&format!("+1646{x}101"), "reserved");
    assert_eq!(
        put(&format!("+1646{x}101"), "/activate", token).body["data"]["state"],
        "in_service"
    );
    create(&format!("+1646{x}102"), "port_in");
    assert_eq!(
        put(&format!("+1646{x}102"), "/activate", token).body["data"]["state"],
        "in_service"
    );
    // reserved from available and in_service (and reserved of another account).
    assert_eq!(
        put(&format!("415{x}102"), "/reserve", token).body["data"]["state"],
        "reserved"
    );
    assert_eq!(
        put(&format!("+1646{x}102"), "/reserve", token).body["data"]["state"],
        "reserved"
    );
    // Refused rows: reserved from port_in and aging.
    create(&format!("+1646{x}103"), "port_in");
    knm_error(
        &put(&format!("+1646{x}103"), "/reserve", token),
        400,
        "invalid_state_transition",
        "invalid state transition",
        Some("from port_in to reserved"),
    );
    create(&format!("+1646{x}104"), "aging");
    knm_error(
        &put(&format!("+1646{x}104"), "/reserve", token),
        400,
        "invalid_state_transition",
        "invalid state transition",
        Some("from aging to reserved"),
    );
    // port_in from port_in (re-creation) only; an in_service number cannot go port_in.
    let re_port = put(&format!("+1646{x}103"), "/port", token);
    assert_eq!(re_port.status, 201, "{:?}", re_port.body);
    knm_error(
        &put(&format!("+1646{x}100"), "/port", token),
        409,
        "number_exists",
        &format!("number +1646{x}100 already exists"),
        Some(&format!("+1646{x}100")),
    );
    // Release from reserved, in_service, port_in.
    for n in [
        format!("415{x}102"),
        format!("415{x}101"),
        format!("+1646{x}103"),
    ] {
        let released = s.call(
            "DELETE",
            &numbers_path(account, &format!("/{n}")),
            Some(token),
            None,
        );
        assert_eq!(released.status, 200, "{n}: {:?}", released.body);
        assert_eq!(released.body["data"]["state"], "available");
    }
    // Moving numbers held by an account the caller does not reach: forbidden.
    let taken = put(&format!("415{x}103"), "/reserve", &w.other.1);
    assert_eq!(
        taken.status, 403,
        "a customer cannot act for another account"
    );
    let theirs = s.call(
        "PUT",
        &numbers_path(&w.other.0, &format!("/415{x}104/reserve")),
        Some(&w.other.1),
        None,
    );
    assert_eq!(theirs.body["data"]["state"], "reserved");
    let grab = put(&format!("415{x}104"), "/activate", token);
    knm_error(
        &grab,
        403,
        "forbidden",
        "requestor is unauthorized to perform operation",
        None,
    );
    let grab_reserve = put(&format!("415{x}104"), "/reserve", token);
    knm_error(
        &grab_reserve,
        403,
        "forbidden",
        "requestor is unauthorized to perform operation",
        None,
    );
    // The master (superduper) moves it into the customer: reserve history kept, and
    // a release hands it back to the previous holder.
    let moved = put(&format!("415{x}104"), "/reserve", admin);
    assert_eq!(moved.body["data"]["state"], "reserved");
    let handed_back = s.call(
        "DELETE",
        &numbers_path(account, &format!("/415{x}104")),
        Some(token),
        None,
    );
    assert_eq!(handed_back.body["data"]["state"], "reserved");
    let theirs_again = s.call(
        "GET",
        &numbers_path(&w.other.0, &format!("/415{x}104")),
        Some(&w.other.1),
        None,
    );
    assert_eq!(theirs_again.body["data"]["state"], "reserved");
    // Unknown numbers: 404.
    assert_error(
        &put("+19995550100", "/activate", token),
        404,
        "bad_identifier",
    );
}

#[test]
fn hard_delete_is_superduper_only() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    s.call(
        "PUT",
        &numbers_path(account, &format!("/415{x}105/activate")),
        Some(token),
        None,
    );
    let refused = s.call(
        "DELETE",
        &numbers_path(account, &format!("/415{x}105?hard=true")),
        Some(token),
        None,
    );
    assert_error(&refused, 403, "forbidden");
    let deleted = s.call(
        "DELETE",
        &numbers_path(account, &format!("/415{x}105?hard=true")),
        Some(&w.admin),
        None,
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["data"]["state"], "deleted");
    let search = s.call(
        "GET",
        &format!("/v2/phone_numbers?prefix=415{x}105"),
        None,
        None,
    );
    assert_eq!(search.body["data"], json!([]));
    assert_eq!(
        w.server
            .ask(
                NUMBER_OWNERS_SUBJECT,
                json!({"numbers": [format!("+1415{x}105")]})
            )
            .unwrap(),
        json!({"numbers": {}})
    );
}

#[test]
fn cross_account_reads_as_404_or_403() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    s.call(
        "PUT",
        &numbers_path(account, &format!("/415{x}100/activate")),
        Some(token),
        None,
    );
    // The sibling cannot reach the customer's account at all...
    let other_path = s.call(
        "GET",
        &numbers_path(account, &format!("/415{x}100")),
        Some(&w.other.1),
        None,
    );
    assert_error(&other_path, 403, "forbidden");
    // ...and under its own account the number does not exist for it.
    let own_path = s.call(
        "GET",
        &numbers_path(&w.other.0, &format!("/415{x}100")),
        Some(&w.other.1),
        None,
    );
    assert_error(&own_path, 404, "bad_identifier");
    let release = s.call(
        "DELETE",
        &numbers_path(&w.other.0, &format!("/415{x}100")),
        Some(&w.other.1),
        None,
    );
    assert_error(&release, 404, "bad_identifier");
    let patch = s.call(
        "PATCH",
        &numbers_path(&w.other.0, &format!("/415{x}100")),
        Some(&w.other.1),
        Some(json!({"data": {"x": 1}})),
    );
    assert_error(&patch, 404, "bad_identifier");
    let identify = s.call(
        "GET",
        &numbers_path(&w.other.0, &format!("/415{x}100/identify")),
        Some(&w.other.1),
        None,
    );
    assert_error(&identify, 404, "bad_identifier");
    let listing = s.call("GET", &numbers_path(&w.other.0, ""), Some(&w.other.1), None);
    assert_eq!(listing.body["data"]["numbers"], json!({}));
    // The owner and the master identify it.
    let mine = s.call(
        "GET",
        &numbers_path(account, &format!("/415{x}100/identify")),
        Some(token),
        None,
    );
    assert_eq!(
        mine.body["data"],
        json!({"account_id": account, "number": format!("+1415{x}100")})
    );
    let master = s.call(
        "GET",
        &numbers_path(&s.master_id, &format!("/415{x}100/identify")),
        Some(&w.admin),
        None,
    );
    assert_eq!(master.body["data"]["account_id"], account.as_str());
    // Not in service: client error.
    s.call(
        "PUT",
        &numbers_path(account, &format!("/415{x}101")),
        Some(token),
        None,
    );
    let reserved = s.call(
        "GET",
        &numbers_path(account, &format!("/415{x}101/identify")),
        Some(token),
        None,
    );
    assert_error(&reserved, 400, "client error");
    assert_eq!(reserved.body["data"]["cause"], "not_in_service");
    // No token: 401.
    let anonymous = s.call("GET", &numbers_path(account, ""), None, None);
    assert_error(&anonymous, 401, "invalid_credentials");
}

#[test]
fn collections() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    let path = numbers_path(account, "/collection");
    let missing = s.call("PUT", &path, Some(token), Some(json!({"data": {}})));
    assert_eq!(
        missing.body["data"],
        json!({"numbers": {"required": {"message": "list of numbers missing"}}})
    );
    let empty = s.call(
        "PUT",
        &path,
        Some(token),
        Some(json!({"data": {"numbers": []}})),
    );
    assert_eq!(
        empty.body["data"],
        json!({"numbers": {"minimum": {"message": "minimum 1 number required"}}})
    );
    let twice = s.call(
        "PUT",
        &path,
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}100"), format!("+1415{x}100")]}})),
    );
    assert_eq!(
        twice.body["data"],
        json!({"numbers": {"uniqueItems": {"message": "some numbers appear twice"}}})
    );
    let not_list = s.call(
        "PUT",
        &path,
        Some(token),
        Some(json!({"data": {"numbers": format!("415{x}100")}})),
    );
    assert_eq!(
        not_list.body["data"],
        json!({"numbers": {"type": {"message": "numbers must be a list"}}})
    );
    assert_error(&not_list, 400, "validation error");
    // Mixed outcome: 200 with success and error maps.
    let created = s.call(
        "PUT",
        &path,
        Some(token),
        Some(
            json!({"data": {"numbers": [format!("415{x}100"), format!("415{x}101"), format!("+1312{x}999")], "note": "x"}}),
        ),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(
        created.body["data"]["success"][format!("+1415{x}100")]["state"],
        "reserved"
    );
    assert_eq!(
        created.body["data"]["success"][format!("+1415{x}101")]["note"],
        "x"
    );
    assert_eq!(
        created.body["data"]["error"][format!("+1312{x}999")]["error"],
        "forbidden"
    );
    let activated = s.call(
        "PUT",
        &numbers_path(account, "/collection/activate"),
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}100"), "+19995550000"]}})),
    );
    assert_eq!(
        activated.body["data"]["success"][format!("+1415{x}100")]["state"],
        "in_service"
    );
    assert_eq!(activated.body["data"]["error"]["+19995550000"]["code"], 404);
    let patched = s.call(
        "PATCH",
        &path,
        Some(token),
        Some(
            json!({"data": {"numbers": [format!("415{x}100"), format!("415{x}101")], "tag": "a"}}),
        ),
    );
    assert_eq!(
        patched.body["data"]["success"][format!("+1415{x}101")]["note"],
        "x"
    );
    assert_eq!(
        patched.body["data"]["success"][format!("+1415{x}101")]["tag"],
        "a"
    );
    let posted = s.call(
        "POST",
        &path,
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}101")], "only": true}})),
    );
    assert!(posted.body["data"]["success"][format!("+1415{x}101")]
        .get("note")
        .is_none());
    let released = s.call(
        "DELETE",
        &path,
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}100"), format!("415{x}101"), format!("415{x}102")]}})),
    );
    assert_eq!(
        released.body["data"]["success"][format!("+1415{x}100")]["state"],
        "available"
    );
    assert_eq!(
        released.body["data"]["success"][format!("+1415{x}101")]["state"],
        "available"
    );
    assert_eq!(
        released.body["data"]["error"][format!("+1415{x}102")]["code"],
        404
    );
}

#[test]
fn classifiers_carriers_check_locality_fix() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    let all = s.call(
        "GET",
        &numbers_path(account, "/classifiers"),
        Some(token),
        None,
    );
    for name in [
        "tollfree_us",
        "toll_us",
        "emergency",
        "caribbean",
        "did_us",
        "international",
        "unknown",
    ] {
        assert!(all.body["data"][name]["regex"].is_string(), "{name}");
    }
    let one = s.call(
        "GET",
        &numbers_path(account, "/classifiers/8005550100"),
        Some(token),
        None,
    );
    assert_eq!(one.body["data"]["name"], "tollfree_us");
    assert_eq!(one.body["data"]["e164"], "+18005550100");
    assert_eq!(one.body["data"]["friendly_name"], "US TollFree");
    let info = s.call(
        "GET",
        &numbers_path(account, "/carriers_info"),
        Some(token),
        None,
    );
    assert_eq!(info.body["data"]["usable_carriers"], json!(["local"]));
    assert!(info.body["data"]["usable_creation_states"]
        .as_array()
        .unwrap()
        .contains(&json!("reserved")));
    s.call(
        "PUT",
        &numbers_path(account, &format!("/415{x}100")),
        Some(token),
        None,
    );
    let check = s.call(
        "POST",
        &numbers_path(account, "/check"),
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}100"), format!("415{x}101"), format!("+1312{x}000")]}})),
    );
    assert_eq!(
        check.body["data"],
        json!({format!("415{x}100"): "error", format!("415{x}101"): "success", format!("+1312{x}000"): "success"})
    );
    let no_list = s.call(
        "POST",
        &numbers_path(account, "/check"),
        Some(token),
        Some(json!({"data": {}})),
    );
    assert_error(&no_list, 400, "validation error");
    let locality = s.call(
        "POST",
        &numbers_path(account, "/locality"),
        Some(token),
        Some(json!({"data": {"numbers": [format!("415{x}101")]}})),
    );
    assert_eq!(
        locality.body["data"]["numbers"][format!("415{x}101")]["city"],
        "San Francisco"
    );
    let fix = s.call("POST", &numbers_path(account, "/fix"), Some(token), None);
    assert!(fix.body["data"]["numbers"][format!("+1415{x}100")].is_object());
    let fix_one = s.call(
        "POST",
        &numbers_path(account, &format!("/fix/415{x}100")),
        Some(token),
        None,
    );
    assert_eq!(fix_one.body["data"], json!({}));
    let wrong_verb = s.call(
        "DELETE",
        &numbers_path(account, "/classifiers"),
        Some(token),
        None,
    );
    assert_error(&wrong_verb, 405, "invalid_method");
}

#[test]
fn owners_question() {
    let w = world();
    let x = w.nums.block();
    let s = &w.server;
    let (account, token) = (&w.customer.0, w.customer.1.as_str());
    s.call(
        "PUT",
        &numbers_path(account, &format!("/415{x}100/activate")),
        Some(token),
        None,
    );
    let answer = s
        .ask(
            NUMBER_OWNERS_SUBJECT,
            json!({"numbers": [format!("+1415{x}100"), format!("415{x}101"), "+19995550000"]}),
        )
        .unwrap();
    assert_eq!(
        answer,
        json!({"numbers": {
            format!("+1415{x}100"): {"assigned_to": account, "state": "in_service", "used_by": null},
            format!("415{x}101"): {"assigned_to": null, "state": "available", "used_by": null}
        }})
    );
    assert!(s
        .ask(NUMBER_OWNERS_SUBJECT, json!({"numbers": "x"}))
        .is_err());
}

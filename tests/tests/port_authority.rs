//! Who runs a port request: the nearest reseller above the customer (as Kazoo's
//! white-labelled port authority), else the master account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_e2e::{assert_error, TestServer};
use serde_json::json;

#[test]
fn a_resellers_customers_ports_are_run_by_the_reseller() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (reseller, reseller_token) =
        server.account_with_admin(&sd, &server.master_id, "Porting Reseller");
    let promoted = server.call(
        "PUT",
        &format!("/v2/accounts/{reseller}/reseller"),
        Some(&sd),
        None,
    );
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    let (customer, customer_token) =
        server.account_with_admin(&reseller_token, &reseller, "Reseller Customer");
    let (direct, direct_token) =
        server.account_with_admin(&sd, &server.master_id, "Direct Customer");

    let open = |account: &str, token: &str, number: &str| {
        let answer = server.call(
            "PUT",
            &format!("/v2/accounts/{account}/port_requests"),
            Some(token),
            Some(json!({"data": {"name": "Move my number", "numbers": {number: {}}}})),
        );
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        (
            answer.body["data"]["id"].as_str().unwrap().to_string(),
            answer.body["data"]["_read_only"]["port_authority"].clone(),
        )
    };
    let (under_reseller, authority) = open(&customer, &customer_token, "+14155550191");
    assert_eq!(authority, reseller.as_str());
    let (under_master, authority) = open(&direct, &direct_token, "+14155550192");
    assert_eq!(authority, server.master_id.as_str());

    // The customer submits; only the reseller (or a superduper) moves it on.
    let path = |account: &str, id: &str, state: &str| {
        format!("/v2/accounts/{account}/port_requests/{id}/{state}")
    };
    let submitted = server.call(
        "PATCH",
        &path(&customer, &under_reseller, "submitted"),
        Some(&customer_token),
        None,
    );
    assert_eq!(submitted.status, 200, "{:?}", submitted.body);
    let by_customer = server.call(
        "PATCH",
        &path(&customer, &under_reseller, "pending"),
        Some(&customer_token),
        None,
    );
    assert_error(&by_customer, 400, "validation error");
    assert_eq!(
        by_customer.body["data"]["port_state"]["enum"]["cause"],
        "pending"
    );
    let by_reseller = server.call(
        "PATCH",
        &path(&customer, &under_reseller, "pending"),
        Some(&reseller_token),
        None,
    );
    assert_eq!(by_reseller.status, 200, "{:?}", by_reseller.body);
    assert_eq!(by_reseller.body["data"]["port_state"], "pending");

    // The reseller's authority view lists its customers' requests, not the master's.
    let view = server.call("GET", "/v2/port_requests", Some(&reseller_token), None);
    assert_eq!(view.status, 200, "{:?}", view.body);
    let text = view.body["data"].to_string();
    assert!(text.contains(&under_reseller), "{text}");
    assert!(!text.contains(&under_master), "{text}");
    // A direct customer's request is not the reseller's to move.
    let submitted = server.call(
        "PATCH",
        &path(&direct, &under_master, "submitted"),
        Some(&direct_token),
        None,
    );
    assert_eq!(submitted.status, 200, "{:?}", submitted.body);
    let foreign = server.call(
        "PATCH",
        &path(&direct, &under_master, "pending"),
        Some(&reseller_token),
        None,
    );
    assert!(
        foreign.status == 403 || foreign.status == 404,
        "{:?}",
        foreign.body
    );
}

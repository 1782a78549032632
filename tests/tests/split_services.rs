//! The distributed topology in one test process: the services split over two
//! processes that share only a bus, behind the gateway. Everything a process does not
//! host (the directory, token keys and revocations, users, temporal rules) is asked
//! over the bus; clients see one API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use crossbar_e2e::{
    assert_error, md5_credentials, GatewayServer, TestServer, ADMIN_PASSWORD, MASTER_NAME,
};
use crossbar_events::{Bus, InProcessBus};
use serde_json::json;

#[test]
fn services_in_different_processes_serve_one_api_through_the_gateway() {
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
    let core = TestServer::start_hosting(
        Some(&["auth", "accounts", "office_hours"]),
        Some(bus.clone()),
    );
    let telephony = TestServer::start_hosting(Some(&["numbers", "callflows"]), Some(bus));
    let gateway = GatewayServer::start(
        BTreeMap::from([
            ("core".to_string(), vec![core.base.clone()]),
            ("telephony".to_string(), vec![telephony.base.clone()]),
        ]),
        1 << 20,
    );
    let api = core.via(&gateway.base);

    let login = api.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": md5_credentials("admin", ADMIN_PASSWORD), "account_name": MASTER_NAME}})),
    );
    assert_eq!(login.status, 201, "{:?}", login.body);
    let token = login.body["auth_token"].as_str().unwrap().to_string();
    let master = core.master_id.clone();

    // Accounts and office hours (core process).
    let account = api.call(
        "PUT",
        &format!("/v2/accounts/{master}"),
        Some(&token),
        Some(json!({"data": {"name": "Split Co", "timezone": "America/New_York"}})),
    );
    assert_eq!(account.status, 201, "{:?}", account.body);
    let account = account.body["data"]["id"].as_str().unwrap().to_string();
    let user = api.call("PUT", &format!("/v2/accounts/{account}/users"), Some(&token), Some(json!({"data": {"first_name": "Ada", "last_name": "Split", "username": "ada", "password": "pw-split-1"}})));
    assert_eq!(user.status, 201, "{:?}", user.body);
    let user = user.body["data"]["id"].as_str().unwrap().to_string();
    let rule = api.call("PUT", &format!("/v2/accounts/{account}/temporal_rules"), Some(&token), Some(json!({"data": {"name": "Weekdays", "cycle": "weekly", "wdays": ["monday", "tuesday", "wednesday", "thursday", "friday"], "time_window_start": 32400, "time_window_stop": 61200}})));
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let rule = rule.body["data"]["id"].as_str().unwrap().to_string();

    // Callflows (telephony process): the token is verified with keys learned over the
    // bus, the account checked against the remote directory.
    let callflow = api.call(
        "PUT",
        &format!("/v2/accounts/{account}/callflows"),
        Some(&token),
        Some(
            json!({"data": {"name": "Main", "numbers": ["4155550142"], "flow": {
                "module": "temporal_route", "data": {"rules": [rule]},
                "children": {
                    rule.clone(): {"module": "user", "data": {"id": user}},
                    "_": {"module": "voicemail", "data": {"id": "0123456789abcdef0123456789abcdef"}}
                }
            }}}),
        ),
    );
    assert_eq!(callflow.status, 201, "{:?}", callflow.body);
    assert_eq!(callflow.body["data"]["numbers"], json!(["+14155550142"]));
    let callflow = callflow.body["data"]["id"].as_str().unwrap().to_string();

    // Metadata of the referenced user and rule comes from the core process.
    let read = api.call(
        "GET",
        &format!("/v2/accounts/{account}/callflows/{callflow}"),
        Some(&token),
        None,
    );
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["data"]["metadata"][&user]["pvt_type"], "user");
    assert_eq!(read.body["data"]["metadata"][&rule]["name"], "Weekdays");

    // The simulator asks office hours (core) whether the rule is active: Monday
    // 2026-03-09 10:00 in New York is open, so the user rings.
    let simulated = api.call(
        "POST",
        &format!("/v2/accounts/{account}/callflows/simulate"),
        Some(&token),
        Some(json!({"data": {"number": "+14155550142", "at": "2026-03-09T14:00:00Z"}})),
    );
    assert_eq!(simulated.status, 200, "{:?}", simulated.body);
    let text = simulated.body["data"].to_string();
    assert!(text.contains(&rule) && text.contains("\"user\""), "{text}");

    // A token revoked in the core process is refused by the telephony process too.
    let revoked = api.call("DELETE", "/v2/token_auth", Some(&token), None);
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    let refused = api.call(
        "GET",
        &format!("/v2/accounts/{account}/callflows"),
        Some(&token),
        None,
    );
    assert_error(&refused, 401, "invalid_credentials");
}

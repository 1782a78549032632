//! port_requests end to end (kazoo-api.md §9.8): CRUD with the number checks, every
//! row of the state machine (allowed and refused, and who may), timeline and private
//! comments, attachments, the LOA PDF, listings, completion into phone_numbers, and the
//! active-ports question.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crossbar_e2e::{assert_error, Answer, TestServer};
use crossbar_events::subjects::{ACTIVE_PORTS_SUBJECT, NUMBER_OWNERS_SUBJECT};
use serde_json::{json, Value};

fn raw(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Vec<u8>, String, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut req = agent
        .request(method, &format!("{}{}", server.base, path))
        .set("X-Auth-Token", token);
    if let Some(ct) = content_type {
        req = req.set("Content-Type", ct);
    }
    let result = if body.is_empty() && method == "GET" {
        req.call()
    } else {
        req.send_bytes(body)
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let ct = response.content_type().to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, bytes, ct, json)
}

struct World {
    server: TestServer,
    admin: String,
    account: String,
    token: String,
    other: (String, String),
}

fn world() -> World {
    let server = TestServer::start();
    let admin = server.admin_token();
    let (account, token) = server.account_with_admin(&admin, &server.master_id, "Porting Customer");
    let other = server.account_with_admin(&admin, &server.master_id, "Porting Other");
    World {
        server,
        admin,
        account,
        token,
        other,
    }
}

fn ports_path(account: &str, rest: &str) -> String {
    format!("/v2/accounts/{account}/port_requests{rest}")
}

fn create(w: &World, numbers: &[&str]) -> String {
    let numbers: serde_json::Map<String, Value> =
        numbers.iter().map(|n| (n.to_string(), json!({}))).collect();
    let answer = w.server.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {"name": "Port", "numbers": numbers}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body["data"]["id"].as_str().unwrap().to_string()
}

fn to_state(w: &World, id: &str, state: &str, token: &str, body: Option<Value>) -> Answer {
    w.server.call(
        "PATCH",
        &ports_path(&w.account, &format!("/{id}/{state}")),
        Some(token),
        body,
    )
}

fn port_state_error(answer: &Answer, message: &str, cause: &str) {
    assert_error(answer, 400, "validation error");
    assert_eq!(
        answer.body["data"],
        json!({"port_state": {"enum": {"message": message, "cause": cause}}}),
        "{:?}",
        answer.body
    );
}

const ILLEGAL: &str = "Cannot move to new state from current state";
const NOT_ALLOWED: &str = "you're not allowed to change to new state from current state, please contact your port authority";

#[test]
fn create_read_update_delete_with_number_checks() {
    let w = world();
    let s = &w.server;
    let created = s.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {"numbers": {"2025559000": {}}, "name": "Porting 202.555.9000"}})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let data = &created.body["data"];
    assert_eq!(data["port_state"], "unconfirmed");
    assert_eq!(data["numbers"], json!({"+12025559000": {}}));
    assert_eq!(data["uploads"], json!({}));
    assert_eq!(data["_read_only"]["port_authority"], s.master_id.as_str());
    assert_eq!(data["_read_only"]["port_authority_name"], "E2E Master");
    let id = data["id"].as_str().unwrap().to_string();
    // Required fields.
    let missing = s.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {}})),
    );
    assert_error(&missing, 400, "validation error");
    assert!(missing.body["data"]["name"]["required"].is_object());
    assert!(missing.body["data"]["numbers"]["required"].is_object());
    // The same number again: same account, other account.
    let same = s.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {"numbers": {"+12025559000": {}}, "name": "Again"}})),
    );
    assert_eq!(
        same.body["data"]["+12025559000"]["type"],
        json!({"message": format!("Number is on a port request already: {id}"), "cause": "+12025559000"})
    );
    let other = s.call(
        "PUT",
        &ports_path(&w.other.0, ""),
        Some(&w.other.1),
        Some(json!({"data": {"numbers": {"+12025559000": {}}, "name": "Theirs"}})),
    );
    assert_eq!(
        other.body["data"]["+12025559000"]["type"]["message"],
        "Number is being ported for a different account"
    );
    // A number already in service somewhere.
    s.call(
        "PUT",
        &format!("/v2/accounts/{}/phone_numbers/%2B12025559001", w.other.0),
        Some(&w.admin),
        Some(json!({"data": {"create_with_state": "in_service"}})),
    );
    let exists = s.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {"numbers": {"+12025559001": {}}, "name": "Taken"}})),
    );
    assert_eq!(
        exists.body["data"]["+12025559001"]["type"]["message"],
        "Number exists on the system already"
    );
    // The number is porting: phone_numbers refuses to create it.
    let porting = s.call(
        "PUT",
        &format!("/v2/accounts/{}/phone_numbers/%2B12025559000", w.account),
        Some(&w.admin),
        None,
    );
    assert_error(&porting, 400, "number_is_porting");
    assert_eq!(porting.body["data"]["cause"], "+12025559000");
    // ...and the account listing shows it as port_in (unless include_ports=false).
    let listing = s.call(
        "GET",
        &format!("/v2/accounts/{}/phone_numbers", w.account),
        Some(&w.token),
        None,
    );
    assert_eq!(
        listing.body["data"]["numbers"]["+12025559000"]["state"],
        "port_in"
    );
    let without = s.call(
        "GET",
        &format!(
            "/v2/accounts/{}/phone_numbers?include_ports=false",
            w.account
        ),
        Some(&w.token),
        None,
    );
    assert_eq!(without.body["data"]["numbers"], json!({}));
    // Read, update, patch.
    let read = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        None,
    );
    assert_eq!(read.body["data"]["name"], "Porting 202.555.9000");
    let posted = s.call(
        "POST",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        Some(
            json!({"data": {"name": "Renamed", "numbers": {"+12025559000": {}, "2025559002": {}}}}),
        ),
    );
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    assert_eq!(
        posted.body["data"]["numbers"],
        json!({"+12025559000": {}, "+12025559002": {}})
    );
    let patched = s.call(
        "PATCH",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        Some(json!({"data": {"reference_number": "R-1"}})),
    );
    assert_eq!(patched.body["data"]["name"], "Renamed");
    assert_eq!(patched.body["data"]["reference_number"], "R-1");
    // Other accounts never see it.
    let sibling = s.call(
        "GET",
        &ports_path(&w.other.0, &format!("/{id}")),
        Some(&w.other.1),
        None,
    );
    assert_error(&sibling, 404, "bad_identifier");
    let cross = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.other.1),
        None,
    );
    assert_error(&cross, 403, "forbidden");
    // Submitted: no more edits, no delete.
    assert_eq!(to_state(&w, &id, "submitted", &w.token, None).status, 200);
    let edit = s.call(
        "PATCH",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        Some(json!({"data": {"name": "x"}})),
    );
    assert_error(&edit, 400, "validation error");
    assert_eq!(
        edit.body["data"]["port_state"]["enum"]["message"],
        "Updating port requests not allowed in current port state"
    );
    let superduper_edit = s.call(
        "PATCH",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.admin),
        Some(json!({"data": {"name": "By admin"}})),
    );
    assert_eq!(superduper_edit.status, 200);
    let delete = s.call(
        "DELETE",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        None,
    );
    assert_error(&delete, 405, "invalid_method");
    assert_eq!(
        delete.body["data"],
        json!({"message": "port request is not modifiable in this state"})
    );
    // Deleting an unconfirmed one works, and frees its numbers.
    let second = create(&w, &["+13035550100"]);
    let deleted = s.call(
        "DELETE",
        &ports_path(&w.account, &format!("/{second}")),
        Some(&w.token),
        None,
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_error(
        &s.call(
            "GET",
            &ports_path(&w.account, &format!("/{second}")),
            Some(&w.token),
            None,
        ),
        404,
        "bad_identifier",
    );
    create(&w, &["+13035550100"]);
}

#[test]
fn every_transition_row() {
    let w = world();
    let (customer, authority) = (w.token.as_str(), w.admin.as_str());
    let mut n = 0;
    let mut fresh = |path: &[&str]| {
        n += 1;
        let id = create(&w, &[&format!("+1404555{n:04}")]);
        for state in path {
            let body = (*state == "scheduled")
                .then(|| json!({"data": {"scheduled_date": 63_900_000_000_i64}}));
            let answer = to_state(&w, &id, state, authority, body);
            assert_eq!(answer.status, 200, "{state}: {:?}", answer.body);
        }
        id
    };
    // Allowed rows: (path to the source state, target, who).
    let allowed: &[(&[&str], &str, &str)] = &[
        (&[], "submitted", customer),
        (&["submitted", "rejected"], "submitted", customer),
        (&["submitted"], "pending", authority),
        (&["submitted", "pending"], "scheduled", authority),
        (&["submitted", "pending"], "completed", authority),
        (
            &["submitted", "pending", "scheduled"],
            "completed",
            authority,
        ),
        (&["submitted", "rejected"], "completed", authority),
        (&["submitted"], "rejected", authority),
        (&["submitted", "pending"], "rejected", authority),
        (
            &["submitted", "pending", "scheduled"],
            "rejected",
            authority,
        ),
        (&[], "canceled", customer),
        (&["submitted"], "canceled", authority),
        (&["submitted", "pending"], "canceled", authority),
        (
            &["submitted", "pending", "scheduled"],
            "canceled",
            authority,
        ),
        (&["submitted", "rejected"], "canceled", authority),
    ];
    for (path, target, who) in allowed {
        let id = fresh(path);
        let body = (*target == "scheduled").then(|| json!({"data": {"schedule_on": {"timezone": "America/Los_Angeles", "date_time": "2030-01-02 10:30"}}}));
        let answer = to_state(&w, &id, target, who, body);
        assert_eq!(
            answer.status, 200,
            "{path:?} -> {target}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["data"]["port_state"], *target);
    }
    // Illegal rows (even for the authority).
    let illegal: &[(&[&str], &str)] = &[
        (&[], "pending"),
        (&[], "scheduled"),
        (&[], "completed"),
        (&[], "rejected"),
        (&["submitted"], "submitted"),
        (&["submitted"], "scheduled"),
        (&["submitted"], "completed"),
        (&["submitted", "pending"], "submitted"),
        (&["submitted", "pending"], "pending"),
        (&["submitted", "pending", "scheduled"], "pending"),
        (&["submitted", "rejected"], "pending"),
        (&["submitted", "rejected"], "rejected"),
        (&["submitted", "pending", "completed"], "canceled"),
        (&["submitted", "pending", "completed"], "submitted"),
        (&["canceled"], "submitted"),
        (&["canceled"], "canceled"),
    ];
    for (path, target) in illegal {
        let id = fresh(path);
        port_state_error(&to_state(&w, &id, target, authority, None), ILLEGAL, target);
    }
    // Rows the customer may not take.
    let refused: &[(&[&str], &str)] = &[
        (&["submitted"], "pending"),
        (&["submitted", "pending"], "scheduled"),
        (&["submitted", "pending"], "completed"),
        (&["submitted"], "rejected"),
        (&["submitted"], "canceled"),
    ];
    for (path, target) in refused {
        let id = fresh(path);
        port_state_error(
            &to_state(&w, &id, target, customer, None),
            NOT_ALLOWED,
            target,
        );
    }
    // Unknown target state: 404.
    let id = fresh(&[]);
    assert_eq!(to_state(&w, &id, "bogus", authority, None).status, 404);
    // scheduled needs a date.
    let id = fresh(&["submitted", "pending"]);
    let undated = to_state(&w, &id, "scheduled", authority, None);
    assert_error(&undated, 400, "validation error");
    assert!(undated.body["data"]["schedule_on"]["required"].is_object());
    let dated = to_state(
        &w,
        &id,
        "scheduled",
        authority,
        Some(
            json!({"data": {"schedule_on": {"timezone": "America/Los_Angeles", "date_time": "2030-01-02 10:30"}}}),
        ),
    );
    // 2030-01-02 18:30 UTC = 1893609000 unix.
    assert_eq!(
        dated.body["data"]["scheduled_date"],
        1_893_609_000_i64 + 62_167_219_200
    );
}

#[test]
fn completion_creates_numbers_in_service() {
    let w = world();
    let s = &w.server;
    let id = create(&w, &["+15035550100", "+15035550101"]);
    to_state(&w, &id, "submitted", &w.token, None);
    to_state(&w, &id, "pending", &w.admin, None);
    let done = to_state(
        &w,
        &id,
        "completed",
        &w.admin,
        Some(json!({"reason": "ported"})),
    );
    assert_eq!(done.status, 200, "{:?}", done.body);
    let number = s.call(
        "GET",
        &format!("/v2/accounts/{}/phone_numbers/%2B15035550100", w.account),
        Some(&w.token),
        None,
    );
    assert_eq!(number.body["data"]["state"], "in_service");
    assert_eq!(number.body["data"]["_read_only"]["ported_in"], true);
    assert_eq!(number.body["data"]["_read_only"]["port_id"], id.as_str());
    let timeline = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}/timeline")),
        Some(&w.token),
        None,
    );
    let entries = timeline.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        entries[3]["transition"],
        json!({"new": "completed", "previous": "pending"})
    );
    assert_eq!(entries[3]["reason"], "ported");
    // The completed request no longer holds its numbers: a new request is refused
    // because the numbers now exist.
    let again = s.call(
        "PUT",
        &ports_path(&w.account, ""),
        Some(&w.token),
        Some(json!({"data": {"numbers": {"+15035550100": {}}, "name": "x"}})),
    );
    assert_eq!(
        again.body["data"]["+15035550100"]["type"]["message"],
        "Number exists on the system already"
    );
}

#[test]
fn comments_timeline_and_listings() {
    let w = world();
    let s = &w.server;
    let id = create(&w, &["+16175550100"]);
    let commented = s.call(
        "PATCH",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.admin),
        Some(json!({"data": {"comments": [
        {"author": "Ops", "content": "internal note", "is_private": true},
        {"author": "Ops", "content": "please sign", "action_required": true}]}})),
    );
    assert_eq!(commented.status, 200, "{:?}", commented.body);
    assert_eq!(
        commented.body["data"]["comments"].as_array().unwrap().len(),
        2
    );
    let customer_view = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}")),
        Some(&w.token),
        None,
    );
    assert_eq!(
        customer_view.body["data"]["comments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let timeline = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}/timeline")),
        Some(&w.token),
        None,
    );
    let kinds: Vec<&str> = timeline.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["transition", "comment"]);
    let admin_timeline = s.call(
        "GET",
        &ports_path(&w.account, &format!("/{id}/timeline")),
        Some(&w.admin),
        None,
    );
    assert_eq!(admin_timeline.body["data"].as_array().unwrap().len(), 3);
    // Listings.
    let second = create(&w, &["+16175550101"]);
    to_state(
        &w,
        &second,
        "submitted",
        &w.token,
        Some(json!({"reason": "go"})),
    );
    let active = s.call("GET", &ports_path(&w.account, ""), Some(&w.token), None);
    assert_eq!(active.body["data"][0]["account_id"], w.account.as_str());
    assert_eq!(
        active.body["data"][0]["port_requests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let progressing = s.call(
        "GET",
        &ports_path(&w.account, "?by_types=progressing"),
        Some(&w.token),
        None,
    );
    assert_eq!(
        progressing.body["data"][0]["port_requests"][0]["id"],
        second.as_str()
    );
    let by_number = s.call(
        "GET",
        &ports_path(&w.account, "?by_number=6175550100"),
        Some(&w.token),
        None,
    );
    assert_eq!(
        by_number.body["data"][0]["port_requests"][0]["id"],
        id.as_str()
    );
    let bad = s.call(
        "GET",
        &ports_path(&w.account, "?by_types=bogus"),
        Some(&w.token),
        None,
    );
    assert_error(&bad, 500, "invalid_request");
    assert_eq!(
        bad.body["data"]["message"],
        "query string by_types contained invalid values: bogus"
    );
    let last = s.call(
        "GET",
        &ports_path(&w.account, "/last_submitted"),
        Some(&w.token),
        None,
    );
    assert_eq!(last.body["data"][0]["id"], second.as_str());
    assert_eq!(last.body["data"][0]["transition"]["reason"], "go");
    // The authority's view and the descendants view: on a shared system (the cluster
    // run) they hold the other tests' requests too, so the account's group is checked,
    // and that it is all there is only on a system of the test's own.
    let mut mine = vec![id.clone(), second.clone()];
    mine.sort();
    let authority = s.call("GET", "/v2/port_requests", Some(&w.admin), None);
    assert_eq!(authority.status, 200, "{:?}", authority.body);
    assert_eq!(requests_of(&authority, &w.account), mine);
    if !crossbar_e2e::cluster_mode() {
        assert_eq!(authority.body["data"].as_array().unwrap().len(), 1);
    }
    let refused = s.call("GET", "/v2/port_requests", Some(&w.token), None);
    assert_error(&refused, 403, "forbidden");
    let put_refused = s.call(
        "PUT",
        "/v2/port_requests",
        Some(&w.admin),
        Some(json!({"data": {}})),
    );
    assert_error(&put_refused, 403, "forbidden");
    let descendants = s.call(
        "GET",
        &format!("/v2/accounts/{}/descendants/port_requests", s.master_id),
        Some(&w.admin),
        None,
    );
    assert_eq!(descendants.status, 200, "{:?}", descendants.body);
    assert_eq!(requests_of(&descendants, &w.account), mine);
    if !crossbar_e2e::cluster_mode() {
        assert_eq!(descendants.body["data"].as_array().unwrap().len(), 1);
    }
}

/// The ids (sorted) of the port requests of `account` in a listing grouped by account.
fn requests_of(answer: &Answer, account: &str) -> Vec<String> {
    let groups: Vec<&Value> = answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|group| group["account_id"] == account)
        .collect();
    assert_eq!(groups.len(), 1, "one group of {account}: {:?}", answer.body);
    let mut ids: Vec<String> = groups[0]["port_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn attachments_and_loa() {
    let w = world();
    let s = &w.server;
    let id = create(&w, &["+17185550100"]);
    let base = ports_path(&w.account, &format!("/{id}/attachments"));
    let pdf = b"%PDF-1.4 fake bill";
    let (status, _, _, body) = raw(
        s,
        "PUT",
        &format!("{base}?filename=bill.pdf"),
        &w.token,
        Some("application/pdf"),
        pdf,
    );
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(
        body["data"]["uploads"]["bill.pdf"],
        json!({"content_type": "application/pdf", "length": pdf.len()})
    );
    let (status, bytes, ct, _) = raw(s, "GET", &format!("{base}/bill.pdf"), &w.token, None, b"");
    assert_eq!(
        (status, bytes.as_slice(), ct.as_str()),
        (200, pdf.as_slice(), "application/pdf")
    );
    let (status, _, _, _) = raw(
        s,
        "POST",
        &format!("{base}/bill.pdf"),
        &w.token,
        Some("image/png"),
        b"\x89PNG",
    );
    assert_eq!(status, 200);
    let listed = s.call("GET", &base, Some(&w.token), None);
    assert_eq!(listed.body["data"]["bill.pdf"]["content_type"], "image/png");
    // Bad names, types, sizes.
    let (status, _, _, body) = raw(
        s,
        "PUT",
        &format!("{base}?filename=..%2Fetc%2Fpasswd"),
        &w.token,
        Some("application/pdf"),
        pdf,
    );
    assert_eq!(status, 400, "{body:?}");
    let (status, _, _, _) = raw(
        s,
        "PUT",
        &format!("{base}?filename=x.html"),
        &w.token,
        Some("text/html"),
        b"<html>",
    );
    assert_eq!(status, 415);
    let big = vec![b'x'; 5 * 1024 * 1024 + 1];
    let (status, _, _, _) = raw(
        s,
        "PUT",
        &format!("{base}?filename=big.pdf"),
        &w.token,
        Some("application/pdf"),
        &big,
    );
    assert_eq!(status, 413);
    let (status, _, _, _) = raw(s, "PUT", &base, &w.token, Some("application/pdf"), pdf);
    assert_eq!(status, 400, "filename is required");
    // Another account cannot read it.
    let (status, _, _, _) = raw(s, "GET", &format!("{base}/bill.pdf"), &w.other.1, None, b"");
    assert_eq!(status, 403);
    // The LOA is a real PDF naming the number.
    let (status, bytes, ct, _) = raw(
        s,
        "GET",
        &ports_path(&w.account, &format!("/{id}/loa")),
        &w.token,
        None,
        b"",
    );
    assert_eq!((status, ct.as_str()), (200, "application/pdf"));
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&bytes).contains("+17185550100"));
    // Delete the attachment; not once submitted.
    let deleted = s.call("DELETE", &format!("{base}/bill.pdf"), Some(&w.token), None);
    assert_eq!(deleted.status, 200);
    assert_error(
        &s.call("DELETE", &format!("{base}/bill.pdf"), Some(&w.token), None),
        404,
        "bad_identifier",
    );
    raw(
        s,
        "PUT",
        &format!("{base}?filename=sig.pdf"),
        &w.token,
        Some("application/pdf"),
        pdf,
    );
    to_state(&w, &id, "submitted", &w.token, None);
    assert_error(
        &s.call("DELETE", &format!("{base}/sig.pdf"), Some(&w.token), None),
        405,
        "invalid_method",
    );
}

#[test]
fn active_ports_question_and_account_deletion() {
    let w = world();
    let s = &w.server;
    assert_eq!(
        s.ask(ACTIVE_PORTS_SUBJECT, json!({"account_id": w.account}))
            .unwrap(),
        json!({"active": false, "ids": []})
    );
    let id = create(&w, &["+17735550100"]);
    assert_eq!(
        s.ask(ACTIVE_PORTS_SUBJECT, json!({"account_id": w.account}))
            .unwrap(),
        json!({"active": true, "ids": [id]})
    );
    let refused = s.call(
        "DELETE",
        &format!("/v2/accounts/{}", w.account),
        Some(&w.admin),
        None,
    );
    assert_error(&refused, 500, "account_has_active_port");
    to_state(&w, &id, "canceled", &w.token, None);
    assert_eq!(
        s.ask(ACTIVE_PORTS_SUBJECT, json!({"account_id": w.account}))
            .unwrap()["active"],
        false
    );
    // With the port gone, deletion goes ahead and releases the account's numbers.
    s.call(
        "PUT",
        &format!("/v2/accounts/{}/phone_numbers/%2B17735550200", w.account),
        Some(&w.admin),
        Some(json!({"data": {"create_with_state": "in_service"}})),
    );
    let deleted = s.call(
        "DELETE",
        &format!("/v2/accounts/{}", w.account),
        Some(&w.admin),
        None,
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    // The numbers service releases them on the deletion event, which the bus may
    // deliver after the answer (on the cluster: through JetStream, to another process).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let owners = s
            .ask(NUMBER_OWNERS_SUBJECT, json!({"numbers": ["+17735550200"]}))
            .unwrap();
        let number = &owners["numbers"]["+17735550200"];
        if number["assigned_to"] == Value::Null && number["state"] == "available" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not released after the account's deletion: {owners:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

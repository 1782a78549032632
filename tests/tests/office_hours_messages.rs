//! Voicemail messages over HTTP: deposit (raw audio with query metadata, or JSON
//! metadata then `/raw`), listing with the folder filter, folder moves, soft and
//! hard deletes, the raw audio round trip, the box listing's message count, limits
//! (413, 415) and who may reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::time::Duration;

use common::id_of;
use crossbar_e2e::{assert_error, Answer, TestServer};
use serde_json::{json, Value};

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";
const FIVE_MIB: usize = 5 * 1024 * 1024;

/// A server, an account with its admin token, and a voicemail box in it.
fn setup() -> (TestServer, String, String, String) {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (account, token) = server.account_with_admin(&sd, &server.master_id, "Voicemail Co");
    let vmbox = create_box(&server, &token, &account, "Support", "2000");
    (server, account, token, vmbox)
}

fn create_box(
    server: &TestServer,
    token: &str,
    account: &str,
    name: &str,
    mailbox: &str,
) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/vmboxes"),
        Some(token),
        Some(json!({"data": {"name": name, "mailbox": mailbox}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    id_of(&answer)
}

fn messages(account: &str, vmbox: &str) -> String {
    format!("/v2/accounts/{account}/vmboxes/{vmbox}/messages")
}

/// A raw answer: status, headers, body bytes.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    bytes: Vec<u8>,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// As the harness's JSON answer (for error envelopes).
    fn json(&self) -> Answer {
        Answer {
            status: self.status,
            body: serde_json::from_slice(&self.bytes).unwrap_or(Value::Null),
            headers: self.headers.clone(),
        }
    }
}

/// Sends `bytes` with `content_type` (or no body), reads the answer as bytes.
fn raw_call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<(&str, &[u8])>,
) -> RawAnswer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let req = agent
        .request(method, &format!("{}{}", server.base, path))
        .set("X-Auth-Token", token);
    let result = match body {
        Some((content_type, bytes)) => req.set("Content-Type", content_type).send_bytes(bytes),
        None => req.call(),
    };
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
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).unwrap();
    RawAnswer {
        status,
        headers,
        bytes,
    }
}

/// Some bytes that are not valid UTF-8 (to prove a byte-exact round trip).
fn audio(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ 0x80)
        .collect()
}

/// Deposits audio with caller metadata in the query; returns the message metadata.
fn deposit(
    server: &TestServer,
    token: &str,
    account: &str,
    vmbox: &str,
    query: &str,
    bytes: &[u8],
) -> Value {
    let answer = raw_call(
        server,
        "PUT",
        &format!("{}?{query}", messages(account, vmbox)),
        token,
        Some(("audio/mpeg", bytes)),
    )
    .json();
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body["data"].clone()
}

fn media_ids(answer: &Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {:?}", answer.body))
        .iter()
        .map(|m| m["media_id"].as_str().unwrap().to_string())
        .collect()
}

fn list(server: &TestServer, token: &str, account: &str, vmbox: &str, query: &str) -> Answer {
    let answer = server.call(
        "GET",
        &format!("{}?{query}", messages(account, vmbox)),
        Some(token),
        None,
    );
    assert_eq!(answer.status, 200, "{query}: {:?}", answer.body);
    answer
}

fn box_count(server: &TestServer, token: &str, account: &str, vmbox: &str) -> Value {
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{account}/vmboxes"),
        Some(token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == vmbox)
        .unwrap_or_else(|| panic!("{vmbox} not listed: {:?}", answer.body))["messages"]
        .clone()
}

#[test]
fn deposit_read_and_raw_round_trip() {
    let (server, account, token, vmbox) = setup();
    assert_eq!(box_count(&server, &token, &account, &vmbox), 0);

    // Raw audio, caller metadata in the query string.
    let bytes = audio(70_000, 7);
    let answer = raw_call(
        &server,
        "PUT",
        &format!(
            "{}?caller_id_number=%2B14155550100&caller_id_name=Bob%20Smith&from=1001%40example.com&to=2000%40example.com&call_id=abc-123&length=3140",
            messages(&account, &vmbox)
        ),
        &token,
        Some(("audio/mpeg", &bytes)),
    )
    .json();
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "success");
    let data = answer.body["data"].clone();
    let media_id = data["media_id"].as_str().unwrap().to_string();
    let (prefix, rest) = media_id.split_once('-').unwrap();
    assert_eq!(prefix.len(), 6, "{media_id}");
    assert_eq!(rest.len(), 32, "{media_id}");
    assert_eq!(data["caller_id_number"], "+14155550100");
    assert_eq!(data["caller_id_name"], "Bob Smith");
    assert_eq!(data["from"], "1001@example.com");
    assert_eq!(data["to"], "2000@example.com");
    assert_eq!(data["call_id"], "abc-123");
    assert_eq!(data["length"], 3140);
    assert_eq!(data["folder"], "new");
    let timestamp = data["timestamp"].as_i64().unwrap();
    assert!(
        (timestamp - common::now_gregorian()).abs() < 120,
        "{timestamp}"
    );
    assert!(answer
        .header("location")
        .unwrap_or_default()
        .ends_with(&format!("/messages/{media_id}")));

    // Metadata of one message, and the listing.
    let item = format!("{}/{media_id}", messages(&account, &vmbox));
    let answer = server.call("GET", &item, Some(&token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"], data);
    let answer = list(&server, &token, &account, &vmbox, "");
    assert_eq!(answer.body["data"], json!([data]));

    // The audio comes back byte for byte, with its content type, no envelope.
    let raw = raw_call(&server, "GET", &format!("{item}/raw"), &token, None);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("audio/mpeg"));
    let disposition = raw.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains(&format!("{media_id}.mp3")),
        "{disposition}"
    );
    assert!(raw.bytes == bytes, "audio differs");
    assert!(raw.header("x-request-id").is_some());

    // Kazoo's first method: JSON metadata only, then the audio on `/raw`.
    let answer = server.call(
        "PUT",
        &messages(&account, &vmbox),
        Some(&token),
        Some(
            json!({"data": {"caller_id_name": "someone", "caller_id_number": "6001",
            "folder": "saved", "from": "someone@farfaraway.com", "timestamp": 63_630_058_722i64}}),
        ),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let second = answer.body["data"].clone();
    assert_eq!(second["folder"], "saved");
    assert_eq!(second["timestamp"], 63_630_058_722i64);
    assert_eq!(second["length"], 0);
    let second_id = second["media_id"].as_str().unwrap().to_string();
    let second_item = format!("{}/{second_id}", messages(&account, &vmbox));
    let answer = raw_call(&server, "GET", &format!("{second_item}/raw"), &token, None).json();
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], second_id);
    let wav = audio(1234, 99);
    let answer = raw_call(
        &server,
        "PUT",
        &format!("{second_item}/raw"),
        &token,
        Some(("audio/wav", &wav)),
    )
    .json();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["media_id"], second_id);
    let raw = raw_call(&server, "GET", &format!("{second_item}/raw"), &token, None);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("audio/wav"));
    assert!(raw.bytes == wav);

    // Newest first; the box listing counts them.
    let answer = list(&server, &token, &account, &vmbox, "");
    assert_eq!(
        media_ids(&answer),
        vec![media_id.clone(), second_id.clone()]
    );
    assert_eq!(box_count(&server, &token, &account, &vmbox), 2);
    // The box document itself still has no messages array.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{account}/vmboxes/{vmbox}"),
        Some(&token),
        None,
    );
    assert!(answer.body["data"].get("messages").is_none());
    // Generic verbs on the box collection still work after the listing override.
    let other = create_box(&server, &token, &account, "Sales", "2001");
    assert_eq!(box_count(&server, &token, &account, &other), 0);
}

#[test]
fn folders_moves_and_deletes() {
    let (server, account, token, vmbox) = setup();
    let a = deposit(
        &server,
        &token,
        &account,
        &vmbox,
        "timestamp=63000000003",
        b"a",
    )["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = deposit(
        &server,
        &token,
        &account,
        &vmbox,
        "timestamp=63000000002",
        b"b",
    )["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = deposit(
        &server,
        &token,
        &account,
        &vmbox,
        "timestamp=63000000001",
        b"c",
    )["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = messages(&account, &vmbox);

    // Move a list (folder defaults to saved); an unknown id fails, the rest succeed.
    let answer = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": {"messages": [a, b, UNKNOWN]}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["data"],
        json!({"succeeded": [a, b], "failed": [{UNKNOWN: "not_found"}]})
    );
    let saved = list(&server, &token, &account, &vmbox, "folder=saved");
    assert_eq!(media_ids(&saved), vec![a.clone(), b.clone()]);
    assert!(saved.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["folder"] == "saved"));
    let new = list(&server, &token, &account, &vmbox, "folder=new");
    assert_eq!(media_ids(&new), vec![c.clone()]);
    // Back to new, by the query string.
    let answer = server.call(
        "POST",
        &format!("{path}?folder=new"),
        Some(&token),
        Some(json!({"data": {"messages": [b]}})),
    );
    assert_eq!(answer.body["data"]["succeeded"], json!([b]));
    let new = list(&server, &token, &account, &vmbox, "folder=new");
    assert_eq!(media_ids(&new), vec![b.clone(), c.clone()]);

    // No ids, or a bad folder: 400.
    let answer = server.call("POST", &path, Some(&token), Some(json!({"data": {}})));
    assert_error(&answer, 400, "validation error");
    assert_eq!(
        answer.body["data"]["messages"]["required"]["message"],
        "No array of message ids are specified"
    );
    let answer = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": {"messages": [a], "folder": "trash"}})),
    );
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["folder"]["enum"].is_object());
    let answer = server.call("GET", &format!("{path}?folder=trash"), Some(&token), None);
    assert_error(&answer, 400, "validation error");

    // One message: POST changes folder (default saved) and metadata.
    let item_c = format!("{path}/{c}");
    let answer = server.call(
        "POST",
        &item_c,
        Some(&token),
        Some(json!({"data": {"caller_id_name": "Renamed"}})),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["folder"], "saved");
    assert_eq!(answer.body["data"]["caller_id_name"], "Renamed");
    assert_eq!(answer.body["data"]["timestamp"], 63_000_000_001i64);
    // Moved to deleted with POST: still listed under ?folder=deleted.
    let answer = server.call(
        "POST",
        &item_c,
        Some(&token),
        Some(json!({"data": {"folder": "deleted"}})),
    );
    assert_eq!(answer.body["data"]["folder"], "deleted");
    let deleted = list(&server, &token, &account, &vmbox, "folder=deleted");
    assert_eq!(media_ids(&deleted), vec![c.clone()]);
    // new and saved are counted, not the deleted folder.
    assert_eq!(box_count(&server, &token, &account, &vmbox), 2);

    // DELETE one: soft (folder deleted, then gone), the audio survives in storage.
    let item_a = format!("{path}/{a}");
    let answer = server.call("DELETE", &item_a, Some(&token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["folder"], "deleted");
    assert_eq!(answer.body["data"]["media_id"], a);
    let answer = server.call("GET", &item_a, Some(&token), None);
    assert_error(&answer, 404, "bad_identifier");
    assert_eq!(answer.body["data"]["cause"], a);
    let answer = raw_call(&server, "GET", &format!("{item_a}/raw"), &token, None).json();
    assert_error(&answer, 404, "bad_identifier");
    assert!(!media_ids(&list(&server, &token, &account, &vmbox, "")).contains(&a));
    assert_eq!(box_count(&server, &token, &account, &vmbox), 1);

    // DELETE the collection by folder: only that folder goes.
    let answer = server.call(
        "DELETE",
        &format!("{path}?folder=deleted"),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"], json!({"succeeded": [c], "failed": []}));
    assert_eq!(
        media_ids(&list(&server, &token, &account, &vmbox, "")),
        vec![b.clone()]
    );

    // DELETE a list, hard: unknown ids fail; the message is purged.
    let d = deposit(&server, &token, &account, &vmbox, "", b"d")["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = server.call(
        "DELETE",
        &format!("{path}?hard=true"),
        Some(&token),
        Some(json!({"data": {"messages": [d, UNKNOWN]}})),
    );
    assert_eq!(
        answer.body["data"],
        json!({"succeeded": [d], "failed": [{UNKNOWN: "not_found"}]})
    );
    let answer = server.call("GET", &format!("{path}/{d}"), Some(&token), None);
    assert_error(&answer, 404, "bad_identifier");

    // DELETE one, hard.
    let answer = server.call(
        "DELETE",
        &format!("{path}/{b}?hard=true"),
        Some(&token),
        None,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["media_id"], b);

    // DELETE all of what is left (nothing now, then two new ones).
    deposit(&server, &token, &account, &vmbox, "", b"e");
    deposit(&server, &token, &account, &vmbox, "folder=saved", b"f");
    assert_eq!(box_count(&server, &token, &account, &vmbox), 2);
    let answer = server.call("DELETE", &path, Some(&token), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["data"]["succeeded"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        list(&server, &token, &account, &vmbox, "").body["data"],
        json!([])
    );
    assert_eq!(box_count(&server, &token, &account, &vmbox), 0);
}

#[test]
fn unknown_boxes_and_messages_limits_and_access() {
    let (server, account, token, vmbox) = setup();
    let path = messages(&account, &vmbox);
    let media_id = deposit(&server, &token, &account, &vmbox, "", b"hello")["media_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Unknown box: 404 bad_identifier naming it, on every endpoint.
    let unknown_box = messages(&account, UNKNOWN);
    for (method, target) in [
        ("GET", unknown_box.clone()),
        ("POST", unknown_box.clone()),
        ("DELETE", unknown_box.clone()),
        ("GET", format!("{unknown_box}/{media_id}")),
        ("POST", format!("{unknown_box}/{media_id}")),
        ("DELETE", format!("{unknown_box}/{media_id}")),
    ] {
        let answer = server.call(
            method,
            &target,
            Some(&token),
            Some(json!({"data": {"messages": [media_id]}})),
        );
        assert_error(&answer, 404, "bad_identifier");
        assert_eq!(answer.body["data"]["cause"], UNKNOWN, "{method} {target}");
    }
    let answer = raw_call(
        &server,
        "PUT",
        &unknown_box,
        &token,
        Some(("audio/mpeg", b"x")),
    )
    .json();
    assert_error(&answer, 404, "bad_identifier");
    let answer = raw_call(
        &server,
        "GET",
        &format!("{unknown_box}/{media_id}/raw"),
        &token,
        None,
    )
    .json();
    assert_error(&answer, 404, "bad_identifier");
    // A box id that is another kind of document is not a box either.
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/menus"),
        Some(&token),
        Some(json!({"data": {"name": "Main"}})),
    );
    let menu = id_of(&answer);
    let answer = server.call("GET", &messages(&account, &menu), Some(&token), None);
    assert_error(&answer, 404, "bad_identifier");

    // Unknown message: 404 bad_identifier naming it.
    for method in ["GET", "POST", "DELETE"] {
        let answer = server.call(method, &format!("{path}/{UNKNOWN}"), Some(&token), None);
        assert_error(&answer, 404, "bad_identifier");
        assert_eq!(answer.body["data"]["cause"], UNKNOWN);
    }
    for (method, body) in [("GET", None), ("PUT", Some(("audio/mpeg", &b"x"[..])))] {
        let answer = raw_call(
            &server,
            method,
            &format!("{path}/{UNKNOWN}/raw"),
            &token,
            body,
        )
        .json();
        assert_error(&answer, 404, "bad_identifier");
    }
    // A message of one box is not found under another box.
    let other = create_box(&server, &token, &account, "Other", "3000");
    let answer = server.call(
        "GET",
        &format!("{}/{media_id}", messages(&account, &other)),
        Some(&token),
        None,
    );
    assert_error(&answer, 404, "bad_identifier");

    // Too large: 413 in Kazoo's shape; nothing stored.
    let big = audio(FIVE_MIB + 1, 1);
    let answer = raw_call(&server, "PUT", &path, &token, Some(("audio/mpeg", &big))).json();
    assert_error(&answer, 413, "file.maxSize");
    assert_eq!(answer.body["data"]["max_size"], FIVE_MIB);
    let answer = raw_call(
        &server,
        "PUT",
        &format!("{path}/{media_id}/raw"),
        &token,
        Some(("audio/wav", &big)),
    )
    .json();
    assert_error(&answer, 413, "file.maxSize");
    // Exactly the limit is fine.
    let exact = audio(FIVE_MIB, 2);
    let stored = deposit(&server, &token, &account, &vmbox, "", &exact);
    let raw = raw_call(
        &server,
        "GET",
        &format!("{path}/{}/raw", stored["media_id"].as_str().unwrap()),
        &token,
        None,
    );
    assert_eq!(raw.status, 200);
    assert!(raw.bytes == exact);

    // Not audio: 415; empty audio: 400.
    for content_type in ["text/plain", "application/octet-stream", "image/png"] {
        let answer = raw_call(&server, "PUT", &path, &token, Some((content_type, b"data"))).json();
        assert_error(&answer, 415, "unsupported_media_type");
        assert_eq!(answer.body["data"]["cause"], content_type);
    }
    let answer = raw_call(&server, "PUT", &path, &token, Some(("audio/mpeg", b""))).json();
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["file"]["required"].is_object());
    // Bad metadata: 400.
    let answer = raw_call(
        &server,
        "PUT",
        &format!("{path}?length=long&folder=trash"),
        &token,
        Some(("audio/mpeg", b"x")),
    )
    .json();
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["length"]["type"].is_object());
    assert!(answer.body["data"]["folder"]["enum"].is_object());
    // Only the deposits that succeeded are listed.
    assert_eq!(
        media_ids(&list(&server, &token, &account, &vmbox, "")).len(),
        2
    );

    // Verbs the paths do not serve: 405.
    for (method, target) in [
        ("PATCH", path.clone()),
        ("PUT", format!("{path}/{media_id}")),
        ("POST", format!("{path}/{media_id}/raw")),
    ] {
        let answer = server.call(method, &target, Some(&token), Some(json!({"data": {}})));
        assert_error(&answer, 405, "invalid_method");
    }
    // Moving to another box is not built.
    let answer = server.call(
        "POST",
        &path,
        Some(&token),
        Some(json!({"data": {"messages": [media_id], "source_id": other}})),
    );
    assert_error(&answer, 501, "not_implemented");

    // Another account: 403 on every endpoint; a parent reaches its child's box.
    let sd = server.admin_token();
    let (_, stranger) = server.account_with_admin(&sd, &server.master_id, "Stranger Co");
    let item = format!("{path}/{media_id}");
    for (method, target) in [
        ("GET", path.clone()),
        ("POST", path.clone()),
        ("DELETE", path.clone()),
        ("GET", item.clone()),
        ("POST", item.clone()),
        ("DELETE", item.clone()),
        ("GET", format!("{item}/raw")),
    ] {
        let answer = server.call(
            method,
            &target,
            Some(&stranger),
            Some(json!({"data": {"messages": [media_id]}})),
        );
        assert_error(&answer, 403, "forbidden");
    }
    let answer = raw_call(&server, "PUT", &path, &stranger, Some(("audio/mpeg", b"x"))).json();
    assert_error(&answer, 403, "forbidden");
    let answer = raw_call(&server, "GET", &format!("{item}/raw"), &sd, None);
    assert_eq!(answer.status, 200);
    assert!(answer.bytes == b"hello");
    // Untouched by the stranger.
    let answer = server.call("GET", &item, Some(&token), None);
    assert_eq!(answer.body["data"]["folder"], "new");
}

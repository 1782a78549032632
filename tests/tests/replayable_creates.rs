//! A creation (PUT of a document) that a replica carried out but never answered — it
//! died between its commit and its response — is retried by the gateway on another
//! replica with the same creation id, and that replica answers the document the first
//! attempt created: the client gets its 201, and there is one document, not two.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbar_e2e::{GatewayServer, TestServer};
use serde_json::json;

mod common;
use common::{id_of, ids_of};

/// The creation-id header the gateway sets, when `id` is given.
fn creation_id_header(id: Option<&str>) -> Vec<(&'static str, &str)> {
    id.map(|id| ("x-crossbar-create-id", id))
        .into_iter()
        .collect()
}

/// Reads one HTTP/1.1 request (headers and a `Content-Length` body) from `stream`.
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Some(data);
            }
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// A replica that forwards every request to `real` (one connection each, closed after
/// the answer) and relays the answer — except for writes (PUT, POST, PATCH, DELETE), which it
/// forwards, lets `real` carry out completely, and then drops the connection without a
/// word (a replica that died after its commit). Counts the writes it swallowed.
fn dying_replica(real: &str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let real = real.trim_start_matches("http://").to_string();
    let swallowed = Arc::new(AtomicUsize::new(0));
    let counter = swallowed.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let real = real.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                // One request per connection (closed after), like the upstream's.
                let Some(request) = read_request(&mut client) else {
                    return;
                };
                let text = String::from_utf8_lossy(&request).to_string();
                let (line, rest) = text.split_once("\r\n").unwrap();
                let mut upstream = TcpStream::connect(&real).unwrap();
                let forwarded = format!("{line}\r\nconnection: close\r\n{rest}");
                upstream.write_all(forwarded.as_bytes()).unwrap();
                let mut answer = Vec::new();
                upstream.read_to_end(&mut answer).unwrap();
                if ["PUT ", "POST ", "PATCH ", "DELETE "]
                    .iter()
                    .any(|m| line.starts_with(m))
                {
                    counter.fetch_add(1, Ordering::SeqCst);
                    return; // the connection drops, unanswered
                }
                client.write_all(&answer).unwrap();
            });
        }
    });
    (base, swallowed)
}

#[test]
fn a_create_whose_replica_died_before_answering_is_retried_and_happens_once() {
    crossbar_e2e::skip_in_cluster!("puts its own replicas behind its own gateway");
    let server = TestServer::start();
    let token = server.admin_token();
    let (account, _) = server.account_with_admin(&token, &server.master_id, "Replay Co");
    let (dying, swallowed) = dying_replica(&server.base);
    let gateway = GatewayServer::start(
        BTreeMap::from([("all".to_string(), vec![dying, server.base.clone()])]),
        1 << 20,
    );
    let via = server.via(&gateway.base);

    let mut created = Vec::new();
    for i in 0..6 {
        // A client's own creation id never reaches a replica: the gateway sets its own.
        let answer = via.call_with(
            "PUT",
            &format!("/v2/accounts/{account}/devices"),
            Some(&token),
            Some(json!({"data": {"name": format!("phone {i}")}})),
            &[("x-crossbar-create-id", "0123456789abcdef0123456789abcdef")],
        );
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        assert_eq!(answer.body["data"]["name"], format!("phone {i}"));
        created.push(id_of(&answer));
    }
    // Round-robin sent about half of them to the dying replica first.
    assert!(swallowed.load(Ordering::SeqCst) >= 2, "{swallowed:?}");

    let listing = server.call(
        "GET",
        &format!("/v2/accounts/{account}/devices"),
        Some(&token),
        None,
    );
    assert_eq!(listing.status, 200);
    let mut listed = ids_of(&listing);
    listed.sort();
    created.sort();
    assert_eq!(listed, created, "one device per request, none twice");
    assert!(!created.contains(&"0123456789abcdef0123456789abcdef".to_string()));

    // Sub-accounts the same way (their own store): one account per request.
    let mut children = Vec::new();
    for i in 0..4 {
        let answer = via.call(
            "PUT",
            &format!("/v2/accounts/{account}"),
            Some(&token),
            Some(json!({"data": {"name": format!("Replay Sub {i}")}})),
        );
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        children.push(id_of(&answer));
    }
    let listing = server.call(
        "GET",
        &format!("/v2/accounts/{account}/children"),
        Some(&token),
        None,
    );
    let mut listed = ids_of(&listing);
    listed.sort();
    children.sort();
    assert_eq!(listed, children, "one account per request, none twice");
    // A login sent again just issues another token.
    for _ in 0..2 {
        let login = via.call(
            "PUT",
            "/v2/user_auth",
            None,
            Some(json!({"data": {"credentials": crossbar_e2e::md5_credentials("admin", crossbar_e2e::ADMIN_PASSWORD), "account_name": crossbar_e2e::MASTER_NAME}})),
        );
        assert_eq!(login.status, 201, "{:?}", login.body);
    }
    // Numbers added and activated, and a port request, the same way: each once.
    let swallowed_before = swallowed.load(Ordering::SeqCst);
    let nums = crossbar_e2e::TestNumbers::fresh();
    for line in 0..3 {
        let number = nums.e164(646, line).replace('+', "%2B");
        let numbers = format!("/v2/accounts/{account}/phone_numbers/{number}");
        let added = via.call("PUT", &numbers, Some(&token), None);
        assert_eq!(added.status, 201, "{:?}", added.body);
        let active = via.call("PUT", &format!("{numbers}/activate"), Some(&token), None);
        assert_eq!(active.status, 200, "{:?}", active.body);
    }
    // Releasing numbers the same way: each answered 200, each released once.
    let mut retried = false;
    for line in 0..3 {
        let before = swallowed.load(Ordering::SeqCst);
        let number = nums.e164(646, line).replace('+', "%2B");
        let numbers = format!("/v2/accounts/{account}/phone_numbers/{number}");
        let released = via.call("DELETE", &numbers, Some(&token), None);
        assert_eq!(
            released.status, 200,
            "DELETE {numbers}: {:?}",
            released.body
        );
        assert_eq!(server.call("GET", &numbers, Some(&token), None).status, 404);
        if swallowed.load(Ordering::SeqCst) > before {
            retried = true;
            break;
        }
    }
    assert!(retried, "no number release reached the dying replica");
    let opened = via.call(
        "PUT",
        &format!("/v2/accounts/{account}/port_requests"),
        Some(&token),
        Some(json!({"data": {"name": "Port", "numbers": {(nums.e164(646, 900)): {}}}})),
    );
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let ports = server.call(
        "GET",
        &format!("/v2/accounts/{account}/port_requests"),
        Some(&token),
        None,
    );
    let port_id = opened.body["data"]["id"].as_str().unwrap();
    assert_eq!(
        ports.body.to_string().matches(port_id).count(),
        1,
        "{:?}",
        ports.body
    );
    // Round-robin sent some of these 7 PUTs to the dying replica first.
    assert!(
        swallowed.load(Ordering::SeqCst) >= swallowed_before + 2,
        "{swallowed:?}"
    );

    // Updates (POST replaces, PATCH merges) sent again leave the same document: each
    // kind is sent until one attempt was swallowed by the dying replica (and retried).
    let device = &created[0];
    let device_path = format!("/v2/accounts/{account}/devices/{device}");
    let account_path = format!("/v2/accounts/{account}");
    let updates = [
        ("POST", &device_path, json!({"data": {"name": "desk"}})),
        (
            "PATCH",
            &device_path,
            json!({"data": {"caller_id": {"internal": {"number": "102"}}}}),
        ),
        (
            "PATCH",
            &account_path,
            json!({"data": {"timezone": "Europe/Paris"}}),
        ),
    ];
    for (method, path, body) in updates {
        let mut retried = false;
        for _ in 0..4 {
            let before = swallowed.load(Ordering::SeqCst);
            let answer = via.call(method, path, Some(&token), Some(body.clone()));
            assert_eq!(answer.status, 200, "{method} {path}: {:?}", answer.body);
            if swallowed.load(Ordering::SeqCst) > before {
                retried = true;
                break;
            }
        }
        assert!(retried, "no {method} {path} reached the dying replica");
    }
    let read = server.call("GET", &device_path, Some(&token), None);
    assert_eq!(read.body["data"]["name"], "desk");
    assert_eq!(read.body["data"]["caller_id"]["internal"]["number"], "102");
    let account_read = server.call("GET", &account_path, Some(&token), None);
    assert_eq!(account_read.body["data"]["timezone"], "Europe/Paris");

    // A deletion sent again answers the deletion its first attempt made (not 404).
    let mut retried = false;
    for device in &created[1..] {
        let before = swallowed.load(Ordering::SeqCst);
        let path = format!("/v2/accounts/{account}/devices/{device}");
        let deleted = via.call("DELETE", &path, Some(&token), None);
        assert_eq!(deleted.status, 200, "DELETE {path}: {:?}", deleted.body);
        assert_eq!(deleted.body["data"]["id"], device.as_str());
        assert_eq!(server.call("GET", &path, Some(&token), None).status, 404);
        if swallowed.load(Ordering::SeqCst) > before {
            retried = true;
            break;
        }
    }
    assert!(retried, "no DELETE reached the dying replica");
}

#[test]
fn the_same_creation_id_creates_once_and_answers_the_same_document() {
    crossbar_e2e::skip_in_cluster!("sends the creation id itself, which a gateway replaces");
    let server = TestServer::start();
    let token = server.admin_token();
    let (account, _) = server.account_with_admin(&token, &server.master_id, "Replay Twice Co");
    let create_id = "00112233445566778899aabbccddeeff";
    let put = |name: &str, id: &str| {
        server.call_with(
            "PUT",
            &format!("/v2/accounts/{account}/devices"),
            Some(&token),
            Some(json!({"data": {"name": name}})),
            &[("x-crossbar-create-id", id)],
        )
    };
    let first = put("desk", create_id);
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["data"]["id"], create_id);
    let again = put("desk", create_id);
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.body["data"], first.body["data"]);
    let listing = server.call(
        "GET",
        &format!("/v2/accounts/{account}/devices"),
        Some(&token),
        None,
    );
    assert_eq!(listing.body["data"].as_array().unwrap().len(), 1);
    // A deletion with one request id twice: the second answers the first's deletion;
    // with another id (or none) a deleted document is 404, as in Kazoo.
    let delete = |id: Option<&str>| {
        let headers = creation_id_header(id);
        server.call_with(
            "DELETE",
            &format!("/v2/accounts/{account}/devices/{create_id}"),
            Some(&token),
            None,
            &headers,
        )
    };
    let delete_id = "abababababababababababababababab";
    let deleted = delete(Some(delete_id));
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let deleted_again = delete(Some(delete_id));
    assert_eq!(deleted_again.status, 200, "{:?}", deleted_again.body);
    assert_eq!(deleted_again.body["data"], deleted.body["data"]);
    assert_eq!(delete(Some("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd")).status, 404);
    assert_eq!(delete(None).status, 404);

    // The id of a document of another kind is no replay: 409 as for any taken id.
    let user = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/users"),
        Some(&token),
        Some(json!({"data": {"first_name": "Ann", "last_name": "Other"}})),
    );
    let user_id = id_of(&user);
    let clash = put("other", &user_id);
    assert_eq!(clash.status, 409, "{:?}", clash.body);
    // An id in the body is the client's own choice: taken means 409, as in Kazoo.
    let explicit = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/devices"),
        Some(&token),
        Some(json!({"data": {"name": "desk", "id": create_id}})),
    );
    assert_eq!(explicit.status, 409, "{:?}", explicit.body);
    // A sub-account with the same creation id twice: one account.
    let sub_id = "ffeeddccbbaa99887766554433221100";
    let sub = |name: &str| {
        server.call_with(
            "PUT",
            &format!("/v2/accounts/{account}"),
            Some(&token),
            Some(json!({"data": {"name": name}})),
            &[("x-crossbar-create-id", sub_id)],
        )
    };
    let first_sub = sub("Replay Twice Sub");
    assert_eq!(first_sub.status, 201, "{:?}", first_sub.body);
    assert_eq!(first_sub.body["data"]["id"], sub_id);
    let again_sub = sub("Replay Twice Sub");
    assert_eq!(again_sub.status, 201, "{:?}", again_sub.body);
    assert_eq!(again_sub.body["data"]["id"], sub_id);
    let children = server.call(
        "GET",
        &format!("/v2/accounts/{account}/children"),
        Some(&token),
        None,
    );
    assert_eq!(children.body["data"].as_array().unwrap().len(), 1);
    // Under another parent the same id is no replay: 409.
    let elsewhere = server.call_with(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        Some(json!({"data": {"name": "Replay Elsewhere"}})),
        &[("x-crossbar-create-id", sub_id)],
    );
    assert_eq!(elsewhere.status, 409, "{:?}", elsewhere.body);

    // Garbage in the header is ignored (a fresh id).
    let garbage = put("hall", "not-an-id");
    assert_eq!(garbage.status, 201);
    assert_ne!(garbage.body["data"]["id"], "not-an-id");
}

#[test]
fn number_actions_and_port_requests_sent_again_answer_their_first_attempt() {
    crossbar_e2e::skip_in_cluster!("sends the creation id itself, which a gateway replaces");
    let server = TestServer::start();
    let admin = server.admin_token();
    let (account, token) = server.account_with_admin(&admin, &server.master_id, "Replay Numbers");
    let (other, other_token) =
        server.account_with_admin(&admin, &server.master_id, "Replay Numbers Other");
    let nums = crossbar_e2e::TestNumbers::fresh();
    let number = nums.e164(312, 100);
    let path = |account: &str, rest: &str| {
        format!(
            "/v2/accounts/{account}/phone_numbers/{}{rest}",
            number.replace('+', "%2B")
        )
    };
    let put = |path: &str, token: &str, id: Option<&str>| {
        let headers = creation_id_header(id);
        server.call_with("PUT", path, Some(token), None, &headers)
    };
    let add_id = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";

    // Adding a number (the operator's superduper admin, outside the inventory).
    let first = put(&path(&account, ""), &admin, Some(add_id));
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = put(&path(&account, ""), &admin, Some(add_id));
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.body["data"], first.body["data"]);
    // Another request (another id, or none) for the held number is refused as before.
    let another = put(
        &path(&account, ""),
        &admin,
        Some("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
    );
    let plain = put(&path(&account, ""), &admin, None);
    assert!(another.status >= 400, "{:?}", another.body);
    assert_eq!(
        (another.status, &another.body["data"]),
        (plain.status, &plain.body["data"])
    );
    // The same id in another account is no replay of this account's request.
    let elsewhere = put(&path(&other, ""), &other_token, Some(add_id));
    assert!(elsewhere.status >= 400, "{:?}", elsewhere.body);
    assert_ne!(elsewhere.body["data"], first.body["data"]);

    // Reserving a reserved number is refused (no change required) unless it is the
    // same request again: here the reservation came with the add.
    let reserve = put(
        &path(&account, "/reserve"),
        &token,
        Some("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"),
    );
    assert!(reserve.status >= 400, "{:?}", reserve.body);
    let activate_id = "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d";
    let active = put(&path(&account, "/activate"), &token, Some(activate_id));
    assert_eq!(active.status, 200, "{:?}", active.body);
    assert_eq!(active.body["data"]["_read_only"]["state"], "in_service");
    let active_again = put(&path(&account, "/activate"), &token, Some(activate_id));
    assert_eq!(active_again.status, 200, "{:?}", active_again.body);
    assert_eq!(active_again.body["data"], active.body["data"]);
    // Releasing it twice with one id: the second answers the first's release; another
    // id (or none) finds no number of the account (404 as before).
    let release = |id: Option<&str>| {
        let headers = creation_id_header(id);
        server.call_with("DELETE", &path(&account, ""), Some(&token), None, &headers)
    };
    let release_id = "1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a";
    let released = release(Some(release_id));
    assert_eq!(released.status, 200, "{:?}", released.body);
    let released_again = release(Some(release_id));
    assert_eq!(released_again.status, 200, "{:?}", released_again.body);
    assert_eq!(released_again.body["data"], released.body["data"]);
    assert_eq!(
        release(Some("1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b")).status,
        404
    );
    assert_eq!(release(None).status, 404);

    // A port request opened twice with one creation id: one request, the same answer.
    let port_id = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e";
    let ported = nums.e164(312, 200);
    let open = |id: Option<&str>| {
        let headers = creation_id_header(id);
        server.call_with(
            "PUT",
            &format!("/v2/accounts/{account}/port_requests"),
            Some(&token),
            Some(json!({"data": {"name": "Port", "numbers": {(ported.clone()): {}}}})),
            &headers,
        )
    };
    let opened = open(Some(port_id));
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    assert_eq!(opened.body["data"]["id"], port_id);
    let reopened = open(Some(port_id));
    assert_eq!(reopened.status, 201, "{:?}", reopened.body);
    assert_eq!(reopened.body["data"]["id"], port_id);
    assert_eq!(
        reopened.body["data"]["numbers"],
        opened.body["data"]["numbers"]
    );
    // Another request for the same number is refused: the number is in a request.
    let second = open(Some("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"));
    assert!(second.status >= 400, "{:?}", second.body);
    let listing = server.call(
        "GET",
        &format!("/v2/accounts/{account}/port_requests"),
        Some(&token),
        None,
    );
    assert_eq!(listing.status, 200, "{:?}", listing.body);
    let listed = listing.body.to_string().matches(port_id).count();
    assert_eq!(listed, 1, "{:?}", listing.body);
}

//! Listings: keyset pagination, order, paginate=false, page_size errors and the
//! created_from / created_to filters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{create_device, ids_of, now_gregorian};
use crossbar_e2e::{assert_error, Answer, TestServer};
use serde_json::json;

fn setup() -> (TestServer, String, String) {
    let server = TestServer::start();
    let sd = server.admin_token();
    let (account, token) = server.account_with_admin(&sd, &server.master_id, "Listing Co");
    (server, account, token)
}

fn get(server: &TestServer, token: &str, path: &str) -> Answer {
    let answer = server.call("GET", path, Some(token), None);
    assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
    assert_eq!(answer.body["status"], "success");
    answer
}

/// Follows `next_start_key` from `first_query`; returns every page.
fn all_pages(server: &TestServer, token: &str, base: &str, first_query: &str) -> Vec<Answer> {
    let mut pages = Vec::new();
    let mut query = first_query.to_string();
    loop {
        let answer = get(server, token, &format!("{base}?{query}"));
        let next = answer
            .body
            .get("next_start_key")
            .and_then(|k| k.as_str())
            .map(str::to_string);
        pages.push(answer);
        match next {
            Some(key) => query = format!("{first_query}&start_key={key}"),
            None => break,
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
    pages
}

/// Seven devices named dev-0 .. dev-6, created in a shuffled order.
fn seven_devices(server: &TestServer, token: &str, account: &str) -> Vec<String> {
    let mut ids = vec![String::new(); 7];
    for n in [3, 0, 6, 1, 5, 2, 4] {
        ids[n] = create_device(server, token, account, json!({"name": format!("Dev-{n}")}));
    }
    ids
}

#[test]
fn pages_of_three() {
    let (server, account, token) = setup();
    let devices = seven_devices(&server, &token, &account);
    let base = format!("/v2/accounts/{account}/devices");

    let pages = all_pages(&server, &token, &base, "page_size=3");
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    for (page, size) in pages.iter().zip(&sizes) {
        assert_eq!(page.body["page_size"], *size as u64, "{:?}", page.body);
    }
    assert!(pages[0].body["next_start_key"].is_string());
    assert!(pages[1].body["next_start_key"].is_string());
    assert!(
        pages[2].body.get("next_start_key").is_none(),
        "{:?}",
        pages[2].body
    );
    // Each page reports the key it started at.
    assert_eq!(pages[1].body["start_key"], pages[0].body["next_start_key"]);
    assert_eq!(pages[2].body["start_key"], pages[1].body["next_start_key"]);

    // Every id exactly once, descending by name by default.
    let seen: Vec<String> = pages.iter().flat_map(ids_of).collect();
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    let descending: Vec<String> = devices.iter().rev().cloned().collect();
    assert_eq!(seen, descending);

    // ascending=true (or descending=false) reverses, with the same paging.
    for flag in ["ascending=true", "descending=false"] {
        let pages = all_pages(&server, &token, &base, &format!("page_size=3&{flag}"));
        let sizes: Vec<usize> = pages
            .iter()
            .map(|p| p.body["data"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![3, 3, 1], "{flag}");
        let seen: Vec<String> = pages.iter().flat_map(ids_of).collect();
        assert_eq!(seen, devices, "{flag}");
    }

    // A page size that fits exactly: no next key on the last page, no empty page.
    let pages = all_pages(&server, &token, &base, "page_size=7");
    assert_eq!(pages.len(), 1);
    assert_eq!(ids_of(&pages[0]).len(), 7);
    assert!(pages[0].body.get("next_start_key").is_none());
    // Without page_size: the default (50) holds all of them.
    let answer = get(&server, &token, &base);
    assert_eq!(ids_of(&answer), descending);
    assert_eq!(answer.body["page_size"], 7);
    assert!(answer.body.get("next_start_key").is_none());
}

#[test]
fn pages_are_stable_while_writing() {
    let (server, account, token) = setup();
    let devices = seven_devices(&server, &token, &account);
    let base = format!("/v2/accounts/{account}/devices");
    let first = get(&server, &token, &format!("{base}?page_size=3"));
    assert_eq!(
        ids_of(&first),
        vec![devices[6].clone(), devices[5].clone(), devices[4].clone()]
    );
    let key = first.body["next_start_key"].as_str().unwrap().to_string();
    // dev-3 (the first row of the next page) is deleted, and a row is added before the key.
    server.call(
        "DELETE",
        &format!("{base}/{}", devices[3]),
        Some(&token),
        None,
    );
    create_device(&server, &token, &account, json!({"name": "Dev-9"}));
    let second = get(
        &server,
        &token,
        &format!("{base}?page_size=3&start_key={key}"),
    );
    assert_eq!(
        ids_of(&second),
        vec![devices[2].clone(), devices[1].clone(), devices[0].clone()]
    );
    assert!(second.body.get("next_start_key").is_none());
}

#[test]
fn unpaginated_and_invalid_requests() {
    let (server, account, token) = setup();
    let devices = seven_devices(&server, &token, &account);
    let base = format!("/v2/accounts/{account}/devices");

    let answer = get(&server, &token, &format!("{base}?paginate=false"));
    let ids = ids_of(&answer);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>(),
        devices.iter().collect::<HashSet<_>>()
    );
    for key in ["page_size", "start_key", "next_start_key"] {
        assert!(answer.body.get(key).is_none(), "{key} in {:?}", answer.body);
    }
    // paginate=false wins over page_size.
    let answer = get(
        &server,
        &token,
        &format!("{base}?paginate=false&page_size=2"),
    );
    assert_eq!(ids_of(&answer).len(), 7);
    assert!(answer.body.get("next_start_key").is_none());

    for bad in ["abc", "0", "-1", "1.5", ""] {
        let answer = server.call(
            "GET",
            &format!("{base}?page_size={bad}"),
            Some(&token),
            None,
        );
        assert_error(&answer, 400, "validation error");
        assert!(
            answer.body["data"]["page_size"].is_object(),
            "{bad}: {:?}",
            answer.body
        );
    }
    // A start key we never issued is used as a raw sort key (descending: at or below it).
    let answer = get(&server, &token, &format!("{base}?start_key=dev-2"));
    assert_eq!(
        ids_of(&answer),
        vec![devices[2].clone(), devices[1].clone(), devices[0].clone()]
    );

    // Users and account children page the same way.
    let answer = get(
        &server,
        &token,
        &format!("/v2/accounts/{account}/users?page_size=1"),
    );
    assert_eq!(ids_of(&answer).len(), 1);
    assert!(
        answer.body.get("next_start_key").is_none(),
        "only the admin exists: {:?}",
        answer.body
    );
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{account}/children?page_size=x"),
        Some(&token),
        None,
    );
    assert_error(&answer, 400, "validation error");
}

#[test]
fn created_from_and_to() {
    let (server, account, token) = setup();
    let base = format!("/v2/accounts/{account}/devices");
    let early: Vec<String> = (0..2)
        .map(|n| {
            create_device(
                &server,
                &token,
                &account,
                json!({"name": format!("early-{n}")}),
            )
        })
        .collect();
    let boundary = now_gregorian();
    // Wait until the clock has moved past `boundary`, so that later docs are strictly newer.
    while now_gregorian() <= boundary {
        std::thread::sleep(Duration::from_millis(100));
    }
    let late: Vec<String> = (0..3)
        .map(|n| {
            create_device(
                &server,
                &token,
                &account,
                json!({"name": format!("late-{n}")}),
            )
        })
        .collect();
    let set = |answer: &Answer| ids_of(answer).into_iter().collect::<HashSet<_>>();
    let expect = |ids: &[String]| ids.iter().cloned().collect::<HashSet<_>>();

    let answer = get(
        &server,
        &token,
        &format!("{base}?created_from={}", boundary + 1),
    );
    assert_eq!(set(&answer), expect(&late));
    let answer = get(&server, &token, &format!("{base}?created_to={boundary}"));
    assert_eq!(set(&answer), expect(&early));
    let answer = get(
        &server,
        &token,
        &format!(
            "{base}?created_from={}&created_to={}",
            boundary - 3600,
            boundary + 3600
        ),
    );
    assert_eq!(set(&answer).len(), 5);
    let answer = get(
        &server,
        &token,
        &format!("{base}?created_from={}", boundary + 3600),
    );
    assert_eq!(answer.body["data"], json!([]));
    assert!(answer.body.get("next_start_key").is_none());
    let answer = get(
        &server,
        &token,
        &format!("{base}?created_to={}", boundary - 3600),
    );
    assert_eq!(answer.body["data"], json!([]));
    // Filters apply before paging: full pages of the matching rows only.
    let pages = all_pages(
        &server,
        &token,
        &base,
        &format!("page_size=2&created_from={}", boundary + 1),
    );
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![2, 1]);
    let seen: HashSet<String> = pages.iter().flat_map(ids_of).collect();
    assert_eq!(seen, expect(&late));

    let answer = server.call(
        "GET",
        &format!("{base}?created_from=yesterday"),
        Some(&token),
        None,
    );
    assert_error(&answer, 400, "validation error");
}

#[test]
fn equal_sort_keys_page_without_loss() {
    let (server, account, token) = setup();
    let base = format!("/v2/accounts/{account}/devices");
    let mut ids: Vec<String> = (0..5)
        .map(|_| create_device(&server, &token, &account, json!({"name": "Same Name"})))
        .collect();
    ids.push(create_device(
        &server,
        &token,
        &account,
        json!({"name": "same name"}),
    ));
    for flag in ["", "&ascending=true"] {
        let pages = all_pages(&server, &token, &base, &format!("page_size=2{flag}"));
        let sizes: Vec<usize> = pages
            .iter()
            .map(|p| p.body["data"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![2, 2, 2], "{flag}");
        let seen: Vec<String> = pages.iter().flat_map(ids_of).collect();
        assert_eq!(
            seen.iter().collect::<HashSet<_>>(),
            ids.iter().collect::<HashSet<_>>(),
            "{flag}"
        );
    }
    let down: Vec<String> = all_pages(&server, &token, &base, "page_size=4")
        .iter()
        .flat_map(ids_of)
        .collect();
    let mut up: Vec<String> = all_pages(&server, &token, &base, "page_size=4&ascending=true")
        .iter()
        .flat_map(ids_of)
        .collect();
    up.reverse();
    assert_eq!(down, up);
}

#[test]
fn filters_compare_as_strings_and_combine_with_paging() {
    let (server, account, token) = setup();
    let base = format!("/v2/accounts/{account}/devices");
    let mut short = Vec::new();
    for n in 0..5 {
        let expire = if n % 2 == 0 { 300 } else { 600 };
        short.push((
            expire,
            create_device(
                &server,
                &token,
                &account,
                json!({"name": format!("d{n}"), "sip": {"expire_seconds": expire}}),
            ),
        ));
    }
    let expected: HashSet<String> = short
        .iter()
        .filter(|(e, _)| *e == 300)
        .map(|(_, id)| id.clone())
        .collect();
    let pages = all_pages(
        &server,
        &token,
        &base,
        "page_size=2&filter_sip.expire_seconds=300",
    );
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![2, 1]);
    assert_eq!(
        pages.iter().flat_map(ids_of).collect::<HashSet<_>>(),
        expected
    );
    let answer = get(
        &server,
        &token,
        &format!("{base}?filter_not_sip.expire_seconds=300"),
    );
    assert_eq!(ids_of(&answer).len(), 2);
    let answer = get(
        &server,
        &token,
        &format!("{base}?filter_sip.expire_seconds=[300,600]"),
    );
    assert_eq!(ids_of(&answer).len(), 5);
    // A filter on the users listing, on a default value.
    let answer = get(
        &server,
        &token,
        &format!("/v2/accounts/{account}/users?filter_priv_level=admin"),
    );
    assert_eq!(ids_of(&answer).len(), 1);
    let answer = get(
        &server,
        &token,
        &format!("/v2/accounts/{account}/users?filter_priv_level=user"),
    );
    assert_eq!(ids_of(&answer).len(), 0);
}

#[test]
fn account_children_page_too() {
    let server = TestServer::start();
    let sd = server.admin_token();
    // A parent of this test's own under the master: its children are this test's.
    let parent = common::create_account(&server, &sd, &server.master_id, "Paging Parent");
    let names = ["Charlie Co", "alpha co", "Echo Co", "Bravo Co", "delta co"];
    let mut ids = Vec::new();
    for name in names {
        ids.push(common::create_account(&server, &sd, &parent, name));
    }
    let base = format!("/v2/accounts/{parent}/children");
    let pages = all_pages(&server, &sd, &base, "page_size=2");
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let seen: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        seen,
        ["alpha co", "Bravo Co", "Charlie Co", "delta co", "Echo Co"]
    );
    let pages = all_pages(
        &server,
        &sd,
        &format!("/v2/accounts/{parent}/descendants"),
        "page_size=3",
    );
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![3, 2]);
    assert_eq!(
        pages.iter().flat_map(ids_of).collect::<HashSet<_>>(),
        ids.iter().cloned().collect::<HashSet<_>>()
    );
    let answer = get(&server, &sd, &format!("{base}?paginate=false"));
    assert_eq!(ids_of(&answer).len(), 5);
    assert!(answer.body.get("page_size").is_none());
}

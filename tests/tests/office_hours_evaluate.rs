//! Office hours evaluation over HTTP: `/temporal_rules/{R}/evaluate`,
//! `/temporal_rules_sets/{S}/evaluate` and `/temporal_rules/{R}/occurrences` (JSON and
//! iCalendar), in the account's time zone, across daylight-saving changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{id_of, GREGORIAN_OFFSET};
use crossbar_e2e::{assert_error, Answer, TestServer};
use serde_json::{json, Value};

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";
const RULE_NAME: &str = "Office hours, weekdays";

/// A server, a superduper token and an account in America/New_York.
fn setup() -> (TestServer, String, String) {
    let server = TestServer::start();
    let sd = server.admin_token();
    let account = account_in(&server, &sd, "Eastern Office", "America/New_York");
    (server, sd, account)
}

fn account_in(server: &TestServer, token: &str, name: &str, timezone: &str) -> String {
    let created = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(token),
        Some(json!({"data": {"name": name, "timezone": timezone}})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    id_of(&created)
}

fn create(
    server: &TestServer,
    token: &str,
    account: &str,
    collection: &str,
    data: Value,
) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/{collection}"),
        Some(token),
        Some(json!({ "data": data })),
    );
    assert_eq!(answer.status, 201, "{collection}: {:?}", answer.body);
    id_of(&answer)
}

/// Weekly rule on `wdays` from `start` to `stop` seconds after local midnight.
fn weekly(
    server: &TestServer,
    token: &str,
    account: &str,
    name: &str,
    wdays: &[&str],
    start: u32,
    stop: u32,
) -> String {
    create(
        server,
        token,
        account,
        "temporal_rules",
        json!({"name": name, "cycle": "weekly", "wdays": wdays,
               "time_window_start": start, "time_window_stop": stop}),
    )
}

const WEEKDAYS: [&str; 5] = ["monday", "tuesday", "wednesday", "thursday", "friday"];

fn get(server: &TestServer, token: &str, path: &str) -> Answer {
    server.call("GET", path, Some(token), None)
}

fn evaluate(server: &TestServer, token: &str, account: &str, what: &str, at: &str) -> Value {
    let answer = get(
        server,
        token,
        &format!("/v2/accounts/{account}/{what}/evaluate?at={at}"),
    );
    assert_eq!(answer.status, 200, "{what} at {at}: {:?}", answer.body);
    answer.body["data"].clone()
}

fn gregorian(rfc3339: &str) -> i64 {
    // Days from civil (Howard Hinnant), enough for the fixed instants used here.
    let (date, time) = rfc3339.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    let (y, m, day) = (d[0], d[1], d[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2] + GREGORIAN_OFFSET
}

#[test]
fn a_weekday_rule_opens_and_closes_on_local_time_across_dst() {
    let (server, sd, account) = setup();
    let rule = weekly(&server, &sd, &account, RULE_NAME, &WEEKDAYS, 32_400, 61_200);
    let what = format!("temporal_rules/{rule}");

    // (instant, active, next change): Friday 6 March 2026 is EST (-05:00), Monday 9
    // March EDT (-04:00); Friday 30 October EDT, Monday 2 November EST.
    let cases = [
        ("2026-03-06T13:59:59Z", false, "2026-03-06T14:00:00Z"),
        ("2026-03-06T14:00:00Z", true, "2026-03-06T22:00:01Z"),
        ("2026-03-06T21:59:59Z", true, "2026-03-06T22:00:01Z"),
        ("2026-03-06T22:00:00Z", true, "2026-03-06T22:00:01Z"),
        ("2026-03-06T22:00:01Z", false, "2026-03-09T13:00:00Z"),
        ("2026-03-07T15:00:00Z", false, "2026-03-09T13:00:00Z"),
        ("2026-03-09T12:59:59Z", false, "2026-03-09T13:00:00Z"),
        ("2026-03-09T13:00:00Z", true, "2026-03-09T21:00:01Z"),
        ("2026-03-09T21:00:01Z", false, "2026-03-10T13:00:00Z"),
        ("2026-10-30T20:59:59Z", true, "2026-10-30T21:00:01Z"),
        ("2026-10-30T21:30:00Z", false, "2026-11-02T14:00:00Z"),
        ("2026-11-02T13:30:00Z", false, "2026-11-02T14:00:00Z"),
        ("2026-11-02T14:00:00Z", true, "2026-11-02T22:00:01Z"),
    ];
    for (at, active, next) in cases {
        let data = evaluate(&server, &sd, &account, &what, at);
        assert_eq!(data["active"], active, "at {at}: {data}");
        assert_eq!(data["next_change"], next, "at {at}: {data}");
        assert_eq!(data["next_change_gregorian"], gregorian(next), "at {at}");
        assert_eq!(data["timezone"], "America/New_York");
        assert_eq!(data["at"], at);
        assert_eq!(data["id"], rule.as_str());
        let matched = if active { json!([rule]) } else { json!([]) };
        assert_eq!(data["matched_rule_ids"], matched, "at {at}");
    }

    // Local offsets in the answer, and `at` as Gregorian seconds or with an offset.
    let data = evaluate(&server, &sd, &account, &what, "2026-03-09T09:00:00-04:00");
    assert_eq!(data["active"], true);
    assert_eq!(data["at"], "2026-03-09T13:00:00Z");
    assert_eq!(data["at_local"], "2026-03-09T09:00:00-04:00");
    assert_eq!(data["next_change_local"], "2026-03-09T17:00:01-04:00");
    let g = gregorian("2026-03-09T12:59:59Z");
    let data = evaluate(&server, &sd, &account, &what, &g.to_string());
    assert_eq!(data["active"], false);
    assert_eq!(data["at"], "2026-03-09T12:59:59Z");
    assert_eq!(data["at_gregorian"], g);

    // Default `at`: now.
    let data = evaluate(&server, &sd, &account, &what, "");
    assert!(data["at"].as_str().unwrap().ends_with('Z'));
    assert!(data["active"].is_boolean());

    // Bad `at`.
    for bad in ["tomorrow", "2026-13-01T00:00:00Z", "-1"] {
        let answer = get(
            &server,
            &sd,
            &format!("/v2/accounts/{account}/{what}/evaluate?at={bad}"),
        );
        assert_error(&answer, 400, "validation error");
        assert!(answer.body["data"]["at"].is_object(), "{:?}", answer.body);
    }

    // Unknown rule; a rule of another account; a set id used as a rule.
    let answer = get(
        &server,
        &sd,
        &format!("/v2/accounts/{account}/temporal_rules/{UNKNOWN}/evaluate"),
    );
    assert_error(&answer, 404, "bad_identifier");
    let other = account_in(&server, &sd, "Western Office", "America/Los_Angeles");
    let answer = get(
        &server,
        &sd,
        &format!("/v2/accounts/{other}/temporal_rules/{rule}/evaluate"),
    );
    assert_error(&answer, 404, "bad_identifier");

    // Another account's admin may not evaluate this account's rules.
    let (_, stranger) = server.account_with_admin(&sd, &server.master_id, "Stranger Co");
    for path in [
        format!("/v2/accounts/{account}/{what}/evaluate"),
        format!("/v2/accounts/{account}/{what}/occurrences"),
        format!("/v2/accounts/{account}/temporal_rules_sets/{UNKNOWN}/evaluate"),
    ] {
        assert_error(&get(&server, &stranger, &path), 403, "forbidden");
    }
    // No token.
    let answer = server.call(
        "GET",
        &format!("/v2/accounts/{account}/{what}/evaluate"),
        None,
        None,
    );
    assert_eq!(answer.status, 401, "{:?}", answer.body);

    // Only GET.
    let answer = server.call(
        "POST",
        &format!("/v2/accounts/{account}/{what}/evaluate"),
        Some(&sd),
        Some(json!({"data": {}})),
    );
    assert_eq!(answer.status, 405, "{:?}", answer.body);
}

#[test]
fn sets_match_any_member_in_order_and_report_missing_members() {
    let (server, sd, account) = setup();
    let open = weekly(&server, &sd, &account, "Open", &WEEKDAYS, 32_400, 61_200);
    let lunch = weekly(&server, &sd, &account, "Lunch", &WEEKDAYS, 43_200, 46_800);
    let saturday = weekly(
        &server,
        &sd,
        &account,
        "Saturday",
        &["saturday"],
        36_000,
        50_400,
    );
    let gone = weekly(&server, &sd, &account, "Gone", &["sunday"], 0, 86_400);
    let set = create(
        &server,
        &sd,
        &account,
        "temporal_rules_sets",
        json!({"name": "Office", "temporal_rules": [open, lunch, saturday, gone]}),
    );
    let what = format!("temporal_rules_sets/{set}");

    // Friday 6 March 2026 (EST): 10:00, 12:30, 18:00; Saturday 11:00.
    let data = evaluate(&server, &sd, &account, &what, "2026-03-06T15:00:00Z");
    assert_eq!(data["active"], true);
    assert_eq!(data["matched_rule_ids"], json!([open]));
    // Lunch opening inside `open` is no change of the set.
    assert_eq!(data["next_change"], "2026-03-06T22:00:01Z");
    assert_eq!(data["missing_rule_ids"], json!([]));

    let data = evaluate(&server, &sd, &account, &what, "2026-03-06T17:30:00Z");
    assert_eq!(data["matched_rule_ids"], json!([open, lunch]));

    let data = evaluate(&server, &sd, &account, &what, "2026-03-06T23:00:00Z");
    assert_eq!(data["active"], false);
    assert_eq!(data["matched_rule_ids"], json!([]));
    assert_eq!(data["next_change"], "2026-03-07T15:00:00Z");

    let data = evaluate(&server, &sd, &account, &what, "2026-03-07T16:00:00Z");
    assert_eq!(data["matched_rule_ids"], json!([saturday]));
    assert_eq!(data["next_change"], "2026-03-07T19:00:01Z");
    assert_eq!(data["timezone"], "America/New_York");

    // A member deleted after the set was saved is skipped and reported.
    let deleted = server.call(
        "DELETE",
        &format!("/v2/accounts/{account}/temporal_rules/{gone}"),
        Some(&sd),
        None,
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let data = evaluate(&server, &sd, &account, &what, "2026-03-08T12:00:00Z");
    assert_eq!(data["active"], false);
    assert_eq!(data["missing_rule_ids"], json!([gone]));
    assert_eq!(data["next_change"], "2026-03-09T13:00:00Z");

    let answer = get(
        &server,
        &sd,
        &format!("/v2/accounts/{account}/temporal_rules_sets/{UNKNOWN}/evaluate"),
    );
    assert_error(&answer, 404, "bad_identifier");
    // A rule id is not a set.
    let answer = get(
        &server,
        &sd,
        &format!("/v2/accounts/{account}/temporal_rules_sets/{open}/evaluate"),
    );
    assert_error(&answer, 404, "bad_identifier");

    // An account whose zone is not an IANA name evaluates in Kazoo's default.
    let odd = account_in(&server, &sd, "Odd Zone", "Mars/Olympus_Mons");
    let rule = weekly(&server, &sd, &odd, "Open", &WEEKDAYS, 32_400, 61_200);
    let data = evaluate(
        &server,
        &sd,
        &odd,
        &format!("temporal_rules/{rule}"),
        "2026-03-06T17:00:00Z",
    );
    assert_eq!(data["timezone"], "America/Los_Angeles");
    assert_eq!(data["active"], true);
    assert_eq!(data["next_change"], "2026-03-07T01:00:01Z");
}

#[test]
fn occurrences_in_json_and_as_an_icalendar_feed() {
    let (server, sd, account) = setup();
    let rule = weekly(&server, &sd, &account, RULE_NAME, &WEEKDAYS, 32_400, 61_200);
    let base = format!("/v2/accounts/{account}/temporal_rules/{rule}/occurrences");

    // From Thursday 5 March 2026 00:00 UTC (Wednesday evening in New York).
    let answer = get(
        &server,
        &sd,
        &format!("{base}?from=2026-03-05T00:00:00Z&count=3"),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["data"],
        json!([
            {"start": "2026-03-05T14:00:00Z", "end": "2026-03-05T22:00:01Z",
             "start_local": "2026-03-05T09:00:00-05:00", "end_local": "2026-03-05T17:00:01-05:00",
             "start_gregorian": gregorian("2026-03-05T14:00:00Z"),
             "end_gregorian": gregorian("2026-03-05T22:00:01Z")},
            {"start": "2026-03-06T14:00:00Z", "end": "2026-03-06T22:00:01Z",
             "start_local": "2026-03-06T09:00:00-05:00", "end_local": "2026-03-06T17:00:01-05:00",
             "start_gregorian": gregorian("2026-03-06T14:00:00Z"),
             "end_gregorian": gregorian("2026-03-06T22:00:01Z")},
            {"start": "2026-03-09T13:00:00Z", "end": "2026-03-09T21:00:01Z",
             "start_local": "2026-03-09T09:00:00-04:00", "end_local": "2026-03-09T17:00:01-04:00",
             "start_gregorian": gregorian("2026-03-09T13:00:00Z"),
             "end_gregorian": gregorian("2026-03-09T21:00:01Z")},
        ])
    );

    // Default count 10; the maximum 500; `from` in Gregorian seconds.
    let from = gregorian("2026-03-05T00:00:00Z");
    let answer = get(&server, &sd, &format!("{base}?from={from}"));
    assert_eq!(answer.body["data"].as_array().unwrap().len(), 10);
    assert_eq!(answer.body["data"][0]["start"], "2026-03-05T14:00:00Z");
    let answer = get(&server, &sd, &format!("{base}?count=500"));
    assert_eq!(answer.body["data"].as_array().unwrap().len(), 500);

    for bad in ["count=501", "count=0", "count=ten"] {
        let answer = get(&server, &sd, &format!("{base}?{bad}"));
        assert_error(&answer, 400, "validation error");
        assert!(
            answer.body["data"]["count"].is_object(),
            "{:?}",
            answer.body
        );
    }
    let answer = get(&server, &sd, &format!("{base}?from=yesterday"));
    assert_error(&answer, 400, "validation error");
    assert!(answer.body["data"]["from"].is_object(), "{:?}", answer.body);
    let answer = get(
        &server,
        &sd,
        &format!("/v2/accounts/{account}/temporal_rules/{UNKNOWN}/occurrences"),
    );
    assert_error(&answer, 404, "bad_identifier");

    // iCalendar, by header and by query.
    let query = "from=2026-03-05T00:00:00Z&count=5";
    let by_header = server.call_with(
        "GET",
        &format!("{base}?{query}"),
        Some(&sd),
        None,
        &[("Accept", "text/calendar")],
    );
    let by_query = get(&server, &sd, &format!("{base}?{query}&accept=ical"));
    for answer in [&by_header, &by_query] {
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-type"),
            Some("text/calendar; charset=utf-8")
        );
        assert!(answer.header("x-request-id").is_some());
        let ics = answer.body.as_str().expect("a text body");
        check_ical(ics, 5);
        assert!(ics.contains(&format!("UID:{rule}-")), "{ics}");
        assert!(ics.contains("\r\nDTSTART:20260305T140000Z\r\nDTEND:20260305T220001Z\r\n"));
        assert!(ics.contains("\r\nDTSTART:20260309T130000Z\r\nDTEND:20260309T210001Z\r\n"));
        assert!(
            ics.contains("\r\nSUMMARY:Office hours\\, weekdays\r\n"),
            "{ics}"
        );
    }
    // UIDs are stable per rule and start.
    let uids = |ics: &str| -> Vec<String> {
        ics.split("\r\n")
            .filter(|l| l.starts_with("UID:"))
            .map(str::to_string)
            .collect()
    };
    let a = uids(by_header.body.as_str().unwrap());
    let b = uids(by_query.body.as_str().unwrap());
    assert_eq!(a, b);
    assert_eq!(a.len(), 5);
    let mut unique = a.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5);

    // Errors stay JSON envelopes even when iCalendar is asked for.
    let answer = server.call_with(
        "GET",
        &format!("{base}?count=9999"),
        Some(&sd),
        None,
        &[("Accept", "text/calendar")],
    );
    assert_error(&answer, 400, "validation error");
}

/// Structure of a feed: CRLF everywhere, lines of at most 75 octets, balanced
/// BEGIN/END, the calendar's required properties, `events` VEVENTs each with UID,
/// DTSTAMP, DTSTART (UTC) and SUMMARY.
fn check_ical(ics: &str, events: usize) {
    assert!(ics.ends_with("\r\n"));
    assert!(
        !ics.replace("\r\n", "").contains(['\r', '\n']),
        "bare CR/LF"
    );
    let physical: Vec<&str> = ics.trim_end_matches("\r\n").split("\r\n").collect();
    assert!(physical.iter().all(|l| l.len() <= 75));
    let unfolded = ics.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let mut depth: Vec<&str> = Vec::new();
    let mut vevents = 0;
    for line in &lines {
        if let Some(name) = line.strip_prefix("BEGIN:") {
            depth.push(name);
        } else if let Some(name) = line.strip_prefix("END:") {
            assert_eq!(depth.pop(), Some(name), "unbalanced {name}");
            if name == "VEVENT" {
                vevents += 1;
            }
        }
    }
    assert!(depth.is_empty());
    assert_eq!(vevents, events);
    for key in ["UID:", "DTSTAMP:", "DTSTART:", "DTEND:", "SUMMARY:"] {
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(key)).count(),
            events,
            "{key}"
        );
    }
    for line in lines.iter().filter(|l| l.starts_with("DTSTART:")) {
        assert!(line.ends_with('Z') && line.len() == "DTSTART:20260305T140000Z".len());
    }
}

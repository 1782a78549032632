//! Callflows over HTTP: CRUD with Kazoo's rules (normalisation, `numbers.required`,
//! `numbers.unique`/`patterns.unique` also under concurrent PUTs, invalid patterns,
//! DIDs owned outside the caller's tree), `metadata`, the listing, the simulator and
//! the lint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use common::{id_of, ids_of};
use crossbar_e2e::{assert_error, Answer, TestServer};
use crossbar_events::subjects::NUMBER_OWNERS_SUBJECT;
use crossbar_events::RequestHandler;
use serde_json::{json, Value};

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// Answers "who owns these numbers" from a fixed table, standing in for the numbers
/// service when the node does not run its responder.
struct FakeOwners(Arc<Mutex<HashMap<String, String>>>);

impl RequestHandler for FakeOwners {
    fn answer<'a, 'b>(
        &'a self,
        payload: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        let table = self.0.lock().unwrap().clone();
        Box::pin(async move {
            let mut out = serde_json::Map::new();
            for n in payload["numbers"].as_array().cloned().unwrap_or_default() {
                let n = n.as_str().unwrap_or_default().to_string();
                if let Some(owner) = table.get(&n) {
                    out.insert(
                        n,
                        json!({"assigned_to": owner, "state": "in_service", "used_by": null}),
                    );
                }
            }
            Ok(json!({ "numbers": out }))
        })
    }
}

/// Installs [`FakeOwners`] unless the numbers service answers; returns its table.
fn numbers_owners(server: &TestServer) -> Option<Arc<Mutex<HashMap<String, String>>>> {
    match server.ask(NUMBER_OWNERS_SUBJECT, json!({"numbers": []})) {
        Err(e) if e.contains("no responder") => {
            let table = Arc::new(Mutex::new(HashMap::new()));
            let bus = server.bus.clone();
            let handler = Arc::new(FakeOwners(table.clone()));
            actix_web::rt::Runtime::new()
                .unwrap()
                .block_on(bus.respond(NUMBER_OWNERS_SUBJECT, handler));
            Some(table)
        }
        _ => None,
    }
}

struct Env {
    server: TestServer,
    token: String,
    account: String,
    owners: Option<Arc<Mutex<HashMap<String, String>>>>,
}

fn setup(timezone: &str) -> Env {
    let server = TestServer::start();
    let owners = numbers_owners(&server);
    let token = server.admin_token();
    let created = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        Some(json!({"data": {"name": "Callflow Co", "timezone": timezone}})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let account = id_of(&created);
    Env {
        server,
        token,
        account,
        owners,
    }
}

impl Env {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.server.call(
            method,
            &format!("/v2/accounts/{}{path}", self.account),
            Some(&self.token),
            body,
        )
    }

    fn create(&self, collection: &str, data: Value) -> String {
        let answer = self.call(
            "PUT",
            &format!("/{collection}"),
            Some(json!({ "data": data })),
        );
        assert_eq!(answer.status, 201, "{collection}: {:?}", answer.body);
        id_of(&answer)
    }

    fn callflow(&self, data: Value) -> Answer {
        self.call("PUT", "/callflows", Some(json!({ "data": data })))
    }

    fn simulate(&self, data: Value) -> Value {
        let answer = self.call("POST", "/callflows/simulate", Some(json!({ "data": data })));
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["data"].clone()
    }
}

fn modules(sim: &Value) -> Vec<String> {
    sim["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["module"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn crud_listing_metadata_and_validation() {
    let env = setup("America/New_York");
    let user = env.create("users", json!({"first_name": "Ann", "last_name": "Lee"}));
    let vmbox = env.create("vmboxes", json!({"name": "Ann's box", "mailbox": "100"}));

    // PUT: DIDs normalised, extensions untouched, defaults filled.
    let created = env.callflow(json!({
        "name": "Main number",
        "numbers": ["(415) 555-0100", "2000"],
        "flow": {"module": "user", "data": {"id": user, "timeout": 20},
                 "children": {"_": {"module": "voicemail", "data": {"id": vmbox}, "children": {}}}}
    }));
    assert_eq!(created.status, 201, "{:?}", created.body);
    let main = id_of(&created);
    assert_eq!(
        created.body["data"]["numbers"],
        json!(["+14155550100", "2000"])
    );
    assert_eq!(created.body["data"]["patterns"], json!([]));
    assert!(created.header("location").unwrap().ends_with(&main));

    // GET: the document with metadata for the user and the box.
    let got = env.call("GET", &format!("/callflows/{main}"), None);
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(
        got.body["data"]["metadata"],
        json!({
            user.clone(): {"name": "Ann Lee", "pvt_type": "user"},
            vmbox.clone(): {"name": "Ann's box", "pvt_type": "vmbox"}
        })
    );
    assert!(got.body["revision"].is_string());

    // Listing row.
    let listed = env.call("GET", "/callflows", None);
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body["data"],
        json!([{"id": main, "name": "Main number", "numbers": ["+14155550100", "2000"],
                "patterns": [], "featurecode": false, "modules": ["user", "voicemail"], "flags": []}])
    );

    // numbers.required, exact JSON.
    let none = env.callflow(json!({"name": "Nothing", "flow": {"module": "hangup", "data": {}}}));
    assert_error(&none, 400, "validation error");
    assert_eq!(
        none.body["data"],
        json!({"numbers": {"required": {"message": "Callflows must be assigned at least one number or pattern"}}})
    );
    // numbers not an array: the schema's type error.
    let bad = env.callflow(json!({"numbers": "2000"}));
    assert_error(&bad, 400, "validation error");
    assert!(
        bad.body["data"]["numbers"]["type"].is_object(),
        "{:?}",
        bad.body
    );

    // numbers.unique, exact JSON (the normalised form clashes too).
    let clash = env.callflow(json!({"name": "Other", "numbers": ["4155550100"]}));
    assert_error(&clash, 400, "validation error");
    assert_eq!(
        clash.body["data"],
        json!({"numbers": {"unique": {
            "message": format!("Number +14155550100 exists in callflow {main} Main number"),
            "cause": "+14155550100"}}})
    );

    // patterns: invalid regex, then unique.
    let invalid = env.callflow(json!({"patterns": ["^\\*7(\\d+$"]}));
    assert_error(&invalid, 400, "validation error");
    assert_eq!(
        invalid.body["data"]["patterns"]["invalid"]["message"],
        "Pattern ^\\*7(\\d+$ is not a valid regular expression"
    );
    let feature = env.callflow(json!({"name": "Feature", "patterns": ["^\\*7([0-9]+)$"]}));
    assert_eq!(feature.status, 201, "{:?}", feature.body);
    let feature = id_of(&feature);
    let dup = env.callflow(json!({"name": "Dup", "patterns": ["^\\*7([0-9]+)$"]}));
    assert_error(&dup, 400, "validation error");
    assert_eq!(
        dup.body["data"],
        json!({"patterns": {"unique": {
            "message": format!("Pattern ^\\*7([0-9]+)$ exists in callflow {feature} Feature"),
            "cause": "^\\*7([0-9]+)$"}}})
    );

    // POST (full replace) and PATCH never clash with the callflow itself.
    let posted = env.call(
        "POST",
        &format!("/callflows/{main}"),
        Some(
            json!({"data": {"name": "Main", "numbers": ["+14155550100", "2000", "2001"],
            "flow": {"module": "user", "data": {"id": user}}}}),
        ),
    );
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    assert_eq!(
        posted.body["data"]["numbers"],
        json!(["+14155550100", "2000", "2001"])
    );
    let patched = env.call(
        "PATCH",
        &format!("/callflows/{main}"),
        Some(json!({"data": {"numbers": ["2000"]}})),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["data"]["name"], "Main");
    // The released number is free again.
    let freed = env.callflow(json!({"name": "Sales", "numbers": ["+14155550100"]}));
    assert_eq!(freed.status, 201, "{:?}", freed.body);

    // DELETE: soft, 404 afterwards, numbers free.
    let deleted = env.call("DELETE", &format!("/callflows/{main}"), None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["data"]["_read_only"]["deleted"], true);
    let gone = env.call("GET", &format!("/callflows/{main}"), None);
    assert_error(&gone, 404, "bad_identifier");
    assert_eq!(env.callflow(json!({"numbers": ["2000"]})).status, 201);
    assert_eq!(
        ids_of(&env.call("GET", "/callflows", None)).len(),
        3,
        "feature, sales, the new 2000"
    );

    // Unknown ids and verbs.
    assert_error(
        &env.call("GET", &format!("/callflows/{UNKNOWN}"), None),
        404,
        "bad_identifier",
    );
    assert_error(
        &env.call("DELETE", "/callflows", None),
        405,
        "invalid_method",
    );
    assert_error(
        &env.call("GET", "/callflows/simulate", None),
        405,
        "invalid_method",
    );
}

#[test]
fn uniqueness_holds_under_concurrent_puts() {
    let env = setup("America/New_York");
    let path = format!("/v2/accounts/{}/callflows", env.account);
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (server, token, path) = (&env.server, env.token.as_str(), path.as_str());
                s.spawn(move || {
                    server.call(
                        "PUT",
                        path,
                        Some(token),
                        Some(json!({"data": {"name": format!("racer {i}"), "numbers": ["3000"], "patterns": ["^9(\\d+)$"]}})),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let winner = id_of(winners[0]);
    let name = winners[0].body["data"]["name"].as_str().unwrap();
    for loser in answers.iter().filter(|a| a.status != 201) {
        assert_error(loser, 400, "validation error");
        assert_eq!(
            loser.body["data"]["numbers"]["unique"]["message"],
            format!("Number 3000 exists in callflow {winner} {name}")
        );
        assert_eq!(
            loser.body["data"]["patterns"]["unique"]["message"],
            format!("Pattern ^9(\\d+)$ exists in callflow {winner} {name}")
        );
    }
}

/// Assigns `number` to `account`: through the numbers service's HTTP API when it
/// runs (superduper admin creates it in the account), else in the stand-in's table.
fn assign(env: &Env, number: &str, account: &str) {
    match &env.owners {
        Some(table) => {
            table
                .lock()
                .unwrap()
                .insert(number.to_string(), account.to_string());
        }
        None => {
            let created = env.server.call(
                "PUT",
                &format!(
                    "/v2/accounts/{account}/phone_numbers/{}",
                    number.replace('+', "%2B")
                ),
                Some(&env.token),
                Some(json!({"data": {}})),
            );
            assert_eq!(created.status, 201, "{number}: {:?}", created.body);
        }
    }
}

#[test]
fn dids_owned_outside_the_callers_tree_are_forbidden() {
    let env = setup("America/New_York");
    let master = env.server.master_id.clone();
    // Callers are the admins of the accounts (a superduper admin may use any number).
    let (main, main_token) = env
        .server
        .account_with_admin(&env.token, &master, "Main Co");
    let (other, _) = env
        .server
        .account_with_admin(&env.token, &master, "Elsewhere Inc");
    let (child, child_token) = env.server.account_with_admin(&env.token, &main, "Child Co");
    assign(&env, "+14155550111", &other);
    assign(&env, "+14155550112", &other);
    assign(&env, "+14155550113", &main);
    assign(&env, "+14155550114", &child);
    let put = |account: &str, token: &str, numbers: Value| {
        env.server.call(
            "PUT",
            &format!("/v2/accounts/{account}/callflows"),
            Some(token),
            Some(json!({"data": {"numbers": numbers}})),
        )
    };
    // Numbers of the account itself and of its descendants are fine.
    let ok = put(&main, &main_token, json!(["4155550113", "+14155550114"]));
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    // Owned by another branch of the tree: 403, every such number named.
    let denied = put(
        &main,
        &main_token,
        json!(["+14155550111", "2000", "4155550112"]),
    );
    assert_error(&denied, 403, "forbidden");
    assert_eq!(
        denied.body["data"],
        json!({"message": "unauthorized to use +14155550111, +14155550112"})
    );
    // The child's admin may not use its parent's number.
    let parent_number = put(&child, &child_token, json!(["+14155550113"]));
    assert_error(&parent_number, 403, "forbidden");
    assert_eq!(
        parent_number.body["data"]["message"],
        "unauthorized to use +14155550113"
    );
    // A superduper admin may use any number.
    let sd = put(&main, &env.token, json!(["+14155550111"]));
    assert_eq!(sd.status, 201, "{:?}", sd.body);
}

/// Monday 2026-03-09 in New York (EDT, UTC-4): open 09:00:00–17:00:00 local.
fn office(env: &Env) -> (String, String, String, String, String) {
    let open = env.create(
        "temporal_rules",
        json!({"name": "Open", "cycle": "weekly", "wdays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
               "time_window_start": 32400, "time_window_stop": 61200}),
    );
    let user = env.create("users", json!({"first_name": "Ann", "last_name": "Lee"}));
    let device = env.create("devices", json!({"name": "Ann's desk", "owner_id": user}));
    let vmbox = env.create("vmboxes", json!({"name": "Ann's box", "mailbox": "100"}));
    let menu = env.create("menus", json!({"name": "After hours", "retries": 2}));
    (open, user, device, vmbox, menu)
}

#[test]
fn simulator_walks_office_hours_menus_and_fall_through() {
    let env = setup("America/New_York");
    let (open, user, device, vmbox, menu) = office(&env);
    let main = env.callflow(json!({
        "name": "Main line",
        "numbers": ["+14155550100"],
        "flow": {"module": "temporal_route", "data": {"rules": [open]}, "children": {
            open.clone(): {"module": "user", "data": {"id": user, "timeout": 25},
                    "children": {"_": {"module": "voicemail", "data": {"id": vmbox}}}},
            "_": {"module": "menu", "data": {"id": menu}, "children": {
                "1": {"module": "voicemail", "data": {"id": vmbox}},
                "2": {"module": "callflow", "data": {"id": "SELF"}}
            }}
        }}
    }));
    assert_eq!(main.status, 201, "{:?}", main.body);
    let main_id = id_of(&main);
    // Point menu option 2 back at the main callflow (a loop only with new input).
    let mut flow = main.body["data"]["flow"].clone();
    flow["children"]["_"]["children"]["2"]["data"]["id"] = json!(main_id);
    let posted = env.call(
        "PATCH",
        &format!("/callflows/{main_id}"),
        Some(json!({"data": {"flow": flow}})),
    );
    assert_eq!(posted.status, 200, "{:?}", posted.body);

    // Both sides of the opening boundary (09:00:00 local) and of the closing one.
    for (at, is_open) in [
        ("2026-03-09T12:59:59Z", false),
        ("2026-03-09T13:00:00Z", true),
        ("2026-03-09T21:00:00Z", true),
        ("2026-03-09T21:00:01Z", false),
    ] {
        let sim = env.simulate(json!({"number": "4155550100", "at": at}));
        assert_eq!(sim["timezone"], "America/New_York", "{sim}");
        assert_eq!(sim["callflow"]["id"], main_id.as_str());
        assert_eq!(sim["callflow"]["matched_by"], "number");
        let first = &sim["path"][0];
        assert_eq!(
            first["temporal"]["evaluated"][0]["active"], is_open,
            "{at}: {sim}"
        );
        if is_open {
            assert_eq!(
                modules(&sim),
                vec!["temporal_route", "user", "voicemail"],
                "{at}"
            );
            assert_eq!(first["branch"], open.as_str());
            assert!(
                first["why"].as_str().unwrap().contains("(Open) matches"),
                "{first}"
            );
            let ring = &sim["path"][1];
            assert_eq!(ring["rings"], json!([{"id": device, "name": "Ann's desk"}]));
            assert_eq!(ring["timeout"], 25);
            assert_eq!(ring["branch"], "_");
            assert_eq!(sim["path"][2]["id"], vmbox.as_str());
            assert_eq!(sim["outcome"], "voicemail");
        } else {
            assert_eq!(first["branch"], "_");
            assert!(first["why"]
                .as_str()
                .unwrap()
                .starts_with("no rule matches at"));
            // No digits: the menu times out twice, then there is no `_`: the call ends.
            assert_eq!(modules(&sim), vec!["temporal_route", "menu"], "{at}");
            assert_eq!(sim["outcome"], "ended");
        }
    }
    // Gregorian seconds work too (2026-03-09T13:00:00Z).
    let sim = env.simulate(json!({"number": "+14155550100", "at": 63_940_280_400_i64}));
    assert_eq!(sim["at"], "2026-03-09T13:00:00Z");
    assert_eq!(sim["at_local"], "2026-03-09T09:00:00-04:00");

    // Closed, menu digits: 7 is invalid, 1 goes to voicemail.
    let sim = env.simulate(
        json!({"number": "+14155550100", "at": "2026-03-09T23:00:00Z", "digits": ["7", "1"]}),
    );
    assert_eq!(modules(&sim), vec!["temporal_route", "menu", "voicemail"]);
    assert_eq!(
        sim["path"][1]["menu"]["attempts"][0],
        json!({"pressed": "7", "result": "invalid: no such option"})
    );
    assert_eq!(sim["path"][1]["branch"], "1");
    assert_eq!(sim["path"][1]["why"], "the caller pressed 1");
    // 2 goes back to the main callflow (new input, not a loop), then 1.
    let sim = env.simulate(
        json!({"number": "+14155550100", "at": "2026-03-09T23:00:00Z", "digits": ["2", "1"]}),
    );
    assert_eq!(
        modules(&sim),
        vec![
            "temporal_route",
            "menu",
            "callflow",
            "temporal_route",
            "menu",
            "voicemail"
        ]
    );
    assert_eq!(sim["outcome"], "voicemail");
}

#[test]
fn simulator_reports_loops_missing_references_unknown_modules_and_routes() {
    let env = setup("Europe/London");
    let user = env.create("users", json!({"first_name": "No", "last_name": "Devices"}));
    // A loop: A → B → A without caller input.
    let a = id_of(&env.callflow(json!({"name": "A", "numbers": ["5001"]})));
    let b = id_of(&env.callflow(json!({"name": "B", "numbers": ["5002"],
        "flow": {"module": "callflow", "data": {"id": a}}})));
    let patched = env.call(
        "PATCH",
        &format!("/callflows/{a}"),
        Some(json!({"data": {"flow": {"module": "answer", "data": {}, "children": {"_": {"module": "callflow", "data": {"id": b}}}}}})),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let sim = env.simulate(json!({"number": "5001"}));
    assert_eq!(modules(&sim), vec!["answer", "callflow", "callflow"]);
    assert_eq!(sim["outcome"], "loop");
    assert_eq!(sim["problems"][0]["type"], "loop");
    assert_eq!(sim["timezone"], "Europe/London");

    // Missing references: a user that does not exist, then a missing box.
    let missing = id_of(&env.callflow(json!({"name": "Broken", "numbers": ["5003"],
        "flow": {"module": "user", "data": {"id": UNKNOWN}, "children": {
            "_": {"module": "voicemail", "data": {"id": "fedcba9876543210fedcba9876543210"}}}}})));
    let sim = env.simulate(json!({"number": "5003"}));
    assert_eq!(sim["callflow"]["id"], missing.as_str());
    assert_eq!(modules(&sim), vec!["user", "voicemail"]);
    assert_eq!(sim["outcome"], "missing_reference");
    assert_eq!(
        sim["problems"][0]["message"],
        format!("user {UNKNOWN} does not exist in this account")
    );
    assert_eq!(sim["problems"][1]["expected"], "vmbox");

    // A user without devices falls through; an unknown module stops the walk.
    env.callflow(json!({"name": "Odd", "numbers": ["5004"],
        "flow": {"module": "user", "data": {"id": user}, "children": {"_": {"module": "frobnicate", "data": {}}}}}));
    let sim = env.simulate(json!({"number": "5004"}));
    assert_eq!(sim["path"][0]["rings"], json!([]));
    assert_eq!(sim["outcome"], "unknown_module");
    assert_eq!(sim["problems"][0]["module"], "frobnicate");

    // Routing: patterns (longest capture), then no_match.
    let pat = id_of(
        &env.callflow(json!({"name": "Intl", "patterns": ["^\\+44(\\d+)$"],
        "flow": {"module": "offnet", "data": {}}})),
    );
    let sim = env.simulate(json!({"number": "+442071234567"}));
    assert_eq!(sim["callflow"]["id"], pat.as_str());
    assert_eq!(sim["callflow"]["matched_by"], "pattern");
    assert_eq!(sim["callflow"]["capture"], "2071234567");
    assert_eq!(sim["outcome"], "terminal");
    let none = env.simulate(json!({"number": "999"}));
    assert_eq!(none["outcome"], "no_callflow");
    assert_eq!(none["callflow"], Value::Null);
    let nm = id_of(
        &env.callflow(json!({"name": "Catch all", "numbers": ["no_match"],
        "flow": {"module": "hangup", "data": {}}})),
    );
    let sim = env.simulate(json!({"number": "999"}));
    assert_eq!(sim["callflow"]["id"], nm.as_str());
    assert_eq!(sim["callflow"]["matched_by"], "no_match");
    // A new pattern is seen at once (the compiled set is dropped on change).
    let nine = id_of(&env.callflow(json!({"name": "Nines", "patterns": ["^9+$"]})));
    assert_eq!(
        env.simulate(json!({"number": "999"}))["callflow"]["id"],
        nine.as_str()
    );

    // Request validation.
    let bad = env.call(
        "POST",
        "/callflows/simulate",
        Some(json!({"data": {"at": "yesterday"}})),
    );
    assert_error(&bad, 400, "validation error");
    assert_eq!(
        bad.body["data"],
        json!({"number": {"required": {"message": "Field is required but missing"}},
               "at": {"invalid": {"message": "Must be an RFC 3339 date-time or Gregorian seconds"}}})
    );
}

#[test]
fn lint_lists_missing_references_and_unreachable_children() {
    let env = setup("America/New_York");
    let (open, user, _device, _vmbox, menu) = office(&env);
    let cf = id_of(&env.callflow(json!({"name": "Linted", "numbers": ["6000"],
    "flow": {"module": "temporal_route", "data": {"rules": [open, UNKNOWN]}, "children": {
        open.clone(): {"module": "user", "data": {"id": user}, "children": {
            "_": {"module": "voicemail", "data": {"id": menu}},
            "busy": {"module": "hangup", "data": {}}}},
        "stale": {"module": "hangup", "data": {}},
        "_": {"module": "menu", "data": {"id": menu}, "children": {
            "1": {"module": "callflow", "data": {"id": "fedcba9876543210fedcba9876543210"}}}}
    }}})));
    let lint = env.call("GET", &format!("/callflows/{cf}/lint"), None);
    assert_eq!(lint.status, 200, "{:?}", lint.body);
    let data = &lint.body["data"];
    assert_eq!(data["ok"], false);
    let missing: Vec<(String, String)> = data["missing_references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        missing.contains(&(
            UNKNOWN.to_string(),
            format!("temporal_rule {UNKNOWN} does not exist in this account")
        )),
        "{missing:?}"
    );
    assert!(
        missing.contains(&(menu.clone(), format!("{menu} is a menu, not a vmbox"))),
        "{missing:?}"
    );
    assert!(missing
        .iter()
        .any(|(id, _)| id == "fedcba9876543210fedcba9876543210"));
    assert_eq!(missing.len(), 3, "{missing:?}");
    let unreachable: Vec<&str> = data["unreachable_children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        unreachable,
        vec![
            format!("flow.children.stale"),
            format!("flow.children.{open}.children.busy")
        ]
    );
    let clean =
        id_of(&env.callflow(
            json!({"numbers": ["6001"], "flow": {"module": "user", "data": {"id": user}}}),
        ));
    let lint = env.call("GET", &format!("/callflows/{clean}/lint"), None);
    assert_eq!(lint.body["data"]["ok"], true, "{:?}", lint.body);
    assert_error(
        &env.call("GET", &format!("/callflows/{UNKNOWN}/lint"), None),
        404,
        "bad_identifier",
    );
}

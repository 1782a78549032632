//! The call-path simulator: walks a callflow the way Kazoo's callflow executor
//! would for one call, and says at every node which branch the call takes and why.
//!
//! The walk is pure: it reads what it knows from [`Facts`] and, when it needs
//! something it was not given (a document, a user's devices, a temporal evaluation,
//! another callflow), it returns [`Need`]s; the caller fetches them and walks again.
//!
//! Modelled like Kazoo's `cf_exe`: a module that continues goes to the child named
//! by its branch key; a missing key falls back to `_`; no `_` ends the call. Ringing
//! modules (user, device, ring_group) are assumed unanswered, so the path shows
//! where the call goes next. Modules the simulator does not know are reported, not
//! guessed. A loop (re-entering a callflow with no new caller input) is reported.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Most nodes one walk visits.
pub const MAX_STEPS: usize = 64;

/// Kazoo's default ring timeout of user and device nodes (seconds).
const DEFAULT_RING_TIMEOUT: i64 = 20;
/// Kazoo's default number of menu attempts.
const DEFAULT_MENU_RETRIES: i64 = 3;

/// Modules that do their work and continue to `_`.
const PASS_THROUGH: &[&str] = &[
    "answer",
    "play",
    "tts",
    "say",
    "prepend_cid",
    "set_cid",
    "set_alert_info",
    "set_variables",
    "set_cav",
    "language",
    "record_call",
    "record_caller",
    "sleep",
    "send_dtmf",
    "webhook",
    "privacy",
    "ringback",
    "music_on_hold",
    "missed_call_alert",
    "ring_group_toggle",
    "manual_presence",
];

/// Modules after which the call does not come back to the flow.
const TERMINAL: &[(&str, &str)] = &[
    (
        "offnet",
        "the call leaves the system through the carriers (offnet)",
    ),
    (
        "resources",
        "the call leaves the system through the account's resources",
    ),
    ("conference", "the caller joins a conference"),
    ("receive_fax", "the call is answered as a fax"),
    ("faxbox", "the call is answered by a fax box"),
    (
        "response",
        "the call is answered with a fixed response and hung up",
    ),
    ("hangup", "the call is hung up"),
    ("park", "the call is parked"),
    ("page_group", "the caller pages a group"),
    ("directory", "the caller reaches the dial-by-name directory"),
    ("intercom", "the call is an intercom call"),
    ("eavesdrop", "the caller eavesdrops on another call"),
    ("disa", "the caller gets a dial tone (DISA)"),
    ("call_forward", "the caller manages call forwarding"),
    ("hotdesk", "the caller manages hot desking"),
    ("dnd", "the caller toggles do-not-disturb"),
    ("do_not_disturb", "the caller toggles do-not-disturb"),
    ("group_pickup", "the caller picks up a ringing call"),
    ("group_pickup_feature", "the caller picks up a ringing call"),
    ("dynamic_cid", "the caller dials out with another caller id"),
];

/// Whether a module does its work and continues to `_`.
pub fn is_pass_through(module: &str) -> bool {
    PASS_THROUGH.contains(&module)
}

/// Whether the call never comes back to the flow after a module.
pub fn is_terminal(module: &str) -> bool {
    TERMINAL.iter().any(|(m, _)| *m == module)
}

/// A document another service owns, as the walk sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefDoc {
    pub kind: String,
    pub doc: Value,
}

/// One answer of the office-hours evaluation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemporalResult {
    pub id: String,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub active: bool,
    #[serde(default)]
    pub matched_rule_ids: Vec<String>,
    pub next_change: Option<String>,
}

/// What the walk knows. `None` values are known to be missing.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Users, devices, menus, voicemail boxes by id.
    pub docs: HashMap<String, Option<RefDoc>>,
    /// Callflows of the account by id (the stored public document).
    pub callflows: HashMap<String, Option<Value>>,
    /// A user's devices: (device id, device document).
    pub devices: HashMap<String, Vec<(String, Value)>>,
    /// Temporal rules and rule sets, evaluated at the simulated instant.
    pub temporal: HashMap<String, TemporalResult>,
    /// The account's time zone and the simulated instant on its wall clock.
    pub timezone: Option<String>,
    pub at_local: Option<String>,
}

/// Something the walk needs before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Docs(Vec<String>),
    Callflow(String),
    Devices(String),
    Temporal(Vec<String>),
}

/// What the caller does during the call.
#[derive(Debug, Default, Clone)]
pub struct Input {
    /// DTMF entries, one per menu prompt (`"1"`, or `"2001"` when dialing an extension).
    pub digits: Vec<String>,
}

/// The result of a walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    pub path: Vec<Value>,
    /// How the walk ended: `voicemail`, `terminal`, `ended`, `loop`,
    /// `unknown_module`, `missing_reference`, `step_limit`.
    pub outcome: String,
    pub problems: Vec<Value>,
}

enum Next {
    /// Go to a child of the current node.
    Child(String),
    /// Jump to another callflow.
    Jump(String),
    /// Stop with an outcome.
    Stop(&'static str),
}

struct Cursor<'a> {
    callflow_id: String,
    node: &'a Value,
    path: String,
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn name_of(kind: &str, doc: &Value) -> Option<String> {
    if kind == "user" {
        let first = text(doc, "first_name").unwrap_or("");
        let last = text(doc, "last_name").unwrap_or("");
        let full = format!("{first} {last}").trim().to_string();
        return (!full.is_empty()).then_some(full);
    }
    text(doc, "name").map(str::to_string)
}

fn label(id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{id} ({name})"),
        None => id.to_string(),
    }
}

/// Walks the callflow `start` for one call.
pub fn walk(start: &str, facts: &Facts, input: &Input) -> Result<Walk, Vec<Need>> {
    let mut path: Vec<Value> = Vec::new();
    let mut problems: Vec<Value> = Vec::new();
    let mut digit = 0usize;
    let mut entered: Vec<(String, usize)> = vec![(start.to_string(), 0)];
    let start_doc = match facts.callflows.get(start) {
        None => return Err(vec![Need::Callflow(start.to_string())]),
        Some(None) => {
            problems.push(missing(start, "callflow", "flow"));
            return Ok(Walk {
                path,
                outcome: "missing_reference".into(),
                problems,
            });
        }
        Some(Some(doc)) => doc,
    };
    let Some(flow) = start_doc.get("flow").filter(|f| f.is_object()) else {
        return Ok(Walk {
            path,
            outcome: "ended".into(),
            problems: vec![json!({"type": "empty_flow", "callflow_id": start,
                "message": format!("callflow {start} has no flow")})],
        });
    };
    let mut cursor = Cursor {
        callflow_id: start.to_string(),
        node: flow,
        path: "flow".into(),
    };
    let outcome = loop {
        if path.len() >= MAX_STEPS {
            problems.push(json!({"type": "step_limit",
                "message": format!("the walk stopped after {MAX_STEPS} nodes")}));
            break "step_limit";
        }
        let node = cursor.node;
        let module = text(node, "module").unwrap_or("").to_string();
        let empty = Map::new();
        let data = node
            .get("data")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let data_value = Value::Object(data.clone());
        let mut step = Map::new();
        step.insert("step".into(), json!(path.len() + 1));
        step.insert("callflow_id".into(), json!(cursor.callflow_id));
        step.insert("node".into(), json!(cursor.path));
        step.insert("module".into(), json!(module));
        let next = match module.as_str() {
            "temporal_route" => {
                temporal_route(&data_value, &cursor, facts, &mut step, &mut problems)?
            }
            "menu" => menu(
                &data_value,
                &cursor,
                facts,
                input,
                &mut digit,
                &mut step,
                &mut problems,
            )?,
            "user" => user(&data_value, &cursor, facts, &mut step, &mut problems)?,
            "device" => device(&data_value, &cursor, facts, &mut step, &mut problems)?,
            "ring_group" => ring_group(&data_value, &cursor, facts, &mut step, &mut problems)?,
            "voicemail" => voicemail(&data_value, &cursor, facts, &mut step, &mut problems)?,
            "callflow" => {
                let Some(id) = text(&data_value, "id") else {
                    step.insert(
                        "why".into(),
                        json!("callflow node without data.id: the call ends"),
                    );
                    problems.push(
                        json!({"type": "missing_id", "node": cursor.path, "module": "callflow",
                        "message": "callflow node has no data.id"}),
                    );
                    path.push(Value::Object(step));
                    break "missing_reference";
                };
                match facts.callflows.get(id) {
                    None => return Err(vec![Need::Callflow(id.to_string())]),
                    Some(None) => {
                        step.insert("id".into(), json!(id));
                        step.insert(
                            "why".into(),
                            json!(format!(
                                "callflow {id} does not exist in this account: the call ends"
                            )),
                        );
                        problems.push(missing(id, "callflow", &cursor.path));
                        Next::Stop("missing_reference")
                    }
                    Some(Some(doc)) => {
                        step.insert("id".into(), json!(id));
                        if let Some(name) = text(doc, "name") {
                            step.insert("name".into(), json!(name));
                        }
                        if entered.iter().any(|(c, d)| c == id && *d == digit) {
                            step.insert(
                                "why".into(),
                                json!(
                                    format!(
                                "callflow {id} was already entered with no new caller input: loop")
                                ),
                            );
                            problems.push(json!({"type": "loop", "node": cursor.path, "callflow_id": id,
                                "message": format!("callflow {id} loops back without caller input")}));
                            Next::Stop("loop")
                        } else {
                            step.insert(
                                "why".into(),
                                json!(format!(
                                    "the call continues in callflow {}",
                                    label(id, text(doc, "name"))
                                )),
                            );
                            Next::Jump(id.to_string())
                        }
                    }
                }
            }
            other => {
                if PASS_THROUGH.contains(&other) {
                    step.insert(
                        "why".into(),
                        json!(format!("{other} does its work, then the call continues")),
                    );
                    Next::Child("_".into())
                } else if let Some((_, what)) = TERMINAL.iter().find(|(m, _)| *m == other) {
                    step.insert("why".into(), json!(what));
                    Next::Stop("terminal")
                } else {
                    step.insert("why".into(), json!(format!(
                        "the simulator does not model module '{other}'; it does not guess where the call goes next")));
                    problems.push(
                        json!({"type": "unknown_module", "node": cursor.path, "module": other,
                        "message": format!("unknown module '{other}'")}),
                    );
                    Next::Stop("unknown_module")
                }
            }
        };
        match next {
            Next::Stop(outcome) => {
                path.push(Value::Object(step));
                break outcome;
            }
            Next::Jump(id) => {
                path.push(Value::Object(step));
                let Some(Some(doc)) = facts.callflows.get(&id) else {
                    break "missing_reference";
                };
                let Some(flow) = doc.get("flow").filter(|f| f.is_object()) else {
                    problems.push(json!({"type": "empty_flow", "callflow_id": id,
                        "message": format!("callflow {id} has no flow")}));
                    break "ended";
                };
                entered.push((id.clone(), digit));
                cursor = Cursor {
                    callflow_id: id,
                    node: flow,
                    path: "flow".into(),
                };
            }
            Next::Child(key) => {
                let children = node.get("children").and_then(Value::as_object);
                let chosen = match children {
                    Some(c) if c.contains_key(&key) => Some(key.clone()),
                    Some(c) if key != "_" && c.contains_key("_") => Some("_".to_string()),
                    _ => None,
                };
                match chosen {
                    Some(branch) => {
                        if branch != key {
                            step.insert(
                                "fallback".into(),
                                json!(format!("no child '{key}': the wildcard child '_' is taken")),
                            );
                        }
                        step.insert("branch".into(), json!(branch));
                        path.push(Value::Object(step));
                        let Some(child) = children.and_then(|c| c.get(&branch)) else {
                            break "ended";
                        };
                        cursor = Cursor {
                            callflow_id: cursor.callflow_id.clone(),
                            node: child,
                            path: format!("{}.children.{branch}", cursor.path),
                        };
                    }
                    None => {
                        step.insert("branch".into(), Value::Null);
                        step.insert(
                            "end".into(),
                            json!(format!(
                                "no child '{key}' and no '_' child: the call ends here"
                            )),
                        );
                        path.push(Value::Object(step));
                        break "ended";
                    }
                }
            }
        }
    };
    Ok(Walk {
        path,
        outcome: outcome.to_string(),
        problems,
    })
}

fn missing(id: &str, kind: &str, node: &str) -> Value {
    json!({"type": "missing_reference", "node": node, "id": id, "expected": kind,
        "message": format!("{kind} {id} does not exist in this account")})
}

/// The document `id`, requiring `kind`; `Err` when it still has to be fetched.
fn doc_of<'a>(
    facts: &'a Facts,
    id: &str,
    kind: &str,
    cursor: &Cursor<'_>,
    problems: &mut Vec<Value>,
) -> Result<Option<&'a Value>, Vec<Need>> {
    match facts.docs.get(id) {
        None => Err(vec![Need::Docs(vec![id.to_string()])]),
        Some(Some(found)) if found.kind == kind => Ok(Some(&found.doc)),
        Some(Some(found)) => {
            problems.push(
                json!({"type": "wrong_kind", "node": cursor.path, "id": id, "expected": kind,
                "found": found.kind, "message": format!("{id} is a {}, not a {kind}", found.kind)}),
            );
            Ok(None)
        }
        Some(None) => {
            problems.push(missing(id, kind, &cursor.path));
            Ok(None)
        }
    }
}

fn temporal_route(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    if let Some(action) = text(data, "action") {
        step.insert("why".into(), json!(format!(
            "temporal_route with action '{action}' changes rule overrides; it does not route the call")));
        return Ok(Next::Stop("terminal"));
    }
    let rule_set = text(data, "rule_set");
    let ids: Vec<String> = match rule_set {
        Some(set) => vec![set.to_string()],
        None => data
            .get("rules")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !facts.temporal.contains_key(*id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(vec![Need::Temporal(unknown)]);
    }
    let when = match (&facts.at_local, &facts.timezone) {
        (Some(at), Some(tz)) => format!("at {at} ({tz})"),
        _ => "at the simulated time".to_string(),
    };
    if let Some(tz) = text(data, "timezone") {
        step.insert(
            "timezone_note".into(),
            json!(format!(
                "data.timezone {tz} is not applied; rules are evaluated in the account's time zone"
            )),
        );
    }
    let mut evaluated = Vec::new();
    let mut chosen: Option<(String, String)> = None;
    for id in &ids {
        let Some(result) = facts.temporal.get(id) else {
            continue;
        };
        evaluated.push(
            json!({"id": id, "kind": result.kind, "name": result.name, "active": result.active,
            "matched_rule_ids": result.matched_rule_ids, "next_change": result.next_change}),
        );
        if result.kind.is_none() {
            let expected = if rule_set.is_some() {
                "temporal_rule_set"
            } else {
                "temporal_rule"
            };
            problems.push(missing(id, expected, &cursor.path));
            continue;
        }
        if result.active && chosen.is_none() {
            let key = if rule_set.is_some() {
                "rule_set".to_string()
            } else {
                id.clone()
            };
            let why = match rule_set {
                Some(_) => format!(
                    "rule set {} matches {when} (rules {} active)",
                    label(id, result.name.as_deref()),
                    result.matched_rule_ids.join(", ")
                ),
                None => format!(
                    "temporal rule {} matches {when}",
                    label(id, result.name.as_deref())
                ),
            };
            chosen = Some((key, why));
        }
    }
    step.insert(
        "temporal".into(),
        json!({"timezone": facts.timezone, "at_local": facts.at_local, "evaluated": evaluated}),
    );
    Ok(match chosen {
        Some((key, why)) => {
            step.insert("why".into(), json!(why));
            Next::Child(key)
        }
        None => {
            step.insert(
                "why".into(),
                json!(format!(
                    "no rule matches {when}: the default branch '_' is taken"
                )),
            );
            Next::Child("_".into())
        }
    })
}

fn menu(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    input: &Input,
    digit: &mut usize,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    let Some(id) = text(data, "id") else {
        problems.push(
            json!({"type": "missing_id", "node": cursor.path, "module": "menu",
            "message": "menu node has no data.id"}),
        );
        step.insert(
            "why".into(),
            json!("menu node without data.id: the call ends"),
        );
        return Ok(Next::Stop("missing_reference"));
    };
    step.insert("id".into(), json!(id));
    let Some(doc) = doc_of(facts, id, "menu", cursor, problems)? else {
        step.insert(
            "why".into(),
            json!(format!(
                "menu {id} does not exist in this account: the call ends"
            )),
        );
        return Ok(Next::Stop("missing_reference"));
    };
    if let Some(name) = text(doc, "name") {
        step.insert("name".into(), json!(name));
    }
    let retries = doc
        .get("retries")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_MENU_RETRIES)
        .max(1);
    let empty = Map::new();
    let children = cursor
        .node
        .get("children")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut attempts: Vec<Value> = Vec::new();
    let mut chosen: Option<(String, String)> = None;
    for _ in 0..retries {
        match input.digits.get(*digit) {
            Some(pressed) => {
                *digit += 1;
                if pressed != "_" && children.contains_key(pressed) {
                    attempts.push(json!({"pressed": pressed, "result": "valid"}));
                    chosen = Some((pressed.clone(), format!("the caller pressed {pressed}")));
                    break;
                }
                attempts.push(json!({"pressed": pressed, "result": "invalid: no such option"}));
            }
            None => {
                if children.contains_key("timeout") {
                    attempts.push(json!({"pressed": null, "result": "timeout"}));
                    chosen = Some((
                        "timeout".into(),
                        "the caller pressed nothing: the 'timeout' branch is taken".into(),
                    ));
                    break;
                }
                attempts
                    .push(json!({"pressed": null, "result": "timeout: the menu is played again"}));
            }
        }
    }
    step.insert(
        "menu".into(),
        json!({"retries": retries, "attempts": attempts}),
    );
    Ok(match chosen {
        Some((key, why)) => {
            step.insert("why".into(), json!(why));
            Next::Child(key)
        }
        None if children.contains_key("max_retries") => {
            step.insert(
                "why".into(),
                json!(format!(
                    "no valid choice after {retries} attempts: the 'max_retries' branch is taken"
                )),
            );
            Next::Child("max_retries".into())
        }
        None => {
            step.insert(
                "why".into(),
                json!(format!(
                    "no valid choice after {retries} attempts: the call continues to '_'"
                )),
            );
            Next::Child("_".into())
        }
    })
}

fn device_row(id: &str, doc: &Value) -> Value {
    let mut row = json!({"id": id, "name": text(doc, "name")});
    if doc.get("enabled") == Some(&Value::Bool(false)) {
        row["enabled"] = json!(false);
    }
    row
}

fn ring_timeout(data: &Value) -> i64 {
    data.get("timeout")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_RING_TIMEOUT)
}

fn after_ringing(step: &mut Map<String, Value>, what: String) -> Next {
    step.insert(
        "why".into(),
        json!(format!(
            "{what}; if nobody answers the call falls through to '_'"
        )),
    );
    Next::Child("_".into())
}

fn user(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    let Some(id) = text(data, "id") else {
        problems.push(
            json!({"type": "missing_id", "node": cursor.path, "module": "user",
            "message": "user node has no data.id"}),
        );
        return Ok(after_ringing(step, "no user to ring".into()));
    };
    step.insert("id".into(), json!(id));
    let Some(doc) = doc_of(facts, id, "user", cursor, problems)? else {
        return Ok(after_ringing(
            step,
            format!("user {id} does not exist: nothing rings"),
        ));
    };
    let Some(devices) = facts.devices.get(id) else {
        return Err(vec![Need::Devices(id.to_string())]);
    };
    let name = name_of("user", doc);
    if let Some(name) = &name {
        step.insert("name".into(), json!(name));
    }
    let timeout = ring_timeout(data);
    let rings: Vec<Value> = devices.iter().map(|(d, doc)| device_row(d, doc)).collect();
    step.insert("rings".into(), json!(rings));
    step.insert("timeout".into(), json!(timeout));
    let what = if rings.is_empty() {
        format!(
            "user {} has no devices: nothing rings",
            label(id, name.as_deref())
        )
    } else {
        format!(
            "user {} rings {} device(s) for {timeout} s",
            label(id, name.as_deref()),
            rings.len()
        )
    };
    Ok(after_ringing(step, what))
}

fn device(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    let Some(id) = text(data, "id") else {
        problems.push(
            json!({"type": "missing_id", "node": cursor.path, "module": "device",
            "message": "device node has no data.id"}),
        );
        return Ok(after_ringing(step, "no device to ring".into()));
    };
    step.insert("id".into(), json!(id));
    let Some(doc) = doc_of(facts, id, "device", cursor, problems)? else {
        return Ok(after_ringing(
            step,
            format!("device {id} does not exist: nothing rings"),
        ));
    };
    let timeout = ring_timeout(data);
    step.insert("rings".into(), json!([device_row(id, doc)]));
    step.insert("timeout".into(), json!(timeout));
    if let Some(name) = text(doc, "name") {
        step.insert("name".into(), json!(name));
    }
    Ok(after_ringing(
        step,
        format!(
            "device {} rings for {timeout} s",
            label(id, text(doc, "name"))
        ),
    ))
}

fn ring_group(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    let endpoints: Vec<(String, String)> = data
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(|ep| {
                    let id = text(ep, "id")?;
                    let kind = text(ep, "endpoint_type").unwrap_or("device");
                    Some((id.to_string(), kind.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let needed: Vec<String> = endpoints
        .iter()
        .filter(|(id, kind)| (kind == "user" || kind == "device") && !facts.docs.contains_key(id))
        .map(|(id, _)| id.clone())
        .collect();
    if !needed.is_empty() {
        return Err(vec![Need::Docs(needed)]);
    }
    let users: Vec<String> = endpoints
        .iter()
        .filter(|(id, kind)| {
            kind == "user"
                && matches!(facts.docs.get(id), Some(Some(d)) if d.kind == "user")
                && !facts.devices.contains_key(id)
        })
        .map(|(id, _)| id.clone())
        .collect();
    if !users.is_empty() {
        return Err(users.into_iter().map(Need::Devices).collect());
    }
    let mut rings = Vec::new();
    for (id, kind) in &endpoints {
        match kind.as_str() {
            "user" => {
                if doc_of(facts, id, "user", cursor, problems)?.is_some() {
                    for (d, doc) in facts.devices.get(id).into_iter().flatten() {
                        let mut row = device_row(d, doc);
                        row["via_user"] = json!(id);
                        rings.push(row);
                    }
                }
            }
            "device" => {
                if let Some(doc) = doc_of(facts, id, "device", cursor, problems)? {
                    rings.push(device_row(id, doc));
                }
            }
            other => rings.push(
                json!({"id": id, "endpoint_type": other, "note": "not expanded by the simulator"}),
            ),
        }
    }
    let timeout = ring_timeout(data);
    let what = format!(
        "the ring group rings {} endpoint(s) for {timeout} s",
        rings.len()
    );
    step.insert("rings".into(), json!(rings));
    step.insert("timeout".into(), json!(timeout));
    Ok(after_ringing(step, what))
}

fn voicemail(
    data: &Value,
    cursor: &Cursor<'_>,
    facts: &Facts,
    step: &mut Map<String, Value>,
    problems: &mut Vec<Value>,
) -> Result<Next, Vec<Need>> {
    let action = text(data, "action").unwrap_or("compose");
    let Some(id) = text(data, "id") else {
        if action == "check" {
            step.insert(
                "why".into(),
                json!("the caller checks a voicemail box (asked for at call time)"),
            );
            return Ok(Next::Stop("voicemail"));
        }
        problems.push(
            json!({"type": "missing_id", "node": cursor.path, "module": "voicemail",
            "message": "voicemail node has no data.id"}),
        );
        step.insert(
            "why".into(),
            json!("voicemail node without data.id: the call ends"),
        );
        return Ok(Next::Stop("missing_reference"));
    };
    step.insert("id".into(), json!(id));
    let Some(doc) = doc_of(facts, id, "vmbox", cursor, problems)? else {
        step.insert(
            "why".into(),
            json!(format!(
                "voicemail box {id} does not exist in this account: the call ends"
            )),
        );
        return Ok(Next::Stop("missing_reference"));
    };
    if let Some(name) = text(doc, "name") {
        step.insert("name".into(), json!(name));
    }
    if let Some(mailbox) = doc.get("mailbox") {
        step.insert("mailbox".into(), mailbox.clone());
    }
    let why = if action == "check" {
        format!(
            "the caller checks the messages of box {}",
            label(id, text(doc, "name"))
        )
    } else {
        format!(
            "the caller leaves a message in box {}",
            label(id, text(doc, "name"))
        )
    };
    step.insert("why".into(), json!(why));
    Ok(Next::Stop("voicemail"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "main";

    fn facts_with(flow: Value) -> Facts {
        let mut facts = Facts::default();
        facts
            .callflows
            .insert(MAIN.into(), Some(json!({"name": "Main", "flow": flow})));
        facts.timezone = Some("America/New_York".into());
        facts.at_local = Some("2024-03-11T09:00:00-04:00".into());
        facts
    }

    fn doc(facts: &mut Facts, id: &str, kind: &str, doc: Value) {
        facts.docs.insert(
            id.into(),
            Some(RefDoc {
                kind: kind.into(),
                doc,
            }),
        );
    }

    fn rule(facts: &mut Facts, id: &str, active: bool) {
        facts.temporal.insert(
            id.into(),
            TemporalResult {
                id: id.into(),
                kind: Some("temporal_rule".into()),
                name: Some(format!("rule {id}")),
                active,
                matched_rule_ids: if active { vec![id.into()] } else { vec![] },
                next_change: None,
            },
        );
    }

    fn office_flow() -> Value {
        json!({
            "module": "temporal_route", "data": {"rules": ["open"]},
            "children": {
                "open": {"module": "user", "data": {"id": "u1", "timeout": 15},
                    "children": {"_": {"module": "voicemail", "data": {"id": "vm1"}}}},
                "_": {"module": "menu", "data": {"id": "m1"}, "children": {
                    "1": {"module": "device", "data": {"id": "d1"}},
                    "2": {"module": "callflow", "data": {"id": MAIN}}
                }}
            }
        })
    }

    fn office_facts(open: bool) -> Facts {
        let mut facts = facts_with(office_flow());
        rule(&mut facts, "open", open);
        doc(
            &mut facts,
            "u1",
            "user",
            json!({"first_name": "Ann", "last_name": "Lee"}),
        );
        facts
            .devices
            .insert("u1".into(), vec![("d1".into(), json!({"name": "Desk"}))]);
        doc(
            &mut facts,
            "vm1",
            "vmbox",
            json!({"name": "Ann's box", "mailbox": "100"}),
        );
        doc(
            &mut facts,
            "m1",
            "menu",
            json!({"name": "After hours", "retries": 2}),
        );
        doc(&mut facts, "d1", "device", json!({"name": "Desk"}));
        facts
    }

    fn modules(walk: &Walk) -> Vec<&str> {
        walk.path
            .iter()
            .map(|s| s["module"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn open_hours_ring_the_user_then_voicemail() {
        let walk = walk(MAIN, &office_facts(true), &Input::default()).unwrap();
        assert_eq!(modules(&walk), vec!["temporal_route", "user", "voicemail"]);
        assert_eq!(walk.outcome, "voicemail");
        assert_eq!(walk.path[0]["branch"], "open");
        assert!(walk.path[0]["why"]
            .as_str()
            .unwrap()
            .contains("open (rule open) matches at 2024-03-11T09:00:00-04:00 (America/New_York)"));
        assert_eq!(walk.path[1]["rings"], json!([{"id": "d1", "name": "Desk"}]));
        assert_eq!(walk.path[1]["timeout"], 15);
        assert_eq!(walk.path[1]["branch"], "_");
        assert_eq!(walk.path[2]["mailbox"], "100");
        assert!(walk.problems.is_empty());
    }

    #[test]
    fn closed_hours_go_to_the_menu_and_digits_choose() {
        let facts = office_facts(false);
        let walk = walk(
            MAIN,
            &facts,
            &Input {
                digits: vec!["9".into(), "1".into()],
            },
        )
        .unwrap();
        assert_eq!(modules(&walk), vec!["temporal_route", "menu", "device"]);
        assert_eq!(walk.path[0]["branch"], "_");
        assert_eq!(walk.path[1]["branch"], "1");
        assert_eq!(
            walk.path[1]["menu"]["attempts"][0]["result"],
            "invalid: no such option"
        );
        // The device has no `_` child: the call ends after it rings.
        assert_eq!(walk.outcome, "ended");
    }

    #[test]
    fn menu_without_input_exhausts_retries() {
        let walk = walk(MAIN, &office_facts(false), &Input::default()).unwrap();
        assert_eq!(
            walk.path[1]["menu"]["attempts"].as_array().unwrap().len(),
            2
        );
        assert_eq!(walk.path[1]["branch"], Value::Null);
        assert_eq!(walk.outcome, "ended");
    }

    #[test]
    fn re_entering_with_new_input_is_fine_but_without_is_a_loop() {
        let facts = office_facts(false);
        // 2 → back to main → closed → menu → 1 → device.
        let w = walk(
            MAIN,
            &facts,
            &Input {
                digits: vec!["2".into(), "1".into()],
            },
        )
        .unwrap();
        assert_eq!(
            modules(&w),
            vec![
                "temporal_route",
                "menu",
                "callflow",
                "temporal_route",
                "menu",
                "device"
            ]
        );
        let mut facts = facts_with(json!({"module": "callflow", "data": {"id": "other"}}));
        facts.callflows.insert(
            "other".into(),
            Some(json!({"flow": {"module": "callflow", "data": {"id": MAIN}}})),
        );
        let w = walk(MAIN, &facts, &Input::default()).unwrap();
        assert_eq!(w.outcome, "loop");
        assert_eq!(w.problems[0]["type"], "loop");
        assert_eq!(w.path.len(), 2);
    }

    #[test]
    fn missing_things_are_asked_for_then_reported() {
        let mut facts = facts_with(office_flow());
        assert_eq!(
            walk(MAIN, &facts, &Input::default()),
            Err(vec![Need::Temporal(vec!["open".into()])])
        );
        rule(&mut facts, "open", true);
        assert_eq!(
            walk(MAIN, &facts, &Input::default()),
            Err(vec![Need::Docs(vec!["u1".into()])])
        );
        facts.docs.insert("u1".into(), None);
        assert_eq!(
            walk(MAIN, &facts, &Input::default()),
            Err(vec![Need::Docs(vec!["vm1".into()])])
        );
        facts.docs.insert("vm1".into(), None);
        let w = walk(MAIN, &facts, &Input::default()).unwrap();
        assert_eq!(w.outcome, "missing_reference");
        let types: Vec<&str> = w
            .problems
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(types, vec!["u1", "vm1"]);
        assert_eq!(
            w.problems[0]["message"],
            "user u1 does not exist in this account"
        );
    }

    #[test]
    fn unknown_modules_are_reported_not_guessed() {
        let facts = facts_with(
            json!({"module": "play", "data": {}, "children": {"_": {"module": "frobnicate", "data": {}, "children": {"_": {"module": "hangup", "data": {}}}}}}),
        );
        let w = walk(MAIN, &facts, &Input::default()).unwrap();
        assert_eq!(modules(&w), vec!["play", "frobnicate"]);
        assert_eq!(w.outcome, "unknown_module");
        assert_eq!(w.problems[0]["module"], "frobnicate");
    }

    #[test]
    fn missing_branch_falls_back_to_wildcard() {
        let mut facts = facts_with(json!({"module": "temporal_route", "data": {"rules": ["r"]},
            "children": {"_": {"module": "hangup", "data": {}}}}));
        rule(&mut facts, "r", true);
        let w = walk(MAIN, &facts, &Input::default()).unwrap();
        assert_eq!(w.path[0]["branch"], "_");
        assert!(w.path[0]["fallback"].is_string());
        assert_eq!(w.outcome, "terminal");
    }

    #[test]
    fn rule_sets_branch_on_rule_set() {
        let mut facts = facts_with(
            json!({"module": "temporal_route", "data": {"rule_set": "s"},
            "children": {"rule_set": {"module": "hangup", "data": {}}, "_": {"module": "offnet", "data": {}}}}),
        );
        facts.temporal.insert(
            "s".into(),
            TemporalResult {
                id: "s".into(),
                kind: Some("temporal_rule_set".into()),
                name: Some("Holidays".into()),
                active: true,
                matched_rule_ids: vec!["xmas".into()],
                next_change: None,
            },
        );
        let w = walk(MAIN, &facts, &Input::default()).unwrap();
        assert_eq!(w.path[0]["branch"], "rule_set");
        assert!(w.path[0]["why"]
            .as_str()
            .unwrap()
            .contains("rules xmas active"));
    }

    #[test]
    fn a_start_callflow_that_is_gone() {
        let mut facts = Facts::default();
        assert_eq!(
            walk("x", &facts, &Input::default()),
            Err(vec![Need::Callflow("x".into())])
        );
        facts.callflows.insert("x".into(), None);
        assert_eq!(
            walk("x", &facts, &Input::default()).unwrap().outcome,
            "missing_reference"
        );
    }
}

//! `POST /v2/accounts/{A}/callflows/simulate`: where a call to a number goes at a
//! given moment. Body `{"data": {"number", "at" (RFC 3339 or Gregorian seconds;
//! default now), "caller_id_number", "digits": [...]}}`.
//!
//! The number is resolved like a real call ([`CallflowsService::lookup`]); the walk
//! ([`crate::domain::simulate::walk`]) is pure and asks for what it needs, which this
//! handler fetches from the owning services (documents, a user's devices, temporal
//! evaluations from office hours) until the walk completes.

use actix_web::web;
use chrono::{DateTime, SecondsFormat, Utc};
use crossbar_authz::AccountScope;
use crossbar_crud::rpc::{bus_error, find_documents};
use crossbar_envelope::{time, ApiError, ApiResult, Reply, RequestEnvelope, ValidationErrors};
use crossbar_events::subjects::TEMPORAL_EVALUATE_SUBJECT;
use crossbar_events::DEFAULT_REQUEST_TIMEOUT;
use serde_json::{json, Map, Value};

use crate::domain::callflow::CALLFLOW;
use crate::domain::simulate::{walk, Facts, Input, Need, TemporalResult};
use crate::handlers::fetch::find_anywhere;
use crate::CallflowsService;

/// Most fetch rounds one simulation may take.
const MAX_ROUNDS: usize = 256;

/// Most digit entries a simulation takes.
const MAX_DIGITS: usize = 64;

struct Request {
    number: String,
    at: DateTime<Utc>,
    caller_id_number: Option<String>,
    digits: Vec<String>,
}

fn parse(data: &Map<String, Value>) -> Result<Request, ApiError> {
    let mut errors = ValidationErrors::new();
    let number = match data.get("number") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            errors.add("number", "required", "Field is required but missing");
            String::new()
        }
        Some(_) => {
            errors.add("number", "type", "Value did not match type(s): string");
            String::new()
        }
    };
    let at_error = "Must be an RFC 3339 date-time or Gregorian seconds";
    let at = match data.get("at") {
        None | Some(Value::Null) => Some(Utc::now()),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|g| DateTime::from_timestamp(time::gregorian_to_unix(g), 0)),
        Some(Value::String(s)) => match s.parse::<i64>() {
            Ok(g) => DateTime::from_timestamp(time::gregorian_to_unix(g), 0),
            Err(_) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        },
        Some(_) => None,
    };
    let at = at.unwrap_or_else(|| {
        errors.add("at", "invalid", at_error);
        Utc::now()
    });
    let digits: Vec<String> = match data.get("digits") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|d| match d {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(_) => {
            errors.add("digits", "type", "Value did not match type(s): array");
            Vec::new()
        }
    };
    if digits.len() > MAX_DIGITS {
        errors.add(
            "digits",
            "maxItems",
            format!("The list is more than {MAX_DIGITS} items"),
        );
    }
    errors.into_result()?;
    Ok(Request {
        number,
        at,
        caller_id_number: data
            .get("caller_id_number")
            .and_then(Value::as_str)
            .map(str::to_string),
        digits,
    })
}

/// Asks office hours to evaluate rules and sets at `at` (no ids: just the account's
/// time zone and local time).
async fn evaluate(
    service: &CallflowsService,
    account_id: &str,
    at: DateTime<Utc>,
    ids: &[String],
) -> Result<Value, ApiError> {
    service
        .bus
        .request(
            TEMPORAL_EVALUATE_SUBJECT,
            json!({"account_id": account_id, "at": at.timestamp(), "ids": ids}),
            DEFAULT_REQUEST_TIMEOUT,
        )
        .await
        .map_err(bus_error)
}

async fn fetch(
    service: &CallflowsService,
    account_id: &str,
    at: DateTime<Utc>,
    need: Need,
    facts: &mut Facts,
) -> Result<(), ApiError> {
    match need {
        Need::Docs(ids) => {
            let mut found = find_anywhere(service, account_id, &ids).await?;
            for id in ids {
                let doc = found.remove(&id);
                facts.docs.insert(id, doc);
            }
        }
        Need::Callflow(id) => {
            let doc = service.docs.find(account_id, CALLFLOW, &id).await?;
            facts.callflows.insert(id, doc.map(|d| d.public()));
        }
        Need::Devices(user_id) => {
            let devices = find_documents(
                service.bus.as_ref(),
                "accounts",
                account_id,
                "device",
                "owner_id",
                &user_id,
            )
            .await?;
            facts.devices.insert(
                user_id,
                devices.into_iter().map(|(id, d)| (id, d.doc)).collect(),
            );
        }
        Need::Temporal(ids) => {
            let answer = evaluate(service, account_id, at, &ids).await?;
            let results: Vec<TemporalResult> = answer
                .get("results")
                .cloned()
                .and_then(|r| serde_json::from_value(r).ok())
                .unwrap_or_default();
            for id in ids {
                let result =
                    results
                        .iter()
                        .find(|r| r.id == id)
                        .cloned()
                        .unwrap_or(TemporalResult {
                            id: id.clone(),
                            kind: None,
                            name: None,
                            active: false,
                            matched_rule_ids: Vec::new(),
                            next_change: None,
                        });
                facts.temporal.insert(id, result);
            }
        }
    }
    Ok(())
}

pub async fn simulate(
    scope: AccountScope,
    service: web::Data<CallflowsService>,
    body: RequestEnvelope,
) -> ApiResult {
    let request = parse(&body.data)?;
    let account_id = scope.account_id();
    let clock = evaluate(&service, account_id, request.at, &[]).await?;
    let mut facts = Facts {
        timezone: clock
            .get("timezone")
            .and_then(Value::as_str)
            .map(str::to_string),
        at_local: clock
            .get("at_local")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Facts::default()
    };
    let mut out = json!({
        "number": request.number,
        "normalized_number": crossbar_numbering::normalize(&request.number),
        "caller_id_number": request.caller_id_number,
        "digits": request.digits,
        "at": request.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "timezone": facts.timezone,
        "at_local": facts.at_local,
    });
    let Some(route) = service.lookup(account_id, &request.number).await? else {
        out["callflow"] = Value::Null;
        out["path"] = json!([]);
        out["outcome"] = json!("no_callflow");
        out["problems"] = json!([{"type": "no_callflow",
            "message": "no callflow matches this number and the account has no no_match callflow"}]);
        return Ok(Reply::ok(out));
    };
    let input = Input {
        digits: request.digits,
    };
    let mut rounds = 0;
    let result = loop {
        match walk(route.callflow_id(), &facts, &input) {
            Ok(result) => break result,
            Err(needs) => {
                rounds += 1;
                if rounds > MAX_ROUNDS {
                    return Err(ApiError::internal("the simulation did not settle"));
                }
                for need in needs {
                    fetch(&service, account_id, request.at, need, &mut facts).await?;
                }
            }
        }
    };
    let mut callflow = serde_json::to_value(&route).unwrap_or(Value::Null);
    if let (Value::Object(map), Some(Some(doc))) =
        (&mut callflow, facts.callflows.get(route.callflow_id()))
    {
        map.insert("id".into(), json!(route.callflow_id()));
        map.remove("callflow_id");
        for key in ["name", "numbers", "patterns"] {
            if let Some(value) = doc.get(key) {
                map.insert(key.into(), value.clone());
            }
        }
    }
    out["callflow"] = callflow;
    out["path"] = Value::Array(result.path);
    out["outcome"] = json!(result.outcome);
    out["problems"] = Value::Array(result.problems);
    Ok(Reply::ok(out))
}

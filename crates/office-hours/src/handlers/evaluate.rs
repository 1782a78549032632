//! "Are we open, and until when?": evaluation of temporal rules and rule sets at an
//! instant, and a rule's next windows (JSON, or an iCalendar feed), in the account's
//! time zone.
//!
//! * `GET /v2/accounts/{A}/temporal_rules/{R}/evaluate?at=...`
//! * `GET /v2/accounts/{A}/temporal_rules_sets/{S}/evaluate?at=...`
//! * `GET /v2/accounts/{A}/temporal_rules/{R}/occurrences?from=...&count=N`
//!   (`Accept: text/calendar`, `?accept=ical` or `?accept=text/calendar`: iCalendar)
//!
//! `at` and `from` are RFC 3339 instants or Gregorian seconds (default: now).

use std::str::FromStr;

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{web, Either, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use crossbar_authz::AccountScope;
use crossbar_crud::{Doc, Documents, Endpoint, StoredDoc};
use crossbar_envelope::request::query_value;
use crossbar_envelope::time::{gregorian_to_unix, unix_to_gregorian};
use crossbar_envelope::{ApiError, Reply};
use serde_json::{json, Map, Value};

use crate::domain::calendar::{self, CalendarEvent};
use crate::domain::rules::{TEMPORAL_RULE, TEMPORAL_RULE_SET};
use crate::domain::temporal::{self, TemporalRule, NEVER};
use crate::{OfficeHoursService, DEFAULT_TIMEZONE};

const TAG: &str = "office_hours";

/// How far ahead `next_change` is searched; a later change is reported as `null`.
pub const NEXT_CHANGE_HORIZON_DAYS: i64 = 731;
/// Windows listed when `count` is not given.
pub const DEFAULT_COUNT: usize = 10;
/// Most windows one request may ask for.
pub const MAX_COUNT: usize = 500;

/// Earliest and latest instants accepted for `at`/`from` (0002-01-01, 9998-12-31 UTC),
/// the range the engine reasons about.
const MIN_UNIX: i64 = -62_104_060_800;
const MAX_UNIX: i64 = 253_370_678_400;

/// Mounts the evaluation routes (before the generic item routes; their extra segment
/// keeps them apart from `/temporal_rules/{id}` anyway).
pub fn configure(service: &OfficeHoursService, cfg: &mut web::ServiceConfig) {
    let data = web::Data::new(service.clone());
    let base = "/v2/accounts/{account_id}";
    let at = "RFC 3339 instant or Gregorian seconds (default: now)";
    Endpoint::new(format!("{base}/temporal_rules/{{id}}/evaluate"), TAG)
        .data(data.clone())
        .get(
            evaluate_rule,
            Doc::read("Is the rule active at `at`, and when does that change").query("at", at),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/temporal_rules_sets/{{id}}/evaluate"), TAG)
        .data(data.clone())
        .get(
            evaluate_set,
            Doc::read("Is any rule of the set active at `at`, and when does that change")
                .query("at", at),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/temporal_rules/{{id}}/occurrences"), TAG)
        .data(data)
        .get(
            occurrences,
            Doc::read("The rule's next windows (JSON, or iCalendar with Accept: text/calendar)")
                .query("from", at)
                .query("count", "How many windows (1..500, default 10)"),
        )
        .register(cfg);
}

/// The zone named `name`, or Kazoo's default (with a warning when a name was given
/// but is not an IANA zone).
pub fn resolve_timezone(account_id: &str, name: Option<&str>) -> Tz {
    let fallback = || Tz::from_str(DEFAULT_TIMEZONE).unwrap_or(chrono_tz::America::Los_Angeles);
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => fallback(),
        Some(name) => Tz::from_str(name).unwrap_or_else(|_| {
            tracing::warn!(
                account_id,
                timezone = name,
                fallback = DEFAULT_TIMEZONE,
                "unknown account time zone"
            );
            fallback()
        }),
    }
}

async fn account_timezone(service: &OfficeHoursService, account_id: &str) -> Result<Tz, ApiError> {
    let name = service.timezones.timezone(account_id).await?;
    Ok(resolve_timezone(account_id, name.as_deref()))
}

/// Reads an instant query parameter: RFC 3339, or Gregorian seconds; absent: now.
/// Sub-second parts are dropped (the engine counts whole seconds).
pub fn instant_param(query: &str, key: &str) -> Result<DateTime<Utc>, ApiError> {
    let Some(raw) = query_value(query, key).filter(|v| !v.trim().is_empty()) else {
        return Ok(whole_seconds(Utc::now()));
    };
    let text = raw.trim();
    let invalid = || {
        ApiError::validation(
            key,
            "type",
            "Value did not match type(s): RFC 3339 date-time or Gregorian seconds",
        )
    };
    let unix = if text.bytes().all(|b| b.is_ascii_digit()) {
        gregorian_to_unix(text.parse::<i64>().map_err(|_| invalid())?)
    } else {
        DateTime::parse_from_rfc3339(text)
            .map_err(|_| invalid())?
            .timestamp()
    };
    if !(MIN_UNIX..=MAX_UNIX).contains(&unix) {
        return Err(ApiError::validation(
            key,
            "range",
            "Value must be between 0002-01-01 and 9998-12-31",
        ));
    }
    DateTime::from_timestamp(unix, 0).ok_or_else(invalid)
}

/// `count`: 1..=500, default 10.
pub fn count_param(query: &str) -> Result<usize, ApiError> {
    let Some(raw) = query_value(query, "count").filter(|v| !v.trim().is_empty()) else {
        return Ok(DEFAULT_COUNT);
    };
    let count: u64 = raw.trim().parse().map_err(|_| {
        ApiError::validation("count", "type", "Value did not match type(s): integer")
    })?;
    if count == 0 {
        return Err(ApiError::validation(
            "count",
            "minimum",
            "Value must be at least 1",
        ));
    }
    if count > MAX_COUNT as u64 {
        return Err(ApiError::validation(
            "count",
            "maximum",
            format!("Value must be at most {MAX_COUNT}"),
        ));
    }
    usize::try_from(count).map_err(|_| ApiError::validation("count", "maximum", "too large"))
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn path_id(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_string()
}

/// A stored rule as the engine reads it; a document it cannot read is a 400 on the rule.
fn engine_rule(id: &str, doc: &Map<String, Value>) -> Result<TemporalRule, String> {
    TemporalRule::from_doc(id, &Value::Object(doc.clone()))
}

/// The live rule `id` of the account (404 if none) and its stored document.
async fn load_rule(
    docs: &Documents,
    account_id: &str,
    id: &str,
) -> Result<(TemporalRule, StoredDoc), ApiError> {
    let stored = docs.load(account_id, TEMPORAL_RULE, id).await?;
    let rule = engine_rule(id, &stored.doc).map_err(|e| {
        ApiError::validation(
            "temporal_rule",
            "invalid",
            format!("Temporal rule {id} cannot be evaluated: {e}"),
        )
    })?;
    Ok((rule, stored))
}

fn evaluation(
    tz: Tz,
    at: DateTime<Utc>,
    matched: Vec<&str>,
    next: Option<DateTime<Utc>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("active".into(), Value::Bool(!matched.is_empty()));
    out.insert("matched_rule_ids".into(), json!(matched));
    out.insert("next_change".into(), json!(next.map(utc_text)));
    out.insert(
        "next_change_local".into(),
        json!(next.map(|t| local_text(t, tz))),
    );
    out.insert(
        "next_change_gregorian".into(),
        json!(next.map(|t| unix_to_gregorian(t.timestamp()))),
    );
    out.insert("timezone".into(), Value::String(tz.name().to_string()));
    out.insert("at".into(), Value::String(utc_text(at)));
    out.insert("at_local".into(), Value::String(local_text(at, tz)));
    out.insert(
        "at_gregorian".into(),
        Value::from(unix_to_gregorian(at.timestamp())),
    );
    out
}

fn horizon() -> Duration {
    Duration::days(NEXT_CHANGE_HORIZON_DAYS)
}

async fn evaluate_rule(
    scope: AccountScope,
    req: HttpRequest,
    service: web::Data<OfficeHoursService>,
) -> Result<Reply, ApiError> {
    let account_id = scope.account_id();
    let id = path_id(&req);
    let at = instant_param(req.query_string(), "at")?;
    let (rule, _) = load_rule(&service.docs, account_id, &id).await?;
    let tz = account_timezone(&service, account_id).await?;
    let rules = std::slice::from_ref(&rule);
    let matched = temporal::matching_rules(rules, at, tz);
    let next = temporal::next_change(&rule, at, tz, horizon());
    let mut data = evaluation(tz, at, matched, next);
    data.insert("id".into(), Value::String(id));
    Ok(Reply::ok(Value::Object(data)))
}

async fn evaluate_set(
    scope: AccountScope,
    req: HttpRequest,
    service: web::Data<OfficeHoursService>,
) -> Result<Reply, ApiError> {
    let account_id = scope.account_id();
    let id = path_id(&req);
    let at = instant_param(req.query_string(), "at")?;
    let set = service
        .docs
        .load(account_id, TEMPORAL_RULE_SET, &id)
        .await?;
    let tz = account_timezone(&service, account_id).await?;

    let mut member_ids: Vec<String> = Vec::new();
    if let Some(Value::Array(ids)) = set.doc.get("temporal_rules") {
        for member in ids.iter().filter_map(Value::as_str) {
            if !member_ids.iter().any(|m| m == member) {
                member_ids.push(member.to_string());
            }
        }
    }
    let mut rules = Vec::with_capacity(member_ids.len());
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    for member in &member_ids {
        match service.docs.find(account_id, TEMPORAL_RULE, member).await? {
            None => missing.push(member.clone()),
            Some(stored) => match engine_rule(member, &stored.doc) {
                Ok(rule) => rules.push(rule),
                Err(e) => {
                    tracing::warn!(account_id, rule_id = %member, error = %e, "temporal rule skipped");
                    invalid.push(member.clone());
                }
            },
        }
    }
    let matched = temporal::matching_rules(&rules, at, tz);
    let next = temporal::next_set_change(&rules, at, tz, horizon());
    let mut data = evaluation(tz, at, matched, next);
    data.insert("id".into(), Value::String(id));
    data.insert("temporal_rules".into(), json!(member_ids));
    data.insert("missing_rule_ids".into(), json!(missing));
    data.insert("invalid_rule_ids".into(), json!(invalid));
    Ok(Reply::ok(Value::Object(data)))
}

/// Whether the client asked for the iCalendar form.
fn wants_ical(req: &HttpRequest) -> bool {
    if let Some(accept) = query_value(req.query_string(), "accept") {
        let accept = accept.trim().to_ascii_lowercase();
        return accept == "ical" || accept == "ics" || accept.starts_with("text/calendar");
    }
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/calendar"))
        })
}

async fn occurrences(
    scope: AccountScope,
    req: HttpRequest,
    service: web::Data<OfficeHoursService>,
) -> Result<Either<Reply, HttpResponse>, ApiError> {
    let account_id = scope.account_id();
    let id = path_id(&req);
    let query = req.query_string();
    let from = instant_param(query, "from")?;
    let count = count_param(query)?;
    let (rule, stored) = load_rule(&service.docs, account_id, &id).await?;
    let tz = account_timezone(&service, account_id).await?;
    let windows = temporal::occurrences(&rule, from, tz, count);

    if wants_ical(&req) {
        let name = stored
            .str_field("name")
            .filter(|n| !n.is_empty())
            .unwrap_or(rule.name.as_str());
        let events: Vec<CalendarEvent> = windows
            .iter()
            .map(|(start, end)| {
                CalendarEvent::new(&id, name, *start, (*end != NEVER).then_some(*end))
            })
            .collect();
        let body = calendar::render(name, &events, whole_seconds(Utc::now()));
        return Ok(Either::Right(
            HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "text/calendar; charset=utf-8"))
                .insert_header((
                    "Content-Disposition",
                    format!("inline; filename=\"{id}.ics\""),
                ))
                .body(body),
        ));
    }

    let rows: Vec<Value> = windows
        .iter()
        .map(|(start, end)| {
            let end = (*end != NEVER).then_some(*end);
            json!({
                "start": utc_text(*start),
                "end": end.map(utc_text),
                "start_local": local_text(*start, tz),
                "end_local": end.map(|e| local_text(e, tz)),
                "start_gregorian": unix_to_gregorian(start.timestamp()),
                "end_gregorian": end.map(|e| unix_to_gregorian(e.timestamp())),
            })
        })
        .collect();
    Ok(Either::Left(Reply::ok(Value::Array(rows))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn instants_parse_rfc3339_and_gregorian_seconds() {
        let a = instant_param("at=2026-03-09T13:00:00Z", "at").unwrap();
        assert_eq!(a.timestamp(), 1_773_061_200);
        let b = instant_param("at=2026-03-09T09:00:00%2B00:00", "at").unwrap();
        assert_eq!(b.timestamp(), 1_773_046_800);
        let g = instant_param("at=63908280000", "at").unwrap();
        assert_eq!(g.timestamp(), 63_908_280_000 - 62_167_219_200);
        let frac = instant_param("at=2026-03-09T13:00:00.750Z", "at").unwrap();
        assert_eq!(frac, a);
        assert!(instant_param("", "at").is_ok());
        for bad in [
            "at=tomorrow",
            "at=-5",
            "at=2026-13-01T00:00:00Z",
            "at=99999999999999",
        ] {
            let err = instant_param(bad, "at").unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{bad}");
            assert!(err.data().get("at").is_some(), "{bad}");
        }
    }

    #[test]
    fn count_defaults_and_bounds() {
        assert_eq!(count_param("").unwrap(), DEFAULT_COUNT);
        assert_eq!(count_param("count=500").unwrap(), 500);
        for bad in ["count=0", "count=501", "count=x", "count=-1"] {
            let err = count_param(bad).unwrap_err();
            assert!(err.data().get("count").is_some(), "{bad}");
        }
    }

    #[test]
    fn unknown_zones_fall_back_to_kazoo_default() {
        assert_eq!(
            resolve_timezone("a", Some("America/New_York")),
            chrono_tz::America::New_York
        );
        assert_eq!(
            resolve_timezone("a", Some("Mars/Olympus")),
            chrono_tz::America::Los_Angeles
        );
        assert_eq!(resolve_timezone("a", None), chrono_tz::America::Los_Angeles);
    }

    #[test]
    fn ical_is_negotiated_by_header_or_query() {
        use actix_web::test::TestRequest;
        let req = TestRequest::default()
            .insert_header((ACCEPT, "application/json, text/calendar;q=0.9"))
            .to_http_request();
        assert!(wants_ical(&req));
        let req = TestRequest::with_uri("/x?accept=ical").to_http_request();
        assert!(wants_ical(&req));
        let req = TestRequest::default()
            .insert_header((ACCEPT, "application/json"))
            .to_http_request();
        assert!(!wants_ical(&req));
    }
}

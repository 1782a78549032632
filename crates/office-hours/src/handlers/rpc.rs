//! Questions other services ask this one over the bus (request-reply).
//!
//! [`TEMPORAL_EVALUATE_SUBJECT`] — the callflow simulator's `temporal_route`:
//! `{"account_id": A, "at": <unix seconds>, "ids": [rule or rule-set ids, in order]}` →
//! `{"timezone": "...", "at": "<RFC 3339>", "results": [{"id", "kind", "name",
//! "active", "matched_rule_ids", "next_change"}]}`, one result per id, in the order
//! asked. `kind` is `temporal_rule`, `temporal_rule_set`, or `null` for an id that is
//! not a live rule or set of the account (`active` false). A set is active when any
//! of its member rules is.
//!
//! [`TEMPORAL_EVALUATE_SUBJECT`]: crossbar_events::subjects::TEMPORAL_EVALUATE_SUBJECT

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat};
use crossbar_events::RequestHandler;
use serde_json::{json, Value};

use crate::domain::rules::{TEMPORAL_RULE, TEMPORAL_RULE_SET};
use crate::domain::temporal::{self, TemporalRule};
use crate::handlers::evaluate::{resolve_timezone, NEXT_CHANGE_HORIZON_DAYS};
use crate::OfficeHoursService;

/// Most ids one evaluation may carry.
const MAX_IDS: usize = 200;

/// Answers [`TEMPORAL_EVALUATE_SUBJECT`](crossbar_events::subjects::TEMPORAL_EVALUATE_SUBJECT).
pub struct TemporalEvaluator {
    pub service: OfficeHoursService,
}

#[async_trait]
impl RequestHandler for TemporalEvaluator {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let account_id = crossbar_events::required_str(&payload, "account_id")?;
        let at = payload
            .get("at")
            .and_then(Value::as_i64)
            .ok_or("at (unix seconds) is required")?;
        let at = DateTime::from_timestamp(at, 0).ok_or("at is out of range")?;
        let ids: Vec<&str> = payload
            .get("ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if ids.len() > MAX_IDS {
            return Err(format!("at most {MAX_IDS} ids per question"));
        }
        let zone = self
            .service
            .timezones
            .timezone(account_id)
            .await
            .map_err(|e| e.to_string())?;
        let tz = resolve_timezone(account_id, zone.as_deref());
        let horizon = Duration::days(NEXT_CHANGE_HORIZON_DAYS);
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let docs = &self.service.docs;
            let found = docs
                .find_any(account_id, id)
                .await
                .map_err(|e| e.to_string())?;
            let Some(stored) =
                found.filter(|d| d.kind == TEMPORAL_RULE || d.kind == TEMPORAL_RULE_SET)
            else {
                results.push(
                    json!({"id": id, "kind": null, "name": null, "active": false,
                    "matched_rule_ids": [], "next_change": null}),
                );
                continue;
            };
            let member_ids: Vec<String> = if stored.kind == TEMPORAL_RULE {
                vec![stored.id.clone()]
            } else {
                stored
                    .doc
                    .get("temporal_rules")
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut rules: Vec<TemporalRule> = Vec::with_capacity(member_ids.len());
            for member in &member_ids {
                let doc = if *member == stored.id {
                    Some(stored.clone())
                } else {
                    docs.find(account_id, TEMPORAL_RULE, member)
                        .await
                        .map_err(|e| e.to_string())?
                };
                if let Some(doc) = doc {
                    match TemporalRule::from_doc(member, &Value::Object(doc.doc.clone())) {
                        Ok(rule) => rules.push(rule),
                        Err(error) => {
                            tracing::warn!(account_id, rule_id = %member, %error, "temporal rule skipped")
                        }
                    }
                }
            }
            let matched: Vec<String> = temporal::matching_rules(&rules, at, tz)
                .into_iter()
                .map(str::to_string)
                .collect();
            let next = temporal::next_set_change(&rules, at, tz, horizon);
            results.push(json!({
                "id": stored.id,
                "kind": stored.kind,
                "name": stored.doc.get("name").cloned().unwrap_or(Value::Null),
                "active": !matched.is_empty(),
                "matched_rule_ids": matched,
                "next_change": next.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            }));
        }
        Ok(json!({
            "timezone": tz.name(),
            "at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "at_local": at.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false),
            "results": results,
        }))
    }
}

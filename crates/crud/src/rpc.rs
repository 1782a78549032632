//! Request-reply over a service's documents, so other services can read what they
//! reference (a callflow's users, menus, rules...) without sharing a database.
//!
//! Question `crossbar.rpc.<service>.documents.get` with
//! `{"account_id": A, "ids": [...], "kinds": [...]?}`; answer
//! `{"documents": {id: {"kind": k, "doc": <public view>}}}` holding only the live
//! documents of account A (ids of other accounts are simply absent).
//!
//! Question `crossbar.rpc.<service>.documents.find` with
//! `{"account_id": A, "kind": k, "field": f, "value": v}`; answer
//! `{"documents": [{"id", "kind", "doc"}]}`: the live documents of that kind whose
//! top-level field `f` equals the string `v` (at most [`MAX_FOUND`], in listing order),
//! e.g. the devices owned by a user.

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_envelope::ApiError;
use crossbar_events::subjects::{documents_find_subject, documents_get_subject};
use crossbar_events::{Bus, BusError, RequestHandler, DEFAULT_REQUEST_TIMEOUT};
use serde_json::{json, Map, Value};

use crate::Documents;

/// Most ids one question may carry.
pub const MAX_IDS: usize = 500;

/// Most documents one `documents.find` answers with.
pub const MAX_FOUND: u64 = 200;

/// Answers document lookups from a service's store.
pub struct DocumentsResponder {
    pub docs: Documents,
}

impl DocumentsResponder {
    /// Registers the responder for `docs`' service on `bus`.
    pub async fn register(bus: &Arc<dyn Bus>, service: &str, docs: Documents) {
        bus.respond(
            &documents_get_subject(service),
            Arc::new(Self { docs: docs.clone() }),
        )
        .await;
        bus.respond(
            &documents_find_subject(service),
            Arc::new(DocumentsFinder { docs }),
        )
        .await;
    }
}

/// Answers `documents.find` from a service's store.
pub struct DocumentsFinder {
    pub docs: Documents,
}

#[async_trait]
impl RequestHandler for DocumentsFinder {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let text = |key: &str| crossbar_events::required_str(&payload, key);
        let (account_id, kind, field, value) = (
            text("account_id")?,
            text("kind")?,
            text("field")?,
            text("value")?,
        );
        if field.is_empty() || field.starts_with("pvt_") || field.contains('.') {
            return Err(format!("cannot search on field {field}"));
        }
        let mut query = crate::ListQuery {
            page_size: MAX_FOUND,
            descending: false,
            ..Default::default()
        };
        query.filters.push(crate::Filter::Equals(
            vec![field.to_string()],
            vec![value.to_string()],
        ));
        let (docs, _) = self
            .docs
            .list(account_id, kind, &query)
            .await
            .map_err(|e| e.to_string())?;
        let found: Vec<Value> = docs
            .iter()
            .map(|d| json!({"id": d.id, "kind": d.kind, "doc": d.public()}))
            .collect();
        Ok(json!({ "documents": found }))
    }
}

/// Asks `service` for the live documents of `kind` in `account_id` whose `field`
/// equals `value` (at most [`MAX_FOUND`]).
pub async fn find_documents(
    bus: &dyn Bus,
    service: &str,
    account_id: &str,
    kind: &str,
    field: &str,
    value: &str,
) -> Result<Vec<(String, RemoteDoc)>, ApiError> {
    let answer = bus
        .request(
            &documents_find_subject(service),
            json!({"account_id": account_id, "kind": kind, "field": field, "value": value}),
            DEFAULT_REQUEST_TIMEOUT,
        )
        .await
        .map_err(bus_error)?;
    Ok(answer
        .get("documents")
        .and_then(Value::as_array)
        .map(|docs| {
            docs.iter()
                .map(|entry| {
                    (
                        entry
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        RemoteDoc {
                            kind: entry
                                .get("kind")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            doc: entry.get("doc").cloned().unwrap_or(Value::Null),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

#[async_trait]
impl RequestHandler for DocumentsResponder {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let account_id = crossbar_events::required_str(&payload, "account_id")?;
        let ids: Vec<&str> = payload
            .get("ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if ids.len() > MAX_IDS {
            return Err(format!("at most {MAX_IDS} ids per question"));
        }
        let kinds: Option<Vec<&str>> = payload
            .get("kinds")
            .and_then(Value::as_array)
            .map(|kinds| kinds.iter().filter_map(Value::as_str).collect());
        let mut found = Map::new();
        for id in ids {
            let Some(doc) = self
                .docs
                .find_any(account_id, id)
                .await
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            if kinds
                .as_ref()
                .is_some_and(|kinds| !kinds.contains(&doc.kind.as_str()))
            {
                continue;
            }
            found.insert(
                doc.id.clone(),
                json!({"kind": doc.kind, "doc": doc.public()}),
            );
        }
        Ok(json!({ "documents": found }))
    }
}

/// A document found by [`fetch_documents`].
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteDoc {
    pub kind: String,
    pub doc: Value,
}

/// Asks `service` for the live documents `ids` of `account_id`. Ids that are not
/// live documents of that account are absent from the answer. A service that is not
/// running answers 503 (`NoResponder`), a slow one 504-like `Timeout`; both map to
/// Kazoo-shaped errors for the caller.
pub async fn fetch_documents(
    bus: &dyn Bus,
    service: &str,
    account_id: &str,
    ids: &[String],
) -> Result<std::collections::HashMap<String, RemoteDoc>, ApiError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let answer = bus
            .request(
                &documents_get_subject(service),
                json!({"account_id": account_id, "ids": chunk}),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await
            .map_err(bus_error)?;
        if let Some(docs) = answer.get("documents").and_then(Value::as_object) {
            for (id, entry) in docs {
                out.insert(
                    id.clone(),
                    RemoteDoc {
                        kind: entry
                            .get("kind")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        doc: entry.get("doc").cloned().unwrap_or(Value::Null),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// A failed cross-service question, as the caller's API error.
pub fn bus_error(error: BusError) -> ApiError {
    match error {
        BusError::Unavailable(_) | BusError::NoResponder(_) | BusError::Timeout(_) => {
            tracing::warn!(%error, "cross-service question unanswered");
            ApiError::system(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "a service this request depends on is unavailable",
            )
        }
        BusError::Failed { .. } => ApiError::internal(error.to_string()),
    }
}

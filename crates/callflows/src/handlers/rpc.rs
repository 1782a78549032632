//! Questions other services ask this one over the bus.
//!
//! [`CALLFLOW_LOOKUP_SUBJECT`]: `{"account_id": A, "number": "..."}` → `{"route": null}`
//! or `{"route": {"matched_by": "number"|"pattern"|"no_match", "callflow_id", ...}}`.
//!
//! [`CALLFLOW_LOOKUP_SUBJECT`]: crossbar_events::subjects::CALLFLOW_LOOKUP_SUBJECT

use async_trait::async_trait;
use crossbar_events::RequestHandler;
use serde_json::{json, Value};

use crate::CallflowsService;

/// Answers [`CALLFLOW_LOOKUP_SUBJECT`](crossbar_events::subjects::CALLFLOW_LOOKUP_SUBJECT).
pub struct Lookup {
    pub service: CallflowsService,
}

#[async_trait]
impl RequestHandler for Lookup {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let text = |key: &str| crossbar_events::required_str(&payload, key);
        let route = self
            .service
            .lookup(text("account_id")?, text("number")?)
            .await
            .map_err(|e| e.to_string())?;
        Ok(json!({ "route": route }))
    }
}

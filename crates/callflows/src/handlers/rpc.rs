//! Questions other services ask this one over the bus.
//!
//! [`LOOKUP_SUBJECT`]: `{"account_id": A, "number": "..."}` → `{"route": null}` or
//! `{"route": {"matched_by": "number"|"pattern"|"no_match", "callflow_id", ...}}`.

use async_trait::async_trait;
use crossbar_events::RequestHandler;
use serde_json::{json, Value};

use crate::CallflowsService;

/// Subject of the routing question.
pub const LOOKUP_SUBJECT: &str = "crossbar.rpc.callflows.lookup";

/// Answers [`LOOKUP_SUBJECT`].
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

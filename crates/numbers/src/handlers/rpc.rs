//! Questions this service answers for others (request-reply).
//!
//! * [`NUMBER_OWNERS_SUBJECT`]: `{"numbers": ["+1415..."]}` → `{"numbers": {"+1415...":
//!   {"assigned_to", "state", "used_by"}}}`, only the numbers the service knows (keys
//!   as asked; each is normalised before the lookup).
//! * [`ACTIVE_PORTS_SUBJECT`]: `{"account_id": A}` → `{"active": bool, "ids": [...]}`,
//!   the account's port requests that are still in progress (answered by
//!   [`crate::events::ActivePorts`]).
//!
//! [`NUMBER_OWNERS_SUBJECT`]: crossbar_events::subjects::NUMBER_OWNERS_SUBJECT
//! [`ACTIVE_PORTS_SUBJECT`]: crossbar_events::subjects::ACTIVE_PORTS_SUBJECT

use async_trait::async_trait;
use crossbar_crud::db::Db;
use crossbar_events::RequestHandler;
use serde_json::{json, Map, Value};

use crate::store::numbers;

/// Most numbers one owners question may carry.
pub const MAX_NUMBERS: usize = 1000;

pub struct OwnersResponder {
    pub db: Db,
}

#[async_trait]
impl RequestHandler for OwnersResponder {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let asked: Vec<&str> = payload
            .get("numbers")
            .and_then(Value::as_array)
            .ok_or("numbers must be a list")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if asked.len() > MAX_NUMBERS {
            return Err(format!("at most {MAX_NUMBERS} numbers per question"));
        }
        let normalised: Vec<String> = asked
            .iter()
            .map(|n| crossbar_numbering::normalize(n))
            .collect();
        let rows = numbers::find_many(&self.db.read, &normalised)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let mut out = Map::new();
        for (asked, number) in asked.iter().zip(&normalised) {
            if let Some(row) = rows.iter().find(|row| &row.number == number) {
                out.insert(
                    (*asked).to_string(),
                    json!({"assigned_to": row.assigned_to, "state": row.state, "used_by": row.used_by}),
                );
            }
        }
        Ok(json!({ "numbers": out }))
    }
}

//! Devices (schema devices.json). The owner, when set, must be a user of the account.

use async_trait::async_trait;
use crossbar_crud::{Documents, ResourceRules, StoredDoc, WriteContext};
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{json, Map, Value};

pub struct DevicesRules {
    pub docs: Documents,
}

#[async_trait]
impl ResourceRules for DevicesRules {
    fn kind(&self) -> &'static str {
        "device"
    }

    fn collection(&self) -> &'static str {
        "devices"
    }

    fn schema(&self) -> &'static str {
        "devices"
    }

    async fn check(
        &self,
        ctx: &WriteContext,
        doc: &Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        if let Some(owner) = doc.get("owner_id").and_then(Value::as_str) {
            if !self.docs.exists(&ctx.account_id, "user", owner).await? {
                return Err(ApiError::Validation(ValidationErrors::single(
                    "owner_id",
                    "not_found",
                    format!("Owner {owner} is not a user of this account"),
                )));
            }
        }
        Ok(())
    }

    fn summary(&self, doc: &StoredDoc) -> Value {
        let d = &doc.doc;
        let get = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
        let mut out = json!({
            "id": doc.id,
            "name": get("name"),
            "username": d.get("sip").and_then(|s| s.get("username")).cloned().unwrap_or(Value::Null),
            "mac_address": get("mac_address"),
            "owner_id": get("owner_id"),
            "enabled": d.get("enabled").cloned().unwrap_or(Value::Bool(true)),
            "device_type": get("device_type"),
            "flags": get("flags"),
        });
        if let Value::Object(map) = &mut out {
            map.retain(|_, v| !v.is_null());
        }
        out
    }
}

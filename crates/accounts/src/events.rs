//! Events of the accounts service.
//!
//! Published (through the outbox): `crossbar.accounts.account.{created,updated,deleted,moved}`,
//! `crossbar.accounts.user.{created,updated,deleted}`,
//! `crossbar.accounts.device.{created,updated,deleted}`. The doc is the public view;
//! credential hashes never leave the service.
//!
//! Consumed: none yet.
//!
//! Answered (request-reply): [`ACCOUNT_GET_SUBJECT`] and the shared document lookup
//! `crossbar.rpc.accounts.documents.get` (users, devices).

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_events::subjects::ACCOUNT_GET_SUBJECT;
use crossbar_events::{Bus, RequestHandler};
use serde_json::{json, Value};

use crate::store::AccountStore;

/// Answers [`ACCOUNT_GET_SUBJECT`] from the accounts table: `{"account_id": A}` →
/// `{"account": null}` or `{"account": {"id", "name", "realm", "timezone", "enabled",
/// "is_reseller", "superduper_admin", "wnm_allow_additions", "tree"}}` (tree: ancestors,
/// root first).
pub struct AccountLookup {
    pub store: AccountStore,
}

#[async_trait]
impl RequestHandler for AccountLookup {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let account_id = crossbar_events::required_str(&payload, "account_id")?;
        let Some(account) = self
            .store
            .get(account_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(json!({ "account": null }));
        };
        let doc: Value = serde_json::from_str(&account.doc).unwrap_or(Value::Null);
        Ok(json!({
            "account": {
                "id": account.id,
                "name": account.name,
                "realm": account.realm,
                "timezone": doc.get("timezone").cloned().unwrap_or(Value::Null),
                "enabled": account.enabled,
                "is_reseller": account.is_reseller,
                "superduper_admin": account.superduper_admin,
                "wnm_allow_additions": doc
                    .get("pvt_wnm_allow_additions")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                "tree": account.tree(),
            }
        }))
    }
}

/// Registers this service's request-reply answers on `bus`.
pub async fn register_responders(
    bus: &Arc<dyn Bus>,
    store: AccountStore,
    docs: crossbar_crud::Documents,
) {
    bus.respond(ACCOUNT_GET_SUBJECT, Arc::new(AccountLookup { store }))
        .await;
    crossbar_crud::rpc::DocumentsResponder::register(bus, "accounts", docs).await;
}

//! Events of the office-hours service.
//!
//! Published (through the outbox, in the transaction of the write):
//! `crossbar.office_hours.temporal_rule.{created,updated,deleted}`,
//! `crossbar.office_hours.temporal_rule_set.{created,updated,deleted}`,
//! `crossbar.office_hours.menu.{created,updated,deleted}`,
//! `crossbar.office_hours.vmbox.{created,updated,deleted}`. Each carries the account id
//! and its tree, the document id and the public view of the document.
//!
//! Consumed: [`ACCOUNT_DELETED_SUBJECT`]. An account is hard-deleted by the accounts
//! service; its office-hours documents (and their unique mailbox numbers) are purged
//! here in turn (idempotent: purging twice removes nothing more).
//!
//! [`ACCOUNT_DELETED_SUBJECT`]: crossbar_events::subjects::ACCOUNT_DELETED_SUBJECT

use async_trait::async_trait;
use crossbar_crud::Documents;
use crossbar_events::subjects::ACCOUNT_GET_SUBJECT;
use crossbar_events::{Event, EventHandler};
use sea_orm::DatabaseConnection;

/// Subject prefix of this service's events.
pub const SUBJECT_PREFIX: &str = "crossbar.office_hours.";

/// Purges the documents of deleted accounts.
pub struct AccountPurger {
    pub db: DatabaseConnection,
}

#[async_trait]
impl EventHandler for AccountPurger {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(account_id) = event.deleted_account() else {
            return Ok(());
        };
        Documents::purge_account(&self.db, account_id)
            .await
            .map_err(|e| format!("purging account {account_id}: {e}"))?;
        crate::store::messages::MessageStore::purge_account(&self.db, account_id)
            .await
            .map_err(|e| format!("purging voicemail messages of {account_id}: {e}"))?;
        tracing::info!(
            account_id,
            "office-hours documents of a deleted account purged"
        );
        Ok(())
    }
}

/// Accounts' time zones, kept from account events; a miss (an account this process
/// has not heard of since it started) asks the accounts service and remembers the
/// answer. One small entry per account.
pub struct TimezoneProjection {
    bus: std::sync::Arc<dyn crossbar_events::Bus>,
    zones: tokio::sync::RwLock<std::collections::HashMap<String, Option<String>>>,
}

impl TimezoneProjection {
    pub fn new(bus: std::sync::Arc<dyn crossbar_events::Bus>) -> Self {
        Self {
            bus,
            zones: tokio::sync::RwLock::default(),
        }
    }

    /// How many accounts the projection holds.
    pub async fn len(&self) -> usize {
        self.zones.read().await.len()
    }

    /// Whether the projection holds no account.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

fn zone_of(doc: &serde_json::Value) -> Option<String> {
    doc.get("timezone")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

#[async_trait]
impl EventHandler for TimezoneProjection {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(account_id) = event.account_id.as_deref() else {
            return Ok(());
        };
        let mut zones = self.zones.write().await;
        if event.subject.ends_with(".deleted") {
            zones.remove(account_id);
        } else if event.doc.is_object() {
            // Idempotent: the document carries the whole current state.
            zones.insert(account_id.to_string(), zone_of(&event.doc));
        }
        Ok(())
    }
}

#[async_trait]
impl crate::AccountTimezones for TimezoneProjection {
    async fn timezone(
        &self,
        account_id: &str,
    ) -> Result<Option<String>, crossbar_envelope::ApiError> {
        if let Some(zone) = self.zones.read().await.get(account_id) {
            return Ok(zone.clone());
        }
        let answer = self
            .bus
            .request(
                ACCOUNT_GET_SUBJECT,
                serde_json::json!({ "account_id": account_id }),
                crossbar_events::DEFAULT_REQUEST_TIMEOUT,
            )
            .await
            .map_err(crossbar_crud::rpc::bus_error)?;
        let account = answer.get("account").filter(|a| a.is_object());
        let Some(account) = account else {
            // Unknown account: not remembered (it may be created later).
            return Ok(None);
        };
        let zone = zone_of(account);
        self.zones
            .write()
            .await
            .insert(account_id.to_string(), zone.clone());
        Ok(zone)
    }
}

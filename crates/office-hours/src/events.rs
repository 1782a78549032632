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

use async_trait::async_trait;
use crossbar_crud::Documents;
use crossbar_events::{Event, EventHandler};
use sea_orm::DatabaseConnection;

/// Subject prefix of this service's events.
pub const SUBJECT_PREFIX: &str = "crossbar.office_hours.";

/// Published by the accounts service when an account is deleted.
pub const ACCOUNT_DELETED_SUBJECT: &str = "crossbar.accounts.account.deleted";

/// Purges the documents of deleted accounts.
pub struct AccountPurger {
    pub db: DatabaseConnection,
}

#[async_trait]
impl EventHandler for AccountPurger {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        if event.subject != ACCOUNT_DELETED_SUBJECT {
            return Ok(());
        }
        let Some(account_id) = event.account_id.as_deref() else {
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

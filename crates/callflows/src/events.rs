//! Events of the callflows service.
//!
//! Published (through the outbox, in the transaction of the write):
//! `crossbar.callflows.callflow.{created,updated,deleted}`, each with the account id
//! and its tree, the callflow id and its public view (numbers normalised), from which
//! the numbers service marks the DIDs `used_by: "callflow"` (and unmarks them).
//!
//! Consumed: this service's own callflow events (an account's compiled patterns are
//! dropped when one of its callflows changes) and [`ACCOUNT_DELETED_SUBJECT`] (the
//! callflows of a deleted account are purged; idempotent).
//!
//! [`ACCOUNT_DELETED_SUBJECT`]: crossbar_events::subjects::ACCOUNT_DELETED_SUBJECT

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_crud::Documents;
use crossbar_events::{Event, EventHandler};
use sea_orm::DatabaseConnection;

use crate::store::PatternCache;

/// Drops an account's compiled patterns when one of its callflows changes or the
/// account is deleted (a broadcast consumer: every replica holds its own cache).
pub struct PatternInvalidator {
    pub cache: Arc<PatternCache>,
}

#[async_trait]
impl EventHandler for PatternInvalidator {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        if let Some(account_id) = event.account_id.as_deref() {
            self.cache.invalidate(account_id);
        }
        Ok(())
    }
}

/// Purges the callflows of deleted accounts (once per service).
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
        Ok(())
    }
}

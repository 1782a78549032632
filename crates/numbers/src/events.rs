//! Events of the numbers service.
//!
//! Published (outbox, in the transaction of the change):
//! `crossbar.numbers.phone_number.{created,updated,state_changed,deleted}` (see
//! [`crate::manager`]) and `crossbar.numbers.port_request.{created,updated,deleted,
//! transitioned,comment_added}`.
//!
//! Consumed:
//! * `crossbar.callflows.callflow.{created,updated,deleted}`: the account's numbers a
//!   live callflow lists are `used_by: "callflow"`; what it no longer lists (all of
//!   them when it is deleted) is unmarked. Which callflow marked a number is kept, so
//!   repeated or reordered events converge.
//! * `crossbar.accounts.account.deleted`: the account's numbers are released and its
//!   port requests that are still in progress are canceled (Kazoo refuses to delete an
//!   account with an active port; this catches any that raced that check).

use async_trait::async_trait;
use crossbar_envelope::time::now_gregorian;
use crossbar_events::subjects::ACCOUNT_DELETED_SUBJECT;
use crossbar_events::{Event, EventHandler, RequestHandler};
use sea_orm::TransactionTrait;
use serde_json::{json, Value};

use crate::domain::ports::PortState;
use crate::manager::NumberManager;
use crate::store::ports;

/// Follows callflows to keep `used_by`.
pub struct CallflowUsage {
    pub manager: NumberManager,
}

#[async_trait]
impl EventHandler for CallflowUsage {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let (Some(account_id), Some(callflow_id)) = (&event.account_id, &event.resource_id) else {
            return Ok(());
        };
        let numbers: Vec<String> = if event.subject.ends_with(".deleted") {
            Vec::new()
        } else if event.subject.ends_with(".created") || event.subject.ends_with(".updated") {
            event
                .doc
                .get("numbers")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(crossbar_numbering::normalize)
                        .filter(|n| crossbar_numbering::is_e164(n))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            return Ok(());
        };
        self.manager
            .mark_callflow(account_id, callflow_id, &numbers)
            .await
            .map_err(|e| format!("marking numbers of callflow {callflow_id}: {e:?}"))
    }
}

/// Releases a deleted account's numbers and cancels its open port requests.
pub struct AccountRemoval {
    pub manager: NumberManager,
}

#[async_trait]
impl EventHandler for AccountRemoval {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        if event.subject != ACCOUNT_DELETED_SUBJECT {
            return Ok(());
        }
        let Some(account_id) = event.account_id.as_deref() else {
            return Ok(());
        };
        let released = self
            .manager
            .release_account(account_id)
            .await
            .map_err(|e| format!("releasing numbers of {account_id}: {e:?}"))?;
        let canceled = cancel_ports(&self.manager, account_id)
            .await
            .map_err(|e| format!("canceling port requests of {account_id}: {e:?}"))?;
        tracing::info!(
            account_id,
            released,
            canceled,
            "numbers of a deleted account released"
        );
        Ok(())
    }
}

async fn cancel_ports(
    manager: &NumberManager,
    account_id: &str,
) -> Result<usize, crossbar_envelope::ApiError> {
    let db_error = crossbar_crud::db::db_error;
    let txn = manager.db.write.begin().await.map_err(db_error)?;
    let mut canceled = 0;
    for mut row in ports::by_account(&txn, account_id).await? {
        let from = PortState::parse(&row.port_state).unwrap_or(PortState::Unconfirmed);
        if !from.is_active() {
            continue;
        }
        let now = now_gregorian();
        let entry = json!({"timestamp": now, "type": "transition", "reason": "account deleted",
                           "transition": {"new": "canceled", "previous": from.as_str()}});
        let mut log = row.transitions();
        log.push(entry.clone());
        row.transitions = Value::Array(log).to_string();
        row.port_state = PortState::Canceled.as_str().into();
        row.modified = now;
        let event = Event::new(format!(
            "{}transitioned",
            crate::handlers::port_requests::EVENT_PREFIX
        ))
        .account(account_id.to_string(), Vec::new())
        .resource(row.id.clone())
        .doc(json!({"transition": entry, "port_state": "canceled"}));
        let rev = row.rev;
        ports::save(&txn, row, Some(rev), false, &[event]).await?;
        canceled += 1;
    }
    txn.commit().await.map_err(db_error)?;
    if let Err(error) = manager.outbox.flush().await {
        tracing::warn!(%error, "outbox flush failed; the relay will retry");
    }
    Ok(canceled)
}

/// Answers [`ACTIVE_PORTS_SUBJECT`](crossbar_events::subjects::ACTIVE_PORTS_SUBJECT).
pub struct ActivePorts {
    pub manager: NumberManager,
}

#[async_trait]
impl RequestHandler for ActivePorts {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let account_id = crossbar_events::required_str(&payload, "account_id")?;
        let ids: Vec<String> = ports::by_account(&self.manager.db.read, account_id)
            .await
            .map_err(|e| format!("{e:?}"))?
            .into_iter()
            .filter(|row| PortState::parse(&row.port_state).is_some_and(PortState::is_active))
            .map(|row| row.id)
            .collect();
        Ok(json!({"active": !ids.is_empty(), "ids": ids}))
    }
}

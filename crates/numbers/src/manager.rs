//! The number manager: the decisions of [`crate::domain::states`] applied to the
//! inventory, each in one transaction with its event (Kazoo's `knm_ops`).
//!
//! Events: `crossbar.numbers.phone_number.{created,updated,state_changed,deleted}`;
//! the document is the number's view plus `assigned_to`, and for `state_changed` the
//! `previous_state` and `previous_assigned_to` (an assignment change is a
//! `state_changed` too).

use std::sync::Arc;

use crossbar_authz::{AccountDirectory, AccountRef};
use crossbar_crud::db::{db_error, Db};
use crossbar_envelope::time::now_gregorian;
use crossbar_envelope::ApiError;
use crossbar_events::subjects::{ACCOUNT_GET_SUBJECT, NUMBER_EVENTS_PREFIX};
use crossbar_events::{Bus, Event, Outbox, DEFAULT_REQUEST_TIMEOUT};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{json, Map, Value};

use crate::domain::errors::{NumberError, OpError};
use crate::domain::states::{self, Actor, Holding, NumberState, Outcome};
use crate::domain::views;
use crate::store::numbers::{self as store, NumberRow};
use crate::store::ports;

/// Who asks, for which account.
pub struct Requestor<'a> {
    /// The `{account_id}` of the path.
    pub account: &'a AccountRef,
    /// The caller's own account.
    pub caller: &'a AccountRef,
    pub directory: &'a dyn AccountDirectory,
    /// The gateway's creation id of the request ([`crossbar_crud::CREATE_ID_HEADER`]):
    /// kept on the numbers it takes or moves, so the same request sent again answers
    /// as its first attempt did.
    pub request_id: Option<&'a str>,
}

impl Requestor<'_> {
    /// What a number keeps of the request that took, moved or released it: the
    /// requested account and the request's creation id (`None` without one).
    fn request_mark(&self) -> Option<String> {
        self.request_id
            .map(|request_id| format!("{}:{request_id}", self.account.id))
    }
}

impl Requestor<'_> {
    fn superduper(&self) -> bool {
        self.caller.superduper_admin
    }

    /// Whether the caller's tree reaches `owner` (a number's current holder).
    async fn reaches(&self, owner: Option<&str>) -> Result<bool, ApiError> {
        let Some(owner) = owner else {
            return Ok(true);
        };
        if self.superduper() || owner == self.caller.id || owner == self.account.id {
            return Ok(true);
        }
        Ok(self
            .directory
            .account(owner)
            .await?
            .is_some_and(|account| account.is_within(&self.caller.id)))
    }

    async fn actor(&self, owner: Option<&str>) -> Result<Actor<'_>, ApiError> {
        self.actor_with(owner, false).await
    }

    /// `allow_additions`: the caller's account has `pvt_wnm_allow_additions` (Kazoo
    /// checks the requestor's account, `auth_by`, not the path's).
    async fn actor_with(
        &self,
        owner: Option<&str>,
        allow_additions: bool,
    ) -> Result<Actor<'_>, ApiError> {
        Ok(Actor {
            account_id: &self.account.id,
            superduper: self.superduper(),
            allow_additions,
            reaches_owner: self.reaches(owner).await?,
        })
    }
}

/// The number manager (cheap to clone).
#[derive(Clone)]
pub struct NumberManager {
    pub db: Db,
    pub outbox: Outbox,
    /// Asks the accounts service about `wnm_allow_additions`.
    pub bus: Arc<dyn Bus>,
}

fn event(action: &str, row: &NumberRow, previous: Option<&Holding>) -> Event {
    let mut doc = views::number_view(row);
    doc["assigned_to"] = json!(row.assigned_to);
    if let Some(previous) = previous {
        doc["previous_state"] = json!(previous.state.as_str());
        doc["previous_assigned_to"] = json!(previous.assigned_to);
    }
    let mut event = Event::new(format!("{NUMBER_EVENTS_PREFIX}{action}"))
        .resource(row.number.clone())
        .doc(doc);
    let account = row
        .assigned_to
        .clone()
        .or_else(|| previous.and_then(|p| p.assigned_to.clone()));
    if let Some(account) = account {
        event = event.account(account, Vec::new());
    }
    event
}

impl NumberManager {
    async fn begin(&self) -> Result<DatabaseTransaction, ApiError> {
        self.db.write.begin().await.map_err(db_error)
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), ApiError> {
        txn.commit().await.map_err(db_error)?;
        if let Err(error) = self.outbox.flush().await {
            tracing::warn!(%error, "outbox flush failed; the relay will retry");
        }
        Ok(())
    }

    /// A number the account holds (404 otherwise: absent, or held elsewhere).
    pub async fn held(&self, number: &str, account_id: &str) -> Result<NumberRow, ApiError> {
        store::find(&self.db.read, number)
            .await?
            .filter(|row| row.assigned_to.as_deref() == Some(account_id))
            .ok_or_else(crate::domain::errors::number_not_found)
    }

    /// Whether `account_id` has Kazoo's `pvt_wnm_allow_additions` (asked of the
    /// accounts service; an unknown account has not). A bus failure is 503: a refusal
    /// would claim what was not checked.
    pub async fn allows_additions(&self, account_id: &str) -> Result<bool, ApiError> {
        let answer = self
            .bus
            .request(
                ACCOUNT_GET_SUBJECT,
                json!({ "account_id": account_id }),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await
            .map_err(|error| {
                tracing::warn!(%error, account_id, "asking the accounts service failed");
                ApiError::Unavailable("accounts service unavailable".into())
            })?;
        Ok(answer["account"]["wnm_allow_additions"]
            .as_bool()
            .unwrap_or(false))
    }

    /// `PUT /phone_numbers/{N}` (and `/port`): creates the number for the account, or
    /// takes a free inventory number. A creation refused for want of rights is tried
    /// again (in a new transaction) when the caller's account allows additions, so the
    /// accounts service is asked only on that path.
    pub async fn create(
        &self,
        number: &str,
        wanted: Option<NumberState>,
        fields: Map<String, Value>,
        who: &Requestor<'_>,
    ) -> Result<NumberRow, OpError> {
        let created = match self
            .create_once(number, wanted, fields.clone(), who, false)
            .await
        {
            Err(OpError::Number(refused))
                if refused == NumberError::unauthorized()
                    && !who.superduper()
                    && self.allows_additions(&who.caller.id).await? =>
            {
                self.create_once(number, wanted, fields, who, true).await
            }
            other => other,
        };
        self.or_earlier_attempt(number, who, created).await
    }

    /// A refused request whose mark (requested account and creation id) the number
    /// carries was carried out by an earlier attempt (its replica died before
    /// answering, and the gateway sent it again): that attempt's result is the answer.
    /// Any later change of the number's holding forgets the mark.
    async fn or_earlier_attempt(
        &self,
        number: &str,
        who: &Requestor<'_>,
        outcome: Result<NumberRow, OpError>,
    ) -> Result<NumberRow, OpError> {
        let (Err(refused), Some(mark)) = (&outcome, who.request_mark()) else {
            return outcome;
        };
        match store::find(&self.db.write, number).await {
            Ok(Some(row)) if row.last_request.as_deref() == Some(mark.as_str()) => {
                tracing::info!(number, request = %mark, error = ?refused, "answered an earlier attempt of the same request");
                Ok(row)
            }
            _ => outcome,
        }
    }

    async fn create_once(
        &self,
        number: &str,
        wanted: Option<NumberState>,
        fields: Map<String, Value>,
        who: &Requestor<'_>,
        allow_additions: bool,
    ) -> Result<NumberRow, OpError> {
        let txn = self.begin().await?;
        if !ports::active_for_number(&txn, number).await?.is_empty() {
            return Err(NumberError::number_is_porting(number).into());
        }
        let existing = store::find(&txn, number).await?;
        let actor = who
            .actor_with(
                existing.as_ref().and_then(|row| row.assigned_to.as_deref()),
                allow_additions,
            )
            .await?;
        let holding = states::create(
            existing.as_ref().map(NumberRow::holding).as_ref(),
            wanted,
            number,
            actor,
        )?;
        let now = now_gregorian();
        let row = match existing {
            Some(mut row) => {
                let previous = row.holding();
                let rev = row.rev;
                row.set_holding(&holding);
                row.set_fields(fields);
                row.modified = now;
                row.last_request = who.request_mark();
                let event = event("state_changed", &row, Some(&previous));
                store::save(&txn, row, Some(rev), Some(&event)).await?
            }
            None => {
                let mut row = NumberRow::new(number, &holding, now);
                row.set_fields(fields);
                row.last_request = who.request_mark();
                let event = event("created", &row, None);
                store::save(&txn, row, None, Some(&event)).await?
            }
        };
        self.commit(txn).await?;
        Ok(row)
    }

    /// Activate, reserve and the admin moves: the number to `to` for the account.
    pub async fn move_to(
        &self,
        number: &str,
        to: NumberState,
        who: &Requestor<'_>,
    ) -> Result<NumberRow, OpError> {
        let moved = self.move_once(number, to, who).await;
        self.or_earlier_attempt(number, who, moved).await
    }

    async fn move_once(
        &self,
        number: &str,
        to: NumberState,
        who: &Requestor<'_>,
    ) -> Result<NumberRow, OpError> {
        let txn = self.begin().await?;
        let Some(mut row) = store::find(&txn, number).await? else {
            return Err(OpError::Api(crate::domain::errors::number_not_found()));
        };
        let actor = who.actor(row.assigned_to.as_deref()).await?;
        let previous = row.holding();
        match states::move_to(&previous, to, actor)? {
            Outcome::Unchanged => Ok(row),
            Outcome::Moved(next) => {
                let rev = row.rev;
                row.set_holding(&next);
                row.last_request = who.request_mark();
                if next.assigned_to != previous.assigned_to {
                    // A number changing hands loses what its last holder routed on it.
                    row.used_by = None;
                    row.used_by_id = None;
                }
                row.modified = now_gregorian();
                let event = event("state_changed", &row, Some(&previous));
                let row = store::save(&txn, row, Some(rev), Some(&event)).await?;
                self.commit(txn).await?;
                Ok(row)
            }
        }
    }

    /// `DELETE /phone_numbers/{N}`: release from the account (`knm_ops:release`).
    pub async fn release(&self, number: &str, who: &Requestor<'_>) -> Result<NumberRow, OpError> {
        let released = self.release_once(number, who).await;
        self.or_earlier_attempt(number, who, released).await
    }

    async fn release_once(&self, number: &str, who: &Requestor<'_>) -> Result<NumberRow, OpError> {
        let txn = self.begin().await?;
        let Some(mut row) = store::find(&txn, number)
            .await?
            .filter(|row| row.assigned_to.as_deref() == Some(who.account.id.as_str()))
        else {
            return Err(OpError::Api(crate::domain::errors::number_not_found()));
        };
        let actor = who.actor(row.assigned_to.as_deref()).await?;
        let previous = row.holding();
        let next = states::release(&previous, actor)?;
        let row = self
            .apply_release(&txn, &mut row, previous, next, who.request_mark())
            .await?;
        self.commit(txn).await?;
        Ok(row)
    }

    async fn apply_release(
        &self,
        txn: &DatabaseTransaction,
        row: &mut NumberRow,
        previous: Holding,
        next: Holding,
        request_mark: Option<String>,
    ) -> Result<NumberRow, ApiError> {
        let rev = row.rev;
        row.set_holding(&next);
        row.last_request = request_mark;
        // Release resets features and public fields (knm_number:release).
        row.set_fields(Map::new());
        row.used_by = None;
        row.used_by_id = None;
        row.ported_in = false;
        row.port_id = None;
        row.modified = now_gregorian();
        let event = event("state_changed", row, Some(&previous));
        store::save(txn, row.clone(), Some(rev), Some(&event)).await
    }

    /// `DELETE ...?hard=true` (superduper): removes the number for good.
    pub async fn hard_delete(&self, number: &str, account_id: &str) -> Result<NumberRow, ApiError> {
        let txn = self.begin().await?;
        let row = store::find(&txn, number)
            .await?
            .filter(|row| row.assigned_to.as_deref() == Some(account_id))
            .ok_or_else(crate::domain::errors::number_not_found)?;
        let event = event("deleted", &row, Some(&row.holding()));
        store::remove(&txn, number, row.rev, Some(&event)).await?;
        self.commit(txn).await?;
        Ok(row)
    }

    /// POST/PATCH: replaces or merges the public fields of a held number.
    pub async fn update_fields(
        &self,
        number: &str,
        account_id: &str,
        fields: Map<String, Value>,
        merge: bool,
    ) -> Result<NumberRow, ApiError> {
        let txn = self.begin().await?;
        let mut row = store::find(&txn, number)
            .await?
            .filter(|row| row.assigned_to.as_deref() == Some(account_id))
            .ok_or_else(crate::domain::errors::number_not_found)?;
        let rev = row.rev;
        let next = if merge {
            let mut current = row.fields();
            crossbar_crud::json::deep_merge(&mut current, &fields);
            current
        } else {
            fields
        };
        row.set_fields(next);
        row.modified = now_gregorian();
        let event = event("updated", &row, None);
        let row = store::save(&txn, row, Some(rev), Some(&event)).await?;
        self.commit(txn).await?;
        Ok(row)
    }

    /// Port completion: each number `in_service` in the request's account with
    /// `ported_in` and `port_id`, whatever it was before (the port authority decided).
    pub async fn complete_port(
        &self,
        txn: &DatabaseTransaction,
        numbers: &[String],
        account_id: &str,
        port_id: &str,
    ) -> Result<(), ApiError> {
        let now = now_gregorian();
        for number in numbers {
            let holding = Holding {
                state: NumberState::InService,
                assigned_to: Some(account_id.to_string()),
                reserve_history: Vec::new(),
            };
            let (mut row, rev, previous) = match store::find(txn, number).await? {
                Some(row) => {
                    let previous = row.holding();
                    let rev = row.rev;
                    (row, Some(rev), Some(previous))
                }
                None => (NumberRow::new(number, &holding, now), None, None),
            };
            row.set_holding(&holding);
            row.ported_in = true;
            row.port_id = Some(port_id.to_string());
            row.modified = now;
            let action = if previous.is_some() {
                "state_changed"
            } else {
                "created"
            };
            let event = event(action, &row, previous.as_ref());
            store::save(txn, row, rev, Some(&event)).await?;
        }
        Ok(())
    }

    /// The numbers of `account_id` a callflow routes: marks `numbers` as used by the
    /// callflow and unmarks what it marked before and no longer lists. Idempotent.
    pub async fn mark_callflow(
        &self,
        account_id: &str,
        callflow_id: &str,
        numbers: &[String],
    ) -> Result<(), ApiError> {
        let txn = self.begin().await?;
        let now = now_gregorian();
        for mut row in store::used_by_callflow(&txn, account_id, callflow_id).await? {
            if numbers.contains(&row.number) {
                continue;
            }
            let rev = row.rev;
            row.used_by = None;
            row.used_by_id = None;
            row.modified = now;
            let event = event("updated", &row, None);
            store::save(&txn, row, Some(rev), Some(&event)).await?;
        }
        for mut row in store::find_many(&txn, numbers).await? {
            let already = row.used_by.as_deref() == Some("callflow")
                && row.used_by_id.as_deref() == Some(callflow_id);
            if already || row.assigned_to.as_deref() != Some(account_id) {
                continue;
            }
            let rev = row.rev;
            row.used_by = Some("callflow".into());
            row.used_by_id = Some(callflow_id.to_string());
            row.modified = now;
            let event = event("updated", &row, None);
            store::save(&txn, row, Some(rev), Some(&event)).await?;
        }
        self.commit(txn).await
    }

    /// A deleted account's numbers are released (no authorisation: the account is
    /// gone). Idempotent: a second run finds nothing held.
    pub async fn release_account(&self, account_id: &str) -> Result<usize, ApiError> {
        let txn = self.begin().await?;
        let held = store::by_account(&txn, account_id).await?;
        let count = held.len();
        for mut row in held {
            let previous = row.holding();
            let mut history = previous.reserve_history.clone();
            history.retain(|account| account != account_id);
            let next = match history.first().cloned() {
                Some(holder) => Holding {
                    state: NumberState::Reserved,
                    assigned_to: Some(holder),
                    reserve_history: history,
                },
                None => Holding {
                    state: NumberState::Available,
                    assigned_to: None,
                    reserve_history: Vec::new(),
                },
            };
            self.apply_release(&txn, &mut row, previous, next, None)
                .await?;
        }
        self.commit(txn).await?;
        Ok(count)
    }
}

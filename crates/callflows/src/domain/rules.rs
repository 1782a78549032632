//! Callflows as a resource of the shared document store: normalisation before any
//! check, `numbers.required`, valid patterns, DIDs the caller may use, and numbers
//! and patterns unique in the account (unique keys, so it holds under concurrent
//! writes; the holder is named in the error).

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_authz::AccountDirectory;
use crossbar_crud::{ResourceRules, StoredDoc, UniqueClaim, WriteContext};
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{Map, Value};

use crate::owners::NumberOwners;

use super::callflow::{self, CALLFLOW, NUMBER_CLAIM, PATTERN_CLAIM};

/// `/callflows` (schema `callflows`).
pub struct CallflowsRules {
    /// Who owns a DID (a projection of the numbers service's events).
    pub owners: Arc<NumberOwners>,
    pub directory: Arc<dyn AccountDirectory>,
}

impl CallflowsRules {
    /// Kazoo's rule (`knm` with `auth_by` = the caller's account): a number assigned
    /// to an account may be used by a caller whose account is that account or one of
    /// its ancestors (or a superduper admin); unassigned or unknown numbers are free.
    async fn authorized(&self, ctx: &WriteContext, assigned_to: &str) -> Result<bool, ApiError> {
        if ctx.caller_is_superduper || assigned_to == ctx.caller_account_id {
            return Ok(true);
        }
        Ok(self
            .directory
            .account(assigned_to)
            .await?
            .is_some_and(|owner| owner.is_within(&ctx.caller_account_id)))
    }

    /// 403 "unauthorized to use N1, N2" for DIDs owned outside the caller's tree.
    async fn check_ownership(
        &self,
        ctx: &WriteContext,
        doc: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        let dids: Vec<String> = callflow::strings(doc, "numbers")
            .into_iter()
            .filter(|n| crossbar_numbering::is_e164(n))
            .collect();
        if dids.is_empty() {
            return Ok(());
        }
        let owners = self.owners.owners(&dids).await?;
        let mut unauthorized: Vec<String> = Vec::new();
        for did in &dids {
            if let Some(owner) = owners.get(did) {
                if !self.authorized(ctx, owner).await? {
                    unauthorized.push(did.clone());
                }
            }
        }
        if unauthorized.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(Some(format!(
                "unauthorized to use {}",
                unauthorized.join(", ")
            ))))
        }
    }
}

fn holder_name(holder: Option<&StoredDoc>) -> (&str, &str) {
    match holder {
        Some(doc) => (doc.id.as_str(), doc.str_field("name").unwrap_or("")),
        None => ("", ""),
    }
}

#[async_trait]
impl ResourceRules for CallflowsRules {
    fn kind(&self) -> &'static str {
        CALLFLOW
    }

    fn collection(&self) -> &'static str {
        "callflows"
    }

    fn schema(&self) -> &'static str {
        "callflows"
    }

    /// Numbers are normalised before anything else looks at them.
    async fn prepare(
        &self,
        _ctx: &WriteContext,
        data: &mut Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        callflow::normalize_numbers(data);
        Ok(())
    }

    async fn check(
        &self,
        ctx: &WriteContext,
        doc: &Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        let mut errors = callflow::require_number_or_pattern(doc);
        errors.merge(callflow::invalid_patterns(doc));
        errors.into_result()?;
        self.check_ownership(ctx, doc).await
    }

    fn unique_claims(&self, doc: &Map<String, Value>) -> Vec<UniqueClaim> {
        let numbers = callflow::strings(doc, "numbers")
            .into_iter()
            .map(|n| UniqueClaim {
                claim: NUMBER_CLAIM.into(),
                error: callflow::number_conflict(&n, "", ""),
                value: n,
            });
        let patterns = callflow::strings(doc, "patterns")
            .into_iter()
            .map(|p| UniqueClaim {
                claim: PATTERN_CLAIM.into(),
                error: callflow::pattern_conflict(&p, "", ""),
                value: p,
            });
        numbers.chain(patterns).collect()
    }

    /// Names the callflow that holds the number or pattern, as Kazoo does.
    fn claim_conflict(&self, claim: &UniqueClaim, holder: Option<&StoredDoc>) -> ValidationErrors {
        let (id, name) = holder_name(holder);
        if claim.claim == PATTERN_CLAIM {
            callflow::pattern_conflict(&claim.value, id, name)
        } else {
            callflow::number_conflict(&claim.value, id, name)
        }
    }

    /// Listed by id, as Kazoo's view is.
    fn sort_key(&self, _doc: &Map<String, Value>) -> String {
        String::new()
    }

    fn summary(&self, doc: &StoredDoc) -> Value {
        callflow::summary(doc)
    }
}

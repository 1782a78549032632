//! The callflows service's database: the shared document store (callflows are
//! documents; their numbers and patterns are unique keys), plus the reads routing
//! needs and the per-account cache of compiled patterns.

pub mod migrations;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crossbar_crud::db::db_error;
use crossbar_crud::store::unique_key;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::domain::callflow::{CALLFLOW, NUMBER_CLAIM, PATTERN_CLAIM};
use crate::domain::routing::{PatternEntry, PatternSet};
pub use migrations::Migrator;

/// The callflow holding `number` in the account (an index lookup).
pub async fn number_holder(
    docs: &Documents,
    account_id: &str,
    number: &str,
) -> Result<Option<String>, ApiError> {
    docs.claim_holder(account_id, CALLFLOW, NUMBER_CLAIM, number)
        .await
}

/// Every pattern of the account's live callflows (a range scan of the unique keys).
pub async fn patterns_of(
    docs: &Documents,
    account_id: &str,
) -> Result<Vec<PatternEntry>, ApiError> {
    let rows = unique_key::Entity::find()
        .filter(unique_key::Column::Scope.eq(format!("{account_id}:{CALLFLOW}")))
        .filter(unique_key::Column::Claim.eq(PATTERN_CLAIM))
        .all(docs.read_db())
        .await
        .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|row| PatternEntry {
            pattern: row.value,
            callflow_id: row.doc_id,
        })
        .collect())
}

#[derive(Default)]
struct Slot {
    generation: u64,
    set: Option<Arc<PatternSet>>,
}

/// Compiled patterns per account, dropped when one of the account's callflows
/// changes. A generation counter keeps a set compiled from data read before a
/// change from being cached after it.
#[derive(Default)]
pub struct PatternCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl PatternCache {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached set, or the generation to compile one for.
    fn get(&self, account_id: &str) -> Result<Arc<PatternSet>, u64> {
        let slots = self.slots();
        match slots.get(account_id) {
            Some(Slot { set: Some(set), .. }) => Ok(set.clone()),
            Some(slot) => Err(slot.generation),
            None => Err(0),
        }
    }

    fn put(&self, account_id: &str, generation: u64, set: Arc<PatternSet>) {
        let mut slots = self.slots();
        let slot = slots.entry(account_id.to_string()).or_default();
        if slot.generation == generation {
            slot.set = Some(set);
        }
    }

    /// Forgets the account's compiled patterns.
    pub fn invalidate(&self, account_id: &str) {
        let mut slots = self.slots();
        let slot = slots.entry(account_id.to_string()).or_default();
        slot.generation += 1;
        slot.set = None;
    }

    /// The account's compiled patterns, compiled from the store on a miss.
    pub async fn patterns(
        &self,
        docs: &Documents,
        account_id: &str,
    ) -> Result<Arc<PatternSet>, ApiError> {
        match self.get(account_id) {
            Ok(set) => Ok(set),
            Err(generation) => {
                let entries = patterns_of(docs, account_id).await?;
                let set = Arc::new(PatternSet::build(entries));
                self.put(account_id, generation, set.clone());
                Ok(set)
            }
        }
    }

    /// Whether the account's patterns are compiled (for tests).
    pub fn is_cached(&self, account_id: &str) -> bool {
        self.get(account_id).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_compiled_before_a_change_is_not_kept() {
        let cache = PatternCache::default();
        let Err(generation) = cache.get("a") else {
            panic!("nothing cached yet");
        };
        cache.invalidate("a");
        cache.put("a", generation, Arc::new(PatternSet::empty()));
        assert!(!cache.is_cached("a"));
        let Err(generation) = cache.get("a") else {
            panic!("nothing cached");
        };
        cache.put("a", generation, Arc::new(PatternSet::empty()));
        assert!(cache.is_cached("a"));
        cache.invalidate("a");
        assert!(!cache.is_cached("a"));
    }
}

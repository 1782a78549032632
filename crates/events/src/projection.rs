//! The map behind a per-process projection: what a process keeps of another service's
//! state, fed by that service's events and by answers to its questions.
//!
//! Entries carry when they were last confirmed, so a reader can tell a fresh entry from
//! one to ask again (and still serve when nobody answers); the map is bounded and starts
//! over when full (a projection can always be rebuilt from events and questions).
//! [`ProjectionMap::get_or_ask`] is that reading policy, shared by the projections.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// How long an entry is trusted without asking its owner again. Events keep entries
/// current; this only bounds how long a missed event could go unnoticed.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// What a projection knows of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known<V> {
    /// Confirmed within the max age.
    Fresh(V),
    /// Older than the max age: ask again, serve this when nobody answers.
    Stale(V),
    Unknown,
}

struct Entry<V> {
    value: V,
    confirmed: Instant,
}

/// A bounded map of confirmed values by key.
pub struct ProjectionMap<V> {
    entries: RwLock<HashMap<String, Entry<V>>>,
    max_age: Duration,
    capacity: usize,
}

impl<V: Clone> ProjectionMap<V> {
    pub fn new(max_age: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::default(),
            max_age,
            capacity,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &str) -> Known<V> {
        match self.read().get(key) {
            Some(entry) if entry.confirmed.elapsed() < self.max_age => {
                Known::Fresh(entry.value.clone())
            }
            Some(entry) => Known::Stale(entry.value.clone()),
            None => Known::Unknown,
        }
    }

    fn put(&self, entries: &mut HashMap<String, Entry<V>>, key: &str, value: V) {
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(
            key.to_string(),
            Entry {
                value,
                confirmed: Instant::now(),
            },
        );
    }

    /// Stores `value` as confirmed now (an event, or an answer replacing a stale entry).
    pub fn insert(&self, key: &str, value: V) {
        let mut entries = self.write();
        self.put(&mut entries, key, value);
    }

    /// Stores an answer to a question unless an entry arrived meanwhile (an event is
    /// newer than the answer); returns what the map holds.
    pub fn insert_if_absent(&self, key: &str, value: V) -> V {
        let mut entries = self.write();
        if let Some(entry) = entries.get(key) {
            return entry.value.clone();
        }
        self.put(&mut entries, key, value.clone());
        value
    }

    pub fn remove(&self, key: &str) {
        self.write().remove(key);
    }

    /// Keeps only the entries `keep` says to keep.
    pub fn retain(&self, mut keep: impl FnMut(&str, &V) -> bool) {
        self.write().retain(|key, entry| keep(key, &entry.value));
    }

    /// The value of `key`: a fresh entry as it is; otherwise what `ask` (a question to
    /// the owning service; `None`: it knows no such key) answers, remembered. A stale
    /// entry the owner no longer knows is forgotten; an unknown key is not remembered
    /// (it may appear later).
    ///
    /// When `ask` fails (the owner or the bus is away), a stale entry is served: an old
    /// value beats refusing every request for it. An unknown key has nothing to serve,
    /// so the error is the answer.
    pub async fn get_or_ask<E, Answer>(
        &self,
        key: &str,
        ask: impl FnOnce() -> Answer,
    ) -> Result<Option<V>, E>
    where
        E: Display,
        Answer: Future<Output = Result<Option<V>, E>>,
    {
        match self.get(key) {
            Known::Fresh(value) => Ok(Some(value)),
            Known::Stale(stale) => match ask().await {
                Ok(Some(value)) => {
                    self.insert(key, value.clone());
                    Ok(Some(value))
                }
                Ok(None) => {
                    self.remove(key);
                    Ok(None)
                }
                Err(error) => {
                    tracing::warn!(key, %error, "owner unreachable; serving the stale projected entry");
                    Ok(Some(stale))
                }
            },
            Known::Unknown => match ask().await? {
                Some(value) => Ok(Some(self.insert_if_absent(key, value))),
                None => Ok(None),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_fresh_then_stale_and_events_win_over_answers() {
        let map = ProjectionMap::new(Duration::from_secs(60), 10);
        assert_eq!(map.get("a"), Known::Unknown);
        map.insert("a", 1);
        assert_eq!(map.get("a"), Known::Fresh(1));
        assert_eq!(map.insert_if_absent("a", 2), 1);
        assert_eq!(map.insert_if_absent("b", 3), 3);
        map.retain(|key, _| key != "a");
        assert_eq!(map.get("a"), Known::Unknown);
        map.remove("b");
        assert!(map.is_empty());

        let old = ProjectionMap::new(Duration::ZERO, 10);
        old.insert("a", 1);
        assert_eq!(old.get("a"), Known::Stale(1));
    }

    /// Counts the questions `get_or_ask` puts to the owner, which answers `answer`.
    fn owner(
        asked: &std::cell::Cell<usize>,
        answer: Result<Option<i32>, &'static str>,
    ) -> impl Future<Output = Result<Option<i32>, &'static str>> {
        asked.set(asked.get() + 1);
        std::future::ready(answer)
    }

    #[tokio::test]
    async fn get_or_ask_asks_on_a_miss_and_when_stale_and_serves_stale_when_nobody_answers() {
        let asked = std::cell::Cell::new(0);
        let map = ProjectionMap::new(Duration::from_secs(60), 10);
        // A miss asks and remembers; the next read is fresh and asks nothing.
        assert_eq!(
            map.get_or_ask("a", || owner(&asked, Ok(Some(1)))).await,
            Ok(Some(1))
        );
        assert_eq!(
            map.get_or_ask("a", || owner(&asked, Ok(Some(2)))).await,
            Ok(Some(1))
        );
        assert_eq!(asked.get(), 1);
        // Unknown to the owner: not remembered. A miss with nobody to ask: the error.
        assert_eq!(
            map.get_or_ask("b", || owner(&asked, Ok(None))).await,
            Ok(None)
        );
        assert_eq!(map.get("b"), Known::Unknown);
        assert_eq!(
            map.get_or_ask("b", || owner(&asked, Err("away"))).await,
            Err("away")
        );

        let stale = ProjectionMap::new(Duration::ZERO, 10);
        stale.insert("a", 1);
        // Stale, owner away: the old value. Owner back: its answer replaces it.
        assert_eq!(
            stale.get_or_ask("a", || owner(&asked, Err("away"))).await,
            Ok(Some(1))
        );
        assert_eq!(
            stale.get_or_ask("a", || owner(&asked, Ok(Some(2)))).await,
            Ok(Some(2))
        );
        assert_eq!(stale.get("a"), Known::Stale(2));
        // Stale and gone at the owner: forgotten.
        assert_eq!(
            stale.get_or_ask("a", || owner(&asked, Ok(None))).await,
            Ok(None)
        );
        assert!(stale.is_empty());
    }

    #[test]
    fn a_full_map_starts_over() {
        let map = ProjectionMap::new(Duration::from_secs(60), 2);
        map.insert("a", 1);
        map.insert("b", 2);
        map.insert("b", 3);
        assert_eq!(map.len(), 2);
        map.insert("c", 4);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("c"), Known::Fresh(4));
    }
}

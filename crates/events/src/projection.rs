//! The map behind a per-process projection: what a process keeps of another service's
//! state, fed by that service's events and by answers to its questions.
//!
//! Entries carry when they were last confirmed, so a reader can tell a fresh entry from
//! one to ask again (and still serve when nobody answers); the map is bounded and starts
//! over when full (a projection can always be rebuilt from events and questions).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

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

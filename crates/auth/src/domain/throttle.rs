//! Login throttling: failed logins counted in a sliding window, in memory.
//!
//! Three limits, all over the same window (default 5 minutes):
//! * one account selector from one client address: `per_selector_address` failures;
//! * one client address, whatever it tries: `per_address` failures;
//! * one account selector from all addresses together: `per_selector` failures. This
//!   one only blocks addresses that have failures of their own against that selector,
//!   so that a spray from elsewhere cannot lock the real user (who logs in from a clean
//!   address) out.
//!
//! Time is passed in (unix seconds), so the rules are tested without sleeping. Memory
//! is bounded: each counter keeps at most as many timestamps as its limit needs, and
//! keys whose newest failure left the window are pruned.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

/// Limits of the login throttle.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleConfig {
    /// Length of the sliding window, seconds.
    pub window_secs: i64,
    /// Failures of one selector from one address before 429.
    pub per_selector_address: usize,
    /// Failures from one address (any selector) before 429.
    pub per_address: usize,
    /// Failures of one selector from all addresses before 429 (for addresses that
    /// failed against it themselves).
    pub per_selector: usize,
    /// Most keys each counter table tracks; the oldest are dropped beyond it.
    pub max_tracked_keys: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            window_secs: 300,
            per_selector_address: 5,
            per_address: 20,
            per_selector: 50,
            max_tracked_keys: 100_000,
        }
    }
}

/// The newest failure times of one key, oldest first, at most `cap` of them.
#[derive(Debug, Default)]
struct Failures {
    times: VecDeque<i64>,
}

impl Failures {
    fn record(&mut self, now: i64, cap: usize) {
        self.times.push_back(now);
        while self.times.len() > cap.max(1) {
            self.times.pop_front();
        }
    }

    fn count(&self, now: i64, window: i64) -> usize {
        self.times
            .iter()
            .rev()
            .take_while(|t| now - **t < window)
            .count()
    }

    /// Removes one failure recorded at `at` (the newest such), if any.
    fn forget(&mut self, at: i64) {
        if let Some(index) = self.times.iter().rposition(|t| *t == at) {
            self.times.remove(index);
        }
    }

    fn newest(&self) -> Option<i64> {
        self.times.back().copied()
    }

    /// Seconds until fewer than `limit` failures are left in the window, if the limit
    /// is reached now.
    fn over_limit(&self, now: i64, window: i64, limit: usize) -> Option<u64> {
        let limit = limit.max(1);
        if self.count(now, window) < limit {
            return None;
        }
        // The limit-th newest failure; the count drops below the limit when it leaves.
        let index = self.times.len().checked_sub(limit)?;
        let oldest_counted = *self.times.get(index)?;
        Some(seconds_left(oldest_counted, now, window))
    }
}

fn seconds_left(failed_at: i64, now: i64, window: i64) -> u64 {
    u64::try_from(failed_at + window - now).unwrap_or(0).max(1)
}

#[derive(Debug, Default)]
struct Tables {
    pairs: HashMap<(String, String), Failures>,
    addresses: HashMap<String, Failures>,
    selectors: HashMap<String, Failures>,
    operations: u64,
}

/// How often (in recorded failures) expired keys are swept.
const SWEEP_EVERY: u64 = 1024;

/// The login throttle. Cheap to share (`Arc`); all methods take `&self`.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    tables: Mutex<Tables>,
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            tables: Mutex::new(Tables::default()),
        }
    }

    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// `Err(retry_after_secs)` when a login naming `selectors` from `address` must be
    /// refused now. Read-only; a login uses [`LoginThrottle::begin_attempt`].
    pub fn check(&self, selectors: &[String], address: &str, now: i64) -> Result<(), u64> {
        // A poisoned lock means a panic elsewhere; fail closed for a short while.
        let tables = self.tables.lock().map_err(|_| 1_u64)?;
        self.check_locked(&tables, selectors, address, now)
    }

    fn check_locked(
        &self,
        tables: &Tables,
        selectors: &[String],
        address: &str,
        now: i64,
    ) -> Result<(), u64> {
        let window = self.config.window_secs;
        let mut retry: Option<u64> = None;
        let mut block = |secs: u64| retry = Some(retry.map_or(secs, |r| r.max(secs)));

        if let Some(secs) = tables
            .addresses
            .get(address)
            .and_then(|f| f.over_limit(now, window, self.config.per_address))
        {
            block(secs);
        }
        for selector in selectors {
            let pair = tables.pairs.get(&(selector.clone(), address.to_string()));
            if let Some(secs) =
                pair.and_then(|f| f.over_limit(now, window, self.config.per_selector_address))
            {
                block(secs);
            }
            let own_failure = pair
                .and_then(Failures::newest)
                .filter(|t| now - *t < window);
            if let Some(own_failure) = own_failure {
                if let Some(secs) = tables
                    .selectors
                    .get(selector)
                    .and_then(|f| f.over_limit(now, window, self.config.per_selector))
                {
                    // Lifted when either the selector cools down or this address's
                    // own failures against it leave the window.
                    block(secs.min(seconds_left(own_failure, now, window)));
                }
            }
        }
        match retry {
            Some(secs) => Err(secs),
            None => Ok(()),
        }
    }

    /// Starts a login attempt: checks the limits and, in the same step, counts the
    /// attempt as a failure, so that concurrent guesses cannot all pass the check
    /// before any of them is counted. Settle it with [`LoginThrottle::record_success`]
    /// or [`LoginThrottle::forget_attempt`]; a wrong password needs nothing more.
    pub fn begin_attempt(&self, selectors: &[String], address: &str, now: i64) -> Result<(), u64> {
        let mut tables = self.tables.lock().map_err(|_| 1_u64)?;
        self.check_locked(&tables, selectors, address, now)?;
        self.record_locked(&mut tables, selectors, address, now);
        Ok(())
    }

    /// Records a failed login (wrong credentials).
    pub fn record_failure(&self, selectors: &[String], address: &str, now: i64) {
        if let Ok(mut tables) = self.tables.lock() {
            self.record_locked(&mut tables, selectors, address, now);
        }
    }

    fn record_locked(&self, tables: &mut Tables, selectors: &[String], address: &str, now: i64) {
        let config = &self.config;
        tables
            .addresses
            .entry(address.to_string())
            .or_default()
            .record(now, config.per_address);
        for selector in selectors {
            tables
                .pairs
                .entry((selector.clone(), address.to_string()))
                .or_default()
                .record(now, config.per_selector_address);
            tables
                .selectors
                .entry(selector.clone())
                .or_default()
                .record(now, config.per_selector);
        }
        tables.operations += 1;
        let over_cap = tables.pairs.len() > config.max_tracked_keys
            || tables.addresses.len() > config.max_tracked_keys
            || tables.selectors.len() > config.max_tracked_keys;
        if over_cap || tables.operations >= SWEEP_EVERY {
            tables.operations = 0;
            let window = config.window_secs;
            let cap = config.max_tracked_keys;
            sweep(&mut tables.pairs, now, window, cap);
            sweep(&mut tables.addresses, now, window, cap);
            sweep(&mut tables.selectors, now, window, cap);
        }
    }

    /// Takes back an attempt begun at `began_at` that turned out not to be a failure
    /// (e.g. the directory was unavailable).
    pub fn forget_attempt(&self, selectors: &[String], address: &str, began_at: i64) {
        let Ok(mut tables) = self.tables.lock() else {
            return;
        };
        forget_locked(&mut tables, selectors, address, began_at);
    }

    /// Records a successful login begun at `began_at`: the attempt is not a failure,
    /// and the (selector, address) counters start again.
    pub fn record_success(&self, selectors: &[String], address: &str, began_at: i64) {
        let Ok(mut tables) = self.tables.lock() else {
            return;
        };
        forget_locked(&mut tables, selectors, address, began_at);
        for selector in selectors {
            tables
                .pairs
                .remove(&(selector.clone(), address.to_string()));
        }
    }

    /// Number of keys tracked over all tables (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.tables
            .lock()
            .map(|t| t.pairs.len() + t.addresses.len() + t.selectors.len())
            .unwrap_or(0)
    }

    /// Drops every key whose newest failure left the window.
    pub fn prune(&self, now: i64) {
        if let Ok(mut tables) = self.tables.lock() {
            let window = self.config.window_secs;
            let cap = self.config.max_tracked_keys;
            sweep(&mut tables.pairs, now, window, cap);
            sweep(&mut tables.addresses, now, window, cap);
            sweep(&mut tables.selectors, now, window, cap);
        }
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(ThrottleConfig::default())
    }
}

fn forget_locked(tables: &mut Tables, selectors: &[String], address: &str, at: i64) {
    if let Some(f) = tables.addresses.get_mut(address) {
        f.forget(at);
    }
    for selector in selectors {
        if let Some(f) = tables
            .pairs
            .get_mut(&(selector.clone(), address.to_string()))
        {
            f.forget(at);
        }
        if let Some(f) = tables.selectors.get_mut(selector) {
            f.forget(at);
        }
    }
}

/// Removes expired keys, then, if still above `cap`, the keys with the oldest newest
/// failure until 90% of `cap` is left.
fn sweep<K: Clone + Eq + Hash>(map: &mut HashMap<K, Failures>, now: i64, window: i64, cap: usize) {
    map.retain(|_, f| f.newest().is_some_and(|t| now - t < window));
    if map.len() <= cap {
        return;
    }
    let keep = cap - cap / 10;
    let mut by_age: Vec<(i64, K)> = map
        .iter()
        .map(|(k, f)| (f.newest().unwrap_or(i64::MIN), k.clone()))
        .collect();
    by_age.sort_by_key(|(newest, _)| *newest);
    let surplus = map.len().saturating_sub(keep);
    for (_, key) in by_age.into_iter().take(surplus) {
        map.remove(&key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    fn fail(t: &LoginThrottle, s: &str, addr: &str, now: i64, times: usize) {
        for _ in 0..times {
            t.record_failure(&sel(s), addr, now);
        }
    }

    #[test]
    fn five_failures_of_a_selector_from_an_address_block_it() {
        let t = LoginThrottle::default();
        fail(&t, "name:acme", "10.0.0.1", 1000, 4);
        assert!(t.check(&sel("name:acme"), "10.0.0.1", 1000).is_ok());
        fail(&t, "name:acme", "10.0.0.1", 1000, 1);
        let retry = t.check(&sel("name:acme"), "10.0.0.1", 1010).unwrap_err();
        assert_eq!(retry, 290);
        // other address and other selector are untouched
        assert!(t.check(&sel("name:acme"), "10.0.0.2", 1010).is_ok());
        assert!(t.check(&sel("name:other"), "10.0.0.1", 1010).is_ok());
    }

    #[test]
    fn the_window_slides() {
        let t = LoginThrottle::default();
        for i in 0..5 {
            t.record_failure(&sel("name:acme"), "a", 1000 + i * 10);
        }
        assert_eq!(t.check(&sel("name:acme"), "a", 1045).unwrap_err(), 255);
        // the first failure (t=1000) leaves the window at 1300
        assert!(t.check(&sel("name:acme"), "a", 1299).is_err());
        assert!(t.check(&sel("name:acme"), "a", 1300).is_ok());
    }

    #[test]
    fn success_clears_the_pair_counter() {
        let t = LoginThrottle::default();
        fail(&t, "name:acme", "a", 1000, 4);
        t.record_success(&sel("name:acme"), "a", 1001);
        fail(&t, "name:acme", "a", 1001, 4);
        assert!(t.check(&sel("name:acme"), "a", 1002).is_ok());
    }

    #[test]
    fn twenty_failures_from_an_address_block_it_for_every_selector() {
        let t = LoginThrottle::default();
        for i in 0..20 {
            t.record_failure(&sel(&format!("name:n{i}")), "a", 1000);
        }
        assert_eq!(t.check(&sel("name:fresh"), "a", 1000).unwrap_err(), 300);
        assert!(t.check(&sel("name:fresh"), "b", 1000).is_ok());
    }

    #[test]
    fn a_sprayed_selector_blocks_only_addresses_that_failed_against_it() {
        let t = LoginThrottle::default();
        // 50 failures from 25 addresses, two each (under every per-address limit)
        for i in 0..25 {
            fail(&t, "name:acme", &format!("10.0.0.{i}"), 1000, 2);
        }
        assert_eq!(
            t.check(&sel("name:acme"), "10.0.0.3", 1000).unwrap_err(),
            300
        );
        // a clean address still gets through: the right password from the real user works
        assert!(t.check(&sel("name:acme"), "192.168.1.1", 1000).is_ok());
    }

    #[test]
    fn an_address_whose_own_failures_expired_is_clean_during_a_spray() {
        let t = LoginThrottle::default();
        fail(&t, "name:acme", "victim", 1000, 1);
        for i in 0..25 {
            fail(&t, "name:acme", &format!("10.0.0.{i}"), 1200, 2);
        }
        assert_eq!(t.check(&sel("name:acme"), "victim", 1250).unwrap_err(), 50);
        assert!(t.check(&sel("name:acme"), "victim", 1300).is_ok());
        assert!(t.check(&sel("name:acme"), "10.0.0.1", 1300).is_err());
    }

    #[test]
    fn any_blocked_selector_of_a_request_blocks_it() {
        let t = LoginThrottle::default();
        fail(&t, "name:acme", "a", 1000, 5);
        let both = vec!["phone:+1".to_string(), "name:acme".to_string()];
        assert!(t.check(&both, "a", 1000).is_err());
    }

    #[test]
    fn attempts_count_until_settled() {
        let t = LoginThrottle::default();
        // five concurrent guesses: the sixth is refused before any of them answered
        for _ in 0..5 {
            assert!(t.begin_attempt(&sel("name:acme"), "a", 1000).is_ok());
        }
        assert_eq!(
            t.begin_attempt(&sel("name:acme"), "a", 1000).unwrap_err(),
            300
        );
        // settled as not-failures, they no longer count
        for _ in 0..5 {
            t.forget_attempt(&sel("name:acme"), "a", 1000);
        }
        assert!(t.check(&sel("name:acme"), "a", 1000).is_ok());
        // a success takes its own attempt back and clears the pair
        fail(&t, "name:acme", "a", 1000, 4);
        assert!(t.begin_attempt(&sel("name:acme"), "a", 1001).is_ok());
        t.record_success(&sel("name:acme"), "a", 1001);
        let tables = t.tables.lock().unwrap();
        assert!(!tables
            .pairs
            .contains_key(&("name:acme".to_string(), "a".to_string())));
        assert_eq!(tables.addresses["a"].count(1001, 300), 4);
        assert_eq!(tables.selectors["name:acme"].count(1001, 300), 4);
    }

    #[test]
    fn memory_is_bounded() {
        let t = LoginThrottle::new(ThrottleConfig {
            max_tracked_keys: 100,
            ..ThrottleConfig::default()
        });
        for i in 0..1000 {
            t.record_failure(&sel(&format!("name:n{i}")), &format!("addr{i}"), 1000 + i);
        }
        assert!(t.tracked_keys() <= 300 + 3, "{}", t.tracked_keys());
        // expired keys go away on prune
        t.prune(1_000_000);
        assert_eq!(t.tracked_keys(), 0);
        // each counter holds at most its limit of timestamps
        fail(&t, "name:x", "a", 2000, 500);
        let tables = t.tables.lock().unwrap();
        assert_eq!(
            tables.pairs[&("name:x".to_string(), "a".to_string())]
                .times
                .len(),
            5
        );
        assert_eq!(tables.addresses["a"].times.len(), 20);
        assert_eq!(tables.selectors["name:x"].times.len(), 50);
    }
}

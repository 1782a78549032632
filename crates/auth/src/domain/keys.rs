//! Signing-key retirement: which keys a rotation stops trusting.
//!
//! A key signs until its successor is announced; every token it signed expires at
//! most one token lifetime later (plus however long a replica took to learn of the
//! successor). So a key is retired once its successor has existed for longer than the
//! token lifetime plus [`RETIRE_GRACE_SECS`]; retirement happens at a rotation, so a
//! key lives at least that long and at most until the first rotation after it.

/// Margin over the token lifetime before a superseded key is retired: covers the
/// auth replicas' periodic key refresh (a replica that missed the rotation event
/// keeps signing with the old key until then) and clock skew between hosts.
pub const RETIRE_GRACE_SECS: i64 = 600;

/// The keys to retire among `keys` (`(kid, created)`, oldest first, the new key last)
/// at `now`: those whose successor was created at least `keep_secs` ago. The newest
/// key is never retired.
pub fn retired(keys: &[(String, i64)], now: i64, keep_secs: i64) -> Vec<String> {
    keys.windows(2)
        .filter(|pair| pair[1].1.saturating_add(keep_secs) <= now)
        .map(|pair| pair[0].0.clone())
        .collect()
}

/// `created` of a key added at `now` after `newest` (the newest stored key's
/// `created`): strictly later, so "newest" never depends on the key ids' order.
pub fn next_created(newest: Option<i64>, now: i64) -> i64 {
    match newest {
        Some(newest) if newest >= now => newest + 1,
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(created: &[i64]) -> Vec<(String, i64)> {
        created
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("k{i}"), *c))
            .collect()
    }

    #[test]
    fn a_key_is_kept_for_the_lifetime_of_its_tokens() {
        // k0 superseded at 1000 by k1; k1 superseded now (5000) by k2.
        let rows = keys(&[0, 1000, 5000]);
        assert!(
            retired(&rows, 5000, 4001).is_empty(),
            "superseded 1 s too recently"
        );
        assert_eq!(
            retired(&rows, 5000, 4000),
            vec!["k0"],
            "superseded exactly keep_secs ago"
        );
        assert!(retired(&rows, 5000, 100_000).is_empty());
        assert_eq!(
            retired(&rows, 5000, 0),
            vec!["k0", "k1"],
            "never the newest"
        );
    }

    #[test]
    fn only_keys_older_than_a_retired_one_go_too() {
        let rows = keys(&[0, 10, 20, 4000]);
        assert_eq!(retired(&rows, 4000, 3990), vec!["k0"]);
        assert_eq!(retired(&rows, 4000, 3980), vec!["k0", "k1"]);
        assert!(
            retired(&keys(&[7]), 100, 0).is_empty(),
            "a single key stays"
        );
    }

    #[test]
    fn a_new_key_is_always_the_newest() {
        assert_eq!(next_created(None, 50), 50);
        assert_eq!(next_created(Some(10), 50), 50);
        assert_eq!(next_created(Some(50), 50), 51);
        assert_eq!(next_created(Some(90), 50), 91);
    }
}

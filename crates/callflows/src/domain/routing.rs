//! Resolving a dialed number to a callflow, the way Kazoo's `cf_util:lookup_callflow`
//! does: an exact number first, then the account's patterns, then the callflow
//! holding the number `no_match`.
//!
//! Exact numbers are looked up through an index (the unique keys of the store); the
//! patterns of an account are compiled once into a [`PatternSet`] (a `RegexSet` that
//! says in one pass which patterns match) and cached until a callflow changes.

use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::Serialize;

/// The number Kazoo falls back to when nothing else matches.
pub const NO_MATCH: &str = "no_match";

/// One pattern of one callflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternEntry {
    pub pattern: String,
    pub callflow_id: String,
}

/// Compiled-size limit of an account's combined pattern set (the default, 10 MiB,
/// is too small for a thousand patterns).
const SET_SIZE_LIMIT: usize = 256 << 20;

/// The compiled patterns of one account.
#[derive(Debug)]
pub struct PatternSet {
    /// `None` only if the combined set cannot be compiled within the limit; then
    /// every pattern is tried on its own.
    set: Option<RegexSet>,
    regexes: Vec<Regex>,
    entries: Vec<PatternEntry>,
}

/// A pattern that matched a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternMatch {
    pub callflow_id: String,
    pub pattern: String,
    /// What Kazoo keeps as the capture: the longest capture group, or the whole
    /// match when the pattern has no group.
    pub capture: String,
}

impl PatternSet {
    /// Compiles the entries, ordered by pattern (Kazoo reads them from a view keyed
    /// by pattern). Patterns that do not compile are skipped (writes refuse them).
    pub fn build(entries: impl IntoIterator<Item = PatternEntry>) -> Self {
        let mut entries: Vec<PatternEntry> = entries
            .into_iter()
            .filter(|e| Regex::new(&e.pattern).is_ok())
            .collect();
        entries.sort_by(|a, b| {
            (a.pattern.as_str(), a.callflow_id.as_str())
                .cmp(&(b.pattern.as_str(), b.callflow_id.as_str()))
        });
        let regexes: Vec<Regex> = entries
            .iter()
            .filter_map(|e| Regex::new(&e.pattern).ok())
            .collect();
        let set = RegexSetBuilder::new(entries.iter().map(|e| e.pattern.as_str()))
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_SIZE_LIMIT)
            .build()
            .map_err(
                |error| tracing::warn!(%error, "pattern set falls back to one regex at a time"),
            )
            .ok();
        Self {
            set,
            regexes,
            entries,
        }
    }

    pub fn empty() -> Self {
        Self::build(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best pattern for `number`: the one with the longest capture; on a tie the
    /// first in pattern order (Kazoo only replaces its best on a strictly longer one).
    pub fn best_match(&self, number: &str) -> Option<PatternMatch> {
        let mut best: Option<(usize, PatternMatch)> = None;
        let matching: Vec<usize> = match &self.set {
            Some(set) => set.matches(number).iter().collect(),
            None => (0..self.regexes.len())
                .filter(|i| self.regexes.get(*i).is_some_and(|r| r.is_match(number)))
                .collect(),
        };
        for index in matching {
            let (Some(regex), Some(entry)) = (self.regexes.get(index), self.entries.get(index))
            else {
                continue;
            };
            let Some(captures) = regex.captures(number) else {
                continue;
            };
            let groups: Vec<regex::Match<'_>> = captures.iter().skip(1).flatten().collect();
            let capture = if groups.is_empty() {
                captures.get(0).map(|m| m.as_str()).unwrap_or_default()
            } else {
                groups
                    .iter()
                    .max_by_key(|m| m.len())
                    .map(|m| m.as_str())
                    .unwrap_or_default()
            };
            let len = capture.len();
            if best.as_ref().is_none_or(|(best_len, _)| len > *best_len) {
                best = Some((
                    len,
                    PatternMatch {
                        callflow_id: entry.callflow_id.clone(),
                        pattern: entry.pattern.clone(),
                        capture: capture.to_string(),
                    },
                ));
            }
        }
        best.map(|(_, m)| m)
    }
}

/// How a number resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "matched_by", rename_all = "snake_case")]
pub enum Route {
    /// One of the callflow's numbers.
    Number { callflow_id: String, number: String },
    /// One of its patterns.
    Pattern {
        callflow_id: String,
        pattern: String,
        capture: String,
    },
    /// Nothing matched; the callflow holding `no_match` takes the call.
    NoMatch { callflow_id: String },
}

impl Route {
    pub fn callflow_id(&self) -> &str {
        match self {
            Route::Number { callflow_id, .. }
            | Route::Pattern { callflow_id, .. }
            | Route::NoMatch { callflow_id } => callflow_id,
        }
    }
}

/// Kazoo's order: the exact number (as dialed, normalised), then patterns (tried on
/// the normalised number), then `no_match`. `exact` answers "which callflow holds
/// this number".
pub fn resolve(
    dialed: &str,
    exact: impl Fn(&str) -> Option<String>,
    patterns: &PatternSet,
) -> Option<Route> {
    let number = crossbar_numbering::normalize(dialed);
    if let Some(callflow_id) = exact(&number) {
        return Some(Route::Number {
            callflow_id,
            number,
        });
    }
    if let Some(m) = patterns.best_match(&number) {
        return Some(Route::Pattern {
            callflow_id: m.callflow_id,
            pattern: m.pattern,
            capture: m.capture,
        });
    }
    exact(NO_MATCH).map(|callflow_id| Route::NoMatch { callflow_id })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(pattern: &str, id: &str) -> PatternEntry {
        PatternEntry {
            pattern: pattern.into(),
            callflow_id: id.into(),
        }
    }

    #[test]
    fn longest_capture_wins() {
        let set = PatternSet::build(vec![
            entry("^\\*7([0-9]+)$", "short"),
            entry("^\\*(7[0-9]+)$", "long"),
            entry("^2[0-9]{3}$", "ext"),
        ]);
        let m = set.best_match("*712").unwrap();
        assert_eq!(m.callflow_id, "long");
        assert_eq!(m.capture, "712");
        let m = set.best_match("2001").unwrap();
        assert_eq!(
            (m.callflow_id.as_str(), m.capture.as_str()),
            ("ext", "2001")
        );
        assert_eq!(set.best_match("999"), None);
    }

    #[test]
    fn ties_go_to_the_first_pattern_in_order() {
        let set = PatternSet::build(vec![entry("^(2.*)$", "b"), entry("^(2\\d+)$", "a")]);
        // "^(2.*)$" sorts before "^(2\d+)$"; both capture "200".
        assert_eq!(set.best_match("200").unwrap().callflow_id, "b");
    }

    #[test]
    fn exact_then_patterns_then_no_match() {
        let exact: HashMap<&str, &str> =
            HashMap::from([("+14155550100", "did"), ("2000", "ext"), (NO_MATCH, "nm")]);
        let lookup = |n: &str| exact.get(n).map(|s| s.to_string());
        let set = PatternSet::build(vec![entry("^2\\d{3}$", "pat")]);
        assert_eq!(
            resolve("(415) 555-0100", lookup, &set),
            Some(Route::Number {
                callflow_id: "did".into(),
                number: "+14155550100".into()
            })
        );
        assert_eq!(resolve("2000", lookup, &set).unwrap().callflow_id(), "ext");
        assert_eq!(resolve("2001", lookup, &set).unwrap().callflow_id(), "pat");
        assert_eq!(
            resolve("5", lookup, &set),
            Some(Route::NoMatch {
                callflow_id: "nm".into()
            })
        );
        let none = |_: &str| None;
        assert_eq!(resolve("5", none, &PatternSet::empty()), None);
    }

    #[test]
    fn a_thousand_patterns_compile_into_one_set() {
        let set = PatternSet::build(
            (0..1000).map(|i| entry(&format!("^\\*{i:03}([0-9]+)$"), &i.to_string())),
        );
        assert!(set.set.is_some());
        assert_eq!(set.best_match("*517123").unwrap().callflow_id, "517");
    }

    #[test]
    fn invalid_patterns_are_skipped() {
        let set = PatternSet::build(vec![entry("^(2", "bad"), entry("^3$", "ok")]);
        assert_eq!(set.len(), 1);
        assert_eq!(set.best_match("3").unwrap().callflow_id, "ok");
    }
}

//! Property tests: the engine against the brute-force reference ([`super::reference`]) on
//! generated rules (every cycle, intervals 1..4, random days, weekdays, ordinals, months,
//! windows, overrides; start dates 2020..2025) in eight zones, five with daylight saving
//! (one at midnight, one by 30 minutes, one at 02:45), over 2023-2024.
//!
//! Generated windows start on a whole minute and stop on a whole minute (or 86400), and
//! every zone here has whole-minute offsets and transitions, so the rule can only change
//! state at second :00 or :01 of a UTC minute: stepping through those two seconds of
//! every minute sees every change exactly.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::reference::{any_active, transitions, RefRule};
use super::*;

const ZONES: [&str; 8] = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
    "Pacific/Chatham",
    "America/St_Johns",
];
const CYCLES: [&str; 5] = ["date", "daily", "weekly", "monthly", "yearly"];
const WDAYS: [&str; 8] = [
    "monday",
    "tuesday",
    "wednesday",
    "wensday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const ORDINALS: [&str; 7] = [
    "every", "first", "second", "third", "fourth", "fifth", "last",
];

/// 2023-01-01T00:00:00Z and two years on.
const SPAN_START: i64 = 1_672_531_200;
const SPAN_SECS: i64 = 731 * 86_400;
/// Gregorian seconds of 2020-01-01T00:00:00Z.
const GREG_2020: i64 = 1_577_836_800 + GREGORIAN_UNIX_OFFSET;

fn span_start() -> DateTime<Utc> {
    DateTime::from_timestamp(SPAN_START, 0).expect("span start")
}

fn span_end() -> DateTime<Utc> {
    span_start() + Duration::seconds(SPAN_SECS)
}

/// The reference tables cover local dates up to here (two years past the span).
fn table_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, 1).expect("date")
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn zone(i: usize) -> Tz {
    ZONES[i].parse().expect("known zone")
}

/// Offset changes of each zone during the span.
fn zone_transitions(i: usize) -> &'static [DateTime<Utc>] {
    static ALL: OnceLock<Vec<Vec<DateTime<Utc>>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let (from, to) = (span_start(), span_end());
        (0..ZONES.len())
            .map(|i| transitions(zone(i), from, to))
            .collect()
    });
    &all[i]
}

fn window() -> impl Strategy<Value = (Option<u32>, Option<u32>)> {
    prop_oneof![
        2 => Just((None, None)),
        5 => (0u32..=1440, 0u32..=1440).prop_map(|(a, b)| (Some(a * 60), Some(b * 60))),
        // Quarter hours in the small hours, where the clocks change.
        3 => (0u32..=24, 0u32..=24).prop_map(|(a, b)| (Some(a * 900), Some(b * 900))),
        1 => (0u32..=1440).prop_map(|a| (Some(a * 60), Some(a * 60))),
        1 => (0u32..=1440).prop_map(|a| (Some(a * 60), None)),
        1 => (0u32..=1440).prop_map(|b| (None, Some(b * 60))),
    ]
}

prop_compose! {
    fn rule_doc()(
        cycle in 0usize..5,
        interval in prop_oneof![2 => Just(None), 5 => (1u32..=4).prop_map(Some)],
        days in prop_oneof![
            3 => Just(Vec::new()),
            2 => vec(prop_oneof![1u32..=31, 27u32..=31], 1..=3),
        ],
        wdays in vec(0usize..8, 0..=3),
        ordinal in prop::option::of(0usize..7),
        month in prop::option::of(1u32..=12),
        start_day in 0i64..1977,
        start_second in 0i64..86_400,
        (tws, twe) in window(),
        enabled in prop_oneof![10 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))],
    ) -> Value {
        let mut doc = json!({
            "name": "generated",
            "cycle": CYCLES[cycle],
            "start_date": GREG_2020 + start_day * 86_400 + start_second,
        });
        let optional = [
            ("interval", interval.map(|i| json!(i))),
            ("days", (!days.is_empty()).then(|| json!(days))),
            ("wdays", (!wdays.is_empty())
                .then(|| json!(wdays.iter().map(|w| WDAYS[*w]).collect::<Vec<_>>()))),
            ("ordinal", ordinal.map(|o| json!(ORDINALS[o]))),
            ("month", month.map(|m| json!(m))),
            ("time_window_start", tws.map(|s| json!(s))),
            ("time_window_stop", twe.map(|s| json!(s))),
            ("enabled", enabled.map(|e| json!(e))),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                doc[key] = value;
            }
        }
        doc
    }
}

type Seed = (u8, u32, u32);

fn seeds(n: usize) -> impl Strategy<Value = Vec<Seed>> {
    vec((0u8..3, any::<u32>(), any::<u32>()), n)
}

/// A seed favouring window boundaries and clock changes, where next changes are near.
fn near_seed() -> impl Strategy<Value = Seed> {
    (
        prop_oneof![1 => Just(0u8), 2 => Just(1u8), 4 => Just(2u8)],
        any::<u32>(),
        any::<u32>(),
    )
}

/// Zones with daylight saving (indices into [`ZONES`]).
const DST_ZONES: [usize; 6] = [0, 1, 2, 3, 6, 7];

/// A rule whose window boundaries are quarter hours between 00:00 and 06:00, mostly
/// daily: it opens or closes around the clock changes.
fn small_hours_rule() -> impl Strategy<Value = Value> {
    (rule_doc(), 0u32..=24, 0u32..=24, any::<bool>()).prop_map(|(mut doc, a, b, daily)| {
        doc["time_window_start"] = json!(a * 900);
        doc["time_window_stop"] = json!(b * 900);
        if daily {
            doc["cycle"] = json!("daily");
        }
        doc
    })
}

/// An instant of the span: uniform (kind 0), within three hours of a clock change
/// (kind 1), or at/next to a window boundary of a date the rule occurs on (kind 2).
fn sample(
    reference: &RefRule,
    rule: &TemporalRule,
    zone_index: usize,
    (kind, a, b): Seed,
) -> DateTime<Utc> {
    let tz = zone(zone_index);
    let uniform = span_start() + Duration::seconds(i64::from(a) % SPAN_SECS);
    match kind {
        1 => {
            let ts = zone_transitions(zone_index);
            if ts.is_empty() {
                return uniform;
            }
            ts[a as usize % ts.len()] + Duration::seconds(i64::from(b % 21_601) - 10_800)
        }
        2 => {
            let first = span_start().date_naive();
            let last = span_end().date_naive();
            let dates: Vec<NaiveDate> = reference
                .occurring_dates()
                .into_iter()
                .filter(|d| *d >= first && *d < last)
                .collect();
            if dates.is_empty() {
                return uniform;
            }
            let d = dates[a as usize % dates.len()];
            let (tws, twe) = (
                i64::from(rule.time_window_start),
                i64::from(rule.time_window_stop),
            );
            let second = [tws, tws - 1, twe, twe + 1, 0, 86_399, 86_400][(b % 7) as usize];
            let local = d.and_time(NaiveTime::MIN) + Duration::seconds(second);
            match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(x, y) => {
                    if (b / 7) % 2 == 0 { x } else { y }.with_timezone(&Utc)
                }
                chrono::LocalResult::None => uniform,
            }
        }
        _ => uniform,
    }
}

fn parse(doc: &Value, id: &str) -> TemporalRule {
    TemporalRule::from_doc(id, doc).expect("generated documents are valid")
}

/// The reference's next change of a set, by stepping through seconds :00 and :01 of
/// every UTC minute after `at`, up to `at + horizon`.
fn stepped_change(
    refs: &[RefRule],
    tz: Tz,
    at: DateTime<Utc>,
    horizon: Duration,
) -> Option<DateTime<Utc>> {
    let before = any_active(refs, tz, at);
    let end = at + horizon;
    let mut minute = DateTime::from_timestamp(at.timestamp() - at.timestamp().rem_euclid(60), 0)
        .expect("minute");
    loop {
        for s in [0, 1] {
            let t = minute + Duration::seconds(s);
            if t <= at {
                continue;
            }
            if t > end {
                return None;
            }
            if any_active(refs, tz, t) != before {
                return Some(t);
            }
        }
        minute += Duration::minutes(1);
    }
}

fn describe(doc: &Value, tz: Tz, t: DateTime<Utc>) -> String {
    format!("{doc} in {tz} at {t} (local {})", t.with_timezone(&tz))
}

proptest! {
    #![proptest_config(config(4000))]

    /// `is_active` (and `matching_rules` of one rule) equal the reference's decision at
    /// 32 instants per rule.
    #[test]
    fn is_active_agrees_with_the_reference(
        doc in rule_doc(),
        z in 0..ZONES.len(),
        seeds in seeds(32),
    ) {
        let tz = zone(z);
        let rule = parse(&doc, "g");
        let reference = RefRule::new(&rule, tz, table_end());
        for seed in seeds {
            let t = sample(&reference, &rule, z, seed);
            let expected = reference.active(tz, t);
            prop_assert_eq!(is_active(&rule, t, tz), expected, "{}", describe(&doc, tz, t));
            let matched = matching_rules(std::slice::from_ref(&rule), t, tz);
            prop_assert_eq!(!matched.is_empty(), expected);
        }
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// `next_change` equals the first change found by stepping through 36 hours.
    #[test]
    fn next_change_agrees_with_stepping(
        doc in rule_doc(),
        z in 0..ZONES.len(),
        seed in near_seed(),
    ) {
        let tz = zone(z);
        let rule = parse(&doc, "g");
        let reference = RefRule::new(&rule, tz, table_end());
        let at = sample(&reference, &rule, z, seed);
        let horizon = Duration::hours(36);
        let expected = stepped_change(std::slice::from_ref(&reference), tz, at, horizon);
        prop_assert_eq!(next_change(&rule, at, tz, horizon), expected, "{}", describe(&doc, tz, at));
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// Around the clock changes: windows bounded in the small hours, instants within
    /// three hours of a change, `is_active` at the instant and `next_change` against
    /// stepping through 8 hours.
    #[test]
    fn daylight_saving_changes_agree_with_stepping(
        doc in small_hours_rule(),
        z in prop::sample::select(DST_ZONES.to_vec()),
        (a, b) in (any::<u32>(), any::<u32>()),
    ) {
        let tz = zone(z);
        let rule = parse(&doc, "g");
        let reference = RefRule::new(&rule, tz, table_end());
        let at = sample(&reference, &rule, z, (1, a, b));
        prop_assert_eq!(is_active(&rule, at, tz), reference.active(tz, at), "{}", describe(&doc, tz, at));
        let horizon = Duration::hours(8);
        let expected = stepped_change(std::slice::from_ref(&reference), tz, at, horizon);
        prop_assert_eq!(next_change(&rule, at, tz, horizon), expected, "{}", describe(&doc, tz, at));
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Over two years: the state differs at the change, not a second before, nor at 24
    /// probes in between; with no change, 24 probes over the horizon agree.
    #[test]
    fn next_change_far_ahead_is_consistent(
        doc in rule_doc(),
        z in 0..ZONES.len(),
        seed in (0u8..3, any::<u32>(), any::<u32>()),
        probes in vec(any::<u32>(), 24),
    ) {
        let tz = zone(z);
        let rule = parse(&doc, "g");
        let reference = RefRule::new(&rule, tz, table_end());
        let at = sample(&reference, &rule, z, seed);
        let horizon = Duration::days(730);
        let before = reference.active(tz, at);
        let change = next_change(&rule, at, tz, horizon);
        let until = change.unwrap_or(at + horizon);
        if let Some(c) = change {
            prop_assert!(c > at && c <= at + horizon);
            prop_assert_ne!(reference.active(tz, c), before, "{}", describe(&doc, tz, c));
            if c - Duration::seconds(1) > at {
                prop_assert_eq!(reference.active(tz, c - Duration::seconds(1)), before);
            }
        }
        let gap = (until - at).num_seconds() - 1;
        if gap > 0 {
            for p in probes {
                let t = at + Duration::seconds(1 + i64::from(p) % gap);
                prop_assert_eq!(reference.active(tz, t), before, "{}", describe(&doc, tz, t));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// Sets of 1..5 rules: `matching_rules` at 12 instants, and `next_set_change` against
    /// stepping through 24 hours.
    #[test]
    fn sets_agree_with_the_reference(
        docs in vec(rule_doc(), 1..=5),
        z in 0..ZONES.len(),
        seeds in seeds(12),
    ) {
        let tz = zone(z);
        let rules: Vec<TemporalRule> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| parse(d, &format!("r{i}")))
            .collect();
        let refs: Vec<RefRule> = rules.iter().map(|r| RefRule::new(r, tz, table_end())).collect();
        let mut first = None;
        for (k, seed) in seeds.into_iter().enumerate() {
            let t = sample(&refs[k % refs.len()], &rules[k % rules.len()], z, seed);
            first.get_or_insert(t);
            let expected: Vec<&str> = rules
                .iter()
                .zip(&refs)
                .filter(|(_, reference)| reference.active(tz, t))
                .map(|(r, _)| r.id.as_str())
                .collect();
            prop_assert_eq!(matching_rules(&rules, t, tz), expected, "{:?} in {} at {}", docs, tz, t);
        }
        let at = first.unwrap_or_else(span_start);
        let horizon = Duration::hours(24);
        prop_assert_eq!(
            next_set_change(&rules, at, tz, horizon),
            stepped_change(&refs, tz, at, horizon),
            "{:?} in {} at {}", docs, tz, at
        );
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// `occurrences`: ordered, non-overlapping windows during which the reference is
    /// active, inactive in the gaps (probed), the first one open after `from`, and
    /// agreeing with `next_change`.
    #[test]
    fn occurrences_agree_with_the_reference(
        doc in rule_doc(),
        z in 0..ZONES.len(),
        seed in (0u8..3, any::<u32>(), any::<u32>()),
        probes in vec(any::<u32>(), 8),
    ) {
        let tz = zone(z);
        let rule = parse(&doc, "g");
        let reference = RefRule::new(&rule, tz, table_end());
        let from = sample(&reference, &rule, z, seed);
        let count = 4;
        let ws = occurrences(&rule, from, tz, count);
        let covered = DateTime::from_timestamp(1_798_761_600, 0).expect("2027-01-01");
        let second = Duration::seconds(1);
        let inactive_between = |a: DateTime<Utc>, b: DateTime<Utc>| {
            let gap = (b.min(covered) - a).num_seconds();
            gap <= 0 || probes.iter().all(|p| !reference.active(tz, a + Duration::seconds(i64::from(*p) % gap)))
        };
        if ws.is_empty() {
            prop_assert!(inactive_between(from, covered), "{}", describe(&doc, tz, from));
        }
        for (i, &(s, e)) in ws.iter().enumerate() {
            prop_assert!(s < e);
            let gap_from = if i == 0 { prop_assert!(e > from); from } else { ws[i - 1].1 };
            prop_assert!(gap_from <= s.max(from));
            if s >= covered {
                break;
            }
            prop_assert!(reference.active(tz, s), "{}", describe(&doc, tz, s));
            prop_assert!(inactive_between(gap_from, s), "{}", describe(&doc, tz, s));
            if e < covered {
                prop_assert!(reference.active(tz, e - second), "{}", describe(&doc, tz, e));
                let next_opens_at_end = ws.get(i + 1).is_some_and(|n| n.0 == e);
                if !next_opens_at_end && (i + 1 < ws.len() || ws.len() < count) {
                    prop_assert!(!reference.active(tz, e), "{}", describe(&doc, tz, e));
                }
            }
        }
        // `next_change` from `from`: the first opening, or the end of the run of touching
        // windows in progress.
        if let Some(&(s, e)) = ws.first() {
            if s > from {
                prop_assert_eq!(next_change(&rule, from, tz, s - from), Some(s));
            } else if e != NEVER {
                let mut end = e;
                let mut complete = false;
                for w in &ws[1..] {
                    if w.0 != end { complete = true; break; }
                    end = w.1;
                }
                if complete || ws.len() < count {
                    prop_assert_eq!(next_change(&rule, from, tz, end - from), Some(end));
                }
            }
        }
    }
}

//! The temporal engine: is a Kazoo temporal rule (or rule set) active at an instant, when
//! does that change next, and what are its next windows. Pure: no I/O, no clock.
//!
//! # Semantics
//!
//! They follow Kazoo's callflow module `cf_temporal_route` (`process_rules/3`,
//! `next_rule_date/2`, `maybe_build_rule/8`) and `kz_date`, except where that code has
//! known defects, listed under *Deviations*.
//!
//! **Local time.** Everything is evaluated on the wall clock of the account's IANA zone:
//! Kazoo converts "now" with `kz_time:adjust_utc_datetime/2` and compares plain local
//! seconds (`LSec`) with the occurrence day's local midnight plus the window
//! (`BaseTime + TStart`, `BaseTime + TStop`).
//!
//! **Start date.** `start_date` is Gregorian seconds (Unix + 62167219200); its date in the
//! account's zone (`kz_date:from_gregorian_seconds/2`) is the origin every `interval` counts
//! from, and the rule is not active before that date's midnight (`maybe_build_rule`
//! discards a rule whose start is in the future, whatever its `enabled`). Default
//! 62586115200, the schema's default.
//!
//! **Cycles** (`next_rule_date/2`, one clause per cycle). A local date `d` on or after the
//! start date `s` is an occurrence when:
//! * `date`: `d == s` (the clause returns the start date whatever the search date);
//! * `daily`: the number of days from `s` to `d` is a multiple of `interval`;
//! * `weekly`: `d`'s weekday is in `wdays` and the number of ISO weeks (Monday to Sunday)
//!   between the week of `s` and the week of `d` is a multiple of `interval`
//!   (`iso_week_difference/2`);
//! * `monthly`: `(year, month)` of `d` is a multiple of `interval` months after that of `s`
//!   (`Distance = (Y1 - Y0) * 12 - M0 + M1`), and the day matches;
//! * `yearly`: the year of `d` is a multiple of `interval` years after that of `s`,
//!   `d` is in `month` (default 1), and the day matches.
//!
//! A day matches (monthly, yearly) when it is in `days`, if `days` is not empty (the
//! `days=[_|_]` clauses come first); otherwise when it is the `ordinal` occurrence in its
//! month of one of `wdays`: `every` one, `first`..`fifth` (counted from the 1st), or the
//! `last`. `ordinal` defaults to `first` (`?RULE_DEFAULT_ORDINAL`). `wdays` may be spelled
//! `wensday` (`kz_date:wday_to_dow/1`); an empty `wdays` means all seven days
//! (`sort_wdays([])`).
//!
//! **Window.** On an occurrence date the rule is active while the local second of the day
//! `t` satisfies `time_window_start <= t <= time_window_stop`: Kazoo leaves the window
//! only when `LSec > End`, so the stop second itself is inside, and the state flips one
//! second after it. A stop of 86400 (the default) keeps the rule active to the end of the
//! day; the next day is judged by its own date. Sub-second parts of instants are ignored,
//! as Kazoo's clock counts whole seconds.
//!
//! **`enabled`** overrides the schedule (the first two clauses of `process_rules/3`):
//! `false` never active, `true` always active from the start date's midnight on; absent:
//! by schedule.
//!
//! **Rule sets and order.** A set is active when any member is; [`matching_rules`] lists
//! the active members in the order given, which is the order `process_rules/3` walks them:
//! its first element is the rule Kazoo routes to.
//!
//! # Daylight-saving changes
//!
//! Windows are wall-clock times. Formally, the state at an instant is decided by the
//! highest wall-clock reading shown so far (the reading, except while a fall-back repeats
//! an hour). Concretely:
//! * **Spring forward** (a reading that does not exist): a window starting at, say, 02:30
//!   on a day the clock jumps from 02:00 to 03:00 opens at the jump (03:00 new time), as in
//!   Kazoo, whose wall clock reads 03:00 >= 02:30 from then on. A window ending in the gap
//!   closes at the jump; a window lying wholly inside the gap does not happen that day.
//! * **Fall back** (a reading shown twice): windows open and close at the *first*
//!   occurrence of their boundary, and while the hour repeats the rule keeps the state it
//!   had just before the clock went back. A window from 01:30 opens at 01:30 summer time
//!   and stays open; one ending at 01:30 closes at 01:30:01 summer time and stays closed.
//!   Kazoo's plain wall-clock comparison agrees with this everywhere except in the repeated
//!   hour, where it would close a window starting inside it again (readings 01:00..01:30
//!   are before 01:30) and reopen one ending inside it: an office would flap for part of
//!   an hour, which we consider a defect rather than a behaviour to keep. Each
//!   occurrence day therefore yields at most one window.
//!
//! # Deviations from Kazoo's code (its defects, not its intent)
//! * `daily` with `interval > 1`: Kazoo truncates `(Today - 1 - Start) / Interval` toward
//!   zero and so skips the start date itself; here the start date is the first
//!   occurrence, as for every other cycle.
//! * A day the month lacks (`days: [31]` in April, `[30]` in February) never matches;
//!   Kazoo's `kz_date:normalize/1` rolls it over to the next month (May 1st, March 1st).
//! * `fifth` weekday in a month with only four: no occurrence; Kazoo's monthly clause
//!   (see its "known bug when requesting the fifth occurrence" warning) lands in the
//!   next month.
//! * yearly `every` weekday: every such weekday of `month`; Kazoo's clause searches from
//!   `{Y1, Month, D1}` and misses the month's 1st.
//! * several (or no) `wdays` with monthly/yearly: any of them (all seven when none); Kazoo
//!   only has clauses for exactly one weekday and crashes (`function_clause`).
//! * `days`/`wdays` are sorted; Kazoo documents "Weird predictions? Bet your weekdays or
//!   days are not in order".
//!
//! # Cost
//! [`is_active`] and [`matching_rules`] are O(1) per rule (a handful of arithmetic steps,
//! one or two time-zone lookups). [`next_change`], [`next_set_change`] and [`occurrences`]
//! walk the members' occurrence dates lazily, merged in time order, skipping inactive
//! weeks, months and years whole, and stop at the first change: O(1) for office hours,
//! O(periods until the change) for sparse rules. A set that stays active (say an all-day
//! daily rule) is walked day by day up to the horizon, so keep horizons bounded (a year
//! is ~365 steps).
//!
//! # Limits
//! Instants outside years 2..9998 are treated as inactive, with no change and no
//! window.

mod calendar;
mod rule;
mod timeline;

#[cfg(test)]
mod props;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;

pub use rule::{
    parse_wday, Cycle, Ordinal, TemporalRule, DEFAULT_RULE_NAME, DEFAULT_START_DATE,
    GREGORIAN_UNIX_OFFSET, SECONDS_IN_DAY,
};

use calendar::Compiled;
use rule::{MAX_SUPPORTED_UNIX, MIN_SUPPORTED_UNIX};
use timeline::{Moment, Windows};

/// The end of the window [`occurrences`] reports for a rule forced on (`enabled: true`):
/// it never ends.
pub const NEVER: DateTime<Utc> = timeline::FOREVER;

/// How far [`occurrences`] looks for windows (a full 400-year Gregorian cycle: a rule
/// with none in that span has none at all).
const OCCURRENCE_SEARCH_YEARS: u64 = 400;

/// Whether the engine reasons about `t` (years 2 to 9998; outside: inactive, no change,
/// no windows).
fn supported(t: DateTime<Utc>) -> bool {
    (MIN_SUPPORTED_UNIX..=MAX_SUPPORTED_UNIX).contains(&t.timestamp())
}

fn latest_supported() -> DateTime<Utc> {
    DateTime::from_timestamp(MAX_SUPPORTED_UNIX, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Is the rule active at `at` (UTC) in time zone `tz`?
pub fn is_active(rule: &TemporalRule, at: DateTime<Utc>, tz: Tz) -> bool {
    if !supported(at) {
        return false;
    }
    timeline::active_at(&Compiled::new(rule, tz), &Moment::new(at, tz), tz)
}

/// The first instant strictly after `at` where the rule's state flips (None if never,
/// e.g. enabled override or a past `date` rule), searching at most `horizon` ahead:
/// a change later than `at + horizon` is reported as `None`.
pub fn next_change(
    rule: &TemporalRule,
    at: DateTime<Utc>,
    tz: Tz,
    horizon: Duration,
) -> Option<DateTime<Utc>> {
    next_set_change(std::slice::from_ref(rule), at, tz, horizon)
}

/// The next `count` active windows starting at or after `from`, each with start and end
/// in UTC, in order.
///
/// * A window in progress at `from` is included **unclipped**: its start is the true
///   opening instant, before `from` (so "open since 09:00, until 17:00:01" reads right).
///   A window that ends exactly at `from` is over and not included.
/// * One window per occurrence date, `[opening, closing)`: the end is the first instant
///   the rule is no longer active on account of that date (`time_window_stop` + 1 s, or
///   the next local midnight for a stop of 86400). Consecutive all-day windows are not
///   merged: a daily all-day rule yields one window per day.
/// * `enabled: false`: none. `enabled: true`: a single window from the start date's local
///   midnight to [`NEVER`].
/// * Searches up to 400 years after `from`; fewer than `count` windows means there are no
///   more.
pub fn occurrences(
    rule: &TemporalRule,
    from: DateTime<Utc>,
    tz: Tz,
    count: usize,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if count == 0 || !supported(from) {
        return Vec::new();
    }
    let c = Compiled::new(rule, tz);
    let local = from.with_timezone(&tz).date_naive();
    let first = local.pred_opt().unwrap_or(local);
    let limit = local
        .checked_add_days(Days::new(OCCURRENCE_SEARCH_YEARS * 366))
        .map_or(latest_supported().date_naive(), |d| {
            d.min(latest_supported().date_naive())
        });
    Windows::new(&c, tz, first, limit)
        .filter(|(_, end)| *end > from)
        .take(count)
        .collect()
}

/// A set is active when any member is active; returns the ids of the matching rules in
/// the order given (the first is the one Kazoo's `cf_temporal_route` would pick).
pub fn matching_rules(rules: &[TemporalRule], at: DateTime<Utc>, tz: Tz) -> Vec<&str> {
    if !supported(at) {
        return Vec::new();
    }
    let m = Moment::new(at, tz);
    rules
        .iter()
        .filter(|r| timeline::active_at(&Compiled::new(r, tz), &m, tz))
        .map(|r| r.id.as_str())
        .collect()
}

/// Same for a set: the earliest next change over its members' combined state (the set
/// being active when any member is), strictly after `at` and at most `horizon` ahead.
/// A hand-over between members (one closes the moment another opens, or windows overlap)
/// is not a change.
pub fn next_set_change(
    rules: &[TemporalRule],
    at: DateTime<Utc>,
    tz: Tz,
    horizon: Duration,
) -> Option<DateTime<Utc>> {
    if horizon < Duration::zero() || !supported(at) {
        return None;
    }
    let limit_t = at
        .checked_add_signed(horizon)
        .map_or(latest_supported(), |t| t.min(latest_supported()));
    let from_date = at.with_timezone(&tz).date_naive();
    let first = from_date.pred_opt().unwrap_or(from_date);
    let limit_date = limit_t.with_timezone(&tz).date_naive();
    let limit_date = limit_date.succ_opt().unwrap_or(limit_date);

    let compiled: Vec<Compiled> = rules.iter().map(|r| Compiled::new(r, tz)).collect();
    let mut streams: Vec<Windows<'_>> = compiled
        .iter()
        .map(|c| Windows::new(c, tz, first, limit_date))
        .collect();
    // Merge the members' (individually ordered) windows by start.
    let mut heap = BinaryHeap::with_capacity(streams.len());
    for (i, s) in streams.iter_mut().enumerate() {
        if let Some((start, end)) = s.next() {
            heap.push(Reverse((start, end, i)));
        }
    }

    // `open_until`: while the set is active at `at`, the end of the stretch of
    // overlapping or touching windows containing `at`.
    let mut open_until: Option<DateTime<Utc>> = None;
    while let Some(Reverse((start, end, i))) = heap.pop() {
        if let Some((s, e)) = streams.get_mut(i).and_then(Iterator::next) {
            heap.push(Reverse((s, e, i)));
        }
        match open_until {
            None if start <= at => {
                if end > at {
                    open_until = Some(end);
                }
            }
            // Closed at `at`: the first window starting later opens the set.
            None => return (start <= limit_t).then_some(start),
            Some(until) if start <= until => open_until = Some(until.max(end)),
            Some(until) => return (until <= limit_t && until != NEVER).then_some(until),
        }
    }
    open_until.filter(|until| *until <= limit_t && *until != NEVER)
}

//! From local wall-clock times to UTC instants, and each rule's active windows as a lazy,
//! ordered stream of UTC intervals.

use chrono::offset::LocalResult;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};

use super::calendar::Compiled;

/// The end of a window that never ends (a rule forced on with `enabled: true`).
pub(crate) const FOREVER: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

/// The earliest instant at which the wall clock in `tz` reads `local` or later.
///
/// * an existing time: its instant; a time the clock shows twice (fall-back): the first;
/// * a time skipped by a spring-forward: the instant of the jump (the first instant
///   after it, whose reading is already past `local`).
pub(crate) fn first_reaching(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => match GapInfo::new(&local, &tz).and_then(|g| g.end) {
            Some(end) => end.with_timezone(&Utc),
            // Outside the zone's known transitions: use the offset in force there.
            None => {
                let offset = tz.offset_from_utc_datetime(&local).fix().local_minus_utc();
                local
                    .checked_sub_signed(chrono::Duration::seconds(i64::from(offset)))
                    .unwrap_or(local)
                    .and_utc()
            }
        },
    }
}

pub(crate) fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

/// An instant with its local reading, computed once for all rules of a set.
pub(crate) struct Moment {
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    /// `at` lies in the second pass of a repeated (fall-back) stretch of wall-clock time:
    /// the reading was already shown once, earlier.
    pub second_pass: bool,
}

impl Moment {
    pub fn new(at: DateTime<Utc>, tz: Tz) -> Self {
        let local = at.with_timezone(&tz).naive_local();
        let second_pass = match tz.from_local_datetime(&local) {
            LocalResult::Ambiguous(a, b) => at > a.min(b).with_timezone(&Utc),
            _ => false,
        };
        Self {
            at,
            local,
            second_pass,
        }
    }
}

/// The UTC interval `[start, end)` in which the rule is active because of date `d`, if
/// `d` is an occurrence and the window is not empty (it can be swallowed whole by a
/// spring-forward gap).
pub(crate) fn day_window(
    c: &Compiled,
    tz: Tz,
    d: NaiveDate,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (from, to) = c.window?;
    let base = midnight(d);
    let start = first_reaching(tz, base + chrono::Duration::seconds(i64::from(from)));
    let end = first_reaching(tz, base + chrono::Duration::seconds(i64::from(to)));
    (start < end).then_some((start, end))
}

/// Whether the rule is active at `m`.
pub(crate) fn active_at(c: &Compiled, m: &Moment, tz: Tz) -> bool {
    match c.forced {
        Some(false) => false,
        Some(true) => {
            if m.second_pass {
                first_reaching(tz, midnight(c.start)) <= m.at
            } else {
                m.local.date() >= c.start
            }
        }
        None if !m.second_pass => {
            // The wall clock has not been here before: its reading decides.
            let d = m.local.date();
            match c.window {
                Some((from, to)) if c.occurs(d) => {
                    let secs = m.local.time().signed_duration_since(NaiveTime::MIN);
                    let secs = secs.num_seconds();
                    secs >= i64::from(from) && secs < i64::from(to)
                }
                _ => false,
            }
        }
        None => {
            // Second pass of a repeated hour: the state the first pass ended with holds,
            // which is what the UTC windows (built from first readings) say.
            let d = m.local.date();
            [d.pred_opt(), Some(d), d.succ_opt()]
                .into_iter()
                .flatten()
                .filter(|d| c.occurs(*d))
                .filter_map(|d| day_window(c, tz, d))
                .any(|(s, e)| s <= m.at && m.at < e)
        }
    }
}

/// A rule's active windows, one per occurrence date (a forced-on rule: one endless
/// window from its start date), in increasing order, lazily.
pub(crate) struct Windows<'a> {
    c: &'a Compiled,
    tz: Tz,
    next: Option<NaiveDate>,
    limit: NaiveDate,
}

impl<'a> Windows<'a> {
    /// Windows of occurrence dates in `from..=limit` (a forced-on rule's single window
    /// regardless of `from`, if it starts by `limit`).
    pub fn new(c: &'a Compiled, tz: Tz, from: NaiveDate, limit: NaiveDate) -> Self {
        Self {
            c,
            tz,
            next: Some(from),
            limit,
        }
    }
}

impl Iterator for Windows<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        match self.c.forced {
            Some(false) => None,
            Some(true) => {
                self.next.take()?;
                (self.c.start <= self.limit)
                    .then(|| (first_reaching(self.tz, midnight(self.c.start)), FOREVER))
            }
            None => loop {
                // An empty window never opens: do not walk the dates for nothing.
                self.c.window?;
                let d = self.c.next_occurrence(self.next?, self.limit)?;
                self.next = d.checked_add_days(Days::new(1));
                if let Some(w) = day_window(self.c, self.tz, d) {
                    return Some(w);
                }
            },
        }
    }
}

//! Which local dates a rule occurs on: plain date arithmetic, no time zones.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::rule::{Cycle, Ordinal, TemporalRule, SECONDS_IN_DAY};

/// A rule prepared for evaluation in one time zone: bit masks instead of lists, the start
/// date resolved, the window as a half-open range of seconds.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub cycle: Cycle,
    pub interval: i64,
    /// Bit `d` set for day of month `d` (1..=31); 0 when the rule has no `days`.
    pub day_mask: u32,
    /// Bit `n` set for the weekday `n` days from Monday; never 0 (no `wdays` = all seven).
    pub wday_mask: u8,
    pub ordinal: Ordinal,
    pub month: u32,
    /// The local date of `start_date`.
    pub start: NaiveDate,
    /// Active seconds of an occurrence day, `[from, to)`; `None` when empty.
    /// `time_window_stop` itself is inside (Kazoo: `LSec > End` is the only way out), so
    /// `to` is `stop + 1`, capped at the end of the day.
    pub window: Option<(u32, u32)>,
    pub forced: Option<bool>,
}

impl Compiled {
    pub fn new(rule: &TemporalRule, tz: Tz) -> Self {
        let day_mask = rule
            .days
            .iter()
            .filter(|d| (1..=31).contains(*d))
            .fold(0u32, |m, d| m | (1 << d));
        let wday_mask = match rule
            .wdays
            .iter()
            .fold(0u8, |m, w| m | (1 << w.num_days_from_monday()))
        {
            0 => 0x7f,
            m => m,
        };
        let from = rule.time_window_start;
        let to = rule.time_window_stop.saturating_add(1).min(SECONDS_IN_DAY);
        Self {
            cycle: rule.cycle,
            interval: i64::from(rule.interval.max(1)),
            day_mask,
            wday_mask,
            ordinal: rule.ordinal,
            month: rule.month,
            start: rule.start_date_local(tz),
            window: (from < to).then_some((from, to)),
            forced: rule.enabled,
        }
    }

    /// Whether the rule's schedule includes local date `d` (the window aside).
    pub fn occurs(&self, d: NaiveDate) -> bool {
        if d < self.start {
            return false;
        }
        let i = self.interval;
        match self.cycle {
            Cycle::Date => d == self.start,
            Cycle::Daily => days_between(self.start, d) % i == 0,
            Cycle::Weekly => {
                week_index(self.start, d) % i == 0 && self.wday_mask & wday_bit(d.weekday()) != 0
            }
            Cycle::Monthly => {
                (month_index(d) - month_index(self.start)) % i == 0
                    && self.month_mask(d.year(), d.month()) & (1 << d.day()) != 0
            }
            Cycle::Yearly => {
                i64::from(d.year() - self.start.year()) % i == 0
                    && d.month() == self.month
                    && self.month_mask(d.year(), d.month()) & (1 << d.day()) != 0
            }
        }
    }

    /// The first date in `from..=limit` the rule occurs on. Skips inactive weeks, months
    /// and years whole, so a sparse rule costs one step per candidate period.
    pub fn next_occurrence(&self, from: NaiveDate, limit: NaiveDate) -> Option<NaiveDate> {
        let i = self.interval;
        let mut d = from.max(self.start);
        let found = match self.cycle {
            Cycle::Date => (from <= self.start).then_some(self.start),
            Cycle::Daily => {
                let r = days_between(self.start, d) % i;
                if r == 0 {
                    Some(d)
                } else {
                    add_days(d, i - r)
                }
            }
            Cycle::Weekly => loop {
                if d > limit {
                    break None;
                }
                let start_monday = monday_of(self.start);
                let w = week_index(self.start, d);
                let r = w % i;
                if r != 0 {
                    d = add_days(start_monday, (w + i - r) * 7)?;
                    continue;
                }
                let from_today = self.wday_mask >> d.weekday().num_days_from_monday();
                if from_today != 0 {
                    break add_days(d, i64::from(from_today.trailing_zeros()));
                }
                d = add_days(monday_of(d), i * 7)?;
            },
            Cycle::Monthly => loop {
                if d > limit {
                    break None;
                }
                let mi = month_index(d);
                let r = (mi - month_index(self.start)) % i;
                if r != 0 {
                    d = first_of_month(mi + i - r)?;
                    continue;
                }
                let left = self.month_mask(d.year(), d.month()) & (u32::MAX << d.day());
                if left != 0 {
                    break d.with_day(left.trailing_zeros());
                }
                d = first_of_month(mi + i)?;
            },
            Cycle::Yearly => loop {
                if d > limit {
                    break None;
                }
                let r = i64::from(d.year() - self.start.year()) % i;
                if r != 0 {
                    d = NaiveDate::from_ymd_opt(year_plus(d.year(), i - r)?, self.month, 1)?;
                    continue;
                }
                if d.month() > self.month {
                    d = NaiveDate::from_ymd_opt(year_plus(d.year(), i)?, self.month, 1)?;
                    continue;
                }
                if d.month() < self.month {
                    d = NaiveDate::from_ymd_opt(d.year(), self.month, 1)?;
                }
                let left = self.month_mask(d.year(), d.month()) & (u32::MAX << d.day());
                if left != 0 {
                    break d.with_day(left.trailing_zeros());
                }
                d = NaiveDate::from_ymd_opt(year_plus(d.year(), i)?, self.month, 1)?;
            },
        };
        found.filter(|d| *d <= limit)
    }

    /// The days of month `(y, m)` matching the rule's day selection (bit `d` for day `d`):
    /// `days` when given (days the month lacks never match), otherwise the `ordinal`
    /// occurrence(s) of each of `wdays`.
    pub fn month_mask(&self, y: i32, m: u32) -> u32 {
        let len = days_in_month(y, m);
        let in_month = (u32::MAX >> (31 - len)) & !1;
        if self.day_mask != 0 {
            return self.day_mask & in_month;
        }
        let first_wday = NaiveDate::from_ymd_opt(y, m, 1)
            .map(|d| d.weekday().num_days_from_monday())
            .unwrap_or(0);
        let mut mask = 0u32;
        for w in 0..7u32 {
            if self.wday_mask & (1 << w) == 0 {
                continue;
            }
            // The first day of the month falling on weekday `w`, then every 7 days.
            let first = 1 + (w + 7 - first_wday) % 7;
            let count = (len - first) / 7 + 1;
            let pick = |n: u32| 1u32 << (first + 7 * (n - 1));
            mask |= match self.ordinal {
                Ordinal::Every => (1..=count).fold(0, |m, n| m | pick(n)),
                Ordinal::Last => pick(count),
                o => match o.position() {
                    Some(n) if n <= count => pick(n),
                    _ => 0,
                },
            };
        }
        mask
    }
}

pub(crate) fn wday_bit(w: Weekday) -> u8 {
    1 << w.num_days_from_monday()
}

pub(crate) fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    (b - a).num_days()
}

pub(crate) fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// ISO weeks from the week of `start` to the week of `d`.
fn week_index(start: NaiveDate, d: NaiveDate) -> i64 {
    days_between(monday_of(start), monday_of(d)).div_euclid(7)
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn first_of_month(index: i64) -> Option<NaiveDate> {
    let y = i32::try_from(index.div_euclid(12)).ok()?;
    let m = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn year_plus(y: i32, n: i64) -> Option<i32> {
    i32::try_from(i64::from(y) + n).ok()
}

fn add_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    d.checked_add_days(Days::new(u64::try_from(n).ok()?))
}

pub(crate) fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

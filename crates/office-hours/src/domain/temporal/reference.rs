//! A deliberately simple evaluator the engine is checked against. It shares nothing with
//! the engine but the parsed [`TemporalRule`]: it walks every local date from the start
//! date with plain counters (days, Mondays, first-of-months and New Year's days passed,
//! weekdays seen so far this month) and decides each instant by Kazoo's own comparison,
//! `TStart <= local second <= TStop`, on the (held) wall clock.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use super::rule::{Cycle, Ordinal, TemporalRule};

pub struct RefRule {
    start: NaiveDate,
    /// `occurs[n]`: the schedule includes the `n`-th day after `start`.
    occurs: Vec<bool>,
    tws: u32,
    twe: u32,
    forced: Option<bool>,
}

impl RefRule {
    /// Walks the local dates from the rule's start date to `until`.
    pub fn new(rule: &TemporalRule, tz: Tz, until: NaiveDate) -> Self {
        let start_utc = DateTime::from_timestamp(rule.start_date - 62_167_219_200, 0)
            .expect("start date in range");
        let start = start_utc.with_timezone(&tz).date_naive();
        let interval = rule.interval;
        let wday_ok = |d: NaiveDate| rule.wdays.is_empty() || rule.wdays.contains(&d.weekday());

        let mut occurs = Vec::new();
        let (mut days_passed, mut mondays, mut firsts, mut new_years) = (0u32, 0u32, 0u32, 0u32);
        let mut seen_this_month = [0u32; 7];
        // Walk from the 1st of the start month so that weekdays are counted from the 1st.
        let mut d = start.with_day(1).expect("first of month");
        while d <= until {
            if d.day() == 1 {
                seen_this_month = [0; 7];
            }
            seen_this_month[d.weekday().num_days_from_monday() as usize] += 1;
            if d > start {
                days_passed += 1;
                if d.weekday() == Weekday::Mon {
                    mondays += 1;
                }
                if d.day() == 1 {
                    firsts += 1;
                    if d.month() == 1 {
                        new_years += 1;
                    }
                }
            }
            if d >= start {
                let nth = seen_this_month[d.weekday().num_days_from_monday() as usize];
                let is_last = (d + Duration::days(7)).month() != d.month();
                let day_ok = if rule.days.is_empty() {
                    wday_ok(d)
                        && match rule.ordinal {
                            Ordinal::Every => true,
                            Ordinal::First => nth == 1,
                            Ordinal::Second => nth == 2,
                            Ordinal::Third => nth == 3,
                            Ordinal::Fourth => nth == 4,
                            Ordinal::Fifth => nth == 5,
                            Ordinal::Last => is_last,
                        }
                } else {
                    rule.days.contains(&d.day())
                };
                occurs.push(match rule.cycle {
                    Cycle::Date => d == start,
                    Cycle::Daily => days_passed % interval == 0,
                    Cycle::Weekly => mondays % interval == 0 && wday_ok(d),
                    Cycle::Monthly => firsts % interval == 0 && day_ok,
                    Cycle::Yearly => new_years % interval == 0 && d.month() == rule.month && day_ok,
                });
            }
            d = d.succ_opt().expect("next day");
        }
        Self {
            start,
            occurs,
            tws: rule.time_window_start,
            twe: rule.time_window_stop,
            forced: rule.enabled,
        }
    }

    /// The dates the schedule includes (the window aside).
    pub fn occurring_dates(&self) -> Vec<NaiveDate> {
        (0..self.occurs.len())
            .filter(|n| self.occurs[*n])
            .map(|n| self.start + Duration::days(n as i64))
            .collect()
    }

    /// Kazoo's decision on the held wall clock (see [`wall_clock`]).
    pub fn active(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        let wall = wall_clock(tz, t);
        if self.forced == Some(false) || wall.date() < self.start {
            return false;
        }
        if self.forced == Some(true) {
            return true;
        }
        let n = (wall.date() - self.start).num_days() as usize;
        let occurs = *self
            .occurs
            .get(n)
            .expect("instant within the reference table");
        let second = wall.num_seconds_from_midnight();
        occurs && self.tws <= second && second <= self.twe
    }
}

fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

fn offset(tz: Tz, t: DateTime<Utc>) -> i32 {
    t.with_timezone(&tz).offset().fix().local_minus_utc()
}

/// The wall-clock reading at whole second `t`, held while a fall-back repeats readings:
/// the highest reading of the last three hours, found minute by minute, looking at every
/// second of a minute in which the clock went back.
pub fn wall_clock(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    let t = t.with_nanosecond(0).expect("whole second");
    let now = local(tz, t);
    let three_hours_ago = t - Duration::hours(3);
    if offset(tz, three_hours_ago) == offset(tz, t) {
        return now;
    }
    let mut highest = now;
    let mut later = now;
    for k in 1..=180 {
        let minute = t - Duration::minutes(k);
        let reading = local(tz, minute);
        highest = highest.max(reading);
        if later < reading + Duration::minutes(1) {
            for s in 1..60 {
                highest = highest.max(local(tz, minute + Duration::seconds(s)));
            }
        }
        later = reading;
    }
    highest
}

/// Whether a set is active: any member.
pub fn any_active(rules: &[RefRule], tz: Tz, t: DateTime<Utc>) -> bool {
    rules.iter().any(|r| r.active(tz, t))
}

/// All instants in `[from, to]` at which `tz`'s UTC offset changes, to the second.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut found = Vec::new();
    let mut t = from;
    while t < to {
        let next = t + Duration::hours(1);
        if offset(tz, t) != offset(tz, next) {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(tz, mid) == offset(tz, lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(hi);
        }
        t = next;
    }
    found
}

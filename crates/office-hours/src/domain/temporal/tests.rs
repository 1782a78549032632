//! Hand-written cases: holidays, office hours, overrides, and both daylight-saving
//! changes in America/New_York, Europe/Berlin and America/Santiago (at midnight).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::*;

fn zone(name: &str) -> Tz {
    name.parse().expect("known zone")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("local date-time")
}

/// The instant of a local reading (the first one if it occurs twice).
fn local(tz: Tz, s: &str) -> DateTime<Utc> {
    tz.from_local_datetime(&naive(s))
        .earliest()
        .expect("existing local time")
        .with_timezone(&Utc)
}

/// Gregorian seconds of local midnight of `date` in `tz` (what a UI stores).
fn greg_midnight(tz: Tz, date: &str) -> i64 {
    local(tz, &format!("{date} 00:00:00")).timestamp() + GREGORIAN_UNIX_OFFSET
}

fn rule(doc: Value) -> TemporalRule {
    TemporalRule::from_doc("r", &doc).expect("valid rule")
}

fn named(id: &str, doc: Value) -> TemporalRule {
    TemporalRule::from_doc(id, &doc).expect("valid rule")
}

fn active_local(r: &TemporalRule, tz: Tz, s: &str) -> bool {
    is_active(r, local(tz, s), tz)
}

const YEAR: i64 = 366;

fn days(n: i64) -> Duration {
    Duration::days(n)
}

fn window_dates(ws: &[(DateTime<Utc>, DateTime<Utc>)], tz: Tz) -> Vec<NaiveDate> {
    ws.iter()
        .map(|(s, _)| s.with_timezone(&tz).date_naive())
        .collect()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn thanksgiving_is_the_fourth_thursday_of_november() {
    let ny = zone("America/New_York");
    let r = rule(
        json!({"name": "Thanksgiving", "cycle": "yearly", "month": 11,
        "ordinal": "fourth", "wdays": ["thursday"], "start_date": greg_midnight(ny, "2020-01-01")}),
    );
    assert!(active_local(&r, ny, "2024-11-28 00:00:00"));
    assert!(active_local(&r, ny, "2024-11-28 12:00:00"));
    assert!(active_local(&r, ny, "2023-11-23 08:00:00"));
    assert!(active_local(&r, ny, "2025-11-27 23:59:59"));
    assert!(!active_local(&r, ny, "2024-11-21 12:00:00"));
    assert!(!active_local(&r, ny, "2024-11-27 23:59:59"));
    assert!(!active_local(&r, ny, "2024-11-29 00:00:00"));

    let ws = occurrences(&r, utc("2024-01-01T00:00:00Z"), ny, 3);
    assert_eq!(
        ws,
        vec![
            (
                local(ny, "2024-11-28 00:00:00"),
                local(ny, "2024-11-29 00:00:00")
            ),
            (
                local(ny, "2025-11-27 00:00:00"),
                local(ny, "2025-11-28 00:00:00")
            ),
            (
                local(ny, "2026-11-26 00:00:00"),
                local(ny, "2026-11-27 00:00:00")
            ),
        ]
    );
    assert_eq!(
        next_change(&r, utc("2024-11-01T00:00:00Z"), ny, days(YEAR)),
        Some(utc("2024-11-28T05:00:00Z"))
    );
    assert_eq!(
        next_change(&r, local(ny, "2024-11-28 09:00:00"), ny, days(YEAR)),
        Some(utc("2024-11-29T05:00:00Z"))
    );
}

#[test]
fn last_friday_of_the_month() {
    let tz = zone("Europe/London");
    let r = rule(
        json!({"name": "pay day", "cycle": "monthly", "ordinal": "last",
        "wdays": ["friday"], "start_date": greg_midnight(tz, "2024-01-01")}),
    );
    let ws = occurrences(&r, utc("2024-01-01T00:00:00Z"), tz, 6);
    assert_eq!(
        window_dates(&ws, tz),
        [
            "2024-01-26",
            "2024-02-23",
            "2024-03-29",
            "2024-04-26",
            "2024-05-31",
            "2024-06-28"
        ]
        .map(date)
    );
    assert!(active_local(&r, tz, "2024-05-31 15:00:00"));
    assert!(!active_local(&r, tz, "2024-05-24 15:00:00"));
    assert!(!active_local(&r, tz, "2024-02-16 15:00:00"));
    assert!(active_local(&r, tz, "2024-11-29 15:00:00"));
}

#[test]
fn every_other_monday_from_a_start_date() {
    let tz = zone("America/Chicago");
    let r = rule(json!({"name": "payroll", "cycle": "weekly", "interval": 2,
        "wdays": ["monday"], "start_date": greg_midnight(tz, "2024-01-08"),
        "time_window_start": 32400, "time_window_stop": 61200}));
    assert!(
        !active_local(&r, tz, "2024-01-01 10:00:00"),
        "before the start date"
    );
    assert!(active_local(&r, tz, "2024-01-08 10:00:00"));
    assert!(!active_local(&r, tz, "2024-01-15 10:00:00"));
    assert!(active_local(&r, tz, "2024-01-22 10:00:00"));
    assert!(!active_local(&r, tz, "2024-01-29 10:00:00"));
    assert!(active_local(&r, tz, "2024-02-05 10:00:00"));
    assert!(!active_local(&r, tz, "2024-01-22 08:59:59"));
    let ws = occurrences(&r, utc("2024-12-20T00:00:00Z"), tz, 3);
    assert_eq!(
        window_dates(&ws, tz),
        ["2024-12-23", "2025-01-06", "2025-01-20"].map(date)
    );
}

#[test]
fn weekly_interval_counts_iso_weeks_as_kazoo_does() {
    // From Kazoo's cf_temporal_route_tests: start 2011-01-01 (a Saturday, ISO week
    // 2010-W52), interval 2.
    let tz = zone("UTC");
    let start = greg_midnight(tz, "2011-01-01");
    let monday = rule(json!({"name": "m", "cycle": "weekly", "interval": 2,
        "wdays": ["monday"], "start_date": start}));
    let ws = occurrences(&monday, utc("2011-01-01T00:00:00Z"), tz, 2);
    assert_eq!(
        window_dates(&ws, tz),
        ["2011-01-10", "2011-01-24"].map(date)
    );
    let sunday = rule(json!({"name": "s", "cycle": "weekly", "interval": 2,
        "wdays": ["sunday"], "start_date": start}));
    let ws = occurrences(&sunday, utc("2011-01-01T00:00:00Z"), tz, 2);
    assert_eq!(
        window_dates(&ws, tz),
        ["2011-01-02", "2011-01-16"].map(date)
    );
    let mwf = rule(json!({"name": "mwf", "cycle": "weekly", "interval": 2,
        "wdays": ["friday", "monday", "wensday"], "start_date": start}));
    let ws = occurrences(&mwf, utc("2011-01-11T00:00:00Z"), tz, 3);
    assert_eq!(
        window_dates(&ws, tz),
        ["2011-01-12", "2011-01-14", "2011-01-24"].map(date)
    );
}

#[test]
fn other_cycles_match_kazoos_expected_dates() {
    let tz = zone("UTC");
    let start = greg_midnight(tz, "2011-01-01");
    let from = utc("2011-01-01T00:00:00Z");
    // daily interval 4: Kazoo's next date after Jan 1 is Jan 5 (and Jan 1 itself: see the
    // deviation noted in the module docs).
    let daily = rule(json!({"name": "d", "cycle": "daily", "interval": 4, "start_date": start}));
    assert_eq!(
        window_dates(&occurrences(&daily, from, tz, 3), tz),
        ["2011-01-01", "2011-01-05", "2011-01-09"].map(date)
    );
    let every_tuesday = rule(json!({"name": "t", "cycle": "monthly", "ordinal": "every",
        "wdays": ["tuesday"], "start_date": start}));
    assert_eq!(
        window_dates(&occurrences(&every_tuesday, from, tz, 5), tz),
        [
            "2011-01-04",
            "2011-01-11",
            "2011-01-18",
            "2011-01-25",
            "2011-02-01"
        ]
        .map(date)
    );
    let quarterly = rule(json!({"name": "q", "cycle": "monthly", "interval": 3,
        "ordinal": "first", "wdays": ["monday"], "start_date": start}));
    assert_eq!(
        window_dates(&occurrences(&quarterly, from, tz, 2), tz),
        ["2011-01-03", "2011-04-04"].map(date)
    );
    let fifth_tuesday = rule(json!({"name": "f", "cycle": "monthly", "interval": 2,
        "ordinal": "fifth", "wdays": ["tuesday"], "start_date": start}));
    assert_eq!(
        window_dates(
            &occurrences(&fifth_tuesday, utc("2011-01-31T00:00:00Z"), tz, 1),
            tz
        ),
        ["2011-03-29"].map(date)
    );
    // A fifth Monday in an active month that has only four: none (Kazoo spills over).
    let fifth_monday = rule(json!({"name": "f", "cycle": "monthly", "interval": 2,
        "ordinal": "fifth", "wdays": ["monday"], "start_date": start}));
    assert_eq!(
        window_dates(&occurrences(&fifth_monday, from, tz, 2), tz),
        ["2011-01-31", "2011-05-30"].map(date)
    );
}

#[test]
fn christmas_as_in_the_documentation_example() {
    let la = zone("America/Los_Angeles");
    let r = rule(
        json!({"time_window_start": 0, "time_window_stop": 86400, "days": [25],
        "name": "Christmas", "cycle": "yearly", "start_date": 62586115200i64, "month": 12,
        "ordinal": "every", "interval": 1}),
    );
    assert!(active_local(&r, la, "2024-12-25 00:00:00"));
    assert!(active_local(&r, la, "2024-12-25 23:59:59"));
    assert!(!active_local(&r, la, "2024-12-24 23:59:59"));
    assert!(!active_local(&r, la, "2024-12-26 00:00:00"));
    assert!(active_local(&r, la, "1999-12-25 12:00:00"));
    assert_eq!(
        next_change(&r, local(la, "2024-12-25 10:00:00"), la, days(YEAR)),
        Some(local(la, "2024-12-26 00:00:00"))
    );
    assert_eq!(
        next_change(&r, local(la, "2024-12-26 00:00:00"), la, days(YEAR)),
        Some(local(la, "2025-12-25 00:00:00"))
    );
}

#[test]
fn a_daily_nine_to_five_window_includes_its_stop_second() {
    let ny = zone("America/New_York");
    let r = rule(
        json!({"name": "open", "cycle": "daily", "time_window_start": 32400,
        "time_window_stop": 61200}),
    );
    assert!(!active_local(&r, ny, "2024-06-03 08:59:59"));
    assert!(active_local(&r, ny, "2024-06-03 09:00:00"));
    assert!(active_local(&r, ny, "2024-06-03 17:00:00"));
    assert!(!active_local(&r, ny, "2024-06-03 17:00:01"));
    // Sub-second parts are ignored, as Kazoo counts whole seconds.
    let just_after = local(ny, "2024-06-03 17:00:00") + Duration::milliseconds(999);
    assert!(is_active(&r, just_after, ny));

    assert_eq!(
        next_change(&r, local(ny, "2024-06-03 08:00:00"), ny, days(2)),
        Some(local(ny, "2024-06-03 09:00:00"))
    );
    assert_eq!(
        next_change(&r, local(ny, "2024-06-03 12:00:00"), ny, days(2)),
        Some(local(ny, "2024-06-03 17:00:01"))
    );
    // The window in progress is reported whole (not clipped to `from`).
    assert_eq!(
        occurrences(&r, local(ny, "2024-06-03 12:00:00"), ny, 2),
        vec![
            (
                local(ny, "2024-06-03 09:00:00"),
                local(ny, "2024-06-03 17:00:01")
            ),
            (
                local(ny, "2024-06-04 09:00:00"),
                local(ny, "2024-06-04 17:00:01")
            ),
        ]
    );
    // A window that closed exactly at `from` is over.
    let ws = occurrences(&r, local(ny, "2024-06-03 17:00:01"), ny, 1);
    assert_eq!(ws[0].0, local(ny, "2024-06-04 09:00:00"));
}

#[test]
fn horizon_bounds_the_search() {
    let ny = zone("America/New_York");
    let r = rule(
        json!({"name": "open", "cycle": "daily", "time_window_start": 32400,
        "time_window_stop": 61200}),
    );
    let at = local(ny, "2024-06-03 18:00:00");
    let opens = local(ny, "2024-06-04 09:00:00");
    assert_eq!(next_change(&r, at, ny, Duration::hours(1)), None);
    assert_eq!(next_change(&r, at, ny, opens - at), Some(opens));
    assert_eq!(
        next_change(&r, at, ny, opens - at - Duration::seconds(1)),
        None
    );
    assert_eq!(next_change(&r, at, ny, Duration::seconds(-1)), None);
}

#[test]
fn a_window_ending_at_86400_runs_to_midnight() {
    let ny = zone("America/New_York");
    let friday_evening = rule(
        json!({"name": "fri", "cycle": "weekly", "wdays": ["friday"],
        "time_window_start": 64800, "time_window_stop": 86400}),
    );
    assert!(!active_local(&friday_evening, ny, "2024-06-07 17:59:59"));
    assert!(active_local(&friday_evening, ny, "2024-06-07 18:00:00"));
    assert!(active_local(&friday_evening, ny, "2024-06-07 23:59:59"));
    assert!(!active_local(&friday_evening, ny, "2024-06-08 00:00:00"));
    assert_eq!(
        next_change(
            &friday_evening,
            local(ny, "2024-06-07 20:00:00"),
            ny,
            days(8)
        ),
        Some(local(ny, "2024-06-08 00:00:00"))
    );
    // 86399 is the same window: the stop second is inside.
    let mut r86399 = friday_evening.clone();
    r86399.time_window_stop = 86399;
    assert_eq!(
        occurrences(&r86399, utc("2024-06-01T00:00:00Z"), ny, 2),
        occurrences(&friday_evening, utc("2024-06-01T00:00:00Z"), ny, 2)
    );

    // All day, every day: never changes; one window per day.
    let always = rule(json!({"name": "all", "cycle": "daily"}));
    let at = local(ny, "2024-06-07 20:00:00");
    assert!(is_active(&always, at, ny));
    assert_eq!(next_change(&always, at, ny, days(30)), None);
    let ws = occurrences(&always, at, ny, 3);
    assert_eq!(
        ws,
        vec![
            (
                local(ny, "2024-06-07 00:00:00"),
                local(ny, "2024-06-08 00:00:00")
            ),
            (
                local(ny, "2024-06-08 00:00:00"),
                local(ny, "2024-06-09 00:00:00")
            ),
            (
                local(ny, "2024-06-09 00:00:00"),
                local(ny, "2024-06-10 00:00:00")
            ),
        ]
    );
    // Weekdays all day: closes at Saturday's midnight, reopens Monday's.
    let weekdays = rule(json!({"name": "wd", "cycle": "weekly",
        "wdays": ["monday", "tuesday", "wednesday", "thursday", "friday"]}));
    assert_eq!(
        next_change(&weekdays, local(ny, "2024-06-05 12:00:00"), ny, days(8)),
        Some(local(ny, "2024-06-08 00:00:00"))
    );
    assert_eq!(
        next_change(&weekdays, local(ny, "2024-06-08 00:00:00"), ny, days(8)),
        Some(local(ny, "2024-06-10 00:00:00"))
    );
}

#[test]
fn enabled_overrides_the_schedule() {
    let ny = zone("America/New_York");
    let start = greg_midnight(ny, "2024-01-01");
    let sunday_night = local(ny, "2024-06-09 23:00:00");
    let mut r = rule(
        json!({"name": "open", "cycle": "weekly", "wdays": ["monday"],
        "time_window_start": 32400, "time_window_stop": 61200, "start_date": start}),
    );
    assert!(!is_active(&r, sunday_night, ny));

    r.enabled = Some(true);
    assert!(is_active(&r, sunday_night, ny));
    assert_eq!(next_change(&r, sunday_night, ny, days(YEAR)), None);
    assert_eq!(
        occurrences(&r, sunday_night, ny, 5),
        vec![(local(ny, "2024-01-01 00:00:00"), NEVER)]
    );

    r.enabled = Some(false);
    assert!(!is_active(&r, local(ny, "2024-06-10 10:00:00"), ny));
    assert_eq!(next_change(&r, sunday_night, ny, days(YEAR)), None);
    assert!(occurrences(&r, sunday_night, ny, 5).is_empty());

    // Kazoo discards a rule whose start date is still to come, even a forced one.
    let mut future = rule(json!({"name": "f", "cycle": "daily", "enabled": true,
        "start_date": greg_midnight(ny, "2024-07-01")}));
    assert!(!is_active(&future, sunday_night, ny));
    assert_eq!(
        next_change(&future, sunday_night, ny, days(YEAR)),
        Some(local(ny, "2024-07-01 00:00:00"))
    );
    assert!(is_active(&future, local(ny, "2024-07-01 00:00:00"), ny));
    future.enabled = None;
    assert!(is_active(&future, local(ny, "2024-07-01 00:00:00"), ny));
}

#[test]
fn a_date_rule_is_its_start_date_only() {
    let ny = zone("America/New_York");
    let r = rule(json!({"name": "July 4th", "cycle": "date",
        "start_date": greg_midnight(ny, "2024-07-04"), "interval": 3, "days": [1]}));
    assert!(!active_local(&r, ny, "2024-07-03 23:59:59"));
    assert!(active_local(&r, ny, "2024-07-04 00:00:00"));
    assert!(active_local(&r, ny, "2024-07-04 23:59:59"));
    assert!(!active_local(&r, ny, "2024-07-05 00:00:00"));
    assert!(!active_local(&r, ny, "2025-07-04 12:00:00"));
    assert_eq!(
        next_change(&r, local(ny, "2024-07-01 00:00:00"), ny, days(YEAR)),
        Some(local(ny, "2024-07-04 00:00:00"))
    );
    assert_eq!(
        next_change(&r, local(ny, "2024-07-05 00:00:00"), ny, days(10 * YEAR)),
        None
    );
    assert!(occurrences(&r, local(ny, "2024-07-05 00:00:00"), ny, 3).is_empty());
    assert_eq!(
        occurrences(&r, local(ny, "2024-07-04 12:00:00"), ny, 3).len(),
        1
    );

    // The start date is the local date, in the account's zone, of the instant stored:
    // 2024-07-04T02:00Z is still July 3rd in New York.
    let r = rule(json!({"name": "d", "cycle": "date",
        "start_date": utc("2024-07-04T02:00:00Z").timestamp() + GREGORIAN_UNIX_OFFSET}));
    assert!(active_local(&r, ny, "2024-07-03 12:00:00"));
    assert!(!active_local(&r, ny, "2024-07-04 12:00:00"));
    assert!(is_active(&r, utc("2024-07-04T12:00:00Z"), zone("UTC")));
}

#[test]
fn monthly_days_list() {
    let tz = zone("Europe/Paris");
    let r = rule(
        json!({"name": "billing", "cycle": "monthly", "days": [31, 1, "15", 1],
        "start_date": greg_midnight(tz, "2024-01-01")}),
    );
    assert_eq!(r.days, vec![1, 15, 31]);
    for (day, expected) in [
        ("2024-01-01", true),
        ("2024-01-02", false),
        ("2024-01-15", true),
        ("2024-01-31", true),
        ("2024-02-01", true),
        ("2024-02-29", false),
        ("2024-03-31", true),
        ("2024-04-30", false),
        ("2024-05-01", true),
    ] {
        assert_eq!(
            active_local(&r, tz, &format!("{day} 12:00:00")),
            expected,
            "{day}"
        );
    }
    // April has no 31st: the next occurrence after April 15th is May 1st.
    let ws = occurrences(&r, local(tz, "2024-04-16 00:00:00"), tz, 2);
    assert_eq!(
        window_dates(&ws, tz),
        ["2024-05-01", "2024-05-15"].map(date)
    );

    let every_other = rule(json!({"name": "b", "cycle": "monthly", "interval": 2,
        "days": [1], "start_date": greg_midnight(tz, "2024-01-20")}));
    assert!(!active_local(&every_other, tz, "2024-01-01 12:00:00"));
    assert!(!active_local(&every_other, tz, "2024-02-01 12:00:00"));
    assert!(active_local(&every_other, tz, "2024-03-01 12:00:00"));
    assert!(active_local(&every_other, tz, "2025-01-01 12:00:00"));
}

#[test]
fn wensday_is_wednesday() {
    let tz = zone("UTC");
    let r = rule(json!({"name": "w", "cycle": "weekly", "wdays": ["wensday"]}));
    assert_eq!(r.wdays, vec![chrono::Weekday::Wed]);
    assert!(active_local(&r, tz, "2024-06-05 12:00:00"));
    assert!(!active_local(&r, tz, "2024-06-06 12:00:00"));
    let both = rule(json!({"name": "w", "cycle": "weekly", "wdays": ["wednesday", "wensday"]}));
    assert_eq!(both.wdays, vec![chrono::Weekday::Wed]);
    let monthly = rule(json!({"name": "w", "cycle": "monthly", "ordinal": "second",
        "wdays": ["wensday"], "start_date": greg_midnight(tz, "2024-01-01")}));
    assert!(active_local(&monthly, tz, "2024-06-12 12:00:00"));
    assert!(!active_local(&monthly, tz, "2024-06-05 12:00:00"));
}

#[test]
fn new_york_spring_forward() {
    // 2024-03-10: 02:00 EST jumps to 03:00 EDT at 07:00Z.
    let ny = zone("America/New_York");
    let starts_in_gap = rule(json!({"name": "a", "cycle": "daily",
        "time_window_start": 9000, "time_window_stop": 86400}));
    assert!(!is_active(&starts_in_gap, utc("2024-03-10T06:59:59Z"), ny));
    assert!(is_active(&starts_in_gap, utc("2024-03-10T07:00:00Z"), ny));
    assert_eq!(
        next_change(&starts_in_gap, utc("2024-03-10T06:00:00Z"), ny, days(1)),
        Some(utc("2024-03-10T07:00:00Z"))
    );
    let ends_in_gap = rule(json!({"name": "b", "cycle": "daily",
        "time_window_start": 0, "time_window_stop": 9000}));
    assert!(is_active(&ends_in_gap, utc("2024-03-10T06:59:59Z"), ny));
    assert!(!is_active(&ends_in_gap, utc("2024-03-10T07:00:00Z"), ny));
    assert_eq!(
        next_change(&ends_in_gap, utc("2024-03-10T06:30:00Z"), ny, days(1)),
        Some(utc("2024-03-10T07:00:00Z"))
    );
    // A window lying inside the gap does not happen that day.
    let inside_gap = rule(json!({"name": "c", "cycle": "daily",
        "time_window_start": 7800, "time_window_stop": 10200}));
    for t in [
        "2024-03-10T06:59:59Z",
        "2024-03-10T07:00:00Z",
        "2024-03-10T07:30:00Z",
    ] {
        assert!(!is_active(&inside_gap, utc(t), ny), "{t}");
    }
    let ws = occurrences(&inside_gap, local(ny, "2024-03-09 12:00:00"), ny, 2);
    assert_eq!(
        window_dates(&ws, ny),
        ["2024-03-11", "2024-03-12"].map(date)
    );
    // Ordinary hours move with the clock: 09:00 is 14:00Z before, 13:00Z after.
    let office = rule(json!({"name": "o", "cycle": "daily",
        "time_window_start": 32400, "time_window_stop": 61200}));
    assert!(!is_active(&office, utc("2024-03-08T13:59:59Z"), ny));
    assert!(is_active(&office, utc("2024-03-08T14:00:00Z"), ny));
    assert!(!is_active(&office, utc("2024-03-11T12:59:59Z"), ny));
    assert!(is_active(&office, utc("2024-03-11T13:00:00Z"), ny));
    assert_eq!(
        next_change(&office, utc("2024-03-10T23:00:00Z"), ny, days(1)),
        Some(utc("2024-03-11T13:00:00Z"))
    );
}

#[test]
fn new_york_fall_back() {
    // 2024-11-03: 02:00 EDT goes back to 01:00 EST at 06:00Z; 01:30 is 05:30Z, then 06:30Z.
    let ny = zone("America/New_York");
    let from_0130 = rule(json!({"name": "a", "cycle": "daily",
        "time_window_start": 5400, "time_window_stop": 86400}));
    assert!(!is_active(&from_0130, utc("2024-11-03T05:29:59Z"), ny));
    assert!(is_active(&from_0130, utc("2024-11-03T05:30:00Z"), ny));
    // Held through the repeated hour (the wall clock reads 01:00..01:30 again).
    assert!(is_active(&from_0130, utc("2024-11-03T06:00:00Z"), ny));
    assert!(is_active(&from_0130, utc("2024-11-03T06:29:59Z"), ny));
    assert!(is_active(&from_0130, utc("2024-11-03T06:30:00Z"), ny));
    assert_eq!(
        next_change(&from_0130, utc("2024-11-03T05:00:00Z"), ny, days(1)),
        Some(utc("2024-11-03T05:30:00Z"))
    );
    assert_eq!(
        next_change(&from_0130, utc("2024-11-03T05:30:00Z"), ny, days(1)),
        Some(utc("2024-11-04T05:00:00Z"))
    );

    let until_0130 = rule(json!({"name": "b", "cycle": "daily",
        "time_window_start": 0, "time_window_stop": 5400}));
    assert!(is_active(&until_0130, utc("2024-11-03T05:30:00Z"), ny));
    assert!(!is_active(&until_0130, utc("2024-11-03T05:30:01Z"), ny));
    assert!(!is_active(&until_0130, utc("2024-11-03T06:00:00Z"), ny));
    assert!(!is_active(&until_0130, utc("2024-11-03T06:15:00Z"), ny));
    assert!(!is_active(&until_0130, utc("2024-11-03T06:30:01Z"), ny));
    assert_eq!(
        next_change(&until_0130, utc("2024-11-03T05:00:00Z"), ny, days(1)),
        Some(utc("2024-11-03T05:30:01Z"))
    );
    assert_eq!(
        next_change(&until_0130, utc("2024-11-03T05:30:01Z"), ny, days(1)),
        Some(utc("2024-11-04T05:00:00Z"))
    );
    assert_eq!(
        occurrences(&until_0130, utc("2024-11-03T05:00:00Z"), ny, 1),
        vec![(utc("2024-11-03T04:00:00Z"), utc("2024-11-03T05:30:01Z"))]
    );

    let office = rule(json!({"name": "o", "cycle": "daily",
        "time_window_start": 32400, "time_window_stop": 61200}));
    assert!(!is_active(&office, utc("2024-11-03T13:59:59Z"), ny));
    assert!(is_active(&office, utc("2024-11-03T14:00:00Z"), ny));
    assert!(is_active(&office, utc("2024-11-03T22:00:00Z"), ny));
    assert!(!is_active(&office, utc("2024-11-03T22:00:01Z"), ny));
}

#[test]
fn berlin_both_changes() {
    let berlin = zone("Europe/Berlin");
    // 2024-03-31: 02:00 CET jumps to 03:00 CEST at 01:00Z.
    let from_0200 = rule(json!({"name": "a", "cycle": "daily",
        "time_window_start": 7200, "time_window_stop": 86400}));
    assert!(!is_active(&from_0200, utc("2024-03-31T00:59:59Z"), berlin));
    assert!(is_active(&from_0200, utc("2024-03-31T01:00:00Z"), berlin));
    let until_0200 = rule(json!({"name": "b", "cycle": "daily",
        "time_window_start": 0, "time_window_stop": 7200}));
    assert!(is_active(&until_0200, utc("2024-03-31T00:59:59Z"), berlin));
    assert!(!is_active(&until_0200, utc("2024-03-31T01:00:00Z"), berlin));
    assert_eq!(
        next_change(&until_0200, utc("2024-03-31T00:30:00Z"), berlin, days(1)),
        Some(utc("2024-03-31T01:00:00Z"))
    );

    // 2024-10-27: 03:00 CEST goes back to 02:00 CET at 01:00Z; 02:30 is 00:30Z, then 01:30Z.
    let from_0230 = rule(json!({"name": "c", "cycle": "daily",
        "time_window_start": 9000, "time_window_stop": 86400}));
    assert!(!is_active(&from_0230, utc("2024-10-27T00:29:59Z"), berlin));
    assert!(is_active(&from_0230, utc("2024-10-27T00:30:00Z"), berlin));
    assert!(is_active(&from_0230, utc("2024-10-27T01:00:00Z"), berlin));
    assert!(is_active(&from_0230, utc("2024-10-27T01:29:59Z"), berlin));
    let until_0230 = rule(json!({"name": "d", "cycle": "daily",
        "time_window_start": 0, "time_window_stop": 9000}));
    assert!(is_active(&until_0230, utc("2024-10-27T00:30:00Z"), berlin));
    assert!(!is_active(&until_0230, utc("2024-10-27T00:30:01Z"), berlin));
    assert!(!is_active(&until_0230, utc("2024-10-27T01:15:00Z"), berlin));
    assert!(!is_active(&until_0230, utc("2024-10-27T01:30:01Z"), berlin));
    assert_eq!(
        next_change(&until_0230, utc("2024-10-27T00:30:01Z"), berlin, days(1)),
        Some(utc("2024-10-27T23:00:00Z"))
    );

    let office = rule(json!({"name": "o", "cycle": "weekly",
        "wdays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "time_window_start": 28800, "time_window_stop": 64800}));
    // Friday before (CEST, UTC+2) and Monday after (CET, UTC+1).
    assert!(!is_active(&office, utc("2024-10-25T05:59:59Z"), berlin));
    assert!(is_active(&office, utc("2024-10-25T06:00:00Z"), berlin));
    assert!(is_active(&office, utc("2024-10-25T16:00:00Z"), berlin));
    assert!(!is_active(&office, utc("2024-10-25T16:00:01Z"), berlin));
    assert_eq!(
        next_change(&office, utc("2024-10-25T16:00:01Z"), berlin, days(7)),
        Some(utc("2024-10-28T07:00:00Z"))
    );
    assert!(is_active(&office, utc("2024-10-28T17:00:00Z"), berlin));
    assert!(!is_active(&office, utc("2024-10-28T17:00:01Z"), berlin));
}

#[test]
fn santiago_changes_at_midnight() {
    let scl = zone("America/Santiago");
    // 2024-09-08: 00:00 (UTC-4) jumps to 01:00 (UTC-3) at 04:00Z: Sunday has no 00:xx.
    let sundays = rule(
        json!({"name": "sun", "cycle": "weekly", "wdays": ["sunday"],
        "start_date": greg_midnight(scl, "2024-01-01")}),
    );
    assert!(!is_active(&sundays, utc("2024-09-08T03:59:59Z"), scl));
    assert!(is_active(&sundays, utc("2024-09-08T04:00:00Z"), scl));
    assert_eq!(
        next_change(&sundays, utc("2024-09-08T03:00:00Z"), scl, days(1)),
        Some(utc("2024-09-08T04:00:00Z"))
    );
    let saturdays = rule(
        json!({"name": "sat", "cycle": "weekly", "wdays": ["saturday"],
        "start_date": greg_midnight(scl, "2024-01-01")}),
    );
    assert_eq!(
        occurrences(&saturdays, utc("2024-09-07T12:00:00Z"), scl, 1),
        vec![(utc("2024-09-07T04:00:00Z"), utc("2024-09-08T04:00:00Z"))]
    );
    // 2024-04-07: 00:00 (UTC-3) goes back to Saturday 23:00 (UTC-4) at 03:00Z. Saturday's
    // readings repeat for an hour; Saturday's all-day window holds until the clock
    // reaches Sunday again.
    assert!(is_active(&saturdays, utc("2024-04-07T02:59:59Z"), scl));
    assert!(is_active(&saturdays, utc("2024-04-07T03:30:00Z"), scl));
    assert!(!is_active(&saturdays, utc("2024-04-07T04:00:00Z"), scl));
    assert_eq!(
        next_change(&saturdays, utc("2024-04-07T02:00:00Z"), scl, days(1)),
        Some(utc("2024-04-07T04:00:00Z"))
    );
    assert!(!is_active(&sundays, utc("2024-04-07T03:30:00Z"), scl));
    assert!(is_active(&sundays, utc("2024-04-07T04:00:00Z"), scl));
}

#[test]
fn sets_match_in_the_order_given() {
    let ny = zone("America/New_York");
    let morning = named(
        "morning",
        json!({"name": "m", "cycle": "daily",
        "time_window_start": 32400, "time_window_stop": 43200}),
    );
    let afternoon = named(
        "afternoon",
        json!({"name": "a", "cycle": "daily",
        "time_window_start": 43200, "time_window_stop": 61200}),
    );
    let off = named(
        "off",
        json!({"name": "o", "cycle": "daily", "enabled": false}),
    );
    let saturday = named(
        "saturday",
        json!({"name": "s", "cycle": "weekly",
        "wdays": ["saturday"]}),
    );
    let set = vec![morning.clone(), afternoon.clone(), off, saturday];

    let noon = local(ny, "2024-06-03 12:00:00");
    assert_eq!(matching_rules(&set, noon, ny), vec!["morning", "afternoon"]);
    let reversed: Vec<TemporalRule> = set.iter().rev().cloned().collect();
    assert_eq!(
        matching_rules(&reversed, noon, ny),
        vec!["afternoon", "morning"]
    );
    assert_eq!(
        matching_rules(&set, local(ny, "2024-06-03 10:00:00"), ny),
        vec!["morning"]
    );
    assert!(matching_rules(&set, local(ny, "2024-06-03 20:00:00"), ny).is_empty());
    assert_eq!(
        matching_rules(&set, local(ny, "2024-06-08 20:00:00"), ny),
        vec!["saturday"]
    );

    // Morning hands over to afternoon: no change at noon.
    assert_eq!(
        next_set_change(&set, local(ny, "2024-06-03 10:00:00"), ny, days(7)),
        Some(local(ny, "2024-06-03 17:00:01"))
    );
    assert_eq!(
        next_set_change(&set, local(ny, "2024-06-03 18:00:00"), ny, days(7)),
        Some(local(ny, "2024-06-04 09:00:00"))
    );
    // Friday evening: Saturday's all-day rule opens at midnight; the set stays open all
    // Saturday and closes at Sunday's midnight (Sunday's morning opens only at 09:00).
    assert_eq!(
        next_set_change(&set, local(ny, "2024-06-07 18:00:00"), ny, days(7)),
        Some(local(ny, "2024-06-08 00:00:00"))
    );
    assert_eq!(
        next_set_change(&set, local(ny, "2024-06-08 00:00:00"), ny, days(7)),
        Some(local(ny, "2024-06-09 00:00:00"))
    );
    assert_eq!(next_set_change(&[], noon, ny, days(7)), None);

    let mut forced = set.clone();
    forced.push(named(
        "forced",
        json!({"name": "f", "cycle": "daily", "enabled": true}),
    ));
    assert_eq!(next_set_change(&forced, noon, ny, days(7)), None);
    assert_eq!(
        matching_rules(&forced, local(ny, "2024-06-03 20:00:00"), ny),
        vec!["forced"]
    );
}

#[test]
fn from_doc_defaults_and_errors() {
    let r = rule(json!({"name": "x", "cycle": "weekly", "unknown": {"a": 1}}));
    assert_eq!(r.id, "r");
    assert_eq!(r.interval, 1);
    assert_eq!(r.ordinal, Ordinal::First);
    assert_eq!(r.month, 1);
    assert_eq!(r.start_date, DEFAULT_START_DATE);
    assert_eq!((r.time_window_start, r.time_window_stop), (0, 86400));
    assert_eq!(r.enabled, None);
    assert!(r.days.is_empty() && r.wdays.is_empty());
    let nameless = rule(json!({"cycle": "daily", "interval": "2", "month": null,
        "days": [" 5", 3.0]}));
    assert_eq!(nameless.name, DEFAULT_RULE_NAME);
    assert_eq!(nameless.interval, 2);
    assert_eq!(nameless.days, vec![3, 5]);

    for bad in [
        json!({"name": "x"}),
        json!({"name": "x", "cycle": "hourly"}),
        json!({"name": "x", "cycle": 3}),
        json!({"name": "x", "cycle": "weekly", "wdays": ["funday"]}),
        json!({"name": "x", "cycle": "weekly", "wdays": "monday"}),
        json!({"name": "x", "cycle": "daily", "interval": 0}),
        json!({"name": "x", "cycle": "yearly", "month": 13}),
        json!({"name": "x", "cycle": "monthly", "days": [32]}),
        json!({"name": "x", "cycle": "monthly", "days": ["x"]}),
        json!({"name": "x", "cycle": "monthly", "ordinal": "sixth"}),
        json!({"name": "x", "cycle": "daily", "time_window_start": 90000}),
        json!({"name": "x", "cycle": "daily", "time_window_stop": -1}),
        json!({"name": "x", "cycle": "daily", "start_date": -5}),
        json!({"name": "x", "cycle": "daily", "enabled": "yes"}),
        json!([1, 2]),
    ] {
        assert!(TemporalRule::from_doc("r", &bad).is_err(), "{bad}");
    }
}

#[test]
fn empty_and_inverted_windows_never_match() {
    let tz = zone("UTC");
    let inverted = rule(json!({"name": "x", "cycle": "daily",
        "time_window_start": 61200, "time_window_stop": 32400}));
    assert!(!active_local(&inverted, tz, "2024-06-03 12:00:00"));
    assert!(!active_local(&inverted, tz, "2024-06-03 20:00:00"));
    assert!(occurrences(&inverted, utc("2024-06-03T00:00:00Z"), tz, 3).is_empty());
    assert_eq!(
        next_change(&inverted, utc("2024-06-03T00:00:00Z"), tz, days(3)),
        None
    );
    // A single second (start == stop) is a one-second window.
    let blip = rule(json!({"name": "x", "cycle": "daily",
        "time_window_start": 43200, "time_window_stop": 43200}));
    assert!(active_local(&blip, tz, "2024-06-03 12:00:00"));
    assert!(!active_local(&blip, tz, "2024-06-03 12:00:01"));
    assert_eq!(
        next_change(&blip, utc("2024-06-03T12:00:00Z"), tz, days(1)),
        Some(utc("2024-06-03T12:00:01Z"))
    );
}

#[test]
fn monthly_and_yearly_with_several_or_no_weekdays() {
    let tz = zone("UTC");
    let start = greg_midnight(tz, "2024-01-01");
    // First Monday or Friday of each month.
    let r = rule(json!({"name": "x", "cycle": "monthly", "ordinal": "first",
        "wdays": ["monday", "friday"], "start_date": start}));
    let ws = occurrences(&r, utc("2024-06-01T00:00:00Z"), tz, 4);
    assert_eq!(
        window_dates(&ws, tz),
        ["2024-06-03", "2024-06-07", "2024-07-01", "2024-07-05"].map(date)
    );
    // No wdays means all seven: "last" is the last seven days.
    let r = rule(
        json!({"name": "x", "cycle": "yearly", "month": 2, "ordinal": "last",
        "start_date": start}),
    );
    let ws = occurrences(&r, utc("2024-01-01T00:00:00Z"), tz, 8);
    assert_eq!(ws.len(), 8);
    assert_eq!(ws[0].0, utc("2024-02-23T00:00:00Z"));
    assert_eq!(ws[6].0, utc("2024-02-29T00:00:00Z"));
    assert_eq!(ws[7].0, utc("2025-02-22T00:00:00Z"));
    // Yearly "every" Monday of April includes the 1st (Kazoo misses it).
    let r = rule(
        json!({"name": "x", "cycle": "yearly", "month": 4, "ordinal": "every",
        "wdays": ["monday"], "start_date": start}),
    );
    let ws = occurrences(&r, utc("2024-01-01T00:00:00Z"), tz, 5);
    assert_eq!(
        window_dates(&ws, tz),
        [
            "2024-04-01",
            "2024-04-08",
            "2024-04-15",
            "2024-04-22",
            "2024-04-29"
        ]
        .map(date)
    );
}

#[test]
fn sparse_rules_are_found_far_ahead() {
    let tz = zone("UTC");
    // February 29th, every 4 years from 2024.
    let leap = rule(
        json!({"name": "x", "cycle": "yearly", "interval": 4, "month": 2,
        "days": [29], "start_date": greg_midnight(tz, "2024-01-01")}),
    );
    let ws = occurrences(&leap, utc("2024-03-01T00:00:00Z"), tz, 2);
    assert_eq!(
        window_dates(&ws, tz),
        ["2028-02-29", "2032-02-29"].map(date)
    );
    // Every 4 years from 2021: never a leap year, so never.
    let never = rule(
        json!({"name": "x", "cycle": "yearly", "interval": 4, "month": 2,
        "days": [29], "start_date": greg_midnight(tz, "2021-01-01")}),
    );
    assert!(occurrences(&never, utc("2021-01-01T00:00:00Z"), tz, 1).is_empty());
    assert_eq!(
        next_change(&never, utc("2021-01-01T00:00:00Z"), tz, days(100 * YEAR)),
        None
    );
    assert_eq!(
        next_change(&leap, utc("2024-03-01T00:00:00Z"), tz, days(10 * YEAR)),
        Some(utc("2028-02-29T00:00:00Z"))
    );
    // The 31st every 12 months from April: never.
    let no_31st = rule(json!({"name": "x", "cycle": "monthly", "interval": 12,
        "days": [31], "start_date": greg_midnight(tz, "2024-04-01")}));
    assert!(occurrences(&no_31st, utc("2024-04-01T00:00:00Z"), tz, 1).is_empty());
}

#[test]
fn out_of_range_instants_are_harmless() {
    let tz = zone("Pacific/Kiritimati");
    let r = rule(json!({"name": "x", "cycle": "daily"}));
    assert!(!is_active(&r, DateTime::<Utc>::MAX_UTC, tz));
    assert!(!is_active(&r, DateTime::<Utc>::MIN_UTC, tz));
    assert!(occurrences(&r, DateTime::<Utc>::MAX_UTC, tz, 3).is_empty());
    assert_eq!(
        next_change(&r, DateTime::<Utc>::MAX_UTC, tz, Duration::MAX),
        None
    );
    assert!(matching_rules(std::slice::from_ref(&r), DateTime::<Utc>::MIN_UTC, tz).is_empty());
    let inverted = rule(
        json!({"name": "x", "cycle": "daily", "time_window_start": 3600,
        "time_window_stop": 0}),
    );
    let at = utc("2024-01-01T00:00:00Z");
    assert_eq!(next_change(&inverted, at, tz, Duration::MAX), None);
    assert!(occurrences(&inverted, at, tz, 3).is_empty());
}

#[test]
fn odd_field_values_set_in_code_do_not_panic() {
    let tz = zone("Pacific/Kiritimati");
    let at = utc("2024-06-03T12:00:00Z");
    for cycle in [
        Cycle::Date,
        Cycle::Daily,
        Cycle::Weekly,
        Cycle::Monthly,
        Cycle::Yearly,
    ] {
        for start_date in [i64::MIN, -1, 0, i64::MAX] {
            let mut r = TemporalRule::new("odd", cycle);
            r.start_date = start_date;
            r.interval = 0;
            r.month = 13;
            r.days = vec![0, 40];
            r.time_window_start = 90_000;
            r.time_window_stop = u32::MAX;
            let _ = is_active(&r, at, tz);
            let _ = next_change(&r, at, tz, days(3 * YEAR));
            let _ = occurrences(&r, at, tz, 3);
            r.time_window_start = 0;
            r.month = 0;
            let _ = is_active(&r, at, tz);
            let _ = next_change(&r, at, tz, days(3 * YEAR));
            let _ = occurrences(&r, at, tz, 3);
        }
    }
}

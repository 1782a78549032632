//! The temporal engine on a set of 50 rules (office hours, holidays, monthly and one-off
//! closures) in America/New_York: which rules match at one instant, and when the set's
//! state next changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{criterion_group, criterion_main, Criterion};
use crossbar_office_hours::domain::temporal::{
    is_active, matching_rules, next_set_change, occurrences, TemporalRule, GREGORIAN_UNIX_OFFSET,
};
use serde_json::{json, Value};

const WEEKDAYS: [&str; 7] = [
    "monday", "tuesday", "wensday", "thursday", "friday", "saturday", "sunday",
];

fn start_date(tz: Tz) -> i64 {
    tz.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp()
        + GREGORIAN_UNIX_OFFSET
}

/// 50 rules: 14 weekly office-hours windows (two per weekday), 16 yearly holidays (fixed
/// days and ordinal weekdays), 10 monthly rules, 5 one-off dates and 5 daily windows.
fn fifty_rules(tz: Tz) -> Vec<TemporalRule> {
    let start = start_date(tz);
    let mut docs: Vec<Value> = Vec::new();
    for (i, day) in WEEKDAYS.iter().enumerate() {
        let (open, close) = if i < 5 {
            (32_400, 43_200)
        } else {
            (36_000, 46_800)
        };
        docs.push(
            json!({"name": format!("{day} am"), "cycle": "weekly", "wdays": [day],
            "time_window_start": open, "time_window_stop": close, "start_date": start}),
        );
        docs.push(
            json!({"name": format!("{day} pm"), "cycle": "weekly", "wdays": [day],
            "time_window_start": 46_800, "time_window_stop": 61_200, "start_date": start}),
        );
    }
    for (month, day) in [
        (1, 1),
        (7, 4),
        (11, 11),
        (12, 24),
        (12, 25),
        (12, 31),
        (6, 19),
        (2, 14),
    ] {
        docs.push(
            json!({"name": "holiday", "cycle": "yearly", "month": month, "days": [day],
            "start_date": start}),
        );
    }
    for (month, ordinal, wday) in [
        (1, "third", "monday"),
        (2, "third", "monday"),
        (5, "last", "monday"),
        (9, "first", "monday"),
        (10, "second", "monday"),
        (11, "fourth", "thursday"),
        (11, "fourth", "friday"),
        (4, "every", "friday"),
    ] {
        docs.push(json!({"name": "holiday", "cycle": "yearly", "month": month,
            "ordinal": ordinal, "wdays": [wday], "start_date": start}));
    }
    for i in 0..10u32 {
        docs.push(if i % 2 == 0 {
            json!({"name": "monthly", "cycle": "monthly", "interval": 1 + i % 3,
                "days": [1 + i, 15 + i], "time_window_start": 3600 * i,
                "time_window_stop": 3600 * (i + 2), "start_date": start})
        } else {
            json!({"name": "monthly", "cycle": "monthly", "ordinal": "last",
                "wdays": [WEEKDAYS[(i % 7) as usize]], "time_window_start": 57_600,
                "time_window_stop": 86_400, "start_date": start})
        });
    }
    for i in 0..5i64 {
        let day = tz
            .with_ymd_and_hms(2024, 3 + i as u32, 10, 0, 0, 0)
            .unwrap();
        docs.push(json!({"name": "closure", "cycle": "date",
            "start_date": day.timestamp() + GREGORIAN_UNIX_OFFSET}));
    }
    for i in 0..5u32 {
        docs.push(json!({"name": "daily", "cycle": "daily", "interval": 1 + i,
            "time_window_start": 75_600 + 600 * i, "time_window_stop": 79_200,
            "start_date": start}));
    }
    assert_eq!(docs.len(), 50);
    docs.iter()
        .enumerate()
        .map(|(i, d)| TemporalRule::from_doc(&format!("rule{i:02}"), d).unwrap())
        .collect()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn temporal(c: &mut Criterion) {
    let tz: Tz = "America/New_York".parse().unwrap();
    let rules = fifty_rules(tz);
    let open = at("2024-06-04T14:30:00Z"); // Tuesday 10:30 EDT
    let closed = at("2024-06-04T23:30:00Z"); // Tuesday 19:30 EDT
    let horizon = Duration::days(366);
    assert!(!matching_rules(&rules, open, tz).is_empty());
    assert!(next_set_change(&rules, closed, tz, horizon).is_some());

    c.bench_function("matching_rules/50 rules", |b| {
        b.iter(|| matching_rules(black_box(&rules), black_box(open), tz).len())
    });
    c.bench_function("next_set_change/50 rules, open", |b| {
        b.iter(|| next_set_change(black_box(&rules), black_box(open), tz, horizon))
    });
    c.bench_function("next_set_change/50 rules, closed", |b| {
        b.iter(|| next_set_change(black_box(&rules), black_box(closed), tz, horizon))
    });
    // Sparse: the 16 holidays only, from just after New Year: the next change is months
    // ahead, every member is walked period by period.
    let holidays: Vec<TemporalRule> = rules[14..30].to_vec();
    let january = at("2024-01-03T12:00:00Z");
    c.bench_function("next_set_change/16 holidays, months ahead", |b| {
        b.iter(|| next_set_change(black_box(&holidays), black_box(january), tz, horizon))
    });
    let thanksgiving = &rules[27];
    c.bench_function("is_active/1 rule", |b| {
        b.iter(|| is_active(black_box(thanksgiving), black_box(open), tz))
    });
    c.bench_function("occurrences/Thanksgiving x10", |b| {
        b.iter(|| occurrences(black_box(thanksgiving), black_box(january), tz, 10).len())
    });
}

criterion_group!(benches, temporal);
criterion_main!(benches);

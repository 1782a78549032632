//! A temporal rule as stored, and how it is read from its JSON document.

use chrono::{DateTime, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde_json::Value;

/// Seconds between 0000-01-01T00:00:00Z (Erlang's `calendar` epoch, Kazoo's clock) and
/// the Unix epoch.
pub const GREGORIAN_UNIX_OFFSET: i64 = 62_167_219_200;

/// `start_date` when the document has none (the schema's default).
pub const DEFAULT_START_DATE: i64 = 62_586_115_200;

/// Seconds in a (wall-clock) day; the largest `time_window_stop`.
pub const SECONDS_IN_DAY: u32 = 86_400;

/// The name Kazoo gives a rule without one (`?RULE_DEFAULT_NAME`).
pub const DEFAULT_RULE_NAME: &str = "no_name";

/// Gregorian seconds of 10000-01-01T00:00:00Z: `start_date` must be below it.
const MAX_START_DATE: i64 = 315_569_520_000;

/// The instants the engine reasons about (Unix seconds): 0002-01-01 to 9998-12-31 UTC,
/// far enough from the ends of chrono's range for any offset and date arithmetic.
pub(crate) const MIN_SUPPORTED_UNIX: i64 = -62_104_060_800;
pub(crate) const MAX_SUPPORTED_UNIX: i64 = 253_370_678_400;

/// The recurrence cycle of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cycle {
    /// Only on the local date of `start_date`.
    Date,
    /// Every `interval` days from the start date.
    Daily,
    /// On `wdays` of every `interval`-th ISO week (Monday to Sunday), counted from the
    /// week of the start date.
    Weekly,
    /// On `days` (or `ordinal` `wdays`) of every `interval`-th month, counted from the
    /// month of the start date.
    Monthly,
    /// In `month`, on `days` (or `ordinal` `wdays`), every `interval`-th year counted from
    /// the year of the start date.
    Yearly,
}

impl Cycle {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "date" => Self::Date,
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            "yearly" => Self::Yearly,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }
}

/// Which of a month's matching weekdays count (monthly and yearly cycles without `days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ordinal {
    Every,
    First,
    Second,
    Third,
    Fourth,
    Fifth,
    Last,
}

impl Ordinal {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "every" => Self::Every,
            "first" => Self::First,
            "second" => Self::Second,
            "third" => Self::Third,
            "fourth" => Self::Fourth,
            "fifth" => Self::Fifth,
            "last" => Self::Last,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Every => "every",
            Self::First => "first",
            Self::Second => "second",
            Self::Third => "third",
            Self::Fourth => "fourth",
            Self::Fifth => "fifth",
            Self::Last => "last",
        }
    }

    /// 1 for `first` ... 5 for `fifth`; `None` for `every` and `last`.
    pub fn position(self) -> Option<u32> {
        match self {
            Self::First => Some(1),
            Self::Second => Some(2),
            Self::Third => Some(3),
            Self::Fourth => Some(4),
            Self::Fifth => Some(5),
            Self::Every | Self::Last => None,
        }
    }
}

/// A weekday name as Kazoo spells it, including its historical `wensday`.
pub fn parse_wday(s: &str) -> Option<Weekday> {
    Some(match s {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" | "wensday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// A temporal rule as stored (parsed from the JSON document; unknown fields ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct TemporalRule {
    pub id: String,
    /// `name`, or `"no_name"` (Kazoo's default) when absent.
    pub name: String,
    pub cycle: Cycle,
    /// At least 1 (default 1).
    pub interval: u32,
    /// Days of the month, 1..=31, sorted and without duplicates. When not empty they take
    /// precedence over `wdays`/`ordinal` in monthly and yearly cycles (as in Kazoo).
    pub days: Vec<u32>,
    /// Weekdays, sorted Monday first, without duplicates. Empty means every weekday
    /// (Kazoo's `sort_wdays([])`).
    pub wdays: Vec<Weekday>,
    /// Default `first` (Kazoo's `?RULE_DEFAULT_ORDINAL`).
    pub ordinal: Ordinal,
    /// 1..=12, default 1 (yearly cycle only).
    pub month: u32,
    /// Gregorian seconds (Unix + 62167219200); its date in the account's time zone is the
    /// first day the rule can be active and the origin `interval` counts from.
    pub start_date: i64,
    /// Seconds from local midnight, 0..=86400 (default 0).
    pub time_window_start: u32,
    /// Seconds from local midnight, 0..=86400 (default 86400). The second it names is
    /// still inside the window (Kazoo compares `LSec > End`).
    pub time_window_stop: u32,
    /// `Some(true)`: forced active, `Some(false)`: forced inactive, `None`: by schedule.
    pub enabled: Option<bool>,
}

impl TemporalRule {
    /// A rule with every optional field at its default.
    pub fn new(id: impl Into<String>, cycle: Cycle) -> Self {
        Self {
            id: id.into(),
            name: DEFAULT_RULE_NAME.to_owned(),
            cycle,
            interval: 1,
            days: Vec::new(),
            wdays: Vec::new(),
            ordinal: Ordinal::First,
            month: 1,
            start_date: DEFAULT_START_DATE,
            time_window_start: 0,
            time_window_stop: SECONDS_IN_DAY,
            enabled: None,
        }
    }

    /// Reads a rule from its stored document. Absent (or `null`) fields take Kazoo's
    /// defaults; integers may be JSON numbers or numeric strings (Kazoo's
    /// `get_integer_value`); values Kazoo could not evaluate (an unknown cycle, weekday or
    /// ordinal, an interval below 1, a month or day out of range) are errors.
    pub fn from_doc(id: &str, doc: &Value) -> Result<Self, String> {
        if !doc.is_object() {
            return Err("a temporal rule must be a JSON object".to_owned());
        }
        let cycle = match field(doc, "cycle") {
            Some(Value::String(s)) => {
                Cycle::parse(s).ok_or_else(|| format!("unknown cycle {s:?}"))?
            }
            Some(_) => return Err("cycle must be a string".to_owned()),
            None => return Err("cycle is required".to_owned()),
        };
        let mut rule = Self::new(id, cycle);

        if let Some(v) = field(doc, "name") {
            match v {
                Value::String(s) if !s.is_empty() => rule.name = s.clone(),
                Value::String(_) => {}
                _ => return Err("name must be a string".to_owned()),
            }
        }
        if let Some(v) = field(doc, "interval") {
            let i = integer(v).ok_or("interval must be an integer")?;
            rule.interval = u32::try_from(i)
                .ok()
                .filter(|i| *i >= 1)
                .ok_or("interval must be at least 1")?;
        }
        if let Some(v) = field(doc, "days") {
            let Value::Array(items) = v else {
                return Err("days must be an array".to_owned());
            };
            let mut days = Vec::with_capacity(items.len());
            for item in items {
                let d = integer(item).ok_or("days must be integers")?;
                let d = u32::try_from(d)
                    .ok()
                    .filter(|d| (1..=31).contains(d))
                    .ok_or_else(|| format!("day {d} is not within 1..31"))?;
                days.push(d);
            }
            days.sort_unstable();
            days.dedup();
            rule.days = days;
        }
        if let Some(v) = field(doc, "wdays") {
            let Value::Array(items) = v else {
                return Err("wdays must be an array".to_owned());
            };
            let mut wdays = Vec::with_capacity(items.len());
            for item in items {
                let name = item.as_str().ok_or("wdays must be strings")?;
                wdays.push(parse_wday(name).ok_or_else(|| format!("unknown weekday {name:?}"))?);
            }
            wdays.sort_unstable_by_key(|w| w.num_days_from_monday());
            wdays.dedup();
            rule.wdays = wdays;
        }
        if let Some(v) = field(doc, "ordinal") {
            let s = v.as_str().ok_or("ordinal must be a string")?;
            rule.ordinal = Ordinal::parse(s).ok_or_else(|| format!("unknown ordinal {s:?}"))?;
        }
        if let Some(v) = field(doc, "month") {
            let m = integer(v).ok_or("month must be an integer")?;
            rule.month = u32::try_from(m)
                .ok()
                .filter(|m| (1..=12).contains(m))
                .ok_or("month must be within 1..12")?;
        }
        if let Some(v) = field(doc, "start_date") {
            let s = integer(v).ok_or("start_date must be an integer")?;
            if !(0..MAX_START_DATE).contains(&s) {
                return Err("start_date is out of range".to_owned());
            }
            rule.start_date = s;
        }
        if let Some(v) = field(doc, "time_window_start") {
            rule.time_window_start = window_seconds(v, "time_window_start")?;
        }
        if let Some(v) = field(doc, "time_window_stop") {
            rule.time_window_stop = window_seconds(v, "time_window_stop")?;
        }
        if let Some(v) = field(doc, "enabled") {
            rule.enabled = Some(v.as_bool().ok_or("enabled must be a boolean")?);
        }
        Ok(rule)
    }

    /// The local date, in `tz`, of the instant `start_date` names (Kazoo's
    /// `kz_date:from_gregorian_seconds(StartDate, TZ)`).
    pub fn start_date_local(&self, tz: Tz) -> NaiveDate {
        let unix = self
            .start_date
            .saturating_sub(GREGORIAN_UNIX_OFFSET)
            .clamp(MIN_SUPPORTED_UNIX, MAX_SUPPORTED_UNIX);
        DateTime::from_timestamp(unix, 0)
            .map_or(NaiveDate::MIN, |utc| utc.with_timezone(&tz).date_naive())
    }
}

fn field<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc.get(key).filter(|v| !v.is_null())
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn window_seconds(v: &Value, name: &str) -> Result<u32, String> {
    let s = integer(v).ok_or_else(|| format!("{name} must be an integer"))?;
    u32::try_from(s)
        .ok()
        .filter(|s| *s <= SECONDS_IN_DAY)
        .ok_or_else(|| format!("{name} must be within 0..86400"))
}

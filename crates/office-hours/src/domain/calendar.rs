//! A rule's windows as an iCalendar feed (RFC 5545): one `VCALENDAR` with one `VEVENT`
//! per window, times in UTC, CRLF line endings, content lines folded at 75 octets and
//! text values escaped. Written by hand: the subset needed is small and an RFC 5545
//! crate would cost more to build than these lines.

use chrono::{DateTime, Utc};

/// `PRODID` of every feed.
pub const PRODID: &str = "-//Crossbar//Office Hours//EN";

/// The longest content line, in octets, before folding (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// One window of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Stable for a rule and a start (so a refreshed feed updates, not duplicates).
    pub uid: String,
    pub start: DateTime<Utc>,
    /// `None`: the window never ends (a rule forced on); no `DTEND` is written.
    pub end: Option<DateTime<Utc>>,
    pub summary: String,
}

impl CalendarEvent {
    /// The event of `rule_id`'s window starting at `start`; its UID depends only on both.
    pub fn new(
        rule_id: &str,
        summary: &str,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            uid: format!("{rule_id}-{}@crossbar", start.timestamp()),
            start,
            end,
            summary: summary.to_string(),
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` (RFC 5545 DATE-TIME, UTC form).
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines (RFC 5545 §3.3.11).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded to 75 octets per physical line (continuations start with a
/// space, which counts), never splitting a UTF-8 character, and ended by CRLF.
fn push_folded(out: &mut String, line: &str) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > budget {
            out.push_str("\r\n ");
            budget = MAX_LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

/// The feed: a `VCALENDAR` named `name` with one `VEVENT` per event, stamped `dtstamp`.
pub fn render(name: &str, events: &[CalendarEvent], dtstamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    let stamp = format_utc(dtstamp);
    for line in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        format!("X-WR-CALNAME:{}", escape_text(name)),
    ] {
        push_folded(&mut out, &line);
    }
    for event in events {
        push_folded(&mut out, "BEGIN:VEVENT");
        push_folded(&mut out, &format!("UID:{}", escape_text(&event.uid)));
        push_folded(&mut out, &format!("DTSTAMP:{stamp}"));
        push_folded(&mut out, &format!("DTSTART:{}", format_utc(event.start)));
        if let Some(end) = event.end {
            push_folded(&mut out, &format!("DTEND:{}", format_utc(end)));
        }
        push_folded(
            &mut out,
            &format!("SUMMARY:{}", escape_text(&event.summary)),
        );
        push_folded(&mut out, "END:VEVENT");
    }
    push_folded(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn t(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
    }

    #[test]
    fn folds_long_lines_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "é".repeat(100));
        push_folded(&mut out, &line);
        let physical: Vec<&str> = out.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert!(physical.len() > 1);
        for l in &physical {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        for l in &physical[1..] {
            assert!(l.starts_with(' '));
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn renders_a_calendar_with_events() {
        let events = vec![
            CalendarEvent::new("r1", "Open, weekdays", t(0), Some(t(3600))),
            CalendarEvent::new("r1", "Open, weekdays", t(86_400), None),
        ];
        let ics = render("Office", &events, t(60));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 2);
        assert!(ics.contains("UID:r1-0@crossbar\r\n"));
        assert!(ics.contains("DTSTART:19700101T000000Z\r\nDTEND:19700101T010000Z\r\n"));
        assert!(ics.contains("DTSTAMP:19700101T000100Z\r\n"));
        assert!(ics.contains("SUMMARY:Open\\, weekdays\r\n"));
        assert_eq!(ics.matches("DTEND").count(), 1);
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }
}

//! Gregorian seconds (seconds since year 0, Kazoo's clock) and ISO 8601 stamps.

/// Seconds between 0000-01-01 and the Unix epoch.
pub const GREGORIAN_OFFSET: i64 = 62_167_219_200;

pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Now, in Gregorian seconds.
pub fn now_gregorian() -> i64 {
    unix_now() + GREGORIAN_OFFSET
}

pub fn unix_to_gregorian(unix: i64) -> i64 {
    unix + GREGORIAN_OFFSET
}

pub fn gregorian_to_unix(gregorian: i64) -> i64 {
    gregorian - GREGORIAN_OFFSET
}

pub fn now_iso8601() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_in_gregorian() {
        assert_eq!(unix_to_gregorian(0), 62_167_219_200);
        assert_eq!(gregorian_to_unix(63_621_662_701), 1_454_443_501);
    }
}

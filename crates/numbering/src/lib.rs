//! Phone numbers as Kazoo's number manager sees them: normalisation of what a client
//! sends to E.164 (`knm_converters:normalize` with the default rules), and the
//! `phonenumber` crate's view of a normalised number (validity, country, formats).
//!
//! Shared by every service that stores or compares numbers (numbers, callflows), so a
//! number means the same thing everywhere.

use phonenumber::Mode;

/// Normalises what a client typed the way Kazoo does with its default rules:
/// * `+` followed by digits stays as it is;
/// * a ten-digit NANP number (optionally preceded by `1` or `+1`) gets `+1`;
/// * `011…` and `00…` (international prefixes) become `+…`;
/// * any other number of 8 or more digits starting 2–9 gets `+`;
/// * anything else (short extensions such as `2000`, star codes) is returned
///   unchanged: it is not a DID.
///
/// Spaces, dashes, dots and parentheses around digits are ignored
/// (`(415) 555-1234` is `+14155551234`).
pub fn normalize(raw: &str) -> String {
    let trimmed = raw.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed.to_string();
    }
    if let Some(nanp) = nanp_ten(&digits, plus) {
        return format!("+1{nanp}");
    }
    if plus {
        return format!("+{digits}");
    }
    if let Some(international) = digits
        .strip_prefix("011")
        .or_else(|| digits.strip_prefix("00"))
    {
        if !international.is_empty() {
            return format!("+{international}");
        }
    }
    if digits.len() >= 8 && matches!(digits.as_bytes().first(), Some(b'2'..=b'9')) {
        return format!("+{digits}");
    }
    trimmed.to_string()
}

/// `^\+?1?([2-9]\d{2}[2-9]\d{6})$`: the ten NANP digits.
fn nanp_ten(digits: &str, plus: bool) -> Option<&str> {
    let ten = match digits.len() {
        10 if !plus => digits,
        11 => digits.strip_prefix('1')?,
        _ => return None,
    };
    let b = ten.as_bytes();
    (matches!(b[0], b'2'..=b'9') && matches!(b[3], b'2'..=b'9')).then_some(ten)
}

/// Whether `number` (already normalised) is an E.164 DID: `+` and 2..15 digits.
pub fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// What the `phonenumber` crate knows of an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberInfo {
    /// ISO 3166 alpha-2 region (`US`), when known.
    pub country: Option<String>,
    /// Whether the number is valid for its region's numbering plan.
    pub valid: bool,
    /// National format (`(415) 555-1234`).
    pub national: String,
    /// International format (`+1 415-555-1234`).
    pub international: String,
}

/// Parses an E.164 number with the `phonenumber` crate (`None` if it cannot be parsed).
pub fn info(e164: &str) -> Option<NumberInfo> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    Some(NumberInfo {
        country: parsed.country().id().map(|id| format!("{id:?}")),
        valid: phonenumber::is_valid(&parsed),
        national: parsed.format().mode(Mode::National).to_string(),
        international: parsed.format().mode(Mode::International).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazoo_default_rules() {
        assert_eq!(normalize("4155551234"), "+14155551234");
        assert_eq!(normalize("14155551234"), "+14155551234");
        assert_eq!(normalize("+14155551234"), "+14155551234");
        assert_eq!(normalize("(415) 555-1234"), "+14155551234");
        assert_eq!(normalize("011442079460000"), "+442079460000");
        assert_eq!(normalize("00442079460000"), "+442079460000");
        assert_eq!(normalize("+442079460000"), "+442079460000");
        assert_eq!(normalize("442079460000"), "+442079460000");
        assert_eq!(normalize("2000"), "2000");
        assert_eq!(normalize("*97"), "*97");
        assert_eq!(normalize("0123"), "0123");
        // NANP area codes and exchanges never start with 0 or 1.
        assert_eq!(normalize("1234567890"), "1234567890");
    }

    #[test]
    fn e164_shape() {
        assert!(is_e164("+14155551234"));
        assert!(!is_e164("2000"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+1a"));
    }

    #[test]
    fn info_from_the_phonenumber_crate() {
        let us = info("+14155551234").unwrap();
        assert_eq!(us.country.as_deref(), Some("US"));
        assert_eq!(us.national, "(415) 555-1234");
        let gb = info("+442079460000").unwrap();
        assert_eq!(gb.country.as_deref(), Some("GB"));
    }
}

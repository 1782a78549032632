//! Port requests: the state machine (`knm_port_request.erl: transition_to_*`) as one
//! table with who may move it, the listing buckets, and the request checks.

use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    Unconfirmed,
    Submitted,
    Pending,
    Scheduled,
    Completed,
    Rejected,
    Canceled,
}

use PortState::*;

impl PortState {
    pub const ALL: [PortState; 7] = [
        Unconfirmed,
        Submitted,
        Pending,
        Scheduled,
        Completed,
        Rejected,
        Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Unconfirmed => "unconfirmed",
            Submitted => "submitted",
            Pending => "pending",
            Scheduled => "scheduled",
            Completed => "completed",
            Rejected => "rejected",
            Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Still in progress: its numbers may not be on another request or created.
    pub fn is_active(self) -> bool {
        ACTIVE.contains(&self)
    }

    /// The request document may be edited (POST/PATCH) by non-superduper callers.
    pub fn is_editable(self) -> bool {
        matches!(self, Unconfirmed | Rejected)
    }

    /// The request (or one of its attachments) may be deleted.
    pub fn is_deletable(self) -> bool {
        matches!(self, Unconfirmed | Rejected | Canceled)
    }
}

/// Who may make a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// Anyone with access to the request's account.
    Account,
    /// The port authority or a superduper admin.
    Authority,
    /// The port authority or superduper; the account's hierarchy only while the
    /// request is `unconfirmed`.
    AuthorityOrAccountWhileUnconfirmed,
}

pub struct PortTransition {
    pub to: PortState,
    pub from: &'static [PortState],
    pub mover: Mover,
}

/// The whole port state machine (PATCH `/port_requests/{P}/{state}`).
pub const PORT_TRANSITIONS: &[PortTransition] = &[
    PortTransition {
        to: Submitted,
        from: &[Unconfirmed, Rejected],
        mover: Mover::Account,
    },
    PortTransition {
        to: Pending,
        from: &[Submitted],
        mover: Mover::Authority,
    },
    PortTransition {
        // Kazoo also allows `submitted` here behind a system setting that is off by
        // default (`allow_port_transition_from_submitted_to_scheduled`).
        to: Scheduled,
        from: &[Pending],
        mover: Mover::Authority,
    },
    PortTransition {
        to: Completed,
        from: &[Pending, Scheduled, Rejected],
        mover: Mover::Authority,
    },
    PortTransition {
        to: Rejected,
        from: &[Submitted, Pending, Scheduled],
        mover: Mover::Authority,
    },
    PortTransition {
        to: Canceled,
        from: &[Unconfirmed, Submitted, Pending, Scheduled, Rejected],
        mover: Mover::AuthorityOrAccountWhileUnconfirmed,
    },
];

/// `by_types` buckets.
pub const ACTIVE: &[PortState] = &[Unconfirmed, Submitted, Pending, Scheduled, Rejected];
pub const PROGRESSING: &[PortState] = &[Submitted, Pending, Scheduled];
pub const SUSPENDED: &[PortState] = &[Unconfirmed, Rejected];
pub const COMPLETED: &[PortState] = &[Completed, Canceled];

fn port_state_error(message: &str, target: &str) -> ApiError {
    let mut errors = ValidationErrors::new();
    errors.add_with("port_state", "enum", message, json!({"cause": target}));
    ApiError::Validation(errors)
}

/// Checks a transition from `from` to `to` by a caller who is (or is not) the port
/// authority / superduper.
pub fn check_transition(
    from: PortState,
    to: PortState,
    is_authority: bool,
) -> Result<(), ApiError> {
    let Some(row) = PORT_TRANSITIONS
        .iter()
        .find(|row| row.to == to && row.from.contains(&from))
    else {
        return Err(port_state_error(
            "Cannot move to new state from current state",
            to.as_str(),
        ));
    };
    let allowed = match row.mover {
        Mover::Account => true,
        Mover::Authority => is_authority,
        Mover::AuthorityOrAccountWhileUnconfirmed => is_authority || from == Unconfirmed,
    };
    if allowed {
        Ok(())
    } else {
        Err(port_state_error(
            "you're not allowed to change to new state from current state, please contact your port authority",
            to.as_str(),
        ))
    }
}

/// What `by_types` asks for: the set of states, or `last_submitted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    States(Vec<PortState>),
    LastSubmitted,
}

/// Parses `by_types` (comma list; default `active`).
pub fn parse_by_types(raw: Option<&str>) -> Result<Selection, ApiError> {
    let raw = raw.unwrap_or("active");
    let mut states: Vec<PortState> = Vec::new();
    let mut invalid: Vec<&str> = Vec::new();
    for kind in raw.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let bucket: &[PortState] = match kind {
            "all" => &PortState::ALL,
            "active" => ACTIVE,
            "progressing" => PROGRESSING,
            "suspended" => SUSPENDED,
            "completed" => COMPLETED,
            "last_submitted" => return Ok(Selection::LastSubmitted),
            other => match PortState::parse(other) {
                Some(state) => {
                    if !states.contains(&state) {
                        states.push(state);
                    }
                    continue;
                }
                None => {
                    invalid.push(other);
                    continue;
                }
            },
        };
        for state in bucket {
            if !states.contains(state) {
                states.push(*state);
            }
        }
    }
    if !invalid.is_empty() {
        return Err(ApiError::System {
            status: actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            message: "invalid_request".into(),
            data: json!({"message": format!("query string by_types contained invalid values: {}", invalid.join(", "))}),
        });
    }
    Ok(Selection::States(states))
}

/// A safe attachment name: a plain file name, no path parts, no control characters.
pub fn safe_attachment_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control)
        && !name.starts_with('.');
    ok.then(|| name.to_string())
}

/// Attachment content types a port request takes (documents and scans).
pub fn allowed_attachment_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/pdf"
        || essence.starts_with("image/")
        || essence == "application/octet-stream"
}

/// Largest attachment, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        for to in PortState::ALL {
            for from in PortState::ALL {
                let listed = PORT_TRANSITIONS
                    .iter()
                    .any(|row| row.to == to && row.from.contains(&from));
                assert_eq!(
                    check_transition(from, to, true).is_ok(),
                    listed,
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert!(check_transition(Unconfirmed, Submitted, false).is_ok());
        assert!(check_transition(Submitted, Pending, false).is_err());
        assert!(check_transition(Unconfirmed, Canceled, false).is_ok());
        assert!(check_transition(Submitted, Canceled, false).is_err());
    }

    #[test]
    fn by_types() {
        assert_eq!(
            parse_by_types(None).unwrap(),
            Selection::States(ACTIVE.to_vec())
        );
        assert_eq!(
            parse_by_types(Some("completed,pending")).unwrap(),
            Selection::States(vec![Completed, Canceled, Pending])
        );
        assert!(parse_by_types(Some("bogus")).is_err());
        assert_eq!(
            parse_by_types(Some("last_submitted")).unwrap(),
            Selection::LastSubmitted
        );
    }

    #[test]
    fn attachment_names() {
        assert_eq!(
            safe_attachment_name("bill.pdf").as_deref(),
            Some("bill.pdf")
        );
        assert_eq!(safe_attachment_name("../etc/passwd"), None);
        assert_eq!(safe_attachment_name("a\\b"), None);
        assert_eq!(safe_attachment_name(".."), None);
        assert!(allowed_attachment_type("application/pdf"));
        assert!(allowed_attachment_type("image/png"));
        assert!(!allowed_attachment_type("text/html"));
    }
}

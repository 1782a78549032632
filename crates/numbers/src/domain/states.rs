//! The number state machine (`knm_states.erl`, `knm_ops.erl`, `knm_lib.erl`) as one
//! table, and the pure decisions built on it: may this number move to that state for
//! this account, and what it looks like afterwards.

use std::fmt;

use super::errors::NumberError;

/// Number states (`knm_phone_number.hrl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberState {
    Discovery,
    Available,
    Reserved,
    InService,
    PortIn,
    PortOut,
    Released,
    Deleted,
    Aging,
}

use NumberState::*;

impl NumberState {
    pub const ALL: [NumberState; 9] = [
        Discovery, Available, Reserved, InService, PortIn, PortOut, Released, Deleted, Aging,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Discovery => "discovery",
            Available => "available",
            Reserved => "reserved",
            InService => "in_service",
            PortIn => "port_in",
            PortOut => "port_out",
            Released => "released",
            Deleted => "deleted",
            Aging => "aging",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for NumberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may enter a target state, besides the source-state rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Anyone from an unowned state; the owner's hierarchy from an owned one.
    OwnerHierarchy,
    /// Admin paths only (superduper).
    Superduper,
}

/// One row of the table: a target state, the states it may be entered from, and who
/// may do it. `Released` is the release operation (`DELETE`), which then lands in
/// `reserved` (previous holder) or `available`.
pub struct Transition {
    pub to: NumberState,
    pub from: &'static [NumberState],
    pub authority: Authority,
}

/// The whole state machine. Anything not listed is `invalid_state_transition`.
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        to: InService,
        from: &[InService, Discovery, PortIn, Available, Aging, Reserved],
        authority: Authority::OwnerHierarchy,
    },
    Transition {
        to: Reserved,
        from: &[Reserved, Discovery, Available, InService],
        authority: Authority::OwnerHierarchy,
    },
    Transition {
        to: Available,
        from: &[Available],
        authority: Authority::Superduper,
    },
    Transition {
        to: Aging,
        from: &[Aging, Released, Available],
        authority: Authority::Superduper,
    },
    Transition {
        to: PortIn,
        from: &[PortIn],
        authority: Authority::OwnerHierarchy,
    },
    Transition {
        to: Released,
        from: &[Released, Reserved, PortIn, InService],
        authority: Authority::OwnerHierarchy,
    },
];

/// States an existing number may be "created" again from (`knm_lib`); others give
/// `number_exists`.
pub const RECREATABLE_FROM: &[NumberState] = &[Aging, Available, PortIn];

/// Creation states by who creates (`knm_lib:allowed_creation_states`).
pub const SUPERDUPER_CREATION_STATES: &[NumberState] =
    &[Aging, Available, InService, PortIn, Reserved];
pub const ALLOW_ADDITIONS_CREATION_STATES: &[NumberState] = &[InService, Reserved];
pub const ANYONE_CREATION_STATES: &[NumberState] = &[PortIn];

/// The row of `to`, if entering it is an operation at all.
pub fn transition(to: NumberState) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|row| row.to == to)
}

/// Whether the table allows `from` → `to`.
pub fn allowed(from: NumberState, to: NumberState) -> bool {
    transition(to).is_some_and(|row| row.from.contains(&from))
}

/// What the decision needs to know about the caller.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The account the operation is for (the `{account_id}` of the path).
    pub account_id: &'a str,
    pub superduper: bool,
    /// The account may create numbers (`pvt_wnm_allow_additions`).
    pub allow_additions: bool,
    /// The caller's tree reaches the number's current holder (or the number has none).
    pub reaches_owner: bool,
}

/// A number as the decisions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub state: NumberState,
    pub assigned_to: Option<String>,
    /// Accounts that reserved the number, most recent first.
    pub reserve_history: Vec<String>,
}

/// The outcome of an allowed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to change (already `in_service` in this account).
    Unchanged,
    /// The number's new holding.
    Moved(Holding),
}

/// Moves an existing number to `to` for `actor.account_id` (activate, reserve, and the
/// admin moves), following [`TRANSITIONS`].
pub fn move_to(
    current: &Holding,
    to: NumberState,
    actor: Actor<'_>,
) -> Result<Outcome, NumberError> {
    let Some(row) = transition(to).filter(|_| to != Released) else {
        return Err(NumberError::invalid_state_transition(
            Some(current.state.as_str()),
            to.as_str(),
        ));
    };
    if !row.from.contains(&current.state) {
        return Err(NumberError::invalid_state_transition(
            Some(current.state.as_str()),
            to.as_str(),
        ));
    }
    let same_account = current.assigned_to.as_deref() == Some(actor.account_id);
    match row.authority {
        Authority::Superduper if !actor.superduper => return Err(NumberError::unauthorized()),
        Authority::Superduper => {}
        Authority::OwnerHierarchy => {
            let owned = current.assigned_to.is_some()
                && matches!(current.state, Reserved | InService | PortIn | PortOut);
            if owned && !actor.reaches_owner && !actor.superduper {
                return Err(NumberError::unauthorized());
            }
        }
    }
    if to == InService && current.state == InService && same_account {
        return Ok(Outcome::Unchanged);
    }
    if to == Reserved && current.state == Reserved && same_account {
        return Err(NumberError::no_change_required());
    }
    let mut next = Holding {
        state: to,
        assigned_to: Some(actor.account_id.to_string()),
        reserve_history: current.reserve_history.clone(),
    };
    match to {
        Available | Aging => {
            next.assigned_to = None;
            next.reserve_history.clear();
        }
        Reserved if next.reserve_history.first().map(String::as_str) != Some(actor.account_id) => {
            next.reserve_history.insert(0, actor.account_id.to_string());
        }
        _ => {}
    }
    Ok(Outcome::Moved(next))
}

/// Releases a number held by `actor.account_id` (`knm_ops:release`): back to the
/// previous holder of `reserve_history` as `reserved`, otherwise unassigned
/// `available` (Kazoo's default `released_state`).
pub fn release(current: &Holding, actor: Actor<'_>) -> Result<Holding, NumberError> {
    if !allowed(current.state, Released) {
        return Err(NumberError::invalid_state_transition(
            Some(current.state.as_str()),
            Released.as_str(),
        ));
    }
    if !actor.reaches_owner && !actor.superduper {
        return Err(NumberError::unauthorized());
    }
    let mut history = current.reserve_history.clone();
    if let Some(holder) = &current.assigned_to {
        history.retain(|account| account != holder);
    }
    Ok(match history.first().cloned() {
        Some(previous) => Holding {
            state: Reserved,
            assigned_to: Some(previous),
            reserve_history: history,
        },
        None => Holding {
            state: Available,
            assigned_to: None,
            reserve_history: Vec::new(),
        },
    })
}

/// What a `PUT` of a number creates (`knm_lib:state_for_create` and the creation
/// permissions). `existing` is the number if the store has it.
pub fn create(
    existing: Option<&Holding>,
    wanted: Option<NumberState>,
    number: &str,
    actor: Actor<'_>,
) -> Result<Holding, NumberError> {
    // DESIGN §8: without `create_with_state` a number is created `reserved`.
    let state = wanted.unwrap_or(Reserved);
    if let Some(existing) = existing {
        if !RECREATABLE_FROM.contains(&existing.state) {
            return Err(NumberError::number_exists(number));
        }
        if existing.state == PortIn
            && existing.assigned_to.is_some()
            && !actor.reaches_owner
            && !actor.superduper
        {
            return Err(NumberError::number_exists(number));
        }
    }
    let permitted = (actor.superduper && SUPERDUPER_CREATION_STATES.contains(&state))
        || (actor.allow_additions && ALLOW_ADDITIONS_CREATION_STATES.contains(&state))
        || ANYONE_CREATION_STATES.contains(&state)
        // Taking a free inventory number is what a customer's "add" is.
        || (existing.is_some_and(|e| matches!(e.state, Available | Aging)) && matches!(state, Reserved | InService));
    if !permitted {
        return Err(NumberError::unauthorized());
    }
    let assigned_to = match state {
        Available | Aging => None,
        _ => Some(actor.account_id.to_string()),
    };
    let reserve_history = match (&assigned_to, state) {
        (Some(account), Reserved) => vec![account.clone()],
        _ => Vec::new(),
    };
    Ok(Holding {
        state,
        assigned_to,
        reserve_history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(reaches_owner: bool) -> Actor<'static> {
        Actor {
            account_id: "a",
            superduper: false,
            allow_additions: false,
            reaches_owner,
        }
    }

    fn holding(state: NumberState, owner: Option<&str>) -> Holding {
        Holding {
            state,
            assigned_to: owner.map(str::to_string),
            reserve_history: owner.map(|o| vec![o.to_string()]).unwrap_or_default(),
        }
    }

    #[test]
    fn every_pair_follows_the_table() {
        for to in [InService, Reserved, PortIn] {
            for from in NumberState::ALL {
                let result = move_to(&holding(from, Some("other")), to, actor(true));
                let expected = transition(to).is_some_and(|row| row.from.contains(&from));
                assert_eq!(result.is_ok(), expected, "{from} -> {to}: {result:?}");
                if let Err(error) = result {
                    assert_eq!(error.cause, Some(format!("from {from} to {to}")));
                }
            }
        }
    }

    #[test]
    fn in_service_same_account_is_a_no_op() {
        assert_eq!(
            move_to(&holding(InService, Some("a")), InService, actor(true)),
            Ok(Outcome::Unchanged)
        );
    }

    #[test]
    fn reserving_twice_needs_no_change() {
        assert_eq!(
            move_to(&holding(Reserved, Some("a")), Reserved, actor(true)),
            Err(NumberError::no_change_required())
        );
    }

    #[test]
    fn owned_numbers_need_the_owners_hierarchy() {
        assert_eq!(
            move_to(&holding(Reserved, Some("b")), InService, actor(false)),
            Err(NumberError::unauthorized())
        );
        assert!(move_to(&holding(Available, None), InService, actor(false)).is_ok());
    }

    #[test]
    fn admin_states_are_superduper_only() {
        assert_eq!(
            move_to(&holding(Available, None), Aging, actor(true)),
            Err(NumberError::unauthorized())
        );
    }

    #[test]
    fn release_follows_the_reserve_history() {
        let held = Holding {
            state: Reserved,
            assigned_to: Some("a".into()),
            reserve_history: vec!["a".into(), "parent".into()],
        };
        let released = release(&held, actor(true)).unwrap();
        assert_eq!(released.state, Reserved);
        assert_eq!(released.assigned_to.as_deref(), Some("parent"));
        let again = release(&released, actor(true)).unwrap();
        assert_eq!(again.state, Available);
        assert_eq!(again.assigned_to, None);
        assert!(release(&holding(Available, None), actor(true)).is_err());
    }

    #[test]
    fn creation_permissions() {
        let nobody = actor(true);
        assert_eq!(
            create(None, None, "+1", nobody),
            Err(NumberError::unauthorized())
        );
        assert!(create(None, Some(PortIn), "+1", nobody).is_ok());
        let superduper = Actor {
            superduper: true,
            ..nobody
        };
        assert_eq!(
            create(None, None, "+1", superduper).map(|h| h.state),
            Ok(Reserved)
        );
        let existing = holding(InService, Some("b"));
        assert_eq!(
            create(Some(&existing), None, "+1", superduper),
            Err(NumberError::number_exists("+1"))
        );
        let free = holding(Available, None);
        assert!(create(Some(&free), None, "+1", nobody).is_ok());
    }
}

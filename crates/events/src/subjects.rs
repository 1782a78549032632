//! Every bus subject one service uses to talk to another, declared once so the asker
//! and the answerer (the publisher and its followers) cannot drift apart.
//!
//! Request-reply questions are `crossbar.rpc.<service>.<question>` ([`RPC_PREFIX`]);
//! events are `crossbar.<service>.<resource>.<action>`. The names are the wire
//! contract between replicas, possibly of different versions: renaming one is a
//! breaking change. Events that only their own service follows stay in that service.

/// Namespace of request-reply questions: `crossbar.rpc.<service>.<question>`.
pub const RPC_PREFIX: &str = "crossbar.rpc.";

// Request-reply.

/// Answered by accounts (one account, with its time zone and `wnm_allow_additions`); asked by office-hours and numbers.
pub const ACCOUNT_GET_SUBJECT: &str = "crossbar.rpc.accounts.account.get";

/// Answered by accounts (the account and user directory); asked by `accounts::remote::RemoteDirectory` in processes without it.
pub const ACCOUNTS_DIRECTORY_SUBJECT: &str = "crossbar.rpc.accounts.directory";

/// Answered by auth (public keys and unexpired revocations); asked by `auth::remote` in processes without it.
pub const TOKEN_VERIFICATION_SUBJECT: &str = "crossbar.rpc.auth.verification";

/// Answered by office-hours (rules and sets at an instant); asked by the callflows simulator.
pub const TEMPORAL_EVALUATE_SUBJECT: &str = "crossbar.rpc.office_hours.temporal.evaluate";

/// Answered by numbers (who holds each number); asked by callflows' owners projection.
pub const NUMBER_OWNERS_SUBJECT: &str = "crossbar.rpc.numbers.number.owners";

/// Answered by numbers (an account's port requests in progress); asked by accounts before a deletion.
pub const ACTIVE_PORTS_SUBJECT: &str = "crossbar.rpc.numbers.port_requests.active";

/// Answered by callflows (where a number routes); asked by call routing outside this workspace.
pub const CALLFLOW_LOOKUP_SUBJECT: &str = "crossbar.rpc.callflows.lookup";

/// Answered by every service (`crud::rpc`: live documents by id); asked by services reading what they reference.
pub fn documents_get_subject(service: &str) -> String {
    format!("{RPC_PREFIX}{service}.documents.get")
}

/// Answered by every service (`crud::rpc`: documents whose field equals a value); asked like [`documents_get_subject`].
pub fn documents_find_subject(service: &str) -> String {
    format!("{RPC_PREFIX}{service}.documents.find")
}

// Events.

/// Published by accounts (`created`, `updated`, `moved`, `deleted`); followed by office-hours' time zones and the account projection, in every replica.
pub const ACCOUNT_EVENTS_PREFIX: &str = "crossbar.accounts.account.";

/// Published by accounts; followed by office-hours, callflows and numbers, which purge what they keep of the account.
pub const ACCOUNT_DELETED_SUBJECT: &str = "crossbar.accounts.account.deleted";

/// Published by callflows (`created`, `updated`, `deleted`); followed by numbers (`used_by`) and callflows' pattern cache.
pub const CALLFLOW_EVENTS_PREFIX: &str = "crossbar.callflows.callflow.";

/// Published by numbers (`created`, `updated`, `state_changed`, `deleted`); followed by callflows' owners projection.
pub const NUMBER_EVENTS_PREFIX: &str = "crossbar.numbers.phone_number.";

/// Published by auth (doc `{"jti", "exp"}`); followed by the token deny-list of every process.
pub const TOKEN_REVOKED_SUBJECT: &str = "crossbar.auth.token.revoked";

/// Published by auth (`crossbar keys rotate`); followed by the token verifier (and auth's signer) of every process.
pub const SIGNING_KEY_ROTATED_SUBJECT: &str = "crossbar.auth.signing_key.rotated";

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTIONS: [&str; 7] = [
        ACCOUNT_GET_SUBJECT,
        ACCOUNTS_DIRECTORY_SUBJECT,
        TOKEN_VERIFICATION_SUBJECT,
        TEMPORAL_EVALUATE_SUBJECT,
        NUMBER_OWNERS_SUBJECT,
        ACTIVE_PORTS_SUBJECT,
        CALLFLOW_LOOKUP_SUBJECT,
    ];

    const EVENTS: [&str; 6] = [
        ACCOUNT_EVENTS_PREFIX,
        ACCOUNT_DELETED_SUBJECT,
        CALLFLOW_EVENTS_PREFIX,
        NUMBER_EVENTS_PREFIX,
        TOKEN_REVOKED_SUBJECT,
        SIGNING_KEY_ROTATED_SUBJECT,
    ];

    /// The name tells a question from an event (operators read them in logs and
    /// metrics), and no two subjects share a name.
    #[test]
    fn questions_and_events_keep_to_their_namespaces() {
        for question in QUESTIONS {
            assert!(question.starts_with(RPC_PREFIX), "{question}");
        }
        assert!(documents_get_subject("numbers").starts_with(RPC_PREFIX));
        assert!(documents_find_subject("numbers").starts_with(RPC_PREFIX));
        for event in EVENTS {
            assert!(
                event.starts_with("crossbar.") && !event.starts_with(RPC_PREFIX),
                "{event}"
            );
        }
        assert!(ACCOUNT_DELETED_SUBJECT.starts_with(ACCOUNT_EVENTS_PREFIX));
        let mut all: Vec<&str> = QUESTIONS.iter().chain(EVENTS.iter()).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), QUESTIONS.len() + EVENTS.len());
    }
}

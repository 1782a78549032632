//! What the auth service publishes and consumes.
//!
//! * Publishes `crossbar.auth.token.revoked` ([`TOKEN_REVOKED_SUBJECT`]) through its
//!   outbox when a token is revoked; doc `{"jti", "exp"}`.
//! * Consumes the same subject into the token verifier's deny-list, like every service.

use std::sync::Arc;

use crossbar_authz::{Claims, Revocations, TOKEN_REVOKED_SUBJECT};
use crossbar_events::{Bus, Event};
use serde_json::json;

/// The event of a revoked token (no secret in it: the token id, not the token).
pub fn token_revoked(claims: &Claims, account_tree: Vec<String>) -> Event {
    Event::new(TOKEN_REVOKED_SUBJECT)
        .account(claims.account_id.clone(), account_tree)
        .resource(claims.jti.clone())
        .doc(json!({ "jti": claims.jti, "exp": claims.exp }))
}

/// Applies every revocation published on `bus` to `revocations`.
pub async fn subscribe_revocations(bus: &dyn Bus, revocations: Arc<Revocations>) {
    bus.subscribe_broadcast(TOKEN_REVOKED_SUBJECT, revocations)
        .await;
}

//! What the auth service publishes and consumes.
//!
//! * Publishes `crossbar.auth.token.revoked` ([`TOKEN_REVOKED_SUBJECT`]) through its
//!   outbox when a token is revoked; doc `{"jti", "exp"}`.
//! * Publishes `crossbar.auth.signing_key.rotated` ([`SIGNING_KEY_ROTATED_SUBJECT`])
//!   through its outbox when `crossbar keys rotate` adds a signing key; doc
//!   `{"kid": the new key, "keys": [{"kid", "public_key" (hex)}] (every current key,
//!   newest first), "retired": [kid]}`. Public keys only.
//! * Consumes revocations into the token verifier's deny-list, and rotations into the
//!   verifier's keys (and, in the auth process, its signer), in every process
//!   (broadcast: every replica of every service).

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_authz::{Claims, Revocations, SigningKey, TokenSigner, TokenVerifier};
use crossbar_events::subjects::{SIGNING_KEY_ROTATED_SUBJECT, TOKEN_REVOKED_SUBJECT};
use crossbar_events::{Bus, Event, EventHandler};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

/// The event of a revoked token (no secret in it: the token id, not the token).
pub fn token_revoked(claims: &Claims, account_tree: Vec<String>) -> Event {
    Event::new(TOKEN_REVOKED_SUBJECT)
        .account(claims.account_id.clone(), account_tree)
        .resource(claims.jti.clone())
        .doc(json!({ "jti": claims.jti, "exp": claims.exp }))
}

/// The event of a rotation: `new` signs from now on, `keys` (oldest first, `new`
/// included) are every key that verifies, `retired` the keys no longer trusted.
pub fn signing_key_rotated(new: &SigningKey, keys: &[SigningKey], retired: &[String]) -> Event {
    Event::new(SIGNING_KEY_ROTATED_SUBJECT)
        .resource(new.kid.clone())
        .doc(json!({
            "kid": new.kid,
            "keys": keys.iter().rev().map(public_entry).collect::<Vec<_>>(),
            "retired": retired,
        }))
}

/// `{"kid", "public_key"}` (hex of the raw Ed25519 public key), as in the events and
/// the verification answer.
pub fn public_entry(key: &SigningKey) -> Value {
    json!({"kid": key.kid, "public_key": hex::encode(key.public_key())})
}

/// The `(kid, public key)` pairs of a list of [`public_entry`]s; malformed entries are
/// skipped.
pub fn parse_public_entries(entries: Option<&Value>) -> Vec<(String, Vec<u8>)> {
    entries
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let kid = entry.get("kid")?.as_str()?;
            let public = hex::decode(entry.get("public_key")?.as_str()?).ok()?;
            (public.len() == 32).then(|| (kid.to_string(), public))
        })
        .collect()
}

/// Applies every revocation published on `bus` to `revocations`.
pub async fn subscribe_revocations(bus: &dyn Bus, revocations: Arc<Revocations>) {
    bus.subscribe_broadcast(TOKEN_REVOKED_SUBJECT, revocations)
        .await;
}

/// A process without the auth service: trusts the keys a rotation announces and stops
/// trusting the retired ones. Adds rather than replaces, so an older rotation event
/// arriving late never drops a newer key.
pub struct RotatedKeys {
    pub verifier: Arc<TokenVerifier>,
}

#[async_trait]
impl EventHandler for RotatedKeys {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let keys = parse_public_entries(event.doc.get("keys"));
        if keys.is_empty() {
            return Err("signing key rotation without keys".into());
        }
        for (kid, public) in &keys {
            self.verifier.add_key(kid, public);
        }
        for retired in event
            .doc
            .get("retired")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
        {
            // Never the key a token is being signed with now.
            if !keys.iter().any(|(kid, _)| kid == retired) {
                self.verifier.remove_key(retired);
            }
        }
        tracing::info!(kid = ?event.doc.get("kid"), keys = keys.len(), "token verification keys rotated");
        Ok(())
    }
}

/// An auth replica: rereads the keys from its database (the event carries no private
/// key), signs with the newest and trusts exactly the stored ones.
pub struct KeyRefresher {
    pub db: DatabaseConnection,
    pub signer: Arc<TokenSigner>,
    pub verifier: Arc<TokenVerifier>,
}

#[async_trait]
impl EventHandler for KeyRefresher {
    async fn handle(&self, _event: &Event) -> Result<(), String> {
        let keys = crate::keys::refresh_signer(&self.db, &self.signer).await?;
        self.verifier.replace_keys(&keys);
        Ok(())
    }
}

//! Token verification in processes that do not host the auth service (distributed
//! mode): the auth service answers [`VERIFICATION_SUBJECT`] with its public keys and
//! the unexpired revocations; [`join_verification`] loads them into a process's
//! verifier and keeps the deny-list current from revocation events.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crossbar_authz::TokenVerifier;
use crossbar_events::{Bus, RequestHandler, DEFAULT_REQUEST_TIMEOUT};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

/// `{}` → `{"keys": [{"kid", "public_key" (hex, DER)}], "revoked": [[jti, exp]]}`.
pub const VERIFICATION_SUBJECT: &str = "crossbar.rpc.auth.verification";

/// Answers [`VERIFICATION_SUBJECT`] in the auth process.
pub struct VerificationResponder {
    pub db: DatabaseConnection,
    /// (kid, public key DER), newest last.
    pub keys: Vec<(String, Vec<u8>)>,
}

#[async_trait]
impl RequestHandler for VerificationResponder {
    async fn answer(&self, _payload: Value) -> Result<Value, String> {
        let now = crossbar_envelope::time::unix_now();
        let revoked = crate::store::active_revocations(&self.db, now)
            .await
            .map_err(|e| e.to_string())?;
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|(kid, public)| json!({"kid": kid, "public_key": hex::encode(public)}))
            .collect();
        Ok(json!({"keys": keys, "revoked": revoked}))
    }
}

/// Loads what `verifier` needs from the auth service, asked over `bus`. Returns how
/// many keys were loaded.
pub async fn load_verification(bus: &dyn Bus, verifier: &TokenVerifier) -> Result<usize, String> {
    let answer = bus
        .request(VERIFICATION_SUBJECT, json!({}), DEFAULT_REQUEST_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let mut loaded = 0;
    for key in answer
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let (Some(kid), Some(public)) = (
            key.get("kid").and_then(Value::as_str),
            key.get("public_key")
                .and_then(Value::as_str)
                .and_then(|h| hex::decode(h).ok()),
        ) else {
            continue;
        };
        verifier.add_key(kid, &public);
        loaded += 1;
    }
    for entry in answer
        .get("revoked")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let (Some(jti), Some(exp)) = (
            entry.get(0).and_then(Value::as_str),
            entry.get(1).and_then(Value::as_i64),
        ) {
            verifier.revocations.revoke(jti, exp);
        }
    }
    if loaded == 0 {
        return Err("the auth service answered no keys".into());
    }
    Ok(loaded)
}

/// Makes `verifier` verify the auth service's tokens in a process without it:
/// subscribes to revocations first (so none is missed), then loads keys and current
/// revocations, retrying in the background until the auth service answers.
pub async fn join_verification(bus: Arc<dyn Bus>, verifier: Arc<TokenVerifier>) {
    crate::events::subscribe_revocations(bus.as_ref(), verifier.revocations.clone()).await;
    if let Ok(keys) = load_verification(bus.as_ref(), &verifier).await {
        tracing::info!(keys, "token verification keys loaded from the auth service");
        return;
    }
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(500);
        loop {
            match load_verification(bus.as_ref(), &verifier).await {
                Ok(keys) => {
                    tracing::info!(keys, "token verification keys loaded from the auth service");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "waiting for the auth service's verification keys");
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    });
}

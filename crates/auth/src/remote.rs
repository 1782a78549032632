//! Token verification in processes that do not host the auth service (distributed
//! mode): the auth service answers [`TOKEN_VERIFICATION_SUBJECT`] with its public keys and
//! the unexpired revocations; [`join_verification`] loads them into a process's
//! verifier and keeps it current from revocation and key-rotation events, and asks
//! again when a token names a key the process does not know.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use crossbar_authz::TokenVerifier;
use crossbar_events::subjects::{SIGNING_KEY_ROTATED_SUBJECT, TOKEN_VERIFICATION_SUBJECT};
use crossbar_events::{Bus, RequestHandler, DEFAULT_REQUEST_TIMEOUT};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

use crate::events::{parse_public_entries, public_entry, RotatedKeys};

/// Answers [`TOKEN_VERIFICATION_SUBJECT`] in the auth process, from its database (so
/// any replica answers with the keys of the latest rotation): `{}` → `{"keys": [{"kid",
/// "public_key" (hex, raw Ed25519)}] (newest first), "revoked": [[jti, exp]]}`.
pub struct VerificationResponder {
    pub db: DatabaseConnection,
}

#[async_trait]
impl RequestHandler for VerificationResponder {
    async fn answer(&self, _payload: Value) -> Result<Value, String> {
        let now = crossbar_envelope::time::unix_now();
        let revoked = crate::store::active_revocations(&self.db, now)
            .await
            .map_err(|e| e.to_string())?;
        let keys: Vec<Value> = crate::store::load_keys(&self.db)
            .await?
            .iter()
            .rev()
            .map(public_entry)
            .collect();
        Ok(json!({"keys": keys, "revoked": revoked}))
    }
}

/// Asks the auth service over `bus` for its current public keys (`(kid, raw key)`)
/// and revocations.
async fn ask(bus: &dyn Bus) -> Result<(Vec<(String, Vec<u8>)>, Vec<(String, i64)>), String> {
    let answer = bus
        .request(
            TOKEN_VERIFICATION_SUBJECT,
            json!({}),
            DEFAULT_REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| e.to_string())?;
    let keys = parse_public_entries(answer.get("keys"));
    if keys.is_empty() {
        return Err("the auth service answered no keys".into());
    }
    let revoked = answer
        .get("revoked")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| Some((entry.get(0)?.as_str()?.to_string(), entry.get(1)?.as_i64()?)))
        .collect();
    Ok((keys, revoked))
}

/// Loads what `verifier` needs from the auth service, asked over `bus`: exactly its
/// current keys, and its revocations. Returns how many keys were loaded.
pub async fn load_verification(bus: &dyn Bus, verifier: &TokenVerifier) -> Result<usize, String> {
    let (keys, revoked) = ask(bus).await?;
    verifier.replace_keys(&keys);
    for (jti, exp) in &revoked {
        verifier.revocations.revoke(jti, *exp);
    }
    Ok(keys.len())
}

/// Makes `verifier` ask the auth service over `bus` for the current keys when a token
/// names an unknown key (a rotation whose event this process missed). Holds the bus
/// weakly: the bus holds the verifier's event handlers.
pub fn reload_over_bus(bus: &Arc<dyn Bus>, verifier: &TokenVerifier) {
    let bus: Weak<dyn Bus> = Arc::downgrade(bus);
    verifier.set_key_source(move || {
        let bus = bus.upgrade();
        async move {
            let bus = bus.ok_or("the bus is gone")?;
            Ok(ask(bus.as_ref()).await?.0)
        }
    });
}

/// Makes `verifier` verify the auth service's tokens in a process without it:
/// subscribes to revocations and key rotations first (so none is missed), reloads the
/// keys on an unknown key id, then loads keys and current revocations, retrying in
/// the background until the auth service answers.
pub async fn join_verification(bus: Arc<dyn Bus>, verifier: Arc<TokenVerifier>) {
    crate::events::subscribe_revocations(bus.as_ref(), verifier.revocations.clone()).await;
    bus.subscribe_broadcast(
        SIGNING_KEY_ROTATED_SUBJECT,
        Arc::new(RotatedKeys {
            verifier: verifier.clone(),
        }),
    )
    .await;
    reload_over_bus(&bus, &verifier);
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

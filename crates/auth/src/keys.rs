//! Signing-key rotation across replicas and processes.
//!
//! `crossbar keys rotate` ([`rotate`]) stores a new key and, in the same transaction,
//! the `crossbar.auth.signing_key.rotated` event in the auth outbox; the outbox
//! relays it (at once when the command has a bus, else the running auth service's
//! relay within seconds). Then:
//!
//! * every auth replica ([`crate::events::KeyRefresher`]) rereads the keys from its
//!   database and signs with the newest; it also rereads them every
//!   [`KEY_REFRESH_EVERY`] in case it missed the event;
//! * every other process ([`crate::events::RotatedKeys`]) trusts the announced public
//!   keys and forgets the retired ones;
//! * a token whose `kid` a verifier does not know makes it reload the keys (at most
//!   once per `KEY_RELOAD_MIN_INTERVAL`): from the database in the auth process, from
//!   the auth service over the bus elsewhere.
//!
//! Retirement: see [`crate::domain::keys`].
//!
//! A key can also come from a file (`CROSSBAR_JWT_KEY_FILE`, the Kubernetes Secret
//! `crossbar-jwt`): [`read_key_file`] reads it at start and [`install_key`] stores it
//! as the newest key exactly as a rotation would, unless it is stored already. So
//! replacing the file and restarting the auth replicas is a rotation.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossbar_authz::{SigningKey, TokenSigner, TokenVerifier};
use crossbar_events::Outbox;
use sea_orm::DatabaseConnection;

use crate::domain::keys::RETIRE_GRACE_SECS;
use crate::store;

/// How often an auth replica rereads its keys from the database, whatever the bus says.
pub const KEY_REFRESH_EVERY: Duration = Duration::from_secs(60);

/// What `crossbar keys rotate` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// The new key's id: it signs from now on.
    pub kid: String,
    /// Every key that verifies now, newest first.
    pub keys: Vec<String>,
    /// Keys deleted by this rotation (superseded long enough ago that no token they
    /// signed can still be valid).
    pub retired: Vec<String>,
    /// Whether the rotation event reached the bus (otherwise it waits in the outbox
    /// for the auth service's relay).
    pub published: bool,
}

/// Adds a new signing key to the auth database `db`, retires the keys whose tokens
/// have all expired (superseded more than `token_lifetime_secs` plus
/// [`RETIRE_GRACE_SECS`] ago), and announces it through the auth outbox; with
/// `outbox` (a bus), the event is published before this returns.
pub async fn rotate(
    db: &DatabaseConnection,
    outbox: Option<&Outbox>,
    token_lifetime_secs: i64,
) -> Result<Rotation, String> {
    if token_lifetime_secs <= 0 {
        return Err("token lifetime must be positive".into());
    }
    let now = crossbar_envelope::time::unix_now();
    let rotation = store::rotate_keys(
        db,
        now,
        token_lifetime_secs.saturating_add(RETIRE_GRACE_SECS),
    )
    .await?;
    tracing::info!(
        kid = %rotation.new.kid,
        retired = rotation.retired.len(),
        keys = rotation.keys.len(),
        "auth: signing key rotated"
    );
    let published = match outbox {
        Some(outbox) => match outbox.flush().await {
            Ok(_) => outbox.backlog().await.map(|b| b == 0).unwrap_or(false),
            Err(error) => {
                tracing::warn!(%error, "auth: rotation event left in the outbox");
                false
            }
        },
        None => false,
    };
    Ok(Rotation {
        kid: rotation.new.kid.clone(),
        keys: rotation.keys.iter().rev().map(|k| k.kid.clone()).collect(),
        retired: rotation.retired,
        published,
    })
}

/// The signing key in the file at `path` (an Ed25519 private key, PKCS#8 PEM or DER;
/// its key id derived from its public key: [`crate::domain::key_file`]). Errors name
/// the file, never its contents.
pub fn read_key_file(path: &Path) -> Result<SigningKey, String> {
    let contents = std::fs::read(path)
        .map_err(|e| format!("signing key file {}: cannot read it: {e}", path.display()))?;
    crate::domain::key_file::parse(&contents)
        .map_err(|e| format!("signing key file {}: {e}", path.display()))
}

/// Makes `key` (from a key file) a stored signing key: when its id is not stored yet,
/// adds it as the newest key the way [`rotate`] does (older keys keep verifying and
/// are retired by the same rule; the rotation event goes into the auth outbox, for
/// the caller's relay to publish); when it is, changes nothing and answers `None`.
pub async fn install_key(
    db: &DatabaseConnection,
    key: SigningKey,
    token_lifetime_secs: i64,
) -> Result<Option<store::KeyRotation>, String> {
    if token_lifetime_secs <= 0 {
        return Err("token lifetime must be positive".into());
    }
    let now = crossbar_envelope::time::unix_now();
    store::add_key(
        db,
        key,
        now,
        token_lifetime_secs.saturating_add(RETIRE_GRACE_SECS),
    )
    .await
}

/// Rereads the stored keys, makes `signer` sign with the newest, and returns every
/// public key (`(kid, raw public key)`) for the verifier.
pub async fn refresh_signer(
    db: &DatabaseConnection,
    signer: &TokenSigner,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let keys = store::load_keys(db).await?;
    let newest = keys.last().cloned().ok_or("auth: no signing key stored")?;
    let kid = newest.kid.clone();
    if signer.set_key(newest) {
        tracing::info!(%kid, "auth: now signing with a new key");
    }
    Ok(keys
        .iter()
        .map(|k| (k.kid.clone(), k.public_key().to_vec()))
        .collect())
}

/// Makes `verifier` reload from the database (and `signer` follow) when a token names
/// a key it does not know.
pub fn reload_from_database(
    verifier: &TokenVerifier,
    db: DatabaseConnection,
    signer: Arc<TokenSigner>,
) {
    verifier.set_key_source(move || {
        let db = db.clone();
        let signer = signer.clone();
        async move { refresh_signer(&db, &signer).await }
    });
}

/// Rereads the keys every `every` (a replica that missed a rotation event catches up).
pub fn spawn_refresh(
    db: DatabaseConnection,
    signer: Arc<TokenSigner>,
    verifier: Arc<TokenVerifier>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await; // the first tick is immediate: keys were just loaded
        loop {
            ticker.tick().await;
            match refresh_signer(&db, &signer).await {
                Ok(keys) => verifier.replace_keys(&keys),
                Err(error) => tracing::warn!(%error, "auth: periodic key refresh failed"),
            }
        }
    })
}

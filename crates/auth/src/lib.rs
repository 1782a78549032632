//! The auth service: `user_auth`, `api_auth`, `token_auth`, the signing keys
//! (`/v2/auth/keys`), real token revocation and login throttling.
//!
//! Tokens are EdDSA JWTs signed with a key this service keeps in its own database;
//! every service verifies them locally. A revocation is a row in `revoked_tokens` and a
//! `crossbar.auth.token.revoked` event written in the same transaction (outbox).
//! Signing keys rotate without restarts: see [`keys`]. A key can also be given as a
//! file (`AuthConfig::jwt_key_file`, the Kubernetes Secret `crossbar-jwt`): stored at
//! start unless already stored, so a new file is a rotation.

pub mod domain;
pub mod events;
mod handlers;
pub mod keys;
pub mod remote;
mod routes;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use crossbar_authz::{TokenSigner, TokenVerifier, UserDirectory};
use crossbar_events::subjects::{SIGNING_KEY_ROTATED_SUBJECT, TOKEN_VERIFICATION_SUBJECT};
use crossbar_events::{Bus, Outbox};
use sea_orm::DatabaseConnection;

pub use domain::throttle::{LoginThrottle, ThrottleConfig};
use domain::Authenticator;

/// How often the background relay publishes events a request-path flush left behind.
const RELAY_EVERY: Duration = Duration::from_secs(5);

/// Settings of the auth service.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// Lifetime of issued tokens, seconds (Kazoo's `token_auth_expiry_s`).
    pub token_lifetime_secs: i64,
    pub throttle: ThrottleConfig,
    /// The signing key as a file (`CROSSBAR_JWT_KEY_FILE`: Ed25519, PKCS#8 PEM or
    /// DER). When set, that key is stored (once) as the newest key at start; without
    /// it, a key is generated and kept in the database.
    pub jwt_key_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 3600,
            throttle: ThrottleConfig::default(),
            jwt_key_file: None,
        }
    }
}

/// What the handlers share.
pub(crate) struct AuthState {
    pub(crate) db: DatabaseConnection,
    pub(crate) auth: Authenticator,
    pub(crate) verifier: Arc<TokenVerifier>,
    pub(crate) outbox: Outbox,
    relay: tokio::task::JoinHandle<()>,
    /// Rereads the signing keys every [`keys::KEY_REFRESH_EVERY`].
    key_refresh: tokio::task::JoinHandle<()>,
}

impl Drop for AuthState {
    fn drop(&mut self) {
        self.relay.abort();
        self.key_refresh.abort();
    }
}

/// The auth service, ready to be mounted in an app (cheap to clone).
#[derive(Clone)]
pub struct AuthService {
    state: web::Data<AuthState>,
}

impl AuthService {
    /// Runs migrations on `db` (its own database / schema), stores the key of
    /// `config.jwt_key_file` as the newest signing key unless it is stored already
    /// (announced like a rotation), loads the signing keys or creates and stores one,
    /// trusts their public keys in `verifier` (and makes it reload them from `db` on
    /// an unknown key id), loads unexpired revocations into
    /// `verifier.revocations`, and subscribes on `bus` (every replica) to revocations
    /// and key rotations. It also starts the outbox relay and the periodic key
    /// refresh (tokio tasks of the calling runtime, stopped when the last clone is
    /// dropped).
    pub async fn start(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        directory: Arc<dyn UserDirectory>,
        verifier: Arc<TokenVerifier>,
        config: AuthConfig,
    ) -> Result<Self, String> {
        if config.token_lifetime_secs <= 0 {
            return Err("auth: token_lifetime_secs must be positive".into());
        }
        // Read first: a missing or wrong file stops the start before any other work.
        let key_file = match &config.jwt_key_file {
            Some(path) => Some((
                path,
                keys::read_key_file(path).map_err(|e| format!("auth: {e}"))?,
            )),
            None => None,
        };
        Self::migrate(&db)
            .await
            .map_err(|e| format!("auth: migrations failed: {e}"))?;
        if let Some((path, key)) = key_file {
            let kid = key.kid.clone();
            match keys::install_key(&db, key, config.token_lifetime_secs)
                .await
                .map_err(|e| format!("auth: signing key file {}: {e}", path.display()))?
            {
                Some(rotation) => tracing::info!(
                    %kid,
                    file = %path.display(),
                    retired = rotation.retired.len(),
                    keys = rotation.keys.len(),
                    "auth: stored the key file's signing key; it signs from now on"
                ),
                None => tracing::info!(
                    %kid,
                    file = %path.display(),
                    "auth: the key file's signing key is already stored"
                ),
            }
        }
        let now = crossbar_envelope::time::unix_now();

        let keys = store::load_or_create_keys(&db, now).await?;
        for key in &keys {
            verifier.add_key(&key.kid, key.public_key());
        }
        // The newest key signs.
        let signing_key = keys
            .last()
            .cloned()
            .ok_or_else(|| "auth: no signing key".to_string())?;
        let signer = Arc::new(TokenSigner::new(signing_key, config.token_lifetime_secs));
        keys::reload_from_database(&verifier, db.clone(), signer.clone());

        let revoked = store::active_revocations(&db, now)
            .await
            .map_err(|e| format!("auth: loading revocations failed: {e}"))?;
        for (jti, exp) in &revoked {
            verifier.revocations.revoke(jti, *exp);
        }
        events::subscribe_revocations(bus.as_ref(), verifier.revocations.clone()).await;
        bus.subscribe_broadcast(
            SIGNING_KEY_ROTATED_SUBJECT,
            Arc::new(events::KeyRefresher {
                db: db.clone(),
                signer: signer.clone(),
                verifier: verifier.clone(),
            }),
        )
        .await;

        bus.respond(
            TOKEN_VERIFICATION_SUBJECT,
            Arc::new(remote::VerificationResponder { db: db.clone() }),
        )
        .await;
        let outbox = Outbox::new(db.clone(), bus);
        if let Err(error) = outbox.flush().await {
            tracing::warn!(%error, "auth: outbox flush at start failed; the relay will retry");
        }
        let relay = outbox.spawn_relay(RELAY_EVERY);
        let key_refresh = keys::spawn_refresh(
            db.clone(),
            signer.clone(),
            verifier.clone(),
            keys::KEY_REFRESH_EVERY,
        );

        tracing::info!(
            kid = %signer.key().kid,
            keys = keys.len(),
            revocations = revoked.len(),
            "auth service started"
        );
        let throttle = Arc::new(LoginThrottle::new(config.throttle));
        Ok(Self {
            state: web::Data::new(AuthState {
                db,
                auth: Authenticator::new(directory, signer, throttle),
                verifier,
                outbox,
                relay,
                key_refresh,
            }),
        })
    }

    /// Creates or updates the auth service's tables.
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        store::migrate(db).await
    }

    /// Registers this service's routes. The app around it provides
    /// `envelope_middleware` and `web::Data<AuthContext>`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.state.clone());
        routes::configure(cfg);
    }

    /// The signer (the binary's `create-account` does not need it; tests may).
    pub fn signer(&self) -> Arc<TokenSigner> {
        self.state.auth.signer().clone()
    }

    /// Adds a new signing key and announces it on this service's bus (what
    /// `crossbar keys rotate` does, from inside a running service: for tests and
    /// embedding). Every replica signs with it once the event is handled; on the
    /// in-process bus, before this returns.
    pub async fn rotate_signing_key(&self) -> Result<keys::Rotation, String> {
        let lifetime = self.state.auth.signer().lifetime_secs();
        keys::rotate(&self.state.db, Some(&self.state.outbox), lifetime).await
    }

    /// The login throttle (for metrics and tests).
    pub fn throttle(&self) -> Arc<LoginThrottle> {
        self.state.auth.throttle().clone()
    }
}

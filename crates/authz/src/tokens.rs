//! JWT issue and verification (EdDSA / Ed25519), and the revocation deny-list.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crossbar_envelope::ApiError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// `iss` of every token, as Kazoo's.
pub const TOKEN_ISSUER: &str = "kazoo";

/// The claims of a crossbar token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    /// Token id, the key of revocation.
    pub jti: String,
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// `cb_user_auth` or `cb_api_auth`.
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priv_level: Option<String>,
    /// Set on impersonation tokens: who is really acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_owner_id: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// An Ed25519 signing key with its id.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl SigningKey {
    pub fn generate() -> Result<Self, String> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| "ed25519 key generation failed".to_string())?;
        Self::from_pkcs8(&crossbar_envelope::ids::new_id(), pkcs8.as_ref().to_vec())
    }

    pub fn from_pkcs8(kid: &str, pkcs8: Vec<u8>) -> Result<Self, String> {
        let pair =
            Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| format!("bad signing key: {e}"))?;
        Ok(Self {
            kid: kid.to_string(),
            public: pair.public_key().as_ref().to_vec(),
            pkcs8,
        })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key, raw 32 bytes.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The public key as a JWK (OKP / Ed25519), for `/v2/auth/keys`.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public),
        })
    }
}

/// Issues tokens (auth service only: it holds the private key). The signing key can
/// be swapped while tokens are being issued ([`TokenSigner::set_key`], on rotation).
pub struct TokenSigner {
    current: RwLock<Arc<ActiveKey>>,
    lifetime_secs: i64,
}

/// The key that signs now, with its encoding key prepared once.
struct ActiveKey {
    key: SigningKey,
    encoding: EncodingKey,
}

impl ActiveKey {
    fn new(key: SigningKey) -> Arc<Self> {
        let encoding = EncodingKey::from_ed_der(key.pkcs8());
        Arc::new(Self { key, encoding })
    }
}

impl TokenSigner {
    pub fn new(key: SigningKey, lifetime_secs: i64) -> Self {
        Self {
            current: RwLock::new(ActiveKey::new(key)),
            lifetime_secs,
        }
    }

    /// The key that signs now (a copy: another may sign the next token).
    pub fn key(&self) -> SigningKey {
        self.active().key.clone()
    }

    /// Signs from now on with `key`; `true` when that changed the signing key.
    pub fn set_key(&self, key: SigningKey) -> bool {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.key.kid == key.kid {
            return false;
        }
        *current = ActiveKey::new(key);
        true
    }

    fn active(&self) -> Arc<ActiveKey> {
        // The lock only guards a pointer swap: a poisoned one still holds a whole key.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    /// Signs a token for `account_id` (and its user, when there is one).
    pub fn issue(
        &self,
        account_id: &str,
        owner_id: Option<&str>,
        method: &str,
        priv_level: Option<&str>,
    ) -> Result<(String, Claims), ApiError> {
        let now = crossbar_envelope::time::unix_now();
        let claims = Claims {
            iss: TOKEN_ISSUER.to_string(),
            jti: crossbar_envelope::ids::new_id(),
            account_id: account_id.to_string(),
            owner_id: owner_id.map(str::to_string),
            method: method.to_string(),
            priv_level: priv_level.map(str::to_string),
            original_account_id: None,
            original_owner_id: None,
            iat: now,
            exp: now + self.lifetime_secs,
        };
        self.sign(claims)
    }

    /// Signs a token to act as `owner_id` of `account_id` on behalf of another user
    /// (impersonation); the original identity travels in the claims.
    pub fn issue_impersonation(
        &self,
        account_id: &str,
        owner_id: &str,
        method: &str,
        priv_level: Option<&str>,
        original_account_id: &str,
        original_owner_id: &str,
    ) -> Result<(String, Claims), ApiError> {
        let now = crossbar_envelope::time::unix_now();
        let claims = Claims {
            iss: TOKEN_ISSUER.to_string(),
            jti: crossbar_envelope::ids::new_id(),
            account_id: account_id.to_string(),
            owner_id: Some(owner_id.to_string()),
            method: method.to_string(),
            priv_level: priv_level.map(str::to_string),
            original_account_id: Some(original_account_id.to_string()),
            original_owner_id: Some(original_owner_id.to_string()),
            iat: now,
            exp: now + self.lifetime_secs,
        };
        self.sign(claims)
    }

    fn sign(&self, claims: Claims) -> Result<(String, Claims), ApiError> {
        let active = self.active();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(active.key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &active.encoding)
            .map_err(|e| ApiError::internal(format!("token signing failed: {e}")))?;
        Ok((token, claims))
    }
}

/// Revoked token ids with their expiry (unix); entries drop out once expired.
#[derive(Default)]
pub struct Revocations {
    revoked: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    pub fn revoke(&self, jti: &str, exp: i64) {
        if let Ok(mut revoked) = self.revoked.write() {
            let now = crossbar_envelope::time::unix_now();
            revoked.retain(|_, expiry| *expiry > now);
            revoked.insert(jti.to_string(), exp);
        }
    }

    pub fn is_revoked(&self, jti: &str) -> bool {
        // A poisoned lock means a panic elsewhere; refuse rather than let a token through.
        self.revoked
            .read()
            .map(|revoked| revoked.contains_key(jti))
            .unwrap_or(true)
    }
}

/// Where a verifier reloads the current public keys from when a token names a key it
/// does not know: `(kid, raw Ed25519 public key)`, the complete current set.
type KeySource = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<(String, Vec<u8>)>, String>> + Send>>
        + Send
        + Sync,
>;

/// Least time between two reloads of the keys caused by tokens with an unknown `kid`
/// (anyone can present such a token; this bounds what they make the process ask).
pub const KEY_RELOAD_MIN_INTERVAL: Duration = Duration::from_secs(5);

/// Why a token was refused (all of them answer 401 alike).
enum Refusal {
    /// Signed with a key this verifier does not know (yet): worth a reload.
    UnknownKid(String),
    Invalid,
}

/// Verifies tokens locally with the auth service's public keys.
pub struct TokenVerifier {
    keys: RwLock<HashMap<String, DecodingKey>>,
    validation: Validation,
    pub revocations: Arc<Revocations>,
    /// Reloads the keys on an unknown `kid` (none: unknown keys are refused).
    source: RwLock<Option<KeySource>>,
    /// When the last reload started; held across a reload so that concurrent requests
    /// with the same new key wait for it instead of each asking.
    last_reload: tokio::sync::Mutex<Option<Instant>>,
}

impl TokenVerifier {
    pub fn new() -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[TOKEN_ISSUER]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss"]);
        Self {
            keys: RwLock::new(HashMap::new()),
            validation,
            revocations: Arc::new(Revocations::default()),
            source: RwLock::new(None),
            last_reload: tokio::sync::Mutex::new(None),
        }
    }

    /// Trusts a public key (raw Ed25519 bytes) under its key id.
    pub fn add_key(&self, kid: &str, public_key: &[u8]) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(kid.to_string(), DecodingKey::from_ed_der(public_key));
        }
    }

    /// Stops trusting a key (a retired one).
    pub fn remove_key(&self, kid: &str) {
        if let Ok(mut keys) = self.keys.write() {
            keys.remove(kid);
        }
    }

    /// Trusts exactly `keys` (`(kid, raw public key)`): the complete current set, as
    /// the auth service has it. Nothing changes when `keys` is empty, or when it names
    /// the keys already trusted (no write lock then).
    pub fn replace_keys(&self, keys: &[(String, Vec<u8>)]) {
        if keys.is_empty() {
            return;
        }
        let wanted: HashSet<&str> = keys.iter().map(|(kid, _)| kid.as_str()).collect();
        let same = self
            .keys
            .read()
            .map(|current| {
                current.len() == wanted.len() && current.keys().all(|k| wanted.contains(k.as_str()))
            })
            .unwrap_or(false);
        if same {
            return;
        }
        if let Ok(mut current) = self.keys.write() {
            *current = keys
                .iter()
                .map(|(kid, public)| (kid.clone(), DecodingKey::from_ed_der(public)))
                .collect();
        }
    }

    /// Whether a key id is trusted.
    pub fn has_key(&self, kid: &str) -> bool {
        self.keys
            .read()
            .map(|keys| keys.contains_key(kid))
            .unwrap_or(false)
    }

    /// The trusted key ids, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self
            .keys
            .read()
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default();
        kids.sort();
        kids
    }

    /// Where to reload the complete set of public keys from when a token names an
    /// unknown key (a rotation this process has not heard of): the auth service's
    /// database in its own process, the auth service over the bus elsewhere.
    pub fn set_key_source<F, Fut>(&self, source: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<(String, Vec<u8>)>, String>> + Send + 'static,
    {
        let source: KeySource = Arc::new(move || Box::pin(source()));
        if let Ok(mut slot) = self.source.write() {
            *slot = Some(source);
        }
    }

    /// The claims of a valid, unexpired, unrevoked token; 401 otherwise.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.check(token).map_err(|_| ApiError::InvalidCredentials)
    }

    /// [`TokenVerifier::verify`], except that a token signed with a key this process
    /// does not know makes it reload the keys from its key source (at most once per
    /// [`KEY_RELOAD_MIN_INTERVAL`]) and try again: this covers a missed rotation
    /// event. Tokens with known keys cost exactly what `verify` costs.
    pub async fn verify_or_reload(&self, token: &str) -> Result<Claims, ApiError> {
        match self.check(token) {
            Ok(claims) => Ok(claims),
            Err(Refusal::UnknownKid(kid)) if self.reload_for(&kid).await => self.verify(token),
            Err(_) => Err(ApiError::InvalidCredentials),
        }
    }

    fn check(&self, token: &str) -> Result<Claims, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid)?;
        let kid = header.kid.ok_or(Refusal::Invalid)?;
        let keys = self.keys.read().map_err(|_| Refusal::Invalid)?;
        let Some(key) = keys.get(&kid) else {
            return Err(Refusal::UnknownKid(kid));
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|_| Refusal::Invalid)?;
        if self.revocations.is_revoked(&data.claims.jti) {
            return Err(Refusal::Invalid);
        }
        Ok(data.claims)
    }

    /// Reloads the keys because of `kid`, unless a reload happened less than
    /// [`KEY_RELOAD_MIN_INTERVAL`] ago; `true` when `kid` is known afterwards.
    async fn reload_for(&self, kid: &str) -> bool {
        let source = match self.source.read() {
            Ok(source) => source.clone(),
            Err(_) => None,
        };
        let Some(source) = source else {
            return false;
        };
        let mut last = self.last_reload.lock().await;
        // A reload that finished while this request waited may have brought it.
        if self.has_key(kid) {
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < KEY_RELOAD_MIN_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        match source().await {
            Ok(keys) if !keys.is_empty() => {
                self.replace_keys(&keys);
                tracing::info!(
                    keys = keys.len(),
                    "token keys reloaded after an unknown key id"
                );
            }
            Ok(_) => tracing::warn!("token key reload: the key source answered no keys"),
            Err(error) => tracing::warn!(%error, "token key reload failed"),
        }
        self.has_key(kid)
    }
}

impl Default for TokenVerifier {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl crossbar_events::EventHandler for Revocations {
    async fn handle(&self, event: &crossbar_events::Event) -> Result<(), String> {
        let jti = event.doc["jti"].as_str().ok_or("revocation without jti")?;
        let exp = event.doc["exp"].as_i64().ok_or("revocation without exp")?;
        self.revoke(jti, exp);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TokenSigner, TokenVerifier) {
        let key = SigningKey::generate().unwrap();
        let verifier = TokenVerifier::new();
        verifier.add_key(&key.kid, key.public_key());
        (TokenSigner::new(key, 3600), verifier)
    }

    #[test]
    fn issued_tokens_verify() {
        let (signer, verifier) = pair();
        let (token, claims) = signer
            .issue("a", Some("u"), "cb_user_auth", Some("admin"))
            .unwrap();
        let verified = verifier.verify(&token).unwrap();
        assert_eq!(verified, claims);
        assert_eq!(verified.exp - verified.iat, 3600);
    }

    #[test]
    fn tampered_and_foreign_tokens_fail() {
        let (signer, verifier) = pair();
        let (other_signer, _) = pair();
        let (token, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(verifier.verify(&tampered).is_err());
        let (foreign, _) = other_signer.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify(&foreign).is_err());
        assert!(verifier.verify("not-a-token").is_err());
    }

    #[test]
    fn expired_tokens_fail() {
        let key = SigningKey::generate().unwrap();
        let verifier = TokenVerifier::new();
        verifier.add_key(&key.kid, key.public_key());
        let signer = TokenSigner::new(key, -10);
        let (token, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify(&token).is_err());
    }

    #[test]
    fn revoked_tokens_fail() {
        let (signer, verifier) = pair();
        let (token, claims) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        verifier.revocations.revoke(&claims.jti, claims.exp);
        assert!(verifier.verify(&token).is_err());
    }

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn a_rotated_signer_signs_with_the_new_key_and_old_tokens_keep_verifying() {
        let (signer, verifier) = pair();
        let (old, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        let next = SigningKey::generate().unwrap();
        verifier.add_key(&next.kid, next.public_key());
        assert!(signer.set_key(next.clone()));
        assert!(!signer.set_key(next.clone()), "same key: no change");
        assert_eq!(signer.key().kid, next.kid);
        let (new, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        assert_eq!(kid_of(&new), next.kid);
        assert_ne!(kid_of(&old), next.kid);
        assert!(verifier.verify(&old).is_ok());
        assert!(verifier.verify(&new).is_ok());
    }

    #[test]
    fn replacing_keys_drops_retired_ones() {
        let (signer, verifier) = pair();
        let (old, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        let next = SigningKey::generate().unwrap();
        verifier.replace_keys(&[(next.kid.clone(), next.public_key().to_vec())]);
        assert_eq!(verifier.kids(), vec![next.kid.clone()]);
        assert!(verifier.verify(&old).is_err());
        verifier.replace_keys(&[]);
        assert_eq!(verifier.kids(), vec![next.kid.clone()], "empty: unchanged");
        verifier.remove_key(&next.kid);
        assert!(verifier.kids().is_empty());
    }

    /// A verifier that missed a rotation, with a key source that knows the new key.
    fn behind_a_rotation() -> (
        TokenVerifier,
        TokenSigner,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let (signer, verifier) = pair();
        let next = SigningKey::generate().unwrap();
        let keys = vec![
            (signer.key().kid, signer.key().public_key().to_vec()),
            (next.kid.clone(), next.public_key().to_vec()),
        ];
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        verifier.set_key_source(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let keys = keys.clone();
            async move { Ok(keys) }
        });
        (verifier, TokenSigner::new(next, 3600), calls)
    }

    #[tokio::test]
    async fn an_unknown_kid_reloads_the_keys_once() {
        let (verifier, rotated, calls) = behind_a_rotation();
        let (token, claims) = rotated.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify(&token).is_err(), "unknown to the hot path");
        assert_eq!(verifier.verify_or_reload(&token).await.unwrap(), claims);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // now known: no further reload
        assert!(verifier.verify_or_reload(&token).await.is_ok());
        assert!(verifier.verify(&token).is_ok());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn unknown_kids_reload_at_most_once_per_interval() {
        let (verifier, _, calls) = behind_a_rotation();
        for _ in 0..3 {
            let stranger = TokenSigner::new(SigningKey::generate().unwrap(), 3600);
            let (token, _) = stranger.issue("a", None, "cb_api_auth", None).unwrap();
            assert!(verifier.verify_or_reload(&token).await.is_err());
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // bad signatures and garbage never reload
        assert!(verifier.verify_or_reload("not-a-token").await.is_err());
    }

    #[tokio::test]
    async fn without_a_key_source_unknown_kids_are_refused() {
        let (_, verifier) = pair();
        let stranger = TokenSigner::new(SigningKey::generate().unwrap(), 3600);
        let (token, _) = stranger.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify_or_reload(&token).await.is_err());
    }

    #[tokio::test]
    async fn a_failing_key_source_refuses() {
        let (_, verifier) = pair();
        verifier.set_key_source(|| async { Err("auth service unreachable".to_string()) });
        let stranger = TokenSigner::new(SigningKey::generate().unwrap(), 3600);
        let (token, _) = stranger.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify_or_reload(&token).await.is_err());
        assert_eq!(verifier.kids().len(), 1, "keys untouched");
    }
}

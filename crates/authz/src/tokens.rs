//! JWT issue and verification (EdDSA / Ed25519), and the revocation deny-list.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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

/// Issues tokens (auth service only: it holds the private key).
pub struct TokenSigner {
    key: SigningKey,
    encoding: EncodingKey,
    lifetime_secs: i64,
}

impl TokenSigner {
    pub fn new(key: SigningKey, lifetime_secs: i64) -> Self {
        let encoding = EncodingKey::from_ed_der(key.pkcs8());
        Self {
            key,
            encoding,
            lifetime_secs,
        }
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
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
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
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

/// Verifies tokens locally with the auth service's public keys.
pub struct TokenVerifier {
    keys: RwLock<HashMap<String, DecodingKey>>,
    validation: Validation,
    pub revocations: Arc<Revocations>,
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
        }
    }

    /// Trusts a public key (raw Ed25519 bytes) under its key id.
    pub fn add_key(&self, kid: &str, public_key: &[u8]) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(kid.to_string(), DecodingKey::from_ed_der(public_key));
        }
    }

    /// The claims of a valid, unexpired, unrevoked token; 401 otherwise.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| ApiError::InvalidCredentials)?;
        let kid = header.kid.ok_or(ApiError::InvalidCredentials)?;
        let keys = self.keys.read().map_err(|_| ApiError::InvalidCredentials)?;
        let key = keys.get(&kid).ok_or(ApiError::InvalidCredentials)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|_| ApiError::InvalidCredentials)?;
        if self.revocations.is_revoked(&data.claims.jti) {
            return Err(ApiError::InvalidCredentials);
        }
        Ok(data.claims)
    }
}

impl Default for TokenVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// Subject of a revocation event; its doc is `{"jti": ..., "exp": ...}`.
pub const TOKEN_REVOKED_SUBJECT: &str = "crossbar.auth.token.revoked";

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
}

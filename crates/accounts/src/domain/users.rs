//! Users: usernames unique and lowercased, passwords turned into credential hashes
//! and never stored, admin-only writes except a user editing itself.

use async_trait::async_trait;
use crossbar_crud::{ResourceRules, StoredDoc, UniqueClaim, WriteAction, WriteContext};
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{json, Map, Value};

use super::credentials::{hash_credentials_async, md5_credentials, sha1_credentials};
use crate::store::AccountStore;

/// Stored Argon2id of the md5 credential (never returned).
pub const MD5_HASH_FIELD: &str = "pvt_md5_auth_argon2";
/// Stored Argon2id of the sha1 credential (never returned).
pub const SHA1_HASH_FIELD: &str = "pvt_sha1_auth_argon2";
/// Unique-claim names used to find a user by credential hash.
pub const MD5_CLAIM: &str = "md5_auth";
pub const SHA1_CLAIM: &str = "sha1_auth";

pub struct UsersRules {
    pub accounts: AccountStore,
}

fn is_admin(ctx: &WriteContext) -> bool {
    ctx.caller_is_admin || ctx.caller_is_superduper
}

#[async_trait]
impl ResourceRules for UsersRules {
    fn kind(&self) -> &'static str {
        "user"
    }

    fn collection(&self) -> &'static str {
        "users"
    }

    fn schema(&self) -> &'static str {
        "users"
    }

    async fn authorize(
        &self,
        ctx: &WriteContext,
        action: WriteAction,
        existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        if is_admin(ctx) {
            return Ok(());
        }
        // A plain user may only edit itself.
        match (action, existing) {
            (WriteAction::Update, Some(doc))
                if ctx.caller_user_id.as_deref() == Some(doc.id.as_str()) =>
            {
                Ok(())
            }
            _ => Err(ApiError::Forbidden(None)),
        }
    }

    async fn prepare(
        &self,
        ctx: &WriteContext,
        data: &mut Map<String, Value>,
        existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        if let Some(Value::String(username)) = data.get("username") {
            let lowered = username.trim().to_lowercase();
            data.insert("username".into(), Value::String(lowered));
        }
        if !is_admin(ctx) {
            // A user cannot raise its own privilege.
            let stored = existing.and_then(|d| d.doc.get("priv_level")).cloned();
            match stored {
                Some(level) => data.insert("priv_level".into(), level),
                None => data.remove("priv_level"),
            };
        }
        if matches!(data.get("password"), Some(Value::String(p)) if p.is_empty()) {
            data.remove("password");
        }
        let new_username = data.get("username").and_then(Value::as_str);
        let old_username = existing.and_then(|d| d.str_field("username"));
        let has_password = data.contains_key("password");
        let has_credentials = data.contains_key("credentials");
        let username_changed = new_username.is_some() && new_username != old_username;
        let mut errors = ValidationErrors::new();
        if username_changed && !has_password && !has_credentials && existing.is_some() {
            errors.add(
                "password",
                "required",
                "The password must be provided when updating the user name",
            );
        }
        if has_password && new_username.is_none() {
            errors.add(
                "username",
                "required",
                "The username must be provided when updating the password",
            );
        }
        errors.into_result()
    }

    /// Turns a (validated) password or raw md5 `credentials` into the stored
    /// Argon2id hashes; neither is ever stored.
    async fn finalize(
        &self,
        ctx: &WriteContext,
        data: &mut Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        let password = data
            .remove("password")
            .and_then(|v| v.as_str().map(str::to_string));
        let raw_credentials = data
            .remove("credentials")
            .and_then(|v| v.as_str().map(|c| c.trim().to_lowercase()));
        let username = data.get("username").and_then(Value::as_str);
        let (md5, sha1) = match (&password, username, raw_credentials) {
            (Some(password), Some(username), _) => (
                Some(md5_credentials(username, password)),
                Some(sha1_credentials(username, password)),
            ),
            (None, _, Some(credentials)) => (Some(credentials), None),
            _ => return Ok(()),
        };
        let salt = self
            .accounts
            .get(&ctx.account_id)
            .await?
            .map(|a| a.auth_salt)
            .ok_or_else(|| ApiError::BadIdentifier(ctx.account_id.clone()))?;
        // Replace both stored hashes: an old sha1 must not outlive a new password.
        data.insert(MD5_HASH_FIELD.into(), Value::Null);
        data.insert(SHA1_HASH_FIELD.into(), Value::Null);
        if let Some(md5) = md5 {
            let hash = hash_credentials_async(md5, salt.clone()).await?;
            data.insert(MD5_HASH_FIELD.into(), Value::String(hash));
        }
        if let Some(sha1) = sha1 {
            let hash = hash_credentials_async(sha1, salt).await?;
            data.insert(SHA1_HASH_FIELD.into(), Value::String(hash));
        }
        Ok(())
    }

    fn unique_claims(&self, doc: &Map<String, Value>) -> Vec<UniqueClaim> {
        let mut claims = Vec::new();
        if let Some(username) = doc
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        {
            claims.push(UniqueClaim {
                claim: "username".into(),
                value: username.to_string(),
                error: ValidationErrors::single(
                    "username",
                    "unique",
                    "Username must be unique within account",
                ),
            });
        }
        if let Some(hotdesk) = doc
            .get("hotdesk")
            .and_then(|h| h.get("id"))
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
        {
            claims.push(UniqueClaim {
                claim: "hotdesk_id".into(),
                value: hotdesk.to_string(),
                error: ValidationErrors::single(
                    "hotdesk.id",
                    "unique",
                    "Hotdesk ID must be unique within account",
                ),
            });
        }
        for (field, claim) in [(MD5_HASH_FIELD, MD5_CLAIM), (SHA1_HASH_FIELD, SHA1_CLAIM)] {
            if let Some(hash) = doc.get(field).and_then(Value::as_str) {
                claims.push(UniqueClaim {
                    claim: claim.into(),
                    value: hash.to_string(),
                    error: ValidationErrors::single(
                        "credentials",
                        "unique",
                        "Credentials must be unique within account",
                    ),
                });
            }
        }
        claims
    }

    fn sort_key(&self, doc: &Map<String, Value>) -> String {
        let text = |k: &str| {
            doc.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase()
        };
        format!("{} {}", text("last_name"), text("first_name"))
    }

    fn summary(&self, doc: &StoredDoc) -> Value {
        let d = &doc.doc;
        let get = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
        let mut out = json!({
            "id": doc.id,
            "first_name": get("first_name"),
            "last_name": get("last_name"),
            "username": get("username"),
            "email": get("email"),
            "priv_level": get("priv_level"),
            "presence_id": get("presence_id"),
            "features": d.get("features").cloned().unwrap_or_else(|| json!([])),
        });
        if let (Value::Object(map), Some(flags)) = (&mut out, d.get("flags")) {
            map.insert("flags".into(), flags.clone());
        }
        if let Value::Object(map) = &mut out {
            map.retain(|_, v| !v.is_null());
        }
        out
    }
}

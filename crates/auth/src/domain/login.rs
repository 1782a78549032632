//! Logins: `user_auth` (credentials + account selector, throttled) and `api_auth`
//! (account API key), and the introspection of a token in use.

use std::sync::Arc;

use crossbar_authz::{
    AccountRef, AccountScope, Caller, Claims, TokenSigner, UserDirectory, UserRef,
};
use crossbar_envelope::ApiError;
use serde_json::Value;

use super::requests::{ApiAuthRequest, UserAuthRequest};
use super::session;
use super::throttle::LoginThrottle;

/// `method` claim of tokens from `PUT /v2/user_auth`.
pub const USER_AUTH_METHOD: &str = "cb_user_auth";
/// `method` claim of tokens from `PUT /v2/api_auth`.
pub const API_AUTH_METHOD: &str = "cb_api_auth";

/// A newly issued token and the `data` of the answer.
pub struct Issued {
    pub token: String,
    pub claims: Claims,
    pub data: Value,
}

/// Everything a login needs: the directory, the signer and the throttle.
#[derive(Clone)]
pub struct Authenticator {
    directory: Arc<dyn UserDirectory>,
    signer: Arc<TokenSigner>,
    throttle: Arc<LoginThrottle>,
}

impl Authenticator {
    pub fn new(
        directory: Arc<dyn UserDirectory>,
        signer: Arc<TokenSigner>,
        throttle: Arc<LoginThrottle>,
    ) -> Self {
        Self {
            directory,
            signer,
            throttle,
        }
    }

    pub fn signer(&self) -> &Arc<TokenSigner> {
        &self.signer
    }

    pub fn throttle(&self) -> &Arc<LoginThrottle> {
        &self.throttle
    }

    /// `PUT /v2/user_auth` from client `address` at `now` (unix seconds).
    pub async fn user_auth(
        &self,
        request: &UserAuthRequest,
        address: &str,
        now: i64,
    ) -> Result<Issued, ApiError> {
        let keys = request.throttle_keys();
        // Counted as a failure from here on, until it proves to be something else.
        self.throttle
            .begin_attempt(&keys, address, now)
            .map_err(|retry_after| {
                metrics::counter!("auth_login_throttled_total").increment(1);
                ApiError::TooManyRequests(retry_after)
            })?;
        let (account, user) = match self.find_user(request).await {
            Ok(found) => found,
            Err(ApiError::InvalidCredentials) => {
                tracing::info!(selectors = keys.len(), "user_auth: invalid credentials");
                metrics::counter!("auth_login_failures_total", "method" => "user_auth")
                    .increment(1);
                return Err(ApiError::InvalidCredentials);
            }
            Err(other) => {
                // A disabled account (right credentials) or a directory failure is
                // not a guess.
                self.throttle.forget_attempt(&keys, address, now);
                return Err(other);
            }
        };
        self.throttle.record_success(&keys, address, now);
        let (token, claims) = self.signer.issue(
            &account.id,
            Some(&user.id),
            USER_AUTH_METHOD,
            Some(&user.priv_level),
        )?;
        let reseller_id = self.directory.reseller_id(&account.id).await?;
        let data = session::login_data(&account, Some(&user), reseller_id.as_deref());
        tracing::info!(account_id = %account.id, owner_id = %user.id, jti = %claims.jti, "user_auth: token issued");
        Ok(Issued {
            token,
            claims,
            data,
        })
    }

    /// Kazoo's order: the first selector that names any account decides which accounts
    /// are tried; in each, the credentials are looked up; a match in a disabled account
    /// is 400 `account.disabled`, no match at all 401.
    async fn find_user(
        &self,
        request: &UserAuthRequest,
    ) -> Result<(AccountRef, UserRef), ApiError> {
        for selector in &request.selectors {
            let accounts = self.directory.find_accounts(selector).await?;
            if accounts.is_empty() {
                continue;
            }
            for account in accounts {
                let user = self
                    .directory
                    .check_credentials(&account.id, request.method, &request.credentials)
                    .await?
                    .filter(|user| user.enabled);
                if let Some(user) = user {
                    if !account.enabled {
                        return Err(account_disabled());
                    }
                    return Ok((account, user));
                }
            }
            return Err(ApiError::InvalidCredentials);
        }
        Err(ApiError::InvalidCredentials)
    }

    /// `PUT /v2/api_auth`.
    pub async fn api_auth(&self, request: &ApiAuthRequest) -> Result<Issued, ApiError> {
        let account = self
            .directory
            .account_by_api_key(&request.api_key)
            .await?
            .ok_or_else(|| {
                metrics::counter!("auth_login_failures_total", "method" => "api_auth").increment(1);
                ApiError::System {
                    status: actix_web::http::StatusCode::NOT_FOUND,
                    message: "bad identifier".into(),
                    data: serde_json::json!([request.api_key]),
                }
            })?;
        if !account.enabled {
            return Err(account_disabled());
        }
        let (token, claims) = self
            .signer
            .issue(&account.id, None, API_AUTH_METHOD, None)?;
        let reseller_id = self.directory.reseller_id(&account.id).await?;
        let data = session::login_data(&account, None, reseller_id.as_deref());
        tracing::info!(account_id = %account.id, jti = %claims.jti, "api_auth: token issued");
        Ok(Issued {
            token,
            claims,
            data,
        })
    }

    /// `PUT /v2/accounts/{A}/users/{U}/user_auth` with `action: impersonate_user`:
    /// only an admin user of a superduper-admin account, acting on another account.
    pub async fn impersonate(
        &self,
        scope: &AccountScope,
        user_id: &str,
    ) -> Result<Issued, ApiError> {
        let caller = &scope.caller;
        let caller_user = caller.claims.owner_id.as_deref();
        let allowed = caller.is_superduper()
            && caller.claims.priv_level.as_deref() == Some("admin")
            && caller.claims.original_account_id.is_none()
            && !scope.is_own_account();
        let Some(caller_user) = caller_user.filter(|_| allowed) else {
            return Err(ApiError::Forbidden(None));
        };
        let user = self
            .directory
            .user(scope.account_id(), user_id)
            .await?
            .ok_or_else(|| ApiError::BadIdentifier(user_id.to_string()))?;
        let (token, claims) = self.signer.issue_impersonation(
            scope.account_id(),
            &user.id,
            USER_AUTH_METHOD,
            Some(&user.priv_level),
            &caller.account.id,
            caller_user,
        )?;
        let reseller_id = self.directory.reseller_id(scope.account_id()).await?;
        let mut data = session::login_data(&scope.account, Some(&user), reseller_id.as_deref());
        if let Value::Object(map) = &mut data {
            map.insert(
                "original_account_id".into(),
                Value::String(caller.account.id.clone()),
            );
            map.insert(
                "original_owner_id".into(),
                Value::String(caller_user.to_string()),
            );
        }
        tracing::info!(account_id = %scope.account_id(), owner_id = %user.id, original_account_id = %caller.account.id, jti = %claims.jti, "impersonation token issued");
        Ok(Issued {
            token,
            claims,
            data,
        })
    }

    /// The token info of an authenticated caller.
    pub async fn token_info(&self, caller: &Caller) -> Result<Value, ApiError> {
        let user = match &caller.claims.owner_id {
            Some(owner_id) => self.directory.user(&caller.account.id, owner_id).await?,
            None => None,
        };
        let reseller_id = self.directory.reseller_id(&caller.account.id).await?;
        Ok(session::token_info(
            &caller.claims,
            &caller.account,
            user.as_ref(),
            reseller_id.as_deref(),
        ))
    }
}

fn account_disabled() -> ApiError {
    ApiError::validation("account", "disabled", "account disabled")
}

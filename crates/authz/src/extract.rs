//! The extractors: [`Caller`] (a valid token and its account) and [`AccountScope`]
//! (a target account the caller may reach).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use crossbar_envelope::{check_account_id, presented_token, ApiError};

use crate::{may_reach, AccountRef, AuthContext, Claims};

/// An authenticated caller: its verified claims and its (enabled) account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: String,
    pub claims: Claims,
    pub account: AccountRef,
}

impl Caller {
    pub fn is_superduper(&self) -> bool {
        self.account.superduper_admin
    }

    /// Account admin: an admin user, or an API-key token (which acts for the account).
    pub fn is_admin(&self) -> bool {
        self.claims.method == "cb_api_auth" || self.claims.priv_level.as_deref() == Some("admin")
    }

    pub async fn from_http(req: &HttpRequest) -> Result<Self, ApiError> {
        let ctx = req
            .app_data::<web::Data<AuthContext>>()
            .ok_or_else(|| ApiError::internal("AuthContext is not registered"))?;
        let token = presented_token(req).ok_or(ApiError::InvalidCredentials)?;
        let claims = ctx.verifier.verify_or_reload(&token).await?;
        let account = ctx
            .directory
            .account(&claims.account_id)
            .await?
            .filter(|account| account.enabled)
            .ok_or(ApiError::InvalidCredentials)?;
        Ok(Self {
            token,
            claims,
            account,
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Caller::from_http(&req).await })
    }
}

/// The account named by `{account_id}` in the path, after the access rule passed.
#[derive(Debug, Clone)]
pub struct AccountScope {
    pub caller: Caller,
    pub account: AccountRef,
}

impl AccountScope {
    pub fn account_id(&self) -> &str {
        &self.account.id
    }

    /// `true` when the caller acts on its own account (not a descendant).
    pub fn is_own_account(&self) -> bool {
        self.caller.account.id == self.account.id
    }

    /// Admin-only operations: an admin of this account or of an ancestor, or superduper.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.caller.is_superduper() || self.caller.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(None))
        }
    }

    pub fn require_superduper(&self) -> Result<(), ApiError> {
        if self.caller.is_superduper() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(None))
        }
    }

    /// Resolves and checks the target account for a caller.
    pub async fn resolve(
        ctx: &AuthContext,
        caller: Caller,
        account_id: &str,
    ) -> Result<Self, ApiError> {
        check_account_id(account_id)?;
        let account = ctx
            .directory
            .account(account_id)
            .await?
            .ok_or_else(|| ApiError::BadIdentifier(account_id.to_string()))?;
        if !may_reach(&caller.account, &account) {
            return Err(ApiError::Forbidden(None));
        }
        Ok(Self { caller, account })
    }
}

impl FromRequest for AccountScope {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = Caller::from_http(&req).await?;
            let ctx = req
                .app_data::<web::Data<AuthContext>>()
                .ok_or_else(|| ApiError::internal("AuthContext is not registered"))?;
            let account_id = req.match_info().get("account_id").unwrap_or_default();
            AccountScope::resolve(ctx, caller, account_id).await
        })
    }
}

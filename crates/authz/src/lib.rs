//! Who is calling and what they may reach: JWT verification with the auth service's
//! public keys, revocation, and the account-tree rule as actix extractors.
//!
//! Every handler that touches an account's data takes an [`AccountScope`], which only
//! exists once the token is valid and the target account is the caller's own, one of
//! its descendants, or the caller is a superduper admin.

mod extract;
mod tokens;

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_envelope::ApiError;
use serde::{Deserialize, Serialize};

pub use extract::{AccountScope, Caller};
pub use tokens::{Claims, Revocations, SigningKey, TokenSigner, TokenVerifier, TOKEN_ISSUER};

/// What authorisation needs to know about an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountRef {
    pub id: String,
    pub name: String,
    pub realm: String,
    /// Ancestors, root first, parent last.
    pub tree: Vec<String>,
    pub enabled: bool,
    pub superduper_admin: bool,
    pub is_reseller: bool,
}

impl AccountRef {
    /// `true` when `ancestor` is this account or one of its ancestors.
    pub fn is_within(&self, ancestor: &str) -> bool {
        self.id == ancestor || self.tree.iter().any(|id| id == ancestor)
    }

    pub fn parent_id(&self) -> Option<&str> {
        self.tree.last().map(String::as_str)
    }
}

/// Looks accounts up for authorisation. The accounts service implements it on its
/// store; other services on their projection with a request-reply fallback.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError>;
}

/// Which stored credential a login presents: `md5("user:pass")` or its sha1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialMethod {
    Md5,
    Sha1,
}

/// How a login names its account (Kazoo tries them in this order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSelector {
    PhoneNumber(String),
    /// Compared case-insensitively.
    Realm(String),
    /// Compared after lowercasing and dropping every non-alphanumeric character.
    Name(String),
}

/// A user as the auth service needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRef {
    pub id: String,
    pub account_id: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub priv_level: String,
    pub enabled: bool,
    pub language: Option<String>,
}

/// What the auth service asks the directory (the accounts service) at login.
/// Embedded: implemented on the accounts store; distributed: request-reply.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// Accounts a selector names (a name or realm may match several). Deleted
    /// accounts are never returned; disabled ones are (the caller refuses them).
    async fn find_accounts(&self, selector: &AccountSelector) -> Result<Vec<AccountRef>, ApiError>;
    /// The enabled, not deleted user of `account_id` whose stored md5/sha1
    /// credential equals `credentials` (lowercase hex), if any.
    async fn check_credentials(
        &self,
        account_id: &str,
        method: CredentialMethod,
        credentials: &str,
    ) -> Result<Option<UserRef>, ApiError>;
    /// The account whose API key this is.
    async fn account_by_api_key(&self, api_key: &str) -> Result<Option<AccountRef>, ApiError>;
    /// A user by id (not deleted).
    async fn user(&self, account_id: &str, user_id: &str) -> Result<Option<UserRef>, ApiError>;
    /// The nearest reseller ancestor of the account (or the master account).
    async fn reseller_id(&self, account_id: &str) -> Result<Option<String>, ApiError>;
}

/// Shared state of the extractors (registered as `web::Data<AuthContext>`).
#[derive(Clone)]
pub struct AuthContext {
    pub verifier: Arc<TokenVerifier>,
    pub directory: Arc<dyn AccountDirectory>,
}

/// The tree rule of DESIGN §6, as one function so that it is tested once.
pub fn may_reach(caller_account: &AccountRef, target: &AccountRef) -> bool {
    caller_account.superduper_admin || target.is_within(&caller_account.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, tree: &[&str], superduper: bool) -> AccountRef {
        AccountRef {
            id: id.into(),
            name: id.into(),
            realm: format!("{id}.example"),
            tree: tree.iter().map(|s| s.to_string()).collect(),
            enabled: true,
            superduper_admin: superduper,
            is_reseller: false,
        }
    }

    #[test]
    fn tree_rule() {
        let root = account("root", &[], true);
        let a = account("a", &["root"], false);
        let a1 = account("a1", &["root", "a"], false);
        let b = account("b", &["root"], false);
        assert!(may_reach(&a, &a));
        assert!(may_reach(&a, &a1));
        assert!(!may_reach(&a1, &a), "child cannot reach parent");
        assert!(!may_reach(&a, &b), "sibling cannot reach sibling");
        assert!(!may_reach(&a, &root));
        assert!(may_reach(&root, &b), "superduper reaches all");
    }
}

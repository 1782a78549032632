//! The directory as the rest of the system sees it: account lookups for
//! authorisation and credential checks for login.

use async_trait::async_trait;
use crossbar_authz::{
    AccountDirectory, AccountRef, AccountSelector, CredentialMethod, UserDirectory, UserRef,
};
use crossbar_crud::{Documents, StoredDoc};
use crossbar_envelope::ApiError;
use serde_json::Value;

use crate::domain::accounts::name_key;
use crate::domain::credentials::hash_credentials_async;
use crate::domain::users::{MD5_CLAIM, SHA1_CLAIM};
use crate::store::{account, AccountStore};

pub fn account_ref(model: &account::Model) -> AccountRef {
    AccountRef {
        id: model.id.clone(),
        name: model.name.clone(),
        realm: model.realm.clone(),
        tree: model.tree(),
        enabled: model.enabled,
        superduper_admin: model.superduper_admin,
        is_reseller: model.is_reseller,
    }
}

fn user_ref(doc: &StoredDoc) -> UserRef {
    let text = |k: &str| doc.str_field(k).unwrap_or_default().to_string();
    UserRef {
        id: doc.id.clone(),
        account_id: doc.account_id.clone(),
        username: text("username"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        priv_level: doc.str_field("priv_level").unwrap_or("user").to_string(),
        enabled: doc
            .doc
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        language: doc.str_field("language").map(str::to_string),
    }
}

/// Directory backed by the accounts store.
#[derive(Clone)]
pub struct Directory {
    pub accounts: AccountStore,
    pub docs: Documents,
}

impl Directory {
    /// The nearest reseller at or above the account, else the root.
    pub async fn reseller_of(&self, model: &account::Model) -> Result<String, ApiError> {
        if model.is_reseller {
            return Ok(model.id.clone());
        }
        let tree = model.tree();
        let ancestors = self.accounts.many(&tree).await?;
        if let Some(reseller) = ancestors.iter().rev().find(|a| a.is_reseller) {
            return Ok(reseller.id.clone());
        }
        Ok(tree.first().cloned().unwrap_or_else(|| model.id.clone()))
    }
}

#[async_trait]
impl AccountDirectory for Directory {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError> {
        Ok(self.accounts.get(id).await?.as_ref().map(account_ref))
    }
}

#[async_trait]
impl UserDirectory for Directory {
    async fn find_accounts(&self, selector: &AccountSelector) -> Result<Vec<AccountRef>, ApiError> {
        let models = match selector {
            AccountSelector::Realm(realm) => {
                self.accounts.by_realm(realm).await?.into_iter().collect()
            }
            AccountSelector::Name(name) => self.accounts.by_name_key(&name_key(name)).await?,
            // Numbers belong to the numbers service, which does not exist yet.
            AccountSelector::PhoneNumber(_) => Vec::new(),
        };
        Ok(models.iter().map(account_ref).collect())
    }

    async fn check_credentials(
        &self,
        account_id: &str,
        method: CredentialMethod,
        credentials: &str,
    ) -> Result<Option<UserRef>, ApiError> {
        let Some(account) = self.accounts.get(account_id).await? else {
            return Ok(None);
        };
        let hash = hash_credentials_async(credentials.to_string(), account.auth_salt).await?;
        let claim = match method {
            CredentialMethod::Md5 => MD5_CLAIM,
            CredentialMethod::Sha1 => SHA1_CLAIM,
        };
        let Some(user_id) = self
            .docs
            .claim_holder(account_id, "user", claim, &hash)
            .await?
        else {
            return Ok(None);
        };
        let user = self.docs.find(account_id, "user", &user_id).await?;
        Ok(user.as_ref().map(user_ref).filter(|u| u.enabled))
    }

    async fn account_by_api_key(&self, api_key: &str) -> Result<Option<AccountRef>, ApiError> {
        Ok(self
            .accounts
            .by_api_key(api_key)
            .await?
            .as_ref()
            .map(account_ref))
    }

    async fn user(&self, account_id: &str, user_id: &str) -> Result<Option<UserRef>, ApiError> {
        Ok(self
            .docs
            .find(account_id, "user", user_id)
            .await?
            .as_ref()
            .map(user_ref))
    }

    async fn reseller_id(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        match self.accounts.get(account_id).await? {
            Some(model) => Ok(Some(self.reseller_of(&model).await?)),
            None => Ok(None),
        }
    }
}

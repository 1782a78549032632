//! The directory over the bus, for processes that do not host the accounts service
//! (distributed mode): [`DirectoryResponder`] answers in the accounts process,
//! [`RemoteDirectory`] asks from anywhere else. Same traits as the local
//! [`crate::Directory`], so the extractors and the auth service cannot tell them apart.

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_authz::{
    AccountDirectory, AccountRef, AccountSelector, CredentialMethod, UserDirectory, UserRef,
};
use crossbar_envelope::ApiError;
use crossbar_events::subjects::ACCOUNTS_DIRECTORY_SUBJECT;
use crossbar_events::{Bus, RequestHandler, DEFAULT_REQUEST_TIMEOUT};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::Directory;

use crossbar_events::required_str as text;

fn to_json<T: serde::Serialize>(value: T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// Answers directory questions ([`ACCOUNTS_DIRECTORY_SUBJECT`], `{"op": ..., ...}`)
/// from the local directory.
pub struct DirectoryResponder {
    pub directory: Directory,
}

#[async_trait]
impl RequestHandler for DirectoryResponder {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        let d = &self.directory;
        let e = |error: ApiError| error.to_string();
        match text(&payload, "op")? {
            "account" => to_json(d.account(text(&payload, "id")?).await.map_err(e)?),
            "find_accounts" => {
                let value = text(&payload, "value")?.to_string();
                let selector = match text(&payload, "selector")? {
                    "phone_number" => AccountSelector::PhoneNumber(value),
                    "realm" => AccountSelector::Realm(value),
                    "name" => AccountSelector::Name(value),
                    other => return Err(format!("unknown selector {other}")),
                };
                to_json(d.find_accounts(&selector).await.map_err(e)?)
            }
            "check_credentials" => {
                let method = match text(&payload, "method")? {
                    "md5" => CredentialMethod::Md5,
                    "sha" => CredentialMethod::Sha1,
                    other => return Err(format!("unknown method {other}")),
                };
                to_json(
                    d.check_credentials(
                        text(&payload, "account_id")?,
                        method,
                        text(&payload, "credentials")?,
                    )
                    .await
                    .map_err(e)?,
                )
            }
            "account_by_api_key" => to_json(
                d.account_by_api_key(text(&payload, "api_key")?)
                    .await
                    .map_err(e)?,
            ),
            "user" => to_json(
                d.user(text(&payload, "account_id")?, text(&payload, "user_id")?)
                    .await
                    .map_err(e)?,
            ),
            "reseller_id" => to_json(
                d.reseller_id(text(&payload, "account_id")?)
                    .await
                    .map_err(e)?,
            ),
            other => Err(format!("unknown directory question {other}")),
        }
    }
}

/// The directory of another process, asked over the bus.
pub struct RemoteDirectory {
    bus: Arc<dyn Bus>,
}

impl RemoteDirectory {
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self { bus }
    }

    async fn ask<T: DeserializeOwned>(&self, payload: Value) -> Result<T, ApiError> {
        let answer = self
            .bus
            .request(ACCOUNTS_DIRECTORY_SUBJECT, payload, DEFAULT_REQUEST_TIMEOUT)
            .await
            .map_err(crossbar_crud::rpc::bus_error)?;
        serde_json::from_value(answer)
            .map_err(|e| ApiError::internal(format!("directory answer: {e}")))
    }
}

#[async_trait]
impl AccountDirectory for RemoteDirectory {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError> {
        self.ask(json!({"op": "account", "id": id})).await
    }
}

#[async_trait]
impl UserDirectory for RemoteDirectory {
    async fn find_accounts(&self, selector: &AccountSelector) -> Result<Vec<AccountRef>, ApiError> {
        let (kind, value) = match selector {
            AccountSelector::PhoneNumber(v) => ("phone_number", v),
            AccountSelector::Realm(v) => ("realm", v),
            AccountSelector::Name(v) => ("name", v),
        };
        self.ask(json!({"op": "find_accounts", "selector": kind, "value": value}))
            .await
    }

    async fn check_credentials(
        &self,
        account_id: &str,
        method: CredentialMethod,
        credentials: &str,
    ) -> Result<Option<UserRef>, ApiError> {
        let method = match method {
            CredentialMethod::Md5 => "md5",
            CredentialMethod::Sha1 => "sha",
        };
        self.ask(json!({"op": "check_credentials", "account_id": account_id,
            "method": method, "credentials": credentials}))
            .await
    }

    async fn account_by_api_key(&self, api_key: &str) -> Result<Option<AccountRef>, ApiError> {
        self.ask(json!({"op": "account_by_api_key", "api_key": api_key}))
            .await
    }

    async fn user(&self, account_id: &str, user_id: &str) -> Result<Option<UserRef>, ApiError> {
        self.ask(json!({"op": "user", "account_id": account_id, "user_id": user_id}))
            .await
    }

    async fn reseller_id(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        self.ask(json!({"op": "reseller_id", "account_id": account_id}))
            .await
    }
}

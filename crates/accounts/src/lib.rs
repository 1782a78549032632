//! The accounts service: the account tree, users and devices (the directory), and
//! account API keys.

pub mod directory;
pub mod domain;
pub mod events;
pub mod handlers;
pub mod projection;
pub mod remote;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use crossbar_events::subjects::ACCOUNTS_DIRECTORY_SUBJECT;
use crossbar_events::{Bus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::{json, Map, Value};

pub use directory::Directory;
use store::AccountStore;

/// Settings of the accounts service.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Suffix of generated realms (`<6 hex>.<suffix>`).
    pub realm_suffix: String,
    pub default_timezone: String,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            realm_suffix: "sip.2600hz.com".into(),
            default_timezone: "America/Los_Angeles".into(),
        }
    }
}

/// The bootstrap result: the master account and its admin user.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub account_id: String,
    pub user_id: String,
}

#[derive(Clone)]
pub struct AccountsService {
    pub store: AccountStore,
    pub docs: Documents,
    pub directory: Directory,
    pub config: Arc<AccountsConfig>,
    /// To ask other services before destructive changes (active port requests).
    pub bus: Arc<dyn Bus>,
}

impl AccountsService {
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
        crossbar_crud::db::run_migrations_locked::<store::Migrator>(db, "accounts").await
    }

    /// Migrates, wires the store and starts the outbox relay.
    pub async fn start(
        db: crossbar_crud::db::Db,
        bus: Arc<dyn Bus>,
        schemas: Arc<SchemaRegistry>,
        config: AccountsConfig,
    ) -> Result<Self, String> {
        Self::migrate(&db.write)
            .await
            .map_err(|e| format!("accounts migrations: {e}"))?;
        let outbox = Outbox::new(db.write.clone(), bus.clone());
        outbox.spawn_relay(Duration::from_secs(1));
        let docs = Documents::new(&db, outbox, schemas, "accounts");
        let store = AccountStore::new(&db);
        events::register_responders(&bus, store.clone(), docs.clone()).await;
        let directory = Directory {
            accounts: store.clone(),
            docs: docs.clone(),
        };
        bus.respond(
            ACCOUNTS_DIRECTORY_SUBJECT,
            Arc::new(remote::DirectoryResponder {
                directory: directory.clone(),
            }),
        )
        .await;
        Ok(Self {
            directory,
            store,
            docs,
            config: Arc::new(config),
            bus,
        })
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(self, cfg);
    }

    pub fn directory(&self) -> Arc<Directory> {
        Arc::new(self.directory.clone())
    }

    /// `true` when no account exists yet.
    pub async fn is_empty(&self) -> Result<bool, ApiError> {
        Ok(self.store.count().await? == 0)
    }

    /// Creates the master (superduper admin) account and its admin user. Refused
    /// once any account exists.
    pub async fn bootstrap_master(
        &self,
        name: &str,
        realm: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<Bootstrapped, ApiError> {
        if !self.is_empty().await? {
            return Err(ApiError::system(
                actix_web::http::StatusCode::BAD_REQUEST,
                "empty_tree_accounts_exist",
                "unable to create account tree",
            ));
        }
        let mut data = Map::new();
        data.insert("name".into(), Value::String(name.to_string()));
        if let Some(realm) = realm {
            data.insert("realm".into(), Value::String(realm.to_string()));
        }
        let account = handlers::accounts::create_account(self, None, "", data, true).await?;
        let ctx = crossbar_crud::WriteContext {
            account_id: account.id.clone(),
            account_tree: Vec::new(),
            caller_account_id: account.id.clone(),
            caller_is_admin: true,
            caller_is_superduper: true,
            caller_user_id: None,
        };
        let user = json!({
            "first_name": "Account",
            "last_name": "Admin",
            "username": username,
            "password": password,
            "priv_level": "admin",
        });
        let Value::Object(user) = user else {
            return Err(ApiError::internal("user document is not an object"));
        };
        let rules = domain::users::UsersRules {
            accounts: self.store.clone(),
        };
        let user = self.docs.create(&rules, &ctx, user).await?;
        Ok(Bootstrapped {
            account_id: account.id,
            user_id: user.id,
        })
    }
}

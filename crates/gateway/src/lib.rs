//! The `crossbar` host: builds the services of this process and the app around them.

pub mod config;

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use async_trait::async_trait;
use crossbar_accounts::{AccountsConfig, AccountsService, Directory};
use crossbar_auth::{AuthConfig, AuthService};
use crossbar_authz::{AuthContext, TokenVerifier, UserDirectory};
use crossbar_envelope::{ApiError, ApiResult};
use crossbar_events::{Bus, InProcessBus};
use crossbar_office_hours::{AccountTimezones, OfficeHoursService, UserLookup};
use crossbar_schema::SchemaRegistry;

pub use config::Config;
pub use crossbar_envelope::envelope_middleware;

/// Every service of the embedded mode, wired together.
#[derive(Clone)]
pub struct Node {
    pub accounts: AccountsService,
    pub auth: AuthService,
    pub office_hours: OfficeHoursService,
    pub auth_context: AuthContext,
    pub bus: Arc<dyn Bus>,
    databases: Vec<(&'static str, crossbar_crud::db::Db)>,
}

impl Node {
    /// Connects, migrates and starts every service (embedded mode: in-process bus).
    pub async fn start(config: &Config) -> Result<Self, String> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
        }
        let schemas = Arc::new(SchemaRegistry::load_embedded()?);
        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
        let accounts_db =
            crossbar_crud::db::connect(&config.service_database_url("accounts"), "accounts")
                .await
                .map_err(|e| format!("accounts database: {e}"))?;
        let auth_db = crossbar_crud::db::connect(&config.service_database_url("auth"), "auth")
            .await
            .map_err(|e| format!("auth database: {e}"))?;
        let office_hours_db = crossbar_crud::db::connect(
            &config.service_database_url("office_hours"),
            "office_hours",
        )
        .await
        .map_err(|e| format!("office_hours database: {e}"))?;
        let accounts = AccountsService::start(
            accounts_db.clone(),
            bus.clone(),
            schemas.clone(),
            AccountsConfig {
                realm_suffix: config.realm_suffix.clone(),
                default_timezone: config.default_timezone.clone(),
            },
        )
        .await?;
        let directory = accounts.directory();
        let verifier = Arc::new(TokenVerifier::new());
        let auth = AuthService::start(
            auth_db.write.clone(),
            bus.clone(),
            directory.clone(),
            verifier.clone(),
            AuthConfig {
                token_lifetime_secs: config.token_lifetime_secs,
                ..AuthConfig::default()
            },
        )
        .await?;
        let office_hours = OfficeHoursService::start(
            office_hours_db.clone(),
            bus.clone(),
            schemas,
            Arc::new(DirectoryUsers(directory.clone())),
        )
        .await?
        .with_timezones(Arc::new(AccountsTimezones(accounts.store.clone())));
        Ok(Self {
            accounts,
            auth,
            office_hours,
            auth_context: AuthContext {
                verifier,
                directory,
            },
            bus,
            databases: vec![
                ("accounts", accounts_db),
                ("auth", auth_db),
                ("office_hours", office_hours_db),
            ],
        })
    }

    /// Runs every service's migrations (the `migrate` command).
    pub async fn migrate(config: &Config) -> Result<(), String> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
        }
        let accounts_db =
            crossbar_crud::db::connect(&config.service_database_url("accounts"), "accounts")
                .await
                .map_err(|e| e.to_string())?;
        AccountsService::migrate(&accounts_db.write)
            .await
            .map_err(|e| e.to_string())?;
        let auth_db = crossbar_crud::db::connect(&config.service_database_url("auth"), "auth")
            .await
            .map_err(|e| e.to_string())?;
        AuthService::migrate(&auth_db.write)
            .await
            .map_err(|e| e.to_string())?;
        let office_hours_db = crossbar_crud::db::connect(
            &config.service_database_url("office_hours"),
            "office_hours",
        )
        .await
        .map_err(|e| e.to_string())?;
        OfficeHoursService::migrate(&office_hours_db.write)
            .await
            .map_err(|e| e.to_string())
    }

    /// Registers app data, every route and the fallbacks.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.auth_context.clone()))
            .app_data(web::Data::new(self.clone()))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz));
        self.auth.configure(cfg);
        self.accounts.configure(cfg);
        self.office_hours.configure(cfg);
    }

    /// Checks every database this process uses.
    pub async fn ready(&self) -> Vec<(&'static str, Result<(), String>)> {
        let mut out = Vec::new();
        for (name, db) in &self.databases {
            let result = match db.write.ping().await {
                Ok(()) => db.read.ping().await,
                Err(e) => Err(e),
            };
            out.push((*name, result.map_err(|e| e.to_string())));
        }
        out
    }
}

/// The office-hours service's view of users: the accounts service's directory.
struct DirectoryUsers(Arc<Directory>);

#[async_trait]
impl UserLookup for DirectoryUsers {
    async fn user_exists(&self, account_id: &str, user_id: &str) -> Result<bool, ApiError> {
        Ok(self.0.user(account_id, user_id).await?.is_some())
    }
}

/// The office-hours service's view of account time zones: the account document's
/// `timezone`, read from the accounts store (a direct lookup; no projection kept).
struct AccountsTimezones(crossbar_accounts::store::AccountStore);

#[async_trait]
impl AccountTimezones for AccountsTimezones {
    async fn timezone(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        let Some(account) = self.0.get(account_id).await? else {
            return Ok(None);
        };
        let doc: serde_json::Value = serde_json::from_str(&account.doc)
            .map_err(|e| ApiError::internal(format!("account {account_id} document: {e}")))?;
        Ok(doc
            .get("timezone")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string))
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(node: web::Data<Node>) -> HttpResponse {
    let checks = node.ready().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let body: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, r)| {
            (
                format!("database.{name}"),
                serde_json::Value::String(match r {
                    Ok(()) => "ok".into(),
                    Err(e) => e,
                }),
            )
        })
        .chain(std::iter::once((
            "bus".to_string(),
            serde_json::Value::String("ok (in-process)".into()),
        )))
        .collect();
    let status = if ok { "ready" } else { "not_ready" };
    let payload = serde_json::json!({"status": status, "checks": body});
    if ok {
        HttpResponse::Ok().json(payload)
    } else {
        HttpResponse::ServiceUnavailable().json(payload)
    }
}

/// 404 in Kazoo's shape for paths no service serves.
pub async fn not_found() -> ApiResult {
    Err(ApiError::NotFound)
}

/// Builds the whole app for `node` (used by `serve` and by the HTTP tests).
#[macro_export]
macro_rules! crossbar_app {
    ($node:expr) => {{
        let node = $node.clone();
        actix_web::App::new()
            .wrap(actix_web::middleware::from_fn($crate::envelope_middleware))
            // `/v2/accounts/{A}/` and `//` reach the same resource as the clean path.
            .wrap(actix_web::middleware::NormalizePath::trim())
            .configure(move |cfg| node.configure(cfg))
            .default_service(actix_web::web::to($crate::not_found))
    }};
}

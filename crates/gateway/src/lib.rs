//! The `crossbar` host: builds the services of this process and the app around them.

pub mod config;
pub mod discovery;
pub mod proxy;
pub mod shutdown;

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use async_trait::async_trait;
use crossbar_accounts::projection::{AccountProjection, DEFAULT_MAX_AGE};
use crossbar_accounts::{AccountsConfig, AccountsService, Directory};
use crossbar_auth::{AuthConfig, AuthService};
use crossbar_authz::{AccountDirectory, AuthContext, TokenVerifier, UserDirectory};
use crossbar_callflows::CallflowsService;
use crossbar_crud::api::RouteCatalog;
use crossbar_crud::{Doc, Endpoint, Payload};
use crossbar_envelope::{ApiError, ApiResult};
use crossbar_events::{Bus, InProcessBus, NatsBus};
use crossbar_numbers::NumbersService;
use crossbar_office_hours::{OfficeHoursService, UserLookup};
use crossbar_schema::SchemaRegistry;

pub use config::Config;
pub use crossbar_envelope::envelope_middleware;
pub use crossbar_telemetry::telemetry_middleware;

/// The services a process can host, by the name `--services` takes.
pub const ALL_SERVICES: [&str; 5] = ["auth", "accounts", "office_hours", "numbers", "callflows"];

/// The services of one process, wired together: all of them in the embedded mode,
/// any subset in the distributed mode (the others are reached over the bus).
#[derive(Clone)]
pub struct Node {
    pub accounts: Option<AccountsService>,
    pub auth: Option<AuthService>,
    pub office_hours: Option<OfficeHoursService>,
    pub numbers: Option<NumbersService>,
    pub callflows: Option<CallflowsService>,
    pub auth_context: AuthContext,
    pub bus: Arc<dyn Bus>,
    pub schemas: Arc<SchemaRegistry>,
    /// Origins browsers may call from (CORS).
    pub cors_allowed_origins: Vec<String>,
    /// What this process serves (the source of its OpenAPI document).
    pub catalog: RouteCatalog,
    databases: Vec<(&'static str, crossbar_crud::db::Db)>,
}

impl Node {
    /// Connects, migrates and starts the configured services (embedded: every
    /// service on the in-process bus).
    pub async fn start(config: &Config) -> Result<Self, String> {
        let services = config.hosted_services()?;
        let bus: Arc<dyn Bus> = match config.nats_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                // Replicas hosting the same services share their durable consumers.
                let label = if services.len() == ALL_SERVICES.len() {
                    "all".to_string()
                } else {
                    services.join("+")
                };
                let bus = NatsBus::connect(url, config.nats_options(label))
                    .await
                    .map_err(|e| format!("NATS at {url}: {e}"))?;
                Arc::new(bus)
            }
            None if services.len() < ALL_SERVICES.len() => {
                return Err(
                    "hosting a subset of the services needs a shared bus (CROSSBAR_NATS_URL)"
                        .into(),
                )
            }
            None => Arc::new(InProcessBus::new()),
        };
        Self::start_with_bus(config, &services, bus).await
    }

    /// Starts `services` on `bus`; what is not hosted here is asked over the bus.
    pub async fn start_with_bus(
        config: &Config,
        services: &[String],
        bus: Arc<dyn Bus>,
    ) -> Result<Self, String> {
        ensure_data_dir(config)?;
        crossbar_telemetry::metrics::install();
        let hosts = |name: &str| services.iter().any(|s| s == name);
        let schemas = Arc::new(SchemaRegistry::load_embedded()?);
        let mut databases = Vec::new();

        let accounts = if hosts("accounts") {
            let db = connect(config, "accounts").await?;
            databases.push(("accounts", db.clone()));
            let service = AccountsService::start(
                db,
                bus.clone(),
                schemas.clone(),
                AccountsConfig {
                    realm_suffix: config.realm_suffix.clone(),
                    default_timezone: config.default_timezone.clone(),
                },
            )
            .await?;
            Some(service)
        } else {
            None
        };
        // The directory: the local accounts store, or the accounts service over the bus.
        let (account_directory, user_directory): (
            Arc<dyn AccountDirectory>,
            Arc<dyn UserDirectory>,
        ) = match &accounts {
            Some(service) => {
                let local: Arc<Directory> = service.directory();
                (local.clone(), local)
            }
            None => {
                let projection = AccountProjection::start(bus.clone(), DEFAULT_MAX_AGE).await;
                (projection.clone(), projection)
            }
        };
        let verifier = Arc::new(TokenVerifier::new());
        let auth = if hosts("auth") {
            let db = connect(config, "auth").await?;
            databases.push(("auth", db.clone()));
            Some(
                AuthService::start(
                    db.write,
                    bus.clone(),
                    user_directory.clone(),
                    verifier.clone(),
                    AuthConfig {
                        token_lifetime_secs: config.token_lifetime_secs,
                        jwt_key_file: config.jwt_key_file.clone(),
                        ..AuthConfig::default()
                    },
                )
                .await?,
            )
        } else {
            crossbar_auth::remote::join_verification(bus.clone(), verifier.clone()).await;
            None
        };
        let office_hours = if hosts("office_hours") {
            let db = connect(config, "office_hours").await?;
            databases.push(("office_hours", db.clone()));
            Some(
                OfficeHoursService::start(
                    db,
                    bus.clone(),
                    schemas.clone(),
                    Arc::new(DirectoryUsers(user_directory.clone())),
                )
                .await?,
            )
        } else {
            None
        };
        let numbers = if hosts("numbers") {
            let db = connect(config, "numbers").await?;
            databases.push(("numbers", db.clone()));
            Some(NumbersService::start(db, bus.clone(), schemas.clone()).await?)
        } else {
            None
        };
        let callflows = if hosts("callflows") {
            let db = connect(config, "callflows").await?;
            databases.push(("callflows", db.clone()));
            Some(
                CallflowsService::start(
                    db,
                    bus.clone(),
                    schemas.clone(),
                    account_directory.clone(),
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Self {
            accounts,
            auth,
            office_hours,
            numbers,
            callflows,
            auth_context: AuthContext {
                verifier,
                directory: account_directory,
            },
            bus,
            schemas,
            cors_allowed_origins: config.cors_allowed_origins.clone(),
            catalog: RouteCatalog::new(),
            databases,
        })
    }

    /// Runs every service's migrations (the `migrate` command).
    pub async fn migrate(config: &Config) -> Result<(), String> {
        ensure_data_dir(config)?;
        let e = |e: sea_orm::DbErr| e.to_string();
        AccountsService::migrate(&connect(config, "accounts").await?.write)
            .await
            .map_err(e)?;
        AuthService::migrate(&connect(config, "auth").await?.write)
            .await
            .map_err(e)?;
        OfficeHoursService::migrate(&connect(config, "office_hours").await?.write)
            .await
            .map_err(e)?;
        NumbersService::migrate(&connect(config, "numbers").await?.write)
            .await
            .map_err(e)?;
        CallflowsService::migrate(&connect(config, "callflows").await?.write)
            .await
            .map_err(e)
    }

    /// Registers app data, every route and the fallbacks.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        self.catalog.collect(|| self.configure_routes(cfg));
    }

    fn configure_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.auth_context.clone()))
            .app_data(web::Data::new(self.clone()));
        let plain = |summary: &str, media: &str| {
            Doc::read(summary)
                .public()
                .response(Payload::Plain(media.to_string()))
        };
        Endpoint::new("/healthz", OPERATIONS_TAG)
            .get(healthz, plain("Liveness", "application/json"))
            .register(cfg);
        Endpoint::new("/readyz", OPERATIONS_TAG)
            .get(
                readyz,
                plain(
                    "Readiness of every dependency (503 when one is down)",
                    "application/json",
                ),
            )
            .register(cfg);
        Endpoint::new("/metrics", OPERATIONS_TAG)
            .get(metrics, plain("Prometheus metrics", "text/plain"))
            .register(cfg);
        Endpoint::new("/v2/openapi.json", OPERATIONS_TAG)
            .get(
                openapi,
                plain("This document (OpenAPI 3.1)", "application/json"),
            )
            .register(cfg);
        Endpoint::new("/v2/docs", OPERATIONS_TAG)
            .get(api_docs, plain("The API documentation page", "text/html"))
            .register(cfg);
        if let Some(auth) = &self.auth {
            auth.configure(cfg);
        }
        if let Some(accounts) = &self.accounts {
            accounts.configure(cfg);
        }
        if let Some(office_hours) = &self.office_hours {
            office_hours.configure(cfg);
        }
        if let Some(numbers) = &self.numbers {
            numbers.configure(cfg);
        }
        if let Some(callflows) = &self.callflows {
            callflows.configure(cfg);
        }
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

fn ensure_data_dir(config: &Config) -> Result<(), String> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    }
    Ok(())
}

/// The database of one service (a SQLite file, or a PostgreSQL schema).
async fn connect(config: &Config, service: &str) -> Result<crossbar_crud::db::Db, String> {
    crossbar_crud::db::connect(&config.service_database_url(service), service)
        .await
        .map_err(|e| format!("{service} database: {e}"))
}

/// The office-hours service's view of users: the directory (local or remote).
struct DirectoryUsers(Arc<dyn UserDirectory>);

#[async_trait]
impl UserLookup for DirectoryUsers {
    async fn user_exists(&self, account_id: &str, user_id: &str) -> Result<bool, ApiError> {
        Ok(self.0.user(account_id, user_id).await?.is_some())
    }
}

/// Prometheus exposition: the counters and histograms recorded as things happen, plus
/// gauges sampled now (pool connections, outbox backlogs).
async fn metrics(node: web::Data<Node>) -> HttpResponse {
    use crossbar_telemetry::metrics::{CONSUMER_LAG, DB_POOL, OUTBOX_BACKLOG};
    for (service, db) in &node.databases {
        let (open, idle) = crossbar_crud::db::pool_stats(&db.write);
        let (read_open, read_idle) = crossbar_crud::db::pool_stats(&db.read);
        // On PostgreSQL `read` is the same pool as `write`.
        let shared = sea_orm::ConnectionTrait::get_database_backend(&db.write)
            == sea_orm::DatabaseBackend::Postgres;
        let (open, idle) = if shared {
            (open, idle)
        } else {
            (open + read_open, idle + read_idle)
        };
        let in_use = f64::from(open) - idle as f64;
        metrics::gauge!(DB_POOL, "service" => *service, "state" => "in_use").set(in_use.max(0.0));
        metrics::gauge!(DB_POOL, "service" => *service, "state" => "idle").set(idle as f64);
        match crossbar_events::outbox::backlog(&db.write).await {
            Ok(backlog) => {
                metrics::gauge!(OUTBOX_BACKLOG, "service" => *service).set(backlog as f64)
            }
            Err(error) => tracing::warn!(service, %error, "outbox backlog unavailable"),
        }
    }
    // Consumer names are per service and handler type (bounded), never ids.
    for (consumer, lag) in node.bus.consumer_lag().await {
        metrics::gauge!(CONSUMER_LAG, "consumer" => consumer).set(lag as f64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crossbar_telemetry::metrics::render())
}

/// OpenAPI tag of the process's own endpoints.
const OPERATIONS_TAG: &str = "operations";

/// The OpenAPI document of every route this process registered.
async fn openapi(node: web::Data<Node>) -> HttpResponse {
    let document = crossbar_openapi::document(&node.catalog.operations(), &node.schemas);
    HttpResponse::Ok().json(document)
}

async fn api_docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crossbar_openapi::docs_page("/v2/openapi.json"))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(node: web::Data<Node>) -> HttpResponse {
    let checks = node.ready().await;
    let bus = node.bus.ready().await.map_err(|e| e.to_string());
    let ok = checks.iter().all(|(_, r)| r.is_ok()) && bus.is_ok();
    let body: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, r)| (format!("database.{name}"), r))
        .chain(std::iter::once(("bus".to_string(), bus)))
        .map(|(name, r)| {
            (
                name,
                serde_json::Value::String(match r {
                    Ok(()) => "ok".into(),
                    Err(e) => e,
                }),
            )
        })
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
            // Innermost: sees the request id the envelope middleware assigns.
            .wrap(actix_web::middleware::from_fn($crate::telemetry_middleware))
            .wrap(actix_web::middleware::from_fn($crate::envelope_middleware))
            .wrap($crate::proxy::cors(&node.cors_allowed_origins))
            // `/v2/accounts/{A}/` and `//` reach the same resource as the clean path.
            .wrap(actix_web::middleware::NormalizePath::trim())
            .configure(move |cfg| node.configure(cfg))
            .default_service(actix_web::web::to($crate::not_found))
    }};
}

/// Builds the gateway app (used by `crossbar gateway` and by the tests).
#[macro_export]
macro_rules! gateway_app {
    ($gateway:expr) => {{
        let gateway = $gateway.clone();
        let origins = gateway.settings.cors_allowed_origins.clone();
        actix_web::App::new()
            .wrap(actix_web::middleware::from_fn($crate::telemetry_middleware))
            .wrap(actix_web::middleware::from_fn($crate::envelope_middleware))
            .wrap($crate::proxy::cors(&origins))
            .configure(move |cfg| $crate::proxy::configure(&gateway, cfg))
    }};
}

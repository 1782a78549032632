//! `crossbar`: the Kazoo Crossbar-compatible REST API server.

use std::time::Duration;

use actix_web::{web, HttpServer};
use clap::{Parser, Subcommand};
use crossbar_gateway::{crossbar_app, shutdown, Config, Node};

#[derive(Parser)]
#[command(
    name = "crossbar",
    version,
    about = "Kazoo Crossbar-compatible REST API (/v2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default). On an empty store, create the master account
    /// and print its admin login once.
    Serve {
        /// Host only these services (comma-separated: auth, accounts, office_hours,
        /// numbers, callflows; default all). A subset needs CROSSBAR_NATS_URL.
        #[arg(long)]
        services: Option<String>,
    },
    /// Create the master account and its admin user on an empty store; prints JSON.
    CreateAccount {
        #[arg(long)]
        name: String,
        #[arg(long)]
        realm: Option<String>,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// Run every service's database migrations and exit.
    Migrate,
    /// Run the gateway: route `/v2` to the services' replicas (`CROSSBAR_UPSTREAMS`).
    Gateway,
    /// Number inventory.
    Numbers {
        #[command(subcommand)]
        command: NumbersCommand,
    },
    /// Token signing keys of the auth service.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key to the auth database: it signs from now on, older keys
    /// keep verifying until their tokens have expired (a rotation retires keys
    /// superseded more than the token lifetime + 10 min ago). With CROSSBAR_NATS_URL
    /// the rotation is announced to every process at once; without it (embedded mode)
    /// the running server's outbox relay announces it within seconds. Prints JSON.
    Rotate,
}

#[derive(Subcommand)]
enum NumbersCommand {
    /// Load inventory numbers from a CSV file (header row with a `number` column;
    /// other columns are kept as locality) as `available`; prints a JSON summary.
    Import { file: std::path::PathBuf },
}

fn random_password() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crossbar: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let cli = Cli::parse();
    let config = Config::load()?;
    crossbar_telemetry::logging::init(&config.log_format);
    match cli.command.unwrap_or(Command::Serve { services: None }) {
        Command::Migrate => {
            Node::migrate(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAccount {
            name,
            realm,
            username,
            password,
        } => {
            let node = Node::start(&config).await?;
            let created = node
                .accounts
                .as_ref()
                .ok_or("create-account needs the accounts service")?
                .bootstrap_master(&name, realm.as_deref(), &username, &password)
                .await
                .map_err(|e| format!("create-account: {}", e.data()))?;
            println!(
                "{}",
                serde_json::json!({
                    "account_id": created.account_id,
                    "owner_id": created.user_id,
                    "account_name": name,
                    "username": username.to_lowercase(),
                })
            );
            Ok(())
        }
        Command::Numbers {
            command: NumbersCommand::Import { file },
        } => {
            let node = Node::start(&config).await?;
            let summary = node
                .numbers
                .as_ref()
                .ok_or("numbers import needs the numbers service")?
                .import_csv_file(&file)
                .await?;
            println!("{summary}");
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let db = crossbar_crud::db::connect(&config.service_database_url("auth"), "auth")
                .await
                .map_err(|e| format!("auth database: {e}"))?;
            crossbar_auth::AuthService::migrate(&db.write)
                .await
                .map_err(|e| e.to_string())?;
            let outbox = match config.nats_url.as_deref().filter(|u| !u.trim().is_empty()) {
                Some(url) => {
                    let bus =
                        crossbar_events::NatsBus::connect(url, config.nats_options("keys-rotate"))
                            .await
                            .map_err(|e| format!("NATS at {url}: {e}"))?;
                    Some(crossbar_events::Outbox::new(
                        db.write.clone(),
                        std::sync::Arc::new(bus),
                    ))
                }
                None => None,
            };
            let rotation =
                crossbar_auth::keys::rotate(&db.write, outbox.as_ref(), config.token_lifetime_secs)
                    .await?;
            println!(
                "{}",
                serde_json::json!({
                    "kid": rotation.kid,
                    "keys": rotation.keys,
                    "retired": rotation.retired,
                    "published": rotation.published,
                })
            );
            Ok(())
        }
        Command::Serve { services } => {
            let mut config = config;
            if let Some(services) = services {
                config.services = services;
            }
            serve(config).await
        }
        Command::Gateway => gateway(config).await,
    }
}

async fn gateway(config: Config) -> Result<(), String> {
    let settings = config.gateway_settings()?;
    crossbar_telemetry::metrics::install();
    let gateway = crossbar_gateway::proxy::Gateway::new(settings);
    crossbar_gateway::proxy::spawn_route_refresher(gateway.clone());
    tracing::info!(listen = %config.listen, services = ?gateway.settings.upstreams.keys().collect::<Vec<_>>(), "crossbar gateway listening");
    let server = HttpServer::new(move || crossbar_gateway::gateway_app!(gateway))
        .bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    run_until_stopped(server.run()).await
}

/// Serves until the server stops, then flushes spans still buffered for OTLP export.
async fn run_until_stopped(server: actix_web::dev::Server) -> Result<(), String> {
    let served = server.await.map_err(|e| e.to_string());
    crossbar_telemetry::logging::shutdown();
    served
}

async fn serve(config: Config) -> Result<(), String> {
    let node = Node::start(&config).await?;
    // Only the process hosting the accounts service bootstraps the master account.
    let mut accounts_to_bootstrap = None;
    if let Some(accounts) = &node.accounts {
        if accounts.is_empty().await.map_err(|e| e.to_string())? {
            accounts_to_bootstrap = Some(accounts);
        }
    }
    if let Some(accounts) = accounts_to_bootstrap {
        let password = random_password();
        let created = accounts
            .bootstrap_master("Master Account", None, "admin", &password)
            .await
            .map_err(|e| format!("bootstrap: {}", e.data()))?;
        println!("Created the master account. Log in with (shown once):");
        println!("  account_name: Master Account");
        println!("  account_id:   {}", created.account_id);
        println!("  username:     admin");
        println!("  password:     {password}");
        println!("  credentials:  md5(\"admin:{password}\")");
    }
    tracing::info!(listen = %config.listen, "crossbar listening");
    let app_node = node.clone();
    let drain = shutdown::Drain::default();
    let app_drain = web::Data::new(drain.clone());
    let server = HttpServer::new(move || {
        crossbar_app!(app_node)
            .app_data(app_drain.clone())
            .wrap(actix_web::middleware::from_fn(shutdown::drain_middleware))
    })
    // The drain (shutdown.rs) replaces actix's own signal handling.
    .disable_signals()
    .shutdown_timeout(20)
    .bind(&config.listen)
    .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?
    .run();
    tokio::spawn(shutdown::stop_on_signal(
        server.handle(),
        drain,
        Duration::from_secs(config.shutdown_drain_secs),
    ));
    run_until_stopped(server).await
}

//! Configuration: defaults < optional TOML file (`CROSSBAR_CONFIG`) < `CROSSBAR_*`
//! environment, validated at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the embedded SQLite files live.
    pub data_dir: PathBuf,
    /// Overrides the per-service SQLite files: `sqlite://...` or `postgres://...`.
    pub database_url: Option<String>,
    /// Token lifetime in seconds.
    pub token_lifetime_secs: i64,
    /// Suffix of generated account realms.
    pub realm_suffix: String,
    /// Time zone given to accounts created without one.
    pub default_timezone: String,
    /// Log format: "text" or "json".
    pub log_format: String,
    /// Origins browsers may call the API from (CORS; `*`: any).
    pub cors_allowed_origins: Vec<String>,
    /// `crossbar gateway`: service name → base URLs of its replicas, e.g.
    /// `CROSSBAR_UPSTREAMS='{accounts=["http://10.0.0.5:8000"], auth=["http://10.0.0.6:8000"]}'`.
    pub upstreams: std::collections::BTreeMap<String, Vec<String>>,
    /// `crossbar gateway`: largest request body forwarded.
    pub gateway_body_limit_bytes: usize,
    /// `crossbar gateway`: how long one upstream attempt may take.
    pub gateway_timeout_secs: u64,
    /// Services this process hosts: `all`, or a comma-separated list of
    /// auth, accounts, office_hours, numbers, callflows.
    pub services: String,
    /// NATS server(s) of the distributed mode (JetStream enabled).
    pub nats_url: Option<String>,
    /// Deliveries of one event to a service's consumer before it is given up on and
    /// published to `deadletter.<subject>` (stream `CROSSBAR_DEADLETTER`).
    pub nats_max_deliver: u32,
    /// Waits before the 2nd, 3rd, ... delivery of an event a consumer failed on, in
    /// milliseconds (the last one repeats), e.g. `CROSSBAR_NATS_RETRY_BACKOFF_MS=[1000,5000]`.
    pub nats_retry_backoff_ms: Vec<u64>,
    /// On SIGTERM: seconds the server keeps answering (with `Connection: close`, and
    /// 503 on `/readyz`) before it stops listening, so the gateway and load balancers
    /// stop sending it requests without any being cut off. Ctrl-C stops at once.
    pub shutdown_drain_secs: u64,
    /// The auth service's token signing key as a file (Ed25519 private key, PKCS#8 PEM
    /// as `openssl genpkey -algorithm ed25519` writes it; on Kubernetes the Secret
    /// `crossbar-jwt`). Stored as the newest key at start unless already stored; a new
    /// file is a rotation. Unset: the key is generated and kept in the auth database.
    pub jwt_key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8000".into(),
            data_dir: PathBuf::from("./crossbar-data"),
            database_url: None,
            token_lifetime_secs: 3600,
            realm_suffix: "sip.2600hz.com".into(),
            default_timezone: "America/Los_Angeles".into(),
            log_format: "text".into(),
            cors_allowed_origins: vec!["*".into()],
            upstreams: std::collections::BTreeMap::new(),
            gateway_body_limit_bytes: 16 * 1024 * 1024,
            gateway_timeout_secs: 30,
            services: "all".into(),
            nats_url: None,
            nats_max_deliver: 5,
            nats_retry_backoff_ms: vec![1_000, 5_000, 30_000],
            shutdown_drain_secs: 5,
            jwt_key_file: None,
        }
    }
}

impl Config {
    pub fn load() -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("CROSSBAR_CONFIG") {
            figment = figment.merge(Toml::file(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("CROSSBAR_").ignore(&["config"]))
            .extract()
            .map_err(|e| format!("configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|e| format!("CROSSBAR_LISTEN '{}': {e}", self.listen))?;
        if self.token_lifetime_secs < 60 {
            return Err("CROSSBAR_TOKEN_LIFETIME_SECS must be at least 60".into());
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(format!(
                    "CROSSBAR_DATABASE_URL must be sqlite:// or postgres://, got '{url}'"
                ));
            }
        }
        if self.nats_max_deliver == 0 {
            return Err("CROSSBAR_NATS_MAX_DELIVER must be at least 1".into());
        }
        if self.nats_retry_backoff_ms.is_empty() {
            return Err(
                "CROSSBAR_NATS_RETRY_BACKOFF_MS needs at least one wait, e.g. [1000,5000]".into(),
            );
        }
        Ok(())
    }

    /// The NATS bus settings of a process labelled `service` (its durable consumers'
    /// name).
    pub fn nats_options(&self, service: impl Into<String>) -> crossbar_events::NatsOptions {
        let mut options = crossbar_events::NatsOptions::new(service);
        options.max_deliver = self.nats_max_deliver;
        options.retry_backoff = self
            .nats_retry_backoff_ms
            .iter()
            .map(|ms| std::time::Duration::from_millis(*ms))
            .collect();
        options
    }

    /// The services this process hosts (validated names, in start order).
    pub fn hosted_services(&self) -> Result<Vec<String>, String> {
        let wanted: Vec<String> = self
            .services
            .split(',')
            .map(|s| s.trim().replace('-', "_"))
            .filter(|s| !s.is_empty())
            .collect();
        if wanted.iter().any(|s| s == "all") || wanted.is_empty() {
            return Ok(crate::ALL_SERVICES.iter().map(|s| s.to_string()).collect());
        }
        for name in &wanted {
            if !crate::ALL_SERVICES.contains(&name.as_str()) {
                return Err(format!(
                    "unknown service '{name}' (services: {})",
                    crate::ALL_SERVICES.join(", ")
                ));
            }
        }
        Ok(crate::ALL_SERVICES
            .iter()
            .filter(|s| wanted.iter().any(|w| w == *s))
            .map(|s| s.to_string())
            .collect())
    }

    /// The gateway's settings (`crossbar gateway`).
    pub fn gateway_settings(&self) -> Result<crate::proxy::GatewaySettings, String> {
        if self.upstreams.is_empty() {
            return Err(
                "crossbar gateway needs CROSSBAR_UPSTREAMS (service -> replica URLs)".into(),
            );
        }
        for (service, replicas) in &self.upstreams {
            if replicas.is_empty() {
                return Err(format!("upstream {service} has no replicas"));
            }
            for url in replicas {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("upstream {service}: '{url}' is not an http(s) URL"));
                }
            }
        }
        Ok(crate::proxy::GatewaySettings {
            upstreams: self.upstreams.clone(),
            body_limit_bytes: self.gateway_body_limit_bytes,
            upstream_timeout: std::time::Duration::from_secs(self.gateway_timeout_secs.max(1)),
            cors_allowed_origins: self.cors_allowed_origins.clone(),
        })
    }

    /// The database URL of one service: its own SQLite file, or the shared
    /// PostgreSQL database (each service in its own schema).
    pub fn service_database_url(&self, service: &str) -> String {
        match &self.database_url {
            Some(url) if url.starts_with("sqlite:") => {
                let (base, query) = url.split_once('?').unwrap_or((url.as_str(), "mode=rwc"));
                let base = base.trim_end_matches(".sqlite").trim_end_matches(".db");
                format!("{base}-{service}.sqlite?{query}")
            }
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}/{service}.sqlite?mode=rwc",
                self.data_dir.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls() {
        let mut c = Config::default();
        assert_eq!(
            c.service_database_url("auth"),
            "sqlite://./crossbar-data/auth.sqlite?mode=rwc"
        );
        c.database_url = Some("postgres://u@h/db".into());
        assert_eq!(c.service_database_url("auth"), "postgres://u@h/db");
        c.database_url = Some("sqlite:///tmp/x.sqlite".into());
        assert_eq!(
            c.service_database_url("auth"),
            "sqlite:///tmp/x-auth.sqlite?mode=rwc"
        );
    }

    #[test]
    fn rejects_bad_listen() {
        let c = Config {
            listen: "nope".into(),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn event_retries_are_configurable_and_checked() {
        let c: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(
                "nats_max_deliver = 3\nnats_retry_backoff_ms = [200, 500]",
            ))
            .extract()
            .unwrap();
        c.validate().unwrap();
        let options = c.nats_options("numbers");
        assert_eq!(options.service, "numbers");
        assert_eq!(options.max_deliver, 3);
        assert_eq!(
            options.retry_backoff,
            vec![
                std::time::Duration::from_millis(200),
                std::time::Duration::from_millis(500)
            ]
        );
        for bad in [
            Config {
                nats_max_deliver: 0,
                ..Config::default()
            },
            Config {
                nats_retry_backoff_ms: Vec::new(),
                ..Config::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
        let defaults = Config::default().nats_options("all");
        assert_eq!(defaults.max_deliver, 5);
        assert_eq!(defaults.retry_backoff.len(), 3);
    }
}

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
        Ok(())
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
}

//! Per-replica addresses of the gateway's upstreams.
//!
//! A configured base URL whose host is a DNS name (`http://crossbar-auth-pods:8000`) is
//! resolved every [`DISCOVERY_INTERVAL`] to all its addresses, and the service's replicas
//! are then one URL per address (same scheme, port and path prefix), so the gateway
//! balances requests over them itself. For a Kubernetes ClusterIP Service that is its
//! one virtual IP (kube-proxy balances connections); for a headless Service
//! (`clusterIP: None`) it is every ready pod (a draining replica answers 503 on
//! `/readyz`, so it leaves DNS while it drains).
//!
//! Used as given: IP literals, `localhost`, `https` URLs (the certificate names the host,
//! not the address) and anything that does not parse. When a name does not resolve, or
//! resolves to nothing, the last addresses it had are kept (a warning at most once a
//! minute); before its first resolution the URL is used as given.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the names are resolved again.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

/// How often one failing name is warned about.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Resolves a host name to its addresses (a fake one in tests).
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo`, through tokio's `lookup_host`).
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .map(|addr| addr.ip())
            .collect())
    }
}

/// A configured base URL whose host is a name to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    scheme: String,
    pub host: String,
    pub port: u16,
    /// The path prefix, as configured (`""` or `/prefix`).
    path: String,
}

impl Target {
    /// `Some` when `url` is `http://NAME[:PORT][/PATH]` with a DNS name (not an IP
    /// literal, not `localhost`, no user info); `None`: the URL is used as given.
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        if !scheme.eq_ignore_ascii_case("http") {
            return None;
        }
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.contains('@') || authority.starts_with('[') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok()?),
            None => (authority, 80),
        };
        if host.is_empty()
            || host.parse::<IpAddr>().is_ok()
            || host.eq_ignore_ascii_case("localhost")
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return None;
        }
        Some(Self {
            scheme: scheme.to_string(),
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The base URL of the replica at `ip`.
    pub fn at(&self, ip: IpAddr) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            SocketAddr::new(ip, self.port),
            self.path
        )
    }

    /// One base URL per resolved address (deduplicated, sorted so that the order, and
    /// so the round-robin, stays stable between resolutions); `None` when there is none.
    pub fn expand(&self, addresses: &[IpAddr]) -> Option<Vec<String>> {
        let mut addresses = addresses.to_vec();
        addresses.sort();
        addresses.dedup();
        (!addresses.is_empty()).then(|| addresses.into_iter().map(|ip| self.at(ip)).collect())
    }
}

/// What one configured URL resolved to last.
#[derive(Default)]
struct Known {
    replicas: Option<Vec<String>>,
    last_warning: Option<Instant>,
}

/// Resolves the configured URLs and remembers the last answer of each.
pub struct Discovery {
    resolver: Arc<dyn Resolve>,
    known: Mutex<HashMap<String, Known>>,
}

impl Discovery {
    pub fn new(resolver: Arc<dyn Resolve>) -> Self {
        Self {
            resolver,
            known: Mutex::default(),
        }
    }

    /// Whether any configured URL is a name to resolve.
    pub fn has_names(upstreams: &BTreeMap<String, Vec<String>>) -> bool {
        upstreams
            .values()
            .flatten()
            .any(|url| Target::parse(url).is_some())
    }

    /// Each service's replicas: the configured URLs, names replaced by one URL per
    /// address (the last known ones when a resolution fails; the URL as given before
    /// the first success), without duplicates.
    pub async fn resolve(
        &self,
        upstreams: &BTreeMap<String, Vec<String>>,
    ) -> BTreeMap<String, Vec<String>> {
        // Every name at once: one slow name does not hold the others back.
        let lookups = upstreams.values().flatten().filter_map(|url| {
            let target = Target::parse(url)?;
            let resolver = self.resolver.clone();
            Some(async move {
                let answer = resolver.lookup(&target.host, target.port).await;
                (url.clone(), target, answer)
            })
        });
        let answers = futures_util::future::join_all(lookups).await;
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        for (url, target, answer) in answers {
            let entry = known.entry(url.clone()).or_default();
            let reason = match answer {
                Ok(addresses) => match target.expand(&addresses) {
                    Some(replicas) => {
                        if entry.last_warning.take().is_some() {
                            tracing::info!(upstream = %url, replicas = replicas.len(), "gateway: upstream resolves again");
                        }
                        entry.replicas = Some(replicas);
                        continue;
                    }
                    None => "no address".to_string(),
                },
                Err(error) => error.to_string(),
            };
            if entry
                .last_warning
                .is_none_or(|at| at.elapsed() >= WARN_EVERY)
            {
                entry.last_warning = Some(Instant::now());
                tracing::warn!(upstream = %url, error = %reason, kept = ?entry.replicas, "gateway: upstream did not resolve; keeping its last known replicas");
            }
        }
        upstreams
            .iter()
            .map(|(service, urls)| {
                let mut replicas: Vec<String> = Vec::new();
                for url in urls {
                    let expanded = known.get(url).and_then(|k| k.replicas.as_deref());
                    for replica in expanded.unwrap_or(std::slice::from_ref(url)) {
                        if !replicas.contains(replica) {
                            replicas.push(replica.clone());
                        }
                    }
                }
                (service.clone(), replicas)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn only_http_names_are_resolved() {
        let t = Target::parse("http://crossbar-auth-pods:8000").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("crossbar-auth-pods", 8000));
        let t = Target::parse("http://auth.crossbar.svc.cluster.local/prefix").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port),
            ("auth.crossbar.svc.cluster.local", 80)
        );
        for given in [
            "http://127.0.0.1:8000",
            "http://10.1.2.3",
            "http://[::1]:8000",
            "http://localhost:8000",
            "http://LOCALHOST",
            "https://crossbar-auth:8443",
            "http://user@crossbar-auth:8000",
            "http://crossbar-auth:notaport",
            "crossbar-auth:8000",
            "http://:8000",
        ] {
            assert_eq!(Target::parse(given), None, "{given}");
        }
    }

    #[test]
    fn a_name_becomes_one_url_per_address_with_port_and_path_kept() {
        let t = Target::parse("http://crossbar-auth-pods:8000/base").unwrap();
        let addresses = [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 7)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        ];
        assert_eq!(
            t.expand(&addresses).unwrap(),
            [
                "http://10.0.0.2:8000/base",
                "http://10.0.0.9:8000/base",
                "http://[fd00::7]:8000/base"
            ]
        );
        assert_eq!(t.expand(&[]), None);
    }

    #[actix_web::test]
    async fn the_system_resolver_answers_inside_the_actix_runtime() {
        let addresses = SystemResolver.lookup("localhost", 80).await.unwrap();
        assert!(!addresses.is_empty());
        assert!(addresses.iter().all(IpAddr::is_loopback), "{addresses:?}");
    }

    /// Answers what the test last set for each name; an error when nothing is set.
    #[derive(Default)]
    struct Fake(Mutex<HashMap<String, Vec<IpAddr>>>);

    impl Fake {
        fn set(&self, host: &str, addresses: &[&str]) {
            self.0.lock().unwrap().insert(
                host.into(),
                addresses.iter().map(|a| a.parse().unwrap()).collect(),
            );
        }
        fn fail(&self, host: &str) {
            self.0.lock().unwrap().remove(host);
        }
    }

    #[async_trait::async_trait]
    impl Resolve for Arc<Fake> {
        async fn lookup(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
            self.0
                .lock()
                .unwrap()
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::other("NXDOMAIN"))
        }
    }

    #[actix_web::test]
    async fn literals_are_kept_names_expanded_and_failures_keep_the_last_set() {
        let fake = Arc::new(Fake::default());
        let discovery = Discovery::new(Arc::new(fake.clone()));
        let upstreams = BTreeMap::from([
            (
                "auth".to_string(),
                vec!["http://auth-pods:8000".to_string()],
            ),
            (
                "numbers".to_string(),
                vec![
                    "http://127.0.0.1:9000".to_string(),
                    "http://localhost:9001".to_string(),
                ],
            ),
        ]);
        assert!(Discovery::has_names(&upstreams));
        let numbers = ["http://127.0.0.1:9000", "http://localhost:9001"];

        // Not resolved yet: the URL as given.
        let r = discovery.resolve(&upstreams).await;
        assert_eq!(r["auth"], ["http://auth-pods:8000"]);
        assert_eq!(r["numbers"], numbers);

        fake.set("auth-pods", &["10.0.0.2", "10.0.0.1", "10.0.0.3"]);
        let r = discovery.resolve(&upstreams).await;
        assert_eq!(
            r["auth"],
            [
                "http://10.0.0.1:8000",
                "http://10.0.0.2:8000",
                "http://10.0.0.3:8000"
            ]
        );
        assert_eq!(r["numbers"], numbers);

        // A failure, then an empty answer: the last known set.
        fake.fail("auth-pods");
        let r = discovery.resolve(&upstreams).await;
        assert_eq!(r["auth"].len(), 3);
        fake.set("auth-pods", &[]);
        let r = discovery.resolve(&upstreams).await;
        assert_eq!(r["auth"].len(), 3);

        // A pod leaves.
        fake.set("auth-pods", &["10.0.0.3", "10.0.0.1"]);
        let r = discovery.resolve(&upstreams).await;
        assert_eq!(r["auth"], ["http://10.0.0.1:8000", "http://10.0.0.3:8000"]);

        assert!(!Discovery::has_names(&BTreeMap::from([(
            "x".to_string(),
            vec!["http://127.0.0.1:1".to_string()]
        )])));
    }
}

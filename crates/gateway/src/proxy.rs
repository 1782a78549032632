//! `crossbar gateway`: the front door of the distributed mode. It owns the route
//! table of `/v2` (learned from each service's own OpenAPI document, so it follows
//! what the services really serve), forwards each request to a replica of the owning
//! service with the request id and `traceparent`, balances replicas round-robin (one
//! replica per address a configured name resolves to: `discovery.rs`), retries only
//! when that is safe, limits body sizes, answers CORS, and speaks Kazoo's error
//! envelope when a service cannot answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use crossbar_envelope::{ApiError, RequestId};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::discovery::{Discovery, Resolve, SystemResolver, DISCOVERY_INTERVAL};

/// Headers that belong to one hop and are never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// `gateway_upstream_requests_total{service, outcome}`.
pub const METRIC_UPSTREAM: &str = "gateway_upstream_requests_total";

/// What the gateway needs to know.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Service name → base URLs of its replicas (`http://accounts-0:8000`); a URL
    /// whose host is a name stands for every address it resolves to (`discovery.rs`).
    pub upstreams: BTreeMap<String, Vec<String>>,
    /// Largest request body forwarded (413 above).
    pub body_limit_bytes: usize,
    /// How long one upstream attempt may take.
    pub upstream_timeout: Duration,
    /// Origins allowed by CORS (`*`: any).
    pub cors_allowed_origins: Vec<String>,
}

/// One path segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// One `/v2` path template of a service's OpenAPI document.
#[derive(Debug)]
struct Route {
    segments: Vec<Segment>,
    /// As documented (`/v2/accounts/{account_id}`): the request metrics' route label.
    template: String,
    service: String,
    /// Upper-case methods the service marks [`crossbar_crud::REPLAYABLE_EXTENSION`]:
    /// creations that may be retried with the same [`crossbar_crud::CREATE_ID_HEADER`].
    replayable: Vec<String>,
}

impl Route {
    /// Whether `method` (upper case) is marked replayable here.
    fn replays(&self, method: &str) -> bool {
        self.replayable.iter().any(|m| m == method)
    }
}

/// Which service serves which path template.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// The services whose documents are in the table.
    loaded: Vec<String>,
    /// Each service's OpenAPI document (merged for `/v2/openapi.json`).
    documents: BTreeMap<String, Value>,
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

impl RouteTable {
    /// Adds the `/v2` paths of `service`'s OpenAPI document.
    pub fn add_document(&mut self, service: &str, document: Value) {
        self.routes.retain(|route| route.service != service);
        if let Some(paths) = document.get("paths").and_then(Value::as_object) {
            for (template, item) in paths.iter().filter(|(p, _)| p.starts_with("/v2/")) {
                if template == "/v2/openapi.json" || template == "/v2/docs" {
                    continue;
                }
                let segments = segments(template)
                    .into_iter()
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_string())
                        }
                    })
                    .collect();
                let replayable = item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, operation)| {
                        operation.get(crossbar_crud::REPLAYABLE_EXTENSION)
                            == Some(&Value::Bool(true))
                    })
                    .map(|(method, _)| method.to_ascii_uppercase())
                    .collect();
                self.routes.push(Route {
                    segments,
                    template: template.clone(),
                    service: service.to_string(),
                    replayable,
                });
            }
        }
        if !self.loaded.iter().any(|s| s == service) {
            self.loaded.push(service.to_string());
        }
        self.documents.insert(service.to_string(), document);
    }

    /// The service owning `path`: the template with the same number of segments whose
    /// literals all match, preferring the most literal one.
    pub fn service_for(&self, path: &str) -> Option<&str> {
        self.route_for(path).map(|(service, _)| service)
    }

    /// The service owning `path` and the template that matched it (see
    /// [`RouteTable::service_for`]).
    pub fn route_for(&self, path: &str) -> Option<(&str, &str)> {
        self.route(path)
            .map(|route| (route.service.as_str(), route.template.as_str()))
    }

    /// Whether `method` on `path` is a creation the gateway may retry (see
    /// [`crossbar_crud::Documents::create_replayable`]).
    pub fn is_replayable(&self, path: &str, method: &str) -> bool {
        self.route(path).is_some_and(|route| route.replays(method))
    }

    fn route(&self, path: &str) -> Option<&Route> {
        let wanted = segments(path);
        self.routes
            .iter()
            .filter(|route| {
                route.segments.len() == wanted.len()
                    && route.segments.iter().zip(&wanted).all(|(t, w)| match t {
                        Segment::Literal(l) => l == w,
                        Segment::Param => true,
                    })
            })
            .max_by_key(|route| {
                route
                    .segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
    }

    pub fn is_loaded(&self, service: &str) -> bool {
        self.loaded.iter().any(|s| s == service)
    }

    /// The services' documents merged into one.
    pub fn merged_document(&self) -> Value {
        let mut merged: Option<Value> = None;
        for document in self.documents.values() {
            match &mut merged {
                None => merged = Some(document.clone()),
                Some(into) => merge_documents(into, document),
            }
        }
        merged.unwrap_or_else(|| serde_json::json!({"openapi": "3.1.0", "info": {"title": "crossbar", "version": "2"}, "paths": {}}))
    }
}

fn merge_documents(into: &mut Value, from: &Value) {
    for section in ["paths", "components"] {
        let (Some(Value::Object(target)), Some(Value::Object(source))) =
            (into.get_mut(section), from.get(section))
        else {
            continue;
        };
        for (key, value) in source {
            match (target.get_mut(key), value) {
                (Some(Value::Object(a)), Value::Object(b)) => {
                    for (k, v) in b {
                        a.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                (None, v) => {
                    target.insert(key.clone(), v.clone());
                }
                _ => {}
            }
        }
    }
}

/// The gateway's shared state.
pub struct Gateway {
    pub settings: GatewaySettings,
    pub table: RwLock<RouteTable>,
    /// Each service's replicas as last resolved (swapped whole by the discovery task,
    /// so a request only clones an `Arc` under a read lock).
    replicas: HashMap<String, RwLock<Arc<Vec<String>>>>,
    discovery: Discovery,
    next: AtomicUsize,
    /// Replicas that said they are shutting down ([`DRAINING_HEADER`]), and when.
    draining: std::sync::Mutex<HashMap<String, Instant>>,
}

/// Header of every answer of a replica that is shutting down (`shutdown.rs`): the
/// gateway sends it nothing new while another replica can serve, so nothing is in
/// flight there when it stops.
pub const DRAINING_HEADER: &str = "x-crossbar-draining";

/// How long a replica that said it is draining is passed over (it is gone, or back
/// and ready, well before).
const DRAINING_MEMORY: Duration = Duration::from_secs(15);

impl Gateway {
    pub fn new(settings: GatewaySettings) -> Arc<Self> {
        Self::with_resolver(settings, Arc::new(SystemResolver))
    }

    /// A gateway whose upstream names are resolved by `resolver` (tests use a fake one).
    pub fn with_resolver(settings: GatewaySettings, resolver: Arc<dyn Resolve>) -> Arc<Self> {
        // Until the first resolution: the URLs as configured.
        let replicas = settings
            .upstreams
            .iter()
            .map(|(service, urls)| (service.clone(), RwLock::new(Arc::new(urls.clone()))))
            .collect();
        Arc::new(Self {
            settings,
            table: RwLock::new(RouteTable::default()),
            replicas,
            discovery: Discovery::new(resolver),
            next: AtomicUsize::new(0),
            draining: std::sync::Mutex::default(),
        })
    }

    /// The replicas of `service` as last resolved (empty for an unknown service).
    pub fn replicas(&self, service: &str) -> Arc<Vec<String>> {
        self.replicas
            .get(service)
            .map(|slot| {
                slot.read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_default()
    }

    /// Resolves the configured names again and swaps in each service's new replicas.
    pub async fn refresh_replicas(&self) {
        let resolved = self.discovery.resolve(&self.settings.upstreams).await;
        for (service, replicas) in resolved {
            let Some(slot) = self.replicas.get(&service) else {
                continue;
            };
            if **slot
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                == replicas
            {
                continue;
            }
            tracing::info!(%service, ?replicas, "gateway: replicas changed");
            *slot
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(replicas);
        }
    }

    fn mark_draining(&self, replica: &str) {
        self.draining
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(replica.to_string(), Instant::now());
    }

    /// The replicas in the order to try them: round-robin from `first`, those that are
    /// draining last.
    fn attempt_order<'a>(&self, replicas: &'a [String], first: usize) -> Vec<&'a String> {
        let mut draining = self
            .draining
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        draining.retain(|_, since| since.elapsed() < DRAINING_MEMORY);
        let mut order: Vec<&String> = (0..replicas.len())
            .map(|i| &replicas[(first + i) % replicas.len()])
            .collect();
        order.sort_by_key(|replica| draining.contains_key(replica.as_str()));
        order
    }

    /// The owning service, the matched template and whether `method` there may be sent
    /// again (one scan of the table per request).
    fn route_for(&self, path: &str, method: &Method) -> Option<(String, String, bool)> {
        let table = self.table.read().ok()?;
        table.route(path).map(|route| {
            (
                route.service.clone(),
                route.template.clone(),
                route.replays(method.as_str()),
            )
        })
    }

    /// Services whose route documents have not been learned yet.
    pub fn missing_services(&self) -> Vec<String> {
        let Ok(table) = self.table.read() else {
            return self.settings.upstreams.keys().cloned().collect();
        };
        self.settings
            .upstreams
            .keys()
            .filter(|s| !table.is_loaded(s))
            .cloned()
            .collect()
    }

    pub fn merged_document(&self) -> Value {
        self.table
            .read()
            .map(|t| t.merged_document())
            .unwrap_or(Value::Null)
    }

    /// Learns the route table from every service (one replica answering is enough).
    /// Returns the services that could not be reached.
    pub async fn refresh_routes(&self, client: &awc::Client) -> Vec<String> {
        let mut unreachable = Vec::new();
        for service in self.settings.upstreams.keys() {
            let mut learned = false;
            for base in self.replicas(service).iter() {
                let url = format!("{}/v2/openapi.json", base.trim_end_matches('/'));
                let Ok(mut response) = client.get(&url).send().await else {
                    continue;
                };
                if !response.status().is_success() {
                    continue;
                }
                let Ok(document) = response.json::<Value>().limit(16 * 1024 * 1024).await else {
                    continue;
                };
                if let Ok(mut table) = self.table.write() {
                    table.add_document(service, document);
                    learned = true;
                }
                break;
            }
            if !learned {
                unreachable.push(service.clone());
            }
        }
        unreachable
    }
}

/// Keeps the route table fresh: quickly until every service answered once, then
/// every minute (services added or upgraded are picked up). Also starts
/// [`spawn_replica_discovery`].
pub fn spawn_route_refresher(gateway: Arc<Gateway>) {
    spawn_replica_discovery(gateway.clone());
    actix_web::rt::spawn(async move {
        // The names resolved first, so the routes are learned from the replicas.
        gateway.refresh_replicas().await;
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(5))
            .finish();
        loop {
            let unreachable = gateway.refresh_routes(&client).await;
            if !unreachable.is_empty() {
                tracing::warn!(services = ?unreachable, "gateway: services not reachable yet");
            }
            let pause = if gateway.missing_services().is_empty() {
                Duration::from_secs(60)
            } else {
                Duration::from_secs(2)
            };
            actix_web::rt::time::sleep(pause).await;
        }
    });
}

/// Resolves the upstream names every [`DISCOVERY_INTERVAL`] (nothing to do, and no
/// task, when every configured URL is used as given).
pub fn spawn_replica_discovery(gateway: Arc<Gateway>) {
    if !Discovery::has_names(&gateway.settings.upstreams) {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            gateway.refresh_replicas().await;
            actix_web::rt::time::sleep(DISCOVERY_INTERVAL).await;
        }
    });
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    )
}

fn unavailable(service: &str) -> ApiError {
    ApiError::System {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "service_unavailable".into(),
        data: serde_json::json!({"message": format!("the {service} service is unavailable")}),
    }
}

fn timed_out(service: &str) -> ApiError {
    ApiError::System {
        status: StatusCode::GATEWAY_TIMEOUT,
        message: "gateway_timeout".into(),
        data: serde_json::json!({"message": format!("the {service} service did not answer in time")}),
    }
}

fn bad_gateway(service: &str) -> ApiError {
    ApiError::System {
        status: StatusCode::BAD_GATEWAY,
        message: "bad_gateway".into(),
        data: serde_json::json!({"message": format!("the {service} service failed to answer")}),
    }
}

/// Reads the body up to the limit (413 in Kazoo's shape above it).
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::validation("body", "invalid", "failed to read the request body")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

enum Attempt {
    /// Nothing reached the replica: always safe to try another.
    NotSent,
    /// The replica may have acted on the request (it closed the connection without
    /// answering, or failed).
    MaybeSent(ApiError),
    /// The replica did not answer in time: it may still be acting on the request.
    TimedOut(ApiError),
}

/// Every `/v2` request the gateway does not answer itself.
pub async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    gateway: web::Data<Arc<Gateway>>,
    client: web::Data<awc::Client>,
) -> Result<HttpResponse, ApiError> {
    let path = req.path().to_string();
    let Some((service, template, replayable)) = gateway.route_for(&path, req.method()) else {
        if gateway.missing_services().is_empty() {
            return Err(ApiError::NotFound);
        }
        // The path may belong to a service whose routes are not known yet.
        return Err(unavailable("owning"));
    };
    // The metrics and the access log name the template, not `unmatched` (nor the path:
    // ids never become labels).
    crossbar_telemetry::http::set_matched_route(&req, &template);
    let replicas = gateway.replicas(&service);
    if replicas.is_empty() {
        return Err(unavailable(&service));
    }
    let body = read_body(payload, gateway.settings.body_limit_bytes).await?;
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let traceparent = crossbar_telemetry::trace::current_traceparent();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or(path);
    let peer = req.peer_addr().map(|a| a.ip().to_string());

    // One per client request, the same on every attempt (a client's own is dropped).
    let create_id = replayable.then(crossbar_envelope::ids::new_id);
    let first = gateway.next.fetch_add(1, Ordering::Relaxed);
    let mut last_error = unavailable(&service);
    // Whether a request may be sent again when a replica may have acted on it.
    let repeatable = is_idempotent(req.method()) || create_id.is_some();
    // ...and while that replica may still be acting on it (it timed out): an update
    // sent again then could race its own first attempt, so only reads, deletions and
    // creations (the creation id makes the two attempts one document) go again.
    let repeatable_while_running =
        is_idempotent(req.method()) || (create_id.is_some() && req.method() == Method::PUT);
    let build = |base: &str| {
        let url = format!("{}{}", base.trim_end_matches('/'), path_and_query);
        let mut upstream = client
            .request(req.method().clone(), &url)
            .timeout(gateway.settings.upstream_timeout);
        for (name, value) in req.headers() {
            if HOP_BY_HOP.contains(&name.as_str())
                || name.as_str() == "content-length"
                || name.as_str() == crossbar_crud::CREATE_ID_HEADER
            {
                continue;
            }
            upstream = upstream.append_header((name.clone(), value.clone()));
        }
        upstream = upstream.insert_header(("x-request-id", request_id.as_str()));
        if let Some(create_id) = &create_id {
            upstream =
                upstream.insert_header((crossbar_crud::CREATE_ID_HEADER, create_id.as_str()));
        }
        if let Some(traceparent) = &traceparent {
            upstream = upstream.insert_header(("traceparent", traceparent.as_str()));
        }
        if let Some(peer) = &peer {
            upstream = upstream.insert_header(("x-forwarded-for", peer.as_str()));
        }
        upstream
    };
    for base in gateway.attempt_order(&replicas, first) {
        let mut tried_again = false;
        let outcome = loop {
            match build(base).send_body(body.clone()).await {
                Ok(response) => {
                    metrics::counter!(METRIC_UPSTREAM, "service" => service.clone(), "outcome" => "answered")
                        .increment(1);
                    if response.headers().contains_key(DRAINING_HEADER) {
                        gateway.mark_draining(base);
                    }
                    return Ok(relay(response));
                }
                // awc reports a connection closed after the request went out, before any
                // answer, as `Connect(Disconnected)`: the replica may have acted on it.
                // Mostly it is a pooled connection the replica had just closed, so a
                // request that may be repeated goes once more to the same replica.
                Err(awc::error::SendRequestError::Connect(
                    awc::error::ConnectError::Disconnected,
                )) => {
                    tracing::warn!(%service, replica = %base, "gateway: replica closed the connection without answering");
                    if repeatable && !tried_again {
                        tried_again = true;
                        continue;
                    }
                    break Attempt::MaybeSent(bad_gateway(&service));
                }
                Err(awc::error::SendRequestError::Connect(error)) => {
                    tracing::warn!(%service, replica = %base, %error, "gateway: replica refused the connection");
                    break Attempt::NotSent;
                }
                Err(awc::error::SendRequestError::Timeout) => {
                    tracing::warn!(%service, replica = %base, "gateway: replica timed out");
                    break Attempt::TimedOut(timed_out(&service));
                }
                Err(error) => {
                    tracing::warn!(%service, replica = %base, %error, "gateway: replica failed");
                    break Attempt::MaybeSent(bad_gateway(&service));
                }
            }
        };
        match outcome {
            Attempt::NotSent => {
                metrics::counter!(METRIC_UPSTREAM, "service" => service.clone(), "outcome" => "retried")
                    .increment(1);
                last_error = unavailable(&service);
            }
            // A replayable creation carries the same creation id on every attempt: the
            // replica that gets it again answers what an earlier attempt created.
            Attempt::MaybeSent(error) if repeatable => {
                metrics::counter!(METRIC_UPSTREAM, "service" => service.clone(), "outcome" => "retried")
                    .increment(1);
                last_error = error;
            }
            Attempt::TimedOut(error) if repeatable_while_running => {
                metrics::counter!(METRIC_UPSTREAM, "service" => service.clone(), "outcome" => "retried")
                    .increment(1);
                last_error = error;
            }
            Attempt::MaybeSent(error) | Attempt::TimedOut(error) => {
                metrics::counter!(METRIC_UPSTREAM, "service" => service.clone(), "outcome" => "failed")
                    .increment(1);
                return Err(error);
            }
        }
    }
    metrics::counter!(METRIC_UPSTREAM, "service" => service, "outcome" => "failed").increment(1);
    Err(last_error)
}

/// The replica's answer, streamed back as it comes.
fn relay<S>(response: awc::ClientResponse<S>) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>
        + Unpin
        + 'static,
{
    let mut out = HttpResponse::build(response.status());
    for (name, value) in response.headers() {
        // The draining signal is between a replica and the gateway.
        if HOP_BY_HOP.contains(&name.as_str())
            || name.as_str() == "content-length"
            || name.as_str() == DRAINING_HEADER
        {
            continue;
        }
        out.append_header((name.clone(), value.clone()));
    }
    out.streaming(response)
}

/// `GET /readyz` of the gateway: ready once every service's routes are known and a
/// replica of each answers its own `/readyz`.
pub async fn readyz(
    gateway: web::Data<Arc<Gateway>>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    let mut checks = Map::new();
    let mut ready = true;
    for (service, replicas) in &gateway.settings.upstreams {
        let mut healthy = 0;
        for base in replicas {
            let url = format!("{}/readyz", base.trim_end_matches('/'));
            if let Ok(response) = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if response.status().is_success() {
                    healthy += 1;
                }
            }
        }
        let known = !gateway.missing_services().contains(service);
        ready &= healthy > 0 && known;
        checks.insert(
            format!("service.{service}"),
            Value::String(format!(
                "{healthy}/{} replicas ready{}",
                replicas.len(),
                if known {
                    ""
                } else {
                    ", routes not learned yet"
                }
            )),
        );
    }
    let body =
        serde_json::json!({"status": if ready { "ready" } else { "not_ready" }, "checks": checks});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The CORS policy (Monster UI runs in a browser on another origin).
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"])
        .allow_any_header()
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("location"),
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        cors = cors.allow_any_origin().send_wildcard();
    } else {
        for origin in origins {
            if HeaderValue::from_str(origin).is_ok() {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    cors
}

/// How long the gateway keeps an idle connection to a replica: shorter than a
/// replica's shutdown drain (`shutdown.rs`, 5 s by default), so no pooled connection
/// outlives a draining replica and a request is never written to a closing socket.
pub const UPSTREAM_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// The HTTP client of one worker (awc clients are per-thread).
fn client(settings: &GatewaySettings) -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().conn_keep_alive(UPSTREAM_IDLE))
        .timeout(settings.upstream_timeout)
        .disable_redirects()
        .finish()
}

async fn gateway_openapi(gateway: web::Data<Arc<Gateway>>) -> HttpResponse {
    HttpResponse::Ok().json(gateway.merged_document())
}

async fn gateway_docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crossbar_openapi::docs_page("/v2/openapi.json"))
}

async fn gateway_metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crossbar_telemetry::metrics::render())
}

async fn gateway_healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The gateway's routes: its own endpoints, then everything else forwarded.
pub fn configure(gateway: &Arc<Gateway>, cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(gateway.clone()))
        .app_data(web::Data::new(client(&gateway.settings)))
        // The body is read by `forward` itself, against the configured limit.
        .app_data(web::PayloadConfig::new(gateway.settings.body_limit_bytes))
        .service(own("/healthz", web::get().to(gateway_healthz)))
        .service(own("/readyz", web::get().to(readyz)))
        .service(own("/metrics", web::get().to(gateway_metrics)))
        .service(own("/v2/openapi.json", web::get().to(gateway_openapi)))
        .service(own("/v2/docs", web::get().to(gateway_docs)))
        .default_service(web::to(forward));
}

/// One of the gateway's own GET endpoints; other methods answer 405 like a service's.
fn own(path: &str, get: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(get)
        .default_service(web::to(crossbar_crud::method_not_allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replayable_creations_are_learned_per_method() {
        let mut table = RouteTable::default();
        table.add_document(
            "accounts",
            json!({"paths": {
                "/v2/accounts/{account_id}/devices": {"get": {}, "put": {"x-crossbar-replayable": true}},
                "/v2/accounts/{account_id}": {"put": {}, "post": {"x-crossbar-replayable": false}}
            }}),
        );
        assert!(table.is_replayable("/v2/accounts/a/devices", "PUT"));
        assert!(!table.is_replayable("/v2/accounts/a/devices", "GET"));
        assert!(!table.is_replayable("/v2/accounts/a", "PUT"));
        assert!(!table.is_replayable("/v2/accounts/a", "POST"));
        assert!(!table.is_replayable("/v2/nowhere", "PUT"));
    }

    #[test]
    fn draining_replicas_are_tried_last() {
        let gateway = Gateway::new(GatewaySettings {
            upstreams: BTreeMap::new(),
            body_limit_bytes: 1024,
            upstream_timeout: Duration::from_secs(1),
            cors_allowed_origins: Vec::new(),
        });
        let replicas: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(gateway.attempt_order(&replicas, 1), ["b", "c", "a"]);
        gateway.mark_draining("b");
        assert_eq!(gateway.attempt_order(&replicas, 1), ["c", "a", "b"]);
        assert_eq!(gateway.attempt_order(&replicas, 2), ["c", "a", "b"]);
        // Every replica draining: all are still tried, in round-robin order.
        gateway.mark_draining("a");
        gateway.mark_draining("c");
        assert_eq!(gateway.attempt_order(&replicas, 2), ["c", "a", "b"]);
    }

    #[test]
    fn routes_go_to_the_most_literal_template() {
        let mut table = RouteTable::default();
        table.add_document(
            "accounts",
            json!({"paths": {"/v2/accounts/{account_id}": {}, "/v2/accounts/{account_id}/users/{id}": {}, "/v2/openapi.json": {}}}),
        );
        table.add_document(
            "auth",
            json!({"paths": {"/v2/accounts/{account_id}/users/{user_id}/user_auth": {}, "/v2/user_auth": {}}}),
        );
        table.add_document(
            "numbers",
            json!({"paths": {"/v2/accounts/{account_id}/phone_numbers/{number}": {}, "/v2/accounts/{account_id}/phone_numbers/collection": {}}}),
        );
        assert_eq!(table.service_for("/v2/accounts/abc"), Some("accounts"));
        assert_eq!(
            table.service_for("/v2/accounts/abc/users/u1"),
            Some("accounts")
        );
        assert_eq!(
            table.service_for("/v2/accounts/abc/users/u1/user_auth"),
            Some("auth")
        );
        assert_eq!(table.service_for("/v2/user_auth"), Some("auth"));
        assert_eq!(
            table.service_for("/v2/accounts/abc/phone_numbers/collection"),
            Some("numbers")
        );
        assert_eq!(
            table.service_for("/v2/accounts/abc/phone_numbers/%2B14155550000"),
            Some("numbers")
        );
        assert_eq!(
            table.route_for("/v2/accounts/abc/users/u1/user_auth"),
            Some((
                "auth",
                "/v2/accounts/{account_id}/users/{user_id}/user_auth"
            ))
        );
        assert_eq!(
            table.route_for("/v2/accounts/abc/phone_numbers/collection"),
            Some((
                "numbers",
                "/v2/accounts/{account_id}/phone_numbers/collection"
            ))
        );
        assert_eq!(table.service_for("/v2/nothing"), None);
        assert_eq!(table.service_for("/v2/openapi.json"), None);
    }

    #[test]
    fn documents_merge_paths_and_components() {
        let mut table = RouteTable::default();
        table.add_document("a", json!({"openapi": "3.1.0", "paths": {"/v2/x": {"get": {}}}, "components": {"schemas": {"X": {}}}}));
        table.add_document("b", json!({"openapi": "3.1.0", "paths": {"/v2/y": {"get": {}}}, "components": {"schemas": {"Y": {}}}}));
        let merged = table.merged_document();
        assert!(merged["paths"]["/v2/x"].is_object() && merged["paths"]["/v2/y"].is_object());
        assert!(merged["components"]["schemas"]["X"].is_object());
        assert!(merged["components"]["schemas"]["Y"].is_object());
    }

    #[test]
    fn only_safe_methods_are_retried_after_sending() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::DELETE));
        assert!(!is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}

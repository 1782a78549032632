//! Rendering of the response envelope, done once for every response by
//! [`envelope_middleware`], so that handlers and extractors only say *what* to answer.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::request::RawAuthToken;
use crate::{ids, time};

/// Version reported in the envelope: the Kazoo API level this server speaks.
pub const API_VERSION: &str = "5.0.0";
/// Largest request body accepted anywhere (413 above it).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of the request being served (request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Paging facts of a listing page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageInfo {
    pub page_size: usize,
    pub start_key: Option<String>,
    pub next_start_key: Option<String>,
}

/// A successful answer before it is put in the envelope.
#[derive(Debug, Clone)]
pub struct Reply {
    status: StatusCode,
    data: Option<Value>,
    revision: Option<String>,
    location: Option<String>,
    page: Option<PageInfo>,
    issued_token: Option<String>,
}

impl Reply {
    pub fn ok(data: Value) -> Self {
        Self {
            status: StatusCode::OK,
            data: Some(data),
            revision: None,
            location: None,
            page: None,
            issued_token: None,
        }
    }

    /// 201 with a `Location` header naming the new resource.
    pub fn created(data: Value, location: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CREATED,
            location: Some(location.into()),
            ..Self::ok(data)
        }
    }

    /// 200 with no `data` (e.g. `DELETE /v2/token_auth`).
    pub fn empty() -> Self {
        Self {
            data: None,
            ..Self::ok(Value::Null)
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    pub fn with_page(mut self, page: PageInfo) -> Self {
        self.page = Some(page);
        self
    }

    /// The envelope `auth_token` is this newly issued token instead of the one used.
    pub fn with_issued_token(mut self, token: impl Into<String>) -> Self {
        self.issued_token = Some(token.into());
        self
    }

    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }
}

/// What a handler or extractor left on the response for the middleware to render.
#[derive(Debug, Clone)]
pub enum PendingEnvelope {
    Success(Reply),
    Error(ApiError),
}

impl Responder for Reply {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(location) = &self.location {
            response.insert_header((LOCATION, location.as_str()));
        }
        let mut response = response.finish();
        response
            .extensions_mut()
            .insert(PendingEnvelope::Success(self));
        response
    }
}

/// Result type of every handler.
pub type ApiResult = Result<Reply, ApiError>;

fn node_name() -> &'static str {
    static NODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NODE.get_or_init(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_string());
        format!("crossbar@{host}")
    })
}

fn base_envelope(status: &str, request_id: &str, auth_token: &str) -> Map<String, Value> {
    let mut envelope = Map::new();
    envelope.insert("status".into(), Value::String(status.into()));
    envelope.insert("request_id".into(), Value::String(request_id.into()));
    envelope.insert("auth_token".into(), Value::String(auth_token.into()));
    envelope.insert("node".into(), Value::String(node_name().into()));
    envelope.insert("timestamp".into(), Value::String(time::now_iso8601()));
    envelope.insert("version".into(), Value::String(API_VERSION.into()));
    envelope
}

/// Builds the JSON body of a success envelope.
pub fn success_body(reply: &Reply, request_id: &str, auth_token: &str) -> Value {
    let token = reply.issued_token.as_deref().unwrap_or(auth_token);
    let mut envelope = base_envelope("success", request_id, token);
    if let Some(data) = &reply.data {
        envelope.insert("data".into(), data.clone());
        envelope.insert(
            "revision".into(),
            Value::String(
                reply
                    .revision
                    .clone()
                    .unwrap_or_else(|| "undefined".to_string()),
            ),
        );
    }
    if let Some(page) = &reply.page {
        envelope.insert("page_size".into(), Value::from(page.page_size));
        if let Some(start) = &page.start_key {
            envelope.insert("start_key".into(), Value::String(start.clone()));
        }
        if let Some(next) = &page.next_start_key {
            envelope.insert("next_start_key".into(), Value::String(next.clone()));
        }
    }
    Value::Object(envelope)
}

/// Builds the JSON body of an error envelope.
pub fn error_body(error: &ApiError, request_id: &str, auth_token: &str) -> Value {
    let mut envelope = base_envelope("error", request_id, auth_token);
    envelope.insert(
        "error".into(),
        Value::String(error.status().as_u16().to_string()),
    );
    envelope.insert("message".into(), Value::String(error.message()));
    envelope.insert("data".into(), error.data());
    Value::Object(envelope)
}

fn accept_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let sane = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sane.then(|| text.to_string())
}

/// The middleware every app wraps: request id, verb tunnelling, and the envelope.
///
/// It (1) takes or makes the request id, (2) applies a `verb` override from the query
/// string or a POST body, (3) turns every reply, error and framework failure into
/// Kazoo's JSON envelope with `X-Request-ID`.
pub async fn envelope_middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(accept_request_id)
        .unwrap_or_else(ids::new_id);
    req.extensions_mut().insert(RequestId(request_id.clone()));

    if let Err(error) = apply_verb_override(&mut req).await {
        let response = req.into_response(error.error_response());
        return Ok(render(response, &request_id));
    }

    // Do not hold a clone of the request across `next.call`: routing needs it unshared.
    match next.call(req).await {
        Ok(response) => Ok(render(response.map_into_boxed_body(), &request_id)),
        Err(error) => {
            // Only middleware errors arrive here (handlers turn theirs into responses).
            let api_error = ApiError::internal(error.to_string());
            Err(RenderedError {
                status: api_error.status(),
                body: error_body(&api_error, &request_id, ""),
                request_id,
            }
            .into())
        }
    }
}

/// An error already rendered into its envelope (for failures with no request left).
#[derive(Debug)]
struct RenderedError {
    status: StatusCode,
    body: Value,
    request_id: String,
}

impl std::fmt::Display for RenderedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)
    }
}

impl ResponseError for RenderedError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header((X_REQUEST_ID.clone(), self.request_id.clone()))
            .json(&self.body)
    }
}

/// Applies a tunnelled `verb` (query or POST body) and records the presented token.
/// The body is only buffered (and then handed back intact) for a POST, or when the
/// token can only be in the body.
async fn apply_verb_override(req: &mut ServiceRequest) -> Result<(), ApiError> {
    let header_token = crate::presented_token(req.request());
    if let Some(token) = &header_token {
        req.extensions_mut().insert(RawAuthToken(token.clone()));
    }
    let query_verb = crate::request::query_value(req.query_string(), "verb");
    let has_body = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let is_json_like = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.contains("json") || ct.contains("form") || ct.is_empty());
    let peek_body = has_body
        && is_json_like
        && ((*req.method() == Method::POST && query_verb.is_none()) || header_token.is_none());
    let mut verb = if *req.method() == Method::POST {
        query_verb
    } else {
        None
    };
    if peek_body {
        let body = read_body(req).await?;
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&body) {
            for (key, value) in &object {
                if key.eq_ignore_ascii_case("verb")
                    && *req.method() == Method::POST
                    && verb.is_none()
                {
                    verb = value.as_str().map(str::to_string);
                }
                if key.eq_ignore_ascii_case("auth_token") && header_token.is_none() {
                    if let Some(token) = value.as_str() {
                        req.extensions_mut().insert(RawAuthToken(token.to_string()));
                    }
                }
            }
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    if let Some(verb) = verb {
        let method = match verb.to_ascii_uppercase().as_str() {
            "PUT" => Method::PUT,
            "DELETE" => Method::DELETE,
            "PATCH" => Method::PATCH,
            "GET" => Method::GET,
            "POST" => Method::POST,
            _ => return Err(ApiError::MethodNotAllowed),
        };
        req.head_mut().method = method;
    }
    Ok(())
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut payload = req.parts_mut().1.take();
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::validation("json", "invalid", "failed to read request body"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn render(mut response: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    let pending = response
        .response_mut()
        .extensions_mut()
        .remove::<PendingEnvelope>();
    let auth_token = response
        .request()
        .extensions()
        .get::<RawAuthToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default();

    let body = match pending {
        Some(PendingEnvelope::Success(reply)) => {
            Some(success_body(&reply, request_id, &auth_token))
        }
        Some(PendingEnvelope::Error(error)) => Some(error_body(&error, request_id, &auth_token)),
        None => {
            // Framework answers (no route, extractor failures we did not produce):
            // give them Kazoo's shape too.
            let status = response.status();
            if status.is_client_error() || status.is_server_error() {
                let is_json = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
                if is_json {
                    None
                } else {
                    let error = match status {
                        StatusCode::NOT_FOUND => ApiError::NotFound,
                        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
                        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
                        s if s.is_server_error() => ApiError::Internal(format!("status {s}")),
                        s => ApiError::System {
                            status: s,
                            message: s.canonical_reason().unwrap_or("error").to_lowercase(),
                            data: serde_json::json!({"message": s.canonical_reason().unwrap_or("error").to_lowercase()}),
                        },
                    };
                    Some(error_body(&error, request_id, &auth_token))
                }
            } else {
                None
            }
        }
    };

    let mut response = match body {
        Some(body) => {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            response.map_body(|head, _| {
                head.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                BoxBody::new(bytes)
            })
        }
        None => response,
    };
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .response_mut()
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), value);
    }
    response
}

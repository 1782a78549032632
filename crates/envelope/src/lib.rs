//! The Crossbar wire contract shared by every service: request and response
//! envelopes, the one error type, ids, Gregorian time and paging facts.

pub mod error;
pub mod ids;
pub mod render;
pub mod request;
pub mod time;

pub use error::{ApiError, ValidationErrors};
pub use render::{envelope_middleware, ApiResult, PageInfo, Reply, RequestId};
pub use request::{RawAuthToken, RequestEnvelope};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpMessage, HttpRequest};

/// The token a request presents: `X-Auth-Token`, then `auth_token` (query or body
/// envelope), then `Authorization: Bearer`.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
    {
        if !value.is_empty() {
            return Some(value.to_string());
        }
    }
    if let Some(token) = request::query_value(req.query_string(), "auth_token") {
        if !token.is_empty() {
            return Some(token);
        }
    }
    if let Some(token) = req.extensions().get::<RawAuthToken>() {
        if !token.0.is_empty() {
            return Some(token.0.clone());
        }
    }
    let authorization = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Checks an account id taken from a path, with Kazoo's messages for bad ones.
pub fn check_account_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::BadAccountId("missing account_id".into()));
    }
    if !ids::is_valid_id(id) {
        return Err(ApiError::BadAccountId(format!("invalid account_id '{id}'")));
    }
    Ok(())
}

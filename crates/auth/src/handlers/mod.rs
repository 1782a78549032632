//! HTTP handlers: extract, call the domain (and the store), answer with a [`Reply`].

pub mod api_auth;
pub mod keys;
pub mod token_auth;
pub mod user_auth;

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use crossbar_envelope::{ApiError, ApiResult, Reply};

use crate::domain::Issued;

/// 501 for Kazoo endpoints this server does not offer (yet).
pub async fn not_implemented() -> ApiResult {
    Err(ApiError::system(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "not implemented",
    ))
}

/// The client address logins are throttled by: the TCP peer, never a header a client
/// can set.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// 201 with the new token as the envelope's `auth_token`.
pub fn issued_reply(issued: Issued) -> Reply {
    Reply::ok(issued.data)
        .with_status(StatusCode::CREATED)
        .with_issued_token(issued.token)
}

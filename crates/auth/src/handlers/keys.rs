//! `/v2/auth/keys`: the public keys tokens are verified with (JWKS).

use actix_web::web;
use crossbar_envelope::{ApiResult, Reply};

use crate::AuthState;

/// `GET /v2/auth/keys` (no token needed).
pub async fn show(state: web::Data<AuthState>) -> ApiResult {
    Ok(Reply::ok(state.jwks.clone()))
}

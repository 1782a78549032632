//! `/v2/auth/keys`: the public keys tokens are verified with (JWKS).

use actix_web::web;
use crossbar_envelope::{ApiError, ApiResult, Reply};
use serde_json::json;

use crate::AuthState;

/// `GET /v2/auth/keys` (no token needed): every key that verifies now, newest (the
/// one that signs) first, as read from the database, so every replica answers the
/// same right after a rotation.
pub async fn show(state: web::Data<AuthState>) -> ApiResult {
    let keys = crate::store::load_keys(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let jwks: Vec<_> = keys.iter().rev().map(|k| k.public_jwk()).collect();
    Ok(Reply::ok(json!({ "keys": jwks })))
}

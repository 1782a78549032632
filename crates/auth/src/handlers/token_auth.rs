//! `/v2/token_auth`: the token in use, and its revocation.

use actix_web::web;
use crossbar_authz::Caller;
use crossbar_envelope::{time, ApiResult, Reply};

use crate::{events, store, AuthState};

/// `GET /v2/token_auth`.
pub async fn show(caller: Caller, state: web::Data<AuthState>) -> ApiResult {
    Ok(Reply::ok(state.auth.token_info(&caller).await?))
}

/// `DELETE /v2/token_auth`: revokes the token in use. The deny-list row and its event
/// commit together; the outbox is flushed before answering, so that with the
/// in-process bus every verifier rejects the token once this returns.
pub async fn delete(caller: Caller, state: web::Data<AuthState>) -> ApiResult {
    let claims = &caller.claims;
    let event = events::token_revoked(claims, caller.account.tree.clone());
    store::revoke(&state.db, &claims.jti, claims.exp, time::unix_now(), &event)
        .await
        .map_err(store::db_error)?;
    // In force here even if the bus is down; the relay publishes the event later.
    state.verifier.revocations.revoke(&claims.jti, claims.exp);
    if let Err(error) = state.outbox.flush().await {
        tracing::warn!(%error, "token_auth: outbox flush failed; the relay will retry");
    }
    tracing::info!(account_id = %claims.account_id, jti = %claims.jti, "token revoked");
    // Kazoo answers without data and without the (now dead) token.
    Ok(Reply::empty().with_issued_token(String::new()))
}

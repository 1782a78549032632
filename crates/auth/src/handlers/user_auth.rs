//! `/v2/user_auth` and `/v2/user_auth/{token}`.

use actix_web::{web, HttpRequest};
use crossbar_authz::Caller;
use crossbar_envelope::{time, ApiError, ApiResult, Reply, RequestEnvelope};

use super::{client_address, issued_reply};
use crate::domain::UserAuthRequest;
use crate::AuthState;

/// `PUT /v2/user_auth`: log in with credentials and an account selector.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AuthState>,
    body: RequestEnvelope,
) -> ApiResult {
    let request = UserAuthRequest::parse(&body.data)?;
    let issued = state
        .auth
        .user_auth(&request, &client_address(&req), time::unix_now())
        .await?;
    Ok(issued_reply(issued))
}

/// `GET /v2/user_auth/{token}`: the token in use, which the path must name.
pub async fn show(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AuthState>,
) -> ApiResult {
    if path.into_inner() != caller.token {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(Reply::ok(state.auth.token_info(&caller).await?))
}

//! `/v2/user_auth` and `/v2/user_auth/{token}`.

use actix_web::{web, HttpRequest};
use crossbar_authz::{AccountScope, Caller};
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

/// `PUT /v2/accounts/{A}/users/{U}/user_auth` `{"action": "impersonate_user"}`.
pub async fn impersonate(
    scope: AccountScope,
    path: web::Path<(String, String)>,
    state: web::Data<AuthState>,
    body: RequestEnvelope,
) -> ApiResult {
    let action = body.value("action");
    if action.as_ref().and_then(|a| a.as_str()) != Some("impersonate_user") {
        let mut errors = crossbar_envelope::ValidationErrors::new();
        match action {
            None => errors.add("action", "required", "Field is required but missing"),
            Some(value) => errors.add_with(
                "action",
                "enum",
                "Value not found in enumerated list of values",
                serde_json::json!({"target": ["impersonate_user"], "value": value}),
            ),
        }
        return Err(ApiError::Validation(errors));
    }
    let (_, user_id) = path.into_inner();
    let issued = state.auth.impersonate(&scope, &user_id).await?;
    Ok(issued_reply(issued))
}

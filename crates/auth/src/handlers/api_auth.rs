//! `/v2/api_auth`.

use actix_web::web;
use crossbar_envelope::{ApiResult, RequestEnvelope};

use super::issued_reply;
use crate::domain::ApiAuthRequest;
use crate::AuthState;

/// `PUT /v2/api_auth`: a token for the account whose API key this is.
pub async fn create(state: web::Data<AuthState>, body: RequestEnvelope) -> ApiResult {
    let request = ApiAuthRequest::parse(&body.data)?;
    let issued = state.auth.api_auth(&request).await?;
    Ok(issued_reply(issued))
}

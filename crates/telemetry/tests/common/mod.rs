//! The catch-all handler both route tests serve through.

use actix_web::{HttpRequest, HttpResponse};
use crossbar_telemetry::http::set_matched_route;

pub const TEMPLATE: &str = "/v2/accounts/{account_id}/things/{thing_id}";

/// A catch-all that knows one template, like the proxy knows the services' templates.
pub async fn catch_all(req: HttpRequest) -> HttpResponse {
    let parts: Vec<&str> = req.path().split('/').filter(|s| !s.is_empty()).collect();
    if let ["v2", "accounts", _, "things", _] = parts.as_slice() {
        set_matched_route(&req, TEMPLATE);
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::NotFound().finish()
    }
}

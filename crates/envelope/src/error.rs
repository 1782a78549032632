//! The one error type of the API and its exact Kazoo JSON shape.
//!
//! Every failure a client can see is an [`ApiError`]: an HTTP status, the envelope
//! `message` and the `data` object. The envelope middleware adds `request_id`,
//! `auth_token`, `timestamp` and the rest when it renders the body.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

use crate::render::PendingEnvelope;

/// Validation failures keyed field path -> rule -> details (`message`, `cause`, ...).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ValidationErrors {
    fields: BTreeMap<String, BTreeMap<String, Value>>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on `field` for `rule` with a human `message`.
    pub fn single(field: &str, rule: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, rule, message);
        errors
    }

    pub fn add(&mut self, field: &str, rule: &str, message: impl Into<String>) {
        self.add_detail(field, rule, json!({ "message": message.into() }));
    }

    /// Adds an error with extra keys next to `message` (`cause`, `value`, `target`).
    pub fn add_with(&mut self, field: &str, rule: &str, message: impl Into<String>, extra: Value) {
        let mut detail = Map::new();
        detail.insert("message".into(), Value::String(message.into()));
        if let Value::Object(extra) = extra {
            detail.extend(extra);
        }
        self.add_detail(field, rule, Value::Object(detail));
    }

    fn add_detail(&mut self, field: &str, rule: &str, detail: Value) {
        // The first error reported for a field and rule wins, as in Kazoo.
        self.fields
            .entry(field.to_string())
            .or_default()
            .entry(rule.to_string())
            .or_insert(detail);
    }

    pub fn merge(&mut self, other: ValidationErrors) {
        for (field, rules) in other.fields {
            for (rule, detail) in rules {
                self.add_detail(&field, &rule, detail);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn has(&self, field: &str, rule: &str) -> bool {
        self.fields
            .get(field)
            .is_some_and(|rules| rules.contains_key(rule))
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (field, rules) in &self.fields {
            let mut by_rule = Map::new();
            for (rule, detail) in rules {
                by_rule.insert(rule.clone(), detail.clone());
            }
            out.insert(field.clone(), Value::Object(by_rule));
        }
        Value::Object(out)
    }
}

/// Every error the API answers with. Variants carry what the Kazoo JSON needs.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 400 "validation error" with field -> rule -> detail.
    Validation(ValidationErrors),
    /// 401 invalid_credentials.
    InvalidCredentials,
    /// 403 forbidden, optionally with a more specific human message.
    Forbidden(Option<String>),
    /// 404 bad_identifier with `cause` = the id that did not resolve.
    BadIdentifier(String),
    /// 404 for a malformed account id in the path (data.message explains).
    BadAccountId(String),
    /// 404 not_found (unknown path).
    NotFound,
    /// 405 invalid_method.
    MethodNotAllowed,
    /// 409 datastore_conflict.
    Conflict,
    /// 413 the body is larger than allowed.
    PayloadTooLarge(usize),
    /// 429 too_many_requests; the value is Retry-After in seconds.
    TooManyRequests(u64),
    /// 503 the datastore could not be reached.
    Unavailable(String),
    /// 500 unspecified_fault; the detail is logged, never sent.
    Internal(String),
    /// Any other Kazoo system error: status, envelope message (atom) and data.
    System {
        status: StatusCode,
        message: String,
        data: Value,
    },
}

impl ApiError {
    pub fn validation(field: &str, rule: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, rule, message))
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// A Kazoo system error by its atom, e.g. `account_has_descendants`.
    pub fn system(status: StatusCode, atom: &str, human: &str) -> Self {
        Self::System {
            status,
            message: atom.to_string(),
            data: json!({ "message": human }),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadIdentifier(_) | Self::BadAccountId(_) | Self::NotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::System { status, .. } => *status,
        }
    }

    /// The envelope `message`.
    pub fn message(&self) -> String {
        match self {
            Self::Validation(_) => "validation error".into(),
            Self::InvalidCredentials => "invalid_credentials".into(),
            Self::Forbidden(_) => "forbidden".into(),
            Self::BadIdentifier(_) => "bad_identifier".into(),
            Self::BadAccountId(_) => "bad identifier".into(),
            Self::NotFound => "not_found".into(),
            Self::MethodNotAllowed => "invalid_method".into(),
            Self::Conflict => "datastore_conflict".into(),
            Self::PayloadTooLarge(_) => "file.maxSize".into(),
            Self::TooManyRequests(_) => "too_many_requests".into(),
            Self::Unavailable(_) => "datastore_unreachable".into(),
            Self::Internal(_) => "unspecified_fault".into(),
            Self::System { message, .. } => message.clone(),
        }
    }

    /// The envelope `data`.
    pub fn data(&self) -> Value {
        match self {
            Self::Validation(errors) => errors.to_json(),
            Self::InvalidCredentials => json!({ "message": "invalid credentials" }),
            Self::Forbidden(None) => json!({ "message": "forbidden" }),
            Self::Forbidden(Some(text)) => json!({ "message": text }),
            Self::BadIdentifier(cause) => json!({ "message": "bad identifier", "cause": cause }),
            Self::BadAccountId(text) => json!({ "message": text }),
            Self::NotFound => json!({ "message": "not found" }),
            Self::MethodNotAllowed => json!({ "message": "method not allowed" }),
            Self::Conflict => json!({ "message": "conflicting documents" }),
            Self::PayloadTooLarge(limit) => json!({
                "message": format!("request body is larger than {limit} bytes"),
                "max_size": limit
            }),
            Self::TooManyRequests(_) => json!({ "message": "too many requests" }),
            Self::Unavailable(_) => json!({ "message": "datastore unreachable" }),
            Self::Internal(_) => json!({ "message": "unspecified fault" }),
            Self::System { data, .. } => data.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(detail) => write!(f, "internal error: {detail}"),
            Self::Unavailable(detail) => write!(f, "unavailable: {detail}"),
            other => write!(f, "{} {}", other.status().as_u16(), other.message()),
        }
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(error = %detail, "datastore unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status());
        if let Self::TooManyRequests(retry_after) = self {
            response.insert_header(("Retry-After", retry_after.to_string()));
        }
        let mut response = response.finish();
        response
            .extensions_mut()
            .insert(PendingEnvelope::Error(self.clone()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_keep_every_field_and_rule() {
        let mut errors =
            ValidationErrors::single("name", "required", "Field is required but missing");
        errors.add_with(
            "cycle",
            "enum",
            "Value not found in enumerated list of values",
            json!({"target": ["date"], "value": "hourly"}),
        );
        let out = errors.to_json();
        assert_eq!(
            out["name"]["required"]["message"],
            "Field is required but missing"
        );
        assert_eq!(out["cycle"]["enum"]["value"], "hourly");
        assert_eq!(out["cycle"]["enum"]["target"][0], "date");
    }

    #[test]
    fn system_errors_have_kazoo_codes() {
        let e = ApiError::BadIdentifier("abc".into());
        assert_eq!(e.status().as_u16(), 404);
        assert_eq!(e.message(), "bad_identifier");
        assert_eq!(e.data()["cause"], "abc");
        assert_eq!(
            ApiError::InvalidCredentials.data()["message"],
            "invalid credentials"
        );
        assert_eq!(ApiError::MethodNotAllowed.status().as_u16(), 405);
    }
}

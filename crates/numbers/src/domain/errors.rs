//! The number manager's errors (`knm_errors:to_json/3`): `data` is
//! `{code, error, message, cause?}`, the HTTP status is `code` and the envelope
//! `message` is `error`.

use actix_web::http::StatusCode;
use crossbar_envelope::ApiError;
use serde_json::{json, Map, Value};

/// One number-manager failure, before it becomes an [`ApiError`] (collections report
/// it per number inside a 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError {
    pub code: u16,
    pub error: &'static str,
    pub message: String,
    pub cause: Option<String>,
}

impl NumberError {
    fn new(code: u16, error: &'static str, message: String, cause: Option<String>) -> Self {
        Self {
            code,
            error,
            message,
            cause,
        }
    }

    pub fn number_exists(number: &str) -> Self {
        Self::new(
            409,
            "number_exists",
            format!("number {number} already exists"),
            Some(number.to_string()),
        )
    }

    pub fn invalid_state_transition(from: Option<&str>, to: &str) -> Self {
        let from = from.unwrap_or("(nothing)");
        Self::new(
            400,
            "invalid_state_transition",
            "invalid state transition".into(),
            Some(format!("from {from} to {to}")),
        )
    }

    pub fn no_change_required() -> Self {
        Self::new(400, "no_change_required", "no change required".into(), None)
    }

    pub fn number_is_porting(number: &str) -> Self {
        Self::new(
            400,
            "number_is_porting",
            format!("number {number} is porting"),
            Some(number.to_string()),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            403,
            "forbidden",
            "requestor is unauthorized to perform operation".into(),
            None,
        )
    }

    pub fn not_found(number: &str) -> Self {
        Self::new(
            404,
            "not_found",
            format!("number {number} not found"),
            Some(number.to_string()),
        )
    }

    pub fn invalid(cause: &str) -> Self {
        Self::new(400, "invalid", "invalid".into(), Some(cause.to_string()))
    }

    /// The knm error object.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("code".into(), json!(self.code));
        out.insert("error".into(), json!(self.error));
        out.insert("message".into(), json!(self.message));
        if let Some(cause) = &self.cause {
            out.insert("cause".into(), json!(cause));
        }
        Value::Object(out)
    }
}

impl From<NumberError> for ApiError {
    fn from(error: NumberError) -> Self {
        if error.code == 404 {
            // A number that is absent or not visible reads like any unknown id.
            return number_not_found();
        }
        ApiError::System {
            status: StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: error.error.to_string(),
            data: error.to_json(),
        }
    }
}

/// 404 for a number that does not exist or that the caller may not see.
pub fn number_not_found() -> ApiError {
    ApiError::System {
        status: StatusCode::NOT_FOUND,
        message: "bad_identifier".into(),
        data: json!({"message": "bad identifier", "not_found": "The number could not be found"}),
    }
}

/// Either a number-manager failure or a general one (database, validation).
#[derive(Debug)]
pub enum OpError {
    Number(NumberError),
    Api(ApiError),
}

impl From<NumberError> for OpError {
    fn from(error: NumberError) -> Self {
        Self::Number(error)
    }
}

impl From<ApiError> for OpError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<OpError> for ApiError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::Number(error) => error.into(),
            OpError::Api(error) => error,
        }
    }
}

impl OpError {
    /// The per-number error object of a collection answer.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Number(error) => error.to_json(),
            Self::Api(error) => json!({
                "code": error.status().as_u16(),
                "error": error.message(),
                "message": error.data().get("message").cloned().unwrap_or(Value::Null),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_knm_errors() {
        assert_eq!(
            NumberError::number_exists("+14155550123").to_json(),
            json!({"code": 409, "error": "number_exists", "cause": "+14155550123",
                   "message": "number +14155550123 already exists"})
        );
        assert_eq!(
            NumberError::invalid_state_transition(Some("available"), "port_in").to_json(),
            json!({"code": 400, "error": "invalid_state_transition",
                   "message": "invalid state transition", "cause": "from available to port_in"})
        );
        assert_eq!(
            NumberError::unauthorized().to_json(),
            json!({"code": 403, "error": "forbidden",
                   "message": "requestor is unauthorized to perform operation"})
        );
        let api: ApiError = NumberError::no_change_required().into();
        assert_eq!(api.status(), StatusCode::BAD_REQUEST);
        assert_eq!(api.message(), "no_change_required");
    }
}

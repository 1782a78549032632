//! The request envelope (`data`, `auth_token`, `verb`, `accept_charges`) and the
//! lookup of "request values" (body `data`, then query string, then envelope).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::render::MAX_BODY_BYTES;

/// The raw token the client presented (header, query or body), echoed in the envelope.
#[derive(Debug, Clone)]
pub struct RawAuthToken(pub String);

/// A parsed request envelope.
#[derive(Debug, Clone, Default)]
pub struct RequestEnvelope {
    /// The `data` object; `{}` when the body is empty or has no `data`.
    pub data: Map<String, Value>,
    /// Other envelope keys (lowercased): `accept_charges`, `verb`, `auth_token`, ...
    pub envelope: Map<String, Value>,
    /// The query string, decoded.
    pub query: Vec<(String, String)>,
}

impl RequestEnvelope {
    /// Parses a body. An empty body means empty `data` (bodiless PUTs).
    pub fn parse(body: &[u8], query_string: &str) -> Result<Self, ApiError> {
        let query = parse_query(query_string);
        let trimmed = body.iter().all(|b| b.is_ascii_whitespace());
        if trimmed {
            return Ok(Self {
                query,
                ..Self::default()
            });
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| invalid_json(&e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(invalid_json("All JSON must be valid"));
        };
        let mut envelope = Map::new();
        for (key, value) in object {
            envelope.insert(key.to_ascii_lowercase(), value);
        }
        let data = match envelope.remove("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data,
            Some(_) => {
                return Err(ApiError::validation(
                    "data",
                    "type",
                    "Value did not match type(s): object",
                ))
            }
        };
        Ok(Self {
            data,
            envelope,
            query,
        })
    }

    /// A request value: body `data`, then query string, then envelope (Kazoo's order).
    pub fn value(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.data.get(key) {
            return Some(v.clone());
        }
        if let Some((_, v)) = self.query.iter().find(|(k, _)| k == key) {
            return Some(Value::String(v.clone()));
        }
        self.envelope.get(key).cloned()
    }

    /// A request value read as a boolean (`true`/`"true"`).
    pub fn flag(&self, key: &str) -> bool {
        match self.value(key) {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    pub fn into_data(self) -> Value {
        Value::Object(self.data)
    }
}

fn invalid_json(message: &str) -> ApiError {
    let mut errors = crate::ValidationErrors::new();
    errors.add_with(
        "json",
        "invalid",
        message,
        serde_json::json!({ "target": "body" }),
    );
    ApiError::Validation(errors)
}

/// Decodes a query string into pairs. `+` is kept as `+` (numbers like `+1415...`).
pub fn parse_query(query_string: &str) -> Vec<(String, String)> {
    query_string
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The first value of `key` in a query string.
pub fn query_value(query_string: &str, key: &str) -> Option<String> {
    parse_query(query_string)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The `verb` a POST body tunnels, if it is a JSON object that has one.
pub fn find_verb_override(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("verb"))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

/// The token from body envelope, recorded so that the envelope echoes it and
/// authorisation can find it when headers and query carry none.
#[derive(Debug, Clone)]
pub struct BodyAuthToken(pub String);

impl FromRequest for RequestEnvelope {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk: Bytes =
                    chunk.map_err(|_| invalid_json("failed to read request body"))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
                }
                body.extend_from_slice(&chunk);
            }
            let envelope = RequestEnvelope::parse(&body, req.query_string())?;
            if let Some(Value::String(token)) = envelope.envelope.get("auth_token") {
                if req.extensions().get::<RawAuthToken>().is_none() {
                    req.extensions_mut().insert(RawAuthToken(token.clone()));
                }
            }
            Ok(envelope)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_empty_data() {
        let env = RequestEnvelope::parse(b"", "").unwrap();
        assert!(env.data.is_empty());
        let env = RequestEnvelope::parse(b"  \n", "").unwrap();
        assert!(env.data.is_empty());
    }

    #[test]
    fn envelope_keys_are_lowercased() {
        let env = RequestEnvelope::parse(br#"{"DATA":{"a":1},"Accept_Charges":true}"#, "").unwrap();
        assert_eq!(env.data["a"], 1);
        assert_eq!(env.envelope["accept_charges"], true);
    }

    #[test]
    fn invalid_json_is_a_validation_error() {
        let err = RequestEnvelope::parse(b"{nope", "").unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.data()["json"]["invalid"]["target"], "body");
    }

    #[test]
    fn data_must_be_an_object() {
        let err = RequestEnvelope::parse(br#"{"data":[1]}"#, "").unwrap_err();
        assert_eq!(
            err.data()["data"]["type"]["message"],
            "Value did not match type(s): object"
        );
    }

    #[test]
    fn request_values_read_data_then_query_then_envelope() {
        let env = RequestEnvelope::parse(
            br#"{"data":{"reason":"a"},"reason":"c"}"#,
            "reason=b&x=%2B1",
        )
        .unwrap();
        assert_eq!(env.value("reason").unwrap(), "a");
        assert_eq!(env.value("x").unwrap(), "+1");
    }

    #[test]
    fn plus_in_query_stays_plus() {
        assert_eq!(query_value("n=+14155550100", "n").unwrap(), "+14155550100");
    }

    #[test]
    fn verb_override_found_case_insensitively() {
        assert_eq!(
            find_verb_override(br#"{"VERB":"delete"}"#).unwrap(),
            "delete"
        );
        assert!(find_verb_override(b"not json").is_none());
    }
}

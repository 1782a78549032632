//! The request bodies of `user_auth` and `api_auth`, checked like Kazoo's schemas
//! `user_auth.json` and `api_auth.json` (same rules, same error shapes), so that this
//! crate does not need the schema crate for its few fields.
//!
//! Secrets (`credentials`, `api_key`) are never echoed in an error's `value`/`cause`,
//! and the parsed requests do not print them in `Debug`.

use std::fmt;

use crossbar_authz::{AccountSelector, CredentialMethod};
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{json, Map, Value};

const REQUIRED: &str = "Field is required but missing";

/// Kazoo's pattern text and the check that implements it.
type Pattern = (&'static str, fn(&str) -> bool);

/// Length and pattern limits of one string field.
struct StringRule {
    min: usize,
    max: usize,
    pattern: Option<Pattern>,
    secret: bool,
}

/// Checks one optional string field; returns it when it is valid.
fn check_string(
    errors: &mut ValidationErrors,
    data: &Map<String, Value>,
    field: &str,
    rule: &StringRule,
) -> Option<String> {
    let value = data.get(field)?;
    let echo = |extra: Value| -> Value {
        if rule.secret {
            Value::Object(Map::new())
        } else {
            extra
        }
    };
    let Value::String(text) = value else {
        let mut detail = json!({ "target": "string" });
        if !rule.secret {
            detail["value"] = value.clone();
        }
        errors.add_with(field, "type", "Value did not match type(s): string", detail);
        return None;
    };
    let length = text.chars().count();
    let mut ok = true;
    if length < rule.min {
        let mut detail = echo(json!({ "cause": text, "value": text }));
        detail["target"] = json!(rule.min);
        errors.add_with(
            field,
            "minLength",
            format!("String must be at least {} characters", rule.min),
            detail,
        );
        ok = false;
    } else if length > rule.max {
        let mut detail = echo(json!({ "cause": text, "value": text }));
        detail["target"] = json!(rule.max);
        errors.add_with(
            field,
            "maxLength",
            format!("String must not be more than {} characters", rule.max),
            detail,
        );
        ok = false;
    }
    if let Some((pattern, matches)) = rule.pattern {
        if !matches(text) {
            let mut detail = echo(json!({ "value": text }));
            detail["target"] = json!(pattern);
            errors.add_with(
                field,
                "pattern",
                format!("Failed to match pattern '{pattern}'"),
                detail,
            );
            ok = false;
        }
    }
    ok.then(|| text.clone())
}

/// `^[.\w_-]+$` (Erlang `\w` without the unicode flag: ASCII word characters).
fn is_realm_text(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An account name as Kazoo compares it: lowercase, alphanumerics only.
pub fn normalize_account_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A checked `PUT /v2/user_auth` body.
#[derive(Clone, PartialEq)]
pub struct UserAuthRequest {
    /// Lowercase hex md5/sha1 of `user:pass`.
    pub credentials: String,
    pub method: CredentialMethod,
    /// In the order they are tried: phone number, realm, name.
    pub selectors: Vec<AccountSelector>,
}

impl fmt::Debug for UserAuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAuthRequest")
            .field("credentials", &"<redacted>")
            .field("method", &self.method)
            .field("selectors", &self.selectors)
            .finish()
    }
}

impl UserAuthRequest {
    /// Validates `data` like schema `user_auth.json` (all errors at once).
    pub fn parse(data: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut errors = ValidationErrors::new();
        let credentials = check_string(
            &mut errors,
            data,
            "credentials",
            &StringRule {
                min: 1,
                max: 64,
                pattern: None,
                secret: true,
            },
        );
        if !data.contains_key("credentials") {
            errors.add("credentials", "required", REQUIRED);
        }
        let method = match data.get("method") {
            None => Some(CredentialMethod::Md5),
            Some(Value::String(m)) if m == "md5" => Some(CredentialMethod::Md5),
            Some(Value::String(m)) if m == "sha" => Some(CredentialMethod::Sha1),
            Some(Value::String(m)) => {
                errors.add_with(
                    "method",
                    "enum",
                    "Value not found in enumerated list of values",
                    json!({ "target": ["md5", "sha"], "value": m }),
                );
                None
            }
            Some(other) => {
                errors.add_with(
                    "method",
                    "type",
                    "Value did not match type(s): string",
                    json!({ "target": "string", "value": other }),
                );
                None
            }
        };
        let name = check_string(
            &mut errors,
            data,
            "account_name",
            &StringRule {
                min: 1,
                max: 128,
                pattern: None,
                secret: false,
            },
        );
        let realm_rule = StringRule {
            min: 4,
            max: 253,
            pattern: Some((r"^[.\w_-]+$", is_realm_text)),
            secret: false,
        };
        let realm = check_string(&mut errors, data, "account_realm", &realm_rule);
        // `realm` is Kazoo's alias, used only when `account_realm` is absent.
        let realm = if data.contains_key("account_realm") {
            realm
        } else {
            check_string(&mut errors, data, "realm", &realm_rule)
        };
        let phone = check_string(
            &mut errors,
            data,
            "phone_number",
            &StringRule {
                min: 1,
                max: 64,
                pattern: None,
                secret: false,
            },
        );
        errors.into_result()?;

        let (Some(credentials), Some(method)) = (credentials, method) else {
            // unreachable: a missing or bad field was reported above
            return Err(ApiError::validation("credentials", "required", REQUIRED));
        };
        let mut selectors = Vec::new();
        if let Some(phone) = phone.filter(|p| !p.is_empty()) {
            selectors.push(AccountSelector::PhoneNumber(phone));
        }
        if let Some(realm) = realm {
            selectors.push(AccountSelector::Realm(realm.to_lowercase()));
        }
        if let Some(name) = name
            .map(|n| normalize_account_name(&n))
            .filter(|n| !n.is_empty())
        {
            selectors.push(AccountSelector::Name(name));
        }
        Ok(Self {
            credentials: credentials.to_ascii_lowercase(),
            method,
            selectors,
        })
    }

    /// The keys the login throttle counts this request's failures under.
    pub fn throttle_keys(&self) -> Vec<String> {
        self.selectors.iter().map(selector_key).collect()
    }
}

/// The throttle key of one selector (already normalised by [`UserAuthRequest::parse`]).
pub fn selector_key(selector: &AccountSelector) -> String {
    match selector {
        AccountSelector::PhoneNumber(number) => format!("phone:{number}"),
        AccountSelector::Realm(realm) => format!("realm:{}", realm.to_lowercase()),
        AccountSelector::Name(name) => format!("name:{}", normalize_account_name(name)),
    }
}

/// A checked `PUT /v2/api_auth` body: the account API key.
#[derive(Clone, PartialEq)]
pub struct ApiAuthRequest {
    pub api_key: String,
}

impl fmt::Debug for ApiAuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiAuthRequest")
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl ApiAuthRequest {
    /// Validates `data` like schema `api_auth.json` (`additionalProperties: false`).
    pub fn parse(data: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut errors = ValidationErrors::new();
        for (key, value) in data {
            if key != "api_key" {
                errors.add_with(
                    key,
                    "additionalProperties",
                    "Strict checking of data is enabled; only include schema-defined properties",
                    json!({ "value": value }),
                );
            }
        }
        let api_key = check_string(
            &mut errors,
            data,
            "api_key",
            &StringRule {
                min: 64,
                max: 64,
                pattern: None,
                secret: true,
            },
        );
        if !data.contains_key("api_key") {
            errors.add("api_key", "required", REQUIRED);
        }
        errors.into_result()?;
        let api_key =
            api_key.ok_or_else(|| ApiError::validation("api_key", "required", REQUIRED))?;
        Ok(Self { api_key })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn missing_credentials_is_required() {
        let err = UserAuthRequest::parse(&data(json!({"account_name": "x"}))).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(
            err.data(),
            json!({"credentials": {"required": {"message": "Field is required but missing"}}})
        );
    }

    #[test]
    fn every_error_is_reported_and_secrets_are_not_echoed() {
        let long = "a".repeat(65);
        let err = UserAuthRequest::parse(&data(json!({
            "credentials": long, "method": "sha1", "account_realm": "a b", "phone_number": 5
        })))
        .unwrap_err();
        let d = err.data();
        assert_eq!(
            d["credentials"]["maxLength"],
            json!({"message": "String must not be more than 64 characters", "target": 64})
        );
        assert_eq!(d["method"]["enum"]["target"], json!(["md5", "sha"]));
        assert_eq!(d["method"]["enum"]["value"], "sha1");
        assert_eq!(d["account_realm"]["minLength"]["target"], 4);
        assert_eq!(
            d["account_realm"]["pattern"]["message"],
            r"Failed to match pattern '^[.\w_-]+$'"
        );
        assert_eq!(
            d["phone_number"]["type"]["message"],
            "Value did not match type(s): string"
        );
        assert!(!d.to_string().contains(&long));
    }

    #[test]
    fn selectors_are_ordered_and_normalised() {
        let req = UserAuthRequest::parse(&data(json!({
            "credentials": "ABCDEF", "account_name": "Example Co.", "realm": "Sip.Example.COM",
            "phone_number": "+14155550100"
        })))
        .unwrap();
        assert_eq!(req.credentials, "abcdef");
        assert_eq!(req.method, CredentialMethod::Md5);
        assert_eq!(
            req.selectors,
            vec![
                AccountSelector::PhoneNumber("+14155550100".into()),
                AccountSelector::Realm("sip.example.com".into()),
                AccountSelector::Name("exampleco".into()),
            ]
        );
        assert_eq!(
            req.throttle_keys(),
            vec![
                "phone:+14155550100",
                "realm:sip.example.com",
                "name:exampleco"
            ]
        );
        assert!(!format!("{req:?}").contains("abcdef"));
    }

    #[test]
    fn account_realm_wins_over_realm_and_sha_is_sha1() {
        let req = UserAuthRequest::parse(&data(json!({
            "credentials": "x", "method": "sha", "account_realm": "a.example", "realm": "b.example"
        })))
        .unwrap();
        assert_eq!(req.method, CredentialMethod::Sha1);
        assert_eq!(
            req.selectors,
            vec![AccountSelector::Realm("a.example".into())]
        );
    }

    #[test]
    fn api_key_rules() {
        let key = "k".repeat(64);
        assert_eq!(
            ApiAuthRequest::parse(&data(json!({"api_key": key})))
                .unwrap()
                .api_key,
            key
        );
        let err = ApiAuthRequest::parse(&data(json!({}))).unwrap_err();
        assert_eq!(
            err.data(),
            json!({"api_key": {"required": {"message": "Field is required but missing"}}})
        );
        let err = ApiAuthRequest::parse(&data(json!({"api_key": "short"}))).unwrap_err();
        assert_eq!(
            err.data(),
            json!({"api_key": {"minLength": {"message": "String must be at least 64 characters", "target": 64}}})
        );
        let err =
            ApiAuthRequest::parse(&data(json!({"api_key": key, "restrictions": {}}))).unwrap_err();
        assert_eq!(
            err.data()["restrictions"]["additionalProperties"]["message"],
            "Strict checking of data is enabled; only include schema-defined properties"
        );
    }
}

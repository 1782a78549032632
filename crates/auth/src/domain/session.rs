//! The `data` of login answers and of token introspection (`crossbar_util:populate_resp`
//! and the token info of `GET /v2/user_auth/{token}` / `GET /v2/token_auth`).

use crossbar_authz::{AccountRef, Claims, UserRef};
use serde_json::{json, Map, Value};

/// Language when the user has none (Kazoo's `?DEFAULT_LANGUAGE`).
pub const DEFAULT_LANGUAGE: &str = "en-us";

fn language(user: Option<&UserRef>) -> String {
    user.and_then(|u| u.language.clone())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string())
}

fn common(
    account: &AccountRef,
    user: Option<&UserRef>,
    reseller_id: Option<&str>,
) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("account_id".into(), json!(account.id));
    if let Some(user) = user {
        data.insert("owner_id".into(), json!(user.id));
    }
    data.insert("apps".into(), json!([]));
    data.insert("language".into(), json!(language(user)));
    data.insert("account_name".into(), json!(account.name));
    if let Some(reseller_id) = reseller_id {
        data.insert("reseller_id".into(), json!(reseller_id));
    }
    data.insert("is_reseller".into(), json!(account.is_reseller));
    data
}

/// `data` of a successful `PUT /v2/user_auth` (with `user`) or `PUT /v2/api_auth`.
pub fn login_data(
    account: &AccountRef,
    user: Option<&UserRef>,
    reseller_id: Option<&str>,
) -> Value {
    let mut data = common(account, user, reseller_id);
    data.insert("is_master_account".into(), json!(account.tree.is_empty()));
    Value::Object(data)
}

/// `data` describing a token in use: its claims plus what they refer to.
pub fn token_info(
    claims: &Claims,
    account: &AccountRef,
    user: Option<&UserRef>,
    reseller_id: Option<&str>,
) -> Value {
    let mut data = common(account, user, reseller_id);
    // The claim is authoritative even when the user record is gone.
    match &claims.owner_id {
        Some(owner_id) => {
            data.insert("owner_id".into(), json!(owner_id));
        }
        None => {
            data.remove("owner_id");
        }
    }
    data.insert("method".into(), json!(claims.method));
    data.insert("id".into(), json!(claims.jti));
    Value::Object(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn account(tree: &[&str]) -> AccountRef {
        AccountRef {
            id: "a".repeat(32),
            name: "Example Co".into(),
            realm: "example.sip".into(),
            tree: tree.iter().map(|s| s.to_string()).collect(),
            enabled: true,
            superduper_admin: false,
            is_reseller: true,
        }
    }

    fn user(language: Option<&str>) -> UserRef {
        UserRef {
            id: "u".repeat(32),
            account_id: "a".repeat(32),
            username: "alice".into(),
            first_name: "A".into(),
            last_name: "L".into(),
            priv_level: "admin".into(),
            enabled: true,
            language: language.map(str::to_string),
        }
    }

    #[test]
    fn login_data_has_kazoo_fields() {
        let data = login_data(&account(&[]), Some(&user(Some("fr-fr"))), Some("r"));
        assert_eq!(
            data,
            json!({
                "account_id": "a".repeat(32), "owner_id": "u".repeat(32), "apps": [],
                "language": "fr-fr", "account_name": "Example Co", "reseller_id": "r",
                "is_reseller": true, "is_master_account": true
            })
        );
        let data = login_data(&account(&["root"]), None, None);
        assert_eq!(data["language"], "en-us");
        assert_eq!(data["is_master_account"], false);
        assert!(data.get("owner_id").is_none());
    }

    #[test]
    fn token_info_names_the_token() {
        let claims = Claims {
            iss: "kazoo".into(),
            jti: "j".into(),
            account_id: "a".repeat(32),
            owner_id: Some("u".repeat(32)),
            method: "cb_user_auth".into(),
            priv_level: None,
            original_account_id: None,
            original_owner_id: None,
            iat: 0,
            exp: 1,
        };
        let data = token_info(&claims, &account(&[]), None, Some("r"));
        assert_eq!(data["id"], "j");
        assert_eq!(data["method"], "cb_user_auth");
        assert_eq!(data["owner_id"], "u".repeat(32));
        assert_eq!(data["language"], "en-us");
        assert!(data.get("is_master_account").is_none());
    }
}

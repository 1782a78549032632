//! Account rules: name and realm normalisation, generated realms, what a request may
//! set, and the view returned to clients.

use serde_json::{Map, Value};

/// Kazoo's name key: lowercase, alphanumerics only.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Realm as stored: spaces removed.
pub fn clean_realm(realm: &str) -> String {
    realm.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A random realm `<6 hex>.<suffix>`.
pub fn generated_realm(suffix: &str) -> String {
    let id = crossbar_envelope::ids::new_id();
    format!("{}.{suffix}", &id[..6])
}

/// Fields the server computes; dropped from requests (clients echo them back).
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "created",
    "wnm_allow_additions",
    "superduper_admin",
    "billing_mode",
    "reseller_id",
    "is_reseller",
    "api_key",
    "trial_time_left",
    "descendants_count",
];

pub fn strip_read_only(data: &mut Map<String, Value>) {
    data.retain(|key, _| {
        !READ_ONLY_FIELDS.contains(&key.as_str()) && !crossbar_crud::json::is_private_key(key)
    });
}

/// Facts of the account and its surroundings that shape the view.
pub struct ViewFacts<'a> {
    pub id: &'a str,
    pub created: i64,
    pub enabled: bool,
    pub superduper_admin: bool,
    pub is_reseller: bool,
    pub wnm_allow_additions: bool,
    pub reseller_id: &'a str,
    pub caller_account_id: &'a str,
    pub master_id: &'a str,
    pub api_key: Option<&'a str>,
}

/// The account as clients see it.
pub fn account_view(doc: &Map<String, Value>, facts: &ViewFacts<'_>) -> Value {
    let mut view = crossbar_crud::json::public_fields(doc);
    view.insert("id".into(), Value::String(facts.id.into()));
    view.insert("created".into(), Value::from(facts.created));
    view.insert("enabled".into(), Value::Bool(facts.enabled));
    view.insert(
        "superduper_admin".into(),
        Value::Bool(facts.superduper_admin),
    );
    view.insert("is_reseller".into(), Value::Bool(facts.is_reseller));
    view.insert(
        "wnm_allow_additions".into(),
        Value::Bool(facts.wnm_allow_additions),
    );
    view.insert(
        "reseller_id".into(),
        Value::String(facts.reseller_id.into()),
    );
    let billing_mode = if facts.reseller_id == facts.caller_account_id {
        "limits_only"
    } else if facts.reseller_id == facts.master_id {
        "normal"
    } else {
        "manual"
    };
    view.insert("billing_mode".into(), Value::String(billing_mode.into()));
    if let Some(key) = facts.api_key {
        view.insert("api_key".into(), Value::String(key.into()));
    }
    Value::Object(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_like_kazoo() {
        assert_eq!(name_key("Example Co."), "exampleco");
        assert_eq!(name_key("ÉCOLE-12"), "école12");
    }

    #[test]
    fn realms() {
        assert_eq!(clean_realm(" a b.c "), "ab.c");
        let r = generated_realm("sip.example.com");
        assert_eq!(r.len(), 6 + 1 + "sip.example.com".len());
    }
}

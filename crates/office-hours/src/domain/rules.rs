//! The four office-hours resources as rules of the shared document store: their
//! `pvt_type`, schema, listing rows and order (Kazoo's views), and the checks beyond
//! the schema (rule-set references, mailbox numbers, box owners).

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_crud::{Documents, ResourceRules, StoredDoc, UniqueClaim, WriteContext};
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{json, Map, Value};

use crate::UserLookup;

/// `pvt_type` of temporal rules.
pub const TEMPORAL_RULE: &str = "temporal_rule";
/// `pvt_type` of temporal rule sets.
pub const TEMPORAL_RULE_SET: &str = "temporal_rule_set";
/// `pvt_type` of menus.
pub const MENU: &str = "menu";
/// `pvt_type` of voicemail boxes.
pub const VMBOX: &str = "vmbox";

/// Kazoo's message for a mailbox that is not an integer or is taken.
pub const MAILBOX_UNIQUE_MESSAGE: &str = "Invalid mailbox number or already exists";

/// A listing row: the given fields, those without a value left out (a CouchDB view
/// drops `undefined`), and `flags` defaulting to `[]` (`doc.flags || []`).
fn row(doc: &StoredDoc, fields: &[(&str, &str)]) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(doc.id.clone()));
    for (key, source) in fields {
        if let Some(value) = doc.doc.get(*source).filter(|v| !v.is_null()) {
            out.insert((*key).to_string(), value.clone());
        }
    }
    let flags = doc
        .doc
        .get("flags")
        .filter(|f| !f.is_null())
        .cloned()
        .unwrap_or_else(|| json!([]));
    out.insert("flags".into(), flags);
    Value::Object(out)
}

/// Listings ordered by document id, as Kazoo's views keyed `[type, id]` are: every
/// row has the same sort key, so the (sort key, id) keyset is the id.
fn by_id() -> String {
    String::new()
}

/// `/temporal_rules` (schema `temporal_rules`).
pub struct TemporalRulesRules;

#[async_trait]
impl ResourceRules for TemporalRulesRules {
    fn kind(&self) -> &'static str {
        TEMPORAL_RULE
    }

    fn collection(&self) -> &'static str {
        "temporal_rules"
    }

    fn schema(&self) -> &'static str {
        "temporal_rules"
    }

    fn sort_key(&self, _doc: &Map<String, Value>) -> String {
        by_id()
    }

    /// `{id, name, type, flags}` (crossbar_listing/list_by_type_id).
    fn summary(&self, doc: &StoredDoc) -> Value {
        row(doc, &[("name", "name"), ("type", "type")])
    }
}

/// `/temporal_rules_sets` (schema `temporal_rules_sets`). Every id in
/// `temporal_rules` must be a live temporal rule of the same account.
pub struct TemporalRuleSetsRules {
    pub docs: Documents,
}

#[async_trait]
impl ResourceRules for TemporalRuleSetsRules {
    fn kind(&self) -> &'static str {
        TEMPORAL_RULE_SET
    }

    fn collection(&self) -> &'static str {
        "temporal_rules_sets"
    }

    fn schema(&self) -> &'static str {
        "temporal_rules_sets"
    }

    async fn check(
        &self,
        ctx: &WriteContext,
        doc: &Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        let Some(Value::Array(ids)) = doc.get("temporal_rules") else {
            return Ok(());
        };
        let mut missing: Vec<String> = Vec::new();
        for id in ids.iter().filter_map(Value::as_str) {
            if missing.iter().any(|m| m == id) {
                continue;
            }
            if !self.docs.exists(&ctx.account_id, TEMPORAL_RULE, id).await? {
                missing.push(id.to_string());
            }
        }
        missing_rules_error(&missing)
    }

    fn sort_key(&self, _doc: &Map<String, Value>) -> String {
        by_id()
    }

    /// `{id, name, rules, flags}`: `rules` is the document's `temporal_rules`.
    fn summary(&self, doc: &StoredDoc) -> Value {
        row(doc, &[("name", "name"), ("rules", "temporal_rules")])
    }
}

/// The 400 for rule ids that are not temporal rules of the account (none: Ok).
pub fn missing_rules_error(missing: &[String]) -> Result<(), ApiError> {
    let message = match missing {
        [] => return Ok(()),
        [one] => format!("Temporal rule {one} not found in this account"),
        many => format!(
            "Temporal rules {} not found in this account",
            many.join(", ")
        ),
    };
    let mut errors = ValidationErrors::new();
    errors.add_with(
        "temporal_rules",
        "not_found",
        message,
        json!({ "cause": missing }),
    );
    errors.into_result()
}

/// `/menus` (schema `menus`), created with `pvt_vsn` "2" as Kazoo does.
pub struct MenusRules;

#[async_trait]
impl ResourceRules for MenusRules {
    fn kind(&self) -> &'static str {
        MENU
    }

    fn collection(&self) -> &'static str {
        "menus"
    }

    fn schema(&self) -> &'static str {
        "menus"
    }

    fn version(&self) -> &'static str {
        "2"
    }

    fn sort_key(&self, _doc: &Map<String, Value>) -> String {
        by_id()
    }

    /// `{id, name, flags}` (menus/crossbar_listing).
    fn summary(&self, doc: &StoredDoc) -> Value {
        row(doc, &[("name", "name")])
    }
}

/// `/vmboxes` (schema `vmboxes`): the mailbox number converts to an integer and is
/// unique among the account's boxes; the owner, when set, is a user of the account.
pub struct VmboxesRules {
    pub docs: Documents,
    pub users: Arc<dyn UserLookup>,
}

/// The integer a mailbox number stands for, the way Kazoo reads it
/// (`kz_json:get_integer_value/2`, i.e. `kz_term:to_integer/1`): a JSON integer, or a
/// string of an integer (`"+12"`, `"0100"` = 100), or of a decimal, rounded
/// (`"12.5"` = 13). Anything else is not a mailbox number.
pub fn mailbox_number(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(text) => integer_of(text),
        _ => None,
    }
}

fn integer_of(text: &str) -> Option<i128> {
    if let Ok(n) = text.parse::<i128>() {
        return Some(n);
    }
    // Erlang's binary_to_float: digits, a dot, digits (an exponent may follow).
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = unsigned.split_once('.')?;
    let frac_digits = frac.split(['e', 'E']).next().unwrap_or_default();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac_digits) {
        return None;
    }
    let value = text.parse::<f64>().ok().filter(|v| v.is_finite())?;
    let rounded = value.round();
    // Beyond i128 the number cannot be a 30-character mailbox anyway.
    (rounded.abs() < 1e38).then_some(rounded as i128)
}

fn mailbox_unique() -> ValidationErrors {
    ValidationErrors::single("mailbox", "unique", MAILBOX_UNIQUE_MESSAGE)
}

#[async_trait]
impl ResourceRules for VmboxesRules {
    fn kind(&self) -> &'static str {
        VMBOX
    }

    fn collection(&self) -> &'static str {
        "vmboxes"
    }

    fn schema(&self) -> &'static str {
        "vmboxes"
    }

    /// Messages are not part of the box document: a `messages` array in a request is
    /// dropped. A mailbox that is not an integer is refused with `mailbox.unique`
    /// together with whatever the schema says, as Kazoo reports both.
    async fn prepare(
        &self,
        _ctx: &WriteContext,
        data: &mut Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        data.remove("messages");
        match data.get("mailbox") {
            None | Some(Value::Null) => Ok(()),
            Some(mailbox) if mailbox_number(mailbox).is_some() => Ok(()),
            Some(_) => {
                let mut errors = mailbox_unique();
                let mut copy = data.clone();
                if let Err(ApiError::Validation(schema_errors)) =
                    self.docs.validate(self.schema(), &mut copy)
                {
                    errors.merge(schema_errors);
                }
                Err(ApiError::Validation(errors))
            }
        }
    }

    async fn check(
        &self,
        ctx: &WriteContext,
        doc: &Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        if let Some(owner) = doc.get("owner_id").and_then(Value::as_str) {
            if !self.users.user_exists(&ctx.account_id, owner).await? {
                return Err(ApiError::Validation(ValidationErrors::single(
                    "owner_id",
                    "not_found",
                    format!("Owner {owner} is not a user of this account"),
                )));
            }
        }
        Ok(())
    }

    /// The mailbox number, as an integer, is unique among the account's live boxes
    /// (`"100"` and `"0100"` are the same box).
    fn unique_claims(&self, doc: &Map<String, Value>) -> Vec<UniqueClaim> {
        doc.get("mailbox")
            .and_then(mailbox_number)
            .map(|number| UniqueClaim {
                claim: "mailbox".into(),
                value: number.to_string(),
                error: mailbox_unique(),
            })
            .into_iter()
            .collect()
    }

    /// `{id, name, mailbox, owner_id, messages, flags}` (vmboxes/crossbar_listing);
    /// `messages` counts the box's new and saved messages (none are stored yet).
    fn summary(&self, doc: &StoredDoc) -> Value {
        let mut out = row(
            doc,
            &[
                ("name", "name"),
                ("mailbox", "mailbox"),
                ("owner_id", "owner_id"),
            ],
        );
        if let Value::Object(map) = &mut out {
            map.insert("messages".into(), Value::from(0));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_numbers_read_like_kazoo() {
        assert_eq!(mailbox_number(&json!("100")), Some(100));
        assert_eq!(mailbox_number(&json!("0100")), Some(100));
        assert_eq!(mailbox_number(&json!("+7")), Some(7));
        assert_eq!(mailbox_number(&json!("-7")), Some(-7));
        assert_eq!(mailbox_number(&json!("12.5")), Some(13));
        assert_eq!(mailbox_number(&json!("12.4")), Some(12));
        assert_eq!(mailbox_number(&json!(42)), Some(42));
        assert_eq!(
            mailbox_number(&json!("123456789012345678901234567890")),
            Some(123_456_789_012_345_678_901_234_567_890)
        );
        for bad in [
            json!("abc"),
            json!("12a"),
            json!(""),
            json!(" 1"),
            json!("1."),
            json!(".5"),
            json!("1e3"),
            json!("inf"),
            json!("NaN"),
            json!(1.5),
            json!(true),
            json!({}),
            json!([1]),
        ] {
            assert_eq!(mailbox_number(&bad), None, "{bad}");
        }
    }

    #[test]
    fn missing_rules_are_one_error_on_temporal_rules() {
        assert!(missing_rules_error(&[]).is_ok());
        let Err(ApiError::Validation(errors)) = missing_rules_error(&["a".into()]) else {
            panic!("expected a validation error");
        };
        assert_eq!(
            errors.to_json(),
            json!({"temporal_rules": {"not_found": {
                "message": "Temporal rule a not found in this account",
                "cause": ["a"]
            }}})
        );
        let Err(ApiError::Validation(errors)) = missing_rules_error(&["a".into(), "b".into()])
        else {
            panic!("expected a validation error");
        };
        assert_eq!(
            errors.to_json()["temporal_rules"]["not_found"]["message"],
            "Temporal rules a, b not found in this account"
        );
    }
}

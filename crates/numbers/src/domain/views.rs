//! What clients see of a number: the single-number document, the account listing
//! row, and a search result (`knm_number:to_public_json`, `knm_numbers` listing,
//! `knm_search` results).

use serde_json::{json, Map, Value};

use crate::store::numbers::NumberRow;

/// Fields a client may never set on a number (Kazoo keeps them private or derived).
pub const PROTECTED_FIELDS: &[&str] = &[
    "id",
    "_read_only",
    "state",
    "assigned_to",
    "used_by",
    "ported_in",
    "port_id",
    "create_with_state",
];

/// Removes the keys a client may not set; the rest are the number's public fields.
pub fn public_fields(mut data: Map<String, Value>) -> Map<String, Value> {
    data.retain(|key, _| {
        !PROTECTED_FIELDS.contains(&key.as_str())
            && !key.starts_with("pvt_")
            && !key.starts_with('_')
    });
    data
}

fn read_only(row: &NumberRow) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("created".into(), json!(row.created));
    out.insert("modified".into(), json!(row.modified));
    out.insert("state".into(), json!(row.state));
    out.insert("features".into(), json!([]));
    out.insert("features_available".into(), json!([]));
    if let Some(used_by) = &row.used_by {
        out.insert("used_by".into(), json!(used_by));
    }
    if row.ported_in {
        out.insert("ported_in".into(), json!(true));
    }
    if let Some(port_id) = &row.port_id {
        out.insert("port_id".into(), json!(port_id));
    }
    let locality = row.locality();
    if !locality.is_empty() {
        out.insert("locality".into(), Value::Object(locality));
    }
    out
}

/// `GET /phone_numbers/{N}`: public fields, `id`, `state` and `_read_only`.
pub fn number_view(row: &NumberRow) -> Value {
    let mut out = row.fields();
    out.insert("id".into(), json!(row.number));
    out.insert("state".into(), json!(row.state));
    out.insert("_read_only".into(), Value::Object(read_only(row)));
    Value::Object(out)
}

/// The view of a number that was removed (`?hard=true`).
pub fn deleted_view(row: &NumberRow) -> Value {
    let mut view = number_view(row);
    view["state"] = json!("deleted");
    view["_read_only"]["state"] = json!("deleted");
    view["_read_only"]["deleted"] = json!(true);
    view
}

/// One entry of the account listing's `numbers` map.
pub fn listing_entry(row: &NumberRow) -> Value {
    let mut out = Map::new();
    out.insert("state".into(), json!(row.state));
    out.insert("assigned_to".into(), json!(row.assigned_to));
    out.insert("created".into(), json!(row.created));
    out.insert("updated".into(), json!(row.modified));
    out.insert("features".into(), json!([]));
    out.insert("features_available".into(), json!([]));
    if let Some(used_by) = &row.used_by {
        out.insert("used_by".into(), json!(used_by));
    }
    if row.ported_in {
        out.insert("ported_in".into(), json!(true));
    }
    let locality = row.locality();
    if !locality.is_empty() {
        out.insert("locality".into(), Value::Object(locality));
    }
    Value::Object(out)
}

/// One search result (`[{number, e164, formatted_number, npa_nxx, rate_center..., state}]`).
pub fn search_result(row: &NumberRow) -> Value {
    let mut out = row.locality();
    out.insert("number".into(), json!(row.number));
    out.insert("e164".into(), json!(row.number));
    out.insert("state".into(), json!(row.state));
    out.insert("status".into(), json!("success"));
    if let Some(info) = crossbar_numbering::info(&row.number) {
        out.insert("formatted_number".into(), json!(info.national));
    }
    if let Some(nanp) = row.number.strip_prefix("+1").filter(|n| n.len() == 10) {
        out.insert("npa_nxx".into(), json!(&nanp[..6]));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::states::{Holding, NumberState};

    #[test]
    fn protected_fields_never_come_from_a_request() {
        let data = json!({"state": "in_service", "assigned_to": "x", "pvt_x": 1, "_read_only": {}, "cnam": {"display_name": "A"}});
        let Value::Object(data) = data else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(public_fields(data)),
            json!({"cnam": {"display_name": "A"}})
        );
    }

    #[test]
    fn views() {
        let row = NumberRow::new(
            "+14155550123",
            &Holding {
                state: NumberState::Reserved,
                assigned_to: Some("a".into()),
                reserve_history: vec![],
            },
            10,
        );
        let view = number_view(&row);
        assert_eq!(view["id"], "+14155550123");
        assert_eq!(view["state"], "reserved");
        assert_eq!(view["_read_only"]["created"], 10);
        assert_eq!(search_result(&row)["npa_nxx"], "415555");
    }
}

//! `GET /v2/accounts/{A}/callflows/{C}/lint`: references to documents that do not
//! exist in the account (or are of another kind), and children no call can reach.

use std::collections::HashMap;

use actix_web::web;
use crossbar_authz::AccountScope;
use crossbar_envelope::{ApiResult, Reply};
use serde_json::{json, Value};

use crate::domain::callflow::CALLFLOW;
use crate::domain::lint::{missing_references, references, unreachable_children};
use crate::handlers::fetch::find_anywhere;
use crate::CallflowsService;

pub async fn lint(
    scope: AccountScope,
    service: web::Data<CallflowsService>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (_, id) = path.into_inner();
    let account_id = scope.account_id();
    let doc = service.docs.load(account_id, CALLFLOW, &id).await?;
    let flow = doc.doc.get("flow");
    let refs = references(flow);
    let mut ids: Vec<String> = refs.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let found: HashMap<String, String> = find_anywhere(&service, account_id, &ids)
        .await?
        .into_iter()
        .map(|(id, doc)| (id, doc.kind))
        .collect();
    let missing = missing_references(&refs, &found);
    let unreachable = unreachable_children(flow);
    let ok = missing.is_empty() && unreachable.is_empty();
    Ok(Reply::ok(json!({
        "id": id,
        "ok": ok,
        "missing_references": Value::Array(missing),
        "unreachable_children": Value::Array(unreachable),
    })))
}

//! `GET /v2/accounts/{A}/callflows/{C}`: the document with `metadata` for every id
//! its flow references (`{name, numbers, pvt_type}` from the owning services). The
//! other verbs are the shared store's.

use actix_web::web;
use crossbar_authz::AccountScope;
use crossbar_crud::handlers::ResourceBinding;
use crossbar_envelope::{ApiResult, Reply};
use serde_json::{Map, Value};

use crate::domain::callflow::{metadata_entry, referenced_ids};
use crate::handlers::fetch::find_anywhere;
use crate::CallflowsService;

pub async fn read(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    service: web::Data<CallflowsService>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (_, id) = path.into_inner();
    let doc = binding
        .docs
        .load(scope.account_id(), binding.rules.kind(), &id)
        .await?;
    let ids = referenced_ids(doc.doc.get("flow"));
    let found = find_anywhere(&service, scope.account_id(), &ids).await?;
    let mut metadata = Map::new();
    for id in &ids {
        if let Some(found) = found.get(id) {
            metadata.insert(id.clone(), metadata_entry(&found.kind, &found.doc));
        }
    }
    let mut view = binding.rules.view(&doc);
    if let Value::Object(data) = &mut view {
        data.insert("metadata".into(), Value::Object(metadata));
    }
    Ok(Reply::ok(view).with_revision(doc.revision()))
}

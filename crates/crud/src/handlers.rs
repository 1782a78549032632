//! Generic HTTP handlers: one registration gives a resource its five verbs with
//! authorisation, validation, paging and the envelope.

use std::sync::Arc;

use actix_web::{web, HttpRequest};
use crossbar_authz::AccountScope;
use crossbar_envelope::{ApiError, ApiResult, Reply, RequestEnvelope};
use serde_json::Value;

use crate::api::{Doc, Endpoint};
use crate::docs::{Documents, ResourceRules, StoredDoc, WriteContext};
use crate::listing::ListQuery;

/// The id the gateway gives a creation (one per client request, the same on every
/// attempt), so that a retried PUT creates once ([`Documents::create_replayable`]).
pub const CREATE_ID_HEADER: &str = "x-crossbar-create-id";

/// The gateway's creation id of `req` ([`CREATE_ID_HEADER`]) when it is a well-formed
/// id. A handler that honours it answers an earlier attempt's result when the same id
/// comes again, and so may be marked [`Doc::replayable`].
pub fn creation_id(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(CREATE_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| crossbar_envelope::ids::is_valid_id(id))
}

/// [`creation_id`], for a creation whose body may name its own id (then that id is the
/// client's choice, and no creation id applies).
pub fn creation_id_unless_named<'a>(
    req: &'a HttpRequest,
    data: &serde_json::Map<String, Value>,
) -> Option<&'a str> {
    creation_id(req).filter(|_| !data.contains_key("id"))
}

/// A resource's rules bound to its store (resource-level app data).
pub struct ResourceBinding {
    pub docs: Documents,
    pub rules: Arc<dyn ResourceRules>,
}

impl From<&AccountScope> for WriteContext {
    fn from(scope: &AccountScope) -> Self {
        WriteContext {
            account_id: scope.account.id.clone(),
            account_tree: scope.account.tree.clone(),
            caller_account_id: scope.caller.account.id.clone(),
            caller_is_admin: scope.caller.is_admin(),
            caller_is_superduper: scope.caller.is_superduper(),
            caller_user_id: scope.caller.claims.owner_id.clone(),
        }
    }
}

/// 405 in Kazoo's shape, for verbs a path does not serve.
pub async fn method_not_allowed() -> ApiResult {
    Err(ApiError::MethodNotAllowed)
}

/// Registers `/v2/accounts/{account_id}/<collection>` and `.../{id}`.
pub fn register_resource(
    cfg: &mut web::ServiceConfig,
    docs: Documents,
    rules: Arc<dyn ResourceRules>,
) {
    let collection = format!("/v2/accounts/{{account_id}}/{}", rules.collection());
    let item = format!("{collection}/{{id}}");
    let (kind, tag) = (rules.kind(), rules.collection());
    let schema = Some(rules.schema());
    let binding = web::Data::new(ResourceBinding { docs, rules });
    Endpoint::new(collection, tag)
        .data(binding.clone())
        .get(
            list,
            Doc::list(&format!("List the account's {kind} documents")),
        )
        .put(
            create,
            Doc::create(&format!("Create a {kind}"), schema).replayable(),
        )
        .register(cfg);
    Endpoint::new(item, tag)
        .data(binding)
        .get(read, Doc::read(&format!("Read a {kind}")))
        // An update sent again leaves the same document (last writer wins, as in
        // Kazoo), so the gateway may retry one whose replica died mid-request.
        .post(
            replace,
            Doc::update(&format!("Replace a {kind}"), schema).replayable(),
        )
        .patch(
            patch,
            Doc::update(&format!("Change some fields of a {kind}"), None).replayable(),
        )
        .delete(
            delete,
            Doc::delete(&format!("Delete a {kind}")).replayable(),
        )
        .register(cfg);
}

/// The `/v2/...` path of one document, for `Location`.
pub fn location(req: &HttpRequest, id: &str) -> String {
    format!("{}/{}", req.path().trim_end_matches('/'), id)
}

/// A write response: the view with its revision.
pub fn doc_reply(binding: &ResourceBinding, doc: &StoredDoc) -> Reply {
    Reply::ok(binding.rules.view(doc)).with_revision(doc.revision())
}

/// The DELETE response: the view with `_read_only.deleted`.
pub fn deleted_reply(view: Value, revision: String) -> Reply {
    let mut view = view;
    if let Value::Object(map) = &mut view {
        let read_only = map
            .entry("_read_only")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(ro) = read_only {
            ro.insert("deleted".into(), Value::Bool(true));
        }
    }
    Reply::ok(view).with_revision(revision)
}

pub async fn list(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    req: HttpRequest,
) -> ApiResult {
    let query = ListQuery::from_query(req.query_string())?;
    let (docs, page) = binding
        .docs
        .list(scope.account_id(), binding.rules.kind(), &query)
        .await?;
    let rows: Vec<Value> = docs.iter().map(|d| binding.rules.summary(d)).collect();
    let reply = Reply::ok(Value::Array(rows));
    Ok(match page {
        Some(page) => reply.with_page(page),
        None => reply,
    })
}

pub async fn create(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    req: HttpRequest,
    body: RequestEnvelope,
) -> ApiResult {
    let ctx = WriteContext::from(&scope);
    let doc = binding
        .docs
        .create_replayable(binding.rules.as_ref(), &ctx, body.data, creation_id(&req))
        .await?;
    Ok(
        Reply::created(binding.rules.view(&doc), location(&req, &doc.id))
            .with_revision(doc.revision()),
    )
}

pub async fn read(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    id: web::Path<(String, String)>,
) -> ApiResult {
    let (_, id) = id.into_inner();
    let doc = binding
        .docs
        .load(scope.account_id(), binding.rules.kind(), &id)
        .await?;
    Ok(doc_reply(&binding, &doc))
}

pub async fn replace(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    id: web::Path<(String, String)>,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, id) = id.into_inner();
    let ctx = WriteContext::from(&scope);
    let doc = binding
        .docs
        .replace(binding.rules.as_ref(), &ctx, &id, body.data)
        .await?;
    Ok(doc_reply(&binding, &doc))
}

pub async fn patch(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    id: web::Path<(String, String)>,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, id) = id.into_inner();
    let ctx = WriteContext::from(&scope);
    let doc = binding
        .docs
        .patch(binding.rules.as_ref(), &ctx, &id, body.data)
        .await?;
    Ok(doc_reply(&binding, &doc))
}

pub async fn delete(
    scope: AccountScope,
    binding: web::Data<ResourceBinding>,
    req: HttpRequest,
    id: web::Path<(String, String)>,
) -> ApiResult {
    let (_, id) = id.into_inner();
    let ctx = WriteContext::from(&scope);
    let doc = binding
        .docs
        .soft_delete_replayable(binding.rules.as_ref(), &ctx, &id, creation_id(&req))
        .await?;
    Ok(deleted_reply(binding.rules.view(&doc), doc.revision()))
}

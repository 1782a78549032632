//! `/v2/accounts` and `/v2/accounts/{A}`: create, read, replace, patch, delete,
//! plus api_key, reseller and move.

use actix_web::{web, HttpRequest};
use crossbar_authz::{AccountScope, Caller};
use crossbar_crud::json::{deep_merge, public_fields};
use crossbar_envelope::{
    ids, request::query_value, time, ApiError, ApiResult, Reply, RequestEnvelope, ValidationErrors,
};
use crossbar_events::subjects::{ACCOUNT_EVENTS_PREFIX, ACTIVE_PORTS_SUBJECT};
use crossbar_events::Event;
use serde_json::{json, Map, Value};

use crate::domain::accounts::{
    account_view, clean_realm, generated_realm, name_key, strip_read_only, ViewFacts,
};
use crate::domain::credentials::new_salt;
use crate::store::account;
use crate::AccountsService;

fn new_api_key() -> String {
    format!("{}{}", ids::new_id(), ids::new_id())
}

fn parse_doc(model: &account::Model) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_str::<Value>(&model.doc) {
        Ok(Value::Object(doc)) => Ok(doc),
        _ => Err(ApiError::internal(format!(
            "account {} has a broken document",
            model.id
        ))),
    }
}

/// The account as the caller sees it.
pub async fn view_of(
    service: &AccountsService,
    model: &account::Model,
    caller_account_id: &str,
    include_api_key: bool,
) -> Result<Value, ApiError> {
    let doc = parse_doc(model)?;
    let reseller_id = service.directory.reseller_of(model).await?;
    let master_id = model
        .tree()
        .first()
        .cloned()
        .unwrap_or_else(|| model.id.clone());
    Ok(account_view(
        &doc,
        &ViewFacts {
            id: &model.id,
            created: model.created,
            enabled: model.enabled,
            superduper_admin: model.superduper_admin,
            is_reseller: model.is_reseller,
            wnm_allow_additions: doc
                .get("pvt_wnm_allow_additions")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            reseller_id: &reseller_id,
            caller_account_id,
            master_id: &master_id,
            api_key: include_api_key.then_some(model.api_key.as_str()),
        },
    ))
}

fn event(action: &str, model: &account::Model, view: Value) -> Event {
    Event::new(format!("{ACCOUNT_EVENTS_PREFIX}{action}"))
        .account(model.id.clone(), model.tree())
        .resource(model.id.clone())
        .doc(view)
}

fn reply_for(model: &account::Model, view: Value) -> Reply {
    Reply::ok(view).with_revision(crossbar_envelope::ids::revision(model.rev))
}

/// Writes the next version of an account with its `updated` event; answers its view.
async fn commit_update(
    service: &AccountsService,
    scope: &AccountScope,
    existing: &account::Model,
    model: account::Model,
) -> ApiResult {
    let view = view_of(service, &model, &scope.caller.account.id, false).await?;
    service
        .store
        .update(
            model.clone(),
            existing.rev,
            &event("updated", &model, view.clone()),
        )
        .await?;
    service.docs.flush().await;
    Ok(reply_for(&model, view))
}

/// 500 `account_has_active_port`, Kazoo's refusal to delete an account that is porting
/// numbers in.
pub fn has_active_port() -> ApiError {
    ApiError::system(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        "account_has_active_port",
        "Account has active port request",
    )
}

/// 500 `account_has_descendants`, Kazoo's refusal for accounts with children.
pub fn has_descendants() -> ApiError {
    ApiError::system(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        "account_has_descendants",
        "account has descendants",
    )
}

/// Creates an account under `parent` from request `data`.
pub async fn create_account(
    service: &AccountsService,
    parent: Option<&account::Model>,
    caller_account_id: &str,
    mut data: Map<String, Value>,
    superduper: bool,
) -> Result<account::Model, ApiError> {
    let requested_id = data.get("id").and_then(Value::as_str).map(str::to_string);
    strip_read_only(&mut data);
    let realm = match data.get("realm").and_then(Value::as_str) {
        Some(realm) => clean_realm(realm),
        None => generated_realm(&service.config.realm_suffix),
    };
    data.insert("realm".into(), Value::String(realm.clone()));
    if !data.contains_key("timezone") {
        data.insert(
            "timezone".into(),
            Value::String(service.config.default_timezone.clone()),
        );
    }
    let enabled = match data.get("enabled").and_then(Value::as_bool) {
        Some(requested) => requested,
        None => parent.is_none_or(|p| p.enabled),
    };
    data.insert("enabled".into(), Value::Bool(enabled));
    service.docs.validate("accounts", &mut data)?;
    let name = data
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    service.store.check_unique(&realm, &name, None).await?;

    let id = match requested_id {
        Some(id) if ids::is_valid_id(&id) => id,
        Some(_) => {
            return Err(ApiError::validation(
                "id",
                "pattern",
                "Failed to match pattern '^[0-9a-f]{32}$'",
            ))
        }
        None => ids::new_id(),
    };
    if service.store.get(&id).await?.is_some() {
        return Err(ApiError::Conflict);
    }
    let (path, depth) = match parent {
        Some(p) => (format!("{}/{id}", p.path), p.depth + 1),
        None => (id.clone(), 0),
    };
    let now = time::now_gregorian();
    data.insert("pvt_type".into(), json!("account"));
    // The tree lives in the `path` column only (a move rewrites it there), never
    // as a copy in the document that could go stale.
    data.insert("pvt_created".into(), json!(now));
    data.insert("pvt_modified".into(), json!(now));
    data.insert("pvt_vsn".into(), json!("1"));
    if superduper {
        data.insert("pvt_superduper_admin".into(), json!(true));
        data.insert("pvt_wnm_allow_additions".into(), json!(true));
    }
    let model = account::Model {
        id: id.clone(),
        name_key: name_key(&name),
        name,
        realm_key: realm.to_lowercase(),
        realm,
        parent_id: parent.map(|p| p.id.clone()),
        path,
        depth,
        descendants: 0,
        enabled,
        superduper_admin: superduper,
        is_reseller: superduper,
        api_key: new_api_key(),
        auth_salt: new_salt(),
        doc: Value::Object(data).to_string(),
        rev: 1,
        created: now,
        modified: now,
    };
    let view = view_of(service, &model, caller_account_id, false).await?;
    service
        .store
        .insert(model.clone(), &event("created", &model, view))
        .await?;
    service.docs.flush().await;
    Ok(model)
}

/// `PUT /v2/accounts`: a new account under the token's account.
pub async fn put_root(
    caller: Caller,
    service: web::Data<AccountsService>,
    req: HttpRequest,
    body: RequestEnvelope,
) -> ApiResult {
    if !(caller.is_admin() || caller.is_superduper()) {
        return Err(ApiError::Forbidden(None));
    }
    let create_id = crossbar_crud::creation_id_unless_named(&req, &body.data);
    create_child(
        &service,
        &caller.account.id,
        &caller.account.id,
        body.data,
        create_id,
    )
    .await
}

/// `PUT /v2/accounts/{A}`: a new child of A.
pub async fn put_child(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    req: HttpRequest,
    body: RequestEnvelope,
) -> ApiResult {
    scope.require_admin()?;
    let create_id = crossbar_crud::creation_id_unless_named(&req, &body.data);
    create_child(
        &service,
        scope.account_id(),
        &scope.caller.account.id,
        body.data,
        create_id,
    )
    .await
}

/// The child of `parent` an earlier attempt of the same creation made, if any.
async fn created_before(
    service: &AccountsService,
    parent: &account::Model,
    id: &str,
) -> Result<Option<account::Model>, ApiError> {
    Ok(service
        .store
        .get(id)
        .await?
        .filter(|model| model.parent_id.as_deref() == Some(parent.id.as_str())))
}

/// Creates a child of `parent_id` for a caller and answers 201 with its view. With a
/// creation id (the gateway's, one per client request), the new account gets it as its
/// id, and a child of that id already under the parent — an earlier or concurrent
/// attempt of the same request — is the answer instead of a second account.
async fn create_child(
    service: &AccountsService,
    parent_id: &str,
    caller_account_id: &str,
    mut data: Map<String, Value>,
    create_id: Option<&str>,
) -> ApiResult {
    let parent = service.store.load(parent_id).await?;
    if let Some(id) = create_id {
        data.insert("id".into(), Value::String(id.to_string()));
    }
    let model = match create_account(service, Some(&parent), caller_account_id, data, false).await {
        Ok(model) => model,
        Err(error) => match create_id {
            // The name or the id is taken: by an earlier or concurrent attempt of the
            // same request, when a child of that id is there under the parent.
            Some(id) => match created_before(service, &parent, id).await {
                Ok(Some(done)) => done,
                _ => return Err(error),
            },
            None => return Err(error),
        },
    };
    created_reply(service, &model, caller_account_id).await
}

async fn created_reply(
    service: &AccountsService,
    model: &account::Model,
    caller_account_id: &str,
) -> ApiResult {
    let view = view_of(service, model, caller_account_id, false).await?;
    Ok(Reply::created(view, format!("/v2/accounts/{}", model.id))
        .with_revision(ids::revision(model.rev)))
}

pub async fn get(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    req: HttpRequest,
) -> ApiResult {
    let model = service.store.load(scope.account_id()).await?;
    let include_key = query_value(req.query_string(), "include_api_key")
        .is_some_and(|v| v == "true")
        && (scope.caller.is_admin() || scope.caller.is_superduper());
    let view = view_of(&service, &model, &scope.caller.account.id, include_key).await?;
    Ok(reply_for(&model, view))
}

/// `wnm_allow_additions` as a superduper caller sets it (Kazoo keeps the flag as
/// `pvt_wnm_allow_additions` and offers no API for it; here a superduper admin may set
/// it through the account's POST/PATCH). Anyone else's value is dropped, like the other
/// read-only fields, and so is a non-boolean.
fn allow_additions_set_by(scope: &AccountScope, data: &Map<String, Value>) -> Option<bool> {
    if !scope.caller.is_superduper() {
        return None;
    }
    data.get("wnm_allow_additions").and_then(Value::as_bool)
}

async fn save(
    service: &AccountsService,
    scope: &AccountScope,
    existing: account::Model,
    mut data: Map<String, Value>,
    allow_additions: Option<bool>,
) -> ApiResult {
    strip_read_only(&mut data);
    let old_doc = parse_doc(&existing)?;
    if !data.contains_key("realm") {
        data.insert("realm".into(), Value::String(existing.realm.clone()));
    }
    if let Some(Value::String(realm)) = data.get("realm") {
        let cleaned = clean_realm(realm);
        data.insert("realm".into(), Value::String(cleaned));
    }
    // Only an ancestor may switch an account on or off.
    let enabled = if scope.is_own_account() {
        existing.enabled
    } else {
        data.get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(existing.enabled)
    };
    data.insert("enabled".into(), Value::Bool(enabled));
    service.docs.validate("accounts", &mut data)?;
    let name = data
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let realm = data
        .get("realm")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    service
        .store
        .check_unique(&realm, &name, Some(&existing.id))
        .await?;
    let mut doc = crossbar_crud::json::private_fields(&old_doc);
    let now = time::now_gregorian();
    doc.insert("pvt_modified".into(), json!(now));
    doc.extend(data);
    if let Some(allowed) = allow_additions {
        doc.insert("pvt_wnm_allow_additions".into(), json!(allowed));
    }
    let model = account::Model {
        name_key: name_key(&name),
        name,
        realm_key: realm.to_lowercase(),
        realm,
        enabled,
        doc: Value::Object(doc).to_string(),
        rev: existing.rev + 1,
        modified: now,
        ..existing.clone()
    };
    commit_update(service, scope, &existing, model).await
}

pub async fn post(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    body: RequestEnvelope,
) -> ApiResult {
    scope.require_admin()?;
    let existing = service.store.load(scope.account_id()).await?;
    let allow_additions = allow_additions_set_by(&scope, &body.data);
    save(&service, &scope, existing, body.data, allow_additions).await
}

pub async fn patch(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    body: RequestEnvelope,
) -> ApiResult {
    scope.require_admin()?;
    let existing = service.store.load(scope.account_id()).await?;
    let mut merged = public_fields(&parse_doc(&existing)?);
    merged.insert("enabled".into(), Value::Bool(existing.enabled));
    let mut patch = body.data;
    let allow_additions = allow_additions_set_by(&scope, &patch);
    strip_read_only(&mut patch);
    deep_merge(&mut merged, &patch);
    save(&service, &scope, existing, merged, allow_additions).await
}

pub async fn delete(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    let existing = service.store.load(scope.account_id()).await?;
    if existing.parent_id.is_none() {
        return Err(ApiError::MethodNotAllowed);
    }
    if scope.is_own_account() && !scope.caller.is_superduper() {
        return Err(ApiError::Forbidden(Some(
            "an account cannot delete itself".into(),
        )));
    }
    scope.require_admin()?;
    if service.store.has_children(&existing.id).await? {
        return Err(has_descendants());
    }
    let ports = service
        .bus
        .request(
            ACTIVE_PORTS_SUBJECT,
            serde_json::json!({"account_id": existing.id}),
            crossbar_events::DEFAULT_REQUEST_TIMEOUT,
        )
        .await
        .map_err(crossbar_crud::rpc::bus_error)?;
    if ports.get("active").and_then(serde_json::Value::as_bool) == Some(true) {
        return Err(has_active_port());
    }
    let view = view_of(&service, &existing, &scope.caller.account.id, false).await?;
    service
        .store
        .delete(&existing, &event("deleted", &existing, view.clone()))
        .await?;
    service.docs.flush().await;
    Ok(crossbar_crud::handlers::deleted_reply(
        view,
        ids::revision(existing.rev + 1),
    ))
}

pub async fn get_api_key(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    scope.require_admin()?;
    let model = service.store.load(scope.account_id()).await?;
    Ok(Reply::ok(json!({ "api_key": model.api_key })))
}

pub async fn put_api_key(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    scope.require_admin()?;
    let existing = service.store.load(scope.account_id()).await?;
    let model = account::Model {
        api_key: new_api_key(),
        rev: existing.rev + 1,
        modified: time::now_gregorian(),
        ..existing.clone()
    };
    let view = view_of(&service, &model, &scope.caller.account.id, false).await?;
    service
        .store
        .update(model.clone(), existing.rev, &event("updated", &model, view))
        .await?;
    service.docs.flush().await;
    Ok(Reply::ok(json!({ "api_key": model.api_key })))
}

async fn set_reseller(
    scope: AccountScope,
    service: &AccountsService,
    is_reseller: bool,
) -> ApiResult {
    scope.require_superduper()?;
    let existing = service.store.load(scope.account_id()).await?;
    if existing.parent_id.is_none() {
        return Err(ApiError::Forbidden(None));
    }
    if service.store.has_children(&existing.id).await? {
        return Err(has_descendants());
    }
    let model = account::Model {
        is_reseller,
        rev: existing.rev + 1,
        modified: time::now_gregorian(),
        ..existing.clone()
    };
    commit_update(service, &scope, &existing, model).await
}

pub async fn put_reseller(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    set_reseller(scope, &service, true).await
}

pub async fn delete_reseller(
    scope: AccountScope,
    service: web::Data<AccountsService>,
) -> ApiResult {
    set_reseller(scope, &service, false).await
}

/// `POST /v2/accounts/{A}/move {"data":{"to": P}}` (superduper, Kazoo's default policy).
pub async fn post_move(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    body: RequestEnvelope,
) -> ApiResult {
    scope.require_superduper()?;
    let moved = service.store.load(scope.account_id()).await?;
    let Some(to) = body
        .value("to")
        .and_then(|v| v.as_str().map(str::to_string))
    else {
        return Err(ApiError::Validation(ValidationErrors::single(
            "to",
            "required",
            "Field is required but missing",
        )));
    };
    crossbar_envelope::check_account_id(&to)?;
    let target = service.store.load(&to).await?;
    if moved.parent_id.is_none() || target.id == moved.id || target.tree().contains(&moved.id) {
        return Err(ApiError::Validation(ValidationErrors::single(
            "to",
            "invalid",
            "An account cannot move under itself or one of its descendants",
        )));
    }
    // The event describes the account where it lands (its new tree and reseller).
    let landed = account::Model {
        parent_id: Some(target.id.clone()),
        path: format!("{}/{}", target.path, moved.id),
        depth: target.depth + 1,
        ..moved.clone()
    };
    let view = view_of(&service, &landed, &scope.caller.account.id, false).await?;
    service
        .store
        .move_subtree(&moved, &target, &event("moved", &landed, view))
        .await?;
    service.docs.flush().await;
    let model = service.store.load(&moved.id).await?;
    let view = view_of(&service, &model, &scope.caller.account.id, false).await?;
    Ok(reply_for(&model, view))
}

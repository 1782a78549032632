//! `port_requests` (`cb_port_requests.erl`, kazoo-api.md §9.8): CRUD with the number
//! checks, the state machine of [`crate::domain::ports`], timeline and comments,
//! attachments (raw bodies in and out) and the generated letter of authorisation.

use std::collections::BTreeMap;

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use crossbar_authz::{AccountRef, AccountScope, AuthContext, Caller};
use crossbar_crud::db::db_error;
use crossbar_crud::{Doc, Endpoint, Payload};
use crossbar_envelope::render::MAX_BODY_BYTES;
use crossbar_envelope::time::now_gregorian;
use crossbar_envelope::{ids, ApiError, ApiResult, Reply, RequestEnvelope, ValidationErrors};
use crossbar_events::Event;
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{json, Map, Value};

use crate::domain::loa;
use crate::domain::ports::{self, PortState, Selection};
use crate::handlers::phone_numbers::NumbersApi;
use crate::store::numbers as number_store;
use crate::store::ports::{self as store, PortRow};

const TAG: &str = "port_requests";

type Api = web::Data<NumbersApi>;
type PortPath = web::Path<(String, String)>;
type SubPath = web::Path<(String, String, String)>;

pub const EVENT_PREFIX: &str = "crossbar.numbers.port_request.";

pub fn configure(api: Api, cfg: &mut web::ServiceConfig) {
    let base = "/v2/accounts/{account_id}/port_requests";
    let files = || {
        Payload::Raw(
            [
                "application/pdf",
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/tiff",
            ]
            .iter()
            .map(|t| t.to_string())
            .collect(),
        )
    };
    Endpoint::new("/v2/port_requests", TAG)
        .data(api.clone())
        .get(
            authority_list,
            Doc::read("Port requests the caller is the port authority of, by state"),
        )
        .forbid_other_methods()
        .register(cfg);
    Endpoint::new("/v2/accounts/{account_id}/descendants/port_requests", TAG)
        .data(api.clone())
        .get(
            descendants,
            Doc::read("Port requests of the account and its descendants"),
        )
        .register(cfg);
    Endpoint::new(base, TAG)
        .data(api.clone())
        .get(
            list,
            Doc::read("The account's port requests (by_types buckets, by_number)")
                .query("by_types", "Comma-separated states, or all")
                .query("by_number", "Only requests holding this number"),
        )
        .put(
            create,
            Doc::create("Open a port request", Some("port_requests")).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/last_submitted"), TAG)
        .data(api.clone())
        .get(last_submitted, Doc::read("The request submitted last"))
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}"), TAG)
        .data(api.clone())
        .get(read, Doc::read("One port request"))
        .post(
            replace,
            // Not replayable: sent again, its new comments would be stamped and
            // announced (`comment_added`) a second time.
            Doc::update(
                "Replace a port request (editable states only)",
                Some("port_requests"),
            ),
        )
        .patch(
            patch,
            Doc::update("Change some fields of a port request", None),
        )
        .delete(
            delete,
            Doc::delete("Delete a port request (unconfirmed only)"),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}/attachments"), TAG)
        .data(api.clone())
        .get(list_attachments, Doc::read("The request's attachments"))
        .put(
            add_attachment,
            Doc::create("Attach a document (PDF or image; name in `filename`)", None)
                .request(files())
                .query("filename", "The attachment's name"),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}/attachments/{{name}}"), TAG)
        .data(api.clone())
        .get(
            get_attachment,
            Doc::read("An attachment, as uploaded").response(files()),
        )
        .post(
            replace_attachment,
            Doc::update("Replace an attachment", None).request(files()),
        )
        .delete(delete_attachment, Doc::delete("Remove an attachment"))
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}/timeline"), TAG)
        .data(api.clone())
        .get(
            timeline,
            Doc::read("Transitions and comments, oldest first"),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}/loa"), TAG)
        .data(api.clone())
        .get(
            letter,
            Doc::read("The letter of authorisation (PDF)")
                .response(Payload::Raw(vec!["application/pdf".to_string()])),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{port_id}}/{{state}}"), TAG)
        .data(api)
        .patch(
            transition,
            Doc::update(
                "Move the request to `state` (with an optional `reason`)",
                None,
            ),
        )
        .register(cfg);
}

fn auth_context(req: &HttpRequest) -> Result<web::Data<AuthContext>, ApiError> {
    req.app_data::<web::Data<AuthContext>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AuthContext is not registered"))
}

/// The port authority of a new request: the nearest reseller above the account (a
/// reseller runs its customers' ports, as Kazoo's white-labelled port authority does),
/// else the master account (the root of the tree). An account never is its own.
async fn port_authority_of(ctx: &AuthContext, account: &AccountRef) -> Result<String, ApiError> {
    for ancestor in account.tree.iter().rev() {
        if let Some(found) = ctx.directory.account(ancestor).await? {
            if found.is_reseller {
                return Ok(found.id);
            }
        }
    }
    Ok(account
        .tree
        .first()
        .cloned()
        .unwrap_or_else(|| account.id.clone()))
}

/// The caller may act as the request's port authority.
fn is_authority(caller: &Caller, row: &PortRow) -> bool {
    caller.is_superduper() || caller.account.id == row.port_authority
}

fn state_of(row: &PortRow) -> PortState {
    PortState::parse(&row.port_state).unwrap_or(PortState::Unconfirmed)
}

fn port_event(action: &str, row: &PortRow, doc: Value) -> Event {
    Event::new(format!("{EVENT_PREFIX}{action}"))
        .account(row.account_id.clone(), Vec::new())
        .resource(row.id.clone())
        .doc(doc)
}

/// A live request of the account (404 bad_identifier otherwise).
async fn load(api: &NumbersApi, account_id: &str, port_id: &str) -> Result<PortRow, ApiError> {
    store::find(&api.manager.db.read, port_id)
        .await?
        .filter(|row| row.account_id == account_id)
        .ok_or_else(|| ApiError::BadIdentifier(port_id.to_string()))
}

/// The public view: document, state, dates, uploads and the authority.
async fn view(
    api: &NumbersApi,
    row: &PortRow,
    show_private: bool,
    directory: Option<&AuthContext>,
) -> Result<Value, ApiError> {
    let mut out = row.doc();
    let comments: Vec<Value> = row
        .comments()
        .into_iter()
        .filter(|c| {
            show_private
                || !c
                    .get("is_private")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
        })
        .collect();
    if !comments.is_empty() {
        out.insert("comments".into(), Value::Array(comments));
    }
    out.insert("id".into(), json!(row.id));
    out.insert("port_state".into(), json!(row.port_state));
    out.insert("created".into(), json!(row.created));
    out.insert("updated".into(), json!(row.modified));
    out.insert("sent".into(), json!(false));
    let mut uploads = Map::new();
    for (name, content_type, length) in
        store::attachment_index(&api.manager.db.read, &row.id).await?
    {
        uploads.insert(
            name,
            json!({"content_type": content_type, "length": length}),
        );
    }
    out.insert("uploads".into(), Value::Object(uploads));
    let authority_name = match directory {
        Some(ctx) => ctx
            .directory
            .account(&row.port_authority)
            .await?
            .map(|a| a.name),
        None => None,
    };
    out.insert(
        "_read_only".into(),
        json!({"port_authority": row.port_authority, "port_authority_name": authority_name}),
    );
    Ok(Value::Object(out))
}

/// Normalises the number keys of `data.numbers` to E.164.
fn normalise_numbers(data: &mut Map<String, Value>) {
    if let Some(Value::Object(numbers)) = data.get_mut("numbers") {
        let normalised: Map<String, Value> = std::mem::take(numbers)
            .into_iter()
            .map(|(number, value)| (crossbar_numbering::normalize(&number), value))
            .collect();
        *numbers = normalised;
    }
}

/// Stamps comments the client added (those without a timestamp) with time and author.
fn stamp_comments(data: &mut Map<String, Value>, caller: &Caller, now: i64) -> usize {
    let mut added = 0;
    if let Some(Value::Array(comments)) = data.get_mut("comments") {
        for comment in comments.iter_mut() {
            let Value::Object(comment) = comment else {
                continue;
            };
            if comment.get("timestamp").is_none() {
                comment.insert("timestamp".into(), json!(now));
                comment
                    .entry("author")
                    .or_insert_with(|| json!(caller.account.name));
                comment.insert("account_id".into(), json!(caller.account.id));
                if let Some(owner) = &caller.claims.owner_id {
                    comment.insert("user_id".into(), json!(owner));
                }
                added += 1;
            }
        }
    }
    added
}

/// Schema and number checks of a request document (`id` is the request itself on
/// update, whose own numbers are not conflicts).
async fn validate(
    api: &NumbersApi,
    txn: &DatabaseTransaction,
    data: &mut Map<String, Value>,
    account_id: &str,
    own_id: &str,
) -> Result<(), ApiError> {
    normalise_numbers(data);
    let mut doc = Value::Object(std::mem::take(data));
    let schema = api.schemas.validate("port_requests", &mut doc);
    if let Value::Object(map) = doc {
        *data = map;
    }
    let mut errors = schema.err().unwrap_or_default();
    let numbers: Vec<String> = data
        .get("numbers")
        .and_then(Value::as_object)
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    for number in numbers {
        let others: Vec<(String, String)> = store::active_for_number(txn, &number)
            .await?
            .into_iter()
            .filter(|(id, _)| id != own_id)
            .collect();
        let message = match others.as_slice() {
            [] => None,
            [(id, account)] if account == account_id => {
                Some(format!("Number is on a port request already: {id}"))
            }
            [_] => Some("Number is being ported for a different account".to_string()),
            _ => Some(
                "Number is currently on multiple port requests. Contact a system admin to rectify"
                    .to_string(),
            ),
        };
        let message = match message {
            Some(message) => Some(message),
            None => number_store::find(txn, &number).await?.and_then(|row| {
                let ours = row.assigned_to.as_deref() == Some(account_id) && row.state == "port_in";
                (row.assigned_to.is_some() && !ours)
                    .then(|| "Number exists on the system already".to_string())
            }),
        };
        if let Some(message) = message {
            errors.add_with(&number, "type", message, json!({"cause": number}));
        }
    }
    errors.into_result()
}

fn is_private_viewer(scope: &AccountScope, row: &PortRow) -> bool {
    is_authority(&scope.caller, row)
}

async fn commit(api: &NumbersApi, txn: DatabaseTransaction) -> Result<(), ApiError> {
    txn.commit().await.map_err(db_error)?;
    if let Err(error) = api.manager.outbox.flush().await {
        tracing::warn!(%error, "outbox flush failed; the relay will retry");
    }
    Ok(())
}

// ---- listings -----------------------------------------------------------------------

fn summary(row: &PortRow) -> Value {
    let doc = row.doc();
    json!({
        "id": row.id,
        "name": doc.get("name"),
        "numbers": doc.get("numbers"),
        "port_state": row.port_state,
        "created": row.created,
        "updated": row.modified,
        "account_id": row.account_id,
        "transfer_date": doc.get("transfer_date"),
        "scheduled_date": doc.get("scheduled_date"),
    })
}

/// `by_types` / `by_number` applied to rows; answers Kazoo's grouping by account.
async fn listing(
    api: &NumbersApi,
    ctx: &AuthContext,
    rows: Vec<PortRow>,
    envelope: &RequestEnvelope,
) -> ApiResult {
    let by_types = envelope
        .value("by_types")
        .and_then(|v| v.as_str().map(str::to_string));
    let by_number = envelope
        .value("by_number")
        .and_then(|v| v.as_str().map(crossbar_numbering::normalize));
    let selection = ports::parse_by_types(by_types.as_deref())?;
    let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in &rows {
        if let Some(number) = &by_number {
            if !row.numbers().contains(number) {
                continue;
            }
        } else if let Selection::States(states) = &selection {
            if !states.contains(&state_of(row)) {
                continue;
            }
        }
        if selection == Selection::LastSubmitted {
            continue;
        }
        groups
            .entry(row.account_id.clone())
            .or_default()
            .push(summary(row));
    }
    let mut out = Vec::new();
    for (account_id, requests) in groups {
        let name = ctx.directory.account(&account_id).await?.map(|a| a.name);
        out.push(
            json!({"account_id": account_id, "account_name": name, "port_requests": requests}),
        );
    }
    let _ = api;
    Ok(Reply::ok(Value::Array(out)))
}

async fn list(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let ctx = auth_context(&req)?;
    let rows = store::by_account(&api.manager.db.read, scope.account_id()).await?;
    listing(&api, &ctx, rows, &envelope).await
}

async fn descendants(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let ctx = auth_context(&req)?;
    let mut rows = Vec::new();
    for row in store::all_live(&api.manager.db.read).await? {
        if row.account_id == scope.account_id() {
            continue;
        }
        let within = ctx
            .directory
            .account(&row.account_id)
            .await?
            .is_some_and(|account| account.is_within(scope.account_id()));
        if within {
            rows.push(row);
        }
    }
    listing(&api, &ctx, rows, &envelope).await
}

/// `GET /v2/port_requests`: what the caller manages as port authority.
async fn authority_list(
    api: Api,
    req: HttpRequest,
    caller: Caller,
    envelope: RequestEnvelope,
) -> ApiResult {
    let ctx = auth_context(&req)?;
    let rows = if caller.is_superduper() {
        store::all_live(&api.manager.db.read).await?
    } else {
        let rows = store::by_authority(&api.manager.db.read, &caller.account.id).await?;
        if rows.is_empty() {
            return Err(ApiError::Forbidden(None));
        }
        rows
    };
    listing(&api, &ctx, rows, &envelope).await
}

async fn last_submitted(api: Api, scope: AccountScope) -> ApiResult {
    let mut out = Vec::new();
    for row in store::by_account(&api.manager.db.read, scope.account_id()).await? {
        let last = row
            .transitions()
            .into_iter()
            .rev()
            .find(|t| t["transition"]["new"] == "submitted");
        if let Some(transition) = last {
            out.push(json!({"id": row.id, "transition": transition}));
        }
    }
    Ok(Reply::ok(Value::Array(out)))
}

// ---- one request ----------------------------------------------------------------------

/// `PUT .../port_requests`. With the gateway's creation id the request gets it as its
/// id, and the same id again — an earlier attempt carried out on a replica that never
/// answered, or a concurrent one — answers the request that attempt opened (its
/// numbers are taken by then, so it shows where the new attempt fails).
async fn create(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let ctx = auth_context(&req)?;
    let replay = crossbar_crud::creation_id_unless_named(&req, &envelope.data);
    let error = match open_request(&api, &ctx, &scope, envelope, replay).await {
        Ok(reply) => return Ok(reply),
        Err(error) => error,
    };
    let Some(id) = replay else {
        return Err(error);
    };
    match load(&api, scope.account_id(), id).await {
        Ok(row) => {
            let shown = view(&api, &row, is_private_viewer(&scope, &row), Some(&ctx)).await?;
            Ok(Reply::created(shown, row.id))
        }
        Err(_) => Err(error),
    }
}

async fn open_request(
    api: &NumbersApi,
    ctx: &AuthContext,
    scope: &AccountScope,
    envelope: RequestEnvelope,
    replay: Option<&str>,
) -> ApiResult {
    let now = now_gregorian();
    let mut data = envelope.data;
    crossbar_crud::json::strip_request_fields(&mut data);
    for key in [
        "id",
        "port_state",
        "uploads",
        "created",
        "updated",
        "sent",
        "scheduled_date",
    ] {
        data.remove(key);
    }
    let added_comments = stamp_comments(&mut data, &scope.caller, now);
    let id = replay.map_or_else(ids::new_id, str::to_string);
    let port_authority = port_authority_of(ctx, &scope.account).await?;
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    validate(api, &txn, &mut data, scope.account_id(), &id).await?;
    let comments = match data.remove("comments") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let first = json!({"timestamp": now, "type": "transition", "transition": {"new": "unconfirmed"},
                       "authorization": authorization(&scope.caller)});
    let row = PortRow {
        id: id.clone(),
        account_id: scope.account_id().to_string(),
        port_state: PortState::Unconfirmed.as_str().into(),
        port_authority,
        deleted: false,
        doc: Value::Object(data).to_string(),
        transitions: Value::Array(vec![first]).to_string(),
        comments: Value::Array(comments).to_string(),
        created: now,
        modified: now,
        rev: 0,
    };
    let mut events = vec![port_event("created", &row, Value::Object(row.doc()))];
    if added_comments > 0 {
        events.push(port_event(
            "comment_added",
            &row,
            json!({"comments": row.comments()}),
        ));
    }
    let row = store::save(&txn, row, None, true, &events).await?;
    commit(api, txn).await?;
    let shown = view(api, &row, is_private_viewer(scope, &row), Some(ctx)).await?;
    Ok(Reply::created(shown, id))
}

fn authorization(caller: &Caller) -> Value {
    json!({"account": {"id": caller.account.id, "name": caller.account.name},
           "user": {"id": caller.claims.owner_id}})
}

async fn read(api: Api, req: HttpRequest, scope: AccountScope, path: PortPath) -> ApiResult {
    let ctx = auth_context(&req)?;
    let row = load(&api, scope.account_id(), &path.1).await?;
    Ok(Reply::ok(
        view(&api, &row, is_private_viewer(&scope, &row), Some(&ctx)).await?,
    ))
}

/// POST (replace) and PATCH (merge) of the document, only while editable.
async fn update(
    api: &NumbersApi,
    req: &HttpRequest,
    scope: &AccountScope,
    port_id: &str,
    envelope: RequestEnvelope,
    merge: bool,
) -> ApiResult {
    let ctx = auth_context(req)?;
    let now = now_gregorian();
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    let mut row = store::find(&txn, port_id)
        .await?
        .filter(|row| row.account_id == scope.account_id())
        .ok_or_else(|| ApiError::BadIdentifier(port_id.to_string()))?;
    if !state_of(&row).is_editable() && !scope.caller.is_superduper() {
        let mut errors = ValidationErrors::new();
        errors.add_with(
            "port_state",
            "enum",
            "Updating port requests not allowed in current port state",
            json!({"cause": row.port_state}),
        );
        return Err(ApiError::Validation(errors));
    }
    let mut data = apply_changes(&row, envelope.data, merge, &scope.caller, now);
    let added = data.1;
    validate(api, &txn, &mut data.0, &row.account_id, &row.id).await?;
    let events = save_doc(&mut row, data.0, added, now);
    let rev = row.rev;
    let active = state_of(&row).is_active();
    let row = store::save(&txn, row, Some(rev), active, &events).await?;
    commit(api, txn).await?;
    Ok(Reply::ok(
        view(api, &row, is_private_viewer(scope, &row), Some(&ctx)).await?,
    ))
}

/// The new document from a request: replace or merge, with comments stamped.
fn apply_changes(
    row: &PortRow,
    mut incoming: Map<String, Value>,
    merge: bool,
    caller: &Caller,
    now: i64,
) -> (Map<String, Value>, usize) {
    crossbar_crud::json::strip_request_fields(&mut incoming);
    for key in ["id", "port_state", "uploads", "created", "updated", "sent"] {
        incoming.remove(key);
    }
    let mut data = if merge {
        let mut current = row.doc();
        current.insert("comments".into(), Value::Array(row.comments()));
        crossbar_crud::json::deep_merge(&mut current, &incoming);
        current
    } else {
        let mut data = incoming;
        if !data.contains_key("comments") {
            data.insert("comments".into(), Value::Array(row.comments()));
        }
        if let Some(date) = row.doc().get("scheduled_date") {
            data.entry("scheduled_date").or_insert(date.clone());
        }
        data
    };
    let added = stamp_comments(&mut data, caller, now);
    (data, added)
}

/// Puts a validated document into the row; returns the events of the change.
fn save_doc(
    row: &mut PortRow,
    mut data: Map<String, Value>,
    added_comments: usize,
    now: i64,
) -> Vec<Event> {
    let comments = match data.remove("comments") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    row.comments = Value::Array(comments).to_string();
    row.doc = Value::Object(data).to_string();
    row.modified = now;
    let mut events = vec![port_event("updated", row, Value::Object(row.doc()))];
    if added_comments > 0 {
        events.push(port_event(
            "comment_added",
            row,
            json!({"comments": row.comments()}),
        ));
    }
    events
}

async fn replace(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: PortPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    update(&api, &req, &scope, &path.1, envelope, false).await
}

async fn patch(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: PortPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    update(&api, &req, &scope, &path.1, envelope, true).await
}

fn not_modifiable() -> ApiError {
    ApiError::System {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "invalid_method".into(),
        data: json!({"message": "port request is not modifiable in this state"}),
    }
}

async fn delete(api: Api, req: HttpRequest, scope: AccountScope, path: PortPath) -> ApiResult {
    let ctx = auth_context(&req)?;
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    let mut row = store::find(&txn, &path.1)
        .await?
        .filter(|row| row.account_id == scope.account_id())
        .ok_or_else(|| ApiError::BadIdentifier(path.1.clone()))?;
    if !state_of(&row).is_deletable() {
        return Err(not_modifiable());
    }
    let shown = view(&api, &row, is_private_viewer(&scope, &row), Some(&ctx)).await?;
    row.deleted = true;
    row.modified = now_gregorian();
    let rev = row.rev;
    let event = port_event("deleted", &row, Value::Object(row.doc()));
    store::delete_attachments(&txn, &row.id).await?;
    store::save(&txn, row, Some(rev), false, &[event]).await?;
    commit(&api, txn).await?;
    let mut shown = shown;
    shown["_read_only"]["deleted"] = json!(true);
    Ok(Reply::ok(shown))
}

// ---- transitions ----------------------------------------------------------------------

/// `schedule_on {timezone, date_time "YYYY-MM-DD HH:MM"}` as Gregorian seconds.
fn scheduled_from(schedule_on: &Value) -> Result<i64, ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::validation(&format!("schedule_on.{field}"), "invalid", message)
    };
    let zone: chrono_tz::Tz = schedule_on["timezone"]
        .as_str()
        .ok_or_else(|| {
            ApiError::validation(
                "schedule_on.timezone",
                "required",
                "Field is required but missing",
            )
        })?
        .parse()
        .map_err(|_| invalid("timezone", "unknown time zone"))?;
    let local = schedule_on["date_time"].as_str().ok_or_else(|| {
        ApiError::validation(
            "schedule_on.date_time",
            "required",
            "Field is required but missing",
        )
    })?;
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").map_err(|_| {
        invalid(
            "date_time",
            "Failed to match pattern '^2\\d\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d$'",
        )
    })?;
    let instant = naive
        .and_local_timezone(zone)
        .earliest()
        .ok_or_else(|| invalid("date_time", "no such local time"))?;
    Ok(crossbar_envelope::time::unix_to_gregorian(
        instant.timestamp(),
    ))
}

async fn transition(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: SubPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    let (_, port_id, target) = path.into_inner();
    let Some(to) = PortState::parse(&target) else {
        return Err(ApiError::NotFound);
    };
    if to == PortState::Unconfirmed {
        return Err(ApiError::NotFound);
    }
    let ctx = auth_context(&req)?;
    let now = now_gregorian();
    let reason = envelope
        .value("reason")
        .and_then(|v| v.as_str().map(str::to_string));
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    let mut row = store::find(&txn, &port_id)
        .await?
        .filter(|row| row.account_id == scope.account_id())
        .ok_or_else(|| ApiError::BadIdentifier(port_id.clone()))?;
    let from = state_of(&row);
    ports::check_transition(from, to, is_authority(&scope.caller, &row))?;
    let mut incoming = envelope.data.clone();
    incoming.remove("reason");
    let (mut data, added) = apply_changes(&row, incoming, true, &scope.caller, now);
    if to == PortState::Scheduled {
        let date = match (data.get("schedule_on"), data.get("scheduled_date")) {
            (Some(on), _) => scheduled_from(on)?,
            (None, Some(Value::Number(date))) => date.as_i64().unwrap_or_default(),
            _ => {
                let mut errors = ValidationErrors::new();
                errors.add("schedule_on", "required", "Field is required but missing");
                return Err(ApiError::Validation(errors));
            }
        };
        data.insert("scheduled_date".into(), json!(date));
    }
    validate(&api, &txn, &mut data, &row.account_id, &row.id).await?;
    let mut events = save_doc(&mut row, data, added, now);
    events.retain(|e| !e.subject.ends_with(".updated"));
    let mut entry = json!({"timestamp": now, "type": "transition",
                           "transition": {"new": to.as_str(), "previous": from.as_str()},
                           "authorization": authorization(&scope.caller)});
    if let Some(reason) = &reason {
        entry["reason"] = json!(reason);
    }
    let mut log = row.transitions();
    log.push(entry.clone());
    row.transitions = Value::Array(log).to_string();
    row.port_state = to.as_str().into();
    if to == PortState::Completed {
        api.manager
            .complete_port(&txn, &row.numbers(), &row.account_id, &row.id)
            .await?;
    }
    events.push(port_event(
        "transitioned",
        &row,
        json!({"transition": entry, "port_state": to.as_str()}),
    ));
    let rev = row.rev;
    let row = store::save(&txn, row, Some(rev), to.is_active(), &events).await?;
    commit(&api, txn).await?;
    Ok(Reply::ok(
        view(&api, &row, is_private_viewer(&scope, &row), Some(&ctx)).await?,
    ))
}

async fn timeline(api: Api, scope: AccountScope, path: PortPath) -> ApiResult {
    let row = load(&api, scope.account_id(), &path.1).await?;
    let show_private = is_private_viewer(&scope, &row);
    let mut entries: Vec<Value> = row.transitions();
    for comment in row.comments() {
        if !show_private
            && comment
                .get("is_private")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        {
            continue;
        }
        let mut comment = comment;
        comment["type"] = json!("comment");
        entries.push(comment);
    }
    entries.sort_by_key(|e| e["timestamp"].as_i64().unwrap_or_default());
    Ok(Reply::ok(Value::Array(entries)))
}

// ---- attachments and the letter -----------------------------------------------------

async fn list_attachments(api: Api, scope: AccountScope, path: PortPath) -> ApiResult {
    let row = load(&api, scope.account_id(), &path.1).await?;
    let mut uploads = Map::new();
    for (name, content_type, length) in
        store::attachment_index(&api.manager.db.read, &row.id).await?
    {
        uploads.insert(
            name,
            json!({"content_type": content_type, "length": length}),
        );
    }
    Ok(Reply::ok(Value::Object(uploads)))
}

/// The uploaded file of a request: checked type (415), size (413), non-empty.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(String, Vec<u8>), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    if !ports::allowed_attachment_type(&content_type) {
        return Err(ApiError::System {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "invalid_media_type".into(),
            data: json!({"message": "attachments must be PDF documents or images", "cause": content_type}),
        });
    }
    let body = payload
        .to_bytes_limited(MAX_BODY_BYTES.max(ports::MAX_ATTACHMENT_BYTES))
        .await
        .map_err(|_| ApiError::PayloadTooLarge(ports::MAX_ATTACHMENT_BYTES))?
        .map_err(|_| ApiError::validation("file", "invalid", "failed to read request body"))?;
    if body.len() > ports::MAX_ATTACHMENT_BYTES {
        return Err(ApiError::PayloadTooLarge(ports::MAX_ATTACHMENT_BYTES));
    }
    if body.is_empty() {
        return Err(ApiError::validation(
            "file",
            "required",
            "Please provide a file",
        ));
    }
    Ok((content_type, body.to_vec()))
}

fn attachment_name(raw: &str) -> Result<String, ApiError> {
    ports::safe_attachment_name(raw).ok_or_else(|| {
        ApiError::validation(
            "filename",
            "invalid",
            "a plain file name is required (no paths)",
        )
    })
}

async fn store_attachment(
    api: &NumbersApi,
    scope: &AccountScope,
    port_id: &str,
    name: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult {
    let row = load(api, scope.account_id(), port_id).await?;
    let (content_type, bytes) = read_upload(req, payload).await?;
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    store::put_attachment(&txn, &row.id, name, &content_type, bytes, now_gregorian()).await?;
    commit(api, txn).await?;
    let ctx = auth_context(req)?;
    Ok(Reply::ok(
        view(api, &row, is_private_viewer(scope, &row), Some(&ctx)).await?,
    ))
}

async fn add_attachment(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: PortPath,
    payload: web::Payload,
) -> ApiResult {
    let filename = crossbar_envelope::request::query_value(req.query_string(), "filename")
        .ok_or_else(|| {
            ApiError::validation("filename", "required", "Field is required but missing")
        })?;
    let name = attachment_name(&filename)?;
    store_attachment(&api, &scope, &path.1, &name, &req, payload).await
}

async fn replace_attachment(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: SubPath,
    payload: web::Payload,
) -> ApiResult {
    let name = attachment_name(&path.2)?;
    store_attachment(&api, &scope, &path.1, &name, &req, payload).await
}

async fn get_attachment(
    api: Api,
    scope: AccountScope,
    path: SubPath,
) -> Result<HttpResponse, ApiError> {
    let row = load(&api, scope.account_id(), &path.1).await?;
    let name = attachment_name(&path.2)?;
    let file = store::attachment(&api.manager.db.read, &row.id, &name)
        .await?
        .ok_or_else(|| ApiError::BadIdentifier(name.clone()))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, file.content_type.clone()))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(file.bytes))
}

async fn delete_attachment(api: Api, scope: AccountScope, path: SubPath) -> ApiResult {
    let row = load(&api, scope.account_id(), &path.1).await?;
    if !state_of(&row).is_deletable() {
        return Err(not_modifiable());
    }
    let name = attachment_name(&path.2)?;
    let txn = api.manager.db.write.begin().await.map_err(db_error)?;
    if !store::delete_attachment(&txn, &row.id, &name).await? {
        return Err(ApiError::BadIdentifier(name));
    }
    commit(&api, txn).await?;
    Ok(Reply::ok(json!({})))
}

async fn letter(api: Api, scope: AccountScope, path: PortPath) -> Result<HttpResponse, ApiError> {
    let row = load(&api, scope.account_id(), &path.1).await?;
    let doc = row.doc();
    let bytes = loa::render(&loa::LetterFields {
        request_id: &row.id,
        account_name: &scope.account.name,
        doc: &doc,
    });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/pdf"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"loa-{}.pdf\"", row.id),
        ))
        .body(bytes))
}

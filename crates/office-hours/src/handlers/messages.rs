//! Voicemail messages of a box (`cb_vmboxes` messages endpoints):
//!
//! * `/v2/accounts/{A}/vmboxes/{B}/messages`: GET (`?folder=new|saved|deleted`),
//!   PUT (deposit), POST (`{"messages": [ids], "folder": F}`: change folder, default
//!   `saved`), DELETE (all, `?folder=`, or `{"messages": [ids]}`; `?hard=true` purges).
//! * `/v2/accounts/{A}/vmboxes/{B}/messages/{MSG}`: GET, POST (folder, default `saved`,
//!   and metadata), DELETE (`?hard=true` purges).
//! * `/v2/accounts/{A}/vmboxes/{B}/messages/{MSG}/raw`: GET (the audio as stored, no
//!   envelope), PUT (attach or replace the audio).
//! * `GET /v2/accounts/{A}/vmboxes`: the generic box listing, with `messages` = the
//!   box's live messages in `new` and `saved`.
//!
//! Deposit: a body with an `audio/*` content type is the audio, and the caller
//! metadata comes from the query string (`caller_id_number`, `caller_id_name`, `from`,
//! `to`, `call_id`, `length`, `timestamp`, `folder`); a JSON body is a metadata-only
//! message (Kazoo's first method; the audio follows with `PUT .../{MSG}/raw`).
//!
//! Deleting is Kazoo's `{deleted, true}`: the message goes to the `deleted` folder and
//! is soft-deleted (404 afterwards, gone from listings and counts); a message moved to
//! `deleted` with POST stays visible under `?folder=deleted`.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use chrono::{Datelike, Utc};
use crossbar_authz::AccountScope;
use crossbar_crud::{Doc, Documents, Endpoint, ListQuery, Payload, ResourceRules};
use crossbar_envelope::render::MAX_BODY_BYTES;
use crossbar_envelope::request::parse_query;
use crossbar_envelope::time::now_gregorian;
use crossbar_envelope::{ids, ApiError, ApiResult, Reply, RequestEnvelope};
use serde_json::Value;

use crate::domain::messages::{
    audio_content_type, extension_of, is_json_content_type, message_ids, new_media_id,
    read_metadata, BulkResult, Folder, MetadataInput, MAX_AUDIO_BYTES,
};
use crate::domain::rules::{VmboxesRules, VMBOX};
use crate::store::messages::{message, MessageStore, NewBlob, NewMessage};
use crate::OfficeHoursService;

const TAG: &str = "office_hours";

/// What the message handlers need (app data of their resources).
pub struct MessagesApi {
    pub docs: Documents,
    pub store: MessageStore,
    pub boxes: VmboxesRules,
}

/// Registers the message routes and the box listing with counts; call before the
/// generic `/vmboxes` resources.
pub fn configure(service: &OfficeHoursService, cfg: &mut web::ServiceConfig) {
    let api = web::Data::new(MessagesApi {
        docs: service.docs.clone(),
        store: MessageStore::new(service.docs.db().clone()),
        boxes: VmboxesRules {
            docs: service.docs.clone(),
            users: service.users.clone(),
        },
    });
    let boxes = "/v2/accounts/{account_id}/vmboxes";
    let messages = format!("{boxes}/{{vmbox_id}}/messages");
    // Only GET: other verbs fall through to the generic resource.
    cfg.service(
        web::resource(boxes) // documented by the catalog (the generic GET of vmboxes)
            .guard(guard::Get())
            .app_data(api.clone())
            .route(web::get().to(list_boxes)),
    );
    let audio = || Payload::Raw(vec!["audio/*".to_string()]);
    Endpoint::new(messages.clone(), TAG)
        .data(api.clone())
        .get(
            list,
            Doc::list("Messages of a voicemail box").query("folder", "new, saved or deleted"),
        )
        .put(
            deposit,
            Doc::create("Deposit a message (raw audio body, or JSON metadata)", None),
        )
        .post(
            change_folders,
            Doc::update(
                "Move messages between folders (`data.messages`, `data.folder`)",
                None,
            ),
        )
        .delete(
            delete_many,
            Doc::delete("Delete messages (all, or by folder)"),
        )
        .register(cfg);
    Endpoint::new(format!("{messages}/{{media_id}}"), TAG)
        .data(api.clone())
        .get(read, Doc::read("One message's metadata"))
        .post(change, Doc::update("Change a message (its folder)", None))
        .delete(delete_one, Doc::delete("Delete a message"))
        .register(cfg);
    Endpoint::new(format!("{messages}/{{media_id}}/raw"), TAG)
        .data(api)
        .get(raw, Doc::read("The message's audio").response(audio()))
        .put(
            upload_raw,
            Doc::update("Upload the message's audio", None).request(audio()),
        )
        .register(cfg);
}

type BoxPath = web::Path<(String, String)>;
type MessagePath = web::Path<(String, String, String)>;

impl MessagesApi {
    /// The box must be a live vmbox of the account (404 bad_identifier otherwise).
    async fn require_box(&self, scope: &AccountScope, box_id: &str) -> Result<(), ApiError> {
        self.docs.load(scope.account_id(), VMBOX, box_id).await?;
        Ok(())
    }
}

/// A request body of at most `limit` bytes (413 above it), refused early when the
/// announced length is over the per-request ceiling.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    // Read up to the per-request ceiling so that the client gets its answer, then
    // apply the (smaller) limit of what is being uploaded.
    let body = payload
        .to_bytes_limited(MAX_BODY_BYTES.max(limit))
        .await
        .map_err(|_| ApiError::PayloadTooLarge(limit))?
        .map_err(|_| ApiError::validation("file", "invalid", "failed to read request body"))?;
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok(body)
}

/// The uploaded audio of a request, checked (415 not audio, 413 too large,
/// 400 `file.required` when empty).
async fn read_audio(req: &HttpRequest, payload: web::Payload) -> Result<NewBlob, ApiError> {
    let header = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let content_type = audio_content_type(header)?;
    let bytes = read_body(req, payload, MAX_AUDIO_BYTES).await?;
    if bytes.is_empty() {
        return Err(ApiError::validation(
            "file",
            "required",
            "Please provide a media file",
        ));
    }
    Ok(NewBlob {
        content_type,
        bytes: bytes.to_vec(),
    })
}

async fn read_envelope(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<RequestEnvelope, ApiError> {
    let body = read_body(req, payload, MAX_BODY_BYTES).await?;
    RequestEnvelope::parse(&body, req.query_string())
}

fn query_lookup(req: &HttpRequest) -> impl Fn(&str) -> Option<Value> {
    let query = parse_query(req.query_string());
    move |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| Value::String(v.clone()))
    }
}

/// The `folder` request value, if any (400 when it is not a folder).
fn folder_value(value: Option<Value>) -> Result<Option<Folder>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Folder::from_value(&v).map(Some),
    }
}

fn refuse_source_id(envelope: &RequestEnvelope) -> Result<(), ApiError> {
    if envelope.data.contains_key("source_id") {
        return Err(ApiError::system(
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            "moving or copying messages to other boxes is not implemented",
        ));
    }
    Ok(())
}

async fn list_boxes(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    req: HttpRequest,
) -> ApiResult {
    let query = ListQuery::from_query(req.query_string())?;
    let (docs, page) = api.docs.list(scope.account_id(), VMBOX, &query).await?;
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    let counts = api.store.counts(scope.account_id(), &ids).await?;
    let rows: Vec<Value> = docs
        .iter()
        .map(|doc| {
            let mut row = api.boxes.summary(doc);
            if let Value::Object(map) = &mut row {
                let count = counts.get(&doc.id).copied().unwrap_or(0);
                map.insert("messages".into(), Value::from(count));
            }
            row
        })
        .collect();
    let reply = Reply::ok(Value::Array(rows));
    Ok(match page {
        Some(page) => reply.with_page(page),
        None => reply,
    })
}

async fn list(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: BoxPath,
    req: HttpRequest,
) -> ApiResult {
    let (_, box_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let folder = folder_value(query_lookup(&req)("folder"))?;
    let messages = api.store.list(scope.account_id(), &box_id, folder).await?;
    Ok(Reply::ok(Value::Array(
        messages.iter().map(message::Model::view).collect(),
    )))
}

async fn deposit(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: BoxPath,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult {
    let (_, box_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let header = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (input, audio) = if is_json_content_type(header) {
        let envelope = read_envelope(&req, payload).await?;
        (read_metadata(|k| envelope.value(k))?, None)
    } else {
        let audio = read_audio(&req, payload).await?;
        (read_metadata(query_lookup(&req))?, Some(audio))
    };
    let MetadataInput {
        fields,
        folder,
        timestamp,
        length,
    } = input;
    let now = Utc::now();
    let new = NewMessage {
        media_id: new_media_id(now.year(), now.month(), &ids::new_id()),
        account_id: scope.account_id().to_string(),
        vmbox_id: box_id,
        folder: folder.unwrap_or(Folder::New),
        timestamp: timestamp.unwrap_or_else(now_gregorian),
        length: length.unwrap_or(0),
        fields,
        now: now_gregorian(),
    };
    let stored = api.store.insert(new, audio).await?;
    let location = format!("{}/{}", req.path().trim_end_matches('/'), stored.media_id);
    Ok(Reply::created(stored.view(), location))
}

async fn change_folders(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: BoxPath,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, box_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    refuse_source_id(&body)?;
    let ids = message_ids(body.data.get("messages").cloned())?;
    let folder = folder_value(body.value("folder"))?.unwrap_or(Folder::Saved);
    let mut result = BulkResult::default();
    for id in ids {
        match api.store.find(scope.account_id(), &box_id, &id).await? {
            Some(mut msg) => {
                msg.folder = folder.as_str().to_string();
                msg.modified = now_gregorian();
                api.store.update(msg).await?;
                result.succeeded.push(id);
            }
            None => result.failed.push((id, "not_found".into())),
        }
    }
    Ok(Reply::ok(result.to_json()))
}

/// Soft delete (Kazoo: folder `deleted` and `pvt_deleted`) or, with `hard`, purge.
async fn remove(api: &MessagesApi, msg: message::Model, hard: bool) -> Result<Value, ApiError> {
    if hard {
        let mut view = msg.view();
        if let Value::Object(map) = &mut view {
            map.insert(
                "folder".into(),
                Value::String(Folder::Deleted.as_str().into()),
            );
        }
        api.store.hard_delete(&msg.media_id).await?;
        Ok(view)
    } else {
        let mut msg = msg;
        msg.folder = Folder::Deleted.as_str().to_string();
        msg.deleted = true;
        msg.modified = now_gregorian();
        Ok(api.store.update(msg).await?.view())
    }
}

async fn delete_many(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: BoxPath,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, box_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let hard = body.flag("hard");
    let mut result = BulkResult::default();
    let selected: Vec<message::Model> = match body.data.get("messages") {
        Some(value) => {
            let mut found = Vec::new();
            for id in message_ids(Some(value.clone()))? {
                match api.store.find(scope.account_id(), &box_id, &id).await? {
                    Some(msg) => found.push(msg),
                    None => result.failed.push((id, "not_found".into())),
                }
            }
            found
        }
        None => {
            let folder = folder_value(body.value("folder"))?;
            api.store.list(scope.account_id(), &box_id, folder).await?
        }
    };
    for msg in selected {
        let id = msg.media_id.clone();
        remove(&api, msg, hard).await?;
        result.succeeded.push(id);
    }
    Ok(Reply::ok(result.to_json()))
}

async fn read(scope: AccountScope, api: web::Data<MessagesApi>, path: MessagePath) -> ApiResult {
    let (_, box_id, media_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let msg = api
        .store
        .load(scope.account_id(), &box_id, &media_id)
        .await?;
    Ok(Reply::ok(msg.view()))
}

async fn change(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: MessagePath,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, box_id, media_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    refuse_source_id(&body)?;
    let mut msg = api
        .store
        .load(scope.account_id(), &box_id, &media_id)
        .await?;
    let input = read_metadata(|k| body.value(k))?;
    let mut fields = msg.field_map();
    fields.extend(input.fields);
    msg.fields = Value::Object(fields).to_string();
    if let Some(length) = input.length {
        msg.length = length;
    }
    if let Some(timestamp) = input.timestamp {
        msg.timestamp = timestamp;
    }
    // Kazoo's default folder for a change is `saved`.
    msg.folder = input.folder.unwrap_or(Folder::Saved).as_str().to_string();
    msg.modified = now_gregorian();
    let saved = api.store.update(msg).await?;
    Ok(Reply::ok(saved.view()))
}

async fn delete_one(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: MessagePath,
    body: RequestEnvelope,
) -> ApiResult {
    let (_, box_id, media_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let msg = api
        .store
        .load(scope.account_id(), &box_id, &media_id)
        .await?;
    let view = remove(&api, msg, body.flag("hard")).await?;
    Ok(Reply::ok(view))
}

/// The audio, as stored, outside the JSON envelope (no `PendingEnvelope`, 200).
async fn raw(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: MessagePath,
) -> Result<HttpResponse, ApiError> {
    let (_, box_id, media_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    api.store
        .load(scope.account_id(), &box_id, &media_id)
        .await?;
    let blob = api
        .store
        .blob(&media_id)
        .await?
        .ok_or_else(|| ApiError::BadIdentifier(media_id.clone()))?;
    let filename = format!("{media_id}.{}", extension_of(&blob.content_type));
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, blob.content_type.clone()))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(blob.bytes))
}

async fn upload_raw(
    scope: AccountScope,
    api: web::Data<MessagesApi>,
    path: MessagePath,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult {
    let (_, box_id, media_id) = path.into_inner();
    api.require_box(&scope, &box_id).await?;
    let msg = api
        .store
        .load(scope.account_id(), &box_id, &media_id)
        .await?;
    let audio = read_audio(&req, payload).await?;
    api.store.replace_blob(&msg, audio, now_gregorian()).await?;
    Ok(Reply::ok(msg.view()))
}

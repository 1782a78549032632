//! `phone_numbers` (`cb_phone_numbers.erl`, kazoo-api.md §9.9): inventory search with
//! and without a token, the account listing, one number's verbs and actions, and the
//! collection, classifier, carrier, check and fix endpoints.

use std::sync::Arc;

use actix_web::{web, HttpRequest};
use crossbar_authz::{AccountScope, AuthContext, Caller};
use crossbar_crud::{Doc, Endpoint, Payload};
use crossbar_envelope::render::MAX_BODY_BYTES;
use crossbar_envelope::{ApiError, ApiResult, Reply, RequestEnvelope, ValidationErrors};
use crossbar_schema::SchemaRegistry;
use serde_json::{json, Map, Value};

use crate::domain::errors::{number_not_found, OpError};
use crate::domain::states::NumberState;
use crate::domain::views;
use crate::domain::{classifiers, inventory};
use crate::manager::{NumberManager, Requestor};
use crate::store::{numbers as store, ports};

const TAG: &str = "phone_numbers";

/// What the handlers need (app data).
pub struct NumbersApi {
    pub manager: NumberManager,
    pub schemas: Arc<SchemaRegistry>,
}

type Api = web::Data<NumbersApi>;

/// Most numbers one search answers with.
pub const MAX_QUANTITY: u64 = 500;

pub fn configure(api: Api, cfg: &mut web::ServiceConfig) {
    let base = "/v2/accounts/{account_id}/phone_numbers";
    let search = |summary: &str| {
        Doc::list(summary)
            .query("prefix", "Leading digits (3..10), required")
            .query("quantity", "How many numbers (default 1)")
            .query("offset", "Skip this many matches")
            .query("country", "ISO 3166 alpha-2 country (default US)")
    };
    Endpoint::new("/v2/phone_numbers", TAG)
        .data(api.clone())
        .get(
            search_without_account,
            search("Search the number inventory (no token needed)").public(),
        )
        .register(cfg);
    Endpoint::new("/v2/phone_numbers/inventory", TAG)
        .data(api.clone())
        .put(
            import_inventory,
            Doc::create(
                "Load inventory numbers from a CSV body (superduper admins)",
                None,
            )
            .request(Payload::Raw(vec!["text/csv".to_string()])),
        )
        .register(cfg);
    Endpoint::new(base, TAG)
        .data(api.clone())
        .get(
            list,
            Doc::read("The account's numbers (`data.numbers` map)")
                .query(
                    "prefix",
                    "Search the inventory instead (with quantity, offset)",
                )
                .query("include_ports", "false: leave numbers being ported in out"),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/collection"), TAG)
        .data(api.clone())
        .put(
            collection_create,
            Doc::update("Add several numbers (`data.numbers`)", None).replayable(),
        )
        .post(
            collection_replace,
            Doc::update("Replace several numbers' documents", None).replayable(),
        )
        .patch(
            collection_patch,
            Doc::update("Change several numbers' documents", None).replayable(),
        )
        .delete(
            collection_release,
            Doc::delete("Release several numbers").replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/collection/activate"), TAG)
        .data(api.clone())
        .put(
            collection_activate,
            Doc::update("Activate several numbers", None).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/classifiers"), TAG)
        .data(api.clone())
        .get(classifiers_all, Doc::read("The number classifiers"))
        .register(cfg);
    Endpoint::new(format!("{base}/classifiers/{{number}}"), TAG)
        .data(api.clone())
        .get(
            classify_one,
            Doc::read("The first classifier that matches a number"),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/carriers_info"), TAG)
        .data(api.clone())
        .get(carriers_info, Doc::read("The carriers numbers come from"))
        .register(cfg);
    Endpoint::new(format!("{base}/fix"), TAG)
        .data(api.clone())
        .post(fix_all, Doc::update("Repair the account's numbers", None))
        .register(cfg);
    Endpoint::new(format!("{base}/fix/{{number}}"), TAG)
        .data(api.clone())
        .post(fix_one, Doc::update("Repair one number", None))
        .register(cfg);
    Endpoint::new(format!("{base}/check"), TAG)
        .data(api.clone())
        .post(
            check,
            Doc::update("Whether numbers are available (`data.numbers`)", None).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/locality"), TAG)
        .data(api.clone())
        .post(
            locality,
            Doc::update("Locality of numbers (`data.numbers`)", None).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{number}}"), TAG)
        .data(api.clone())
        .get(read, Doc::read("One number"))
        .put(
            create,
            Doc::create(
                "Add a number (reserved unless `create_with_state`)",
                Some("phone_numbers"),
            )
            .replayable(),
        )
        .post(
            replace,
            Doc::update("Replace a number's document", Some("phone_numbers")).replayable(),
        )
        .patch(
            patch,
            Doc::update("Change some fields of a number", None).replayable(),
        )
        .delete(release, Doc::delete("Release a number").replayable())
        .register(cfg);
    Endpoint::new(format!("{base}/{{number}}/activate"), TAG)
        .data(api.clone())
        .put(
            activate,
            Doc::update("Put a number in service", None).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{number}}/reserve"), TAG)
        .data(api.clone())
        .put(reserve, Doc::update("Reserve a number", None).replayable())
        .register(cfg);
    Endpoint::new(format!("{base}/{{number}}/port"), TAG)
        .data(api.clone())
        .put(
            port,
            Doc::update("Mark a number as being ported in", None).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{base}/{{number}}/identify"), TAG)
        .data(api)
        .get(identify, Doc::read("Which account a number belongs to"))
        .register(cfg);
}

type NumberPath = web::Path<(String, String)>;

/// The number of the path, normalised (`%2B` and raw `+` both arrive as `+`). A
/// string that is no E.164 number cannot name a stored number: 404.
fn path_number(raw: &str) -> Result<String, ApiError> {
    let number = crossbar_numbering::normalize(raw);
    if crossbar_numbering::is_e164(&number) {
        Ok(number)
    } else {
        Err(number_not_found())
    }
}

fn auth_context(req: &HttpRequest) -> Result<web::Data<AuthContext>, ApiError> {
    req.app_data::<web::Data<AuthContext>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AuthContext is not registered"))
}

fn requestor<'a>(
    req: &'a HttpRequest,
    scope: &'a AccountScope,
    ctx: &'a AuthContext,
) -> Requestor<'a> {
    Requestor {
        account: &scope.account,
        caller: &scope.caller.account,
        directory: ctx.directory.as_ref(),
        request_id: crossbar_crud::creation_id(req),
    }
}

impl NumbersApi {
    /// Validates public fields against `phone_numbers.json` (defaults filled).
    fn validate_fields(&self, data: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
        let mut doc = Value::Object(views::public_fields(data));
        self.schemas
            .validate("phone_numbers", &mut doc)
            .map_err(ApiError::Validation)?;
        Ok(match doc {
            Value::Object(map) => map,
            _ => Map::new(),
        })
    }
}

/// `create_with_state` of a request, if any (schema enum checked).
fn wanted_state(envelope: &RequestEnvelope) -> Result<Option<NumberState>, ApiError> {
    match envelope.value("create_with_state") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(state)) => NumberState::parse(&state).map(Some).ok_or_else(|| {
            let mut errors = ValidationErrors::new();
            errors.add_with(
                "create_with_state",
                "enum",
                "Value not found in enumerated list of values",
                json!({"target": NumberState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
            );
            ApiError::Validation(errors)
        }),
        Some(_) => Err(ApiError::validation(
            "create_with_state",
            "type",
            "Value did not match type(s): string",
        )),
    }
}

// ---- search ----------------------------------------------------------------------

/// The E.164 prefix of a search: `+` prefixes are taken as they are; others are
/// national digits of `country` (its calling code is prepended).
fn e164_prefix(prefix: &str, country: &str) -> Result<String, ApiError> {
    if let Some(rest) = prefix.strip_prefix('+') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(prefix.to_string());
        }
    } else if prefix.bytes().all(|b| b.is_ascii_digit()) {
        let code = phonenumber::metadata::DATABASE
            .by_id(country.to_ascii_uppercase().as_str())
            .map(|meta| meta.country_code())
            .ok_or_else(|| {
                ApiError::validation("country", "invalid", format!("unknown country {country}"))
            })?;
        return Ok(format!("+{code}{prefix}"));
    }
    let mut errors = ValidationErrors::new();
    errors.add_with(
        "prefix",
        "pattern",
        "Failed to match pattern '^\\+?[0-9]+$'",
        json!({"value": prefix}),
    );
    Err(ApiError::Validation(errors))
}

async fn search(api: &NumbersApi, envelope: &RequestEnvelope) -> ApiResult {
    let text = |key: &str| match envelope.value(key) {
        Some(Value::String(s)) => Some(Value::String(s)),
        Some(Value::Number(n)) => Some(Value::Number(n)),
        _ => None,
    };
    let mut query = Map::new();
    if let Some(prefix) = text("prefix") {
        query.insert(
            "prefix".into(),
            json!(prefix
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| prefix.to_string())),
        );
    }
    if let Some(quantity) = text("quantity") {
        query.insert("quantity".into(), quantity);
    }
    if let Some(country) = text("country") {
        query.insert("country".into(), country);
    }
    let mut doc = Value::Object(query);
    api.schemas
        .validate("find_numbers", &mut doc)
        .map_err(ApiError::Validation)?;
    let prefix = doc["prefix"].as_str().unwrap_or_default().to_string();
    let country = doc["country"].as_str().unwrap_or("US").to_string();
    let quantity = doc["quantity"]
        .as_u64()
        .or_else(|| doc["quantity"].as_str().and_then(|q| q.parse().ok()))
        .unwrap_or(1)
        .clamp(1, MAX_QUANTITY);
    let offset = match envelope.value("offset") {
        None => 0,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse::<u64>().map_err(|_| {
            ApiError::validation("offset", "type", "Value did not match type(s): integer")
        })?,
        Some(_) => 0,
    };
    let e164 = e164_prefix(&prefix, &country)?;
    let rows = store::search_available(&api.manager.db.read, &e164, quantity, offset).await?;
    Ok(Reply::ok(Value::Array(
        rows.iter().map(views::search_result).collect(),
    )))
}

/// `GET /v2/phone_numbers?prefix=...` (no token needed).
async fn search_without_account(api: Api, envelope: RequestEnvelope) -> ApiResult {
    search(&api, &envelope).await
}

/// `PUT /v2/phone_numbers/inventory` (superduper): a CSV body of inventory numbers,
/// as `crossbar numbers import` reads it.
async fn import_inventory(api: Api, caller: Caller, payload: web::Payload) -> ApiResult {
    if !caller.is_superduper() {
        return Err(ApiError::Forbidden(None));
    }
    let body = payload
        .to_bytes_limited(MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?
        .map_err(|_| ApiError::validation("file", "invalid", "failed to read request body"))?;
    let (lines, errors) = inventory::parse_csv(body.as_ref())
        .map_err(|reason| ApiError::validation("file", "invalid", reason))?;
    if lines.len() > inventory::MAX_API_LINES {
        return Err(ApiError::validation(
            "file",
            "maxItems",
            format!("at most {} numbers per upload", inventory::MAX_API_LINES),
        ));
    }
    let now = crossbar_envelope::time::now_gregorian();
    let (added, existing) = store::import(&api.manager.db.write, &lines, now).await?;
    Ok(Reply::ok(json!({
        "added": added,
        "already_present": existing,
        "rejected": errors
            .iter()
            .map(|(line, reason)| json!({"line": line, "reason": reason}))
            .collect::<Vec<_>>(),
    })))
}

// ---- account listing ---------------------------------------------------------------

async fn list(api: Api, scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    if envelope.value("prefix").is_some() {
        return search(&api, &envelope).await;
    }
    let account_id = scope.account_id();
    let rows = store::by_account(&api.manager.db.read, account_id).await?;
    let mut numbers = Map::new();
    for row in &rows {
        numbers.insert(row.number.clone(), views::listing_entry(row));
    }
    let include_ports = !matches!(envelope.value("include_ports"), Some(Value::Bool(false)))
        && !matches!(envelope.value("include_ports"), Some(Value::String(s)) if s == "false");
    if include_ports {
        // Numbers still on the way in (active port requests) show as `port_in`.
        for request in ports::by_account(&api.manager.db.read, account_id).await? {
            if !crate::domain::ports::PortState::parse(&request.port_state)
                .is_some_and(|state| state.is_active())
            {
                continue;
            }
            for number in request.numbers() {
                numbers.entry(number).or_insert_with(|| {
                    json!({"state": "port_in", "assigned_to": account_id, "port_id": request.id,
                           "created": request.created, "updated": request.modified, "features": []})
                });
            }
        }
    }
    Ok(Reply::ok(
        json!({"numbers": numbers, "cascade_quantity": 0}),
    ))
}

// ---- one number ----------------------------------------------------------------------

async fn read(api: Api, scope: AccountScope, path: NumberPath) -> ApiResult {
    let number = path_number(&path.1)?;
    let row = api.manager.held(&number, scope.account_id()).await?;
    Ok(Reply::ok(views::number_view(&row)))
}

async fn create_in(
    api: &NumbersApi,
    req: &HttpRequest,
    scope: &AccountScope,
    raw: &str,
    envelope: RequestEnvelope,
    forced: Option<NumberState>,
) -> ApiResult {
    let number = path_number(raw)?;
    let wanted = match forced {
        Some(state) => Some(state),
        None => wanted_state(&envelope)?,
    };
    let fields = api.validate_fields(envelope.data)?;
    let ctx = auth_context(req)?;
    let row = api
        .manager
        .create(&number, wanted, fields, &requestor(req, scope, &ctx))
        .await
        .map_err(ApiError::from)?;
    Ok(Reply::created(views::number_view(&row), number))
}

async fn create(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: NumberPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    create_in(&api, &req, &scope, &path.1, envelope, None).await
}

async fn port(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: NumberPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    create_in(
        &api,
        &req,
        &scope,
        &path.1,
        envelope,
        Some(NumberState::PortIn),
    )
    .await
}

async fn update(
    api: &NumbersApi,
    scope: &AccountScope,
    raw: &str,
    envelope: RequestEnvelope,
    merge: bool,
) -> ApiResult {
    let number = path_number(raw)?;
    let data = views::public_fields(envelope.data);
    let fields = if merge {
        // PATCH: the merged result is what gets validated (patch_and_validate).
        let current = api.manager.held(&number, scope.account_id()).await?;
        let mut merged = current.fields();
        crossbar_crud::json::deep_merge(&mut merged, &data);
        api.validate_fields(merged)?
    } else {
        api.validate_fields(data)?
    };
    let row = api
        .manager
        .update_fields(&number, scope.account_id(), fields, false)
        .await?;
    Ok(Reply::ok(views::number_view(&row)))
}

async fn replace(
    api: Api,
    scope: AccountScope,
    path: NumberPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    update(&api, &scope, &path.1, envelope, false).await
}

async fn patch(
    api: Api,
    scope: AccountScope,
    path: NumberPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    update(&api, &scope, &path.1, envelope, true).await
}

async fn release(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    path: NumberPath,
    envelope: RequestEnvelope,
) -> ApiResult {
    let number = path_number(&path.1)?;
    if envelope.flag("hard") {
        scope.require_superduper()?;
        let row = api.manager.hard_delete(&number, scope.account_id()).await?;
        return Ok(Reply::ok(views::deleted_view(&row)));
    }
    let ctx = auth_context(&req)?;
    let row = api
        .manager
        .release(&number, &requestor(&req, &scope, &ctx))
        .await
        .map_err(ApiError::from)?;
    Ok(Reply::ok(views::number_view(&row)))
}

async fn move_number(
    api: &NumbersApi,
    req: &HttpRequest,
    scope: &AccountScope,
    raw: &str,
    to: NumberState,
) -> ApiResult {
    let number = path_number(raw)?;
    let ctx = auth_context(req)?;
    let row = api
        .manager
        .move_to(&number, to, &requestor(req, scope, &ctx))
        .await
        .map_err(ApiError::from)?;
    Ok(Reply::ok(views::number_view(&row)))
}

async fn activate(api: Api, req: HttpRequest, scope: AccountScope, path: NumberPath) -> ApiResult {
    move_number(&api, &req, &scope, &path.1, NumberState::InService).await
}

async fn reserve(api: Api, req: HttpRequest, scope: AccountScope, path: NumberPath) -> ApiResult {
    move_number(&api, &req, &scope, &path.1, NumberState::Reserved).await
}

/// `GET .../{N}/identify`: the account holding the number, if the caller may see it.
async fn identify(api: Api, req: HttpRequest, scope: AccountScope, path: NumberPath) -> ApiResult {
    let number = path_number(&path.1)?;
    let row = store::find(&api.manager.db.read, &number)
        .await?
        .ok_or_else(number_not_found)?;
    let Some(owner) = row.assigned_to.clone() else {
        return Err(number_not_found());
    };
    let ctx = auth_context(&req)?;
    let visible = scope.caller.is_superduper()
        || ctx
            .directory
            .account(&owner)
            .await?
            .is_some_and(|account| account.is_within(&scope.caller.account.id));
    if !visible {
        return Err(number_not_found());
    }
    if row.state() != NumberState::InService {
        return Err(ApiError::System {
            status: actix_web::http::StatusCode::BAD_REQUEST,
            message: "client error".into(),
            data: json!({"cause": "not_in_service", "account_id": owner, "number": number}),
        });
    }
    Ok(Reply::ok(json!({"account_id": owner, "number": number})))
}

// ---- collections -----------------------------------------------------------------

/// `data.numbers` of a collection request, normalised, with Kazoo's checks.
fn collection_numbers(data: &mut Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let numbers = match data.remove("numbers") {
        None => {
            return Err(ApiError::validation(
                "numbers",
                "required",
                "list of numbers missing",
            ))
        }
        Some(Value::Array(numbers)) => numbers,
        Some(_) => {
            return Err(ApiError::validation(
                "numbers",
                "type",
                "numbers must be a list",
            ))
        }
    };
    if numbers.is_empty() {
        return Err(ApiError::validation(
            "numbers",
            "minimum",
            "minimum 1 number required",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(numbers.len());
    for number in &numbers {
        let Some(text) = number.as_str() else {
            return Err(ApiError::validation(
                "numbers",
                "type",
                "numbers must be a list",
            ));
        };
        let normalised = crossbar_numbering::normalize(text);
        if out.contains(&normalised) {
            return Err(ApiError::validation(
                "numbers",
                "uniqueItems",
                "some numbers appear twice",
            ));
        }
        out.push(normalised);
    }
    Ok(out)
}

/// Runs `op` for every number; answers `{success, error}`.
async fn each_number<F, Fut>(numbers: Vec<String>, op: F) -> ApiResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, OpError>>,
{
    let mut success = Map::new();
    let mut error = Map::new();
    for number in numbers {
        if !crossbar_numbering::is_e164(&number) {
            error.insert(
                number.clone(),
                json!({"code": 404, "error": "not_reconcilable", "cause": number,
                       "message": format!("number {number} is not reconcilable")}),
            );
            continue;
        }
        match op(number.clone()).await {
            Ok(view) => {
                success.insert(number, view);
            }
            Err(failure) => {
                error.insert(number, failure.to_json());
            }
        }
    }
    Ok(Reply::ok(json!({"success": success, "error": error})))
}

async fn collection_create(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let wanted = wanted_state(&envelope)?;
    let mut data = envelope.data;
    let numbers = collection_numbers(&mut data)?;
    let fields = api.validate_fields(data)?;
    let ctx = auth_context(&req)?;
    let who = requestor(&req, &scope, &ctx);
    each_number(numbers, |number| {
        let (api, who, fields) = (&api, &who, fields.clone());
        async move {
            let row = api.manager.create(&number, wanted, fields, who).await?;
            Ok(views::number_view(&row))
        }
    })
    .await
}

async fn collection_update(
    api: &NumbersApi,
    scope: &AccountScope,
    envelope: RequestEnvelope,
    merge: bool,
) -> ApiResult {
    let mut data = envelope.data;
    let numbers = collection_numbers(&mut data)?;
    let data = views::public_fields(data);
    each_number(numbers, |number| {
        let data = data.clone();
        async move {
            let current = api.manager.held(&number, scope.account_id()).await?;
            let fields = if merge {
                let mut merged = current.fields();
                crossbar_crud::json::deep_merge(&mut merged, &data);
                merged
            } else {
                data
            };
            let fields = api.validate_fields(fields)?;
            let row = api
                .manager
                .update_fields(&number, scope.account_id(), fields, false)
                .await?;
            Ok(views::number_view(&row))
        }
    })
    .await
}

async fn collection_replace(api: Api, scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    collection_update(&api, &scope, envelope, false).await
}

async fn collection_patch(api: Api, scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    collection_update(&api, &scope, envelope, true).await
}

async fn collection_release(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let mut data = envelope.data;
    let numbers = collection_numbers(&mut data)?;
    let ctx = auth_context(&req)?;
    let who = requestor(&req, &scope, &ctx);
    each_number(numbers, |number| {
        let (api, who) = (&api, &who);
        async move {
            let row = api.manager.release(&number, who).await?;
            Ok(views::number_view(&row))
        }
    })
    .await
}

async fn collection_activate(
    api: Api,
    req: HttpRequest,
    scope: AccountScope,
    envelope: RequestEnvelope,
) -> ApiResult {
    let mut data = envelope.data;
    let numbers = collection_numbers(&mut data)?;
    let ctx = auth_context(&req)?;
    let who = requestor(&req, &scope, &ctx);
    each_number(numbers, |number| {
        let (api, who) = (&api, &who);
        async move {
            let row = api
                .manager
                .move_to(&number, NumberState::InService, who)
                .await?;
            Ok(views::number_view(&row))
        }
    })
    .await
}

// ---- classifiers, carriers, check, fix, locality --------------------------------

async fn classifiers_all(_scope: AccountScope) -> ApiResult {
    Ok(Reply::ok(classifiers::all()))
}

async fn classify_one(_scope: AccountScope, path: NumberPath) -> ApiResult {
    Ok(Reply::ok(classifiers::classify(&path.1)))
}

async fn carriers_info(_scope: AccountScope) -> ApiResult {
    Ok(Reply::ok(json!({
        "maximal_prefix_length": 10,
        "usable_carriers": ["local"],
        "usable_creation_states": crate::domain::states::SUPERDUPER_CREATION_STATES
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    })))
}

/// `data.numbers` of check/locality (a list of numbers).
fn listed_numbers(envelope: &RequestEnvelope) -> Result<Vec<(String, String)>, ApiError> {
    match envelope.data.get("numbers") {
        Some(Value::Array(numbers)) if !numbers.is_empty() => Ok(numbers
            .iter()
            .filter_map(Value::as_str)
            .map(|raw| (raw.to_string(), crossbar_numbering::normalize(raw)))
            .collect()),
        Some(Value::Array(_)) => Err(ApiError::validation(
            "numbers",
            "minimum",
            "minimum 1 number required",
        )),
        Some(_) => Err(ApiError::validation(
            "numbers",
            "type",
            "numbers must be a list",
        )),
        None => Err(ApiError::validation(
            "numbers",
            "required",
            "list of numbers missing",
        )),
    }
}

/// `POST .../check`: whether each number could be taken (`success`: free in the
/// inventory or unknown; `error`: held).
async fn check(api: Api, _scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    let numbers = listed_numbers(&envelope)?;
    let e164: Vec<String> = numbers.iter().map(|(_, n)| n.clone()).collect();
    let rows = store::find_many(&api.manager.db.read, &e164).await?;
    let mut out = Map::new();
    for (raw, number) in numbers {
        let free = rows
            .iter()
            .find(|row| row.number == number)
            .is_none_or(|row| matches!(row.state(), NumberState::Available | NumberState::Aging));
        out.insert(
            raw,
            json!(if free && crossbar_numbering::is_e164(&number) {
                "success"
            } else {
                "error"
            }),
        );
    }
    Ok(Reply::ok(Value::Object(out)))
}

/// `POST .../locality`: what the inventory knows of each number's locality.
async fn locality(api: Api, _scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    let numbers = listed_numbers(&envelope)?;
    let e164: Vec<String> = numbers.iter().map(|(_, n)| n.clone()).collect();
    let rows = store::find_many(&api.manager.db.read, &e164).await?;
    let mut out = Map::new();
    for (raw, number) in numbers {
        let mut entry = rows
            .iter()
            .find(|row| row.number == number)
            .map(|row| row.locality())
            .unwrap_or_default();
        if let Some(info) = crossbar_numbering::info(&number) {
            entry.insert("country".into(), json!(info.country));
            entry.insert("valid".into(), json!(info.valid));
        }
        out.insert(raw, Value::Object(entry));
    }
    Ok(Reply::ok(json!({"numbers": out, "status": "success"})))
}

/// `POST .../fix`: the account's numbers are this service's own rows, so there is
/// nothing to rebuild; answers the listing, as Kazoo does after fixing.
async fn fix_all(api: Api, scope: AccountScope, envelope: RequestEnvelope) -> ApiResult {
    scope.require_admin()?;
    list(api, scope, envelope).await
}

async fn fix_one(api: Api, scope: AccountScope, path: NumberPath) -> ApiResult {
    scope.require_admin()?;
    let number = path_number(&path.1)?;
    api.manager.held(&number, scope.account_id()).await?;
    Ok(Reply::ok(json!({})))
}

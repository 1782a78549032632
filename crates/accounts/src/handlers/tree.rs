//! Tree listings: children, descendants, siblings, parents, tree.

use actix_web::{web, HttpRequest};
use crossbar_authz::AccountScope;
use crossbar_crud::ListQuery;
use crossbar_envelope::{ApiError, ApiResult, PageInfo, Reply};
use serde_json::{json, Value};

use crate::store::account;
use crate::AccountsService;

fn flags(model: &account::Model) -> Value {
    serde_json::from_str::<Value>(&model.doc)
        .ok()
        .and_then(|d| d.get("flags").cloned())
        .unwrap_or_else(|| json!([]))
}

/// Tree listings are sorted by name, ascending unless the client says otherwise.
fn by_name(req: &HttpRequest) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery::from_query(req.query_string())?;
    let q = req.query_string();
    if !q.contains("ascending") && !q.contains("descending") {
        query.descending = false;
    }
    Ok(query)
}

fn paged(rows: Vec<Value>, page: Option<PageInfo>) -> Reply {
    let reply = Reply::ok(Value::Array(rows));
    match page {
        Some(page) => reply.with_page(page),
        None => reply,
    }
}

async fn children_of(
    service: &AccountsService,
    parent: &account::Model,
    req: &HttpRequest,
) -> ApiResult {
    let query = by_name(req)?;
    let (rows, page) = service.store.subtree_page(parent, true, &query).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(json!({
            "id": row.id,
            "name": row.name,
            "realm": row.realm,
            "descendants_count": row.descendants,
            "flags": flags(row),
        }));
    }
    Ok(paged(out, page))
}

pub async fn children(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    req: HttpRequest,
) -> ApiResult {
    let account = service.store.load(scope.account_id()).await?;
    children_of(&service, &account, &req).await
}

pub async fn descendants(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    req: HttpRequest,
) -> ApiResult {
    let account = service.store.load(scope.account_id()).await?;
    let query = by_name(&req)?;
    let (rows, page) = service.store.subtree_page(&account, false, &query).await?;
    let out = rows
        .iter()
        .map(|row| json!({"id": row.id, "name": row.name, "realm": row.realm, "tree": row.tree(), "flags": flags(row)}))
        .collect();
    Ok(paged(out, page))
}

pub async fn siblings(
    scope: AccountScope,
    service: web::Data<AccountsService>,
    req: HttpRequest,
) -> ApiResult {
    if scope.is_own_account() && !scope.caller.is_superduper() {
        return Err(ApiError::Forbidden(None));
    }
    let account = service.store.load(scope.account_id()).await?;
    let Some(parent_id) = account.parent_id.clone() else {
        return Ok(Reply::ok(json!([])));
    };
    let parent = service.store.load(&parent_id).await?;
    children_of(&service, &parent, &req).await
}

/// A's ancestors the caller may see (from the caller's account down to A's parent).
async fn visible_ancestors(
    scope: &AccountScope,
    service: &AccountsService,
) -> Result<Vec<Value>, ApiError> {
    let account = service.store.load(scope.account_id()).await?;
    let tree = account.tree();
    let start = if scope.caller.is_superduper() {
        0
    } else {
        tree.iter()
            .position(|id| *id == scope.caller.account.id)
            .unwrap_or(tree.len())
    };
    let visible = tree[start..].to_vec();
    let models = service.store.many(&visible).await?;
    Ok(models
        .iter()
        .map(|m| json!({"id": m.id, "name": m.name}))
        .collect())
}

pub async fn parents(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    let rows = visible_ancestors(&scope, &service).await?;
    let count = rows.len();
    Ok(Reply::ok(Value::Array(rows)).with_page(PageInfo {
        page_size: count,
        ..PageInfo::default()
    }))
}

pub async fn tree(scope: AccountScope, service: web::Data<AccountsService>) -> ApiResult {
    let rows = visible_ancestors(&scope, &service).await?;
    Ok(Reply::ok(Value::Array(rows)))
}

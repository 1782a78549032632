//! Listing requests: Kazoo's query-string filters and keyset pagination, turned into
//! SQL so that the database does the filtering and every page is full.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crossbar_envelope::request::parse_query;
use crossbar_envelope::{ApiError, PageInfo};
use sea_orm::{DbBackend, Value as SqlValue};
use serde_json::Value;

use crate::json::split_path;

/// Default page size (Kazoo's `crossbar.pagination_page_size`).
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// One query-string filter of Kazoo's `crossbar_filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Equals(Vec<String>, Vec<String>),
    NotEquals(Vec<String>, Vec<String>),
    HasKey(Vec<String>),
    KeyMissing(Vec<String>),
    HasValue(Vec<String>),
    ValueMissing(Vec<String>),
    CreatedFrom(i64),
    CreatedTo(i64),
    ModifiedFrom(i64),
    ModifiedTo(i64),
}

/// Where a page starts: the sort key and id of its first row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub sort_key: String,
    /// `None` for a raw key a client made up: then every id at that sort key counts.
    pub id: Option<String>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::json!([self.sort_key, self.id]);
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Decodes our opaque key; a key we did not make is used as a raw sort key.
    pub fn decode(text: &str) -> Self {
        let decoded = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(Value::Array(parts)) = decoded {
            if let (Some(Value::String(sort_key)), Some(id)) = (parts.first(), parts.get(1)) {
                return Self {
                    sort_key: sort_key.clone(),
                    id: id.as_str().map(str::to_string),
                };
            }
        }
        Self {
            sort_key: text.to_string(),
            id: None,
        }
    }
}

/// A parsed listing request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    pub page_size: u64,
    pub start: Option<Cursor>,
    pub paginate: bool,
    pub descending: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            start: None,
            paginate: true,
            descending: true,
        }
    }
}

fn bool_param(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

fn gregorian_param(name: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| ApiError::validation(name, "type", "Value did not match type(s): integer"))
}

fn filter_values(value: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Array(items)) => items.iter().map(scalar_text).collect(),
        _ => vec![value.to_string()],
    }
}

/// How a JSON value compares "as a string" in Kazoo's filters.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl ListQuery {
    /// Reads paging, order and filters from a query string. Keys it does not know are
    /// ignored (other parameters share the query string).
    pub fn from_query(query_string: &str) -> Result<Self, ApiError> {
        let mut query = Self::default();
        for (key, value) in parse_query(query_string) {
            match key.as_str() {
                "page_size" => {
                    let size: u64 = value.trim().parse().map_err(|_| {
                        ApiError::validation(
                            "page_size",
                            "type",
                            "Value did not match type(s): integer",
                        )
                    })?;
                    if size == 0 {
                        return Err(ApiError::validation(
                            "page_size",
                            "minimum",
                            "Value must be at least 1",
                        ));
                    }
                    query.page_size = size.min(MAX_PAGE_SIZE);
                }
                "start_key" if !value.is_empty() => query.start = Some(Cursor::decode(&value)),
                "paginate" => query.paginate = !value.eq_ignore_ascii_case("false"),
                "ascending" => query.descending = !bool_param(&value),
                "descending" => query.descending = bool_param(&value),
                "has_key" => query.filters.push(Filter::HasKey(split_path(&value))),
                "key_missing" => query.filters.push(Filter::KeyMissing(split_path(&value))),
                "has_value" => query.filters.push(Filter::HasValue(split_path(&value))),
                "value_missing" | "missing_value" => {
                    query.filters.push(Filter::ValueMissing(split_path(&value)))
                }
                "created_from" => query
                    .filters
                    .push(Filter::CreatedFrom(gregorian_param(&key, &value)?)),
                "created_to" => query
                    .filters
                    .push(Filter::CreatedTo(gregorian_param(&key, &value)?)),
                "modified_from" => query
                    .filters
                    .push(Filter::ModifiedFrom(gregorian_param(&key, &value)?)),
                "modified_to" => query
                    .filters
                    .push(Filter::ModifiedTo(gregorian_param(&key, &value)?)),
                other => {
                    if let Some(path) = other.strip_prefix("filter_not_") {
                        query
                            .filters
                            .push(Filter::NotEquals(split_path(path), filter_values(&value)));
                    } else if let Some(path) = other.strip_prefix("filter_") {
                        query
                            .filters
                            .push(Filter::Equals(split_path(path), filter_values(&value)));
                    }
                }
            }
        }
        query.check_public_paths()?;
        Ok(query)
    }

    /// Refuses filters on private fields (`pvt_*`, `_*`): they would let a client
    /// probe what the API never shows.
    fn check_public_paths(&self) -> Result<(), ApiError> {
        for filter in &self.filters {
            let path = match filter {
                Filter::Equals(p, _)
                | Filter::NotEquals(p, _)
                | Filter::HasKey(p)
                | Filter::KeyMissing(p)
                | Filter::HasValue(p)
                | Filter::ValueMissing(p) => p,
                _ => continue,
            };
            if path
                .first()
                .is_some_and(|key| crate::json::is_private_key(key))
            {
                return Err(ApiError::validation(
                    &path.join("."),
                    "forbidden",
                    "Filtering on private fields is not allowed",
                ));
            }
        }
        Ok(())
    }

    /// Renames filter paths (e.g. phone_numbers' `state` -> `pvt_state`).
    pub fn rename_path(&mut self, from: &str, to: &str) {
        for filter in &mut self.filters {
            if let Filter::Equals(path, _) | Filter::NotEquals(path, _) = filter {
                if path.len() == 1 && path[0] == from {
                    path[0] = to.to_string();
                }
            }
        }
    }

    /// Paging facts of a page of `rows` (fetched with one extra row to see if more exist).
    pub fn page_info(&self, returned: usize, next: Option<Cursor>) -> Option<PageInfo> {
        if !self.paginate {
            return None;
        }
        Some(PageInfo {
            page_size: returned,
            start_key: self.start.as_ref().map(Cursor::encode),
            next_start_key: next.map(|c| c.encode()),
        })
    }
}

/// Collects SQL text and its bound values with the backend's placeholders.
pub struct SqlBuilder {
    pub backend: DbBackend,
    pub sql: String,
    pub values: Vec<SqlValue>,
}

impl SqlBuilder {
    pub fn new(backend: DbBackend, sql: impl Into<String>) -> Self {
        Self {
            backend,
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    /// Binds a value and returns its placeholder.
    pub fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            // Numbered, so one bound value can be used several times in the SQL.
            _ => format!("?{}", self.values.len()),
        }
    }

    pub fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// SQL text of the JSON value at `path` of column `doc`, compared "as a string":
    /// strings unquoted, `true`/`false`, numbers in JSON form, objects as JSON.
    pub fn json_text(&mut self, column: &str, path: &[String]) -> String {
        match self.backend {
            DbBackend::Postgres => {
                let p = self.bind(path.join("\u{1f}"));
                format!("(({column})::jsonb #>> string_to_array({p}, chr(31)))")
            }
            _ => {
                let p = self.bind(sqlite_path(path));
                format!(
                    "(CASE json_type({column}, {p}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                     WHEN 'null' THEN NULL ELSE CAST(json_extract({column}, {p}) AS TEXT) END)"
                )
            }
        }
    }

    /// SQL condition: the key at `path` is present (even with a null value).
    pub fn json_has_key(&mut self, column: &str, path: &[String]) -> String {
        match self.backend {
            DbBackend::Postgres => {
                let p = self.bind(path.join("\u{1f}"));
                format!("((({column})::jsonb #> string_to_array({p}, chr(31))) IS NOT NULL)")
            }
            _ => {
                let p = self.bind(sqlite_path(path));
                format!("(json_type({column}, {p}) IS NOT NULL)")
            }
        }
    }

    /// SQL condition: the key is present and its value is not null, "", [] or {}.
    pub fn json_has_value(&mut self, column: &str, path: &[String]) -> String {
        match self.backend {
            DbBackend::Postgres => {
                let p = self.bind(path.join("\u{1f}"));
                format!(
                    "(COALESCE((({column})::jsonb #> string_to_array({p}, chr(31))) \
                     NOT IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb), false))"
                )
            }
            _ => {
                let p = self.bind(sqlite_path(path));
                format!(
                    "(COALESCE(json_type({column}, {p}) NOT IN ('null') \
                     AND NOT (json_type({column}, {p}) = 'text' AND json_extract({column}, {p}) = '') \
                     AND NOT (json_type({column}, {p}) = 'array' AND json_array_length({column}, {p}) = 0) \
                     AND NOT (json_type({column}, {p}) = 'object' AND json_extract({column}, {p}) = '{{}}'), 0))"
                )
            }
        }
    }

    /// Appends ` AND <condition>` for each filter.
    pub fn filters(&mut self, column: &str, filters: &[Filter], created: &str, modified: &str) {
        for filter in filters {
            let condition = match filter {
                Filter::Equals(path, values) => {
                    let text = self.json_text(column, path);
                    let list = values
                        .iter()
                        .map(|v| self.bind(v.clone()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({text} IN ({list}))")
                }
                Filter::NotEquals(path, values) => {
                    let text = self.json_text(column, path);
                    let list = values
                        .iter()
                        .map(|v| self.bind(v.clone()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({text} IS NULL OR {text} NOT IN ({list}))")
                }
                Filter::HasKey(path) => self.json_has_key(column, path),
                Filter::KeyMissing(path) => format!("(NOT {})", self.json_has_key(column, path)),
                Filter::HasValue(path) => self.json_has_value(column, path),
                Filter::ValueMissing(path) => {
                    format!("(NOT {})", self.json_has_value(column, path))
                }
                Filter::CreatedFrom(t) => format!("({created} >= {})", self.bind(*t)),
                Filter::CreatedTo(t) => format!("({created} <= {})", self.bind(*t)),
                Filter::ModifiedFrom(t) => format!("({modified} >= {})", self.bind(*t)),
                Filter::ModifiedTo(t) => format!("({modified} <= {})", self.bind(*t)),
            };
            self.sql.push_str(" AND ");
            self.sql.push_str(&condition);
        }
    }

    /// Appends the keyset condition and ORDER BY / LIMIT for a page.
    pub fn page(&mut self, query: &ListQuery, sort_column: &str, id_column: &str) {
        if let (true, Some(start)) = (query.paginate, &query.start) {
            let cmp = if query.descending { "<" } else { ">" };
            let key = self.bind(start.sort_key.clone());
            match &start.id {
                Some(id) => {
                    let key2 = self.bind(start.sort_key.clone());
                    let id = self.bind(id.clone());
                    self.sql.push_str(&format!(
                        " AND ({sort_column} {cmp} {key} OR ({sort_column} = {key2} AND {id_column} {cmp}= {id}))"
                    ));
                }
                None => self
                    .sql
                    .push_str(&format!(" AND {sort_column} {cmp}= {key}")),
            }
        }
        let dir = if query.descending { "DESC" } else { "ASC" };
        self.sql
            .push_str(&format!(" ORDER BY {sort_column} {dir}, {id_column} {dir}"));
        if query.paginate {
            let limit = self.bind((query.page_size + 1) as i64);
            self.sql.push_str(&format!(" LIMIT {limit}"));
        }
    }
}

fn sqlite_path(path: &[String]) -> String {
    let mut out = String::from("$");
    for part in path {
        out.push_str(".\"");
        out.push_str(&part.replace('\\', "\\\\").replace('"', "\\\""));
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paging_and_filters() {
        let q = ListQuery::from_query(
            "page_size=10&ascending=true&filter_owner_id=abc&filter_not_a.b=[1,2]&has_key=x&missing_value=y&created_from=5",
        )
        .unwrap();
        assert_eq!(q.page_size, 10);
        assert!(!q.descending);
        assert_eq!(
            q.filters[0],
            Filter::Equals(vec!["owner_id".into()], vec!["abc".into()])
        );
        assert_eq!(
            q.filters[1],
            Filter::NotEquals(vec!["a".into(), "b".into()], vec!["1".into(), "2".into()])
        );
        assert_eq!(q.filters[3], Filter::ValueMissing(vec!["y".into()]));
        assert_eq!(q.filters[4], Filter::CreatedFrom(5));
    }

    #[test]
    fn private_fields_cannot_be_filtered() {
        let err = ListQuery::from_query("has_key=pvt_md5_auth_argon2").unwrap_err();
        assert_eq!(
            err.data()["pvt_md5_auth_argon2"]["forbidden"]["message"],
            "Filtering on private fields is not allowed"
        );
        assert!(ListQuery::from_query("filter_pvt_type=user").is_err());
        assert!(ListQuery::from_query("filter_name=x").is_ok());
    }

    #[test]
    fn bad_page_size_is_a_validation_error() {
        assert_eq!(
            ListQuery::from_query("page_size=x")
                .unwrap_err()
                .status()
                .as_u16(),
            400
        );
        assert_eq!(
            ListQuery::from_query("page_size=0")
                .unwrap_err()
                .status()
                .as_u16(),
            400
        );
    }

    #[test]
    fn cursor_round_trip_and_raw_keys() {
        let c = Cursor {
            sort_key: "bob".into(),
            id: Some("1".repeat(32)),
        };
        assert_eq!(Cursor::decode(&c.encode()), c);
        assert_eq!(
            Cursor::decode("plain"),
            Cursor {
                sort_key: "plain".into(),
                id: None
            }
        );
    }

    #[test]
    fn sqlite_placeholders_are_numbered_so_values_can_be_reused() {
        let mut b = SqlBuilder::new(DbBackend::Sqlite, "");
        let text = b.json_text("doc", &["owner_id".to_string()]);
        assert_eq!(b.values.len(), 1);
        assert_eq!(text.matches("?1").count(), 2, "{text}");
    }

    #[test]
    fn postgres_placeholders_are_numbered() {
        let mut b = SqlBuilder::new(DbBackend::Postgres, "SELECT 1 WHERE a = ");
        let p1 = b.bind(1i64);
        let p2 = b.bind("x");
        assert_eq!((p1.as_str(), p2.as_str()), ("$1", "$2"));
    }
}

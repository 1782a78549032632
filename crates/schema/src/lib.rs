//! Kazoo's JSON schemas, embedded, compiled once and applied the way Kazoo's
//! `kz_json_schema` + jesse do it:
//!
//! 1. schema `default`s are filled into the document (jesse `use_defaults`,
//!    `apply_defaults_to_empty_objects`), see [`defaults`];
//! 2. the document is validated as JSON Schema Draft 4 (bare `$ref` names such as
//!    `"caller_id"` resolve to the embedded file of that name);
//! 3. on failure, strings where the schema wants an integer, number or boolean are
//!    converted (`"5"` -> `5`, `"true"` -> `true`) and the document is checked again
//!    (`crossbar.schema_strict_validation` = false, Kazoo's default), see [`coerce`];
//! 4. what still fails is reported, all errors at once, in Kazoo's
//!    `field -> rule -> {message, ...}` shape, see [`errors`].
//!
//! ```no_run
//! # use crossbar_schema::SchemaRegistry;
//! let schemas = SchemaRegistry::load_embedded().map_err(std::io::Error::other)?;
//! let mut doc = serde_json::json!({"first_name": "Ada", "last_name": "Lovelace"});
//! schemas.validate("users", &mut doc).map_err(|e| std::io::Error::other(e.to_json().to_string()))?;
//! assert_eq!(doc["priv_level"], "user");
//! # Ok::<(), std::io::Error>(())
//! ```

mod coerce;
mod defaults;
mod errors;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crossbar_envelope::ValidationErrors;
use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::{json, Value};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_schemas.rs"));
}

/// URI scheme prefix the `jsonschema` crate gives documents without an `id`; bare `$ref`
/// names are resolved against it (`"caller_id"` -> `json-schema:///caller_id`).
const BASE_URI: &str = "json-schema:///";

/// How many times a document is coerced and checked again before the errors stand.
const MAX_COERCION_ROUNDS: usize = 4;

/// The raw schema documents by name (file stem). Shared by the retriever used while
/// compiling and by the defaults walker.
pub(crate) type RawSchemas = HashMap<String, Value>;

/// All embedded schemas, compiled. `Send + Sync`; share it in an `Arc`.
pub struct SchemaRegistry {
    raw: Arc<RawSchemas>,
    validators: HashMap<String, Validator>,
    /// One matcher per `patternProperties` key found in any schema, used to walk into
    /// pattern-matched members when filling defaults.
    patterns: HashMap<String, Validator>,
}

impl fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.validators.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("SchemaRegistry")
            .field("schemas", &names)
            .finish()
    }
}

impl SchemaRegistry {
    /// Compiles every embedded schema (Draft 4, bare `$ref` names like "caller_id" or
    /// "callflows.action" resolved to the embedded file). Err(message) if one fails.
    pub fn load_embedded() -> Result<Self, String> {
        Self::from_sources(embedded::EMBEDDED.iter().copied())
    }

    /// Every schema as written (name, document), sorted by name: for documentation.
    pub fn raw_schemas(&self) -> Vec<(&str, &Value)> {
        let mut all: Vec<(&str, &Value)> = self
            .raw
            .iter()
            .map(|(name, doc)| (name.as_str(), doc))
            .collect();
        all.sort_unstable_by_key(|(name, _)| *name);
        all
    }

    /// Compiles the given (name, JSON text) schemas; `$ref`s resolve among them.
    fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let mut raw = RawSchemas::new();
        for (name, text) in sources {
            let schema: Value = serde_json::from_str(text)
                .map_err(|err| format!("schema {name}: invalid JSON: {err}"))?;
            raw.insert(name.to_string(), schema);
        }
        let raw = Arc::new(raw);

        let mut validators = HashMap::with_capacity(raw.len());
        for (name, schema) in raw.iter() {
            let validator = compile(schema, &raw)
                .map_err(|err| format!("schema {name} does not compile: {err}"))?;
            validators.insert(name.clone(), validator);
        }

        let mut patterns = HashMap::new();
        for schema in raw.values() {
            collect_patterns(schema, &mut patterns)?;
        }

        tracing::debug!(
            schemas = validators.len(),
            "compiled the embedded JSON schemas"
        );
        Ok(Self {
            raw,
            validators,
            patterns,
        })
    }

    /// true if a schema by this name (file stem, e.g. "users") exists.
    pub fn has(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    /// Fills schema `default`s into `doc` (recursively into present sub-objects, Kazoo/jesse
    /// `use_defaults` style: a missing property with a `default` gets it; do not create
    /// missing intermediate objects unless they themselves have a default), then validates.
    /// Before failing, applies Kazoo's lenient coercion: where the schema wants
    /// integer/number/boolean and the value is a string that parses as one ("5" -> 5,
    /// "true" -> true), convert it in `doc` and validate again.
    /// On failure returns ALL errors in Kazoo's shape (crossbar_envelope::ValidationErrors).
    /// Unknown schema name -> Err with one error {"schema": {"not_found": {...}}}.
    ///
    /// `doc` keeps the filled defaults and conversions even when validation fails.
    pub fn validate(&self, name: &str, doc: &mut Value) -> Result<(), ValidationErrors> {
        let (Some(validator), Some(schema)) = (self.validators.get(name), self.raw.get(name))
        else {
            let mut errors = ValidationErrors::new();
            errors.add_with(
                "schema",
                "not_found",
                "schema not found",
                json!({ "schema": name }),
            );
            return Err(errors);
        };

        defaults::fill(self, schema, doc);

        for _ in 0..MAX_COERCION_ROUNDS {
            if validator.is_valid(doc) {
                return Ok(());
            }
            let conversions = coerce::find(validator, doc);
            if conversions.is_empty() || !coerce::apply(doc, &conversions) {
                break;
            }
            tracing::debug!(
                schema = name,
                count = conversions.len(),
                "coerced JS types, validating again"
            );
        }

        let errors = errors::collect(self, name, validator, doc);
        if errors.is_empty() {
            // The last round of conversions made the document valid.
            return Ok(());
        }
        Err(errors)
    }

    pub(crate) fn raw(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// Whether `key` matches the `patternProperties` regex `pattern`, exactly as the
    /// validator decides it (the matcher is `{"patternProperties": {P: {"not": {}}}}`, which
    /// rejects an object iff one of its keys matches P).
    pub(crate) fn pattern_matches(&self, pattern: &str, key: &str) -> bool {
        self.patterns.get(pattern).is_some_and(|validator| {
            let mut probe = serde_json::Map::with_capacity(1);
            probe.insert(key.to_string(), Value::Null);
            !validator.is_valid(&Value::Object(probe))
        })
    }
}

fn compile(schema: &Value, raw: &Arc<RawSchemas>) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_retriever(EmbeddedRetriever(Arc::clone(raw)))
        .should_validate_formats(true)
        // jesse checks `email` as "^[^@]+@[^@]+$" and does not check `hostname`, `uri`,
        // `regex`, `date` or `time`; only `date-time`, `ipv4` and `ipv6` keep the
        // built-in checks.
        .with_format("email", jesse_email)
        .with_format("hostname", |_: &str| true)
        .with_format("uri", |_: &str| true)
        .with_format("regex", |_: &str| true)
        .with_format("date", |_: &str| true)
        .with_format("time", |_: &str| true)
        .build(schema)
        .map_err(|err| err.to_string())
}

/// jesse's `email` format: one `@` with something on both sides.
fn jesse_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// Walks a schema document and compiles every `patternProperties` key once.
fn collect_patterns(schema: &Value, out: &mut HashMap<String, Validator>) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(patterns)) = map.get("patternProperties") {
                for pattern in patterns.keys() {
                    if !out.contains_key(pattern) {
                        let validator = jsonschema::options()
                            .with_draft(Draft::Draft4)
                            .build(&json!({ "patternProperties": { pattern: { "not": {} } } }))
                            .map_err(|err| format!("pattern {pattern:?}: {err}"))?;
                        out.insert(pattern.clone(), validator);
                    }
                }
            }
            for (key, value) in map {
                if !matches!(key.as_str(), "default" | "enum" | "examples") {
                    collect_patterns(value, out)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_patterns(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Resolves `json-schema:///NAME` (what a bare `$ref: "NAME"` becomes) to the embedded
/// schema NAME. Nothing is ever fetched from the network or the file system.
struct EmbeddedRetriever(Arc<RawSchemas>);

impl Retrieve for EmbeddedRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = schema_name_of_uri(uri.as_str());
        self.0.get(name).cloned().ok_or_else(|| {
            format!("schema {name:?} ($ref {}) is not embedded", uri.as_str()).into()
        })
    }
}

/// `json-schema:///callflows.action#/x` -> `callflows.action`; also accepts `./NAME`,
/// `file://NAME` and `NAME.json`, as Kazoo's loader does.
pub(crate) fn schema_name_of_uri(uri: &str) -> &str {
    let without_fragment = uri.split_once('#').map_or(uri, |(before, _)| before);
    let mut name = without_fragment
        .strip_prefix(BASE_URI)
        .or_else(|| without_fragment.strip_prefix("file://"))
        .unwrap_or(without_fragment);
    name = name.strip_prefix("./").unwrap_or(name);
    name.strip_suffix(".json").unwrap_or(name)
}

#[cfg(test)]
mod tests;

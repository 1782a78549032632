//! Voicemail messages: folders, metadata, ids, upload limits. No HTTP, no SQL.
//!
//! A message is Kazoo's `mailbox_message` metadata (`media_id`, `folder`, `from`, `to`,
//! `caller_id_number`, `caller_id_name`, `call_id`, `timestamp` in Gregorian seconds,
//! `length` in milliseconds) plus, optionally, one audio blob.

use actix_web::http::StatusCode;
use crossbar_envelope::{ApiError, ValidationErrors};
use serde_json::{json, Map, Value};

/// Largest audio blob accepted (413 above it).
pub const MAX_AUDIO_BYTES: usize = 5 * 1024 * 1024;

/// Kazoo's answer when `POST /messages` names no message.
pub const NO_MESSAGES: &str = "No array of message ids are specified";

/// The string metadata fields a client may set.
pub const TEXT_FIELDS: [&str; 5] = [
    "from",
    "to",
    "caller_id_number",
    "caller_id_name",
    "call_id",
];

/// A message folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    New,
    Saved,
    Deleted,
}

impl Folder {
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::New => "new",
            Folder::Saved => "saved",
            Folder::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(Folder::New),
            "saved" => Some(Folder::Saved),
            "deleted" => Some(Folder::Deleted),
            _ => None,
        }
    }

    /// A folder given as a request value, or a 400 `folder.enum`.
    pub fn from_value(value: &Value) -> Result<Self, ApiError> {
        value.as_str().and_then(Folder::parse).ok_or_else(|| {
            let mut errors = ValidationErrors::new();
            errors.add_with(
                "folder",
                "enum",
                "Value not found in enumerated list of values",
                json!({ "target": ["new", "saved", "deleted"], "value": value }),
            );
            ApiError::Validation(errors)
        })
    }
}

/// The metadata a client gives (deposit, or `POST /messages/{MSG}`), checked: text
/// fields are strings, `length` and `timestamp` non-negative integers (strings of
/// digits are accepted, as the query string only carries strings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataInput {
    pub fields: Map<String, Value>,
    pub folder: Option<Folder>,
    pub timestamp: Option<i64>,
    pub length: Option<i64>,
}

fn non_negative(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().filter(|v| *v >= 0),
        Value::String(s) => s.parse::<i64>().ok().filter(|v| *v >= 0),
        _ => None,
    }
}

/// Reads metadata through `get` (request data, then query string...).
pub fn read_metadata(get: impl Fn(&str) -> Option<Value>) -> Result<MetadataInput, ApiError> {
    let mut errors = ValidationErrors::new();
    let mut input = MetadataInput::default();
    for key in TEXT_FIELDS {
        match get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                input.fields.insert(key.to_string(), Value::String(text));
            }
            Some(_) => errors.add(key, "type", "Value did not match type(s): string"),
        }
    }
    for key in ["length", "timestamp"] {
        match get(key) {
            None | Some(Value::Null) => {}
            Some(value) => match non_negative(&value) {
                Some(n) if key == "length" => input.length = Some(n),
                Some(n) => input.timestamp = Some(n),
                None => errors.add(key, "type", "Value did not match type(s): integer"),
            },
        }
    }
    if let Some(value) = get("folder").filter(|v| !v.is_null()) {
        match Folder::from_value(&value) {
            Ok(folder) => input.folder = Some(folder),
            Err(ApiError::Validation(e)) => errors.merge(e),
            Err(other) => return Err(other),
        }
    }
    errors.into_result()?;
    Ok(input)
}

/// The public metadata of a message, as Kazoo's `kzd_box_message:metadata/1` shows it.
pub fn metadata_view(
    media_id: &str,
    folder: &str,
    timestamp: i64,
    length: i64,
    fields: &Map<String, Value>,
) -> Value {
    let mut out = Map::new();
    for key in TEXT_FIELDS {
        if let Some(value) = fields.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    out.insert("timestamp".into(), Value::from(timestamp));
    out.insert("length".into(), Value::from(length));
    out.insert("folder".into(), Value::String(folder.to_string()));
    out.insert("media_id".into(), Value::String(media_id.to_string()));
    Value::Object(out)
}

/// A new message id in Kazoo's MODB form: `YYYYMM-<32 hex>`.
pub fn new_media_id(year: i32, month: u32, random_id: &str) -> String {
    format!("{year:04}{month:02}-{random_id}")
}

/// The media type of an upload (lowercased, parameters dropped) when it is audio;
/// otherwise 415 in Kazoo's system-error shape.
pub fn audio_content_type(header: Option<&str>) -> Result<String, ApiError> {
    let essence = header
        .and_then(|h| h.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.split_once('/') {
        Some(("audio", sub)) if !sub.is_empty() && !sub.contains(char::is_whitespace) => {
            Ok(essence)
        }
        _ => Err(unsupported_media_type(header.unwrap_or_default())),
    }
}

/// 415 `unsupported_media_type`.
pub fn unsupported_media_type(given: &str) -> ApiError {
    ApiError::System {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: "unsupported_media_type".into(),
        data: json!({
            "message": "unsupported media type: audio/* expected",
            "cause": given,
        }),
    }
}

/// `true` for a JSON (or absent) content type: a metadata-only request.
pub fn is_json_content_type(header: Option<&str>) -> bool {
    header
        .and_then(|h| h.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .is_none_or(|e| e.is_empty() || e == "application/json" || e.ends_with("+json"))
}

/// A file extension for `Content-Disposition`.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "wav",
        "audio/mp4" | "audio/x-m4a" | "audio/m4a" => "mp4",
        "audio/ogg" => "ogg",
        _ => "audio",
    }
}

/// The outcome of a bulk change: Kazoo's `{"succeeded": [ids], "failed": [{id: why}]}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkResult {
    pub succeeded: Vec<String>,
    pub failed: Vec<(String, String)>,
}

impl BulkResult {
    pub fn to_json(&self) -> Value {
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|(id, why)| json!({ id.clone(): why }))
            .collect();
        json!({ "succeeded": self.succeeded, "failed": failed })
    }
}

/// The message ids of a request value (`messages`), or 400 `messages.required`
/// when there are none (strings only; others are refused as `messages.type`).
pub fn message_ids(value: Option<Value>) -> Result<Vec<String>, ApiError> {
    match value {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::validation("messages", "type", "Value did not match type(s): string")
                })
            })
            .collect(),
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            Err(ApiError::validation("messages", "required", NO_MESSAGES))
        }
        Some(_) => Err(ApiError::validation(
            "messages",
            "type",
            "Value did not match type(s): array",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_parse_and_refuse_others() {
        assert_eq!(Folder::parse("new"), Some(Folder::New));
        assert_eq!(Folder::parse("saved"), Some(Folder::Saved));
        assert_eq!(Folder::parse("deleted"), Some(Folder::Deleted));
        assert_eq!(Folder::parse("NEW"), None);
        let Err(ApiError::Validation(e)) = Folder::from_value(&json!("trash")) else {
            panic!("expected a validation error");
        };
        assert!(e.has("folder", "enum"));
    }

    #[test]
    fn metadata_reads_strings_and_integers() {
        let data = json!({"caller_id_name": "Bob", "length": "3140", "timestamp": 63_000_000_000i64,
            "folder": "saved", "ignored": 1});
        let input = read_metadata(|k| data.get(k).cloned()).unwrap();
        assert_eq!(input.fields["caller_id_name"], "Bob");
        assert_eq!(input.length, Some(3140));
        assert_eq!(input.timestamp, Some(63_000_000_000));
        assert_eq!(input.folder, Some(Folder::Saved));
        assert!(!input.fields.contains_key("ignored"));

        let bad = json!({"from": 5, "length": -1, "folder": "x"});
        let Err(ApiError::Validation(e)) = read_metadata(|k| bad.get(k).cloned()) else {
            panic!("expected a validation error");
        };
        assert!(e.has("from", "type"));
        assert!(e.has("length", "type"));
        assert!(e.has("folder", "enum"));
    }

    #[test]
    fn only_audio_is_accepted() {
        assert_eq!(
            audio_content_type(Some("audio/mpeg")).unwrap(),
            "audio/mpeg"
        );
        assert_eq!(
            audio_content_type(Some("Audio/WAV; rate=8000")).unwrap(),
            "audio/wav"
        );
        for bad in [
            None,
            Some("text/plain"),
            Some("audio/"),
            Some("application/octet-stream"),
        ] {
            let err = audio_content_type(bad).unwrap_err();
            assert_eq!(err.status().as_u16(), 415);
            assert_eq!(err.message(), "unsupported_media_type");
        }
        assert!(is_json_content_type(None));
        assert!(is_json_content_type(Some(
            "application/json; charset=utf-8"
        )));
        assert!(!is_json_content_type(Some("audio/mpeg")));
    }

    #[test]
    fn ids_views_and_bulk_results() {
        assert_eq!(
            new_media_id(2026, 3, "0123456789abcdef0123456789abcdef"),
            "202603-0123456789abcdef0123456789abcdef"
        );
        let view = metadata_view("m", "new", 1, 2, &Map::new());
        assert_eq!(
            view,
            json!({"media_id": "m", "folder": "new", "timestamp": 1, "length": 2})
        );
        let bulk = BulkResult {
            succeeded: vec!["a".into()],
            failed: vec![("b".into(), "not_found".into())],
        };
        assert_eq!(
            bulk.to_json(),
            json!({"succeeded": ["a"], "failed": [{"b": "not_found"}]})
        );
        assert_eq!(
            message_ids(Some(json!(["a", "b"]))).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        let err = message_ids(Some(json!([]))).unwrap_err();
        assert_eq!(err.data()["messages"]["required"]["message"], NO_MESSAGES);
        assert!(message_ids(Some(json!([1]))).is_err());
        assert!(message_ids(Some(json!("a"))).is_err());
        assert_eq!(extension_of("audio/mpeg"), "mp3");
        assert_eq!(extension_of("audio/wav"), "wav");
    }
}

//! Routes that describe themselves: every endpoint is registered through
//! [`Endpoint`], which mounts the actix routes *and* records what each operation
//! takes and answers in the app's [`RouteCatalog`]. The OpenAPI document is built
//! from that catalog, so it cannot list a route that is not served, nor miss one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, FromRequest, Handler, Responder};

use crossbar_envelope::{ApiError, ApiResult};

use crate::handlers::method_not_allowed;

async fn forbidden() -> ApiResult {
    Err(ApiError::Forbidden(None))
}

/// What travels in a request or response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// No body.
    Empty,
    /// The Kazoo envelope; `data` validated by the named JSON schema when given.
    Envelope(Option<String>),
    /// The Kazoo envelope whose `data` is a list.
    EnvelopeList,
    /// A raw body of one of these media types (audio, PDF, iCalendar...).
    Raw(Vec<String>),
    /// Not the Kazoo envelope: plain JSON or text (health, metrics).
    Plain(String),
}

/// The description of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub summary: String,
    pub request: Payload,
    pub response: Payload,
    /// Success status (200, or 201 for creations).
    pub success: u16,
    /// Whether an auth token is required.
    pub auth: bool,
    /// Query parameters: (name, description).
    pub query: Vec<(String, String)>,
    /// Safe to send again when an attempt may have been acted on, so the gateway may
    /// retry it on another replica (OpenAPI extension [`REPLAYABLE_EXTENSION`]): a
    /// creation that honours [`crate::CREATE_ID_HEADER`] (sent again with the same id, it
    /// answers what the first attempt created instead of creating another), or an
    /// operation whose repetition is harmless (a login, a read-only POST, an update:
    /// sent again it leaves the same document).
    pub replayable: bool,
}

/// OpenAPI operation extension (`true`) of a [`Doc::replayable`] operation.
pub const REPLAYABLE_EXTENSION: &str = "x-crossbar-replayable";

impl Doc {
    fn new(summary: &str, request: Payload, response: Payload, success: u16) -> Self {
        Self {
            summary: summary.to_string(),
            request,
            response,
            success,
            auth: true,
            query: Vec::new(),
            replayable: false,
        }
    }

    /// GET of one object.
    pub fn read(summary: &str) -> Self {
        Self::new(summary, Payload::Empty, Payload::Envelope(None), 200)
    }

    /// GET of a paginated list (`page_size`, `start_key`, `paginate`, filters).
    pub fn list(summary: &str) -> Self {
        Self::new(summary, Payload::Empty, Payload::EnvelopeList, 200)
            .query("page_size", "Rows per page (1..1000)")
            .query(
                "start_key",
                "Where the page starts (next_start_key of the previous page)",
            )
            .query("paginate", "false: every row at once")
    }

    /// PUT creating something from `data` validated by `schema` (201).
    pub fn create(summary: &str, schema: Option<&str>) -> Self {
        Self::new(
            summary,
            Payload::Envelope(schema.map(str::to_string)),
            Payload::Envelope(None),
            201,
        )
    }

    /// POST/PATCH/PUT changing something from `data` (200).
    pub fn update(summary: &str, schema: Option<&str>) -> Self {
        Self::new(
            summary,
            Payload::Envelope(schema.map(str::to_string)),
            Payload::Envelope(None),
            200,
        )
    }

    /// DELETE (200 with the deleted view).
    pub fn delete(summary: &str) -> Self {
        Self::new(summary, Payload::Empty, Payload::Envelope(None), 200)
    }

    /// See [`Doc::replayable`] (the field).
    pub fn replayable(mut self) -> Self {
        self.replayable = true;
        self
    }

    /// Answered without a token.
    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    pub fn query(mut self, name: &str, description: &str) -> Self {
        self.query.push((name.to_string(), description.to_string()));
        self
    }

    pub fn request(mut self, payload: Payload) -> Self {
        self.request = payload;
        self
    }

    pub fn response(mut self, payload: Payload) -> Self {
        self.response = payload;
        self
    }

    pub fn status(mut self, success: u16) -> Self {
        self.success = success;
        self
    }
}

/// One served operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// actix path template (`/v2/accounts/{account_id}/users/{id}`).
    pub path: String,
    /// The service (OpenAPI tag).
    pub tag: String,
    pub doc: Doc,
}

type Operations = BTreeMap<(String, &'static str), Operation>;

/// The operations one app serves. Routes record themselves into the catalog that is
/// collecting while the app is configured (see [`RouteCatalog::collect`]), so two apps
/// in one process (tests of the distributed topology) each describe only their own.
#[derive(Clone, Default)]
pub struct RouteCatalog(Arc<Mutex<Operations>>);

thread_local! {
    static COLLECTING: RefCell<Option<RouteCatalog>> = const { RefCell::new(None) };
}

impl RouteCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `configure` (an app's route registration) recording its endpoints here.
    pub fn collect<R>(&self, configure: impl FnOnce() -> R) -> R {
        let previous = COLLECTING.with(|c| c.replace(Some(self.clone())));
        let result = configure();
        COLLECTING.with(|c| *c.borrow_mut() = previous);
        result
    }

    fn insert(&self, operation: Operation) {
        let mut operations = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        operations.insert((operation.path.clone(), operation.method), operation);
    }

    /// Every operation recorded, by path then method.
    pub fn operations(&self) -> Vec<Operation> {
        let operations = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        operations.values().cloned().collect()
    }
}

fn record(operation: Operation) {
    COLLECTING.with(|c| {
        if let Some(catalog) = c.borrow().as_ref() {
            catalog.insert(operation);
        }
    });
}

/// One path of the API with its operations; other methods answer 405 in Kazoo's shape.
pub struct Endpoint {
    path: String,
    tag: String,
    resource: actix_web::Resource,
    operations: Vec<Operation>,
    forbid_others: bool,
}

macro_rules! verb {
    ($name:ident, $method:literal, $route:path) => {
        #[doc = concat!("Serves `", $method, "` with `handler`, described by `doc`.")]
        pub fn $name<F, Args>(self, handler: F, doc: Doc) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.route($method, $route().to(handler), doc)
        }
    };
}

impl Endpoint {
    pub fn new(path: impl Into<String>, tag: &str) -> Self {
        let path = path.into();
        Self {
            resource: web::resource(path.clone()),
            path,
            tag: tag.to_string(),
            operations: Vec::new(),
            forbid_others: false,
        }
    }

    /// Other methods answer 403 instead of 405 (where Kazoo does so).
    pub fn forbid_other_methods(mut self) -> Self {
        self.forbid_others = true;
        self
    }

    /// Resource-level app data (the service state its handlers extract).
    pub fn data<T: 'static>(mut self, data: web::Data<T>) -> Self {
        self.resource = self.resource.app_data(data);
        self
    }

    fn route(mut self, method: &'static str, route: actix_web::Route, doc: Doc) -> Self {
        self.resource = self.resource.route(route);
        self.operations.push(Operation {
            method,
            path: self.path.clone(),
            tag: self.tag.clone(),
            doc,
        });
        self
    }

    verb!(get, "GET", web::get);
    verb!(put, "PUT", web::put);
    verb!(post, "POST", web::post);
    verb!(patch, "PATCH", web::patch);
    verb!(delete, "DELETE", web::delete);

    /// Mounts the path (unlisted methods: 405) and records its operations.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        for operation in self.operations {
            record(operation);
        }
        let resource = if self.forbid_others {
            self.resource.default_service(web::to(forbidden))
        } else {
            self.resource.default_service(web::to(method_not_allowed))
        };
        cfg.service(resource);
    }
}

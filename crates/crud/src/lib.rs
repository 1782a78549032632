//! Shared plumbing of every resource: the document store and its verbs, listings
//! with Kazoo's filters and keyset pagination, and the generic HTTP handlers.

pub mod api;
pub mod db;
pub mod docs;
pub mod handlers;
pub mod json;
pub mod listing;
pub mod rpc;
pub mod store;

pub use api::{Doc, Endpoint, Payload, REPLAYABLE_EXTENSION};
pub use docs::{Documents, ResourceRules, StoredDoc, UniqueClaim, WriteAction, WriteContext};
pub use handlers::{
    creation_id, creation_id_unless_named, method_not_allowed, register_resource, CREATE_ID_HEADER,
};
pub use listing::{Filter, ListQuery};
pub use store::DocumentsMigration;

//! HTTP handlers of the office-hours service beyond the generic document verbs.

pub mod evaluate;
pub mod messages;
pub mod rpc;

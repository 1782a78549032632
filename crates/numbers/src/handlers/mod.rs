//! HTTP handlers of the numbers service.

pub mod rpc;

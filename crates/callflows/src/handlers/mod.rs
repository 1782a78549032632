//! HTTP handlers of the callflows service (thin: extract, call the domain, reply),
//! and its bus responders.

pub mod callflows;
pub mod fetch;
pub mod lint;
pub mod rpc;
pub mod simulate;

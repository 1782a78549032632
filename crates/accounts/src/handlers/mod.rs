//! HTTP handlers of the accounts service.

pub mod accounts;
pub mod tree;

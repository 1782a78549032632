//! HTTP handlers of the numbers service.

pub mod phone_numbers;
pub mod rpc;

//! HTTP handlers of the numbers service.

pub mod phone_numbers;
pub mod port_requests;
pub mod rpc;

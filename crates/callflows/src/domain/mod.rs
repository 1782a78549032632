//! Rules of the callflows service, pure: the callflow document and its checks
//! ([`callflow`]), number and pattern routing ([`routing`]), the call-path
//! simulator ([`simulate`]) and the lint ([`lint`]).

pub mod callflow;
pub mod lint;
pub mod routing;
pub mod rules;
pub mod simulate;

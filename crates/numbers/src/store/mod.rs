//! The numbers service's database.

pub mod migrations;
pub mod numbers;
pub mod ports;

pub use migrations::Migrator;

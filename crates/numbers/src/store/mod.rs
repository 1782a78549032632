//! The numbers service's database.

pub mod migrations;
pub mod numbers;

pub use migrations::Migrator;

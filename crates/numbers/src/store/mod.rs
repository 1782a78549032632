//! The numbers service's database.

pub mod migrations;

pub use migrations::Migrator;

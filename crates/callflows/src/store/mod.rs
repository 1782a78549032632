//! The callflows service's database.

pub mod migrations;

pub use migrations::Migrator;

//! The office-hours service's database: its documents (temporal rules, rule sets,
//! menus, voicemail boxes) live in the shared `documents` table of `crossbar-crud`,
//! with `unique_keys` for mailbox numbers and `outbox` for its events.

pub mod messages;
pub mod migrations;

pub use migrations::Migrator;

//! Rules of the directory: accounts, users and devices. No HTTP, no SQL.

pub mod accounts;
pub mod credentials;
pub mod devices;
pub mod users;

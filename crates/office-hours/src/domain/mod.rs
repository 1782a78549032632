//! Rules of office hours. No HTTP, no SQL.

pub mod rules;
pub mod temporal;

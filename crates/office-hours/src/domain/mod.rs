//! Rules of office hours. No HTTP, no SQL.

pub mod calendar;
pub mod messages;
pub mod rules;
pub mod temporal;

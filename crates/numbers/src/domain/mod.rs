//! Rules of the numbers service (pure where possible).

pub mod classifiers;
pub mod errors;
pub mod inventory;
pub mod loa;
pub mod ports;
pub mod states;
pub mod views;

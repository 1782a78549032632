//! Rules of the numbers service (pure where possible).

pub mod errors;
pub mod states;

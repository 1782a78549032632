//! Rules of the numbers service (pure where possible).

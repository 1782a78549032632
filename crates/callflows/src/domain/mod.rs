//! Rules of the callflows service (pure where possible).

//! HTTP handlers of the callflows service.

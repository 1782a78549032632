//! Events of the callflows service.

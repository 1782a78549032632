//! HTTP handlers of the numbers service.

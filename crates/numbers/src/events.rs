//! Events of the numbers service.

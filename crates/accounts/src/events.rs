//! Events of the accounts service.
//!
//! Published (through the outbox): `crossbar.accounts.account.{created,updated,deleted,moved}`,
//! `crossbar.accounts.user.{created,updated,deleted}`,
//! `crossbar.accounts.device.{created,updated,deleted}`. The doc is the public view;
//! credential hashes never leave the service.
//!
//! Consumed: none yet.

pub const ACCOUNT_SUBJECT_PREFIX: &str = "crossbar.accounts.account.";

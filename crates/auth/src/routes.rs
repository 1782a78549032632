//! The route table of the auth slice of `/v2`.

use actix_web::web;
use crossbar_crud::{Doc, Endpoint};

use crate::handlers::{api_auth, keys, not_implemented, token_auth, user_auth};

const TAG: &str = "auth";

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/v2/user_auth", TAG)
        .put(
            user_auth::create,
            Doc::create(
                "Log in with credentials (md5/sha) and an account selector",
                Some("user_auth"),
            )
            .public()
            // Sent again, a login issues another token; the unanswered one is never seen.
            .replayable(),
        )
        .register(cfg);
    Endpoint::new("/v2/user_auth/recovery", TAG)
        .put(
            not_implemented,
            Doc::create(
                "Request a password reset (not available: needs e-mail delivery)",
                Some("user_auth_recovery"),
            )
            .public()
            .status(501),
        )
        .post(
            not_implemented,
            Doc::update(
                "Reset a password (not available: needs e-mail delivery)",
                Some("user_auth_recovery_reset"),
            )
            .public()
            .status(501),
        )
        .register(cfg);
    Endpoint::new("/v2/user_auth/{token}", TAG)
        .get(
            user_auth::show,
            Doc::read("The token in use (the path must name it)"),
        )
        .register(cfg);
    Endpoint::new("/v2/api_auth", TAG)
        .put(
            api_auth::create,
            Doc::create("Log in with an account API key", Some("api_auth"))
                .public()
                .replayable(),
        )
        .register(cfg);
    Endpoint::new("/v2/token_auth", TAG)
        .get(token_auth::show, Doc::read("The presented token's claims"))
        .delete(
            token_auth::delete,
            Doc::delete("Revoke the presented token"),
        )
        .register(cfg);
    Endpoint::new("/v2/accounts/{account_id}/users/{user_id}/user_auth", TAG)
        .put(
            user_auth::impersonate,
            Doc::create("Impersonate a user (superduper admins only)", None),
        )
        .register(cfg);
    Endpoint::new("/v2/auth/keys", TAG)
        .get(
            keys::show,
            Doc::read("Public keys that verify tokens (JWKS)").public(),
        )
        .register(cfg);
}

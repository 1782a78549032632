//! The route table of the auth slice of `/v2`.

use actix_web::web;

use crate::handlers::{api_auth, keys, method_not_allowed, not_implemented, token_auth, user_auth};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v2/user_auth")
            .route(web::put().to(user_auth::create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/user_auth/recovery")
            .route(web::put().to(not_implemented))
            .route(web::post().to(not_implemented))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/user_auth/{token}")
            .route(web::get().to(user_auth::show))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/api_auth")
            .route(web::put().to(api_auth::create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/token_auth")
            .route(web::get().to(token_auth::show))
            .route(web::delete().to(token_auth::delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/accounts/{account_id}/users/{user_id}/user_auth")
            .route(web::put().to(user_auth::impersonate))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v2/auth/keys")
            .route(web::get().to(keys::show))
            .default_service(web::to(method_not_allowed)),
    );
}

//! The accounts service's slice of `/v2`.

use std::sync::Arc;

use actix_web::web;
use crossbar_crud::{method_not_allowed, register_resource};

use crate::domain::{devices::DevicesRules, users::UsersRules};
use crate::handlers::{accounts, tree};
use crate::AccountsService;

pub fn configure(service: &AccountsService, cfg: &mut web::ServiceConfig) {
    let data = web::Data::new(service.clone());
    let account = "/v2/accounts/{account_id}";
    cfg.service(
        web::resource("/v2/accounts")
            .app_data(data.clone())
            .route(web::put().to(accounts::put_root))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(account)
            .app_data(data.clone())
            .route(web::get().to(accounts::get))
            .route(web::put().to(accounts::put_child))
            .route(web::post().to(accounts::post))
            .route(web::patch().to(accounts::patch))
            .route(web::delete().to(accounts::delete))
            .default_service(web::to(method_not_allowed)),
    );
    let sub = |path: &str| format!("{account}/{path}");
    cfg.service(
        web::resource(sub("children"))
            .app_data(data.clone())
            .route(web::get().to(tree::children))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("descendants"))
            .app_data(data.clone())
            .route(web::get().to(tree::descendants))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("siblings"))
            .app_data(data.clone())
            .route(web::get().to(tree::siblings))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("parents"))
            .app_data(data.clone())
            .route(web::get().to(tree::parents))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("tree"))
            .app_data(data.clone())
            .route(web::get().to(tree::tree))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("api_key"))
            .app_data(data.clone())
            .route(web::get().to(accounts::get_api_key))
            .route(web::put().to(accounts::put_api_key))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("reseller"))
            .app_data(data.clone())
            .route(web::put().to(accounts::put_reseller))
            .route(web::delete().to(accounts::delete_reseller))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(sub("move"))
            .app_data(data)
            .route(web::post().to(accounts::post_move))
            .default_service(web::to(method_not_allowed)),
    );
    register_resource(
        cfg,
        service.docs.clone(),
        Arc::new(UsersRules {
            accounts: service.store.clone(),
        }),
    );
    register_resource(
        cfg,
        service.docs.clone(),
        Arc::new(DevicesRules {
            docs: service.docs.clone(),
        }),
    );
}

//! The callflows service's slice of `/v2`: `/v2/accounts/{account_id}/callflows`
//! (GET, PUT), `/callflows/{id}` (GET with metadata, POST, PATCH, DELETE),
//! `/callflows/simulate` (POST) and `/callflows/{id}/lint` (GET). The simulator's
//! and the lint's paths are registered before the item's, which would otherwise
//! take `simulate` for an id.

use std::sync::Arc;

use actix_web::web;
use crossbar_crud::handlers::{self as crud, method_not_allowed, ResourceBinding};

use crate::domain::rules::CallflowsRules;
use crate::handlers::{callflows, lint, simulate};
use crate::CallflowsService;

pub fn configure(service: &CallflowsService, cfg: &mut web::ServiceConfig) {
    let data = web::Data::new(service.clone());
    let binding = web::Data::new(ResourceBinding {
        docs: service.docs.clone(),
        rules: Arc::new(CallflowsRules {
            bus: service.bus.clone(),
            directory: service.directory.clone(),
        }),
    });
    let collection = "/v2/accounts/{account_id}/callflows";
    cfg.service(
        web::resource(format!("{collection}/simulate"))
            .app_data(data.clone())
            .route(web::post().to(simulate::simulate))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(format!("{collection}/{{id}}/lint"))
            .app_data(data.clone())
            .route(web::get().to(lint::lint))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(collection)
            .app_data(binding.clone())
            .route(web::get().to(crud::list))
            .route(web::put().to(crud::create))
            .default_service(web::to(method_not_allowed)),
    );
    cfg.service(
        web::resource(format!("{collection}/{{id}}"))
            .app_data(binding)
            .app_data(data)
            .route(web::get().to(callflows::read))
            .route(web::post().to(crud::replace))
            .route(web::patch().to(crud::patch))
            .route(web::delete().to(crud::delete))
            .default_service(web::to(method_not_allowed)),
    );
}

//! The numbers service's slice of `/v2`: `phone_numbers` (with and without an
//! account) and `port_requests`.

use std::sync::Arc;

use actix_web::web;

use crate::handlers::phone_numbers::{self, NumbersApi};
use crate::manager::NumberManager;
use crate::NumbersService;

pub fn configure(service: &NumbersService, cfg: &mut web::ServiceConfig) {
    let api = web::Data::new(NumbersApi {
        manager: NumberManager {
            db: service.db.clone(),
            outbox: service.outbox.clone(),
            bus: Arc::clone(&service.bus),
        },
        schemas: Arc::clone(&service.schemas),
    });
    phone_numbers::configure(api.clone(), cfg);
    crate::handlers::port_requests::configure(api, cfg);
}

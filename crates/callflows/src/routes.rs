//! The callflows service's slice of `/v2`.

use actix_web::web;

use crate::CallflowsService;

pub fn configure(_service: &CallflowsService, _cfg: &mut web::ServiceConfig) {}

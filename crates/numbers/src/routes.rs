//! The numbers service's slice of `/v2`.

use actix_web::web;

use crate::NumbersService;

pub fn configure(_service: &NumbersService, _cfg: &mut web::ServiceConfig) {}

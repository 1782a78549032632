//! The office-hours service's slice of `/v2`: `temporal_rules`, `temporal_rules_sets`,
//! `menus` and `vmboxes` under `/v2/accounts/{account_id}/`, each with the five verbs
//! of the shared document store.

use std::sync::Arc;

use actix_web::web;
use crossbar_crud::register_resource;

use crate::domain::rules::{MenusRules, TemporalRuleSetsRules, TemporalRulesRules, VmboxesRules};
use crate::OfficeHoursService;

pub fn configure(service: &OfficeHoursService, cfg: &mut web::ServiceConfig) {
    // Evaluation and occurrences first (`/temporal_rules/{R}/evaluate` and friends).
    crate::handlers::evaluate::configure(service, cfg);
    // Voicemail messages, and the box listing with message counts (GET only).
    crate::handlers::messages::configure(service, cfg);
    let docs = &service.docs;
    register_resource(cfg, docs.clone(), Arc::new(TemporalRulesRules));
    register_resource(
        cfg,
        docs.clone(),
        Arc::new(TemporalRuleSetsRules { docs: docs.clone() }),
    );
    register_resource(cfg, docs.clone(), Arc::new(MenusRules));
    register_resource(
        cfg,
        docs.clone(),
        Arc::new(VmboxesRules {
            docs: docs.clone(),
            users: service.users.clone(),
        }),
    );
}

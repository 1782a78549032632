//! The callflows service's slice of `/v2`: `/v2/accounts/{account_id}/callflows`
//! (GET, PUT), `/callflows/{id}` (GET with metadata, POST, PATCH, DELETE),
//! `/callflows/simulate` (POST) and `/callflows/{id}/lint` (GET). The simulator's
//! and the lint's paths are registered before the item's, which would otherwise
//! take `simulate` for an id.

use std::sync::Arc;

use actix_web::web;
use crossbar_crud::handlers::{self as crud, ResourceBinding};
use crossbar_crud::{Doc, Endpoint};

use crate::domain::rules::CallflowsRules;
use crate::handlers::{callflows, lint, simulate};
use crate::CallflowsService;

const TAG: &str = "callflows";

pub fn configure(service: &CallflowsService, cfg: &mut web::ServiceConfig) {
    let data = web::Data::new(service.clone());
    let binding = web::Data::new(ResourceBinding {
        docs: service.docs.clone(),
        rules: Arc::new(CallflowsRules {
            owners: service.owners.clone(),
            directory: service.directory.clone(),
        }),
    });
    let collection = "/v2/accounts/{account_id}/callflows";
    Endpoint::new(format!("{collection}/simulate"), TAG)
        .data(data.clone())
        .post(
            simulate::simulate,
            Doc::update(
                "Where does a call to `number` at `at` go: the resolved callflow and the path of nodes",
                None,
            )
            .replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{collection}/{{id}}/lint"), TAG)
        .data(data.clone())
        .get(
            lint::lint,
            Doc::read("Missing references and unreachable children of a callflow"),
        )
        .register(cfg);
    Endpoint::new(collection, TAG)
        .data(binding.clone())
        .get(crud::list, Doc::list("List the account's callflows"))
        .put(
            crud::create,
            Doc::create("Create a callflow", Some("callflows")).replayable(),
        )
        .register(cfg);
    Endpoint::new(format!("{collection}/{{id}}"), TAG)
        .data(binding)
        .data(data)
        .get(
            callflows::read,
            Doc::read("Read a callflow, with `metadata` for every id it references"),
        )
        .post(
            crud::replace,
            Doc::update("Replace a callflow", Some("callflows")).replayable(),
        )
        .patch(
            crud::patch,
            Doc::update("Change some fields of a callflow", None).replayable(),
        )
        .delete(crud::delete, Doc::delete("Delete a callflow").replayable())
        .register(cfg);
}

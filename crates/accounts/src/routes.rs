//! The accounts service's slice of `/v2`.

use std::sync::Arc;

use actix_web::web;
use crossbar_crud::{register_resource, Doc, Endpoint};

use crate::domain::{devices::DevicesRules, users::UsersRules};
use crate::handlers::{accounts, tree};
use crate::AccountsService;

const TAG: &str = "accounts";

pub fn configure(service: &AccountsService, cfg: &mut web::ServiceConfig) {
    let data = web::Data::new(service.clone());
    let account = "/v2/accounts/{account_id}";
    Endpoint::new("/v2/accounts", TAG)
        .data(data.clone())
        .put(
            accounts::put_root,
            Doc::create(
                "Create an account under the caller's account",
                Some("accounts"),
            )
            .replayable(),
        )
        .register(cfg);
    Endpoint::new(account, TAG)
        .data(data.clone())
        .get(accounts::get, Doc::read("Read an account"))
        .put(
            accounts::put_child,
            Doc::create("Create a sub-account of this account", Some("accounts")).replayable(),
        )
        .post(
            accounts::post,
            Doc::update("Replace an account", Some("accounts")).replayable(),
        )
        .patch(
            accounts::patch,
            Doc::update("Change some fields of an account", None).replayable(),
        )
        .delete(
            accounts::delete,
            Doc::delete("Delete an account (refused while it has descendants)"),
        )
        .register(cfg);
    let sub = |path: &str| format!("{account}/{path}");
    Endpoint::new(sub("children"), TAG)
        .data(data.clone())
        .get(
            tree::children,
            Doc::list("The account's direct sub-accounts"),
        )
        .register(cfg);
    Endpoint::new(sub("descendants"), TAG)
        .data(data.clone())
        .get(
            tree::descendants,
            Doc::list("Every account below this one, in tree order"),
        )
        .register(cfg);
    Endpoint::new(sub("siblings"), TAG)
        .data(data.clone())
        .get(tree::siblings, Doc::list("Accounts with the same parent"))
        .register(cfg);
    Endpoint::new(sub("parents"), TAG)
        .data(data.clone())
        .get(
            tree::parents,
            Doc::list("The account's ancestors, root first"),
        )
        .register(cfg);
    Endpoint::new(sub("tree"), TAG)
        .data(data.clone())
        .get(
            tree::tree,
            Doc::list("The path from the root to this account"),
        )
        .register(cfg);
    Endpoint::new(sub("api_key"), TAG)
        .data(data.clone())
        .get(accounts::get_api_key, Doc::read("The account's API key"))
        .put(
            accounts::put_api_key,
            Doc::update("Generate a new API key", None),
        )
        .register(cfg);
    Endpoint::new(sub("reseller"), TAG)
        .data(data.clone())
        .put(
            accounts::put_reseller,
            Doc::update("Make the account a reseller (superduper admins)", None),
        )
        .delete(
            accounts::delete_reseller,
            Doc::delete("Demote a reseller (superduper admins)"),
        )
        .register(cfg);
    Endpoint::new(sub("move"), TAG)
        .data(data)
        .post(
            accounts::post_move,
            Doc::update("Move the account under another parent (`data.to`)", None),
        )
        .register(cfg);
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

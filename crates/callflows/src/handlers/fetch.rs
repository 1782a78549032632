//! Reading what a callflow references from the services that own it.

use std::collections::HashMap;

use crossbar_crud::rpc::fetch_documents;
use crossbar_envelope::ApiError;

use crate::domain::callflow::CALLFLOW;
use crate::domain::simulate::RefDoc;
use crate::CallflowsService;

/// The live documents `ids` of the account, wherever they live: users and devices
/// (accounts service), menus, voicemail boxes, temporal rules and sets (office-hours
/// service), callflows (here). Ids found nowhere are absent.
pub async fn find_anywhere(
    service: &CallflowsService,
    account_id: &str,
    ids: &[String],
) -> Result<HashMap<String, RefDoc>, ApiError> {
    let mut found: HashMap<String, RefDoc> = HashMap::new();
    if ids.is_empty() {
        return Ok(found);
    }
    for owner in ["accounts", "office_hours"] {
        let rest: Vec<String> = ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .cloned()
            .collect();
        if rest.is_empty() {
            break;
        }
        for (id, doc) in fetch_documents(service.bus.as_ref(), owner, account_id, &rest).await? {
            found.insert(
                id,
                RefDoc {
                    kind: doc.kind,
                    doc: doc.doc,
                },
            );
        }
    }
    let rest: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains_key(*id))
        .cloned()
        .collect();
    for id in rest {
        if let Some(doc) = service.docs.find(account_id, CALLFLOW, &id).await? {
            found.insert(
                id,
                RefDoc {
                    kind: CALLFLOW.into(),
                    doc: doc.public(),
                },
            );
        }
    }
    Ok(found)
}

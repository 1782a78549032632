//! The service on a real (temporary SQLite) database: what HTTP cannot show, such as
//! private fields and the purge of a deleted account's documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_crud::{ResourceRules, WriteContext};
use crossbar_envelope::ApiError;
use crossbar_events::subjects::{ACCOUNT_DELETED_SUBJECT, ACCOUNT_EVENTS_PREFIX};
use crossbar_events::{Bus, Event, InProcessBus};
use crossbar_office_hours::domain::rules::{MenusRules, VmboxesRules, MENU, VMBOX};
use crossbar_office_hours::{OfficeHoursService, UserLookup};
use crossbar_schema::SchemaRegistry;
use serde_json::{json, Map, Value};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";

struct NoUsers;

#[async_trait]
impl UserLookup for NoUsers {
    async fn user_exists(&self, _account_id: &str, _user_id: &str) -> Result<bool, ApiError> {
        Ok(false)
    }
}

fn ctx(account: &str) -> WriteContext {
    WriteContext {
        account_id: account.into(),
        account_tree: Vec::new(),
        caller_account_id: account.into(),
        caller_is_admin: true,
        caller_is_superduper: false,
        caller_user_id: None,
    }
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

async fn start(dir: &tempfile::TempDir) -> (OfficeHoursService, Arc<dyn Bus>) {
    let url = format!(
        "sqlite://{}/office_hours.sqlite?mode=rwc",
        dir.path().display()
    );
    let db = crossbar_crud::db::connect(&url, "office_hours")
        .await
        .unwrap();
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
    let schemas = Arc::new(SchemaRegistry::load_embedded().unwrap());
    let service = OfficeHoursService::start(db, bus.clone(), schemas, Arc::new(NoUsers))
        .await
        .unwrap();
    (service, bus)
}

#[tokio::test]
async fn menus_are_version_2_and_defaults_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (service, _) = start(&dir).await;
    let menu = service
        .docs
        .create(&MenusRules, &ctx(ACCOUNT), obj(json!({"name": "Main"})))
        .await
        .unwrap();
    assert_eq!(menu.doc["pvt_vsn"], "2");
    assert_eq!(menu.doc["pvt_type"], "menu");
    assert_eq!(menu.doc["retries"], 3);
    let stored = service.docs.load(ACCOUNT, MENU, &menu.id).await.unwrap();
    assert_eq!(stored.doc["pvt_vsn"], "2");
    // Migrations run again without harm (the `migrate` command after a start).
    OfficeHoursService::migrate(service.docs.db())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_account_loses_its_documents_and_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let (service, bus) = start(&dir).await;
    let rules = VmboxesRules {
        docs: service.docs.clone(),
        users: Arc::new(NoUsers),
    };
    assert_eq!(rules.kind(), VMBOX);
    let mine = service
        .docs
        .create(
            &rules,
            &ctx(ACCOUNT),
            obj(json!({"name": "Box", "mailbox": "100"})),
        )
        .await
        .unwrap();
    let theirs = service
        .docs
        .create(
            &rules,
            &ctx(OTHER),
            obj(json!({"name": "Box", "mailbox": "100"})),
        )
        .await
        .unwrap();
    // Events of other subjects are ignored.
    let updated =
        Event::new(format!("{ACCOUNT_EVENTS_PREFIX}updated")).account(ACCOUNT, Vec::new());
    bus.publish(&updated).await.unwrap();
    assert!(service.docs.exists(ACCOUNT, VMBOX, &mine.id).await.unwrap());

    let deleted = Event::new(ACCOUNT_DELETED_SUBJECT).account(ACCOUNT, Vec::new());
    bus.publish(&deleted).await.unwrap();
    bus.publish(&deleted).await.unwrap();
    assert!(!service.docs.exists(ACCOUNT, VMBOX, &mine.id).await.unwrap());
    assert!(service.docs.exists(OTHER, VMBOX, &theirs.id).await.unwrap());
    assert_eq!(
        service
            .docs
            .claim_holder(ACCOUNT, VMBOX, "mailbox", "100")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        service
            .docs
            .claim_holder(OTHER, VMBOX, "mailbox", "100")
            .await
            .unwrap(),
        Some(theirs.id)
    );
}

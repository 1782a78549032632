//! Routing lookup at scale: one account with 100,000 callflow numbers and 1,000
//! patterns. `lookup/*` goes through the service as a call would (exact number via
//! the unique-keys index on SQLite, then the cached `RegexSet`, then `no_match`);
//! `patterns/*` measures the compiled set alone and its compilation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use crossbar_authz::{AccountDirectory, AccountRef};
use crossbar_callflows::domain::routing::{PatternEntry, PatternSet};
use crossbar_callflows::store::PatternCache;
use crossbar_callflows::CallflowsService;
use crossbar_crud::store::unique_key;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use crossbar_events::{Bus, InProcessBus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{EntityTrait, Set, TransactionTrait};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const NUMBERS: usize = 100_000;
const PATTERNS: usize = 1_000;

struct NoAccounts;

#[async_trait]
impl AccountDirectory for NoAccounts {
    async fn account(&self, _id: &str) -> Result<Option<AccountRef>, ApiError> {
        Ok(None)
    }
}

fn number(i: usize) -> String {
    format!("+1415{:07}", i)
}

/// `^8NNN(\d{4})$` and friends: 1,000 distinct feature-code-like patterns.
fn pattern(i: usize) -> String {
    match i % 4 {
        0 => format!("^8{i:03}(\\d{{4}})$"),
        1 => format!("^\\*{i:03}([0-9]+)$"),
        2 => format!("^\\+44{i:03}(\\d{{6,}})$"),
        _ => format!("^9{i:03}[2-9]\\d{{2}}(\\d*)$"),
    }
}

fn entries() -> Vec<PatternEntry> {
    (0..PATTERNS)
        .map(|i| PatternEntry {
            pattern: pattern(i),
            callflow_id: format!("{:032x}", i + 1),
        })
        .collect()
}

fn service(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> CallflowsService {
    rt.block_on(async {
        let url = format!("sqlite://{}/callflows.sqlite?mode=rwc", dir.display());
        let db = crossbar_crud::db::connect(&url, "callflows").await.unwrap();
        CallflowsService::migrate(&db.write).await.unwrap();
        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
        let schemas = Arc::new(SchemaRegistry::load_embedded().unwrap());
        let docs = Documents::new(
            &db,
            Outbox::new(db.write.clone(), bus.clone()),
            schemas,
            "callflows",
        );
        let scope = format!("{ACCOUNT}:callflow");
        let txn = db.write.begin().await.unwrap();
        let numbers = (0..NUMBERS).map(|i| (number(i), format!("{:032x}", i + 10_000), "numbers"));
        let patterns = entries()
            .into_iter()
            .map(|e| (e.pattern, e.callflow_id, "patterns"));
        let rows: Vec<unique_key::ActiveModel> = numbers
            .chain(patterns)
            .map(|(value, doc_id, claim)| unique_key::ActiveModel {
                scope: Set(scope.clone()),
                claim: Set(claim.into()),
                value: Set(value),
                doc_id: Set(doc_id),
            })
            .collect();
        for chunk in rows.chunks(2_000) {
            unique_key::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        CallflowsService {
            docs,
            owners: Arc::new(crossbar_callflows::owners::NumberOwners::new(
                bus.clone(),
                crossbar_callflows::owners::DEFAULT_MAX_AGE,
            )),
            bus,
            directory: Arc::new(NoAccounts),
            patterns: Arc::new(PatternCache::default()),
        }
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = service(&rt, dir.path());
    // Warm the pattern cache once (as the first call of an account would).
    rt.block_on(service.lookup(ACCOUNT, "0")).unwrap();

    let mut group = c.benchmark_group("lookup");
    group.bench_function("exact number among 100k", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 7_919) % NUMBERS;
            let route = rt.block_on(service.lookup(ACCOUNT, &number(i))).unwrap();
            black_box(route.unwrap());
        })
    });
    group.bench_function("pattern among 1k (exact miss)", |b| {
        b.iter(|| {
            let route = rt.block_on(service.lookup(ACCOUNT, "*517123")).unwrap();
            black_box(route.unwrap());
        })
    });
    group.bench_function("no match anywhere", |b| {
        b.iter(|| {
            let route = rt.block_on(service.lookup(ACCOUNT, "5550000")).unwrap();
            assert!(route.is_none());
        })
    });
    group.finish();

    let set = PatternSet::build(entries());
    let mut group = c.benchmark_group("patterns");
    group.bench_function("best_match hit, 1k patterns", |b| {
        b.iter(|| black_box(set.best_match(black_box("+44122987654"))))
    });
    group.bench_function("best_match miss, 1k patterns", |b| {
        b.iter(|| black_box(set.best_match(black_box("5550000"))))
    });
    group.sample_size(10);
    group.bench_function("compile 1k patterns", |b| {
        b.iter(|| black_box(PatternSet::build(entries())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

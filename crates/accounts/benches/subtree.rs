//! The account-tree check at 100,000 accounts: resolving a target account and
//! deciding "is it under the caller" (what every account-scoped request pays), and
//! listing a subtree page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use crossbar_accounts::store::AccountStore;
use crossbar_authz::may_reach;
use crossbar_crud::ListQuery;
use sea_orm::{ConnectionTrait, Statement};

const ACCOUNTS: usize = 100_000;

fn id(n: usize) -> String {
    format!("{n:032x}")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/accounts.sqlite?mode=rwc", dir.path().display());
    let store = rt.block_on(async {
        let db = crossbar_crud::db::connect(&url, "accounts").await.unwrap();
        crossbar_accounts::AccountsService::migrate(&db.write).await.unwrap();
        // A tree 100 wide at the top, each of those with 999 descendants in chains of ~10.
        let handle = db.clone();
        let db = db.write;
        db.execute_unprepared("BEGIN").await.unwrap();
        let mut paths: Vec<String> = Vec::with_capacity(ACCOUNTS);
        for n in 0..ACCOUNTS {
            let (path, parent) = if n == 0 {
                (id(0), None)
            } else if n <= 100 {
                (format!("{}/{}", paths[0], id(n)), Some(id(0)))
            } else {
                let parent = if n % 10 == 1 { (n % 100) + 1 } else { n - 1 };
                (format!("{}/{}", paths[parent], id(n)), Some(id(parent)))
            };
            let depth = path.matches('/').count() as i64;
            db.execute(Statement::from_sql_and_values(
                db.get_database_backend(),
                "INSERT INTO accounts (id, name, name_key, realm, realm_key, parent_id, path, depth, enabled, superduper_admin, is_reseller, api_key, auth_salt, doc, rev, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, 0, ?, '00', '{}', 1, 0, 0)",
                [
                    id(n).into(),
                    format!("Account {n}").into(),
                    format!("account{n}").into(),
                    format!("r{n}.example.com").into(),
                    format!("r{n}.example.com").into(),
                    parent.into(),
                    path.clone().into(),
                    depth.into(),
                    format!("{n:064x}").into(),
                ],
            ))
            .await
            .unwrap();
            paths.push(path);
        }
        db.execute_unprepared("COMMIT").await.unwrap();
        AccountStore::new(&handle)
    });
    let directory_ref =
        |m: &crossbar_accounts::store::account::Model| crossbar_accounts::directory::account_ref(m);
    let caller = rt.block_on(store.get(&id(7))).unwrap().unwrap();
    let caller = directory_ref(&caller);
    let deep = id(ACCOUNTS - 1);
    c.bench_function(
        "subtree check: load target + may_reach (100k accounts)",
        |b| {
            b.iter(|| {
                let target = rt.block_on(store.get(&deep)).unwrap().unwrap();
                std::hint::black_box(may_reach(&caller, &directory_ref(&target)))
            })
        },
    );
    let top = rt.block_on(store.get(&id(7))).unwrap().unwrap();
    let query = ListQuery::default();
    c.bench_function("descendants page of 50 (100k accounts)", |b| {
        b.iter(|| {
            rt.block_on(store.subtree_page(&top, false, &query))
                .unwrap()
        })
    });
    c.bench_function("descendants_count (100k accounts)", |b| {
        b.iter(|| rt.block_on(store.descendants_count(&top)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

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
        db.execute_unprepared(
            "UPDATE accounts SET descendants = (SELECT COUNT(*) FROM accounts AS d \
             WHERE d.path >= accounts.path || '/' AND d.path < accounts.path || '0')",
        )
        .await
        .unwrap();
        db.execute_unprepared("COMMIT").await.unwrap();
        AccountStore::new(&handle)
    });
    let directory_ref =
        |m: &crossbar_accounts::store::account::Model| crossbar_accounts::directory::account_ref(m);
    // Account 92 heads ~10,000 descendants in chains of 10; the last id sits 10 deep in it.
    let caller = rt.block_on(store.get(&id(92))).unwrap().unwrap();
    let caller = directory_ref(&caller);
    let deep = id(ACCOUNTS - 1);
    c.bench_function(
        "subtree check: load target + may_reach (100k accounts)",
        |b| {
            b.iter(|| {
                let target = rt.block_on(store.get(&deep)).unwrap().unwrap();
                assert!(may_reach(&caller, &directory_ref(&target)));
            })
        },
    );
    let top = rt.block_on(store.get(&id(92))).unwrap().unwrap();
    assert!(top.descendants > 9_000);
    assert_eq!(
        rt.block_on(store.count_subtree(&top)).unwrap(),
        top.descendants as u64
    );
    let query = ListQuery::default();
    c.bench_function("descendants page of 50 (100k accounts)", |b| {
        b.iter(|| {
            rt.block_on(store.subtree_page(&top, false, &query))
                .unwrap()
        })
    });
    c.bench_function(
        "children page of 50 with descendants_count (100k accounts)",
        |b| {
            let root = rt.block_on(store.get(&id(0))).unwrap().unwrap();
            b.iter(|| {
                let (rows, _) = rt
                    .block_on(store.subtree_page(&root, true, &query))
                    .unwrap();
                assert_eq!(rows.len(), 50);
                std::hint::black_box(rows.iter().map(|r| r.descendants).sum::<i64>())
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

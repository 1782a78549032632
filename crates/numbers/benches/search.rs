//! Inventory prefix search over 1,000,000 numbers on SQLite: the query of
//! `GET /v2/phone_numbers?prefix=...&quantity=...`, an index range scan of
//! (`state`, `number`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use crossbar_numbers::store::numbers::{import, search_available, InventoryLine};
use serde_json::Map;

const INVENTORY: u64 = 1_000_000;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("numbers.sqlite").display()
    );
    let db = runtime.block_on(async {
        let db = crossbar_crud::db::connect(&url, "numbers").await.unwrap();
        crossbar_numbers::NumbersService::migrate(&db.write)
            .await
            .unwrap();
        // 1,000,000 NANP numbers spread over 100 area codes (10,000 each).
        let lines: Vec<InventoryLine> = (0..INVENTORY)
            .map(|i| InventoryLine {
                number: format!("+1{}555{:04}", 200 + i / 10_000, i % 10_000),
                locality: Map::new(),
            })
            .collect();
        for chunk in lines.chunks(50_000) {
            let (added, _) = import(&db.write, chunk, 0).await.unwrap();
            assert_eq!(added, chunk.len() as u64);
        }
        db
    });
    // Latency distribution of single searches (criterion reports means): 10,000
    // searches of 10 numbers over rotating 6-digit prefixes.
    let mut samples: Vec<std::time::Duration> = (0..10_000)
        .map(|i| {
            let prefix = format!("+1{}555{}", 200 + i % 100, i % 10);
            let started = std::time::Instant::now();
            let rows = runtime
                .block_on(search_available(&db.read, &prefix, 10, 0))
                .unwrap();
            let took = started.elapsed();
            assert_eq!(rows.len(), 10);
            took
        })
        .collect();
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "inventory_search_1m single searches: p50 {:?}, p99 {:?}, max {:?} ({} samples)",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1],
        samples.len()
    );

    let mut group = c.benchmark_group("inventory_search_1m");
    group.bench_function("prefix_6_quantity_10", |b| {
        let mut area = 200;
        b.iter(|| {
            area = if area >= 299 { 200 } else { area + 1 };
            let rows = runtime
                .block_on(search_available(&db.read, &format!("+1{area}555"), 10, 0))
                .unwrap();
            assert_eq!(rows.len(), 10);
        })
    });
    group.bench_function("prefix_8_quantity_50_offset_100", |b| {
        b.iter(|| {
            let rows = runtime
                .block_on(search_available(&db.read, "+1250555", 50, 100))
                .unwrap();
            assert_eq!(rows.len(), 50);
        })
    });
    group.bench_function("prefix_miss", |b| {
        b.iter(|| {
            let rows = runtime
                .block_on(search_available(&db.read, "+1999", 10, 0))
                .unwrap();
            assert!(rows.is_empty());
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

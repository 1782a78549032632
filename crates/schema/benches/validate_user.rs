//! Validating a typical user document against Kazoo's `users.json` (defaults filled,
//! nested `$ref`s to caller_id and friends checked).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use crossbar_schema::SchemaRegistry;
use serde_json::json;

fn validate_user(c: &mut Criterion) {
    let registry = SchemaRegistry::load_embedded().expect("embedded schemas compile");
    let user = json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "username": "ada.lovelace",
        "email": "ada@example.com",
        "priv_level": "admin",
        "timezone": "Europe/London",
        "presence_id": "1001",
        "vm_to_email_enabled": true,
        "caller_id": {
            "internal": {"name": "Ada Lovelace", "number": "1001"},
            "external": {"name": "Analytical Engines", "number": "+14155550100"}
        },
        "call_forward": {"enabled": false, "number": "+14155550199"},
        "hotdesk": {"enabled": true, "id": "1001", "pin": "1234"},
        "music_on_hold": {},
        "apps": {"voip": {"label": "SmartPBX"}}
    });

    c.bench_function("validate_user", |b| {
        b.iter(|| {
            let mut doc = user.clone();
            registry
                .validate("users", black_box(&mut doc))
                .expect("valid user");
            doc
        });
    });

    let invalid = json!({
        "last_name": "Lovelace",
        "priv_level": "root",
        "caller_id": {"external": {"number": 5}},
        "enabled": "true"
    });
    c.bench_function("validate_user_invalid", |b| {
        b.iter(|| {
            let mut doc = invalid.clone();
            registry
                .validate("users", black_box(&mut doc))
                .expect_err("invalid user")
        });
    });

    c.bench_function("load_embedded", |b| {
        b.iter(|| SchemaRegistry::load_embedded().expect("embedded schemas compile"));
    });
}

criterion_group!(benches, validate_user);
criterion_main!(benches);

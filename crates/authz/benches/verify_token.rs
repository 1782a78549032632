//! Token verification: what every authenticated request pays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use crossbar_authz::{SigningKey, TokenSigner, TokenVerifier};

fn bench(c: &mut Criterion) {
    let key = SigningKey::generate().unwrap();
    let verifier = TokenVerifier::new();
    verifier.add_key(&key.kid, key.public_key());
    let signer = TokenSigner::new(key, 3600);
    let (token, _) = signer
        .issue(
            "0123456789abcdef0123456789abcdef",
            Some("fedcba9876543210fedcba9876543210"),
            "cb_user_auth",
            Some("admin"),
        )
        .unwrap();
    for i in 0..10_000 {
        verifier.revocations.revoke(&format!("{i:032x}"), i64::MAX);
    }
    c.bench_function("verify_token (10k revocations held)", |b| {
        b.iter(|| verifier.verify(std::hint::black_box(&token)).unwrap())
    });
    c.bench_function("issue_token", |b| {
        b.iter(|| {
            signer
                .issue(
                    "0123456789abcdef0123456789abcdef",
                    None,
                    "cb_api_auth",
                    None,
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Helpers shared by the end-to-end test files (each file uses a part of them).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use crossbar_e2e::{md5_credentials, Answer, TestServer};
use serde_json::{json, Value};

/// Seconds between year 0 and the unix epoch (Kazoo's Gregorian seconds).
pub const GREGORIAN_OFFSET: i64 = 62_167_219_200;

/// Now, in Gregorian seconds.
pub fn now_gregorian() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(unix).unwrap() + GREGORIAN_OFFSET
}

/// `data.id` of a create answer.
pub fn id_of(answer: &Answer) -> String {
    answer.body["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no data.id in {:?}", answer.body))
        .to_string()
}

/// The ids of a listing answer, in order.
pub fn ids_of(answer: &Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("data is not an array: {:?}", answer.body))
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect()
}

/// Creates an account under `parent`; returns its id.
pub fn create_account(server: &TestServer, token: &str, parent: &str, name: &str) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{parent}"),
        Some(token),
        Some(json!({"data": {"name": name}})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    id_of(&answer)
}

/// Creates a user in `account`; returns its id.
pub fn create_user(
    server: &TestServer,
    token: &str,
    account: &str,
    username: &str,
    password: &str,
    priv_level: &str,
) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/users"),
        Some(token),
        Some(json!({"data": {
            "first_name": "First",
            "last_name": format!("Of {username}"),
            "username": username,
            "password": password,
            "priv_level": priv_level,
        }})),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    id_of(&answer)
}

/// Creates a device in `account` from `data`; returns its id.
pub fn create_device(server: &TestServer, token: &str, account: &str, data: Value) -> String {
    let answer = server.call(
        "PUT",
        &format!("/v2/accounts/{account}/devices"),
        Some(token),
        Some(json!({ "data": data })),
    );
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    id_of(&answer)
}

/// A raw `PUT /v2/user_auth` by account name with md5 credentials.
pub fn try_login(
    server: &TestServer,
    account_name: &str,
    username: &str,
    password: &str,
) -> Answer {
    server.call(
        "PUT",
        "/v2/user_auth",
        None,
        Some(json!({"data": {"credentials": md5_credentials(username, password), "account_name": account_name}})),
    )
}

/// Kazoo's sha credential: lowercase hex of `sha1("user:pass")`.
pub fn sha1_credentials(username: &str, password: &str) -> String {
    hex::encode(sha1(
        format!("{}:{}", username.to_lowercase(), password).as_bytes(),
    ))
}

/// SHA-1 (FIPS 180-4), enough for test credentials without another dependency.
pub fn sha1(message: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());
    for block in padded.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, value) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(value);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

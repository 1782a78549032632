//! 32-hex identifiers, as Kazoo uses for every document.

use rand::RngCore;

/// A new random 32-char lowercase hex id.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `true` for a well-formed 32-char lowercase hex id.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A document revision: `<n>-<32 hex>` like CouchDB's.
pub fn revision(counter: i64) -> String {
    format!("{counter}-{}", new_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn rejects_bad_ids() {
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_valid_id("abc"));
        assert!(!is_valid_id("g0000000000000000000000000000000"));
    }
}

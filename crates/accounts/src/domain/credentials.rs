//! Credentials. Clients log in with `md5("user:pass")` (or sha1); we keep only an
//! Argon2id hash of those values, salted per account so a login can find its user
//! by an index lookup instead of trying every user's hash.

use argon2::{Algorithm, Argon2, Params, Version};
use md5::{Digest, Md5};
use sha1::Sha1;

/// Kazoo's md5 credential of a user: lowercase hex of `md5("user:pass")`.
pub fn md5_credentials(username: &str, password: &str) -> String {
    hex::encode(Md5::digest(format!(
        "{}:{}",
        username.to_lowercase(),
        password
    )))
}

/// Kazoo's sha1 credential of a user.
pub fn sha1_credentials(username: &str, password: &str) -> String {
    hex::encode(Sha1::digest(format!(
        "{}:{}",
        username.to_lowercase(),
        password
    )))
}

/// A fresh random salt for an account, hex.
pub fn new_salt() -> String {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    hex::encode(salt)
}

/// Argon2id (19 MiB, t=2, p=1) of a credential string, hex. CPU-heavy: call it
/// from a blocking task.
pub fn hash_credentials(credentials: &str, salt_hex: &str) -> Result<String, String> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = hex::decode(salt_hex).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    argon
        .hash_password_into(
            credentials.trim().to_lowercase().as_bytes(),
            &salt,
            &mut out,
        )
        .map_err(|e| e.to_string())?;
    Ok(hex::encode(out))
}

/// [`hash_credentials`] on the blocking pool.
pub async fn hash_credentials_async(
    credentials: String,
    salt_hex: String,
) -> Result<String, crossbar_envelope::ApiError> {
    tokio::task::spawn_blocking(move || hash_credentials(&credentials, &salt_hex))
        .await
        .map_err(crossbar_envelope::ApiError::internal)?
        .map_err(crossbar_envelope::ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazoo_md5_credentials() {
        // md5("admin:secret")
        assert_eq!(
            md5_credentials("Admin", "secret"),
            hex::encode(Md5::digest("admin:secret"))
        );
        assert_eq!(sha1_credentials("admin", "secret").len(), 40);
    }

    #[test]
    fn hashing_is_deterministic_per_salt() {
        let salt = new_salt();
        let a = hash_credentials("abc", &salt).unwrap();
        assert_eq!(a, hash_credentials("ABC", &salt).unwrap());
        assert_ne!(a, hash_credentials("abc", &new_salt()).unwrap());
        assert_ne!(a, "abc");
    }
}

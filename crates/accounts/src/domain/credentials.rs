//! Credentials. Clients log in with `md5("user:pass")` (or sha1); we keep only an
//! Argon2id hash of those values, salted per account so a login can find its user
//! by an index lookup instead of trying every user's hash.

use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use crossbar_envelope::ApiError;
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

/// Argon2 cost: 19 MiB, two passes, one lane (OWASP's Argon2id baseline).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

fn argon() -> Result<Argon2<'static>, String> {
    let params = Params::new(MEMORY_KIB, PASSES, 1, Some(32)).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with(
    argon: &Argon2<'_>,
    memory: &mut [Block],
    credentials: &str,
    salt_hex: &str,
) -> Result<String, String> {
    let salt = hex::decode(salt_hex).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    argon
        .hash_password_into_with_memory(
            credentials.trim().to_lowercase().as_bytes(),
            &salt,
            &mut out,
            memory,
        )
        .map_err(|e| e.to_string())?;
    Ok(hex::encode(out))
}

/// Argon2id of a credential string, hex. CPU-heavy; servers use
/// [`hash_credentials_async`].
pub fn hash_credentials(credentials: &str, salt_hex: &str) -> Result<String, String> {
    let mut memory = vec![Block::default(); MEMORY_KIB as usize];
    hash_with(&argon()?, &mut memory, credentials, salt_hex)
}

struct HashJob {
    credentials: String,
    salt_hex: String,
    reply: tokio::sync::oneshot::Sender<Result<String, String>>,
}

/// A fixed pool of hashing threads (one per core), each reusing its 19 MiB of
/// Argon2 memory: a burst of logins queues instead of spawning threads and
/// allocating without bound, so CPU and memory stay flat under a login flood.
fn hashing_pool() -> &'static Mutex<mpsc::Sender<HashJob>> {
    static POOL: OnceLock<Mutex<mpsc::Sender<HashJob>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<HashJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    let mut memory = vec![Block::default(); MEMORY_KIB as usize];
                    let argon = argon();
                    loop {
                        let job = match receiver.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let result = match &argon {
                            Ok(argon) => {
                                hash_with(argon, &mut memory, &job.credentials, &job.salt_hex)
                            }
                            Err(e) => Err(e.clone()),
                        };
                        // The requester may have gone away; nothing to do then.
                        let _ = job.reply.send(result);
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start an Argon2 thread");
            }
        }
        Mutex::new(sender)
    })
}

/// [`hash_credentials`] on the hashing pool.
pub async fn hash_credentials_async(
    credentials: String,
    salt_hex: String,
) -> Result<String, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    hashing_pool()
        .lock()
        .map_err(|_| ApiError::internal("hashing pool poisoned"))?
        .send(HashJob {
            credentials,
            salt_hex,
            reply,
        })
        .map_err(|_| ApiError::internal("hashing pool stopped"))?;
    answer
        .await
        .map_err(|_| ApiError::internal("hashing pool dropped a job"))?
        .map_err(ApiError::internal)
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

    #[tokio::test]
    async fn the_pool_hashes_like_the_direct_call() {
        let salt = new_salt();
        let direct = hash_credentials("abc", &salt).unwrap();
        let jobs: Vec<_> = (0..6)
            .map(|_| hash_credentials_async("abc".into(), salt.clone()))
            .collect();
        for job in jobs {
            assert_eq!(job.await.unwrap(), direct);
        }
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

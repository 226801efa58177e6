//! HTTP basic authentication against the config's bcrypt hashes.
//!
//! bcrypt is slow on purpose (tens of milliseconds at cost 10), so a verified
//! (user, hash, password) triple is cached and later scrapes cost a string
//! compare. Verifications run off the async threads, one at a time, so a
//! flood of bad passwords cannot take more than one core.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::sync::Semaphore;

/// Compared against when the user does not exist, so that unknown users take
/// as long as wrong passwords (no user enumeration by timing).
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

#[derive(Debug)]
pub(crate) struct BasicAuth {
    /// User to the (hash, password) pair that last verified.
    verified: Mutex<HashMap<String, (String, String)>>,
    bcrypt_slot: Arc<Semaphore>,
}

impl Default for BasicAuth {
    fn default() -> Self {
        BasicAuth {
            verified: Mutex::new(HashMap::new()),
            bcrypt_slot: Arc::new(Semaphore::new(1)),
        }
    }
}

impl BasicAuth {
    /// Whether the `Authorization` header names a configured user with the
    /// right password.
    pub(crate) async fn check(
        &self,
        users: &std::collections::BTreeMap<String, String>,
        authorization: Option<&[u8]>,
    ) -> bool {
        let Some((user, password)) = authorization.and_then(decode) else {
            return false;
        };
        let configured = users.get(&user);
        let hash = configured.cloned().unwrap_or_else(|| DUMMY_HASH.to_owned());
        if configured.is_some() && self.is_cached(&user, &hash, &password) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slot.acquire().await else {
            return false;
        };
        let (hash_copy, password_copy) = (hash.clone(), password.clone());
        let matches = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password_copy.as_bytes(), &hash_copy).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = matches && configured.is_some();
        if ok {
            self.lock().insert(user, (hash, password));
        }
        ok
    }

    fn is_cached(&self, user: &str, hash: &str, password: &str) -> bool {
        self.lock()
            .get(user)
            .is_some_and(|(cached_hash, cached_password)| {
                cached_hash == hash
                    && constant_time_eq(cached_password.as_bytes(), password.as_bytes())
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Decodes `Basic base64(user:password)`.
fn decode(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn header(user: &str, password: &str) -> Vec<u8> {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}").into_bytes()
    }

    #[tokio::test]
    async fn accepts_only_the_right_password_of_a_known_user() {
        let mut users = BTreeMap::new();
        users.insert("alice".to_owned(), bcrypt::hash("s3cret", 4).unwrap());
        let auth = BasicAuth::default();
        assert!(auth.check(&users, Some(&header("alice", "s3cret"))).await);
        // Served from the cache the second time.
        assert!(auth.check(&users, Some(&header("alice", "s3cret"))).await);
        assert!(!auth.check(&users, Some(&header("alice", "wrong"))).await);
        assert!(!auth.check(&users, Some(&header("bob", "s3cret"))).await);
        assert!(!auth.check(&users, Some(b"Bearer abc")).await);
        assert!(!auth.check(&users, Some(b"Basic !!!")).await);
        assert!(!auth.check(&users, None).await);
    }

    #[tokio::test]
    async fn a_changed_hash_invalidates_the_cache() {
        let mut users = BTreeMap::new();
        users.insert("alice".to_owned(), bcrypt::hash("old", 4).unwrap());
        let auth = BasicAuth::default();
        assert!(auth.check(&users, Some(&header("alice", "old"))).await);
        users.insert("alice".to_owned(), bcrypt::hash("new", 4).unwrap());
        assert!(!auth.check(&users, Some(&header("alice", "old"))).await);
        assert!(auth.check(&users, Some(&header("alice", "new"))).await);
    }
}

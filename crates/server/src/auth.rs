//! Who is asking: passwords (Argon2id), session tokens (random, kept only as
//! their SHA-256, revocable, expiring), roles and the villages each user may
//! reach, and the login rate limit.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::ApiError;
use crate::{AppState, db::Db};

pub use fieldbook_core::api::Role;

/// A signed-in user, as every handler sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user's id.
    pub id: String,
    /// The login name.
    pub username: String,
    /// What they may do.
    pub role: Role,
    /// An officer's township.
    pub township: Option<String>,
    /// The villages they may read (and, for a worker, write).
    pub villages: Vec<String>,
}

impl User {
    /// Whether the user may read village `village`'s records.
    pub fn can_read(&self, village: &str) -> bool {
        self.villages.iter().any(|v| v == village)
    }

    /// Whether the user may write village `village`'s records: only a
    /// worker, only hers.
    pub fn can_write(&self, village: &str) -> bool {
        self.role == Role::Worker && self.can_read(village)
    }
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes)
/// and a random salt, in PHC string form.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Whether `password` matches the stored PHC `hash`: Argon2 with the
/// hash's own algorithm, version and parameters, compared in constant time.
///
/// The 19 MiB of working memory come from [`ArgonMemory`], not a fresh
/// allocation: freed blocks that large raise glibc's mmap threshold, so
/// each thread's allocator arena kept its own copies and 50 logins at once
/// left the server at ≈400 MB. Reused buffers keep it at one per check
/// running at once.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut memory = ArgonMemory::take(blocks);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                out,
                &mut memory.blocks[..blocks],
            )
            .map_err(password_hash::Error::from)
    });
    memory.give_back();
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

/// Argon2's working memory, kept between password checks. At most as many
/// buffers as checks ever ran at once (one per core, see
/// `AppState::password_checks`) stay allocated.
pub struct ArgonMemory {
    blocks: Vec<Block>,
}

static ARGON_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

impl ArgonMemory {
    /// A buffer of at least `blocks` blocks: a kept one, or a new one.
    fn take(blocks: usize) -> ArgonMemory {
        let kept = ARGON_MEMORY.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut buffer = kept.unwrap_or_default();
        if buffer.len() < blocks {
            buffer = vec![Block::default(); blocks];
        }
        ArgonMemory { blocks: buffer }
    }

    /// Keeps the buffer for the next check.
    fn give_back(self) {
        ARGON_MEMORY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(self.blocks);
    }
}

/// A hash to verify against when the user does not exist, so that a wrong
/// username takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password").unwrap_or_default())
}

/// A new session token: 32 random bytes, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A recovery secret for the on-device lock: 32 random bytes as 64
/// lowercase hex characters.
pub fn new_device_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a token is stored: its SHA-256 in hex.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The password rules: 8 to 256 characters.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        Err("the password must have at least 8 characters")
    } else if n > 256 {
        Err("the password must have at most 256 characters")
    } else {
        Ok(())
    }
}

/// Loads user `id` with their villages; `None` if unknown or disabled.
pub async fn load_user(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    let Some(row) =
        sqlx::query("SELECT id, username, role, township, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
    else {
        return Ok(None);
    };
    if row.get::<i64, _>("disabled") != 0 {
        return Ok(None);
    }
    let role = Role::from_name(&row.get::<String, _>("role")).unwrap_or(Role::Worker);
    let township: Option<String> = row.get("township");
    let villages: Vec<String> = match role {
        Role::Worker => sqlx::query(
            "SELECT village_id FROM user_villages WHERE user_id = $1 ORDER BY village_id",
        )
        .bind(id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect(),
        Role::Officer => sqlx::query("SELECT id FROM villages WHERE township = $1 ORDER BY id")
            .bind(township.clone().unwrap_or_default())
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        Role::Admin => sqlx::query("SELECT id FROM villages ORDER BY id")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    Ok(Some(User {
        id: row.get("id"),
        username: row.get("username"),
        role,
        township,
        villages,
    }))
}

/// The signed-in user of a request (`Authorization: Bearer <token>`), with
/// the token's hash for logout. Rejects with 401 when the token is missing,
/// unknown (forged), revoked or expired, or its user is disabled.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The stored hash of the token used.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized(
                "sign in first: no session token was sent",
            ))?;
        let hash = token_hash(token);
        let row =
            sqlx::query("SELECT user_id, expires_ms, revoked FROM sessions WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(&state.db.pool)
                .await?
                .ok_or(ApiError::Unauthorized(
                    "the session is not known: sign in again",
                ))?;
        if row.get::<i64, _>("revoked") != 0 {
            return Err(ApiError::Unauthorized(
                "the session was ended: sign in again",
            ));
        }
        if row.get::<i64, _>("expires_ms") <= state.now_ms() as i64 {
            return Err(ApiError::Unauthorized(
                "the session has expired: sign in again",
            ));
        }
        let user_id: String = row.get("user_id");
        let user = load_user(&state.db, &user_id)
            .await?
            .ok_or(ApiError::Unauthorized("the account is disabled"))?;
        Ok(Session {
            user,
            token_hash: hash,
        })
    }
}

/// Login attempts per key (an address or a username) in a sliding window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<u64>>>,
}

/// How long failed logins are remembered.
pub const LOGIN_WINDOW_MS: u64 = 15 * 60 * 1000;
/// Failed logins allowed per username within the window.
pub const MAX_FAILURES_PER_USER: usize = 5;
/// Failed logins allowed per address within the window.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

impl LoginLimiter {
    /// `Err(seconds to wait)` when `key` has used up `max` failures.
    pub fn check(&self, key: &str, max: usize, now_ms: u64) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        times.retain(|t| now_ms.saturating_sub(*t) < LOGIN_WINDOW_MS);
        if times.len() >= max {
            let oldest = times.first().copied().unwrap_or(now_ms);
            let wait_ms = LOGIN_WINDOW_MS.saturating_sub(now_ms.saturating_sub(oldest));
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        Ok(())
    }

    /// Notes a failed login for `key`.
    pub fn fail(&self, key: &str, now_ms: u64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the map bounded: forget stale keys now and then.
        if map.len() > 10_000 {
            map.retain(|_, times| {
                times
                    .iter()
                    .any(|t| now_ms.saturating_sub(*t) < LOGIN_WINDOW_MS)
            });
        }
        map.entry(key.to_string()).or_default().push(now_ms);
    }

    /// Takes back `key`'s latest attempt (it was a good login).
    pub fn forgive(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(times) = map.get_mut(key) {
            times.pop();
        }
    }

    /// Forgets `key`'s failures (after a good login).
    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    /// What the argon2 crate's own verifier says.
    fn crate_says(password: &str, hash: &str) -> bool {
        Argon2::default()
            .verify_password(password.as_bytes(), &PasswordHash::new(hash).unwrap())
            .is_ok()
    }

    #[test]
    fn verification_with_kept_memory_agrees_with_the_argon2_crate() {
        let ours = hash_password("correct horse").unwrap();
        // Other parameters, algorithm and version, a longer output, a
        // smaller and then a larger buffer than the pool holds.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1024, 3, 2, Some(48)).unwrap(),
        )
        .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        for hash in [&ours, &other, &ours] {
            for password in ["correct horse", "correct hors", "Correct horse", ""] {
                assert_eq!(
                    verify_password(password, hash),
                    crate_says(password, hash),
                    "{password:?} against {hash}"
                );
            }
            assert!(verify_password("correct horse", hash));
        }
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"
        ));
        assert!(!verify_password(
            "x",
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
        ));
    }
}

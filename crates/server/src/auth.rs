//! Who is asking: passwords (Argon2id), session tokens (random, kept only as
//! their SHA-256, revocable, ending after a time without use), roles and the
//! villages each user may reach, and the growing delays after failed
//! sign-ins.

use std::collections::{BTreeMap, HashMap};
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

/// The password rules (the core's, shared with the app): 8 to 256
/// characters, and not one of the most common passwords.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    fieldbook_core::passwords::check_new_password(password).map_err(|p| p.message())
}

/// The id of the user called `username`, if any.
pub async fn find_user_id(db: &Db, username: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.get(0)))
}

/// Every user's login name by id (for printing the audit log, which keeps
/// ids only).
pub async fn usernames(db: &Db) -> Result<HashMap<String, String>, sqlx::Error> {
    Ok(sqlx::query("SELECT id, username FROM users")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
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

/// How often a session's last use is written down: at most once an hour,
/// so that a request does not cost a database write. A session therefore
/// ends between its idle time and an hour less after its last use.
pub const LAST_USE_RESOLUTION_MS: u64 = 60 * 60 * 1000;

/// The signed-in user of a request (`Authorization: Bearer <token>`), with
/// the token's hash for logout. Rejects with 401 when the token is missing,
/// unknown (forged), revoked or expired (unused for the idle time), or its
/// user is disabled; with 403 `password_change_required` while an
/// administrator's reset waits for the user's own password (see
/// [`PasswordChangeSession`] for the routes that still work then).
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The stored hash of the token used.
    pub token_hash: String,
}

/// A session that may be one whose user must change her password first:
/// for `POST /api/v1/password` and logout.
#[derive(Clone, Debug)]
pub struct PasswordChangeSession {
    /// The session.
    pub session: Session,
    /// Whether the user must choose a new password.
    pub must_change_password: bool,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let found = PasswordChangeSession::from_request_parts(parts, state).await?;
        if found.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(found.session)
    }
}

impl FromRequestParts<AppState> for PasswordChangeSession {
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
        let row = sqlx::query(
            "SELECT s.user_id, s.expires_ms, s.revoked, s.created_ms, s.last_used_ms, \
             u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
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
        let now = state.now_ms();
        // A row written without its last use (0) was last used when made.
        let last_used = row
            .get::<i64, _>("last_used_ms")
            .max(row.get::<i64, _>("created_ms"))
            .max(0) as u64;
        if row.get::<i64, _>("expires_ms") <= now as i64
            || last_used.saturating_add(state.session_ttl_ms) <= now
        {
            return Err(ApiError::Unauthorized(
                "the session has expired: sign in again",
            ));
        }
        let user_id: String = row.get("user_id");
        let user = load_user(&state.db, &user_id)
            .await?
            .ok_or(ApiError::Unauthorized("the account is disabled"))?;
        if let Some(note) = parts.extensions.get::<crate::audit::AuditNote>() {
            note.set_user(&user.id);
        }
        if now.saturating_sub(last_used) >= LAST_USE_RESOLUTION_MS {
            sqlx::query(
                "UPDATE sessions SET last_used_ms = $1, expires_ms = $2 WHERE token_hash = $3",
            )
            .bind(now as i64)
            .bind(now.saturating_add(state.session_ttl_ms) as i64)
            .bind(&hash)
            .execute(&state.db.pool)
            .await?;
        }
        Ok(PasswordChangeSession {
            session: Session {
                user,
                token_hash: hash,
            },
            must_change_password: row.get::<i64, _>("must_change_password") != 0,
        })
    }
}

/// Deletes the sessions that have ended: logged out or revoked, past their
/// end, or unused for `idle_ms`. Returns how many. The server runs it at
/// start and every hour.
pub async fn delete_ended_sessions(db: &Db, now_ms: u64, idle_ms: u64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE revoked <> 0 OR expires_ms <= $1 \
         OR (last_used_ms <= $2 AND created_ms <= $2)",
    )
    .bind(now_ms as i64)
    .bind(now_ms.saturating_sub(idle_ms) as i64)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Failed sign-ins per key, with growing delays. Two keys count each
/// attempt: the client's address, and the username at that address. A key
/// may fail a few times freely ([`FREE_FAILURES_PER_USER_AND_ADDRESS`],
/// [`FREE_FAILURES_PER_ADDRESS`]); after that each further attempt must
/// wait [`FIRST_DELAY_MS`] after the last failure, doubling with each
/// failure up to [`MAX_DELAY_MS`]. A key without a failure for
/// [`FORGET_AFTER_MS`] is forgotten.
///
/// Nothing is keyed by the username alone, so a stranger's guesses slow
/// down only the stranger's address: the right password from an address
/// that has not been failing is never refused.
///
/// The memory is capped: at most `capacity` keys; when a new key would
/// exceed it, the key whose last failure is oldest is dropped.
#[derive(Debug)]
pub struct LoginLimiter {
    capacity: usize,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    keys: HashMap<String, Failures>,
    /// Each key by its last touch, oldest first.
    by_age: BTreeMap<u64, String>,
    next_stamp: u64,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: u64,
    stamp: u64,
}

/// Failed sign-ins one username may make from one address before delays.
pub const FREE_FAILURES_PER_USER_AND_ADDRESS: u32 = 5;
/// Failed sign-ins one address may make (over all usernames) before delays.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The first delay.
pub const FIRST_DELAY_MS: u64 = 1_000;
/// The longest delay: 15 minutes.
pub const MAX_DELAY_MS: u64 = 15 * 60 * 1000;
/// A key with no failure for a day is forgotten.
pub const FORGET_AFTER_MS: u64 = 24 * 60 * 60 * 1000;
/// The default cap on the limiter's keys (a key is at most ~120 bytes: a
/// few MB at most).
pub const DEFAULT_LIMITER_KEYS: usize = 50_000;

/// The limiter's keys for an attempt at `username` from `address`.
pub fn limiter_keys(username: &str, address: &str) -> [(String, u32); 2] {
    [
        (format!("addr:{address}"), FREE_FAILURES_PER_ADDRESS),
        (
            format!("user:{}@{address}", username.to_lowercase()),
            FREE_FAILURES_PER_USER_AND_ADDRESS,
        ),
    ]
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::with_capacity(DEFAULT_LIMITER_KEYS)
    }
}

impl LoginLimiter {
    /// A limiter that keeps at most `capacity` keys (at least 1).
    pub fn with_capacity(capacity: usize) -> LoginLimiter {
        LoginLimiter {
            capacity: capacity.max(1),
            state: Mutex::default(),
        }
    }

    /// How long `key` must still wait, in ms (0: it may try now).
    fn wait_ms(failures: Option<&Failures>, free: u32, now_ms: u64) -> u64 {
        let Some(f) = failures else { return 0 };
        if now_ms.saturating_sub(f.last_ms) >= FORGET_AFTER_MS || f.count < free {
            return 0;
        }
        let doublings = (f.count - free).min(30);
        let delay = FIRST_DELAY_MS
            .saturating_mul(1 << doublings)
            .min(MAX_DELAY_MS);
        (f.last_ms + delay).saturating_sub(now_ms)
    }

    /// One attempt on `keys` (each with its free failures): `Err((seconds
    /// to wait, the key's index))` if any key must still wait (nothing is
    /// counted then), otherwise every key counts a failure now — before the
    /// (slow) password check, so that attempts sent all at once cannot slip
    /// past together; a good password takes it back ([`Self::succeeded`]).
    pub fn attempt(&self, keys: &[(String, u32)], now_ms: u64) -> Result<(), (u64, usize)> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for (i, (key, free)) in keys.iter().enumerate() {
            let wait = Self::wait_ms(state.keys.get(key), *free, now_ms);
            if wait > 0 {
                return Err((wait.div_ceil(1000).max(1), i));
            }
        }
        for (key, _) in keys {
            state.fail(key, now_ms, self.capacity);
        }
        Ok(())
    }

    /// Notes a failed attempt on `key` (without checking it).
    pub fn fail(&self, key: &str, now_ms: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.fail(key, now_ms, self.capacity);
    }

    /// A good password: the username-at-address key is cleared, and the
    /// address's count takes back this attempt.
    pub fn succeeded(&self, user_key: &str, address_key: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = state.keys.remove(user_key) {
            state.by_age.remove(&f.stamp);
        }
        if let Some(f) = state.keys.get_mut(address_key) {
            f.count = f.count.saturating_sub(1);
        }
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is kept.
    pub fn holds(&self, key: &str) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .contains_key(key)
    }
}

impl LimiterState {
    fn fail(&mut self, key: &str, now_ms: u64, capacity: usize) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        let entry = match self.keys.get(key) {
            Some(old) => {
                self.by_age.remove(&old.stamp);
                let count = if now_ms.saturating_sub(old.last_ms) >= FORGET_AFTER_MS {
                    1
                } else {
                    old.count.saturating_add(1)
                };
                Failures {
                    count,
                    last_ms: now_ms,
                    stamp,
                }
            }
            None => Failures {
                count: 1,
                last_ms: now_ms,
                stamp,
            },
        };
        self.keys.insert(key.to_string(), entry);
        self.by_age.insert(stamp, key.to_string());
        while self.keys.len() > capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.keys.remove(&oldest);
        }
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
    fn delays_grow_per_key_and_a_success_clears_the_users_key() {
        let limiter = LoginLimiter::default();
        let keys = limiter_keys("Wang", "10.0.0.1");
        let mut now = 1_000_000;
        for _ in 0..FREE_FAILURES_PER_USER_AND_ADDRESS {
            assert_eq!(limiter.attempt(&keys, now), Ok(()));
        }
        // 1 s, then 2 s, 4 s …
        for wait in [1, 2, 4, 8] {
            assert_eq!(limiter.attempt(&keys, now), Err((wait, 1)));
            now += wait * 1000 - 1;
            assert_eq!(limiter.attempt(&keys, now), Err((1, 1)));
            now += 1;
            assert_eq!(limiter.attempt(&keys, now), Ok(()));
        }
        // Another user from the same address, or wang elsewhere: free.
        assert_eq!(
            limiter.attempt(&limiter_keys("li", "10.0.0.1"), now),
            Ok(())
        );
        assert_eq!(
            limiter.attempt(&limiter_keys("wang", "10.0.0.2"), now),
            Ok(())
        );
        // The cap: 15 minutes.
        for _ in 0..20 {
            limiter.fail(&keys[1].0, now);
        }
        assert_eq!(limiter.attempt(&keys, now), Err((MAX_DELAY_MS / 1000, 1)));
        limiter.succeeded(&keys[1].0, &keys[0].0);
        assert_eq!(limiter.attempt(&keys, now), Ok(()));
    }

    #[test]
    fn the_limiter_keeps_at_most_its_capacity_dropping_the_oldest() {
        let limiter = LoginLimiter::with_capacity(3);
        for (i, key) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            limiter.fail(key, i as u64);
            assert!(limiter.len() <= 3);
        }
        assert!(!limiter.holds("a") && !limiter.holds("b"));
        assert!(limiter.holds("c") && limiter.holds("d") && limiter.holds("e"));
        // A key failing again becomes the newest.
        limiter.fail("c", 10);
        limiter.fail("f", 11);
        assert!(limiter.holds("c") && !limiter.holds("d"));
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

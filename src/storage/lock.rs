//! The on-device lock, the store's side: turning it on (sealing every value
//! that holds personal data) and off, unlocking with the PIN or the
//! server's recovery secret, changing the PIN, and locking.
//!
//! `meta["lock"]` ([`LockInfo`]) says which mode the database is in; with
//! no entry the lock is off. A change of mode rewrites each store in chunks
//! of [`BULK_RECORDS_PER_TRANSACTION`] values, each chunk ONE transaction
//! that reads the values and rewrites those still in the old form (sealing
//! is synchronous Rust, so it happens between the transaction's requests).
//! So a change of mode interrupted by a closed tab is **resumable**: the
//! mode stays `sealing` (or `unsealing`) and [`Store::finish_lock_change`],
//! run after the next unlock, goes on where it stopped; every value is
//! readable in either form meanwhile, and new writes take the new form.
//!
//! Wrong PINs are counted in `localStorage` (`fieldbook.lock.tries.<db>`)
//! before the key is derived, so a reload in the middle counts too; after
//! [`seal::FREE_ATTEMPTS`] the next attempt waits 30 s, doubling.

use std::rc::Rc;

use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use super::idb::{self, Mode, Tx};
use super::schema::{CONFLICTS, LOCK_KEY, META, OUTBOX, RECORD_STORES, STATES};
use super::seal::{
    self, Attempts, DataKey, KDF_ITERATIONS, KDF_NAME, LockInfo, LockMode, PinProblem,
};
use super::{
    BULK_RECORDS_PER_TRANSACTION, CHANGE_KEY_PATH, RECORD_KEY_PATH, StorageError, Store, finish,
    plain_from_js, plain_js, today_key,
};

/// `localStorage`: whether database `name` has the lock on (read before the
/// database opens: no Today list is kept or shown then).
fn flag_key(name: &str) -> String {
    format!("fieldbook.lock.{name}")
}

/// `localStorage`: the wrong-PIN count of database `name`.
fn attempts_key(name: &str) -> String {
    format!("fieldbook.lock.tries.{name}")
}

/// Whether database `name` was last seen with the lock on.
pub(crate) fn lock_flag(name: &str) -> bool {
    <LocalStorage as Storage>::get::<bool>(flag_key(name)).unwrap_or(false)
}

pub(crate) fn set_lock_flag(name: &str, on: bool) {
    if on {
        let _ = <LocalStorage as Storage>::set(flag_key(name), true);
    } else {
        <LocalStorage as Storage>::delete(flag_key(name));
    }
}

/// Forgets the lock's `localStorage` entries (the database is deleted).
pub(crate) fn forget_local(name: &str) {
    <LocalStorage as Storage>::delete(flag_key(name));
    <LocalStorage as Storage>::delete(attempts_key(name));
}

fn save_attempts(name: &str, attempts: Attempts) {
    if attempts == Attempts::default() {
        <LocalStorage as Storage>::delete(attempts_key(name));
    } else {
        let _ = <LocalStorage as Storage>::set(attempts_key(name), attempts);
    }
}

/// `meta["lock"]`, if the lock is on (or being turned on or off).
pub(crate) async fn read_lock_info(db: &IdbDatabase) -> Result<Option<LockInfo>, StorageError> {
    let tx = Tx::begin(db, &[META], Mode::Read)?;
    let body = async {
        let stored = idb::request(tx.store(META)?.get(&JsValue::from_str(LOCK_KEY))?).await?;
        if stored.is_undefined() {
            return Ok(None);
        }
        plain_from_js(&stored).map(Some)
    }
    .await;
    finish(tx, body).await
}

/// What the server keeps so that a forgotten PIN can be recovered: its
/// secret for this (user, device), and where and whose it is.
#[derive(Clone)]
pub struct Recovery {
    /// The server's recovery secret (never stored on the phone).
    pub secret: [u8; 32],
    /// The server's address.
    pub server: String,
    /// The account it belongs to.
    pub username: String,
}

/// Why a lock operation was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum LockError {
    /// The PIN is wrong; `wait_ms` before the next attempt (0: none).
    WrongPin {
        /// Milliseconds before another attempt is taken.
        wait_ms: f64,
    },
    /// Too many wrong PINs: no attempt for this many more milliseconds.
    TryLater(f64),
    /// The new PIN breaks the rule.
    PinRule(PinProblem),
    /// The lock is not on (or already on, for turning it on).
    WrongMode,
    /// The lock was set without a recovery key, or the secret does not
    /// open it.
    NoRecovery,
    /// The store failed.
    Storage(StorageError),
}

impl From<StorageError> for LockError {
    fn from(e: StorageError) -> Self {
        LockError::Storage(e)
    }
}

impl From<JsValue> for LockError {
    fn from(e: JsValue) -> Self {
        LockError::Storage(StorageError::from_js(&e))
    }
}

impl Store {
    /// `meta["lock"]` as this store knows it; `None`: the lock is off.
    pub fn lock_info(&self) -> Option<LockInfo> {
        self.lock.borrow().info.clone()
    }

    /// Whether the lock is on and the data key is not in memory: nothing can
    /// be read or written.
    pub fn is_locked(&self) -> bool {
        let lock = self.lock.borrow();
        lock.info.is_some() && lock.key.is_none()
    }

    /// Locks: drops the data key (zeroized as it is dropped). The caller
    /// drops the records it holds in memory.
    pub fn lock(&self) {
        self.lock.borrow_mut().key = None;
    }

    /// Wrong PINs so far and when the next attempt may be made.
    pub fn attempts(&self) -> Attempts {
        <LocalStorage as Storage>::get(attempts_key(&self.name)).unwrap_or_default()
    }

    /// Unlocks with `pin`: derives the PIN key (WebCrypto PBKDF2, outside
    /// any transaction) and unwraps the data key. A wrong PIN is counted
    /// before the derivation; after five the next attempt waits. `now_ms`:
    /// the phone's clock. Call [`finish_lock_change`](Store::finish_lock_change)
    /// next (it does nothing unless a change of mode was interrupted).
    pub async fn unlock(&self, pin: &str, now_ms: f64) -> Result<(), LockError> {
        let info = self.lock_info().ok_or(LockError::WrongMode)?;
        let mut attempts = self.attempts();
        if now_ms < attempts.not_before_ms {
            return Err(LockError::TryLater(attempts.not_before_ms - now_ms));
        }
        attempts.failures += 1;
        let wait_ms = seal::wait_after(attempts.failures);
        attempts.not_before_ms = now_ms + wait_ms;
        save_attempts(&self.name, attempts);
        let pin_key = seal::derive_pin_key(pin, &info.salt, info.iterations).await?;
        let key =
            DataKey::unwrap(&pin_key, &info.by_pin).map_err(|_| LockError::WrongPin { wait_ms })?;
        save_attempts(&self.name, Attempts::default());
        self.lock.borrow_mut().key = Some(Rc::new(key));
        Ok(())
    }

    /// Unlocks with the server's recovery secret (a forgotten PIN, after
    /// signing in). Set a new PIN next with [`change_pin`](Store::change_pin).
    pub fn unlock_with_recovery(&self, secret: &[u8; 32]) -> Result<(), LockError> {
        let info = self.lock_info().ok_or(LockError::WrongMode)?;
        let wrapped = info.by_recovery.ok_or(LockError::NoRecovery)?;
        let key = DataKey::unwrap(secret, &wrapped).map_err(|_| LockError::NoRecovery)?;
        save_attempts(&self.name, Attempts::default());
        self.lock.borrow_mut().key = Some(Rc::new(key));
        Ok(())
    }

    /// Turns the lock on: a new random data key, wrapped by the key derived
    /// from `pin` and (when given) by the server's recovery secret; then
    /// every value holding personal data is sealed, `progress(n)` told how
    /// many so far. Resumable (see the module's documentation).
    pub async fn enable_lock(
        &self,
        pin: &str,
        recovery: Option<Recovery>,
        progress: &dyn Fn(usize),
    ) -> Result<(), LockError> {
        seal::check_pin(pin).map_err(LockError::PinRule)?;
        if self.lock_info().is_some() {
            return Err(LockError::WrongMode);
        }
        let key = DataKey::from_bytes(seal::random_bytes::<32>()?);
        let salt = seal::random_bytes::<{ seal::SALT_LEN }>()?;
        let pin_key = seal::derive_pin_key(pin, &salt, KDF_ITERATIONS).await?;
        let info = LockInfo {
            mode: LockMode::Sealing,
            kdf: KDF_NAME.to_string(),
            iterations: KDF_ITERATIONS,
            salt: salt.to_vec(),
            by_pin: key.wrap(&pin_key, self.nonce()?),
            by_recovery: match &recovery {
                Some(r) => Some(key.wrap(&r.secret, self.nonce()?)),
                None => None,
            },
            server: recovery.as_ref().map(|r| r.server.clone()),
            username: recovery.as_ref().map(|r| r.username.clone()),
        };
        self.write_lock_info(Some(&info)).await?;
        {
            let mut lock = self.lock.borrow_mut();
            lock.info = Some(info);
            lock.key = Some(Rc::new(key));
        }
        set_lock_flag(&self.name, true);
        <LocalStorage as Storage>::delete(today_key(&self.name));
        self.finish_lock_change(progress).await?;
        Ok(())
    }

    /// Turns the lock off (the phone unlocked, `pin` asked again): every
    /// sealed value is opened back to plaintext, then `meta["lock"]` is
    /// dropped. Resumable like turning it on.
    pub async fn disable_lock(&self, pin: &str, progress: &dyn Fn(usize)) -> Result<(), LockError> {
        let mut info = self.lock_info().ok_or(LockError::WrongMode)?;
        self.check_pin_again(pin, &info).await?;
        info.mode = LockMode::Unsealing;
        self.write_lock_info(Some(&info)).await?;
        self.lock.borrow_mut().info = Some(info);
        self.finish_lock_change(progress).await?;
        Ok(())
    }

    /// Sets a new PIN (the phone unlocked): the data key wrapped again under
    /// the new PIN's key, with a new salt. The records are not touched.
    pub async fn change_pin(&self, new_pin: &str) -> Result<(), LockError> {
        seal::check_pin(new_pin).map_err(LockError::PinRule)?;
        let mut info = self.lock_info().ok_or(LockError::WrongMode)?;
        let key = self.lock.borrow().key.clone().ok_or(StorageError::Locked)?;
        let salt = seal::random_bytes::<{ seal::SALT_LEN }>()?;
        let pin_key = seal::derive_pin_key(new_pin, &salt, KDF_ITERATIONS).await?;
        info.salt = salt.to_vec();
        info.iterations = KDF_ITERATIONS;
        info.kdf = KDF_NAME.to_string();
        info.by_pin = key.wrap(&pin_key, self.nonce()?);
        self.write_lock_info(Some(&info)).await?;
        self.lock.borrow_mut().info = Some(info);
        save_attempts(&self.name, Attempts::default());
        Ok(())
    }

    /// Checks `pin` against the lock without changing anything but the
    /// wrong-PIN count (turning the lock off asks for it again).
    async fn check_pin_again(&self, pin: &str, info: &LockInfo) -> Result<(), LockError> {
        let pin_key = seal::derive_pin_key(pin, &info.salt, info.iterations).await?;
        DataKey::unwrap(&pin_key, &info.by_pin)
            .map(drop)
            .map_err(|_| LockError::WrongPin { wait_ms: 0.0 })
    }

    /// Completes a change of mode left `sealing` or `unsealing` (by
    /// [`enable_lock`](Store::enable_lock), [`disable_lock`](Store::disable_lock)
    /// or a tab closed in the middle of one). Needs the phone unlocked.
    pub async fn finish_lock_change(&self, progress: &dyn Fn(usize)) -> Result<(), StorageError> {
        let Some(mut info) = self.lock_info() else {
            return Ok(());
        };
        if info.mode == LockMode::On {
            return Ok(());
        }
        if self.is_locked() {
            return Err(StorageError::Locked);
        }
        let mut done = 0;
        for name in RECORD_STORES {
            self.reseal_store(name, Some(RECORD_KEY_PATH), &mut done, progress)
                .await?;
        }
        self.reseal_store(OUTBOX, Some(CHANGE_KEY_PATH), &mut done, progress)
            .await?;
        self.reseal_store(STATES, None, &mut done, progress).await?;
        self.reseal_store(CONFLICTS, None, &mut done, progress)
            .await?;
        if info.mode == LockMode::Sealing {
            info.mode = LockMode::On;
            self.write_lock_info(Some(&info)).await?;
            self.lock.borrow_mut().info = Some(info);
        } else {
            self.write_lock_info(None).await?;
            let mut lock = self.lock.borrow_mut();
            lock.info = None;
            lock.key = None;
            set_lock_flag(&self.name, false);
        }
        Ok(())
    }

    /// Rewrites the values of store `name` that are not in the form new
    /// writes take (sealed or plain), a chunk per transaction, in key
    /// order. `in_line`: the store's key path fields (kept plaintext when
    /// sealed); `None` for out-of-line keys.
    async fn reseal_store(
        &self,
        name: &str,
        in_line: Option<&[&str]>,
        done: &mut usize,
        progress: &dyn Fn(usize),
    ) -> Result<(), StorageError> {
        let chunk = BULK_RECORDS_PER_TRANSACTION as u32;
        let mut after: Option<JsValue> = None;
        loop {
            let tx = Tx::begin(&self.db, &[name], Mode::WriteBulk)?;
            let body = async {
                let store = tx.store(name)?;
                let range: JsValue = match &after {
                    Some(key) => web_sys::IdbKeyRange::lower_bound_with_open(key, true)?.into(),
                    None => JsValue::UNDEFINED,
                };
                let keys = idb::request(store.get_all_keys_with_key_and_limit(&range, chunk)?);
                let values = idb::request(store.get_all_with_key_and_limit(&range, chunk)?);
                let keys: js_sys::Array = keys.await?.dyn_into()?;
                let values: js_sys::Array = values.await?.dyn_into()?;
                let seal_with = self.write_key()?;
                let mut rewritten = 0;
                for i in 0..values.length() {
                    let value = values.get(i);
                    if Store::is_sealed(&value) == seal_with.is_some() {
                        continue;
                    }
                    // Text to text: the value comes back exactly as it was.
                    let text = self.json_text(&value)?;
                    let new = match &seal_with {
                        Some(key) => {
                            let mut kept = Vec::new();
                            for field in in_line.unwrap_or_default() {
                                let v = js_sys::Reflect::get(&value, &JsValue::from_str(field))?;
                                kept.push((*field, v));
                            }
                            self.sealed_object(key, &text, kept)?
                        }
                        None => js_sys::JSON::parse(
                            std::str::from_utf8(&text).map_err(StorageError::other)?,
                        )?,
                    };
                    match in_line {
                        Some(_) => store.put(&new)?,
                        None => store.put_with_key(&new, &keys.get(i))?,
                    };
                    rewritten += 1;
                }
                let last = (keys.length() > 0).then(|| keys.get(keys.length() - 1));
                Ok((values.length(), last, rewritten))
            }
            .await;
            let (read, last, rewritten) = finish(tx, body).await?;
            *done += rewritten;
            progress(*done);
            if read < chunk {
                return Ok(());
            }
            after = last;
        }
    }

    /// Writes (or with `None` deletes) `meta["lock"]`, durably.
    async fn write_lock_info(&self, info: Option<&LockInfo>) -> Result<(), StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::WriteStrict)?;
        let body = (|| -> Result<(), StorageError> {
            let meta = tx.store(META)?;
            let key = JsValue::from_str(LOCK_KEY);
            match info {
                Some(info) => meta.put_with_key(&plain_js(info)?, &key)?,
                None => meta.delete(&key)?,
            };
            Ok(())
        })();
        finish(tx, body).await
    }

    /// `text` sealed under the data key (the session token kept in
    /// `localStorage` while the lock is on).
    pub fn seal_text(&self, text: &str) -> Result<Vec<u8>, StorageError> {
        let key = self.lock.borrow().key.clone().ok_or(StorageError::Locked)?;
        Ok(key.seal(self.nonce()?, text.as_bytes(), b"text"))
    }

    /// What [`seal_text`](Store::seal_text) sealed.
    pub fn open_text(&self, sealed: &[u8]) -> Result<String, StorageError> {
        let key = self.lock.borrow().key.clone().ok_or(StorageError::Locked)?;
        let bytes = key
            .open(sealed, b"text")
            .map_err(|_| StorageError::other("sealed text does not open"))?;
        String::from_utf8(bytes).map_err(StorageError::other)
    }
}

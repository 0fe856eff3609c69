//! The on-device lock, the app's side: unlocking at start and after idle
//! time, turning the lock on and off, changing the PIN, recovering a
//! forgotten PIN through the server, and the idle watcher.
//!
//! Locking drops the data key (zeroized) and every record held in memory;
//! the session token is kept sealed in `localStorage` while the lock is on
//! (`fieldbook.session.sealed`), so a stolen phone's token cannot pull the
//! village from the server either.

use std::cell::Cell;
use std::rc::Rc;

use fieldbook_core::records::Records;
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;

use crate::i18n::{self, Key};
use crate::state::{AppState, LoadStatus};
use crate::storage::{LockError, Recovery, StorageError, Store};
use crate::sync::{Session, SyncError};

/// `localStorage`: the session, sealed under the data key, while the lock is
/// on.
const SEALED_SESSION_KEY: &str = "fieldbook.session.sealed";

/// `localStorage`: seconds without input before the app locks itself.
pub const IDLE_KEY: &str = "fieldbook.lock.idle_seconds";
/// The default idle time: five minutes.
pub const DEFAULT_IDLE_SECONDS: u32 = 300;

/// The idle time chosen in 设置 (seconds).
pub fn idle_seconds() -> u32 {
    LocalStorage::get::<u32>(IDLE_KEY)
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_IDLE_SECONDS)
}

/// Keeps the idle time.
pub fn set_idle_seconds(seconds: u32) {
    let _ = LocalStorage::set(IDLE_KEY, seconds);
}

/// A lock operation's failure, for the worker, in Chinese and English.
pub fn lock_message(error: &LockError) -> (String, String) {
    let (zh, en) = match error {
        LockError::WrongPin { wait_ms } if *wait_ms > 0.0 => return wait_message(*wait_ms, true),
        LockError::WrongPin { .. } => i18n::both(Key::LockWrongPin),
        LockError::TryLater(ms) => return wait_message(*ms, false),
        LockError::PinRule(_) => i18n::both(Key::LockPinTooShort),
        LockError::WrongMode | LockError::NoRecovery => i18n::both(Key::LockRecoveryMissing),
        LockError::Storage(e) => (e.zh(), e.en()),
    };
    (zh.to_string(), en.to_string())
}

/// "Too many wrong PINs. Wait N seconds", after "Wrong PIN." when `wrong`.
fn wait_message(ms: f64, wrong: bool) -> (String, String) {
    let seconds = (ms / 1000.0).ceil() as u64;
    let (zh_wrong, en_wrong) = if wrong {
        i18n::both(Key::LockWrongPin)
    } else {
        ("", "")
    };
    let (zh_b, en_b) = i18n::both(Key::LockWaitBefore);
    let (zh_a, en_a) = i18n::both(Key::LockWaitAfter);
    (
        format!("{zh_wrong}{zh_b} {seconds} {zh_a}"),
        format!("{en_wrong} {en_b} {seconds} {en_a}")
            .trim()
            .to_string(),
    )
}

/// Why a recovery did not work.
#[derive(Clone, Debug, PartialEq)]
pub enum RecoverError {
    /// Signing in or asking for the secret failed.
    Sync(SyncError),
    /// The secret did not open the data key.
    Lock(LockError),
}

impl RecoverError {
    /// The message, Chinese and English.
    pub fn both(&self) -> (String, String) {
        let (zh, en) = match self {
            RecoverError::Sync(e) => e.both(),
            RecoverError::Lock(e) => lock_message(e),
        };
        let (pre_zh, pre_en) = i18n::both(Key::LockRecoverFailed);
        (format!("{pre_zh}{zh}"), format!("{pre_en}{en}"))
    }
}

impl AppState {
    /// Whether the lock is on (whether or not the phone is unlocked now).
    pub fn lock_is_on(&self) -> bool {
        self.store().is_ok_and(|s| s.lock_info().is_some())
    }

    /// Where the lock's recovery secret is kept: (server, username).
    pub fn lock_recovery_account(&self) -> Option<(String, String)> {
        let info = self.store().ok()?.lock_info()?;
        info.by_recovery.as_ref()?;
        Some((info.server?, info.username?))
    }

    /// Unlocks with `pin` and reads the records.
    pub async fn unlock(&self, pin: &str) -> Result<(), LockError> {
        let store = self.store()?;
        store.unlock(pin, js_sys::Date::now()).await?;
        self.after_unlock(&store).await?;
        Ok(())
    }

    /// After the data key is back: completes an interrupted change of mode,
    /// opens the sealed session, reads the records.
    async fn after_unlock(&self, store: &Store) -> Result<(), StorageError> {
        store.finish_lock_change(&|_| {}).await?;
        self.open_sealed_session(store);
        // Every record but the visits now, the visits in the background,
        // as at a cold start.
        self.read_records(store).await?;
        self.lock_version.update(|n| *n += 1);
        Ok(())
    }

    /// Locks now: drops the data key and every record in memory, and the
    /// session (kept sealed). Does nothing with the lock off.
    pub fn lock_now(&self) {
        let Ok(store) = self.store() else { return };
        if store.lock_info().is_none() {
            return;
        }
        store.lock();
        // Every record leaves memory; a background read under way stops.
        self.reset(Records::default(), false);
        self.kept_today.set(None);
        self.session.set(None);
        self.lock_version.update(|n| *n += 1);
        self.status.set(LoadStatus::Locked);
    }

    /// Turns the lock on with `pin`. Signed in, the account `password`
    /// fetches the server's recovery secret first (so this needs the
    /// network); not signed in, the lock has no recovery.
    pub async fn enable_lock(
        &self,
        pin: &str,
        password: &str,
        progress: impl Fn(usize) + 'static,
    ) -> Result<(), RecoverError> {
        let store = self.store().map_err(|e| RecoverError::Lock(e.into()))?;
        crate::storage::seal::check_pin(pin)
            .map_err(|p| RecoverError::Lock(LockError::PinRule(p)))?;
        let recovery = match self.session.get_untracked() {
            Some(session) => Some(self.recovery(&session, &store, password).await?),
            None => None,
        };
        store
            .enable_lock(pin, recovery, &progress)
            .await
            .map_err(RecoverError::Lock)?;
        self.seal_session(&store);
        self.keep_today_dropped();
        self.lock_version.update(|n| *n += 1);
        Ok(())
    }

    /// The server's recovery secret for this phone.
    async fn recovery(
        &self,
        session: &Session,
        store: &Store,
        password: &str,
    ) -> Result<Recovery, RecoverError> {
        let answer = crate::sync::device_key(session, store.device_id().0, password)
            .await
            .map_err(RecoverError::Sync)?;
        let secret = crate::storage::seal::secret_from_hex(&answer.secret)
            .ok_or(RecoverError::Lock(LockError::NoRecovery))?;
        Ok(Recovery {
            secret,
            server: session.server.clone(),
            username: session.user.username.clone(),
        })
    }

    /// Turns the lock off (`pin` asked again): every record back to
    /// plaintext.
    pub async fn disable_lock(
        &self,
        pin: &str,
        progress: impl Fn(usize) + 'static,
    ) -> Result<(), LockError> {
        let store = self.store()?;
        store.disable_lock(pin, &progress).await?;
        if let Some(session) = self.session.get_untracked() {
            let _ = session.save();
        }
        LocalStorage::delete(SEALED_SESSION_KEY);
        self.lock_version.update(|n| *n += 1);
        Ok(())
    }

    /// A new PIN (the phone unlocked).
    pub async fn change_pin(&self, new_pin: &str) -> Result<(), LockError> {
        self.store()?.change_pin(new_pin).await?;
        self.lock_version.update(|n| *n += 1);
        Ok(())
    }

    /// A forgotten PIN: signs in at `server` with the account password,
    /// fetches the recovery secret and opens the data key with it. The
    /// caller then asks for a new PIN ([`finish_recovery`](AppState::finish_recovery)).
    pub async fn recover(
        &self,
        server: &str,
        username: &str,
        password: &str,
    ) -> Result<(), RecoverError> {
        let store = self.store().map_err(|e| RecoverError::Lock(e.into()))?;
        let session = crate::sync::login(server, username, password)
            .await
            .map_err(RecoverError::Sync)?;
        let recovery = self.recovery(&session, &store, password).await;
        let recovery = match recovery {
            Ok(r) => r,
            Err(e) => {
                // Not kept in plaintext while the phone stays locked.
                Session::forget();
                return Err(e);
            }
        };
        store
            .unlock_with_recovery(&recovery.secret)
            .map_err(RecoverError::Lock)?;
        self.session.set(Some(session));
        self.seal_session(&store);
        Ok(())
    }

    /// After [`recover`](AppState::recover): sets the new PIN and reads the
    /// records.
    pub async fn finish_recovery(&self, new_pin: &str) -> Result<(), LockError> {
        let store = self.store()?;
        store.change_pin(new_pin).await?;
        self.after_unlock(&store).await?;
        Ok(())
    }

    /// Keeps the in-memory session sealed in `localStorage`, not in
    /// plaintext (the lock on and the phone unlocked).
    pub fn seal_session(&self, store: &Store) {
        if store.lock_info().is_none() {
            return;
        }
        match self.session.get_untracked() {
            Some(session) => {
                let Ok(text) = serde_json::to_string(&session) else {
                    return;
                };
                if let Ok(sealed) = store.seal_text(&text) {
                    let _ = LocalStorage::set(SEALED_SESSION_KEY, sealed);
                    Session::forget();
                }
            }
            None => LocalStorage::delete(SEALED_SESSION_KEY),
        }
    }

    /// The sealed session, opened into memory after unlocking.
    fn open_sealed_session(&self, store: &Store) {
        let Ok(sealed) = LocalStorage::get::<Vec<u8>>(SEALED_SESSION_KEY) else {
            return;
        };
        if let Some(session) = store
            .open_text(&sealed)
            .ok()
            .and_then(|text| serde_json::from_str::<Session>(&text).ok())
        {
            self.session.set(Some(session));
        }
    }

    /// Signed out with the lock on: the sealed session goes too.
    pub fn forget_sealed_session() {
        LocalStorage::delete(SEALED_SESSION_KEY);
    }

    fn keep_today_dropped(&self) {
        self.kept_today.set(None);
    }

    /// Locks the app after [`idle_seconds`] without a tap, key or scroll,
    /// checked every second; never while a save or a lock operation runs.
    pub fn start_idle_lock(&self) {
        let state = *self;
        let last_input = Rc::new(Cell::new(js_sys::Date::now()));
        if let Some(window) = web_sys::window() {
            for event in [
                "pointerdown",
                "keydown",
                "touchstart",
                "input",
                "scroll",
                "wheel",
            ] {
                let last = Rc::clone(&last_input);
                let on_input = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
                    last.set(js_sys::Date::now());
                });
                let options = web_sys::AddEventListenerOptions::new();
                options.set_capture(true);
                options.set_passive(true);
                let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
                    event,
                    wasm_bindgen::JsCast::unchecked_ref(on_input.as_ref()),
                    &options,
                );
                on_input.forget();
            }
        }
        let tick = move || {
            let idle_ms = f64::from(idle_seconds()) * 1000.0;
            let now = js_sys::Date::now();
            if state.status.get_untracked() != LoadStatus::Ready
                || state.saving.get_untracked() > 0
                || state.lock_busy.get_untracked()
            {
                last_input.set(now);
                return;
            }
            if now - last_input.get() >= idle_ms && state.lock_is_on() {
                state.lock_now();
                last_input.set(now);
            }
        };
        let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
    }
}

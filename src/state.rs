//! The app's records as the pages see them: the core's indexed
//! [`Records`], held non-reactively ([`crate::live::Live`]) with
//! fine-grained triggers, and the ways to change them — [`AppState::save`]
//! (which writes the record and its outbox entry first and applies it in
//! memory only after the store has acknowledged the write), the demo
//! village, a backup import, a settled conflict and sync, each handing the
//! records it changed to [`AppState::apply`]. Nothing re-reads every record
//! after a change.
//!
//! Pages read through the accessors ([`AppState::with_household`],
//! [`AppState::with_list`], [`AppState::with_plans`],
//! [`AppState::with_all`], …), each subscribing to exactly what it shows.
//!
//! # Cold start
//! 1. The store opens (`fieldbook:store-open`); the Today list kept from
//!    the last run shows meanwhile.
//! 2. Every record but the visits is read in one transaction: the app is
//!    [`LoadStatus::Ready`] (`fieldbook:records-usable`): search, the
//!    household pages and every form work.
//! 3. The visits are read in the background, [`VISIT_CHUNK`] at a time,
//!    yielding to the event loop between chunks (`fieldbook:records-read`
//!    once all are in); what needs them (a person's history, the
//!    indicators, the registers, the visit form's context) says the
//!    history is still being read ([`AppState::history_ready`]).
//! 4. The Today index is built from every record, household by household
//!    with yields; the live Today list replaces the kept one
//!    (`fieldbook:today-live` at its first frame).

use chrono::NaiveDate;
use fieldbook_core::records::{AnyRecord, Records};
use fieldbook_core::rules::TodayList;
use fieldbook_core::{Dataset, Id, Village};
use leptos::prelude::*;

use crate::live::Live;
use crate::storage::{Record, StorageError, Store};
use crate::sync::{Progress, Session, SyncError, SyncRecord};

/// Where loading the records stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStatus {
    /// Opening the database and reading the records.
    Loading,
    /// Every record but the visits is in memory: every screen works; the
    /// visits may still be being read ([`AppState::history_ready`]).
    Ready,
    /// The store could not be opened; the message is for the worker.
    Failed(StorageError),
    /// The on-device lock is on and the phone locked: the lock screen
    /// asks for the PIN; no record is in memory.
    Locked,
}

/// The records and the store, shared through context.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Loading progress.
    pub status: RwSignal<LoadStatus>,
    /// Changes not yet synced.
    pub unsynced: RwSignal<usize>,
    /// Open conflicts kept on this phone.
    pub conflicts: RwSignal<usize>,
    /// The signed-in session, if any.
    pub session: RwSignal<Option<Session>>,
    /// Where sync stands.
    pub sync: RwSignal<SyncView>,
    /// Forms open now: no update reloads the app under one, and no
    /// background sync runs while one is saving.
    pub forms_open: RwSignal<u32>,
    /// Saves under way.
    pub saving: RwSignal<u32>,
    /// The Today list kept from the last run, while the records load.
    pub kept_today: RwSignal<Option<crate::pages::KeptToday>>,
    /// Bumped whenever the lock's state changes (on, off, locked, unlocked,
    /// new PIN): what shows the lock's state reads it.
    pub lock_version: RwSignal<u32>,
    /// A lock operation (turning it on or off) is running: no idle lock.
    pub lock_busy: RwSignal<bool>,
    store: StoredValue<Option<Store>, LocalStorage>,
    /// Every record in memory, with its Today index and triggers: read
    /// through the accessors, changed through [`AppState::apply`].
    live: StoredValue<Live, LocalStorage>,
    /// The live Today list; `None` until every record is read (the kept
    /// list shows meanwhile). Set only when it changed.
    today_list: RwSignal<Option<TodayList>>,
    /// Every visit is in memory (the background read is done).
    history: RwSignal<bool>,
    /// Bumped whenever the records are replaced as a whole (lock, erase,
    /// a new read): a background read of an older generation stops.
    generation: StoredValue<u64>,
}

/// What the pages show of sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncView {
    /// A step is running.
    pub running: bool,
    /// Its progress.
    pub progress: Progress,
    /// The last step's failure, in Chinese and English.
    pub error: Option<(String, String)>,
    /// The last good step, ms since the epoch (phone clock).
    pub last_ok_ms: Option<f64>,
    /// What the last good step did: (pushed, pulled).
    pub last_result: Option<(usize, usize)>,
    /// How far the phone's clock was from the server's, when far.
    pub clock_off_ms: Option<f64>,
    /// Failed steps in a row (for the background retry's backoff).
    pub failures: u32,
    /// Not before this time (ms) may the background try again.
    pub next_try_ms: f64,
}

/// How many visits one background read takes: a few hundred milliseconds
/// of decoding on a cheap phone at most, so input is never held up long.
pub const VISIT_CHUNK: u32 = 3_000;
/// How many households the Today index takes between two yields.
const TODAY_CHUNK: usize = 200;
/// Test hook (documented in `tests/e2e/coldstart.spec.ts`): a number of
/// milliseconds kept under this `localStorage` key is waited after each
/// chunk of the background read, so that a test can act before the read
/// ends. Unset on a worker's phone.
pub const HISTORY_DELAY_KEY: &str = "fieldbook.test.history-delay-ms";

impl AppState {
    /// The live village this phone serves (the first, if several).
    /// Subscribes to the villages.
    pub fn village(&self) -> Option<Village> {
        self.live.with_value(|l| {
            l.track_villages();
            l.records().first_village().cloned()
        })
    }

    /// `f` over the records, subscribed to household `id`: its record, its
    /// members and their visits.
    pub fn with_household<T>(&self, id: Id, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            l.track_household(id);
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to person `id` (through her
    /// household; to the list while she is unknown, so that she shows once
    /// she comes).
    pub fn with_person<T>(&self, id: Id, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            match l.records().person(id) {
                Some(p) => l.track_household(p.household_id),
                None => l.track_list(),
            }
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to visit `id` (through its
    /// household; to any change while it is unknown).
    pub fn with_visit<T>(&self, id: Id, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            match l.records().visit_any(id) {
                Some(v) => l.track_household(v.household_id),
                None => l.track_all(),
            }
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to the households list: any
    /// household or person (and the villages).
    pub fn with_list<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            l.track_list();
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to the villages.
    pub fn with_villages<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            l.track_villages();
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to the plans and their ticks.
    pub fn with_plans<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            l.track_plans();
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to any change: for computations
    /// over the whole village (indicators, registers).
    pub fn with_all<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| {
            l.track_all();
            f(l.records())
        })
    }

    /// `f` over the records, subscribed to nothing (event handlers).
    pub fn with_records<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        self.live.with_value(|l| f(l.records()))
    }

    /// Whether every visit is in memory (subscribes): until then a
    /// person's history, the indicators and the registers say they are
    /// still being read.
    pub fn history_ready(&self) -> bool {
        self.history.get()
    }

    /// `f` over the live Today list (subscribes); `None` until every
    /// record is read.
    pub fn with_today<T>(&self, f: impl FnOnce(&Option<TodayList>) -> T) -> T {
        self.today_list.with(f)
    }

    /// Builds the Today list again when the day has changed since it was
    /// made (the app left open overnight).
    pub fn roll_today(&self) {
        let date = today();
        let rolled = self
            .live
            .try_update_value(|l| l.roll_today(date).then(|| l.today_list()))
            .flatten();
        if let Some(list) = rolled {
            self.set_today(list);
        }
    }

    /// Puts changed records into memory (each replacing the record with its
    /// id), refreshes Today for the households they touched, and wakes the
    /// pages that show them. The store must already hold them.
    pub fn apply(&self, records: Vec<AnyRecord>) {
        if records.is_empty() {
            return;
        }
        let date = today();
        let Some((fire, list)) = self.live.try_update_value(|l| {
            let (touched, fire) = l.apply(records, date);
            let list = (!touched.households.is_empty()).then(|| l.today_list());
            (fire, list)
        }) else {
            return;
        };
        fire.notify();
        if let Some(list) = list {
            self.set_today(list);
        }
    }

    /// Shows `list` as the live Today list, unless it is the one shown.
    fn set_today(&self, list: Option<TodayList>) {
        if self.today_list.with_untracked(|old| *old != list) {
            self.today_list.set(list);
        }
    }

    /// Replaces every record in memory with `records`; `history`: they are
    /// whole (no visit left to read). Stops a background read under way.
    pub(crate) fn reset(&self, records: Records, history: bool) {
        self.generation.update_value(|g| *g += 1);
        if let Some(fire) = self.live.try_update_value(|l| l.reset(records)) {
            fire.notify();
        }
        self.history.set(history);
        self.set_today(None);
    }

    /// Reads the records at a start or after an unlock: every record but
    /// the visits now (then the app is ready), the visits and the live
    /// Today list in the background.
    pub(crate) async fn read_records(&self, store: &Store) -> Result<(), StorageError> {
        // The first chunk of visits is read while the rest is decoded.
        let first = store.visits_after(None, VISIT_CHUNK)?;
        let data = store.load_without_visits().await?;
        self.reset(Records::new(data), false);
        self.status.set(LoadStatus::Ready);
        crate::mark("fieldbook:records-usable");
        let state = *self;
        let store = store.clone();
        let generation = self.generation.get_value();
        leptos::task::spawn_local(async move {
            // The counts the settings page shows, after the first screen.
            state.refresh_counts(&store).await;
            if let Err(error) = state.read_history(&store, first, generation).await
                && state.generation.get_value() == generation
            {
                web_sys::console::warn_1(&format!("reading the visits: {error:?}").into());
                state.status.set(LoadStatus::Failed(error));
            }
        });
        Ok(())
    }

    /// The background part of [`read_records`](AppState::read_records):
    /// the visits a chunk at a time (the next chunk's read under way while
    /// one is decoded; input is handled between chunks), then the Today
    /// index a few households at a time, yielding between. Stops quietly
    /// once the records were replaced (a lock, an erase).
    async fn read_history(
        &self,
        store: &Store,
        first: impl std::future::Future<Output = Result<js_sys::Array, StorageError>>,
        generation: u64,
    ) -> Result<(), StorageError> {
        let current = || self.generation.get_value() == generation;
        let delay: i32 =
            <gloo_storage::LocalStorage as gloo_storage::Storage>::get::<i32>(HISTORY_DELAY_KEY)
                .unwrap_or(0);
        let mut pending: std::pin::Pin<Box<dyn std::future::Future<Output = _>>> = Box::pin(first);
        loop {
            let list = match pending.await {
                Ok(list) => list,
                Err(_) if !current() => return Ok(()),
                Err(error) => return Err(error),
            };
            if !current() {
                return Ok(());
            }
            let more = list.length() == VISIT_CHUNK;
            let next = if more {
                Some(store.visits_after(crate::storage::last_id(&list), VISIT_CHUNK)?)
            } else {
                None
            };
            let chunk = store.decode_visits(&list)?;
            self.live.update_value(|l| {
                // What a save, an import or a sync put in since the read
                // began is newer than (or the same as) what was read.
                let fresh: Vec<AnyRecord> = chunk
                    .into_iter()
                    .filter(|v| l.records().visit_any(v.id).is_none())
                    .map(AnyRecord::from)
                    .collect();
                // Nobody is told per chunk: every trigger fires once the
                // history is whole.
                let _ = l.load(fresh);
            });
            crate::mark("fieldbook:visits-chunk");
            let Some(next) = next else { break };
            if delay > 0 {
                sleep_ms(delay).await;
            }
            pending = Box::pin(next);
        }
        crate::mark("fieldbook:records-read");
        // The Today index, a few households at a time.
        let date = today();
        let households: Vec<Id> = self.with_records(|r| {
            r.dataset()
                .households
                .iter()
                .filter(|h| !h.deleted)
                .map(|h| h.id)
                .collect()
        });
        self.live.update_value(|l| l.begin_today(date));
        for part in households.chunks(TODAY_CHUNK) {
            yield_now().await;
            if !current() {
                return Ok(());
            }
            self.live.update_value(|l| l.build_today(part));
        }
        let list = self.live.try_update_value(|l| {
            l.finish_today(date);
            (l.every_trigger(), l.today_list())
        });
        if let Some((fire, list)) = list {
            self.history.set(true);
            fire.notify();
            self.set_today(list);
            self.kept_today.set(None);
        }
        Ok(())
    }

    /// Waits until every record is in memory (a backup, an import and the
    /// sign-in check need the whole village).
    async fn whole(&self) -> Result<(), StorageError> {
        loop {
            match self.status.get_untracked() {
                LoadStatus::Ready if self.history.get_untracked() => return Ok(()),
                LoadStatus::Ready | LoadStatus::Loading => sleep_ms(50).await,
                LoadStatus::Failed(error) => return Err(error),
                LoadStatus::Locked => return Err(StorageError::Locked),
            }
        }
    }

    /// Writes `after` (replacing `before`, the stored version) through the
    /// store, then shows it. On an error nothing is shown as saved: the
    /// caller keeps the form's contents and shows the message.
    pub async fn save<R: Record + Into<AnyRecord>>(
        &self,
        before: Option<R>,
        after: R,
    ) -> Result<(), StorageError> {
        let store = self
            .store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))?;
        self.saving.update(|n| *n += 1);
        let saved = store.save(before.as_ref(), &after, now_ms()).await;
        self.saving.update(|n| *n = n.saturating_sub(1));
        saved?;
        self.apply(vec![after.into()]);
        self.refresh_counts(&store).await;
        Ok(())
    }

    /// Stores the demo village in a few large transactions, reporting
    /// progress as (done, total), and puts it in memory as it was stored
    /// (nothing is read back). The store marks such data as local only:
    /// made-up households must never reach a township's server.
    pub async fn save_all(
        &self,
        dataset: Dataset,
        progress: impl FnMut(usize, usize),
    ) -> Result<(), StorageError> {
        let store = self
            .store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))?;
        store.save_all(&dataset, now_ms(), progress).await?;
        if self.with_records(Records::is_empty) && self.history.get_untracked() {
            // The first run (nothing here yet): the records are the demo's.
            let records = Records::new(dataset);
            self.reset(records, true);
            let date = today();
            let list = self.live.try_update_value(|l| {
                l.start_today(date);
                l.today_list()
            });
            if let Some(list) = list {
                self.set_today(list);
            }
        } else {
            self.apply(AnyRecord::all_of(dataset));
        }
        if let Ok(count) = store.unsynced_records().await {
            self.unsynced.set(count);
        }
        Ok(())
    }
}

impl AppState {
    /// A backup of everything on this phone: the records and the changes not
    /// yet synced.
    pub async fn backup(&self) -> Result<fieldbook_core::backup::Backup, StorageError> {
        let store = self
            .store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))?;
        self.whole().await?;
        let outbox = store.outbox().await?;
        // Remember what this backup covers, for sign-out (see
        // `unsynced_are_backed_up`).
        let meta = store.sync_meta().await?;
        let _ = <gloo_storage::LocalStorage as gloo_storage::Storage>::set(
            "fieldbook.backup",
            (meta.next_seq, outbox.len()),
        );
        Ok(fieldbook_core::backup::Backup::new(
            store.device_id(),
            now_ms() as u64,
            self.with_records(|r| r.dataset().clone()),
            outbox,
        ))
    }
}

/// Why a backup file was not imported. Either way nothing was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// The file is not a backup this app can take in.
    Refused(fieldbook_core::backup::BackupError),
    /// The phone could not store it.
    Storage(StorageError),
}

impl ImportError {
    /// The reason, in Chinese and in English.
    pub fn both(&self) -> (&'static str, &'static str) {
        match self {
            ImportError::Refused(e) => (e.zh(), e.en()),
            ImportError::Storage(e) => (e.zh(), e.en()),
        }
    }
}

impl AppState {
    /// Imports a backup file: reads it (refusing a damaged, foreign or newer
    /// file), merges it into this phone's records and unsynced changes with
    /// the sync's merge, and stores the outcome in one transaction. Puts
    /// the records it changed in memory only after the store has them.
    pub async fn import(
        &self,
        bytes: &[u8],
    ) -> Result<fieldbook_core::backup::ImportSummary, ImportError> {
        use fieldbook_core::backup::{merge_backup, read_backup};
        let backup = read_backup(bytes).map_err(ImportError::Refused)?;
        let store = self
            .store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))
            .map_err(ImportError::Storage)?;
        self.whole().await.map_err(ImportError::Storage)?;
        let outbox = store.outbox().await.map_err(ImportError::Storage)?;
        let merged = self.with_records(|r| merge_backup(r.dataset(), &outbox, &backup));
        store
            .import(
                &merged.changed,
                &merged.new_changes,
                &merged.conflicts,
                now_ms(),
            )
            .await
            .map_err(ImportError::Storage)?;
        self.apply(AnyRecord::all_of(merged.changed));
        if let Ok(count) = store.unsynced_records().await {
            self.unsynced.set(count);
        }
        Ok(merged.summary)
    }
}

impl AppState {
    /// The open store.
    pub(crate) fn store(&self) -> Result<Store, StorageError> {
        self.store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))
    }

    /// The store once the records are read: a sync asked for while the app
    /// is still reading them (a large village takes seconds) waits for it.
    async fn opened_store(&self) -> Result<Store, StorageError> {
        loop {
            match self.status.get_untracked() {
                LoadStatus::Loading => sleep_ms(100).await,
                LoadStatus::Ready => return self.store(),
                LoadStatus::Failed(error) => return Err(error),
                LoadStatus::Locked => return Err(StorageError::Locked),
            }
        }
    }

    /// Keeps the live Today list for the next cold start (best effort: a
    /// failure only means the next start shows "reading" instead).
    pub fn keep_today(&self, list: crate::pages::KeptToday) {
        let Ok(store) = self.store() else { return };
        store.keep_today_list(&list);
    }

    /// This phone's device id, once the store is open.
    pub fn device(&self) -> Option<fieldbook_core::sync::DeviceId> {
        self.store.with_value(|s| s.as_ref().map(Store::device_id))
    }

    /// Re-reads the unsynced and conflict counts.
    async fn refresh_counts(&self, store: &Store) {
        if let Ok(count) = store.unsynced_records().await {
            self.unsynced.set(count);
        }
        if let Ok(list) = store.conflicts().await {
            self.conflicts.set(list.len());
        }
    }

    /// Every open conflict on this phone.
    pub async fn conflict_list(&self) -> Result<Vec<fieldbook_core::sync::Conflict>, StorageError> {
        self.store()?.conflicts().await
    }

    /// Settles a conflict on `value`; the choice syncs like any edit.
    pub async fn settle(
        &self,
        record: fieldbook_core::sync::RecordRef,
        field: &str,
        value: serde_json::Value,
    ) -> Result<(), StorageError> {
        let store = self.store()?;
        let json = store.settle(record, field, value, now_ms()).await?;
        if let Ok(settled) = AnyRecord::from_json(record.kind, json) {
            self.apply(vec![settled]);
        }
        self.refresh_counts(&store).await;
        Ok(())
    }

    /// Whether every unsynced change is in a backup file exported since the
    /// last change (or nothing waits to be synced).
    pub async fn unsynced_are_backed_up(&self) -> bool {
        let Ok(store) = self.store() else {
            return false;
        };
        let (Ok(meta), Ok(waiting)) = (store.sync_meta().await, store.outbox_len().await) else {
            return false;
        };
        if waiting == 0 {
            return true;
        }
        let exported: Option<(u64, usize)> =
            <gloo_storage::LocalStorage as gloo_storage::Storage>::get("fieldbook.backup").ok();
        exported == Some((meta.next_seq, waiting))
    }

    /// Signs in and keeps the session.
    pub async fn login(
        &self,
        server: &str,
        username: &str,
        password: &str,
    ) -> Result<(), SyncError> {
        let session = crate::sync::login(server, username, password).await?;
        // A worker never gets a second village: a phone holding a village
        // made on it that is not the account's is not signed in (the server
        // would refuse its every change). The demo village keeps its own
        // message (`SyncError::DemoData`).
        if !session.is_township() {
            let outside: Vec<String> = self.with_records(|r| {
                fieldbook_core::account::villages_outside_account(
                    &r.dataset().villages,
                    &session.user.villages,
                )
                .into_iter()
                .map(|v| v.name.clone())
                .collect()
            });
            let demo = match self.store() {
                Ok(store) => store.holds_local_only_records().await.unwrap_or(false),
                Err(_) => false,
            };
            if !outside.is_empty() && !demo {
                crate::sync::logout(&session).await;
                return Err(SyncError::LocalVillage(outside));
            }
        }
        self.session.set(Some(session));
        // With the lock on, the session is kept sealed, not in plaintext.
        if let Ok(store) = self.store() {
            self.seal_session(&store);
        }
        self.sync.update(|s| {
            s.error = None;
            s.failures = 0;
            s.next_try_ms = 0.0;
        });
        Ok(())
    }

    /// Signs out; with `erase` (a shared phone) also deletes every record on
    /// this phone. Refused while changes wait that are neither synced nor in
    /// a backup file exported since the last change.
    pub async fn logout(&self, erase: bool) -> Result<(), StorageError> {
        if !self.unsynced_are_backed_up().await {
            return Err(StorageError::Other(
                "changes are waiting to be synced or backed up".into(),
            ));
        }
        if let Some(session) = self.session.get_untracked() {
            crate::sync::logout(&session).await;
        }
        Session::forget();
        AppState::forget_sealed_session();
        self.session.set(None);
        if erase {
            let store = self.store()?;
            store.close();
            Store::delete_named(crate::storage::DB_NAME).await?;
            let reopened = Store::open().await?;
            self.store.set_value(Some(reopened));
            self.reset(Records::default(), true);
            self.live.update_value(|l| l.start_today(today()));
            self.set_today(self.live.with_value(Live::today_list));
            self.unsynced.set(0);
            self.conflicts.set(0);
            let mut record = SyncRecord::load();
            record.last_ok_ms = None;
            record.save();
            <gloo_storage::LocalStorage as gloo_storage::Storage>::delete("fieldbook.backup");
            self.sync.set(SyncView::default());
        }
        Ok(())
    }

    /// One sync step now, unless one is running. Shows progress, then the
    /// result or what to do.
    pub async fn sync_now(&self) {
        let Some(session) = self.session.get_untracked() else {
            return;
        };
        if self.sync.with_untracked(|s| s.running) {
            return;
        }
        self.sync.update(|s| {
            s.running = true;
            s.progress = Progress::default();
        });
        let store = match self.opened_store().await {
            Ok(store) => store,
            Err(e) => {
                self.sync.update(|s| {
                    s.running = false;
                    s.error = Some((e.zh().into(), e.en().into()));
                });
                return;
            }
        };
        let sync = self.sync;
        let state = *self;
        let describe = move |change: &fieldbook_core::sync::Change| {
            state.with_records(|r| describe_record(r, change))
        };
        // Each committed page's records go into memory as it commits: a
        // step that fails later has already shown what it stored, and
        // nothing is read again.
        let on_records = move |records: Vec<AnyRecord>| state.apply(records);
        let result = crate::sync::sync_step(
            &store,
            &session,
            &move |p| sync.update(|s| s.progress = p),
            &describe,
            &on_records,
        )
        .await;
        crate::mark("fieldbook:state:step-done");
        self.refresh_counts(&store).await;
        crate::mark("fieldbook:state:counts");
        let now = js_sys::Date::now();
        match result {
            Ok(report) => {
                self.sync.update(|s| {
                    s.running = false;
                    s.error = None;
                    s.failures = 0;
                    s.next_try_ms = 0.0;
                    s.last_ok_ms = Some(now);
                    s.last_result = Some((report.pushed, report.pulled));
                    s.clock_off_ms = report.clock_off_ms;
                });
                crate::mark("fieldbook:state:set");
                leptos::prelude::request_animation_frame(|| crate::mark("fieldbook:state:drawn"));
            }
            Err(error) => {
                // The detail (a storage exception's name, a server's words)
                // for whoever looks at the console.
                web_sys::console::warn_1(&format!("sync failed: {error:?}").into());
                if error == SyncError::SessionExpired {
                    Session::forget();
                    AppState::forget_sealed_session();
                    self.session.set(None);
                }
                // The server wants her own password first: 设置 shows the form.
                if error == SyncError::PasswordChangeRequired {
                    self.session.update(|s| {
                        if let Some(s) = s {
                            s.must_change_password = true;
                        }
                    });
                }
                // Whatever was pulled before the failure is stored and was
                // handed over page by page (`on_records`): nothing to read.
                self.sync.update(|s| {
                    s.running = false;
                    s.error = Some(error.both());
                    s.failures += 1;
                    // 30 s, 1 min, 2 min … up to 30 min.
                    let wait =
                        (30_000.0 * 2f64.powi(s.failures.min(6) as i32 - 1)).min(1_800_000.0);
                    s.next_try_ms = now + wait;
                });
            }
        }
    }

    /// Starts the background sync: every 20 seconds, while the app is open
    /// and signed in as a worker, on a connection the worker allows, with no
    /// save under way and not before the backoff after a failure.
    pub fn start_background_sync(&self) {
        let state = *self;
        let tick = move || {
            let due = state
                .session
                .with_untracked(|s| s.as_ref().is_some_and(|s| !s.is_township()))
                && state.status.get_untracked() == LoadStatus::Ready
                && state.history.get_untracked()
                && state.saving.get_untracked() == 0
                && state
                    .sync
                    .with_untracked(|s| !s.running && js_sys::Date::now() >= s.next_try_ms)
                && crate::sync::connection_allows(SyncRecord::load().mobile_data);
            if due {
                leptos::task::spawn_local(async move { state.sync_now().await });
            }
        };
        let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(20));
    }
}

/// A change's record as the worker knows it: "household 0007 (phone)".
/// A deleted record is named too.
pub fn describe_record(records: &Records, change: &fieldbook_core::sync::Change) -> String {
    use fieldbook_core::sync::RecordKind as K;
    let id = change.record.id;
    let data = records.dataset();
    let name = match change.record.kind {
        K::Village => records
            .village(id)
            .or_else(|| data.villages.iter().find(|r| r.id == id))
            .map(|v| v.name.clone()),
        K::Household => records
            .household(id)
            .or_else(|| data.households.iter().find(|r| r.id == id))
            .map(|h| format!("户 {}", h.number)),
        K::Person => records
            .person(id)
            .or_else(|| data.persons.iter().find(|r| r.id == id))
            .map(|p| p.name.clone()),
        K::Visit => records.visit_any(id).map(|v| format!("随访 {}", v.date)),
        K::Plan => records
            .plan(id)
            .or_else(|| data.plans.iter().find(|r| r.id == id))
            .map(|p| p.title.clone()),
        K::Tick => Some("勾选".to_string()),
    };
    format!(
        "{} ({})",
        name.unwrap_or_else(|| format!("{} {}", change.record.kind.name(), id)),
        change.field
    )
}

/// Provides [`AppState`] and starts loading the records from the store.
pub fn provide_app_state() -> AppState {
    let record = SyncRecord::load();
    let state = AppState {
        status: RwSignal::new(LoadStatus::Loading),
        unsynced: RwSignal::new(0),
        conflicts: RwSignal::new(0),
        session: RwSignal::new(Session::load()),
        sync: RwSignal::new(SyncView {
            last_ok_ms: record.last_ok_ms,
            ..SyncView::default()
        }),
        forms_open: RwSignal::new(0),
        saving: RwSignal::new(0),
        // The Today list as last computed shows while the database opens
        // and the records (tens of thousands) are read and decoded.
        kept_today: RwSignal::new(
            crate::storage::kept_today_list::<crate::pages::KeptToday>(crate::storage::DB_NAME)
                .filter(|kept| kept.usable_on(today())),
        ),
        lock_version: RwSignal::new(0),
        lock_busy: RwSignal::new(false),
        store: StoredValue::new_local(None),
        live: StoredValue::new_local(Live::default()),
        today_list: RwSignal::new(None),
        history: RwSignal::new(false),
        generation: StoredValue::new(0),
    };
    provide_context(state);
    leptos::task::spawn_local(async move {
        let opened = async {
            let store = Store::open().await?;
            crate::mark("fieldbook:store-open");
            if store.is_locked() {
                // Nothing is read before the PIN: the lock screen shows.
                return Ok(Err(store));
            }
            Ok::<_, StorageError>(Ok(store))
        };
        match opened.await {
            Ok(Err(store)) => {
                state.kept_today.set(None);
                state.store.set_value(Some(store));
                state.lock_version.update(|n| *n += 1);
                state.status.set(LoadStatus::Locked);
            }
            Ok(Ok(store)) => {
                state.store.set_value(Some(store.clone()));
                // The kept Today list stays until the live one replaces it.
                if let Err(error) = state.read_records(&store).await {
                    state.status.set(LoadStatus::Failed(error));
                }
            }
            Err(error) => state.status.set(LoadStatus::Failed(error)),
        }
    });
    state
}

/// Lets the browser handle input and draw before going on (a task of
/// its own, after whatever is queued).
async fn yield_now() {
    sleep_ms(0).await;
}

/// Resolves after `ms` milliseconds (at once where there is no window).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        } else {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Marks a form as open for as long as the calling component lives: the
/// "new version" reload waits until it is closed.
pub fn use_form_guard() {
    let state = use_app_state();
    state.forms_open.update(|n| *n += 1);
    on_cleanup(move || state.forms_open.update(|n| *n = n.saturating_sub(1)));
}

/// The [`AppState`] provided by [`provide_app_state`].
///
/// # Panics
/// Outside a component tree that called [`provide_app_state`].
pub fn use_app_state() -> AppState {
    expect_context::<AppState>()
}

/// Milliseconds since the Unix epoch: the browser's clock corrected by the
/// server's last word (see `sync::corrected_now_ms`). The edge of
/// the app is the only place that reads a clock.
pub fn now_ms() -> f64 {
    crate::sync::corrected_now_ms()
}

/// Today's date on the phone's own calendar (its local time zone).
pub fn today() -> NaiveDate {
    let now = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(
        now.get_full_year() as i32,
        now.get_month() + 1,
        now.get_date(),
    )
    .unwrap_or_default()
}

/// A new record id: a UUIDv7 (time-ordered, so records sort by creation)
/// from the browser's clock and its cryptographic random numbers.
pub fn new_id() -> uuid::Uuid {
    let mut random = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut random).ok())
        .is_some();
    if !filled {
        // Without WebCrypto (very old browsers) fall back to Math.random:
        // ids need to be unique, not secret.
        for byte in &mut random {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    uuid::Builder::from_unix_timestamp_millis(now_ms() as u64, &random).into_uuid()
}

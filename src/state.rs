//! The app's records as the pages see them: a [`Dataset`] signal loaded from
//! the store once, and the one way to change it — [`AppState::save`], which
//! writes the record and its outbox entry first and updates the signal only
//! after the store has acknowledged the write.

use chrono::NaiveDate;
use fieldbook_core::{Dataset, Household, Person, Tick, Village, Visit, WorkPlan};
use leptos::prelude::*;

use crate::storage::{Record, StorageError, Store};
use crate::sync::{Progress, Session, SyncError, SyncRecord};

/// Where loading the records stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStatus {
    /// Opening the database and reading the records.
    Loading,
    /// The records are in [`AppState::data`].
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
    /// Every record on this phone.
    pub data: RwSignal<Dataset>,
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

/// A record kind the pages can save: where it lives in a [`Dataset`].
pub trait Upsert: Record {
    /// Puts the record into the dataset, replacing the one with its id.
    fn upsert(self, data: &mut Dataset);
}

macro_rules! upsert {
    ($ty:ty, $list:ident) => {
        impl Upsert for $ty {
            fn upsert(self, data: &mut Dataset) {
                match data.$list.iter_mut().find(|r| r.id == self.id) {
                    Some(slot) => *slot = self,
                    None => data.$list.push(self),
                }
            }
        }
    };
}

upsert!(Village, villages);
upsert!(Household, households);
upsert!(Person, persons);
upsert!(Visit, visits);
upsert!(WorkPlan, plans);
upsert!(Tick, ticks);

impl AppState {
    /// The live village this phone serves (the first, if several).
    pub fn village(&self) -> Option<Village> {
        self.data
            .with(|d| d.villages.iter().find(|v| !v.deleted).cloned())
    }

    /// Writes `after` (replacing `before`, the stored version) through the
    /// store, then shows it. On an error nothing is shown as saved: the
    /// caller keeps the form's contents and shows the message.
    pub async fn save<R: Upsert>(&self, before: Option<R>, after: R) -> Result<(), StorageError> {
        let store = self
            .store
            .with_value(Clone::clone)
            .ok_or_else(|| StorageError::Unavailable("the store is not open".into()))?;
        self.saving.update(|n| *n += 1);
        let saved = store.save(before.as_ref(), &after, now_ms()).await;
        self.saving.update(|n| *n = n.saturating_sub(1));
        saved?;
        self.data.update(|d| after.upsert(d));
        self.refresh_counts(&store).await;
        Ok(())
    }

    /// Stores the demo village in a few large transactions, reporting
    /// progress as (done, total). The store marks such data as local only:
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
        let loaded = store.load().await?;
        self.data.set(loaded);
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
            self.data.get_untracked(),
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
    /// the sync's merge, and stores the outcome in one transaction. Shows
    /// the merged records only after the store has them.
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
        let outbox = store.outbox().await.map_err(ImportError::Storage)?;
        let current = self.data.get_untracked();
        let merged = merge_backup(&current, &outbox, &backup);
        store
            .import(
                &merged.changed,
                &merged.new_changes,
                &merged.conflicts,
                now_ms(),
            )
            .await
            .map_err(ImportError::Storage)?;
        self.data.set(merged.dataset);
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
        self.data.update(|d| upsert_json(d, record.kind, json));
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
            let outside: Vec<String> = self.data.with_untracked(|d| {
                fieldbook_core::account::villages_outside_account(
                    &d.villages,
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
            self.data.set(Dataset::new());
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
        let data = self.data;
        let describe = move |change: &fieldbook_core::sync::Change| {
            data.with_untracked(|d| describe_record(d, change))
        };
        // Interim (the sync helper's minimal change; the state helper
        // writes the real body): each committed page's records go into the
        // dataset in place, without waking the pages page by page; they
        // are woken once when the step ends, whether it succeeded or not.
        let handed = std::cell::Cell::new(false);
        let on_records = |records: Vec<fieldbook_core::records::AnyRecord>| {
            if !records.is_empty() {
                handed.set(true);
                data.update_untracked(|d| upsert_records(d, records));
            }
        };
        let result = crate::sync::sync_step(
            &store,
            &session,
            &move |p| sync.update(|s| s.progress = p),
            &describe,
            &on_records,
        )
        .await;
        crate::mark("fieldbook:state:step-done");
        if handed.get() {
            data.notify();
        }
        crate::mark("fieldbook:state:notified");
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
                // handed over page by page: it shows already.
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

/// Puts records into the dataset, each replacing the one with its id (an
/// index of each touched list made once, not a search per record).
pub fn upsert_records(data: &mut Dataset, records: Vec<fieldbook_core::records::AnyRecord>) {
    use fieldbook_core::records::AnyRecord as A;
    fn put<R: Record>(
        list: &mut Vec<R>,
        index: &mut Option<std::collections::HashMap<fieldbook_core::Id, usize>>,
        record: R,
    ) {
        let index = index
            .get_or_insert_with(|| list.iter().enumerate().map(|(i, r)| (r.id(), i)).collect());
        match index.get(&record.id()) {
            Some(&i) => list[i] = record,
            None => {
                index.insert(record.id(), list.len());
                list.push(record);
            }
        }
    }
    let mut at: [Option<std::collections::HashMap<fieldbook_core::Id, usize>>; 6] =
        Default::default();
    for record in records {
        match record {
            A::Village(r) => put(&mut data.villages, &mut at[0], r),
            A::Household(r) => put(&mut data.households, &mut at[1], r),
            A::Person(r) => put(&mut data.persons, &mut at[2], r),
            A::Visit(r) => put(&mut data.visits, &mut at[3], r),
            A::Plan(r) => put(&mut data.plans, &mut at[4], r),
            A::Tick(r) => put(&mut data.ticks, &mut at[5], r),
        }
    }
}

/// Puts a record given as JSON into the dataset (replacing the one with
/// its id); a record that does not decode is left out.
pub fn upsert_json(
    data: &mut Dataset,
    kind: fieldbook_core::sync::RecordKind,
    json: serde_json::Value,
) {
    use fieldbook_core::sync::RecordKind as K;
    fn put<R: Upsert>(data: &mut Dataset, json: serde_json::Value) {
        if let Ok(record) = serde_json::from_value::<R>(json) {
            record.upsert(data);
        }
    }
    match kind {
        K::Village => put::<Village>(data, json),
        K::Household => put::<Household>(data, json),
        K::Person => put::<Person>(data, json),
        K::Visit => put::<Visit>(data, json),
        K::Plan => put::<WorkPlan>(data, json),
        K::Tick => put::<Tick>(data, json),
    }
}

/// A change's record as the worker knows it: "household 0007 (phone)".
pub fn describe_record(data: &Dataset, change: &fieldbook_core::sync::Change) -> String {
    use fieldbook_core::sync::RecordKind as K;
    let id = change.record.id;
    let name = match change.record.kind {
        K::Village => data
            .villages
            .iter()
            .find(|r| r.id == id)
            .map(|v| v.name.clone()),
        K::Household => data
            .households
            .iter()
            .find(|r| r.id == id)
            .map(|h| format!("户 {}", h.number)),
        K::Person => data
            .persons
            .iter()
            .find(|r| r.id == id)
            .map(|p| p.name.clone()),
        K::Visit => data
            .visits
            .iter()
            .find(|r| r.id == id)
            .map(|v| format!("随访 {}", v.date)),
        K::Plan => data
            .plans
            .iter()
            .find(|r| r.id == id)
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
        data: RwSignal::new(Dataset::new()),
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
            let data = store.load().await?;
            crate::mark("fieldbook:records-read");
            let unsynced = store.unsynced_records().await?;
            let conflicts = store.conflicts().await?.len();
            Ok::<_, StorageError>(Ok((store, data, unsynced, conflicts)))
        };
        match opened.await {
            Ok(Err(store)) => {
                state.kept_today.set(None);
                state.store.set_value(Some(store));
                state.lock_version.update(|n| *n += 1);
                state.status.set(LoadStatus::Locked);
            }
            Ok(Ok((store, data, unsynced, conflicts))) => {
                state.kept_today.set(None);
                state.store.set_value(Some(store));
                state.data.set(data);
                state.unsynced.set(unsynced);
                state.conflicts.set(conflicts);
                state.status.set(LoadStatus::Ready);
            }
            Err(error) => state.status.set(LoadStatus::Failed(error)),
        }
    });
    state
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

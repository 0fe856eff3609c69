//! The phone's record store: IndexedDB.
//!
//! Contract the pages rely on:
//! - [`Store::open`] opens (and migrates) the database; one per app.
//! - [`Store::load`] reads every record into a [`Dataset`]; a cold start
//!   reads in phases instead ([`Store::load_without_visits`], then
//!   [`Store::load_visits_after`] a chunk at a time: `load.rs`).
//! - [`Store::save`] writes one record and its outbox changes in ONE
//!   transaction: either both are stored or neither.
//! - [`Store::import`] takes in a merged backup in one transaction.
//! - [`Store::outbox_len`] counts unsynced changes; [`Store::unsynced_records`]
//!   the records they touch.
//! - [`kept_today_list`] / [`Store::keep_today_list`]: the Today list as
//!   last computed, kept in `localStorage` so that a cold start shows it
//!   before the database is even open. Every transaction that writes
//!   records drops it before it commits.
//! - [`estimate`] reports used and available bytes.
//!
//! # How it is stored
//! One database, `fieldbook` ([`DB_NAME`]), version [`DB_VERSION`]; the
//! stores and upgrade steps are in `schema.rs`. A record is kept as its
//! serde JSON, parsed into a plain JavaScript object (`JSON.parse` of
//! `serde_json`'s text, and back with `JSON.stringify`): readable in the
//! browser's devtools, keyed in-line by its `id`, indexable by any field
//! later, and exactly the shape the sync changes speak of. Outbox entries
//! are `sync::Change`s the same way, keyed by `[device, seq]`.
//!
//! # Changes
//! Every write goes through the core: a new record is one change per field
//! with a value ([`changes_for_new_record`]), an edit one per changed field
//! ([`changes_for_edit`]), stamped by the device's hybrid logical clock kept
//! in `meta` and numbered with consecutive change numbers from `meta`. The
//! record, its changes and the updated clock and number are written in one
//! readwrite transaction over the record's store, `outbox` and `meta`; the
//! clock and number are read in that transaction too, so two tabs saving at
//! once still get distinct numbers. Any failure aborts the transaction.
//!
//! # Bulk loads are local only
//! [`Store::save_all`] (the demo village) writes records without outbox
//! changes and marks the database as holding records no server has
//! ([`Store::holds_local_only_records`]); see its documentation for why.
//!
//! # On native targets
//! The crate also builds natively (clippy, `cargo test`); there the store is
//! never available: [`Store::open`] returns
//! [`StorageError::Unavailable`] and [`estimate`] returns `None`.

mod error;
mod idb;
mod load;
mod lock;
mod restore_store;
mod schema;
pub mod seal;
mod sync_store;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use fieldbook_core::sync::{
    Change, Clock, Conflict, DeviceId, Hlc, RecordKind, RecordRef, RecordState, StoredState,
    changes_for_edit, changes_for_new_record,
};
use fieldbook_core::{Dataset, Household, Id, Person, Tick, Village, Visit, WorkPlan};
use gloo_storage::{LocalStorage, Storage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

pub use error::StorageError;
pub use load::last_id;
pub use lock::{LockError, Recovery};
pub use schema::{DB_NAME, DB_VERSION};
pub use seal::{LockInfo, LockMode};
pub use sync_store::{
    Applied, PullState, SnapshotPage, SnapshotProgress, SyncStart, snapshot_page_next,
};

use idb::{Mode, Tx};
use schema::{
    CONFLICTS, DEVICE_KEY, LOCAL_ONLY_KEY, META, OUTBOX, RECORD_STORES, STATES, SYNC_KEY, store_of,
};
use seal::DataKey;

/// How many records [`Store::save_all`] writes per transaction: large
/// enough that the demo village (about 31,000 records) loads in a handful
/// of commits, small enough that one transaction's values stay a few
/// megabytes on a cheap phone.
pub const BULK_RECORDS_PER_TRANSACTION: usize = 5_000;

/// A record kind the store keeps.
pub trait Record: Serialize + DeserializeOwned + Clone + 'static {
    /// Which object store (and which kind the outbox changes name).
    const KIND: RecordKind;
    /// The record's id.
    fn id(&self) -> Id;
}

macro_rules! records {
    ($($ty:ty => $kind:ident),* $(,)?) => {
        $(impl Record for $ty {
            const KIND: RecordKind = RecordKind::$kind;
            fn id(&self) -> Id {
                self.id
            }
        })*
    };
}

records! {
    Village => Village,
    Household => Household,
    Person => Person,
    Visit => Visit,
    WorkPlan => Plan,
    Tick => Tick,
}

/// The sync state kept in `meta`: the device's hybrid logical clock and the
/// number its next change gets. Both only grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncMeta {
    /// The clock: every stamp issued so far is at most `clock.last()`.
    pub clock: Clock,
    /// The next change number; the first change is number 1.
    pub next_seq: u64,
}

impl Default for SyncMeta {
    fn default() -> Self {
        SyncMeta {
            clock: Clock::new(),
            next_seq: 1,
        }
    }
}

/// Test hooks: make the next write fail at one point inside its
/// transaction, to show that nothing of it remains.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailPoint {
    /// No failure.
    #[default]
    Never,
    /// Fail with [`StorageError::Other`] right after the (first) record's
    /// `put`, before its changes.
    AfterRecordPut,
    /// The transaction's last write, the `meta` `put` after the records and
    /// their changes, throws a `DOMException` named `QuotaExceededError`,
    /// as a full disk does.
    QuotaOnMetaPut,
}

/// The record store: one open IndexedDB connection and this device's id.
///
/// Cheap to clone (the connection is shared). Not `Send`: it holds
/// JavaScript objects, so give it to Leptos through a local store (e.g.
/// `StoredValue::new_local` or a `SendWrapper`), not a `Send` context.
#[derive(Clone, Debug)]
pub struct Store {
    db: IdbDatabase,
    device: DeviceId,
    fail: Rc<Cell<FailPoint>>,
    /// Where its Today list is kept in `localStorage`.
    today_key: String,
    /// The database's name (for its lock's `localStorage` entries).
    name: String,
    /// The on-device lock: its mode and, while unlocked, the data key.
    lock: Rc<RefCell<LockState>>,
}

/// The `localStorage` key of database `name`'s kept Today list.
fn today_key(name: &str) -> String {
    format!("fieldbook.today.{name}")
}

/// The Today list kept by [`Store::keep_today_list`] for database `name`,
/// unless a write of records came after it; `None` also when what is kept
/// no longer reads as a `T` (an older app's shape). Synchronous: a cold
/// start shows it while the database opens.
pub fn kept_today_list<T: DeserializeOwned>(name: &str) -> Option<T> {
    // With the lock on, no list is kept (it names people); one kept from
    // before is dropped.
    if lock::lock_flag(name) {
        <LocalStorage as Storage>::delete(today_key(name));
        return None;
    }
    <LocalStorage as Storage>::get(today_key(name)).ok()
}

impl Store {
    /// Opens the app's database, [`DB_NAME`].
    pub async fn open() -> Result<Store, StorageError> {
        Store::open_named(DB_NAME).await
    }

    /// Opens (creating or upgrading it to [`DB_VERSION`]) the database
    /// `name`: tests use their own. Makes this device's id on first open.
    pub async fn open_named(name: &str) -> Result<Store, StorageError> {
        if !cfg!(target_arch = "wasm32") {
            return Err(StorageError::Unavailable(
                "IndexedDB exists only in the browser".into(),
            ));
        }
        let db = idb::open(name, DB_VERSION, schema::upgrade)
            .await
            .map_err(|e| match e {
                idb::OpenError::Blocked => StorageError::Unavailable(
                    "blocked: another tab holds an older version of the database open".into(),
                ),
                idb::OpenError::Failed(reason) => StorageError::from_js(&reason),
            })?;
        let device = match device_of(&db).await {
            Ok(device) => device,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        let info = match lock::read_lock_info(&db).await {
            Ok(info) => info,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        lock::set_lock_flag(name, info.is_some());
        Ok(Store {
            db,
            device,
            fail: Rc::default(),
            today_key: today_key(name),
            name: name.to_string(),
            lock: Rc::new(RefCell::new(LockState {
                info,
                ..LockState::default()
            })),
        })
    }

    /// Deletes database `name` with everything in it (tests; later an
    /// "erase this phone" action). Open stores of it close themselves.
    pub async fn delete_named(name: &str) -> Result<(), StorageError> {
        if !cfg!(target_arch = "wasm32") {
            return Err(StorageError::Unavailable(
                "IndexedDB exists only in the browser".into(),
            ));
        }
        <LocalStorage as Storage>::delete(today_key(name));
        lock::forget_local(name);
        idb::delete(name).await.map_err(StorageError::from)
    }

    /// Closes the connection; every later call on this store (and its
    /// clones) fails with [`StorageError::Unavailable`].
    pub fn close(&self) {
        self.db.close();
    }

    /// This device's id, made once and kept.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The database's version (after upgrading: [`DB_VERSION`]).
    pub fn version(&self) -> u32 {
        // IndexedDB versions are whole numbers; ours are small.
        self.db.version() as u32
    }

    /// Every record, each list in id order (the stores' key order).
    /// Refused with [`StorageError::Locked`] while the lock is on and the
    /// phone locked.
    pub async fn load(&self) -> Result<Dataset, StorageError> {
        if self.is_locked() {
            return Err(StorageError::Locked);
        }
        let tx = Tx::begin(&self.db, &RECORD_STORES, Mode::Read)?;
        let body = async {
            // All six reads are under way before the first is awaited.
            let reads = RECORD_STORES
                .iter()
                .map(|name| Ok(idb::request(tx.store(name)?.get_all()?)))
                .collect::<Result<Vec<_>, JsValue>>()?;
            let mut lists = Vec::with_capacity(reads.len());
            for read in reads {
                lists.push(read.await?);
            }
            let [villages, households, persons, visits, plans, ticks] = &lists[..] else {
                unreachable!("one read per record store");
            };
            Ok(Dataset {
                villages: self.decode_all(villages)?,
                households: self.decode_all(households)?,
                persons: self.decode_all(persons)?,
                visits: self.decode_all(visits)?,
                plans: self.decode_all(plans)?,
                ticks: self.decode_all(ticks)?,
                ..Dataset::new()
            })
        }
        .await;
        finish(tx, body).await
    }

    /// Writes `after` (whose stored version was `before`; `None` for a new
    /// record) with its outbox changes, stamped from `now_ms` (milliseconds
    /// since the Unix epoch, e.g. `js_sys::Date::now()`), in one
    /// transaction. Returns the changes written: one per field with a value
    /// for a new record, one per changed field for an edit, none (and
    /// nothing written) for an edit that changes nothing. On `Err` nothing
    /// was written: neither the record nor a change nor the clock.
    pub async fn save<R: Record>(
        &self,
        before: Option<&R>,
        after: &R,
        now_ms: f64,
    ) -> Result<Vec<Change>, StorageError> {
        let record = RecordRef {
            kind: R::KIND,
            id: after.id(),
        };
        let after = serde_json::to_value(after)?;
        let before = before.map(serde_json::to_value).transpose()?;
        // Decided before any transaction: an edit that changes nothing
        // takes no stamp and no change number.
        if let Some(before) = &before
            && changes_for_edit(record, before, &after, Hlc::ZERO, self.device, 1)?.is_empty()
        {
            return Ok(Vec::new());
        }
        let store = store_of(R::KIND);
        let tx = Tx::begin(
            &self.db,
            &[store, OUTBOX, META, STATES, CONFLICTS],
            Mode::WriteStrict,
        )?;
        let body = async {
            // Read in this transaction, so that two tabs saving at once
            // cannot take the same change number.
            let mut meta = read_sync_meta(&tx).await?;
            let mut state = match self.read_state(&tx, &record).await? {
                Some(state) => state,
                None => match &before {
                    Some(before) => RecordState::from_snapshot(R::KIND, before)?,
                    None => RecordState::new(record),
                },
            };
            // A wall clock before 1970 or NaN counts as 0; the clock still
            // moves forward.
            let ts = meta.clock.tick(now_ms.max(0.0) as u64);
            // An edit names what it replaces (the field's winner and open
            // conflicts), so that editing a field settles its conflicts.
            let changes = match &before {
                None => changes_for_new_record(R::KIND, &after, ts, self.device, meta.next_seq)?,
                Some(_) => state.changes_for_edit(&after, ts, self.device, meta.next_seq)?,
            };
            meta.next_seq += changes.len() as u64;
            for change in &changes {
                state.apply(change.clone());
            }
            // Puts are issued, not awaited: a put that fails aborts the
            // transaction, and `finish` reports why.
            tx.store(store)?.put(&self.record_js(&after)?)?;
            if self.trips(FailPoint::AfterRecordPut) {
                return Err(StorageError::other("simulated failure after the record"));
            }
            let outbox = tx.store(OUTBOX)?;
            for change in &changes {
                outbox.put(&self.change_js(change)?)?;
            }
            self.write_state(&tx, &state, &after)?;
            self.put_meta(&tx, SYNC_KEY, &meta)?;
            Ok(changes)
        }
        .await;
        finish(tx, body).await
    }

    /// Writes every record of `dataset` (the demo village) in transactions
    /// of [`BULK_RECORDS_PER_TRANSACTION`] records, in dataset order
    /// (villages, households, persons, visits, plans, ticks). Calls
    /// `progress(done, total)` in records, first with `done = 0`, then
    /// after each commit. Returns how many records were written.
    ///
    /// **Local only**: these records make no outbox changes, take no stamp
    /// and no change number. Instead `meta` notes that the database holds
    /// records no server has ([`holds_local_only_records`]), so that sync
    /// can refuse to push from it. Why:
    /// - synthetic households must never reach a real township server, and
    ///   an outbox full of them would be pushed by the first sync;
    /// - the outbox would be most of the work: the demo village is about
    ///   31,000 records but 240,000 changes, one IndexedDB row each
    ///   (measured in headless Chromium: 3 s without the changes, 23 s with
    ///   them);
    /// - real bulk data does not come this way: a pull and a backup import
    ///   are changes, applied with `sync::Replica`.
    ///
    /// Edits made later with [`save`](Store::save) make changes as usual.
    ///
    /// Each transaction is whole; after an `Err` the transactions committed
    /// before it remain (`progress` said how far), the failed one left
    /// nothing.
    ///
    /// [`holds_local_only_records`]: Store::holds_local_only_records
    pub async fn save_all(
        &self,
        dataset: &Dataset,
        now_ms: f64,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<usize, StorageError> {
        let mut records = Vec::new();
        push_json(&mut records, RecordKind::Village, &dataset.villages)?;
        push_json(&mut records, RecordKind::Household, &dataset.households)?;
        push_json(&mut records, RecordKind::Person, &dataset.persons)?;
        push_json(&mut records, RecordKind::Visit, &dataset.visits)?;
        push_json(&mut records, RecordKind::Plan, &dataset.plans)?;
        push_json(&mut records, RecordKind::Tick, &dataset.ticks)?;
        let total = records.len();
        progress(0, total);
        let marker = LocalOnly {
            loaded_at_ms: now_ms.max(0.0) as u64,
        };
        let mut done = 0;
        for chunk in records.chunks(BULK_RECORDS_PER_TRANSACTION) {
            let mut scope = RECORD_STORES.to_vec();
            scope.push(META);
            let tx = Tx::begin(&self.db, &scope, Mode::WriteBulk)?;
            let body = async {
                for (kind, json) in chunk {
                    tx.store(store_of(*kind))?.put(&self.record_js(json)?)?;
                }
                // In every transaction, so that whatever committed is marked.
                self.put_meta(&tx, LOCAL_ONLY_KEY, &marker)
            }
            .await;
            finish(tx, body).await?;
            done += chunk.len();
            progress(done, total);
        }
        Ok(total)
    }

    /// Takes in what a merge (a backup import) decided, in ONE transaction:
    /// the `records` to write (new or changed), the `changes` that join the
    /// outbox as they are (other phones' unsynced changes keep their own
    /// device, number and stamp), and the `conflicts` to keep for review.
    /// The clock moves past every stamp taken in, so that an edit made here
    /// afterwards wins over them. On `Err` nothing was written.
    pub async fn import(
        &self,
        records: &Dataset,
        changes: &[Change],
        conflicts: &[Conflict],
        now_ms: f64,
    ) -> Result<(), StorageError> {
        let mut rows = Vec::new();
        push_json(&mut rows, RecordKind::Village, &records.villages)?;
        push_json(&mut rows, RecordKind::Household, &records.households)?;
        push_json(&mut rows, RecordKind::Person, &records.persons)?;
        push_json(&mut rows, RecordKind::Visit, &records.visits)?;
        push_json(&mut rows, RecordKind::Plan, &records.plans)?;
        push_json(&mut rows, RecordKind::Tick, &records.ticks)?;
        let mut grouped: BTreeMap<String, Vec<&Conflict>> = BTreeMap::new();
        for conflict in conflicts {
            grouped
                .entry(schema::record_key(&conflict.record))
                .or_default()
                .push(conflict);
        }
        let mut scope = RECORD_STORES.to_vec();
        scope.extend([OUTBOX, CONFLICTS, STATES, META]);
        let tx = Tx::begin(&self.db, &scope, Mode::WriteStrict)?;
        let body = async {
            let mut meta = read_sync_meta(&tx).await?;
            let now = now_ms.max(0.0) as u64;
            let states = tx.store(STATES)?;
            for (kind, json) in &rows {
                tx.store(store_of(*kind))?.put(&self.record_js(json)?)?;
                // The merge state of a record the import changed is built
                // again from its new values when it is next touched.
                if let Some(id) = json
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| Id::parse_str(s).ok())
                {
                    let key = schema::record_key(&RecordRef { kind: *kind, id });
                    states.delete(&JsValue::from_str(&key))?;
                }
            }
            if self.trips(FailPoint::AfterRecordPut) {
                return Err(StorageError::other("simulated failure after the records"));
            }
            let outbox = tx.store(OUTBOX)?;
            for change in changes {
                outbox.put(&self.change_js(change)?)?;
                meta.clock.observe(change.ts, now);
            }
            let kept = tx.store(CONFLICTS)?;
            for (key, list) in &grouped {
                kept.put_with_key(&self.value_js(list)?, &JsValue::from_str(key))?;
            }
            self.put_meta(&tx, SYNC_KEY, &meta)
        }
        .await;
        finish(tx, body).await
    }

    /// Every kept conflict (a losing value waiting for review), record by
    /// record.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>, StorageError> {
        let tx = Tx::begin(&self.db, &[CONFLICTS], Mode::Read)?;
        let body = async {
            let lists: Vec<Vec<Conflict>> =
                self.decode_all(&idb::request(tx.store(CONFLICTS)?.get_all()?).await?)?;
            Ok(lists.into_iter().flatten().collect())
        }
        .await;
        finish(tx, body).await
    }

    /// Whether [`save_all`](Store::save_all) wrote records here that no
    /// server has (the demo village): sync should not push from this
    /// database.
    pub async fn holds_local_only_records(&self) -> Result<bool, StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::Read)?;
        let body = async {
            let key = JsValue::from_str(LOCAL_ONLY_KEY);
            Ok(!idb::request(tx.store(META)?.get(&key)?)
                .await?
                .is_undefined())
        }
        .await;
        finish(tx, body).await
    }

    /// How many changes wait to be synced.
    pub async fn outbox_len(&self) -> Result<usize, StorageError> {
        let tx = Tx::begin(&self.db, &[OUTBOX], Mode::Read)?;
        let body = async {
            let count = idb::request(tx.store(OUTBOX)?.count()?).await?;
            // A count is a whole number.
            Ok(count.as_f64().unwrap_or(0.0) as usize)
        }
        .await;
        finish(tx, body).await
    }

    /// How many records have changes waiting to be synced: the count a
    /// worker sees (one saved visit is one, however many fields it set).
    pub async fn unsynced_records(&self) -> Result<usize, StorageError> {
        Ok(fieldbook_core::account::records_changed(
            &self.outbox().await?,
        ))
    }

    /// Every change waiting to be synced, by device, then in change-number
    /// order.
    pub async fn outbox(&self) -> Result<Vec<Change>, StorageError> {
        let tx = Tx::begin(&self.db, &[OUTBOX], Mode::Read)?;
        let body =
            async { self.decode_all(&idb::request(tx.store(OUTBOX)?.get_all()?).await?) }.await;
        finish(tx, body).await
    }

    /// The clock and the next change number, as stored.
    pub async fn sync_meta(&self) -> Result<SyncMeta, StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::Read)?;
        let body = read_sync_meta(&tx).await;
        finish(tx, body).await
    }

    /// Test hook: the next write fails at `point`, inside its transaction.
    #[doc(hidden)]
    pub fn fail_next_write(&self, point: FailPoint) {
        self.fail.set(point);
    }

    /// Whether the armed hook fires at `point` (once).
    fn trips(&self, point: FailPoint) -> bool {
        let fires = self.fail.get() == point && point != FailPoint::Never;
        if fires {
            self.fail.set(FailPoint::Never);
        }
        fires
    }

    /// Keeps `list`, the Today list computed from the records as they are
    /// now, for [`kept_today_list`] (best effort: a full `localStorage`
    /// only means the next start shows "reading" instead). Every
    /// transaction that writes records drops it before it commits (see
    /// [`put_meta`](Store::put_meta)), so what is kept was computed after
    /// the last write — or, at worst, from records a moment older when a
    /// write lands between computing and keeping; the live list replaces it
    /// once the records are read either way.
    ///
    /// With the lock on nothing is kept: the list names people, and
    /// `localStorage` is plaintext.
    pub fn keep_today_list<T: Serialize>(&self, list: &T) {
        if self.lock.borrow().info.is_some() {
            <LocalStorage as Storage>::delete(&self.today_key);
            return;
        }
        let _ = <LocalStorage as Storage>::set(&self.today_key, list);
    }

    /// Puts `value` at `key` in `meta`: every write transaction's last
    /// request. Every transaction that writes records calls it, so it also
    /// drops the kept Today list ([`keep_today_list`](Store::keep_today_list)),
    /// which those records may change, before the transaction can commit.
    /// With [`FailPoint::QuotaOnMetaPut`] armed, it throws the
    /// browser's quota `DOMException` instead, after everything else of the
    /// transaction was issued.
    fn put_meta<T: Serialize>(&self, tx: &Tx, key: &str, value: &T) -> Result<(), StorageError> {
        if self.trips(FailPoint::QuotaOnMetaPut) {
            let quota = web_sys::DomException::new_with_message_and_name(
                "simulated: the quota has been exceeded",
                "QuotaExceededError",
            )?;
            return Err(StorageError::from_js(&quota.into()));
        }
        <LocalStorage as Storage>::delete(&self.today_key);
        tx.store(META)?
            .put_with_key(&plain_js(value)?, &JsValue::from_str(key))?;
        Ok(())
    }
}

/// Each record of `records` with its kind, as JSON.
fn push_json<R: Record>(
    out: &mut Vec<(RecordKind, Value)>,
    kind: RecordKind,
    records: &[R],
) -> Result<(), StorageError> {
    for record in records {
        out.push((kind, serde_json::to_value(record)?));
    }
    Ok(())
}

/// `meta["local_only"]`: when [`Store::save_all`] first wrote records that
/// no server has.
#[derive(Serialize)]
struct LocalOnly {
    loaded_at_ms: u64,
}

/// Ends a transaction after its body ran: commits when the body succeeded
/// and waits for the commit; aborts (rolling back every write made) when it
/// failed. A quota error the browser reports on the transaction wins over
/// the body's own error, so that the worker hears "storage full".
async fn finish<T>(tx: Tx, body: Result<T, StorageError>) -> Result<T, StorageError> {
    match body {
        Ok(value) => tx
            .commit()
            .await
            .map(|()| value)
            .map_err(StorageError::from),
        Err(error) => match tx.abort().await.map(|e| StorageError::from_js(&e.into())) {
            Some(StorageError::QuotaExceeded) => Err(StorageError::QuotaExceeded),
            _ => Err(error),
        },
    }
}

/// This device's id from `meta`, made and stored on the first open. The
/// read and the write share one transaction, so two tabs opening a new
/// database at once agree on one id.
async fn device_of(db: &IdbDatabase) -> Result<DeviceId, StorageError> {
    // Every open but the first finds it: a read-only look first, so that an
    // ordinary start waits for no write (a strict write waits for the disk).
    let tx = Tx::begin(db, &[META], Mode::Read)?;
    let body = async {
        let stored = idb::request(tx.store(META)?.get(&JsValue::from_str(DEVICE_KEY))?).await?;
        Ok(stored.as_string().and_then(|s| Id::parse_str(&s).ok()))
    }
    .await;
    if let Some(id) = finish(tx, body).await? {
        return Ok(DeviceId(id));
    }
    let tx = Tx::begin(db, &[META], Mode::WriteStrict)?;
    let body = async {
        let meta = tx.store(META)?;
        let key = JsValue::from_str(DEVICE_KEY);
        let stored = idb::request(meta.get(&key)?).await?;
        if let Some(id) = stored.as_string().and_then(|s| Id::parse_str(&s).ok()) {
            return Ok(DeviceId(id));
        }
        let device = DeviceId(new_v4()?);
        meta.put_with_key(&JsValue::from_str(&device.0.to_string()), &key)?;
        Ok(device)
    }
    .await;
    finish(tx, body).await
}

/// A random (v4) UUID from `crypto.getRandomValues`, which, unlike
/// `crypto.randomUUID`, also works on a plain-HTTP page (a township server
/// on the local network without a certificate).
fn new_v4() -> Result<Id, StorageError> {
    let crypto = web_sys::window()
        .ok_or_else(|| StorageError::Unavailable("no window".into()))?
        .crypto()?;
    let mut bytes = [0u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

impl Store {
    /// A record's merge state, if stored. A compact one (see
    /// [`write_state`](Store::write_state)) is rebuilt from the stored
    /// record.
    async fn read_state(
        &self,
        tx: &Tx,
        record: &RecordRef,
    ) -> Result<Option<RecordState>, StorageError> {
        let key = JsValue::from_str(&schema::record_key(record));
        let stored = idb::request(tx.store(STATES)?.get(&key)?).await?;
        if stored.is_undefined() {
            return Ok(None);
        }
        let id = JsValue::from_str(&record.id.to_string());
        let json = idb::request(tx.store(store_of(record.kind))?.get(&id)?).await?;
        self.decode_state(record.kind, &stored, &json)
    }

    /// A stored merge state (the core's [`StoredState`]): the full one, or
    /// `{"created": …}` rebuilt from the stored record `json` (`None` if
    /// that record is missing). Either may be sealed.
    fn decode_state(
        &self,
        kind: RecordKind,
        stored: &JsValue,
        json: &JsValue,
    ) -> Result<Option<RecordState>, StorageError> {
        let stored: StoredState = self.decode(stored)?;
        let record: Option<Value> = match stored {
            StoredState::Created { .. } if !json.is_undefined() => Some(self.decode(json)?),
            _ => None,
        };
        Ok(stored.into_state(kind, record.as_ref())?)
    }

    /// Puts a record's merge state and its open conflicts (deleting the
    /// entry when it has none). `record` is the record being stored with
    /// it: a state that holds only the record's creation (most records) is
    /// kept as `{"created": {ts, device, first_seq}}` and rebuilt from the
    /// record — a few dozen bytes instead of every change in full — and any
    /// other is kept compacted ([`RecordState::to_stored`]; this phone's
    /// own changes may still come back from the server with a lower stamp).
    fn write_state(
        &self,
        tx: &Tx,
        state: &RecordState,
        record: &Value,
    ) -> Result<(), StorageError> {
        self.write_state_kept(tx, state, record, true)
    }

    /// [`write_state`](Store::write_state), told whether the record may have
    /// conflicts kept already: when it cannot, no delete is issued for a
    /// record without conflicts (one request fewer a record).
    fn write_state_kept(
        &self,
        tx: &Tx,
        state: &RecordState,
        record: &Value,
        may_be_kept: bool,
    ) -> Result<(), StorageError> {
        let key = JsValue::from_str(&schema::record_key(&state.record()));
        let value = state.to_stored(record, Some(self.device));
        tx.store(STATES)?
            .put_with_key(&self.value_js(&value)?, &key)?;
        let conflicts: Vec<Conflict> = state.conflicts().collect();
        let kept = tx.store(CONFLICTS)?;
        if !conflicts.is_empty() {
            kept.put_with_key(&self.value_js(&conflicts)?, &key)?;
        } else if may_be_kept {
            kept.delete(&key)?;
        }
        Ok(())
    }
}

async fn read_sync_meta(tx: &Tx) -> Result<SyncMeta, StorageError> {
    let stored = idb::request(tx.store(META)?.get(&JsValue::from_str(SYNC_KEY))?).await?;
    if stored.is_undefined() {
        return Ok(SyncMeta::default());
    }
    plain_from_js(&stored)
}

// ---------------------------------------------------------------------------
// The value encoding, and the sealing layer in it.
//
// Every value that can hold personal data goes through `record_js`,
// `change_js` or `value_js` on the way in and `decode` / `decode_all` on the
// way out; `meta` (device id, clock, cursor, schema, the lock's wrapped
// keys: no personal data) goes through `plain_js` / `plain_from_js`. With the
// lock off a value is its serde JSON as a plain object, as before. With the
// lock on it is `{<key path fields>, "sealed": Uint8Array}`: the key path
// stays in plaintext (IndexedDB reads it: `id` of a record; `device` and
// `seq` of an outbox change; nothing for `states` and `conflicts`, whose
// keys are out-of-line), the whole value's JSON is AES-256-GCM under the
// data key. Reading accepts both forms, so a bulk change of mode can be
// interrupted and resumed.
// ---------------------------------------------------------------------------

/// The field of a sealed value that holds its ciphertext.
const SEALED_FIELD: &str = "sealed";
/// Kept in plaintext in a sealed record: its key path.
const RECORD_KEY_PATH: &[&str] = &["id"];
/// Kept in plaintext in a sealed outbox change: its key path.
const CHANGE_KEY_PATH: &[&str] = &["device", "seq"];
/// Random bytes taken from `crypto.getRandomValues` at a time for nonces
/// (its most per call).
const NONCE_POOL_BYTES: usize = 65_536;

/// The store's lock: the mode the database is in and, while unlocked, the
/// data key. Shared by every clone of a [`Store`], so locking one locks all.
#[derive(Debug, Default)]
pub(crate) struct LockState {
    /// `meta["lock"]` as last read or written; `None`: the lock is off.
    pub(crate) info: Option<LockInfo>,
    /// The data key while unlocked.
    pub(crate) key: Option<Rc<DataKey>>,
    /// Random bytes for the next nonces.
    nonces: Vec<u8>,
}

impl Store {
    /// A record for its store (sealed but for `id` when the lock is on).
    fn record_js<T: Serialize + ?Sized>(&self, value: &T) -> Result<JsValue, StorageError> {
        self.seal_js(value, RECORD_KEY_PATH)
    }

    /// An outbox change (sealed but for `device` and `seq` when the lock is
    /// on).
    fn change_js<T: Serialize + ?Sized>(&self, value: &T) -> Result<JsValue, StorageError> {
        self.seal_js(value, CHANGE_KEY_PATH)
    }

    /// A value of an out-of-line-keyed store holding personal data
    /// (`states`, `conflicts`): wholly sealed when the lock is on.
    fn value_js<T: Serialize + ?Sized>(&self, value: &T) -> Result<JsValue, StorageError> {
        self.seal_js(value, &[])
    }

    /// A record as the server sent it (a snapshot page's body), for its
    /// store: as it is, or sealed but for `id` when the lock is on.
    fn record_raw(&self, value: &JsValue) -> Result<JsValue, StorageError> {
        self.seal_raw(value, RECORD_KEY_PATH)
    }

    /// A value as the server sent it (a snapshot page's merge state), for
    /// an out-of-line-keyed store: as it is, or wholly sealed.
    fn value_raw(&self, value: &JsValue) -> Result<JsValue, StorageError> {
        self.seal_raw(value, &[])
    }

    /// `value` (already a plain object) as stored: unchanged, or its JSON
    /// text sealed keeping the fields `keep`.
    fn seal_raw(&self, value: &JsValue, keep: &[&str]) -> Result<JsValue, StorageError> {
        let Some(key) = self.write_key()? else {
            return Ok(value.clone());
        };
        let text = js_sys::JSON::stringify(value)?
            .as_string()
            .ok_or_else(|| StorageError::other("a value to store is not JSON"))?;
        let mut kept = Vec::new();
        for field in keep {
            let value = js_sys::Reflect::get(value, &JsValue::from_str(field))?;
            if !value.is_undefined() {
                kept.push((*field, value));
            }
        }
        self.sealed_object(&key, text.as_bytes(), kept)
    }

    /// The key new writes are sealed with: `None` with the lock off or
    /// being turned off; refused while locked.
    fn write_key(&self) -> Result<Option<Rc<DataKey>>, StorageError> {
        let lock = self.lock.borrow();
        match &lock.info {
            None => Ok(None),
            Some(info) if info.mode == LockMode::Unsealing => Ok(None),
            Some(_) => lock.key.clone().map(Some).ok_or(StorageError::Locked),
        }
    }

    /// The next nonce: never the same twice under one key (96 random bits).
    fn nonce(&self) -> Result<[u8; seal::NONCE_LEN], StorageError> {
        let mut lock = self.lock.borrow_mut();
        if lock.nonces.len() < seal::NONCE_LEN {
            lock.nonces = seal::random_bytes::<NONCE_POOL_BYTES>()?.to_vec();
        }
        let at = lock.nonces.len() - seal::NONCE_LEN;
        let mut nonce = [0u8; seal::NONCE_LEN];
        nonce.copy_from_slice(&lock.nonces[at..]);
        lock.nonces.truncate(at);
        Ok(nonce)
    }

    /// `value` as stored: plain, or sealed keeping the fields `keep`.
    fn seal_js<T: Serialize + ?Sized>(
        &self,
        value: &T,
        keep: &[&str],
    ) -> Result<JsValue, StorageError> {
        let Some(key) = self.write_key()? else {
            return plain_js(value);
        };
        // The text as serialized (field order kept), so that turning the
        // lock off gives back exactly what was stored before.
        let text = serde_json::to_vec(value)?;
        let mut kept = Vec::new();
        if !keep.is_empty() {
            let json = serde_json::to_value(value)?;
            for field in keep {
                if let Some(value) = json.get(*field) {
                    kept.push((*field, plain_js(value)?));
                }
            }
        }
        self.sealed_object(&key, &text, kept)
    }

    /// `{<kept fields>, "sealed": <text sealed under key>}`.
    fn sealed_object(
        &self,
        key: &DataKey,
        text: &[u8],
        kept: Vec<(&str, JsValue)>,
    ) -> Result<JsValue, StorageError> {
        let sealed = key.seal(self.nonce()?, text, b"");
        let object = js_sys::Object::new();
        for (field, value) in kept {
            js_sys::Reflect::set(&object, &JsValue::from_str(field), &value)?;
        }
        js_sys::Reflect::set(
            &object,
            &JsValue::from_str(SEALED_FIELD),
            &js_sys::Uint8Array::from(&sealed[..]),
        )?;
        Ok(object.into())
    }

    /// Whether a stored value is sealed.
    fn is_sealed(value: &JsValue) -> bool {
        value.is_object()
            && js_sys::Reflect::get(value, &JsValue::from_str(SEALED_FIELD))
                .is_ok_and(|b| b.is_instance_of::<js_sys::Uint8Array>())
    }

    /// The ciphertext of a sealed stored value, `None` for a plain one.
    fn sealed_bytes(value: &JsValue) -> Option<Vec<u8>> {
        if !value.is_object() {
            return None;
        }
        js_sys::Reflect::get(value, &JsValue::from_str(SEALED_FIELD))
            .ok()
            .and_then(|b| b.dyn_into::<js_sys::Uint8Array>().ok())
            .map(|b| b.to_vec())
    }

    /// The JSON text of a stored value, opening it if sealed.
    fn json_text(&self, value: &JsValue) -> Result<Vec<u8>, StorageError> {
        match Store::sealed_bytes(value) {
            Some(sealed) => {
                let key = self.lock.borrow().key.clone().ok_or(StorageError::Locked)?;
                key.open(&sealed, b"")
                    .map_err(|_| StorageError::other("a sealed value does not open with this key"))
            }
            None => Ok(js_sys::JSON::stringify(value)?
                .as_string()
                .ok_or_else(|| StorageError::other("a stored value is not JSON"))?
                .into_bytes()),
        }
    }

    /// A stored value (sealed or plain) back into its Rust type.
    fn decode<T: DeserializeOwned>(&self, value: &JsValue) -> Result<T, StorageError> {
        Ok(serde_json::from_slice(&self.json_text(value)?)?)
    }

    /// Every element of a `getAll` result, sealed or plain.
    fn decode_all<T: DeserializeOwned>(&self, list: &JsValue) -> Result<Vec<T>, StorageError> {
        let Some(array) = list.dyn_ref::<js_sys::Array>() else {
            return Err(StorageError::other("getAll did not return an array"));
        };
        if self.lock.borrow().info.is_none() {
            // One JSON text for the whole list, parsed once: far fewer
            // crossings between JavaScript and wasm than a stringify per
            // record (the app loads some 31,000 records at start).
            return plain_from_js(list);
        }
        // One JSON text too, made of each value's own.
        let mut text = Vec::with_capacity(array.length() as usize * 256);
        text.push(b'[');
        for (i, value) in array.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            text.extend_from_slice(&self.json_text(&value)?);
        }
        text.push(b']');
        Ok(serde_json::from_slice(&text)?)
    }
}

/// A value as a plain JavaScript object: its serde JSON, parsed. Only for
/// what holds no personal data (`meta`); everything else goes through the
/// sealing layer above.
fn plain_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, StorageError> {
    let text = serde_json::to_string(value)?;
    Ok(js_sys::JSON::parse(&text)?)
}

/// A plain stored object back into its Rust type, through its JSON text.
fn plain_from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, StorageError> {
    let text = js_sys::JSON::stringify(value)?
        .as_string()
        .ok_or_else(|| StorageError::other("a stored value is not JSON"))?;
    Ok(serde_json::from_str(&text)?)
}

/// Bytes used and the quota, from `navigator.storage.estimate()`; `None`
/// where the browser does not say (or on native targets).
pub async fn estimate() -> Option<(f64, f64)> {
    if !cfg!(target_arch = "wasm32") {
        return None;
    }
    let navigator = web_sys::window()?.navigator();
    if !js_sys::Reflect::has(&navigator, &JsValue::from_str("storage")).unwrap_or(false) {
        return None;
    }
    let promise = navigator.storage().estimate().ok()?;
    let estimate = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let field = |name: &str| {
        js_sys::Reflect::get(&estimate, &JsValue::from_str(name))
            .ok()?
            .as_f64()
    };
    Some((field("usage")?, field("quota")?))
}

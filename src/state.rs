//! The app's records as the pages see them: a [`Dataset`] signal loaded from
//! the store once, and the one way to change it — [`AppState::save`], which
//! writes the record and its outbox entry first and updates the signal only
//! after the store has acknowledged the write.

use chrono::NaiveDate;
use fieldbook_core::{Dataset, Household, Person, Tick, Village, Visit, WorkPlan};
use leptos::prelude::*;

use crate::storage::{Record, StorageError, Store};

/// Where loading the records stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStatus {
    /// Opening the database and reading the records.
    Loading,
    /// The records are in [`AppState::data`].
    Ready,
    /// The store could not be opened; the message is for the worker.
    Failed(StorageError),
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
    store: StoredValue<Option<Store>, LocalStorage>,
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
        store.save(before.as_ref(), &after, now_ms()).await?;
        self.data.update(|d| after.upsert(d));
        if let Ok(count) = store.outbox_len().await {
            self.unsynced.set(count);
        }
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
        if let Ok(count) = store.outbox_len().await {
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
        if let Ok(count) = store.outbox_len().await {
            self.unsynced.set(count);
        }
        Ok(merged.summary)
    }
}

/// Provides [`AppState`] and starts loading the records from the store.
pub fn provide_app_state() -> AppState {
    let state = AppState {
        data: RwSignal::new(Dataset::new()),
        status: RwSignal::new(LoadStatus::Loading),
        unsynced: RwSignal::new(0),
        store: StoredValue::new_local(None),
    };
    provide_context(state);
    leptos::task::spawn_local(async move {
        let opened = async {
            let store = Store::open().await?;
            let data = store.load().await?;
            let unsynced = store.outbox_len().await?;
            Ok::<_, StorageError>((store, data, unsynced))
        };
        match opened.await {
            Ok((store, data, unsynced)) => {
                state.store.set_value(Some(store));
                state.data.set(data);
                state.unsynced.set(unsynced);
                state.status.set(LoadStatus::Ready);
            }
            Err(error) => state.status.set(LoadStatus::Failed(error)),
        }
    });
    state
}

/// The [`AppState`] provided by [`provide_app_state`].
///
/// # Panics
/// Outside a component tree that called [`provide_app_state`].
pub fn use_app_state() -> AppState {
    expect_context::<AppState>()
}

/// Milliseconds since the Unix epoch, from the browser's clock. The edge of
/// the app is the only place that reads a clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
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

//! The phone's record store: IndexedDB (CONTRACT STUB — being implemented).
//!
//! Contract the pages rely on:
//! - [`Store::open`] opens (and migrates) the database; one per app.
//! - [`Store::load`] reads every record into a [`Dataset`].
//! - [`Store::save`] writes one record and its outbox changes in ONE
//!   transaction: either both are stored or neither.
//! - [`Store::outbox_len`] counts unsynced changes.
//! - [`estimate`] reports used and available bytes.

use fieldbook_core::Dataset;
use fieldbook_core::sync::{DeviceId, RecordKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A record kind the store keeps.
pub trait Record: Serialize + DeserializeOwned + Clone + 'static {
    /// Which object store.
    const KIND: RecordKind;
    /// The record's id.
    fn id(&self) -> uuid::Uuid;
}

/// Why a storage operation failed; each has a message for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The browser's storage quota is full.
    QuotaExceeded,
    /// IndexedDB is missing, blocked or closed.
    Unavailable(String),
    /// Something else went wrong; the detail is for the log.
    Other(String),
}

impl StorageError {
    /// What happened and what to do, in Chinese.
    pub fn zh(&self) -> &'static str {
        "无法保存到本机"
    }

    /// What happened and what to do, in English.
    pub fn en(&self) -> &'static str {
        "Could not save on this phone"
    }
}

/// The record store.
#[derive(Clone, Debug)]
pub struct Store {
    device: DeviceId,
}

impl Store {
    /// Opens the app's database.
    pub async fn open() -> Result<Store, StorageError> {
        Err(StorageError::Unavailable("not implemented".into()))
    }

    /// This device's id, made once and kept.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// Every record.
    pub async fn load(&self) -> Result<Dataset, StorageError> {
        Ok(Dataset::new())
    }

    /// Writes `after` (whose stored version was `before`) with its outbox
    /// changes, stamped from `now_ms`, in one transaction.
    pub async fn save<R: Record>(
        &self,
        _before: Option<&R>,
        _after: &R,
        _now_ms: f64,
    ) -> Result<(), StorageError> {
        Err(StorageError::Other("not implemented".into()))
    }

    /// Stores a whole dataset in a few large transactions.
    pub async fn save_all(
        &self,
        _dataset: &Dataset,
        _now_ms: f64,
        _progress: impl FnMut(usize, usize),
    ) -> Result<(), StorageError> {
        Err(StorageError::Other("not implemented".into()))
    }

    /// How many changes wait to be synced.
    pub async fn outbox_len(&self) -> Result<usize, StorageError> {
        Ok(0)
    }
}

/// Bytes used and the quota, from `navigator.storage.estimate()`.
pub async fn estimate() -> Option<(f64, f64)> {
    None
}

macro_rules! record {
    ($ty:ty, $kind:ident) => {
        impl Record for $ty {
            const KIND: RecordKind = RecordKind::$kind;
            fn id(&self) -> uuid::Uuid {
                self.id
            }
        }
    };
}
record!(fieldbook_core::Village, Village);
record!(fieldbook_core::Household, Household);
record!(fieldbook_core::Person, Person);
record!(fieldbook_core::Visit, Visit);
record!(fieldbook_core::WorkPlan, Plan);
record!(fieldbook_core::Tick, Tick);

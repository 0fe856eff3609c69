//! Reading the records at a cold start, in phases (see `state.rs`):
//!
//! 1. [`Store::load_without_visits`]: villages, households, persons, plans
//!    and ticks (a few thousand records) in one read transaction — enough
//!    for search, the household pages and every form.
//! 2. [`Store::visits_after`]: the visits (tens of thousands) a chunk at a
//!    time, each chunk its own short read transaction over a key range of
//!    the `visits` store (ids after the last one read, at most `limit`), so
//!    that the app yields to input between chunks and no transaction stays
//!    open for long (a save of a visit waits for one chunk at most). The
//!    read is issued at once and awaited later, so that the next chunk is
//!    read while the last one is decoded ([`Store::decode_visits`],
//!    [`last_id`]). [`Store::load_visits_after`] does both in one call.
//!
//! [`Store::load`] still reads everything at once (backups, tests).

use std::future::Future;

use fieldbook_core::{Dataset, Id, Visit};
use wasm_bindgen::{JsCast, JsValue};

use super::idb::{self, Mode, Tx};
use super::schema::{HOUSEHOLDS, PERSONS, PLANS, TICKS, VILLAGES, VISITS};
use super::{StorageError, Store, finish};

impl Store {
    /// Every record but the visits (`visits` left empty), each list in id
    /// order. Refused with [`StorageError::Locked`] while locked.
    pub async fn load_without_visits(&self) -> Result<Dataset, StorageError> {
        if self.is_locked() {
            return Err(StorageError::Locked);
        }
        const STORES: [&str; 5] = [VILLAGES, HOUSEHOLDS, PERSONS, PLANS, TICKS];
        let tx = Tx::begin(&self.db, &STORES, Mode::Read)?;
        let body = async {
            // All five reads are under way before the first is awaited.
            let reads = STORES
                .iter()
                .map(|name| Ok(idb::request(tx.store(name)?.get_all()?)))
                .collect::<Result<Vec<_>, JsValue>>()?;
            let mut lists = Vec::with_capacity(reads.len());
            for read in reads {
                lists.push(read.await?);
            }
            let [villages, households, persons, plans, ticks] = &lists[..] else {
                unreachable!("one read per store");
            };
            Ok(Dataset {
                villages: self.decode_all(villages)?,
                households: self.decode_all(households)?,
                persons: self.decode_all(persons)?,
                plans: self.decode_all(plans)?,
                ticks: self.decode_all(ticks)?,
                ..Dataset::new()
            })
        }
        .await;
        finish(tx, body).await
    }

    /// At most `limit` visits whose ids come after `after` (all from the
    /// first when `None`), in id order: one chunk of a cold start's
    /// background read. An empty list means every visit has been read.
    /// Refused with [`StorageError::Locked`] while locked.
    pub async fn load_visits_after(
        &self,
        after: Option<Id>,
        limit: u32,
    ) -> Result<Vec<Visit>, StorageError> {
        let list = self.visits_after(after, limit)?.await?;
        self.decode_visits(&list)
    }

    /// Issues the read of at most `limit` visits after `after` now (in its
    /// own read transaction) and answers the future of the stored values,
    /// still undecoded: await it later, decode with
    /// [`decode_visits`](Store::decode_visits).
    pub fn visits_after(
        &self,
        after: Option<Id>,
        limit: u32,
    ) -> Result<impl Future<Output = Result<js_sys::Array, StorageError>> + use<>, StorageError>
    {
        if self.is_locked() {
            return Err(StorageError::Locked);
        }
        let tx = Tx::begin(&self.db, &[VISITS], Mode::Read)?;
        let store = tx.store(VISITS)?;
        let request = match after {
            // Ids are stored as their hyphenated lowercase text, which sorts
            // as the ids do.
            Some(after) => {
                let range = web_sys::IdbKeyRange::lower_bound_with_open(
                    &JsValue::from_str(&after.to_string()),
                    true,
                )?;
                store.get_all_with_key_and_limit(&range, limit)?
            }
            None => store.get_all_with_key_and_limit(&JsValue::UNDEFINED, limit)?,
        };
        // The handlers are attached now: the read runs while the caller
        // does other work. A read-only transaction commits by itself.
        let read = idb::request(request);
        Ok(async move {
            let _tx = tx;
            let list = read.await?;
            list.dyn_into::<js_sys::Array>()
                .map_err(|_| StorageError::other("getAll did not return an array"))
        })
    }

    /// The visits of a [`visits_after`](Store::visits_after) read.
    pub fn decode_visits(&self, list: &js_sys::Array) -> Result<Vec<Visit>, StorageError> {
        self.decode_all(list)
    }

    /// How many visits the store holds (tombstones included).
    pub async fn count_visits(&self) -> Result<usize, StorageError> {
        let tx = Tx::begin(&self.db, &[VISITS], Mode::Read)?;
        let body = async {
            let count = idb::request(tx.store(VISITS)?.count()?).await?;
            // A count is a whole number.
            Ok(count.as_f64().unwrap_or(0.0) as usize)
        }
        .await;
        finish(tx, body).await
    }
}

/// The id of the last value of a [`Store::visits_after`] read (kept in
/// plaintext with the lock on too): where the next read starts.
pub fn last_id(list: &js_sys::Array) -> Option<Id> {
    if list.length() == 0 {
        return None;
    }
    js_sys::Reflect::get(&list.get(list.length() - 1), &JsValue::from_str("id"))
        .ok()?
        .as_string()
        .and_then(|s| Id::parse_str(&s).ok())
}

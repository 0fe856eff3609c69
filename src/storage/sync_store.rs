//! The store's side of sync: taking in pulled changes through the core's
//! merge, dropping acknowledged changes from the outbox, settling a
//! conflict, and the pull cursor. Each is one transaction.

use std::collections::{BTreeMap, BTreeSet};

use fieldbook_core::sync::{Change, ChangeId, RecordRef, RecordState, Replica};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::idb::{self, Mode, Tx};
use super::schema::{
    CONFLICTS, META, OUTBOX, PULL_KEY, RECORD_STORES, STATES, SYNC_KEY, record_key, store_of,
};
use super::{FailPoint, StorageError, Store, finish, plain_from_js, plain_js, read_sync_meta};

/// Where pulling stands with one server: the cursor of the last page taken
/// in whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullState {
    /// The server (its address) the cursor belongs to.
    pub server: String,
    /// The last cursor applied; 0 for none.
    pub cursor: u64,
}

/// What taking in a page of pulled changes did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Every record the page changed, rebuilt from its merge state, as
    /// (kind, JSON object): what the pages must show now.
    pub records: Vec<(fieldbook_core::sync::RecordKind, Value)>,
    /// Records whose values do not form a whole record yet (a change still
    /// to come): kept in their merge state, not shown.
    pub incomplete: usize,
}

impl Store {
    /// The pull cursor for `server` (0 when none, or kept for another
    /// server).
    pub async fn pull_cursor(&self, server: &str) -> Result<u64, StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::Read)?;
        let body = async {
            let stored = idb::request(tx.store(META)?.get(&JsValue::from_str(PULL_KEY))?).await?;
            if stored.is_undefined() {
                return Ok(0);
            }
            let state: PullState = plain_from_js(&stored)?;
            Ok(if state.server == server {
                state.cursor
            } else {
                0
            })
        }
        .await;
        finish(tx, body).await
    }

    /// Takes in one page of pulled changes and moves the cursor to
    /// `next_cursor`, in one transaction: each touched record's merge state
    /// takes the changes (the same merge as the server's), the record is
    /// rebuilt from it, its conflicts kept, and the clock moves past the
    /// page's stamps. A crash before the commit leaves the old cursor, so
    /// the page comes again; applying a change twice changes nothing.
    pub async fn apply_pulled(
        &self,
        server: &str,
        changes: &[Change],
        next_cursor: u64,
        now_ms: f64,
    ) -> Result<Applied, StorageError> {
        let touched: BTreeSet<RecordRef> = changes.iter().map(|c| c.record).collect();
        let mut scope = RECORD_STORES.to_vec();
        scope.extend([STATES, CONFLICTS, META]);
        // The browser's default durability, not "strict": nothing of a pulled
        // page was acknowledged to the worker, and its cursor commits with
        // it, so a page lost to a crash is simply pulled again.
        let tx = Tx::begin(&self.db, &scope, Mode::WriteBulk)?;
        let body = async {
            let mut meta = read_sync_meta(&tx).await?;
            // Every read issued before the first is awaited.
            let reads: Vec<_> = touched
                .iter()
                .map(|record| {
                    let key = JsValue::from_str(&record_key(record));
                    let state = idb::request(tx.store(STATES)?.get(&key)?);
                    let id = JsValue::from_str(&record.id.to_string());
                    let stored = idb::request(tx.store(store_of(record.kind))?.get(&id)?);
                    Ok::<_, JsValue>((*record, state, stored))
                })
                .collect::<Result<_, _>>()?;
            let mut states = Vec::new();
            for (record, state, stored) in reads {
                let state = state.await?;
                let stored = stored.await?;
                let decoded = if state.is_undefined() {
                    None
                } else {
                    self.decode_state(record.kind, &state, &stored)?
                };
                states.push(if let Some(decoded) = decoded {
                    decoded
                } else if !stored.is_undefined() {
                    RecordState::from_snapshot(record.kind, &self.decode::<Value>(&stored)?)?
                } else {
                    RecordState::new(record)
                });
            }
            let mut replica = Replica::from_records(states);
            let now = now_ms.max(0.0) as u64;
            for change in changes {
                replica.apply(change.clone());
                meta.clock.observe(change.ts, now);
            }
            let mut applied = Applied::default();
            for record in &touched {
                let Some(state) = replica.record(record) else {
                    continue;
                };
                match state.materialize() {
                    Ok(object) => {
                        let json = Value::Object(object);
                        self.write_state(&tx, state, &json)?;
                        tx.store(store_of(record.kind))?
                            .put(&self.record_js(&json)?)?;
                        applied.records.push((record.kind, json));
                    }
                    Err(_) => {
                        self.write_state(&tx, state, &Value::Null)?;
                        applied.incomplete += 1;
                    }
                }
            }
            if self.trips(FailPoint::AfterRecordPut) {
                return Err(StorageError::other("simulated failure after the records"));
            }
            let pull = PullState {
                server: server.to_string(),
                cursor: next_cursor,
            };
            tx.store(META)?
                .put_with_key(&plain_js(&pull)?, &JsValue::from_str(PULL_KEY))?;
            self.put_meta(&tx, SYNC_KEY, &meta)?;
            Ok(applied)
        }
        .await;
        finish(tx, body).await
    }

    /// Drops the changes the server acknowledged from the outbox.
    pub async fn acknowledge(&self, accepted: &[ChangeId]) -> Result<(), StorageError> {
        if accepted.is_empty() {
            return Ok(());
        }
        let tx = Tx::begin(&self.db, &[OUTBOX], Mode::WriteStrict)?;
        let body = async {
            let outbox = tx.store(OUTBOX)?;
            for id in accepted {
                let key = js_sys::Array::of2(
                    &JsValue::from_str(&id.device.0.to_string()),
                    &JsValue::from_f64(id.seq as f64),
                );
                outbox.delete(&key)?;
            }
            Ok(())
        }
        .await;
        finish(tx, body).await
    }

    /// Settles a conflict: a change of this phone setting `field` of
    /// `record` to `value` and superseding every value the field holds. It
    /// is saved and synced like any edit. Returns the record rebuilt.
    pub async fn settle(
        &self,
        record: RecordRef,
        field: &str,
        value: Value,
        now_ms: f64,
    ) -> Result<Value, StorageError> {
        let store = store_of(record.kind);
        let tx = Tx::begin(
            &self.db,
            &[store, OUTBOX, STATES, CONFLICTS, META],
            Mode::WriteStrict,
        )?;
        let body = async {
            let mut meta = read_sync_meta(&tx).await?;
            let mut state = self
                .read_state(&tx, &record)
                .await?
                .ok_or_else(|| StorageError::other("no merge state for this record"))?;
            let field_state = state
                .field(field)
                .ok_or_else(|| StorageError::other("the record has no such field"))?;
            let latest = field_state
                .changes()
                .map(|c| c.ts)
                .max()
                .unwrap_or_default();
            meta.clock.observe(latest, now_ms.max(0.0) as u64);
            let ts = meta.clock.tick(now_ms.max(0.0) as u64);
            let change = field_state.settle(value, ts, self.device, meta.next_seq);
            meta.next_seq += 1;
            state.apply(change.clone());
            let object = state.materialize().map_err(StorageError::other)?;
            let json = Value::Object(object);
            tx.store(store)?.put(&self.record_js(&json)?)?;
            tx.store(OUTBOX)?.put(&self.change_js(&change)?)?;
            self.write_state(&tx, &state, &json)?;
            self.put_meta(&tx, SYNC_KEY, &meta)?;
            Ok(json)
        }
        .await;
        finish(tx, body).await
    }

    /// The outbox grouped by the device that made each change (this phone's,
    /// and other phones' brought by a backup), each in change-number order.
    pub async fn outbox_by_device(
        &self,
    ) -> Result<BTreeMap<fieldbook_core::sync::DeviceId, Vec<Change>>, StorageError> {
        let mut grouped: BTreeMap<_, Vec<Change>> = BTreeMap::new();
        for change in self.outbox().await? {
            grouped.entry(change.device).or_default().push(change);
        }
        Ok(grouped)
    }
}

//! The store's side of sync: taking in pulled changes through the core's
//! merge, dropping acknowledged changes from the outbox, settling a
//! conflict, and the pull cursor. Each is one transaction.

use std::collections::{BTreeMap, BTreeSet};

use fieldbook_core::records::AnyRecord;
use fieldbook_core::sync::{
    Change, ChangeId, Conflict, Hlc, RecordKind, RecordRef, RecordState, Replica,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use super::idb::{self, Mode, Tx};
use super::schema::{
    CONFLICTS, LOCAL_ONLY_KEY, META, OUTBOX, PULL_KEY, RECORD_STORES, SNAPSHOT_KEY, STATES,
    SYNC_KEY, record_key, store_of,
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
    /// Every record the page changed, rebuilt from its merge state (the
    /// values written, not read back): what the pages must show now.
    pub records: Vec<AnyRecord>,
    /// Records whose values do not form a whole record yet (a change still
    /// to come): kept in their merge state, not shown.
    pub incomplete: usize,
}

/// Where taking in a snapshot stands (`meta["snapshot"]` while it is
/// under way): its server, the cursor of its first page (where pulls start
/// once every page is in) and the last record taken in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotProgress {
    /// The server (its address).
    pub server: String,
    /// The first page's cursor; 0 before the first page.
    pub cursor: u64,
    /// The last record of the last page taken in.
    pub after: Option<RecordRef>,
    /// Records taken in so far (every page committed).
    #[serde(default)]
    pub received: u64,
    /// Records the whole snapshot holds, as the server's last page said
    /// (0: not said).
    #[serde(default)]
    pub total: u64,
}

/// What taking in one snapshot page did.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotPage {
    /// Where the snapshot stands now.
    pub progress: SnapshotProgress,
    /// Whether more pages wait.
    pub more: bool,
    /// Records in the page.
    pub records: usize,
    /// The server's clock.
    pub server_time_ms: u64,
    /// The records the page wrote, decoded once from the values put (never
    /// read back), in the page's order: for the app's memory. Not among
    /// them: a record this phone held already (left as it was) and one
    /// whose values do not form a record yet (`body: null`).
    pub written: Vec<AnyRecord>,
}

/// What a sync step needs of a snapshot page before taking it in, to ask
/// for the next one meanwhile: whether more wait, and after which record.
pub fn snapshot_page_next(page: &JsValue) -> Result<(bool, Option<RecordRef>), StorageError> {
    let more = field(page, "more")?.as_bool().unwrap_or(false);
    let records: js_sys::Array = field(page, "records")?
        .dyn_into()
        .map_err(|_| StorageError::other("a snapshot page without records"))?;
    let last = match records.length() {
        0 => None,
        n => Some(record_ref(&field(&records.get(n - 1), "record")?)?),
    };
    Ok((more, last))
}

/// A `RecordRef` given as a JavaScript object.
fn record_ref(record: &JsValue) -> Result<RecordRef, StorageError> {
    let kind = field(record, "kind")?.as_string().unwrap_or_default();
    let id = field(record, "id")?.as_string().unwrap_or_default();
    Ok(RecordRef {
        kind: RecordKind::from_name(&kind)
            .ok_or_else(|| StorageError::other("a snapshot record of an unknown kind"))?,
        id: fieldbook_core::Id::parse_str(&id)
            .map_err(|_| StorageError::other("a snapshot record without its id"))?,
    })
}

/// Records of one kind given as a JavaScript array of plain objects (the
/// bodies a page wrote), decoded through one JSON text. A body that does
/// not decode as its kind is left out (as the pages would leave it).
fn decode_bodies(kind: RecordKind, bodies: &js_sys::Array) -> Result<Vec<AnyRecord>, StorageError> {
    use fieldbook_core::{Household, Person, Tick, Village, Visit, WorkPlan};
    fn typed<R: serde::de::DeserializeOwned + Into<AnyRecord>>(
        text: &str,
    ) -> serde_json::Result<Vec<AnyRecord>> {
        Ok(serde_json::from_str::<Vec<R>>(text)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
    if bodies.length() == 0 {
        return Ok(Vec::new());
    }
    let text = js_sys::JSON::stringify(bodies)?
        .as_string()
        .ok_or_else(|| StorageError::other("a snapshot page's records are not JSON"))?;
    let all = match kind {
        RecordKind::Village => typed::<Village>(&text),
        RecordKind::Household => typed::<Household>(&text),
        RecordKind::Person => typed::<Person>(&text),
        RecordKind::Visit => typed::<Visit>(&text),
        RecordKind::Plan => typed::<WorkPlan>(&text),
        RecordKind::Tick => typed::<Tick>(&text),
    };
    match all {
        Ok(records) => Ok(records),
        // One at a time, leaving out what does not decode.
        Err(_) => Ok(serde_json::from_str::<Vec<Value>>(&text)?
            .into_iter()
            .filter_map(|json| AnyRecord::from_json(kind, json).ok())
            .collect()),
    }
}

/// What a sync step starts from: see [`Store::sync_start`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStart {
    /// The database holds records no server has (the demo village).
    pub local_only: bool,
    /// The unsynced changes by device, each in change-number order.
    pub outbox: BTreeMap<fieldbook_core::sync::DeviceId, Vec<Change>>,
    /// The pull cursor for the server.
    pub cursor: u64,
}

/// `object[key]`.
fn field(object: &JsValue, key: &str) -> Result<JsValue, StorageError> {
    Ok(js_sys::Reflect::get(object, &JsValue::from_str(key))?)
}

impl Store {
    /// Whether to take in a snapshot from `server` instead of pulling every
    /// change: when one is under way for it, or when this phone has pulled
    /// nothing from it and holds nothing (no record, no merge state, no
    /// unsynced change). Where to go on from, if so.
    pub async fn snapshot_point(
        &self,
        server: &str,
    ) -> Result<Option<SnapshotProgress>, StorageError> {
        let mut scope = RECORD_STORES.to_vec();
        scope.extend([STATES, OUTBOX, META]);
        let tx = Tx::begin(&self.db, &scope, Mode::Read)?;
        let body = async {
            let meta = tx.store(META)?;
            let pulled = idb::request(meta.get(&JsValue::from_str(PULL_KEY))?);
            let under_way = idb::request(meta.get(&JsValue::from_str(SNAPSHOT_KEY))?);
            let counts = scope[..scope.len() - 1]
                .iter()
                .map(|name| Ok(idb::request(tx.store(name)?.count()?)))
                .collect::<Result<Vec<_>, JsValue>>()?;
            let pulled = pulled.await?;
            let under_way = under_way.await?;
            let mut empty = true;
            for count in counts {
                empty &= count.await?.as_f64() == Some(0.0);
            }
            if !pulled.is_undefined() {
                let pulled: PullState = plain_from_js(&pulled)?;
                if pulled.server == server && pulled.cursor > 0 {
                    return Ok(None);
                }
            }
            if !under_way.is_undefined() {
                let progress: SnapshotProgress = plain_from_js(&under_way)?;
                if progress.server == server {
                    return Ok(Some(progress));
                }
            }
            Ok(empty.then(|| SnapshotProgress {
                server: server.to_string(),
                ..SnapshotProgress::default()
            }))
        }
        .await;
        finish(tx, body).await
    }

    /// Takes in one page of a snapshot (the server's `SnapshotResponse`, as
    /// the JavaScript object `response.json()` made: the records go into the
    /// stores as they came, never through Rust values) in one transaction:
    /// each record with its merge state and open conflicts, the clock past
    /// the page's latest stamp, and where the snapshot stands. The last
    /// page also sets the pull cursor to the first page's cursor. A record
    /// this phone holds a state for already (made here while the snapshot
    /// was under way) is left as it is: its changes reach the server, and
    /// come back, after the first page's cursor. A crash before the commit
    /// leaves the snapshot where it was: the page is fetched again.
    pub async fn apply_snapshot_page(
        &self,
        page: &JsValue,
        at: &SnapshotProgress,
        now_ms: f64,
    ) -> Result<SnapshotPage, StorageError> {
        let records: js_sys::Array = field(page, "records")?
            .dyn_into()
            .map_err(|_| StorageError::other("a snapshot page without records"))?;
        let number = |key: &str| -> Result<u64, StorageError> {
            field(page, key)?
                .as_f64()
                .map(|n| n as u64)
                .ok_or_else(|| StorageError::other(format!("a snapshot page without {key}")))
        };
        let cursor = number("cursor")?;
        let server_time_ms = number("server_time_ms")?;
        let more = field(page, "more")?.as_bool().unwrap_or(false);
        // An older server does not say: keep what an earlier page said.
        let total = field(page, "total")?
            .as_f64()
            .map_or(at.total, |n| n as u64);
        let max_ts: Hlc = plain_from_js(&field(page, "max_ts")?)?;
        let conflicts: Vec<Conflict> = plain_from_js(&field(page, "conflicts")?)?;

        // Each record's key and store, read once.
        let mut rows = Vec::with_capacity(records.length() as usize);
        for entry in records.iter() {
            let record = field(&entry, "record")?;
            let kind = field(&record, "kind")?.as_string().unwrap_or_default();
            let id = field(&record, "id")?.as_string().unwrap_or_default();
            let kind = RecordKind::from_name(&kind)
                .ok_or_else(|| StorageError::other("a snapshot record of an unknown kind"))?;
            rows.push((kind, format!("{}/{id}", kind.name()), id, entry));
        }
        let last = match rows.last() {
            Some((kind, _, id, _)) => Some(RecordRef {
                kind: *kind,
                id: fieldbook_core::Id::parse_str(id)
                    .map_err(|_| StorageError::other("a snapshot record without its id"))?,
            }),
            None => at.after,
        };
        let mut grouped: BTreeMap<String, Vec<&Conflict>> = BTreeMap::new();
        for conflict in &conflicts {
            grouped
                .entry(record_key(&conflict.record))
                .or_default()
                .push(conflict);
        }

        let mut scope = RECORD_STORES.to_vec();
        scope.extend([STATES, CONFLICTS, META]);
        // Default durability, as for pulls: nothing of it was acknowledged
        // to anyone, and a page lost is fetched again.
        let tx = Tx::begin(&self.db, &scope, Mode::WriteBulk)?;
        let body = async {
            let states = tx.store(STATES)?;
            // Two reads, both under way before either is awaited: the clock,
            // and the states held already within the page's key range.
            let meta = idb::request(tx.store(META)?.get(&JsValue::from_str(SYNC_KEY))?);
            let held = match (
                rows.iter().map(|r| &r.1).min(),
                rows.iter().map(|r| &r.1).max(),
            ) {
                (Some(low), Some(high)) => {
                    let range = web_sys::IdbKeyRange::bound(
                        &JsValue::from_str(low),
                        &JsValue::from_str(high),
                    )?;
                    Some(idb::request(states.get_all_keys_with_key(&range)?))
                }
                _ => None,
            };
            let meta = meta.await?;
            let mut meta: super::SyncMeta = if meta.is_undefined() {
                super::SyncMeta::default()
            } else {
                plain_from_js(&meta)?
            };
            let held: BTreeSet<String> = match held {
                Some(keys) => js_sys::Array::from(&keys.await?)
                    .iter()
                    .filter_map(|k| k.as_string())
                    .collect(),
                None => BTreeSet::new(),
            };
            crate::mark("fieldbook:store:held-read");
            // The bodies written, by kind (a page is in kind order), for the
            // app's memory.
            let mut written: Vec<(RecordKind, js_sys::Array)> = Vec::new();
            for (kind, key, _, entry) in &rows {
                if held.contains(key) {
                    continue;
                }
                let body = field(entry, "body")?;
                if !body.is_null() {
                    tx.store(store_of(*kind))?.put(&self.record_raw(&body)?)?;
                    match written.last() {
                        Some((last, bodies)) if last == kind => {
                            bodies.push(&body);
                        }
                        _ => written.push((*kind, js_sys::Array::of1(&body))),
                    }
                }
                states.put_with_key(
                    &self.value_raw(&field(entry, "state")?)?,
                    &JsValue::from_str(key),
                )?;
            }
            if self.trips(FailPoint::AfterRecordPut) {
                return Err(StorageError::other("simulated failure after the records"));
            }
            let kept = tx.store(CONFLICTS)?;
            for (key, list) in &grouped {
                if !held.contains(key) {
                    kept.put_with_key(&self.value_js(list)?, &JsValue::from_str(key))?;
                }
            }
            meta.clock.observe(max_ts, now_ms.max(0.0) as u64);
            let progress = SnapshotProgress {
                server: at.server.clone(),
                cursor: if at.cursor == 0 { cursor } else { at.cursor },
                after: last,
                received: at.received + rows.len() as u64,
                total,
            };
            let meta_store = tx.store(META)?;
            if more {
                meta_store.put_with_key(&plain_js(&progress)?, &JsValue::from_str(SNAPSHOT_KEY))?;
            } else {
                meta_store.delete(&JsValue::from_str(SNAPSHOT_KEY))?;
                let pull = PullState {
                    server: progress.server.clone(),
                    cursor: progress.cursor,
                };
                meta_store.put_with_key(&plain_js(&pull)?, &JsValue::from_str(PULL_KEY))?;
            }
            self.put_meta(&tx, SYNC_KEY, &meta)?;
            crate::mark("fieldbook:store:puts-issued");
            // Decoded while the browser writes: the same values, once.
            let mut records = Vec::with_capacity(rows.len());
            for (kind, bodies) in &written {
                records.extend(decode_bodies(*kind, bodies)?);
            }
            crate::mark("fieldbook:store:decoded");
            Ok(SnapshotPage {
                progress,
                more,
                records: rows.len(),
                server_time_ms,
                written: records,
            })
        }
        .await;
        finish(tx, body).await
    }

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

    /// What a sync step needs first, read in one transaction: whether this
    /// database holds local-only records ([`holds_local_only_records`]),
    /// the outbox by device ([`outbox_by_device`]) and the pull cursor for
    /// `server` ([`pull_cursor`]).
    ///
    /// [`holds_local_only_records`]: Store::holds_local_only_records
    /// [`outbox_by_device`]: Store::outbox_by_device
    /// [`pull_cursor`]: Store::pull_cursor
    pub async fn sync_start(&self, server: &str) -> Result<SyncStart, StorageError> {
        let tx = Tx::begin(&self.db, &[META, OUTBOX], Mode::Read)?;
        let body = async {
            let meta = tx.store(META)?;
            let local_only = idb::request(meta.get(&JsValue::from_str(LOCAL_ONLY_KEY))?);
            let pulled = idb::request(meta.get(&JsValue::from_str(PULL_KEY))?);
            let outbox = idb::request(tx.store(OUTBOX)?.get_all()?);
            let local_only = !local_only.await?.is_undefined();
            let pulled = pulled.await?;
            let cursor = if pulled.is_undefined() {
                0
            } else {
                let state: PullState = plain_from_js(&pulled)?;
                if state.server == server {
                    state.cursor
                } else {
                    0
                }
            };
            let outbox = outbox.await?;
            let length = js_sys::Array::from(&outbox).length();
            let mut grouped: BTreeMap<_, Vec<Change>> = BTreeMap::new();
            if length > 0 {
                let changes: Vec<Change> = self.decode_all(&outbox)?;
                for change in changes {
                    grouped.entry(change.device).or_default().push(change);
                }
            }
            Ok(SyncStart {
                local_only,
                outbox: grouped,
                cursor,
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
            let meta = idb::request(tx.store(META)?.get(&JsValue::from_str(SYNC_KEY))?);
            // Which records have conflicts kept (few, usually none): one
            // read instead of a delete for every record without.
            let kept = idb::request(tx.store(CONFLICTS)?.get_all_keys()?);
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
            let meta = meta.await?;
            let mut meta: super::SyncMeta = if meta.is_undefined() {
                super::SyncMeta::default()
            } else {
                plain_from_js(&meta)?
            };
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
            let kept: BTreeSet<String> = js_sys::Array::from(&kept.await?)
                .iter()
                .filter_map(|k| k.as_string())
                .collect();
            crate::mark("fieldbook:store:pull-read");
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
                let may_be_kept = kept.contains(&record_key(record));
                match state.materialize() {
                    Ok(object) => {
                        let json = Value::Object(object);
                        self.write_state_kept(&tx, state, &json, may_be_kept)?;
                        tx.store(store_of(record.kind))?
                            .put(&self.record_js(&json)?)?;
                        // A record the core built always decodes; were one
                        // not to, the pages could not show it anyway.
                        if let Ok(decoded) = AnyRecord::from_json(record.kind, json) {
                            applied.records.push(decoded);
                        }
                    }
                    Err(_) => {
                        self.write_state_kept(&tx, state, &Value::Null, may_be_kept)?;
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
            crate::mark("fieldbook:store:pull-puts-issued");
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

//! The store's side of catching up with a restored server
//! (`fieldbook_core::replay`): the identity of the server's database this
//! phone last saw, every merge state it holds (what it sends again), and
//! the identity taken on with the pull cursor moved back, in one
//! transaction.

use fieldbook_core::sync::{RecordKind, RecordRef, RecordState, StoredState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::idb::{self, Mode, Tx};
use super::schema::{META, PULL_KEY, RECORD_STORES, SNAPSHOT_KEY, STATES, store_of};
use super::{StorageError, Store, finish, plain_from_js, plain_js};
use crate::storage::{PullState, SnapshotProgress};

/// `meta` key of the identity of the server's database last seen.
const IDENTITY_KEY: &str = "server_identity";

/// The identity of a server's database, as this phone last saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeenIdentity {
    /// The server (its address).
    server: String,
    /// Its database's identity.
    database: Uuid,
}

impl Store {
    /// The identity of `server`'s database this phone last took on (`None`
    /// when none, or kept for another server).
    pub async fn server_identity(&self, server: &str) -> Result<Option<Uuid>, StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::Read)?;
        let body = async {
            let stored =
                idb::request(tx.store(META)?.get(&JsValue::from_str(IDENTITY_KEY))?).await?;
            if stored.is_undefined() {
                return Ok(None);
            }
            let seen: SeenIdentity = plain_from_js(&stored)?;
            Ok((seen.server == server).then_some(seen.database))
        }
        .await;
        finish(tx, body).await
    }

    /// Every merge state this phone holds, compact ones rebuilt from their
    /// records: what it sends again to a restored server.
    pub async fn held_states(&self) -> Result<Vec<RecordState>, StorageError> {
        let mut scope = RECORD_STORES.to_vec();
        scope.push(STATES);
        let tx = Tx::begin(&self.db, &scope, Mode::Read)?;
        let body = async {
            let states = tx.store(STATES)?;
            let keys = idb::request(states.get_all_keys()?);
            let values = idb::request(states.get_all()?);
            let keys = js_sys::Array::from(&keys.await?);
            let values = js_sys::Array::from(&values.await?);
            let mut held = Vec::with_capacity(values.length() as usize);
            let mut compact = Vec::new();
            for (key, value) in keys.iter().zip(values.iter()) {
                let Some(record) = key.as_string().as_deref().and_then(parse_record_key) else {
                    continue;
                };
                match self.decode::<StoredState>(&value)? {
                    StoredState::Full(state) => held.push(state),
                    created @ StoredState::Created { .. } => {
                        let id = JsValue::from_str(&record.id.to_string());
                        let json = idb::request(tx.store(store_of(record.kind))?.get(&id)?);
                        compact.push((record, created, json));
                    }
                }
            }
            for (record, created, json) in compact {
                let json = json.await?;
                if json.is_undefined() {
                    continue;
                }
                let body: Value = self.decode(&json)?;
                if let Some(state) = created.into_state(record.kind, Some(&body))? {
                    held.push(state);
                }
            }
            Ok(held)
        }
        .await;
        finish(tx, body).await
    }

    /// Takes on `database` as `server`'s identity; with `resume_cursor`,
    /// moves the pull cursor (and a snapshot's under way) back to at most
    /// it, in the same transaction: until it commits, the next sync sees
    /// the identity as new again and does the whole catch-up again.
    pub async fn take_on_identity(
        &self,
        server: &str,
        database: Uuid,
        resume_cursor: Option<u64>,
    ) -> Result<(), StorageError> {
        let tx = Tx::begin(&self.db, &[META], Mode::WriteStrict)?;
        let body = async {
            let meta = tx.store(META)?;
            if let Some(resume) = resume_cursor {
                let pulled = idb::request(meta.get(&JsValue::from_str(PULL_KEY))?);
                let under_way = idb::request(meta.get(&JsValue::from_str(SNAPSHOT_KEY))?);
                let pulled = pulled.await?;
                let under_way = under_way.await?;
                if !pulled.is_undefined() {
                    let mut state: PullState = plain_from_js(&pulled)?;
                    if state.server == server && state.cursor > resume {
                        state.cursor = resume;
                        meta.put_with_key(&plain_js(&state)?, &JsValue::from_str(PULL_KEY))?;
                    }
                }
                if !under_way.is_undefined() {
                    let mut progress: SnapshotProgress = plain_from_js(&under_way)?;
                    if progress.server == server && progress.cursor > resume {
                        progress.cursor = resume;
                        meta.put_with_key(&plain_js(&progress)?, &JsValue::from_str(SNAPSHOT_KEY))?;
                    }
                }
            }
            let seen = SeenIdentity {
                server: server.to_string(),
                database,
            };
            meta.put_with_key(&plain_js(&seen)?, &JsValue::from_str(IDENTITY_KEY))?;
            Ok(())
        }
        .await;
        finish(tx, body).await
    }
}

/// `"household/<uuid>"` (`schema::record_key`) back into the record.
fn parse_record_key(key: &str) -> Option<RecordRef> {
    let (kind, id) = key.split_once('/')?;
    Some(RecordRef {
        kind: RecordKind::from_name(kind)?,
        id: fieldbook_core::Id::parse_str(id).ok()?,
    })
}

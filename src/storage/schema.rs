//! The database's shape: object store names and the ordered list of upgrade
//! steps ([`MIGRATIONS`]).
//!
//! | store | key | value |
//! |---|---|---|
//! | `villages`, `households`, `persons`, `visits`, `plans`, `ticks` | in-line, `id` (UUID text) | the record's serde JSON as a plain object |
//! | `outbox` | in-line, `[device, seq]` | a `sync::Change`'s serde JSON as a plain object: this phone's unsynced changes and those a backup brought from other phones |
//! | `states` | out-of-line, `"kind/id"` | a record's merge state (`sync::RecordState`): every change it holds, field by field |
//! | `conflicts` | out-of-line, `"kind/id"` | the record's open conflicts (`sync::Conflict`s), absent when none |
//! | `meta` | out-of-line: `"device"`, `"sync"`, `"schema"`, `"local_only"`, `"pull"`, `"snapshot"`, `"lock"` | the device id (text); `SyncMeta` (clock, next change number); the schema info; present when `save_all` wrote records no server has; the pull cursor; a snapshot being taken in (its first cursor and last record); the on-device lock's mode and wrapped data key, absent while the lock is off |
//!
//! With the on-device lock on (`meta["lock"]`), every value of the record
//! stores, `outbox`, `states` and `conflicts` is stored sealed:
//! `{<key path>, "sealed": Uint8Array}` (see `storage/mod.rs`); `meta`
//! stays plaintext and holds no personal data.
//!
//! The steps are append-only once shipped: a phone upgrades by running every
//! step newer than its stored version, in order, inside the browser's one
//! `versionchange` transaction, so an upgrade that fails leaves the old
//! database untouched. A step that reshapes records (a new
//! `fieldbook_core::SCHEMA_VERSION`) goes here too, rewriting them with the
//! versionchange transaction.

use fieldbook_core::SCHEMA_VERSION;
use fieldbook_core::sync::RecordKind;
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbTransaction};

use super::idb::{create_store, create_store_with_key_path};

/// The app's database name.
pub const DB_NAME: &str = "fieldbook";

pub(crate) const VILLAGES: &str = "villages";
pub(crate) const HOUSEHOLDS: &str = "households";
pub(crate) const PERSONS: &str = "persons";
pub(crate) const VISITS: &str = "visits";
pub(crate) const PLANS: &str = "plans";
pub(crate) const TICKS: &str = "ticks";
pub(crate) const OUTBOX: &str = "outbox";
pub(crate) const CONFLICTS: &str = "conflicts";
pub(crate) const STATES: &str = "states";
/// The conflicts store's name while version 4 re-keys it.
const CONFLICTS_V3: &str = "conflicts_v3";
/// The outbox's name while version 3 re-keys it.
const OUTBOX_V2: &str = "outbox_v2";
pub(crate) const META: &str = "meta";

/// Every record store, in [`RecordKind::ALL`] (dataset) order.
pub(crate) const RECORD_STORES: [&str; 6] = [VILLAGES, HOUSEHOLDS, PERSONS, VISITS, PLANS, TICKS];

/// `meta` keys.
pub(crate) const DEVICE_KEY: &str = "device";
pub(crate) const SYNC_KEY: &str = "sync";
pub(crate) const SCHEMA_KEY: &str = "schema";
pub(crate) const LOCAL_ONLY_KEY: &str = "local_only";
pub(crate) const PULL_KEY: &str = "pull";
/// `meta` key of a snapshot being taken in (`SnapshotProgress`).
pub(crate) const SNAPSHOT_KEY: &str = "snapshot";
/// The on-device lock: its mode, KDF parameters and wrapped data key
/// (`storage::LockInfo`); absent while the lock is off.
pub(crate) const LOCK_KEY: &str = "lock";

/// The key of a record in `states` and `conflicts`: `"household/<uuid>"`.
pub(crate) fn record_key(record: &fieldbook_core::sync::RecordRef) -> String {
    format!("{}/{}", record.kind.name(), record.id)
}

/// The object store of a record kind.
pub(crate) fn store_of(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Village => VILLAGES,
        RecordKind::Household => HOUSEHOLDS,
        RecordKind::Person => PERSONS,
        RecordKind::Visit => VISITS,
        RecordKind::Plan => PLANS,
        RecordKind::Tick => TICKS,
    }
}

/// One upgrade step: the version it brings the database to and what it
/// does there.
pub(crate) struct Migration {
    /// The database version after this step.
    pub(crate) version: u32,
    /// What the step does, for the schema info and the reader.
    pub(crate) summary: &'static str,
    /// The step, run in the `versionchange` transaction.
    pub(crate) apply: fn(&IdbDatabase, &IdbTransaction) -> Result<(), JsValue>,
}

/// Every upgrade step, oldest first. Append; never edit a shipped step.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        summary: "record stores (keyPath id) and meta",
        apply: |db, _| {
            for name in RECORD_STORES {
                create_store(db, name, Some("id"))?;
            }
            create_store(db, META, None)
        },
    },
    Migration {
        version: 2,
        summary: "outbox of unsynced changes (keyPath seq)",
        apply: |db, _| create_store(db, OUTBOX, Some("seq")),
    },
    Migration {
        version: 3,
        summary: "outbox keyed by [device, seq], as a backup brings other phones' changes; conflicts",
        apply: |db, tx| {
            rekey_outbox(db, tx)?;
            create_store_with_key_path(
                db,
                CONFLICTS,
                &["record.id", "field", "lost.device", "lost.seq"],
            )
        },
    },
    Migration {
        version: 4,
        summary: "merge state per record; conflicts grouped by record",
        apply: |db, tx| {
            create_store(db, STATES, None)?;
            regroup_conflicts(db, tx)
        },
    },
];

/// Version 4: conflicts were one row each; now one row per record holds its
/// list, so that a record's conflicts are replaced in one put when it
/// changes. Renames, copies across grouped, drops the old store, all in the
/// `versionchange` transaction.
fn regroup_conflicts(db: &IdbDatabase, tx: &IdbTransaction) -> Result<(), JsValue> {
    let old = tx.object_store(CONFLICTS)?;
    old.set_name(CONFLICTS_V3);
    create_store(db, CONFLICTS, None)?;
    let read = old.get_all()?;
    let (db, tx, entries) = (db.clone(), tx.clone(), read.clone());
    let copy = Closure::once_into_js(move || {
        let copied = (|| {
            let list: js_sys::Array = entries.result()?.dyn_into()?;
            let mut grouped: std::collections::BTreeMap<String, js_sys::Array> =
                std::collections::BTreeMap::new();
            for entry in list.iter() {
                let text = js_sys::JSON::stringify(&entry)?
                    .as_string()
                    .unwrap_or_default();
                let conflict: fieldbook_core::sync::Conflict =
                    serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))?;
                grouped
                    .entry(record_key(&conflict.record))
                    .or_insert_with(js_sys::Array::new)
                    .push(&entry);
            }
            let new = tx.object_store(CONFLICTS)?;
            for (key, list) in grouped {
                new.put_with_key(&list, &JsValue::from_str(&key))?;
            }
            db.delete_object_store(CONFLICTS_V3)
        })();
        if copied.is_err() {
            let _ = tx.abort();
        }
    });
    read.set_onsuccess(Some(copy.unchecked_ref()));
    Ok(())
}

/// Version 3: the outbox was keyed by the change number alone, which is
/// unique only among one phone's changes. An object store's key cannot
/// change, so the old store is renamed, a new one made under the old name,
/// every entry copied across and the old store dropped — all inside the
/// `versionchange` transaction, so a failure leaves version 2 as it was.
fn rekey_outbox(db: &IdbDatabase, tx: &IdbTransaction) -> Result<(), JsValue> {
    let old = tx.object_store(OUTBOX)?;
    old.set_name(OUTBOX_V2);
    create_store_with_key_path(db, OUTBOX, &["device", "seq"])?;
    let read = old.get_all()?;
    let (db, tx, entries) = (db.clone(), tx.clone(), read.clone());
    let copy = Closure::once_into_js(move || {
        let copied = (|| {
            let list: js_sys::Array = entries.result()?.dyn_into()?;
            let new = tx.object_store(OUTBOX)?;
            for entry in list.iter() {
                new.put(&entry)?;
            }
            db.delete_object_store(OUTBOX_V2)
        })();
        if copied.is_err() {
            // Aborting the versionchange transaction fails the open, and
            // the database stays at version 2.
            let _ = tx.abort();
        }
    });
    read.set_onsuccess(Some(copy.unchecked_ref()));
    Ok(())
}

/// The database version this app opens: the last step's.
pub const DB_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// What `meta["schema"]` records after an upgrade.
#[derive(Serialize)]
struct SchemaInfo {
    /// The IndexedDB version.
    db_version: u32,
    /// The records' shape (`fieldbook_core::SCHEMA_VERSION`).
    record_schema: u32,
    /// The version the last upgrade started from (0: a new database).
    upgraded_from: u32,
    /// The steps the database has been through.
    steps: Vec<&'static str>,
}

/// Runs every step newer than `old_version`, then records the schema info.
pub(crate) fn upgrade(
    db: &IdbDatabase,
    tx: &IdbTransaction,
    old_version: u32,
) -> Result<(), JsValue> {
    for step in MIGRATIONS.iter().filter(|m| m.version > old_version) {
        (step.apply)(db, tx)?;
    }
    let info = SchemaInfo {
        db_version: DB_VERSION,
        record_schema: SCHEMA_VERSION,
        upgraded_from: old_version,
        steps: MIGRATIONS.iter().map(|m| m.summary).collect(),
    };
    let text = serde_json::to_string(&info).map_err(|e| JsValue::from_str(&e.to_string()))?;
    tx.object_store(META)?
        .put_with_key(&js_sys::JSON::parse(&text)?, &JsValue::from_str(SCHEMA_KEY))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_count_up_from_one_without_gaps() {
        for (i, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.version as usize, i + 1, "{}", step.summary);
        }
        assert_eq!(DB_VERSION as usize, MIGRATIONS.len());
    }

    #[test]
    fn every_kind_has_its_own_store() {
        let stores: Vec<_> = RecordKind::ALL.into_iter().map(store_of).collect();
        assert_eq!(stores, RECORD_STORES);
    }
}

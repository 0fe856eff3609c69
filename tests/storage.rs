//! Browser tests of the record store (IndexedDB in headless Chromium).
//! Each test uses its own database, deleted first.
//! Run on their own:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test -p fieldbook --target wasm32-unknown-unknown --test storage`
#![cfg(target_arch = "wasm32")]

use chrono::NaiveDate;
use fieldbook::storage::{DB_VERSION, FailPoint, StorageError, Store, SyncMeta, estimate};
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::records::AnyRecord;
use fieldbook_core::sync::{
    Change, Conflict, DeviceId, Hlc, RecordKind, RecordRef, Replica, SnapshotResponse,
    changes_for_new_record,
};
use fieldbook_core::{Dataset, Household, Person, Sex, Village};
use js_sys::{Function, Promise};
use serde_json::{Value, json};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest};

wasm_bindgen_test_configure!(run_in_browser);

/// A new, empty store in database `name`.
async fn fresh(name: &str) -> Store {
    Store::delete_named(name).await.expect("delete");
    Store::open_named(name).await.expect("open")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

fn village() -> Village {
    Village {
        id: id(1),
        name: "王家村".to_string(),
        township: Some("石桥镇".to_string()),
        deleted: false,
    }
}

fn person() -> Person {
    let mut p = Person::new(id(3), id(2), "王芳", Sex::Female);
    p.phone = Some("13800000000".to_string());
    p
}

/// The fields a new record's changes must cover: every top-level key of
/// its JSON with a value, but the id.
fn fields_with_values(record: &impl serde::Serialize) -> Vec<(String, Value)> {
    let Value::Object(object) = serde_json::to_value(record).unwrap() else {
        panic!("records are objects");
    };
    let mut fields: Vec<_> = object
        .into_iter()
        .filter(|(k, v)| k != "id" && !v.is_null())
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
}

fn by_id(mut d: Dataset) -> Dataset {
    d.villages.sort_by_key(|r| r.id);
    d.households.sort_by_key(|r| r.id);
    d.persons.sort_by_key(|r| r.id);
    d.visits.sort_by_key(|r| r.id);
    d.plans.sort_by_key(|r| r.id);
    d.ticks.sort_by_key(|r| r.id);
    d
}

/// Nothing of a failed write remains: the records, the outbox and the
/// sync state are as they were.
async fn assert_unchanged(store: &Store, records: &Dataset, outbox: usize, meta: SyncMeta) {
    assert_eq!(&store.load().await.unwrap(), records, "records");
    assert_eq!(store.outbox_len().await.unwrap(), outbox, "outbox");
    assert_eq!(
        store.sync_meta().await.unwrap(),
        meta,
        "clock and change number"
    );
}

#[wasm_bindgen_test]
async fn save_then_load_returns_each_kind_of_record() {
    let store = fresh("t-save-load").await;
    assert_eq!(store.load().await.unwrap(), Dataset::new());
    let data = generate(1, Size::Small, today());
    let mut expected = Dataset::new();
    expected.villages.push(data.villages[0].clone());
    expected.households.push(data.households[0].clone());
    expected.persons.push(data.persons[0].clone());
    expected.visits.push(data.visits[0].clone());
    expected.plans.push(data.plans[0].clone());
    expected.ticks.push(data.ticks[0].clone());
    store.save(None, &expected.villages[0], 1.0).await.unwrap();
    store
        .save(None, &expected.households[0], 2.0)
        .await
        .unwrap();
    store.save(None, &expected.persons[0], 3.0).await.unwrap();
    store.save(None, &expected.visits[0], 4.0).await.unwrap();
    store.save(None, &expected.plans[0], 5.0).await.unwrap();
    store.save(None, &expected.ticks[0], 6.0).await.unwrap();
    assert_eq!(store.load().await.unwrap(), expected);
}

#[wasm_bindgen_test]
async fn a_new_record_writes_one_change_per_field_with_a_value() {
    let store = fresh("t-new-record").await;
    let person = person();
    let written = store
        .save(None, &person, 1_700_000_000_000.0)
        .await
        .unwrap();

    let expected = fields_with_values(&person);
    let mut got: Vec<_> = written
        .iter()
        .map(|c| (c.field.clone(), c.value.clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, expected);
    let record = RecordRef {
        kind: RecordKind::Person,
        id: person.id,
    };
    for change in &written {
        assert_eq!(change.record, record);
        assert_eq!(change.device, store.device_id());
        assert_eq!(change.ts, written[0].ts, "one stamp for one save");
        assert!(change.supersedes.is_empty());
    }
    assert_eq!(written[0].ts.wall_ms, 1_700_000_000_000);
    assert_eq!(store.outbox().await.unwrap(), written, "stored as returned");
    assert_eq!(store.outbox_len().await.unwrap(), expected.len());
}

#[wasm_bindgen_test]
async fn an_edit_writes_only_the_changed_fields_and_a_no_op_edit_nothing() {
    let store = fresh("t-edit").await;
    let before = person();
    let created = store.save(None, &before, 1000.0).await.unwrap().len();

    let mut after = before.clone();
    after.name = "王芳芳".to_string();
    after.phone = None;
    let edit = store.save(Some(&before), &after, 2000.0).await.unwrap();
    let fields: Vec<_> = edit.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["name", "phone"], "field-name order");
    assert_eq!(edit[0].value, json!("王芳芳"));
    assert_eq!(edit[1].value, Value::Null, "absent");
    assert_eq!(store.outbox_len().await.unwrap(), created + 2);
    assert_eq!(store.load().await.unwrap().persons, [after.clone()]);

    let meta = store.sync_meta().await.unwrap();
    let nothing = store.save(Some(&after), &after, 3000.0).await.unwrap();
    assert!(nothing.is_empty());
    assert_eq!(store.outbox_len().await.unwrap(), created + 2);
    assert_eq!(
        store.sync_meta().await.unwrap(),
        meta,
        "no stamp, no number"
    );
}

#[wasm_bindgen_test]
async fn change_numbers_are_consecutive_and_the_clock_only_grows() {
    let name = "t-seq-clock";
    let store = fresh(name).await;
    let mut v = village();
    let mut stamps = Vec::new();
    let first = store.save(None, &v, 5_000.0).await.unwrap();
    stamps.push(first[0].ts);
    // The same millisecond, then a wall clock that went back: the stamps
    // still grow.
    for (i, now) in [5_000.0, 4_000.0, 6_000.0].into_iter().enumerate() {
        let before = v.clone();
        v.name = format!("王家村{i}");
        let changes = store.save(Some(&before), &v, now).await.unwrap();
        stamps.push(changes[0].ts);
    }
    // Reopening keeps the clock and the numbering.
    store.close();
    let store = Store::open_named(name).await.unwrap();
    let before = v.clone();
    v.township = None;
    stamps.push(store.save(Some(&before), &v, 1.0).await.unwrap()[0].ts);

    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    let outbox = store.outbox().await.unwrap();
    let seqs: Vec<u64> = outbox.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=outbox.len() as u64).collect::<Vec<_>>());
    let meta = store.sync_meta().await.unwrap();
    assert_eq!(meta.next_seq, outbox.len() as u64 + 1);
    assert_eq!(meta.clock.last(), *stamps.last().unwrap());
}

#[wasm_bindgen_test]
async fn the_device_id_is_made_once_and_kept() {
    let store = fresh("t-device").await;
    let device = store.device_id();
    assert_eq!(device.0.get_version_num(), 4);
    store.close();
    let again = Store::open_named("t-device").await.unwrap();
    assert_eq!(again.device_id(), device);
    let other = fresh("t-device-other").await;
    assert_ne!(other.device_id(), device);
}

#[wasm_bindgen_test]
async fn a_failure_inside_the_transaction_leaves_nothing() {
    let store = fresh("t-atomic").await;
    let household = Household::new(id(2), id(1), "001");

    // A new record: neither it nor a change nor the clock remains.
    store.fail_next_write(FailPoint::AfterRecordPut);
    let err = store.save(None, &household, 1000.0).await.unwrap_err();
    assert!(matches!(err, StorageError::Other(_)), "{err:?}");
    assert_unchanged(&store, &Dataset::new(), 0, SyncMeta::default()).await;

    // An edit: the stored version stays.
    store.save(None, &household, 2000.0).await.unwrap();
    let saved = store.load().await.unwrap();
    let outbox = store.outbox_len().await.unwrap();
    let meta = store.sync_meta().await.unwrap();
    let mut edited = household.clone();
    edited.phone = Some("0371-1234567".to_string());
    store.fail_next_write(FailPoint::AfterRecordPut);
    assert!(store.save(Some(&household), &edited, 3000.0).await.is_err());
    assert_unchanged(&store, &saved, outbox, meta).await;

    // The hook fired once; the same edit now goes through.
    let changes = store.save(Some(&household), &edited, 3000.0).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].seq, meta.next_seq);
}

#[wasm_bindgen_test]
async fn a_full_disk_is_quota_exceeded_and_leaves_nothing() {
    let store = fresh("t-quota").await;
    store.fail_next_write(FailPoint::QuotaOnMetaPut);
    let err = store.save(None, &village(), 1000.0).await.unwrap_err();
    assert_eq!(err, StorageError::QuotaExceeded);
    assert_eq!(
        err.zh(),
        "手机存储空间已满，请先同步或导出备份，再清理空间。数据未保存，表单内容仍保留。"
    );
    assert!(err.en().contains("storage is full"));
    assert_unchanged(&store, &Dataset::new(), 0, SyncMeta::default()).await;

    // A bulk load that meets a full disk in its first transaction.
    store.fail_next_write(FailPoint::QuotaOnMetaPut);
    let data = generate(3, Size::Small, today());
    let err = store.save_all(&data, 1000.0, |_, _| {}).await.unwrap_err();
    assert_eq!(err, StorageError::QuotaExceeded);
    assert_unchanged(&store, &Dataset::new(), 0, SyncMeta::default()).await;
    assert!(!store.holds_local_only_records().await.unwrap());
}

#[wasm_bindgen_test]
fn dom_exceptions_map_to_storage_errors() {
    let exception = |name: &str| -> JsValue {
        web_sys::DomException::new_with_message_and_name("test", name)
            .unwrap()
            .into()
    };
    assert_eq!(
        StorageError::from_js(&exception("QuotaExceededError")),
        StorageError::QuotaExceeded
    );
    for name in ["InvalidStateError", "VersionError", "UnknownError"] {
        let error = StorageError::from_js(&exception(name));
        assert!(
            matches!(error, StorageError::Unavailable(_)),
            "{name}: {error:?}"
        );
    }
    for name in ["ConstraintError", "DataError", "AbortError"] {
        let error = StorageError::from_js(&exception(name));
        assert!(matches!(error, StorageError::Other(_)), "{name}: {error:?}");
    }
    assert!(matches!(
        StorageError::from_js(&JsValue::from_str("plain")),
        StorageError::Other(_)
    ));
}

#[wasm_bindgen_test]
async fn a_closed_or_deleted_database_is_unavailable() {
    let store = fresh("t-closed").await;
    store.close();
    let err = store.load().await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");

    // Another tab deleting (or upgrading) the database is not blocked by
    // this connection: it closes itself.
    let store = fresh("t-closed").await;
    Store::delete_named("t-closed").await.unwrap();
    let err = store.save(None, &village(), 1.0).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
}

/// Waits for a request made by hand.
async fn settle(req: &IdbRequest) -> JsValue {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await.expect("request");
    req.result().unwrap()
}

/// Makes database `name` as version 1 of the schema left it: the record
/// stores and `meta`, no outbox; with one village and a device id in it.
async fn make_version_1(name: &str, village: &Village, device: Uuid) {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    settle(&factory.delete_database(name).unwrap()).await;
    let req = factory.open_with_u32(name, 1).unwrap();
    let village = serde_json::to_string(village).unwrap();
    let upgrade = Closure::once(move |event: web_sys::Event| {
        let req: IdbOpenDbRequest = event.target().unwrap().unchecked_into();
        let db: IdbDatabase = req.result().unwrap().unchecked_into();
        for store in [
            "villages",
            "households",
            "persons",
            "visits",
            "plans",
            "ticks",
        ] {
            let params = IdbObjectStoreParameters::new();
            params.set_key_path(&JsValue::from_str("id"));
            db.create_object_store_with_optional_parameters(store, &params)
                .unwrap();
        }
        db.create_object_store("meta").unwrap();
        let tx = req.transaction().unwrap();
        let value = js_sys::JSON::parse(&village).unwrap();
        tx.object_store("villages").unwrap().put(&value).unwrap();
        tx.object_store("meta")
            .unwrap()
            .put_with_key(&device.to_string().into(), &"device".into())
            .unwrap();
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db: IdbDatabase = settle(&req).await.unchecked_into();
    assert_eq!(db.version(), 1.0);
    db.close();
}

#[wasm_bindgen_test]
async fn opening_a_version_1_database_upgrades_it_and_keeps_its_data() {
    let name = "t-migrate";
    let device = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
    make_version_1(name, &village(), device).await;

    let store = Store::open_named(name).await.unwrap();
    const { assert!(DB_VERSION >= 2, "version 1 is older") };
    assert_eq!(store.version(), DB_VERSION);
    assert_eq!(store.device_id().0, device, "the stored device id is kept");
    assert_eq!(store.load().await.unwrap().villages, [village()]);
    assert_eq!(store.outbox_len().await.unwrap(), 0, "the new outbox");

    // The upgraded database takes writes into the new store.
    let before = village();
    let mut after = before.clone();
    after.name = "李家村".to_string();
    let changes = store.save(Some(&before), &after, 10.0).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(store.outbox().await.unwrap(), changes);

    // Opening again at the same version changes nothing.
    store.close();
    let again = Store::open_named(name).await.unwrap();
    assert_eq!(again.load().await.unwrap().villages, [after]);
    assert_eq!(again.outbox_len().await.unwrap(), 1);
}

#[wasm_bindgen_test]
async fn save_all_then_load_gives_the_same_dataset_without_outbox_changes() {
    let store = fresh("t-save-all").await;
    assert!(!store.holds_local_only_records().await.unwrap());
    let data = generate(7, Size::Small, today());
    let mut calls = Vec::new();
    let written = store
        .save_all(&data, 1_700_000_000_000.0, |done, total| {
            calls.push((done, total))
        })
        .await
        .unwrap();

    let loaded = store.load().await.unwrap();
    assert_eq!(loaded, by_id(data.clone()));
    let total = data.villages.len()
        + data.households.len()
        + data.persons.len()
        + data.visits.len()
        + data.plans.len()
        + data.ticks.len();
    assert_eq!(written, total);
    assert_eq!(calls.first(), Some(&(0, total)));
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));

    // Local only: no changes, no stamp, and the database says so.
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    assert_eq!(store.sync_meta().await.unwrap(), SyncMeta::default());
    assert!(store.holds_local_only_records().await.unwrap());

    // A later edit of a loaded record is an ordinary change.
    let before = loaded.persons[0].clone();
    let mut after = before.clone();
    after.phone = Some("13900000000".to_string());
    let changes = store
        .save(Some(&before), &after, 1_700_000_001_000.0)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].seq, 1);
}

/// The demo village's size, timed: `-- --include-ignored` to run.
#[wasm_bindgen_test]
#[ignore]
async fn save_all_of_the_demo_village_is_quick() {
    let data = generate(1, Size::Village, today());
    let store = fresh("t-demo-village").await;
    let start = js_sys::Date::now();
    let written = store.save_all(&data, start, |_, _| {}).await.unwrap();
    let saved = js_sys::Date::now();
    let loaded = store.load().await.unwrap();
    let end = js_sys::Date::now();
    console_log!(
        "demo village: {written} records, {} visits; save_all {:.0} ms, load {:.0} ms",
        loaded.visits.len(),
        saved - start,
        end - saved
    );
    assert_eq!(loaded, by_id(data));
}

#[wasm_bindgen_test]
async fn the_estimate_reports_usage_and_quota() {
    let (usage, quota) = estimate().await.expect("Chromium has navigator.storage");
    assert!(usage >= 0.0);
    assert!(quota > 0.0);
}

/// Changes a phone `device` made when it created `household` at `wall_ms`,
/// numbered from 1.
fn changes_of(household: &Household, device: u128, wall_ms: u64) -> Vec<Change> {
    changes_for_new_record(
        RecordKind::Household,
        &serde_json::to_value(household).unwrap(),
        Hlc::new(wall_ms, 0),
        DeviceId(id(device)),
        1,
    )
    .unwrap()
}

/// Makes database `name` as version 2 of the schema left it: version 1's
/// stores and an outbox keyed by `seq` alone, holding `outbox`.
async fn make_version_2(name: &str, outbox: &[Change]) {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    settle(&factory.delete_database(name).unwrap()).await;
    let req = factory.open_with_u32(name, 2).unwrap();
    let entries: Vec<String> = outbox
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    let upgrade = Closure::once(move |event: web_sys::Event| {
        let req: IdbOpenDbRequest = event.target().unwrap().unchecked_into();
        let db: IdbDatabase = req.result().unwrap().unchecked_into();
        for store in [
            "villages",
            "households",
            "persons",
            "visits",
            "plans",
            "ticks",
        ] {
            let params = IdbObjectStoreParameters::new();
            params.set_key_path(&JsValue::from_str("id"));
            db.create_object_store_with_optional_parameters(store, &params)
                .unwrap();
        }
        db.create_object_store("meta").unwrap();
        let params = IdbObjectStoreParameters::new();
        params.set_key_path(&JsValue::from_str("seq"));
        let outbox = db
            .create_object_store_with_optional_parameters("outbox", &params)
            .unwrap();
        for entry in &entries {
            outbox.put(&js_sys::JSON::parse(entry).unwrap()).unwrap();
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db: IdbDatabase = settle(&req).await.unchecked_into();
    assert_eq!(db.version(), 2.0);
    db.close();
}

#[wasm_bindgen_test]
async fn opening_a_version_2_database_rekeys_its_outbox_and_keeps_every_change() {
    let name = "t-migrate-2";
    let own = changes_of(&Household::new(id(20), id(1), "020"), 5, 1_000);
    assert!(own.len() > 1);
    make_version_2(name, &own).await;

    let store = Store::open_named(name).await.unwrap();
    assert_eq!(store.version(), DB_VERSION);
    assert_eq!(store.outbox().await.unwrap(), own, "every change kept");
    assert!(store.conflicts().await.unwrap().is_empty());

    // Another phone's change 1 now sits beside this phone's change 1.
    let foreign = changes_of(&Household::new(id(21), id(1), "021"), 6, 2_000);
    store
        .import(&Dataset::new(), &foreign, &[], 3_000.0)
        .await
        .unwrap();
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), own.len() + foreign.len());
    assert!(foreign.iter().all(|c| outbox.contains(c)));
    assert!(own.iter().all(|c| outbox.contains(c)));
}

#[wasm_bindgen_test]
async fn an_import_writes_records_changes_and_conflicts_in_one_go() {
    let store = fresh("t-import").await;
    let household = Household::new(id(2), id(1), "001");
    store.save(None, &village(), 1_000.0).await.unwrap();
    let own = store.outbox().await.unwrap();

    // What a merge decided: a new household from a backup made on another
    // phone (its changes stamped ahead of this phone's clock), and a kept
    // conflict on its phone number.
    let mut records = Dataset::new();
    records.households.push(household.clone());
    let foreign = changes_of(&household, 9, 50_000);
    let mut lost = foreign[0].clone();
    lost.device = DeviceId(id(8));
    lost.ts = Hlc::new(40_000, 0);
    let conflict = Conflict {
        record: foreign[0].record,
        field: foreign[0].field.clone(),
        kept: foreign[0].clone(),
        lost,
    };
    store
        .import(&records, &foreign, std::slice::from_ref(&conflict), 2_000.0)
        .await
        .unwrap();

    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.villages, [village()]);
    assert_eq!(loaded.households, std::slice::from_ref(&household));
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), own.len() + foreign.len());
    assert_eq!(store.conflicts().await.unwrap(), [conflict]);

    // The clock moved past the imported stamps: this phone's next edit
    // beats them, and its change numbers go on from its own.
    let mut edited = household.clone();
    edited.phone = Some("0371-7654321".to_string());
    let changes = store
        .save(Some(&household), &edited, 3_000.0)
        .await
        .unwrap();
    assert!(changes[0].ts > Hlc::new(50_000, 0), "{:?}", changes[0].ts);
    assert_eq!(changes[0].seq, own.len() as u64 + 1);
}

#[wasm_bindgen_test]
async fn a_failed_import_leaves_nothing() {
    let store = fresh("t-import-fail").await;
    store.save(None, &village(), 1_000.0).await.unwrap();
    let saved = store.load().await.unwrap();
    let outbox = store.outbox_len().await.unwrap();
    let meta = store.sync_meta().await.unwrap();

    let household = Household::new(id(2), id(1), "001");
    let mut records = Dataset::new();
    records.households.push(household.clone());
    let foreign = changes_of(&household, 9, 50_000);
    for point in [FailPoint::AfterRecordPut, FailPoint::QuotaOnMetaPut] {
        store.fail_next_write(point);
        let err = store
            .import(&records, &foreign, &[], 2_000.0)
            .await
            .unwrap_err();
        if point == FailPoint::QuotaOnMetaPut {
            assert_eq!(err, StorageError::QuotaExceeded);
        }
        assert_unchanged(&store, &saved, outbox, meta).await;
        assert!(store.conflicts().await.unwrap().is_empty());
    }
}

#[wasm_bindgen_test]
async fn pulled_changes_merge_into_the_records_and_move_the_cursor_once() {
    let store = fresh("t-pull").await;
    let server = "https://township.example/";
    assert_eq!(store.pull_cursor(server).await.unwrap(), 0);
    // A household made on another phone arrives.
    let household = Household::new(id(2), id(1), "001");
    let remote = changes_of(&household, 9, 5_000);
    let applied = store
        .apply_pulled(server, &remote, 40, 6_000.0)
        .await
        .unwrap();
    assert_eq!(applied.records.len(), 1);
    assert_eq!(
        store.load().await.unwrap().households,
        std::slice::from_ref(&household)
    );
    assert_eq!(store.pull_cursor(server).await.unwrap(), 40);
    assert_eq!(
        store.pull_cursor("https://other.example/").await.unwrap(),
        0
    );
    assert_eq!(
        store.outbox_len().await.unwrap(),
        0,
        "pulled changes are not pushed back"
    );

    // This phone edits the phone number (its clock moved past the pulled
    // stamps); another phone's older edit of the same field arrives later:
    // this phone's value stays and the other is kept as a conflict.
    let mut here = household.clone();
    here.phone = Some("13800000000".into());
    let mine = store.save(Some(&household), &here, 5_500.0).await.unwrap();
    assert!(mine[0].ts > Hlc::new(5_000, 0));
    let mut older = remote[0].clone();
    older.field = "phone".into();
    older.value = json!("13911111111");
    older.seq = 99;
    older.ts = Hlc::new(5_200, 0);
    older.supersedes = Vec::new();
    store
        .apply_pulled(server, &[older.clone()], 41, 7_000.0)
        .await
        .unwrap();
    assert_eq!(
        store.load().await.unwrap().households,
        std::slice::from_ref(&here)
    );
    let conflicts = store.conflicts().await.unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].lost, older);

    // The same page again: nothing changes.
    let before = store.load().await.unwrap();
    store
        .apply_pulled(server, &[older], 41, 8_000.0)
        .await
        .unwrap();
    assert_eq!(store.load().await.unwrap(), before);
    assert_eq!(store.conflicts().await.unwrap().len(), 1);

    // Settling keeps the other value; the choice is an outbox change that
    // supersedes both, and the conflict is gone.
    let outbox = store.outbox_len().await.unwrap();
    let record = RecordRef {
        kind: RecordKind::Household,
        id: household.id,
    };
    store
        .settle(record, "phone", json!("13911111111"), 9_000.0)
        .await
        .unwrap();
    assert!(store.conflicts().await.unwrap().is_empty());
    assert_eq!(
        store.load().await.unwrap().households[0].phone.as_deref(),
        Some("13911111111")
    );
    let all = store.outbox().await.unwrap();
    assert_eq!(all.len(), outbox + 1);
    assert_eq!(
        all.last().unwrap().supersedes.len(),
        2,
        "the winner and the conflict"
    );

    // Acknowledged changes leave the outbox; the others stay.
    let ids: Vec<_> = all[..all.len() - 1].iter().map(Change::id).collect();
    store.acknowledge(&ids).await.unwrap();
    assert_eq!(store.outbox().await.unwrap(), [all.last().unwrap().clone()]);
}

#[wasm_bindgen_test]
async fn a_failed_pull_page_leaves_the_cursor_and_records_as_they_were() {
    let store = fresh("t-pull-fail").await;
    let server = "https://township.example/";
    let household = Household::new(id(2), id(1), "001");
    let remote = changes_of(&household, 9, 5_000);
    store.fail_next_write(FailPoint::AfterRecordPut);
    assert!(
        store
            .apply_pulled(server, &remote, 40, 6_000.0)
            .await
            .is_err()
    );
    assert_eq!(store.pull_cursor(server).await.unwrap(), 0);
    assert_eq!(store.load().await.unwrap(), Dataset::new());
    assert_eq!(store.sync_meta().await.unwrap(), SyncMeta::default());
}

/// A snapshot page as the server sends it, parsed by the browser.
fn snapshot_page(replica: &Replica, cursor: u64, more: bool) -> JsValue {
    let page = SnapshotResponse {
        records: replica.records().map(|s| s.snapshot()).collect(),
        conflicts: replica.conflicts(),
        cursor,
        max_ts: replica
            .records()
            .map(|s| s.latest())
            .max()
            .unwrap_or_default(),
        more,
        server_time_ms: 10_000,
        total: replica.records().count() as u64,
    };
    js_sys::JSON::parse(&serde_json::to_string(&page).unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn a_snapshot_is_taken_in_page_by_page_then_pulls_go_on_from_its_cursor() {
    let store = fresh("t-snapshot").await;
    let server = "https://township.example/";
    let at = store.snapshot_point(server).await.unwrap().expect("empty");
    assert_eq!((at.cursor, at.after), (0, None));

    // The server's records: two households (one with a conflict on its
    // address), the second page later.
    let first = Household::new(id(2), id(1), "001");
    let second = Household::new(id(3), id(1), "002");
    let mut page_one = Replica::new();
    for c in changes_of(&first, 9, 5_000) {
        page_one.apply(c);
    }
    let address = |value: &str, wall_ms, device, seq| Change {
        record: RecordRef {
            kind: RecordKind::Household,
            id: first.id,
        },
        field: "address".into(),
        value: json!(value),
        ts: Hlc::new(wall_ms, 0),
        device: DeviceId(id(device)),
        seq,
        supersedes: Vec::new(),
    };
    page_one.apply(address("东街1号", 5_100, 8, 1));
    page_one.apply(address("西街2号", 5_200, 9, 50));
    let mut page_two = Replica::new();
    for c in changes_of(&second, 7, 5_000) {
        page_two.apply(c);
    }

    let taken = store
        .apply_snapshot_page(&snapshot_page(&page_one, 77, true), &at, 6_000.0)
        .await
        .unwrap();
    assert!(taken.more);
    assert_eq!(taken.records, 1);
    assert_eq!(taken.progress.cursor, 77);
    // Not done yet: no pull cursor, and the next sync goes on from here.
    assert_eq!(store.pull_cursor(server).await.unwrap(), 0);
    assert_eq!(
        store.snapshot_point(server).await.unwrap(),
        Some(taken.progress.clone())
    );
    assert_eq!(store.conflicts().await.unwrap(), page_one.conflicts());

    // A record saved here meanwhile is not overwritten by a later page.
    let mut edited = second.clone();
    edited.address = Some("本机".into());
    store.save(None, &edited, 6_500.0).await.unwrap();
    let done = store
        .apply_snapshot_page(
            &snapshot_page(&page_two, 80, false),
            &taken.progress,
            7_000.0,
        )
        .await
        .unwrap();
    assert!(!done.more);
    assert_eq!(
        done.progress.cursor, 77,
        "pulls start at the first page's cursor"
    );
    assert_eq!(store.pull_cursor(server).await.unwrap(), 77);
    assert_eq!(store.snapshot_point(server).await.unwrap(), None);
    let start = store.sync_start(server).await.unwrap();
    assert_eq!((start.cursor, start.local_only), (77, false));
    assert_eq!(
        start.outbox.values().map(Vec::len).sum::<usize>(),
        store.outbox_len().await.unwrap()
    );
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.households.len(), 2);
    assert_eq!(loaded.households[0].address.as_deref(), Some("西街2号"));
    assert_eq!(loaded.households[1], edited);
    assert!(store.sync_meta().await.unwrap().clock.last() > Hlc::new(5_200, 0));

    // A later change merges into the snapshot's state as into the full one:
    // an edit that saw both values settles the conflict.
    let state = page_one
        .record(&RecordRef {
            kind: RecordKind::Household,
            id: first.id,
        })
        .unwrap();
    let settle = state.field("address").unwrap().settle(
        json!("南街3号"),
        Hlc::new(8_000, 0),
        DeviceId(id(8)),
        2,
    );
    store
        .apply_pulled(server, &[settle], 81, 9_000.0)
        .await
        .unwrap();
    assert!(store.conflicts().await.unwrap().is_empty());
    assert_eq!(
        store.load().await.unwrap().households[0].address.as_deref(),
        Some("南街3号")
    );

    // A phone that holds records already does not take a snapshot.
    let other = fresh("t-snapshot-other").await;
    other.save(None, &village(), 1_000.0).await.unwrap();
    assert_eq!(other.snapshot_point(server).await.unwrap(), None);
}

/// A snapshot page of these records (a replica holding their creation each)
/// as the server sends it, saying the whole snapshot holds `total`.
fn snapshot_page_of(
    records: &[(RecordKind, Value)],
    cursor: u64,
    more: bool,
    total: u64,
) -> JsValue {
    let mut replica = Replica::new();
    for (i, (kind, json)) in records.iter().enumerate() {
        for change in changes_for_new_record(
            *kind,
            json,
            Hlc::new(5_000, 0),
            DeviceId(id(9)),
            100 * i as u64 + 1,
        )
        .unwrap()
        {
            replica.apply(change);
        }
    }
    let mut page: Value = serde_json::from_str(
        &js_sys::JSON::stringify(&snapshot_page(&replica, cursor, more))
            .unwrap()
            .as_string()
            .unwrap(),
    )
    .unwrap();
    page["total"] = json!(total);
    js_sys::JSON::parse(&page.to_string()).unwrap()
}

#[wasm_bindgen_test]
async fn a_snapshot_page_hands_over_exactly_the_records_it_wrote_and_counts_them_against_the_total()
{
    let store = fresh("t-snapshot-hand-over").await;
    let server = "https://township.example/";
    let at = store.snapshot_point(server).await.unwrap().expect("empty");
    assert_eq!((at.received, at.total), (0, 0));
    let first = Household::new(id(2), id(1), "001");
    let second = Household::new(id(4), id(1), "002");
    let mut held = Household::new(id(3), id(1), "003");
    let member = person();
    // The first page: the village.
    let page_zero = snapshot_page_of(
        &[(
            RecordKind::Village,
            serde_json::to_value(village()).unwrap(),
        )],
        50,
        true,
        6,
    );
    let zero = store
        .apply_snapshot_page(&page_zero, &at, 5_500.0)
        .await
        .unwrap();
    assert_eq!(zero.written, vec![AnyRecord::from(village())]);
    assert_eq!((zero.progress.received, zero.progress.total), (1, 6));
    let at = zero.progress;
    // A record saved here before its page came: left as it is, not handed
    // over.
    held.address = Some("本机".into());
    store.save(None, &held, 5_800.0).await.unwrap();
    let page_one = snapshot_page_of(
        &[
            (RecordKind::Household, serde_json::to_value(&first).unwrap()),
            (RecordKind::Household, serde_json::to_value(&held).unwrap()),
            (
                RecordKind::Household,
                serde_json::to_value(&second).unwrap(),
            ),
        ],
        55,
        true,
        6,
    );

    // A failed page hands over nothing and leaves the snapshot where it was.
    for point in [FailPoint::AfterRecordPut, FailPoint::QuotaOnMetaPut] {
        store.fail_next_write(point);
        assert!(
            store
                .apply_snapshot_page(&page_one, &at, 6_000.0)
                .await
                .is_err()
        );
        assert_eq!(
            store.snapshot_point(server).await.unwrap(),
            Some(at.clone())
        );
        assert_eq!(
            store.load().await.unwrap().households,
            std::slice::from_ref(&held)
        );
    }

    let taken = store
        .apply_snapshot_page(&page_one, &at, 6_000.0)
        .await
        .unwrap();
    assert_eq!(
        taken.written,
        vec![
            AnyRecord::from(first.clone()),
            AnyRecord::from(second.clone())
        ],
        "the page's records but the one held here, as written"
    );
    let stored = store.load().await.unwrap();
    assert_eq!(
        stored.households,
        [first.clone(), held.clone(), second.clone()]
    );
    assert_eq!(
        (taken.records, taken.progress.received, taken.progress.total),
        (3, 4, 6)
    );
    // A step that starts again goes on counting from there.
    assert_eq!(
        store.snapshot_point(server).await.unwrap(),
        Some(taken.progress.clone())
    );

    // The last page: the person, and a record whose values do not form one
    // yet (kept in its merge state, not handed over, not stored).
    let mut replica = Replica::new();
    for change in changes_for_new_record(
        RecordKind::Person,
        &serde_json::to_value(&member).unwrap(),
        Hlc::new(5_000, 0),
        DeviceId(id(9)),
        500,
    )
    .unwrap()
    {
        replica.apply(change);
    }
    let partial = changes_of(&Household::new(id(5), id(1), "005"), 9, 5_000);
    let number = partial
        .iter()
        .find(|c| c.field == "number")
        .unwrap()
        .clone();
    replica.apply(number);
    let mut page_two: Value = serde_json::from_str(
        &js_sys::JSON::stringify(&snapshot_page(&replica, 60, false))
            .unwrap()
            .as_string()
            .unwrap(),
    )
    .unwrap();
    assert!(
        page_two["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["body"].is_null())
    );
    page_two["total"] = json!(6);
    let page_two = js_sys::JSON::parse(&page_two.to_string()).unwrap();
    let done = store
        .apply_snapshot_page(&page_two, &taken.progress, 7_000.0)
        .await
        .unwrap();
    assert_eq!(done.written, vec![AnyRecord::from(member.clone())]);
    assert_eq!(
        (done.records, done.progress.received, done.progress.total),
        (2, 6, 6)
    );
    let stored = store.load().await.unwrap();
    assert_eq!(stored.persons, [member]);
    assert_eq!(stored.households.len(), 3);
    assert_eq!(store.pull_cursor(server).await.unwrap(), 50);
}

/// After a server restore: every change the store holds (pulled ones rebuilt
/// from their compact state, this phone's acknowledged edit, a losing value)
/// is there to be sent back, and the identity is taken on with the pull
/// cursor moved back, never forward.
#[wasm_bindgen_test]
async fn a_restored_server_gets_back_every_held_change_and_the_cursor_moves_back() {
    let store = fresh("t-restore").await;
    let server = "https://township.example/";
    assert_eq!(store.server_identity(server).await.unwrap(), None);
    let household = Household::new(id(2), id(1), "001");
    let remote = changes_of(&household, 9, 5_000);
    store
        .apply_pulled(server, &remote, 40, 6_000.0)
        .await
        .unwrap();
    let mut here = household.clone();
    here.phone = Some("13800000000".into());
    let mine = store.save(Some(&household), &here, 5_500.0).await.unwrap();
    let ids: Vec<_> = mine.iter().map(Change::id).collect();
    store.acknowledge(&ids).await.unwrap();
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    let mut older = remote[0].clone();
    older.field = "phone".into();
    older.value = json!("13911111111");
    older.seq = 99;
    older.ts = Hlc::new(5_200, 0);
    older.supersedes = Vec::new();
    store
        .apply_pulled(server, std::slice::from_ref(&older), 41, 7_000.0)
        .await
        .unwrap();

    let held = store.held_states().await.unwrap();
    let replay = fieldbook_core::replay::replay_changes(held.iter());
    for change in remote.iter().chain(&mine).chain([&older]) {
        assert!(replay.contains(change), "{change:?}");
    }
    assert_eq!(replay.len(), remote.len() + mine.len() + 1);

    let (first, second) = (id(50), id(51));
    store.take_on_identity(server, first, None).await.unwrap();
    assert_eq!(store.server_identity(server).await.unwrap(), Some(first));
    assert_eq!(store.pull_cursor(server).await.unwrap(), 41);
    store
        .take_on_identity(server, second, Some(30))
        .await
        .unwrap();
    assert_eq!(store.server_identity(server).await.unwrap(), Some(second));
    assert_eq!(store.pull_cursor(server).await.unwrap(), 30);
    store
        .take_on_identity(server, second, Some(35))
        .await
        .unwrap();
    assert_eq!(store.pull_cursor(server).await.unwrap(), 30, "only back");
    assert_eq!(
        store
            .server_identity("https://other.example/")
            .await
            .unwrap(),
        None
    );
}

// --- issue 15 (state): the records in memory, read in phases and changed
// in place.

/// The cold start's reads: every record but the visits in one go, then the
/// visits a chunk at a time by id; together exactly what is stored.
#[wasm_bindgen_test]
async fn a_cold_start_reads_the_records_without_visits_then_the_visits_in_chunks() {
    let store = fresh("t-phases").await;
    let data = generate(20261207, Size::Small, today());
    store.save_all(&data, 1_000.0, |_, _| {}).await.unwrap();

    let first = store.load_without_visits().await.unwrap();
    assert!(first.visits.is_empty());
    assert_eq!(
        by_id(Dataset {
            visits: Vec::new(),
            ..first.clone()
        }),
        by_id(Dataset {
            visits: Vec::new(),
            ..data.clone()
        })
    );
    assert_eq!(store.count_visits().await.unwrap(), data.visits.len());

    let mut visits = Vec::new();
    let mut after = None;
    let mut chunks = 0;
    loop {
        let chunk = store.load_visits_after(after, 40).await.unwrap();
        assert!(chunk.len() <= 40);
        let Some(last) = chunk.last() else { break };
        after = Some(last.id);
        chunks += 1;
        visits.extend(chunk);
    }
    assert!(chunks > 1, "{} visits in chunks of 40", data.visits.len());
    let mut expected = data.visits.clone();
    expected.sort_by_key(|v| v.id);
    assert_eq!(visits, expected, "every visit once, in id order");
}

thread_local! {
    static LIVE: std::cell::RefCell<Option<fieldbook::live::Live>> =
        const { std::cell::RefCell::new(None) };
}

/// A memo over the shared [`LIVE`] that subscribes with `track` and counts
/// its runs.
fn runs(
    track: impl Fn(&fieldbook::live::Live) + Send + Sync + 'static,
) -> (
    leptos::prelude::ArcMemo<usize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let memo = leptos::prelude::ArcMemo::new(move |_| {
        LIVE.with(|l| track(l.borrow().as_ref().unwrap()));
        counted.fetch_add(1, Ordering::SeqCst) + 1
    });
    (memo, count)
}

/// A pulled page changes only its records in memory: the household it
/// touches is told, no other household, list or plan is; every other
/// record stays as it was; Today is what the core computes from the whole.
#[wasm_bindgen_test]
async fn a_pulled_page_changes_only_its_records_in_memory_and_wakes_only_their_household() {
    use fieldbook::live::Live;
    use fieldbook_core::model::{Visit, VisitKind};
    use fieldbook_core::records::{AnyRecord, Records};
    use fieldbook_core::rules::{Rules, today_list};
    use leptos::prelude::GetUntracked;
    use std::sync::atomic::Ordering;

    let store = fresh("t-live").await;
    let date = today();
    let data = generate(20261208, Size::Small, date);
    store.save_all(&data, 1_000.0, |_, _| {}).await.unwrap();

    // Read as a cold start does: then the Today index.
    let mut live = Live::new(Records::new(store.load_without_visits().await.unwrap()));
    let mut after = None;
    loop {
        let chunk = store.load_visits_after(after, 100).await.unwrap();
        let Some(last) = chunk.last() else { break };
        after = Some(last.id);
        live.load(chunk.into_iter().map(AnyRecord::from).collect());
    }
    live.start_today(date);
    assert_eq!(by_id(live.records().dataset().clone()), by_id(data.clone()));
    assert_eq!(
        live.today_list(),
        Some(today_list(&data, date, &Rules::default()))
    );
    LIVE.with(|l| *l.borrow_mut() = Some(live));

    let her = data
        .persons
        .iter()
        .find(|p| !p.deleted && data.household(p.household_id).is_some())
        .unwrap()
        .clone();
    let (a, b) = (
        her.household_id,
        data.households_of(data.villages[0].id)
            .find(|h| h.id != her.household_id)
            .unwrap()
            .id,
    );
    let watched = [
        runs(move |l| l.track_household(a)),
        runs(move |l| l.track_household(b)),
        runs(|l| l.track_list()),
        runs(|l| l.track_plans()),
        runs(|l| l.track_villages()),
        runs(|l| l.track_all()),
    ];
    let counts = || -> Vec<usize> {
        watched
            .iter()
            .map(|(memo, count)| {
                memo.get_untracked();
                count.load(Ordering::SeqCst)
            })
            .collect()
    };
    assert_eq!(counts(), [1, 1, 1, 1, 1, 1]);

    // Another phone's visit to her arrives in a pulled page.
    let visit = Visit::new(id(900_001), her.id, a, date, VisitKind::ThreeChecks);
    let changes = changes_for_new_record(
        RecordKind::Visit,
        &serde_json::to_value(&visit).unwrap(),
        Hlc::new(5_000, 0),
        DeviceId(id(9)),
        1,
    )
    .unwrap();
    let applied = store
        .apply_pulled("https://township.example/", &changes, 10, 6_000.0)
        .await
        .unwrap();
    let batch: Vec<AnyRecord> = applied.records;
    assert_eq!(batch, [AnyRecord::Visit(visit.clone())]);

    let before = LIVE.with(|l| l.borrow().as_ref().unwrap().records().dataset().clone());
    let (touched, fire) = LIVE.with(|l| l.borrow_mut().as_mut().unwrap().apply(batch, date));
    fire.notify();
    assert_eq!(touched.households.into_iter().collect::<Vec<_>>(), [a]);
    // Her household and "anything" ran again; the other household, the
    // list, the plans and the villages did not.
    assert_eq!(counts(), [2, 1, 1, 1, 1, 2]);

    // Every other record is as it was; the new one is in.
    let after = LIVE.with(|l| l.borrow().as_ref().unwrap().records().dataset().clone());
    let mut expected = before;
    expected.visits.push(visit.clone());
    assert_eq!(after, expected);
    LIVE.with(|l| {
        let l = l.borrow();
        let l = l.as_ref().unwrap();
        assert_eq!(l.records().visit(visit.id), Some(&visit));
        assert_eq!(
            l.today_list(),
            Some(today_list(&after, date, &Rules::default())),
            "Today, refreshed for her household, is the whole computation's"
        );
    });

    // The same page again changes nothing and wakes nobody.
    let (touched, fire) = LIVE.with(|l| {
        l.borrow_mut()
            .as_mut()
            .unwrap()
            .apply(vec![AnyRecord::Visit(visit)], date)
    });
    assert!(touched.is_empty());
    fire.notify();
    assert_eq!(counts(), [2, 1, 1, 1, 1, 2]);
    LIVE.with(|l| l.borrow_mut().take());
}

//! Browser tests of the on-device lock's store side (IndexedDB and WebCrypto
//! in headless Chromium): sealed values round-trip, nothing personal is left
//! readable in the database, a wrong PIN or key opens nothing and is
//! rate-limited, and turning the lock on then off leaves every store as it
//! was. Each test uses its own database, deleted first.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use fieldbook::storage::{LockError, LockMode, Recovery, StorageError, Store};
use fieldbook_core::sync::{
    Change, Conflict, DeviceId, Hlc, RecordKind, Replica, SnapshotResponse, changes_for_new_record,
};
use fieldbook_core::{Dataset, Household, Person, Sex, Village};
use js_sys::{Function, Promise};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{IdbDatabase, IdbRequest};

wasm_bindgen_test_configure!(run_in_browser);

const PIN: &str = "246810";

async fn fresh(name: &str) -> Store {
    Store::delete_named(name).await.expect("delete");
    Store::open_named(name).await.expect("open")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
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

/// Records, an edit (a full merge state), an outbox, and a conflict kept on
/// the person's name (a name in `conflicts`).
async fn fill(store: &Store) -> Dataset {
    store.save(None, &village(), 1_000.0).await.unwrap();
    let household = Household::new(id(2), id(1), "001");
    store.save(None, &household, 2_000.0).await.unwrap();
    store.save(None, &person(), 3_000.0).await.unwrap();
    let mut renamed = person();
    renamed.name = "王芳芳".to_string();
    store
        .save(Some(&person()), &renamed, 4_000.0)
        .await
        .unwrap();

    let other = Person::new(id(4), id(2), "李秀英", Sex::Female);
    let changes: Vec<Change> = changes_for_new_record(
        RecordKind::Person,
        &serde_json::to_value(&other).unwrap(),
        Hlc::new(50_000, 0),
        DeviceId(id(9)),
        1,
    )
    .unwrap();
    let name_change = changes.iter().find(|c| c.field == "name").unwrap().clone();
    let mut lost = name_change.clone();
    lost.device = DeviceId(id(8));
    lost.ts = Hlc::new(40_000, 0);
    lost.value = serde_json::json!("李秀兰");
    let conflict = Conflict {
        record: name_change.record,
        field: name_change.field.clone(),
        kept: name_change,
        lost,
    };
    let mut records = Dataset::new();
    records.persons.push(other);
    store
        .import(&records, &changes, &[conflict], 5_000.0)
        .await
        .unwrap();
    store.load().await.unwrap()
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

/// Every store of database `name` read raw, as the browser keeps it: per
/// store, its keys and its values as JSON text (a sealed value's bytes as
/// numbers).
async fn raw_dump(name: &str) -> BTreeMap<String, String> {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let req = factory.open(name).unwrap();
    let db: IdbDatabase = settle(req.unchecked_ref()).await.unchecked_into();
    let mut out = BTreeMap::new();
    let names = db.object_store_names();
    for i in 0..names.length() {
        let store_name = names.get(i).unwrap();
        let tx = db.transaction_with_str(&store_name).unwrap();
        let store = tx.object_store(&store_name).unwrap();
        let keys = settle(&store.get_all_keys().unwrap()).await;
        let values = settle(&store.get_all().unwrap()).await;
        let text = |v: &JsValue| js_sys::JSON::stringify(v).unwrap().as_string().unwrap();
        out.insert(store_name, format!("{}\n{}", text(&keys), text(&values)));
    }
    db.close();
    out
}

#[wasm_bindgen_test]
async fn sealed_values_round_trip_and_no_name_is_left_readable() {
    let name = "t-lock-seal";
    let store = fresh(name).await;
    let data = fill(&store).await;
    let outbox = store.outbox().await.unwrap();
    let conflicts = store.conflicts().await.unwrap();
    let before = raw_dump(name).await;
    assert!(before["persons"].contains("王芳芳"), "plaintext before");

    store.enable_lock(PIN, None, &|_| {}).await.unwrap();
    assert_eq!(store.lock_info().unwrap().mode, LockMode::On);
    let sealed = raw_dump(name).await;
    for (store_name, text) in &sealed {
        for person in ["王芳", "李秀英", "李秀兰", "王家村", "13800000000"] {
            assert!(!text.contains(person), "{person} readable in {store_name}");
        }
    }
    assert!(sealed["persons"].contains("\"sealed\""));
    // The key paths stay readable: IndexedDB keys the values by them.
    assert_eq!(
        sealed["persons"].lines().next(),
        before["persons"].lines().next()
    );
    assert_eq!(
        sealed["outbox"].lines().next(),
        before["outbox"].lines().next()
    );

    // Sealed values read back as they were written.
    assert_eq!(store.load().await.unwrap(), data);
    assert_eq!(store.outbox().await.unwrap(), outbox);
    assert_eq!(store.conflicts().await.unwrap(), conflicts);
    // A save with the lock on is sealed too.
    let mut edited = data.persons[0].clone();
    edited.phone = Some("13900000000".to_string());
    store
        .save(Some(&data.persons[0]), &edited, 9_000.0)
        .await
        .unwrap();
    assert!(
        !raw_dump(name)
            .await
            .values()
            .any(|t| t.contains("13900000000"))
    );
    assert_eq!(store.load().await.unwrap().persons[0], edited);
}

#[wasm_bindgen_test]
async fn locked_nothing_opens_and_a_wrong_pin_or_key_is_refused_then_rate_limited() {
    let name = "t-lock-wrong";
    let store = fresh(name).await;
    let data = fill(&store).await;
    let secret = [42u8; 32];
    let recovery = Recovery {
        secret,
        server: "http://127.0.0.1/".into(),
        username: "wang".into(),
    };
    store
        .enable_lock(PIN, Some(recovery), &|_| {})
        .await
        .unwrap();

    // A new start finds the lock on: nothing is read before the PIN.
    store.close();
    let store = Store::open_named(name).await.unwrap();
    assert!(store.is_locked());
    assert_eq!(store.load().await, Err(StorageError::Locked));
    assert_eq!(store.outbox().await, Err(StorageError::Locked));
    assert_eq!(
        store.save(None, &person(), 10_000.0).await,
        Err(StorageError::Locked)
    );

    // A wrong recovery secret opens nothing.
    assert_eq!(
        store.unlock_with_recovery(&[7u8; 32]),
        Err(LockError::NoRecovery)
    );
    // Four wrong PINs: refused, no wait yet; the fifth starts the wait.
    let now = 1_000_000.0;
    for _ in 0..4 {
        assert_eq!(
            store.unlock("000000", now).await,
            Err(LockError::WrongPin { wait_ms: 0.0 })
        );
    }
    assert_eq!(
        store.unlock("000000", now).await,
        Err(LockError::WrongPin { wait_ms: 30_000.0 })
    );
    assert!(store.is_locked());
    // Even the right PIN waits now, without the key being derived.
    assert_eq!(
        store.unlock(PIN, now + 1_000.0).await,
        Err(LockError::TryLater(29_000.0))
    );
    // A reload does not reset the count.
    store.close();
    let store = Store::open_named(name).await.unwrap();
    assert_eq!(store.attempts().failures, 5);
    // After the wait, another wrong PIN doubles it.
    assert_eq!(
        store.unlock("000000", now + 31_000.0).await,
        Err(LockError::WrongPin { wait_ms: 60_000.0 })
    );
    // The right PIN, after the wait, opens; the count starts again.
    store.unlock(PIN, now + 92_000.0).await.unwrap();
    assert_eq!(store.attempts().failures, 0);
    assert_eq!(store.load().await.unwrap(), data);

    // Locking drops the key; the recovery secret opens it again, and a new
    // PIN replaces the old one.
    store.lock();
    assert_eq!(store.load().await, Err(StorageError::Locked));
    store.unlock_with_recovery(&secret).unwrap();
    store.change_pin("13572468").await.unwrap();
    store.lock();
    assert_eq!(
        store.unlock(PIN, now).await,
        Err(LockError::WrongPin { wait_ms: 0.0 })
    );
    store.unlock("13572468", now).await.unwrap();
    assert_eq!(store.load().await.unwrap(), data);
    // The PIN rule.
    assert!(matches!(
        store.change_pin("12345").await,
        Err(LockError::PinRule(_))
    ));
}

#[wasm_bindgen_test]
async fn turning_the_lock_on_then_off_leaves_every_store_as_it_was() {
    let name = "t-lock-on-off";
    let store = fresh(name).await;
    let data = fill(&store).await;
    let before = raw_dump(name).await;
    store.enable_lock(PIN, None, &|_| {}).await.unwrap();
    assert_ne!(raw_dump(name).await, before);
    assert_eq!(
        store.disable_lock("999999", &|_| {}).await,
        Err(LockError::WrongPin { wait_ms: 0.0 })
    );
    store.disable_lock(PIN, &|_| {}).await.unwrap();
    assert_eq!(store.lock_info(), None);
    // Identical records, outbox, merge states, conflicts and meta.
    assert_eq!(raw_dump(name).await, before);
    assert_eq!(store.load().await.unwrap(), data);
    store.close();
    let store = Store::open_named(name).await.unwrap();
    assert!(!store.is_locked());
    assert_eq!(store.load().await.unwrap(), data);
}

/// The changes that create `person` on device `device`.
fn created(person: &Person, wall_ms: u64, device: u128) -> Vec<Change> {
    changes_for_new_record(
        RecordKind::Person,
        &serde_json::to_value(person).unwrap(),
        Hlc::new(wall_ms, 0),
        DeviceId(id(device)),
        1,
    )
    .unwrap()
}

#[wasm_bindgen_test]
async fn with_the_lock_on_a_snapshot_and_pulled_pages_are_stored_sealed() {
    let name = "t-lock-sync";
    let store = fresh(name).await;
    let server = "https://township.example/";
    // The lock is turned on before the first sync: the phone is empty.
    store.enable_lock(PIN, None, &|_| {}).await.unwrap();
    let at = store.snapshot_point(server).await.unwrap().expect("empty");

    // The server's records: one person, with a conflict kept on her name.
    let first = Person::new(id(20), id(2), "赵小红", Sex::Female);
    let mut replica = Replica::new();
    let changes = created(&first, 5_000, 9);
    let mut lost = changes.iter().find(|c| c.field == "name").unwrap().clone();
    for c in changes {
        replica.apply(c);
    }
    lost.device = DeviceId(id(8));
    lost.seq = 1;
    lost.ts = Hlc::new(4_000, 0);
    lost.value = serde_json::json!("赵晓虹");
    replica.apply(lost);
    assert_eq!(replica.conflicts().len(), 1);
    let page = SnapshotResponse {
        records: replica.records().map(|s| s.snapshot()).collect(),
        conflicts: replica.conflicts(),
        cursor: 40,
        max_ts: Hlc::new(5_000, 0),
        more: false,
        server_time_ms: 6_000,
        total: replica.records().count() as u64,
    };
    let page = js_sys::JSON::parse(&serde_json::to_string(&page).unwrap()).unwrap();
    store
        .apply_snapshot_page(&page, &at, 6_000.0)
        .await
        .unwrap();

    // Then a pulled page: another person.
    let second = Person::new(id(21), id(2), "钱丽华", Sex::Female);
    store
        .apply_pulled(server, &created(&second, 7_000, 7), 41, 7_500.0)
        .await
        .unwrap();

    let raw = raw_dump(name).await;
    for (store_name, text) in &raw {
        for person in ["赵小红", "赵晓虹", "钱丽华"] {
            assert!(!text.contains(person), "{person} readable in {store_name}");
        }
    }
    let data = store.load().await.unwrap();
    let mut names: Vec<&str> = data.persons.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["赵小红", "钱丽华"]);
    assert_eq!(store.conflicts().await.unwrap(), replica.conflicts());
    assert_eq!(store.pull_cursor(server).await.unwrap(), 41);

    // Turned off, the same records read back, now in plaintext.
    store.disable_lock(PIN, &|_| {}).await.unwrap();
    assert_eq!(store.load().await.unwrap(), data);
    assert!(raw_dump(name).await["persons"].contains("钱丽华"));
}

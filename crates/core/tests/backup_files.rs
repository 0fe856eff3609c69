//! The backup import on any file: arbitrary bytes, arbitrary JSON, and good
//! backups with bytes or parts spoiled. `read_backup` never panics; it
//! gives a backup that holds together (it reads back as itself and merges
//! into a phone) or a refusal with its reason. A good backup reads back
//! whole.

use std::sync::OnceLock;

use chrono::NaiveDate;
use fieldbook_core::Dataset;
use fieldbook_core::backup::{
    BACKUP_FORMAT, BACKUP_VERSION, Backup, BackupError, merge_backup, read_backup,
};
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::sync::{DeviceId, Hlc, changes_for_dataset};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// A few households of a synthetic village with everything that belongs to
/// them: a dataset that holds together, small enough to merge often.
fn small_dataset(seed: u64) -> Dataset {
    let mut data = generate(
        seed,
        Size::Small,
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
    );
    data.households.truncate(4);
    let households: Vec<_> = data.households.iter().map(|h| h.id).collect();
    data.persons
        .retain(|p| households.contains(&p.household_id));
    let persons: Vec<_> = data.persons.iter().map(|p| p.id).collect();
    data.visits.retain(|v| persons.contains(&v.person_id));
    data.visits.truncate(6);
    data.ticks.truncate(6);
    data
}

/// A good backup of `seed`'s dataset, with `outbox` unsynced changes.
fn good_backup(seed: u64, outbox: usize) -> Backup {
    let data = small_dataset(seed);
    let device = DeviceId(Uuid::from_u128(7));
    let changes = changes_for_dataset(&data, Hlc::new(1_795_939_200_000, 0), device, 1);
    Backup::new(
        device,
        1_795_939_260_000,
        data,
        changes.into_iter().take(outbox).collect(),
    )
}

/// Three good backups, made once.
fn good_backups() -> &'static [Backup] {
    static BACKUPS: OnceLock<Vec<Backup>> = OnceLock::new();
    BACKUPS.get_or_init(|| vec![good_backup(1, 0), good_backup(2, 5), good_backup(3, 40)])
}

/// What every answer of `read_backup` must be: a backup that holds
/// together, or a refusal with its reason.
fn check_answer(answer: Result<Backup, BackupError>) -> Result<(), TestCaseError> {
    match answer {
        Ok(backup) => {
            prop_assert_eq!(&backup.format, BACKUP_FORMAT);
            prop_assert!(backup.version <= BACKUP_VERSION);
            for change in &backup.outbox {
                prop_assert!(change.validate().is_ok(), "{:?}", change);
            }
            // It reads back as itself, and it can be imported: into an
            // empty phone and into one holding other records.
            let again = read_backup(&backup.to_bytes());
            prop_assert_eq!(again.as_ref(), Ok(&backup));
            merge_backup(&Dataset::new(), &[], &backup);
            let other = &good_backups()[0];
            merge_backup(&other.dataset, &other.outbox, &backup);
        }
        Err(refusal) => {
            prop_assert!(!refusal.zh().is_empty() && !refusal.en().is_empty());
            if let BackupError::Unreadable(detail) | BackupError::Inconsistent(detail) = &refusal {
                prop_assert!(!detail.is_empty(), "{:?}", refusal);
            }
        }
    }
    Ok(())
}

/// Keys of a backup and its records: drawn more often than random ones.
const KEYS: &[&str] = &[
    "format",
    "version",
    "exported_ms",
    "device",
    "dataset",
    "outbox",
    "schema_version",
    "villages",
    "households",
    "persons",
    "visits",
    "plans",
    "ticks",
    "id",
    "village_id",
    "household_id",
    "person_id",
    "plan_id",
    "record",
    "field",
    "value",
    "ts",
    "seq",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(String::from),
        1 => "[a-z_]{1,8}",
    ]
}

/// Any JSON value, up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            "[a-z_]{0,10}",
            any::<String>(),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
            Just(BACKUP_FORMAT.to_string()),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every node's JSON pointer, in document order (the root first).
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, here: &str, out: &mut Vec<String>) {
        out.push(here.to_string());
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{here}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    walk(item, &format!("{here}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

/// One step of spoiling a good backup's JSON: at the node `at` (in document
/// order), put another value, take it out, or add a key beside it.
#[derive(Clone, Debug)]
enum Spoil {
    /// Another value at a leaf (a string, number, boolean or null), most
    /// often one of the same kind: the shape stays and the values go wrong.
    Leaf(Index, Value),
    Replace(Index, Value),
    Remove(Index),
    AddKey(Index, String, Value),
}

/// Leaf values near the real ones: small numbers, ids, names of kinds and
/// fields, and the extremes.
/// Words a backup's strings are made of: kinds, fields, enumerations.
const LEAF_WORDS: &[&str] = &[
    "household",
    "person",
    "visit",
    "plan",
    "tick",
    "village",
    "address",
    "name",
    "number",
    "female",
    "male",
    "other",
    "village_id",
    "deleted",
    "id",
    "2026-02-30",
    "fieldbook-backup",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..20).prop_map(Value::from),
        prop::sample::select(&[i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX][..])
            .prop_map(Value::from),
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}".prop_map(Value::from),
        prop::sample::select(LEAF_WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ]
}

fn spoil() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        3 => (any::<Index>(), leaf()).prop_map(|(at, v)| Spoil::Leaf(at, v)),
        1 => (any::<Index>(), json_value()).prop_map(|(at, v)| Spoil::Replace(at, v)),
        1 => any::<Index>().prop_map(Spoil::Remove),
        1 => (any::<Index>(), key(), json_value()).prop_map(|(at, k, v)| Spoil::AddKey(at, k, v)),
    ]
}

fn apply(doc: &mut Value, spoil: &Spoil) {
    let all = pointers(doc);
    match spoil {
        Spoil::Leaf(at, v) => {
            let leaves: Vec<&String> = all
                .iter()
                .filter(|p| !matches!(doc.pointer(p), Some(Value::Array(_) | Value::Object(_))))
                .collect();
            if !leaves.is_empty() {
                let leaf = doc.pointer_mut(leaves[at.index(leaves.len())]).unwrap();
                // A string stays a string (most of a backup's leaves are
                // strings): names, dates and ids that are wrong, not
                // mistyped.
                *leaf = if leaf.is_string() && !v.is_string() {
                    Value::String(v.to_string())
                } else {
                    v.clone()
                };
            }
        }
        Spoil::Replace(at, v) => *doc.pointer_mut(&all[at.index(all.len())]).unwrap() = v.clone(),
        Spoil::Remove(at) => {
            let pointer = &all[at.index(all.len())];
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                *doc = Value::Null;
                return;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent).unwrap() {
                Value::Object(map) => {
                    map.remove(&last);
                }
                Value::Array(items) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                _ => unreachable!("a pointer's parent holds its last step"),
            }
        }
        Spoil::AddKey(at, k, v) => {
            if let Some(Value::Object(map)) = doc.pointer_mut(&all[at.index(all.len())]) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// One change to a file's bytes.
#[derive(Clone, Debug)]
enum ByteEdit {
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Set(at, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

fn edit_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    match edit {
        ByteEdit::Set(at, b) => {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        ByteEdit::Insert(at, b) => bytes.insert(at.index(bytes.len() + 1), *b),
        ByteEdit::Delete(at) => {
            bytes.remove(at.index(bytes.len()));
        }
        ByteEdit::Truncate(at) => bytes.truncate(at.index(bytes.len())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_with_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_answer(read_backup(&bytes))?;
    }

    #[test]
    fn arbitrary_json_is_read_or_refused_with_a_reason(value in json_value(), format in any::<bool>()) {
        let mut value = value;
        if format && let Value::Object(map) = &mut value {
            // Past the first check, to the shape's.
            map.insert("format".into(), json!(BACKUP_FORMAT));
        }
        check_answer(read_backup(&serde_json::to_vec(&value).unwrap()))?;
    }

    #[test]
    fn a_backup_with_parts_spoiled_is_read_whole_or_refused(
        which in any::<Index>(),
        spoils in prop::collection::vec(spoil(), 1..4),
    ) {
        let backups = good_backups();
        let mut doc = serde_json::to_value(&backups[which.index(backups.len())]).unwrap();
        for s in &spoils {
            apply(&mut doc, s);
        }
        check_answer(read_backup(&serde_json::to_vec(&doc).unwrap()))?;
    }

    #[test]
    fn a_backup_with_bytes_spoiled_is_read_whole_or_refused(
        which in any::<Index>(),
        edits in prop::collection::vec(byte_edit(), 1..8),
    ) {
        let backups = good_backups();
        let mut bytes = backups[which.index(backups.len())].to_bytes();
        for e in &edits {
            edit_bytes(&mut bytes, e);
        }
        check_answer(read_backup(&bytes))?;
    }

    #[test]
    fn a_good_backup_reads_back_whole(seed in any::<u64>(), outbox in 0usize..60, exported_ms in any::<u64>()) {
        let mut backup = good_backup(seed, outbox);
        backup.exported_ms = exported_ms;
        prop_assert_eq!(read_backup(&backup.to_bytes()), Ok(backup.clone()));
        // Imported into an empty phone, it gives its own records.
        let merged = merge_backup(&Dataset::new(), &[], &backup);
        prop_assert_eq!(merged.dataset.households.len(), backup.dataset.households.len());
        prop_assert_eq!(merged.new_changes, backup.outbox);
    }
}

#[test]
fn a_file_nested_ten_thousand_levels_deep_is_refused_without_a_crash() {
    for file in [
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)),
        "[".repeat(10_000),
    ] {
        assert!(matches!(
            read_backup(file.as_bytes()),
            Err(BackupError::Unreadable(_))
        ));
    }
    // Deep inside a good backup's shape: the outbox's value.
    let mut doc = serde_json::to_value(&good_backups()[2]).unwrap();
    doc["outbox"][0]["value"] = json!("@@");
    let text = serde_json::to_string(&doc).unwrap().replace(
        "\"@@\"",
        &format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
    );
    assert!(matches!(
        read_backup(text.as_bytes()),
        Err(BackupError::Unreadable(_))
    ));
}

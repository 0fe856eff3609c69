//! The backup file: everything on a phone in one JSON document, for a worker
//! who cannot sync — and the rules for taking one back in. A file that is not
//! a Fieldbook backup, comes from a newer app, or does not hold together is
//! refused with the reason, and nothing is imported. A good one is merged
//! into what the phone holds with the sync's own merge ([`Replica`]), so the
//! backup, the phone and the server decide alike.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::data::Dataset;
use crate::model::{Id, SCHEMA_VERSION};
use crate::sync::{Change, Conflict, DeviceId, Hlc, Replica, changes_for_dataset};

/// The `format` field every backup carries.
pub const BACKUP_FORMAT: &str = "fieldbook-backup";
/// The backup layout this app writes and reads.
pub const BACKUP_VERSION: u32 = 1;

/// One backup file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// Always [`BACKUP_FORMAT`]: tells a backup from any other JSON.
    pub format: String,
    /// The layout's version, [`BACKUP_VERSION`] when written.
    pub version: u32,
    /// When it was made, milliseconds since the Unix epoch (from the edge).
    pub exported_ms: u64,
    /// The phone it was made on.
    pub device: DeviceId,
    /// Every record.
    pub dataset: Dataset,
    /// The changes not yet synced when it was made, with their stamps.
    pub outbox: Vec<Change>,
}

impl Backup {
    /// A backup of `dataset` and `outbox`, made on `device` at `exported_ms`.
    pub fn new(device: DeviceId, exported_ms: u64, dataset: Dataset, outbox: Vec<Change>) -> Self {
        Backup {
            format: BACKUP_FORMAT.into(),
            version: BACKUP_VERSION,
            exported_ms,
            device,
            dataset,
            outbox,
        }
    }

    /// The file's bytes: UTF-8 JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).expect("a backup serialises")
    }
}

/// Why a file was refused. Nothing is imported from a refused file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupError {
    /// Not JSON, or JSON of another shape; the detail says where.
    Unreadable(String),
    /// JSON, but not a Fieldbook backup.
    NotABackup,
    /// Made by a newer version of the app, which this one cannot read.
    TooNew {
        /// The file's layout version.
        version: u32,
        /// The file's record schema version.
        schema: u32,
    },
    /// The records do not hold together: e.g. a visit whose person is not in
    /// the file. The detail names the first such record.
    Inconsistent(String),
}

impl BackupError {
    /// What went wrong and what to do, in Chinese.
    pub fn zh(&self) -> &'static str {
        match self {
            BackupError::Unreadable(_) => {
                "文件无法读取：不是完整的备份文件，可能已损坏。未导入任何数据。"
            }
            BackupError::NotABackup => "这不是本应用的备份文件。未导入任何数据。",
            BackupError::TooNew { .. } => {
                "备份文件来自更新版本的应用，请先更新本应用再导入。未导入任何数据。"
            }
            BackupError::Inconsistent(_) => {
                "备份文件中的记录不完整（如随访记录找不到对应人员），可能已损坏。未导入任何数据。"
            }
        }
    }

    /// What went wrong and what to do, in English.
    pub fn en(&self) -> &'static str {
        match self {
            BackupError::Unreadable(_) => {
                "The file cannot be read: it is not a whole backup and may be damaged. Nothing was imported."
            }
            BackupError::NotABackup => "This is not a backup of this app. Nothing was imported.",
            BackupError::TooNew { .. } => {
                "The backup comes from a newer version of the app: update this app first. Nothing was imported."
            }
            BackupError::Inconsistent(_) => {
                "The backup's records do not hold together (e.g. a visit without its person); it may be damaged. Nothing was imported."
            }
        }
    }
}

/// Reads a backup file, refusing it with the reason if it is not one this
/// app can take in whole.
pub fn read_backup(bytes: &[u8]) -> Result<Backup, BackupError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| BackupError::Unreadable(e.to_string()))?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(BACKUP_FORMAT) {
        return Err(BackupError::NotABackup);
    }
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let schema = value
        .pointer("/dataset/schema_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(u64::from(SCHEMA_VERSION));
    if version > u64::from(BACKUP_VERSION) || schema > u64::from(SCHEMA_VERSION) {
        return Err(BackupError::TooNew {
            version: u32::try_from(version).unwrap_or(u32::MAX),
            schema: u32::try_from(schema).unwrap_or(u32::MAX),
        });
    }
    let backup: Backup =
        serde_json::from_value(value).map_err(|e| BackupError::Unreadable(e.to_string()))?;
    check_references(&backup.dataset)?;
    for change in &backup.outbox {
        change.validate().map_err(|reason| {
            BackupError::Inconsistent(format!("change {}: {reason}", change.seq))
        })?;
    }
    Ok(backup)
}

/// Every reference inside the file points at a record in the file.
fn check_references(data: &Dataset) -> Result<(), BackupError> {
    let ids = |list: &mut dyn Iterator<Item = Id>| list.collect::<HashSet<Id>>();
    let villages = ids(&mut data.villages.iter().map(|v| v.id));
    let households = ids(&mut data.households.iter().map(|h| h.id));
    let persons = ids(&mut data.persons.iter().map(|p| p.id));
    let plans = ids(&mut data.plans.iter().map(|p| p.id));
    let missing = |what: &str, id: Id| Err(BackupError::Inconsistent(format!("{what} {id}")));
    for h in &data.households {
        if !villages.contains(&h.village_id) {
            return missing("household", h.id);
        }
    }
    for p in &data.persons {
        if !households.contains(&p.household_id) {
            return missing("person", p.id);
        }
    }
    for v in &data.visits {
        if !persons.contains(&v.person_id) || !households.contains(&v.household_id) {
            return missing("visit", v.id);
        }
    }
    for p in &data.plans {
        if !villages.contains(&p.village_id) {
            return missing("plan", p.id);
        }
    }
    for t in &data.ticks {
        if !plans.contains(&t.plan_id) {
            return missing("tick", t.id);
        }
    }
    Ok(())
}

/// What an import did, for the summary the worker sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records the phone did not have.
    pub added: usize,
    /// Records the phone had, now with some field from the backup.
    pub updated: usize,
    /// Records that came out as the phone already had them.
    pub unchanged: usize,
    /// Fields where the phone and the backup disagreed: both values kept.
    pub conflicts: usize,
}

/// The result of merging a backup into the phone's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The records after the merge.
    pub dataset: Dataset,
    /// The records of `dataset` that are new or different from the phone's:
    /// what the phone has to write.
    pub changed: Dataset,
    /// The backup's unsynced changes the phone did not hold yet; they join
    /// the phone's outbox, to be synced.
    pub new_changes: Vec<Change>,
    /// Where the two disagreed; the winner is in `dataset`.
    pub conflicts: Vec<Conflict>,
    /// Counts for the worker.
    pub summary: ImportSummary,
}

/// The stand-in device of records known only as a snapshot (no stamped
/// change): the phone's current records. Snapshots are stamped at the very
/// beginning of time, so any real edit wins over them; between two
/// snapshots the phone's own wins, as the larger id.
const PHONE_SNAPSHOT: DeviceId = crate::sync::SNAPSHOT_DEVICE;
/// The stand-in device of the backup's snapshot.
const BACKUP_SNAPSHOT: DeviceId = DeviceId(Uuid::from_u128(u128::MAX - 1));

/// Merges a backup into the phone's records and unsynced changes with the
/// sync's merge: per field, the later stamp wins; every losing value is kept
/// as a conflict.
pub fn merge_backup(current: &Dataset, current_outbox: &[Change], backup: &Backup) -> Merged {
    let mut replica = Replica::new();
    for change in changes_for_dataset(current, Hlc::ZERO, PHONE_SNAPSHOT, 1) {
        replica.apply(change);
    }
    for change in current_outbox {
        replica.apply(change.clone());
    }
    for change in changes_for_dataset(&backup.dataset, Hlc::ZERO, BACKUP_SNAPSHOT, 1) {
        replica.apply(change);
    }
    let held: HashSet<_> = current_outbox.iter().map(Change::id).collect();
    let new_changes: Vec<Change> = backup
        .outbox
        .iter()
        .filter(|c| !held.contains(&c.id()))
        .cloned()
        .collect();
    for change in &new_changes {
        replica.apply(change.clone());
    }
    let dataset = replica.materialize().dataset;
    let conflicts = replica.conflicts();

    let mut summary = ImportSummary {
        conflicts: conflicts.len(),
        ..ImportSummary::default()
    };
    let mut changed = Dataset::new();
    tally(
        &current.villages,
        &dataset.villages,
        |r| r.id,
        &mut changed.villages,
        &mut summary,
    );
    tally(
        &current.households,
        &dataset.households,
        |r| r.id,
        &mut changed.households,
        &mut summary,
    );
    tally(
        &current.persons,
        &dataset.persons,
        |r| r.id,
        &mut changed.persons,
        &mut summary,
    );
    tally(
        &current.visits,
        &dataset.visits,
        |r| r.id,
        &mut changed.visits,
        &mut summary,
    );
    tally(
        &current.plans,
        &dataset.plans,
        |r| r.id,
        &mut changed.plans,
        &mut summary,
    );
    tally(
        &current.ticks,
        &dataset.ticks,
        |r| r.id,
        &mut changed.ticks,
        &mut summary,
    );
    Merged {
        dataset,
        changed,
        new_changes,
        conflicts,
        summary,
    }
}

/// Counts the records of `after` as added, updated or unchanged against
/// `before`, copying the added and updated ones into `changed`.
fn tally<R: PartialEq + Clone>(
    before: &[R],
    after: &[R],
    id: impl Fn(&R) -> Id,
    changed: &mut Vec<R>,
    summary: &mut ImportSummary,
) {
    let old: std::collections::HashMap<Id, &R> = before.iter().map(|r| (id(r), r)).collect();
    for record in after {
        match old.get(&id(record)) {
            None => summary.added += 1,
            Some(previous) if *previous == record => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
        }
        changed.push(record.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Size, generate};
    use crate::sync::{RecordKind, RecordRef, changes_for_edit};
    use chrono::NaiveDate;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn device(n: u128) -> DeviceId {
        DeviceId(Uuid::from_u128(n))
    }

    fn small() -> Dataset {
        generate(3, Size::Small, today())
    }

    #[test]
    fn a_backup_reads_back_whole() {
        let backup = Backup::new(device(7), 1_790_000_000_000, small(), Vec::new());
        assert_eq!(read_backup(&backup.to_bytes()).unwrap(), backup);
    }

    #[test]
    fn damaged_foreign_and_newer_files_are_refused_with_a_reason() {
        let good = Backup::new(device(7), 1, small(), Vec::new()).to_bytes();
        assert!(matches!(
            read_backup(&good[..good.len() / 2]),
            Err(BackupError::Unreadable(_))
        ));
        assert_eq!(
            read_backup(br#"{"name":"a shopping list"}"#),
            Err(BackupError::NotABackup)
        );
        assert_eq!(read_backup(b"[1,2,3]"), Err(BackupError::NotABackup));

        let mut newer: serde_json::Value = serde_json::from_slice(&good).unwrap();
        newer["version"] = 2.into();
        let refused = read_backup(&serde_json::to_vec(&newer).unwrap());
        assert!(matches!(
            refused,
            Err(BackupError::TooNew { version: 2, .. })
        ));

        let mut unknown: serde_json::Value = serde_json::from_slice(&good).unwrap();
        unknown["extra"] = "?".into();
        assert!(matches!(
            read_backup(&serde_json::to_vec(&unknown).unwrap()),
            Err(BackupError::Unreadable(_))
        ));
    }

    #[test]
    fn records_that_point_nowhere_make_the_file_inconsistent() {
        // A visit whose person was cut out of the file.
        let mut data = small();
        let visited = data.visits[0].person_id;
        data.persons.retain(|p| p.id != visited);
        let refused = read_backup(&Backup::new(device(7), 1, data, Vec::new()).to_bytes());
        assert!(matches!(refused, Err(BackupError::Inconsistent(_))));

        // A person whose household is missing.
        let mut data = small();
        let home = data.persons[0].household_id;
        data.households.retain(|h| h.id != home);
        let refused = read_backup(&Backup::new(device(7), 1, data, Vec::new()).to_bytes());
        assert!(matches!(refused, Err(BackupError::Inconsistent(_))));
    }

    #[test]
    fn restoring_into_an_empty_phone_gives_the_backup_s_records() {
        let data = small();
        let backup = Backup::new(device(7), 1, data.clone(), Vec::new());
        let merged = merge_backup(&Dataset::new(), &[], &backup);
        assert_eq!(merged.dataset.households.len(), data.households.len());
        assert_eq!(merged.dataset.persons.len(), data.persons.len());
        assert_eq!(merged.dataset.visits.len(), data.visits.len());
        assert_eq!(
            merged.summary.added,
            data.villages.len()
                + data.households.len()
                + data.persons.len()
                + data.visits.len()
                + data.plans.len()
                + data.ticks.len()
        );
        assert_eq!((merged.summary.updated, merged.summary.conflicts), (0, 0));
        assert!(merged.conflicts.is_empty());
        assert_eq!(
            merged.changed, merged.dataset,
            "every record is to be written"
        );
    }

    #[test]
    fn merging_keeps_the_later_edit_and_the_other_value_as_a_conflict() {
        let data = small();
        let person = data.persons[0].clone();
        let record = RecordRef {
            kind: RecordKind::Person,
            id: person.id,
        };

        // On the backup's phone the name was corrected at 2000 ms …
        let mut renamed = person.clone();
        renamed.name = "王秀兰".into();
        let backup_edit = changes_for_edit(
            record,
            &serde_json::to_value(&person).unwrap(),
            &serde_json::to_value(&renamed).unwrap(),
            Hlc::new(2_000, 0),
            device(7),
            1,
        )
        .unwrap();
        let mut backup_data = data.clone();
        backup_data.persons[0] = renamed;
        let backup = Backup::new(device(7), 3_000, backup_data, backup_edit.clone());

        // … and on this phone, earlier, at 1000 ms.
        let mut here = person.clone();
        here.name = "王秀英".into();
        let local_edit = changes_for_edit(
            record,
            &serde_json::to_value(&person).unwrap(),
            &serde_json::to_value(&here).unwrap(),
            Hlc::new(1_000, 0),
            device(9),
            1,
        )
        .unwrap();
        let mut current = data.clone();
        current.persons[0] = here;

        let merged = merge_backup(&current, &local_edit, &backup);
        let name = &merged
            .dataset
            .persons
            .iter()
            .find(|p| p.id == person.id)
            .unwrap()
            .name;
        assert_eq!(name, "王秀兰", "the later edit wins");
        assert_eq!(merged.summary.updated, 1);
        assert_eq!(
            merged.changed,
            Dataset {
                persons: vec![
                    merged
                        .dataset
                        .persons
                        .iter()
                        .find(|p| p.id == person.id)
                        .unwrap()
                        .clone()
                ],
                ..Dataset::new()
            },
            "only the renamed person is to be written"
        );
        assert!(
            merged
                .conflicts
                .iter()
                .any(|c| c.record == record && c.field == "name")
        );
        assert_eq!(
            merged.new_changes, backup_edit,
            "the backup's unsynced edit joins the outbox"
        );

        // Importing the same backup again changes nothing more.
        let again = merge_backup(
            &merged.dataset,
            &[local_edit, merged.new_changes.clone()].concat(),
            &backup,
        );
        assert!(again.new_changes.is_empty());
        assert_eq!(again.summary.updated, 0);
        assert_eq!(again.summary.added, 0);
        assert_eq!(again.changed, Dataset::new(), "nothing to write");
    }
}

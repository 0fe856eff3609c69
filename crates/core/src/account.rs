//! What a phone holds against what it may sync: the count of records waiting
//! to be synced, and the villages on the phone an account cannot write.

use std::collections::BTreeSet;

use crate::api::VillageView;
use crate::model::Village;
use crate::sync::{Change, RecordRef};

/// How many records the changes touch: one saved visit is one record
/// waiting, however many of its fields were set. This is the "unsynced"
/// count a worker sees.
pub fn records_changed<'a>(changes: impl IntoIterator<Item = &'a Change>) -> usize {
    changes
        .into_iter()
        .map(|c| c.record)
        .collect::<BTreeSet<RecordRef>>()
        .len()
}

/// The villages on this phone (not removed) that are none of the account's:
/// a village made on this phone before signing in. The server refuses every
/// change to them, so a worker holding one is not signed in (the app says
/// why) — she never ends up with a second village.
pub fn villages_outside_account<'a>(
    local: &'a [Village],
    account: &[VillageView],
) -> Vec<&'a Village> {
    local
        .iter()
        .filter(|v| !v.deleted)
        .filter(|v| !account.iter().any(|a| a.id == v.id.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::{DeviceId, Hlc, RecordKind};

    fn change(kind: RecordKind, id: u128, field: &str, seq: u64) -> Change {
        Change {
            record: RecordRef {
                kind,
                id: uuid::Uuid::from_u128(id),
            },
            field: field.into(),
            value: json!(1),
            ts: Hlc::default(),
            device: DeviceId(uuid::Uuid::nil()),
            seq,
            supersedes: Vec::new(),
        }
    }

    #[test]
    fn one_saved_visit_is_one_record_however_many_fields() {
        let visit: Vec<Change> = ["person", "date", "kind", "outcome", "notes", "by", "next"]
            .iter()
            .enumerate()
            .map(|(i, f)| change(RecordKind::Visit, 7, f, i as u64 + 1))
            .collect();
        assert_eq!(visit.len(), 7);
        assert_eq!(records_changed(&visit), 1);
        let mut more = visit.clone();
        more.push(change(RecordKind::Person, 7, "name", 8));
        more.push(change(RecordKind::Visit, 8, "date", 9));
        // Same id, another kind, is another record.
        assert_eq!(records_changed(&more), 3);
        assert_eq!(records_changed(&[]), 0);
    }

    #[test]
    fn a_village_made_on_the_phone_is_outside_the_account() {
        let ours = Village {
            id: uuid::Uuid::from_u128(1),
            name: "三组村".into(),
            township: None,
            deleted: false,
        };
        let made_here = Village {
            id: uuid::Uuid::from_u128(2),
            name: "新村".into(),
            township: None,
            deleted: false,
        };
        let removed = Village {
            id: uuid::Uuid::from_u128(3),
            deleted: true,
            ..made_here.clone()
        };
        let account = [VillageView {
            id: ours.id.to_string(),
            name: ours.name.clone(),
            township: "某镇".into(),
        }];
        let local = [ours.clone(), made_here.clone(), removed];
        let outside = villages_outside_account(&local, &account);
        assert_eq!(outside, vec![&made_here]);
        assert!(villages_outside_account(&[ours], &account).is_empty());
        assert!(villages_outside_account(&[], &account).is_empty());
    }
}

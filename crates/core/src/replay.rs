//! After a server is restored from a backup: what a phone sends again, and
//! where it resumes pulling.
//!
//! A restored server is older than the phones. The changes it acknowledged
//! after the backup are gone from it, and the phones dropped them from
//! their outboxes when they were acknowledged. They still hold them in
//! their merge states, though: their own and those they pulled, of every
//! device. So the database carries an identity ([`DatabaseIdentity`]) that
//! a restore renews; a phone that sees a new one sends every change it
//! holds to the server's replay route ([`ReplayRequest`], applied
//! idempotently: a held change is accepted and applied nothing), then
//! moves its pull cursor back to at most the head the restored database
//! had ([`IdentityStep::Recover`]) and pulls. The server's change numbers
//! went back with the restore, so it takes a new device id as well.
//!
//! The phone and the tests share this module, so they decide alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sync::{Change, ChangeId, RecordKind, RecordRef, RecordState, SNAPSHOT_DEVICE};

/// `GET /api/v1/sync/identity`: which database the server runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseIdentity {
    /// Made when the database first starts, made anew by every restore.
    pub database: Uuid,
    /// The change log's head when this identity was made: 0 for a new
    /// database, the backup's head after a restore. The log up to it is
    /// the one the phones pulled from before; after it, it differs.
    pub restored_cursor: u64,
    /// Until when the server takes replayed changes (ms since the epoch);
    /// `None` when it was never restored.
    pub replay_until_ms: Option<u64>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// What a phone does about the identity it sees, given the one it stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityStep {
    /// No identity stored (a new phone, or one from before identities):
    /// store it; nothing else.
    Adopt,
    /// The same database as before: sync as usual.
    Same,
    /// Another database (a restore, or a server made anew): send every
    /// held change again when `replay` (the server is in its replay
    /// window), then move the pull cursor to `resume_cursor` and store the
    /// identity. Until the identity is stored, the next sync does it all
    /// again, which changes nothing twice.
    Recover {
        /// Whether to replay: the server takes replays now.
        replay: bool,
        /// Where pulling goes on from: the phone's cursor, or the restored
        /// head when the cursor is past it.
        resume_cursor: u64,
    },
}

/// What to do on seeing `seen`, with `stored` the identity kept from the
/// same server and `cursor` the phone's pull cursor there.
pub fn identity_step(stored: Option<Uuid>, seen: &DatabaseIdentity, cursor: u64) -> IdentityStep {
    match stored {
        None => IdentityStep::Adopt,
        Some(database) if database == seen.database => IdentityStep::Same,
        Some(_) => IdentityStep::Recover {
            replay: seen
                .replay_until_ms
                .is_some_and(|until| seen.server_time_ms < until),
            resume_cursor: cursor.min(seen.restored_cursor),
        },
    }
}

/// `POST /api/v1/sync/replay`: changes a phone holds, of any device, sent
/// again to a restored server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The changes, in [`replay_order`]: a record's parents before it.
    pub changes: Vec<Change>,
}

/// The answer to a replay, sent after the commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayResponse {
    /// Changes the server holds now: applied, or held already.
    pub accepted: Vec<ChangeId>,
    /// Changes refused, with the reason; nothing of them was applied.
    pub rejected: Vec<ReplayRejection>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// A replayed change the server refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRejection {
    /// The change.
    pub change: ChangeId,
    /// Why, in English.
    pub reason: String,
}

/// How deep a kind sits below its village: a village 0, a household or a
/// plan 1, a person, a visit or a tick 2.
fn depth(kind: RecordKind) -> usize {
    let mut depth = 0;
    let mut at = kind;
    while let Some((_, parent)) = at.parent() {
        depth += 1;
        at = parent;
    }
    depth
}

/// Sorts changes for a replay: records by depth (a record's parents before
/// it), then kind and id; within a record, the changes of the field that
/// ties it to its parent first (they place a record new to the server),
/// then by stamp, device and number (a record's creation before its
/// edits).
pub fn replay_order(changes: &mut [Change]) {
    changes.sort_by(|a, b| {
        let key = |c: &Change| {
            let tie = c.record.kind.parent().map(|(field, _)| field);
            (
                depth(c.record.kind),
                c.record,
                tie != Some(c.field.as_str()),
                c.ts,
                c.device,
                c.seq,
            )
        };
        key(a).cmp(&key(b))
    });
}

/// Every change held in `states` — each field's winner, open conflicts and
/// kept history — in [`replay_order`], each once. Left out: the stand-in
/// changes of values known only as a snapshot ([`SNAPSHOT_DEVICE`]), which
/// are no device's and which the server never holds.
pub fn replay_changes<'a>(states: impl IntoIterator<Item = &'a RecordState>) -> Vec<Change> {
    let mut seen = BTreeMap::new();
    for state in states {
        for (_, field) in state.fields() {
            for change in field.changes() {
                if change.device != SNAPSHOT_DEVICE {
                    seen.entry(change.id()).or_insert_with(|| change.clone());
                }
            }
        }
    }
    let mut changes: Vec<Change> = seen.into_values().collect();
    replay_order(&mut changes);
    changes
}

/// `changes` (in [`replay_order`]) cut into requests of about `size`
/// changes, never splitting a record's changes (so that a record new to
/// the server comes with its tie to its parent), in order.
pub fn replay_batches(changes: Vec<Change>, size: usize) -> Vec<Vec<Change>> {
    let mut batches: Vec<Vec<Change>> = Vec::new();
    let mut current: Vec<Change> = Vec::new();
    let mut last: Option<RecordRef> = None;
    for change in changes {
        if current.len() >= size.max(1) && last != Some(change.record) {
            batches.push(std::mem::take(&mut current));
        }
        last = Some(change.record);
        current.push(change);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::{DeviceId, Hlc, Replica, changes_for_new_record};

    fn device(n: u128) -> DeviceId {
        DeviceId(Uuid::from_u128(n))
    }

    fn identity(database: u128, restored_cursor: u64, until: Option<u64>) -> DatabaseIdentity {
        DatabaseIdentity {
            database: Uuid::from_u128(database),
            restored_cursor,
            replay_until_ms: until,
            server_time_ms: 1_000,
        }
    }

    #[test]
    fn a_new_identity_replays_and_moves_the_cursor_back_to_the_restored_head() {
        let seen = identity(2, 40, Some(2_000));
        assert_eq!(identity_step(None, &seen, 90), IdentityStep::Adopt);
        assert_eq!(
            identity_step(Some(Uuid::from_u128(2)), &seen, 90),
            IdentityStep::Same
        );
        assert_eq!(
            identity_step(Some(Uuid::from_u128(1)), &seen, 90),
            IdentityStep::Recover {
                replay: true,
                resume_cursor: 40
            }
        );
        // A phone behind the restored head keeps its own cursor.
        assert_eq!(
            identity_step(Some(Uuid::from_u128(1)), &seen, 12),
            IdentityStep::Recover {
                replay: true,
                resume_cursor: 12
            }
        );
        // Past the window, or a database made anew: no replay.
        for seen in [identity(2, 40, Some(1_000)), identity(2, 0, None)] {
            assert!(matches!(
                identity_step(Some(Uuid::from_u128(1)), &seen, 90),
                IdentityStep::Recover { replay: false, .. }
            ));
        }
    }

    /// A household of `village` made by `by`, and a person in it made by
    /// `other`, whose name `by` then edits and `other` edits concurrently.
    fn village_replica(by: DeviceId, other: DeviceId) -> Replica {
        let village = Uuid::from_u128(7);
        let household = Uuid::from_u128(8);
        let person = Uuid::from_u128(9);
        let mut replica = Replica::new();
        let household_json = json!({"id": household, "village_id": village, "number": "1"});
        for change in changes_for_new_record(
            RecordKind::Household,
            &household_json,
            Hlc::new(10, 0),
            by,
            1,
        )
        .unwrap()
        {
            replica.apply(change);
        }
        let person_json =
            json!({"id": person, "household_id": household, "name": "王芳", "sex": "female"});
        for change in
            changes_for_new_record(RecordKind::Person, &person_json, Hlc::new(20, 0), other, 1)
                .unwrap()
        {
            replica.apply(change);
        }
        let record = RecordRef {
            kind: RecordKind::Person,
            id: person,
        };
        for (device, seq, name) in [(by, 10, "王芳芳"), (other, 10, "王小芳")] {
            replica.apply(Change {
                record,
                field: "name".into(),
                value: json!(name),
                ts: Hlc::new(30, 0),
                device,
                seq,
                supersedes: vec![],
            });
        }
        replica
    }

    #[test]
    fn every_held_change_is_replayed_once_parents_first() {
        let (a, b) = (device(1), device(2));
        let replica = village_replica(a, b);
        let held: Vec<Change> = replica.changes().cloned().collect();
        let replay = replay_changes(replica.records());
        assert_eq!(replay.len(), held.len());
        for change in &held {
            assert!(replay.contains(change), "{change:?}");
        }
        // The household (depth 1) before the person (depth 2); the person's
        // household tie first among its changes; the conflicting names
        // (winner and loser) both sent.
        let first_person = replay
            .iter()
            .position(|c| c.record.kind == RecordKind::Person)
            .unwrap();
        assert!(
            replay[..first_person]
                .iter()
                .all(|c| c.record.kind == RecordKind::Household)
        );
        assert_eq!(replay[first_person].field, "household_id");
        let names = replay.iter().filter(|c| c.field == "name").count();
        assert_eq!(names, 3);
    }

    #[test]
    fn snapshot_values_are_not_replayed() {
        let state = RecordState::from_snapshot(
            RecordKind::Household,
            &json!({"id": Uuid::from_u128(3), "village_id": Uuid::from_u128(7), "number": "2"}),
        )
        .unwrap();
        assert!(replay_changes([&state]).is_empty());
    }

    #[test]
    fn batches_never_split_a_record() {
        let replica = village_replica(device(1), device(2));
        let replay = replay_changes(replica.records());
        let total = replay.len();
        let batches = replay_batches(replay.clone(), 2);
        assert_eq!(batches.concat(), replay);
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), total);
        for pair in batches.windows(2) {
            assert_ne!(
                pair[0].last().unwrap().record,
                pair[1].first().unwrap().record
            );
        }
        assert_eq!(batches.len(), 2, "one batch per record here");
    }
}

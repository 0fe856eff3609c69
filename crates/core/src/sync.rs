//! Sync: the unit of sync and backup (a [`Change`]), the merge rule, and the
//! sync protocol's messages. The phone, the backup import and the server all
//! merge through this module, so every copy decides alike.
//!
//! # The model
//! - A record (village, household, person, visit, plan, tick) is a JSON
//!   object; its top-level keys other than `id` are its **fields**. Every edit
//!   is one [`Change`] per changed field: the new value, a hybrid-logical-clock
//!   stamp ([`Hlc`]), the device and the device's change number (`seq`). A new
//!   record is one change per field that has a value; a deletion is the
//!   `deleted` field set to `true` (a tombstone, kept and merged like any
//!   other field). A `null` value means "absent": the field takes its default.
//! - **Merge** is per (record, field): the change with the later stamp wins,
//!   then the larger device id, then (one device) the larger change number.
//!   Winning depends only on the set of changes held, never on the order they
//!   arrived in, so every copy that holds the same changes shows the same
//!   records.
//! - **Nothing is thrown away.** Every losing change stays in its field's
//!   [`FieldState`]. A loser is an open **conflict** ([`Conflict`]) when its
//!   value differs from the winner's and nobody has replaced it knowingly. A
//!   change replaces knowingly the changes listed in its
//!   [`supersedes`](Change::supersedes) (what its author saw in that field:
//!   the winner and the open conflicts) and the earlier changes of its own
//!   device. So an ordinary edit is no conflict, the same value written by two
//!   devices is no conflict, an exact duplicate is a no-op, and settling a
//!   conflict is just a new change ([`FieldState::settle`]).
//! - **Clocks on phones are wrong.** The core reads no clock: "now" is an
//!   argument. The server bounds every incoming stamp with [`clamp_future`]
//!   and stores the bounded change ([`ServerChange::intake`]); a device that
//!   pulls its own change back with a lower stamp adopts it (for one device
//!   and change number, the lowest stamp held counts).
//! - **Backup** is the set of changes ([`Replica::changes`]); importing one is
//!   applying it, with the same rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::data::Dataset;
use crate::model::Id;

/// How far ahead of the receiver's "now" a stamp may be (5 minutes) before
/// [`clamp_future`] brings it back to "now" and flags it.
pub const MAX_FUTURE_MS: u64 = 5 * 60 * 1000;

/// The key of a record's id in its JSON object: not a field, never changed.
pub const ID_FIELD: &str = "id";

/// The tombstone field: `true` when the record was deleted.
pub const DELETED_FIELD: &str = "deleted";

/// Which list of the [`Dataset`] a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A [`Village`].
    Village,
    /// A [`Household`].
    Household,
    /// A [`Person`].
    Person,
    /// A [`Visit`].
    Visit,
    /// A [`WorkPlan`].
    Plan,
    /// A [`Tick`].
    Tick,
}

impl RecordKind {
    /// Every kind, in dataset order.
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Village,
        RecordKind::Household,
        RecordKind::Person,
        RecordKind::Visit,
        RecordKind::Plan,
        RecordKind::Tick,
    ];

    /// The kind's name as it appears in JSON (`"household"`).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Village => "village",
            RecordKind::Household => "household",
            RecordKind::Person => "person",
            RecordKind::Visit => "visit",
            RecordKind::Plan => "plan",
            RecordKind::Tick => "tick",
        }
    }

    /// The kind named `name` (as [`name`](Self::name) writes it).
    pub fn from_name(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The field that ties a record of this kind to the record it belongs
    /// to, and that record's kind: a household to its village, a person and
    /// a visit to their household, a plan to its village, a tick to its
    /// plan. `None` for a village, which belongs to itself. Following these
    /// ties from any record ends at its village: the unit of access and of
    /// sync.
    pub fn parent(self) -> Option<(&'static str, RecordKind)> {
        match self {
            RecordKind::Village => None,
            RecordKind::Household | RecordKind::Plan => Some(("village_id", RecordKind::Village)),
            RecordKind::Person | RecordKind::Visit => Some(("household_id", RecordKind::Household)),
            RecordKind::Tick => Some(("plan_id", RecordKind::Plan)),
        }
    }

    /// The smallest valid record of this kind: every required field with a
    /// placeholder. Used to check one field's value on its own.
    fn template(self) -> Map<String, Value> {
        let nil = || Value::String(Uuid::nil().to_string());
        let day = || json!("2000-01-01");
        let pairs = match self {
            RecordKind::Village => vec![("name", json!(""))],
            RecordKind::Household => vec![("village_id", nil()), ("number", json!(""))],
            RecordKind::Person => vec![
                ("household_id", nil()),
                ("name", json!("")),
                ("sex", json!("female")),
            ],
            RecordKind::Visit => vec![
                ("person_id", nil()),
                ("household_id", nil()),
                ("date", day()),
                ("kind", json!("other")),
            ],
            RecordKind::Plan => vec![
                ("village_id", nil()),
                ("year", json!(2000)),
                ("title", json!("")),
                ("sections", json!([])),
            ],
            RecordKind::Tick => vec![
                ("plan_id", nil()),
                ("measure_id", nil()),
                ("occurrence", json!(0)),
                ("date", day()),
            ],
        };
        let mut object = Map::new();
        object.insert(ID_FIELD.to_string(), nil());
        for (key, value) in pairs {
            object.insert(key.to_string(), value);
        }
        object
    }

    /// Every field of this kind (the record's top-level keys but `id`), in
    /// name order.
    pub fn fields(self) -> Vec<String> {
        let full = Decoded::from_json(self, Value::Object(self.template()))
            .map(Decoded::into_json)
            .unwrap_or_default();
        full.keys().filter(|k| *k != ID_FIELD).cloned().collect()
    }

    /// Whether `value` is a valid value of `field` for this kind (`null`
    /// meaning absent, which only an optional field may be). The reason, in
    /// English, when it is not.
    pub fn check_value(self, field: &str, value: &Value) -> Result<(), String> {
        if field == ID_FIELD {
            return Err("the id is not a field: it cannot change".to_string());
        }
        Decoded::from_json(self, Value::Object(self.with_value(field, value)))
            .map(|_| ())
            .map_err(|e| format!("field `{field}` of a {self:?}: {e}"))
    }

    /// The smallest valid record of this kind with `field` set to `value`
    /// (`null`: left out, taking its default), as a JSON object: what a
    /// check of one field decodes.
    pub(crate) fn with_value(self, field: &str, value: &Value) -> Map<String, Value> {
        let mut object = self.template();
        if value.is_null() {
            object.remove(field);
        } else {
            object.insert(field.to_string(), value.clone());
        }
        object
    }
}

/// Which record: its kind and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    /// The record's kind.
    pub kind: RecordKind,
    /// The record's id.
    pub id: Id,
}

/// A hybrid-logical-clock stamp: wall-clock milliseconds since the Unix
/// epoch, then a counter for events within one millisecond (or while the
/// wall clock stands still or goes back). Ordered by `(wall_ms, counter)`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch.
    pub wall_ms: u64,
    /// Events within the same `wall_ms`.
    pub counter: u32,
}

impl Hlc {
    /// The smallest stamp.
    pub const ZERO: Hlc = Hlc {
        wall_ms: 0,
        counter: 0,
    };

    /// A stamp.
    pub const fn new(wall_ms: u64, counter: u32) -> Hlc {
        Hlc { wall_ms, counter }
    }

    /// The least stamp greater than this one: the counter plus one, or the
    /// next millisecond when the counter is full. (The greatest stamp has
    /// no successor; it returns itself, some 584 million years from now.)
    pub fn successor(self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc::new(self.wall_ms, counter),
            None if self.wall_ms < u64::MAX => Hlc::new(self.wall_ms + 1, 0),
            None => self,
        }
    }
}

/// A device's hybrid logical clock. It reads no clock itself: the caller
/// passes "now" (device time, corrected by the server's time if it keeps an
/// offset). Persist it (it is serde) so stamps keep growing across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    /// A clock that has issued and seen nothing.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// A clock that has issued or seen `last`, e.g. restored from storage.
    pub fn resume(last: Hlc) -> Clock {
        Clock { last }
    }

    /// The greatest stamp issued or observed so far.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// The stamp of a local event: `now_ms` when that is ahead of every
    /// stamp issued or observed, otherwise the successor of the greatest one.
    /// Strictly greater than every stamp issued or observed, even when
    /// `now_ms` goes back.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let next = if now_ms > self.last.wall_ms {
            Hlc::new(now_ms, 0)
        } else {
            self.last.successor()
        };
        self.last = next;
        next
    }

    /// Take in a stamp received from elsewhere (a pulled change, or the
    /// server's time as `Hlc::new(server_time_ms, 0)`), so that every later
    /// [`tick`](Clock::tick) is greater than it. Returns the stamp of the
    /// receive event. Pass only stamps that went through [`clamp_future`]
    /// at the server (pulled changes did): an unbounded far-future stamp
    /// would carry this clock along with it.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Hlc {
        let latest = self.last.max(remote);
        let next = if now_ms > latest.wall_ms {
            Hlc::new(now_ms, 0)
        } else {
            latest.successor()
        };
        self.last = next;
        next
    }
}

/// Bound a received stamp: one more than [`MAX_FUTURE_MS`] ahead of the
/// receiver's `now_ms` becomes `now_ms` (its counter kept) and is flagged
/// `true`, so that a phone whose clock runs ahead cannot win every merge
/// forever. Any other stamp is returned as it is, flagged `false`.
pub fn clamp_future(ts: Hlc, now_ms: u64) -> (Hlc, bool) {
    if ts.wall_ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        (Hlc::new(now_ms, ts.counter), true)
    } else {
        (ts, false)
    }
}

/// The largest change number: the server keeps them as signed 64-bit
/// integers (SQLite's and PostgreSQL's), so a larger one could not be told
/// apart from its neighbours when a push is retried.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// A device (a phone's install, or the server itself when a township
/// officer edits there): a UUID made once at the edge. Compared by its
/// bytes, which is the order of its lowercase hex text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub Uuid);

/// A change's identity: its device and the device's change number. Two
/// changes with one identity are copies of one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeId {
    /// The device that made the change.
    pub device: DeviceId,
    /// The device's change number.
    pub seq: u64,
}

/// One field of one record set to one value: the unit of sync and backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The record.
    pub record: RecordRef,
    /// The field: a top-level key of the record's JSON object, never `id`.
    pub field: String,
    /// The new value; `null` means absent (the field's default).
    pub value: Value,
    /// When, on the hybrid logical clock.
    pub ts: Hlc,
    /// Who: the device that made it.
    pub device: DeviceId,
    /// The device's change number: 1, 2, 3… in the order it made them.
    pub seq: u64,
    /// The changes of this field its author saw and replaced knowingly: the
    /// field's winner and open conflicts when the edit was made
    /// ([`FieldState::in_view`]). They stop being conflicts. Empty for a new
    /// record; a device's own earlier changes need not be listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<ChangeId>,
}

impl Change {
    /// The change's identity.
    pub fn id(&self) -> ChangeId {
        ChangeId {
            device: self.device,
            seq: self.seq,
        }
    }

    /// The merge order: stamp, then device, then change number.
    fn rank(&self) -> (Hlc, DeviceId, u64) {
        (self.ts, self.device, self.seq)
    }

    /// Whether this change wins over `other` in the same field: a later
    /// stamp, then a larger device id, then (one device) a larger change
    /// number.
    pub fn beats(&self, other: &Change) -> bool {
        self.rank() > other.rank()
    }

    /// Everything but the stamp is equal: two copies of one change, perhaps
    /// one of them clamped.
    fn same_content(&self, other: &Change) -> bool {
        self.record == other.record
            && self.field == other.field
            && self.value == other.value
            && self.supersedes == other.supersedes
    }

    /// Whether this change replaced `other` knowingly: it lists it, or it is
    /// a later change of the same device.
    fn replaced(&self, other: &Change) -> bool {
        self.supersedes.contains(&other.id())
            || (self.device == other.device && self.seq > other.seq)
    }

    /// Whether the change is well formed for the server to accept: a change
    /// number from 1 to [`MAX_SEQ`], a known field of its kind, a value that
    /// fits the field and passes its own limits
    /// ([`check_field`](crate::limits::check_field): lengths, ranges, dates,
    /// bytes), and not superseding itself. The reason, in English, naming
    /// the field's path, when not.
    pub fn validate(&self) -> Result<(), String> {
        if self.seq == 0 {
            return Err("change numbers start at 1".to_string());
        }
        if self.seq > MAX_SEQ {
            return Err(format!("change numbers go up to {MAX_SEQ}"));
        }
        if self.supersedes.contains(&self.id()) {
            return Err("a change cannot supersede itself".to_string());
        }
        crate::limits::check_field(self.record.kind, &self.field, &self.value)
            .map_err(|refusal| refusal.to_string())
    }
}

/// What [`FieldState::apply`], [`RecordState::apply`] or [`Replica::apply`]
/// did with a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The change's value is now the field's value.
    Won,
    /// A held change wins; this one is kept among the field's losers (an
    /// open conflict when its value differs and nobody replaced it).
    LostToCurrent,
    /// The change was held already (same device and change number, same
    /// content, no lower stamp): nothing changed.
    Duplicate,
    /// Refused, nothing changed: the change reuses a held change's device and
    /// change number with other content, or belongs to another record or
    /// field than the state it was applied to.
    Refused {
        /// Why, in English.
        reason: String,
    },
}

/// A losing value that a person should see and settle: the field shows
/// `kept`; `lost` was written without knowledge of it (or of what it
/// replaced). Both carry their value, device and stamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// The record.
    pub record: RecordRef,
    /// The field.
    pub field: String,
    /// The winning change: the field's value now.
    pub kept: Change,
    /// The losing change, kept.
    pub lost: Change,
}

/// Every change held for one field of one record: the winner, the open
/// conflicts, and the rest of its history. Which change lands where depends
/// only on the set of changes, not on their order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldState {
    winner: Change,
    conflicts: Vec<Change>,
    history: Vec<Change>,
    /// What the losers dropped by [`compact`](FieldState::compact) replaced
    /// knowingly: enough to decide every later change as if they were held.
    #[serde(default, skip_serializing_if = "Dropped::is_empty")]
    dropped: Dropped,
}

/// The losers [`FieldState::compact`] dropped: their identities (so that a
/// copy arriving again is a duplicate, as when it was held) and what they
/// replaced knowingly that the identities do not say (the changes they
/// listed in [`Change::supersedes`]). A dropped change's device also
/// replaced every earlier change of its own, as when it was held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    seqs: BTreeMap<DeviceId, BTreeSet<u64>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    superseded: BTreeSet<ChangeId>,
}

impl Dropped {
    fn is_empty(&self) -> bool {
        self.seqs.is_empty() && self.superseded.is_empty()
    }

    /// Whether `id` is a dropped change's.
    fn holds(&self, id: ChangeId) -> bool {
        self.seqs
            .get(&id.device)
            .is_some_and(|s| s.contains(&id.seq))
    }

    /// The dropped changes' identities.
    fn ids(&self) -> impl Iterator<Item = ChangeId> + '_ {
        self.seqs
            .iter()
            .flat_map(|(&device, seqs)| seqs.iter().map(move |&seq| ChangeId { device, seq }))
    }

    /// Whether a dropped change replaced `other` knowingly.
    fn replaces(&self, other: &Change) -> bool {
        self.seqs
            .get(&other.device)
            .and_then(|s| s.last())
            .is_some_and(|&seq| seq > other.seq)
            || self.superseded.contains(&other.id())
    }

    /// Remember `change` as it is dropped.
    fn take(&mut self, change: &Change) {
        self.seqs
            .entry(change.device)
            .or_default()
            .insert(change.seq);
        self.superseded.extend(change.supersedes.iter().copied());
        let seqs = &self.seqs;
        // What the identities say already need not be listed again.
        self.superseded.retain(|id| {
            seqs.get(&id.device)
                .is_none_or(|s| !s.contains(&id.seq) && s.last().is_none_or(|&l| l <= id.seq))
        });
    }
}

impl FieldState {
    /// The state of a field that holds one change.
    pub fn new(change: Change) -> FieldState {
        FieldState {
            winner: change,
            conflicts: Vec::new(),
            history: Vec::new(),
            dropped: Dropped::default(),
        }
    }

    /// Drops the losers that a held change (or an earlier dropped one)
    /// replaced knowingly and that can never win again, keeping only what
    /// they replaced in turn. Every later change is then decided as before:
    /// the winner, the open conflicts and what a later edit supersedes stay
    /// exactly those of the full history; only
    /// [`history`](FieldState::history) is shorter. The server's change log
    /// keeps every change; this is what a merge state needs.
    ///
    /// A loser can win again only if every change above it comes back with
    /// a lower stamp: a change of `own` (the device keeping this state)
    /// that the server has not stamped yet may be clamped. So a loser is
    /// dropped only below a change of another device. The server, whose
    /// stamps are final, passes `None`.
    pub fn compact(&mut self, own: Option<DeviceId>) {
        let gone: Vec<bool> = self
            .history
            .iter()
            .map(|old| {
                self.is_replaced(old)
                    && self
                        .changes()
                        .any(|c| Some(c.device) != own && c.rank() > old.rank())
            })
            .collect();
        if !gone.contains(&true) {
            return;
        }
        let history = std::mem::take(&mut self.history);
        for (change, gone) in history.into_iter().zip(gone) {
            if gone {
                self.dropped.take(&change);
            } else {
                self.history.push(change);
            }
        }
    }

    /// Whether a held change, or a dropped one, replaced `old` knowingly.
    fn is_replaced(&self, old: &Change) -> bool {
        self.changes().any(|c| c.replaced(old)) || self.dropped.replaces(old)
    }

    /// The winning change: the field's value.
    pub fn winner(&self) -> &Change {
        &self.winner
    }

    /// The open conflicts, latest first: losers whose value differs from the
    /// winner's and that no held change replaced knowingly.
    pub fn conflicts(&self) -> &[Change] {
        &self.conflicts
    }

    /// The other losers, latest first: replaced knowingly, or holding the
    /// winner's value. Kept, so that nothing is lost.
    pub fn history(&self) -> &[Change] {
        &self.history
    }

    /// Every change held, the winner first.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        std::iter::once(&self.winner)
            .chain(&self.conflicts)
            .chain(&self.history)
    }

    /// What an edit of this field made now replaces knowingly: the winner and
    /// the open conflicts. Put it in the edit's [`Change::supersedes`].
    pub fn in_view(&self) -> Vec<ChangeId> {
        std::iter::once(&self.winner)
            .chain(&self.conflicts)
            .map(Change::id)
            .collect()
    }

    /// The change that settles this field on `value` (one of the conflicting
    /// values, or another): it supersedes the winner and every open conflict.
    /// `ts` comes from [`Clock::tick`]; apply the change like any other.
    pub fn settle(&self, value: Value, ts: Hlc, device: DeviceId, seq: u64) -> Change {
        Change {
            record: self.winner.record,
            field: self.winner.field.clone(),
            value,
            ts,
            device,
            seq,
            supersedes: self.in_view(),
        }
    }

    /// Merge one change into the field: see [`ApplyOutcome`].
    pub fn apply(&mut self, change: Change) -> ApplyOutcome {
        if change.record != self.winner.record || change.field != self.winner.field {
            return ApplyOutcome::Refused {
                reason: "the change belongs to another record or field".to_string(),
            };
        }
        let id = change.id();
        if self.dropped.holds(id) {
            // A copy of a change dropped as replaced: it could neither win
            // nor be a conflict again, whatever its stamp.
            return ApplyOutcome::Duplicate;
        }
        if let Some(held) = self.changes().find(|c| c.id() == id) {
            if !held.same_content(&change) {
                return ApplyOutcome::Refused {
                    reason: format!(
                        "change {} of device {} is held with other content",
                        id.seq, id.device.0
                    ),
                };
            }
            if change.ts >= held.ts {
                return ApplyOutcome::Duplicate;
            }
            // A copy with a lower stamp: the server clamped a far-future
            // stamp. The lowest stamp held counts, whatever the order.
        }
        let mut all: Vec<Change> = self.take_all().filter(|c| c.id() != id).collect();
        all.push(change);
        let dropped = std::mem::take(&mut self.dropped);
        self.rebuild(all, dropped);
        if self.winner.id() == id {
            ApplyOutcome::Won
        } else {
            ApplyOutcome::LostToCurrent
        }
    }

    fn take_all(&mut self) -> impl Iterator<Item = Change> + use<> {
        let conflicts = std::mem::take(&mut self.conflicts);
        let history = std::mem::take(&mut self.history);
        std::iter::once(self.winner.clone())
            .chain(conflicts)
            .chain(history)
    }

    /// Sort every held change by merge order and sort them into winner,
    /// open conflicts and history.
    fn rebuild(&mut self, mut all: Vec<Change>, dropped: Dropped) {
        all.sort_by_key(|c| std::cmp::Reverse(c.rank()));
        let open: Vec<bool> = all
            .iter()
            .enumerate()
            .map(|(i, loser)| {
                i > 0
                    && loser.value != all[0].value
                    && !all.iter().any(|other| other.replaced(loser))
                    && !dropped.replaces(loser)
            })
            .collect();
        let mut conflicts = Vec::new();
        let mut history = Vec::new();
        let mut changes = all.into_iter();
        let Some(winner) = changes.next() else {
            return;
        };
        for (change, open) in changes.zip(open.into_iter().skip(1)) {
            if open {
                conflicts.push(change);
            } else {
                history.push(change);
            }
        }
        *self = FieldState {
            winner,
            conflicts,
            history,
            dropped,
        };
    }
}

/// A record's merge state when it holds only the changes that created the
/// record: see [`RecordState::as_created`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Created {
    /// The stamp every change carries.
    pub ts: Hlc,
    /// The device that made them.
    pub device: DeviceId,
    /// The first change's number; the others follow in field-name order.
    pub first_seq: u64,
}

/// A record's merge state as the phone's and the server's stores keep it
/// beside the record: `{"created": {ts, device, first_seq}}` for a record
/// that holds only its creation (by far the most), rebuilt from the record;
/// otherwise the [compacted](RecordState::compact) state in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredState {
    /// Only the changes that created the record, as in the stored record.
    Created {
        /// Their stamp, device and first number.
        created: Created,
    },
    /// Any other state.
    Full(RecordState),
}

impl StoredState {
    /// The merge state, given the record stored beside it (`None` or `null`
    /// when there is none). `Ok(None)` for a compact state whose record is
    /// missing.
    pub fn into_state(
        self,
        kind: RecordKind,
        record: Option<&Value>,
    ) -> Result<Option<RecordState>, RecordError> {
        match self {
            StoredState::Full(state) => Ok(Some(state)),
            StoredState::Created { created } => match record {
                Some(record) if !record.is_null() => {
                    RecordState::from_created(kind, record, created).map(Some)
                }
                _ => Ok(None),
            },
        }
    }

    /// The latest stamp the state holds ([`RecordState::latest`]).
    pub fn latest(&self) -> Hlc {
        match self {
            StoredState::Created { created } => created.ts,
            StoredState::Full(state) => state.latest(),
        }
    }
}

/// Every change held for one record, field by field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordState {
    record: RecordRef,
    fields: BTreeMap<String, FieldState>,
}

/// The stand-in device of values known only as a snapshot: a record stored
/// before its changes were kept, or bulk-loaded. Snapshot values are stamped
/// [`Hlc::ZERO`], so any real change wins over them.
pub const SNAPSHOT_DEVICE: DeviceId = DeviceId(Uuid::from_u128(u128::MAX));

impl RecordState {
    /// The state of a record known only by its values (`record`, its JSON
    /// object): one change per field, from [`SNAPSHOT_DEVICE`] at
    /// [`Hlc::ZERO`].
    pub fn from_snapshot(kind: RecordKind, record: &Value) -> Result<RecordState, RecordError> {
        let changes = changes_for_new_record(kind, record, Hlc::ZERO, SNAPSHOT_DEVICE, 1)?;
        let id = record
            .get(ID_FIELD)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(RecordError::MissingId)?;
        let mut state = RecordState::new(RecordRef { kind, id });
        for change in changes {
            state.apply(change);
        }
        Ok(state)
    }

    /// The record built from the winning values, as its type writes it
    /// (defaults filled in); `Err` with the reason when they do not form a
    /// valid record.
    pub fn materialize(&self) -> Result<Map<String, Value>, String> {
        self.decode().map(Decoded::into_json)
    }

    /// The compact form of a state that holds exactly the changes that
    /// created its record and nothing else (by far the most records): the
    /// stamp, device and first number, from which [`from_created`] rebuilds
    /// the state given the record. `None` for any other state. `record` is
    /// the record as stored (e.g. [`materialize`]'s); the answer is checked
    /// by rebuilding, so a compact form always rebuilds the same state.
    ///
    /// [`from_created`]: RecordState::from_created
    /// [`materialize`]: RecordState::materialize
    pub fn as_created(&self, record: &Value) -> Option<Created> {
        let mut winners = self
            .fields
            .values()
            .map(|f| (f.conflicts.is_empty() && f.history.is_empty()).then_some(&f.winner));
        let first = winners.next()??;
        let created = Created {
            ts: first.ts,
            device: first.device,
            first_seq: self.fields.values().map(|f| f.winner.seq).min()?,
        };
        if winners.any(|w| w.is_none_or(|w| w.ts != created.ts || w.device != created.device)) {
            return None;
        }
        let rebuilt = RecordState::from_created(self.record.kind, record, created).ok()?;
        (rebuilt == *self).then_some(created)
    }

    /// The state [`as_created`](RecordState::as_created) made compact, from
    /// the record and its compact form.
    pub fn from_created(
        kind: RecordKind,
        record: &Value,
        created: Created,
    ) -> Result<RecordState, RecordError> {
        let changes =
            changes_for_new_record(kind, record, created.ts, created.device, created.first_seq)?;
        let id = record
            .get(ID_FIELD)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(RecordError::MissingId)?;
        let mut state = RecordState::new(RecordRef { kind, id });
        for change in changes {
            state.apply(change);
        }
        Ok(state)
    }

    /// Drops every field's knowingly replaced losers that cannot win
    /// again: see [`FieldState::compact`]. Later changes merge exactly as
    /// before.
    pub fn compact(&mut self, own: Option<DeviceId>) {
        for field in self.fields.values_mut() {
            field.compact(own);
        }
    }

    /// The latest stamp held: a clock that observes it stamps every later
    /// edit of this record above every change in it.
    pub fn latest(&self) -> Hlc {
        self.fields
            .values()
            .flat_map(FieldState::changes)
            .map(|c| c.ts)
            .max()
            .unwrap_or(Hlc::ZERO)
    }

    /// The state as a store keeps it beside `record` (the record as stored,
    /// e.g. [`materialize`](RecordState::materialize)'s, or `null`): the
    /// compact `{"created": …}` when the state holds only the record's
    /// creation ([`as_created`](RecordState::as_created)), otherwise the
    /// state [compacted](RecordState::compact) for `own`.
    pub fn to_stored(&self, record: &Value, own: Option<DeviceId>) -> StoredState {
        match self.as_created(record) {
            Some(created) => StoredState::Created { created },
            None => {
                let mut state = self.clone();
                state.compact(own);
                StoredState::Full(state)
            }
        }
    }

    /// What the server's snapshot sends of this record: the record built
    /// from its winning values (`null` when they do not form one yet) and
    /// its state as [stored](RecordState::to_stored) beside it. Every stamp
    /// the server holds is final, so the state is compacted in full.
    pub fn snapshot(&self) -> SnapshotRecord {
        let body = self.materialize().map_or(Value::Null, Value::Object);
        SnapshotRecord {
            record: self.record,
            state: self.to_stored(&body, None),
            body,
        }
    }

    /// A record of which no change is held yet.
    pub fn new(record: RecordRef) -> RecordState {
        RecordState {
            record,
            fields: BTreeMap::new(),
        }
    }

    /// Which record.
    pub fn record(&self) -> RecordRef {
        self.record
    }

    /// One field's state.
    pub fn field(&self, field: &str) -> Option<&FieldState> {
        self.fields.get(field)
    }

    /// Every field's state, in field-name order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldState)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Merge one change into the record: see [`ApplyOutcome`].
    pub fn apply(&mut self, change: Change) -> ApplyOutcome {
        if change.record != self.record {
            return ApplyOutcome::Refused {
                reason: "the change belongs to another record".to_string(),
            };
        }
        match self.fields.get_mut(&change.field) {
            Some(state) => state.apply(change),
            None => {
                self.fields
                    .insert(change.field.clone(), FieldState::new(change));
                ApplyOutcome::Won
            }
        }
    }

    /// Whether the winning tombstone says deleted.
    pub fn is_deleted(&self) -> bool {
        self.fields
            .get(DELETED_FIELD)
            .is_some_and(|f| f.winner.value == Value::Bool(true))
    }

    /// The record as JSON from its winning values: `id`, then every field
    /// whose winning value is not `null`.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut object = Map::new();
        for (field, state) in &self.fields {
            if field != ID_FIELD && !state.winner.value.is_null() {
                object.insert(field.clone(), state.winner.value.clone());
            }
        }
        object.insert(
            ID_FIELD.to_string(),
            Value::String(self.record.id.to_string()),
        );
        object
    }

    /// The open conflicts of every field.
    pub fn conflicts(&self) -> impl Iterator<Item = Conflict> + '_ {
        self.fields.iter().flat_map(move |(field, state)| {
            state.conflicts.iter().map(move |lost| Conflict {
                record: self.record,
                field: field.clone(),
                kept: state.winner.clone(),
                lost: lost.clone(),
            })
        })
    }

    /// The changes that edit this record into `after` (its JSON object):
    /// [`changes_for_edit`] against the record built from the winning values
    /// (defaults filled in), each superseding what its field showed
    /// ([`FieldState::in_view`]).
    pub fn changes_for_edit(
        &self,
        after: &Value,
        ts: Hlc,
        device: DeviceId,
        first_seq: u64,
    ) -> Result<Vec<Change>, RecordError> {
        // Compare with the record as its type writes it (defaults filled
        // in), so that a default the form sends back is no change.
        let before = self
            .decode()
            .map(Decoded::into_json)
            .unwrap_or_else(|_| self.to_json());
        let before = Value::Object(before);
        let mut changes = changes_for_edit(self.record, &before, after, ts, device, first_seq)?;
        for change in &mut changes {
            if let Some(state) = self.fields.get(&change.field) {
                change.supersedes = state.in_view();
            }
        }
        Ok(changes)
    }

    fn decode(&self) -> Result<Decoded, String> {
        Decoded::from_json(self.record.kind, Value::Object(self.to_json()))
            .map_err(|e| e.to_string())
    }
}

/// Why record JSON could not be turned into changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record is not a JSON object.
    NotAnObject,
    /// The object has no `id` holding a UUID.
    MissingId,
    /// The object's `id` is not the record's.
    IdMismatch {
        /// The record's id.
        expected: Id,
        /// The id found in the object.
        found: String,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotAnObject => f.write_str("a record must be a JSON object"),
            RecordError::MissingId => f.write_str("a record must have an `id` holding a UUID"),
            RecordError::IdMismatch { expected, found } => {
                write!(f, "the record's id is {expected}, not {found}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// The changes that create a record: one per field that has a value (a
/// `null` field is absent already and needs none), all stamped `ts`, numbered
/// from `first_seq` in field-name order. `record` is the record's JSON
/// object, with its `id`.
pub fn changes_for_new_record(
    kind: RecordKind,
    record: &Value,
    ts: Hlc,
    device: DeviceId,
    first_seq: u64,
) -> Result<Vec<Change>, RecordError> {
    let object = record.as_object().ok_or(RecordError::NotAnObject)?;
    let id = object
        .get(ID_FIELD)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or(RecordError::MissingId)?;
    let record = RecordRef { kind, id };
    let fields = object
        .iter()
        .filter(|(field, value)| *field != ID_FIELD && !value.is_null());
    Ok(fields
        .zip(first_seq..)
        .map(|((field, value), seq)| Change {
            record,
            field: field.clone(),
            value: value.clone(),
            ts,
            device,
            seq,
            supersedes: Vec::new(),
        })
        .collect())
}

/// The changes that edit a record from `before` into `after` (its JSON
/// objects): one per top-level field whose value differs (a missing key and
/// `null` are the same: absent), all stamped `ts`, numbered from `first_seq`
/// in field-name order, superseding nothing. Prefer
/// [`RecordState::changes_for_edit`], which also lists what each change
/// replaces knowingly.
pub fn changes_for_edit(
    record: RecordRef,
    before: &Value,
    after: &Value,
    ts: Hlc,
    device: DeviceId,
    first_seq: u64,
) -> Result<Vec<Change>, RecordError> {
    let before = before.as_object().ok_or(RecordError::NotAnObject)?;
    let after = after.as_object().ok_or(RecordError::NotAnObject)?;
    for object in [before, after] {
        if let Some(found) = object.get(ID_FIELD)
            && found.as_str().and_then(|s| Uuid::parse_str(s).ok()) != Some(record.id)
        {
            return Err(RecordError::IdMismatch {
                expected: record.id,
                found: found.to_string(),
            });
        }
    }
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed = keys.into_iter().filter_map(|field| {
        let old = before.get(field).unwrap_or(&Value::Null);
        let new = after.get(field).unwrap_or(&Value::Null);
        (field != ID_FIELD && old != new).then(|| (field.clone(), new.clone()))
    });
    Ok(changed
        .zip(first_seq..)
        .map(|((field, value), seq)| Change {
            record,
            field,
            value,
            ts,
            device,
            seq,
            supersedes: Vec::new(),
        })
        .collect())
}

/// The changes that create every record of a dataset (e.g. the synthetic
/// village, or a plain dataset imported into a replica), all stamped `ts`,
/// numbered from `first_seq` in dataset order.
pub fn changes_for_dataset(
    dataset: &Dataset,
    ts: Hlc,
    device: DeviceId,
    first_seq: u64,
) -> Vec<Change> {
    let records = Decoded::objects_of(dataset);
    let mut changes = Vec::new();
    let mut seq = first_seq;
    for (kind, json) in records {
        // Records serialize to objects with an id, so this cannot fail.
        if let Ok(mut more) = changes_for_new_record(kind, &Value::Object(json), ts, device, seq) {
            seq += more.len() as u64;
            changes.append(&mut more);
        }
    }
    changes
}

/// A record whose winning values do not form a valid record (yet): e.g. a
/// required field whose change has not arrived, or a value that does not fit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmaterialized {
    /// The record.
    pub record: RecordRef,
    /// Why, in English.
    pub reason: String,
}

/// The records built from a [`Replica`], and those that could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Materialized {
    /// Every record that could be built, each kind in id order.
    pub dataset: Dataset,
    /// Every record that could not.
    pub unmaterialized: Vec<Unmaterialized>,
}

/// What [`Replica::apply_to_dataset`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyReport {
    /// One outcome per change given, in the same order.
    pub outcomes: Vec<ApplyOutcome>,
    /// The touched records that could not be built: they are not in the
    /// dataset (until the missing changes arrive).
    pub unmaterialized: Vec<Unmaterialized>,
}

/// The merge state of a set of records: every change held, record by record
/// and field by field. The phone, the backup import and the server each keep
/// one and feed it changes; the same changes in any order, with any
/// duplicates, give the same state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replica {
    records: BTreeMap<RecordRef, RecordState>,
    seen: BTreeMap<ChangeId, (RecordRef, String)>,
}

impl Replica {
    /// A replica holding no change.
    pub fn new() -> Replica {
        Replica::default()
    }

    /// A replica holding these records' states (e.g. read back from a
    /// database): the same replica the changes in them would have built.
    pub fn from_records(states: impl IntoIterator<Item = RecordState>) -> Replica {
        let mut replica = Replica::new();
        for state in states {
            for (field, field_state) in &state.fields {
                let ids = field_state
                    .changes()
                    .map(Change::id)
                    .chain(field_state.dropped.ids());
                for id in ids {
                    replica.seen.insert(id, (state.record, field.clone()));
                }
            }
            replica.records.insert(state.record, state);
        }
        replica
    }

    /// Merge one change: see [`ApplyOutcome`].
    pub fn apply(&mut self, change: Change) -> ApplyOutcome {
        let id = change.id();
        if let Some((record, field)) = self.seen.get(&id)
            && (*record != change.record || *field != change.field)
        {
            return ApplyOutcome::Refused {
                reason: format!(
                    "change {} of device {} is held for another record or field",
                    id.seq, id.device.0
                ),
            };
        }
        let key = (change.record, change.field.clone());
        let outcome = self
            .records
            .entry(change.record)
            .or_insert_with(|| RecordState::new(change.record))
            .apply(change);
        if matches!(outcome, ApplyOutcome::Won | ApplyOutcome::LostToCurrent) {
            self.seen.insert(id, key);
        }
        outcome
    }

    /// Merge changes into this replica and bring `dataset` (this replica's
    /// records, e.g. the phone's) up to date: every touched record is built
    /// again from its winning values and replaces its old version (or is
    /// added); a touched record that cannot be built is taken out and
    /// reported. The app, the backup import and the server all merge through
    /// this. Afterwards `dataset` holds what [`materialize`](Self::materialize)
    /// gives, possibly in another order.
    pub fn apply_to_dataset(&mut self, dataset: &mut Dataset, changes: &[Change]) -> ApplyReport {
        let mut touched = BTreeSet::new();
        let outcomes = changes
            .iter()
            .map(|change| {
                let outcome = self.apply(change.clone());
                if matches!(outcome, ApplyOutcome::Won | ApplyOutcome::LostToCurrent) {
                    touched.insert(change.record);
                }
                outcome
            })
            .collect();
        let mut index = Decoded::index(dataset);
        let mut removed = BTreeSet::new();
        let mut unmaterialized = Vec::new();
        for record in touched {
            let Some(state) = self.records.get(&record) else {
                continue;
            };
            match state.decode() {
                Ok(decoded) => match index.get(&record) {
                    Some(&at) => decoded.replace(dataset, at),
                    None => {
                        let at = decoded.push(dataset);
                        index.insert(record, at);
                    }
                },
                Err(reason) => {
                    removed.insert(record);
                    unmaterialized.push(Unmaterialized { record, reason });
                }
            }
        }
        if !removed.is_empty() {
            Decoded::remove(dataset, &removed);
        }
        ApplyReport {
            outcomes,
            unmaterialized,
        }
    }

    /// Every record built from its winning values, and those that could not
    /// be built (reported, never a panic).
    pub fn materialize(&self) -> Materialized {
        let mut dataset = Dataset::new();
        let mut unmaterialized = Vec::new();
        for (record, state) in &self.records {
            match state.decode() {
                Ok(decoded) => {
                    decoded.push(&mut dataset);
                }
                Err(reason) => unmaterialized.push(Unmaterialized {
                    record: *record,
                    reason,
                }),
            }
        }
        Materialized {
            dataset,
            unmaterialized,
        }
    }

    /// One record's state.
    pub fn record(&self, record: &RecordRef) -> Option<&RecordState> {
        self.records.get(record)
    }

    /// Every record's state, by kind then id.
    pub fn records(&self) -> impl Iterator<Item = &RecordState> {
        self.records.values()
    }

    /// One field's state.
    pub fn field(&self, record: &RecordRef, field: &str) -> Option<&FieldState> {
        self.records.get(record)?.field(field)
    }

    /// Every open conflict, by record then field.
    pub fn conflicts(&self) -> Vec<Conflict> {
        self.records
            .values()
            .flat_map(RecordState::conflicts)
            .collect()
    }

    /// Every change held, record by record: the backup. Applying them to a
    /// new replica gives this one again.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.records
            .values()
            .flat_map(|r| r.fields.values())
            .flat_map(FieldState::changes)
    }

    /// How many changes are held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no change is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The highest change number held from `device` (0 for none).
    pub fn last_seq(&self, device: DeviceId) -> u64 {
        let from = ChangeId { device, seq: 0 };
        let to = ChangeId {
            device,
            seq: u64::MAX,
        };
        self.seen
            .range(from..=to)
            .next_back()
            .map_or(0, |(id, _)| id.seq)
    }
}

/// A record decoded into its type: the records module's [`AnyRecord`],
/// with what the merge needs of it.
use crate::records::AnyRecord as Decoded;

impl Decoded {
    fn into_json(self) -> Map<String, Value> {
        let value = match self {
            Decoded::Village(r) => serde_json::to_value(r),
            Decoded::Household(r) => serde_json::to_value(r),
            Decoded::Person(r) => serde_json::to_value(r),
            Decoded::Visit(r) => serde_json::to_value(r),
            Decoded::Plan(r) => serde_json::to_value(r),
            Decoded::Tick(r) => serde_json::to_value(r),
        };
        match value {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        }
    }

    /// Every record of a dataset as (kind, JSON object), in dataset order.
    fn objects_of(dataset: &Dataset) -> Vec<(RecordKind, Map<String, Value>)> {
        fn objects<T: Serialize>(
            kind: RecordKind,
            list: &[T],
        ) -> Vec<(RecordKind, Map<String, Value>)> {
            list.iter()
                .filter_map(|r| match serde_json::to_value(r) {
                    Ok(Value::Object(object)) => Some((kind, object)),
                    _ => None,
                })
                .collect()
        }
        let mut all = objects(RecordKind::Village, &dataset.villages);
        all.extend(objects(RecordKind::Household, &dataset.households));
        all.extend(objects(RecordKind::Person, &dataset.persons));
        all.extend(objects(RecordKind::Visit, &dataset.visits));
        all.extend(objects(RecordKind::Plan, &dataset.plans));
        all.extend(objects(RecordKind::Tick, &dataset.ticks));
        all
    }

    /// Where each record of a dataset is in its list.
    fn index(dataset: &Dataset) -> HashMap<RecordRef, usize> {
        let mut index = HashMap::new();
        let mut add = |kind, ids: &mut dyn Iterator<Item = Id>| {
            for (at, id) in ids.enumerate() {
                index.insert(RecordRef { kind, id }, at);
            }
        };
        add(
            RecordKind::Village,
            &mut dataset.villages.iter().map(|r| r.id),
        );
        add(
            RecordKind::Household,
            &mut dataset.households.iter().map(|r| r.id),
        );
        add(
            RecordKind::Person,
            &mut dataset.persons.iter().map(|r| r.id),
        );
        add(RecordKind::Visit, &mut dataset.visits.iter().map(|r| r.id));
        add(RecordKind::Plan, &mut dataset.plans.iter().map(|r| r.id));
        add(RecordKind::Tick, &mut dataset.ticks.iter().map(|r| r.id));
        index
    }

    /// Add to the end of its list; returns where.
    fn push(self, dataset: &mut Dataset) -> usize {
        fn put<T>(list: &mut Vec<T>, record: T) -> usize {
            list.push(record);
            list.len() - 1
        }
        match self {
            Decoded::Village(r) => put(&mut dataset.villages, r),
            Decoded::Household(r) => put(&mut dataset.households, r),
            Decoded::Person(r) => put(&mut dataset.persons, r),
            Decoded::Visit(r) => put(&mut dataset.visits, r),
            Decoded::Plan(r) => put(&mut dataset.plans, r),
            Decoded::Tick(r) => put(&mut dataset.ticks, r),
        }
    }

    /// Replace the record at `at` of its list.
    fn replace(self, dataset: &mut Dataset, at: usize) {
        match self {
            Decoded::Village(r) => dataset.villages[at] = r,
            Decoded::Household(r) => dataset.households[at] = r,
            Decoded::Person(r) => dataset.persons[at] = r,
            Decoded::Visit(r) => dataset.visits[at] = r,
            Decoded::Plan(r) => dataset.plans[at] = r,
            Decoded::Tick(r) => dataset.ticks[at] = r,
        }
    }

    /// Take these records out of the dataset.
    fn remove(dataset: &mut Dataset, records: &BTreeSet<RecordRef>) {
        let gone = |kind, id| records.contains(&RecordRef { kind, id });
        dataset
            .villages
            .retain(|r| !gone(RecordKind::Village, r.id));
        dataset
            .households
            .retain(|r| !gone(RecordKind::Household, r.id));
        dataset.persons.retain(|r| !gone(RecordKind::Person, r.id));
        dataset.visits.retain(|r| !gone(RecordKind::Visit, r.id));
        dataset.plans.retain(|r| !gone(RecordKind::Plan, r.id));
        dataset.ticks.retain(|r| !gone(RecordKind::Tick, r.id));
    }
}

/// `POST /api/v1/sync/push`: a device sends its outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The sending device; every change must be its own.
    pub device: DeviceId,
    /// The changes, in change-number order.
    pub changes: Vec<Change>,
}

impl PushRequest {
    /// The changes the server must refuse before merging: another device's
    /// change, a malformed one ([`Change::validate`]), or a change number
    /// used twice in the request with different content. Access to the
    /// record's village is the server's to check.
    pub fn check(&self) -> Vec<Rejection> {
        let mut first: HashMap<u64, &Change> = HashMap::new();
        let mut rejected = Vec::new();
        for change in &self.changes {
            let reason = if change.device != self.device {
                Some("the change was made by another device".to_string())
            } else if let Err(reason) = change.validate() {
                Some(reason)
            } else if first.get(&change.seq).is_some_and(|c| *c != change) {
                Some("the change number is used twice with different content".to_string())
            } else {
                first.entry(change.seq).or_insert(change);
                None
            };
            if let Some(reason) = reason {
                rejected.push(Rejection {
                    seq: change.seq,
                    reason,
                });
            }
        }
        rejected
    }
}

/// The server's answer to a push, sent only after the accepted changes are
/// committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    /// Change numbers now held by the server (including ones it held
    /// already: a retried push is accepted again and applied once). The
    /// device may drop them from its outbox.
    pub accepted: Vec<u64>,
    /// Change numbers refused, with the reason; nothing of them was applied.
    pub rejected: Vec<Rejection>,
    /// The server's clock, for the device to observe and to correct its own.
    pub server_time_ms: u64,
}

/// A change the server refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// The change number.
    pub seq: u64,
    /// Why, in English.
    pub reason: String,
}

/// `POST /api/v1/sync/pull`: a device asks for the changes after its cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The last server cursor the device has applied (0 for none).
    pub cursor: u64,
    /// At most this many changes in the page.
    pub limit: u32,
}

/// A page of changes for the device's villages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    /// The changes after the request's cursor, in cursor order.
    pub changes: Vec<ServerChange>,
    /// The cursor to ask from next, once these are applied.
    pub next_cursor: u64,
    /// Whether more changes wait after this page.
    pub more: bool,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// `POST /api/v1/sync/snapshot`: a device that holds nothing of its
/// villages yet asks for their records as they stand, page by page, instead
/// of every change since the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// The last record of the previous page (`None` for the first page).
    #[serde(default)]
    pub after: Option<RecordRef>,
    /// At most this many records in the page.
    pub limit: u32,
}

/// One record of a snapshot: what a replica that held every change would
/// hold of it, in its stored form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRecord {
    /// Which record.
    pub record: RecordRef,
    /// The record built from its winning values (as
    /// [`RecordState::materialize`] writes it), or `null` while they do not
    /// form a valid record.
    pub body: Value,
    /// Its merge state as stored beside `body`.
    pub state: StoredState,
}

impl SnapshotRecord {
    /// The record's merge state. Later changes merge into it exactly as into
    /// the state of every change the snapshot stands for: the same records
    /// and the same open conflicts.
    pub fn into_state(self) -> Result<RecordState, RecordError> {
        let record = self.record;
        let state = self
            .state
            .into_state(record.kind, Some(&self.body))?
            .ok_or(RecordError::MissingId)?;
        if state.record != record {
            return Err(RecordError::IdMismatch {
                expected: record.id,
                found: state.record.id.to_string(),
            });
        }
        Ok(state)
    }
}

/// A page of a snapshot: records in (kind, id) order, consistent with one
/// cursor of the server's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotResponse {
    /// The records after the request's `after`, in (kind, id) order.
    pub records: Vec<SnapshotRecord>,
    /// The open conflicts of these records.
    pub conflicts: Vec<Conflict>,
    /// The change-log cursor this page stands for: it holds every change up
    /// to it, and none after. Pull from the first page's cursor once every
    /// page is taken in.
    pub cursor: u64,
    /// The latest stamp in the page, for the device's clock to observe.
    pub max_ts: Hlc,
    /// Whether more records wait after this page.
    pub more: bool,
    /// The server's clock.
    pub server_time_ms: u64,
    /// How many records the whole snapshot holds (every page), counted in
    /// this page's read transaction: what a device shows progress against
    /// ("n of N records"). 0 from a server that does not say.
    #[serde(default)]
    pub total: u64,
}

/// A change as the server's log holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerChange {
    /// Its place in the server's log.
    pub cursor: u64,
    /// The change, its stamp bounded by the server at intake.
    pub change: Change,
    /// Whether the stamp was far in the future and was clamped.
    pub clamped: bool,
}

impl ServerChange {
    /// A pushed change as the server logs it: its stamp bounded by
    /// [`clamp_future`] against the server's `now_ms`.
    pub fn intake(cursor: u64, mut change: Change, now_ms: u64) -> ServerChange {
        let (ts, clamped) = clamp_future(change.ts, now_ms);
        change.ts = ts;
        ServerChange {
            cursor,
            change,
            clamped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device(n: u8) -> DeviceId {
        DeviceId(Uuid::from_bytes([n; 16]))
    }

    fn id(n: u8) -> Id {
        Uuid::from_bytes([0x40 + n; 16])
    }

    fn person(n: u8) -> RecordRef {
        RecordRef {
            kind: RecordKind::Person,
            id: id(n),
        }
    }

    fn change(
        record: RecordRef,
        field: &str,
        value: Value,
        wall_ms: u64,
        dev: u8,
        seq: u64,
    ) -> Change {
        Change {
            record,
            field: field.to_string(),
            value,
            ts: Hlc::new(wall_ms, 0),
            device: device(dev),
            seq,
            supersedes: Vec::new(),
        }
    }

    fn name(value: &str, wall_ms: u64, dev: u8, seq: u64) -> Change {
        change(person(1), "name", json!(value), wall_ms, dev, seq)
    }

    /// A complete person 1 from device 9 at time 1: household, name, sex.
    fn new_person() -> Vec<Change> {
        let record = json!({"id": id(1), "household_id": id(9), "name": "王芳", "sex": "female"});
        changes_for_new_record(RecordKind::Person, &record, Hlc::new(1, 0), device(9), 1).unwrap()
    }

    fn winner_value(replica: &Replica, field: &str) -> Value {
        replica
            .field(&person(1), field)
            .unwrap()
            .winner()
            .value
            .clone()
    }

    #[test]
    fn a_replica_rebuilt_from_its_records_states_is_the_same() {
        let mut replica = Replica::new();
        for change in new_person() {
            replica.apply(change);
        }
        replica.apply(name("李娜", 5, 1, 1));
        replica.apply(name("张伟", 5, 2, 1));
        let states: Vec<RecordState> = replica.records().cloned().collect();
        let json = serde_json::to_string(&states).unwrap();
        let back: Vec<RecordState> = serde_json::from_str(&json).unwrap();
        let rebuilt = Replica::from_records(back);
        assert_eq!(rebuilt, replica);
        assert!(!rebuilt.conflicts().is_empty());
        assert_eq!(rebuilt.conflicts(), replica.conflicts());
        // A change it holds is still known as held.
        assert_eq!(rebuilt.last_seq(device(2)), 1);
    }

    #[test]
    fn a_snapshot_loses_to_any_real_change_without_a_conflict() {
        let record = json!({"id": id(1), "household_id": id(9), "name": "王芳", "sex": "female"});
        let mut state = RecordState::from_snapshot(RecordKind::Person, &record).unwrap();
        assert_eq!(state.materialize().unwrap()["name"], json!("王芳"));
        // The same value arriving with a real stamp: no conflict.
        state.apply(name("王芳", 5, 1, 1));
        assert_eq!(state.conflicts().count(), 0);
        // Another value: it wins, and the snapshot is a conflict only if
        // nobody saw it — a snapshot value differs, so it is kept.
        state.apply(name("李娜", 6, 2, 1));
        assert_eq!(state.materialize().unwrap()["name"], json!("李娜"));
        assert!(
            RecordState::from_snapshot(RecordKind::Person, &json!({"name": "x"})).is_err(),
            "a record without an id"
        );
    }

    #[test]
    fn a_state_holding_only_its_creation_is_kept_compact() {
        // A record as the app writes it: the whole struct, defaults and all.
        let record = serde_json::to_value(crate::model::Person::new(
            id(1),
            id(9),
            "王芳",
            crate::model::Sex::Female,
        ))
        .unwrap();
        let changes =
            changes_for_new_record(RecordKind::Person, &record, Hlc::new(7, 0), device(3), 41)
                .unwrap();
        let mut state = RecordState::new(person(1));
        for change in changes {
            state.apply(change);
        }
        let stored = Value::Object(state.materialize().unwrap());
        let created = state.as_created(&stored).expect("compact");
        assert_eq!(created.first_seq, 41);
        assert_eq!(
            RecordState::from_created(RecordKind::Person, &stored, created).unwrap(),
            state
        );
        // Once edited, it is not.
        state.apply(name("李娜", 9, 2, 1));
        let stored = Value::Object(state.materialize().unwrap());
        assert_eq!(state.as_created(&stored), None);
        // Nor is a snapshot that does not match the record given.
        let other = json!({"id": id(1), "household_id": id(9), "name": "别人", "sex": "female"});
        let fresh = RecordState::from_snapshot(RecordKind::Person, &record).unwrap();
        assert_eq!(fresh.as_created(&other), None);
    }

    #[test]
    fn every_record_leads_to_its_village() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_name(kind.name()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
            let mut at = kind;
            for _ in 0..RecordKind::ALL.len() {
                match at.parent() {
                    Some((field, parent)) => {
                        assert!(kind_has_field(at, field), "{at:?}.{field}");
                        at = parent;
                    }
                    None => break,
                }
            }
            assert_eq!(at, RecordKind::Village, "{kind:?}");
        }
    }

    fn kind_has_field(kind: RecordKind, field: &str) -> bool {
        kind.fields().iter().any(|f| f == field)
    }

    #[test]
    fn the_later_stamp_wins_whatever_the_order() {
        for order in [[0, 1], [1, 0]] {
            let both = [name("李娜", 5, 1, 1), name("张伟", 7, 2, 1)];
            let mut replica = Replica::new();
            for i in order {
                replica.apply(both[i].clone());
            }
            assert_eq!(winner_value(&replica, "name"), json!("张伟"));
        }
        let mut replica = Replica::new();
        assert_eq!(replica.apply(name("张伟", 7, 1, 1)), ApplyOutcome::Won);
        assert_eq!(
            replica.apply(name("李娜", 5, 2, 1)),
            ApplyOutcome::LostToCurrent
        );
        assert_eq!(replica.apply(name("赵敏", 8, 2, 2)), ApplyOutcome::Won);
    }

    #[test]
    fn a_tie_on_the_stamp_goes_to_the_larger_device_id() {
        for order in [[0, 1], [1, 0]] {
            let both = [name("李娜", 5, 1, 1), name("张伟", 5, 2, 1)];
            let mut replica = Replica::new();
            for i in order {
                replica.apply(both[i].clone());
            }
            assert_eq!(winner_value(&replica, "name"), json!("张伟"));
        }
        assert!(name("a", 5, 2, 1).beats(&name("b", 5, 1, 9)));
        assert!(name("a", 6, 1, 1).beats(&name("b", 5, 2, 9)));
    }

    #[test]
    fn a_duplicate_is_a_no_op() {
        let mut replica = Replica::new();
        replica.apply(name("李娜", 5, 1, 1));
        replica.apply(name("张伟", 4, 2, 1));
        let before = replica.clone();
        assert_eq!(
            replica.apply(name("李娜", 5, 1, 1)),
            ApplyOutcome::Duplicate
        );
        assert_eq!(
            replica.apply(name("张伟", 4, 2, 1)),
            ApplyOutcome::Duplicate
        );
        assert_eq!(replica, before);
        assert_eq!(replica.len(), 2);
        assert_eq!(
            replica.conflicts().len(),
            1,
            "a duplicate is not a conflict"
        );
    }

    #[test]
    fn the_loser_is_kept_as_a_conflict_with_both_values() {
        let mut replica = Replica::new();
        replica.apply(name("李娜", 5, 1, 1));
        replica.apply(name("张伟", 7, 2, 1));
        let conflicts = replica.conflicts();
        assert_eq!(conflicts.len(), 1);
        let conflict = &conflicts[0];
        assert_eq!(
            (conflict.record, conflict.field.as_str()),
            (person(1), "name")
        );
        assert_eq!(conflict.kept.value, json!("张伟"));
        assert_eq!(
            (conflict.kept.device, conflict.kept.ts),
            (device(2), Hlc::new(7, 0))
        );
        assert_eq!(conflict.lost.value, json!("李娜"));
        assert_eq!(
            (conflict.lost.device, conflict.lost.ts),
            (device(1), Hlc::new(5, 0))
        );
    }

    #[test]
    fn the_same_value_from_two_devices_is_no_conflict() {
        let mut replica = Replica::new();
        replica.apply(name("李娜", 5, 1, 1));
        assert_eq!(replica.apply(name("李娜", 7, 2, 1)), ApplyOutcome::Won);
        assert!(replica.conflicts().is_empty());
        let field = replica.field(&person(1), "name").unwrap();
        assert_eq!(field.history().len(), 1, "kept all the same");
    }

    #[test]
    fn an_edit_that_saw_the_old_value_is_no_conflict() {
        // The same device editing again.
        let mut replica = Replica::new();
        replica.apply(name("李那", 5, 1, 1));
        replica.apply(name("李娜", 6, 1, 2));
        assert!(replica.conflicts().is_empty());
        // Another device that pulled the value first.
        let seen = replica.field(&person(1), "name").unwrap().in_view();
        let mut edit = name("李娜娜", 9, 2, 1);
        edit.supersedes = seen;
        replica.apply(edit);
        assert!(replica.conflicts().is_empty());
        assert_eq!(
            replica.field(&person(1), "name").unwrap().history().len(),
            2
        );
    }

    #[test]
    fn settling_a_conflict_is_a_new_change() {
        let mut replica = Replica::new();
        replica.apply(name("李娜", 5, 1, 1));
        replica.apply(name("张伟", 7, 2, 1));
        assert_eq!(replica.conflicts().len(), 1);
        // The township officer (device 3) keeps the losing value.
        let settle = replica.field(&person(1), "name").unwrap().settle(
            json!("李娜"),
            Hlc::new(9, 0),
            device(3),
            1,
        );
        assert_eq!(replica.apply(settle.clone()), ApplyOutcome::Won);
        assert!(replica.conflicts().is_empty());
        assert_eq!(winner_value(&replica, "name"), json!("李娜"));
        // A blind write made later, not having seen the settlement, is a
        // new conflict against it, on every copy.
        let blind = name("王五", 10, 4, 1);
        replica.apply(blind.clone());
        let conflicts = replica.conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!((&conflicts[0].kept, &conflicts[0].lost), (&blind, &settle));
    }

    #[test]
    fn a_tombstone_wins_and_loses_like_any_field() {
        let deleted =
            |v: bool, wall, dev, seq| change(person(1), DELETED_FIELD, json!(v), wall, dev, seq);
        let mut replica = Replica::new();
        for c in new_person() {
            replica.apply(c);
        }
        replica.apply(deleted(true, 5, 1, 1));
        replica.apply(name("张伟", 6, 2, 1)); // an edit of the deleted record
        assert!(replica.record(&person(1)).unwrap().is_deleted());
        let built = replica.materialize().dataset;
        assert!(built.persons[0].deleted);
        assert_eq!(built.persons[0].name, "张伟");
        assert!(built.person(id(1)).is_none());
        // An undelete stamped earlier loses, and is kept as a conflict.
        assert_eq!(
            replica.apply(deleted(false, 4, 2, 2)),
            ApplyOutcome::LostToCurrent
        );
        assert!(replica.record(&person(1)).unwrap().is_deleted());
        assert_eq!(replica.conflicts()[0].lost.value, json!(false));
        // A later one wins.
        assert_eq!(replica.apply(deleted(false, 8, 3, 1)), ApplyOutcome::Won);
        assert!(replica.materialize().dataset.person(id(1)).is_some());
    }

    #[test]
    fn clamp_future_flags_a_far_future_stamp() {
        let now = 1_700_000_000_000;
        assert_eq!(
            clamp_future(Hlc::new(now, 3), now),
            (Hlc::new(now, 3), false)
        );
        let edge = Hlc::new(now + MAX_FUTURE_MS, 2);
        assert_eq!(clamp_future(edge, now), (edge, false));
        assert_eq!(
            clamp_future(Hlc::new(now + MAX_FUTURE_MS + 1, 2), now),
            (Hlc::new(now, 2), true)
        );
        let year_ahead = Hlc::new(now + 365 * 86_400_000, 0);
        assert_eq!(clamp_future(year_ahead, now), (Hlc::new(now, 0), true));
        assert!(!clamp_future(Hlc::new(u64::MAX, 0), u64::MAX).1);
    }

    #[test]
    fn a_clamped_copy_replaces_the_far_future_stamp_in_any_order() {
        let now = 1_000_000;
        let far = name("李娜", now + 86_400_000, 1, 1);
        let later = name("张伟", now + 1_000, 2, 1);
        let logged = ServerChange::intake(7, far.clone(), now);
        assert!(logged.clamped);
        assert_eq!(logged.change.ts, Hlc::new(now, 0));
        let clamped = logged.change;

        let mut phone = Replica::new(); // held its own far-future change
        phone.apply(far.clone());
        phone.apply(later.clone());
        assert_eq!(winner_value(&phone, "name"), json!("李娜"));
        assert_eq!(phone.apply(clamped.clone()), ApplyOutcome::LostToCurrent);
        assert_eq!(winner_value(&phone, "name"), json!("张伟"));

        let mut server = Replica::new();
        server.apply(clamped.clone());
        server.apply(later);
        assert_eq!(server.apply(far), ApplyOutcome::Duplicate, "a retried push");
        assert_eq!(phone, server);
    }

    #[test]
    fn a_reused_change_number_with_other_content_is_refused() {
        let mut replica = Replica::new();
        replica.apply(name("李娜", 5, 1, 1));
        let before = replica.clone();
        assert!(matches!(
            replica.apply(name("张伟", 5, 1, 1)),
            ApplyOutcome::Refused { .. }
        ));
        let elsewhere = change(person(2), "name", json!("李娜"), 5, 1, 1);
        assert!(matches!(
            replica.apply(elsewhere),
            ApplyOutcome::Refused { .. }
        ));
        assert_eq!(replica, before);
        let mut field = FieldState::new(name("a", 1, 1, 1));
        assert!(matches!(
            field.apply(change(person(1), "sex", json!("male"), 2, 1, 2)),
            ApplyOutcome::Refused { .. }
        ));
    }

    #[test]
    fn clock_tick_is_strictly_increasing_even_when_now_goes_back() {
        let mut clock = Clock::new();
        let mut last = Hlc::ZERO;
        for now in [100, 100, 100, 50, 0, 101, 101, 99, 200] {
            let ts = clock.tick(now);
            assert!(ts > last, "{ts:?} after {last:?}");
            last = ts;
        }
        assert_eq!(clock.tick(300), Hlc::new(300, 0));
        assert_eq!(clock.tick(300), Hlc::new(300, 1));
        let mut full = Clock::resume(Hlc::new(5, u32::MAX));
        assert_eq!(full.tick(5), Hlc::new(6, 0));
        assert_eq!(full.last(), Hlc::new(6, 0));
    }

    #[test]
    fn observe_moves_the_clock_past_a_remote_stamp() {
        let mut clock = Clock::new();
        clock.tick(1_000);
        let remote = Hlc::new(5_000, 7);
        let received = clock.observe(remote, 1_001);
        assert!(received > remote);
        assert!(clock.tick(1_002) > remote);
        // A remote stamp behind the local clock changes nothing but the counter.
        let before = clock.last();
        assert!(clock.observe(Hlc::new(10, 0), 900) > before);
        // The server's time, when ahead, corrects a slow clock.
        clock.observe(Hlc::new(90_000, 0), 2_000);
        assert!(clock.tick(2_001) > Hlc::new(90_000, 0));
        // Now ahead of everything: the wall clock is taken.
        assert_eq!(
            clock.observe(Hlc::new(10, 0), 100_000),
            Hlc::new(100_000, 0)
        );
    }

    #[test]
    fn a_record_missing_a_field_is_reported_until_it_arrives() {
        let mut replica = Replica::new();
        let mut creation = new_person();
        let sex = creation.iter().position(|c| c.field == "sex").unwrap();
        let sex = creation.remove(sex);
        for c in creation {
            replica.apply(c);
        }
        let built = replica.materialize();
        assert!(built.dataset.persons.is_empty());
        assert_eq!(built.unmaterialized.len(), 1);
        assert_eq!(built.unmaterialized[0].record, person(1));
        assert!(
            built.unmaterialized[0].reason.contains("sex"),
            "{}",
            built.unmaterialized[0].reason
        );
        replica.apply(sex);
        let built = replica.materialize();
        assert!(built.unmaterialized.is_empty());
        assert_eq!(built.dataset.persons[0].name, "王芳");
    }

    #[test]
    fn a_value_that_does_not_fit_is_reported_not_panicked_on() {
        let mut replica = Replica::new();
        for c in new_person() {
            replica.apply(c);
        }
        replica.apply(change(person(1), "sex", json!("unknown"), 5, 1, 1));
        replica.apply(change(person(1), "favourite_colour", json!("red"), 5, 1, 2));
        let built = replica.materialize();
        assert!(built.dataset.persons.is_empty());
        assert_eq!(built.unmaterialized.len(), 1);
    }

    #[test]
    fn changes_for_a_new_record_and_an_edit() {
        let creation = new_person();
        let fields: Vec<_> = creation.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["household_id", "name", "sex"]);
        assert_eq!(
            creation.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(
            creation
                .iter()
                .all(|c| c.record == person(1) && c.ts == Hlc::new(1, 0))
        );
        assert_eq!(
            changes_for_new_record(RecordKind::Person, &json!([1]), Hlc::ZERO, device(1), 1),
            Err(RecordError::NotAnObject)
        );
        assert_eq!(
            changes_for_new_record(
                RecordKind::Person,
                &json!({"name": "x"}),
                Hlc::ZERO,
                device(1),
                1
            ),
            Err(RecordError::MissingId)
        );

        let mut replica = Replica::new();
        for c in creation {
            replica.apply(c);
        }
        let mut person_now = replica.materialize().dataset.persons[0].clone();
        let before = serde_json::to_value(&person_now).unwrap();
        person_now.name = "王芳芳".to_string();
        person_now.phone = Some("13800000000".to_string());
        let after = serde_json::to_value(&person_now).unwrap();
        let edit =
            changes_for_edit(person(1), &before, &after, Hlc::new(2, 0), device(9), 4).unwrap();
        let edited: Vec<_> = edit.iter().map(|c| (c.field.as_str(), c.seq)).collect();
        assert_eq!(edited, [("name", 4), ("phone", 5)]);
        assert!(edit.iter().all(|c| c.supersedes.is_empty()));
        assert!(changes_for_edit(person(2), &before, &after, Hlc::ZERO, device(9), 4).is_err());

        // The record state's edit lists what each field showed.
        let state = replica.record(&person(1)).unwrap();
        let edit = state
            .changes_for_edit(&after, Hlc::new(2, 0), device(3), 1)
            .unwrap();
        assert_eq!(edit.len(), 2);
        assert_eq!(edit[0].supersedes, state.field("name").unwrap().in_view());
        assert!(edit[1].supersedes.is_empty(), "phone had no value");
        for c in edit {
            replica.apply(c);
        }
        assert!(replica.conflicts().is_empty());
        assert_eq!(replica.materialize().dataset.persons[0], person_now);
        // Clearing a field is a null change.
        let mut cleared = person_now.clone();
        cleared.phone = None;
        let edit = changes_for_edit(
            person(1),
            &after,
            &serde_json::to_value(&cleared).unwrap(),
            Hlc::new(3, 0),
            device(9),
            6,
        )
        .unwrap();
        assert_eq!((edit.len(), &edit[0].value), (1, &Value::Null));
        replica.apply(edit[0].clone());
        assert_eq!(replica.materialize().dataset.persons[0], cleared);
    }

    fn sample_dataset() -> Dataset {
        let mut dataset = Dataset::new();
        let record = |kind: RecordKind, n: u8| {
            let mut object = kind.template();
            object.insert(ID_FIELD.to_string(), json!(id(n)));
            Value::Object(object)
        };
        fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
            serde_json::from_value(v).unwrap()
        }
        dataset.villages.push(from(record(RecordKind::Village, 1)));
        dataset
            .households
            .push(from(record(RecordKind::Household, 2)));
        dataset.persons.push(from(record(RecordKind::Person, 3)));
        dataset.visits.push(from(record(RecordKind::Visit, 4)));
        dataset.plans.push(from(record(RecordKind::Plan, 5)));
        dataset.ticks.push(from(record(RecordKind::Tick, 6)));
        dataset.persons[0].name = "王芳".to_string();
        dataset.persons[0].phone = Some("13800000000".to_string());
        dataset
    }

    #[test]
    fn a_dataset_round_trips_through_changes() {
        let dataset = sample_dataset();
        let changes = changes_for_dataset(&dataset, Hlc::new(1, 0), device(1), 1);
        assert_eq!(changes.last().unwrap().seq, changes.len() as u64);
        let mut replica = Replica::new();
        let mut copy = Dataset::new();
        let report = replica.apply_to_dataset(&mut copy, &changes);
        assert!(report.outcomes.iter().all(|o| *o == ApplyOutcome::Won));
        assert!(report.unmaterialized.is_empty());
        assert_eq!(copy, dataset);
        assert_eq!(replica.materialize().dataset, dataset);
        assert_eq!(replica.last_seq(device(1)), changes.len() as u64);
        assert_eq!(replica.last_seq(device(2)), 0);
        // The backup: every change held, applied to a new replica.
        let backup: Vec<Change> = replica.changes().cloned().collect();
        let mut restored = Replica::new();
        for c in backup {
            restored.apply(c);
        }
        assert_eq!(restored, replica);
    }

    #[test]
    fn apply_to_dataset_replaces_adds_and_takes_out() {
        let mut dataset = sample_dataset();
        let mut replica = Replica::new();
        replica.apply_to_dataset(
            &mut Dataset::new(),
            &changes_for_dataset(&dataset, Hlc::new(1, 0), device(1), 1),
        );
        let p = RecordRef {
            kind: RecordKind::Person,
            id: id(3),
        };
        let report = replica.apply_to_dataset(
            &mut dataset,
            &[
                change(p, "name", json!("李娜"), 2, 2, 1),
                change(person(7), "name", json!("新人"), 2, 2, 2),
            ],
        );
        assert_eq!(report.outcomes, [ApplyOutcome::Won, ApplyOutcome::Won]);
        assert_eq!(dataset.persons.len(), 1);
        assert_eq!(dataset.persons[0].name, "李娜");
        assert_eq!(
            report.unmaterialized.len(),
            1,
            "person 7 lacks household and sex"
        );
        let report =
            replica.apply_to_dataset(&mut dataset, &[change(p, "sex", json!(null), 3, 2, 3)]);
        assert_eq!(report.unmaterialized[0].record, p);
        assert!(dataset.persons.is_empty());
        assert_eq!(dataset.villages.len(), 1);
    }

    #[test]
    fn fields_and_values_are_checked_against_the_record_types() {
        let person_fields = RecordKind::Person.fields();
        for f in [
            "household_id",
            "name",
            "sex",
            "birth_date",
            "living",
            "deleted",
        ] {
            assert!(person_fields.iter().any(|p| p == f), "{f}");
        }
        assert!(!person_fields.iter().any(|p| p == ID_FIELD));
        for kind in RecordKind::ALL {
            assert!(kind.fields().iter().any(|f| f == DELETED_FIELD), "{kind:?}");
        }
        let kind = RecordKind::Person;
        assert!(kind.check_value("name", &json!("王芳")).is_ok());
        assert!(kind.check_value("phone", &Value::Null).is_ok());
        assert!(kind.check_value("sex", &json!("male")).is_ok());
        assert!(kind.check_value("sex", &json!("x")).is_err());
        assert!(kind.check_value("sex", &Value::Null).is_err(), "required");
        assert!(kind.check_value("favourite_colour", &json!("red")).is_err());
        assert!(kind.check_value(ID_FIELD, &json!(id(1))).is_err());
        let mut good = name("王芳", 1, 1, 1);
        assert!(good.validate().is_ok());
        good.seq = 0;
        assert!(good.validate().is_err());
    }

    #[test]
    fn a_push_is_checked_change_by_change() {
        let mut twice = name("b", 2, 1, 2);
        twice.seq = 1;
        let push = PushRequest {
            device: device(1),
            changes: vec![
                name("a", 1, 1, 1),
                name("a", 1, 1, 1),
                twice,
                name("c", 3, 2, 3),
                change(person(1), "sex", json!("x"), 4, 1, 4),
            ],
        };
        let rejected: Vec<u64> = push.check().iter().map(|r| r.seq).collect();
        assert_eq!(rejected, [1, 3, 4]);
    }

    #[test]
    fn messages_round_trip_and_refuse_unknown_fields() {
        let push = PushRequest {
            device: device(1),
            changes: vec![name("王芳", 1, 1, 1)],
        };
        let text = serde_json::to_string(&push).unwrap();
        assert!(!text.contains("supersedes"), "left out when empty");
        assert_eq!(serde_json::from_str::<PushRequest>(&text).unwrap(), push);
        let pull = PullResponse {
            changes: vec![ServerChange::intake(1, name("王芳", 1, 1, 1), 10)],
            next_cursor: 1,
            more: false,
            server_time_ms: 10,
        };
        let text = serde_json::to_string(&pull).unwrap();
        assert_eq!(serde_json::from_str::<PullResponse>(&text).unwrap(), pull);
        let response = PushResponse {
            accepted: vec![1],
            rejected: vec![Rejection {
                seq: 2,
                reason: "x".to_string(),
            }],
            server_time_ms: 5,
        };
        let text = serde_json::to_string(&response).unwrap();
        assert_eq!(
            serde_json::from_str::<PushResponse>(&text).unwrap(),
            response
        );

        assert!(serde_json::from_str::<PullRequest>(r#"{"cursor":0,"limit":10}"#).is_ok());
        assert!(serde_json::from_str::<PullRequest>(r#"{"cursor":0,"limit":10,"x":1}"#).is_err());
        let mut change_json = serde_json::to_value(name("a", 1, 1, 1)).unwrap();
        change_json["extra"] = json!(1);
        assert!(serde_json::from_value::<Change>(change_json).is_err());
        let record_json = json!({"kind": "person", "id": id(1)});
        assert_eq!(
            serde_json::from_value::<RecordRef>(record_json).unwrap(),
            person(1)
        );
    }

    #[test]
    fn compacting_keeps_a_same_value_loser_nobody_replaced() {
        // A and B write "x" without seeing each other; C replaces B's "x"
        // with "y": A's "x" is now an open conflict, so it must be kept.
        let a = name("x", 1, 1, 1);
        let b = name("x", 2, 2, 1);
        let mut c = name("y", 3, 3, 1);
        c.supersedes = vec![b.id()];
        let mut field = FieldState::new(a.clone());
        field.apply(b);
        field.compact(None);
        assert_eq!(
            field.history(),
            std::slice::from_ref(&a),
            "same value, kept"
        );
        field.apply(c);
        field.compact(None);
        assert_eq!(field.conflicts(), std::slice::from_ref(&a));
        assert!(field.history().is_empty(), "B was replaced and dropped");
    }

    #[test]
    fn a_dropped_change_still_replaces_what_arrives_after_it() {
        // Device 1's seq 2 replaced B and was itself replaced by C; its
        // earlier seq 1 arrives last and is no conflict, dropped or not.
        let first = name("p", 1, 1, 1);
        let b = name("q", 2, 2, 1);
        let mut second = name("r", 3, 1, 2);
        second.supersedes = vec![b.id()];
        let mut c = name("s", 4, 3, 1);
        c.supersedes = vec![second.id()];
        let mut full = FieldState::new(b.clone());
        full.apply(second.clone());
        full.apply(c.clone());
        let mut compact = full.clone();
        compact.compact(None);
        assert!(compact.history().is_empty());
        let text = serde_json::to_string(&compact).unwrap();
        let mut compact: FieldState = serde_json::from_str(&text).unwrap();
        full.apply(first.clone());
        compact.apply(first);
        assert!(full.conflicts().is_empty());
        assert_eq!(compact.conflicts(), full.conflicts());
        assert_eq!(compact.winner(), full.winner());
    }

    #[test]
    fn a_created_record_is_sent_and_stored_compact() {
        let dataset = sample_dataset();
        let mut replica = Replica::new();
        replica.apply_to_dataset(
            &mut Dataset::new(),
            &changes_for_dataset(&dataset, Hlc::new(1, 0), device(1), 1),
        );
        let state = replica.record(&person(3)).unwrap();
        let snapshot = state.snapshot();
        assert!(matches!(snapshot.state, StoredState::Created { .. }));
        assert_eq!(snapshot.body["name"], json!("王芳"));
        assert_eq!(snapshot.state.latest(), Hlc::new(1, 0));
        let text = serde_json::to_string(&snapshot).unwrap();
        assert!(text.contains(r#""state":{"created":"#), "{text}");
        let back: SnapshotRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(&back.into_state().unwrap(), state);
        // An incomplete record has no body and its state in full.
        let lone = RecordState::new(person(2));
        let mut lone_replica = Replica::from_records([lone]);
        lone_replica.apply(change(person(2), "name", json!("李娜"), 1, 1, 9));
        let snapshot = lone_replica.record(&person(2)).unwrap().snapshot();
        assert_eq!(snapshot.body, Value::Null);
        assert!(matches!(snapshot.state, StoredState::Full(_)));
        assert!(snapshot.into_state().is_ok());
    }

    // ---- Property tests ----------------------------------------------------

    const RECORDS: [RecordRef; 3] = [
        RecordRef {
            kind: RecordKind::Person,
            id: Uuid::from_bytes([0x41; 16]),
        },
        RecordRef {
            kind: RecordKind::Person,
            id: Uuid::from_bytes([0x42; 16]),
        },
        RecordRef {
            kind: RecordKind::Village,
            id: Uuid::from_bytes([0x43; 16]),
        },
    ];

    fn fields_of(kind: RecordKind) -> &'static [&'static str] {
        match kind {
            RecordKind::Village => &["name", "township", "deleted"],
            _ => &["household_id", "name", "sex", "phone", "deleted"],
        }
    }

    /// A small value for a field: mostly valid, sometimes null or a value
    /// that does not fit, so that materialize meets incomplete records.
    fn value_for(field: &str, pick: u8) -> Value {
        match (field, pick % 8) {
            (_, 7) => Value::Null,
            ("household_id", p) => json!(id(20 + p % 2)),
            ("name", p) => json!(["王芳", "李娜", "张伟"][usize::from(p % 3)]),
            ("sex", 6) => json!("unknown"),
            ("sex", p) => json!(if p % 2 == 0 { "female" } else { "male" }),
            ("phone" | "township", p) => json!(format!("{}", p % 3)),
            ("deleted", p) => json!(p % 3 == 0),
            _ => Value::Null,
        }
    }

    /// Changes over three records, their fields and three devices, each
    /// with a unique (device, seq); stamps collide often. Some supersede
    /// earlier changes of the same field.
    fn arb_changes() -> impl Strategy<Value = Vec<Change>> {
        prop::collection::vec(
            (
                0..3usize,
                0..5usize,
                1..4u8,
                0..6u64,
                0..2u32,
                any::<u8>(),
                any::<u8>(),
            ),
            1..40,
        )
        .prop_map(|raw| {
            let mut seqs = [0u64; 4];
            let mut changes: Vec<Change> = Vec::new();
            for (r, f, dev, wall, counter, pick, sup) in raw {
                let record = RECORDS[r];
                let fields = fields_of(record.kind);
                let field = fields[f % fields.len()];
                seqs[usize::from(dev)] += 1;
                let supersedes = changes
                    .iter()
                    .filter(|c| c.record == record && c.field == field)
                    .filter(|c| sup % 2 == 0 && c.seq % 2 == u64::from(sup / 2 % 2))
                    .map(Change::id)
                    .collect();
                changes.push(Change {
                    record,
                    field: field.to_string(),
                    value: value_for(field, pick),
                    ts: Hlc::new(wall, counter),
                    device: device(dev),
                    seq: seqs[usize::from(dev)],
                    supersedes,
                });
            }
            changes
        })
    }

    /// The changes, and a delivery of them: shuffled, with exact duplicates
    /// and with copies stamped later (as if the originals were the server's
    /// clamped copies).
    fn arb_delivery() -> impl Strategy<Value = (Vec<Change>, Vec<Change>)> {
        arb_changes()
            .prop_flat_map(|changes| {
                let n = changes.len();
                let extras = prop::collection::vec((0..n, any::<bool>()), 0..=n);
                (Just(changes), extras)
            })
            .prop_flat_map(|(changes, extras)| {
                let mut delivery = changes.clone();
                for (i, later) in extras {
                    let mut copy = changes[i].clone();
                    if later {
                        copy.ts.wall_ms += 1_000_000;
                    }
                    delivery.push(copy);
                }
                (Just(changes), Just(delivery).prop_shuffle())
            })
    }

    fn replica_of(changes: &[Change]) -> Replica {
        let mut replica = Replica::new();
        for c in changes {
            replica.apply(c.clone());
        }
        replica
    }

    fn sorted(mut dataset: Dataset) -> Dataset {
        dataset.villages.sort_by_key(|r| r.id);
        dataset.persons.sort_by_key(|r| r.id);
        dataset
    }

    proptest! {
        #[test]
        fn any_order_with_duplicates_gives_the_same_state((changes, delivery) in arb_delivery()) {
            let expected = replica_of(&changes);
            let delivered = replica_of(&delivery);
            prop_assert_eq!(&delivered, &expected);
            prop_assert_eq!(delivered.materialize(), expected.materialize());
            prop_assert_eq!(delivered.len(), changes.len());
            for c in &changes {
                let a = delivered.field(&c.record, &c.field).unwrap().winner();
                let b = expected.field(&c.record, &c.field).unwrap().winner();
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn the_winner_is_the_max_by_stamp_then_device(changes in arb_changes()) {
            let replica = replica_of(&changes);
            for c in &changes {
                let expected = changes
                    .iter()
                    .filter(|o| o.record == c.record && o.field == c.field)
                    .max_by_key(|o| (o.ts, o.device, o.seq))
                    .unwrap();
                prop_assert_eq!(replica.field(&c.record, &c.field).unwrap().winner(), expected);
            }
        }

        #[test]
        fn nothing_applied_is_lost(changes in arb_changes()) {
            let replica = replica_of(&changes);
            for c in &changes {
                let field = replica.field(&c.record, &c.field).unwrap();
                prop_assert!(
                    field.winner().value == c.value || field.conflicts().iter().any(|l| l.value == c.value)
                        || field.history().contains(c)
                );
                prop_assert_eq!(field.changes().filter(|h| *h == c).count(), 1);
            }
            prop_assert_eq!(replica.changes().count(), changes.len());
        }

        #[test]
        fn a_conflict_is_a_different_value_nobody_replaced(changes in arb_changes()) {
            let replica = replica_of(&changes);
            let conflicts = replica.conflicts();
            for conflict in &conflicts {
                prop_assert!(conflict.kept.beats(&conflict.lost));
                prop_assert_ne!(&conflict.kept.value, &conflict.lost.value);
                prop_assert!(!changes.iter().any(|c| c.record == conflict.record
                    && c.field == conflict.field
                    && (c.supersedes.contains(&conflict.lost.id())
                        || (c.device == conflict.lost.device && c.seq > conflict.lost.seq))));
            }
            // Every loser not listed is replaced knowingly or holds the winner's value.
            for state in replica.records() {
                for (_, field) in state.fields() {
                    for old in field.history() {
                        prop_assert!(old.value == field.winner().value
                            || field.changes().any(|c| c.replaced(old)));
                    }
                }
            }
        }

        #[test]
        fn apply_to_dataset_in_batches_matches_materialize(
            (changes, delivery) in arb_delivery(),
            cut in 0..40usize,
        ) {
            let cut = cut.min(delivery.len());
            let mut replica = Replica::new();
            let mut dataset = Dataset::new();
            replica.apply_to_dataset(&mut dataset, &delivery[..cut]);
            replica.apply_to_dataset(&mut dataset, &delivery[cut..]);
            let built = replica_of(&changes).materialize();
            prop_assert_eq!(sorted(dataset), built.dataset);
        }

        #[test]
        fn a_snapshot_then_later_changes_end_as_every_change_from_the_start(
            (changes, order) in arb_changes().prop_flat_map(|changes| {
                let n = changes.len();
                (Just(changes), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
            }),
            cut in 0..40usize,
            again in prop::collection::vec(0..40usize, 0..8),
        ) {
            // The server takes in the changes in some order; a new phone
            // bootstraps from its snapshot (through JSON, as sent and
            // stored) taken after `cut` of them, then pulls the rest, and
            // some again (a pull from 0 after the server was restored).
            let delivery: Vec<Change> = order.iter().map(|&i| changes[i].clone()).collect();
            let cut = cut.min(delivery.len());
            let mut server = Replica::new();
            for c in &delivery[..cut] {
                server.apply(c.clone());
            }
            let page: Vec<SnapshotRecord> = server.records().map(RecordState::snapshot).collect();
            let text = serde_json::to_string(&page).unwrap();
            let page: Vec<SnapshotRecord> = serde_json::from_str(&text).unwrap();
            let mut phone = Replica::from_records(page.into_iter().map(|r| r.into_state().unwrap()));
            let repeats = again.iter().filter_map(|&i| delivery.get(i));
            for c in delivery[cut..].iter().chain(repeats) {
                phone.apply(c.clone());
            }
            let expected = replica_of(&changes);
            prop_assert_eq!(phone.materialize(), expected.materialize());
            prop_assert_eq!(phone.conflicts(), expected.conflicts());
            for state in expected.records() {
                for (field, full) in state.fields() {
                    let compact = phone.field(&state.record(), field).unwrap();
                    prop_assert_eq!(compact.winner(), full.winner());
                    prop_assert_eq!(compact.in_view(), full.in_view());
                }
            }
        }

        #[test]
        fn a_phone_compacting_its_states_decides_as_if_it_held_everything(
            (changes, delivery) in arb_delivery(),
            cuts in prop::collection::vec(0..80usize, 0..4),
        ) {
            // Device 1 is the phone: only its own changes come back from
            // the server with another stamp (the later copies in the
            // delivery stand for its unclamped originals; the test treats
            // every device's copies so, and compacts for each in turn).
            for own in 1..4u8 {
                let delivery: Vec<Change> = delivery
                    .iter()
                    .filter(|c| c.device == device(own) || changes.contains(c))
                    .cloned()
                    .collect();
                let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(delivery.len())).collect();
                cuts.sort_unstable();
                cuts.push(delivery.len());
                let mut phone = Replica::new();
                let mut from = 0;
                for cut in cuts {
                    for c in &delivery[from..cut] {
                        phone.apply(c.clone());
                    }
                    from = cut;
                    // Stored and read back, as the phone's store does.
                    let states: Vec<RecordState> = phone
                        .records()
                        .map(|state| {
                            let body = state.materialize().map_or(Value::Null, Value::Object);
                            let text = serde_json::to_string(&state.to_stored(&body, Some(device(own)))).unwrap();
                            let stored: StoredState = serde_json::from_str(&text).unwrap();
                            stored.into_state(state.record().kind, Some(&body)).unwrap().unwrap()
                        })
                        .collect();
                    phone = Replica::from_records(states);
                }
                let expected = replica_of(&delivery);
                prop_assert_eq!(phone.materialize(), expected.materialize());
                prop_assert_eq!(phone.conflicts(), expected.conflicts());
            }
        }

        #[test]
        fn the_clock_never_repeats_or_goes_back(
            events in prop::collection::vec((any::<bool>(), 0..1_000u64, 0..1_000u64, 0..3u32), 1..60),
        ) {
            let mut clock = Clock::new();
            let mut greatest = Hlc::ZERO;
            let mut issued = Hlc::ZERO;
            for (local, now, remote_wall, remote_counter) in events {
                if local {
                    let ts = clock.tick(now);
                    prop_assert!(ts > greatest && ts > issued);
                    issued = ts;
                } else {
                    let remote = Hlc::new(remote_wall, remote_counter);
                    greatest = greatest.max(remote);
                    let ts = clock.observe(remote, now);
                    prop_assert!(ts > remote && ts > issued);
                    issued = ts;
                }
                greatest = greatest.max(issued);
            }
        }
    }
}

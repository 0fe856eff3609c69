//! Push and pull: the server's half of the sync protocol, merging with the
//! core's [`Replica`] so that the server and the phones decide alike.
//!
//! # Push
//! One transaction for the pushes that arrive together ([`PushQueue`]),
//! each in a savepoint. Its first statement bumps the `cursor` counter,
//! which takes that row's lock (PostgreSQL) or the write lock (SQLite):
//! pushes are applied one after another and commit in cursor order, so a
//! pull that reads up to the committed counter never skips a change
//! committed late.
//! A change already held (same device and number, same content) is
//! accepted again and applied nothing; with other content it is rejected.
//! A push under a device of another user, of the server, or revoked fails
//! whole with 403 and changes nothing ([`devices`]); the first push the
//! server takes from a new device binds it to the user.
//! A change to a record outside the user's villages fails the whole push
//! with 403 and changes nothing.
//!
//! # Pull
//! The changes of the user's villages after the cursor, up to the
//! committed head read first, in cursor order, one page at a time. A page
//! (and a snapshot page) is bounded by count and by [`MAX_PAGE_BYTES`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use fieldbook_core::Id;
use fieldbook_core::sync::{
    ApplyOutcome, Change, Hlc, MAX_SEQ, PullRequest, PushRequest, PushResponse, RecordKind,
    RecordRef, RecordState, Rejection, Replica, ServerChange, SnapshotRequest, StoredState,
};
use serde_json::Value;
use sqlx::{Acquire, Any, Row, Transaction};
use tokio::sync::oneshot;

use crate::auth::User;
use crate::db::Db;
use crate::devices;
use crate::error::ApiError;

/// The most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 5_000;
/// The most changes one pull page holds.
pub const MAX_PULL_LIMIT: u32 = 5_000;
/// About the most bytes of JSON text a pull or snapshot page holds: a page
/// ends after the item that takes it past this, so it is at most this plus
/// one item (a change or record is bounded by the core's field limits) and
/// always holds at least one. `more` is then set and the client pages on
/// as when the page is cut by count.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Applies a push for `user` on its own; answers after commit. The server
/// takes pushes through a [`PushQueue`], which commits those that arrive
/// together in one transaction.
pub async fn push(
    db: &Db,
    user: &User,
    request: PushRequest,
    now_ms: u64,
) -> Result<PushResponse, ApiError> {
    check_push_size(&request)?;
    let (reply, answer) = oneshot::channel();
    commit_group(
        db,
        vec![PendingPush {
            user: user.clone(),
            request,
            now_ms,
            reply,
        }],
    )
    .await;
    answer.await.unwrap_or_else(|_| Err(dropped()))
}

fn check_push_size(request: &PushRequest) -> Result<(), ApiError> {
    if request.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::field(
            "changes",
            format!("at most {MAX_PUSH_CHANGES} changes per push; send the rest in another"),
        ));
    }
    Ok(())
}

fn dropped() -> ApiError {
    ApiError::Internal(anyhow::anyhow!("the push was dropped before its commit"))
}

/// One push waiting for its group's commit.
struct PendingPush {
    user: User,
    request: PushRequest,
    now_ms: u64,
    reply: oneshot::Sender<Result<PushResponse, ApiError>>,
}

/// Group commit: the pushes that arrive while a group is committing wait
/// here and commit together, in one transaction, each in a savepoint of
/// its own. With `synchronous=FULL` every commit waits for the disk, and
/// pushes are applied one after another anyway (the cursor's lock), so
/// 500 phones pushing at once paid 500 syncs in a row; now they pay one
/// a group.
///
/// What a single push guaranteed holds for each push of a group: it is
/// answered only after the group's commit; its changes take cursors in
/// order after the previous push's, so the group commits in cursor order
/// under the same lock; a push that fails (403, a database error) rolls
/// back to its savepoint and changes nothing, while the others commit; a
/// device's push repeated within a group finds its first copy (same
/// transaction) and is accepted again without applying anything.
#[derive(Default)]
pub struct PushQueue {
    waiting: std::sync::Mutex<VecDeque<PendingPush>>,
}

impl PushQueue {
    /// Queues a push and answers after the commit of the group it joins.
    /// `lock` orders groups (and settlements) in this process; each push
    /// starts a task that takes it and commits whatever is waiting then,
    /// in a task of its own so that a client that hangs up cannot cancel
    /// the others' commit.
    pub async fn push(
        self: &Arc<Self>,
        db: &Db,
        lock: &Arc<tokio::sync::Mutex<()>>,
        user: User,
        request: PushRequest,
        now_ms: u64,
    ) -> Result<PushResponse, ApiError> {
        check_push_size(&request)?;
        let (reply, answer) = oneshot::channel();
        self.lock_waiting().push_back(PendingPush {
            user,
            request,
            now_ms,
            reply,
        });
        let queue = Arc::clone(self);
        let db = db.clone();
        let lock = Arc::clone(lock);
        tokio::spawn(async move {
            let _guard = lock.lock_owned().await;
            let group = queue.take_group();
            // Empty when an earlier task took this push into its group.
            if !group.is_empty() {
                commit_group(&db, group).await;
            }
        });
        answer.await.unwrap_or_else(|_| Err(dropped()))
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<PendingPush>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The waiting pushes, oldest first, up to [`MAX_PUSH_CHANGES`] changes
    /// in all (at least one push), so a group stays one push's size. Those
    /// left wait for the next task, which each push started.
    fn take_group(&self) -> Vec<PendingPush> {
        let mut waiting = self.lock_waiting();
        let mut group = Vec::new();
        let mut changes = 0;
        while let Some(next) = waiting.front() {
            let size = next.request.changes.len();
            if !group.is_empty() && changes + size > MAX_PUSH_CHANGES {
                break;
            }
            changes += size;
            group.extend(waiting.pop_front());
        }
        group
    }
}

/// Applies `group` in one transaction, each push in a savepoint, and
/// answers each push after the commit (or with the error that ended it).
async fn commit_group(db: &Db, group: Vec<PendingPush>) {
    let mut answers = Vec::with_capacity(group.len());
    let mut work = Vec::with_capacity(group.len());
    for pending in group {
        answers.push(pending.reply);
        work.push((pending.user, pending.request, pending.now_ms));
    }
    match apply_group(db, work).await {
        Ok(results) => {
            for (reply, result) in answers.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            tracing::error!("a group of {} pushes failed: {error:#}", answers.len());
            for reply in answers {
                let _ = reply.send(Err(ApiError::Internal(anyhow::anyhow!(
                    "the group commit failed"
                ))));
            }
        }
    }
}

/// Takes the change log cursor's lock inside `tx` (the row lock on
/// PostgreSQL, the write lock on SQLite) and returns the head: every writer
/// of the log does this first, so writes are applied one after another and
/// commit in cursor order.
pub async fn lock_cursor(tx: &mut Transaction<'_, Any>) -> Result<u64, sqlx::Error> {
    let head: i64 =
        sqlx::query("UPDATE counters SET value = value + 0 WHERE name = 'cursor' RETURNING value")
            .fetch_one(&mut **tx)
            .await?
            .get(0);
    Ok(head as u64)
}

/// The transaction of a group: the cursor's lock first, each push in a
/// savepoint, the cursor written back, commit. `Err` when the transaction
/// itself failed (nothing of the group committed).
async fn apply_group(
    db: &Db,
    work: Vec<(User, PushRequest, u64)>,
) -> anyhow::Result<Vec<Result<PushResponse, ApiError>>> {
    let mut tx = db.pool.begin().await?;
    let mut cursor = lock_cursor(&mut tx).await?;
    let mut results = Vec::with_capacity(work.len());
    for (user, request, now_ms) in work {
        let before = cursor;
        let mut savepoint = tx.begin().await?;
        match apply_push(
            &mut savepoint,
            &user,
            request,
            now_ms,
            &mut cursor,
            Intake::Push,
        )
        .await
        {
            Ok(response) => {
                savepoint.commit().await?;
                results.push(Ok(response));
            }
            Err(error) => {
                cursor = before;
                savepoint.rollback().await?;
                results.push(Err(error));
            }
        }
    }
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'cursor'")
        .bind(cursor as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(results)
}

/// How changes reach [`apply_push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intake {
    /// A device's own push: the device must be the user's.
    Push,
    /// Changes a phone held, of any device, sent again to a restored server
    /// (`crate::restore::replay`): every other check of a push applies.
    Replay,
}

/// Applies one push inside `tx`, numbering its changes after `cursor`.
pub(crate) async fn apply_push(
    tx: &mut Transaction<'_, Any>,
    user: &User,
    request: PushRequest,
    now_ms: u64,
    cursor: &mut u64,
    intake: Intake,
) -> Result<PushResponse, ApiError> {
    let device = request.device.0.to_string();
    // The device must be the user's (or new); so must every other device a
    // change names, though such a change is refused below in any case.
    let others: BTreeSet<String> = request
        .changes
        .iter()
        .filter(|c| c.device != request.device)
        .map(|c| c.device.0.to_string())
        .collect();
    // A replay carries other devices' changes by design (see
    // `crate::restore`): it checks villages, not devices.
    if intake == Intake::Push {
        for device in std::iter::once(&device).chain(&others) {
            if let Some(refusal) = devices::check(tx, user, device).await? {
                return Err(ApiError::Forbidden(refusal.reason(device)));
            }
        }
    }
    let mut rejected = request.check();
    let refused: BTreeSet<u64> = rejected.iter().map(|r| r.seq).collect();

    // What the server already holds of this device's numbers.
    let held = held_changes(tx, &device, &request.changes).await?;

    // Each change once (a request may repeat one), in order.
    let mut fresh: Vec<Change> = Vec::new();
    let mut accepted: Vec<u64> = Vec::new();
    let mut seen = BTreeSet::new();
    for change in &request.changes {
        if refused.contains(&change.seq) || !seen.insert(change.seq) {
            continue;
        }
        match held.get(&change.seq) {
            Some(body) if body_matches(body, change) => accepted.push(change.seq),
            Some(_) => rejected.push(Rejection {
                seq: change.seq,
                reason: "the server holds another change under this number".into(),
            }),
            None => fresh.push(change.clone()),
        }
    }

    // The records touched, with their village, loaded once.
    let mut records = Records::load(tx, fresh.iter().map(|c| c.record)).await?;
    for change in &fresh {
        if change.record.kind == RecordKind::Village {
            rejected.push(Rejection {
                seq: change.seq,
                reason: "a village's name and township are kept by the township's administrator"
                    .into(),
            });
            continue;
        }
        let village = records.village_for(tx, change, &fresh).await?;
        match village {
            Some(village) if user.can_write(&village) => {}
            Some(_) => {
                return Err(ApiError::Forbidden(format!(
                    "{} {} belongs to a village you cannot write",
                    change.record.kind.name(),
                    change.record.id
                )));
            }
            None => {
                rejected.push(Rejection {
                    seq: change.seq,
                    reason: format!(
                        "the {} {} is not known here, nor is the record it belongs to: \
                         send its {} first",
                        change.record.kind.name(),
                        change.record.id,
                        change
                            .record
                            .kind
                            .parent()
                            .map_or("village", |(field, _)| field)
                    ),
                });
                continue;
            }
        }
        if let Some((field, _)) = change.record.kind.parent()
            && change.field == field
            && let Some(current) = records.village_of(&change.record)
        {
            let moved_to = records.parent_village(tx, change).await?;
            if moved_to.as_deref() != Some(current.as_str()) {
                rejected.push(Rejection {
                    seq: change.seq,
                    reason: "a record cannot move to another village".into(),
                });
                continue;
            }
        }

        *cursor += 1;
        let logged = ServerChange::intake(*cursor, change.clone(), now_ms);
        match records.replica.apply(logged.change.clone()) {
            ApplyOutcome::Refused { reason } => {
                *cursor -= 1;
                rejected.push(Rejection {
                    seq: change.seq,
                    reason,
                });
                continue;
            }
            _ => {
                let village = records
                    .village_of(&change.record)
                    .unwrap_or_default()
                    .to_string();
                records.touched.insert(change.record);
                insert_change(tx, &logged, &village, &user.id, now_ms).await?;
                accepted.push(change.seq);
            }
        }
    }
    records.store(tx).await?;
    mark_synced(tx, user, now_ms).await?;
    // The device is bound to the user by the first push the server takes
    // (a push refused whole binds nothing). A replay binds nothing: its
    // devices are anyone's.
    if !accepted.is_empty() && intake == Intake::Push {
        devices::claim(tx, user, &device, now_ms).await?;
    }

    accepted.sort_unstable();
    rejected.sort_by_key(|r| r.seq);
    Ok(PushResponse {
        accepted,
        rejected,
        server_time_ms: now_ms,
    })
}

/// Notes that a phone of the worker's villages synced now (an officer's or
/// admin's reading is not a phone's sync).
async fn mark_synced(
    tx: &mut Transaction<'_, Any>,
    user: &User,
    now_ms: u64,
) -> Result<(), ApiError> {
    if user.role != crate::auth::Role::Worker {
        return Ok(());
    }
    for village in &user.villages {
        sqlx::query("UPDATE villages SET last_sync_ms = $1 WHERE id = $2")
            .bind(now_ms as i64)
            .bind(village)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The bodies the server holds under `device`'s numbers among `changes`.
async fn held_changes(
    tx: &mut Transaction<'_, Any>,
    device: &str,
    changes: &[Change],
) -> Result<HashMap<u64, String>, ApiError> {
    // Numbers past MAX_SEQ are refused, and as i64 they would wrap around
    // and empty the range.
    let numbers = || changes.iter().map(|c| c.seq).filter(|&s| s <= MAX_SEQ);
    let (Some(low), Some(high)) = (numbers().min(), numbers().max()) else {
        return Ok(HashMap::new());
    };
    let rows =
        sqlx::query("SELECT seq, body FROM changes WHERE device = $1 AND seq >= $2 AND seq <= $3")
            .bind(device)
            .bind(low as i64)
            .bind(high as i64)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<i64, _>("seq") as u64, r.get::<String, _>("body")))
        .collect())
}

/// Whether a held body is `change` (its stamp may have been clamped at
/// intake, so compare all but the stamp).
fn body_matches(body: &str, change: &Change) -> bool {
    serde_json::from_str::<Change>(body).is_ok_and(|held| {
        held.record == change.record
            && held.field == change.field
            && held.value == change.value
            && held.supersedes == change.supersedes
            && held.ts <= change.ts
    })
}

async fn insert_change(
    tx: &mut Transaction<'_, Any>,
    logged: &ServerChange,
    village: &str,
    user: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    let change = &logged.change;
    sqlx::query(
        "INSERT INTO changes (cursor, device, seq, village_id, record_kind, record_id, body, \
         clamped, received_ms, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(logged.cursor as i64)
    .bind(change.device.0.to_string())
    .bind(change.seq as i64)
    .bind(village)
    .bind(change.record.kind.name())
    .bind(change.record.id.to_string())
    .bind(serde_json::to_string(change)?)
    .bind(i64::from(logged.clamped))
    .bind(now_ms as i64)
    .bind(user)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The records a push touches: their merge states in a [`Replica`] and the
/// village each belongs to.
pub struct Records {
    /// The merge state of every loaded record.
    pub replica: Replica,
    villages: HashMap<RecordRef, String>,
    /// Records known to be absent from the database.
    missing: BTreeSet<RecordRef>,
    /// Records changed in this push, to be written back.
    pub touched: BTreeSet<RecordRef>,
}

impl Records {
    /// Loads the states of `wanted` that the database holds.
    pub async fn load(
        tx: &mut Transaction<'_, Any>,
        wanted: impl Iterator<Item = RecordRef>,
    ) -> Result<Records, ApiError> {
        let wanted: BTreeSet<RecordRef> = wanted.collect();
        let mut states = Vec::new();
        let mut villages = HashMap::new();
        let mut missing = BTreeSet::new();
        for record in wanted {
            match load_state(tx, &record).await? {
                Some((village, state)) => {
                    villages.insert(record, village);
                    states.push(state);
                }
                None => {
                    missing.insert(record);
                }
            }
        }
        Ok(Records {
            replica: Replica::from_records(states),
            villages,
            missing,
            touched: BTreeSet::new(),
        })
    }

    /// The village of a loaded (or newly placed) record.
    pub fn village_of(&self, record: &RecordRef) -> Option<String> {
        self.villages.get(record).cloned()
    }

    /// The village `change`'s record belongs to: its stored village, or for
    /// a record new to the server, its parent's (named by a change of the
    /// same push). Remembers what it found.
    async fn village_for(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        change: &Change,
        batch: &[Change],
    ) -> Result<Option<String>, ApiError> {
        if let Some(village) = self.villages.get(&change.record) {
            return Ok(Some(village.clone()));
        }
        let found = match change.record.kind.parent() {
            None => village_exists(tx, &change.record.id.to_string()).await?,
            Some((field, _)) => {
                // The parent is named by this record's own parent field, in
                // this push (the record is new).
                let parent_change = batch
                    .iter()
                    .find(|c| c.record == change.record && c.field == field);
                match parent_change {
                    Some(parent_change) => self.parent_village(tx, parent_change).await?,
                    None => None,
                }
            }
        };
        if let Some(village) = &found {
            self.villages.insert(change.record, village.clone());
        }
        Ok(found)
    }

    /// The village of the record a parent-field `change` points at.
    async fn parent_village(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        change: &Change,
    ) -> Result<Option<String>, ApiError> {
        let Some((_, parent_kind)) = change.record.kind.parent() else {
            return Ok(None);
        };
        let Some(parent_id) = change.value.as_str().and_then(|s| Id::parse_str(s).ok()) else {
            return Ok(None);
        };
        let mut at = RecordRef {
            kind: parent_kind,
            id: parent_id,
        };
        // Up the ties (at most a tick → plan → village, a visit → household
        // → village): a village is its own.
        for _ in 0..RecordKind::ALL.len() {
            if at.kind == RecordKind::Village {
                return village_exists(tx, &at.id.to_string()).await;
            }
            if let Some(village) = self.villages.get(&at) {
                return Ok(Some(village.clone()));
            }
            if !self.missing.contains(&at)
                && let Some((village, _)) = load_state(tx, &at).await?
            {
                self.villages.insert(at, village.clone());
                return Ok(Some(village));
            }
            // A parent new in this push: follow its own tie, if known here.
            let Some(state) = self.replica.record(&at) else {
                return Ok(None);
            };
            let Some((field, kind)) = at.kind.parent() else {
                return Ok(None);
            };
            let Some(next) = state.field(field).and_then(|f| {
                f.winner()
                    .value
                    .as_str()
                    .and_then(|s| Id::parse_str(s).ok())
            }) else {
                return Ok(None);
            };
            at = RecordRef { kind, id: next };
        }
        Ok(None)
    }

    /// Writes back every touched record's state and built body.
    pub async fn store(&self, tx: &mut Transaction<'_, Any>) -> Result<(), ApiError> {
        for record in &self.touched {
            let Some(state) = self.replica.record(record) else {
                continue;
            };
            let village = self.villages.get(record).cloned().unwrap_or_default();
            store_state(tx, state, &village).await?;
        }
        Ok(())
    }
}

/// Writes one record's state, body and conflict count. The body is the
/// record as [`RecordState::materialize`] builds it (`null` while its values
/// do not form one); the state is stored beside it in the core's
/// [`StoredState`] form: `{"created": …}` for a record that holds only its
/// creation, otherwise compacted (the change log keeps every change). So a
/// snapshot sends both as they are.
pub async fn store_state(
    tx: &mut Transaction<'_, Any>,
    state: &RecordState,
    village: &str,
) -> Result<(), ApiError> {
    let record = state.record();
    let body = state.materialize().map_or(Value::Null, Value::Object);
    let stored = state.to_stored(&body, None);
    sqlx::query(
        "INSERT INTO records (kind, id, village_id, state, body, conflicts) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (kind, id) DO UPDATE SET state = excluded.state, body = excluded.body, \
         conflicts = excluded.conflicts",
    )
    .bind(record.kind.name())
    .bind(record.id.to_string())
    .bind(village)
    .bind(serde_json::to_string(&stored)?)
    .bind(serde_json::to_string(&body)?)
    .bind(state.conflicts().count() as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One record's village and merge state, if the database has it.
pub async fn load_state(
    tx: &mut Transaction<'_, Any>,
    record: &RecordRef,
) -> Result<Option<(String, RecordState)>, ApiError> {
    let row =
        sqlx::query("SELECT village_id, state, body FROM records WHERE kind = $1 AND id = $2")
            .bind(record.kind.name())
            .bind(record.id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let state = decode_state(record.kind, &row.get::<String, _>("state"), || {
                row.get::<String, _>("body")
            })?;
            Ok(Some((row.get("village_id"), state)))
        }
    }
}

/// A stored state back into the merge state: a full one as it is (also as
/// older servers wrote it), a compact `{"created": …}` rebuilt from the
/// stored body, which is read only then.
fn decode_state(
    kind: RecordKind,
    state: &str,
    body: impl FnOnce() -> String,
) -> Result<RecordState, ApiError> {
    let stored: StoredState = serde_json::from_str(state)?;
    let body = match stored {
        StoredState::Created { .. } => serde_json::from_str(&body())?,
        StoredState::Full(_) => Value::Null,
    };
    stored
        .into_state(kind, Some(&body))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored record state: {e}")))?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a compact record state without its record"))
        })
}

async fn village_exists(
    tx: &mut Transaction<'_, Any>,
    id: &str,
) -> Result<Option<String>, ApiError> {
    Ok(sqlx::query("SELECT id FROM villages WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0)))
}

/// A page of changes for `user` after the request's cursor, as the JSON
/// text of a [`PullResponse`](fieldbook_core::sync::PullResponse): each change's stored body is sent as it is,
/// not parsed and written again.
pub async fn pull(
    db: &Db,
    user: &User,
    request: &PullRequest,
    now_ms: u64,
) -> Result<String, ApiError> {
    if request.limit == 0 || request.limit > MAX_PULL_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("the page size must be 1 to {MAX_PULL_LIMIT}"),
        ));
    }
    let head: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'cursor'")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    let head = head as u64;
    if request.cursor > head {
        return Err(ApiError::field(
            "cursor",
            "the cursor is ahead of this server: it comes from another server or was altered; \
             start again from 0",
        ));
    }
    let mut changes = Vec::new();
    if !user.villages.is_empty() {
        let list = village_params(user, 4);
        let sql = format!(
            "SELECT cursor, body, clamped FROM changes WHERE cursor > $1 AND cursor <= $2 \
             AND village_id IN ({list}) ORDER BY cursor LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(request.cursor as i64)
            .bind(head as i64)
            .bind(i64::from(request.limit) + 1);
        for village in &user.villages {
            query = query.bind(village);
        }
        for row in query.fetch_all(&db.pool).await? {
            changes.push((
                row.get::<i64, _>("cursor") as u64,
                row.get::<String, _>("body"),
                row.get::<i64, _>("clamped") != 0,
            ));
        }
    }
    let mut more = changes.len() > request.limit as usize;
    changes.truncate(request.limit as usize);
    // Cut by bytes too: the first changes whose text reaches the bound (a
    // body and at most 64 bytes of cursor and flag around it).
    let mut bytes = 0;
    if let Some(cut) = changes.iter().position(|c| {
        bytes += c.1.len() + 64;
        bytes >= MAX_PAGE_BYTES
    }) && cut + 1 < changes.len()
    {
        changes.truncate(cut + 1);
        more = true;
    }
    let next_cursor = if more {
        changes.last().map_or(request.cursor, |c| c.0)
    } else {
        head
    };
    let mut tx = db.pool.begin().await?;
    mark_synced(&mut tx, user, now_ms).await?;
    tx.commit().await?;
    // The shape of `PullResponse`, its bodies as stored (the core's `Change`
    // as JSON, written by `insert_change`).
    let mut text =
        String::with_capacity(changes.iter().map(|c| c.1.len() + 48).sum::<usize>() + 96);
    text.push_str(r#"{"changes":["#);
    for (i, (cursor, body, clamped)) in changes.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"cursor":{cursor},"change":{body},"clamped":{clamped}}}"#
        ));
    }
    text.push_str(&format!(
        r#"],"next_cursor":{next_cursor},"more":{more},"server_time_ms":{now_ms}}}"#
    ));
    Ok(text)
}

/// Every record of `village` built from its stored merge state.
pub async fn village_records(
    db: &Db,
    village: &str,
) -> Result<BTreeMap<RecordRef, RecordState>, ApiError> {
    let rows = sqlx::query("SELECT kind, state, body FROM records WHERE village_id = $1")
        .bind(village)
        .fetch_all(&db.pool)
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let kind = RecordKind::from_name(&row.get::<String, _>("kind"))
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a record of an unknown kind")))?;
        let state = decode_state(kind, &row.get::<String, _>("state"), || {
            row.get::<String, _>("body")
        })?;
        out.insert(state.record(), state);
    }
    Ok(out)
}

/// The user's villages as bound parameters `$first, $first+1, …`, for an
/// `IN (…)` after the query's own parameters.
fn village_params(user: &User, first: usize) -> String {
    (0..user.villages.len())
        .map(|i| format!("${}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most records one snapshot page holds.
pub const MAX_SNAPSHOT_LIMIT: u32 = 10_000;

/// A page of the snapshot of `user`'s villages: the records after
/// `request.after` in (kind, id) order, each with its stored merge state,
/// their open conflicts, the cursor of the change log they stand for and
/// how many records the whole snapshot holds (`total`), all read in one
/// read transaction. The answer's JSON text is built from
/// the stored texts: a record that holds only its creation (nearly all) is
/// sent as stored, without parsing its body.
pub async fn snapshot(
    db: &Db,
    user: &User,
    request: &SnapshotRequest,
    now_ms: u64,
) -> Result<String, ApiError> {
    if request.limit == 0 || request.limit > MAX_SNAPSHOT_LIMIT {
        return Err(ApiError::field(
            "limit",
            format!("the page size must be 1 to {MAX_SNAPSHOT_LIMIT}"),
        ));
    }
    let mut tx = db.pool.begin().await?;
    if db.backend == crate::db::Backend::Postgres {
        // One view of the database for the counter and the rows (SQLite's
        // read transaction is one snapshot by itself).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let head: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'cursor'")
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    let mut rows = Vec::new();
    let mut total = 0;
    if !user.villages.is_empty() {
        // The whole snapshot's size, in the same read as the rows, for the
        // device's "n of N" (the index on (village_id, kind) answers it).
        let count = format!(
            "SELECT COUNT(*) FROM records WHERE village_id IN ({})",
            village_params(user, 1)
        );
        let mut query = sqlx::query(&count);
        for village in &user.villages {
            query = query.bind(village);
        }
        total = query.fetch_one(&mut *tx).await?.get::<i64, _>(0);
        let list = village_params(user, 4);
        let sql = format!(
            "SELECT kind, id, state, body FROM records WHERE village_id IN ({list}) \
             AND (kind > $1 OR (kind = $1 AND id > $2)) ORDER BY kind, id LIMIT $3"
        );
        let (kind, id) = request.after.map_or((String::new(), String::new()), |r| {
            (r.kind.name().to_string(), r.id.to_string())
        });
        let mut query = sqlx::query(&sql)
            .bind(kind)
            .bind(id)
            .bind(i64::from(request.limit) + 1);
        for village in &user.villages {
            query = query.bind(village);
        }
        rows = query.fetch_all(&mut *tx).await?;
    }
    tx.commit().await?;
    let mut more = rows.len() > request.limit as usize;
    rows.truncate(request.limit as usize);

    let mut text = String::with_capacity(rows.len() * 512 + 256);
    text.push_str(r#"{"records":["#);
    let mut conflicts = Vec::new();
    let mut max_ts = Hlc::ZERO;
    let mut written = 0;
    for row in &rows {
        // Cut by bytes too: the page ends after the record that reaches the
        // bound; the client asks for the rest after the page's last record.
        if text.len() >= MAX_PAGE_BYTES {
            more = true;
            break;
        }
        // A separator before every record written but the first (a record
        // whose stored state does not decode is left out).
        let separator = if written > 0 { "," } else { "" };
        let kind_name: String = row.get("kind");
        let kind = RecordKind::from_name(&kind_name)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a record of an unknown kind")))?;
        let state: String = row.get("state");
        let stored: StoredState = serde_json::from_str(&state)?;
        match stored {
            StoredState::Created { created } => {
                max_ts = max_ts.max(created.ts);
                let id: String = row.get("id");
                let body: String = row.get("body");
                text.push_str(&format!(
                    r#"{separator}{{"record":{{"kind":"{kind_name}","id":"{id}"}},"body":{body},"state":{state}}}"#
                ));
            }
            full @ StoredState::Full(_) => {
                let Some(merge) = full.into_state(kind, None).ok().flatten() else {
                    continue;
                };
                let record = merge.snapshot();
                max_ts = max_ts.max(record.state.latest());
                conflicts.extend(merge.conflicts());
                text.push_str(separator);
                text.push_str(&serde_json::to_string(&record)?);
            }
        }
        written += 1;
    }
    text.push_str(&format!(
        r#"],"conflicts":{},"cursor":{head},"max_ts":{},"more":{more},"server_time_ms":{now_ms},"total":{total}}}"#,
        serde_json::to_string(&conflicts)?,
        serde_json::to_string(&max_ts)?,
    ));
    let mut tx = db.pool.begin().await?;
    mark_synced(&mut tx, user, now_ms).await?;
    tx.commit().await?;
    Ok(text)
}

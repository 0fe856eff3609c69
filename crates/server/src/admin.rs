//! What the server does on its own account: villages and users (for the
//! admin command line), the changes it makes itself (a new village's
//! record, a settled conflict), the export, and the demo village.
//!
//! The server's changes carry its own device id (made once, kept in
//! `server_meta`) and numbers from the `server_seq` counter, and go through
//! the same log and merge as a phone's: the phones pull them like any other.

use fieldbook_core::limits::check_field;
use fieldbook_core::sync::{
    Change, Clock, DeviceId, Hlc, PushResponse, RecordKind, RecordRef, Replica, ServerChange,
    changes_for_dataset, changes_for_new_record,
};
use fieldbook_core::{Dataset, Id, Village};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::auth::{Role, User, check_new_password, hash_password};
use crate::db::Db;
use crate::error::ApiError;
use crate::sync::{Records, load_state, store_state};

/// The server's device id, made on first use.
pub async fn server_device(db: &Db) -> anyhow::Result<DeviceId> {
    if let Some(row) = sqlx::query("SELECT value FROM server_meta WHERE name = 'device'")
        .fetch_optional(&db.pool)
        .await?
    {
        return Ok(DeviceId(Uuid::parse_str(&row.get::<String, _>(0))?));
    }
    let device = DeviceId(Uuid::new_v4());
    // Registered as the server's before it is used, so that no push can
    // ever take it (a new id is unknown to every phone anyway).
    crate::devices::register_server(db, &device.0.to_string(), 0).await?;
    sqlx::query(
        "INSERT INTO server_meta (name, value) VALUES ('device', $1) ON CONFLICT DO NOTHING",
    )
    .bind(device.0.to_string())
    .execute(&db.pool)
    .await?;
    // Another process may have won the race: read back what is stored.
    let row = sqlx::query("SELECT value FROM server_meta WHERE name = 'device'")
        .fetch_one(&db.pool)
        .await?;
    Ok(DeviceId(Uuid::parse_str(&row.get::<String, _>(0))?))
}

/// Logs and merges changes the server made (already numbered and stamped)
/// for records of `village`, inside `tx`. Takes the cursor lock first.
async fn log_server_changes(
    tx: &mut Transaction<'_, Any>,
    village: &str,
    changes: Vec<Change>,
    now_ms: u64,
) -> Result<Vec<u64>, ApiError> {
    let mut cursor = crate::sync::lock_cursor(tx).await?;
    let mut records = Records::load(tx, changes.iter().map(|c| c.record)).await?;
    let mut seqs = Vec::new();
    for change in changes {
        cursor += 1;
        let logged = ServerChange::intake(cursor, change, now_ms);
        records.replica.apply(logged.change.clone());
        records.touched.insert(logged.change.record);
        sqlx::query(
            "INSERT INTO changes (cursor, device, seq, village_id, record_kind, record_id, body, \
             clamped, received_ms, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL)",
        )
        .bind(cursor as i64)
        .bind(logged.change.device.0.to_string())
        .bind(logged.change.seq as i64)
        .bind(village)
        .bind(logged.change.record.kind.name())
        .bind(logged.change.record.id.to_string())
        .bind(serde_json::to_string(&logged.change)?)
        .bind(now_ms as i64)
        .execute(&mut **tx)
        .await?;
        seqs.push(logged.change.seq);
    }
    for record in &records.touched {
        if let Some(state) = records.replica.record(record) {
            store_state(tx, state, village).await?;
        }
    }
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'cursor'")
        .bind(cursor as i64)
        .execute(&mut **tx)
        .await?;
    Ok(seqs)
}

/// Takes `n` of the server's change numbers; returns the first.
async fn take_server_seqs(tx: &mut Transaction<'_, Any>, n: u64) -> Result<u64, ApiError> {
    let last: i64 = sqlx::query(
        "UPDATE counters SET value = value + $1 WHERE name = 'server_seq' RETURNING value",
    )
    .bind(n as i64)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    Ok(last as u64 - n + 1)
}

/// `village add`: a village and its village record (synced to the phones).
pub async fn add_village(db: &Db, name: &str, township: &str, now_ms: u64) -> anyhow::Result<Id> {
    let village = Village {
        id: Uuid::new_v4(),
        name: name.trim().to_string(),
        township: Some(township.trim().to_string()).filter(|t| !t.is_empty()),
        deleted: false,
    };
    if village.name.is_empty() {
        anyhow::bail!("the village needs a name");
    }
    // The limits every copy checks (a phone's backup import too).
    if let Some(problem) = fieldbook_core::limits::village_limits(&village).first() {
        anyhow::bail!("the village's {}: {}", problem.field, problem.en());
    }
    let device = server_device(db).await?;
    let mut tx = db.pool.begin().await?;
    sqlx::query("INSERT INTO villages (id, name, township, created_ms) VALUES ($1, $2, $3, $4)")
        .bind(village.id.to_string())
        .bind(&village.name)
        .bind(township.trim())
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
    let json = serde_json::to_value(&village)?;
    let count = changes_for_new_record(RecordKind::Village, &json, Hlc::ZERO, device, 1)?.len();
    let first = take_server_seqs(&mut tx, count as u64)
        .await
        .map_err(api_to_anyhow)?;
    let changes = changes_for_new_record(
        RecordKind::Village,
        &json,
        Hlc::new(now_ms, 0),
        device,
        first,
    )?;
    log_server_changes(&mut tx, &village.id.to_string(), changes, now_ms)
        .await
        .map_err(api_to_anyhow)?;
    tx.commit().await?;
    Ok(village.id)
}

/// Loads `dataset` (every record of one village, e.g. the demo village)
/// into the server as the server's own changes.
pub async fn load_dataset(
    db: &Db,
    village: &str,
    dataset: &Dataset,
    now_ms: u64,
) -> anyhow::Result<usize> {
    let device = server_device(db).await?;
    let count = changes_for_dataset(dataset, Hlc::ZERO, device, 1).len();
    let mut tx = db.pool.begin().await?;
    let first = take_server_seqs(&mut tx, count as u64)
        .await
        .map_err(api_to_anyhow)?;
    let changes = changes_for_dataset(dataset, Hlc::new(now_ms, 0), device, first);
    log_server_changes(&mut tx, village, changes, now_ms)
        .await
        .map_err(api_to_anyhow)?;
    tx.commit().await?;
    Ok(count)
}

fn api_to_anyhow(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Internal(e) => e,
        other => anyhow::anyhow!("{other:?}"),
    }
}

/// Settles a conflict: the server's change setting `field` of `record` to
/// `value`, superseding every value the field holds.
///
/// Settling chooses between values that met; it is not a way to edit. So
/// the value must be one the field's conflict holds (the current value or
/// an open conflict's), and it passes the checks a pushed change passes:
/// the core's field check ([`check_field`]) and, for a parent field, no
/// move to another village. Refused, nothing is stored.
pub async fn settle(
    db: &Db,
    user: &User,
    record: &RecordRef,
    field: &str,
    value: serde_json::Value,
    now_ms: u64,
) -> Result<PushResponse, ApiError> {
    check_field(record.kind, field, &value)
        .map_err(|refusal| ApiError::field("value", refusal.to_string()))?;
    let device = server_device(db).await?;
    let mut tx = db.pool.begin().await?;
    // The cursor lock first: nothing is read before this transaction holds
    // the write lock, so a push cannot slip in between the read and the write.
    crate::sync::lock_cursor(&mut tx).await?;
    let (village, state) = load_state(&mut tx, record)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such record".into()))?;
    if !user.can_read(&village) {
        return Err(ApiError::NotFound("no such record".into()));
    }
    let current = state
        .field(field)
        .ok_or_else(|| ApiError::field("field", "the record has no such field"))?;
    // Settling chooses between values that met; it is not a way to edit.
    if current.conflicts().is_empty() {
        return Err(ApiError::Conflict(
            "this field has no open conflict to settle".into(),
        ));
    }
    if let Some((parent_field, parent_kind)) = record.kind.parent()
        && parent_field == field
        && parent_village(&mut tx, parent_kind, &value)
            .await?
            .as_deref()
            != Some(&village)
    {
        return Err(ApiError::field(
            "value",
            "a record cannot move to another village",
        ));
    }
    let held = std::iter::once(current.winner())
        .chain(current.conflicts())
        .any(|c| c.value == value);
    if !held {
        return Err(ApiError::Conflict(
            "the value is not one this field's conflict holds: choose the current value or \
             one of the conflicting values"
                .into(),
        ));
    }
    let latest = current.changes().map(|c| c.ts).max().unwrap_or(Hlc::ZERO);
    let ts = Clock::resume(latest).tick(now_ms);
    let seq = take_server_seqs(&mut tx, 1).await?;
    let change = current.settle(value, ts, device, seq);
    log_server_changes(&mut tx, &village, vec![change], now_ms).await?;
    tx.commit().await?;
    Ok(PushResponse {
        accepted: vec![seq],
        rejected: Vec::new(),
        server_time_ms: now_ms,
    })
}

/// The village of the record of `kind` that a parent field's `value` names,
/// if the server holds it.
async fn parent_village(
    tx: &mut Transaction<'_, Any>,
    kind: RecordKind,
    value: &serde_json::Value,
) -> Result<Option<String>, ApiError> {
    let Some(id) = value.as_str().and_then(|s| Id::parse_str(s).ok()) else {
        return Ok(None);
    };
    Ok(load_state(tx, &RecordRef { kind, id })
        .await?
        .map(|(village, _)| village))
}

/// `user add`.
pub async fn add_user(
    db: &Db,
    username: &str,
    password: &str,
    role: Role,
    township: Option<&str>,
    villages: &[String],
    now_ms: u64,
) -> anyhow::Result<String> {
    let username = username.trim();
    if username.is_empty() || username.len() > 64 || username.chars().any(char::is_whitespace) {
        anyhow::bail!("a username is 1 to 64 characters without spaces");
    }
    check_new_password(password).map_err(anyhow::Error::msg)?;
    if role == Role::Officer && township.is_none_or(|t| t.trim().is_empty()) {
        anyhow::bail!("an officer needs --township");
    }
    if role == Role::Worker && villages.is_empty() {
        anyhow::bail!("a worker needs at least one --village");
    }
    let hash = hash_password(password)?;
    let id = Uuid::new_v4().to_string();
    let mut tx = db.pool.begin().await?;
    let taken = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        anyhow::bail!("the username {username} is taken");
    }
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, township, disabled, created_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(&id)
    .bind(username)
    .bind(&hash)
    .bind(role.name())
    .bind(township.map(str::trim))
    .bind(now_ms as i64)
    .execute(&mut *tx)
    .await?;
    for village in villages {
        let found = sqlx::query("SELECT id FROM villages WHERE id = $1 OR name = $1")
            .bind(village)
            .fetch_all(&mut *tx)
            .await?;
        let [row] = &found[..] else {
            anyhow::bail!(
                "--village {village}: {} villages have that id or name",
                found.len()
            );
        };
        sqlx::query("INSERT INTO user_villages (user_id, village_id) VALUES ($1, $2)")
            .bind(&id)
            .bind(row.get::<String, _>(0))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// `user reset-password`: a new password; every session of the user ends,
/// and she must choose her own password at the next sign-in.
pub async fn reset_password(db: &Db, username: &str, password: &str) -> anyhow::Result<()> {
    check_new_password(password).map_err(anyhow::Error::msg)?;
    let hash = hash_password(password)?;
    let mut tx = db.pool.begin().await?;
    let id = user_id(&mut tx, username).await?;
    // She chooses her own at the next sign-in: the administrator's is
    // known to someone else.
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 1 WHERE id = $2")
        .bind(&hash)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `user disable`: no more logins; every session ends.
pub async fn disable_user(db: &Db, username: &str) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    let id = user_id(&mut tx, username).await?;
    sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn user_id(tx: &mut Transaction<'_, Any>, username: &str) -> anyhow::Result<String> {
    sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| anyhow::anyhow!("no user {username}"))
}

/// `export`: everything, as one JSON document.
#[derive(Debug, Serialize)]
pub struct Export {
    /// Always `fieldbook-server-export`.
    pub format: &'static str,
    /// When, ms since the epoch.
    pub exported_ms: u64,
    /// Every village with its records built from their winning values.
    pub villages: Vec<VillageExport>,
    /// Every user (no password hashes).
    pub users: Vec<UserExport>,
    /// Every change in the log, in cursor order.
    pub changes: Vec<ServerChange>,
}

/// One village in an export.
#[derive(Debug, Serialize)]
pub struct VillageExport {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Township.
    pub township: String,
    /// Its records.
    pub dataset: Dataset,
    /// Its open conflicts.
    pub conflicts: Vec<fieldbook_core::sync::Conflict>,
}

/// One user in an export.
#[derive(Debug, Serialize)]
pub struct UserExport {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: String,
    /// An officer's township.
    pub township: Option<String>,
    /// Whether disabled.
    pub disabled: bool,
    /// A worker's villages.
    pub villages: Vec<String>,
}

/// Everything the server holds.
pub async fn export(db: &Db, now_ms: u64) -> anyhow::Result<Export> {
    let mut villages = Vec::new();
    for row in sqlx::query("SELECT id, name, township FROM villages ORDER BY name, id")
        .fetch_all(&db.pool)
        .await?
    {
        let id: String = row.get("id");
        let states = crate::sync::village_records(db, &id)
            .await
            .map_err(api_to_anyhow)?;
        let replica = Replica::from_records(states.into_values());
        villages.push(VillageExport {
            dataset: replica.materialize().dataset,
            conflicts: replica.conflicts(),
            id,
            name: row.get("name"),
            township: row.get("township"),
        });
    }
    let mut users = Vec::new();
    for row in
        sqlx::query("SELECT id, username, role, township, disabled FROM users ORDER BY username")
            .fetch_all(&db.pool)
            .await?
    {
        let id: String = row.get("id");
        let villages = sqlx::query(
            "SELECT village_id FROM user_villages WHERE user_id = $1 ORDER BY village_id",
        )
        .bind(&id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        users.push(UserExport {
            username: row.get("username"),
            role: row.get("role"),
            township: row.get("township"),
            disabled: row.get::<i64, _>("disabled") != 0,
            villages,
        });
    }
    let mut changes = Vec::new();
    for row in sqlx::query("SELECT cursor, body, clamped FROM changes ORDER BY cursor")
        .fetch_all(&db.pool)
        .await?
    {
        changes.push(ServerChange {
            cursor: row.get::<i64, _>("cursor") as u64,
            change: serde_json::from_str(&row.get::<String, _>("body"))?,
            clamped: row.get::<i64, _>("clamped") != 0,
        });
    }
    Ok(Export {
        format: "fieldbook-server-export",
        exported_ms: now_ms,
        villages,
        users,
        changes,
    })
}

/// A village as `village list` prints it.
#[derive(Debug, Serialize)]
pub struct VillageRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Township.
    pub township: String,
}

/// Every village, by name.
pub async fn list_villages(db: &Db) -> anyhow::Result<Vec<VillageRow>> {
    Ok(
        sqlx::query("SELECT id, name, township FROM villages ORDER BY name, id")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| VillageRow {
                id: r.get("id"),
                name: r.get("name"),
                township: r.get("township"),
            })
            .collect(),
    )
}

/// The demo worker's login name.
pub const DEMO_USERNAME: &str = "demo";
/// The demo worker's password: printed at every start, for a demo only.
pub const DEMO_PASSWORD: &str = "fieldbook-demo";

/// What [`seed_demo`] made.
#[derive(Debug)]
pub struct DemoVillage {
    /// The village's name.
    pub village: String,
    /// How many households it has.
    pub households: usize,
}

/// On a server with no village yet: the core's `village`-size synthetic
/// village (seed 1) as the server's own changes, and the worker
/// [`DEMO_USERNAME`] for it. `None` when the server already has villages.
pub async fn seed_demo(
    db: &Db,
    today: chrono::NaiveDate,
    now_ms: u64,
) -> anyhow::Result<Option<DemoVillage>> {
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM villages")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    if existing > 0 {
        return Ok(None);
    }
    let data =
        fieldbook_core::generate::generate(1, fieldbook_core::generate::Size::Village, today);
    let village = data
        .villages
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the generator made no village"))?;
    sqlx::query("INSERT INTO villages (id, name, township, created_ms) VALUES ($1, $2, $3, $4)")
        .bind(village.id.to_string())
        .bind(&village.name)
        .bind(village.township.clone().unwrap_or_default())
        .bind(now_ms as i64)
        .execute(&db.pool)
        .await?;
    load_dataset(db, &village.id.to_string(), &data, now_ms).await?;
    add_user(
        db,
        DEMO_USERNAME,
        DEMO_PASSWORD,
        Role::Worker,
        None,
        &[village.id.to_string()],
        now_ms,
    )
    .await?;
    Ok(Some(DemoVillage {
        village: village.name,
        households: data.households.len(),
    }))
}

/// Loads the core's synthetic data of `size` (one village or a township of
/// 50) as the server's own changes, village by village. Returns (villages,
/// changes).
pub async fn load_generated(
    db: &Db,
    seed: u64,
    size: fieldbook_core::generate::Size,
    today: chrono::NaiveDate,
    now_ms: u64,
) -> anyhow::Result<(usize, usize)> {
    let data = fieldbook_core::generate::generate(seed, size, today);
    let mut changes = 0;
    for village in &data.villages {
        let part = village_part(&data, village.id);
        sqlx::query(
            "INSERT INTO villages (id, name, township, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(village.id.to_string())
        .bind(&village.name)
        .bind(village.township.clone().unwrap_or_default())
        .bind(now_ms as i64)
        .execute(&db.pool)
        .await?;
        changes += load_dataset(db, &village.id.to_string(), &part, now_ms).await?;
    }
    Ok((data.villages.len(), changes))
}

/// The records of one village of a dataset.
fn village_part(data: &Dataset, village: Id) -> Dataset {
    use std::collections::HashSet;
    let households: HashSet<Id> = data
        .households
        .iter()
        .filter(|h| h.village_id == village)
        .map(|h| h.id)
        .collect();
    let plans: HashSet<Id> = data
        .plans
        .iter()
        .filter(|p| p.village_id == village)
        .map(|p| p.id)
        .collect();
    Dataset {
        villages: data
            .villages
            .iter()
            .filter(|v| v.id == village)
            .cloned()
            .collect(),
        households: data
            .households
            .iter()
            .filter(|h| households.contains(&h.id))
            .cloned()
            .collect(),
        persons: data
            .persons
            .iter()
            .filter(|p| households.contains(&p.household_id))
            .cloned()
            .collect(),
        visits: data
            .visits
            .iter()
            .filter(|v| households.contains(&v.household_id))
            .cloned()
            .collect(),
        plans: data
            .plans
            .iter()
            .filter(|p| plans.contains(&p.id))
            .cloned()
            .collect(),
        ticks: data
            .ticks
            .iter()
            .filter(|t| plans.contains(&t.plan_id))
            .cloned()
            .collect(),
        ..Dataset::new()
    }
}

//! Backup and restore, and what brings a restored server up to date.
//!
//! `backup` copies the database while the server runs (SQLite's
//! `VACUUM INTO`, one read transaction: a consistent copy; `pg_dump` for
//! PostgreSQL). `restore` puts a copy back in place of the database of a
//! stopped server — refusing the data folder of a running one, which holds
//! its lock file ([`DataFolderLock`]) — keeps the old database aside and
//! renews the database's identity ([`renew_identity`]).
//!
//! A restored server is older than the phones: what it acknowledged after
//! the backup is gone from it, while the phones dropped those changes from
//! their outboxes. They still hold them in their merge states. The database
//! carries an identity (a UUID in `server_meta`, made on first start); a
//! restore renews it and records the change log's head the backup had, so
//! a phone that sees a new identity sends every change it holds to
//! [`replay`] and pulls again from at most that head
//! (`fieldbook_core::replay`). The restore also gives the server a new
//! device id: its own change numbers (`server_seq`) went back with the
//! database, and the numbers it used after the backup are still on the
//! phones under the old id.
//!
//! # The replay route
//! Replayed changes carry other devices' ids (co-workers', the old server
//! device), so they cannot go through a push, which takes only the user's
//! own device. The replay route takes changes of any device, but only
//! while the server is in its replay window after a restore (30 days by
//! default, set at the restore), only for records of villages the worker
//! may write, and each change checked exactly as a push checks it: it goes
//! through the push's own code ([`sync::apply_push`], as [`Intake::Replay`]).
//! A change held already (same device, number and content) is accepted and
//! applied nothing. Changes under the server's current device id are
//! refused: only the server numbers those.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fieldbook_core::replay::{
    DatabaseIdentity, ReplayRejection, ReplayRequest, ReplayResponse, replay_order,
};
use fieldbook_core::sync::{ChangeId, DeviceId, PushRequest, SNAPSHOT_DEVICE};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::auth::User;
use crate::db::{Backend, Db, sqlite_url};
use crate::error::ApiError;
use crate::sync::{self, Intake, MAX_PUSH_CHANGES};

/// How long a restored server takes replayed changes, by default: 30 days.
pub const DEFAULT_REPLAY_DAYS: u64 = 30;
/// A day in milliseconds.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// The SQLite database's file name in the data folder.
pub const DB_FILE: &str = "fieldbook.db";
/// The lock file a serving process holds in its data folder.
pub const LOCK_FILE: &str = "fieldbook.lock";

/// The database's identity, made on first use.
pub async fn identity(db: &Db, now_ms: u64) -> Result<DatabaseIdentity, ApiError> {
    let made = sqlx::query("SELECT value FROM server_meta WHERE name = 'database_id'")
        .fetch_optional(&db.pool)
        .await?
        .is_some();
    // Made once (every sync reads it: no write then); a second caller
    // (another process) finds the first's.
    if !made {
        for (name, value) in [
            ("database_id", Uuid::new_v4().to_string()),
            ("restored_cursor", "0".to_string()),
        ] {
            sqlx::query(
                "INSERT INTO server_meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(name)
            .bind(value)
            .execute(&db.pool)
            .await?;
        }
    }
    let rows = sqlx::query(
        "SELECT name, value FROM server_meta \
         WHERE name IN ('database_id', 'restored_cursor', 'replay_until_ms')",
    )
    .fetch_all(&db.pool)
    .await?;
    let value = |name: &str| {
        rows.iter()
            .find(|r| r.get::<String, _>("name") == name)
            .map(|r| r.get::<String, _>("value"))
    };
    let bad = |what: &str| ApiError::Internal(anyhow::anyhow!("server_meta holds a bad {what}"));
    Ok(DatabaseIdentity {
        database: value("database_id")
            .and_then(|v| Uuid::parse_str(&v).ok())
            .ok_or_else(|| bad("database_id"))?,
        restored_cursor: value("restored_cursor")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("restored_cursor"))?,
        replay_until_ms: match value("replay_until_ms") {
            None => None,
            Some(v) => Some(v.parse().map_err(|_| bad("replay_until_ms"))?),
        },
        server_time_ms: now_ms,
    })
}

/// What [`renew_identity`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewed {
    /// The database's new identity.
    pub identity: DatabaseIdentity,
    /// The server's new device id.
    pub device: DeviceId,
}

async fn set_meta(tx: &mut Transaction<'_, Any>, name: &str, value: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO server_meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// After a restore: a new identity for the database, recording the change
/// log's head it has now; a replay window of `replay_days` from now; and a
/// new device id for the server's own changes, registered as the server's.
/// Run with the server stopped.
pub async fn renew_identity(db: &Db, now_ms: u64, replay_days: u64) -> anyhow::Result<Renewed> {
    let mut tx = db.pool.begin().await?;
    // The cursor's lock first, as every writer of the log takes it.
    let head = sync::lock_cursor(&mut tx).await?;
    let database = Uuid::new_v4();
    let device = DeviceId(Uuid::new_v4());
    let until = now_ms.saturating_add(replay_days.saturating_mul(DAY_MS));
    set_meta(&mut tx, "database_id", &database.to_string()).await?;
    set_meta(&mut tx, "restored_cursor", &head.to_string()).await?;
    set_meta(&mut tx, "restored_ms", &now_ms.to_string()).await?;
    set_meta(&mut tx, "replay_until_ms", &until.to_string()).await?;
    set_meta(&mut tx, "device", &device.0.to_string()).await?;
    // The new id is the server's before anything uses it, so that no push
    // can ever take it; the old one stays the server's too.
    sqlx::query(
        "INSERT INTO devices (device_id, user_id, kind, first_seen_ms, last_seen_ms, revoked) \
         VALUES ($1, NULL, $2, $3, $3, 0) ON CONFLICT (device_id) DO NOTHING",
    )
    .bind(device.0.to_string())
    .bind(crate::devices::KIND_SERVER)
    .bind(now_ms as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Renewed {
        identity: DatabaseIdentity {
            database,
            restored_cursor: head as u64,
            replay_until_ms: Some(until),
            server_time_ms: now_ms,
        },
        device,
    })
}

/// Takes back changes a phone held (see the module's documentation), for
/// `user`, a worker. 409 outside the replay window; 403 (nothing changed)
/// when a change is for a record of a village she cannot write.
pub async fn replay(
    db: &Db,
    lock: &tokio::sync::Mutex<()>,
    user: &User,
    request: ReplayRequest,
    now_ms: u64,
) -> Result<ReplayResponse, ApiError> {
    if request.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::field(
            "changes",
            format!("at most {MAX_PUSH_CHANGES} changes per replay; send the rest in another"),
        ));
    }
    match identity(db, now_ms).await?.replay_until_ms {
        None => {
            return Err(ApiError::Conflict(
                "this server was never restored from a backup: there is nothing to replay".into(),
            ));
        }
        Some(until) if now_ms >= until => {
            return Err(ApiError::Conflict(format!(
                "the replay window after the restore closed at {}: changes are no longer \
                 taken back; sync as usual",
                chrono::DateTime::from_timestamp_millis(until as i64)
                    .map_or_else(|| until.to_string(), |t| t.to_rfc3339())
            )));
        }
        Some(_) => {}
    }
    let server = crate::admin::server_device(db).await?;
    let mut changes = request.changes;
    replay_order(&mut changes);

    let mut rejected = Vec::new();
    // Consecutive changes of one device, as one push each.
    let mut runs: Vec<(DeviceId, Vec<fieldbook_core::sync::Change>)> = Vec::new();
    for change in changes {
        if change.device == server || change.device == SNAPSHOT_DEVICE {
            rejected.push(ReplayRejection {
                change: change.id(),
                reason: "changes under the server's current device id are the server's own: \
                         never replayed"
                    .into(),
            });
            continue;
        }
        match runs.last_mut() {
            Some((device, run)) if *device == change.device => run.push(change),
            _ => runs.push((change.device, vec![change])),
        }
    }

    let _guard = lock.lock().await;
    let mut tx = db.pool.begin().await?;
    let mut cursor = sync::lock_cursor(&mut tx).await?;
    let mut accepted = BTreeSet::new();
    let mut applied = 0;
    for (device, run) in runs {
        let before = cursor;
        let answer = sync::apply_push(
            &mut tx,
            user,
            PushRequest {
                device,
                changes: run,
            },
            now_ms,
            &mut cursor,
            Intake::Replay,
        )
        .await?;
        applied += cursor - before;
        accepted.extend(answer.accepted.iter().map(|&seq| ChangeId { device, seq }));
        rejected.extend(answer.rejected.into_iter().map(|r| ReplayRejection {
            change: ChangeId { device, seq: r.seq },
            reason: r.reason,
        }));
    }
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'cursor'")
        .bind(cursor as i64)
        .execute(&mut *tx)
        .await?;
    // Who sent back how many changes of which devices: ids and counts only.
    let devices: BTreeSet<String> = accepted.iter().map(|c| c.device.0.to_string()).collect();
    crate::audit::record(
        &mut *tx,
        crate::audit::Event::new("replay", now_ms)
            .user(user.id.clone())
            .detail(format!(
                "accepted={} applied={applied} rejected={} devices={}",
                accepted.len(),
                rejected.len(),
                devices.into_iter().collect::<Vec<_>>().join(",")
            )),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        username = user.username,
        accepted = accepted.len(),
        applied,
        rejected = rejected.len(),
        "replay after a restore"
    );
    rejected.sort_by_key(|r| r.change);
    Ok(ReplayResponse {
        accepted: accepted.into_iter().collect(),
        rejected,
        server_time_ms: now_ms,
    })
}

/// The lock a serving process holds on its data folder, for as long as it
/// runs: `restore` refuses a folder whose lock is held. The operating
/// system releases it when the process ends, however it ends, so a crash
/// leaves no stale lock behind.
#[derive(Debug)]
pub struct DataFolderLock {
    _file: File,
}

impl DataFolderLock {
    /// Takes the lock of `dir` (made if missing); `Err` when another
    /// process holds it.
    pub fn take(dir: &Path) -> anyhow::Result<DataFolderLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the folder {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataFolderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "a Fieldbook server is running on the data folder {} (it holds {}): stop it first",
                dir.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

/// Restricts a file to its owner (backups and databases hold people's
/// records).
fn owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    let _ = path;
    Ok(())
}

/// What `backup` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backup {
    /// The copy was written.
    Written(PathBuf),
    /// PostgreSQL without `pg_dump` here: the command to run.
    Command(String),
}

/// The `pg_dump` command line for a backup into `out`, naming the database
/// URL by its environment variable (never printing its password).
pub fn pg_dump_command(out: &Path) -> String {
    format!(
        "pg_dump --format=custom --file='{}' --dbname=\"$FIELDBOOK_DATABASE_URL\"",
        out.display()
    )
}

/// The commands that restore a `pg_dump` file, then renew the identity.
pub fn pg_restore_commands(file: &Path) -> String {
    format!(
        "pg_restore --clean --if-exists --no-owner --single-transaction \
         --dbname=\"$FIELDBOOK_DATABASE_URL\" '{}'\n\
         fieldbook-server renew-identity",
        file.display()
    )
}

/// `backup --out FILE`: a consistent copy of the running server's database.
/// SQLite: `VACUUM INTO` (a new file, owner-only). PostgreSQL: `pg_dump`
/// when it is installed here, otherwise the command to run.
pub async fn backup(db: &Db, url: &str, out: &Path) -> anyhow::Result<Backup> {
    if out.exists() {
        bail!(
            "{} exists already: choose a new file for each backup",
            out.display()
        );
    }
    match db.backend {
        Backend::Sqlite => {
            let text = out
                .to_str()
                .context("the backup's path is not valid UTF-8")?
                .to_string();
            sqlx::query("VACUUM INTO $1")
                .bind(text)
                .execute(&db.pool)
                .await
                .with_context(|| format!("cannot write the backup {}", out.display()))?;
            owner_only(out)?;
            Ok(Backup::Written(out.to_path_buf()))
        }
        Backend::Postgres => {
            let run = std::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg(format!("--file={}", out.display()))
                .arg(format!("--dbname={url}"))
                .status();
            match run {
                Ok(status) if status.success() => {
                    owner_only(out)?;
                    Ok(Backup::Written(out.to_path_buf()))
                }
                Ok(status) => bail!("pg_dump failed ({status})"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(Backup::Command(pg_dump_command(out)))
                }
                Err(e) => Err(e).context("cannot run pg_dump"),
            }
        }
    }
}

/// What `restore` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The database's new identity and the server's new device.
    pub renewed: Renewed,
    /// Where the database that was in place went (`None` when there was
    /// none).
    pub kept: Option<PathBuf>,
}

/// The SQLite file's first bytes.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// `restore FILE` (SQLite): puts the backup `file` in place of the data
/// folder's database, keeping the old one aside as
/// `fieldbook.db.before-restore-<time>` (with its write-ahead log), and
/// renews the identity. Refuses while a server runs on the folder, and
/// holds the folder's lock throughout so that none starts meanwhile.
/// The backup is checked (an SQLite file, intact, a Fieldbook database,
/// its schema brought up to date) before anything in place is touched.
pub async fn restore_sqlite(
    data_dir: &Path,
    file: &Path,
    now_ms: u64,
    replay_days: u64,
) -> anyhow::Result<Restored> {
    let _lock = DataFolderLock::take(data_dir)?;
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        let mut f = File::open(file)
            .with_context(|| format!("cannot read the backup {}", file.display()))?;
        f.read_exact(&mut header)
            .ok()
            .filter(|()| header == SQLITE_HEADER)
            .with_context(|| format!("{} is not an SQLite database", file.display()))?;
    }
    let target = data_dir.join(DB_FILE);
    let staging = data_dir.join(format!("{DB_FILE}.restoring"));
    for leftover in sidecars(&staging) {
        let _ = std::fs::remove_file(leftover);
    }
    std::fs::copy(file, &staging)
        .with_context(|| format!("cannot copy {} to {}", file.display(), staging.display()))?;
    owner_only(&staging)?;

    let renewed = async {
        let db = Db::connect(&sqlite_url(&staging)).await?;
        let check: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&db.pool)
            .await?
            .get(0);
        if check != "ok" {
            bail!("the backup is damaged: {check}");
        }
        let renewed = renew_identity(&db, now_ms, replay_days).await?;
        // Everything into the file itself, so that it moves alone.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&db.pool)
            .await?;
        db.pool.close().await;
        Ok(renewed)
    }
    .await
    .with_context(|| format!("{} cannot be restored", file.display()));
    let renewed = match renewed {
        Ok(renewed) => renewed,
        Err(e) => {
            for path in sidecars(&staging) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };

    let kept = if target.exists() {
        let stamp = chrono::DateTime::from_timestamp_millis(now_ms as i64)
            .unwrap_or_default()
            .format("%Y%m%dT%H%M%SZ");
        let aside = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}"));
        for (from, to) in sidecars(&target).into_iter().zip(sidecars(&aside)) {
            if from.exists() {
                std::fs::rename(&from, &to).with_context(|| {
                    format!("cannot move {} to {}", from.display(), to.display())
                })?;
            }
        }
        Some(aside)
    } else {
        None
    };
    // The checkpoint put everything into the file itself, so it moves
    // alone. Its write-ahead log and shared memory, empty, may still be
    // going away with the closing connection (SQLite deletes them as the
    // last one closes): never moved, removed if still there.
    std::fs::rename(&staging, &target)
        .with_context(|| format!("cannot move {} to {}", staging.display(), target.display()))?;
    for leftover in sidecars(&staging).into_iter().skip(1) {
        let _ = std::fs::remove_file(leftover);
    }
    Ok(Restored { renewed, kept })
}

/// A database file and its write-ahead log and shared-memory files.
fn sidecars(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// `GET /api/v1/sync/identity`: the database's identity, for any signed-in
/// user.
pub(crate) async fn identity_route(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    _session: crate::auth::Session,
) -> Result<axum::Json<DatabaseIdentity>, ApiError> {
    Ok(axum::Json(identity(&state.db, state.now_ms()).await?))
}

/// `POST /api/v1/sync/replay`: a worker's phone sends again what it holds.
pub(crate) async fn replay_route(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    session: crate::auth::Session,
    crate::json::ApiJson(request): crate::json::ApiJson<ReplayRequest>,
) -> Result<axum::Json<ReplayResponse>, ApiError> {
    if session.user.role != crate::auth::Role::Worker {
        return Err(ApiError::Forbidden(
            "only a village worker's account replays records".into(),
        ));
    }
    let answer = replay(
        &state.db,
        &state.push_lock,
        &session.user,
        request,
        state.now_ms(),
    )
    .await?;
    Ok(axum::Json(answer))
}

//! Devices belong to users. A change's identity is its device and number,
//! so a device id is a capability: whoever may push under it may forge who
//! made a change, or take numbers another device (or the server) will need.
//! The server therefore binds each device id to the user who first pushes
//! with it (or first asks for its lock's recovery secret), keeps its own
//! device as kind `server` with no user, and refuses with 403 — changing
//! nothing — a push whose device, or any change's device, belongs to
//! another user, to the server, or was revoked by the administrator.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::auth::User;
use crate::db::Db;
use crate::error::ApiError;

/// What a device is.
pub const KIND_PHONE: &str = "phone";
/// The server's own device (its settles, villages, loaded data).
pub const KIND_SERVER: &str = "server";

/// Why a device may not be used by a user, as the 403's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server's own device id.
    Server,
    /// Bound to another user.
    OtherUser,
    /// Revoked by the administrator.
    Revoked,
}

impl Refusal {
    /// The reason, in English, for the API's answer.
    pub fn reason(self, device: &str) -> String {
        match self {
            Refusal::Server => {
                format!("device {device} is the server's own: a phone cannot push under it")
            }
            Refusal::OtherUser => format!(
                "device {device} belongs to another user's account: changes made on another \
                 worker's phone are sent by that worker"
            ),
            Refusal::Revoked => format!(
                "device {device} was revoked by the administrator: this phone can no longer \
                 sync; ask the township office"
            ),
        }
    }
}

/// Whether `user` may use `device`, binding a device new to the server to
/// `user` (inside `tx`, so a refused push binds nothing). Notes when the
/// device was last seen.
pub async fn claim(
    tx: &mut Transaction<'_, Any>,
    user: &User,
    device: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    match check(tx, user, device).await? {
        Some(refusal) => Err(ApiError::Forbidden(refusal.reason(device))),
        None => {
            sqlx::query(
                "INSERT INTO devices (device_id, user_id, kind, first_seen_ms, last_seen_ms, \
                 revoked) VALUES ($1, $2, $3, $4, $4, 0) \
                 ON CONFLICT (device_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
            )
            .bind(device)
            .bind(&user.id)
            .bind(KIND_PHONE)
            .bind(now_ms as i64)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    }
}

/// Why `user` may not use `device`, or `None` when it is hers or new.
pub async fn check(
    tx: &mut Transaction<'_, Any>,
    user: &User,
    device: &str,
) -> Result<Option<Refusal>, ApiError> {
    let row = sqlx::query("SELECT user_id, kind, revoked FROM devices WHERE device_id = $1")
        .bind(device)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(if row.get::<String, _>("kind") == KIND_SERVER {
        Some(Refusal::Server)
    } else if row.get::<Option<String>, _>("user_id").as_deref() != Some(user.id.as_str()) {
        Some(Refusal::OtherUser)
    } else if row.get::<i64, _>("revoked") != 0 {
        Some(Refusal::Revoked)
    } else {
        None
    })
}

/// Registers `device` as the server's own (a new server device id).
pub async fn register_server(db: &Db, device: &str, now_ms: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO devices (device_id, user_id, kind, first_seen_ms, last_seen_ms, revoked) \
         VALUES ($1, NULL, $2, $3, $3, 0) ON CONFLICT (device_id) DO NOTHING",
    )
    .bind(device)
    .bind(KIND_SERVER)
    .bind(now_ms as i64)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// One device as `device list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    /// The device id.
    pub device: String,
    /// Its user's login name (`None` for the server's own).
    pub username: Option<String>,
    /// `phone` or `server`.
    pub kind: String,
    /// First and last push (or recovery-secret request), ms since the epoch.
    pub first_seen_ms: i64,
    /// See `first_seen_ms`.
    pub last_seen_ms: i64,
    /// Revoked by the administrator.
    pub revoked: bool,
}

/// Every device, or those of `username`, most recently seen first.
pub async fn list(db: &Db, username: Option<&str>) -> anyhow::Result<Vec<DeviceRow>> {
    let rows = sqlx::query(
        "SELECT d.device_id, u.username, d.kind, d.first_seen_ms, d.last_seen_ms, d.revoked \
         FROM devices d LEFT JOIN users u ON u.id = d.user_id \
         WHERE $1 = '' OR u.username = $1 ORDER BY d.last_seen_ms DESC, d.device_id",
    )
    .bind(username.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| DeviceRow {
            device: r.get("device_id"),
            username: r.get("username"),
            kind: r.get("kind"),
            first_seen_ms: r.get("first_seen_ms"),
            last_seen_ms: r.get("last_seen_ms"),
            revoked: r.get::<i64, _>("revoked") != 0,
        })
        .collect())
}

/// `device revoke`: the phone can no longer push or fetch its lock's
/// recovery secret. Its user's sessions are not ended (a session is not
/// tied to a phone): reset her password too when the phone is lost.
pub async fn revoke(db: &Db, device: &str) -> anyhow::Result<()> {
    let done = sqlx::query("UPDATE devices SET revoked = 1 WHERE device_id = $1 AND kind = $2")
        .bind(device)
        .bind(KIND_PHONE)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        anyhow::bail!("no phone with the device id {device} (`device list` shows them)");
    }
    Ok(())
}

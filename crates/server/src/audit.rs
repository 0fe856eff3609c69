//! The audit log: who signed in or was refused, and what administrators
//! and officers did — sign-ins and failed sign-ins with the address,
//! requests answered 401, 403 or 429 (with the route and the reason),
//! settled conflicts, device keys handed out, password changes and resets,
//! every admin command, exports.
//!
//! Architecture invariant: the log holds ids, never personal data. A user
//! is her id, a record its kind and id, a device its id; no names, no
//! record values, and never text a person typed (a failed sign-in with an
//! unknown username stores no username: it may be a password typed into
//! the wrong box). Rows are only ever inserted; [`prune`] deletes those
//! older than the configured age (default 400 days).
//!
//! To log a new kind of event, call [`record`] with the pool or inside the
//! transaction that does the thing:
//!
//! ```ignore
//! audit::record(&db.pool, Event::new("device_revoked", now_ms).user(&user.id).detail(format!("device={device}"))).await?;
//! audit::record(&mut *tx, Event::new("backup", now_ms).detail("to file")).await?;
//! ```

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use sqlx::{Any, Executor, Row};

use crate::AppState;
use crate::error::ErrorReason;

/// How long entries are kept by default: 400 days.
pub const DEFAULT_MAX_AGE_DAYS: u64 = 400;

/// One security event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// What happened, in snake case: `login`, `login_failed`, `refused`,
    /// `settle`, `device_key`, `password_changed`, `password_reset`,
    /// `village_add`, `user_add`, `user_disable`, `load_demo`, `export`, …
    pub kind: Cow<'static, str>,
    /// When, ms since the epoch (the server's clock).
    pub at_ms: u64,
    /// The user it concerns or who did it (an id).
    pub user_id: Option<String>,
    /// The client's address, for requests.
    pub address: Option<String>,
    /// The API route, for requests (the path only, no query).
    pub route: Option<String>,
    /// The answer's status, for requests.
    pub status: Option<u16>,
    /// More, as `key=value` words of ids and counts (never names or
    /// values), or a refusal's reason.
    pub detail: String,
}

impl Event {
    /// An event of `kind` at `at_ms`.
    pub fn new(kind: &'static str, at_ms: u64) -> Event {
        Event {
            kind: Cow::Borrowed(kind),
            at_ms,
            ..Event::default()
        }
    }

    /// Who did it or whom it concerns.
    pub fn user(mut self, user_id: impl Into<String>) -> Event {
        self.user_id = Some(user_id.into());
        self
    }

    /// The client's address (`None`: unknown).
    pub fn address(mut self, address: Option<std::net::IpAddr>) -> Event {
        self.address = address.map(|a| a.to_string());
        self
    }

    /// The route and the status of the answer.
    pub fn request(mut self, route: &str, status: u16) -> Event {
        self.route = Some(route.chars().take(120).collect());
        self.status = Some(status);
        self
    }

    /// Ids and counts, or a reason.
    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = detail.into();
        self
    }
}

/// Appends `event` to the log, through `executor`: `&db.pool`, or
/// `&mut *tx` to log inside the transaction that does the thing.
pub async fn record<'e, E>(executor: E, event: Event) -> Result<(), sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    executor
        .execute(
            sqlx::query(
                "INSERT INTO audit_log (id, at_ms, event, user_id, address, route, status, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(event.at_ms as i64)
            .bind(event.kind.into_owned())
            .bind(event.user_id)
            .bind(event.address)
            .bind(event.route)
            .bind(event.status.map(i64::from))
            .bind(event.detail),
        )
        .await?;
    Ok(())
}

/// Like [`record`] on the pool, but a failure is only logged: for events
/// that must not turn an answer into a 500.
pub async fn record_or_log(db: &crate::Db, event: Event) {
    let kind = event.kind.clone();
    if let Err(error) = record(&db.pool, event).await {
        tracing::error!(error = format!("{error:#}"), kind = %kind, "cannot write the audit log");
    }
}

/// Deletes the entries older than `max_age_ms`; returns how many.
pub async fn prune(db: &crate::Db, now_ms: u64, max_age_ms: u64) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms.saturating_sub(max_age_ms) as i64;
    let done = sqlx::query("DELETE FROM audit_log WHERE at_ms < $1")
        .bind(cutoff)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// The entries at or after `since_ms`, of `user_id` if given, oldest first.
pub async fn list(
    db: &crate::Db,
    since_ms: u64,
    user_id: Option<&str>,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at_ms, event, user_id, address, route, status, detail FROM audit_log \
         WHERE at_ms >= $1 AND ($2 = '' OR user_id = $2) ORDER BY at_ms, id",
    )
    .bind(since_ms as i64)
    .bind(user_id.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Event {
            kind: Cow::Owned(row.get::<String, _>("event")),
            at_ms: row.get::<i64, _>("at_ms") as u64,
            user_id: row.get("user_id"),
            address: row.get("address"),
            route: row.get("route"),
            status: row.get::<Option<i64>, _>("status").map(|s| s as u16),
            detail: row.get("detail"),
        })
        .collect())
}

/// One line of `fieldbook-server audit`: the UTC time, the event, then the
/// user (`username` as it is now, for the reader; the log holds the id),
/// address, route, status and detail that are present.
pub fn format_line(event: &Event, username: Option<&str>) -> String {
    let time = chrono::DateTime::from_timestamp_millis(event.at_ms as i64).map_or_else(
        || event.at_ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    let mut line = format!("{time} {}", event.kind);
    if let Some(id) = &event.user_id {
        match username {
            Some(name) => line.push_str(&format!(" user={name}({id})")),
            None => line.push_str(&format!(" user={id}")),
        }
    }
    if let Some(address) = &event.address {
        line.push_str(&format!(" address={address}"));
    }
    if let Some(route) = &event.route {
        line.push_str(&format!(" route={route}"));
    }
    if let Some(status) = event.status {
        line.push_str(&format!(" status={status}"));
    }
    if !event.detail.is_empty() {
        line.push_str(&format!(" {}", event.detail));
    }
    line
}

/// What a request's handlers tell the audit middleware: the signed-in user
/// (set by the session extractor) and whether a handler already logged
/// this request's refusal itself (a failed sign-in).
#[derive(Clone, Debug, Default)]
pub struct AuditNote(Arc<Mutex<NoteInner>>);

#[derive(Debug, Default)]
struct NoteInner {
    user_id: Option<String>,
    recorded: bool,
}

impl AuditNote {
    /// The request is `user_id`'s.
    pub fn set_user(&self, user_id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).user_id = Some(user_id.to_string());
    }

    /// A handler logged this request's outcome itself.
    pub fn set_recorded(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).recorded = true;
    }
}

/// Middleware on the API router: every answer 401, 403 or 429 is logged
/// as `refused`, with the route, the status, the reason the caller was
/// given, the address and (when signed in) the user.
pub async fn log_refusals(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let note = AuditNote::default();
    request.extensions_mut().insert(note.clone());
    let route = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(
            || request.uri().path().to_string(),
            |u| u.0.path().to_string(),
        );
    let address = crate::api::client_address_of(request.headers(), request.extensions(), &state);
    let response = next.run(request).await;
    let status = response.status();
    if matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    ) {
        let (user_id, recorded) = {
            let inner = note.0.lock().unwrap_or_else(|p| p.into_inner());
            (inner.user_id.clone(), inner.recorded)
        };
        if !recorded {
            let reason = response
                .extensions()
                .get::<ErrorReason>()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            let mut event = Event::new("refused", state.now_ms())
                .address(address)
                .request(&route, status.as_u16())
                .detail(reason);
            event.user_id = user_id;
            record_or_log(&state.db, event).await;
        }
    }
    response
}

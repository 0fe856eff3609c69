//! `/api/v1`: the JSON API the phones and the township page speak. Every
//! route but login checks the session; every record is checked against the
//! user's villages. The messages are the core's (`fieldbook_core::api`,
//! `fieldbook_core::sync`); `docs/API.md` is the whole contract.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldbook_core::api::{
    ConflictList, DeviceKeyRequest, DeviceKeyResponse, LoginRequest, LoginResponse,
    PasswordChangeRequest, SettleRequest, UserView, VillageView, WhoAmI,
};
use fieldbook_core::sync::{PullRequest, PushRequest, PushResponse, SnapshotRequest};
use serde::Deserialize;
use sqlx::Row;

use crate::AppState;
use crate::audit::{self, AuditNote, Event};
use crate::auth::{
    LoginLimiter, PasswordChangeSession, Role, Session, User, check_new_password, dummy_hash,
    hash_password, limiter_keys, new_token, token_hash, verify_password,
};
use crate::error::ApiError;
use crate::json::{ApiJson, ApiQuery};
use crate::sync as server_sync;

/// The API's routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/login",
            post(login).layer(axum::extract::DefaultBodyLimit::max(MAX_LOGIN_BODY_BYTES)),
        )
        .route("/logout", post(logout))
        .route(
            "/password",
            post(change_password).layer(axum::extract::DefaultBodyLimit::max(MAX_LOGIN_BODY_BYTES)),
        )
        .route("/whoami", get(whoami))
        .route("/device-key", post(device_key))
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/sync/snapshot", post(snapshot))
        .route("/sync/identity", get(crate::restore::identity_route))
        .route("/sync/replay", post(crate::restore::replay_route))
        .route("/conflicts", get(conflicts))
        .route("/conflicts/settle", post(settle))
        .route("/township/summary", get(crate::township::summary))
        .route(
            "/township/indicators",
            get(crate::township::village_indicators),
        )
        .fallback(|| async { ApiError::NotFound("no such API route".into()) })
}

/// The largest body of a login or a password change: 4 KiB (a username
/// of at most 64 characters and a password of at most 256 fit many times).
pub const MAX_LOGIN_BODY_BYTES: usize = 4 * 1024;
/// The longest username a login may name (as `user add` allows).
pub const MAX_USERNAME_CHARS: usize = 64;

/// The client's address: the peer's, or behind trusted reverse proxies
/// (`--trust-forwarded-for`) the right-most `X-Forwarded-For` address that
/// is not a trusted proxy (see [`crate::address`]). `None` when the server
/// was started without connect info (a test's router, unless the test
/// puts a `ConnectInfo<SocketAddr>` in the request's extensions).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_address_of(
            &parts.headers,
            &parts.extensions,
            state,
        )))
    }
}

/// [`ClientAddr`] from a request's headers and extensions.
pub fn client_address_of(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    state: &AppState,
) -> Option<std::net::IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    crate::address::client_address(
        peer,
        &forwarded,
        state.trust_forwarded_for,
        &state.trusted_proxies,
    )
}

async fn user_view(state: &AppState, user: &User) -> Result<UserView, ApiError> {
    let mut villages = Vec::new();
    for id in &user.villages {
        if let Some(row) = sqlx::query("SELECT id, name, township FROM villages WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db.pool)
            .await?
        {
            villages.push(VillageView {
                id: row.get("id"),
                name: row.get("name"),
                township: row.get("township"),
            });
        }
    }
    Ok(UserView {
        username: user.username.clone(),
        role: user.role,
        township: user.township.clone(),
        villages,
    })
}

/// One password check, counted against the sign-in delays per address and
/// per username at that address: a login, a device key's or a password
/// change's password asked again.
struct PasswordAttempt<'a> {
    limiter: &'a LoginLimiter,
    /// Argon2 is slow on purpose: a few checks at a time (one per core).
    /// The turn goes with the check, and ends with it.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    keys: [(String, u32); 2],
    /// The client's address, for the log.
    address: String,
    /// When this attempt's turn came.
    now_ms: u64,
}

impl<'a> PasswordAttempt<'a> {
    /// Waits for a check's turn, then checks the delays and counts the
    /// attempt as failed — before the (slow) check, so that attempts sent
    /// all at once cannot slip past the limits together.
    async fn start(
        state: &'a AppState,
        username: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<PasswordAttempt<'a>, ApiError> {
        let permit = Arc::clone(&state.password_checks)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        let now_ms = state.now_ms();
        let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
        let limiter: &LoginLimiter = &state.limiter;
        let keys = limiter_keys(username, &address);
        limiter
            .attempt(&keys, now_ms)
            .map_err(|(seconds, key)| ApiError::SlowDown {
                seconds,
                reason: if key == 0 {
                    "too many failed sign-ins from this address"
                } else {
                    "too many failed sign-ins for this user from this address"
                },
            })?;
        Ok(PasswordAttempt {
            limiter,
            permit: Some(permit),
            keys,
            address,
            now_ms,
        })
    }

    /// Whether `password` matches `hash`, checked off the async threads;
    /// the turn ends with the check.
    async fn verify(&mut self, password: &str, hash: String) -> Result<bool, ApiError> {
        let password = password.to_string();
        let permit = self.permit.take();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_password(&password, &hash)
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }

    /// A good password: the username-at-address key is cleared and the
    /// address's count takes this attempt back.
    fn succeeded(&self) {
        self.limiter.succeeded(&self.keys[1].0, &self.keys[0].0);
    }
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    note: Option<axum::Extension<AuditNote>>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let request = LoginRequest {
        username: request.username.trim().to_string(),
        ..request
    };
    // Before any work: no such username exists, and the limiter keeps
    // only short keys.
    if request.username.chars().count() > MAX_USERNAME_CHARS {
        return Err(ApiError::field(
            "username",
            "a username has at most 64 characters",
        ));
    }
    let mut attempt = PasswordAttempt::start(&state, &request.username, address).await?;
    let now = attempt.now_ms;

    // No username holds a NUL, and PostgreSQL's text cannot even be asked
    // about one (the query would fail): such a name is simply not known.
    let row = if request.username.contains('\0') {
        None
    } else {
        sqlx::query(
            "SELECT id, password_hash, disabled, must_change_password FROM users \
             WHERE username = $1",
        )
        .bind(&request.username)
        .fetch_optional(&state.db.pool)
        .await?
    };
    let (id, hash, disabled, must_change) = match &row {
        Some(r) => (
            Some(r.get::<String, _>("id")),
            r.get::<String, _>("password_hash"),
            r.get::<i64, _>("disabled") != 0,
            r.get::<i64, _>("must_change_password") != 0,
        ),
        None => (None, dummy_hash().to_string(), false, false),
    };
    let good = attempt.verify(&request.password, hash).await?;
    let Some(id) = id.clone().filter(|_| good && !disabled) else {
        tracing::info!(address = attempt.address, "failed login");
        // The typed username is not kept when unknown: it may be a
        // password typed into the wrong box.
        let why = match (&id, good) {
            (None, _) => "unknown username",
            (Some(_), false) => "wrong password",
            (Some(_), true) => "account disabled",
        };
        let mut event = Event::new("login_failed", now)
            .address(address)
            .request("/api/v1/login", 401)
            .detail(why);
        event.user_id = id;
        audit::record_or_log(&state.db, event).await;
        if let Some(axum::Extension(note)) = note {
            note.set_recorded();
        }
        return Err(ApiError::Unauthorized("wrong username or password"));
    };
    attempt.succeeded();
    let token = new_token();
    let expires_ms = now + state.session_ttl_ms;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms, revoked, last_used_ms) \
         VALUES ($1, $2, $3, $4, 0, $3)",
    )
    .bind(token_hash(&token))
    .bind(&id)
    .bind(now as i64)
    .bind(expires_ms as i64)
    .execute(&state.db.pool)
    .await?;
    let user = crate::auth::load_user(&state.db, &id)
        .await?
        .ok_or(ApiError::Unauthorized("the account is disabled"))?;
    tracing::info!(username = user.username, "login");
    audit::record(
        &state.db.pool,
        Event::new("login", now)
            .user(&id)
            .address(address)
            .request("/api/v1/login", 200)
            .detail(if must_change {
                "must change password"
            } else {
                ""
            }),
    )
    .await?;
    Ok(Json(LoginResponse {
        token,
        expires_ms,
        user: user_view(&state, &user).await?,
        server_time_ms: now,
        must_change_password: must_change,
    }))
}

async fn logout(
    State(state): State<AppState>,
    PasswordChangeSession { session, .. }: PasswordChangeSession,
) -> Result<StatusCode, ApiError> {
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1")
        .bind(&session.token_hash)
        .execute(&state.db.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /password`: the session user changes her own password. The new
/// one must pass the password rules (400 `new`); the current one is checked
/// like a login's (counted against the same delays; 400 `current` when
/// wrong, so that the app does not take it for an ended session); the new
/// one must differ from it. Every other session of hers ends; this one
/// goes on. Works while an administrator's reset asks for a new password.
/// The stored password hash of user `id`, to check a password asked again.
async fn stored_hash(state: &AppState, id: &str) -> Result<String, ApiError> {
    Ok(sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?
        .get("password_hash"))
}

async fn change_password(
    State(state): State<AppState>,
    PasswordChangeSession { session, .. }: PasswordChangeSession,
    ClientAddr(address): ClientAddr,
    ApiJson(request): ApiJson<PasswordChangeRequest>,
) -> Result<StatusCode, ApiError> {
    check_new_password(&request.new).map_err(|reason| ApiError::field("new", reason))?;
    let mut attempt = PasswordAttempt::start(&state, &session.user.username, address).await?;
    let now = attempt.now_ms;
    let hash = stored_hash(&state, &session.user.id).await?;
    if !attempt.verify(&request.current, hash).await? {
        audit::record_or_log(
            &state.db,
            Event::new("password_change_failed", now)
                .user(&session.user.id)
                .address(address)
                .request("/api/v1/password", 400)
                .detail("wrong current password"),
        )
        .await;
        return Err(ApiError::field("current", "the current password is wrong"));
    }
    attempt.succeeded();
    if request.new == request.current {
        return Err(ApiError::field(
            "new",
            "the new password must differ from the current one",
        ));
    }
    let permit = Arc::clone(&state.password_checks)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let new = request.new.clone();
    let new_hash = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        hash_password(&new)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(&new_hash)
        .bind(&session.user.id)
        .execute(&mut *tx)
        .await?;
    let ended = sqlx::query(
        "UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND token_hash <> $2 AND revoked = 0",
    )
    .bind(&session.user.id)
    .bind(&session.token_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    audit::record(
        &mut *tx,
        Event::new("password_changed", now)
            .user(&session.user.id)
            .address(address)
            .request("/api/v1/password", 204)
            .detail(format!("other_sessions_ended={ended}")),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(username = session.user.username, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

async fn whoami(State(state): State<AppState>, session: Session) -> Result<Json<WhoAmI>, ApiError> {
    Ok(Json(WhoAmI {
        user: user_view(&state, &session.user).await?,
        server_time_ms: state.now_ms(),
    }))
}

/// The on-device lock's recovery secret for the session's own user and
/// the given device: made on the first request, the same afterwards. The
/// account password is checked again (Argon2, one check per core, and
/// counted against the same per-user and per-address limits as a login), so
/// a session token alone never fetches it.
async fn device_key(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    ApiJson(request): ApiJson<DeviceKeyRequest>,
) -> Result<Json<DeviceKeyResponse>, ApiError> {
    // A revoked phone, or another user's, gets no recovery secret.
    let device = request.device.to_string();
    let mut tx = state.db.pool.begin().await?;
    if let Some(refusal) = crate::devices::check(&mut tx, &session.user, &device).await? {
        return Err(ApiError::Forbidden(refusal.reason(&device)));
    }
    tx.rollback().await?;
    let mut attempt = PasswordAttempt::start(&state, &session.user.username, address).await?;
    let now = attempt.now_ms;
    let hash = stored_hash(&state, &session.user.id).await?;
    if !attempt.verify(&request.password, hash).await? {
        tracing::info!(
            username = session.user.username,
            address = attempt.address,
            "wrong password for a device key"
        );
        return Err(ApiError::Unauthorized("wrong password"));
    }
    attempt.succeeded();
    // The secret and the device's binding to the user, together.
    let mut tx = state.db.pool.begin().await?;
    crate::devices::claim(&mut tx, &session.user, &device, now).await?;
    // Made once: a second request (another tab, a retry) finds the first.
    sqlx::query(
        "INSERT INTO device_keys (user_id, device_id, secret, created_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, device_id) DO NOTHING",
    )
    .bind(&session.user.id)
    .bind(&device)
    .bind(crate::server_key::DERIVED)
    .bind(now as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let row = sqlx::query(
        "SELECT secret, created_ms FROM device_keys WHERE user_id = $1 AND device_id = $2",
    )
    .bind(&session.user.id)
    .bind(&device)
    .fetch_one(&state.db.pool)
    .await?;
    let secret = state
        .server_key
        .reveal(&session.user.id, &device, row.get("secret"))
        .map_err(ApiError::Internal)?;
    tracing::info!(username = session.user.username, device, "device key");
    audit::record(
        &state.db.pool,
        Event::new("device_key", now)
            .user(&session.user.id)
            .address(address)
            .request("/api/v1/device-key", 200)
            .detail(format!("device={device}")),
    )
    .await?;
    Ok(Json(DeviceKeyResponse {
        device: request.device,
        secret,
        created_ms: row.get::<i64, _>("created_ms") as u64,
    }))
}

async fn push(
    State(state): State<AppState>,
    session: Session,
    ApiJson(request): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if session.user.role != Role::Worker {
        return Err(ApiError::Forbidden(
            "only a village worker's account pushes records".into(),
        ));
    }
    let response = state
        .pushes
        .push(
            &state.db,
            &state.push_lock,
            session.user,
            request,
            state.now_ms(),
        )
        .await?;
    Ok(Json(response))
}

async fn pull(
    State(state): State<AppState>,
    session: Session,
    ApiJson(request): ApiJson<PullRequest>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let text = server_sync::pull(&state.db, &session.user, &request, state.now_ms()).await?;
    Ok(json_text(text))
}

/// An answer whose JSON text the server built itself (from stored JSON).
fn json_text(text: String) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
}

/// A page of the snapshot of the user's villages: JSON text built by the
/// server from the stored records (see [`server_sync::snapshot`]), of the
/// shape of the core's `SnapshotResponse`.
async fn snapshot(
    State(state): State<AppState>,
    session: Session,
    ApiJson(request): ApiJson<SnapshotRequest>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let text = server_sync::snapshot(&state.db, &session.user, &request, state.now_ms()).await?;
    Ok(json_text(text))
}

/// `?village=…`: one of the user's villages (all of them when absent).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageQuery {
    /// Only this village.
    pub village: Option<String>,
}

async fn conflicts(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<VillageQuery>,
) -> Result<Json<ConflictList>, ApiError> {
    let villages = chosen_villages(&session.user, query.village.as_deref())?;
    let mut out = Vec::new();
    for village in villages {
        let rows = sqlx::query(
            "SELECT state FROM records WHERE village_id = $1 AND conflicts > 0 ORDER BY kind, id",
        )
        .bind(&village)
        .fetch_all(&state.db.pool)
        .await?;
        for row in rows {
            let record: fieldbook_core::sync::RecordState =
                serde_json::from_str(&row.get::<String, _>("state"))?;
            out.extend(record.conflicts());
        }
    }
    Ok(Json(ConflictList {
        conflicts: out,
        server_time_ms: state.now_ms(),
    }))
}

pub(crate) fn chosen_villages(user: &User, village: Option<&str>) -> Result<Vec<String>, ApiError> {
    match village {
        None => Ok(user.villages.clone()),
        Some(v) if user.can_read(v) => Ok(vec![v.to_string()]),
        Some(_) => Err(ApiError::Forbidden(
            "that village is not one of yours".into(),
        )),
    }
}

async fn settle(
    State(state): State<AppState>,
    session: Session,
    ApiJson(request): ApiJson<SettleRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if session.user.role == Role::Admin {
        return Err(ApiError::Forbidden(
            "conflicts are settled by the village's worker or the township officer".into(),
        ));
    }
    request
        .record
        .kind
        .check_value(&request.field, &request.value)
        .map_err(|reason| ApiError::field("value", reason))?;
    let _guard = state.push_lock.lock().await;
    let now = state.now_ms();
    let response = crate::admin::settle(
        &state.db,
        &session.user,
        &request.record,
        &request.field,
        request.value,
        now,
    )
    .await?;
    // The field's name is the schema's, not a person's data; the value
    // chosen is not logged.
    audit::record(
        &state.db.pool,
        Event::new("settle", now)
            .user(&session.user.id)
            .request("/api/v1/conflicts/settle", 200)
            .detail(format!(
                "record={}/{} field={}",
                request.record.kind.name(),
                request.record.id,
                request.field
            )),
    )
    .await?;
    Ok(Json(response))
}

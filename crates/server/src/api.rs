//! `/api/v1`: the JSON API the phones and the township page speak. Every
//! route but login checks the session; every record is checked against the
//! user's villages. See `docs/API.md` for the whole contract.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use fieldbook_core::indicators::{Indicator, indicators};
use fieldbook_core::period::Period;
use fieldbook_core::rules::Rules;
use fieldbook_core::sync::{
    Conflict, PullRequest, PullResponse, PushRequest, PushResponse, RecordRef, Replica,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::AppState;
use crate::auth::{
    LoginLimiter, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_USER, Role, Session, User, dummy_hash,
    new_token, token_hash, verify_password,
};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::sync as server_sync;

/// The API's routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/whoami", get(whoami))
        .route("/sync/push", post(push))
        .route("/sync/pull", post(pull))
        .route("/conflicts", get(conflicts))
        .route("/conflicts/settle", post(settle))
        .route("/township/summary", get(summary))
        .fallback(|| async { ApiError::NotFound("no such API route".into()) })
}

/// The client's address, when the server was started with connect info
/// (the binary is; a test's router may not be).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// `POST /login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The answer to a good login.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    /// The session token, for `Authorization: Bearer …`.
    pub token: String,
    /// When it expires, ms since the epoch.
    pub expires_ms: u64,
    /// Who signed in.
    pub user: UserView,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// A user as the API shows them.
#[derive(Debug, Serialize)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// An officer's township.
    pub township: Option<String>,
    /// Villages they may read.
    pub villages: Vec<VillageView>,
}

/// A village as the API shows it.
#[derive(Debug, Serialize)]
pub struct VillageView {
    /// Its id (the village record's id).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its township.
    pub township: String,
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

async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = state.now_ms();
    let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let limiter: &LoginLimiter = &state.limiter;
    let user_key = format!("user:{}", request.username.to_lowercase());
    let address_key = format!("addr:{address}");
    limiter
        .check(&address_key, MAX_FAILURES_PER_ADDRESS, now)
        .and_then(|()| limiter.check(&user_key, MAX_FAILURES_PER_USER, now))
        .map_err(ApiError::TooManyRequests)?;

    let row = sqlx::query("SELECT id, password_hash, disabled FROM users WHERE username = $1")
        .bind(&request.username)
        .fetch_optional(&state.db.pool)
        .await?;
    let password = request.password.clone();
    let (id, hash, disabled) = match &row {
        Some(r) => (
            Some(r.get::<String, _>("id")),
            r.get::<String, _>("password_hash"),
            r.get::<i64, _>("disabled") != 0,
        ),
        None => (None, dummy_hash().to_string(), false),
    };
    // Argon2 is slow on purpose: off the async threads.
    let good = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let Some(id) = id.filter(|_| good && !disabled) else {
        limiter.fail(&address_key, now);
        limiter.fail(&user_key, now);
        tracing::info!(username = request.username, address, "failed login");
        return Err(ApiError::Unauthorized("wrong username or password"));
    };
    limiter.clear(&user_key);
    let token = new_token();
    let expires_ms = now + state.session_ttl_ms;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms, revoked) \
         VALUES ($1, $2, $3, $4, 0)",
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
    Ok(Json(LoginResponse {
        token,
        expires_ms,
        user: user_view(&state, &user).await?,
        server_time_ms: now,
    }))
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<StatusCode, ApiError> {
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1")
        .bind(&session.token_hash)
        .execute(&state.db.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /whoami`.
#[derive(Debug, Serialize)]
pub struct WhoAmI {
    /// Who.
    pub user: UserView,
    /// The server's clock.
    pub server_time_ms: u64,
}

async fn whoami(State(state): State<AppState>, session: Session) -> Result<Json<WhoAmI>, ApiError> {
    Ok(Json(WhoAmI {
        user: user_view(&state, &session.user).await?,
        server_time_ms: state.now_ms(),
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
    let _guard = state.push_lock.lock().await;
    let response = server_sync::push(&state.db, &session.user, request, state.now_ms()).await?;
    Ok(Json(response))
}

async fn pull(
    State(state): State<AppState>,
    session: Session,
    ApiJson(request): ApiJson<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    Ok(Json(
        server_sync::pull(&state.db, &session.user, &request, state.now_ms()).await?,
    ))
}

/// `GET /conflicts?village=…`: the open conflicts of the user's villages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictQuery {
    /// Only this village.
    pub village: Option<String>,
}

/// The open conflicts.
#[derive(Debug, Serialize)]
pub struct ConflictList {
    /// Each losing value with the winner it lost to.
    pub conflicts: Vec<Conflict>,
    /// The server's clock.
    pub server_time_ms: u64,
}

async fn conflicts(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ConflictQuery>,
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

fn chosen_villages(user: &User, village: Option<&str>) -> Result<Vec<String>, ApiError> {
    match village {
        None => Ok(user.villages.clone()),
        Some(v) if user.can_read(v) => Ok(vec![v.to_string()]),
        Some(_) => Err(ApiError::Forbidden(
            "that village is not one of yours".into(),
        )),
    }
}

/// `POST /conflicts/settle`: an officer (or the village's worker) chooses a
/// field's value; the server records it as a change of its own that
/// supersedes every value the field held, so it syncs to the phones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// The record.
    pub record: RecordRef,
    /// The field.
    pub field: String,
    /// The value chosen.
    pub value: serde_json::Value,
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
    Ok(Json(response))
}

/// `GET /township/summary?period=2026-Q3&today=2026-11-29`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// `2026`, `2026-H1`, `2026-Q3` or `2026-11`; the current year if absent.
    pub period: Option<String>,
}

/// One village's line of the township page.
#[derive(Debug, Serialize)]
pub struct VillageSummary {
    /// The village.
    pub village: VillageView,
    /// Its indicators for the period, from the core.
    pub indicators: Vec<Indicator>,
    /// When a phone of it last synced, ms since the epoch.
    pub last_sync_ms: Option<i64>,
    /// Its open conflicts.
    pub open_conflicts: i64,
    /// How many households it has.
    pub households: usize,
}

/// The township page's data.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The period, as asked.
    pub period: String,
    /// The villages side by side.
    pub villages: Vec<VillageSummary>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// Parses `2026`, `2026-H1`, `2026-Q3` or `2026-11`.
pub fn parse_period(text: &str) -> Option<Period> {
    let (year, rest) = match text.split_once('-') {
        Some((y, r)) => (y, Some(r)),
        None => (text, None),
    };
    let year: i32 = year.parse().ok().filter(|y| (1900..=2200).contains(y))?;
    let day = |month: u32| NaiveDate::from_ymd_opt(year, month, 1);
    match rest {
        None => Some(Period::year_of(day(1)?)),
        Some(r) if r.len() == 2 && r.starts_with('H') => match &r[1..] {
            "1" => Some(Period::half_year_of(day(1)?)),
            "2" => Some(Period::half_year_of(day(7)?)),
            _ => None,
        },
        Some(r) if r.len() == 2 && r.starts_with('Q') => {
            let q: u32 = r[1..].parse().ok().filter(|q| (1..=4).contains(q))?;
            Some(Period::quarter_of(day(q * 3 - 2)?))
        }
        Some(r) if r.len() == 2 => {
            let m: u32 = r.parse().ok().filter(|m| (1..=12).contains(m))?;
            Some(Period::month_of(day(m)?))
        }
        _ => None,
    }
}

async fn summary(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SummaryQuery>,
) -> Result<Json<Summary>, ApiError> {
    if session.user.role == Role::Worker {
        return Err(ApiError::Forbidden(
            "the township summary is for township officers".into(),
        ));
    }
    let now = state.now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now as i64)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let period_text = query
        .period
        .unwrap_or_else(|| today.format("%Y").to_string());
    let period = parse_period(&period_text)
        .ok_or_else(|| ApiError::field("period", "use 2026, 2026-H1, 2026-Q3 or 2026-11"))?;
    let rules = Rules::default();
    let mut villages = Vec::new();
    for id in &session.user.villages {
        let Some(row) =
            sqlx::query("SELECT id, name, township, last_sync_ms FROM villages WHERE id = $1")
                .bind(id)
                .fetch_one(&state.db.pool)
                .await
                .ok()
        else {
            continue;
        };
        let open_conflicts: i64 =
            sqlx::query("SELECT COUNT(*) FROM records WHERE village_id = $1 AND conflicts > 0")
                .bind(id)
                .fetch_one(&state.db.pool)
                .await?
                .get(0);
        let states = server_sync::village_records(&state.db, id).await?;
        let data = Replica::from_records(states.into_values())
            .materialize()
            .dataset;
        let village_id = fieldbook_core::Id::parse_str(id).unwrap_or_default();
        let list = indicators(&data, village_id, period, today, &rules);
        villages.push(VillageSummary {
            village: VillageView {
                id: row.get("id"),
                name: row.get("name"),
                township: row.get("township"),
            },
            indicators: list,
            last_sync_ms: row.get("last_sync_ms"),
            open_conflicts,
            households: data.households.iter().filter(|h| !h.deleted).count(),
        });
    }
    Ok(Json(Summary {
        period: period_text,
        villages,
        server_time_ms: now,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_in_four_spellings() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_period("2026"), Some(Period::year_of(d(2026, 5, 1))));
        assert_eq!(
            parse_period("2026-H2"),
            Some(Period::half_year_of(d(2026, 9, 1)))
        );
        assert_eq!(
            parse_period("2026-Q3"),
            Some(Period::quarter_of(d(2026, 8, 1)))
        );
        assert_eq!(
            parse_period("2026-11"),
            Some(Period::month_of(d(2026, 11, 30)))
        );
        for bad in [
            "", "26", "2026-Q5", "2026-13", "2026-H3", "year", "2026-1", "99999",
        ] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }
}

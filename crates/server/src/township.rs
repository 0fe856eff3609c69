//! The township's routes: `/township/summary` (every village of the officer
//! side by side) and `/township/indicators` (one village's detail).
//!
//! Building a village's records from the database and computing its
//! indicators takes a good part of a second for a village of 1,000
//! households; 50 villages took 14–20 s a request. So the summary keeps, per
//! village, what it computed, keyed by the village's last change in the
//! change log (its highest cursor) and by the period and day asked: a push
//! or a settle to a village logs a change with a new, higher cursor, so its
//! next summary computes afresh, and the other villages answer from memory.
//! The key is read before the records, and cursors commit in order (the
//! cursor lock), so what is kept under a cursor is never older than it.
//! Kept in memory, bounded ([`MAX_VILLAGES`], [`MAX_ASKS`]); each process
//! (and each test's router) has its own, and the database stays the truth.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use fieldbook_core::api::{
    IndicatorCount, Summary, VillageIndicators, VillageSummary, VillageView, parse_period,
};
use fieldbook_core::indicators::indicators;
use fieldbook_core::period::Period;
use fieldbook_core::rules::Rules;
use fieldbook_core::sync::{RecordKind, Replica};
use fieldbook_core::{Dataset, Id};
use serde::Deserialize;
use sqlx::Row;

use crate::AppState;
use crate::auth::{Role, Session};
use crate::error::ApiError;
use crate::json::ApiQuery;
use crate::sync as server_sync;

/// The most villages whose figures are kept; past it, the oldest asked is
/// dropped. A township has about 50; a server of a county a few hundred.
pub const MAX_VILLAGES: usize = 2_000;
/// The most (period, day) answers kept per village; past it, the oldest
/// asked is dropped. The page asks four periods a day.
pub const MAX_ASKS: usize = 16;

/// `?period=2026-Q3` (the current year when absent), `&today=2026-11-29`
/// (the asker's date; the server's local date when absent) and, for one
/// village's detail, `&village=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// `2026`, `2026-H1`, `2026-Q3` or `2026-11`.
    pub period: Option<String>,
    /// Today, on the asker's calendar.
    pub today: Option<chrono::NaiveDate>,
    /// The village, for `/township/indicators`.
    pub village: Option<String>,
}

/// What the summary keeps of one village, valid while its last change is
/// `cursor`.
#[derive(Debug)]
struct Kept {
    /// The village's highest cursor in the change log (0: none yet).
    cursor: i64,
    /// Households, not deleted.
    households: usize,
    /// Records with open conflicts.
    open_conflicts: i64,
    /// The counts per (period, today), with when each was last asked.
    counts: HashMap<(Period, chrono::NaiveDate), (u64, Vec<IndicatorCount>)>,
    /// When this village was last asked.
    asked: u64,
}

/// The summary's figures per village (see the module's documentation).
#[derive(Debug, Default)]
pub struct SummaryCache {
    villages: Mutex<HashMap<String, Kept>>,
    /// A counter that orders the asks, for dropping the oldest.
    tick: std::sync::atomic::AtomicU64,
}

/// One village's line, as the cache answers it (and keeps it in
/// `township_lines`).
#[derive(serde::Serialize, Deserialize)]
struct Line {
    households: usize,
    open_conflicts: i64,
    counts: Vec<IndicatorCount>,
}

impl SummaryCache {
    fn next_tick(&self) -> u64 {
        self.tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The kept line of `village` if it is still `cursor`'s.
    fn get(&self, village: &str, cursor: i64, key: (Period, chrono::NaiveDate)) -> Option<Line> {
        let tick = self.next_tick();
        let mut villages = self.villages.lock().unwrap_or_else(|e| e.into_inner());
        let kept = villages.get_mut(village).filter(|k| k.cursor == cursor)?;
        kept.asked = tick;
        let (asked, counts) = kept.counts.get_mut(&key)?;
        *asked = tick;
        Some(Line {
            households: kept.households,
            open_conflicts: kept.open_conflicts,
            counts: counts.clone(),
        })
    }

    /// Keeps `line` as `village`'s at `cursor` for `key`. A line of an
    /// older cursor than the one kept is not kept.
    fn put(&self, village: &str, cursor: i64, key: (Period, chrono::NaiveDate), line: &Line) {
        let tick = self.next_tick();
        let mut villages = self.villages.lock().unwrap_or_else(|e| e.into_inner());
        if !villages.contains_key(village) && villages.len() >= MAX_VILLAGES {
            let oldest = villages
                .iter()
                .min_by_key(|(_, k)| k.asked)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                villages.remove(&oldest);
            }
        }
        let kept = villages.entry(village.to_string()).or_insert_with(|| Kept {
            cursor,
            households: line.households,
            open_conflicts: line.open_conflicts,
            counts: HashMap::new(),
            asked: tick,
        });
        if kept.cursor > cursor {
            return;
        }
        if kept.cursor < cursor {
            *kept = Kept {
                cursor,
                households: line.households,
                open_conflicts: line.open_conflicts,
                counts: HashMap::new(),
                asked: tick,
            };
        }
        if !kept.counts.contains_key(&key) && kept.counts.len() >= MAX_ASKS {
            let oldest = kept
                .counts
                .iter()
                .min_by_key(|(_, (asked, _))| *asked)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                kept.counts.remove(&oldest);
            }
        }
        kept.asked = tick;
        kept.counts.insert(key, (tick, line.counts.clone()));
    }

    /// The villages with figures kept.
    fn villages(&self) -> Vec<String> {
        let villages = self.villages.lock().unwrap_or_else(|e| e.into_inner());
        villages.keys().cloned().collect()
    }

    /// How many villages have figures kept (for tests and the benchmark).
    pub fn len(&self) -> usize {
        self.villages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The officer's (or admin's) view: refuses a worker.
fn township_reader(session: &Session) -> Result<(), ApiError> {
    if session.user.role == Role::Worker {
        return Err(ApiError::Forbidden(
            "the township pages are for township officers".into(),
        ));
    }
    Ok(())
}

/// Today (as asked, or on the server's local calendar) and the asked
/// period.
fn period_of(
    now_ms: u64,
    today: Option<chrono::NaiveDate>,
    asked: Option<&str>,
) -> Result<(chrono::NaiveDate, Period), ApiError> {
    let today = today.unwrap_or_else(|| {
        chrono::DateTime::from_timestamp_millis(now_ms as i64)
            .map(|t| t.with_timezone(&chrono::Local).date_naive())
            .unwrap_or_default()
    });
    let period = match asked {
        None => Period::year_of(today),
        Some(text) => parse_period(text)
            .ok_or_else(|| ApiError::field("period", "use 2026, 2026-H1, 2026-Q3 or 2026-11"))?,
    };
    Ok((today, period))
}

/// A village's name and last sync, if it exists.
async fn village_row(
    state: &AppState,
    id: &str,
) -> Result<Option<(VillageView, Option<i64>)>, ApiError> {
    let row = sqlx::query("SELECT id, name, township, last_sync_ms FROM villages WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.map(|row| {
        (
            VillageView {
                id: row.get("id"),
                name: row.get("name"),
                township: row.get("township"),
            },
            row.get("last_sync_ms"),
        )
    }))
}

/// The village's last change: its highest cursor in the change log, 0 when
/// it has none.
async fn last_cursor(state: &AppState, id: &str) -> Result<i64, ApiError> {
    let row = sqlx::query("SELECT MAX(cursor) FROM changes WHERE village_id = $1")
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

/// One village's records, built from the stored merge states: every record
/// with its people behind each count, for the detail.
async fn village_dataset(state: &AppState, id: &str) -> Result<Dataset, ApiError> {
    let states = server_sync::village_records(&state.db, id).await?;
    tokio::task::spawn_blocking(move || {
        Replica::from_records(states.into_values())
            .materialize()
            .dataset
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

/// One village's records from their stored bodies (each record as the
/// merge built it when it was stored: what [`Replica::materialize`] builds
/// from the states, without rebuilding them), and its open conflicts.
/// A record whose values do not form one (a `null` body) is left out, as
/// the materialization leaves it out.
async fn village_bodies(state: &AppState, id: &str) -> Result<(Dataset, i64), ApiError> {
    let rows = sqlx::query("SELECT kind, id, body, conflicts FROM records WHERE village_id = $1")
        .bind(id)
        .fetch_all(&state.db.pool)
        .await?;
    let mut texts: Vec<(String, String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("kind"),
                r.get("body"),
                r.get("conflicts"),
            )
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        // In id order within each kind, as the materialization lists them
        // (a UUID's text sorts as its bytes).
        texts.sort_unstable();
        let mut data = Dataset::new();
        let mut open_conflicts = 0;
        for (_, kind, body, conflicts) in texts {
            open_conflicts += i64::from(conflicts > 0);
            if body == "null" {
                continue;
            }
            let kind = RecordKind::from_name(&kind).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a record of an unknown kind"))
            })?;
            match kind {
                RecordKind::Village => data.villages.push(serde_json::from_str(&body)?),
                RecordKind::Household => data.households.push(serde_json::from_str(&body)?),
                RecordKind::Person => data.persons.push(serde_json::from_str(&body)?),
                RecordKind::Visit => data.visits.push(serde_json::from_str(&body)?),
                RecordKind::Plan => data.plans.push(serde_json::from_str(&body)?),
                RecordKind::Tick => data.ticks.push(serde_json::from_str(&body)?),
            }
        }
        Ok::<_, ApiError>((data, open_conflicts))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

/// The four periods the page offers on `today`: its year, half-year,
/// quarter and month.
fn standard_periods(today: chrono::NaiveDate) -> [Period; 4] {
    [
        Period::year_of(today),
        Period::half_year_of(today),
        Period::quarter_of(today),
        Period::month_of(today),
    ]
}

/// How a period is spelled in `township_lines`.
fn period_key(period: Period) -> String {
    serde_json::to_string(&period).unwrap_or_default()
}

/// Lines kept in `township_lines` more than this many days before the day
/// being written are deleted with it.
const STORED_DAYS: u64 = 7;

/// The line of `village` kept in `township_lines` for `key`, if it is still
/// `cursor`'s; put back into the memory cache when found.
async fn stored_line(
    state: &AppState,
    id: &str,
    cursor: i64,
    key: (Period, chrono::NaiveDate),
) -> Result<Option<Line>, ApiError> {
    let row = sqlx::query(
        "SELECT body FROM township_lines \
         WHERE village_id = $1 AND period = $2 AND day = $3 AND cursor = $4",
    )
    .bind(id)
    .bind(period_key(key.0))
    .bind(key.1.to_string())
    .bind(cursor)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let body: String = row.try_get(0)?;
    // A line that no longer reads (an older shape) is computed again.
    let Ok(line) = serde_json::from_str::<Line>(&body) else {
        return Ok(None);
    };
    state.township.put(id, cursor, key, &line);
    Ok(Some(line))
}

/// Keeps `lines` in `township_lines`, replacing what was kept for the same
/// keys and deleting the village's lines of older cursors or of days long
/// past. A failure is logged, not returned: the figures are right anyway.
async fn store_lines(
    state: &AppState,
    id: &str,
    cursor: i64,
    keys: &[(Period, chrono::NaiveDate)],
    lines: &[Line],
) {
    let result: Result<(), sqlx::Error> = async {
        let mut tx = state.db.pool.begin().await?;
        if let Some(&(_, day)) = keys.first() {
            let oldest = day
                .checked_sub_days(chrono::Days::new(STORED_DAYS))
                .unwrap_or(day);
            sqlx::query(
                "DELETE FROM township_lines WHERE village_id = $1 AND (cursor < $2 OR day < $3)",
            )
            .bind(id)
            .bind(cursor)
            .bind(oldest.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for (key, line) in keys.iter().zip(lines) {
            sqlx::query(
                "INSERT INTO township_lines (village_id, period, day, cursor, body) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (village_id, period, day) \
                 DO UPDATE SET cursor = excluded.cursor, body = excluded.body",
            )
            .bind(id)
            .bind(period_key(key.0))
            .bind(key.1.to_string())
            .bind(cursor)
            .bind(serde_json::to_string(line).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!("township summary: keeping the figures of {id} failed: {error}");
    }
}

/// Reads `village`'s records once and keeps its lines for every key of
/// `keys` at `cursor` (which must have been read before the records).
async fn compute_lines(
    state: &AppState,
    id: &str,
    cursor: i64,
    keys: Vec<(Period, chrono::NaiveDate)>,
) -> Result<Vec<Line>, ApiError> {
    let (data, open_conflicts) = village_bodies(state, id).await?;
    let village_id = Id::parse_str(id).unwrap_or_default();
    let (keys, lines) = tokio::task::spawn_blocking(move || {
        let households = data.households.iter().filter(|h| !h.deleted).count();
        let lines: Vec<Line> = keys
            .iter()
            .map(|&(period, today)| Line {
                households,
                open_conflicts,
                counts: indicators(&data, village_id, period, today, &Rules::default())
                    .iter()
                    .map(IndicatorCount::from)
                    .collect(),
            })
            .collect();
        (keys, lines)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    for (key, line) in keys.iter().zip(&lines) {
        state.township.put(id, cursor, *key, line);
    }
    store_lines(state, id, cursor, &keys, &lines).await;
    Ok(lines)
}

/// One village's line of the summary: from the cache while the village has
/// no newer change, otherwise computed (with the page's other periods of
/// the same day, read from the same records) and kept.
async fn village_line(
    state: &AppState,
    id: &str,
    period: Period,
    today: chrono::NaiveDate,
) -> Result<Line, ApiError> {
    // The cursor first, then the records: the records read are at least as
    // new as the cursor they are kept under.
    let cursor = last_cursor(state, id).await?;
    if let Some(line) = state.township.get(id, cursor, (period, today)) {
        return Ok(line);
    }
    // Kept before the server last started?
    if let Some(line) = stored_line(state, id, cursor, (period, today)).await? {
        return Ok(line);
    }
    let mut keys = vec![(period, today)];
    keys.extend(
        standard_periods(today)
            .into_iter()
            .filter(|p| *p != period)
            .map(|p| (p, today)),
    );
    let mut lines = compute_lines(state, id, cursor, keys).await?;
    Ok(lines.swap_remove(0))
}

/// Computes what the summary lacks for the page's four periods of the
/// server's today, for every village (`every`) or for those it keeps
/// figures of (asked before, now changed, or on a new day): what the
/// officers' next summary asks is then already kept.
pub async fn warm(state: &AppState, every: bool) -> Result<usize, ApiError> {
    let (today, _) = period_of(state.now_ms(), None, None)?;
    let keys: Vec<_> = standard_periods(today)
        .into_iter()
        .map(|p| (p, today))
        .collect();
    let villages: Vec<String> = if every {
        sqlx::query("SELECT id FROM villages ORDER BY id")
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        state.township.villages()
    };
    let mut computed = 0;
    for id in villages {
        let cursor = last_cursor(state, &id).await?;
        let mut missing = Vec::new();
        for key in &keys {
            if state.township.get(&id, cursor, *key).is_none()
                && stored_line(state, &id, cursor, *key).await?.is_none()
            {
                missing.push(*key);
            }
        }
        if missing.is_empty() {
            continue;
        }
        compute_lines(state, &id, cursor, keys.clone()).await?;
        computed += 1;
    }
    Ok(computed)
}

/// How often the warmer looks for villages with new changes.
pub const WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps the summary warm in the background: every village at start, then
/// every [`WARM_EVERY`] each village it keeps figures of that has changed
/// since (or on a new day) is computed again. A failure is logged and tried
/// again next time.
pub fn spawn_warmer(state: AppState) {
    tokio::spawn(async move {
        let mut every = true;
        loop {
            let done = warm(&state, every).await;
            every &= done.is_err();
            match done {
                Ok(0) => {}
                Ok(n) => tracing::debug!("township summary: {n} village(s) computed"),
                Err(error) => tracing::warn!("township summary: warming failed: {error:?}"),
            }
            tokio::time::sleep(WARM_EVERY).await;
        }
    });
}

/// `GET /township/summary`: the officer's villages side by side.
pub async fn summary(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<Summary>, ApiError> {
    township_reader(&session)?;
    let now = state.now_ms();
    let (today, period) = period_of(now, query.today, query.period.as_deref())?;
    let mut villages = Vec::new();
    for id in crate::api::chosen_villages(&session.user, query.village.as_deref())? {
        let Some((village, last_sync_ms)) = village_row(&state, &id).await? else {
            continue;
        };
        let line = village_line(&state, &id, period, today).await?;
        villages.push(VillageSummary {
            village,
            indicators: line.counts,
            last_sync_ms,
            open_conflicts: line.open_conflicts,
            households: line.households,
        });
    }
    Ok(Json(Summary {
        period,
        villages,
        server_time_ms: now,
    }))
}

/// `GET /township/indicators?village=…`: one village's indicators with the
/// people behind each count.
pub async fn village_indicators(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<VillageIndicators>, ApiError> {
    township_reader(&session)?;
    let id = query
        .village
        .as_deref()
        .ok_or_else(|| ApiError::field("village", "say which village"))?;
    let id = crate::api::chosen_villages(&session.user, Some(id))?.remove(0);
    let now = state.now_ms();
    let (today, period) = period_of(now, query.today, query.period.as_deref())?;
    let (village, _) = village_row(&state, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such village".into()))?;
    let data = village_dataset(&state, &id).await?;
    let village_id = Id::parse_str(&id).unwrap_or_default();
    let indicators = tokio::task::spawn_blocking(move || {
        indicators(&data, village_id, period, today, &Rules::default())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(VillageIndicators {
        village,
        indicators,
        server_time_ms: now,
    }))
}

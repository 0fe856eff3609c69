//! What the API tests share: a server on a fresh database (SQLite in a
//! temporary folder, or a new PostgreSQL database on the server named by
//! `FIELDBOOK_TEST_POSTGRES_URL`), its clock, a few users, requests, and a
//! snapshot of the database to prove that a refused request changed
//! nothing.
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use fieldbook_core::sync::{
    Change, DeviceId, Hlc, PullResponse, RecordKind, RecordRef, ServerChange, SnapshotResponse,
    changes_for_edit, changes_for_new_record,
};
use fieldbook_core::{Household, Id};
use fieldbook_server::auth::Role;
use fieldbook_server::db::sqlite_url;
use fieldbook_server::{AppConfig, Db, admin, app};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Row;
use tower::ServiceExt;
use uuid::Uuid;

/// 2026-11-29 08:00 UTC.
pub const START_MS: u64 = 1_795_939_200_000;
/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A new database on the PostgreSQL server of `FIELDBOOK_TEST_POSTGRES_URL`.
    Postgres,
}

/// A server on a fresh database with two villages of one township: worker
/// `wang` serves 王庄村, worker `li` serves 李庄村, officer `zhao` the
/// township, and `admin`.
pub struct TestServer {
    pub router: Router,
    pub db: Db,
    pub clock: Arc<AtomicU64>,
    pub wang_village: String,
    pub li_village: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub async fn new(backend: Backend) -> TestServer {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (sqlite_url(&dir.path().join("fieldbook.db")), Some(dir))
            }
            Backend::Postgres => (fresh_postgres_database().await, None),
        };
        let db = Db::connect(&url).await.expect("database");
        let clock = Arc::new(AtomicU64::new(START_MS));
        let now = Arc::clone(&clock);
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<!doctype html>").unwrap();
        let config = AppConfig {
            clock: Arc::new(move || now.load(Ordering::SeqCst)),
            ..AppConfig::new(dist.keep(), db.clone())
        };
        let router = app(&config);
        let wang_village = admin::add_village(&db, "王庄村", "石桥镇", START_MS)
            .await
            .unwrap()
            .to_string();
        let li_village = admin::add_village(&db, "李庄村", "石桥镇", START_MS)
            .await
            .unwrap()
            .to_string();
        let add =
            |name: &'static str, role, township: Option<&'static str>, villages: Vec<String>| {
                let db = db.clone();
                async move {
                    admin::add_user(&db, name, PASSWORD, role, township, &villages, START_MS)
                        .await
                        .unwrap();
                }
            };
        add("wang", Role::Worker, None, vec![wang_village.clone()]).await;
        add("li", Role::Worker, None, vec![li_village.clone()]).await;
        add("zhao", Role::Officer, Some("石桥镇"), vec![]).await;
        add("admin", Role::Admin, None, vec![]).await;
        TestServer {
            router,
            db,
            clock,
            wang_village,
            li_village,
            _dir: dir,
        }
    }

    /// The same database and clock behind a new app, as after a restart:
    /// nothing kept in memory. `self` must outlive it (it holds the
    /// database's folder).
    pub fn restarted(&self) -> TestServer {
        let now = Arc::clone(&self.clock);
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<!doctype html>").unwrap();
        let config = AppConfig {
            clock: Arc::new(move || now.load(Ordering::SeqCst)),
            ..AppConfig::new(dist.keep(), self.db.clone())
        };
        TestServer {
            router: app(&config),
            db: self.db.clone(),
            clock: Arc::clone(&self.clock),
            wang_village: self.wang_village.clone(),
            li_village: self.li_village.clone(),
            _dir: None,
        }
    }

    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    pub fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sends a request; returns the status and the JSON body (`Null` when
    /// empty or not JSON).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let content_type = body.as_ref().map(|_| "application/json");
        self.send_as(method, path, authorization.as_deref(), content_type, body)
            .await
    }

    /// Sends a request with exactly these `Authorization` and
    /// `Content-Type` headers (none when `None`); returns the status and the
    /// JSON body (`Null` when empty or not JSON).
    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send("POST", path, token, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send("GET", path, token, None).await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/login",
                None,
                &json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Pushes `changes` from `device`.
    pub async fn push(
        &self,
        token: &str,
        device: DeviceId,
        changes: &[Change],
    ) -> (StatusCode, Value) {
        self.post(
            "/api/v1/sync/push",
            Some(token),
            &json!({"device": device, "changes": changes}),
        )
        .await
    }

    /// Every change for the user, paging with `limit`.
    pub async fn pull_all(&self, token: &str, limit: u32) -> Vec<Change> {
        self.pull_log(token, 0, limit)
            .await
            .into_iter()
            .map(|logged| logged.change)
            .collect()
    }

    /// The log after `cursor` as the server keeps it (each change with its
    /// clamped flag), every page of `limit`.
    pub async fn pull_log(&self, token: &str, mut cursor: u64, limit: u32) -> Vec<ServerChange> {
        let mut out = Vec::new();
        loop {
            let page = self.pull_page(token, cursor, limit).await;
            out.extend(page.changes);
            cursor = page.next_cursor;
            if !page.more {
                return out;
            }
        }
    }

    /// One page of the log after `cursor`; anything but 200 fails the test.
    pub async fn pull_page(&self, token: &str, cursor: u64, limit: u32) -> PullResponse {
        let (status, body) = self
            .post(
                "/api/v1/sync/pull",
                Some(token),
                &json!({"cursor": cursor, "limit": limit}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("a pull answer")
    }

    /// One snapshot page after record `after`; anything but 200 fails the
    /// test.
    pub async fn snapshot_page(
        &self,
        token: &str,
        after: Option<RecordRef>,
        limit: u32,
    ) -> SnapshotResponse {
        let (status, body) = self
            .post(
                "/api/v1/sync/snapshot",
                Some(token),
                &json!({"after": after, "limit": limit}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: SnapshotResponse = serde_json::from_value(body).expect("a snapshot page");
        assert!(page.records.len() <= limit as usize);
        page
    }

    /// What the database holds, as text, to compare before and after.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (table, sql) in [
            (
                "counters",
                "SELECT name || '=' || CAST(value AS TEXT) FROM counters ORDER BY name",
            ),
            (
                "changes",
                "SELECT CAST(cursor AS TEXT) || ' ' || body FROM changes ORDER BY cursor",
            ),
            (
                "records",
                "SELECT kind || ' ' || id || ' ' || state FROM records ORDER BY kind, id",
            ),
            (
                "sessions",
                "SELECT token_hash || ' ' || CAST(revoked AS TEXT) FROM sessions ORDER BY token_hash",
            ),
            (
                "users",
                "SELECT username || ' ' || password_hash || ' ' || CAST(disabled AS TEXT) FROM users ORDER BY username",
            ),
            (
                "user_villages",
                "SELECT user_id || ' ' || village_id FROM user_villages ORDER BY user_id, village_id",
            ),
            (
                "villages",
                "SELECT id || ' ' || name FROM villages ORDER BY id",
            ),
            (
                "devices",
                "SELECT device_id || ' ' || COALESCE(user_id, '-') || ' ' || kind || ' ' \
                 || CAST(revoked AS TEXT) FROM devices ORDER BY device_id",
            ),
        ] {
            for row in sqlx::query(sql).fetch_all(&self.db.pool).await.unwrap() {
                out.push(format!("{table}: {}", row.get::<String, _>(0)));
            }
        }
        out
    }

    /// The server's own device id.
    pub async fn server_device(&self) -> DeviceId {
        admin::server_device(&self.db).await.unwrap()
    }

    /// How many changes the log holds from `device`.
    pub async fn changes_from(&self, device: DeviceId) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM changes WHERE device = $1")
            .bind(device.0.to_string())
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
            .get(0)
    }
}

/// A new empty database on the test PostgreSQL server.
pub async fn fresh_postgres_database() -> String {
    let base = std::env::var("FIELDBOOK_TEST_POSTGRES_URL").expect(
        "FIELDBOOK_TEST_POSTGRES_URL must name a PostgreSQL database for these tests \
         (`cargo xtask test` starts one; `cargo xtask postgres` prints one to use by hand)",
    );
    sqlx::any::install_default_drivers();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&base).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

pub fn device(n: u128) -> DeviceId {
    DeviceId(Uuid::from_u128(0xd000 + n))
}

/// The changes that create household `number` in `village` on `device`,
/// numbered from `first_seq`, stamped `wall_ms`.
pub fn new_household(
    village: &str,
    number: &str,
    device: DeviceId,
    first_seq: u64,
    wall_ms: u64,
) -> (Household, Vec<Change>) {
    let household = Household::new(Uuid::new_v4(), Id::parse_str(village).unwrap(), number);
    let changes = changes_for_new_record(
        RecordKind::Household,
        &serde_json::to_value(&household).unwrap(),
        Hlc::new(wall_ms, 0),
        device,
        first_seq,
    )
    .unwrap();
    (household, changes)
}

/// The changes editing `before` into `after` on `device`.
pub fn edit(
    before: &Household,
    after: &Household,
    device: DeviceId,
    first_seq: u64,
    wall_ms: u64,
) -> Vec<Change> {
    changes_for_edit(
        RecordRef {
            kind: RecordKind::Household,
            id: before.id,
        },
        &serde_json::to_value(before).unwrap(),
        &serde_json::to_value(after).unwrap(),
        Hlc::new(wall_ms, 0),
        device,
        first_seq,
    )
    .unwrap()
}

/// Runs each test body on SQLite (always) and on PostgreSQL (ignored unless
/// asked for: `cargo xtask test` runs them against a server it starts).
#[macro_export]
macro_rules! on_both {
    ($(async fn $name:ident($t:ident: &TestServer) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $t = &TestServer::new(Backend::Sqlite).await;
                    $body
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL: FIELDBOOK_TEST_POSTGRES_URL (cargo xtask test sets it)"]
                async fn $name() {
                    let $t = &TestServer::new(Backend::Postgres).await;
                    $body
                }
            )*
        }
    };
}

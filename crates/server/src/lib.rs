//! fieldbook-server: the township's server. It serves the built PWA and the
//! sync API (`/api/v1`, see `docs/API.md`) on one port, with its data in
//! SQLite (the default) or PostgreSQL.
//!
//! [`app`] builds the whole router; `main` and the integration tests both use
//! it, so what is tested is what runs.

pub mod address;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod db;
pub mod devices;
pub mod error;
pub mod headers;
pub mod json;
pub mod restore;
pub mod serve;
pub mod server_key;
pub mod static_files;
pub mod sync;
pub mod township;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use db::Db;

/// The largest request body the API takes: a full push of
/// [`sync::MAX_PUSH_CHANGES`] changes fits with room to spare.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How long a request may take before the server gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a session lasts without use: 30 days, so a worker in the field
/// is not signed out between syncs (`--session-idle-days`).
pub const SESSION_TTL_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The server's clock, milliseconds since the Unix epoch. Tests set their
/// own to move time.
pub type ClockFn = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> ClockFn {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    })
}

/// What the router needs to know.
#[derive(Clone)]
pub struct AppConfig {
    /// The folder of the built app (`cargo xtask build` writes `dist/`).
    pub dist: PathBuf,
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: ClockFn,
    /// How long a session lasts without use.
    pub session_ttl_ms: u64,
    /// Behind a reverse proxy: take the client's address from
    /// `X-Forwarded-For` (for the sign-in delays and the audit log).
    pub trust_forwarded_for: bool,
    /// The reverse proxies whose `X-Forwarded-For` entries are believed
    /// (default: loopback).
    pub trusted_proxies: Vec<address::IpRange>,
    /// At most this many keys in the sign-in limiter's memory.
    pub login_limiter_keys: usize,
    /// Serving HTTPS itself: answers carry `Strict-Transport-Security`.
    pub hsts: bool,
    /// The key that derives and seals the lock's recovery secrets
    /// (`server_key`); the binary loads it from the data folder.
    pub server_key: Arc<server_key::ServerKey>,
    /// Keep the township summary computed in the background
    /// ([`township::spawn_warmer`]); the binary does, tests need not.
    pub warm_township: bool,
}

impl AppConfig {
    /// The usual configuration: the system clock, 30-day sessions.
    pub fn new(dist: PathBuf, db: Db) -> AppConfig {
        AppConfig {
            dist,
            db,
            clock: system_clock(),
            session_ttl_ms: SESSION_TTL_MS,
            trust_forwarded_for: false,
            trusted_proxies: address::IpRange::loopback(),
            login_limiter_keys: auth::DEFAULT_LIMITER_KEYS,
            hsts: false,
            server_key: Arc::new(server_key::ServerKey::ephemeral()),
            warm_township: false,
        }
    }
}

/// What every API handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Failed sign-ins, per address and per username at an address.
    pub limiter: Arc<auth::LoginLimiter>,
    /// How long a session lasts without use.
    pub session_ttl_ms: u64,
    /// One group of pushes (or a settlement) at a time in this process;
    /// the database's cursor lock orders them across processes.
    pub push_lock: Arc<tokio::sync::Mutex<()>>,
    /// Pushes waiting to be committed together.
    pub pushes: Arc<sync::PushQueue>,
    /// Read the client's address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The proxies whose `X-Forwarded-For` entries are believed.
    pub trusted_proxies: Arc<Vec<address::IpRange>>,
    /// Password checks running at once: one per core. Each Argon2 check
    /// takes 19 MiB and a core for tens of milliseconds; more at once only
    /// adds memory (500 logins at once peaked at 8.9 GB without this) and
    /// takes the cores from every other request.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// Derives and seals the lock's recovery secrets.
    pub server_key: Arc<server_key::ServerKey>,
    /// The township summary's figures per village, until its next change.
    pub township: Arc<township::SummaryCache>,
    clock: ClockFn,
}

impl AppState {
    /// Now, on the server's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }
}

/// The server's router: the API under `/api/v1` and the PWA with its caching
/// rules, compressed, logged, with body limits and a timeout.
pub fn app(config: &AppConfig) -> Router {
    let state = AppState {
        db: config.db.clone(),
        limiter: Arc::new(auth::LoginLimiter::with_capacity(config.login_limiter_keys)),
        session_ttl_ms: config.session_ttl_ms,
        push_lock: Arc::default(),
        pushes: Arc::default(),
        trust_forwarded_for: config.trust_forwarded_for,
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        password_checks: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )),
        server_key: config.server_key.clone(),
        township: Arc::default(),
        clock: config.clock.clone(),
    };
    if config.warm_township {
        township::spawn_warmer(state.clone());
    }
    let security_headers = headers::SecurityHeaders::for_dist(&config.dist, config.hsts);
    let api = api::routes()
        // Every 401, 403 and 429 goes to the audit log.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::log_refusals,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers carry tokens and people's records: never cached.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state);
    Router::new()
        .nest("/api/v1", api)
        .merge(static_files::router(&config.dist))
        // The app's files are compressed at build time; this compresses the
        // API's answers, where speed counts more than the last byte: a
        // snapshot page of 6.4 MB took 1.5–2 s of CPU at the default level.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // Outside the timeout and the body limit, so their answers carry
        // the headers too.
        .layer(axum::middleware::from_fn(move |request, next| {
            headers::add(security_headers.clone(), request, next)
        }))
        .layer(TraceLayer::new_for_http())
}

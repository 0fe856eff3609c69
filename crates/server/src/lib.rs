//! fieldbook-server: the township's server. Today it serves the built PWA;
//! the sync API, users and storage arrive with the server issue.
//!
//! [`app`] builds the whole router; `main` and the integration tests both use
//! it, so what is tested is what runs.

pub mod static_files;

use std::path::PathBuf;

use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// What the router needs to know.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The folder of the built app (`cargo xtask build` writes `dist/`).
    pub dist: PathBuf,
}

/// The server's router: the PWA with its caching rules, compressed.
pub fn app(config: &AppConfig) -> Router {
    static_files::router(&config.dist)
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(TraceLayer::new_for_http())
}

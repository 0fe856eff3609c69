//! Serving the built PWA: the right content type, the right caching, and
//! compressed bodies.
//!
//! Caching follows from how the app updates: trunk puts a content hash in the
//! names of the wasm, JS and CSS, so those never change and are cached for a
//! year as immutable. Everything else — index.html, the service worker, the
//! manifest, icons — is `no-cache`: the browser may keep it but must
//! revalidate, so a new version is seen at the next load. `cargo xtask build`
//! writes `.br` and `.gz` beside each file; they are served when the browser
//! accepts them, and other responses are compressed on the fly.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Method, StatusCode};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// `Cache-Control` of files whose name carries their content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: keep, but revalidate before use.
pub const REVALIDATE: &str = "no-cache";

/// The router that serves the app from `dist`.
pub fn router(dist: &Path) -> Router {
    let index = dist.join("index.html");
    let spa_fallback = move |request: Request| {
        let index = index.clone();
        async move { serve_app_route(&index, request).await }
    };
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(tower::service_fn(move |request: Request| {
            let response = spa_fallback(request);
            async move { Ok::<_, std::convert::Infallible>(response.await) }
        }));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(set_cache_headers))
}

/// A path the client-side router owns (`/households/42`) gets index.html, so
/// a reload or a shared link opens the app there. A missing file (`/x.js`) or
/// an API path gets a plain 404, never the app's HTML under a wrong name.
async fn serve_app_route(index: &Path, request: Request) -> Response {
    let path = request.uri().path();
    let is_app_route = (request.method() == Method::GET || request.method() == Method::HEAD)
        && !path.starts_with("/api/")
        && path != "/api"
        && !last_segment(path).contains('.');
    if !is_app_route {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match ServeFile::new(index)
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(request)
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Whether a file name carries trunk's content hash: `name-<hex>.ext` or
/// `name-<hex>_bg.wasm`, with at least 8 hex digits.
pub fn is_content_hashed(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty() && hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// The caching rule for a request path; see the module docs.
pub fn cache_control_for(path: &str) -> &'static str {
    if is_content_hashed(last_segment(path)) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

async fn set_cache_headers(request: Request, next: Next) -> Response {
    let cache_control = cache_control_for(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    } else {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_content_hashed("fieldbook-1a2b3c4d5e6f7081_bg.wasm"));
        assert!(is_content_hashed("fieldbook-1a2b3c4d5e6f7081.js"));
        assert!(is_content_hashed("main-0badcafe.css"));
    }

    #[test]
    fn ordinary_names_are_not_hashed() {
        for name in [
            "index.html",
            "sw.js",
            "manifest.webmanifest",
            "icon-192.png",
            "icon-maskable-512.png",
            "households",
            "-deadbeef.js",
            "x-deadbee.js",
        ] {
            assert!(!is_content_hashed(name), "{name}");
        }
    }

    #[test]
    fn cache_rules_by_path() {
        assert_eq!(cache_control_for("/"), REVALIDATE);
        assert_eq!(cache_control_for("/sw.js"), REVALIDATE);
        assert_eq!(cache_control_for("/households/12"), REVALIDATE);
        assert_eq!(
            cache_control_for("/fieldbook-00ff00ff00ff00ff_bg.wasm"),
            IMMUTABLE
        );
    }
}

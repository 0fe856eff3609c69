//! The server as a phone's browser meets it: the built app with the right
//! types, caching and compression. Runs the real router on a temporary dist.

use std::io::{Read, Write};
use std::path::Path;

use axum::body::Body;
use fieldbook_server::db::sqlite_url;
use fieldbook_server::{AppConfig, Db, app};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

const WASM: &str = "fieldbook-0123456789abcdef_bg.wasm";
const JS: &str = "fieldbook-0123456789abcdef.js";
const CSS: &str = "main-89abcdef01234567.css";
const INDEX: &str = "<!doctype html><html lang=\"zh-CN\"><head><title>村级计生工作手册</title></head><body></body></html>";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &Default::default()).unwrap();
    out
}

/// A dist folder shaped like `cargo xtask build`'s: hashed assets with their
/// precompressed twins, except the CSS, which has none.
fn dist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    let wasm: Vec<u8> = b"\0asm\x01\0\0\0"
        .iter()
        .copied()
        .cycle()
        .take(4096)
        .collect();
    let js = "export function start() { return 'fieldbook'; }\n".repeat(40);
    let css = "body { font-family: sans-serif; margin: 0; }\n".repeat(40);
    for (name, bytes) in [
        ("index.html", INDEX.as_bytes()),
        (
            "sw.js",
            b"self.addEventListener('fetch', () => {});".as_slice(),
        ),
        (
            "manifest.webmanifest",
            br#"{"name":"Fieldbook"}"#.as_slice(),
        ),
        (WASM, &wasm),
        (JS, js.as_bytes()),
    ] {
        write(name, bytes);
        write(&format!("{name}.gz"), &gzip(bytes));
        write(&format!("{name}.br"), &brotli(bytes));
    }
    write(CSS, css.as_bytes());
    std::fs::create_dir(dir.path().join("icons")).unwrap();
    write("icons/icon-192.png", b"\x89PNG\r\n\x1a\n");
    dir
}

async fn get(dist: &Path, path: &str, accept_encoding: Option<&str>) -> http::Response<Body> {
    let mut request = Request::get(path);
    if let Some(encoding) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encoding);
    }
    // The static files need no database, but the router always has one.
    let data = tempfile::tempdir().unwrap();
    let db = Db::connect(&sqlite_url(&data.path().join("fieldbook.db")))
        .await
        .unwrap();
    let router = app(&AppConfig::new(dist.to_path_buf(), db));
    router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(response: &http::Response<Body>, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn body(response: http::Response<Body>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn each_file_has_its_content_type() {
    let dist = dist();
    for (path, expected) in [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/sw.js", "text/javascript"),
        ("/manifest.webmanifest", "application/manifest+json"),
        (&format!("/{WASM}"), "application/wasm"),
        (&format!("/{JS}"), "text/javascript"),
        (&format!("/{CSS}"), "text/css"),
        ("/icons/icon-192.png", "image/png"),
    ] {
        let response = get(dist.path(), path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = header_of(&response, header::CONTENT_TYPE);
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_rest_revalidates() {
    let dist = dist();
    for path in [format!("/{WASM}"), format!("/{JS}"), format!("/{CSS}")] {
        let response = get(dist.path(), &path, Some("br, gzip")).await;
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    for path in [
        "/",
        "/index.html",
        "/sw.js",
        "/manifest.webmanifest",
        "/plan",
    ] {
        let response = get(dist.path(), path, Some("br, gzip")).await;
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
    }
}

#[tokio::test]
async fn app_routes_get_the_app_and_missing_files_get_404() {
    let dist = dist();
    for path in ["/households", "/households/7f3c", "/settings"] {
        let response = get(dist.path(), path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(body(response).await, INDEX.as_bytes(), "{path}");
    }
    for path in ["/missing.js", "/icons/none.png", "/api/v1/pull", "/api"] {
        let response = get(dist.path(), path, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-store");
        assert_ne!(body(response).await, INDEX.as_bytes(), "{path}");
    }
}

#[tokio::test]
async fn precompressed_files_are_served_to_browsers_that_accept_them() {
    let dist = dist();
    let original = std::fs::read(dist.path().join(WASM)).unwrap();

    let response = get(dist.path(), &format!("/{WASM}"), Some("gzip, deflate, br")).await;
    assert_eq!(header_of(&response, header::CONTENT_ENCODING), "br");
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/wasm"
    );
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &body(response).await[..], &mut decoded).unwrap();
    assert_eq!(decoded, original);

    let response = get(dist.path(), &format!("/{WASM}"), Some("gzip")).await;
    assert_eq!(header_of(&response, header::CONTENT_ENCODING), "gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body(response).await[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, original);

    let response = get(dist.path(), &format!("/{WASM}"), None).await;
    assert_eq!(header_of(&response, header::CONTENT_ENCODING), "");
    assert_eq!(body(response).await, original);
}

#[tokio::test]
async fn files_without_a_compressed_twin_are_compressed_on_the_fly() {
    let dist = dist();
    let original = std::fs::read(dist.path().join(CSS)).unwrap();
    let response = get(dist.path(), &format!("/{CSS}"), Some("gzip")).await;
    assert_eq!(header_of(&response, header::CONTENT_ENCODING), "gzip");
    let compressed = body(response).await;
    assert!(compressed.len() < original.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, original);
}

#[tokio::test]
async fn a_deep_link_gets_the_compressed_app_too() {
    let dist = dist();
    let response = get(dist.path(), "/households/42", Some("br")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::CONTENT_ENCODING), "br");
    assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
}

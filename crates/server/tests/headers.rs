//! Security headers as a browser meets them: every answer — the app's
//! pages and files, API answers, errors — says `nosniff` and
//! `no-referrer`; HTML answers carry the Content-Security-Policy with the
//! hash of trunk's inline module script and refuse framing; HSTS only when
//! the server speaks HTTPS. Runs the real router on a temporary dist.

use axum::body::Body;
use base64::Engine;
use fieldbook_server::db::sqlite_url;
use fieldbook_server::{AppConfig, Db, app};
use http::{Method, Request, StatusCode, header};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

/// trunk's inline script, as it writes it into index.html.
const INLINE: &str = "\nimport init, * as bindings from '/fieldbook-0123456789abcdef.js';\n\
                      const wasm = await init({ module_or_path: '/fieldbook-0123456789abcdef_bg.wasm' });\n\
                      window.wasmBindings = bindings;\n";

fn index_html() -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><title>村级计生工作手册</title>\
         <link rel=\"modulepreload\" href=\"/fieldbook-0123456789abcdef.js\">\
         <script type=\"module\">{INLINE}</script></head><body></body></html>"
    )
}

struct Site {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

async fn site(hsts: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("icons")).unwrap();
    std::fs::write(dist.join("index.html"), index_html()).unwrap();
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    std::fs::write(dist.join("manifest.webmanifest"), "{}").unwrap();
    std::fs::write(
        dist.join("fieldbook-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(dist.join("icons/icon-192.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    let db = Db::connect(&sqlite_url(&dir.path().join("data/fieldbook.db")))
        .await
        .unwrap();
    let config = AppConfig {
        hsts,
        ..AppConfig::new(dist, db)
    };
    Site {
        router: app(&config),
        _dir: dir,
    }
}

impl Site {
    async fn send(&self, method: Method, path: &str, body: &str) -> http::Response<Body> {
        let mut request = Request::builder().method(method).uri(path);
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        self.router
            .clone()
            .oneshot(request.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap()
    }
}

fn header_of(response: &http::Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn expected_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(INLINE.as_bytes()));
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; \
         manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

fn assert_every_answer_headers(response: &http::Response<Body>, what: &str) {
    assert_eq!(
        header_of(response, "x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header_of(response, "referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}"
    );
}

#[tokio::test]
async fn html_answers_carry_the_policy_with_the_inline_script_hash_and_refuse_framing() {
    let site = site(false).await;
    for path in ["/", "/index.html", "/households/42", "/settings"] {
        let response = site.send(Method::GET, path, "").await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_every_answer_headers(&response, path);
        let policy = header_of(&response, "content-security-policy").unwrap_or_default();
        assert_eq!(policy, expected_policy(), "{path}");
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(
            header_of(&response, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(header_of(&response, "strict-transport-security"), None);
    }
}

#[tokio::test]
async fn files_api_answers_and_errors_say_nosniff_and_no_referrer() {
    let site = site(false).await;
    let cases: &[(&str, Method, &str, &str, StatusCode)] = &[
        ("service worker", Method::GET, "/sw.js", "", StatusCode::OK),
        (
            "manifest",
            Method::GET,
            "/manifest.webmanifest",
            "",
            StatusCode::OK,
        ),
        (
            "hashed script",
            Method::GET,
            "/fieldbook-0123456789abcdef.js",
            "",
            StatusCode::OK,
        ),
        (
            "icon",
            Method::GET,
            "/icons/icon-192.png",
            "",
            StatusCode::OK,
        ),
        (
            "missing file",
            Method::GET,
            "/missing.js",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "API without a session",
            Method::GET,
            "/api/v1/whoami",
            "",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "API bad body",
            Method::POST,
            "/api/v1/login",
            "{not json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "API wrong password",
            Method::POST,
            "/api/v1/login",
            r#"{"username":"nobody","password":"wrong password"}"#,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "API unknown route",
            Method::GET,
            "/api/v1/nothing-here",
            "",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (what, method, path, body, status) in cases {
        let response = site.send(method.clone(), path, body).await;
        assert_eq!(response.status(), *status, "{what}");
        assert_every_answer_headers(&response, what);
    }
    // A body over the limit is refused before any handler, and still
    // carries the headers.
    let big = format!(
        r#"{{"username":"x","password":"{}"}}"#,
        "a".repeat(fieldbook_server::MAX_BODY_BYTES + 1)
    );
    let response = site.send(Method::POST, "/api/v1/login", &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_every_answer_headers(&response, "too large");
}

#[tokio::test]
async fn json_and_scripts_carry_no_page_policy() {
    // The policy is the page's: put on the service worker's script it would
    // govern the worker instead.
    let site = site(false).await;
    for path in ["/sw.js", "/api/v1/whoami"] {
        let response = site.send(Method::GET, path, "").await;
        assert_eq!(
            header_of(&response, "content-security-policy"),
            None,
            "{path}"
        );
    }
}

#[tokio::test]
async fn over_https_every_answer_asks_for_https_only() {
    let site = site(true).await;
    for path in ["/", "/sw.js", "/api/v1/whoami", "/missing.js"] {
        let response = site.send(Method::GET, path, "").await;
        assert_eq!(
            header_of(&response, "strict-transport-security").as_deref(),
            Some(fieldbook_server::headers::HSTS),
            "{path}"
        );
        assert_every_answer_headers(&response, path);
    }
}

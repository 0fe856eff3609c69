//! Security headers on every answer.
//!
//! Every answer — the app's files, API answers, errors, timeouts — carries
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`, and
//! `Strict-Transport-Security` when the server speaks HTTPS itself. HTML
//! answers also carry the Content-Security-Policy the app runs under and
//! `X-Frame-Options: DENY`.
//!
//! The policy (see SECURITY.md for why each source is allowed):
//!
//! - scripts only from this origin, plus WebAssembly compilation
//!   (`'wasm-unsafe-eval'`), plus trunk's one inline module script that
//!   loads the wasm, allowed by its SHA-256, which is computed here from the
//!   served `index.html` when the server starts — never `'unsafe-inline'`;
//! - styles from this origin only (the app sets no inline style);
//! - images from this origin and `data:` (the navigation icons are SVG
//!   `data:` URLs in the stylesheet);
//! - fetches (the sync API, the wasm, the service worker's precache) only to
//!   this origin;
//! - no plugins, no `<base>`, no framing by any page, forms post only here.

use std::path::Path;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use sha2::{Digest, Sha256};

/// `Strict-Transport-Security` when serving HTTPS: a year. No
/// `includeSubDomains`: the server may share a name with other services.
pub const HSTS: &str = "max-age=31536000";

/// The headers the server adds, fixed at start.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: bool,
}

impl SecurityHeaders {
    /// The headers for the app in `dist` (its `index.html`'s inline
    /// scripts are allowed by hash); with `hsts`, answers tell browsers to
    /// use HTTPS only.
    pub fn for_dist(dist: &Path, hsts: bool) -> SecurityHeaders {
        let html = std::fs::read_to_string(dist.join("index.html")).unwrap_or_default();
        SecurityHeaders {
            csp: HeaderValue::from_str(&content_security_policy(&html))
                .expect("a policy of ASCII sources"),
            hsts,
        }
    }

    /// The Content-Security-Policy of HTML answers.
    pub fn csp(&self) -> &str {
        self.csp.to_str().unwrap_or_default()
    }
}

/// The policy for an `index.html` whose inline scripts are `html`'s.
pub fn content_security_policy(html: &str) -> String {
    let mut scripts = String::from("'self' 'wasm-unsafe-eval'");
    for hash in inline_script_hashes(html) {
        scripts.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The base64 SHA-256 of every inline `<script>` (one without `src`) in
/// `html`, over its text exactly as written, as CSP hashes it.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let Some(open_end) = lower[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let Some(close) = lower[open_end..].find("</script").map(|i| open_end + i) else {
            break;
        };
        let tag = &lower[start..open_end];
        let has_src = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '>')
            .any(|attribute| attribute.starts_with("src="));
        if !has_src {
            let digest = Sha256::digest(&html.as_bytes()[open_end..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        at = close;
    }
    hashes
}

/// Adds the headers to `request`'s answer (a middleware).
pub async fn add(headers: SecurityHeaders, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let out = response.headers_mut();
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if headers.hsts {
        out.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if is_html {
        out.insert(CONTENT_SECURITY_POLICY, headers.csp.clone());
        out.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What trunk 0.21 writes into index.html to start the app.
    const TRUNK_INDEX: &str = "<html><head>\
        <link rel=\"modulepreload\" href=\"/fieldbook-1.js\" crossorigin=\"anonymous\">\
        <script type=\"module\">\nimport init from '/fieldbook-1.js';\nawait init();\n</script>\
        <script src=\"/other.js\"></script>\
        </head><body></body></html>";

    #[test]
    fn the_inline_module_script_is_allowed_by_its_hash_and_nothing_else_inline() {
        let hashes = inline_script_hashes(TRUNK_INDEX);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(
            b"\nimport init from '/fieldbook-1.js';\nawait init();\n",
        ));
        assert_eq!(hashes, vec![expected.clone()]);
        let policy = content_security_policy(TRUNK_INDEX);
        assert!(policy.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}';"
        )));
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        for directive in [
            "default-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
    }

    #[test]
    fn a_page_without_scripts_allows_none_inline() {
        assert!(inline_script_hashes("<!doctype html><title>x</title>").is_empty());
        assert!(
            content_security_policy("<title>x</title>")
                .contains("script-src 'self' 'wasm-unsafe-eval';")
        );
    }
}

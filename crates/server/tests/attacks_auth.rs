//! Attacks on signing in, sessions and passwords, and the audit log that
//! records them (issue 13, items 3, 4 and 8): a named catalogue, each case
//! asserting the status, the reason, and that the database is unchanged
//! apart from the audit log (which a refusal is meant to write).
//!
//! The test router has no connect info; a request here carries its client's
//! address as a `ConnectInfo<SocketAddr>` extension, as `axum::serve` puts
//! it there.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use common::*;
use fieldbook_core::sync::Conflict;
use fieldbook_server::{AppConfig, admin, app, auth};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Row;
use tower::ServiceExt;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A refused password change: what, the token, the body, the status, the
/// field named and what the message says.
type PasswordCase<'a> = (
    &'a str,
    Option<&'a str>,
    Value,
    StatusCode,
    Option<&'a str>,
    &'a str,
);

/// An answer: status, JSON body, headers.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    fn reason(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// One request to `router` from `from` (the peer's address), with an
/// optional `X-Forwarded-For` header and bearer token.
async fn send(
    router: &Router,
    from: &str,
    forwarded_for: Option<&str>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let peer: SocketAddr = format!("{from}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

async fn login_from(t: &TestServer, from: &str, username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    send(
        &t.router,
        from,
        None,
        "POST",
        "/api/v1/login",
        None,
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn post_json(
    t: &TestServer,
    from: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> Answer {
    send(
        &t.router,
        from,
        None,
        "POST",
        path,
        token,
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn get(t: &TestServer, from: &str, path: &str, token: Option<&str>) -> Answer {
    send(&t.router, from, None, "GET", path, token, None).await
}

/// A router on `t`'s database and clock with another configuration.
fn router_with(t: &TestServer, change: impl FnOnce(&mut AppConfig)) -> Router {
    let clock = Arc::clone(&t.clock);
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<!doctype html>").unwrap();
    let mut config = AppConfig {
        clock: Arc::new(move || clock.load(Ordering::SeqCst)),
        ..AppConfig::new(dist.keep(), t.db.clone())
    };
    change(&mut config);
    app(&config)
}

/// The audit log, oldest first: (event, user, address, route, status, detail).
async fn audit_log(
    t: &TestServer,
) -> Vec<(
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
)> {
    sqlx::query(
        "SELECT event, user_id, address, route, status, detail FROM audit_log ORDER BY at_ms, id",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
    .collect()
}

async fn user_id(t: &TestServer, username: &str) -> String {
    auth::find_user_id(&t.db, username).await.unwrap().unwrap()
}

/// The database as text for comparisons, with the sessions' last use and
/// the users' must-change flags that `TestServer::snapshot` does not show.
async fn everything_but_the_audit_log(t: &TestServer) -> Vec<String> {
    let mut out = t.snapshot().await;
    for row in sqlx::query(
        "SELECT token_hash || ' ' || CAST(last_used_ms AS TEXT) || ' ' || CAST(expires_ms AS TEXT) FROM sessions ORDER BY token_hash",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap()
    {
        out.push(format!("session use: {}", row.get::<String, _>(0)));
    }
    for row in sqlx::query(
        "SELECT username || ' ' || CAST(must_change_password AS TEXT) FROM users ORDER BY username",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap()
    {
        out.push(format!("must change: {}", row.get::<String, _>(0)));
    }
    for row in sqlx::query(
        "SELECT user_id || ' ' || device_id FROM device_keys ORDER BY user_id, device_id",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap()
    {
        out.push(format!("device key: {}", row.get::<String, _>(0)));
    }
    out
}

on_both! {
    async fn long_usernames_and_oversize_login_bodies_are_refused_before_any_work(t: &TestServer) {
        let before = everything_but_the_audit_log(t).await;
        let long = "w".repeat(65);
        let mut padded = json!({"username": "wang", "password": "wrong password"}).to_string().into_bytes();
        padded.resize(4 * 1024 + 1, b' ');
        let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
            ("a username of 65 characters", json!({"username": long, "password": PASSWORD}).to_string().into_bytes(), StatusCode::BAD_REQUEST, "at most 64 characters"),
            ("a username of 65 Chinese characters", json!({"username": "王".repeat(65), "password": PASSWORD}).to_string().into_bytes(), StatusCode::BAD_REQUEST, "at most 64 characters"),
            ("a login body of 4 KiB and a byte", padded, StatusCode::PAYLOAD_TOO_LARGE, "too large"),
            ("a megabyte username", json!({"username": "w".repeat(1 << 20), "password": PASSWORD}).to_string().into_bytes(), StatusCode::PAYLOAD_TOO_LARGE, "too large"),
        ];
        // Each case many times: none of them counts as a failed sign-in.
        for _ in 0..3 {
            for (what, body, status, says) in &cases {
                let answer = send(&t.router, "192.0.2.1", None, "POST", "/api/v1/login", None, Some(body.clone())).await;
                assert_eq!(answer.status, *status, "{what}: {}", answer.body);
                assert!(answer.reason().contains(*says), "{what}: {}", answer.body);
                if *status == StatusCode::BAD_REQUEST {
                    assert_eq!(answer.body["field"], "username", "{what}");
                }
                assert_eq!(everything_but_the_audit_log(t).await, before, "{what} changed nothing");
            }
        }
        assert!(audit_log(t).await.iter().all(|e| e.0 != "login_failed"), "no password was checked");
        // 64 characters is an ordinary (unknown) name: a wrong login.
        let answer = login_from(t, "192.0.2.1", &"w".repeat(64), PASSWORD).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        // The address was not slowed down by the refused bodies.
        assert_eq!(login_from(t, "192.0.2.1", "wang", PASSWORD).await.status, StatusCode::OK);
        // A password change's body is bounded the same way.
        let token = t.login("li").await;
        let mut big = json!({"current": PASSWORD, "new": "x".repeat(100)}).to_string().into_bytes();
        big.resize(4 * 1024 + 1, b' ');
        let answer = send(&t.router, "192.0.2.1", None, "POST", "/api/v1/password", Some(&token), Some(big)).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    async fn a_stranger_cannot_lock_a_worker_out(t: &TestServer) {
        let stranger = "198.51.100.66";
        let office = "203.0.113.10";
        for _ in 0..5 {
            let answer = login_from(t, stranger, "wang", "a wrong guess").await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        }
        let before = everything_but_the_audit_log(t).await;
        // The right password from another address: in at once.
        let answer = login_from(t, office, "wang", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "the worker is not locked out: {}", answer.body);
        let after_office = everything_but_the_audit_log(t).await;
        assert_ne!(after_office, before, "a session was made");
        // From the failing address, even the right password waits 1 s…
        for what in ["the right password", "a wrong one"] {
            let password = if what == "a wrong one" { "another guess" } else { PASSWORD };
            let answer = login_from(t, stranger, "wang", password).await;
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{what}: {}", answer.body);
            assert_eq!(answer.body["error"], "too_many_requests");
            assert!(answer.reason().contains("too many failed sign-ins for this user from this address"), "{}", answer.body);
            assert_eq!(answer.headers["retry-after"], "1");
            assert_eq!(everything_but_the_audit_log(t).await, after_office, "{what}: nothing changed");
        }
        // Another worker from the stranger's address is not slowed down.
        assert_eq!(login_from(t, stranger, "li", PASSWORD).await.status, StatusCode::OK);
        // …until the delay has passed.
        t.advance(999);
        assert_eq!(login_from(t, stranger, "wang", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
        t.advance(1);
        assert_eq!(login_from(t, stranger, "wang", PASSWORD).await.status, StatusCode::OK);
        // The success cleared that address's key for wang: a slip is a 401.
        assert_eq!(login_from(t, stranger, "wang", "a typo").await.status, StatusCode::UNAUTHORIZED);
        // Delays grow: five more failures, then 1 s, then 2 s.
        for _ in 0..4 {
            login_from(t, stranger, "wang", "a wrong guess").await;
        }
        assert_eq!(login_from(t, stranger, "wang", PASSWORD).await.headers["retry-after"], "1");
        t.advance(1_000);
        assert_eq!(login_from(t, stranger, "wang", "wrong again").await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(t, stranger, "wang", PASSWORD).await.headers["retry-after"], "2");
        // The refusals are in the audit log with their reason and address.
        let refused: Vec<_> = audit_log(t).await.into_iter().filter(|e| e.0 == "refused").collect();
        assert!(refused.iter().all(|e| e.2.as_deref() == Some(stranger) && e.4 == Some(429) && e.3.as_deref() == Some("/api/v1/login")));
        assert!(refused.iter().all(|e| e.5.contains("too many failed sign-ins")));
        assert_eq!(refused.len(), 5);
    }

    async fn an_address_guessing_many_usernames_is_slowed_down(t: &TestServer) {
        let sprayer = "198.51.100.77";
        for i in 0..auth::FREE_FAILURES_PER_ADDRESS {
            let answer = login_from(t, sprayer, &format!("user{i}"), "123456789a").await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        let before = everything_but_the_audit_log(t).await;
        let answer = login_from(t, sprayer, "wang", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(answer.reason().contains("too many failed sign-ins from this address"), "{}", answer.body);
        assert_eq!(everything_but_the_audit_log(t).await, before);
        // wang from her own address is not concerned.
        assert_eq!(login_from(t, "203.0.113.10", "wang", PASSWORD).await.status, StatusCode::OK);
    }

    async fn forwarded_for_spoofing_does_not_change_the_address_counted(t: &TestServer) {
        let router = router_with(t, |c| c.trust_forwarded_for = true);
        let login = |password: &str| json!({"username": "wang", "password": password}).to_string().into_bytes();
        // Behind our proxy (loopback), the client writes its own first entry,
        // a new one each time; the proxy appends the address it saw.
        for i in 0..5 {
            let xff = format!("10.9.8.{i}, 203.0.113.9");
            let answer = send(&router, "127.0.0.1", Some(&xff), "POST", "/api/v1/login", None, Some(login("a wrong guess"))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        let before = everything_but_the_audit_log(t).await;
        for (what, xff) in [
            ("a new left-most entry", "10.9.9.9, 203.0.113.9"),
            ("several invented entries", "1.1.1.1, 2.2.2.2, 203.0.113.9"),
            ("the proxy's entry alone", "203.0.113.9"),
        ] {
            let answer = send(&router, "127.0.0.1", Some(xff), "POST", "/api/v1/login", None, Some(login(PASSWORD))).await;
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{what}: still 203.0.113.9: {}", answer.body);
            assert!(answer.reason().contains("from this address"), "{what}");
            assert_eq!(everything_but_the_audit_log(t).await, before, "{what} changed nothing");
        }
        // The failures were counted for 203.0.113.9, not for the invented
        // addresses nor for the proxy.
        let failed: Vec<_> = audit_log(t).await.into_iter().filter(|e| e.0 == "login_failed").collect();
        assert_eq!(failed.len(), 5);
        assert!(failed.iter().all(|e| e.2.as_deref() == Some("203.0.113.9")), "{failed:?}");
        // Another client behind the proxy signs in.
        let answer = send(&router, "127.0.0.1", Some("203.0.113.9, 203.0.113.20"), "POST", "/api/v1/login", None, Some(login(PASSWORD))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        // A client connecting directly (not a trusted proxy) cannot borrow
        // an address with the header: its own address is counted.
        let answer = send(&router, "198.51.100.7", Some("203.0.113.9"), "POST", "/api/v1/login", None, Some(login(PASSWORD))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        // Without --trust-forwarded-for the header means nothing: the proxy's
        // address is the client's.
        let answer = send(&t.router, "127.0.0.1", Some("203.0.113.9"), "POST", "/api/v1/login", None, Some(login(PASSWORD))).await;
        assert_eq!(answer.status, StatusCode::OK);
        let last = audit_log(t).await.pop().unwrap();
        assert_eq!((last.0.as_str(), last.2.as_deref()), ("login", Some("127.0.0.1")));
    }

    async fn the_limiters_memory_is_capped(t: &TestServer) {
        // Four keys at most: an address and its username-at-address.
        let router = router_with(t, |c| c.login_limiter_keys = 4);
        let login = |user: &str, password: &str| json!({"username": user, "password": password}).to_string().into_bytes();
        for _ in 0..5 {
            send(&router, "198.51.100.1", None, "POST", "/api/v1/login", None, Some(login("wang", "a wrong guess"))).await;
        }
        let answer = send(&router, "198.51.100.1", None, "POST", "/api/v1/login", None, Some(login("wang", PASSWORD))).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        // Two more addresses fail once each: four new keys, so the two
        // oldest (198.51.100.1's) are dropped.
        for from in ["198.51.100.2", "198.51.100.3"] {
            let answer = send(&router, from, None, "POST", "/api/v1/login", None, Some(login("li", "a wrong guess"))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        let answer = send(&router, "198.51.100.1", None, "POST", "/api/v1/login", None, Some(login("wang", PASSWORD))).await;
        assert_eq!(answer.status, StatusCode::OK, "forgotten: {}", answer.body);
        // The cap itself, on the limiter: never more than its capacity.
        let limiter = auth::LoginLimiter::with_capacity(100);
        for i in 0..1_000u64 {
            limiter.fail(&format!("addr:10.0.{}.{}", i / 256, i % 256), i);
            assert!(limiter.len() <= 100);
        }
        assert!(limiter.holds("addr:10.0.3.231") && !limiter.holds("addr:10.0.0.0"));
    }

    async fn an_idle_session_ends_after_30_days(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let last_use = |token: String| {
            let db = t.db.clone();
            async move {
                sqlx::query("SELECT last_used_ms FROM sessions WHERE token_hash = $1")
                    .bind(auth::token_hash(&token))
                    .fetch_one(&db.pool)
                    .await
                    .unwrap()
                    .get::<i64, _>(0) as u64
            }
        };
        let signed_in = t.now();
        // Used within the hour: no write.
        t.advance(59 * 60 * 1000);
        assert_eq!(t.get("/api/v1/whoami", Some(&wang)).await.0, StatusCode::OK);
        assert_eq!(last_use(wang.clone()).await, signed_in, "not written within the hour");
        // Used after 29 days: noted, and the 30 days start again.
        t.advance(29 * DAY_MS);
        assert_eq!(t.get("/api/v1/whoami", Some(&wang)).await.0, StatusCode::OK);
        assert_eq!(last_use(wang.clone()).await, t.now());
        t.advance(29 * DAY_MS);
        assert_eq!(t.get("/api/v1/whoami", Some(&wang)).await.0, StatusCode::OK);
        // li's, unused for 58 days, has ended; so has wang's 30 days after
        // its last use.
        let (status, body) = t.get("/api/v1/whoami", Some(&li)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");
        t.advance(30 * DAY_MS);
        let (status, body) = t.get("/api/v1/whoami", Some(&wang)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");
        // Ended and expired sessions are deleted; a live one stays.
        let zhao = t.login("zhao").await;
        let admin = t.login("admin").await;
        t.post("/api/v1/logout", Some(&admin), &json!({})).await;
        let deleted = auth::delete_ended_sessions(&t.db, t.now(), fieldbook_server::SESSION_TTL_MS).await.unwrap();
        assert_eq!(deleted, 3, "wang's, li's and admin's");
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM sessions").fetch_one(&t.db.pool).await.unwrap().get(0);
        assert_eq!(left, 1);
        assert_eq!(t.get("/api/v1/whoami", Some(&zhao)).await.0, StatusCode::OK);
    }

    async fn a_user_changes_her_own_password(t: &TestServer) {
        let phone = t.login("wang").await;
        let tablet = t.login("wang").await;
        let li = t.login("li").await;
        let path = "/api/v1/password";
        let before = everything_but_the_audit_log(t).await;
        let cases: Vec<PasswordCase<'_>> = vec![
            ("no session", None, json!({"current": PASSWORD, "new": "a better password"}), StatusCode::UNAUTHORIZED, None, "sign in"),
            ("a wrong current password", Some(&phone), json!({"current": "not it at all", "new": "a better password"}), StatusCode::BAD_REQUEST, Some("current"), "current password is wrong"),
            ("a new password of 7 characters", Some(&phone), json!({"current": PASSWORD, "new": "short12"}), StatusCode::BAD_REQUEST, Some("new"), "at least 8 characters"),
            ("a common new password", Some(&phone), json!({"current": PASSWORD, "new": "woaini1314"}), StatusCode::BAD_REQUEST, Some("new"), "most common"),
            ("the same password again", Some(&phone), json!({"current": PASSWORD, "new": PASSWORD}), StatusCode::BAD_REQUEST, Some("new"), "differ"),
            ("an unknown field", Some(&phone), json!({"current": PASSWORD, "new": "a better password", "user": "li"}), StatusCode::BAD_REQUEST, Some("user"), "unknown field"),
            ("a missing new password", Some(&phone), json!({"current": PASSWORD}), StatusCode::BAD_REQUEST, None, "missing field"),
        ];
        for (what, token, body, status, field, says) in cases {
            let answer = post_json(t, "192.0.2.5", path, token, &body).await;
            assert_eq!(answer.status, status, "{what}: {}", answer.body);
            assert!(answer.reason().contains(says), "{what}: {}", answer.body);
            if let Some(field) = field {
                assert_eq!(answer.body["field"], field, "{what}");
            }
            assert_eq!(everything_but_the_audit_log(t).await, before, "{what} changed nothing");
        }
        let answer = post_json(t, "192.0.2.5", path, Some(&phone), &json!({"current": PASSWORD, "new": "a better password"})).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
        // Her other session ended, this one goes on, li's is untouched.
        let (status, body) = t.get("/api/v1/whoami", Some(&tablet)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].as_str().unwrap().contains("ended"), "{body}");
        assert_eq!(t.get("/api/v1/whoami", Some(&phone)).await.0, StatusCode::OK);
        assert_eq!(t.get("/api/v1/whoami", Some(&li)).await.0, StatusCode::OK);
        assert_eq!(login_from(t, "192.0.2.6", "wang", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(t, "192.0.2.6", "wang", "a better password").await.status, StatusCode::OK);
        // Wrong current passwords count like failed sign-ins.
        for _ in 0..5 {
            let answer = post_json(t, "192.0.2.7", path, Some(&phone), &json!({"current": "guess guess", "new": "another good one"})).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        }
        let answer = post_json(t, "192.0.2.7", path, Some(&phone), &json!({"current": "a better password", "new": "another good one"})).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(answer.headers.contains_key("retry-after"));
    }

    async fn after_a_reset_the_user_must_choose_a_new_password(t: &TestServer) {
        let (_, seed) = new_household(&t.li_village, "001", device(1), 1, t.now());
        admin::reset_password(&t.db, "li", "from the administrator").await.unwrap();
        let answer = login_from(t, "192.0.2.9", "li", "from the administrator").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["must_change_password"], true);
        let token = answer.body["token"].as_str().unwrap().to_string();
        let before = everything_but_the_audit_log(t).await;
        let push = json!({"device": device(1), "changes": seed});
        let cases: Vec<(&str, &str, &str, Option<Value>)> = vec![
            ("whoami", "GET", "/api/v1/whoami", None),
            ("a push", "POST", "/api/v1/sync/push", Some(push)),
            ("a pull", "POST", "/api/v1/sync/pull", Some(json!({"cursor": 0, "limit": 5}))),
            ("a snapshot", "POST", "/api/v1/sync/snapshot", Some(json!({"after": null, "limit": 5}))),
            ("conflicts", "GET", "/api/v1/conflicts", None),
            ("a device key", "POST", "/api/v1/device-key", Some(json!({"device": device(1), "password": "from the administrator"}))),
        ];
        for (what, method, path, body) in cases {
            let answer = send(&t.router, "192.0.2.9", None, method, path, Some(&token), body.map(|b| b.to_string().into_bytes())).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}: {}", answer.body);
            assert_eq!(answer.body["error"], "password_change_required", "{what}");
            assert!(answer.reason().contains("choose a new one"), "{what}: {}", answer.body);
            assert_eq!(everything_but_the_audit_log(t).await, before, "{what} changed nothing");
        }
        let answer = post_json(t, "192.0.2.9", "/api/v1/password", Some(&token), &json!({"current": "from the administrator", "new": "li's own password"})).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
        assert_eq!(t.get("/api/v1/whoami", Some(&token)).await.0, StatusCode::OK);
        let answer = login_from(t, "192.0.2.9", "li", "li's own password").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.body.get("must_change_password").is_none(), "{}", answer.body);
    }

    async fn common_passwords_are_refused_everywhere(t: &TestServer) {
        let before = everything_but_the_audit_log(t).await;
        for common in ["123456789", "woaini1314", "5201314520", "qq123456", "a123456789", "Password1"] {
            let added = admin::add_user(&t.db, "zhou", common, auth::Role::Worker, None, std::slice::from_ref(&t.wang_village), t.now()).await;
            assert!(added.unwrap_err().to_string().contains("most common"), "user add {common}");
            let reset = admin::reset_password(&t.db, "wang", common).await;
            assert!(reset.unwrap_err().to_string().contains("most common"), "reset {common}");
            assert_eq!(everything_but_the_audit_log(t).await, before, "{common} changed nothing");
        }
        let token = t.login("wang").await;
        let before = everything_but_the_audit_log(t).await;
        for common in ["qq123456", "WOAINI1314", "1qaz2wsx"] {
            let answer = post_json(t, "192.0.2.10", "/api/v1/password", Some(&token), &json!({"current": PASSWORD, "new": common})).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{common}");
            assert_eq!(answer.body["field"], "new");
            assert!(answer.reason().contains("most common"), "{}", answer.body);
            assert_eq!(everything_but_the_audit_log(t).await, before, "{common} changed nothing");
        }
    }

    async fn every_event_kind_is_audited_with_ids_only(t: &TestServer) {
        let wang_id = user_id(t, "wang").await;
        let zhao_id = user_id(t, "zhao").await;
        let from = "192.0.2.20";
        // Sign-ins: good, a wrong password, an unknown username that is
        // really a password typed into the wrong box.
        let answer = login_from(t, from, "wang", PASSWORD).await;
        let wang = answer.body["token"].as_str().unwrap().to_string();
        login_from(t, from, "wang", "not the password").await;
        login_from(t, from, "Secret-Pass-Typed-Here", "").await;
        // Refusals: 401, 403.
        get(t, from, "/api/v1/whoami", None).await;
        get(t, from, "/api/v1/township/summary", Some(&wang)).await;
        // A device key.
        post_json(t, from, "/api/v1/device-key", Some(&wang), &json!({"device": device(1), "password": PASSWORD})).await;
        // A settle: a conflict made by two phones.
        let (household, created) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        t.push(&wang, device(1), &created).await;
        t.advance(1_000);
        let mut on_a = household.clone();
        on_a.address = Some("东街1号".into());
        let edits_a = edit(&household, &on_a, device(1), created.len() as u64 + 1, t.now());
        let mut on_b = household.clone();
        on_b.address = Some("西街2号".into());
        let edits_b = edit(&household, &on_b, device(2), 1, t.now() + 1);
        t.push(&wang, device(2), &edits_b).await;
        t.push(&wang, device(1), &edits_a).await;
        let (_, body) = t.get("/api/v1/conflicts", Some(&wang)).await;
        let conflicts: Vec<Conflict> = serde_json::from_value(body["conflicts"].clone()).unwrap();
        assert_eq!(conflicts.len(), 1, "{body}");
        let zhao = t.login("zhao").await;
        let answer = post_json(t, from, "/api/v1/conflicts/settle", Some(&zhao), &json!({"record": conflicts[0].record, "field": "address", "value": "东街1号"})).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        // A password change, a reset, and a 429.
        post_json(t, from, "/api/v1/password", Some(&wang), &json!({"current": PASSWORD, "new": "a better password"})).await;
        admin::reset_password(&t.db, "wang", "set by the admin").await.unwrap();
        for _ in 0..6 {
            login_from(t, "198.51.100.99", "li", "guess guess").await;
        }

        let log = audit_log(t).await;
        let kinds: std::collections::BTreeSet<&str> = log.iter().map(|e| e.0.as_str()).collect();
        for kind in ["login", "login_failed", "refused", "device_key", "settle", "password_changed"] {
            assert!(kinds.contains(kind), "{kind} in {kinds:?}");
        }
        let has = |kind: &str, status: i64, user: Option<&str>| {
            log.iter().any(|e| e.0 == kind && e.4 == Some(status) && e.1.as_deref() == user)
        };
        assert!(has("login", 200, Some(&wang_id)));
        assert!(has("login_failed", 401, Some(&wang_id)));
        assert!(has("login_failed", 401, None), "the unknown username, without a user");
        assert!(has("refused", 401, None));
        assert!(has("refused", 403, Some(&wang_id)), "the 403 names the signed-in user");
        assert!(has("refused", 429, None));
        assert!(has("settle", 200, Some(&zhao_id)));
        assert!(log.iter().any(|e| e.0 == "settle" && e.5.contains(&household.id.to_string())));
        assert!(log.iter().any(|e| e.0 == "device_key" && e.5.contains(&device(1).0.to_string())));
        let refused_403 = log.iter().find(|e| e.0 == "refused" && e.4 == Some(403)).unwrap();
        assert_eq!(refused_403.3.as_deref(), Some("/api/v1/township/summary"));
        assert!(refused_403.5.contains("officer") || refused_403.5.len() > 10, "{refused_403:?}");
        // (zhao signed in through the test router, which has no address.)
        let sign_ins = log.iter().filter(|e| e.0.starts_with("login") && e.1.as_deref() != Some(&zhao_id));
        assert!(sign_ins.clone().count() == 8 && sign_ins.clone().all(|e| e.2.is_some()), "sign-ins carry the address: {log:?}");
        // Nothing personal: no names, no typed text, no record values.
        let text = format!("{log:?}");
        for personal in ["wang", "zhao", "Secret-Pass-Typed-Here", "not the password", "guess", "东街", "西街", "王庄", "correct horse", "set by the admin"] {
            assert!(!text.contains(personal), "{personal} in the audit log: {text}");
        }
        // A refused request's audit entry is the only thing it wrote.
        let before = everything_but_the_audit_log(t).await;
        let entries = log.len();
        get(t, from, "/api/v1/conflicts", Some("forged")).await;
        assert_eq!(everything_but_the_audit_log(t).await, before);
        assert_eq!(audit_log(t).await.len(), entries + 1);
        // Old entries go.
        t.advance(401 * DAY_MS);
        let kept = fieldbook_server::audit::prune(&t.db, t.now(), 400 * DAY_MS).await.unwrap();
        assert_eq!(kept as usize, entries + 1, "all older than 400 days");
        assert!(audit_log(t).await.is_empty());
    }
}

/// The admin commands write their events, and `audit` prints them, one a
/// line (SQLite; the commands are the same on PostgreSQL).
#[test]
fn admin_commands_are_audited_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fieldbook-server"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let village = run(
        &["village", "add", "--name", "王庄村", "--township", "石桥镇"],
        "",
    );
    let village = village.trim();
    run(
        &[
            "user",
            "add",
            "wang",
            "--role",
            "worker",
            "--village",
            village,
        ],
        "correct horse battery\n",
    );
    run(&["user", "reset-password", "wang"], "another good one\n");
    run(&["user", "disable", "wang"], "");
    run(
        &[
            "export",
            "--out",
            dir.path().join("export.json").to_str().unwrap(),
        ],
        "",
    );
    // A common password is refused and logs nothing.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_fieldbook-server"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "user",
            "add",
            "li",
            "--role",
            "worker",
            "--village",
            village,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"woaini1314\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("most common"));

    let printed = run(&["audit"], "");
    let lines: Vec<&str> = printed.lines().collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "village_add",
            "user_add",
            "password_reset",
            "user_disable",
            "export"
        ],
        "{printed}"
    );
    assert!(
        lines[0].contains(&format!("village={village}")),
        "{printed}"
    );
    // The reader sees the login name; the log keeps the id.
    assert!(
        lines[1].contains("user=wang(") && lines[1].contains("role=worker"),
        "{printed}"
    );
    let by_user = run(&["audit", "--user", "wang"], "");
    assert_eq!(by_user.lines().count(), 3, "{by_user}");
    let future = run(&["audit", "--since", "2999-01-01"], "");
    assert_eq!(future, "");
    // Reading the log is itself logged.
    let again = run(&["audit", "--since", "2000-01-01"], "");
    assert!(again.lines().any(|l| l.contains(" audit_read ")), "{again}");
}

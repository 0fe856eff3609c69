//! The sync API through `app()`, on SQLite and on PostgreSQL: sessions,
//! push and pull, convergence, access, clocks, conflicts, the township
//! summary, and a catalogue of bad requests that each change nothing.

mod common;

use common::*;
use fieldbook_core::sync::{Change, Conflict, Hlc, Replica};
use http::StatusCode;
use serde_json::{Value, json};

/// One bad request: what it is, method, path, token, body, the status it
/// must get, and the field its answer must name.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<Vec<u8>>,
    StatusCode,
    Option<&'a str>,
);

/// Applies changes to a fresh replica: what a phone would hold.
fn phone_state(changes: &[Change]) -> Replica {
    let mut replica = Replica::new();
    for change in changes {
        replica.apply(change.clone());
    }
    replica
}

on_both! {
    async fn device_keys_are_each_users_own_and_want_the_password(t: &TestServer) {
        let device = "0190a5c8-1111-7000-8000-000000000001";
        let ask = json!({"device": device, "password": PASSWORD});
        // No session: 401, and nothing made.
        let (status, _) = t.post("/api/v1/device-key", None, &ask).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let wang = t.login("wang").await;
        let (status, first) = t.post("/api/v1/device-key", Some(&wang), &ask).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["device"], device);
        let secret = first["secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
        // Asked again (a recovery after a forgotten PIN): the same secret.
        let (status, again) = t.post("/api/v1/device-key", Some(&wang), &ask).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["secret"], secret.as_str());

        // A session alone is not enough: the password is checked again.
        let (status, body) = t
            .post(
                "/api/v1/device-key",
                Some(&wang),
                &json!({"device": device, "password": "wrong password"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["message"], "wrong password");

        // Another user asking for the same device gets her own secret,
        // never wang's.
        let li = t.login("li").await;
        let (status, hers) = t.post("/api/v1/device-key", Some(&li), &ask).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(hers["secret"], secret.as_str());
        let (_, wangs) = t.post("/api/v1/device-key", Some(&wang), &ask).await;
        assert_eq!(wangs["secret"], secret.as_str());

        // Unknown fields and a malformed device id are refused.
        let (status, _) = t
            .post(
                "/api/v1/device-key",
                Some(&wang),
                &json!({"device": "not a uuid", "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = t
            .post(
                "/api/v1/device-key",
                Some(&wang),
                &json!({"device": device, "password": PASSWORD, "user": "li"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    async fn login_whoami_logout(t: &TestServer) {
        let token = t.login("wang").await;
        let (status, me) = t.get("/api/v1/whoami", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["user"]["username"], "wang");
        assert_eq!(me["user"]["role"], "worker");
        assert_eq!(me["user"]["villages"][0]["name"], "王庄村");
        assert_eq!(me["server_time_ms"], t.now());

        let (status, _) = t.post("/api/v1/logout", Some(&token), &json!({})).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = t.get("/api/v1/whoami", Some(&token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "unauthorized");

        let (status, body) = t
            .post("/api/v1/login", None, &json!({"username": "wang", "password": "wrong password"}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["message"], "wrong username or password");
        // A username that does not exist reads the same.
        let (status, body2) = t
            .post("/api/v1/login", None, &json!({"username": "nobody", "password": PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, body2);
    }

    async fn a_push_retried_three_times_applies_once(t: &TestServer) {
        let token = t.login("wang").await;
        let phone = device(1);
        let (_, changes) = new_household(&t.wang_village, "001", phone, 1, t.now());
        let before = t.snapshot().await;
        let mut answers = Vec::new();
        for _ in 0..3 {
            let (status, body) = t.push(&token, phone, &changes).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            answers.push(body["accepted"].clone());
        }
        let all: Vec<u64> = changes.iter().map(|c| c.seq).collect();
        for accepted in &answers {
            assert_eq!(accepted, &json!(all), "every retry is acknowledged whole");
        }
        assert_eq!(t.changes_from(phone).await, changes.len() as i64, "applied once");
        let after = t.snapshot().await;
        assert_eq!(after.len() - before.len(), changes.len() + 1, "the changes and one record");
        // A retry with the same numbers but other content is refused.
        let mut altered = changes.clone();
        altered[0].value = json!("tampered");
        let (status, body) = t.push(&token, phone, &altered[..1]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["accepted"], json!([]));
        assert_eq!(body["rejected"][0]["seq"], altered[0].seq);
        assert_eq!(t.snapshot().await, after);
    }

    async fn two_devices_editing_one_household_converge(t: &TestServer) {
        let token = t.login("wang").await;
        let (a, b) = (device(1), device(2));
        let (household, created) = new_household(&t.wang_village, "001", a, 1, t.now());
        assert_eq!(t.push(&token, a, &created).await.0, StatusCode::OK);
        let next_a = created.len() as u64 + 1;

        // Both phones, offline: A changes the phone number, B the group;
        // both change the address.
        t.advance(60_000);
        let mut on_a = household.clone();
        on_a.phone = Some("13800000001".into());
        on_a.address = Some("东街1号".into());
        let edits_a = edit(&household, &on_a, a, next_a, t.now());
        t.advance(1_000);
        let mut on_b = household.clone();
        on_b.group = Some("三组".into());
        on_b.address = Some("西街2号".into());
        let edits_b = edit(&household, &on_b, b, 1, t.now());

        // B syncs first, then A, each pushing and pulling twice.
        for _ in 0..2 {
            for (phone, edits) in [(b, &edits_b), (a, &edits_a)] {
                let (status, body) = t.push(&token, phone, edits).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["rejected"], json!([]));
            }
        }
        let on_phone_a = phone_state(&t.pull_all(&token, 3).await);
        let on_phone_b = phone_state(&t.pull_all(&token, 1000).await);
        assert_eq!(on_phone_a, on_phone_b, "both phones end alike");
        let data = on_phone_a.materialize().dataset;
        let merged = data.households.iter().find(|h| h.id == household.id).unwrap();
        assert_eq!(merged.phone.as_deref(), Some("13800000001"), "A's field");
        assert_eq!(merged.group.as_deref(), Some("三组"), "B's field");
        assert_eq!(merged.address.as_deref(), Some("西街2号"), "the later edit of the same field wins");

        // The loser is kept as a conflict, on the server and on the phones.
        let (status, body) = t.get("/api/v1/conflicts", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        let conflicts: Vec<Conflict> = serde_json::from_value(body["conflicts"].clone()).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].field, "address");
        assert_eq!(conflicts[0].lost.value, json!("东街1号"));
        assert_eq!(on_phone_a.conflicts(), conflicts);

        // The officer settles it; the choice reaches the phones as a change.
        let officer = t.login("zhao").await;
        let (status, body) = t
            .post(
                "/api/v1/conflicts/settle",
                Some(&officer),
                &json!({"record": conflicts[0].record, "field": "address", "value": "东街1号"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, body) = t.get("/api/v1/conflicts", Some(&token)).await;
        assert_eq!(body["conflicts"], json!([]));
        let settled = phone_state(&t.pull_all(&token, 1000).await);
        assert!(settled.conflicts().is_empty());
        let data = settled.materialize().dataset;
        assert_eq!(data.households.iter().find(|h| h.id == household.id).unwrap().address.as_deref(), Some("东街1号"));
    }

    async fn a_worker_cannot_reach_another_village(t: &TestServer) {
        let li = t.login("li").await;
        let (_, theirs) = new_household(&t.li_village, "009", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &theirs).await.0, StatusCode::OK);

        let wang = t.login("wang").await;
        let before = t.snapshot().await;
        // Writing into 李庄村: a new household there, and an edit of theirs.
        let (_, intrusion) = new_household(&t.li_village, "010", device(1), 1, t.now());
        let (status, body) = t.push(&wang, device(1), &intrusion).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let mut edit_theirs = theirs[0].clone();
        edit_theirs.device = device(1);
        edit_theirs.seq = 1;
        edit_theirs.field = "phone".into();
        edit_theirs.value = json!("110");
        let (status, _) = t.push(&wang, device(1), &[edit_theirs]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Mixed with her own: the whole push is refused.
        let (_, own) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        let mut mixed = own.clone();
        let (_, more) = new_household(&t.li_village, "011", device(1), own.len() as u64 + 1, t.now());
        mixed.extend(more);
        assert_eq!(t.push(&wang, device(1), &mixed).await.0, StatusCode::FORBIDDEN);
        // Nor may she rename her own village: villages are the administrator's.
        let village_ref = fieldbook_core::sync::RecordRef {
            kind: fieldbook_core::sync::RecordKind::Village,
            id: fieldbook_core::Id::parse_str(&t.wang_village).unwrap(),
        };
        let mut rename = own[0].clone();
        rename.record = village_ref;
        rename.field = "name".into();
        rename.value = json!("新村");
        rename.seq = 1;
        let (status, body) = t.push(&wang, device(1), &[rename]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["accepted"], json!([]));
        assert!(body["rejected"][0]["reason"].as_str().unwrap().contains("administrator"));
        // Reading: 李庄村's conflicts, and its records never come in a pull.
        let path = format!("/api/v1/conflicts?village={}", t.li_village);
        assert_eq!(t.get(&path, Some(&wang)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(t.get("/api/v1/township/summary", Some(&wang)).await.0, StatusCode::FORBIDDEN);
        let pulled = t.pull_all(&wang, 100).await;
        assert!(pulled.iter().all(|c| !theirs.contains(c)));
        assert_eq!(t.snapshot().await, before, "nothing changed");
    }

    async fn a_stamp_from_the_future_is_clamped_and_flagged(t: &TestServer) {
        let token = t.login("wang").await;
        let ahead = t.now() + 365 * 24 * 3600 * 1000;
        let (_, changes) = new_household(&t.wang_village, "001", device(1), 1, ahead);
        let (status, body) = t.push(&token, device(1), &changes).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["server_time_ms"], t.now());
        let (_, page) = t.post("/api/v1/sync/pull", Some(&token), &json!({"cursor": 0, "limit": 100})).await;
        let mine: Vec<&Value> = page["changes"].as_array().unwrap().iter()
            .filter(|c| c["change"]["device"] == json!(device(1))).collect();
        assert_eq!(mine.len(), changes.len());
        for c in mine {
            assert_eq!(c["clamped"], true);
            let ts: Hlc = serde_json::from_value(c["change"]["ts"].clone()).unwrap();
            assert!(ts.wall_ms <= t.now(), "clamped to the server's time");
        }
        assert_eq!(page["server_time_ms"], t.now());
        // A retry of the same push is still recognised.
        let (_, body) = t.push(&token, device(1), &changes).await;
        assert_eq!(body["accepted"].as_array().unwrap().len(), changes.len());
        assert_eq!(t.changes_from(device(1)).await, changes.len() as i64);
    }

    async fn pull_pages_follow_the_cursor(t: &TestServer) {
        let token = t.login("wang").await;
        let (_, a) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        let (_, b) = new_household(&t.wang_village, "002", device(1), a.len() as u64 + 1, t.now());
        t.push(&token, device(1), &a).await;
        t.push(&token, device(1), &b).await;
        let all = t.pull_all(&token, 1000).await;
        let paged = t.pull_all(&token, 2).await;
        assert_eq!(all, paged);
        assert!(a.iter().chain(&b).all(|c| all.contains(c)));
        // At the head: an empty page that keeps the cursor.
        let (_, head) = t.post("/api/v1/sync/pull", Some(&token), &json!({"cursor": 0, "limit": 5000})).await;
        let cursor = head["next_cursor"].as_u64().unwrap();
        let (status, page) = t.post("/api/v1/sync/pull", Some(&token), &json!({"cursor": cursor, "limit": 10})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["changes"], json!([]));
        assert_eq!(page["next_cursor"], cursor);
        assert_eq!(page["more"], false);
    }

    async fn the_township_sees_its_villages_side_by_side(t: &TestServer) {
        let wang = t.login("wang").await;
        let (_, changes) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        t.push(&wang, device(1), &changes).await;
        let officer = t.login("zhao").await;
        let (status, body) = t.get("/api/v1/township/summary?period=2026-Q4", Some(&officer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let villages = body["villages"].as_array().unwrap();
        let names: Vec<&str> = villages.iter().map(|v| v["village"]["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"王庄村") && names.contains(&"李庄村"));
        let wang_line = villages.iter().find(|v| v["village"]["name"] == "王庄村").unwrap();
        assert_eq!(wang_line["households"], 1);
        assert_eq!(wang_line["last_sync_ms"], t.now());
        assert!(!wang_line["indicators"].as_array().unwrap().is_empty());
        assert_eq!(body["period"]["kind"], "quarter");
        // A tap on a village: its indicators with the people behind them.
        let path = format!("/api/v1/township/indicators?village={}&period=2026", t.wang_village);
        let (status, detail) = t.get(&path, Some(&officer)).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["village"]["name"], "王庄村");
        assert!(detail["indicators"][0]["denominator"].is_array());
        assert_eq!(t.get(&path, Some(&wang)).await.0, StatusCode::FORBIDDEN);
        let elsewhere = "/api/v1/township/indicators?village=00000000-0000-0000-0000-000000000000";
        assert_eq!(t.get(elsewhere, Some(&officer)).await.0, StatusCode::FORBIDDEN);
        let (status, body) = t.get("/api/v1/township/summary?period=2026-Q9", Some(&officer)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "period");
        // An officer reads but does not push.
        let (_, own) = new_household(&t.wang_village, "002", device(3), 1, t.now());
        assert_eq!(t.push(&officer, device(3), &own).await.0, StatusCode::FORBIDDEN);
    }

    async fn logins_are_rate_limited_per_user(t: &TestServer) {
        for _ in 0..5 {
            let (status, _) = t
                .post("/api/v1/login", None, &json!({"username": "wang", "password": "guess guess"}))
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, body) = t
            .post("/api/v1/login", None, &json!({"username": "wang", "password": PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert_eq!(body["error"], "too_many_requests");
        // Another user is not locked out by wang's attempts.
        t.login("li").await;
        // The window passes.
        t.advance(16 * 60 * 1000);
        t.login("wang").await;
    }

    async fn logins_sent_all_at_once_do_not_slip_past_the_limit(t: &TestServer) {
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let router = t.router.clone();
            attempts.spawn(async move {
                use tower::ServiceExt;
                let request = http::Request::post("/api/v1/login")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"username": "wang", "password": "a wrong guess"}).to_string(),
                    ))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            });
        }
        let statuses = attempts.join_all().await;
        let tried = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let stopped = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((tried, stopped), (5, 7), "{statuses:?}");
    }

    async fn sessions_end_when_expired_revoked_or_the_user_is_disabled(t: &TestServer) {
        let token = t.login("wang").await;
        t.advance(fieldbook_server::SESSION_TTL_MS + 1);
        let (status, body) = t.get("/api/v1/whoami", Some(&token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].as_str().unwrap().contains("expired"));

        let token = t.login("li").await;
        fieldbook_server::admin::reset_password(&t.db, "li", "a new password 2").await.unwrap();
        assert_eq!(t.get("/api/v1/whoami", Some(&token)).await.0, StatusCode::UNAUTHORIZED);

        let token = t.login("zhao").await;
        fieldbook_server::admin::disable_user(&t.db, "zhao").await.unwrap();
        assert_eq!(t.get("/api/v1/whoami", Some(&token)).await.0, StatusCode::UNAUTHORIZED);
        let (status, _) = t
            .post("/api/v1/login", None, &json!({"username": "zhao", "password": PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn bad_requests_get_their_4xx_and_change_nothing(t: &TestServer) {
        let wang = t.login("wang").await;
        let (_, seed) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        t.push(&wang, device(1), &seed).await;
        let expired = t.login("li").await;
        let revoked = t.login("zhao").await;
        t.post("/api/v1/logout", Some(&revoked), &json!({})).await;
        let officer = t.login("admin").await;
        let (_, good) = new_household(&t.wang_village, "002", device(2), 1, t.now());
        let good_push = json!({"device": device(2), "changes": good});
        let mut unknown = good_push.clone();
        unknown["changes"][0]["colour"] = json!("red");
        let mut wrong_type = good_push.clone();
        wrong_type["changes"][0]["seq"] = json!("seven");
        let mut negative = good_push.clone();
        negative["changes"][0]["seq"] = json!(-1);
        let mut other_device = good_push.clone();
        other_device["device"] = json!(device(3));
        let huge = format!("{{\"device\":\"{}\",\"changes\":[{}]}}", device(2).0, vec!["{}"; 3_000_000].join(","));

        // Make li's session expire without touching the others: it is the
        // oldest after moving the clock… so instead expire it in the table.
        sqlx::query("UPDATE sessions SET expires_ms = 1 WHERE token_hash = $1")
            .bind(fieldbook_server::auth::token_hash(&expired))
            .execute(&t.db.pool)
            .await
            .unwrap();

        let before = t.snapshot().await;
        let push = "/api/v1/sync/push";
        let pull = "/api/v1/sync/pull";
        let bytes = |v: &Value| Some(serde_json::to_vec(v).unwrap());
        let cases: Vec<Case<'_>> = vec![
            ("malformed JSON", "POST", push, Some(&wang), Some(b"{\"device\": ".to_vec()), StatusCode::BAD_REQUEST, None),
            ("trailing garbage", "POST", push, Some(&wang), Some(b"{} {}".to_vec()), StatusCode::BAD_REQUEST, None),
            ("not JSON at all", "POST", pull, Some(&wang), Some(b"cursor=0".to_vec()), StatusCode::BAD_REQUEST, None),
            ("oversize body", "POST", push, Some(&wang), Some(huge.into_bytes()), StatusCode::PAYLOAD_TOO_LARGE, None),
            ("unknown field", "POST", push, Some(&wang), bytes(&unknown), StatusCode::BAD_REQUEST, Some("changes[0]")),
            ("unknown top-level field", "POST", pull, Some(&wang), bytes(&json!({"cursor": 0, "limit": 5, "since": 1})), StatusCode::BAD_REQUEST, None),
            ("wrong type", "POST", push, Some(&wang), bytes(&wrong_type), StatusCode::BAD_REQUEST, Some("changes[0].seq")),
            ("negative number", "POST", push, Some(&wang), bytes(&negative), StatusCode::BAD_REQUEST, Some("changes[0].seq")),
            ("missing field", "POST", pull, Some(&wang), bytes(&json!({"cursor": 0})), StatusCode::BAD_REQUEST, None),
            ("cursor ahead of the server", "POST", pull, Some(&wang), bytes(&json!({"cursor": 999_999, "limit": 5})), StatusCode::BAD_REQUEST, Some("cursor")),
            ("cursor as text", "POST", pull, Some(&wang), bytes(&json!({"cursor": "abc", "limit": 5})), StatusCode::BAD_REQUEST, Some("cursor")),
            ("page of zero", "POST", pull, Some(&wang), bytes(&json!({"cursor": 0, "limit": 0})), StatusCode::BAD_REQUEST, Some("limit")),
            ("no token", "POST", push, None, bytes(&good_push), StatusCode::UNAUTHORIZED, None),
            ("expired token", "POST", push, Some(&expired), bytes(&good_push), StatusCode::UNAUTHORIZED, None),
            ("revoked token", "POST", push, Some(&revoked), bytes(&good_push), StatusCode::UNAUTHORIZED, None),
            ("forged token", "POST", push, Some("bm90IGEgcmVhbCB0b2tlbg"), bytes(&good_push), StatusCode::UNAUTHORIZED, None),
            ("wrong role pushes", "POST", push, Some(&officer), bytes(&good_push), StatusCode::FORBIDDEN, None),
            ("wrong role reads the summary", "GET", "/api/v1/township/summary", Some(&wang), None, StatusCode::FORBIDDEN, None),
            ("login without a password", "POST", "/api/v1/login", None, bytes(&json!({"username": "wang"})), StatusCode::BAD_REQUEST, None),
            ("unknown route", "GET", "/api/v1/nothing", Some(&wang), None, StatusCode::NOT_FOUND, None),
            ("settle a field with no conflict", "POST", "/api/v1/conflicts/settle", Some(&wang),
                bytes(&json!({"record": seed[0].record, "field": "number", "value": "999"})), StatusCode::CONFLICT, None),
            ("unknown query parameter", "GET", "/api/v1/township/summary?perod=2026", Some(&officer), None, StatusCode::BAD_REQUEST, None),
            ("a date that is no date", "GET", "/api/v1/township/summary?today=2026-02-30", Some(&officer), None, StatusCode::BAD_REQUEST, None),
            ("settle a value of the wrong type", "POST", "/api/v1/conflicts/settle", Some(&wang),
                bytes(&json!({"record": seed[0].record, "field": "flags", "value": 7})), StatusCode::BAD_REQUEST, Some("value")),
        ];
        for (what, method, path, token, body, expected, field) in cases {
            let (status, answer) = t.send(method, path, token, body).await;
            assert_eq!(status, expected, "{what}: {answer}");
            assert!(answer["error"].is_string() && answer["message"].is_string(), "{what}: {answer}");
            if let Some(field) = field {
                assert!(answer["field"].as_str().unwrap_or("").starts_with(field), "{what}: {answer}");
            }
            assert!(!answer.to_string().contains("sqlx"), "{what}: no internals");
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }
        // A push from one device claiming another's changes: rejected, with reasons.
        let (status, body) = t.post(push, Some(&wang), &other_device).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["accepted"], json!([]));
        assert_eq!(body["rejected"].as_array().unwrap().len(), good.len());
        assert_eq!(t.snapshot().await, before);
    }
}

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

/// One bad request with its headers as sent: what it is, method, path, the
/// whole `Authorization` header, the `Content-Type`, body, the status it
/// must get, and the field its answer must name.
type RawCase<'a> = (
    String,
    &'a str,
    &'a str,
    Option<String>,
    Option<&'a str>,
    Option<Vec<u8>>,
    StatusCode,
    Option<&'a str>,
);

/// `value` as JSON text with the string `"@@"` in it replaced by `raw`: the
/// bodies serde will not write (bad UTF-8, `1e400`, 10,000 levels).
fn splice(value: &Value, raw: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(value).unwrap();
    let at = text
        .windows(4)
        .position(|w| w == b"\"@@\"")
        .expect("a \"@@\" to replace");
    [&text[..at], raw, &text[at + 4..]].concat()
}

/// Applies changes to a fresh replica: what a phone would hold.
fn phone_state(changes: &[Change]) -> Replica {
    let mut replica = Replica::new();
    for change in changes {
        replica.apply(change.clone());
    }
    replica
}

/// Every page of the snapshot for `token`, `limit` records a page: the
/// replica a new phone builds from it, and the first page's cursor (where
/// its pulls start).
async fn bootstrap(t: &TestServer, token: &str, limit: u32) -> (Replica, u64, Vec<Conflict>) {
    let mut after = None;
    let mut first_cursor = None;
    let mut states = Vec::new();
    let mut conflicts = Vec::new();
    loop {
        let page = t.snapshot_page(token, after, limit).await;
        first_cursor.get_or_insert(page.cursor);
        after = page.records.last().map(|r| r.record).or(after);
        conflicts.extend(page.conflicts);
        for record in page.records {
            let state = record.into_state().unwrap();
            assert!(page.max_ts >= state.latest());
            states.push(state);
        }
        if !page.more {
            break;
        }
    }
    (
        Replica::from_records(states),
        first_cursor.unwrap(),
        conflicts,
    )
}

/// The changes after `cursor`, every page.
async fn pull_from(t: &TestServer, token: &str, cursor: u64) -> Vec<Change> {
    t.pull_log(token, cursor, 3)
        .await
        .into_iter()
        .map(|logged| logged.change)
        .collect()
}

on_both! {
    async fn a_new_phone_bootstraps_from_a_snapshot_and_ends_as_one_that_pulled_everything(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let (a, b) = (device(1), device(2));
        let (household, created) = new_household(&t.wang_village, "001", a, 1, t.now());
        let (_, second) = new_household(&t.wang_village, "002", a, created.len() as u64 + 1, t.now());
        assert_eq!(t.push(&wang, a, &created).await.0, StatusCode::OK);
        assert_eq!(t.push(&wang, a, &second).await.0, StatusCode::OK);
        let (_, theirs) = new_household(&t.li_village, "009", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &theirs).await.0, StatusCode::OK);
        // Two phones edit one field without seeing each other: a conflict;
        // then A edits it again (the old value dropped from the state).
        let next_a = (created.len() + second.len()) as u64 + 1;
        t.advance(1_000);
        let mut on_a = household.clone();
        on_a.address = Some("东街1号".into());
        let edits_a = edit(&household, &on_a, a, next_a, t.now());
        t.advance(1_000);
        let mut on_b = household.clone();
        on_b.address = Some("西街2号".into());
        let edits_b = edit(&household, &on_b, b, 1, t.now());
        assert_eq!(t.push(&wang, a, &edits_a).await.0, StatusCode::OK);
        assert_eq!(t.push(&wang, b, &edits_b).await.0, StatusCode::OK);

        let (mut phone, cursor, conflicts) = bootstrap(t, &wang, 2).await;
        let everything = phone_state(&t.pull_all(&wang, 1000).await);
        assert_eq!(phone.materialize(), everything.materialize());
        assert_eq!(phone.conflicts(), everything.conflicts());
        assert_eq!(conflicts, everything.conflicts());
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let (_, listed) = t.get("/api/v1/conflicts", Some(&wang)).await;
        assert_eq!(json!(conflicts), listed["conflicts"]);
        // Only her village: li's household is not in it.
        assert_eq!(phone.materialize().dataset.households.len(), 2);
        assert_eq!(phone.materialize().dataset.villages.len(), 1);
        // The snapshot stands for every change so far: nothing left to pull.
        assert!(cursor > 0);
        assert_eq!(pull_from(t, &wang, cursor).await, Vec::<Change>::new());

        // Changes after the snapshot come by ordinary pulls from its cursor:
        // A settles the conflict, B adds a household.
        t.advance(1_000);
        let field = everything.field(&edits_a[0].record, "address").unwrap();
        let settle = field.settle(json!("南街3号"), Hlc::new(t.now(), 0), a, next_a + 1);
        assert_eq!(t.push(&wang, a, std::slice::from_ref(&settle)).await.0, StatusCode::OK);
        let (_, third) = new_household(&t.wang_village, "003", b, 2, t.now());
        assert_eq!(t.push(&wang, b, &third).await.0, StatusCode::OK);
        for change in pull_from(t, &wang, cursor).await {
            phone.apply(change);
        }
        let everything = phone_state(&t.pull_all(&wang, 1000).await);
        assert_eq!(phone.materialize(), everything.materialize());
        assert_eq!(phone.conflicts(), Vec::<Conflict>::new());
        assert_eq!(phone.conflicts(), everything.conflicts());

        // The officer's snapshot holds both villages; one page of a large
        // limit is the same as small pages.
        let zhao = t.login("zhao").await;
        let (township, _, _) = bootstrap(t, &zhao, 10_000).await;
        let (small, _, _) = bootstrap(t, &zhao, 1).await;
        assert_eq!(township.materialize(), small.materialize());
        assert_eq!(township.materialize().dataset.villages.len(), 2);
        assert_eq!(township.materialize().dataset.households.len(), 4);
    }

    async fn a_snapshot_checks_its_page_size_and_session(t: &TestServer) {
        let wang = t.login("wang").await;
        for limit in [0, 10_001] {
            let (status, body) = t
                .post("/api/v1/sync/snapshot", Some(&wang), &json!({"limit": limit}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["field"], "limit");
        }
        let (status, _) = t.post("/api/v1/sync/snapshot", None, &json!({"limit": 10})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = t
            .post("/api/v1/sync/snapshot", Some(&wang), &json!({"limit": 10, "since": 1}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "since");
    }

    async fn every_snapshot_page_tells_how_many_records_the_snapshot_holds(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let a = device(1);
        let (_, created) = new_household(&t.wang_village, "001", a, 1, t.now());
        let (_, second) = new_household(&t.wang_village, "002", a, created.len() as u64 + 1, t.now());
        assert_eq!(t.push(&wang, a, &created).await.0, StatusCode::OK);
        assert_eq!(t.push(&wang, a, &second).await.0, StatusCode::OK);
        let (_, theirs) = new_household(&t.li_village, "009", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &theirs).await.0, StatusCode::OK);

        // Her village and its two households, one a page: each page says 3,
        // and three pages bring 3 records.
        let mut after = None;
        let mut received = 0;
        loop {
            let page = t.snapshot_page(&wang, after, 1).await;
            assert_eq!(page.total, 3, "{page:?}");
            received += page.records.len();
            after = page.records.last().map(|r| r.record).or(after);
            if !page.more {
                break;
            }
        }
        assert_eq!(received, 3);
        // The officer's snapshot counts both villages (2 + 3 households).
        let zhao = t.login("zhao").await;
        assert_eq!(t.snapshot_page(&zhao, None, 10_000).await.total, 5);
        // A record made after the first page is counted by the next.
        let (_, third) = new_household(&t.wang_village, "003", a, (created.len() + second.len()) as u64 + 1, t.now());
        assert_eq!(t.push(&wang, a, &third).await.0, StatusCode::OK);
        assert_eq!(t.snapshot_page(&wang, after, 1).await.total, 4);
    }

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

        // Another user never gets wang's secret: the phone is wang's now
        // (devices belong to users), so li asking for it is refused; her
        // own phone gets a secret of its own.
        let li = t.login("li").await;
        let (status, refused) = t.post("/api/v1/device-key", Some(&li), &ask).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert!(!refused.to_string().contains(&secret));
        let hers_ask = json!({"device": "0190a5c8-1111-7000-8000-000000000002", "password": PASSWORD});
        let (status, hers) = t.post("/api/v1/device-key", Some(&li), &hers_ask).await;
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
        assert_eq!(
            after.len() - before.len(),
            changes.len() + 2,
            "the changes, one record and the phone bound to its user"
        );
        // A retry with the same numbers but other content is refused.
        let mut altered = changes.clone();
        altered[0].value = json!("tampered");
        let (status, body) = t.push(&token, phone, &altered[..1]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["accepted"], json!([]));
        assert_eq!(body["rejected"][0]["seq"], altered[0].seq);
        assert_eq!(t.snapshot().await, after);
    }

    async fn pushes_sent_all_at_once_commit_together_and_each_keeps_its_guarantees(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let (_, page) = t.post("/api/v1/sync/pull", Some(&wang), &json!({"cursor": 0, "limit": 5000})).await;
        let head_before = page["next_cursor"].as_u64().unwrap();
        // Twelve phones of 王庄村, one push of them sent twice, 李庄村's own
        // phone, and a push of 王庄村's worker into 李庄村 (refused whole).
        let mut sends = Vec::new();
        let mut own = Vec::new();
        for n in 1..=12u128 {
            let (_, changes) = new_household(&t.wang_village, &format!("{n:03}"), device(n), 1, t.now());
            sends.push((wang.clone(), device(n), changes.clone(), StatusCode::OK));
            own.push((device(n), changes));
        }
        sends.push((wang.clone(), device(1), own[0].1.clone(), StatusCode::OK));
        let (_, theirs) = new_household(&t.li_village, "009", device(30), 1, t.now());
        sends.push((li.clone(), device(30), theirs.clone(), StatusCode::OK));
        let (_, intrusion) = new_household(&t.li_village, "010", device(20), 1, t.now());
        sends.push((wang.clone(), device(20), intrusion, StatusCode::FORBIDDEN));
        let mut pushes = tokio::task::JoinSet::new();
        for (token, phone, changes, expected) in sends {
            let router = t.router.clone();
            pushes.spawn(async move {
                use tower::ServiceExt;
                let request = http::Request::post("/api/v1/sync/push")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::from(
                        json!({"device": phone, "changes": changes}).to_string(),
                    ))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                assert_eq!(status, expected, "{body}");
                if status == StatusCode::OK {
                    let all: Vec<u64> = changes.iter().map(|c| c.seq).collect();
                    assert_eq!(body["accepted"], json!(all), "{body}");
                }
            });
        }
        pushes.join_all().await;
        // Each push applied once, the repeated one too; the refused one not.
        for (phone, changes) in &own {
            assert_eq!(t.changes_from(*phone).await, changes.len() as i64);
        }
        assert_eq!(t.changes_from(device(20)).await, 0);
        let pulled = t.pull_all(&wang, 1000).await;
        let expected: usize = own.iter().map(|(_, c)| c.len()).sum();
        let phones: Vec<_> = own.iter().map(|(phone, _)| *phone).collect();
        assert_eq!(pulled.iter().filter(|c| phones.contains(&c.device)).count(), expected);
        assert!(own.iter().all(|(_, changes)| changes.iter().all(|c| pulled.contains(c))));
        // The pushes' cursors follow the head before them without a gap:
        // the refused push gave its numbers back.
        let mut cursors = Vec::new();
        let mut head = 0;
        for token in [&wang, &li] {
            let (_, page) = t.post("/api/v1/sync/pull", Some(token), &json!({"cursor": head_before, "limit": 5000})).await;
            cursors.extend(page["changes"].as_array().unwrap().iter().map(|c| c["cursor"].as_u64().unwrap()));
            head = page["next_cursor"].as_u64().unwrap();
        }
        cursors.sort_unstable();
        assert_eq!(head, head_before + (expected + theirs.len()) as u64);
        assert_eq!(cursors, (head_before + 1..=head).collect::<Vec<_>>());
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
        edit_theirs.value = json!("13800000110");
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

    async fn reordered_pushes_are_taken_or_refused_and_never_corrupt(t: &TestServer) {
        let token = t.login("wang").await;
        let phone = device(1);
        let (household, created) = new_household(&t.wang_village, "001", phone, 1, t.now());
        t.advance(1_000);
        let mut first = household.clone();
        first.address = Some("东街1号".into());
        first.phone = Some("13800000110".into());
        let first_edit = edit(&household, &first, phone, created.len() as u64 + 1, t.now());
        t.advance(1_000);
        let mut second = first.clone();
        second.address = Some("西街2号".into());
        let second_edit = edit(&first, &second, phone, (created.len() + first_edit.len()) as u64 + 1, t.now());
        let all: Vec<Change> = created.iter().chain(&first_edit).chain(&second_edit).cloned().collect();

        // Each change alone, the latest number first: each is taken, or
        // refused with a reason (a field of a household not known yet).
        for change in all.iter().rev() {
            let (status, body) = t.push(&token, phone, std::slice::from_ref(change)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let taken = body["accepted"] == json!([change.seq]) && body["rejected"] == json!([]);
            let refused = body["accepted"] == json!([])
                && body["rejected"][0]["seq"] == change.seq
                && body["rejected"][0]["reason"].as_str().is_some_and(|r| r.contains("not known here"));
            assert!(taken != refused, "seq {}: {body}", change.seq);
        }
        // Then everything in one push, in reverse: all held, each once.
        let reversed: Vec<Change> = all.iter().rev().cloned().collect();
        let (status, body) = t.push(&token, phone, &reversed).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let numbers: Vec<u64> = all.iter().map(|c| c.seq).collect();
        assert_eq!(body["accepted"], json!(numbers));
        assert_eq!(body["rejected"], json!([]));
        assert_eq!(t.changes_from(phone).await, all.len() as i64);
        // In order once more: the same answer, nothing stored.
        let held = t.snapshot().await;
        assert_eq!(t.push(&token, phone, &all).await.1["accepted"], json!(numbers));
        assert_eq!(t.snapshot().await, held);
        // The server holds what a phone applying them in order holds.
        let server = phone_state(&t.pull_all(&token, 1000).await).materialize().dataset;
        let in_order = phone_state(&all).materialize().dataset;
        assert_eq!(server.households, in_order.households);
        assert_eq!(server.households, vec![second]);
        let (_, body) = t.get("/api/v1/conflicts", Some(&token)).await;
        assert_eq!(body["conflicts"], json!([]), "one device's own edits never conflict");
    }

    async fn change_numbers_the_database_cannot_hold_are_refused(t: &TestServer) {
        let token = t.login("wang").await;
        let phone = device(1);
        let (household, mut changes) = new_household(&t.wang_village, "001", phone, 1, t.now());
        let mut phoned = household.clone();
        phoned.phone = Some("13800000110".into());
        let mut big = edit(&household, &phoned, phone, 1, t.now());
        big[0].seq = u64::MAX;
        changes.extend(big);
        // Sent twice: the second time is a retry, which must read the same.
        for _ in 0..2 {
            let (status, body) = t.push(&token, phone, &changes).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["accepted"].as_array().unwrap().len(), changes.len() - 1, "{body}");
            assert_eq!(body["rejected"][0]["seq"], json!(u64::MAX), "{body}");
            assert!(body["rejected"][0]["reason"].as_str().unwrap().contains("change number"), "{body}");
        }
        assert_eq!(t.changes_from(phone).await, changes.len() as i64 - 1);
        // Just below the server's limit, a number is taken.
        let mut last = edit(&household, &phoned, phone, i64::MAX as u64, t.now());
        last.truncate(1);
        let (status, body) = t.push(&token, phone, &last).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"], json!([i64::MAX]), "{body}");
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
        let huge_bytes = huge.clone().into_bytes();

        // For the cases added to the first 24: a household of 李庄村, a
        // disabled worker's session, the officer's, and bodies to spoil.
        let li = t.login("li").await;
        let (_, theirs) = new_household(&t.li_village, "009", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &theirs).await.0, StatusCode::OK);
        fieldbook_server::admin::add_user(
            &t.db, "sun", PASSWORD, fieldbook_server::auth::Role::Worker, None,
            std::slice::from_ref(&t.wang_village), t.now(),
        )
        .await
        .unwrap();
        let disabled = t.login("sun").await;
        fieldbook_server::admin::disable_user(&t.db, "sun").await.unwrap();
        let zhao = t.login("zhao").await;
        let (_, elsewhere) = new_household(&t.li_village, "010", device(2), 1, t.now());
        let mut edit_theirs = theirs[0].clone();
        edit_theirs.device = device(2);
        edit_theirs.seq = 1;
        edit_theirs.field = "phone".into();
        edit_theirs.value = json!("13800000110");
        let spoiled = |edit: &dyn Fn(&mut Value)| {
            let mut body = good_push.clone();
            edit(&mut body);
            body
        };
        let spliced = |raw: &[u8]| splice(&spoiled(&|b| b["changes"][0]["value"] = json!("@@")), raw);
        let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        let too_many = json!({"device": device(2), "changes": vec![good[0].clone(); 5_001]});
        let settle_body = |record: &Value, field: &str, value: Value| {
            json!({"record": record, "field": field, "value": value})
        };
        let mine = serde_json::to_value(seed[0].record).unwrap();
        let unknown_record = json!({"kind": "household", "id": "00000000-0000-0000-0000-0000000000aa"});
        let mut padded = br#"{"cursor":0,"limit":5}"#.to_vec();
        padded.resize(fieldbook_server::MAX_BODY_BYTES + 1, b' ');

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
            ("a date that is no date", "GET", "/api/v1/township/summary?today=2026-02-30", Some(&officer), None, StatusCode::BAD_REQUEST, Some("today")),
            ("settle a value of the wrong type", "POST", "/api/v1/conflicts/settle", Some(&wang),
                bytes(&json!({"record": seed[0].record, "field": "flags", "value": 7})), StatusCode::BAD_REQUEST, Some("value")),
        ];
        let settle = "/api/v1/conflicts/settle";
        let login = "/api/v1/login";
        let json = Some("application/json");
        let bearer = |token: &str| Some(format!("Bearer {token}"));
        let raw = |text: &[u8]| Some(text.to_vec());
        let township = format!("/api/v1/township/indicators?village={}", t.wang_village);
        let li_conflicts = format!("/api/v1/conflicts?village={}", t.li_village);
        let added: Vec<RawCase<'_>> = vec![
            // Nesting, encoding and bytes that are not what they claim.
            ("10,000 nested arrays as a pushed value".into(), "POST", push, bearer(&wang), json, Some(spliced(deep_arrays.as_bytes())), StatusCode::BAD_REQUEST, Some("changes[0].value")),
            ("10,000 nested objects as a settled value".into(), "POST", settle, bearer(&wang), json,
                Some(splice(&settle_body(&mine, "notes", json!("@@")), deep_objects.as_bytes())), StatusCode::BAD_REQUEST, Some("value")),
            ("10,000 unclosed brackets as a pull".into(), "POST", pull, bearer(&wang), json, Some("[".repeat(10_000).into_bytes()), StatusCode::BAD_REQUEST, None),
            // 2,000 levels: a login body takes at most 4 KiB (10,000 levels are now a 413 before parsing).
            ("2,000 nested arrays as a login".into(), "POST", login, None, json, Some(format!("{}{}", "[".repeat(2_000), "]".repeat(2_000)).into_bytes()), StatusCode::BAD_REQUEST, None),
            ("invalid UTF-8 inside a pushed string".into(), "POST", push, bearer(&wang), json, Some(spliced(b"\"\xff\xfe\"")), StatusCode::BAD_REQUEST, Some("changes[0].value")),
            ("invalid UTF-8 in a login name".into(), "POST", login, None, json, raw(b"{\"username\":\"\xc3\x28\",\"password\":\"x\"}"), StatusCode::BAD_REQUEST, Some("username")),
            ("a lone surrogate escape".into(), "POST", login, None, json, raw(br#"{"username":"\ud800","password":"x"}"#), StatusCode::BAD_REQUEST, Some("username")),
            ("a byte-order mark before the JSON".into(), "POST", pull, bearer(&wang), json, raw(b"\xef\xbb\xbf{\"cursor\":0,\"limit\":5}"), StatusCode::BAD_REQUEST, None),
            ("a key given twice".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":0,"cursor":1,"limit":5}"#), StatusCode::BAD_REQUEST, None),
            ("null as the body".into(), "POST", pull, bearer(&wang), json, raw(b"null"), StatusCode::BAD_REQUEST, None),
            ("an empty push body".into(), "POST", push, bearer(&wang), json, raw(b""), StatusCode::BAD_REQUEST, None),
            ("an empty settle body".into(), "POST", settle, bearer(&wang), json, raw(b""), StatusCode::BAD_REQUEST, None),
            ("an empty login body".into(), "POST", login, None, json, raw(b""), StatusCode::BAD_REQUEST, None),
            // Content types.
            ("a plain-text push".into(), "POST", push, bearer(&wang), Some("text/plain"), bytes(&good_push), StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ("a pull without a content type".into(), "POST", pull, bearer(&wang), None, raw(br#"{"cursor":0,"limit":5}"#), StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ("a login sent as a form".into(), "POST", login, None, Some("application/x-www-form-urlencoded"), raw(b"username=wang&password=x"), StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            ("a settle sent as application/jsonp".into(), "POST", settle, bearer(&wang), Some("application/jsonp"),
                bytes(&settle_body(&mine, "number", json!("1"))), StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            // Numbers.
            ("a cursor too large for u64".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":18446744073709551616,"limit":5}"#), StatusCode::BAD_REQUEST, Some("cursor")),
            ("a negative cursor".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":-1,"limit":5}"#), StatusCode::BAD_REQUEST, Some("cursor")),
            ("a fractional cursor".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":1.5,"limit":5}"#), StatusCode::BAD_REQUEST, Some("cursor")),
            ("a cursor of \"NaN\"".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":"NaN","limit":5}"#), StatusCode::BAD_REQUEST, Some("cursor")),
            ("a bare NaN".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":NaN,"limit":5}"#), StatusCode::BAD_REQUEST, None),
            ("a page of \"Infinity\"".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":0,"limit":"Infinity"}"#), StatusCode::BAD_REQUEST, Some("limit")),
            ("a page of 5,001".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":0,"limit":5001}"#), StatusCode::BAD_REQUEST, Some("limit")),
            ("a page too large for u32".into(), "POST", pull, bearer(&wang), json, raw(br#"{"cursor":0,"limit":4294967296}"#), StatusCode::BAD_REQUEST, Some("limit")),
            ("a stamp of 1e400".into(), "POST", push, bearer(&wang), json,
                Some(splice(&spoiled(&|b| b["changes"][0]["ts"]["wall_ms"] = json!("@@")), b"1e400")), StatusCode::BAD_REQUEST, Some("changes[0].ts.wall_ms")),
            ("a negative stamp".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"][0]["ts"]["wall_ms"] = json!(-1))), StatusCode::BAD_REQUEST, Some("changes[0].ts.wall_ms")),
            ("a stamp as text".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"][0]["ts"] = json!("2026-11-29"))), StatusCode::BAD_REQUEST, Some("changes[0].ts")),
            ("a counter too large for u32".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"][0]["ts"]["counter"] = json!(4_294_967_296_u64))), StatusCode::BAD_REQUEST, Some("changes[0].ts.counter")),
            ("a change number too large for u64".into(), "POST", push, bearer(&wang), json,
                Some(splice(&spoiled(&|b| b["changes"][0]["seq"] = json!("@@")), b"18446744073709551616")), StatusCode::BAD_REQUEST, Some("changes[0].seq")),
            // Ids and shapes.
            ("a record id that is not a UUID".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"][0]["record"]["id"] = json!("household-1"))), StatusCode::BAD_REQUEST, Some("changes[0].record.id")),
            ("a device id that is not a UUID".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["device"] = json!("my phone"))), StatusCode::BAD_REQUEST, Some("device")),
            ("a change of an unknown kind".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"][0]["record"]["kind"] = json!("cow"))), StatusCode::BAD_REQUEST, Some("changes[0].record.kind")),
            ("an unknown key inside supersedes".into(), "POST", push, bearer(&wang), json,
                bytes(&spoiled(&|b| b["changes"][0]["supersedes"] = json!([{"device": device(1), "seq": 1, "why": "?"}]))), StatusCode::BAD_REQUEST, Some("changes[0].supersedes[0]")),
            ("changes as an object".into(), "POST", push, bearer(&wang), json, bytes(&spoiled(&|b| b["changes"] = json!({}))), StatusCode::BAD_REQUEST, Some("changes")),
            ("5,001 changes in one push".into(), "POST", push, bearer(&wang), json, bytes(&too_many), StatusCode::BAD_REQUEST, Some("changes")),
            // Villages and roles.
            ("an officer pushes".into(), "POST", push, bearer(&zhao), json, bytes(&good_push), StatusCode::FORBIDDEN, None),
            ("a new household in another village".into(), "POST", push, bearer(&wang), json,
                bytes(&json!({"device": device(2), "changes": elsewhere})), StatusCode::FORBIDDEN, None),
            ("an edit of another village's household".into(), "POST", push, bearer(&wang), json,
                bytes(&json!({"device": device(2), "changes": [edit_theirs]})), StatusCode::FORBIDDEN, None),
            ("a worker reads the township indicators".into(), "GET", &township, bearer(&wang), None, None, StatusCode::FORBIDDEN, None),
            ("a worker reads another village's conflicts".into(), "GET", &li_conflicts, bearer(&wang), None, None, StatusCode::FORBIDDEN, None),
            ("conflicts of a village id that is not a UUID".into(), "GET", "/api/v1/conflicts?village=%00x", bearer(&wang), None, None, StatusCode::FORBIDDEN, None),
            ("conflicts with an unknown query parameter".into(), "GET", "/api/v1/conflicts?villages=1", bearer(&wang), None, None, StatusCode::BAD_REQUEST, None),
            ("township indicators without a village".into(), "GET", "/api/v1/township/indicators?period=2026", bearer(&zhao), None, None, StatusCode::BAD_REQUEST, Some("village")),
            ("a period in lower case".into(), "GET", "/api/v1/township/summary?period=2026-q1", bearer(&zhao), None, None, StatusCode::BAD_REQUEST, Some("period")),
            ("a thirteenth month".into(), "GET", "/api/v1/township/summary?period=2026-13", bearer(&zhao), None, None, StatusCode::BAD_REQUEST, Some("period")),
            ("an admin settles".into(), "POST", settle, bearer(&officer), json, bytes(&settle_body(&mine, "number", json!("1"))), StatusCode::FORBIDDEN, None),
            // Settle.
            ("settle a record of another village".into(), "POST", settle, bearer(&wang), json,
                bytes(&settle_body(&serde_json::to_value(theirs[0].record).unwrap(), "number", json!("1"))), StatusCode::NOT_FOUND, None),
            ("settle a record that does not exist".into(), "POST", settle, bearer(&wang), json, bytes(&settle_body(&unknown_record, "number", json!("1"))), StatusCode::NOT_FOUND, None),
            ("settle a field the record does not hold".into(), "POST", settle, bearer(&wang), json, bytes(&settle_body(&mine, "phone", json!("13800000110"))), StatusCode::BAD_REQUEST, Some("field")),
            ("settle a field its kind does not have".into(), "POST", settle, bearer(&wang), json, bytes(&settle_body(&mine, "colour", json!("red"))), StatusCode::BAD_REQUEST, Some("value")),
            ("settle the id".into(), "POST", settle, bearer(&wang), json, bytes(&settle_body(&mine, "id", json!(Value::Null))), StatusCode::BAD_REQUEST, Some("value")),
            ("settle with an unknown key".into(), "POST", settle, bearer(&wang), json,
                bytes(&json!({"record": mine, "field": "number", "value": "1", "why": "?"})), StatusCode::BAD_REQUEST, Some("why")),
            ("settle a record id that is not a UUID".into(), "POST", settle, bearer(&wang), json,
                bytes(&settle_body(&json!({"kind": "household", "id": "1"}), "number", json!("1"))), StatusCode::BAD_REQUEST, Some("record.id")),
            // Sessions.
            ("whoami without a token".into(), "GET", "/api/v1/whoami", None, None, None, StatusCode::UNAUTHORIZED, None),
            ("a Basic authorization".into(), "GET", "/api/v1/whoami", Some("Basic d2FuZzpwYXNz".into()), None, None, StatusCode::UNAUTHORIZED, None),
            ("a lower-case bearer".into(), "GET", "/api/v1/whoami", Some(format!("bearer {wang}")), None, None, StatusCode::UNAUTHORIZED, None),
            ("a bearer with no token".into(), "GET", "/api/v1/whoami", Some("Bearer ".into()), None, None, StatusCode::UNAUTHORIZED, None),
            ("a token with a space inside".into(), "GET", "/api/v1/whoami", Some(format!("Bearer {} x", &wang[..20])), None, None, StatusCode::UNAUTHORIZED, None),
            ("logout without a token".into(), "POST", "/api/v1/logout", None, json, raw(b"{}"), StatusCode::UNAUTHORIZED, None),
            ("logout of an ended session".into(), "POST", "/api/v1/logout", bearer(&revoked), json, raw(b"{}"), StatusCode::UNAUTHORIZED, None),
            ("conflicts with an expired session".into(), "GET", "/api/v1/conflicts", bearer(&expired), None, None, StatusCode::UNAUTHORIZED, None),
            ("a pull with a forged token".into(), "POST", pull, bearer("bm90IGEgcmVhbCB0b2tlbg"), json, raw(br#"{"cursor":0,"limit":5}"#), StatusCode::UNAUTHORIZED, None),
            ("a disabled user's session".into(), "GET", "/api/v1/whoami", bearer(&disabled), None, None, StatusCode::UNAUTHORIZED, None),
            ("a disabled user's push".into(), "POST", push, bearer(&disabled), json, bytes(&good_push), StatusCode::UNAUTHORIZED, None),
            ("a summary with a bad token and a bad period".into(), "GET", "/api/v1/township/summary?period=x", bearer("forged"), None, None, StatusCode::UNAUTHORIZED, None),
            // Logins.
            ("a disabled user logs in".into(), "POST", login, None, json, bytes(&json!({"username": "sun", "password": PASSWORD})), StatusCode::UNAUTHORIZED, None),
            ("a wrong password".into(), "POST", login, None, json, bytes(&json!({"username": "wang", "password": "not the password"})), StatusCode::UNAUTHORIZED, None),
            ("a login name with a NUL character".into(), "POST", login, None, json, bytes(&json!({"username": "wa\u{0}ng", "password": PASSWORD})), StatusCode::UNAUTHORIZED, None),
            // Refused before any work since logins take at most 4 KiB (was a 401 after a password check).
            ("a login name of a megabyte".into(), "POST", login, None, json, bytes(&json!({"username": "w".repeat(1 << 20), "password": PASSWORD})), StatusCode::PAYLOAD_TOO_LARGE, None),
            ("a password that is a number".into(), "POST", login, None, json, raw(br#"{"username":"wang","password":12345678}"#), StatusCode::BAD_REQUEST, Some("password")),
            ("a login with an unknown key".into(), "POST", login, None, json, bytes(&json!({"username": "wang", "password": PASSWORD, "remember": true})), StatusCode::BAD_REQUEST, Some("remember")),
            // Sizes.
            ("an oversize login".into(), "POST", login, None, json, Some(huge_bytes.clone()), StatusCode::PAYLOAD_TOO_LARGE, None),
            ("an oversize settle".into(), "POST", settle, bearer(&wang), json, Some(huge_bytes.clone()), StatusCode::PAYLOAD_TOO_LARGE, None),
            ("one byte over 8 MiB of whitespace".into(), "POST", pull, bearer(&wang), json, Some(padded), StatusCode::PAYLOAD_TOO_LARGE, None),
            ("an oversize push with a forged token".into(), "POST", push, bearer("forged"), json, Some(huge_bytes), StatusCode::UNAUTHORIZED, None),
        ];
        let first = cases.len();
        let cases: Vec<RawCase<'_>> = cases
            .into_iter()
            .map(|(what, method, path, token, body, expected, field)| {
                let content_type = body.as_ref().map(|_| "application/json");
                (what.to_string(), method, path, token.map(|t| format!("Bearer {t}")), content_type, body, expected, field)
            })
            .chain(added)
            .collect();
        assert!(cases.len() >= first + 50, "{} cases", cases.len());
        // What some answers must say, beyond naming the field.
        let says: std::collections::HashMap<&str, &str> = [
            ("10,000 nested arrays as a pushed value", "nested too deeply"),
            ("10,000 nested objects as a settled value", "nested too deeply"),
            ("invalid UTF-8 inside a pushed string", "invalid unicode"),
            ("a key given twice", "duplicate field `cursor`"),
            ("5,001 changes in one push", "at most 5000 changes"),
            ("a disabled user's session", "sign in again"),
            ("settle a field the record does not hold", "no such field"),
            ("a page of 5,001", "1 to 5000"),
        ]
        .into();
        let mut names = std::collections::BTreeSet::new();
        for (what, method, path, authorization, content_type, body, expected, field) in cases {
            assert!(names.insert(what.clone()), "{what}: a name used twice");
            let (status, answer) = t.send_as(method, path, authorization.as_deref(), content_type, body).await;
            assert_eq!(status, expected, "{what}: {answer}");
            assert!(answer["message"].as_str().is_some_and(|m| m.len() >= 12), "{what}: a reason a person can read: {answer}");
            assert!(!answer.to_string().contains("internal"), "{what}: {answer}");
            if let Some(text) = says.get(what.as_str()) {
                assert!(answer["message"].as_str().unwrap().contains(text), "{what}: {answer}");
            }
            assert!(answer["field"].as_str().is_none_or(|f| f.len() <= 40), "{what}: a field a person can read: {answer}");
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

        // Pushes the server takes (200) while refusing every change in them,
        // each with its reason: nothing is stored.
        let next = seed.len() as u64 + 1;
        let change = |device_n: u128, seq: u64, record: &Value, field: &str, value: Value| {
            json!({"record": record, "field": field, "value": value,
                   "ts": {"wall_ms": t.now(), "counter": 0}, "device": device(device_n), "seq": seq})
        };
        let village = json!({"kind": "village", "id": t.wang_village});
        let orphan = json!({"kind": "person", "id": "00000000-0000-0000-0000-0000000000bb"});
        let mut altered = serde_json::to_value(seed.iter().find(|c| c.field == "number").unwrap()).unwrap();
        altered["value"] = json!("tampered");
        let mut itself = change(1, next, &mine, "phone", json!("13800000110"));
        itself["supersedes"] = json!([{"device": device(1), "seq": next}]);
        let refused: Vec<(&str, u128, Vec<Value>, &str)> = vec![
            ("change number 0", 2, vec![change(2, 0, &mine, "phone", json!("13800000110"))], "start at 1"),
            ("a field its kind does not have", 1, vec![change(1, next, &mine, "colour", json!("red"))], "unknown field `colour`"),
            ("a value that does not fit its field", 1, vec![change(1, next, &mine, "number", json!(7))], "field `number`"),
            ("null for a required field", 1, vec![change(1, next, &mine, "number", Value::Null)], "field `number`"),
            ("the id as a field", 1, vec![change(1, next, &mine, "id", json!(mine["id"]))], "the id is not a field"),
            ("a change superseding itself", 1, vec![itself], "supersede itself"),
            ("one number twice with different content", 1,
                vec![change(1, next, &mine, "phone", json!("13800000110")), change(1, next, &mine, "phone", json!("13800000120"))], "used twice"),
            ("a replay of a held change, altered", 1, vec![altered], "holds another change"),
            ("a record moved to another village", 1, vec![change(1, next, &mine, "village_id", json!(t.li_village))], "cannot move"),
            ("a record moved to a village that does not exist", 1,
                vec![change(1, next, &mine, "village_id", json!("00000000-0000-0000-0000-0000000000cc"))], "cannot move"),
            ("a village renamed", 1, vec![change(1, next, &village, "name", json!("新村"))], "administrator"),
            ("a person of an unknown household", 1, vec![change(1, next, &orphan, "name", json!("王伟"))], "not known here"),
        ];
        for (what, from, changes, reason) in refused {
            let count = changes.iter().map(|c| c["seq"].as_u64()).collect::<std::collections::BTreeSet<_>>().len();
            let (status, body) = t.post(push, Some(&wang), &json!({"device": device(from), "changes": changes})).await;
            assert_eq!(status, StatusCode::OK, "{what}: {body}");
            assert_eq!(body["accepted"], json!([]), "{what}: {body}");
            let rejected = body["rejected"].as_array().unwrap();
            assert_eq!(rejected.len(), count, "{what}: every change number refused: {body}");
            for r in rejected {
                assert!(r["reason"].as_str().unwrap().contains(reason), "{what}: {body}");
            }
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }

        // A body of exactly 8 MiB is read (a pull, which changes nothing).
        let mut full = br#"{"cursor":0,"limit":5}"#.to_vec();
        full.resize(fieldbook_server::MAX_BODY_BYTES, b' ');
        let (status, body) = t.send("POST", pull, Some(&wang), Some(full)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(t.snapshot().await, before);
    }
}

//! Devices belong to users: a push under the server's own device, under
//! another user's phone or under a revoked phone is refused whole (403,
//! with the reason) and changes nothing; the server's own changes keep
//! working afterwards; a phone's recovery secret follows the same rule.
//! SQLite always; PostgreSQL as ignored tests (`cargo xtask test` runs
//! them).

mod common;

use common::*;
use fieldbook_core::sync::{Change, DeviceId, RecordKind, RecordRef};
use fieldbook_server::devices;
use http::StatusCode;
use serde_json::{Value, json};

/// `changes` renumbered from `first` and moved to `device`.
fn as_device(changes: &[Change], device: DeviceId, first: u64) -> Vec<Change> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| Change {
            device,
            seq: first + i as u64,
            ..c.clone()
        })
        .collect()
}

/// The highest change number the server holds from `device`.
async fn last_seq(t: &TestServer, device: DeviceId) -> u64 {
    let row: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes WHERE device = $1")
        .bind(device.0.to_string())
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    row.unwrap_or(0) as u64
}

on_both! {
    async fn pushes_under_a_device_that_is_not_the_users_are_refused_whole(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let server = t.server_device().await;
        // li's phone, bound to li by her first push.
        let (_, hers) = new_household(&t.li_village, "101", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &hers).await.0, StatusCode::OK);
        // wang's phone, then revoked by the administrator.
        let (_, lost) = new_household(&t.wang_village, "102", device(5), 1, t.now());
        assert_eq!(t.push(&wang, device(5), &lost).await.0, StatusCode::OK);
        devices::revoke(&t.db, &device(5).0.to_string()).await.unwrap();
        // wang's good phone.
        let (_, mine) = new_household(&t.wang_village, "103", device(1), 1, t.now());
        assert_eq!(t.push(&wang, device(1), &mine).await.0, StatusCode::OK);

        let (_, fresh) = new_household(&t.wang_village, "104", device(1), 1, t.now());
        let next_server = last_seq(t, server).await + 1;
        let mut mixed = as_device(&fresh, device(1), mine.len() as u64 + 1);
        mixed.push(Change { device: device(9), seq: 50, ..fresh[0].clone() });
        let cases: Vec<(&str, DeviceId, Vec<Change>, &str)> = vec![
            ("a push under the server's device with its next number", server, as_device(&fresh, server, next_server), "server's own"),
            ("a push under the server's device with a number far ahead", server, as_device(&fresh, server, 1 << 40), "server's own"),
            ("a push under another worker's phone", device(9), as_device(&fresh, device(9), hers.len() as u64 + 1), "another user"),
            ("a push under another worker's phone reusing her numbers", device(9), as_device(&fresh, device(9), 1), "another user"),
            ("a push under a revoked phone", device(5), as_device(&fresh, device(5), lost.len() as u64 + 1), "revoked"),
            ("an own push carrying a change of another worker's phone", device(1), mixed, "another user"),
            ("an empty push under the server's device", server, Vec::new(), "server's own"),
        ];
        let before = t.snapshot().await;
        for (what, from, changes, reason) in cases {
            let (status, body) = t.push(&wang, from, &changes).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains(reason), "{what}: {body}");
            assert!(message.contains(&from.0.to_string()) || what.contains("carrying"), "{what}: names the device: {body}");
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }

        // The server's own changes still work: a new village and a settle.
        fieldbook_server::admin::add_village(&t.db, "新村", "石桥镇", t.now()).await.unwrap();
        assert_eq!(t.server_device().await, server, "the server keeps its device");
        // li's phone still pushes, numbering on from where it was.
        let (_, more) = new_household(&t.li_village, "105", device(9), hers.len() as u64 + 1, t.now());
        let (status, body) = t.push(&li, device(9), &more).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"].as_array().unwrap().len(), more.len(), "{body}");
        // The revoked phone stays refused, also for its owner's retry of a held change.
        let (status, _) = t.push(&wang, device(5), &lost).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn a_phone_is_bound_by_the_first_push_the_server_takes(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        // A push whose every change is refused binds nothing: li can still
        // take the device id afterwards.
        let (_, bad) = new_household(&t.wang_village, "201", device(7), 1, t.now());
        let mut bad = bad;
        for c in &mut bad {
            c.seq = 0;
        }
        let before = t.snapshot().await;
        let (status, body) = t.push(&wang, device(7), &bad).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"], json!([]), "{body}");
        assert_eq!(t.snapshot().await, before, "a push that takes nothing binds nothing");
        let (_, hers) = new_household(&t.li_village, "202", device(7), 1, t.now());
        assert_eq!(t.push(&li, device(7), &hers).await.0, StatusCode::OK);
        let listed = devices::list(&t.db, Some("li")).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].device, device(7).0.to_string());
        assert_eq!(listed[0].username.as_deref(), Some("li"));
        assert!(!listed[0].revoked);
        let all = devices::list(&t.db, None).await.unwrap();
        assert!(all.iter().any(|d| d.kind == "server" && d.username.is_none()), "{all:?}");
        // Now it is li's: wang's push under it is refused.
        let (_, mine) = new_household(&t.wang_village, "203", device(7), 10, t.now());
        assert_eq!(t.push(&wang, device(7), &mine).await.0, StatusCode::FORBIDDEN);
        // Revoking an unknown device or the server's own is an error, and changes nothing.
        let before = t.snapshot().await;
        assert!(devices::revoke(&t.db, &device(99).0.to_string()).await.is_err());
        assert!(devices::revoke(&t.db, &t.server_device().await.0.to_string()).await.is_err());
        assert_eq!(t.snapshot().await, before);
    }

    async fn a_recovery_secret_is_only_for_the_users_own_active_phone(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let (_, hers) = new_household(&t.li_village, "301", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &hers).await.0, StatusCode::OK);
        let ask = |device: DeviceId| json!({"device": device.0, "password": PASSWORD});
        let server = t.server_device().await;
        let before = t.snapshot().await;
        for (what, device, reason) in [
            ("another worker's phone", device(9), "another user"),
            ("the server's device", server, "server's own"),
        ] {
            let (status, body) = t.post("/api/v1/device-key", Some(&wang), &ask(device)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
            assert!(body["message"].as_str().unwrap().contains(reason), "{what}: {body}");
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }
        // wang's own new phone gets its secret, and is bound to her by it.
        let (status, body) = t.post("/api/v1/device-key", Some(&wang), &ask(device(3))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, fresh) = new_household(&t.li_village, "302", device(3), 1, t.now());
        assert_eq!(t.push(&li, device(3), &fresh).await.0, StatusCode::FORBIDDEN);
        // Revoked: no secret any more.
        devices::revoke(&t.db, &device(3).0.to_string()).await.unwrap();
        let (status, body) = t.post("/api/v1/device-key", Some(&wang), &ask(device(3))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["message"].as_str().unwrap().contains("revoked"), "{body}");
    }

    async fn a_settle_after_refused_server_device_pushes_still_commits(t: &TestServer) {
        // The attack of issue 13: a worker pushes under the server's device
        // with its next number; afterwards every server change collided.
        let wang = t.login("wang").await;
        let (household, seed) = new_household(&t.wang_village, "401", device(1), 1, t.now());
        assert_eq!(t.push(&wang, device(1), &seed).await.0, StatusCode::OK);
        let server = t.server_device().await;
        let next = last_seq(t, server).await + 1;
        let (_, forged) = new_household(&t.wang_village, "402", server, next, t.now());
        assert_eq!(t.push(&wang, server, &forged).await.0, StatusCode::FORBIDDEN);
        // Two phones edit the same field: a conflict the officer settles
        // with a server change numbered `next`.
        let li_phone = device(2);
        let mut a = household.clone();
        a.phone = Some("13800000111".into());
        let mut b = household.clone();
        b.phone = Some("13800000222".into());
        t.advance(1000);
        let first = edit(&household, &a, device(1), seed.len() as u64 + 1, t.now());
        assert_eq!(t.push(&wang, device(1), &first).await.0, StatusCode::OK);
        fieldbook_server::admin::add_user(
            &t.db, "sun", PASSWORD, fieldbook_server::auth::Role::Worker, None,
            std::slice::from_ref(&t.wang_village), t.now(),
        )
        .await
        .unwrap();
        let sun = t.login("sun").await;
        let second = edit(&household, &b, li_phone, 1, t.now() - 500);
        assert_eq!(t.push(&sun, li_phone, &second).await.0, StatusCode::OK);
        let zhao = t.login("zhao").await;
        let record = RecordRef { kind: RecordKind::Household, id: household.id };
        let (status, body) = t
            .post("/api/v1/conflicts/settle", Some(&zhao), &json!({"record": record, "field": "phone", "value": "13800000222"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"], json!([next]), "{body}");
        let stored: Value = serde_json::from_str(
            &sqlx::query_scalar::<_, String>("SELECT body FROM records WHERE id = $1")
                .bind(household.id.to_string())
                .fetch_one(&t.db.pool)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored["phone"], json!("13800000222"));
    }
}

/// A database of the version before devices were bound, on which a worker
/// had already pushed under the server's own device id: the upgrade gives
/// the server a new device id (its old one is the phone's now, in the log),
/// binds each phone to the user of its first change, and the server's own
/// changes work again. SQLite: the old schema is made by the first two
/// migrations alone.
#[tokio::test]
async fn an_upgrade_repairs_a_server_device_a_phone_pushed_under() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in ["0001_init.sql", "0002_device_keys.sql"] {
        std::fs::copy(here.join(name), old.join(name)).unwrap();
    }
    let url = fieldbook_server::db::sqlite_url(&dir.path().join("fieldbook.db"));
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let server = device(1000);
    let village = "00000000-0000-0000-0000-00000000aaaa";
    for sql in [
        format!("INSERT INTO server_meta (name, value) VALUES ('device', '{}')", server.0),
        format!("INSERT INTO villages (id, name, township, created_ms) VALUES ('{village}', '王庄村', '石桥镇', 1)"),
        "INSERT INTO users (id, username, password_hash, role, township, disabled, created_ms) VALUES ('u-wang', 'wang', 'x', 'worker', NULL, 0, 1)".into(),
        "INSERT INTO users (id, username, password_hash, role, township, disabled, created_ms) VALUES ('u-li', 'li', 'x', 'worker', NULL, 0, 1)".into(),
        // The server's own first change, then wang's push under its id, wang's
        // phone, and li's phone (which wang later pushed under too).
        format!("INSERT INTO changes VALUES (1, '{}', 1, '{village}', 'village', '{village}', '{{}}', 0, 10, NULL)", server.0),
        format!("INSERT INTO changes VALUES (2, '{}', 2, '{village}', 'household', 'h1', '{{}}', 0, 20, 'u-wang')", server.0),
        format!("INSERT INTO changes VALUES (3, '{}', 1, '{village}', 'household', 'h2', '{{}}', 0, 30, 'u-wang')", device(1).0),
        format!("INSERT INTO changes VALUES (4, '{}', 1, '{village}', 'household', 'h3', '{{}}', 0, 40, 'u-li')", device(9).0),
        format!("INSERT INTO changes VALUES (5, '{}', 2, '{village}', 'household', 'h4', '{{}}', 0, 50, 'u-wang')", device(9).0),
        "UPDATE counters SET value = 5 WHERE name = 'cursor'".into(),
        "UPDATE counters SET value = 1 WHERE name = 'server_seq'".into(),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let db = fieldbook_server::Db::connect(&url).await.unwrap();
    let owner = |device: DeviceId| {
        let db = db.clone();
        async move {
            sqlx::query(
                "SELECT COALESCE(user_id, '-') || ' ' || kind FROM devices WHERE device_id = $1",
            )
            .bind(device.0.to_string())
            .fetch_optional(&db.pool)
            .await
            .unwrap()
            .map(|r| r.get::<String, _>(0))
        }
    };
    assert_eq!(
        owner(server).await.as_deref(),
        Some("u-wang phone"),
        "the old server id went to the phone that took it"
    );
    assert_eq!(owner(device(1)).await.as_deref(), Some("u-wang phone"));
    assert_eq!(
        owner(device(9)).await.as_deref(),
        Some("u-li phone"),
        "a phone belongs to the user of its first change"
    );
    let renewed = fieldbook_server::admin::server_device(&db).await.unwrap();
    assert_ne!(renewed, server, "the server took a new device id");
    assert_eq!(owner(renewed).await.as_deref(), Some("- server"));
    // The server's own changes commit again.
    fieldbook_server::admin::add_village(&db, "新村", "石桥镇", 60)
        .await
        .unwrap();
}

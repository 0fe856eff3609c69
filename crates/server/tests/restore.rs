//! Backup and restore, end to end: the real binary takes a backup while
//! phones push, more pushes are acknowledged (and dropped from the phones'
//! outboxes), the server stops and the binary restores the backup; then
//! the phones — modelled with the core's `Replica`, deciding with the
//! core's `fieldbook_core::replay` as the app does — see the new identity,
//! replay what they hold, move their cursors back and pull. Every change
//! any phone holds is on the server again, the log holds each (device,
//! number) once, and every phone equals the server: the same records, the
//! same winner and open conflicts in every field. On SQLite, and on
//! PostgreSQL (pg_dump and pg_restore) when asked.
//!
//! Also: `restore` refuses the data folder of a running server; and the
//! replay route's catalogue of refusals, each changing nothing.
#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use axum::Router;
use axum::body::Body;
use common::{Backend, PASSWORD, TestServer, device, new_household};
use fieldbook_core::replay::{
    DatabaseIdentity, IdentityStep, ReplayResponse, identity_step, replay_batches, replay_changes,
};
use fieldbook_core::sync::{
    Change, ChangeId, Clock, DeviceId, PullResponse, PushResponse, RecordKind, RecordRef, Replica,
    changes_for_new_record,
};
use fieldbook_core::{Household, Id, Person, Sex};
use fieldbook_server::auth::Role;
use fieldbook_server::db::sqlite_url;
use fieldbook_server::{AppConfig, Db, admin, app};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Row;
use tower::ServiceExt;
use uuid::Uuid;

/// The binary under test.
const SERVER: &str = env!("CARGO_BIN_EXE_fieldbook-server");

/// Rounds of edits and syncs after the backup: 2, or more from
/// `FIELDBOOK_RESTORE_ROUNDS` (`cargo xtask soak`).
fn rounds_after_backup() -> usize {
    std::env::var("FIELDBOOK_RESTORE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2)
}

/// A server's router on a database: what `serve` runs, in this process.
struct Live {
    router: Router,
    db: Db,
}

impl Live {
    async fn open(url: &str) -> Live {
        let db = Db::connect(url).await.expect("database");
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<!doctype html>").unwrap();
        let router = app(&AppConfig::new(dist.keep(), db.clone()));
        Live { router, db }
    }

    /// Stops serving: the router goes, the pool closes.
    async fn stop(self) {
        drop(self.router);
        self.db.pool.close().await;
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(body).unwrap())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/login",
                None,
                Some(&json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Every (device, number) in the log, with how often.
    async fn log_ids(&self) -> BTreeMap<ChangeId, (i64, Change)> {
        let mut out: BTreeMap<ChangeId, (i64, Change)> = BTreeMap::new();
        for row in sqlx::query("SELECT body FROM changes")
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
        {
            let change: Change = serde_json::from_str(&row.get::<String, _>(0)).unwrap();
            out.entry(change.id()).or_insert((0, change.clone())).0 += 1;
        }
        out
    }
}

/// One phone: what its store holds (merge states, outbox, clock, cursor,
/// the identity it saw).
struct Phone {
    user: &'static str,
    village: Id,
    device: DeviceId,
    token: String,
    replica: Replica,
    outbox: BTreeMap<u64, Change>,
    clock: Clock,
    next_seq: u64,
    cursor: u64,
    identity: Option<Uuid>,
    replayed: usize,
}

impl Phone {
    fn new(user: &'static str, village: &str, n: u128) -> Phone {
        Phone {
            user,
            village: Id::parse_str(village).unwrap(),
            device: device(n),
            token: String::new(),
            replica: Replica::new(),
            outbox: BTreeMap::new(),
            clock: Clock::new(),
            next_seq: 1,
            cursor: 0,
            identity: None,
            replayed: 0,
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    /// One local edit, kept as the app's store keeps it.
    fn edit(&mut self, record: RecordRef, after: &Value) {
        let ts = self.clock.tick(Phone::now());
        let changes = match self.replica.record(&record) {
            None => changes_for_new_record(record.kind, after, ts, self.device, self.next_seq),
            Some(state) => state.changes_for_edit(after, ts, self.device, self.next_seq),
        }
        .unwrap();
        self.next_seq += changes.len() as u64;
        for change in changes {
            self.replica.apply(change.clone());
            self.outbox.insert(change.seq, change);
        }
    }

    fn households(&self) -> Vec<(RecordRef, Value)> {
        self.replica
            .records()
            .filter(|s| s.record().kind == RecordKind::Household)
            .filter_map(|s| Some((s.record(), Value::Object(s.materialize().ok()?))))
            .collect()
    }

    /// A new household, and a person in one of its households.
    fn add_household(&mut self, number: &str) {
        let household = Household::new(Uuid::new_v4(), self.village, number);
        let record = RecordRef {
            kind: RecordKind::Household,
            id: household.id,
        };
        self.edit(record, &serde_json::to_value(&household).unwrap());
        let person = Person::new(Uuid::new_v4(), household.id, "王秀兰", Sex::Female);
        let record = RecordRef {
            kind: RecordKind::Person,
            id: person.id,
        };
        self.edit(record, &serde_json::to_value(&person).unwrap());
    }

    /// Sets `group` of the household with the lowest number it shows (the
    /// first one made, which every phone of the village holds once synced).
    fn set_group(&mut self, group: &str) {
        let (record, mut json) = self
            .households()
            .into_iter()
            .min_by_key(|(_, json)| json["number"].as_str().unwrap_or_default().to_string())
            .unwrap();
        json["group"] = json!(group);
        self.edit(record, &json);
    }

    /// One sync as the app does it: the identity first (and, when it is
    /// new, the replay and the cursor moved back), then the outbox, then
    /// every page of the pull.
    async fn sync(&mut self, live: &Live) {
        if self.token.is_empty() {
            self.token = live.login(self.user).await;
        }
        let (status, body) = live
            .call("GET", "/api/v1/sync/identity", Some(&self.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let seen: DatabaseIdentity = serde_json::from_value(body).unwrap();
        match identity_step(self.identity, &seen, self.cursor) {
            IdentityStep::Adopt | IdentityStep::Same => {}
            IdentityStep::Recover {
                replay,
                resume_cursor,
            } => {
                assert!(replay, "the server is in its replay window");
                for batch in replay_batches(replay_changes(self.replica.records()), 40) {
                    let (status, body) = live
                        .call(
                            "POST",
                            "/api/v1/sync/replay",
                            Some(&self.token),
                            Some(&json!({"changes": batch})),
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    let answer: ReplayResponse = serde_json::from_value(body).unwrap();
                    assert_eq!(answer.rejected, vec![], "{}", self.user);
                    assert_eq!(answer.accepted.len(), batch.len());
                    self.replayed += batch.len();
                }
                self.cursor = resume_cursor;
            }
        }
        self.identity = Some(seen.database);
        if !self.outbox.is_empty() {
            let changes: Vec<&Change> = self.outbox.values().collect();
            let (status, body) = live
                .call(
                    "POST",
                    "/api/v1/sync/push",
                    Some(&self.token),
                    Some(&json!({"device": self.device, "changes": changes})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let answer: PushResponse = serde_json::from_value(body).unwrap();
            assert_eq!(answer.rejected, vec![]);
            for seq in answer.accepted {
                self.outbox.remove(&seq);
            }
        }
        loop {
            let (status, body) = live
                .call(
                    "POST",
                    "/api/v1/sync/pull",
                    Some(&self.token),
                    Some(&json!({"cursor": self.cursor, "limit": 50})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let page: PullResponse = serde_json::from_value(body).unwrap();
            for logged in page.changes {
                self.clock.observe(logged.change.ts, Phone::now());
                self.replica.apply(logged.change);
            }
            self.cursor = page.next_cursor;
            if !page.more {
                break;
            }
        }
    }
}

/// Runs the binary with `args`; its standard output, or the test fails.
fn binary(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let output = Command::new(SERVER)
        .env_remove("FIELDBOOK_DATABASE_URL")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run fieldbook-server");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn binary_ok(args: &[&std::ffi::OsStr]) -> String {
    let (ok, stdout, stderr) = binary(args);
    assert!(ok, "{args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Villages, users (wang and chen share 王庄村, li has 李庄村, zhao the
/// township's officer) on a new database.
async fn set_up(db: &Db) -> (String, String) {
    let now = Phone::now();
    let wang = admin::add_village(db, "王庄村", "石桥镇", now)
        .await
        .unwrap()
        .to_string();
    let li = admin::add_village(db, "李庄村", "石桥镇", now)
        .await
        .unwrap()
        .to_string();
    for (name, role, township, villages) in [
        ("wang", Role::Worker, None, vec![wang.clone()]),
        ("chen", Role::Worker, None, vec![wang.clone()]),
        ("li", Role::Worker, None, vec![li.clone()]),
        ("zhao", Role::Officer, Some("石桥镇"), vec![]),
    ] {
        admin::add_user(db, name, PASSWORD, role, township, &villages, now)
            .await
            .unwrap();
    }
    (wang, li)
}

/// The officer settles the first open conflict of `village` on its losing
/// value: a change under the server's device. Its id.
async fn settle_one(live: &Live, officer: &str, village: &str) -> ChangeId {
    let (status, body) = live
        .call(
            "GET",
            &format!("/api/v1/conflicts?village={village}"),
            Some(officer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conflict = &body["conflicts"][0];
    if !conflict.is_object() {
        for row in sqlx::query("SELECT kind, state, conflicts FROM records")
            .fetch_all(&live.db.pool)
            .await
            .unwrap()
        {
            let state: Value = serde_json::from_str(&row.get::<String, _>(1)).unwrap();
            eprintln!(
                "{} {} {}",
                row.get::<String, _>(0),
                row.get::<i64, _>(2),
                state["fields"]["group"]
            );
        }
    }
    assert!(conflict.is_object(), "an open conflict to settle: {body}");
    let request = json!({"record": conflict["record"], "field": conflict["field"], "value": conflict["lost"]["value"]});
    let (status, body) = live
        .call(
            "POST",
            "/api/v1/conflicts/settle",
            Some(officer),
            Some(&request),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row = sqlx::query("SELECT body FROM changes ORDER BY cursor DESC LIMIT 1")
        .fetch_one(&live.db.pool)
        .await
        .unwrap();
    serde_json::from_str::<Change>(&row.get::<String, _>(0))
        .unwrap()
        .id()
}

/// Concurrent edits of one field on the two phones of 王庄村 (a conflict
/// on the server once both push), and new records on every phone.
fn round_of_edits(phones: &mut [Phone], round: usize) {
    for phone in phones.iter_mut() {
        let n = phone.device.0.as_u128() - device(0).0.as_u128();
        phone.add_household(&format!("{:03}", round as u128 * 10 + n));
    }
    let group = |who: &str| format!("{who}{round}组");
    phones[0].set_group(&group("甲"));
    phones[1].set_group(&group("乙"));
}

/// Each phone's records, field by field the winner and the open
/// conflicts, equal the server's.
async fn assert_phones_equal_the_server(
    live: &Live,
    phones: &[Phone],
    villages: &BTreeMap<&str, String>,
) {
    for phone in phones {
        let server = fieldbook_server::sync::village_records(&live.db, &villages[phone.user])
            .await
            .unwrap();
        let mine: BTreeMap<RecordRef, _> =
            phone.replica.records().map(|s| (s.record(), s)).collect();
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            server.keys().collect::<Vec<_>>(),
            "{}'s records",
            phone.user
        );
        for (record, state) in &server {
            let held = mine[record];
            assert_eq!(
                held.materialize(),
                state.materialize(),
                "{} {record:?}",
                phone.user
            );
            for (field, on_server) in state.fields() {
                let on_phone = held.field(field).unwrap();
                assert_eq!(
                    on_phone.winner().id(),
                    on_server.winner().id(),
                    "{} {record:?}.{field}",
                    phone.user
                );
                let ids = |c: &[Change]| c.iter().map(Change::id).collect::<BTreeSet<_>>();
                assert_eq!(
                    ids(on_phone.conflicts()),
                    ids(on_server.conflicts()),
                    "{} {record:?}.{field}",
                    phone.user
                );
            }
        }
    }
}

/// Where the database lives, and how the binary backs it up and restores it.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Store {
    fn url(&self) -> String {
        match self {
            Store::Sqlite(dir) => sqlite_url(&dir.path().join("fieldbook.db")),
            Store::Postgres(url) => url.clone(),
        }
    }

    fn args(&self) -> Vec<std::ffi::OsString> {
        match self {
            Store::Sqlite(dir) => vec!["--data-dir".into(), dir.path().into()],
            Store::Postgres(url) => vec!["--database-url".into(), url.into()],
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let mut all = self.args();
        all.extend(args.iter().map(Into::into));
        binary_ok(&all.iter().map(|a| a.as_os_str()).collect::<Vec<_>>())
    }

    /// `restore FILE` (SQLite), or what it prints for PostgreSQL done by
    /// hand: pg_restore, then `renew-identity`.
    fn restore(&self, file: &Path) -> String {
        match self {
            Store::Sqlite(dir) => {
                let out = self.run(&["restore", file.to_str().unwrap()]);
                assert!(out.contains("kept as"), "{out}");
                let kept = std::fs::read_dir(dir.path())
                    .unwrap()
                    .filter_map(Result::ok)
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("fieldbook.db.before-restore-")
                    })
                    .count();
                assert!(kept >= 1, "the old database is kept aside");
                out
            }
            Store::Postgres(url) => {
                let printed = self.run(&["restore", file.to_str().unwrap()]);
                assert!(
                    printed.contains("pg_restore") && printed.contains("renew-identity"),
                    "{printed}"
                );
                let status = Command::new("pg_restore")
                    .args([
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--single-transaction",
                    ])
                    .arg(format!("--dbname={url}"))
                    .arg(file)
                    .status()
                    .expect("pg_restore");
                assert!(status.success());
                self.run(&["renew-identity"])
            }
        }
    }
}

async fn restored_phones_converge(store: Store) {
    let url = store.url();
    let live = Live::open(&url).await;
    let (wang_village, li_village) = set_up(&live.db).await;
    let villages: BTreeMap<&str, String> = [
        ("wang", wang_village.clone()),
        ("chen", wang_village.clone()),
        ("li", li_village.clone()),
    ]
    .into();
    let mut phones = vec![
        Phone::new("wang", &wang_village, 1),
        Phone::new("chen", &wang_village, 2),
        Phone::new("li", &li_village, 3),
    ];
    let officer = live.login("zhao").await;

    // Before the backup: edits, syncs, a conflict settled by the server.
    for round in 0..2 {
        round_of_edits(&mut phones, round);
        for phone in &mut phones {
            phone.sync(&live).await;
        }
    }
    settle_one(&live, &officer, &wang_village).await;
    for phone in &mut phones {
        phone.sync(&live).await;
    }

    // The backup, while the phones keep pushing.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("backup.fieldbook");
    let mut args = store.args();
    args.extend(["backup".into(), "--out".into(), file.clone().into()]);
    let backup = tokio::task::spawn_blocking(move || {
        binary_ok(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>())
    });
    let mut round = 2;
    while !backup.is_finished() || round < 4 {
        round_of_edits(&mut phones, round);
        for phone in &mut phones {
            phone.sync(&live).await;
        }
        round += 1;
    }
    let said = backup.await.unwrap();
    assert!(said.contains("backup written"), "{said}");

    // After the backup: more pushes, acknowledged (outboxes empty), a
    // conflict settled by the server under its old device, pulled by some.
    // Some phones skip some syncs (a seeded choice), so that what each
    // holds of the others differs at the restore.
    let mut rng = fastrand::Rng::with_seed(round as u64);
    for _ in 0..rounds_after_backup() {
        round_of_edits(&mut phones, round);
        for phone in &mut phones {
            if rng.u8(0..4) > 0 {
                phone.sync(&live).await;
            }
        }
        round += 1;
    }
    round_of_edits(&mut phones, round);
    for phone in &mut phones {
        phone.sync(&live).await;
    }
    let old_settle = settle_one(&live, &officer, &wang_village).await;
    phones[0].sync(&live).await;
    // A last push that only li pulls nothing after.
    phones[2].add_household("999");
    phones[2].sync(&live).await;
    for phone in &phones {
        assert!(
            phone.outbox.is_empty(),
            "{} has unacknowledged changes",
            phone.user
        );
    }
    let before = live.log_ids().await;
    live.stop().await;

    // The restore, by the binary.
    let said = store.restore(&file);
    assert!(said.contains("new database identity"), "{said}");
    let live = Live::open(&url).await;
    let after_restore = live.log_ids().await;
    assert!(
        after_restore.len() < before.len(),
        "the backup lacks what came after it"
    );
    assert!(!after_restore.contains_key(&old_settle));

    // The server works at once: a new settle before any phone is back,
    // under its new device (its numbers went back with the restore).
    let officer = live.login("zhao").await;
    phones[0].set_group("丙组");
    phones[1].set_group("丁组");
    phones[0].sync(&live).await;
    phones[1].sync(&live).await;
    let new_settle = settle_one(&live, &officer, &wang_village).await;
    assert_ne!(
        new_settle.device, old_settle.device,
        "a restored server takes a new device id"
    );
    // Both ids are the server's: no phone can push under either.
    for server_device in [new_settle.device, old_settle.device] {
        let kind: String = sqlx::query("SELECT kind FROM devices WHERE device_id = $1")
            .bind(server_device.0.to_string())
            .fetch_one(&live.db.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(kind, "server");
        let mut forged = phones[0].replica.changes().next().unwrap().clone();
        forged.device = server_device;
        forged.seq = 1_000_000;
        let (status, body) = live
            .call(
                "POST",
                "/api/v1/sync/push",
                Some(&phones[0].token),
                Some(&json!({"device": server_device, "changes": [forged]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }

    // Phones sync (one edits first), then all pull once more.
    phones[2].add_household("1000");
    for phone in &mut phones {
        phone.sync(&live).await;
    }
    for phone in &mut phones {
        phone.sync(&live).await;
    }
    assert!(phones.iter().all(|p| p.replayed > 0));

    // Every change any phone holds is on the server, with its content; the
    // log holds each (device, number) once; it holds everything from before
    // the restore too.
    let log = live.log_ids().await;
    let mut held = BTreeSet::new();
    for phone in &phones {
        for change in phone.replica.changes() {
            let (count, on_server) = log.get(&change.id()).unwrap_or_else(|| {
                panic!(
                    "{} holds {:?}, the server does not",
                    phone.user,
                    change.id()
                )
            });
            assert_eq!(*count, 1);
            assert_eq!(
                (
                    &on_server.record,
                    &on_server.field,
                    &on_server.value,
                    &on_server.supersedes
                ),
                (
                    &change.record,
                    &change.field,
                    &change.value,
                    &change.supersedes
                )
            );
            held.insert(change.id());
        }
    }
    assert!(
        log.values().all(|(count, _)| *count == 1),
        "each change once"
    );
    assert_eq!(
        log.keys().copied().collect::<BTreeSet<_>>(),
        held,
        "the server holds what the phones hold"
    );
    for id in before.keys() {
        assert!(
            log.contains_key(id),
            "{id:?}, acknowledged before the restore, is back"
        );
    }
    assert!(log.contains_key(&old_settle));

    // Replaying again applies nothing.
    let again = replay_changes(phones[1].replica.records());
    let (status, body) = live
        .call(
            "POST",
            "/api/v1/sync/replay",
            Some(&phones[1].token),
            Some(&json!({"changes": again})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(live.log_ids().await.len(), log.len());

    assert_phones_equal_the_server(&live, &phones, &villages).await;
    live.stop().await;
}

#[tokio::test]
async fn phones_bring_back_what_a_restored_backup_lacks() {
    restored_phones_converge(Store::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: FIELDBOOK_TEST_POSTGRES_URL (cargo xtask test sets it) and pg_dump"]
async fn phones_bring_back_what_a_restored_backup_lacks_on_postgres() {
    restored_phones_converge(Store::Postgres(common::fresh_postgres_database().await)).await;
}

/// `restore` refuses the data folder of a running server (it holds the
/// folder's lock), changing nothing; once the server is gone — even killed
/// — it goes ahead.
#[tokio::test]
async fn restore_refuses_the_data_folder_of_a_running_server() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let dist = work.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html>").unwrap();
    let data_arg = ["--data-dir".as_ref(), data.as_os_str()];
    let backup = work.path().join("backup.db");
    {
        let mut args = data_arg.to_vec();
        args.extend(["backup".as_ref(), "--out".as_ref(), backup.as_os_str()]);
        binary_ok(&args);
    }
    let mut server = Command::new(SERVER)
        .env_remove("FIELDBOOK_DATABASE_URL")
        .args(data_arg)
        .args(["--port", "0", "--dist"])
        .arg(&dist)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("Fieldbook is running") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
            "the server stopped"
        );
    }
    let database = data.join("fieldbook.db");
    let before = std::fs::read(&database).unwrap();
    let mut args = data_arg.to_vec();
    args.extend(["restore".as_ref(), backup.as_os_str()]);
    let (ok, _, stderr) = binary(&args);
    assert!(!ok);
    assert!(
        stderr.contains("a Fieldbook server is running on the data folder"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&database).unwrap(), before, "nothing changed");
    assert_eq!(
        std::fs::read_dir(&data)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("restor"))
            .count(),
        0
    );
    // A second server on the same folder is refused too.
    let (ok, _, stderr) = binary(&[
        data_arg[0],
        data_arg[1],
        "--port".as_ref(),
        "0".as_ref(),
        "--dist".as_ref(),
        dist.as_os_str(),
    ]);
    assert!(!ok && stderr.contains("is running"), "{stderr}");

    server.kill().unwrap();
    server.wait().unwrap();
    let said = binary_ok(&args);
    assert!(said.contains("kept as"), "{said}");
}

on_both! {
    async fn the_replay_route_refuses_outside_its_window_other_villages_and_bad_changes(t: &TestServer) {
        let wang = t.login("wang").await;
        let li = t.login("li").await;
        let zhao = t.login("zhao").await;
        // A co-worker's household, then the same household as wang's phone
        // holds it after a restore that lost it.
        let (_, theirs) = new_household(&t.wang_village, "001", device(7), 1, t.now());
        let (_, elsewhere) = new_household(&t.li_village, "002", device(8), 1, t.now());
        let replay = "/api/v1/sync/replay";
        let body = |changes: &[Change]| json!({"changes": changes});

        // Never restored: 409.
        let before = t.snapshot().await;
        let (status, answer) = t.post(replay, Some(&wang), &body(&theirs)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("never restored"), "{answer}");
        assert_eq!(t.snapshot().await, before);

        let renewed = fieldbook_server::restore::renew_identity(&t.db, t.now(), 30).await.unwrap();
        let (status, seen) = t.get("/api/v1/sync/identity", Some(&li)).await;
        assert_eq!(status, StatusCode::OK);
        let seen: DatabaseIdentity = serde_json::from_value(seen).unwrap();
        assert_eq!(seen.database, renewed.identity.database);
        assert_eq!(seen.restored_cursor, renewed.identity.restored_cursor);

        let mut seq_zero = theirs.clone();
        seq_zero[0].seq = 0;
        let mut unknown_field = theirs.clone();
        unknown_field[1].field = "colour".into();
        let mut wrong_type = theirs.clone();
        let number = wrong_type.iter().position(|c| c.field == "number").unwrap();
        wrong_type[number].value = json!(7);
        let mut server_device = theirs.clone();
        for change in &mut server_device {
            change.device = renewed.device;
        }
        let mut no_parent = theirs.clone();
        no_parent.retain(|c| c.field != "village_id");

        let before = t.snapshot().await;
        // (name, token, changes, status, a word of the reason)
        let cases: Vec<(&str, &str, Value, StatusCode, &str)> = vec![
            ("a record of another village", &wang, body(&elsewhere), StatusCode::FORBIDDEN, "village you cannot write"),
            ("another village's among good ones", &wang, body(&[theirs.clone(), elsewhere.clone()].concat()), StatusCode::FORBIDDEN, "village you cannot write"),
            ("an officer replays", &zhao, body(&theirs), StatusCode::FORBIDDEN, "worker"),
            ("more than a push may carry", &wang, body(&vec![theirs[0].clone(); 5_001]), StatusCode::BAD_REQUEST, "at most"),
            ("a change number of 0", &wang, body(&seq_zero[..1]), StatusCode::OK, "start at 1"),
            ("an unknown field", &wang, body(&unknown_field[1..2]), StatusCode::OK, ""),
            ("a value of the wrong type", &wang, body(&wrong_type[number..=number]), StatusCode::OK, ""),
            ("under the server's current device", &wang, body(&server_device), StatusCode::OK, "server's current device"),
            ("a new record without its tie to a village", &wang, body(&no_parent), StatusCode::OK, "not known here"),
        ];
        for (name, token, request, status, reason) in cases {
            let (got, answer) = t.post(replay, Some(token), &request).await;
            assert_eq!(got, status, "{name}: {answer}");
            if status == StatusCode::OK {
                let answer: ReplayResponse = serde_json::from_value(answer).unwrap();
                assert_eq!(answer.accepted, vec![], "{name}");
                assert!(!answer.rejected.is_empty(), "{name}");
                assert!(answer.rejected.iter().all(|r| r.reason.contains(reason)), "{name}: {:?}", answer.rejected);
            } else {
                assert!(answer["message"].as_str().unwrap().contains(reason), "{name}: {answer}");
            }
            assert_eq!(t.snapshot().await, before, "{name} changed nothing");
        }

        // The good replay is applied once; again, accepted and nothing applied.
        let (status, answer) = t.post(replay, Some(&wang), &body(&theirs)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let answer: ReplayResponse = serde_json::from_value(answer).unwrap();
        assert_eq!(answer.accepted.len(), theirs.len());
        assert_eq!(t.changes_from(device(7)).await, theirs.len() as i64);
        let applied = t.snapshot().await;
        let (status, _) = t.post(replay, Some(&wang), &body(&theirs)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t.snapshot().await, applied, "a replay held already applies nothing");

        // Past the window: 409, nothing changed.
        t.advance(31 * 24 * 60 * 60 * 1000);
        let wang = t.login("wang").await;
        let applied = t.snapshot().await;
        let (_, late) = new_household(&t.wang_village, "003", device(7), 100, t.now());
        let (status, answer) = t.post(replay, Some(&wang), &body(&late)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("window"), "{answer}");
        assert_eq!(t.snapshot().await, applied);
    }
}

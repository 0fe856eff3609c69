//! The lock's recovery secrets at rest, with the real binary: a copy of the
//! database alone holds none (read raw: rows and, on SQLite, the files'
//! bytes), a secret stored in plaintext by an older server is sealed at
//! start and still answered unchanged, the same secrets come back across
//! restarts and from the key in the environment, a missing or different
//! key is refused at start with a reason, and the data folder, key file and
//! SQLite files are private. On SQLite, and on PostgreSQL when asked.
#![cfg(unix)]

mod common;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{PASSWORD, fresh_postgres_database};
use fieldbook_server::auth::Role;
use fieldbook_server::db::sqlite_url;
use fieldbook_server::server_key::{DERIVED, KEY_ENV, KEY_FILE, SEALED};
use fieldbook_server::{Db, admin};
use serde_json::{Value, json};
use sqlx::Row;

const INDEX: &str = "<!doctype html><title>村级计生工作手册</title>";
const DEVICE_OLD: &str = "7d3c1c8e-3f3b-4c6e-9d61-1f2a3b4c5d6e";
const DEVICE_NEW: &str = "0b5e2d7a-6c1f-4e8b-a3d2-9e8f7a6b5c4d";
/// A secret an older server made and stored in plaintext.
const LEGACY_SECRET: &str = "5f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";

struct Setup {
    dir: tempfile::TempDir,
    /// `Some(url)` on PostgreSQL; SQLite lives in `data_dir` otherwise.
    postgres: Option<String>,
}

impl Setup {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        match &self.postgres {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir().join("fieldbook.db")),
        }
    }

    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--data-dir".into(), self.data_dir().into()];
        if let Some(url) = &self.postgres {
            args.extend(["--database-url".into(), url.into()]);
        }
        args.extend([
            "--dist".into(),
            self.dir.path().join("dist").into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
        ]);
        args
    }
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server; `Err(its standard error)` when it refuses to start.
fn start(setup: &Setup, env_key: Option<&str>) -> Result<Server, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldbook-server"));
    command
        .env_remove("FIELDBOOK_DATABASE_URL")
        .env_remove(KEY_ENV)
        .args(setup.args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = env_key {
        command.env(KEY_ENV, key);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    match line.trim().strip_prefix("Fieldbook is running on http://") {
        Some(rest) => Ok(Server {
            address: rest.trim_end_matches('/').to_string(),
            child,
        }),
        None => {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            let status = child.wait().unwrap();
            assert!(!status.success(), "no address in {line:?}");
            Err(stderr)
        }
    }
}

/// POSTs `body` as JSON; the status and the answer's JSON.
fn post(server: &Server, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: fieldbook\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The recovery secrets of both devices, as the server answers them.
fn secrets(server: &Server) -> (String, String) {
    let (status, login) = post(
        server,
        "/api/v1/login",
        None,
        &json!({"username": "wang", "password": PASSWORD}),
    );
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_string();
    let ask = |device: &str| {
        let (status, answer) = post(
            server,
            "/api/v1/device-key",
            Some(&token),
            &json!({"device": device, "password": PASSWORD}),
        );
        assert_eq!(status, 200, "{answer}");
        answer["secret"].as_str().unwrap().to_string()
    };
    (ask(DEVICE_OLD), ask(DEVICE_NEW))
}

/// Runs `f` on the database, then closes it.
fn with_db<T>(setup: &Setup, f: impl AsyncFnOnce(&Db) -> T) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = Db::connect(&setup.url()).await.unwrap();
        let out = f(&db).await;
        db.pool.close().await;
        out
    })
}

/// `device_keys` as stored: (device, secret column).
fn stored(setup: &Setup) -> Vec<(String, String)> {
    with_db(setup, async |db| {
        sqlx::query("SELECT device_id, secret FROM device_keys ORDER BY device_id")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get("device_id"), row.get("secret")))
            .collect()
    })
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn secrets_at_rest(postgres: Option<String>) {
    let setup = Setup {
        dir: tempfile::tempdir().unwrap(),
        postgres,
    };
    std::fs::create_dir(setup.dir.path().join("dist")).unwrap();
    std::fs::write(setup.dir.path().join("dist/index.html"), INDEX).unwrap();
    // An older server's database: a user and a secret in plaintext.
    with_db(&setup, async |db| {
        let user = admin::add_user(db, "wang", PASSWORD, Role::Admin, None, &[], 1)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO device_keys (user_id, device_id, secret, created_ms) \
             VALUES ($1, $2, $3, 1)",
        )
        .bind(&user)
        .bind(DEVICE_OLD)
        .bind(LEGACY_SECRET)
        .execute(&db.pool)
        .await
        .unwrap();
    });

    let server = start(&setup, None).unwrap();
    let (old, new) = secrets(&server);
    assert_eq!(
        old, LEGACY_SECRET,
        "a phone's existing secret never changes"
    );
    assert_eq!(new.len(), 64);
    assert!(new.chars().all(|c| c.is_ascii_hexdigit()));
    drop(server);

    // The database alone: no secret in any row…
    let rows = stored(&setup);
    assert_eq!(rows.len(), 2);
    for (device, secret) in &rows {
        assert!(
            !secret.contains(LEGACY_SECRET) && !secret.contains(&new),
            "{device}"
        );
        if device == DEVICE_OLD {
            assert!(secret.starts_with(SEALED), "{secret}");
        } else {
            assert_eq!(secret, DERIVED);
        }
    }
    // …nor anywhere in the SQLite files' bytes (free space, the log).
    if setup.postgres.is_none() {
        for name in ["fieldbook.db", "fieldbook.db-wal", "fieldbook.db-shm"] {
            let path = setup.data_dir().join(name);
            if let Ok(bytes) = std::fs::read(&path) {
                assert!(!contains(&bytes, LEGACY_SECRET), "{name}");
                assert!(!contains(&bytes, &new), "{name}");
            }
        }
    }

    // Private files: the folder 0700, the key and the database 0600.
    let key_file = setup.data_dir().join(KEY_FILE);
    assert_eq!(mode(&setup.data_dir()), 0o700);
    assert_eq!(mode(&key_file), 0o600);
    if setup.postgres.is_none() {
        for name in ["fieldbook.db", "fieldbook.db-wal", "fieldbook.db-shm"] {
            let path = setup.data_dir().join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
    }

    // A restart answers the same secrets.
    let server = start(&setup, None).unwrap();
    assert_eq!(secrets(&server), (old.clone(), new.clone()));
    drop(server);

    // A different key is refused at start, with the reason, and changes
    // nothing.
    let key = std::fs::read_to_string(&key_file).unwrap();
    let other = fieldbook_server::server_key::ServerKey::generate().to_hex();
    std::fs::write(&key_file, format!("{other}\n")).unwrap();
    let refused = start(&setup, None).err().expect("started with another key");
    assert!(refused.contains("is not the one"), "{refused}");
    assert!(refused.contains("recovery secret"), "{refused}");
    assert!(start(&setup, Some(&other)).is_err());
    // So is a missing one (and no new key is made in its place).
    std::fs::remove_file(&key_file).unwrap();
    let refused = start(&setup, None).err().expect("started without its key");
    assert!(refused.contains("server key is missing"), "{refused}");
    assert!(!key_file.exists());
    assert_eq!(stored(&setup), rows);

    // The key from the environment serves the same secrets, and no file is
    // made.
    let server = start(&setup, Some(key.trim())).unwrap();
    assert_eq!(secrets(&server), (old.clone(), new.clone()));
    drop(server);
    assert!(!key_file.exists());

    // The key file put back: the same again.
    std::fs::write(&key_file, &key).unwrap();
    let server = start(&setup, None).unwrap();
    assert_eq!(secrets(&server), (old, new));
}

#[test]
fn recovery_secrets_are_not_in_the_database_and_need_their_key_on_sqlite() {
    secrets_at_rest(None);
}

#[test]
#[ignore = "needs PostgreSQL: FIELDBOOK_TEST_POSTGRES_URL (cargo xtask test sets it)"]
fn recovery_secrets_are_not_in_the_database_and_need_their_key_on_postgres() {
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(fresh_postgres_database());
    secrets_at_rest(Some(url));
}

#[test]
fn a_damaged_key_or_key_variable_is_refused_with_a_reason() {
    let setup = Setup {
        dir: tempfile::tempdir().unwrap(),
        postgres: None,
    };
    std::fs::create_dir(setup.dir.path().join("dist")).unwrap();
    std::fs::write(setup.dir.path().join("dist/index.html"), INDEX).unwrap();
    let refused = start(&setup, Some("not a key")).err().unwrap();
    assert!(refused.contains(KEY_ENV), "{refused}");
    std::fs::create_dir_all(setup.data_dir()).unwrap();
    std::fs::write(setup.data_dir().join(KEY_FILE), "short\n").unwrap();
    let refused = start(&setup, None).err().unwrap();
    assert!(refused.contains("is damaged"), "{refused}");
}

#[tokio::test]
async fn sqlite_files_are_private_and_an_existing_folder_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    // A folder the server makes: 0700.
    let made = dir.path().join("new/data");
    let db = Db::connect(&sqlite_url(&made.join("fieldbook.db")))
        .await
        .unwrap();
    db.pool.close().await;
    assert_eq!(mode(&made), 0o700);
    assert_eq!(mode(&made.join("fieldbook.db")), 0o600);
    // A folder that exists (say `.`) is not changed; a database file
    // open to others is narrowed.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = shared.join("fieldbook.db");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = Db::connect(&sqlite_url(&file)).await.unwrap();
    sqlx::query("SELECT 1").execute(&db.pool).await.unwrap();
    for name in ["fieldbook.db", "fieldbook.db-wal", "fieldbook.db-shm"] {
        let path = shared.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    db.pool.close().await;
    assert_eq!(mode(&shared), 0o755);
}

//! The database: SQLite by default, PostgreSQL with a `postgres://` URL,
//! through sqlx's `Any` driver so that one set of queries and one set of
//! migrations (`crates/server/migrations/`) serve both. Queries use `$1`
//! placeholders, which both accept; integers are `BIGINT` (`i64`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Which database the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, WAL, `synchronous=FULL`.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The open database.
#[derive(Clone, Debug)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// Which database it is.
    pub backend: Backend,
}

/// The URL of the SQLite database file `path` (made if missing). The path
/// is percent-encoded where a URL would misread it (`%`, `?`, `#`).
pub fn sqlite_url(path: &Path) -> String {
    let mut encoded = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

/// Undoes [`sqlite_url`]'s encoding.
fn decode(path: &str) -> String {
    path.replace("%3F", "?")
        .replace("%23", "#")
        .replace("%25", "%")
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings the
    /// schema up to date. A SQLite file's folder is made if missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://… or postgres://…)");
        };
        if backend == Backend::Sqlite
            && let Some(path) = url
                .strip_prefix("sqlite://")
                .and_then(|rest| rest.split('?').next())
            && !path.is_empty()
            && !path.starts_with(':')
        {
            // The folder only for the server's user (0700), the database
            // and its -wal and -shm files too (0600).
            let file = Path::new(&decode(path)).to_path_buf();
            if let Some(folder) = file.parent()
                && !folder.as_os_str().is_empty()
            {
                crate::server_key::private_folder(folder)?;
            }
            crate::server_key::private_sqlite_files(&file)?;
        }
        let options = AnyConnectOptions::from_str(url).context("the database URL is not valid")?;
        let pool = AnyPoolOptions::new()
            // SQLite has one writer at a time anyway; a few connections let
            // reads go on beside it.
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers go on during a write; FULL syncs
                        // every commit to disk before the push is answered.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("cannot open the database")?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("cannot bring the database schema up to date")?;
        Ok(Db { pool, backend })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_data_folder_with_url_characters_in_its_name_works() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a%20b", "q?x", "h#1", "plain"] {
            let file = dir.path().join(name).join("fieldbook.db");
            let db = Db::connect(&sqlite_url(&file)).await.unwrap();
            db.pool.close().await;
            assert!(file.is_file(), "{}", file.display());
        }
    }
}

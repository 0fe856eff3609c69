//! A throwaway PostgreSQL server for tests, from Debian's `postgresql`
//! package: a fresh cluster under a work directory, listening only on
//! 127.0.0.1 on a free port, stopped and deleted again on drop.
//!
//! Each server lives in its own directory `<work>/pg-<pid>-<n>` (data
//! directory, Unix socket, log), so several test processes can share one work
//! directory. A directory whose process is gone was left by a killed run: its
//! server is stopped and the directory removed before a new one starts.
//!
//! A server must not outlive its process even when `Drop` never runs (Ctrl-C,
//! a server kept in a `static`, a killed test): a small watchdog shell, whose
//! standard input is a pipe held only by this process, stops the server and
//! removes its directory when that pipe closes.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

use crate::process::{output_line, run};

/// Where Debian installs each major version: `<major>/bin/`.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";
/// The programs used from a version's `bin/`.
const PROGRAMS: &[&str] = &["initdb", "pg_ctl", "postgres", "psql"];
/// The system user the Debian package creates; the server refuses root.
const SYSTEM_USER: &str = "postgres";
/// The cluster's superuser, reached only through the Unix socket (trust).
const SUPERUSER: &str = "postgres";
/// The role the tests log in as, over TCP with its password.
const ROLE: &str = "fieldbook";
const PASSWORD: &str = "fieldbook";
/// The database [`TestPostgres::url`] names.
const DATABASE: &str = "fieldbook_test";
/// Free ports are found by binding port 0 and releasing it, so another
/// process can take one before the server binds it: try a few.
const START_ATTEMPTS: u32 = 3;
/// sun_path holds 108 bytes with the final NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Servers started by this process, for unique directory names.
static STARTED: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL server started for the tests on 127.0.0.1, in a fresh data
/// directory; stopped (and its directory removed) on drop.
pub struct TestPostgres {
    bin: PathBuf,
    /// `<work>/pg-<pid>-<n>`: the socket and log; the data directory inside.
    dir: PathBuf,
    port: u16,
    url: String,
    /// Stops the server if this process ends without dropping it.
    watchdog: Option<Child>,
}

impl TestPostgres {
    /// Installs Debian's `postgresql` package if no server binaries are found
    /// (as root only; otherwise fails with the command to run), makes a new
    /// cluster with initdb under `work`, starts it with pg_ctl listening only
    /// on 127.0.0.1 on a free port, waits until it accepts connections,
    /// creates the role `fieldbook` and its database `fieldbook_test`, and
    /// returns.
    pub fn start(work: &Path) -> Result<TestPostgres> {
        let bin = ensure_installed()?;
        let as_root = is_root();
        std::fs::create_dir_all(work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        let work = work
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", work.display()))?;
        remove_stale(&bin, &work, as_root)?;

        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = work.join(format!("pg-{}-{n}", std::process::id()));
        let socket_path = dir.join(".s.PGSQL.65535");
        if socket_path.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "{} is too long a path for PostgreSQL's Unix socket; give a shorter work directory",
                socket_path.display()
            );
        }
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // From here on the watchdog, then Drop, clean up whatever follows.
        let mut server = TestPostgres {
            bin,
            dir,
            port: 0,
            url: String::new(),
            watchdog: None,
        };
        server.watchdog = Some(watchdog(&server.bin, &server.dir, as_root)?);
        server.init_cluster(as_root)?;
        server.start_server(as_root)?;
        server.psql(&[
            &format!("CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'"),
            &format!("CREATE DATABASE {DATABASE} OWNER {ROLE} TEMPLATE template0"),
        ])?;
        server.url = database_url(server.port, DATABASE);
        println!("PostgreSQL is ready: {}", server.url);
        Ok(server)
    }

    /// e.g. `postgres://fieldbook:fieldbook@127.0.0.1:PORT/fieldbook_test`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A URL to a brand-new empty database `name`, owned by `fieldbook`, on
    /// this server, so tests can each have their own. Fails if `name` is
    /// taken or is not a plain lower-case SQL identifier.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "for test suites that need a database each")
    )]
    pub fn new_database(&self, name: &str) -> Result<String> {
        if !is_plain_identifier(name) {
            bail!(
                "`{name}` is not a database name: use a-z, 0-9 and _, at most 63, not a digit first"
            );
        }
        self.psql(&[&format!(
            "CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0"
        )])?;
        Ok(database_url(self.port, name))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// A server program, run as the `postgres` system user when we are root.
    fn program(&self, name: &str, as_root: bool) -> Command {
        server_command(&self.bin, name, &self.dir, as_root)
    }

    fn init_cluster(&self, as_root: bool) -> Result<()> {
        if as_root {
            run(Command::new("chown")
                .arg(format!("{SYSTEM_USER}:{SYSTEM_USER}"))
                .arg(&self.dir))?;
            let reachable = Command::new("runuser")
                .args(["-u", SYSTEM_USER, "--", "test", "-w"])
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success());
            if !reachable {
                bail!(
                    "the `{SYSTEM_USER}` user cannot write to {}: every directory above it must be searchable by others (chmod o+x)",
                    self.dir.display()
                );
            }
        }
        run(self
            .program("initdb", as_root)
            .arg("--pgdata")
            .arg(self.data())
            .args([
                &format!("--username={SUPERUSER}"),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                // A throwaway cluster: no need to wait for the disk.
                "--no-sync",
            ])
            .stdout(Stdio::null()))?;
        // Only for a throwaway test server: without fsync and full-page
        // writes a crash can corrupt the cluster, which is deleted anyway,
        // and tests run much faster.
        let settings = format!(
            "\n# cargo xtask: a throwaway test server\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = {}\n\
             fsync = off\n\
             full_page_writes = off\n\
             synchronous_commit = off\n",
            conf_string(&self.dir.to_string_lossy())
        );
        let conf = self.data().join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .with_context(|| format!("cannot write {}", conf.display()))
    }

    /// `pg_ctl start --wait` returns once the server accepts connections.
    fn start_server(&mut self, as_root: bool) -> Result<()> {
        let mut attempt = 1;
        loop {
            self.port = free_port()?;
            let started = run(self
                .program("pg_ctl", as_root)
                .arg("start")
                .arg("--pgdata")
                .arg(self.data())
                .arg("--log")
                .arg(self.log())
                .args(["--wait", "--timeout=60", "--silent"])
                .args(["-o", &format!("-p {}", self.port)]));
            match started {
                Ok(()) => return Ok(()),
                Err(error) if attempt >= START_ATTEMPTS => {
                    let log = std::fs::read_to_string(self.log()).unwrap_or_default();
                    return Err(error.context(format!(
                        "PostgreSQL did not start; the end of {}:\n{}",
                        self.log().display(),
                        last_lines(&log, 20)
                    )));
                }
                Err(_) => {
                    println!(
                        "PostgreSQL did not start on port {}; trying another",
                        self.port
                    );
                    let _ = stop(&self.bin, &self.dir, as_root);
                    attempt += 1;
                }
            }
        }
    }

    /// Runs statements as the superuser, through the socket in our directory.
    fn psql(&self, statements: &[&str]) -> Result<()> {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .args(["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"])
            .arg("--host")
            .arg(&self.dir)
            .args(["--port", &self.port.to_string()])
            .args(["--username", SUPERUSER, "--dbname", "postgres"]);
        for statement in statements {
            command.args(["--command", statement]);
        }
        run(&mut command)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Err(error) = stop(&self.bin, &self.dir, is_root()) {
            eprintln!("xtask: warning: stopping PostgreSQL: {error:#}");
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "xtask: warning: cannot remove {}: {error}",
                self.dir.display()
            );
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing its input lets it finish; there is nothing left to do.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// `cargo xtask postgres`: starts a server under `work`, prints its URL and
/// keeps it until Ctrl-C or the end of standard input.
pub fn serve(work: &Path) -> Result<()> {
    let server = TestPostgres::start(work)?;
    println!("Stop it with Ctrl-C or Ctrl-D. Its URL:");
    println!("{}", server.url());
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
    Ok(())
}

/// The `bin/` of the highest PostgreSQL major version installed, installing
/// Debian's `postgresql` package first if there is none.
fn ensure_installed() -> Result<PathBuf> {
    if let Some(bin) = installed_bin() {
        return Ok(bin);
    }
    let install = "apt-get install -y --no-install-recommends postgresql";
    if !is_root() {
        bail!(
            "the PostgreSQL server is missing. Install it with:\n  sudo apt-get update -qq && sudo {install}"
        );
    }
    println!("the PostgreSQL server is missing; installing Debian's `postgresql`");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    installed_bin().with_context(|| {
        format!("`postgresql` is installed but no {DEBIAN_LIB}/<version>/bin has {PROGRAMS:?}")
    })
}

fn installed_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir(DEBIAN_LIB)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let bin = entry.path().join("bin");
            PROGRAMS.iter().all(|program| bin.join(program).is_file())
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned());
    let version = highest_version(versions)?;
    Some(Path::new(DEBIAN_LIB).join(version).join("bin"))
}

/// The highest of version directory names such as `15`, `16` or `9.6`.
fn highest_version(names: impl IntoIterator<Item = String>) -> Option<String> {
    names
        .into_iter()
        .filter_map(|name| {
            let parts: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((parts?, name))
        })
        .max()
        .map(|(_, name)| name)
}

fn is_root() -> bool {
    output_line("id", &["-u"]).as_deref() == Some("0")
}

/// `initdb`, `pg_ctl` and `postgres` refuse to run as root: as root, run them
/// as the system user, in a directory it can enter.
fn server_command(bin: &Path, program: &str, dir: &Path, as_root: bool) -> Command {
    let mut command = if as_root {
        let mut command = Command::new("runuser");
        command
            .args(["-u", SYSTEM_USER, "--"])
            .arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    };
    command.current_dir(dir);
    command
}

/// `pg_ctl stop -m immediate`, if a server's pid file is there.
fn stop(bin: &Path, dir: &Path, as_root: bool) -> Result<()> {
    let data = dir.join("data");
    if !data.join("postmaster.pid").exists() {
        return Ok(());
    }
    run(server_command(bin, "pg_ctl", dir, as_root)
        .arg("stop")
        .arg("--pgdata")
        .arg(&data)
        .args(["--mode=immediate", "--wait", "--silent"]))
}

/// Stops and removes the servers of processes that are gone.
fn remove_stale(bin: &Path, work: &Path, as_root: bool) -> Result<()> {
    for entry in std::fs::read_dir(work)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let dir = entry.path();
        println!("removing {}, left by a run that ended", dir.display());
        if let Err(error) = stop(bin, &dir, as_root) {
            eprintln!("xtask: warning: {error:#}");
        }
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

/// The process a `pg-<pid>-<n>` directory belongs to.
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("pg-")?.split_once('-')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// A shell that waits for the end of its input (this process's end, at the
/// latest), then stops the server and removes its directory. It ignores
/// Ctrl-C and hang-ups and sits in its own process group, so it outlives us.
fn watchdog(bin: &Path, dir: &Path, as_root: bool) -> Result<Child> {
    const SCRIPT: &str = "trap '' INT TERM HUP
cat >/dev/null
if [ -e \"$DIR/data/postmaster.pid\" ]; then
  \"$@\" stop --pgdata \"$DIR/data\" --mode=immediate --wait --silent
fi
rm -rf \"$DIR\"";
    let mut command = Command::new("sh");
    command.args(["-c", SCRIPT, "xtask-postgres-watchdog"]);
    if as_root {
        command.args(["runuser", "-u", SYSTEM_USER, "--"]);
    }
    command
        .arg(bin.join("pg_ctl"))
        .env("DIR", dir)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    println!(
        "watchdog: when this process ends, stop the server in {} and remove it",
        dir.display()
    );
    command.spawn().context("cannot start the watchdog shell")
}

/// Binds 127.0.0.1:0 and releases it.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn database_url(port: u16, database: &str) -> String {
    format!("postgres://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{database}")
}

/// A name that needs no quoting and keeps its case: `[a-z_][a-z0-9_]*`,
/// at most 63 bytes (NAMEDATALEN - 1).
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

/// A postgresql.conf string literal.
fn conf_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_major_version_wins() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            highest_version(names(&["9.6", "15", "13", "16"])).as_deref(),
            Some("16")
        );
        assert_eq!(
            highest_version(names(&["9.6", "10", "9.10"])).as_deref(),
            Some("10")
        );
        assert_eq!(
            highest_version(names(&["common", "15"])).as_deref(),
            Some("15")
        );
        assert_eq!(highest_version(names(&["common"])), None);
    }

    #[test]
    fn only_plain_names_make_databases() {
        assert!(is_plain_identifier("fieldbook_test"));
        assert!(is_plain_identifier("_t2"));
        assert!(is_plain_identifier(&"a".repeat(63)));
        assert!(!is_plain_identifier(&"a".repeat(64)));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("2fast"));
        assert!(!is_plain_identifier("Upper"));
        assert!(!is_plain_identifier("a; DROP DATABASE postgres"));
        assert!(!is_plain_identifier("a-b"));
    }

    #[test]
    fn server_directories_name_their_process() {
        assert_eq!(owner_pid("pg-1234-0"), Some(1234));
        assert_eq!(owner_pid("pg-1234-17"), Some(1234));
        assert_eq!(owner_pid("pg-1234"), None);
        assert_eq!(owner_pid("pg-x-1"), None);
        assert_eq!(owner_pid("data"), None);
    }

    #[test]
    fn urls_and_settings_are_spelled_out() {
        assert_eq!(
            database_url(54321, "fieldbook_test"),
            "postgres://fieldbook:fieldbook@127.0.0.1:54321/fieldbook_test"
        );
        assert_eq!(conf_string("/tmp/it's"), "'/tmp/it''s'");
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }

    /// Starts a real server: needs PostgreSQL installed (it installs it as
    /// root) and, as root, runs the server as the `postgres` user.
    #[test]
    #[ignore = "starts a real PostgreSQL server: cargo test -p xtask -- --ignored"]
    fn a_real_server_serves_its_databases_and_stops_on_drop() {
        let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/postgres-test");
        let server = TestPostgres::start(&work).unwrap();
        let psql = server.bin.join("psql");
        let select = |url: &str| {
            let output = Command::new(&psql)
                .args(["--no-psqlrc", "--tuples-only", "--no-align", url])
                .args([
                    "--command",
                    "select current_user || ' ' || current_database()",
                ])
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8(output.stdout).unwrap().trim().to_string()
        };
        assert_eq!(select(server.url()), "fieldbook fieldbook_test");
        let other = server.new_database("fieldbook_other").unwrap();
        assert_eq!(select(&other), "fieldbook fieldbook_other");
        assert!(server.new_database("fieldbook_other").is_err());
        assert!(server.new_database("Bad-Name").is_err());

        let wrong = server.url().replace(":fieldbook@", ":wrong@");
        let refused = Command::new(&psql)
            .args(["--no-psqlrc", &wrong, "--command", "select 1"])
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "a wrong password must be refused"
        );

        let dir = server.dir.clone();
        let port = server.port;
        drop(server);
        assert!(!dir.exists());
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}

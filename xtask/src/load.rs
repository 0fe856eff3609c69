//! `cargo xtask load`: fieldbook-server under load. N simulated devices
//! start at once (a barrier); each signs in, pushes its changes (new
//! households in its village, under a device id of its own, numbered from 1)
//! and pulls its village's log from cursor 0, a page of 1,000 at a time
//! until `more` is false. Every request's latency is recorded by kind; the
//! server's peak memory is its `VmHWM` in `/proc/<pid>/status`.
//!
//! The server is the release binary, started on 127.0.0.1 on a free port
//! with a fresh SQLite data folder, or a fresh throwaway PostgreSQL cluster
//! ([`TestPostgres`]). Setup goes through the admin command line on the same
//! database, as a township's administrator does it: the villages (one by
//! default, `--villages K` for more) and one worker login per device, since
//! every phone signs in as its own worker. `user add` hashes each password
//! with Argon2 (about 50 ms a user with the process start), so they run one
//! per core.
//!
//! Each device claims an address of its own in `X-Forwarded-For` (the server
//! runs with `--trust-forwarded-for`, as behind the README's reverse proxy),
//! so the per-address login limit sees N phones, not one; `--same-address`
//! sends them all from 127.0.0.1 instead, like phones behind one NAT.
//!
//! Everything runs on one machine, so the load generator competes with the
//! server for the cores: the report gives the server's, the generator's and
//! the whole machine's CPU time. Nothing here is tuned to the goals; a
//! request that fails (transport error, a status other than 200, a push not
//! wholly accepted, a pull that misses the device's own changes) counts as
//! an error, and any error makes the command fail after the report.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fieldbook_core::sync::{
    Change, Clock, DeviceId, PushRequest, PushResponse, RecordKind, changes_for_new_record,
};
use fieldbook_core::{Household, Id};
use serde::Deserialize;
use serde_json::json;

use crate::postgres::TestPostgres;
use crate::tools;

/// The page size of every pull.
pub const PULL_LIMIT: u32 = 1_000;
/// The goal for every request kind's p99 at 500 devices.
pub const GOAL_P99_MS: f64 = 250.0;
/// The goal for the server's peak resident memory, in MB (10^6 bytes).
pub const GOAL_PEAK_MB: f64 = 200.0;
/// The most devices one run simulates (a thread each).
const MAX_DEVICES: usize = 5_000;
/// The most changes per push the server takes (`sync::MAX_PUSH_CHANGES`).
const MAX_CHANGES: usize = 5_000;
/// Longer than the server's own 60 s request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// A bound on pull pages per device, so a run always ends.
const MAX_PAGES: usize = 10_000;
/// The largest answer read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;
/// How often the server's resident memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// Set in the child that a `--json` run starts: where to write the report.
const REPORT_ENV: &str = "FIELDBOOK_LOAD_REPORT";
/// How often one admin command is tried.
const ADMIN_ATTEMPTS: u32 = 10;
/// The `--json` child keeps the error messages of at most this many requests.
const KEPT_ERRORS: usize = 5;

/// Which database the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn name(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }
}

/// `cargo xtask load`'s options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub devices: usize,
    pub changes: usize,
    /// Device `i` works in village `i % villages`. One village (the
    /// default) makes every device pull every other device's changes.
    pub villages: usize,
    pub database: Database,
    /// Every device from 127.0.0.1, as phones behind one NAT (the township
    /// office's Wi-Fi). Otherwise each device has an address of its own,
    /// sent in `X-Forwarded-For` to a server started with
    /// `--trust-forwarded-for`, as behind the README's reverse proxy.
    pub same_address: bool,
    /// Each device signs in before the clock starts and syncs with that
    /// session, as a phone does (its session lasts 30 days): the run
    /// measures push and pull without the password checks.
    pub reuse_session: bool,
    /// This server binary instead of building the release one (to compare
    /// builds).
    pub server: Option<PathBuf>,
    pub json: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            devices: 50,
            changes: 20,
            villages: 1,
            database: Database::Sqlite,
            same_address: false,
            reuse_session: false,
            server: None,
            json: false,
        }
    }
}

pub fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--json" => {
                options.json = true;
                continue;
            }
            "--same-address" => {
                options.same_address = true;
                continue;
            }
            "--reuse-session" => {
                options.reuse_session = true;
                continue;
            }
            _ => {}
        }
        let value = rest
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--devices" => {
                options.devices = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DEVICES).contains(n))
                    .with_context(|| format!("--devices takes 1 to {MAX_DEVICES}"))?;
            }
            "--changes" => {
                options.changes = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_CHANGES).contains(n))
                    .with_context(|| format!("--changes takes 1 to {MAX_CHANGES}"))?;
            }
            "--villages" => {
                options.villages = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DEVICES).contains(n))
                    .with_context(|| format!("--villages takes 1 to {MAX_DEVICES}"))?;
            }
            "--server" => options.server = Some(PathBuf::from(value)),
            "--database" => {
                options.database = match value.as_str() {
                    "sqlite" => Database::Sqlite,
                    "postgres" => Database::Postgres,
                    _ => bail!("--database takes sqlite or postgres"),
                };
            }
            _ => bail!("unknown option {flag}"),
        }
    }
    if options.villages > options.devices {
        bail!("--villages must not exceed --devices");
    }
    Ok(options)
}

/// `cargo xtask load …`. The devices' threads read and inflate every
/// answer, and a debug build of that would take much of the CPU from the
/// server on the same machine: so this runs the load in an optimised xtask
/// (`cargo run --release`, built once), which writes its report to a file.
/// With `--json`, that child's output (progress, cargo's and PostgreSQL's)
/// goes to stderr and only the report to stdout.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    if let Some(path) = std::env::var_os(REPORT_ENV) {
        let report = run(root, &options)?;
        print!("{}", report.table());
        std::fs::write(&path, report.json().to_string())
            .with_context(|| format!("cannot write {}", PathBuf::from(&path).display()))?;
        return report.check();
    }
    let path = tools::target_dir(root).join(format!("load-report-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut cargo = tools::cargo();
    cargo
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "load",
        ])
        .args(args)
        .env(REPORT_ENV, &path)
        .stdin(Stdio::null());
    if options.json {
        cargo.stdout(std::io::stderr().as_fd().try_clone_to_owned()?);
    } else {
        crate::process::announce(&cargo);
    }
    let status = cargo.status().context("cannot run cargo")?;
    let report = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    match report {
        Ok(report) if options.json => println!("{report}"),
        Ok(_) => {}
        Err(_) => bail!("the load run failed ({status}) before its report"),
    }
    if !status.success() {
        bail!("the load run had errors (see the report)");
    }
    Ok(())
}

/// Sets up the server, runs the devices, stops the server.
pub fn run(root: &Path, options: &Options) -> Result<Report> {
    let bin = match &options.server {
        Some(bin) => std::path::absolute(bin)?,
        None => tools::build_server(root)?,
    };
    let work = tools::target_dir(root).join("load");
    let run_dir = work.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run_dir);
    let dist = run_dir.join("dist");
    std::fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Fieldbook load test</title>\n",
    )?;

    // The PostgreSQL cluster lives until the end of this function.
    let (database_args, _postgres) = match options.database {
        Database::Sqlite => (
            vec!["--data-dir".to_string(), path_arg(&run_dir.join("data"))],
            None,
        ),
        Database::Postgres => {
            // A fresh cluster: its database is new and empty.
            let postgres = TestPostgres::start(&work)?;
            (
                vec!["--database-url".to_string(), postgres.url().to_string()],
                Some(postgres),
            )
        }
    };
    let admin = Admin {
        bin: bin.clone(),
        database_args: database_args.clone(),
    };

    println!(
        "setup: {} and {} worker logins",
        count_of(options.villages, "village"),
        options.devices
    );
    let setup_started = Instant::now();
    let villages = admin
        .run_all(options.villages, |k| {
            let args = ["village", "add", "--name", &format!("负载测试村{}", k + 1)];
            let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            args.extend(["--township".to_string(), "负载测试镇".to_string()]);
            (args, None)
        })?
        .iter()
        .map(|out| {
            Id::parse_str(out.trim())
                .with_context(|| format!("`village add` printed {out:?}, not an id"))
        })
        .collect::<Result<Vec<Id>>>()?;
    admin.run_all(options.devices, |index| {
        let (username, password) = credentials(index);
        let args = ["user", "add", &username, "--role", "worker", "--village"];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(villages[index % villages.len()].to_string());
        (args, Some(format!("{password}\n")))
    })?;
    let setup_s = setup_started.elapsed().as_secs_f64();
    println!("setup took {setup_s:.1} s");

    let devices = plan_devices(options, &villages)?;
    let log = run_dir.join("server.log");
    let server = Server::start(&bin, &database_args, &dist, &log, !options.same_address)?;
    println!(
        "server: pid {} on http://{}/ (log: {})",
        server.pid(),
        server.addr,
        log.display()
    );
    // Let it settle, then read its resting size.
    std::thread::sleep(Duration::from_millis(500));
    let idle_kb = proc_status_kb(server.pid(), "VmRSS").unwrap_or(0);
    let load_before = load_average().unwrap_or(f64::NAN);
    let ticks = clock_ticks();
    let server_cpu_before = cpu_seconds(&format!("/proc/{}/stat", server.pid()), ticks);
    let own_cpu_before = cpu_seconds("/proc/self/stat", ticks);
    let machine_before = machine_busy_seconds(ticks);
    let sampler = Sampler::start(server.pid());

    println!(
        "load: {} devices at once, each: {}push {} changes, pull by {PULL_LIMIT}",
        options.devices,
        if options.reuse_session {
            "(signed in before) "
        } else {
            "login, "
        },
        options.changes
    );
    let outcomes = drive(&server.addr, devices, options.reuse_session)?;

    let (sampled_kb, sampled_at) = sampler.stop();
    // VmHWM is updated lazily: a sample can be a little above it.
    let peak_kb = proc_status_kb(server.pid(), "VmHWM")
        .unwrap_or(0)
        .max(sampled_kb);
    let server_cpu = cpu_seconds(&format!("/proc/{}/stat", server.pid()), ticks)
        .zip(server_cpu_before)
        .map(|(after, before)| after - before);
    let own_cpu = cpu_seconds("/proc/self/stat", ticks)
        .zip(own_cpu_before)
        .map(|(after, before)| after - before);
    let machine_cpu = machine_busy_seconds(ticks)
        .zip(machine_before)
        .map(|(after, before)| after - before);
    server.stop()?;

    let report = Report::from_outcomes(
        options,
        &outcomes,
        Resources {
            peak_mb: kb_to_mb(peak_kb),
            sampled_peak_mb: kb_to_mb(sampled_kb),
            sampled_peak_at_s: first_request(&outcomes).map_or(0.0, |origin| {
                sampled_at.saturating_duration_since(origin).as_secs_f64()
            }),
            idle_mb: kb_to_mb(idle_kb),
            server_cpu_s: server_cpu.unwrap_or(f64::NAN),
            generator_cpu_s: own_cpu.unwrap_or(f64::NAN),
            machine_cpu_s: machine_cpu.unwrap_or(f64::NAN),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_before,
            setup_s,
        },
    );
    if report.errors == 0 {
        let _ = std::fs::remove_dir_all(&run_dir);
    } else {
        println!("kept {} for a look", run_dir.display());
    }
    Ok(report)
}

/// "1 village", "5 villages".
pub fn count_of(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The admin command line on the run's database.
struct Admin {
    bin: PathBuf,
    database_args: Vec<String>,
}

impl Admin {
    /// Runs `fieldbook-server <database args> <args>`, with `stdin` as its
    /// standard input; returns its standard output.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let mut child = Command::new(&self.bin)
            .args(&self.database_args)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "`fieldbook-server {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `count` admin commands, `command(i)` giving the i-th one's arguments
    /// and standard input, one process per core at a time; returns their
    /// outputs in order. A command that fails is tried again, a little
    /// later each time: on SQLite, `user add` reads before it writes, and
    /// two at once can find the database locked.
    fn run_all(
        &self,
        count: usize,
        command: impl Fn(usize) -> (Vec<String>, Option<String>) + Sync,
    ) -> Result<Vec<String>> {
        let next = AtomicUsize::new(0);
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let outputs = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..parallel)
                .map(|_| {
                    scope.spawn(|| -> Result<Vec<(usize, String)>> {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            if index >= count {
                                return Ok(done);
                            }
                            let (args, stdin) = command(index);
                            let args: Vec<&str> = args.iter().map(String::as_str).collect();
                            let mut attempt = 0;
                            loop {
                                attempt += 1;
                                match self.run(&args, stdin.as_deref()) {
                                    Ok(output) => {
                                        done.push((index, output));
                                        break;
                                    }
                                    Err(e) if attempt < ADMIN_ATTEMPTS => {
                                        let first = e.to_string();
                                        let first = first.lines().next().unwrap_or("");
                                        eprintln!("again ({attempt}): {first}");
                                        std::thread::sleep(Duration::from_millis(
                                            50 * u64::from(attempt),
                                        ));
                                    }
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("a setup thread panicked"))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut outputs: Vec<(usize, String)> = outputs.into_iter().flatten().collect();
        outputs.sort_by_key(|(index, _)| *index);
        Ok(outputs.into_iter().map(|(_, output)| output).collect())
    }
}

/// Device `index`'s worker login.
fn credentials(index: usize) -> (String, String) {
    (
        format!("load-{index:05}"),
        format!("load-password-{index:05}"),
    )
}

/// What one simulated device sends, made before the clock starts.
struct DevicePlan {
    device: DeviceId,
    /// The client address the device claims in `X-Forwarded-For`.
    address: Option<String>,
    login_body: Vec<u8>,
    push_body: Vec<u8>,
    changes: usize,
}

/// Device `index` works in village `index % K`, as its worker.
fn plan_devices(options: &Options, villages: &[Id]) -> Result<Vec<DevicePlan>> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    // Ids unique to this run: its start time above, the device and the
    // household below.
    let run_bits = u128::from(now_ms) << 64;
    (0..options.devices)
        .map(|index| {
            let device = DeviceId(Id::from_u128(run_bits | (1 << 56) | (index as u128) << 24));
            let village = villages[index % villages.len()];
            let changes = device_changes(device, village, index, options.changes, now_ms, |n| {
                Id::from_u128(run_bits | (2 << 56) | (index as u128) << 24 | n as u128)
            })?;
            let (username, password) = credentials(index);
            Ok(DevicePlan {
                device,
                // IPv6 documentation addresses: a header only, never a
                // destination.
                address: (!options.same_address).then(|| format!("2001:db8::{:x}", index + 1)),
                login_body: serde_json::to_vec(
                    &json!({"username": username, "password": password}),
                )?,
                push_body: serde_json::to_vec(&PushRequest { device, changes })?,
                changes: options.changes,
            })
        })
        .collect()
}

/// `count` changes that create new households in `village`, as the app
/// makes them (`changes_for_new_record` on a household's JSON), numbered 1,
/// 2, 3… When `count` ends part-way through a household, that household
/// still gets its `village_id`, so that every change can be accepted.
pub fn device_changes(
    device: DeviceId,
    village: Id,
    index: usize,
    count: usize,
    now_ms: u64,
    household_id: impl Fn(usize) -> Id,
) -> Result<Vec<Change>> {
    let mut clock = Clock::new();
    let mut out: Vec<Change> = Vec::with_capacity(count);
    let mut n = 0;
    while out.len() < count {
        let mut household = Household::new(
            household_id(n),
            village,
            format!("L{index:05}-{:04}", n + 1),
        );
        household.group = Some(format!("{}组", n % 8 + 1));
        household.address = Some(format!("负载街{}号", n + 1));
        household.phone = Some(format!("138{index:04}{n:04}"));
        let record = serde_json::to_value(&household)?;
        let mut changes = changes_for_new_record(
            RecordKind::Household,
            &record,
            clock.tick(now_ms),
            device,
            1,
        )?;
        // The parent field first: a household cut short keeps it.
        changes.sort_by_key(|c| c.field != "village_id");
        out.extend(changes.into_iter().take(count - out.len()));
        n += 1;
    }
    for (seq, change) in (1..).zip(out.iter_mut()) {
        change.seq = seq;
    }
    Ok(out)
}

/// The kinds of request a device makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Login,
    Push,
    Pull,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Login, Kind::Push, Kind::Pull];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Push => "push",
            Kind::Pull => "pull",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Push => "push",
            Kind::Pull => "pull page",
        }
    }
}

/// One request: when it started, how long it took, whether it did its job.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub kind: Kind,
    pub start: Instant,
    pub latency: Duration,
    pub ok: bool,
}

/// What one device did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub samples: Vec<Sample>,
    /// Why the device stopped early or its result was wrong.
    pub error: Option<String>,
    /// Changes received by its pulls.
    pub pulled: usize,
}

/// Starts every device's thread, lets them go at once, collects them. With
/// `reuse_session`, each signs in first and the clock starts after.
fn drive(addr: &str, devices: Vec<DevicePlan>, reuse_session: bool) -> Result<Vec<Outcome>> {
    let base = format!("http://{addr}/api/v1");
    let barrier = Arc::new(Barrier::new(devices.len()));
    let mut threads = Vec::with_capacity(devices.len());
    for (index, plan) in devices.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        let base = base.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("device-{index}"))
                .stack_size(512 * 1024)
                .spawn(move || run_device(&base, &plan, &barrier, reuse_session))
                .context("cannot start a device thread")?,
        );
    }
    Ok(threads
        .into_iter()
        .map(|t| t.join().expect("a device thread panicked"))
        .collect())
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
}

/// A pull page, read only as far as the load generator needs: the device of
/// each change (to find its own), the cursor and `more`.
#[derive(Deserialize)]
struct PullPage {
    changes: Vec<PulledChange>,
    next_cursor: u64,
    more: bool,
}

#[derive(Deserialize)]
struct PulledChange {
    change: PulledBody,
}

#[derive(Deserialize)]
struct PulledBody {
    device: DeviceId,
}

/// One device's session: login (before the barrier with
/// `reuse_session`, untimed), push, pull to the end.
fn run_device(base: &str, plan: &DevicePlan, barrier: &Barrier, reuse_session: bool) -> Outcome {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into();
    let mut outcome = Outcome::default();
    let mut token = None;
    if reuse_session {
        // The session a phone already holds: its login is not measured.
        match login(base, plan, &agent, &mut Outcome::default()) {
            Ok(signed_in) => token = Some(signed_in),
            Err(error) => outcome.error = Some(error),
        }
    }
    barrier.wait();
    if outcome.error.is_some() {
        return outcome;
    }
    if let Err(error) = device_session(base, plan, &agent, token, &mut outcome) {
        outcome.error = Some(error);
    }
    outcome
}

/// Signs in; the session's token.
fn login(
    base: &str,
    plan: &DevicePlan,
    agent: &ureq::Agent,
    outcome: &mut Outcome,
) -> Result<String, String> {
    let answer = timed_post(
        agent,
        plan.address.as_deref(),
        &format!("{base}/login"),
        None,
        &plan.login_body,
        Kind::Login,
        outcome,
    )?;
    Ok(serde_json::from_slice::<LoginAnswer>(&answer)
        .map_err(|e| format!("login: {e}"))?
        .token)
}

fn device_session(
    base: &str,
    plan: &DevicePlan,
    agent: &ureq::Agent,
    token: Option<String>,
    outcome: &mut Outcome,
) -> Result<(), String> {
    let token = match token {
        Some(token) => token,
        None => login(base, plan, agent, outcome)?,
    };

    let answer = timed_post(
        agent,
        plan.address.as_deref(),
        &format!("{base}/sync/push"),
        Some(&token),
        &plan.push_body,
        Kind::Push,
        outcome,
    )?;
    let pushed: PushResponse = serde_json::from_slice(&answer).map_err(|e| format!("push: {e}"))?;
    let all: Vec<u64> = (1..=plan.changes as u64).collect();
    if pushed.accepted != all || !pushed.rejected.is_empty() {
        mark_last_failed(outcome);
        return Err(format!(
            "push: {} of {} accepted; first refusal: {:?}",
            pushed.accepted.len(),
            plan.changes,
            pushed.rejected.first().map(|r| &r.reason)
        ));
    }

    let mut cursor = 0u64;
    let mut own = 0;
    for _ in 0..MAX_PAGES {
        let body = format!("{{\"cursor\":{cursor},\"limit\":{PULL_LIMIT}}}");
        let answer = timed_post(
            agent,
            plan.address.as_deref(),
            &format!("{base}/sync/pull"),
            Some(&token),
            body.as_bytes(),
            Kind::Pull,
            outcome,
        )?;
        let page: PullPage = serde_json::from_slice(&answer).map_err(|e| format!("pull: {e}"))?;
        outcome.pulled += page.changes.len();
        own += page
            .changes
            .iter()
            .filter(|c| c.change.device == plan.device)
            .count();
        cursor = page.next_cursor;
        if !page.more {
            if own != plan.changes {
                return Err(format!(
                    "pull: {own} of the device's own {} changes came back",
                    plan.changes
                ));
            }
            return Ok(());
        }
    }
    Err(format!("pull: still more after {MAX_PAGES} pages"))
}

/// POSTs `body`, records the sample, and returns the answer's body when the
/// status is 200.
fn timed_post(
    agent: &ureq::Agent,
    address: Option<&str>,
    url: &str,
    token: Option<&str>,
    body: &[u8],
    kind: Kind,
    outcome: &mut Outcome,
) -> Result<Vec<u8>, String> {
    let start = Instant::now();
    let result = post(agent, address, url, token, body);
    let latency = start.elapsed();
    let ok = matches!(result, Ok((200, _)));
    outcome.samples.push(Sample {
        kind,
        start,
        latency,
        ok,
    });
    match result {
        Ok((200, answer)) => Ok(answer),
        Ok((status, answer)) => Err(format!(
            "{}: HTTP {status}: {}",
            kind.name(),
            String::from_utf8_lossy(&answer[..answer.len().min(300)])
        )),
        Err(e) => Err(format!("{}: {e}", kind.name())),
    }
}

fn post(
    agent: &ureq::Agent,
    address: Option<&str>,
    url: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<(u16, Vec<u8>), ureq::Error> {
    let mut request = agent.post(url).content_type("application/json");
    if let Some(address) = address {
        request = request.header("X-Forwarded-For", address);
    }
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(body)?;
    let status = response.status().as_u16();
    let answer = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()?;
    Ok((status, answer))
}

/// When the first request started.
fn first_request(outcomes: &[Outcome]) -> Option<Instant> {
    outcomes
        .iter()
        .flat_map(|o| o.samples.iter().map(|s| s.start))
        .min()
}

/// A 200 whose content was wrong still failed.
fn mark_last_failed(outcome: &mut Outcome) {
    if let Some(last) = outcome.samples.last_mut() {
        last.ok = false;
    }
}

/// The release server, started for one run; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(
        bin: &Path,
        database_args: &[String],
        dist: &Path,
        log: &Path,
        trust_forwarded_for: bool,
    ) -> Result<Server> {
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(bin)
            .args(database_args)
            .args(["--host", "127.0.0.1", "--port", "0", "--dist"])
            .arg(dist)
            .args(trust_forwarded_for.then_some("--trust-forwarded-for"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (sender, address) = mpsc::channel();
        // Reads the address, then drains the rest so the server never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("Fieldbook is running on http://") {
                    let _ = sender.send(rest.trim_end_matches('/').to_string());
                }
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
        };
        match address.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => server.addr = addr,
            Err(_) => {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                bail!("the server did not start:\n{log}");
            }
        }
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as a service manager stops it; SIGKILL after 15 s.
    fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Samples the server's resident memory until stopped; returns the largest
/// `VmRSS` seen, in kB, and when.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, Instant)>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut max = (0, Instant::now());
            while !flag.load(Ordering::Relaxed) {
                let rss = proc_status_kb(pid, "VmRSS").unwrap_or(0);
                if rss > max.0 {
                    max = (rss, Instant::now());
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
            max
        });
        Sampler { stop, thread }
    }

    fn stop(self) -> (u64, Instant) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or((0, Instant::now()))
    }
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`).
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kb(&status, field)
}

pub fn status_field_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU seconds of a process, from its `/proc/…/stat`.
fn cpu_seconds(stat_path: &str, ticks_per_s: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    stat_cpu_ticks(&stat).map(|t| t as f64 / ticks_per_s)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line; the
/// command name in parentheses may hold spaces.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The machine's busy CPU seconds since boot: every CPU's time in
/// `/proc/stat` but idle and iowait.
fn machine_busy_seconds(ticks_per_s: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_ticks(stat.lines().next()?).map(|t| t as f64 / ticks_per_s)
}

/// The busy ticks of `/proc/stat`'s `cpu` line.
pub fn busy_ticks(cpu_line: &str) -> Option<u64> {
    let mut fields = cpu_line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.map(|f| f.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: u64 = ticks.iter().take(8).sum();
    Some(total - ticks.get(3)? - ticks.get(4).unwrap_or(&0))
}

fn clock_ticks() -> f64 {
    crate::process::output_line("getconf", &["CLK_TCK"])
        .and_then(|t| t.parse().ok())
        .unwrap_or(100.0)
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

/// The nearest-rank percentile of sorted values: the smallest value with at
/// least `p` % of the values at or below it. `None` when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The figures of one kind of request (or of whole devices).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub errors: usize,
    /// Requests per second over the time this kind was in flight: from the
    /// first one's start to the last one's end.
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The first start and the last end, s after the first request.
    pub from_s: f64,
    pub to_s: f64,
}

impl Stats {
    /// From (start, end, ok) of each request, times in seconds from any
    /// common origin.
    pub fn of(spans: &[(f64, f64, bool)]) -> Stats {
        let mut latencies: Vec<f64> = spans.iter().map(|(s, e, _)| (e - s) * 1000.0).collect();
        latencies.sort_by(f64::total_cmp);
        let first = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let last = spans.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        let active = last - first;
        Stats {
            count: spans.len(),
            errors: spans.iter().filter(|s| !s.2).count(),
            per_s: if spans.is_empty() || active <= 0.0 {
                0.0
            } else {
                spans.len() as f64 / active
            },
            p50_ms: percentile(&latencies, 50.0).unwrap_or(0.0),
            p99_ms: percentile(&latencies, 99.0).unwrap_or(0.0),
            max_ms: latencies.last().copied().unwrap_or(0.0),
            from_s: if spans.is_empty() { 0.0 } else { first },
            to_s: if spans.is_empty() { 0.0 } else { last },
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "count": self.count,
            "errors": self.errors,
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "max_ms": round(self.max_ms, 1),
            "from_s": round(self.from_s, 3),
            "to_s": round(self.to_s, 3),
        })
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// What the machine and the server used.
#[derive(Clone, Debug, PartialEq)]
pub struct Resources {
    /// The server's `VmHWM` at the end, MB.
    pub peak_mb: f64,
    /// The largest `VmRSS` sampled during the load, MB.
    pub sampled_peak_mb: f64,
    /// When it was seen, s after the first request.
    pub sampled_peak_at_s: f64,
    /// `VmRSS` after start, before the load, MB.
    pub idle_mb: f64,
    pub server_cpu_s: f64,
    pub generator_cpu_s: f64,
    /// Every process's (PostgreSQL's, other work on the machine), from
    /// `/proc/stat`.
    pub machine_cpu_s: f64,
    pub cores: usize,
    /// The 1-minute load average before the devices started.
    pub load_before: f64,
    /// The village and the worker logins.
    pub setup_s: f64,
}

/// A run's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub database: Database,
    pub villages: usize,
    /// Every device from one address (`--same-address`).
    pub same_address: bool,
    /// Devices signed in before the clock started (`--reuse-session`).
    pub reuse_session: bool,
    pub devices: usize,
    pub changes: usize,
    /// From the first request's start to the last one's end, s.
    pub wall_s: f64,
    /// One row per [`Kind`], in [`Kind::ALL`] order.
    pub kinds: Vec<(Kind, Stats)>,
    /// Every request together.
    pub all: Stats,
    /// Each device from its login's start to its last answer.
    pub device: Stats,
    pub pulled: usize,
    pub errors: usize,
    /// The first few devices' error messages.
    pub first_errors: Vec<String>,
    pub resources: Resources,
}

impl Report {
    pub fn from_outcomes(options: &Options, outcomes: &[Outcome], resources: Resources) -> Report {
        let origin = first_request(outcomes).unwrap_or_else(Instant::now);
        let span = |s: &Sample| {
            let start = s.start.duration_since(origin).as_secs_f64();
            (start, start + s.latency.as_secs_f64(), s.ok)
        };
        let kinds = Kind::ALL
            .iter()
            .map(|&kind| {
                let spans: Vec<_> = outcomes
                    .iter()
                    .flat_map(|o| o.samples.iter().filter(|s| s.kind == kind).map(span))
                    .collect();
                (kind, Stats::of(&spans))
            })
            .collect();
        let all: Vec<_> = outcomes
            .iter()
            .flat_map(|o| o.samples.iter().map(span))
            .collect();
        let devices: Vec<_> = outcomes
            .iter()
            .filter_map(|o| {
                let spans: Vec<_> = o.samples.iter().map(span).collect();
                let start = spans.iter().map(|s| s.0).reduce(f64::min)?;
                let end = spans.iter().map(|s| s.1).reduce(f64::max)?;
                Some((start, end, o.error.is_none()))
            })
            .collect();
        let wall_s = all.iter().map(|s| s.1).fold(0.0, f64::max);
        let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
        Report {
            database: options.database,
            villages: options.villages,
            same_address: options.same_address,
            reuse_session: options.reuse_session,
            devices: options.devices,
            changes: options.changes,
            wall_s,
            kinds,
            all: Stats::of(&all),
            device: Stats::of(&devices),
            pulled: outcomes.iter().map(|o| o.pulled).sum(),
            errors: failed.len(),
            first_errors: failed.into_iter().take(KEPT_ERRORS).cloned().collect(),
            resources,
        }
    }

    pub fn devices_per_s(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.devices as f64 / self.wall_s
        } else {
            0.0
        }
    }

    /// The request kinds whose p99 is over the goal.
    pub fn p99_over_goal(&self) -> Vec<(Kind, f64)> {
        self.kinds
            .iter()
            .filter(|(_, s)| s.p99_ms > GOAL_P99_MS)
            .map(|(k, s)| (*k, s.p99_ms))
            .collect()
    }

    pub fn memory_met(&self) -> bool {
        self.resources.peak_mb <= GOAL_PEAK_MB
    }

    /// Fails when a device failed: the figures are then not the server's
    /// doing the job.
    pub fn check(&self) -> Result<()> {
        if self.errors > 0 {
            bail!(
                "{} of {} devices failed; first: {}",
                self.errors,
                self.devices,
                self.first_errors.first().map_or("", String::as_str)
            );
        }
        Ok(())
    }

    pub fn table(&self) -> String {
        let database = match self.database {
            Database::Sqlite => "SQLite",
            Database::Postgres => "PostgreSQL",
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nfieldbook-server under load ({database}): {} at once{}, in {}, each: {}push {} changes, pull by {PULL_LIMIT}",
            count_of(self.devices, "device"),
            if self.same_address {
                " from one address"
            } else {
                ""
            },
            count_of(self.villages, "village"),
            if self.reuse_session {
                "(signed in before) "
            } else {
                "login, "
            },
            self.changes
        );
        if self.database == Database::Postgres {
            let _ = writeln!(
                out,
                "  (the throwaway test cluster: fsync, full_page_writes and synchronous_commit off)"
            );
        }
        let _ = writeln!(
            out,
            "  {:<10} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9}  in flight",
            "request", "count", "errors", "per s", "p50 ms", "p99 ms", "max ms"
        );
        let row = |out: &mut String, label: &str, s: &Stats| {
            let _ = writeln!(
                out,
                "  {label:<10} {:>7} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {:.1}-{:.1} s",
                s.count, s.errors, s.per_s, s.p50_ms, s.p99_ms, s.max_ms, s.from_s, s.to_s
            );
        };
        for (kind, stats) in &self.kinds {
            row(&mut out, kind.label(), stats);
        }
        row(&mut out, "all", &self.all);
        row(&mut out, "device", &self.device);
        let r = &self.resources;
        let _ = writeln!(
            out,
            "  wall {:.2} s, {:.1} devices/s, {} changes pulled",
            self.wall_s,
            self.devices_per_s(),
            self.pulled
        );
        let _ = writeln!(
            out,
            "  server memory: peak {:.1} MB (VmHWM; sampled {:.1} MB at {:.1} s), {:.1} MB before the load",
            r.peak_mb, r.sampled_peak_mb, r.sampled_peak_at_s, r.idle_mb
        );
        let _ = writeln!(
            out,
            "  CPU during the load: server {:.1} s, load generator {:.1} s, whole machine {:.1} s of {:.1} s on {} cores (load average before: {:.2})",
            r.server_cpu_s,
            r.generator_cpu_s,
            r.machine_cpu_s,
            self.wall_s * r.cores as f64,
            r.cores,
            r.load_before
        );
        let _ = writeln!(
            out,
            "  setup: {} and {} worker logins in {:.1} s",
            count_of(self.villages, "village"),
            self.devices,
            r.setup_s
        );
        let over = self.p99_over_goal();
        let p99 = if over.is_empty() {
            "met".to_string()
        } else {
            let kinds: Vec<String> = over
                .iter()
                .map(|(k, ms)| format!("{} {ms:.0} ms", k.name()))
                .collect();
            format!("missed ({})", kinds.join(", "))
        };
        let memory = if self.memory_met() { "met" } else { "missed" };
        let _ = writeln!(
            out,
            "  goals (set for 500 devices): p99 <= {GOAL_P99_MS:.0} ms per request kind: {p99}; peak memory <= {GOAL_PEAK_MB:.0} MB: {memory}"
        );
        for error in &self.first_errors {
            let _ = writeln!(out, "  error: {error}");
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        let r = &self.resources;
        let requests: serde_json::Map<String, serde_json::Value> = self
            .kinds
            .iter()
            .map(|(k, s)| (k.name().to_string(), s.json()))
            .chain([("all".to_string(), self.all.json())])
            .collect();
        json!({
            "benchmark": "server-load",
            "database": self.database.name(),
            "villages": self.villages,
            "durable_commits": self.database == Database::Sqlite,
            "same_address": self.same_address,
            "reuse_session": self.reuse_session,
            "devices": self.devices,
            "changes_per_device": self.changes,
            "pull_limit": PULL_LIMIT,
            "wall_s": round(self.wall_s, 3),
            "devices_per_s": round(self.devices_per_s(), 2),
            "requests": requests,
            "device": self.device.json(),
            "pulled_changes": self.pulled,
            "peak_rss_mb": round(r.peak_mb, 1),
            "sampled_peak_rss_mb": round(r.sampled_peak_mb, 1),
            "sampled_peak_at_s": round(r.sampled_peak_at_s, 2),
            "idle_rss_mb": round(r.idle_mb, 1),
            "server_cpu_s": round(r.server_cpu_s, 2),
            "generator_cpu_s": round(r.generator_cpu_s, 2),
            "machine_cpu_s": round(r.machine_cpu_s, 2),
            "cores": r.cores,
            "load_average_before": round(r.load_before, 2),
            "setup_s": round(r.setup_s, 1),
            "errors": self.errors,
            "first_errors": self.first_errors,
            "goals": {
                "p99_ms": GOAL_P99_MS,
                "p99_met": self.p99_over_goal().is_empty(),
                "peak_rss_mb": GOAL_PEAK_MB,
                "peak_rss_met": self.memory_met(),
            },
        })
    }
}

/// How long the township summary of the generator's township (50 villages,
/// about 29,000 households) takes: `first` asked once right after the
/// server starts (the server is computing every village then), `kept` each
/// time asked again. `bin` is the server; its data lives under `work`.
pub struct TownshipTimes {
    /// The first summary after start, ms.
    pub first: f64,
    /// The summary asked again, ms, each time.
    pub kept: Vec<f64>,
}

/// Loads the township (`load-demo --size township`), adds an officer, starts
/// the server and times its summary (see [`TownshipTimes`]).
pub fn township_summary(bin: &Path, work: &Path, again: usize) -> Result<TownshipTimes> {
    let data = work.join("township-data");
    let _ = std::fs::remove_dir_all(&data);
    let dist = work.join("township-dist");
    std::fs::create_dir_all(&dist)?;
    std::fs::write(dist.join("index.html"), "<!doctype html>\n")?;
    let admin = Admin {
        bin: bin.to_path_buf(),
        database_args: vec!["--data-dir".to_string(), path_arg(&data)],
    };
    admin.run(&["load-demo", "--size", "township"], None)?;
    let list = admin.run(&["village", "list"], None)?;
    let township = list
        .lines()
        .next()
        .and_then(|l| l.split('\t').nth(2))
        .context("`village list` named no township")?
        .to_string();
    let password = "township summary bench";
    admin.run(
        &[
            "user",
            "add",
            "officer",
            "--role",
            "officer",
            "--township",
            &township,
        ],
        Some(&format!("{password}\n")),
    )?;
    let server = Server::start(
        bin,
        &admin.database_args,
        &dist,
        &work.join("township-server.log"),
        false,
    )?;
    let base = format!("http://{}/api/v1", server.addr);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let body = json!({"username": "officer", "password": password}).to_string();
    let (status, answer) = post(
        &agent,
        None,
        &format!("{base}/login"),
        None,
        body.as_bytes(),
    )
    .map_err(|e| anyhow::anyhow!("login: {e}"))?;
    if status != 200 {
        bail!("login answered {status}");
    }
    let token = serde_json::from_slice::<LoginAnswer>(&answer)?.token;
    let today = crate::today_utc();
    let url = format!(
        "{base}/township/summary?period={}&today={today}",
        today.format("%Y")
    );
    let ask = || -> Result<f64> {
        let started = Instant::now();
        let mut response = agent
            .get(&url)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .map_err(|e| anyhow::anyhow!("summary: {e}"))?;
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let summary: serde_json::Value = serde_json::from_slice(&text)?;
        let villages = summary["villages"].as_array().map_or(0, Vec::len);
        if villages != 50 {
            bail!("the summary listed {villages} villages, not 50");
        }
        Ok(elapsed)
    };
    let first = ask()?;
    let kept = (0..again).map(|_| ask()).collect::<Result<Vec<_>>>()?;
    server.stop()?;
    let _ = std::fs::remove_dir_all(&data);
    Ok(TownshipTimes { first, kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_have_defaults_and_bounds() {
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let options = parse_options(&args(&[
            "--devices",
            "500",
            "--database",
            "postgres",
            "--json",
            "--changes",
            "7",
            "--same-address",
            "--villages",
            "5",
            "--reuse-session",
        ]))
        .unwrap();
        assert_eq!(
            options,
            Options {
                devices: 500,
                changes: 7,
                villages: 5,
                database: Database::Postgres,
                same_address: true,
                reuse_session: true,
                server: None,
                json: true
            }
        );
        for bad in [
            &["--devices", "0"][..],
            &["--devices", "many"],
            &["--changes", "5001"],
            &["--devices", "5", "--villages", "6"],
            &["--villages", "0"],
            &["--database", "mysql"],
            &["--devices"],
            &["--colour", "red"],
        ] {
            assert!(parse_options(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        let few = [10.0, 20.0, 30.0];
        assert_eq!(percentile(&few, 50.0), Some(20.0));
        assert_eq!(percentile(&few, 99.0), Some(30.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn stats_count_errors_and_rate_over_the_active_span() {
        // Four requests between 1 s and 3 s: 2 per second.
        let spans = [
            (1.0, 1.1, true),
            (1.5, 1.7, true),
            (2.0, 2.4, false),
            (2.5, 3.0, true),
        ];
        let stats = Stats::of(&spans);
        assert_eq!(stats.count, 4);
        assert_eq!(stats.errors, 1);
        assert!((stats.per_s - 2.0).abs() < 1e-9);
        assert!((stats.p50_ms - 200.0).abs() < 1e-6);
        assert!((stats.p99_ms - 500.0).abs() < 1e-6);
        assert!((stats.max_ms - 500.0).abs() < 1e-6);
        assert_eq!((stats.from_s, stats.to_s), (1.0, 3.0));
        assert_eq!(Stats::of(&[]).count, 0);
        assert_eq!(Stats::of(&[]).per_s, 0.0);
    }

    fn sample_report() -> Report {
        let stats = |p99_ms: f64| Stats {
            count: 500,
            errors: 0,
            per_s: 123.45,
            p50_ms: 12.0,
            p99_ms,
            max_ms: p99_ms + 1.0,
            from_s: 0.0,
            to_s: 4.05,
        };
        Report {
            database: Database::Sqlite,
            villages: 1,
            same_address: false,
            reuse_session: false,
            devices: 500,
            changes: 20,
            wall_s: 10.0,
            kinds: vec![
                (Kind::Login, stats(3000.0)),
                (Kind::Push, stats(100.0)),
                (Kind::Pull, stats(300.0)),
            ],
            all: stats(2500.0),
            device: stats(4000.0),
            pulled: 12_345,
            errors: 0,
            first_errors: Vec::new(),
            resources: Resources {
                peak_mb: 250.5,
                sampled_peak_mb: 249.0,
                sampled_peak_at_s: 4.5,
                idle_mb: 12.0,
                server_cpu_s: 15.0,
                generator_cpu_s: 3.0,
                machine_cpu_s: 19.0,
                cores: 2,
                load_before: 0.25,
                setup_s: 40.0,
            },
        }
    }

    #[test]
    fn the_table_has_a_row_per_kind_and_names_missed_goals() {
        let table = sample_report().table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].contains("500 devices at once, in 1 village,"),
            "{table}"
        );
        assert_eq!(count_of(1, "device"), "1 device");
        assert_eq!(
            lines[2],
            "  request      count  errors     per s    p50 ms    p99 ms    max ms  in flight"
        );
        assert_eq!(
            lines[3],
            "  login          500       0     123.5      12.0    3000.0    3001.0  0.0-4.0 s"
        );
        assert!(lines[5].starts_with("  pull page "), "{table}");
        assert!(lines[6].starts_with("  all "), "{table}");
        assert!(lines[7].starts_with("  device "), "{table}");
        assert!(table.contains("wall 10.00 s, 50.0 devices/s, 12345 changes pulled"));
        assert!(table.contains("peak 250.5 MB"));
        assert!(
            table.contains("missed (login 3000 ms, pull 300 ms)"),
            "{table}"
        );
        assert!(table.contains("peak memory <= 200 MB: missed"), "{table}");
    }

    #[test]
    fn the_json_holds_the_same_figures() {
        let report = sample_report();
        let value = report.json();
        assert_eq!(value["database"], "sqlite");
        assert_eq!(value["devices"], 500);
        assert_eq!(value["requests"]["login"]["p99_ms"], 3000.0);
        assert_eq!(value["requests"]["pull"]["per_s"], 123.5);
        assert_eq!(value["requests"]["all"]["count"], 500);
        assert_eq!(value["devices_per_s"], 50.0);
        assert_eq!(value["peak_rss_mb"], 250.5);
        assert_eq!(value["goals"]["p99_met"], false);
        assert_eq!(value["goals"]["peak_rss_met"], false);
        assert!(report.check().is_ok());
        let failed = Report {
            errors: 1,
            first_errors: vec!["push: HTTP 500".into()],
            ..report
        };
        assert!(failed.check().is_err());
    }

    #[test]
    fn proc_fields_are_read() {
        let status = "Name:\tfieldbook-server\nVmHWM:\t  204800 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_field_kb(status, "VmHWM"), Some(204_800));
        assert_eq!(status_field_kb(status, "VmRSS"), Some(10_240));
        assert_eq!(status_field_kb(status, "VmSwap"), None);
        let stat = "1234 (a (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
        assert_eq!(kb_to_mb(1_000_000), 1024.0);
        let cpu = "cpu  100 5 50 1000 20 1 2 3 40 0";
        assert_eq!(busy_ticks(cpu), Some(100 + 5 + 50 + 1 + 2 + 3));
        assert_eq!(busy_ticks("cpu0 1 2 3 4"), None);
    }

    #[test]
    fn device_changes_make_whole_households_numbered_from_one() {
        let device = DeviceId(Id::from_u128(7));
        let village = Id::from_u128(9);
        let changes = device_changes(device, village, 3, 20, 1_800_000_000_000, |n| {
            Id::from_u128(100 + n as u128)
        })
        .unwrap();
        assert_eq!(changes.len(), 20);
        assert_eq!(
            changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
            (1..=20).collect::<Vec<_>>()
        );
        assert!(
            changes
                .iter()
                .all(|c| c.device == device && c.validate().is_ok())
        );
        // Every household touched, the last one cut short too, names its village.
        let households: std::collections::BTreeSet<Id> =
            changes.iter().map(|c| c.record.id).collect();
        for id in &households {
            assert!(
                changes.iter().any(|c| c.record.id == *id
                    && c.field == "village_id"
                    && c.value == json!(village.to_string())),
                "{id}"
            );
        }
        let request = PushRequest {
            device,
            changes: changes.clone(),
        };
        assert!(request.check().is_empty());
    }
}

//! The `fieldbook-server` binary: serves [`app`], or runs an admin command
//! on the same database.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use fieldbook_server::address::IpRange;
use fieldbook_server::audit::{self, Event};
use fieldbook_server::auth::Role;
use fieldbook_server::restore::{self, DataFolderLock};
use fieldbook_server::{
    AppConfig, Db, admin, app, auth, db::sqlite_url, devices, serve, server_key, system_clock,
};
use tracing_subscriber::EnvFilter;

/// Fieldbook's township server: serves the app to phones and syncs their
/// records. With no command, it serves.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// A PostgreSQL database (postgres://user:password@host/db) instead of
    /// the embedded SQLite file.
    #[arg(long, global = true, env = "FIELDBOOK_DATABASE_URL")]
    database_url: Option<String>,
    /// Where the SQLite file lives (data/fieldbook.db).
    #[arg(long, global = true, default_value = "data")]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0 so phones on the same Wi-Fi can
    /// reach this computer.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Folder of the built app, as written by `cargo xtask build`.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Behind a reverse proxy that sets X-Forwarded-For: take the client's
    /// address (for the sign-in delays and the audit log) from its
    /// right-most entry that is not a --trusted-proxy. Otherwise every
    /// client shares the proxy's address.
    #[arg(long)]
    trust_forwarded_for: bool,
    /// A reverse proxy whose X-Forwarded-For entries are believed: an IP
    /// address or a CIDR range; repeat for several. Default: loopback
    /// (127.0.0.0/8 and ::1).
    #[arg(long = "trusted-proxy", value_parser = parse_range)]
    trusted_proxies: Vec<IpRange>,
    /// A session not used for this many days ends.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    session_idle_days: u64,
    /// Audit log entries older than this many days are deleted (at start
    /// and daily).
    #[arg(long, default_value_t = audit::DEFAULT_MAX_AGE_DAYS, value_parser = clap::value_parser!(u64).range(1..=36500))]
    audit_max_age_days: u64,
    /// Close a connection that has not sent a whole request head within
    /// this many seconds of opening, or of its last answer (an idle
    /// keep-alive connection).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// At most this many connections open at once; more wait until one
    /// closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// On first start, create a demo village with the synthetic data and a
    /// demo worker login, and print the login.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Villages.
    #[command(subcommand)]
    Village(VillageCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Phones: which user each belongs to, and revoking a lost one.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Load the synthetic data of `--size` (small, village or township: 50
    /// villages) as the server's own records, for demonstrations and
    /// benchmarks.
    LoadDemo {
        /// small, village or township.
        #[arg(long, default_value = "village")]
        size: String,
        /// The generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print every village's records, the users (without passwords) and the
    /// change log as JSON.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Copy the database while the server runs (SQLite: a consistent copy
    /// by VACUUM INTO; PostgreSQL: pg_dump, or the command to run).
    Backup {
        /// The new file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place of the data folder's database (SQLite; the
    /// server must be stopped). The old database is kept aside; the
    /// database gets a new identity, so that phones send back what the
    /// backup lacks. For PostgreSQL, prints the commands to run.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Days the restored server takes phones' replayed changes.
        #[arg(long, default_value_t = restore::DEFAULT_REPLAY_DAYS)]
        replay_days: u64,
    },
    /// After restoring a PostgreSQL database by hand: give it a new
    /// identity and the server a new device id (run with the server
    /// stopped).
    RenewIdentity {
        /// Days the restored server takes phones' replayed changes.
        #[arg(long, default_value_t = restore::DEFAULT_REPLAY_DAYS)]
        replay_days: u64,
    },
    /// Print the audit log, one event a line, oldest first: sign-ins,
    /// refused requests, settles, device keys, password changes and every
    /// admin command.
    Audit {
        /// Only events on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Only events of this user (the login name).
        #[arg(long)]
        user: Option<String>,
    },
}

/// One IP address or CIDR range.
fn parse_range(s: &str) -> Result<IpRange, String> {
    s.parse()
}

/// Day counts as milliseconds.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// An admin command's entry in the audit log (the command line has no
/// user or address: whoever can run it can read the database).
async fn audit_cli(
    db: &Db,
    kind: &'static str,
    user_id: Option<String>,
    detail: String,
) -> anyhow::Result<()> {
    let mut event = Event::new(kind, (system_clock())()).detail(detail);
    event.user_id = user_id;
    audit::record(&db.pool, event)
        .await
        .context("cannot write the audit log")
}

#[derive(Debug, Subcommand)]
enum VillageCommand {
    /// Add a village; prints its id.
    Add {
        /// The village's name.
        #[arg(long)]
        name: String,
        /// Its township.
        #[arg(long)]
        township: String,
    },
    /// List the villages.
    List,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// List the devices (phones and the server's own), last seen first.
    List {
        /// Only this user's phones.
        #[arg(long)]
        user: Option<String>,
    },
    /// Stop a phone from syncing and from fetching its lock's recovery
    /// secret. Reset the user's password too when the phone is lost.
    Revoke {
        /// The device id (`device list` shows it).
        device: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from standard input (one line) or,
    /// at a terminal, asked for twice; never given as an argument.
    Add {
        /// The login name.
        username: String,
        /// worker, officer or admin.
        #[arg(long)]
        role: String,
        /// A worker's village (id or name); repeat for several.
        #[arg(long = "village")]
        villages: Vec<String>,
        /// An officer's township.
        #[arg(long)]
        township: Option<String>,
    },
    /// Set a new password (read like `user add`'s); ends every session.
    ResetPassword {
        /// The login name.
        username: String,
    },
    /// Stop a user from signing in; ends every session.
    Disable {
        /// The login name.
        username: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let url = match &cli.database.database_url {
        Some(url) => url.clone(),
        None => sqlite_url(&cli.database.data_dir.join("fieldbook.db")),
    };
    let now = || (system_clock())();
    if let Some(Command::Restore { file, replay_days }) = &cli.command {
        return restore_command(&cli.database, file, *replay_days, now()).await;
    }
    // A serving process holds its data folder's lock, so that `restore`
    // can tell it is running.
    let _lock = match (&cli.command, &cli.database.database_url) {
        (None, None) => Some(DataFolderLock::take(&cli.database.data_dir)?),
        _ => None,
    };
    let db = Db::connect(&url).await?;
    match cli.command {
        None => serve(cli.serve, db, &cli.database.data_dir).await,
        Some(Command::Restore { .. }) => unreachable!("handled before the database opens"),
        Some(Command::Backup { out }) => {
            audit_cli(&db, "backup", None, String::new()).await?;
            match restore::backup(&db, &url, &out).await? {
                restore::Backup::Written(path) => println!("backup written to {}", path.display()),
                restore::Backup::Command(command) => {
                    println!("pg_dump is not installed here; run where it is:\n{command}")
                }
            }
            db.pool.close().await;
            Ok(())
        }
        Some(Command::RenewIdentity { replay_days }) => {
            let renewed = restore::renew_identity(&db, now(), replay_days).await?;
            audit_cli(&db, "renew_identity", None, String::new()).await?;
            print_renewed(&renewed);
            db.pool.close().await;
            Ok(())
        }
        Some(Command::Village(VillageCommand::Add { name, township })) => {
            let id = admin::add_village(&db, &name, &township, now()).await?;
            audit_cli(&db, "village_add", None, format!("village={id}")).await?;
            println!("{id}");
            Ok(())
        }
        Some(Command::Village(VillageCommand::List)) => {
            let villages = admin::list_villages(&db).await?;
            audit_cli(
                &db,
                "village_list",
                None,
                format!("villages={}", villages.len()),
            )
            .await?;
            for v in villages {
                println!("{}\t{}\t{}", v.id, v.name, v.township);
            }
            Ok(())
        }
        Some(Command::User(UserCommand::Add {
            username,
            role,
            villages,
            township,
        })) => {
            let role = Role::from_name(&role)
                .with_context(|| format!("--role {role}: use worker, officer or admin"))?;
            let password = read_password()?;
            let id = admin::add_user(
                &db,
                &username,
                &password,
                role,
                township.as_deref(),
                &villages,
                now(),
            )
            .await?;
            audit_cli(&db, "user_add", Some(id), format!("role={}", role.name())).await?;
            println!("added {username} ({})", role.name());
            Ok(())
        }
        Some(Command::User(UserCommand::ResetPassword { username })) => {
            let password = read_password()?;
            admin::reset_password(&db, &username, &password).await?;
            let id = auth::find_user_id(&db, &username).await?;
            audit_cli(&db, "password_reset", id, String::new()).await?;
            println!("new password set for {username}; their sessions have ended");
            Ok(())
        }
        Some(Command::User(UserCommand::Disable { username })) => {
            admin::disable_user(&db, &username).await?;
            let id = auth::find_user_id(&db, &username).await?;
            audit_cli(&db, "user_disable", id, String::new()).await?;
            println!("{username} can no longer sign in");
            Ok(())
        }
        Some(Command::Device(DeviceCommand::List { user })) => {
            for d in devices::list(&db, user.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    d.device,
                    d.username.as_deref().unwrap_or("-"),
                    d.kind,
                    day_of(d.first_seen_ms),
                    day_of(d.last_seen_ms),
                    if d.revoked { "revoked" } else { "active" }
                );
            }
            audit_cli(&db, "device_list", None, String::new()).await?;
            Ok(())
        }
        Some(Command::Device(DeviceCommand::Revoke { device })) => {
            devices::revoke(&db, device.trim()).await?;
            audit_cli(
                &db,
                "device_revoke",
                None,
                format!("device={}", device.trim()),
            )
            .await?;
            println!("device {device} is revoked: it can no longer sync");
            Ok(())
        }
        Some(Command::LoadDemo { size, seed }) => {
            let size = match size.as_str() {
                "small" => fieldbook_core::generate::Size::Small,
                "village" => fieldbook_core::generate::Size::Village,
                "township" => fieldbook_core::generate::Size::Township,
                other => bail!("--size {other}: use small, village or township"),
            };
            let today = chrono::Utc::now().date_naive();
            let (villages, changes) = admin::load_generated(&db, seed, size, today, now()).await?;
            audit_cli(
                &db,
                "load_demo",
                None,
                format!("villages={villages} changes={changes} seed={seed}"),
            )
            .await?;
            println!("loaded {villages} village(s), {changes} changes");
            db.pool.close().await;
            Ok(())
        }
        Some(Command::Export { out }) => {
            let export = admin::export(&db, now()).await?;
            let text = serde_json::to_string_pretty(&export)?;
            // The file's name is not logged: it may name a village.
            let to = if out.is_some() {
                "to=file"
            } else {
                "to=stdout"
            };
            audit_cli(&db, "export", None, to.to_string()).await?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{text}"),
            }
            Ok(())
        }
        Some(Command::Audit { since, user }) => {
            let since_ms = since
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(0, |t| t.and_utc().timestamp_millis().max(0) as u64);
            let user_id = match &user {
                Some(name) => Some(
                    auth::find_user_id(&db, name)
                        .await?
                        .with_context(|| format!("--user {name}: no such user"))?,
                ),
                None => None,
            };
            let events = audit::list(&db, since_ms, user_id.as_deref()).await?;
            let names = auth::usernames(&db).await?;
            let mut out = std::io::stdout().lock();
            for event in &events {
                let name = event.user_id.as_ref().and_then(|id| names.get(id));
                writeln!(
                    out,
                    "{}",
                    audit::format_line(event, name.map(String::as_str))
                )?;
            }
            drop(out);
            audit_cli(
                &db,
                "audit_read",
                user_id,
                format!("events={}", events.len()),
            )
            .await?;
            Ok(())
        }
    }
}

/// `restore FILE`: SQLite in place; for PostgreSQL, the commands.
async fn restore_command(
    database: &DatabaseArgs,
    file: &std::path::Path,
    replay_days: u64,
    now_ms: u64,
) -> anyhow::Result<()> {
    if database.database_url.is_some() {
        println!(
            "For PostgreSQL, stop the server, then run:\n{}\nthen start the server.",
            restore::pg_restore_commands(file)
        );
        return Ok(());
    }
    let restored = restore::restore_sqlite(&database.data_dir, file, now_ms, replay_days).await?;
    if let Some(kept) = &restored.kept {
        println!(
            "the database that was in place is kept as {}",
            kept.display()
        );
    }
    println!(
        "restored {} into {}",
        file.display(),
        database.data_dir.join(restore::DB_FILE).display()
    );
    print_renewed(&restored.renewed);
    let db = Db::connect(&sqlite_url(&database.data_dir.join(restore::DB_FILE))).await?;
    audit_cli(
        &db,
        "restore",
        None,
        format!("identity={}", restored.renewed.identity.database),
    )
    .await?;
    db.pool.close().await;
    Ok(())
}

fn print_renewed(renewed: &restore::Renewed) {
    println!(
        "new database identity {} (change log head {}); the server's new device id is {}",
        renewed.identity.database, renewed.identity.restored_cursor, renewed.device.0
    );
    if let Some(until) = renewed.identity.replay_until_ms
        && let Some(at) = chrono::DateTime::from_timestamp_millis(until as i64)
    {
        println!(
            "phones send back what the backup lacks at their next sync, until {}",
            at.to_rfc3339()
        );
    }
}

/// A time as `2026-12-06 19:30` (UTC).
fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// A password from standard input (its first line) or, at a terminal, asked
/// for twice.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

async fn serve(args: ServeArgs, db: Db, data_dir: &std::path::Path) -> anyhow::Result<()> {
    if !args.dist.join("index.html").is_file() {
        bail!(
            "no built app in {}: run `cargo xtask build` first (or pass --dist)",
            args.dist.display()
        );
    }
    // The key that keeps the lock's recovery secrets out of the database:
    // refuses to start with the wrong one rather than issue other secrets.
    let from_env = std::env::var(server_key::KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let key = server_key::open(&db, data_dir, from_env.as_deref()).await?;
    if args.demo {
        let today = chrono::Utc::now().date_naive();
        if let Some(login) = admin::seed_demo(&db, today, (system_clock())()).await? {
            audit_cli(
                &db,
                "demo_seed",
                None,
                format!("households={}", login.households),
            )
            .await?;
            println!(
                "Demo village {} is ready ({} households).",
                login.village, login.households
            );
        }
        println!(
            "Demo login: {} / {}",
            admin::DEMO_USERNAME,
            admin::DEMO_PASSWORD
        );
    }
    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("--host {} is not an IP address", args.host))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot read the certificate {} or its key {}",
                        cert.display(),
                        key.display()
                    )
                })?
                .get_inner(),
        ),
        _ => None,
    };
    let config = AppConfig {
        trust_forwarded_for: args.trust_forwarded_for,
        trusted_proxies: if args.trusted_proxies.is_empty() {
            IpRange::loopback()
        } else {
            args.trusted_proxies.clone()
        },
        session_ttl_ms: args.session_idle_days * DAY_MS,
        hsts: tls.is_some(),
        server_key: std::sync::Arc::new(key),
        warm_township: true,
        ..AppConfig::new(args.dist.clone(), db.clone())
    };
    tokio::spawn(housekeeping(
        db.clone(),
        config.session_ttl_ms,
        args.audit_max_age_days * DAY_MS,
    ));
    let router = app(&config);
    let limits = serve::Limits {
        header_timeout: std::time::Duration::from_secs(args.header_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    };

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("Fieldbook is running on {scheme}://{bound}/");
    if bound.ip().is_unspecified() {
        println!(
            "Phones on the same network: open {scheme}://<this computer's address>:{}/ \
             (`hostname -I` shows it). Offline use needs HTTPS or localhost.",
            bound.port()
        );
    }
    serve::serve(listener, tls, router, limits, shutdown_signal())
        .await
        .context("server stopped with an error")?;
    // Closing the pool checkpoints SQLite's write-ahead log into the file.
    db.pool.close().await;
    Ok(())
}

/// Deletes ended sessions and old audit entries now and then every hour.
async fn housekeeping(db: Db, idle_ms: u64, audit_max_age_ms: u64) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(60 * 60));
    loop {
        every_hour.tick().await;
        let now = (system_clock())();
        match auth::delete_ended_sessions(&db, now, idle_ms).await {
            Ok(n) if n > 0 => tracing::info!(sessions = n, "deleted ended sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot delete ended sessions"),
        }
        match audit::prune(&db, now, audit_max_age_ms).await {
            Ok(n) if n > 0 => tracing::info!(entries = n, "deleted old audit entries"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot prune the audit log"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

//! The `fieldbook-server` binary: serves [`app`], or runs an admin command
//! on the same database.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use fieldbook_server::auth::Role;
use fieldbook_server::{
    AppConfig, Db, admin, app, db::sqlite_url, serve, server_key, system_clock,
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
    /// Behind a reverse proxy that sets X-Forwarded-For: count login attempts
    /// per client address from it (otherwise every client shares the
    /// proxy's address).
    #[arg(long)]
    trust_forwarded_for: bool,
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
    let db = Db::connect(&url).await?;
    let now = || (system_clock())();
    match cli.command {
        None => serve(cli.serve, db, &cli.database.data_dir).await,
        Some(Command::Village(VillageCommand::Add { name, township })) => {
            let id = admin::add_village(&db, &name, &township, now()).await?;
            println!("{id}");
            Ok(())
        }
        Some(Command::Village(VillageCommand::List)) => {
            for v in admin::list_villages(&db).await? {
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
            admin::add_user(
                &db,
                &username,
                &password,
                role,
                township.as_deref(),
                &villages,
                now(),
            )
            .await?;
            println!("added {username} ({})", role.name());
            Ok(())
        }
        Some(Command::User(UserCommand::ResetPassword { username })) => {
            let password = read_password()?;
            admin::reset_password(&db, &username, &password).await?;
            println!("new password set for {username}; their sessions have ended");
            Ok(())
        }
        Some(Command::User(UserCommand::Disable { username })) => {
            admin::disable_user(&db, &username).await?;
            println!("{username} can no longer sign in");
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
            println!("loaded {villages} village(s), {changes} changes");
            db.pool.close().await;
            Ok(())
        }
        Some(Command::Export { out }) => {
            let export = admin::export(&db, now()).await?;
            let text = serde_json::to_string_pretty(&export)?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{text}"),
            }
            Ok(())
        }
    }
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
        hsts: tls.is_some(),
        server_key: std::sync::Arc::new(key),
        ..AppConfig::new(args.dist, db.clone())
    };
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

//! The `fieldbook-server` binary: parses the command line and serves [`app`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use fieldbook_server::{AppConfig, app};
use tracing_subscriber::EnvFilter;

/// Fieldbook's township server: serves the app to phones (and, soon, syncs
/// their records).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();

    if !cli.dist.join("index.html").is_file() {
        bail!(
            "no built app in {}: run `cargo xtask build` first (or pass --dist)",
            cli.dist.display()
        );
    }
    let addr: SocketAddr = format!("{}:{}", cli.host, cli.port)
        .parse()
        .with_context(|| format!("--host {} is not an IP address", cli.host))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let router = app(&AppConfig { dist: cli.dist });

    println!("Fieldbook is running on http://{bound}/");
    if bound.ip().is_unspecified() {
        println!(
            "Phones on the same network: open http://<this computer's address>:{}/ \
             (`hostname -I` shows it). Offline use needs HTTPS or localhost.",
            bound.port()
        );
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server stopped with an error")?;
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

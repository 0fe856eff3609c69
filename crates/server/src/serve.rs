//! Serving connections, over plain HTTP or HTTPS alike, with limits a slow
//! or greedy client cannot get around:
//!
//! - **a cap on open connections** ([`Limits::max_connections`], 1,024 by
//!   default): the server takes a connection from the operating system only
//!   while fewer are open, so the ones beyond wait in the kernel's queue
//!   (and are refused by the kernel once that is full) until one closes;
//! - **a header timeout** ([`Limits::header_timeout`], 10 s): a connection
//!   that has not sent a whole request head that long after it opened — or,
//!   kept alive, after its last answer — is closed. The TLS handshake counts
//!   within it. So an idle keep-alive connection is closed after the same
//!   time (hyper starts the timer whenever the connection waits for a
//!   request head).
//!
//! HTTP/1.1 only, on both: hyper's header timeout exists for HTTP/1, and
//! HTTP/2 would let a connection stay open idle without bound. The app
//! makes one sync request at a time, so it loses nothing by it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

/// How long a client may take to send a request head: 10 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections may be open at once: 1,024.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long a stopping server lets answers in progress finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The connection limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// See the module docs.
    pub header_timeout: Duration,
    /// See the module docs.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: HEADER_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` (HTTPS when `tls` is given) until
/// `shutdown` completes, then lets the answers in progress finish (up to
/// [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls_config::ServerConfig>>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let tls = tls.map(|config| {
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // A free place first, then the connection: the ones beyond the cap
        // stay in the kernel's queue meanwhile.
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = match make_service.call(remote).await {
            Ok(service) => TowerToHyperService::new(service),
            Err(never) => match never {},
        };
        match &tls {
            None => {
                let connection =
                    graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = connection.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                // The handshake runs in the connection's own task, within
                // the header timeout; its connection is watched after it.
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let timeout = limits.header_timeout;
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%error, %remote, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let connection =
                        watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                    let _ = connection.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("answers still in progress after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
    Ok(())
}

/// rustls's server configuration, as axum-server's `RustlsConfig` loads it
/// from PEM files.
pub mod rustls_config {
    pub use tokio_rustls::rustls::ServerConfig;
}

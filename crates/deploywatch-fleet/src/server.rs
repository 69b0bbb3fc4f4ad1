//! The loopback HTTP plumbing shared by simulated environments and the registry: bind
//! `127.0.0.1:0`, serve an axum router with a per-connection id, and shut down cleanly when the
//! last handle is dropped.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Identifies one TCP connection, so a simulated load balancer can pin a connection to a
/// replica the way an L4 balancer (kube-proxy, IPVS) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnId(pub u64);

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

impl Connected<IncomingStream<'_, TcpListener>> for ConnId {
    fn connect_info(_stream: IncomingStream<'_, TcpListener>) -> Self {
        ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed))
    }
}

/// Stops the server when dropped: it stops accepting, closes idle connections, and releases
/// requests held open by a simulated hang.
#[derive(Debug)]
pub(crate) struct ServerGuard {
    _stop: watch::Sender<()>,
}

/// The other end of a [`ServerGuard`], given to handlers that wait.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown(watch::Receiver<()>);

impl Shutdown {
    /// Resolves once the server is shutting down.
    pub(crate) async fn wait(&self) {
        let mut rx = self.0.clone();
        // Nothing is ever sent: the only event is the sender being dropped.
        while rx.changed().await.is_ok() {}
    }
}

pub(crate) fn shutdown_pair() -> (ServerGuard, Shutdown) {
    let (tx, rx) = watch::channel(());
    (ServerGuard { _stop: tx }, Shutdown(rx))
}

/// Binds a fresh port on the IPv4 loopback.
///
/// # Errors
/// When the operating system refuses to bind (no loopback, out of ports).
pub(crate) async fn bind() -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves `router` on `listener` in a background task until `shutdown` fires. Each connection
/// runs in its own task, so a request that never answers does not hold up any other.
pub(crate) fn spawn(listener: TcpListener, router: Router, shutdown: Shutdown) {
    let app = router.into_make_service_with_connect_info::<ConnId>();
    tokio::spawn(async move {
        let stop = async move { shutdown.wait().await };
        // An accept error ends only this simulated server; there is nobody to report it to
        // but the requests that will now fail to connect, which is the evidence a test sees.
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await;
    });
}

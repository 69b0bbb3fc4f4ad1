//! The resident process's end: one listener per user, a task per connection, a task per
//! request (a sign-in that waits minutes for the person does not hold up the dashboard).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deploywatch_ipc::IpcError;
use deploywatch_ipc::proto::{Call, Event, Frame, Outcome, Request};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Why [`bind`] could not listen.
#[derive(Debug)]
pub enum BindError {
    /// Another resident process of this user holds the lock: this one should not start.
    AlreadyRunning(PathBuf),
    /// The directory, the lock or the socket could not be made.
    Io(String),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindError::AlreadyRunning(p) => write!(
                f,
                "Deploywatch is already running in the background (it holds {})",
                p.display()
            ),
            BindError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BindError {}

/// A bound socket, and the lock that makes this process the user's one resident process
/// (released when the process ends, however it ends). The socket file is removed on drop.
pub struct Listener {
    inner: interprocess::local_socket::tokio::Listener,
    path: PathBuf,
    _lock: std::fs::File,
}

impl Listener {
    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file that decides which process is the resident one.
fn lock_path(socket: &Path) -> PathBuf {
    if cfg!(windows) {
        let name = socket
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "deploywatch-resident".into());
        std::env::temp_dir().join(format!("{name}.lock"))
    } else {
        let mut p = socket.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    }
}

/// Makes the socket's directory, private to the user (mode 0700 on Unix).
#[cfg(unix)]
fn private_dir(socket: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user: refusing to put Deploywatch's socket there",
                dir.display()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(_socket: &Path) -> io::Result<()> {
    Ok(())
}

/// Listens at `path`, if no other resident process of this user does.
///
/// # Errors
/// [`BindError::AlreadyRunning`] when another process holds the lock; [`BindError::Io`] when
/// the directory, lock file or socket cannot be made (the message names the path).
pub fn bind(path: &Path) -> Result<Listener, BindError> {
    let io = |what: &str, p: &Path, e: io::Error| {
        BindError::Io(format!("cannot {what} {}: {e}", p.display()))
    };
    private_dir(path).map_err(|e| io("create the directory of", path, e))?;
    let lock_at = lock_path(path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_at)
        .map_err(|e| io("open", &lock_at, e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(BindError::AlreadyRunning(lock_at)),
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_at, e)),
    }
    // The lock is ours, so a socket file still there was left by a process that died.
    #[cfg(unix)]
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(
            "removed a socket left by an earlier run: {}",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("remove the old socket", path, e)),
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .map_err(|e| io("name a socket", path, e))?;
    let options = ListenerOptions::new().name(name);
    #[cfg(unix)]
    let options = {
        use interprocess::os::unix::local_socket::ListenerOptionsExt;
        options.mode(0o600)
    };
    let inner = options
        .create_tokio()
        .map_err(|e| io("listen on", path, e))?;
    Ok(Listener {
        inner,
        path: path.to_path_buf(),
        _lock: lock,
    })
}

/// One connected client, as the handler sees it: an id, and a way to send it events.
#[derive(Clone, Debug)]
pub struct Peer {
    id: u64,
    tx: mpsc::UnboundedSender<Frame>,
}

impl Peer {
    /// Unique per connection for the listener's lifetime.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends an event; `false` once the client is gone.
    pub fn send(&self, event: Event) -> bool {
        self.tx.send(Frame::Event { event }).is_ok()
    }
}

/// What answers the requests: the resident process's state.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request of `peer`.
    fn handle(
        &self,
        peer: &Peer,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>>;

    /// `peer` disconnected.
    fn gone(&self, _peer: &Peer) {}
}

/// Accepts connections until the listener fails; each runs in its own task.
///
/// # Errors
/// Only when accepting fails for a reason that will not pass (the socket is gone).
pub async fn serve(listener: Listener, handler: Arc<dyn Handler>) -> io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut failures = 0u32;
    loop {
        let stream = match listener.inner.accept().await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(e) => {
                // A client that vanished mid-handshake, a file-descriptor limit: wait and go on.
                failures += 1;
                tracing::warn!("cannot accept a connection: {e}");
                if failures >= 100 {
                    return Err(e);
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection(stream, id, handler.clone()));
    }
}

async fn connection(
    stream: interprocess::local_socket::tokio::Stream,
    id: u64,
    handler: Arc<dyn Handler>,
) {
    // `&Stream` reads and writes: one shared stream, a reader here and a writer task.
    let stream = Arc::new(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let peer = Peer { id, tx };
    let out = stream.clone();
    let writer = tokio::spawn(async move {
        let mut send = &*out;
        while let Some(frame) = rx.recv().await {
            let Ok(mut line) = serde_json::to_vec(&frame) else {
                tracing::error!("a frame could not be encoded");
                continue;
            };
            line.push(b'\n');
            if send.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(&*stream);
    let mut buf = Vec::new();
    loop {
        match crate::read_line(&mut reader, &mut buf).await {
            Ok(Some(())) => {}
            Ok(None) => break,
            Err(e) => {
                tracing::warn!("connection {id}: {e}");
                break;
            }
        }
        let call = match serde_json::from_slice::<Call>(&buf) {
            Ok(call) => call,
            Err(e) => {
                // Answer the id if there is one, so the caller is not left waiting.
                let id = serde_json::from_slice::<serde_json::Value>(&buf)
                    .ok()
                    .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
                tracing::warn!("connection {}: not a request: {e}", peer.id);
                match id {
                    Some(id) => {
                        let _ = peer.tx.send(Frame::Reply {
                            id,
                            outcome: Outcome::Error(IpcError {
                                code: "bad_request".into(),
                                message: format!("not a request this version understands: {e}"),
                            }),
                        });
                        continue;
                    }
                    None => break,
                }
            }
        };
        let (handler, peer) = (handler.clone(), peer.clone());
        tokio::spawn(async move {
            let outcome = handler.handle(&peer, call.request).await;
            let _ = peer.tx.send(Frame::Reply {
                id: call.id,
                outcome,
            });
        });
    }
    handler.gone(&peer);
    drop(peer);
    // The writer ends when every sender (the peer's clones held by running requests) is gone.
    let _ = writer.await;
}

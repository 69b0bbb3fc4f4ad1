//! The window's end: requests with ids, replies matched to them, events on the side.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use deploywatch_ipc::IpcError;
use deploywatch_ipc::proto::{Call, Event, Frame, Outcome, Request};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{ConnectOptions, GenericFilePath};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Outcome>>>>;

/// A connection to the resident process. Cheap to share behind an `Arc`; calls may overlap.
pub struct Client {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next: AtomicU64,
    /// Set once the connection has ended: calls fail at once.
    closed: Arc<AtomicBool>,
}

/// The events the resident process sends; ends when the connection does.
pub struct Events(mpsc::UnboundedReceiver<Event>);

impl Events {
    /// The next event, or `None` once the resident process is gone.
    pub async fn next(&mut self) -> Option<Event> {
        self.0.recv().await
    }
}

/// The error of a call whose connection ended before its reply.
fn disconnected() -> IpcError {
    IpcError {
        code: "disconnected".into(),
        message: "Deploywatch's background process is not running".into(),
    }
}

/// Connects to the resident process listening at `path`.
///
/// # Errors
/// The socket's error (`NotFound` or `ConnectionRefused` when nothing listens).
pub async fn connect(path: &Path) -> io::Result<(Client, Events)> {
    let name = path.to_fs_name::<GenericFilePath>()?;
    let stream = ConnectOptions::new().name(name).connect_tokio().await?;
    // `&Stream` reads and writes: one shared stream, a reader task and a writer task. When
    // either ends (the client dropped, or the resident process gone) it stops the other, so
    // the socket closes and the resident process hears of it.
    let stream = Arc::new(stream);
    let (tx, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let out = stream.clone();
    let stop_reader = stop.clone();
    tokio::spawn(async move {
        let mut send = &*out;
        loop {
            tokio::select! {
                line = outgoing.recv() => match line {
                    Some(line) => {
                        if send.write_all(&line).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = stopped.changed() => break,
            }
        }
        let _ = stop_reader.send(true);
    });
    let pending: Pending = Arc::default();
    let closed = Arc::new(AtomicBool::new(false));
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (waiting, ended) = (pending.clone(), closed.clone());
    let mut stopping = stop.subscribe();
    tokio::spawn(async move {
        let mut reader = BufReader::new(&*stream);
        let mut buf = Vec::new();
        loop {
            let read = tokio::select! {
                read = crate::read_line(&mut reader, &mut buf) => read,
                _ = stopping.changed() => break,
            };
            let Ok(Some(())) = read else { break };
            match serde_json::from_slice::<Frame>(&buf) {
                Ok(Frame::Reply { id, outcome }) => {
                    let waiter = waiting
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    if let Some(w) = waiter {
                        let _ = w.send(outcome);
                    }
                }
                Ok(Frame::Event { event }) => {
                    let _ = events_tx.send(event);
                }
                // A newer resident may send what this window does not know: skip it.
                Err(e) => {
                    tracing::warn!("a message from the resident process was not understood: {e}")
                }
            }
        }
        // Gone: every waiting call learns it now (its sender drops), later ones at once.
        ended.store(true, Ordering::SeqCst);
        waiting.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let _ = stop.send(true);
    });
    Ok((
        Client {
            tx,
            pending,
            next: AtomicU64::new(1),
            closed,
        },
        Events(events_rx),
    ))
}

impl Client {
    /// Sends `request` and waits for its reply: the method's return value as JSON.
    ///
    /// # Errors
    /// The method's own error, or `disconnected` when the resident process is gone.
    pub async fn call(&self, request: Request) -> Result<serde_json::Value, IpcError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        // After the insert: either this sees the end, or the end's clearing drops `tx`.
        if self.closed.load(Ordering::SeqCst) {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(disconnected());
        }
        let mut line = serde_json::to_vec(&Call { id, request }).map_err(|e| IpcError {
            code: "bad_request".into(),
            message: e.to_string(),
        })?;
        line.push(b'\n');
        if self.tx.send(line).is_err() {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(disconnected());
        }
        match rx.await {
            Ok(Outcome::Ok(v)) => Ok(v),
            Ok(Outcome::Error(e)) => Err(e),
            Err(_) => Err(disconnected()),
        }
    }

    /// [`Client::call`], the reply read as `T`.
    ///
    /// # Errors
    /// As [`Client::call`]; `bad_reply` when the reply is not a `T`.
    pub async fn call_as<T: DeserializeOwned>(&self, request: Request) -> Result<T, IpcError> {
        let method = request.method();
        let v = self.call(request).await?;
        serde_json::from_value(v).map_err(|e| IpcError {
            code: "bad_reply".into(),
            message: format!("the reply to {method} was not understood: {e}"),
        })
    }
}

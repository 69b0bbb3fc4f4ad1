//! The channel over a real Unix domain socket: requests answered by id (also out of order),
//! events pushed to a client, one resident process per socket, a private socket, and a
//! client that learns when the resident process is gone.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deploywatch_ipc::proto::{Attach, Event, Outcome, Request};
use deploywatch_ipc::{IpcError, OpenReport};
use deploywatch_link::{BindError, Handler, Peer};
use serde_json::json;

/// Answers `Dashboard` at once, `SignInWait` after 300 ms, `AttachWindow` by remembering the
/// peer (and sending it `Show`), and everything else with a `not_found` error.
#[derive(Default)]
struct Resident {
    window: Mutex<Option<Peer>>,
    gone: Mutex<Vec<u64>>,
}

impl Handler for Resident {
    fn handle(
        &self,
        peer: &Peer,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>> {
        let peer = peer.clone();
        Box::pin(async move {
            match request {
                Request::Dashboard => Outcome::Ok(json!({"environments": 3})),
                Request::SignInWait => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Outcome::Ok(json!("signed in"))
                }
                Request::AttachWindow => {
                    peer.send(Event::Show);
                    *self.window.lock().unwrap() = Some(peer);
                    Outcome::Ok(serde_json::to_value(Attach::Attached).unwrap())
                }
                other => Outcome::Error(IpcError {
                    code: "not_found".into(),
                    message: format!("no {}", other.method()),
                }),
            }
        })
    }

    fn gone(&self, peer: &Peer) {
        self.gone.lock().unwrap().push(peer.id());
    }
}

fn start(path: &std::path::Path) -> (Arc<Resident>, tokio::task::JoinHandle<()>) {
    let listener = deploywatch_link::bind(path).expect("bind");
    let resident = Arc::new(Resident::default());
    let handler: Arc<dyn Handler> = resident.clone();
    let task = tokio::spawn(async move {
        let _ = deploywatch_link::serve(listener, handler).await;
    });
    (resident, task)
}

#[tokio::test]
async fn replies_match_their_requests_and_events_reach_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run").join("resident.sock");
    let (resident, _task) = start(&path);
    let (client, mut events) = deploywatch_link::connect(&path).await.unwrap();
    let client = Arc::new(client);

    // A slow request does not hold up a fast one sent after it.
    let slow = {
        let c = client.clone();
        tokio::spawn(async move { c.call(Request::SignInWait).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let fast = client.call(Request::Dashboard).await.unwrap();
    assert_eq!(fast, json!({"environments": 3}));
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "the dashboard waited for the sign-in"
    );
    assert_eq!(slow.await.unwrap().unwrap(), json!("signed in"));

    // Errors come back as the method's error, with its code.
    let err = client.call(Request::Settings).await.unwrap_err();
    assert_eq!(err.code, "not_found");
    assert_eq!(err.message, "no settings");

    // Attached, the window gets events; the reply reads as the protocol's type.
    let attach: Attach = client.call_as(Request::AttachWindow).await.unwrap();
    assert_eq!(attach, Attach::Attached);
    assert_eq!(events.next().await, Some(Event::Show));
    let open = OpenReport {
        project: "shop".into(),
        environment: "production".into(),
    };
    let window = resident.window.lock().unwrap().clone().unwrap();
    assert!(window.send(Event::OpenReport(open.clone())));
    assert_eq!(events.next().await, Some(Event::OpenReport(open)));

    // The resident process hears when the window goes.
    drop(client);
    drop(events);
    for _ in 0..100 {
        if resident.gone.lock().unwrap().contains(&window.id()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server never learnt that the window disconnected");
}

#[tokio::test]
async fn one_resident_process_per_socket_and_a_dead_ones_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resident.sock");
    let first = deploywatch_link::bind(&path).unwrap();
    match deploywatch_link::bind(&path) {
        Err(BindError::AlreadyRunning(lock)) => {
            assert!(lock.to_string_lossy().ends_with("resident.sock.lock"))
        }
        Err(e) => panic!("a second resident process should be told one runs, not: {e}"),
        Ok(_) => panic!("a second resident process bound the same socket"),
    }
    drop(first);
    // A socket file left behind (as by a killed process) does not stop the next one.
    std::fs::write(&path, b"").unwrap();
    let again = deploywatch_link::bind(&path).expect("the lock is free: bind again");
    assert_eq!(again.path(), path.as_path());
}

#[cfg(unix)]
#[tokio::test]
async fn the_socket_and_its_directory_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("deploywatch");
    std::fs::create_dir(&parent).unwrap();
    // A directory someone left open to others is closed before the socket goes in.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = parent.join("resident.sock");
    let _listener = deploywatch_link::bind(&path).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&parent), 0o700);
    assert_eq!(mode(&path), 0o600);
}

/// A resident process that dies with a request in flight: it reads the request and closes
/// the socket without answering, as the kernel does when the process is killed.
#[cfg(unix)]
#[tokio::test]
async fn a_client_learns_that_the_resident_process_is_gone() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resident.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let dies = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 256];
        let _ = sock.read(&mut buf).await;
    });
    let (client, mut events) = deploywatch_link::connect(&path).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), client.call(Request::Dashboard))
        .await
        .expect("the call waited forever on a dead process");
    assert_eq!(answer.unwrap_err().code, "disconnected");
    assert_eq!(
        events.next().await,
        None,
        "the events should end with the connection"
    );
    // Later calls fail at once too.
    let later = tokio::time::timeout(Duration::from_secs(5), client.call(Request::Dashboard))
        .await
        .expect("a call after the end waited forever");
    assert_eq!(later.unwrap_err().code, "disconnected");
    dies.await.unwrap();
}

/// A line that is not a request gets an error for its id, and the connection goes on.
#[cfg(unix)]
#[tokio::test]
async fn a_request_this_version_does_not_know_is_answered_with_an_error() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resident.sock");
    let (_resident, _task) = start(&path);
    let mut sock = tokio::net::UnixStream::connect(&path).await.unwrap();
    sock.write_all(b"{\"id\": 41, \"method\": \"reboot_the_fleet\"}\n{\"id\": 42, \"method\": \"dashboard\"}\n")
        .await
        .unwrap();
    let mut lines = tokio::io::BufReader::new(sock).lines();
    let mut got = Vec::new();
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .expect("no answer")
            .unwrap()
            .unwrap();
        got.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    got.sort_by_key(|v| v["id"].as_u64());
    assert_eq!(got[0]["id"], 41);
    assert_eq!(got[0]["error"]["code"], "bad_request", "{:?}", got[0]);
    assert_eq!(got[1]["id"], 42);
    assert_eq!(got[1]["ok"], json!({"environments": 3}));
}

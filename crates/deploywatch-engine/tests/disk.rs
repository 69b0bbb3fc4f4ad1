//! The disk reaches the person once: the real `Watcher`, a real SQLite file, a health endpoint
//! on loopback (Spring Boot's `diskSpace`) and a webhook receiver. "Disk almost full" comes once
//! after `confirm` checks, never again while it stays full — also not after a restart — and
//! "Disk space recovered" comes once when it has room again.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deploywatch_engine::{Command, Engine, EngineOptions, Notifier, WatchEvent, Watcher};
use deploywatch_github::GitHub;
use deploywatch_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SHA: &str = "b7c1e2f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";

fn spring_health(free: u64) -> String {
    format!(
        r#"{{"status":"UP","components":{{"db":{{"status":"UP"}},"diskSpace":{{"status":"UP","details":{{"total":100000000000,"free":{free},"threshold":10485760,"path":"/data","exists":true}}}}}}}}"#
    )
}

type Answer = dyn Fn(&str) -> (&'static str, String) + Send + Sync;

/// A loopback HTTP/1.1 server answering every request with `answer(path)`; records the
/// request bodies it receives.
async fn serve(answer: Arc<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then the body by its Content-Length.
                let (head_end, length) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                if !body.is_empty() {
                    seen.lock().unwrap().push(body);
                }
                let (ctype, text) = answer(&path);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (base, got)
}

fn config(env_base: &str, hook: &str) -> deploywatch_config::Config {
    let text = format!(
        r#"[github]
api_url = "http://127.0.0.1:9"

[defaults]
fast_interval = "1h"
idle_interval = "1h"
timeout = "2s"
confirm = 2

[notifications]
desktop = false
webhook = "{hook}"

[[project]]
name = "shop"
repo = "acme/shop"
branch = "main"

[[project.environment]]
name = "production"
build_info_url = "{env_base}/api/build-info"
health_url = "{env_base}/actuator/health"
"#
    );
    deploywatch_config::parse(&text, Path::new("test.toml")).expect("valid config")
}

type Running = (
    tokio::sync::mpsc::Sender<Command>,
    tokio::sync::broadcast::Receiver<WatchEvent>,
    tokio::task::JoinHandle<()>,
    Notifier,
);

/// A watcher over the database at `db`, as `deploywatch watch` starts one.
fn start(env_base: &str, hook: &str, db: &Path) -> Running {
    let engine = Engine::new(EngineOptions {
        // Nothing listens there: the expected SHA is unknown, which does not matter here.
        github: GitHub::new("http://127.0.0.1:9", None).unwrap(),
        store: Some(Store::open(db).unwrap()),
        config: config(env_base, hook),
    });
    let notifier = Notifier::new(
        false,
        Some(deploywatch_engine::Webhook {
            url: hook.into(),
            format: deploywatch_config::WebhookFormat::Slack,
        }),
    );
    let (watcher, tx, events) = Watcher::new(engine, notifier.clone());
    let rx = events.subscribe();
    let task = tokio::spawn(watcher.run());
    (tx, rx, task, notifier)
}

/// Waits for the next environment check to finish (its notifications are sent by then).
async fn checked(rx: &mut tokio::sync::broadcast::Receiver<WatchEvent>) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(WatchEvent::Checked { .. }) => return,
                Ok(_) => {}
                Err(e) => panic!("watcher events ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("a check within 20 s");
}

/// `n` more checks, each asked for with `CheckNow`.
async fn check_now(run: &mut Running, n: usize) {
    for _ in 0..n {
        run.0.send(Command::CheckNow).await.unwrap();
        checked(&mut run.1).await;
        run.3.settled().await;
        // Webhooks go out off the watcher's loop: wait for them to land.
        run.3.settled().await;
    }
}

async fn stop(run: Running) {
    run.0.send(Command::Stop).await.unwrap();
    run.2.await.unwrap();
}

/// The webhook texts about the disk (incident notices about the unknown SHA also arrive).
fn disk_texts(hook: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    hook.lock()
        .unwrap()
        .iter()
        .filter_map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).ok()?;
            let text = v["text"].as_str()?.to_string();
            text.starts_with("*Disk").then_some(text)
        })
        .collect()
}

#[tokio::test]
async fn the_disk_is_announced_once_when_full_and_once_when_it_recovers_across_restarts() {
    let free = Arc::new(Mutex::new(6_100_000_000u64));
    let f = free.clone();
    let (env_base, _) = serve(Arc::new(move |path: &str| match path {
        "/actuator/health" => (
            "application/vnd.spring-boot.actuator.v3+json",
            spring_health(*f.lock().unwrap()),
        ),
        _ => ("application/json", format!(r#"{{"git_sha":"{SHA}"}}"#)),
    }))
    .await;
    let (hook_base, hook) = serve(Arc::new(|_: &str| ("text/plain", "ok".to_string()))).await;
    let hook_url = format!("{hook_base}/hook");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dw.db");

    // 1. Full: nothing after one check (confirm = 2), one notice after the second, no repeat.
    let mut run = start(&env_base, &hook_url, &db);
    checked(&mut run.1).await;
    run.3.settled().await;
    assert_eq!(disk_texts(&hook), Vec::<String>::new(), "before confirm");
    check_now(&mut run, 1).await;
    assert_eq!(
        disk_texts(&hook),
        [
            "*Disk almost full: shop / production*\n/data 94 % used (6.1 GB free of 100 GB) — \
          more than 90 % used"
        ]
    );
    check_now(&mut run, 3).await;
    assert_eq!(
        disk_texts(&hook).len(),
        1,
        "repeated: {:?}",
        disk_texts(&hook)
    );
    stop(run).await;

    // 2. Restarted, still full: not announced again.
    let mut run = start(&env_base, &hook_url, &db);
    checked(&mut run.1).await;
    run.3.settled().await;
    check_now(&mut run, 3).await;
    assert_eq!(
        disk_texts(&hook).len(),
        1,
        "repeated after a restart: {:?}",
        disk_texts(&hook)
    );

    // 3. Room again: recovered once, after confirm checks.
    *free.lock().unwrap() = 60_000_000_000;
    check_now(&mut run, 1).await;
    assert_eq!(disk_texts(&hook).len(), 1, "recovered before confirm");
    check_now(&mut run, 1).await;
    let texts = disk_texts(&hook);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(
        texts[1],
        "*Disk space recovered: shop / production*\n/data 40 % used (60 GB free of 100 GB)"
    );
    check_now(&mut run, 2).await;
    stop(run).await;

    // 4. Restarted with room: nothing more; the store holds one ended condition.
    let mut run = start(&env_base, &hook_url, &db);
    checked(&mut run.1).await;
    run.3.settled().await;
    check_now(&mut run, 1).await;
    stop(run).await;
    assert_eq!(disk_texts(&hook).len(), 2, "{:?}", disk_texts(&hook));
    let store = Store::open(&db).unwrap();
    let conditions = store.disk_conditions(None, None, 10).unwrap();
    assert_eq!(conditions.len(), 1, "{conditions:?}");
    assert!(conditions[0].ended_at.is_some());
}

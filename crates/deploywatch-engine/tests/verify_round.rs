//! `verify` records a round's reports while its checks run (one transaction, on a thread of
//! its own that borrows the store): every report of the round is in the database afterwards,
//! in config order in the output, and the engine has its store back for the next round.

use std::path::Path;
use std::sync::Arc;

use deploywatch_core::{Sha, Verdict};
use deploywatch_engine::{Engine, EngineOptions, Selection};
use deploywatch_github::GitHub;
use deploywatch_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const LIVE: &str = "b7c1e2f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";
const OLD: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";

/// A loopback server answering `/<n>/build-info` with `LIVE` for even n and `OLD` for odd n,
/// after a delay that varies with n, so the checks finish out of order.
async fn fleet() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let index: u64 = head
                    .split('/')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis((7 * index) % 23)).await;
                let sha = if index.is_multiple_of(2) { LIVE } else { OLD };
                let body = format!(r#"{{"git_sha":"{sha}"}}"#);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

fn engine(base: &str, db: &Path, envs: usize) -> Arc<Engine> {
    let mut text = String::from(
        "[github]\napi_url = \"http://127.0.0.1:9\"\n\n[defaults]\ntimeout = \"5s\"\n\n\
         [[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\n",
    );
    for n in 0..envs {
        text.push_str(&format!(
            "\n[[project.environment]]\nname = \"env-{n}\"\nbuild_info_url = \"{base}/{n}/build-info\"\n"
        ));
    }
    let config = deploywatch_config::parse(&text, Path::new("test.toml")).expect("valid config");
    Engine::new(EngineOptions {
        github: GitHub::new("http://127.0.0.1:9", None).unwrap(),
        store: Some(Store::open(db).unwrap()),
        config,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_of_a_round_is_recorded_and_the_store_comes_back() {
    let base = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dw.db");
    let envs = 40;
    let engine = engine(&base, &db, envs);
    let expect = Sha::parse(LIVE).unwrap();

    let reports =
        deploywatch_engine::verify(&engine, &Selection::default(), &expecting(&expect)).await;
    // The output is in config order, whatever order the checks finished in.
    let names: Vec<String> = reports.iter().map(|r| r.environment.clone()).collect();
    let wanted: Vec<String> = (0..envs).map(|n| format!("env-{n}")).collect();
    assert_eq!(names, wanted);
    for (n, r) in reports.iter().enumerate() {
        let want = if n.is_multiple_of(2) {
            Verdict::Live
        } else {
            Verdict::Phantom
        };
        assert_eq!(r.verdict, want, "env-{n}: {r:#?}");
    }

    // The engine has its store again: the watcher's and the next round's reads work.
    assert!(
        engine
            .with_store(|s| s.env_state("shop", "env-0").unwrap())
            .flatten()
            .is_some(),
        "the store was not given back after the round"
    );
    // Every report is committed: another connection sees all of them.
    let other = Store::open_read_only(&db).unwrap();
    let states = other.env_states().unwrap();
    assert_eq!(states.len(), envs, "{states:#?}");
    for s in &states {
        let n: usize = s.environment.trim_start_matches("env-").parse().unwrap();
        let sha = if n.is_multiple_of(2) { LIVE } else { OLD };
        assert_eq!(s.report.live_sha.as_ref().map(|x| x.as_str()), Some(sha));
    }

    // A second round over the same store works the same (the loan is taken again).
    let again =
        deploywatch_engine::verify(&engine, &Selection::default(), &expecting(&expect)).await;
    assert_eq!(again.len(), envs);
    let after = Store::open_read_only(&db).unwrap().env_states().unwrap();
    assert!(
        after
            .iter()
            .zip(&states)
            .all(|(a, b)| a.report.checked_at > b.report.checked_at),
        "the second round's reports were not recorded"
    );
}

fn expecting(sha: &deploywatch_core::Sha) -> deploywatch_engine::VerifyOptions {
    deploywatch_engine::VerifyOptions {
        expect: Some(sha.clone()),
        ..Default::default()
    }
}

//! `deploywatch preflight`: before a deploy, with a real git checkout and its upstream.

use std::path::Path;
use std::process::Command;

use deploywatch_fleet::SimRegistry;

use crate::harness::{Dw, Scenario, config};

/// Runs git in `dir` with a fixed identity and no user or system config.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, file: &str) -> String {
    std::fs::write(dir.join(file), file).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", &format!("Add {file}")]);
    git(dir, &["rev-parse", "HEAD"])
}

#[tokio::test]
async fn preflight_needs_pushed_commits_green_ci_and_the_image() {
    let s = Scenario::start().await;
    let registry = SimRegistry::start().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let upstream = root.path().join("upstream.git");
    let work = root.path().join("work");
    git(
        root.path(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            upstream.to_str().unwrap(),
        ],
    );
    git(
        root.path(),
        &[
            "clone",
            "-q",
            upstream.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    git(&work, &["checkout", "-q", "-b", "main"]);
    let first = commit(&work, "a.txt");
    git(&work, &["push", "-q", "-u", "origin", "main"]);
    let second = commit(&work, "b.txt");

    let image = format!("image = \"{}/acme/shop:{{sha}}\"", registry.host());
    let dw = Dw::new(&config(
        &s.hub.api_url(),
        &image,
        &s.env.build_info_url(),
        "",
        "",
    ));
    let repo = work.to_str().unwrap();

    let run = dw
        .run_async(&[
            "preflight",
            "--project",
            "shop",
            "--repo-path",
            repo,
            "--json",
        ])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["ready"], false);
    assert_eq!(doc["head"], second.as_str());
    let pushed = &doc["checks"][0];
    assert_eq!(pushed["ok"], false, "{doc:#}");
    assert!(
        pushed["detail"]
            .as_str()
            .unwrap()
            .contains("1 commit(s) not pushed"),
        "{doc:#}"
    );

    git(&work, &["push", "-q"]);
    s.hub
        .add_run("acme/shop", &second, "CI", "in_progress", None);
    let run = dw
        .run_async(&[
            "preflight",
            "--project",
            "shop",
            "--repo-path",
            repo,
            "--json",
        ])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["checks"][0]["ok"], true, "{doc:#}");
    assert!(
        doc["checks"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("in progress"),
        "{doc:#}"
    );

    let id = s
        .hub
        .add_run("acme/shop", &second, "CI", "completed", Some("success"));
    let _ = id;
    let run = dw
        .run_async(&[
            "preflight",
            "--project",
            "shop",
            "--repo-path",
            repo,
            "--json",
        ])
        .await;
    assert_eq!(run.code, 1, "the image is still missing: {run:?}");
    assert_eq!(run.json()["checks"][2]["ok"], false);

    registry.push_tag("acme/shop", &second);
    let run = dw
        .run_async(&["preflight", "--project", "shop", "--repo-path", repo])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("ready to deploy {}", &second[..7])),
        "{run:?}"
    );
    let _ = first;
}

#[tokio::test]
async fn preflight_outside_a_git_checkout_is_an_error() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    let empty = tempfile::tempdir().unwrap();
    let run = dw
        .run_async(&[
            "preflight",
            "--project",
            "shop",
            "--repo-path",
            empty.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("is not a git checkout"), "{run:?}");
}

//! The image check through the real binary against the real CNCF distribution registry
//! (`infra::Registry`): anonymous and behind htpasswd, with and without Docker credentials in a
//! temporary `DOCKER_CONFIG`. The environment is nginx serving the OLD build-info; `--expect
//! NEW` supplies the pushed SHA (so CI does not decide and the registry is asked), and the
//! project's `image` names `127.0.0.1:PORT/shop:{sha}`.
//!
//! Secrets stay put: the password and Docker's base64 `auth` never reach stdout, stderr, or any
//! file under the test's data directory (the SQLite database included).

use std::path::Path;

use serde_json::Value;

use crate::harness::{Dw, Run, config, sha};
use crate::infra::{Nginx, Registry, basic_auth};
use crate::preflight::git;
use crate::reports::{assert_verdict, build_info, check, hint, run_cmd, warnings};

/// GitHub is never asked with `--expect`; this address refuses connections anyway.
const NO_GITHUB: &str = "http://127.0.0.1:9";
const USER: &str = "deployer";
const PASSWORD: &str = "E2e-Registry-pa55word-7f3k";

/// nginx serving a static `/api/build-info` as JSON from `{root}`.
const STATIC_BUILD_INFO: &str = "
server {
    listen 127.0.0.1:{port0};
    root {root};
    location = /api/build-info { default_type application/json; }
}";

/// One environment (nginx serving OLD) and a project whose image lives in `registry`.
struct Setup {
    _nginx: Nginx,
    dw: Dw,
    new: String,
    reference: String,
}

impl Setup {
    fn new(registry: &Registry, name: &str) -> Setup {
        let nginx = Nginx::start(STATIC_BUILD_INFO);
        let (old, new) = (sha(&format!("{name}-old")), sha(&format!("{name}-new")));
        nginx.write("api/build-info", &build_info(&old));
        let image = format!("image = \"{}/shop:{{sha}}\"", registry.host());
        let dw = Dw::new(&config(
            NO_GITHUB,
            &image,
            &nginx.url(0, "/api/build-info"),
            "",
            "",
        ));
        let reference = format!("{}/shop:{new}", registry.host());
        Setup {
            _nginx: nginx,
            dw,
            new,
            reference,
        }
    }

    /// `verify --expect NEW --json`, with `DOCKER_CONFIG` when given.
    fn verify(&self, docker_config: Option<&Path>) -> (Run, Value) {
        let mut cmd = self
            .dw
            .command(&["verify", "--expect", &self.new, "--json"]);
        if let Some(dir) = docker_config {
            cmd.env("DOCKER_CONFIG", dir);
        }
        let run = run_cmd(cmd);
        let report = run.report();
        (run, report)
    }
}

/// `config.json` as `docker login` writes it without a credential store.
fn logged_in(registry: &Registry) -> String {
    format!(
        r#"{{"auths": {{"{}": {{"auth": "{}"}}}}}}"#,
        registry.host(),
        basic_auth(USER, PASSWORD)
    )
}

/// Fails when the password or Docker's `auth` appears in any run's output or in any file
/// under `data` (the config, the SQLite database and its journal, anything else written there).
#[track_caller]
fn assert_secrets_stay_put(data: &Path, runs: &[&Run]) {
    let secrets = [PASSWORD.to_string(), basic_auth(USER, PASSWORD)];
    for run in runs {
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                "a secret ({secret}) is in the output of a run:\n{run:?}"
            );
        }
    }
    let mut files = Vec::new();
    let mut dirs = vec![data.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let db = data.join("deploywatch.db");
    assert!(
        files.contains(&db),
        "the database was not written under {}: {files:?}",
        data.display()
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read file");
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret ({secret}) is in {}", file.display());
        }
    }
}

#[test]
fn anonymous_registry_without_the_tag_is_image_missing_with_its_404() {
    let registry = Registry::start(None);
    // Another tag of the repository exists: the repository is there, the tag for NEW is not.
    registry.push_image("shop", &sha("reg-anon-other"));
    let s = Setup::new(&registry, "reg-anon-missing");
    let (run, report) = s.verify(None);
    assert_verdict(&run, &report, "image_missing");
    let (ok, detail) = check(&report, "image");
    assert!(!ok, "{detail}");
    assert!(
        detail.contains(&format!("{} is not in the registry", s.reference)),
        "{detail}"
    );
    assert!(
        detail.contains(&format!(
            "HEAD http://{}/v2/shop/manifests/{}",
            registry.host(),
            s.new
        )),
        "{detail}"
    );
    assert!(detail.contains("HTTP 404"), "{detail}");
    assert!(detail.contains("anonymous"), "{detail}");
    let h = hint(&report);
    assert!(h.contains(&s.reference), "{h}");
    assert!(h.contains("is not in the registry"), "{h}");
}

#[test]
fn anonymous_registry_with_the_tag_is_phantom_and_the_image_check_ok() {
    let registry = Registry::start(None);
    let s = Setup::new(&registry, "reg-anon-present");
    let digest = registry.push_image("shop", &s.new);
    let (run, report) = s.verify(None);
    assert_verdict(&run, &report, "phantom");
    let (ok, detail) = check(&report, "image");
    assert!(ok, "{detail}");
    assert!(
        detail.contains(&format!("{} is in the registry", s.reference)),
        "{detail}"
    );
    assert!(detail.contains("HTTP 200"), "{detail}");
    assert!(detail.contains(&digest), "{detail}");
    assert!(warnings(&report).iter().all(|w| !w.contains("registry")));
}

#[test]
fn htpasswd_registry_without_credentials_is_no_evidence_and_with_them_decides() {
    let registry = Registry::start(Some((USER, PASSWORD)));
    let s = Setup::new(&registry, "reg-htpasswd");
    let host = registry.host();
    let mut runs = Vec::new();

    // No credentials anywhere (HOME is the data directory, which has no ~/.docker): the tag
    // is absent, but "credentials needed" is no evidence of that.
    let (run, report) = s.verify(None);
    assert_verdict(&run, &report, "phantom");
    let (ok, detail) = check(&report, "image");
    assert!(!ok, "{detail}");
    assert!(
        detail.contains(&format!("credentials needed for {host}")),
        "{detail}"
    );
    assert!(detail.contains("HTTP 401"), "{detail}");
    let w = warnings(&report);
    assert!(
        w.iter().any(|w| w.contains(&format!(
            "the registry check for {} could not run",
            s.reference
        )) && w.contains("credentials needed")),
        "no warning that the registry check could not run: {w:?}"
    );
    assert!(!hint(&report).contains("not in the registry"), "{report:#}");
    runs.push(run);

    // An empty docker config: the same.
    let empty = registry.docker_config("empty", "{}");
    let (run, report) = s.verify(Some(&empty));
    assert_verdict(&run, &report, "phantom");
    assert!(!check(&report, "image").0, "{report:#}");
    runs.push(run);

    // Credentials in DOCKER_CONFIG/config.json: the tag for NEW is absent.
    let docker = registry.docker_config("docker", &logged_in(&registry));
    let (run, report) = s.verify(Some(&docker));
    assert_verdict(&run, &report, "image_missing");
    let (ok, detail) = check(&report, "image");
    assert!(!ok, "{detail}");
    assert!(
        detail.contains(&format!("{} is not in the registry", s.reference)),
        "{detail}"
    );
    assert!(detail.contains("HTTP 404"), "{detail}");
    let shown = format!("credentials from {}/config.json", docker.display());
    assert!(detail.contains(&shown), "{detail}");
    assert!(
        warnings(&report)
            .iter()
            .all(|w| !w.contains("could not run")),
        "{report:#}"
    );
    runs.push(run);

    // The tag pushed: phantom, and the image check is ok.
    registry.push_image("shop", &s.new);
    let (run, report) = s.verify(Some(&docker));
    assert_verdict(&run, &report, "phantom");
    let (ok, detail) = check(&report, "image");
    assert!(ok, "{detail}");
    assert!(
        detail.contains(&format!("{} is in the registry", s.reference)),
        "{detail}"
    );
    assert!(detail.contains(&shown), "{detail}");
    runs.push(run);

    // Same with verbose logs of the binary: the secret is not in them either.
    let mut cmd = s.dw.command(&["verify", "--expect", &s.new, "--json"]);
    cmd.env("DOCKER_CONFIG", &docker)
        .env("DEPLOYWATCH_LOG", "debug");
    let verbose = run_cmd(cmd);
    assert_verdict(&verbose, &verbose.report(), "phantom");
    runs.push(verbose);

    // What the database kept, as the other commands show it.
    for args in [["status", "--json"], ["history", "--json"]] {
        let r = run_cmd(s.dw.command(&args));
        assert_eq!(r.code, 0, "{r:?}");
        runs.push(r);
    }
    let history = &runs.last().unwrap().stdout;
    assert!(
        history.contains("image_missing") || history.contains("phantom"),
        "history records the checks: {history}"
    );
    let refs: Vec<&Run> = runs.iter().collect();
    assert_secrets_stay_put(s.dw.path(), &refs);
}

/// The `image` item of a `preflight --json` run.
#[track_caller]
fn preflight_image(run: &Run) -> (bool, String) {
    let doc = run.json();
    assert_eq!(doc["ready"], false, "{run:?}");
    assert_eq!(run.code, 1, "{run:?}");
    let item = doc["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "image"))
        .unwrap_or_else(|| panic!("no image item: {run:?}"))
        .clone();
    (
        item["ok"].as_bool().unwrap_or(false),
        item["detail"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn preflight_against_htpasswd_says_present_missing_or_credentials_needed() {
    let hub = deploywatch_fakehub::FakeHub::start()
        .await
        .expect("fake GitHub");
    let registry = Registry::start(Some((USER, PASSWORD)));
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(work.path().join("a.txt"), "a").unwrap();
    git(work.path(), &["add", "a.txt"]);
    git(work.path(), &["commit", "-q", "-m", "Add a"]);
    let head = git(work.path(), &["rev-parse", "HEAD"]);
    let reference = format!("{host}/shop:{head}");

    let image = format!("image = \"{host}/shop:{{sha}}\"");
    // Nothing serves build-info: preflight does not look at environments.
    let dw = Dw::new(&config(
        &hub.api_url(),
        &image,
        "http://127.0.0.1:9/api/build-info",
        "",
        "",
    ));
    let repo = work.path().to_str().unwrap().to_string();
    let docker = registry.docker_config("docker", &logged_in(&registry));
    let preflight = |docker_config: Option<&Path>| {
        let mut cmd = dw.command(&[
            "preflight",
            "--project",
            "shop",
            "--repo-path",
            &repo,
            "--json",
        ]);
        if let Some(dir) = docker_config {
            cmd.env("DOCKER_CONFIG", dir);
        }
        async move {
            tokio::task::spawn_blocking(move || run_cmd(cmd))
                .await
                .expect("join")
        }
    };
    let mut runs = Vec::new();

    // With credentials, before the push: missing.
    let r = preflight(Some(&docker)).await;
    let (ok, detail) = preflight_image(&r);
    assert!(!ok, "{detail}");
    assert!(
        detail.contains(&format!("{reference} is not in the registry")),
        "{detail}"
    );
    assert!(detail.contains("HTTP 404"), "{detail}");
    runs.push(r);

    registry.push_image("shop", &head);

    // Without credentials: credentials needed, not "missing".
    let r = preflight(None).await;
    let (ok, detail) = preflight_image(&r);
    assert!(!ok, "{detail}");
    assert!(
        detail.contains(&format!("credentials needed for {host}")),
        "{detail}"
    );
    assert!(detail.contains(&format!("docker login {host}")), "{detail}");
    assert!(!detail.contains("not in the registry"), "{detail}");
    runs.push(r);

    // With credentials: present.
    let r = preflight(Some(&docker)).await;
    let (ok, detail) = preflight_image(&r);
    assert!(ok, "{detail}");
    assert!(
        detail.contains(&format!("{reference} is in the registry")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!(
            "credentials from {}/config.json",
            docker.display()
        )),
        "{detail}"
    );
    runs.push(r);

    let refs: Vec<&Run> = runs.iter().collect();
    for r in &refs {
        for secret in [PASSWORD.to_string(), basic_auth(USER, PASSWORD)] {
            assert!(
                !r.stdout.contains(&secret) && !r.stderr.contains(&secret),
                "{r:?}"
            );
        }
    }
}

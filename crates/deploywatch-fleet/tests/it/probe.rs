//! Contract with Deploywatch's real probe: what the fleet serves is read the way SPEC §2 and
//! §3 say (every format yields its SHA, replicas differ, the cache is visible and bustable, a
//! stale frontend is detectable, the registry answers present/missing).

use std::time::Duration;

use deploywatch_core::{HttpOutcome, ImageOutcome, Sha, TransportFailure};
use deploywatch_fleet::{Format, SimEnv, SimRegistry, fake_sha};
use deploywatch_probe::{Locator, ProbeSettings, Prober};

fn prober() -> Prober {
    Prober::new(ProbeSettings {
        timeout: Duration::from_millis(500),
        ..ProbeSettings::default()
    })
}

fn sha(text: &str) -> Sha {
    Sha::parse(text).expect("a valid SHA")
}

/// `Some(locator)`: the probe reads a SHA that matches the live one; `None`: unusable.
async fn check(format: Format, locator: Option<Locator>) {
    let env = SimEnv::start("production").await.expect("start");
    let live = fake_sha(&format!("probe {format:?}"));
    env.set_format(format.clone());
    env.set_live(&live);
    let probe = prober()
        .build_info(&env.build_info_url(), &locator.clone().unwrap_or_default())
        .await;
    match (locator, probe.fingerprint) {
        (Some(_), Ok(fp)) => assert!(fp.sha.matches(&sha(&live)), "{format:?}: read {}", fp.sha),
        (None, Err(_)) => {}
        (expected, got) => panic!(
            "{format:?}: expected usable = {}, got {got:?}",
            expected.is_some()
        ),
    }
}

#[tokio::test]
async fn the_probe_reads_every_format() {
    let auto = || Some(Locator::default());
    check(Format::GitSha, auto()).await;
    check(Format::Dockerflow, auto()).await;
    check(Format::SpringActuator { full: false }, auto()).await;
    check(Format::SpringActuator { full: true }, auto()).await;
    check(Format::VersionSuffix, auto()).await;
    check(Format::VersionBuildMetadata, auto()).await;
    for field in [
        "/sha",
        "/commit_sha",
        "/git_commit",
        "/revision",
        "/gitCommit",
        "/commitSha",
        "/build/git_sha",
    ] {
        check(
            Format::JsonField {
                sha: field,
                date: Some("/build_date"),
            },
            auto(),
        )
        .await;
    }
    check(Format::Header, auto()).await;
    for header in ["X-Commit-Sha", "X-Release", "X-Version"] {
        check(Format::HeaderNamed(header), auto()).await;
    }
    check(Format::HtmlMeta, auto()).await;
    for name in ["git-sha", "release", "version"] {
        check(Format::HtmlMetaNamed(name), auto()).await;
    }
    check(Format::Unknown, None).await;
    check(Format::HtmlErrorPage, None).await;
    // A key at any depth that names a revision is found without configuration …
    let nested = Format::Raw {
        content_type: "application/json".into(),
        body: r#"{"meta": {"rev": "{sha}"}}"#.into(),
    };
    check(nested, auto()).await;
    // … one whose name says nothing about a commit needs a pointer.
    let custom = Format::Raw {
        content_type: "application/json".into(),
        body: r#"{"meta": {"x": "{sha}"}}"#.into(),
    };
    check(custom.clone(), None).await;
    let pointer = Locator {
        sha_pointer: Some("/meta/x".into()),
        sha_header: None,
        ..Locator::default()
    };
    check(custom, Some(pointer)).await;
    let header = Locator {
        sha_pointer: None,
        sha_header: Some("X-Build".into()),
        ..Locator::default()
    };
    check(Format::HeaderNamed("X-Build"), Some(header)).await;
    let null = Format::Raw {
        content_type: "application/json".into(),
        body: r#"{"git_sha": null}"#.into(),
    };
    check(null, None).await;
}

#[tokio::test]
async fn the_probe_sees_environment_build_date_replicas_and_cache() {
    let env = SimEnv::start("production").await.expect("start");
    let (old, new) = (fake_sha("probe old"), fake_sha("probe new"));
    env.set_live(&new);
    env.set_environment_field(Some("staging"));
    let p = prober();
    let url = env.build_info_url();
    let fp = p
        .build_info(&url, &Locator::default())
        .await
        .fingerprint
        .expect("fingerprint");
    assert_eq!(fp.environment.as_deref(), Some("staging"));
    assert!(fp.build_date.is_some());
    assert_eq!(fp.image_tag.as_deref(), Some(new.as_str()));

    env.set_replicas(&[&new, &new, &old]);
    let probes = p.replicas(&url, &Locator::default(), 3).await;
    let mut seen: Vec<String> = probes
        .iter()
        .map(|pr| {
            pr.fingerprint
                .as_ref()
                .map(|f| f.sha.to_string())
                .unwrap_or_default()
        })
        .collect();
    seen.sort();
    let mut expected = vec![new.clone(), new.clone(), old.clone()];
    expected.sort();
    assert_eq!(
        seen, expected,
        "each replica probe lands on its own replica"
    );

    env.set_live(&new);
    env.set_cache(Some(&old));
    let plain = p.build_info(&url, &Locator::default()).await;
    assert!(
        plain
            .fingerprint
            .expect("fingerprint")
            .sha
            .matches(&sha(&old))
    );
    let HttpOutcome::Answered(r) = plain.http.outcome else {
        panic!("answered")
    };
    assert_eq!(r.cache.age, Some(120));
    assert!(r.cache.hit_header.is_some());
    let busted = p.cache_bust(&url, &Locator::default()).await;
    assert!(
        busted
            .fingerprint
            .expect("fingerprint")
            .sha
            .matches(&sha(&new))
    );
}

#[tokio::test]
async fn the_probe_sees_outages_hangs_and_stale_frontends() {
    let env = SimEnv::start("production").await.expect("start");
    let p = prober();
    env.set_down(Some(502));
    let down = p
        .build_info(&env.build_info_url(), &Locator::default())
        .await;
    assert!(
        matches!(down.http.outcome, HttpOutcome::Answered(ref r) if r.status == 502),
        "{down:?}"
    );
    env.set_down(None);

    env.set_hang(true);
    let hung = p.health(&env.health_url()).await;
    assert!(
        matches!(
            hung.http.outcome,
            HttpOutcome::Failed(TransportFailure::Timeout { .. })
        ),
        "{hung:?}"
    );
    env.set_hang(false);

    let (old, new) = (fake_sha("page old"), fake_sha("page new"));
    env.set_live(&new);
    env.set_frontend(&old, true, true);
    let page = p.frontend(&env.frontend_url()).await;
    let fp = page.fingerprint.expect("the page's meta fingerprint");
    assert!(fp.sha.matches(&sha(&old)));
    assert_eq!(page.assets.len(), 2, "{:?}", page.assets);
    let mut statuses: Vec<u16> = page
        .assets
        .iter()
        .map(|a| *a.status.as_ref().expect("answered"))
        .collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 404]);
    assert!(page.assets.iter().all(|a| a.hashed), "{:?}", page.assets);

    env.set_hashed_assets(false);
    env.set_frontend_follows_live();
    let page = p.frontend(&env.frontend_url()).await;
    assert!(
        page.assets.iter().all(|a| !a.hashed && a.status == Ok(200)),
        "{:?}",
        page.assets
    );
}

#[tokio::test]
async fn the_probe_finds_images_in_the_registry() {
    let registry = SimRegistry::start().await.expect("start");
    let (pushed, lost) = (fake_sha("image pushed"), fake_sha("image lost"));
    registry.push_tag("acme/shop", &pushed);
    let p = prober();
    let check = |tag: String| {
        let p = p.clone();
        let reference = format!("{}/acme/shop:{tag}", registry.host());
        async move {
            p.image(&reference, &deploywatch_probe::RegistryAuth::anonymous())
                .await
                .outcome
        }
    };
    assert_eq!(check(pushed).await, ImageOutcome::Present);
    assert_eq!(check(lost).await, ImageOutcome::Missing);
}

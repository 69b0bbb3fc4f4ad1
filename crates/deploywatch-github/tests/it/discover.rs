//! The reads behind adding a repository by name: the repository, its environments, recent
//! deployments with their latest statuses, workflows and files; what each costs.

use deploywatch_fakehub::FakeHub;
use deploywatch_github::{GitHub, GitHubError, RepoRef, Token};

use crate::{client, hub, sha, shop};

/// A client that sends a token, so the fake counts its `304`s as free, as GitHub does.
fn signed_in(hub: &FakeHub) -> GitHub {
    GitHub::new(&hub.api_url(), Token::new("ghp_discovery")).expect("client builds")
}

fn nothing() -> RepoRef {
    RepoRef::new("acme", "nothing")
}

fn missing_repository() -> GitHubError {
    GitHubError::NotFound {
        what: "repository acme/nothing".into(),
    }
}

/// The paths (with queries) of the requests recorded since the last `clear_requests`, and
/// their statuses.
fn recorded(hub: &FakeHub) -> Vec<(String, u16)> {
    hub.requests()
        .into_iter()
        .map(|r| (r.path_and_query, r.status))
        .collect()
}

/// A team file: several lines, a blank one, non-ASCII text, longer than one base64 line.
const TEAM_FILE: &str = "# Deploywatch, für das Team ✓\n[[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\n\n[[project.environment]]\nname = \"production\"\nbuild_info_url = \"https://shop.example.com/api/build-info\"\n";
/// `git hash-object` of [`TEAM_FILE`].
const TEAM_FILE_BLOB: &str = "8321fc5df9303b6347f1f4f7df0429a24e0635f2";

#[tokio::test]
async fn repository_reads_name_default_branch_and_visibility() {
    let hub = hub().await;
    hub.push("acme/shop", "trunk", sha('a').as_str(), "Alice", "Init");
    hub.set_repo("acme/secret", "main", true);
    let gh = client(&hub);

    let info = gh.repository(&shop()).await.expect("repository");
    assert_eq!(info.full_name, "acme/shop");
    assert_eq!(info.default_branch, "trunk", "the first branch pushed");
    assert_eq!(info.html_url, "https://github.com/acme/shop");
    assert!(!info.private && !info.archived, "{info:?}");
    assert_eq!(
        recorded(&hub),
        [("/repos/acme/shop".to_owned(), 200)],
        "one request"
    );

    // Private: hidden from a client without a token, as GitHub hides it.
    let secret = RepoRef::new("acme", "secret");
    assert_eq!(
        gh.repository(&secret).await,
        Err(GitHubError::NotFound {
            what: "repository acme/secret".into()
        })
    );
    let info = signed_in(&hub)
        .repository(&secret)
        .await
        .expect("visible with a token");
    assert_eq!((info.default_branch.as_str(), info.private), ("main", true));

    assert_eq!(gh.repository(&nothing()).await, Err(missing_repository()));
}

#[tokio::test]
async fn environments_come_in_githubs_order_and_none_is_empty() {
    let hub = hub().await;
    hub.set_environments("acme/shop", &["production", "staging", "qa preview"]);
    hub.set_repo("acme/bare", "main", false);
    hub.set_repo("acme/hidden", "main", false);
    hub.set_environments_unavailable("acme/hidden", true);
    let gh = client(&hub);

    let environments = gh.environments(&shop()).await.expect("environments");
    let names: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["production", "staging", "qa preview"]);
    assert_eq!(
        environments[2].html_url.as_deref(),
        Some(
            "https://github.com/acme/shop/deployments/activity_log?environments_filter=qa%20preview"
        )
    );
    assert_eq!(
        recorded(&hub),
        [("/repos/acme/shop/environments?per_page=100".to_owned(), 200)]
    );

    assert_eq!(
        gh.environments(&RepoRef::new("acme", "bare")).await,
        Ok(vec![])
    );

    // A 404 for a repository that exists (environments not available to it) is no
    // environments; one more request tells it from a missing repository.
    hub.clear_requests();
    assert_eq!(
        gh.environments(&RepoRef::new("acme", "hidden")).await,
        Ok(vec![])
    );
    assert_eq!(
        recorded(&hub),
        [
            (
                "/repos/acme/hidden/environments?per_page=100".to_owned(),
                404
            ),
            ("/repos/acme/hidden".to_owned(), 200),
        ]
    );
    assert_eq!(gh.environments(&nothing()).await, Err(missing_repository()));
}

#[tokio::test]
async fn recent_deployments_keep_the_latest_status_of_the_newest_per_environment() {
    let hub = hub().await;
    let (a, b, c) = (sha('a'), sha('b'), sha('c'));
    let add = |sha: &str, env: &str| hub.add_deployment("acme/shop", sha, env);
    let with_url = |id: u64, state: &str, url: Option<&str>, log: Option<&str>| {
        hub.add_deployment_status_with_url("acme/shop", id, state, url, log);
    };
    // Oldest first.
    let prod_a = add(a.as_str(), "production");
    with_url(
        prod_a,
        "success",
        Some("https://shop.example.com"),
        Some("https://ci.example.com/1"),
    );
    let staging_a = add(a.as_str(), "staging");
    with_url(
        staging_a,
        "success",
        Some("https://staging.shop.example.com"),
        None,
    );
    let prod_b = add(b.as_str(), "production");
    with_url(prod_b, "in_progress", None, None);
    with_url(
        prod_b,
        "success",
        Some("https://shop.example.com"),
        Some("https://ci.example.com/2"),
    );
    let staging_c = add(c.as_str(), "staging");
    with_url(staging_c, "queued", None, None);
    with_url(
        staging_c,
        "failure",
        Some("https://staging.shop.example.com"),
        Some("https://ci.example.com/3"),
    );
    let prod_c = add(c.as_str(), "production");
    let gh = client(&hub);

    hub.clear_requests();
    let recent = gh
        .recent_deployments(&shop(), 1)
        .await
        .expect("deployments");
    let got: Vec<(u64, &str)> = recent
        .iter()
        .map(|d| (d.id, d.environment.as_str()))
        .collect();
    assert_eq!(got, [(prod_c, "production"), (staging_c, "staging")]);
    assert_eq!(recent[0].sha, Some(c.clone()));
    assert_eq!(recent[0].latest_status, None, "no status yet");
    let failed = recent[1].latest_status.as_ref().expect("a status");
    assert_eq!(failed.state, "failure", "the latest of queued, failure");
    assert_eq!(
        failed.environment_url.as_deref(),
        Some("https://staging.shop.example.com")
    );
    assert_eq!(
        failed.target_url.as_deref(),
        Some("https://ci.example.com/3")
    );
    assert_eq!(failed.log_url.as_deref(), Some("https://ci.example.com/3"));
    assert!(failed.created_at.is_some() && recent[1].created_at.is_some());
    // One list, then one status list per environment.
    let requests = recorded(&hub);
    assert_eq!(
        requests,
        [
            ("/repos/acme/shop/deployments?per_page=100".to_owned(), 200),
            (
                format!("/repos/acme/shop/deployments/{prod_c}/statuses?per_page=100"),
                200
            ),
            (
                format!("/repos/acme/shop/deployments/{staging_c}/statuses?per_page=100"),
                200
            ),
        ]
    );

    hub.clear_requests();
    let recent = gh
        .recent_deployments(&shop(), 2)
        .await
        .expect("deployments");
    let got: Vec<u64> = recent.iter().map(|d| d.id).collect();
    assert_eq!(got, [prod_c, staging_c, prod_b, staging_a], "newest first");
    assert_eq!(hub.requests().len(), 1 + 4);
    let deployed = recent[2].latest_status.as_ref().expect("a status");
    assert_eq!(
        (deployed.state.as_str(), deployed.environment_url.as_deref()),
        ("success", Some("https://shop.example.com"))
    );
    // GitHub's "" for a URL nobody gave is no URL.
    let staged = recent[3].latest_status.as_ref().expect("a status");
    assert_eq!(
        (staged.target_url.as_deref(), staged.log_url.as_deref()),
        (None, None)
    );

    let all = gh
        .recent_deployments(&shop(), 10)
        .await
        .expect("deployments");
    assert_eq!(all.len(), 5);
    assert_eq!(all.last().map(|d| d.id), Some(prod_a));

    hub.clear_requests();
    assert_eq!(gh.recent_deployments(&shop(), 0).await, Ok(vec![]));
    assert!(hub.requests().is_empty(), "nothing asked for, nothing sent");

    hub.set_repo("acme/quiet", "main", false);
    assert_eq!(
        gh.recent_deployments(&RepoRef::new("acme", "quiet"), 1)
            .await,
        Ok(vec![])
    );
    assert_eq!(
        gh.recent_deployments(&nothing(), 1).await,
        Err(missing_repository())
    );
}

#[tokio::test]
async fn workflows_are_listed_with_name_path_and_state() {
    let hub = hub().await;
    let ci = hub.add_workflow("acme/shop", "CI", ".github/workflows/ci.yml");
    let deploy = hub.add_workflow("acme/shop", "Deploy", ".github/workflows/deploy.yaml");
    hub.add_run(
        "acme/shop",
        sha('a').as_str(),
        "Lint",
        "completed",
        Some("success"),
    );
    hub.set_repo("acme/bare", "main", false);
    let gh = client(&hub);

    let workflows = gh.workflows(&shop()).await.expect("workflows");
    let got: Vec<(u64, &str, &str, &str)> = workflows
        .iter()
        .map(|w| (w.id, w.name.as_str(), w.path.as_str(), w.state.as_str()))
        .collect();
    assert_eq!(
        got[..2],
        [
            (ci, "CI", ".github/workflows/ci.yml", "active"),
            (deploy, "Deploy", ".github/workflows/deploy.yaml", "active"),
        ]
    );
    assert_eq!(
        (got[2].1, got[2].2),
        ("Lint", ".github/workflows/lint.yml"),
        "a workflow that has run is listed too"
    );
    assert_eq!(
        gh.workflows(&RepoRef::new("acme", "bare")).await,
        Ok(vec![])
    );
    assert_eq!(gh.workflows(&nothing()).await, Err(missing_repository()));
}

#[tokio::test]
async fn file_text_is_decoded_exactly() {
    let hub = hub().await;
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(TEAM_FILE));
    hub.set_file("acme/shop", "empty.txt", Some(""));
    let gh = client(&hub);

    let file = gh
        .file(&shop(), ".github/deploywatch.toml", None)
        .await
        .expect("read")
        .expect("present");
    assert!(file.fresh);
    assert_eq!(file.value.text, TEAM_FILE);
    assert_eq!(file.value.path, ".github/deploywatch.toml");
    assert_eq!(file.value.sha, TEAM_FILE_BLOB, "the git blob SHA");
    assert_eq!(
        file.value.html_url.as_deref(),
        Some("https://github.com/acme/shop/blob/main/.github/deploywatch.toml")
    );
    assert_eq!(
        recorded(&hub),
        [(
            "/repos/acme/shop/contents/.github/deploywatch.toml".to_owned(),
            200
        )]
    );

    let empty = gh
        .file(&shop(), "empty.txt", None)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(empty.value.text, "");
}

#[tokio::test]
async fn absent_file_is_none_and_a_missing_repository_is_named() {
    let hub = hub().await;
    hub.set_file("acme/shop", "README.md", Some("# Shop\n"));
    let gh = client(&hub);

    hub.clear_requests();
    assert_eq!(
        gh.file(&shop(), ".github/deploywatch.toml", None).await,
        Ok(None)
    );
    assert_eq!(
        recorded(&hub),
        [
            (
                "/repos/acme/shop/contents/.github/deploywatch.toml".to_owned(),
                404
            ),
            ("/repos/acme/shop".to_owned(), 200),
        ],
        "the look at the repository tells a missing file from a missing repository"
    );
    assert_eq!(
        gh.file(&nothing(), "README.md", None).await,
        Err(missing_repository())
    );

    // Removed: gone again.
    assert!(
        gh.file(&shop(), "README.md", None)
            .await
            .expect("read")
            .is_some()
    );
    hub.set_file("acme/shop", "README.md", None);
    assert_eq!(gh.file(&shop(), "README.md", None).await, Ok(None));

    // A path no git tree can hold is never sent.
    hub.clear_requests();
    for path in ["../../branches/main", "a/./b", ".."] {
        assert_eq!(gh.file(&shop(), path, None).await, Ok(None), "{path}");
    }
    assert!(hub.requests().is_empty());
}

#[tokio::test]
async fn an_unchanged_file_costs_a_304_and_a_changed_one_is_read_again() {
    let hub = hub().await;
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(TEAM_FILE));
    let gh = signed_in(&hub);
    let read = async || {
        gh.file(&shop(), ".github/deploywatch.toml", None)
            .await
            .expect("read")
            .expect("present")
    };

    let first = read().await;
    let remaining = gh.rate().expect("rate headers").remaining;
    let again = read().await;
    assert!(!again.fresh, "from the ETag cache");
    assert_eq!(again.value, first.value, "the same file");
    let requests = hub.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].status, 304);
    assert!(requests[1].if_none_match.is_some());
    assert_eq!(
        gh.rate().expect("rate headers").remaining,
        remaining,
        "GitHub does not count an authorised 304"
    );

    let changed = TEAM_FILE.replace("production", "prod");
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(&changed));
    let third = read().await;
    assert!(third.fresh);
    assert_eq!(third.value.text, changed);
    assert_ne!(third.value.sha, first.value.sha);
    assert_eq!(hub.requests()[2].status, 200, "a new ETag, a full answer");
}

#[tokio::test]
async fn directories_and_files_without_content_are_decode_errors() {
    let hub = hub().await;
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(TEAM_FILE));
    hub.set_file("acme/shop", "big.txt", Some(&"x".repeat(1024 * 1024 + 1)));
    let gh = client(&hub);

    let check = async |path: &str, want: &str| {
        let err = gh.file(&shop(), path, None).await.expect_err(path);
        let GitHubError::Decode(text) = &err else {
            panic!("{path}: {err:?}");
        };
        assert!(text.contains(want), "{path}: {text}");
        assert!(err.to_string().contains("acme/shop"), "{err}");
    };
    check(".github", ".github in acme/shop: it is a directory").await;
    check(".github/", "it is a directory").await;
    check("", "/ in acme/shop: it is a directory").await;
    check("big.txt", "1 MB").await;
}

#[tokio::test]
async fn file_paths_are_encoded_segment_by_segment_and_refs_are_passed() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "Init");
    hub.push("acme/shop", "release/2.0", sha('b').as_str(), "Bob", "Cut");
    let paths = [
        (
            "docs/a b#1?.md",
            "/repos/acme/shop/contents/docs/a%20b%231%3F.md",
        ),
        (
            "ünï/çà.toml",
            "/repos/acme/shop/contents/%C3%BCn%C3%AF/%C3%A7%C3%A0.toml",
        ),
        ("100%/x[1].txt", "/repos/acme/shop/contents/100%25/x[1].txt"),
    ];
    for (path, _) in paths {
        hub.set_file("acme/shop", path, Some(&format!("text of {path}\n")));
    }
    let gh = client(&hub);

    for (path, sent) in paths {
        hub.clear_requests();
        let file = gh
            .file(&shop(), path, None)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("{path} present"));
        assert_eq!(file.value.text, format!("text of {path}\n"));
        assert_eq!(file.value.path, path);
        assert_eq!(recorded(&hub), [(sent.to_owned(), 200)]);
    }

    hub.clear_requests();
    let at_release = gh
        .file(&shop(), "/docs/a b#1?.md", Some("release/2.0"))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(at_release.value.path, "docs/a b#1?.md");
    assert_eq!(
        hub.requests()[0].path_and_query,
        "/repos/acme/shop/contents/docs/a%20b%231%3F.md?ref=release%2F2.0"
    );
    assert_eq!(
        gh.file(&shop(), "docs/a b#1?.md", Some("v9")).await,
        Err(GitHubError::NotFound {
            what: "ref v9 of acme/shop".into()
        })
    );
}

#[tokio::test]
async fn discovery_reads_keep_the_enterprise_base_path() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "Init");
    hub.set_environments("acme/shop", &["production"]);
    let id = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    hub.add_deployment_status_with_url(
        "acme/shop",
        id,
        "success",
        Some("https://shop.example.com"),
        None,
    );
    hub.add_workflow("acme/shop", "CI", ".github/workflows/ci.yml");
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(TEAM_FILE));

    let gh = GitHub::new(&format!("{}/api/v3", hub.api_url()), None).expect("client");
    assert_eq!(
        gh.repository(&shop())
            .await
            .expect("repository")
            .default_branch,
        "main"
    );
    assert_eq!(
        gh.environments(&shop()).await.expect("environments").len(),
        1
    );
    let recent = gh
        .recent_deployments(&shop(), 1)
        .await
        .expect("deployments");
    assert_eq!(
        recent[0]
            .latest_status
            .as_ref()
            .and_then(|s| s.environment_url.as_deref()),
        Some("https://shop.example.com")
    );
    assert_eq!(gh.workflows(&shop()).await.expect("workflows").len(), 1);
    let file = gh
        .file(&shop(), ".github/deploywatch.toml", Some("main"))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(file.value.text, TEAM_FILE);
    let requests = recorded(&hub);
    assert_eq!(requests.len(), 6, "{requests:#?}");
    for (path, status) in &requests {
        assert!(path.starts_with("/api/v3/repos/acme/shop"), "{path}");
        assert_eq!(*status, 200, "{path}");
    }
}

#[tokio::test]
async fn what_a_discovery_costs() {
    let hub = hub().await;
    let (a, b) = (sha('a'), sha('b'));
    hub.push("acme/shop", "main", a.as_str(), "Alice", "One");
    hub.push("acme/shop", "main", b.as_str(), "Bob", "Two");
    hub.set_environments("acme/shop", &["production", "staging", "preview"]);
    for (sha, env) in [
        (&a, "production"),
        (&a, "staging"),
        (&b, "production"),
        (&b, "staging"),
    ] {
        let id = hub.add_deployment("acme/shop", sha.as_str(), env);
        let url = format!("https://{env}.shop.example.com");
        hub.add_deployment_status_with_url("acme/shop", id, "success", Some(&url), None);
    }
    hub.add_workflow("acme/shop", "CI", ".github/workflows/ci.yml");
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(TEAM_FILE));
    let gh = signed_in(&hub);

    let discover = async || {
        let before = gh.request_count();
        gh.repository(&shop()).await.expect("repository");
        gh.environments(&shop()).await.expect("environments");
        let recent = gh
            .recent_deployments(&shop(), 1)
            .await
            .expect("deployments");
        assert_eq!(recent.len(), 2, "production and staging");
        gh.workflows(&shop()).await.expect("workflows");
        gh.file(&shop(), ".github/deploywatch.toml", None)
            .await
            .expect("read")
            .expect("present");
        gh.request_count() - before
    };

    // repository + environments + deployments + 2 status lists + workflows + file.
    assert_eq!(discover().await, 7);
    let statuses: Vec<u16> = hub.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200; 7]);

    // Again, nothing changed: the same 7 requests, all 304s GitHub does not count.
    hub.clear_requests();
    let remaining = gh.rate().expect("rate").remaining;
    assert_eq!(discover().await, 7);
    let statuses: Vec<u16> = hub.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [304; 7]);
    assert_eq!(gh.rate().expect("rate").remaining, remaining);
}

//! Simulated environments: formats, replicas, cache, outages, hangs and frontends.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use deploywatch_fleet::{Balance, Format, SimEnv, fake_sha, short_sha};
use reqwest::header::HeaderMap;

use crate::{fresh_client, get_json, pooled_client};

/// Where a format puts the SHA, and in what shape.
#[derive(Clone, Copy, Debug)]
enum Found {
    Json(&'static str, Shape),
    Header(&'static str, Shape),
    Meta(&'static str, Shape),
    /// A 200 HTML page without any fingerprint.
    NoSha,
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Full,
    Short,
    /// `1.4.N-abc1234`
    Dash,
    /// `1.4.N+abc1234`
    Plus,
    Literal(&'static str),
}

impl Shape {
    fn assert(self, got: &str, sha: &str, what: &str) {
        let short = short_sha(sha);
        let ok = match self {
            Shape::Full => got == sha,
            Shape::Short => got == short,
            Shape::Dash => got.starts_with("1.4.") && got.ends_with(&format!("-{short}")),
            Shape::Plus => got.starts_with("1.4.") && got.ends_with(&format!("+{short}")),
            Shape::Literal(l) => got == l,
        };
        assert!(ok, "{what}: got {got:?}, expected {self:?} of {sha}");
    }
}

fn meta_content(html: &str, name: &str) -> Option<String> {
    let needle = format!("<meta name=\"{name}\" content=\"");
    let rest = &html[html.find(&needle)? + needle.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

async fn check(format: Format, path: &str, found: Found) {
    let env = SimEnv::start("production").await.expect("start");
    let sha = fake_sha(&format!("{format:?}"));
    env.set_format(format.clone());
    env.set_live(&sha);
    let url = env.build_info_url();
    assert_eq!(url, format!("{}{path}", env.base_url()), "{format:?}");
    let response = fresh_client().get(&url).send().await.expect("request");
    assert_eq!(response.status(), 200, "{format:?}");
    let headers = response.headers().clone();
    let content_type = header(&headers, "content-type");
    let body = response.text().await.expect("body");
    let what = format!("{format:?}");
    match found {
        Found::Json(pointer, shape) => {
            assert!(content_type.contains("json"), "{what}: {content_type}");
            let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            let got = value
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            shape.assert(got, &sha, &what);
        }
        Found::Header(name, shape) => shape.assert(&header(&headers, name), &sha, &what),
        Found::Meta(name, shape) => {
            assert!(
                content_type.starts_with("text/html"),
                "{what}: {content_type}"
            );
            shape.assert(&meta_content(&body, name).unwrap_or_default(), &sha, &what);
        }
        Found::NoSha => {
            assert!(
                content_type.starts_with("text/html"),
                "{what}: {content_type}"
            );
            assert!(!body.contains(&sha[..7]), "{what}: {body}");
            assert!(body.contains("something went wrong"), "{what}: {body}");
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn each_format_serves_its_convention() {
    use Found::*;
    use Shape::*;
    check(Format::GitSha, "/api/build-info", Json("/git_sha", Full)).await;
    check(Format::Dockerflow, "/__version__", Json("/commit", Full)).await;
    let spring_simple = Format::SpringActuator { full: false };
    check(
        spring_simple,
        "/actuator/info",
        Json("/git/commit/id", Short),
    )
    .await;
    let spring_full = Format::SpringActuator { full: true };
    check(
        spring_full,
        "/actuator/info",
        Json("/git/commit/id/full", Full),
    )
    .await;
    check(Format::VersionSuffix, "/version", Json("/version", Dash)).await;
    check(
        Format::VersionBuildMetadata,
        "/version",
        Json("/version", Plus),
    )
    .await;
    let nested = Format::JsonField {
        sha: "/build/git_sha",
        date: Some("/build/date"),
    };
    check(nested, "/version", Json("/build/git_sha", Full)).await;
    let revision = Format::JsonField {
        sha: "/revision",
        date: None,
    };
    check(revision, "/version", Json("/revision", Full)).await;
    check(Format::Header, "/api/status", Header("x-git-sha", Full)).await;
    check(
        Format::HeaderNamed("X-Commit-Sha"),
        "/api/status",
        Header("x-commit-sha", Full),
    )
    .await;
    check(
        Format::HeaderNamed("X-Version"),
        "/api/status",
        Header("x-version", Dash),
    )
    .await;
    check(Format::HtmlMeta, "/about", Meta("build-sha", Full)).await;
    check(
        Format::HtmlMetaNamed("release"),
        "/about",
        Meta("release", Full),
    )
    .await;
    check(
        Format::Unknown,
        "/api/build-info",
        Json("/git_sha", Literal("unknown")),
    )
    .await;
    check(Format::HtmlErrorPage, "/api/build-info", NoSha).await;
    let raw = Format::Raw {
        content_type: "application/json".into(),
        body: r#"{"meta": {"rev": "{sha}"}, "env": "{environment}"}"#.into(),
    };
    check(raw, "/info", Json("/meta/rev", Full)).await;
}

#[tokio::test]
async fn git_sha_format_carries_build_date_environment_and_image_tag() {
    let env = SimEnv::start("production").await.expect("start");
    let sha = fake_sha("build-date");
    env.set_live(&sha);
    let body = get_json(&env.build_info_url()).await;
    assert_eq!(body["environment"], "production");
    assert_eq!(body["image_tag"], sha.as_str());
    let built = body["built_at"].as_str().expect("built_at is a string");
    let built = chrono::DateTime::parse_from_rfc3339(built).expect("RFC 3339 build date");
    assert!(
        (Utc::now() - built.with_timezone(&Utc)).num_seconds() < 60,
        "{built}"
    );

    let old_build = Utc
        .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("valid date");
    env.set_build_date(Some(old_build));
    env.set_environment_field(Some("staging"));
    let body = get_json(&env.build_info_url()).await;
    assert_eq!(body["built_at"], "2026-01-02T03:04:05Z");
    assert_eq!(body["environment"], "staging");

    env.set_build_date(None);
    env.set_environment_field(None);
    let body = get_json(&env.build_info_url()).await;
    assert!(body.get("built_at").is_none(), "{body}");
    assert!(body.get("environment").is_none(), "{body}");
    assert_eq!(body["git_sha"], sha.as_str());
}

#[tokio::test]
async fn replicas_rotate_per_connection_and_stick_to_keep_alive_connections() {
    let env = SimEnv::start("production").await.expect("start");
    let shas: Vec<String> = (1..=3).map(|i| fake_sha(&format!("replica {i}"))).collect();
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    env.set_replicas(&refs);

    // Fresh connections, one after another: round-robin.
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(
            get_json(&env.build_info_url()).await["git_sha"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let expected: Vec<String> = shas.iter().chain(&shas).cloned().collect();
    assert_eq!(seen, expected);

    // Three concurrent probes on fresh connections see all three replicas.
    let url = env.build_info_url();
    let (a, b, c) = tokio::join!(get_json(&url), get_json(&url), get_json(&url));
    let mut concurrent: Vec<String> = [a, b, c]
        .iter()
        .map(|v| v["git_sha"].as_str().unwrap_or_default().to_string())
        .collect();
    concurrent.sort();
    let mut all = shas.clone();
    all.sort();
    assert_eq!(concurrent, all);

    // A keep-alive connection stays on one replica (an L4 balancer)…
    let client = pooled_client();
    let mut sticky = Vec::new();
    for _ in 0..4 {
        let v: serde_json::Value = client
            .get(&url)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        sticky.push(v["git_sha"].as_str().unwrap_or_default().to_string());
    }
    assert!(sticky.iter().all(|s| *s == sticky[0]), "{sticky:?}");

    // …unless requests are balanced one by one (an L7 proxy).
    env.set_balance(Balance::PerRequest);
    let mut rotating = Vec::new();
    for _ in 0..3 {
        let v: serde_json::Value = client
            .get(&url)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        rotating.push(v["git_sha"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(rotating, shas);

    // A completed rollout: every replica serves the same SHA.
    env.set_live(&shas[0]);
    for _ in 0..3 {
        assert_eq!(get_json(&url).await["git_sha"], shas[0].as_str());
    }
    assert_eq!(env.snapshot().replicas, vec![shas[0].clone()]);
}

#[tokio::test]
async fn cache_layer_serves_stale_answers_unless_busted() {
    let env = SimEnv::start("production").await.expect("start");
    let (old, new) = (fake_sha("cache old"), fake_sha("cache new"));
    env.set_live(&new);
    env.set_cache(Some(&old));
    let url = env.build_info_url();
    let client = fresh_client();

    // (request, expected SHA, expected X-Cache, Age present)
    let plain = client.get(&url);
    let busted_query = client.get(format!("{url}?_dw=0123456789abcdef"));
    let no_cache = client.get(&url).header("cache-control", "no-cache");
    let pragma = client.get(&url).header("pragma", "no-cache");
    let cases = [
        (plain, &old, "HIT", true),
        (busted_query, &new, "MISS", false),
        (no_cache, &new, "MISS", false),
        (pragma, &new, "MISS", false),
    ];
    for (i, (request, sha, x_cache, aged)) in cases.into_iter().enumerate() {
        let response = request.send().await.expect("request");
        let headers = response.headers().clone();
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["git_sha"], sha.as_str(), "case {i}");
        assert_eq!(header(&headers, "x-cache"), x_cache, "case {i}");
        assert_eq!(header(&headers, "age") == "120", aged, "case {i}");
    }

    env.set_cache(None);
    let response = client.get(&url).send().await.expect("request");
    assert!(response.headers().get("x-cache").is_none());
    assert!(response.headers().get("age").is_none());
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["git_sha"], new.as_str());
}

#[tokio::test]
async fn down_answers_proxy_errors_on_build_info_and_health() {
    let env = SimEnv::start("production").await.expect("start");
    let client = fresh_client();
    for url in [env.build_info_url(), env.health_url()] {
        assert_eq!(
            client.get(&url).send().await.expect("request").status(),
            200,
            "{url}"
        );
    }
    for status in [502_u16, 503, 504] {
        env.set_down(Some(status));
        for url in [env.build_info_url(), env.health_url(), env.frontend_url()] {
            let response = client.get(&url).send().await.expect("request");
            assert_eq!(response.status().as_u16(), status, "{url}");
            assert_eq!(header(response.headers(), "content-type"), "text/html");
            assert_eq!(header(response.headers(), "server"), "nginx/1.25.3");
            let body = response.text().await.expect("body");
            assert!(body.contains(&format!("<h1>{status} ")), "{body}");
        }
    }
    env.set_down(None);
    let body = get_json(&env.health_url()).await;
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn hang_holds_requests_without_blocking_others() {
    let hung = SimEnv::start("production").await.expect("start");
    let other = SimEnv::start("staging").await.expect("start");
    hung.set_hang(true);

    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = short
        .get(hung.build_info_url())
        .send()
        .await
        .expect_err("a hung server never answers");
    assert!(err.is_timeout(), "{err}");

    // A request held open on the hung server…
    let held = tokio::spawn({
        let url = hung.health_url();
        async move {
            fresh_client()
                .get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // …does not stop the other environment from answering at once.
    let started = std::time::Instant::now();
    let response = short
        .get(other.build_info_url())
        .send()
        .await
        .expect("the other server answers");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(300));
    assert!(!held.is_finished(), "the held request is still waiting");

    hung.set_hang(false);
    let status = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("released")
        .expect("task");
    assert_eq!(status.expect("answered"), 200);
    assert!(hung.requests() >= 2);
}

async fn status_of(url: &str) -> u16 {
    fresh_client()
        .get(url)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The page's meta SHA, script and stylesheet URLs, and its Cache-Control.
async fn page(env: &SimEnv) -> (String, String, String, String) {
    let response = fresh_client()
        .get(env.frontend_url())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "text/html; charset=utf-8"
    );
    let cache = header(response.headers(), "cache-control");
    let html = response.text().await.expect("body");
    let attr = |before: &str| {
        let start = html
            .find(before)
            .map(|i| i + before.len())
            .unwrap_or(html.len());
        let rest = &html[start..];
        rest[..rest.find('"').unwrap_or(0)].to_string()
    };
    let meta = meta_content(&html, "build-sha").unwrap_or_default();
    (
        meta,
        attr("<script type=\"module\" src=\""),
        attr("<link rel=\"stylesheet\" href=\""),
        cache,
    )
}

#[tokio::test]
async fn frontend_serves_meta_and_hashed_assets_and_can_go_stale() {
    let env = SimEnv::start("production").await.expect("start");
    let (old, new) = (fake_sha("frontend old"), fake_sha("frontend new"));
    env.set_live(&new);

    // By default the page follows the live build: fresh, cheap to revalidate, assets present.
    let (meta, script, style, cache) = page(&env).await;
    assert_eq!(meta, new);
    assert_eq!(cache, "no-cache");
    let is_hashed = |p: &str, ext: &str| {
        let name = p.rsplit('/').next().unwrap_or_default();
        let parts: Vec<&str> = name.split('.').collect();
        p.starts_with("/assets/")
            && parts.len() == 3
            && parts[1].len() == 8
            && parts[1].bytes().all(|b| b.is_ascii_hexdigit())
            && parts[2] == ext
    };
    assert!(is_hashed(&script, "js"), "{script}");
    assert!(is_hashed(&style, "css"), "{style}");
    let base = env.base_url();
    assert_eq!(status_of(&format!("{base}{script}")).await, 200);
    assert_eq!(status_of(&format!("{base}{style}")).await, 200);
    let head = fresh_client()
        .head(format!("{base}{script}"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), 200);

    // The old page after a volume refresh: old meta, its script gone, cached for an hour.
    env.set_frontend(&old, true, true);
    let (meta, old_script, old_style, cache) = page(&env).await;
    assert_eq!(meta, old);
    assert_eq!(cache, "public, max-age=3600");
    assert_ne!(old_script, script, "a new build has new asset names");
    assert_eq!(status_of(&format!("{base}{old_script}")).await, 404);
    assert_eq!(status_of(&format!("{base}{old_style}")).await, 200);
    assert_eq!(
        status_of(&format!("{base}{script}")).await,
        404,
        "only the page's build is served"
    );

    // Unhashed names.
    env.set_frontend(&new, false, false);
    env.set_hashed_assets(false);
    let (_, script, style, _) = page(&env).await;
    assert_eq!((script.as_str(), style.as_str()), ("/app.js", "/style.css"));
    assert_eq!(status_of(&format!("{base}/app.js")).await, 200);
    env.set_frontend(&new, true, false);
    assert_eq!(status_of(&format!("{base}/app.js")).await, 404);

    // Back to following the live build.
    env.set_frontend_follows_live();
    env.set_live(&old);
    assert_eq!(page(&env).await.0, old);
}

#[tokio::test]
async fn health_urls_follow_the_convention_and_odd_requests_are_refused() {
    let check = |format: Format, path: &'static str| async move {
        let env = SimEnv::start("production").await.expect("start");
        env.set_format(format);
        assert_eq!(env.health_url(), format!("{}{path}", env.base_url()));
        assert_eq!(status_of(&env.health_url()).await, 200, "{path}");
    };
    check(Format::GitSha, "/health").await;
    check(Format::Dockerflow, "/__heartbeat__").await;
    check(Format::SpringActuator { full: false }, "/actuator/health").await;

    let env = SimEnv::start("production").await.expect("start");
    assert_eq!(status_of(&format!("{}/nope", env.base_url())).await, 404);
    // The build-info path of another format is not served.
    assert_eq!(
        status_of(&format!("{}/__version__", env.base_url())).await,
        404
    );
    let post = fresh_client()
        .post(env.build_info_url())
        .send()
        .await
        .expect("request");
    assert_eq!(post.status(), 405);
    assert_eq!(env.requests(), 3);
}

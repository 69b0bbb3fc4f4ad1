//! The frontend probe against a real page whose assets live on two origins.

use deploywatch_core::{AssetProbe, HttpOutcome};
use deploywatch_probe::Prober;

use crate::support::{Server, quick, reply};

/// `path status hashed` for each asset, with the origin replaced by `main` or `cdn`.
fn assets(list: &[AssetProbe], main: &Server, cdn: &Server) -> Vec<String> {
    list.iter()
        .map(|a| {
            let url = a
                .url
                .replace(&main.url(""), "main")
                .replace(&cdn.url(""), "cdn");
            let status = match &a.status {
                Ok(code) => code.to_string(),
                Err(e) => format!("failed ({e})"),
            };
            let hashed = if a.hashed { "hashed" } else { "unhashed" };
            format!("{url} {status} {hashed}")
        })
        .collect()
}

#[tokio::test]
async fn assets_are_checked_on_every_origin() {
    let cdn = Server::start(|req| match req.path() {
        "/lib.js" => reply(200, &[], "lib()"),
        _ => reply(404, &[], ""),
    })
    .await;
    let cdn_origin = cdn.url("");
    let main = Server::start(move |req| match (req.method.as_str(), req.path()) {
        (_, "/") => reply(
            200,
            &[
                ("Content-Type", "text/html"),
                ("Cache-Control", "public, max-age=3600"),
            ],
            format!(
                r#"<!doctype html><html><head>
                <meta name="build-sha" content="b7c1e2f">
                <link rel="stylesheet" href="/assets/main-BdE8x9Qa.css">
                <script type="module" src="/assets/app.3f9a1c2b.js"></script>
                <script src="js/vendor.js"></script>
                <script src="{cdn_origin}/lib.js"></script>
                <script src="{cdn_origin}/gone.3f9a1c2b.js"></script>
                <script src="/no-head.js"></script>
                </head><body><div id="app"></div></body></html>"#
            ),
        ),
        (_, "/assets/main-BdE8x9Qa.css" | "/assets/app.3f9a1c2b.js") => reply(200, &[], "x"),
        ("HEAD", "/no-head.js") => reply(405, &[], ""),
        ("GET", "/no-head.js") => reply(200, &[], "x"),
        _ => reply(404, &[], "not found"),
    })
    .await;
    let probe = Prober::new(quick()).frontend(&main.url("/")).await;
    assert_eq!(
        probe.fingerprint.map(|f| f.sha.to_string()).as_deref(),
        Some("b7c1e2f")
    );
    match &probe.http.outcome {
        HttpOutcome::Answered(r) => {
            assert_eq!(
                r.cache.cache_control.as_deref(),
                Some("public, max-age=3600")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        assets(&probe.assets, &main, &cdn),
        [
            "main/assets/main-BdE8x9Qa.css 200 hashed",
            "main/assets/app.3f9a1c2b.js 200 hashed",
            "main/js/vendor.js 404 unhashed",
            "cdn/lib.js 200 unhashed",
            "cdn/gone.3f9a1c2b.js 404 hashed",
            "main/no-head.js 200 unhashed",
        ]
    );
    // Assets are checked with HEAD; GET only where HEAD is refused.
    let gets: Vec<String> = main
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(gets, ["/", "/no-head.js"]);
    assert_eq!(
        main.requests()[0]
            .header("accept")
            .map(|a| a.starts_with("text/html")),
        Some(true)
    );
}

#[tokio::test]
async fn a_page_that_fails_has_no_assets() {
    let main = Server::start(|_| {
        reply(
            500,
            &[("Content-Type", "text/html")],
            r#"<script src="/a.js"></script>"#,
        )
    })
    .await;
    let probe = Prober::new(quick()).frontend(&main.url("/")).await;
    assert_eq!((probe.fingerprint, probe.assets.len()), (None, 0));
    assert_eq!(main.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_asset_is_a_failure_in_words() {
    let main = Server::start(|_| {
        reply(
            200,
            &[("Content-Type", "text/html")],
            r#"<script src="http://127.0.0.1:9/a.js"></script>"#,
        )
    })
    .await;
    let probe = Prober::new(quick()).frontend(&main.url("/")).await;
    let status = &probe.assets[0].status;
    assert!(
        matches!(status, Err(e) if e.starts_with("could not connect") || e.starts_with("timed out")),
        "{status:?}"
    );
}

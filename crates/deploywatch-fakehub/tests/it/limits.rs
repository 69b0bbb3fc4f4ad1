//! Rate limits (primary and secondary), required tokens, shutdown.

use chrono::{Duration, Utc};
use deploywatch_fakehub::FakeHub;
use serde_json::json;

use crate::support::{client, get, send, sha};

async fn hub_with_branch() -> (FakeHub, String) {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push("acme/shop", "main", &sha('a'), "Alice", "One");
    let url = format!("{}/repos/acme/shop/branches/main", hub.api_url());
    (hub, url)
}

#[tokio::test]
async fn rate_limit_counts_down_and_answers_403_at_zero() {
    let (hub, url) = hub_with_branch().await;
    let reset = Utc::now() + Duration::minutes(5);
    hub.set_rate_limit(10, 2, reset);
    let reset_header = reset.timestamp().to_string();

    let mut seen = Vec::new();
    for _ in 0..3 {
        let got = get(&url).await;
        seen.push((
            got.status,
            got.header("x-ratelimit-remaining").map(str::to_owned),
            got.header("x-ratelimit-used").map(str::to_owned),
        ));
        assert_eq!(got.header("x-ratelimit-limit"), Some("10"));
        assert_eq!(got.header("x-ratelimit-reset"), Some(reset_header.as_str()));
        assert_eq!(got.header("x-ratelimit-resource"), Some("core"));
        if got.status == 403 {
            let message = got.body["message"].as_str().unwrap_or("");
            assert!(
                message.starts_with("API rate limit exceeded for "),
                "{message}"
            );
            assert!(
                got.body["documentation_url"]
                    .as_str()
                    .is_some_and(|d| d.contains("rate-limit"))
            );
        }
    }
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        seen,
        [
            (200, s("1"), s("9")),
            (200, s("0"), s("10")),
            (403, s("0"), s("10"))
        ]
    );

    // GitHub answers /rate_limit even when the limit is exhausted, and does not count it.
    let limit = get(&format!("{}/rate_limit", hub.api_url())).await;
    assert_eq!(limit.status, 200);
    assert_eq!(limit.body["resources"]["core"]["remaining"], 0);
}

#[tokio::test]
async fn a_new_window_starts_when_reset_has_passed() {
    let (hub, url) = hub_with_branch().await;
    hub.set_rate_limit(60, 0, Utc::now() - Duration::seconds(1));
    let got = get(&url).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("x-ratelimit-remaining"), Some("59"));
    let reset: i64 = got
        .header("x-ratelimit-reset")
        .and_then(|r| r.parse().ok())
        .expect("reset");
    assert!(
        reset > Utc::now().timestamp() + 3000,
        "a new one-hour window"
    );
}

#[tokio::test]
async fn retry_after_answers_429_until_cleared() {
    let (hub, url) = hub_with_branch().await;
    hub.set_retry_after(Some(7));
    let got = get(&url).await;
    assert_eq!(got.status, 429);
    assert_eq!(got.header("retry-after"), Some("7"));
    assert!(
        got.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("secondary rate limit"))
    );
    hub.set_retry_after(None);
    assert_eq!(get(&url).await.status, 200);
}

#[tokio::test]
async fn required_token_accepts_bearer_and_token_schemes_only_with_the_right_value() {
    let (hub, url) = hub_with_branch().await;
    hub.require_token(Some("s3cret"));
    let check = async |authorization: Option<&str>, status: u16| {
        let mut request = client().get(&url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let got = send(request).await;
        assert_eq!(got.status, status, "{authorization:?}");
        if status == 401 {
            assert_eq!(
                got.body,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest/", "status": "401"})
            );
        }
    };
    check(None, 401).await;
    check(Some("Bearer wrong"), 401).await;
    check(Some("Basic s3cret"), 401).await;
    check(Some("Bearer s3cret"), 200).await;
    check(Some("token s3cret"), 200).await;
    hub.require_token(None);
    check(None, 200).await;
}

#[tokio::test]
async fn shutdown_makes_the_fake_unreachable() {
    let (hub, url) = hub_with_branch().await;
    assert_eq!(get(&url).await.status, 200);
    hub.shutdown();
    // Give the server task a moment to stop accepting.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let fresh = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client");
    assert!(
        fresh.get(&url).send().await.is_err(),
        "connection refused after shutdown"
    );
}

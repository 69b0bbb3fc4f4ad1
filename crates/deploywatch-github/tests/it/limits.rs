//! Conditional requests (ETag → 304) and rate limits: the reserve, an exhausted quota and
//! `Retry-After`, each proven by counting what reached the server.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeDelta, Utc};
use deploywatch_fakehub::FakeHub;
use deploywatch_github::{EtagCache, GitHub, GitHubError, MemoryEtagCache, Token};

use crate::{client, hub, sha, shop};

/// The reset time as GitHub sends it: whole seconds.
fn reset_in(minutes: i64) -> DateTime<Utc> {
    let at = Utc::now() + Duration::minutes(minutes);
    DateTime::from_timestamp(at.timestamp(), 0).expect("in range")
}

/// One call of each kind; each must be refused without a request while rate-limited.
async fn every_call(gh: &GitHub) -> Vec<Result<(), GitHubError>> {
    vec![
        gh.branch_head(&shop(), "main").await.map(drop),
        gh.runs_for_sha(&shop(), &sha('a'), &[]).await.map(drop),
        gh.latest_successful_deployment(&shop(), "production")
            .await
            .map(drop),
        gh.compare(&shop(), &sha('a'), &sha('b')).await.map(drop),
    ]
}

#[tokio::test]
async fn unchanged_second_poll_is_a_304_and_not_fresh() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    hub.add_run("acme/shop", sha('a').as_str(), "CI", "queued", None);
    let gh = GitHub::new(&hub.api_url(), Token::new("ghp_any")).expect("client");

    let first = gh.branch_head(&shop(), "main").await.expect("first poll");
    let remaining = gh.rate().expect("rate headers seen").remaining;
    let second = gh.branch_head(&shop(), "main").await.expect("second poll");
    assert!(first.fresh && !second.fresh);
    assert_eq!(first.value, second.value);
    let requests = hub.requests();
    assert_eq!(requests[0].if_none_match, None);
    assert!(requests[1].if_none_match.is_some(), "the ETag is sent back");
    assert_eq!((requests[0].status, requests[1].status), (200, 304));
    assert_eq!(
        gh.rate().map(|r| r.remaining),
        Some(remaining),
        "an authorised 304 costs no quota"
    );
    // Without a token the same 304 costs one request: GitHub counts it.
    let anonymous = client(&hub);
    anonymous
        .branch_head(&shop(), "main")
        .await
        .expect("anonymous poll");
    let before = anonymous.rate().expect("rate seen").remaining;
    let polled = anonymous.branch_head(&shop(), "main").await.expect("again");
    assert!(!polled.fresh);
    assert_eq!(anonymous.rate().map(|r| r.remaining), Some(before - 1));

    // A change is seen at once.
    hub.push("acme/shop", "main", sha('b').as_str(), "Bob", "Two");
    let third = gh.branch_head(&shop(), "main").await.expect("third poll");
    assert!(third.fresh);
    assert_eq!(third.value.sha, sha('b'));

    // Same for runs: unchanged → 304, a status change → fresh.
    let runs = gh
        .runs_for_sha(&shop(), &sha('a'), &[])
        .await
        .expect("runs");
    let again = gh
        .runs_for_sha(&shop(), &sha('a'), &[])
        .await
        .expect("runs again");
    assert!(runs.fresh && !again.fresh);
    assert_eq!(runs.value, again.value);
    let id = runs.value[0].id;
    hub.update_run("acme/shop", id, "completed", Some("success"));
    let done = gh
        .runs_for_sha(&shop(), &sha('a'), &[])
        .await
        .expect("runs done");
    assert!(done.fresh && done.value[0].is_success());
}

#[tokio::test]
async fn forty_polls_at_once_stop_at_the_reserve() {
    // 60 an hour without a token, 10 left: the reserve is 3, so 7 requests may go out,
    // however many polls start together (the watcher sent one past the limit).
    let hub = hub().await;
    let reset = reset_in(30);
    hub.set_rate_limit(60, 10, reset);
    for i in 0..40 {
        hub.push(
            &format!("acme/s{i}"),
            "main",
            sha('a').as_str(),
            "Alice",
            "One",
        );
    }
    let gh = client(&hub);
    let polls = (0..40).map(|i| {
        let gh = gh.clone();
        async move {
            gh.branch_head(
                &deploywatch_github::RepoRef::new("acme", format!("s{i}")),
                "main",
            )
            .await
        }
    });
    let results = futures_util::future::join_all(polls).await;
    let answered = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(GitHubError::RateLimited { reset: at }) if *at == reset))
        .count();
    assert_eq!((answered, refused), (7, 33), "{results:?}");
    assert_eq!(hub.requests().len(), 7);
    assert_eq!(gh.rate().map(|r| r.remaining), Some(3));
}

#[tokio::test]
async fn a_persisted_etag_cache_makes_the_first_poll_after_a_restart_a_304() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    let store: Arc<dyn EtagCache> = Arc::new(MemoryEtagCache::default());
    let before = client(&hub).with_etag_cache(Arc::clone(&store));
    assert!(
        before
            .branch_head(&shop(), "main")
            .await
            .expect("poll")
            .fresh
    );

    let after_restart = client(&hub).with_etag_cache(store);
    let polled = after_restart
        .branch_head(&shop(), "main")
        .await
        .expect("poll");
    assert!(!polled.fresh);
    assert_eq!(polled.value.sha, sha('a'));
    assert_eq!(hub.requests().last().map(|r| r.status), Some(304));
}

#[tokio::test]
async fn exhausted_quota_sends_nothing_until_reset() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    let reset = reset_in(10);
    hub.set_rate_limit(60, 0, reset);
    let gh = client(&hub);

    let err = gh.branch_head(&shop(), "main").await.expect_err("403");
    assert_eq!(err, GitHubError::RateLimited { reset });
    assert_eq!(
        err.to_string(),
        format!(
            "GitHub rate limit exhausted until {} UTC",
            reset.format("%H:%M:%S")
        )
    );
    assert_eq!(
        hub.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [403]
    );

    // Neither this client nor its clones send anything more before the reset.
    let clone = gh.clone();
    for _ in 0..3 {
        for result in every_call(&gh)
            .await
            .into_iter()
            .chain(every_call(&clone).await)
        {
            assert_eq!(result, Err(GitHubError::RateLimited { reset }));
        }
    }
    assert_eq!(hub.requests().len(), 1);
    assert_eq!(gh.request_count(), 1);
    let rate = gh.rate().expect("rate seen");
    assert_eq!((rate.limit, rate.remaining, rate.reset), (60, 0, reset));
}

#[tokio::test]
async fn a_reserve_is_kept_before_zero() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    let reset = reset_in(30);
    // 60/h (unauthenticated): the reserve is 3; this answer leaves exactly 3.
    hub.set_rate_limit(60, 4, reset);
    let gh = client(&hub);
    assert!(gh.branch_head(&shop(), "main").await.is_ok());
    assert_eq!(gh.rate().map(|r| r.remaining), Some(3));
    for result in every_call(&gh).await {
        assert_eq!(result, Err(GitHubError::RateLimited { reset }));
    }
    assert_eq!(hub.requests().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    hub.set_retry_after(Some(120));
    let gh = client(&hub);
    let before = Utc::now();
    let Err(GitHubError::RateLimited { reset }) = gh.branch_head(&shop(), "main").await else {
        panic!("a 429 with Retry-After is a rate limit");
    };
    let wait = reset - before;
    assert!(
        wait >= TimeDelta::seconds(119) && wait <= TimeDelta::seconds(122),
        "{wait}"
    );
    assert_eq!(
        hub.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [429]
    );

    // Even once the server would answer again, the client waits out what it was told.
    hub.set_retry_after(None);
    for result in every_call(&gh).await {
        assert_eq!(result, Err(GitHubError::RateLimited { reset }));
    }
    assert_eq!(hub.requests().len(), 1);
}

#[tokio::test]
async fn a_past_reset_lets_requests_through_again() {
    let hub: FakeHub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    // The fake starts a fresh window once the reset has passed, as GitHub does. The reset
    // header has whole-second resolution, so the window is 2 s: a 1 s window truncated to the
    // second could already be over at the second call and let it through (a flaky test).
    hub.set_rate_limit(60, 1, Utc::now() + Duration::seconds(2));
    let gh = client(&hub);
    assert!(gh.branch_head(&shop(), "main").await.is_ok());
    assert!(matches!(
        gh.branch_head(&shop(), "main").await,
        Err(GitHubError::RateLimited { .. })
    ));
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(gh.branch_head(&shop(), "main").await.is_ok());
    assert_eq!(hub.requests().len(), 2);
}

//! Conditional requests: strong ETags from the body, 304 for a matching `If-None-Match`.

use deploywatch_fakehub::FakeHub;
use serde_json::Value;

use crate::support::{client, send, sha};

#[tokio::test]
async fn matching_if_none_match_gets_304_free_only_when_authorised() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push("acme/shop", "main", &sha('a'), "Alice", "One");
    let url = format!("{}/repos/acme/shop/branches/main", hub.api_url());

    let first = send(client().get(&url)).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );
    let remaining = first
        .header("x-ratelimit-remaining")
        .expect("remaining")
        .to_owned();

    let again = send(
        client()
            .get(&url)
            .header("If-None-Match", &etag)
            .header("Authorization", "Bearer t"),
    )
    .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.body, Value::Null, "304 has an empty body");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(
        again.header("x-ratelimit-remaining"),
        Some(remaining.as_str()),
        "an authorised 304 is free"
    );
    // Without an Authorization header GitHub counts a 304 like any other answer.
    let anonymous = send(client().get(&url).header("If-None-Match", &etag)).await;
    assert_eq!(anonymous.status, 304);
    let after: u64 = anonymous
        .header("x-ratelimit-remaining")
        .and_then(|r| r.parse().ok())
        .expect("remaining");
    assert_eq!(after + 1, remaining.parse::<u64>().expect("number"));

    hub.push("acme/shop", "main", &sha('b'), "Bob", "Two");
    let changed = send(client().get(&url).header("If-None-Match", &etag)).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.body["commit"]["sha"], sha('b'));
}

#[tokio::test]
async fn if_none_match_lists_and_weak_forms_match() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push("acme/shop", "main", &sha('a'), "Alice", "One");
    let url = format!("{}/repos/acme/shop/branches/main", hub.api_url());
    let etag = send(client().get(&url))
        .await
        .header("etag")
        .expect("ETag")
        .to_owned();
    let check = async |if_none_match: String, status: u16| {
        let got = send(client().get(&url).header("If-None-Match", &if_none_match)).await;
        assert_eq!(got.status, status, "{if_none_match}");
    };
    check(etag.clone(), 304).await;
    check(format!("W/{etag}"), 304).await;
    check(format!("\"other\", {etag}"), 304).await;
    check("\"other\"".to_owned(), 200).await;
}

#[tokio::test]
async fn requests_are_recorded_with_status_and_conditional_header() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push("acme/shop", "main", &sha('a'), "Alice", "One");
    let url = format!(
        "{}/api/v3/repos/acme/shop/actions/runs?head_sha=abc",
        hub.api_url()
    );
    let first = send(client().get(&url)).await;
    let etag = first.header("etag").expect("ETag").to_owned();
    send(
        client()
            .get(&url)
            .header("If-None-Match", &etag)
            .bearer_auth("t"),
    )
    .await;

    let records = hub.requests();
    let summary: Vec<(&str, &str, u16, Option<&str>, bool)> = records
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path_and_query.as_str(),
                r.status,
                r.if_none_match.as_deref(),
                r.authorization,
            )
        })
        .collect();
    let path = "/api/v3/repos/acme/shop/actions/runs?head_sha=abc";
    assert_eq!(
        summary,
        [
            ("GET", path, 200, None, false),
            ("GET", path, 304, Some(etag.as_str()), true)
        ]
    );
    assert!(records[0].at <= records[1].at);
    hub.clear_requests();
    assert!(hub.requests().is_empty());
}

//! The OAuth device flow: code request, scripted polls, GitHub's error codes, octocrab's client.

use std::time::Duration;

use deploywatch_fakehub::{DeviceStep, FakeHub};
use serde_json::{Value, json};

use crate::support::{client, send};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn device_code(hub: &FakeHub, client_id: &str) -> Value {
    let got = send(
        client()
            .post(format!("{}/login/device/code", hub.web_url()))
            .header("Accept", "application/json")
            .form(&[("client_id", client_id), ("scope", "repo")]),
    )
    .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    got.body
}

async fn poll(hub: &FakeHub, client_id: &str, device_code: &str, grant_type: &str) -> Value {
    let got = send(
        client()
            .post(format!("{}/login/oauth/access_token", hub.web_url()))
            .header("Accept", "application/json")
            .json(&json!({"client_id": client_id, "device_code": device_code, "grant_type": grant_type})),
    )
    .await;
    assert_eq!(got.status, 200, "GitHub answers poll errors with 200");
    got.body
}

#[tokio::test]
async fn polls_follow_the_script_in_order_and_are_timed() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.set_device_interval(1);
    hub.set_device_flow(
        "cid",
        vec![
            DeviceStep::Pending,
            DeviceStep::SlowDown,
            DeviceStep::Token("gho_abc".into()),
        ],
    );
    let codes = device_code(&hub, "cid").await;
    for key in ["device_code", "user_code", "verification_uri"] {
        assert!(
            codes[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {codes}"
        );
    }
    assert_eq!(
        (codes["expires_in"].as_u64(), codes["interval"].as_u64()),
        (Some(900), Some(1))
    );
    let code = codes["device_code"].as_str().unwrap_or("").to_owned();

    let first = poll(&hub, "cid", &code, GRANT).await;
    assert_eq!(first["error"], "authorization_pending");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = poll(&hub, "cid", &code, GRANT).await;
    assert_eq!(
        (second["error"].as_str(), second["interval"].as_u64()),
        (Some("slow_down"), Some(6))
    );
    let third = poll(&hub, "cid", &code, GRANT).await;
    assert_eq!(
        third,
        json!({"access_token": "gho_abc", "token_type": "bearer", "scope": "repo"})
    );
    // The code is spent once the token is issued.
    assert_eq!(
        poll(&hub, "cid", &code, GRANT).await["error"],
        "incorrect_device_code"
    );

    let polls = hub.device_polls();
    assert_eq!(polls.len(), 4);
    assert!(
        polls[1].duration_since(polls[0]) >= Duration::from_millis(50),
        "poll times are recorded"
    );
}

#[tokio::test]
async fn terminal_errors_and_bad_requests_use_githubs_codes() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.set_device_flow("cid", vec![DeviceStep::Denied, DeviceStep::Expired]);
    let code = device_code(&hub, "cid").await["device_code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let check = async |client_id: &str, device_code: &str, grant: &str, error: &str| {
        let got = poll(&hub, client_id, device_code, grant).await;
        assert_eq!(got["error"], error, "{got}");
        assert!(got["error_description"].is_string() && got["error_uri"].is_string());
    };
    // Malformed polls do not consume the script.
    check("cid", &code, "password", "unsupported_grant_type").await;
    check("other", &code, GRANT, "incorrect_client_credentials").await;
    check("cid", "not-the-code", GRANT, "incorrect_device_code").await;
    check("cid", &code, GRANT, "access_denied").await;
    check("cid", &code, GRANT, "expired_token").await;
    // A script that has run out means the code expired.
    check("cid", &code, GRANT, "expired_token").await;

    let unknown = send(
        client()
            .post(format!("{}/login/device/code", hub.web_url()))
            .header("Accept", "application/json")
            .form(&[("client_id", "nope")]),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"], "incorrect_client_credentials");
}

#[tokio::test]
async fn without_json_accept_the_answer_is_form_encoded_like_github() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.set_device_flow("cid", vec![DeviceStep::Pending]);
    let response = client()
        .post(format!("{}/login/device/code", hub.web_url()))
        .form(&[("client_id", "cid")])
        .send()
        .await
        .expect("answer");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("body");
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "device_code",
            "expires_in",
            "interval",
            "user_code",
            "verification_uri"
        ]
    );
}

#[tokio::test]
async fn octocrabs_device_flow_client_understands_the_answers() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.set_device_flow(
        "cid",
        vec![DeviceStep::Pending, DeviceStep::Token("gho_xyz".into())],
    );
    let crab = octocrab::Octocrab::builder()
        .base_uri(hub.web_url())
        .expect("base uri")
        .add_header(http::header::ACCEPT, "application/json".to_owned())
        .build()
        .expect("octocrab");
    let client_id = octocrab::secrecy::SecretString::from("cid");
    let codes = crab
        .authenticate_as_device(&client_id, ["repo"])
        .await
        .expect("device codes");
    assert_eq!(codes.expires_in, 900);
    let first = codes
        .poll_once(&crab, &client_id)
        .await
        .expect("poll answer");
    assert!(matches!(
        first,
        octocrab::auth::TokenResponse::Continue {
            error: octocrab::auth::Continue::AuthorizationPending
        }
    ));
    let second = codes
        .poll_once(&crab, &client_id)
        .await
        .expect("poll answer");
    let octocrab::auth::TokenResponse::Ok(oauth) = second else {
        panic!("expected a token");
    };
    use octocrab::secrecy::ExposeSecret;
    assert_eq!(oauth.access_token.expose_secret(), "gho_xyz");
}

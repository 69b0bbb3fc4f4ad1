//! The device flow (RFC 8628) against the fake's `/login/device/code` and
//! `/login/oauth/access_token`, with protocol seconds scaled down to milliseconds.

use std::time::Duration;

use deploywatch_fakehub::DeviceStep;
use deploywatch_github::{
    DeviceCodes, DeviceFlowError, GitHubError, device_poll_scaled, device_start, web_url_for,
};

use crate::hub;

/// One protocol second in these tests.
const UNIT: Duration = Duration::from_millis(40);

#[tokio::test]
async fn pending_slow_down_pending_then_token() {
    let hub = hub().await;
    let web = web_url_for(&hub.api_url());
    assert_eq!(web, hub.web_url());
    hub.set_device_interval(1);
    hub.set_device_flow(
        "Iv1.deploywatch",
        vec![
            DeviceStep::Pending,
            DeviceStep::SlowDown,
            DeviceStep::Pending,
            DeviceStep::Token("gho_new".into()),
        ],
    );

    let codes = device_start(&web, "Iv1.deploywatch", "repo")
        .await
        .expect("codes");
    assert_eq!(codes.interval, 1);
    assert!(codes.user_code.starts_with("WDJB-"), "{codes:?}");
    assert!(
        codes.verification_uri.ends_with("/login/device"),
        "{codes:?}"
    );

    let token = device_poll_scaled(&web, "Iv1.deploywatch", &codes, UNIT)
        .await
        .expect("token");
    assert_eq!(token.expose(), "gho_new");

    let polls = hub.device_polls();
    assert_eq!(polls.len(), 4);
    let gaps: Vec<Duration> = polls.windows(2).map(|w| w[1] - w[0]).collect();
    // Before slow_down: the announced interval (1). After: 1 + 5 = 6, for every later poll.
    assert!(gaps[0] >= UNIT && gaps[0] < UNIT * 6, "{gaps:?}");
    assert!(gaps[1] >= UNIT * 6 && gaps[2] >= UNIT * 6, "{gaps:?}");
}

#[tokio::test]
async fn expired_and_denied_end_the_flow() {
    let hub = hub().await;
    let web = hub.web_url();
    hub.set_device_interval(1);
    let cases: &[(&[DeviceStep], DeviceFlowError)] = &[
        (
            &[DeviceStep::Pending, DeviceStep::Expired],
            DeviceFlowError::Expired,
        ),
        (&[DeviceStep::Denied], DeviceFlowError::AccessDenied),
        (
            &[DeviceStep::Pending, DeviceStep::Denied],
            DeviceFlowError::AccessDenied,
        ),
    ];
    for (script, want) in cases {
        hub.set_device_flow("cid", script.to_vec());
        let codes = device_start(&web, "cid", "repo").await.expect("codes");
        let got = device_poll_scaled(&web, "cid", &codes, Duration::from_millis(5)).await;
        assert_eq!(got.as_ref().map(|_| ()), Err(want), "{script:?}");
        assert_eq!(
            hub.device_polls().len(),
            script.len(),
            "{script:?}: stops at once"
        );
    }
    assert!(
        DeviceFlowError::Expired
            .to_string()
            .contains("deploywatch auth login")
    );
}

#[tokio::test]
async fn codes_expire_when_nobody_approves() {
    let hub = hub().await;
    let web = hub.web_url();
    hub.set_device_flow("cid", vec![DeviceStep::Pending; 50]);
    let issued = device_start(&web, "cid", "repo").await.expect("codes");
    // The same codes, but valid for 3 protocol seconds at an interval of 1.
    let codes = DeviceCodes {
        expires_in: 3,
        interval: 1,
        ..issued
    };
    let got = device_poll_scaled(&web, "cid", &codes, Duration::from_millis(20)).await;
    assert_eq!(got.map(|_| ()), Err(DeviceFlowError::Expired));
    let polls = hub.device_polls().len();
    assert!((1..=3).contains(&polls), "{polls} polls in 3 s at 1 s");
}

#[tokio::test]
async fn an_unknown_client_is_refused_with_githubs_reason() {
    let hub = hub().await;
    hub.set_device_flow("cid", vec![]);
    let err = device_start(&hub.web_url(), "wrong", "repo")
        .await
        .expect_err("refused");
    let GitHubError::Unexpected {
        status: 400,
        detail,
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert!(
        detail.starts_with("incorrect_client_credentials"),
        "{detail}"
    );
}

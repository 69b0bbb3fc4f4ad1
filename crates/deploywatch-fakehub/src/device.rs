//! The OAuth device flow (`POST /login/device/code`, `POST /login/oauth/access_token`).
//!
//! These endpoints live on github.com, not on the REST API, so GitHub's OpenAPI description
//! does not contain them and there is no official example to start from. They follow GitHub's
//! documentation ("Authorizing OAuth apps", device flow) and RFC 8628's field names:
//! `device_code`, `user_code`, `verification_uri`, `expires_in`, `interval`; poll errors
//! `authorization_pending`, `slow_down` (with the new `interval`), `expired_token`,
//! `access_denied`, plus GitHub's `unsupported_grant_type`, `incorrect_client_credentials` and
//! `incorrect_device_code`. As GitHub does (and unlike RFC 8628 §3.5, which uses 400), poll
//! errors come back with HTTP 200 and an `error` field. Answers are JSON when the request's
//! `Accept` names JSON and `application/x-www-form-urlencoded` otherwise, GitHub's default.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{Value, json};

/// One scripted answer to a poll of `POST /login/oauth/access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStep {
    /// `authorization_pending`: the user has not entered the code yet.
    Pending,
    /// `slow_down`: the client polled too fast; the interval grows by 5 seconds.
    SlowDown,
    /// `expired_token`: the device code expired.
    Expired,
    /// `access_denied`: the user cancelled.
    Denied,
    /// Success: this access token is issued.
    Token(String),
}

/// The grant type RFC 8628 §3.4 requires on a poll.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Where GitHub documents the device-flow error codes.
const ERROR_URI: &str = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";

/// The configured flow of one OAuth app.
#[derive(Debug, Clone)]
pub(crate) struct DeviceFlow {
    pub client_id: String,
    pub script: VecDeque<DeviceStep>,
    /// The `interval` the next answer announces; `slow_down` adds 5 seconds.
    pub interval: u64,
    /// The device code handed out by the last `/login/device/code`, if any.
    pub device_code: Option<String>,
    pub scope: String,
    /// When each poll of `/login/oauth/access_token` arrived, for tests of the client's pacing.
    pub polls: Vec<Instant>,
    issued: u64,
}

impl DeviceFlow {
    pub fn new(client_id: &str, script: Vec<DeviceStep>, interval: u64) -> DeviceFlow {
        DeviceFlow {
            client_id: client_id.to_owned(),
            script: script.into(),
            interval,
            device_code: None,
            scope: String::new(),
            polls: Vec::new(),
            issued: 0,
        }
    }
}

/// An answer: HTTP status and the fields to send (as JSON or as a form).
pub(crate) struct DeviceAnswer {
    pub status: u16,
    pub fields: Value,
}

fn error(code: &str, description: &str) -> DeviceAnswer {
    DeviceAnswer {
        status: 200,
        fields: json!({ "error": code, "error_description": description, "error_uri": ERROR_URI }),
    }
}

/// `POST /login/device/code` with the request's `client_id` and `scope`.
///
/// `verification_uri` is `web_url/login/device`, the fake's own page, so a demo never sends a
/// user to the real github.com.
pub(crate) fn device_code(
    flow: Option<&mut DeviceFlow>,
    client_id: &str,
    scope: &str,
    web_url: &str,
) -> DeviceAnswer {
    let Some(flow) = flow.filter(|f| f.client_id == client_id) else {
        // RFC 6749 §5.2 style: the code request itself fails with 400 for an unknown client.
        let mut answer = error(
            "incorrect_client_credentials",
            "The client_id is not valid.",
        );
        answer.status = 400;
        return answer;
    };
    flow.issued += 1;
    // 40 hex characters, like GitHub's device codes; unique per request.
    let device_code = format!(
        "{:040x}",
        0xdeadbeef_u64
            .wrapping_mul(flow.issued)
            .wrapping_add(flow.issued)
    );
    let user_code = format!("WDJB-{:04}", flow.issued % 10_000);
    flow.device_code = Some(device_code.clone());
    flow.scope = scope.to_owned();
    DeviceAnswer {
        status: 200,
        fields: json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": format!("{web_url}/login/device"),
            "expires_in": 900,
            "interval": flow.interval,
        }),
    }
}

/// `POST /login/oauth/access_token`: one poll. Consumes one scripted step when the poll is
/// well-formed; a script that has run out answers `expired_token`.
pub(crate) fn poll(
    flow: Option<&mut DeviceFlow>,
    client_id: &str,
    device_code: &str,
    grant_type: &str,
) -> DeviceAnswer {
    let Some(flow) = flow else {
        return error(
            "incorrect_client_credentials",
            "The client_id is not valid.",
        );
    };
    flow.polls.push(Instant::now());
    if grant_type != GRANT_TYPE {
        return error(
            "unsupported_grant_type",
            "The grant type must be urn:ietf:params:oauth:grant-type:device_code.",
        );
    }
    if flow.client_id != client_id {
        return error(
            "incorrect_client_credentials",
            "The client_id is not valid.",
        );
    }
    if flow.device_code.as_deref() != Some(device_code) {
        return error(
            "incorrect_device_code",
            "The device_code provided is not valid.",
        );
    }
    match flow.script.pop_front() {
        Some(DeviceStep::Pending) => error(
            "authorization_pending",
            "The authorization request is still pending.",
        ),
        Some(DeviceStep::SlowDown) => {
            flow.interval += 5;
            let mut answer = error(
                "slow_down",
                "Too many requests have been made in the same timeframe.",
            );
            if let Value::Object(map) = &mut answer.fields {
                map.insert("interval".into(), json!(flow.interval));
            }
            answer
        }
        Some(DeviceStep::Denied) => error("access_denied", "The authorization request was denied."),
        Some(DeviceStep::Token(token)) => {
            // The code is spent once a token is issued.
            flow.device_code = None;
            DeviceAnswer {
                status: 200,
                fields: json!({ "access_token": token, "token_type": "bearer", "scope": flow.scope }),
            }
        }
        Some(DeviceStep::Expired) | None => error("expired_token", "The device code has expired."),
    }
}

//! GitHub's OAuth device flow (RFC 8628) for `deploywatch auth login` and the app's sign-in:
//! get a user code, show it, poll the token endpoint at the interval GitHub asks for.

use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};
use octocrab::{OctoBody, Octocrab};
use serde::Deserialize;

use crate::client::{build_octocrab, error_chain, read_capped, status_error};
use crate::repo::ApiBase;
use crate::{DeviceFlowError, GitHubError, Token};

/// How long one device-flow request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// RFC 8628 §3.2: the polling interval when the server gives none.
const DEFAULT_INTERVAL: u64 = 5;

/// RFC 8628 §3.5: the seconds added to the interval on each `slow_down`.
const SLOW_DOWN_STEP: u64 = 5;

/// The cap on the interval while backing off from network errors.
const MAX_BACKOFF_INTERVAL: u64 = 60;

/// The codes of a started device flow. Show `user_code` and `verification_uri` to the person;
/// `device_code` is what the poll sends, and is not printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceCodes {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// The minimum seconds between polls.
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    DEFAULT_INTERVAL
}

impl std::fmt::Debug for DeviceCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodes")
            .field("device_code", &"***")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// An answer of the token endpoint: a token, or an RFC 8628 §3.5 error code.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    /// GitHub sends the new minimum interval with `slow_down`.
    #[serde(default)]
    interval: Option<u64>,
}

/// Starts a device flow on the GitHub at `web_url` (`https://github.com`, or an Enterprise
/// server's web URL; see [`crate::web_url_for`]): `POST /login/device/code`.
///
/// # Errors
/// [`GitHubError::Unexpected`] carrying GitHub's error code when it refuses the flow (an
/// unknown `client_id`, `device_flow_disabled`), or a transport error.
pub async fn device_start(
    web_url: &str,
    client_id: &str,
    scope: &str,
) -> Result<DeviceCodes, GitHubError> {
    let web = ApiBase::parse(web_url)?;
    let crab = build_octocrab(&web, None)?;
    let form = [("client_id", client_id), ("scope", scope)];
    let (status, body) = post_form(&crab, &web, &["login", "device", "code"], &form).await?;
    let refusal = serde_json::from_slice::<TokenAnswer>(&body).ok();
    if let Some(TokenAnswer {
        error: Some(error),
        error_description,
        ..
    }) = refusal
    {
        let detail = match error_description {
            Some(description) => format!("{error} ({description})"),
            None => error,
        };
        return Err(GitHubError::Unexpected {
            status: status.as_u16(),
            detail,
        });
    }
    if !status.is_success() {
        return Err(status_error(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| GitHubError::Decode(format!("device codes: {e}")))
}

/// Polls `POST /login/oauth/access_token` until the person approves the code, at the
/// interval GitHub gave, 5 s more after each `slow_down` (RFC 8628 §3.5), and keeps polling on
/// `authorization_pending`. Network failures slow the polling down (doubling the interval up
/// to 60 s) instead of ending it.
///
/// # Errors
/// [`DeviceFlowError::Expired`] on `expired_token` or when `expires_in` runs out,
/// [`DeviceFlowError::AccessDenied`] on `access_denied`, [`DeviceFlowError::Rejected`] on any
/// other error code, [`DeviceFlowError::GitHub`] on an answer that is not the protocol's.
pub async fn device_poll(
    web_url: &str,
    client_id: &str,
    codes: &DeviceCodes,
) -> Result<Token, DeviceFlowError> {
    device_poll_scaled(web_url, client_id, codes, Duration::from_secs(1)).await
}

/// [`device_poll`] with every protocol second (the interval, the slow-down step, the expiry)
/// lasting `second` instead, so tests can run a flow in milliseconds.
pub async fn device_poll_scaled(
    web_url: &str,
    client_id: &str,
    codes: &DeviceCodes,
    second: Duration,
) -> Result<Token, DeviceFlowError> {
    let web = ApiBase::parse(web_url)?;
    let crab = build_octocrab(&web, None)?;
    let scaled = |secs: u64| second.saturating_mul(u32::try_from(secs).unwrap_or(u32::MAX));
    let deadline = tokio::time::Instant::now() + scaled(codes.expires_in);
    // An interval of 0 would poll as fast as the network allows; RFC 8628 gives 5 s as default.
    let mut interval = if codes.interval == 0 {
        DEFAULT_INTERVAL
    } else {
        codes.interval
    };
    let form = [
        ("client_id", client_id),
        ("device_code", codes.device_code.as_str()),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
    ];
    loop {
        let wait = scaled(interval);
        if tokio::time::Instant::now() + wait >= deadline {
            return Err(DeviceFlowError::Expired);
        }
        tokio::time::sleep(wait).await;
        let path = ["login", "oauth", "access_token"];
        let (status, body) = match post_form(&crab, &web, &path, &form).await {
            Ok(answer) => answer,
            Err(GitHubError::Unreachable(_)) => {
                // RFC 8628 §3.5: on connection problems, poll less often rather than give up.
                interval = (interval * 2).min(MAX_BACKOFF_INTERVAL).max(interval);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let answer = serde_json::from_slice::<TokenAnswer>(&body);
        let Ok(answer) = answer else {
            if !status.is_success() {
                return Err(status_error(status, &body).into());
            }
            let reason = answer.err().map(|e| e.to_string()).unwrap_or_default();
            return Err(GitHubError::Decode(format!("token answer: {reason}")).into());
        };
        if let Some(token) = answer.access_token.and_then(Token::new) {
            return Ok(token);
        }
        match answer.error.as_deref() {
            Some("authorization_pending") => {}
            Some("slow_down") => {
                interval = (interval + SLOW_DOWN_STEP).max(answer.interval.unwrap_or(0));
            }
            Some("expired_token") => return Err(DeviceFlowError::Expired),
            Some("access_denied") => return Err(DeviceFlowError::AccessDenied),
            Some(other) => {
                return Err(DeviceFlowError::Rejected {
                    error: other.to_owned(),
                    description: answer.error_description,
                });
            }
            None if !status.is_success() => return Err(status_error(status, &body).into()),
            None => {
                return Err(GitHubError::Decode(
                    "token answer has neither access_token nor error".into(),
                )
                .into());
            }
        }
    }
}

/// `POST`s a form (RFC 8628 uses `application/x-www-form-urlencoded`) asking for JSON back,
/// which GitHub's login endpoints only give when asked.
async fn post_form(
    crab: &Octocrab,
    web: &ApiBase,
    path: &[&str],
    form: &[(&str, &str)],
) -> Result<(StatusCode, Vec<u8>), GitHubError> {
    let url = web.url(path, &[]);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = http::Request::builder()
        .method(Method::POST)
        .uri(url.as_str())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(OctoBody::from(body))
        .map_err(|e| GitHubError::Setup(format!("device-flow request: {e}")))?;
    let exchange = async {
        let response = crab
            .execute(request)
            .await
            .map_err(|e| GitHubError::Unreachable(error_chain(&e)))?;
        let (parts, body) = response.into_parts();
        let bytes = read_capped(body, parts.status).await?;
        Ok((parts.status, bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            GitHubError::Unreachable(format!(
                "no answer from {} within {} s",
                web.as_str(),
                REQUEST_TIMEOUT.as_secs()
            ))
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_device_code() {
        let codes = DeviceCodes {
            device_code: "3584d83530557fdd1f46af8289938c8ef79f9dc5".into(),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://github.com/login/device".into(),
            expires_in: 900,
            interval: 5,
        };
        let text = format!("{codes:?}");
        assert!(!text.contains("3584d835"), "{text}");
        assert!(text.contains("WDJB-MJHT"), "{text}");
    }

    #[test]
    fn missing_interval_defaults_to_five_seconds() {
        let codes: DeviceCodes = serde_json::from_str(
            r#"{"device_code":"d","user_code":"u","verification_uri":"v","expires_in":900}"#,
        )
        .expect("decodes");
        assert_eq!(codes.interval, 5);
    }
}

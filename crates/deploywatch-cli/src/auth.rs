//! `deploywatch auth`: GitHub sign-in by device flow (RFC 8628), the token kept in the OS
//! keyring — never in the config file, the database or the logs.

use deploywatch_github::{DeviceFlowError, TokenSource};

use crate::Failure;
use crate::setup::Paths;

/// The OAuth app's client id: `[github] client_id` in the config, or
/// `DEPLOYWATCH_GITHUB_CLIENT_ID`.
fn client_id(config: &deploywatch_config::Config) -> Result<String, Failure> {
    std::env::var("DEPLOYWATCH_GITHUB_CLIENT_ID")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| config.github.client_id.clone())
        .ok_or_else(|| {
            Failure::usage(
                "device-flow sign-in needs the client id of a GitHub OAuth app with device flow enabled: \
                 set `client_id` under [github] in the config (or DEPLOYWATCH_GITHUB_CLIENT_ID); \
                 alternatively set GITHUB_TOKEN",
            )
        })
}

pub async fn login(paths: &Paths) -> Result<u8, Failure> {
    let config = paths.load_config()?;
    let client_id = client_id(&config)?;
    let web = deploywatch_github::web_url_for(&config.github.api_url);
    let codes = deploywatch_github::device_start(&web, &client_id, "repo")
        .await
        .map_err(|e| Failure {
            code: 1,
            message: format!("cannot start the sign-in: {e}"),
        })?;
    println!(
        "Open {} and enter the code {}",
        codes.verification_uri, codes.user_code
    );
    println!(
        "Waiting for you to approve (the code expires in {} min)…",
        codes.expires_in / 60
    );
    match deploywatch_github::device_poll(&web, &client_id, &codes).await {
        Ok(token) => {
            deploywatch_github::store_token(&config.github.api_url, &token).map_err(|e| {
                Failure {
                    code: 1,
                    message: format!(
                        "signed in, but the token could not be stored in the OS keyring: {e}"
                    ),
                }
            })?;
            println!("Signed in; the token is in the OS keyring.");
            Ok(0)
        }
        Err(e @ (DeviceFlowError::Expired | DeviceFlowError::AccessDenied)) => Err(Failure {
            code: 1,
            message: e.to_string(),
        }),
        Err(e) => Err(Failure {
            code: 1,
            message: format!("sign-in failed: {e}"),
        }),
    }
}

pub fn logout(paths: &Paths) -> Result<u8, Failure> {
    let config = paths.load_config()?;
    match deploywatch_github::delete_token(&config.github.api_url) {
        Ok(true) => {
            println!("Signed out: the token was removed from the OS keyring.");
            Ok(0)
        }
        Ok(false) => {
            println!("No token was stored in the OS keyring.");
            Ok(0)
        }
        Err(e) => Err(Failure {
            code: 1,
            message: format!("cannot remove the token: {e}"),
        }),
    }
}

pub async fn status(paths: &Paths) -> Result<u8, Failure> {
    let config = paths.load_config()?;
    let api = &config.github.api_url;
    match deploywatch_github::token_from_env_or_keyring(api) {
        None => {
            println!(
                "Not signed in to {api}: GitHub is read without a token (60 requests per hour, public repositories only)."
            );
            println!("Run `deploywatch auth login` or set GITHUB_TOKEN.");
            Ok(1)
        }
        Some((token, source)) => {
            let from = match source {
                TokenSource::Env => "GITHUB_TOKEN",
                TokenSource::Keyring => "the OS keyring",
            };
            let github = deploywatch_github::GitHub::new(api, Some(token))
                .map_err(|e| Failure::usage(format!("GitHub API URL {api}: {e}")))?;
            match github.check_token().await {
                Ok(rate) => {
                    println!(
                        "Signed in to {api} with a token from {from}; {} of {} requests left this hour.",
                        rate.remaining, rate.limit
                    );
                    Ok(0)
                }
                Err(e) => {
                    println!("A token from {from} is set, but {api} refuses it: {e}");
                    Ok(1)
                }
            }
        }
    }
}

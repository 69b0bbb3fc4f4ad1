//! The GitHub token: a wrapper that never prints the secret, and where it comes from
//! (`GITHUB_TOKEN`, then the OS keyring, SPEC §4).

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use crate::GitHubError;
use crate::repo::ApiBase;

/// The keyring service name every Deploywatch token is stored under.
pub const KEYRING_SERVICE: &str = "deploywatch";

/// How long a keyring call may take before we give up on it. A missing or locked secret
/// service must not stall the watcher or the CLI.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// A GitHub token. `Debug` prints `Token(***)`; there is no `Display`, so the secret cannot end
/// up in a log line or a formatted message by accident. Read it with [`Token::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token, ignoring surrounding whitespace (a pasted token often ends in a newline).
    /// Returns `None` for an empty string.
    pub fn new(secret: impl Into<String>) -> Option<Token> {
        let secret = secret.into();
        let trimmed = secret.trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_owned()))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Where a token was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The `GITHUB_TOKEN` environment variable.
    Env,
    /// The OS keyring (service `deploywatch`, user = API host).
    Keyring,
}

/// The token to use for `api_url`: `GITHUB_TOKEN` when set and non-empty, otherwise the
/// keyring entry for the API host. Never fails: an unavailable keyring (no secret service, a
/// locked one that does not answer within a few seconds) counts as "no token", and Deploywatch
/// then works unauthenticated.
pub fn token_from_env_or_keyring(api_url: &str) -> Option<(Token, TokenSource)> {
    pick_token(std::env::var("GITHUB_TOKEN").ok(), || {
        keyring_read(api_url).ok().flatten()
    })
}

/// The precedence rule of [`token_from_env_or_keyring`], pure: the environment value wins when
/// it holds a token; the keyring is consulted only otherwise.
pub fn pick_token(
    env_value: Option<String>,
    keyring: impl FnOnce() -> Option<Token>,
) -> Option<(Token, TokenSource)> {
    if let Some(token) = env_value.and_then(Token::new) {
        return Some((token, TokenSource::Env));
    }
    keyring().map(|token| (token, TokenSource::Keyring))
}

/// Reads the keyring entry for `api_url`: `Ok(None)` when there is none.
///
/// # Errors
/// [`GitHubError::Keyring`] when the keyring cannot be used or does not answer in time;
/// [`GitHubError::Setup`] for an API URL that is not a URL.
pub fn keyring_read(api_url: &str) -> Result<Option<Token>, GitHubError> {
    let user = ApiBase::parse(api_url)?.keyring_user();
    with_keyring(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, &user)?;
        match entry.get_password() {
            Ok(secret) => Ok(Token::new(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        }
    })
}

/// Stores `token` in the OS keyring for `api_url`'s host, replacing any earlier one.
///
/// # Errors
/// [`GitHubError::Keyring`] when there is no usable keyring (then `GITHUB_TOKEN` is the way).
pub fn store_token(api_url: &str, token: &Token) -> Result<(), GitHubError> {
    let user = ApiBase::parse(api_url)?.keyring_user();
    let secret = token.expose().to_owned();
    with_keyring(move || keyring::Entry::new(KEYRING_SERVICE, &user)?.set_password(&secret))
}

/// Removes the keyring entry for `api_url`'s host. Returns whether there was one.
///
/// # Errors
/// [`GitHubError::Keyring`] when there is no usable keyring.
pub fn delete_token(api_url: &str) -> Result<bool, GitHubError> {
    let user = ApiBase::parse(api_url)?.keyring_user();
    with_keyring(
        move || match keyring::Entry::new(KEYRING_SERVICE, &user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        },
    )
}

/// Runs a keyring call on its own thread with a deadline.
///
/// Why a thread: the secret-service backend drives zbus on Tokio and deadlocks when called from
/// a Tokio worker (keyring docs, "Tokio runtime caution"); and a secret service that never
/// answers must not hang the caller. A call that overruns is abandoned; its thread ends when the
/// D-Bus call finally gives up.
fn with_keyring<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, GitHubError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("deploywatch-keyring".into())
        .spawn(move || {
            // The receiver may have timed out and gone; nothing is left to tell then.
            let _ = tx.send(call());
        })
        .map_err(|e| GitHubError::Keyring(format!("cannot start keyring thread: {e}")))?;
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(result) => result.map_err(|e| GitHubError::Keyring(e.to_string())),
        Err(_) => Err(GitHubError::Keyring(format!(
            "no answer within {} s",
            KEYRING_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let token = Token::new("ghp_secret123").expect("non-empty");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(format!("{:?}", Some(&token)), "Some(Token(***))");
        assert_eq!(token.expose(), "ghp_secret123");
    }

    #[test]
    fn tokens_are_trimmed_and_never_empty() {
        assert_eq!(
            Token::new(" ghp_x\n").map(|t| t.0),
            Some("ghp_x".to_owned())
        );
        assert_eq!(Token::new(""), None);
        assert_eq!(Token::new("  \n"), None);
    }

    #[test]
    fn env_wins_over_keyring() {
        let keyring = || Token::new("from-keyring");
        let check = |env: Option<&str>, want: Option<(&str, TokenSource)>| {
            let got = pick_token(env.map(str::to_owned), keyring);
            let got = got.as_ref().map(|(t, s)| (t.expose(), *s));
            assert_eq!(got, want, "env {env:?}");
        };
        check(Some("from-env"), Some(("from-env", TokenSource::Env)));
        check(None, Some(("from-keyring", TokenSource::Keyring)));
        // An empty GITHUB_TOKEN (as CI systems set for absent secrets) is no token.
        check(Some(""), Some(("from-keyring", TokenSource::Keyring)));
        check(Some("  "), Some(("from-keyring", TokenSource::Keyring)));
    }

    #[test]
    fn keyring_is_not_consulted_when_env_has_a_token() {
        let got = pick_token(Some("env".into()), || panic!("keyring must not be read"));
        assert_eq!(got.map(|(_, s)| s), Some(TokenSource::Env));
        assert_eq!(pick_token(None, || None), None);
    }

    #[test]
    fn unavailable_keyring_is_quick_and_not_fatal() {
        // This machine has no secret service during tests: reading must neither hang nor fail.
        let started = std::time::Instant::now();
        let _ = keyring_read("https://ghe.invalid/api/v3");
        let found = pick_token(None, || {
            keyring_read("https://ghe.invalid/api/v3").ok().flatten()
        });
        assert!(found.is_none());
        assert!(started.elapsed() < KEYRING_TIMEOUT * 2 + Duration::from_secs(1));
    }
}

//! The errors of reading and writing GitHub, worded so a person can act on them.

use chrono::{DateTime, Utc};

use crate::write::WriteKind;

/// Why a GitHub read or write failed. Callers branch on the kind: the engine turns every one
/// of them into an `unverifiable` verdict whose reason is this error's `Display` (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// The rate limit is used up (or only the reserve is left), or GitHub asked us to wait
    /// (`Retry-After`). No request is sent before `reset`.
    #[error("GitHub rate limit exhausted until {} UTC", reset.format("%H:%M:%S"))]
    RateLimited { reset: DateTime<Utc> },
    /// 401: the token is invalid, expired or revoked.
    #[error(
        "GitHub rejected the token (401 Bad credentials): sign in again with \
         `deploywatch auth login` or set a valid GITHUB_TOKEN"
    )]
    Unauthorized,
    /// 403 that is not a rate limit: the token lacks a scope, SSO is not authorised, or the
    /// resource is not accessible. Carries GitHub's message.
    #[error("GitHub refused access (403): {0}")]
    Forbidden(String),
    /// 404. `what` names the missing thing: `repository acme/shop`, `branch main of acme/shop`.
    #[error("{what} not found on GitHub")]
    NotFound { what: String },
    /// The API could not be reached: DNS, connection refused, TLS, timeout.
    #[error("GitHub is unreachable: {0}")]
    Unreachable(String),
    /// Any other status (5xx, an unexpected 3xx, 422 …) with GitHub's message or the first bytes.
    #[error("GitHub answered {status}: {detail}")]
    Unexpected { status: u16, detail: String },
    /// The body was not the JSON GitHub documents for this endpoint.
    #[error("GitHub's answer could not be read: {0}")]
    Decode(String),
    /// The client could not be set up: an API URL that is not an http(s) URL, no TLS roots, no
    /// Tokio runtime.
    #[error("GitHub client cannot be set up: {0}")]
    Setup(String),
    /// A write was answered 403 (not a rate limit) or 404: the token may not write this kind
    /// of status to the repository. A classic token lacks the scope, a fine-grained token or
    /// an app the permission, or the organisation's SSO has not authorised the token; GitHub
    /// answers 404 instead of 403 where it hides the repository from the token. `detail` is
    /// GitHub's message.
    #[error(
        "the GitHub token cannot write {} to {repo}: it needs {} ({})",
        kind.plural(),
        kind.needs(),
        refusal(*kind, *status, detail)
    )]
    WriteRefused {
        kind: WriteKind,
        repo: String,
        status: u16,
        detail: String,
    },
    /// A write was answered 422: GitHub validated it and said no (an unknown commit, the 1000
    /// statuses GitHub allows per commit and context reached, an invalid field). `target`
    /// names what was written to (`commit abc1234 in acme/shop`); `detail` is GitHub's
    /// message with the reasons it gave.
    #[error("GitHub rejected the {} for {target}: {detail}", kind.singular())]
    WriteRejected {
        kind: WriteKind,
        target: String,
        detail: String,
    },
    /// A write was asked of a client without a token; nothing was sent (GitHub accepts no
    /// anonymous writes).
    #[error(
        "writing {} to {repo} needs a GitHub token: sign in with `deploywatch auth login` or \
         set GITHUB_TOKEN to a token with {}",
        kind.plural(),
        kind.needs()
    )]
    TokenRequired { kind: WriteKind, repo: String },
    /// The OS keyring could not store, read or delete the token.
    #[error(
        "the OS keyring is unavailable ({0}); set GITHUB_TOKEN instead or start a secret service"
    )]
    Keyring(String),
}

impl GitHubError {
    /// GitHub cannot answer *now* (unreachable, rate-limited, a 5xx, a proxy's error page), as
    /// opposed to an answer that will stay the same until someone acts (a bad token, a missing
    /// branch, a refused scope). A watcher keeps comparing with the last head it read through
    /// a transient failure instead of declaring every environment unverifiable.
    pub fn is_transient(&self) -> bool {
        match self {
            GitHubError::RateLimited { .. }
            | GitHubError::Unreachable(_)
            | GitHubError::Decode(_) => true,
            GitHubError::Unexpected { status, .. } => *status >= 500 || *status == 429,
            GitHubError::Unauthorized
            | GitHubError::Forbidden(_)
            | GitHubError::NotFound { .. }
            | GitHubError::Setup(_)
            | GitHubError::Keyring(_)
            | GitHubError::WriteRefused { .. }
            | GitHubError::WriteRejected { .. }
            | GitHubError::TokenRequired { .. } => false,
        }
    }
}

/// What GitHub said when it refused a write, and for a 404 what else it may mean.
fn refusal(kind: WriteKind, status: u16, detail: &str) -> String {
    if status == 404 {
        format!(
            "GitHub answered 404 {detail}, as it does when the token may not write there; \
             check too that {}",
            kind.targets_exist()
        )
    } else {
        format!("GitHub answered {status}: {detail}")
    }
}

/// Why a device-flow sign-in (RFC 8628) ended without a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceFlowError {
    /// The code expired before the user approved it (`expired_token`, or `expires_in` ran out).
    #[error("the sign-in code expired before it was approved; run `deploywatch auth login` again")]
    Expired,
    /// The user clicked "Cancel" on the GitHub page (`access_denied`).
    #[error("the sign-in was denied on GitHub")]
    AccessDenied,
    /// GitHub refused the flow itself, e.g. `device_flow_disabled` or
    /// `incorrect_client_credentials`.
    #[error("GitHub refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        error: String,
        description: Option<String>,
    },
    /// The token endpoint could not be used at all.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
}

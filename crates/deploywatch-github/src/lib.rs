//! Reading GitHub for Deploywatch (SPEC §4): branch heads, workflow runs, deployments and
//! compare through `octocrab`, against a configurable API base URL (api.github.com, GitHub
//! Enterprise Server's `https://HOST/api/v3`, or a test server). For adding a repository by
//! name: the repository ([`GitHub::repository`]), its environments, recent deployments,
//! workflows and files ([`GitHub::file`]). And the two writes that let
//! GitHub show what Deploywatch sees: commit statuses ([`GitHub::create_commit_status`]) and
//! deployment statuses ([`GitHub::create_deployment_status`]), which need a token.
//!
//! Every read is a conditional request (ETag cache, [`EtagCache`]); a rate-limit gate reads
//! `X-RateLimit-*` and `Retry-After` from every answer and refuses to send anything while the
//! quota is down to its reserve. The token ([`Token`]) comes from `GITHUB_TOKEN` or the OS
//! keyring and is never printed; the device flow ([`device_start`], [`device_poll`]) obtains
//! one.

mod client;
mod device;
mod error;
mod etag;
mod rate;
mod repo;
mod token;
mod wire;
mod write;

pub use client::{
    BranchHead, CommitSummary, DeploymentHead, DeploymentInfo, DeploymentStatusInfo,
    EnvironmentInfo, GitHub, Polled, RepoFile, RepoInfo, WorkflowInfo,
};
pub use device::{DeviceCodes, device_poll, device_poll_scaled, device_start};
pub use error::{DeviceFlowError, GitHubError};
pub use etag::{EtagCache, MemoryEtagCache};
pub use rate::RateState;
pub use repo::{RepoRef, web_url_for};
pub use token::{
    KEYRING_SERVICE, Token, TokenSource, delete_token, keyring_read, pick_token, store_token,
    token_from_env_or_keyring,
};
pub use write::{
    CreatedStatus, DeploymentState, DeploymentStatusWrite, MAX_DESCRIPTION_CHARS, StatusState,
    StatusWrite, WriteKind, truncate_description,
};

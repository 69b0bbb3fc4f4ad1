//! Observations: what one check of one environment saw, gathered by the I/O crates
//! (probe, GitHub, registry) and handed to [`crate::decide`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sha;

/// Everything [`crate::decide`] needs to reach a verdict for one environment.
#[derive(Clone, Debug)]
pub struct Observations {
    pub project: String,
    pub environment: String,
    /// The moment the check ran; every age (grace, CI timeout) is measured from it.
    pub now: DateTime<Utc>,
    pub policy: Policy,
    /// The SHA the environment should run, or why it cannot be known.
    pub expected: Expected,
    /// One probe of the build-info URL per replica, each on a fresh connection. Never empty.
    pub build_info: Vec<BuildInfoProbe>,
    pub health: Option<HttpEvidence>,
    pub frontend: Option<FrontendProbe>,
    /// A second build-info probe with a cache-busting query and `Cache-Control: no-cache`,
    /// made only when the live SHA was not the expected one.
    pub cache_bust: Option<BuildInfoProbe>,
    /// CI runs for the expected SHA (already filtered by the project's `workflows`).
    pub ci_runs: Vec<CiRun>,
    /// CI runs for the live SHA when it differs from what was fetched for the expected one;
    /// used only to warn about a live SHA whose CI failed (deployed by hand).
    pub ci_runs_live: Vec<CiRun>,
    /// Registry lookup of the expected SHA's image, when `image` is configured.
    pub image: Option<ImageCheck>,
    /// Findings from gathering that do not change the verdict (e.g. unauthenticated GitHub).
    pub notes: Vec<String>,
}

/// The per-environment settings that shape the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub grace: Duration,
    pub ci_timeout: Duration,
    pub expect_environment: Option<String>,
    pub replicas: u32,
    /// The branch name used in hints ("the head of main").
    pub branch: String,
}

/// What the environment is expected to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    Known {
        sha: Sha,
        basis: ExpectedBasis,
    },
    /// The expected SHA cannot be known; `reason` says why in words a person can act on
    /// ("GitHub rate limit exhausted until 10:42:00 UTC", "branch main not found in acme/shop").
    Unknown {
        reason: String,
    },
}

/// Why a SHA is the expected one.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectedBasis {
    /// The head of the watched branch, first seen pushed at `first_seen`.
    Branch {
        first_seen: DateTime<Utc>,
        /// The head before this one, if known: the usual suspect when the old SHA is live.
        previous: Option<Sha>,
    },
    /// The newest GitHub Deployment for the environment whose latest status is `success`.
    Deployment { success_at: DateTime<Utc> },
    /// Given on the command line with `--expect`; `deadline_passed` once `--wait` ran out
    /// (or immediately without `--wait`).
    Cli { deadline_passed: bool },
}

/// One HTTP request and what came of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpEvidence {
    pub url: String,
    pub outcome: HttpOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpOutcome {
    Answered(Response),
    Failed(TransportFailure),
}

/// An HTTP answer, reduced to what evidence and decisions need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub elapsed_ms: u64,
    /// Bytes of body read (at most the cap).
    pub body_len: u64,
    /// The body was larger than the cap and was cut off there.
    pub truncated: bool,
    /// The first bytes of the body (up to 120 characters, control characters escaped),
    /// to show people what was actually received.
    pub first_bytes: String,
    pub cache: CacheSignals,
}

/// Response headers that reveal caching.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheSignals {
    pub cache_control: Option<String>,
    /// `Age` in seconds.
    pub age: Option<u64>,
    /// A header that says the answer came from a cache, as `Name: value`
    /// (`X-Cache: HIT`, `CF-Cache-Status: HIT`).
    pub hit_header: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransportFailure {
    Timeout {
        after_ms: u64,
    },
    Connect {
        detail: String,
    },
    TooManyRedirects {
        limit: u32,
    },
    /// Invalid URL, TLS failure, broken chunked encoding, …
    Other {
        detail: String,
    },
}

/// One probe of a build-info URL.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildInfoProbe {
    pub http: HttpEvidence,
    /// The fingerprint found, or why none was usable (only meaningful when the request was
    /// answered).
    pub fingerprint: Result<Fingerprint, String>,
}

/// What a running build says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub sha: Sha,
    /// Where the SHA was found, for people: `JSON /git_sha`, `header X-Git-Sha`,
    /// `HTML <meta name="build-sha">`.
    pub source: String,
    pub build_date: Option<DateTime<Utc>>,
    pub image_tag: Option<String>,
    pub environment: Option<String>,
}

/// The frontend page and the assets it references.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontendProbe {
    pub http: HttpEvidence,
    /// The page's own fingerprint (`<meta name="build-sha">` and friends), if it has one.
    pub fingerprint: Option<Fingerprint>,
    pub assets: Vec<AssetProbe>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssetProbe {
    pub url: String,
    /// The status code, or the transport failure in words.
    pub status: Result<u16, String>,
    /// The file name carries a content hash (`app.3f9a1c2b.js`), so caches cannot serve an old
    /// copy under the new page.
    pub hashed: bool,
}

/// A GitHub Actions workflow run, as far as verdicts care.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CiRun {
    pub id: u64,
    pub workflow: String,
    pub head_sha: Sha,
    /// GitHub's `status`: `queued`, `in_progress`, `completed`, `waiting`, `requested`,
    /// `pending`.
    pub status: String,
    /// GitHub's `conclusion` once completed: `success`, `failure`, `cancelled`, `timed_out`,
    /// `startup_failure`, `skipped`, `neutral`, …
    pub conclusion: Option<String>,
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// When the run completed (GitHub's `updated_at` of a completed run).
    pub completed_at: Option<DateTime<Utc>>,
}

impl CiRun {
    pub fn is_completed(&self) -> bool {
        self.status == "completed"
    }

    /// A completed run whose conclusion means the artifact was not built.
    pub fn is_failed(&self) -> bool {
        self.is_completed()
            && matches!(
                self.conclusion.as_deref(),
                Some("failure" | "cancelled" | "timed_out" | "startup_failure")
            )
    }

    pub fn is_success(&self) -> bool {
        self.is_completed() && self.conclusion.as_deref() == Some("success")
    }
}

/// Registry lookup of one image reference.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageCheck {
    /// The reference with `{sha}` expanded, e.g. `ghcr.io/acme/shop:b7c1e2f`.
    pub reference: String,
    pub outcome: ImageOutcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ImageOutcome {
    Present,
    Missing,
    /// The registry could not be asked (unreachable, auth refused); not evidence either way.
    Error(String),
}

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
    /// The health URL's answer and what its body says about the service, when configured.
    pub health: Option<HealthProbe>,
    pub frontend: Option<FrontendProbe>,
    /// A second build-info probe with a cache-busting query and `Cache-Control: no-cache`,
    /// made when the live SHA was not the expected one or the answer came out of a cache.
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
    /// The headers that say the answer came out of a cache, as `Name: value`, joined with
    /// `, ` (`X-Cache: HIT`, `CF-Cache-Status: HIT`, `X-Varnish: 32770 3`,
    /// `Cache-Status: edge; hit`).
    pub hit_header: Option<String>,
    /// The cache says its copy is stale: served after it expired (`STALE`, `UPDATING`), most
    /// often because the origin behind it fails.
    #[serde(default)]
    pub stale: bool,
    /// `Via`: the proxies the answer passed through (`1.1 varnish (Varnish/7.1)`).
    #[serde(default)]
    pub via: Option<String>,
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
    /// The IP address this probe was sent to, when the environment probes every address
    /// behind the build-info host (`each_address`); `None` for probes that let the resolver
    /// and the connection pool choose.
    pub address: Option<String>,
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
    /// How clearly the answer names this service's commit.
    pub confidence: Confidence,
    /// The configuration that pins where this SHA was found (shown as
    /// `sha_pointer = "/data/revision"` or `sha_header = "X-Build"`); `None` when it cannot be
    /// pinned by configuration (a Prometheus label, an HTML convention) or was configured.
    pub pin: Option<Pin>,
}

/// A setting that tells detection exactly where the SHA is (SPEC §5 `sha_pointer`,
/// `sha_header`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// An RFC 6901 JSON pointer into the body: `/data/revision`.
    Pointer(String),
    /// A response header name: `X-Revision`.
    Header(String),
}

impl Pin {
    /// The config key: `sha_pointer` or `sha_header`.
    pub fn key(&self) -> &'static str {
        match self {
            Pin::Pointer(_) => "sha_pointer",
            Pin::Header(_) => "sha_header",
        }
    }

    /// The value the key takes.
    pub fn value(&self) -> &str {
        match self {
            Pin::Pointer(v) | Pin::Header(v) => v,
        }
    }
}

/// As it is written in the config file: `sha_pointer = "/data/revision"`.
impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A TOML basic string: `"` and `\` escaped, control characters as \u escapes.
        let mut quoted = String::from('"');
        for c in self.value().chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        write!(f, "{} = {quoted}", self.key())
    }
}

/// How the SHA of a [`Fingerprint`] was found, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Where the configuration (`sha_pointer`, `sha_header`) said.
    Configured,
    /// A hex token that is a commit of the watched repository Deploywatch already knows (the
    /// expected SHA, an earlier push, a CI run's head): strong evidence whatever its key.
    KnownCommit,
    /// A key or header whose name says "this build's commit" (`git_sha`, `revision`,
    /// `X-Git-Sha`, …), SPEC §2's conventions and their relatives.
    Convention,
    /// The best of several weaker candidates, or one found only by its shape: the report says
    /// so and gives the `pin`.
    Guess,
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
    /// What the page asks for at this URL.
    pub kind: AssetKind,
    /// The status code, or the transport failure in words.
    pub status: Result<u16, String>,
    /// The answer's `Content-Type` (lowercased, parameters dropped), when it had one.
    pub content_type: Option<String>,
    /// The file name carries a content hash (`app.3f9a1c2b.js`), so caches cannot serve an old
    /// copy under the new page.
    pub hashed: bool,
}

/// What a page references an asset as: decides which content types can be it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// `<script src>`, `<link rel=modulepreload>`, `<link rel=preload as=script>`.
    Script,
    /// `<link rel=stylesheet>`, `<link rel=preload as=style>`.
    Stylesheet,
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

/// Registry lookup of one image reference: what was asked, with which credentials, what came
/// back. Never holds a secret: `auth` names where credentials came from, not what they are.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageCheck {
    /// The reference with `{sha}` expanded, e.g. `ghcr.io/acme/shop:b7c1e2f`.
    pub reference: String,
    /// The request that decided, e.g.
    /// `HEAD https://ghcr.io/v2/acme/shop/manifests/b7c1e2f`; empty when nothing was asked (a
    /// reference that does not parse).
    pub asked: String,
    /// The registry's last answer to it, e.g. `HTTP 200 OK, application/vnd.oci.image.index.v1+json,
    /// sha256:…` or `HTTP 404 Not Found: MANIFEST_UNKNOWN: manifest unknown`; empty when there
    /// was none.
    pub answer: String,
    /// Which credentials were sent, for people: `anonymous`,
    /// `credentials from /home/u/.docker/config.json (auths, auth)`,
    /// `credentials from docker-credential-desktop (credsStore in /home/u/.docker/config.json)`,
    /// `the GitHub token (GITHUB_TOKEN)`; with why none could be used when a lookup failed.
    pub auth: String,
    pub outcome: ImageOutcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ImageOutcome {
    Present,
    Missing,
    /// The registry wants credentials that were not given, or refused the ones given; `detail`
    /// says which and what to do (`could not check: credentials needed — add them with
    /// `docker login HOST``, `credentials for HOST were refused`). Not evidence either way.
    Unauthorized {
        detail: String,
    },
    /// The registry could not be asked (unreachable, a bad reference, a broken answer); not
    /// evidence either way.
    Error(String),
}

impl ImageCheck {
    /// One line of evidence for a checklist: the outcome, then what was asked, what came back
    /// and with which credentials.
    pub fn summary(&self) -> String {
        let what = match &self.outcome {
            ImageOutcome::Present => format!("{} is in the registry", self.reference),
            ImageOutcome::Missing => format!("{} is not in the registry", self.reference),
            ImageOutcome::Unauthorized { detail } => {
                format!("{}: {detail}", self.reference)
            }
            ImageOutcome::Error(e) => format!("could not check {}: {e}", self.reference),
        };
        let mut evidence = Vec::new();
        if !self.asked.is_empty() {
            evidence.push(if self.answer.is_empty() {
                self.asked.clone()
            } else {
                format!("{} → {}", self.asked, self.answer)
            });
        }
        if !self.auth.is_empty() {
            evidence.push(self.auth.clone());
        }
        if evidence.is_empty() {
            what
        } else {
            format!("{what} ({})", evidence.join("; "))
        }
    }
}

/// One probe of the health URL: the request, and what the body says the service thinks of
/// itself (Spring Boot actuator health, the IETF health-check response format, the common
/// `{"status": …, "checks": …}` forms, plain `ok`).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthProbe {
    pub http: HttpEvidence,
    /// The service's own overall status, when its body says one (or, without one, the worst
    /// of the components it lists). `None`: nothing readable (an empty body, HTML, a shape no
    /// convention describes); the HTTP status alone then counts.
    pub status: Option<HealthStatus>,
    /// The overall status word as the body spells it (`DOWN`, `fail`, `Degraded`), for people.
    pub reported: Option<String>,
    /// The components (dependencies, subsystems) the body lists, in a stable order (objects by
    /// key, arrays in body order); nested ones are named by their path (`broker/us1`). At most
    /// 64.
    pub components: Vec<HealthComponent>,
    /// The disk the body reports that is closest to running out, if it reports one.
    pub disk: Option<DiskUsage>,
}

impl HealthProbe {
    /// A probe whose body said nothing readable (or was never received).
    pub fn unread(http: HttpEvidence) -> HealthProbe {
        HealthProbe {
            http,
            status: None,
            reported: None,
            components: Vec::new(),
            disk: None,
        }
    }
}

/// What a health body says, reduced to what decisions need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// `UP`, `pass`, `ok`, `healthy`, `green`.
    Up,
    /// `warn`, `degraded`, `yellow`: working, with a problem.
    Warn,
    /// `DOWN`, `OUT_OF_SERVICE`, `fail`, `error`, `unhealthy`, `red`: the service says it is
    /// not working.
    Down,
}

/// One component of a health body.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthComponent {
    pub name: String,
    /// `None` when the body's word for it is not one the conventions define (`UNKNOWN`).
    pub status: Option<HealthStatus>,
    /// The status word as the body spells it.
    pub reported: String,
    /// Why, when the body says (`Connection refused`, an IETF `output`), shortened.
    pub detail: Option<String>,
}

/// A disk as a health body reports it (Spring Boot's `diskSpace`, an IETF `disk:utilization`
/// check, a `disk` component with `free`/`total`).
#[derive(Clone, Debug, PartialEq)]
pub struct DiskUsage {
    /// The path when the body gives one (`/data`), otherwise the component's name.
    pub name: String,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// The service's own minimum of free space (Spring Boot's `threshold`).
    pub threshold_bytes: Option<u64>,
    /// Used space in percent, as reported or computed from `free` and `total`.
    pub used_percent: Option<f64>,
    /// The status the service gave this disk's check.
    pub status: Option<HealthStatus>,
}

/// Used space above this share of the disk is "almost full" whatever the service's threshold.
pub const DISK_FULL_PERCENT: f64 = 90.0;

/// The name of the report's checklist entry for the disk a health body reports: `ok` while it
/// has room, not `ok` while it is running out (its detail names the disk and its figures). The
/// watcher's disk notifications follow this entry.
pub const DISK_CHECK: &str = "disk";

impl DiskUsage {
    /// Why this disk is running out, or `None` while it is not: free space below the service's
    /// own threshold, used space above [`DISK_FULL_PERCENT`], or the service's own disk check
    /// failing or warning.
    pub fn running_out(&self) -> Option<String> {
        if let (Some(free), Some(threshold)) = (self.free_bytes, self.threshold_bytes)
            && free < threshold
        {
            return Some(format!(
                "below the service's own threshold of {}",
                human_bytes(threshold)
            ));
        }
        if let Some(used) = self.used_percent
            && used > DISK_FULL_PERCENT
        {
            return Some(format!("more than {DISK_FULL_PERCENT:.0} % used"));
        }
        match self.status {
            Some(HealthStatus::Down) => Some("the service's disk check fails".into()),
            Some(HealthStatus::Warn) => Some("the service's disk check warns".into()),
            _ => None,
        }
    }

    /// `/data 94 % used (6.1 GB free of 100 GB)`, with what the body gave.
    pub fn describe(&self) -> String {
        let mut out = self.name.clone();
        if let Some(used) = self.used_percent {
            out.push_str(&format!(" {} used", percent(used)));
        }
        match (self.free_bytes, self.total_bytes) {
            (Some(free), Some(total)) => out.push_str(&format!(
                " ({} free of {})",
                human_bytes(free),
                human_bytes(total)
            )),
            (Some(free), None) => out.push_str(&format!(" ({} free)", human_bytes(free))),
            _ => {}
        }
        out
    }
}

/// `94 %`; one decimal near the limit, so `90.4 %` is not shown as `90 %`.
fn percent(p: f64) -> String {
    if (DISK_FULL_PERCENT - 1.0..DISK_FULL_PERCENT + 1.0).contains(&p) {
        format!("{p:.1} %")
    } else {
        format!("{p:.0} %")
    }
}

/// Bytes in decimal units for people: `512 B`, `6.1 GB`, `100 GB`, `1.2 TB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

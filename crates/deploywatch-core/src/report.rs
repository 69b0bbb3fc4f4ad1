//! The verification report: the verdict of one check and the evidence behind it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sha;

/// Exactly one per report; see SPEC §3 for the order in which they are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Live,
    Deploying,
    Down,
    Unverifiable,
    EnvMismatch,
    Mixed,
    StaleFrontend,
    CiFailed,
    CiMissing,
    ImageMissing,
    Phantom,
}

impl Verdict {
    pub const ALL: [Verdict; 11] = [
        Verdict::Live,
        Verdict::Deploying,
        Verdict::Down,
        Verdict::Unverifiable,
        Verdict::EnvMismatch,
        Verdict::Mixed,
        Verdict::StaleFrontend,
        Verdict::CiFailed,
        Verdict::CiMissing,
        Verdict::ImageMissing,
        Verdict::Phantom,
    ];

    /// The stable name used in JSON, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Live => "live",
            Verdict::Deploying => "deploying",
            Verdict::Down => "down",
            Verdict::Unverifiable => "unverifiable",
            Verdict::EnvMismatch => "env_mismatch",
            Verdict::Mixed => "mixed",
            Verdict::StaleFrontend => "stale_frontend",
            Verdict::CiFailed => "ci_failed",
            Verdict::CiMissing => "ci_missing",
            Verdict::ImageMissing => "image_missing",
            Verdict::Phantom => "phantom",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Every verdict but `live` and `deploying` is an alert: it opens an incident.
    pub fn is_alert(self) -> bool {
        !matches!(self, Verdict::Live | Verdict::Deploying)
    }

    /// A title for notifications and human output ("Phantom deploy").
    pub fn title(self) -> &'static str {
        match self {
            Verdict::Live => "Live",
            Verdict::Deploying => "Deploying",
            Verdict::Down => "Down",
            Verdict::Unverifiable => "Unverifiable",
            Verdict::EnvMismatch => "Wrong environment",
            Verdict::Mixed => "Mixed versions",
            Verdict::StaleFrontend => "Stale frontend",
            Verdict::CiFailed => "CI failed",
            Verdict::CiMissing => "CI missing",
            Verdict::ImageMissing => "Image missing",
            Verdict::Phantom => "Phantom deploy",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of the verification checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The CI run that decided the CI part of the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CiSummary {
    pub status: String,
    pub conclusion: Option<String>,
    pub url: String,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A SHA seen across the replica probes and how many probes saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenSha {
    pub sha: Sha,
    pub probes: u32,
    /// The addresses whose probes saw it, in probe order, when the environment probes every
    /// address behind its host (`each_address`); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// The outcome of one check of one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub project: String,
    pub environment: String,
    pub verdict: Verdict,
    pub expected_sha: Option<Sha>,
    pub live_sha: Option<Sha>,
    pub ci: Option<CiSummary>,
    pub checks: Vec<Check>,
    pub warnings: Vec<String>,
    pub hint: String,
    pub checked_at: DateTime<Utc>,
    /// Every distinct live SHA with its probe count (more than one only for `mixed`).
    pub seen: Vec<SeenSha>,
}

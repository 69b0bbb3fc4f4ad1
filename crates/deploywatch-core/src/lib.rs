//! The pure core of Deploywatch: what a SHA is, what one check observed, and the decision made
//! from it (verdict, hint, warnings), plus the incident policy and the check schedule.
//!
//! Nothing here does I/O: probing, GitHub and SQLite live in other crates and produce the
//! [`Observations`] that [`decide`] turns into a [`Report`]. That keeps the rules of SPEC §3 in
//! one place where they can be tested exhaustively and fast.

mod backoff;
mod decide;
mod incident;
mod observe;
mod report;
mod sha;

pub use backoff::Backoff;
pub use decide::{CiState, decide, describe_failure, human as human_duration};
pub use incident::{IncidentEvent, IncidentState};
pub use observe::{
    AssetKind, AssetProbe, BuildInfoProbe, CacheSignals, CiRun, Confidence, Expected,
    ExpectedBasis, Fingerprint, FrontendProbe, HttpEvidence, HttpOutcome, ImageCheck, ImageOutcome,
    Observations, Pin, Policy, Response, TransportFailure,
};
pub use observe::{
    DISK_CHECK, DISK_FULL_PERCENT, DiskUsage, HealthComponent, HealthProbe, HealthStatus,
    human_bytes,
};
pub use report::{Check, CiSummary, Report, SeenSha, Verdict};
pub use sha::Sha;

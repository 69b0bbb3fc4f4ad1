//! GitHub sees what Deploywatch sees (`[github] commit_statuses`): a commit status
//! `deploywatch/<environment>` on the environment's expected SHA — `pending` while it deploys,
//! `failure` with the hint while an incident is open, `success` once it is verified live — written
//! when that state changes, never per poll; and for `follows = "deployments"`, a `success`
//! deployment status when the deployment is verified live.
//!
//! Deploywatch never writes `failure` or `in_progress` to a deployment: it reads the newest
//! deployment whose *latest* status is `success` as the expected SHA, so such a write would make
//! the previous deployment the expected one — and the old build still serving it "live".

use deploywatch_core::{Report, Sha, Verdict};
use deploywatch_github::StatusState;

/// The commit status an environment's expected SHA should have after this check, with its
/// description; `None` leaves the last one standing (an alert not yet confirmed, no SHA known).
pub(crate) fn wanted(
    report: &Report,
    incident: Option<Verdict>,
) -> Option<(Sha, StatusState, String)> {
    let sha = report.expected_sha.clone()?;
    let env = &report.environment;
    if report.verdict == Verdict::Live && report.live_sha.as_ref() == Some(&sha) {
        return Some((sha, StatusState::Success, format!("Live in {env}")));
    }
    if let Some(cause) = incident {
        let text = format!("{}: {}", cause.title(), report.hint);
        return Some((sha, StatusState::Failure, text));
    }
    if report.verdict == Verdict::Deploying {
        return Some((sha, StatusState::Pending, format!("Deploying to {env}")));
    }
    None
}

/// The status context of an environment.
pub(crate) fn context(environment: &str) -> String {
    format!("deploywatch/{environment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: Verdict, expected: &str, live: &str) -> Report {
        Report {
            project: "shop".into(),
            environment: "production".into(),
            verdict,
            expected_sha: Sha::parse(&format!("{expected:0<40}")),
            live_sha: Sha::parse(&format!("{live:0<40}")),
            ci: None,
            checks: Vec::new(),
            warnings: Vec::new(),
            hint: "production still serves a1".into(),
            checked_at: chrono::Utc::now(),
            seen: Vec::new(),
        }
    }

    #[test]
    fn the_status_follows_the_verdict_and_the_incident_not_each_poll() {
        let state = |v, live, incident| wanted(&report(v, "b2", live), incident).map(|w| w.1);
        assert_eq!(
            state(Verdict::Deploying, "a1", None),
            Some(StatusState::Pending)
        );
        // An alert not yet confirmed leaves the status as it was.
        assert_eq!(state(Verdict::Phantom, "a1", None), None);
        let failing = wanted(
            &report(Verdict::Phantom, "b2", "a1"),
            Some(Verdict::Phantom),
        )
        .unwrap();
        assert_eq!(failing.1, StatusState::Failure);
        assert_eq!(failing.2, "Phantom deploy: production still serves a1");
        // Deploying during an open incident: still failing.
        assert_eq!(
            state(Verdict::Deploying, "a1", Some(Verdict::Phantom)),
            Some(StatusState::Failure)
        );
        assert_eq!(
            state(Verdict::Live, "b2", Some(Verdict::Phantom)),
            Some(StatusState::Success)
        );
        // Live, but not the expected SHA (a `live` verdict never says that; belt and braces).
        assert_eq!(state(Verdict::Live, "a1", None), None);
        assert_eq!(context("production"), "deploywatch/production");
    }
}

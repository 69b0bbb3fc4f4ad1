//! The incident policy: when an alert opens, changes cause and resolves (SPEC §4).

use serde::{Deserialize, Serialize};

use crate::{Sha, Verdict};

/// What the policy says should be announced after a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentEvent {
    Opened { verdict: Verdict },
    CauseChanged { from: Verdict, to: Verdict },
    Resolved { last: Verdict },
}

/// The incident state of one environment, kept between checks (and in the database, so a
/// restarted watcher does not re-announce an open incident).
///
/// An incident opens once an alert verdict has held for `confirm` consecutive checks, changes
/// cause once a different alert verdict has held for `confirm` checks, and resolves at the
/// first `live`. `deploying` neither opens nor resolves: a new push arriving during a phantom
/// deploy keeps the incident open until the environment is really live.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentState {
    /// The verdict of the open incident, if one is open.
    pub open: Option<Verdict>,
    /// The expected SHA when the incident opened or last changed cause.
    pub expected: Option<Sha>,
    /// Consecutive alert checks, of any alert verdict.
    pub alert_streak: u32,
    /// The latest verdict and for how many consecutive checks it has held.
    pub last: Option<Verdict>,
    pub last_streak: u32,
}

impl IncidentState {
    /// Feeds the verdict of one check; returns the event to announce, if any.
    pub fn observe(
        &mut self,
        verdict: Verdict,
        expected: Option<&Sha>,
        confirm: u32,
    ) -> Option<IncidentEvent> {
        let confirm = confirm.max(1);
        if self.last == Some(verdict) {
            self.last_streak += 1;
        } else {
            self.last = Some(verdict);
            self.last_streak = 1;
        }
        if !verdict.is_alert() {
            self.alert_streak = 0;
            if verdict == Verdict::Live
                && let Some(last) = self.open.take()
            {
                self.expected = None;
                return Some(IncidentEvent::Resolved { last });
            }
            return None;
        }
        self.alert_streak += 1;
        match self.open {
            None if self.alert_streak >= confirm => {
                self.open = Some(verdict);
                self.expected = expected.cloned();
                Some(IncidentEvent::Opened { verdict })
            }
            Some(from) if from != verdict && self.last_streak >= confirm => {
                self.open = Some(verdict);
                self.expected = expected.cloned();
                Some(IncidentEvent::CauseChanged { from, to: verdict })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    /// Runs a timeline of verdicts and renders the events, one per check (`-` for none).
    fn run(timeline: &[Verdict], confirm: u32) -> String {
        let mut s = IncidentState::default();
        timeline
            .iter()
            .map(|v| match s.observe(*v, None, confirm) {
                None => "-".to_string(),
                Some(IncidentEvent::Opened { verdict }) => format!("open:{verdict}"),
                Some(IncidentEvent::CauseChanged { from, to }) => format!("cause:{from}>{to}"),
                Some(IncidentEvent::Resolved { last }) => format!("resolve:{last}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn timelines() {
        let cases: &[(&[Verdict], u32, &str)] = &[
            // One alert check is not enough with confirm = 2.
            (&[Live, Phantom, Live], 2, "- - -"),
            (
                &[Deploying, Deploying, Phantom, Phantom, Phantom, Live],
                2,
                "- - - open:phantom - resolve:phantom",
            ),
            // Deploying interrupts the streak and does not resolve an open incident.
            (
                &[Phantom, Deploying, Phantom, Phantom, Deploying, Live],
                2,
                "- - - open:phantom - resolve:phantom",
            ),
            // A cause change needs to hold too.
            (
                &[Down, Down, Phantom, Down, Phantom, Phantom],
                2,
                "- open:down - - - cause:down>phantom",
            ),
            // Mixed alerts count toward opening; the incident takes the latest verdict.
            (&[Down, Phantom, Phantom], 2, "- open:phantom -"),
            (&[Phantom, Live], 1, "open:phantom resolve:phantom"),
            (&[Live, Live], 2, "- -"),
        ];
        for (timeline, confirm, want) in cases {
            assert_eq!(run(timeline, *confirm), *want, "{timeline:?}");
        }
    }
}

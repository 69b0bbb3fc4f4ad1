//! The disk reaching the person once, before deploys start failing: a notification, not a
//! verdict. An environment's health may report a disk (Spring Boot's `diskSpace`, an IETF
//! `disk:utilization` check); the report's `disk` entry says whether it is running out.
//!
//! Like an incident, the condition starts after `confirm` consecutive checks that see the disk
//! running out, and ends after `confirm` consecutive checks that see it with room again; a check
//! that does not see the disk at all (health unreachable, no disk in the body) changes nothing.
//! The store's `disk_conditions` row is the claim of each announcement, so a restarted (or a
//! second) watcher never repeats "Disk almost full" nor "Disk space recovered".

use chrono::{DateTime, Utc};
use deploywatch_core::{DISK_CHECK, Report};
use tokio::sync::broadcast;

use crate::check::Engine;
use crate::notify::{Notice, Notifier};
use crate::watch::WatchEvent;

/// `Notice::kind` of the announcement that a disk is running out.
pub const DISK_LOW_KIND: &str = "disk_low";
/// `Notice::kind` of the announcement that it has room again.
pub const DISK_RECOVERED_KIND: &str = "disk_recovered";

/// What one report says about the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading<'a> {
    /// Running out; the disk and its figures.
    Low(&'a str),
    /// Seen, with room.
    Fine(&'a str),
    /// Not seen in this check.
    Unseen,
}

pub(crate) fn reading(report: &Report) -> Reading<'_> {
    match report.checks.iter().find(|c| c.name == DISK_CHECK) {
        Some(c) if c.ok => Reading::Fine(&c.detail),
        Some(c) => Reading::Low(&c.detail),
        None => Reading::Unseen,
    }
}

/// One environment's disk condition, as the watcher follows it.
#[derive(Debug, Default)]
pub(crate) struct DiskWatch {
    /// The open condition's id in the store (restored at start).
    open: Option<i64>,
    /// Consecutive checks that saw the disk running out / with room.
    low_streak: u32,
    fine_streak: u32,
}

impl DiskWatch {
    /// The condition an earlier run left open, if any: it was announced then.
    pub(crate) fn restore(engine: &Engine, project: &str, environment: &str) -> DiskWatch {
        let open = engine
            .with_store(|s| s.open_disk_condition(project, environment).ok().flatten())
            .flatten()
            .map(|c| c.id);
        DiskWatch {
            open,
            ..DiskWatch::default()
        }
    }

    /// What to announce after this report, if anything. `start`/`end` claim the announcement
    /// in the store and say whether this caller won it; without a store every transition is
    /// announced (nothing survives the process anyway).
    pub(crate) fn observe(
        &mut self,
        report: &Report,
        confirm: u32,
        start: impl FnOnce(&str, DateTime<Utc>) -> Option<(i64, bool)>,
        end: impl FnOnce(i64, &str, DateTime<Utc>) -> bool,
    ) -> Option<Notice> {
        let confirm = confirm.max(1);
        let at = report.checked_at;
        let place = format!("{} / {}", report.project, report.environment);
        let notice = |summary: String, body: &str, kind: &'static str| Notice {
            summary,
            body: body.to_string(),
            project: report.project.clone(),
            environment: report.environment.clone(),
            verdict: report.verdict,
            kind,
            reports: vec![report.clone()],
        };
        match reading(report) {
            Reading::Unseen => None,
            Reading::Low(detail) => {
                self.fine_streak = 0;
                self.low_streak = self.low_streak.saturating_add(1);
                if self.open.is_some() || self.low_streak < confirm {
                    return None;
                }
                let (id, first) = start(detail, at).unwrap_or((-1, true));
                self.open = Some(id);
                first.then(|| notice(format!("Disk almost full: {place}"), detail, DISK_LOW_KIND))
            }
            Reading::Fine(detail) => {
                self.low_streak = 0;
                let id = self.open?;
                self.fine_streak = self.fine_streak.saturating_add(1);
                if self.fine_streak < confirm {
                    return None;
                }
                self.open = None;
                self.fine_streak = 0;
                let first = id < 0 || end(id, detail, at);
                first.then(|| {
                    notice(
                        format!("Disk space recovered: {place}"),
                        detail,
                        DISK_RECOVERED_KIND,
                    )
                })
            }
        }
    }

    /// [`DiskWatch::observe`] with the engine's store, then sends what it decided (unless the
    /// environment is `muted`) and tells the watcher's listeners (as a [`WatchEvent::Incident`],
    /// the event of every announcement).
    pub(crate) async fn follow(
        &mut self,
        engine: &Engine,
        notifier: &Notifier,
        events: &broadcast::Sender<WatchEvent>,
        report: &Report,
        confirm: u32,
        muted: bool,
    ) {
        let (p, e) = (report.project.as_str(), report.environment.as_str());
        let notice = self.observe(
            report,
            confirm,
            |detail, at| {
                engine
                    .with_store(|s| match s.start_disk_condition(p, e, detail, at) {
                        Ok(claim) => Some(claim),
                        Err(err) => {
                            tracing::warn!("could not record the disk condition of {p}/{e}: {err}");
                            None
                        }
                    })
                    .flatten()
            },
            |id, detail, at| {
                engine
                    .with_store(|s| match s.end_disk_condition(id, detail, at) {
                        Ok(first) => first,
                        Err(err) => {
                            tracing::warn!(
                                "could not record the end of {p}/{e}'s disk condition: {err}"
                            );
                            true
                        }
                    })
                    .unwrap_or(true)
            },
        );
        if let Some(notice) = notice {
            // Muted: recorded and told to listeners, sent to nobody.
            let delivered = !muted && notifier.send(&notice).await.is_empty();
            let _ = events.send(WatchEvent::Incident { notice, delivered });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use deploywatch_core::{Check, Verdict};
    use std::cell::RefCell;

    const LOW: &str = "/data 94 % used (6.1 GB free of 100 GB) — more than 90 % used";
    const FINE: &str = "/data 40 % used (60 GB free of 100 GB)";

    fn report(disk: Option<(bool, &str)>, n: i64) -> Report {
        let mut checks = vec![Check {
            name: "health".into(),
            ok: true,
            detail: "200 application/json in 3 ms: UP".into(),
        }];
        if let Some((ok, detail)) = disk {
            checks.push(Check {
                name: DISK_CHECK.into(),
                ok,
                detail: detail.into(),
            });
        }
        Report {
            project: "shop".into(),
            environment: "production".into(),
            verdict: Verdict::Live,
            expected_sha: None,
            live_sha: None,
            ci: None,
            checks,
            warnings: vec![],
            hint: String::new(),
            checked_at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
                + chrono::TimeDelta::seconds(n),
            seen: vec![],
        }
    }

    /// A store stand-in: one open condition at most, claims as the store makes them.
    #[derive(Default)]
    struct Claims {
        open: Option<i64>,
        next: i64,
        log: Vec<String>,
    }

    fn step(w: &mut DiskWatch, claims: &RefCell<Claims>, r: &Report) -> Option<String> {
        w.observe(
            r,
            2,
            |detail, _| {
                let mut c = claims.borrow_mut();
                if let Some(id) = c.open {
                    return Some((id, false));
                }
                c.next += 1;
                let id = c.next;
                c.open = Some(id);
                c.log.push(format!("start {id} {detail}"));
                Some((id, true))
            },
            |id, _, _| {
                let mut c = claims.borrow_mut();
                if c.open == Some(id) {
                    c.open = None;
                    c.log.push(format!("end {id}"));
                    true
                } else {
                    false
                }
            },
        )
        .map(|n| format!("{} | {} | {}", n.kind, n.summary, n.body))
    }

    #[test]
    fn starts_after_confirm_checks_ends_after_confirm_checks_and_ignores_unseen() {
        let claims = RefCell::new(Claims::default());
        let mut w = DiskWatch::default();
        let low = |n| report(Some((false, LOW)), n);
        let fine = |n| report(Some((true, FINE)), n);
        let unseen = |n| report(None, n);
        assert_eq!(step(&mut w, &claims, &fine(0)), None);
        assert_eq!(
            step(&mut w, &claims, &low(1)),
            None,
            "one low check is not enough"
        );
        assert_eq!(step(&mut w, &claims, &fine(2)), None, "the streak broke");
        assert_eq!(step(&mut w, &claims, &low(3)), None);
        assert_eq!(
            step(&mut w, &claims, &low(4)).as_deref(),
            Some(
                "disk_low | Disk almost full: shop / production | /data 94 % used (6.1 GB free of \
                 100 GB) — more than 90 % used"
            )
        );
        for n in 5..10 {
            assert_eq!(step(&mut w, &claims, &low(n)), None, "repeated at {n}");
        }
        assert_eq!(step(&mut w, &claims, &unseen(10)), None);
        assert_eq!(
            step(&mut w, &claims, &fine(11)),
            None,
            "one fine check is not enough"
        );
        assert_eq!(
            step(&mut w, &claims, &unseen(12)),
            None,
            "unseen neither ends nor breaks"
        );
        assert_eq!(
            step(&mut w, &claims, &fine(13)).as_deref(),
            Some(
                "disk_recovered | Disk space recovered: shop / production | /data 40 % used (60 GB \
                 free of 100 GB)"
            )
        );
        for n in 14..18 {
            assert_eq!(step(&mut w, &claims, &fine(n)), None, "repeated at {n}");
        }
        assert_eq!(
            claims.borrow().log,
            [format!("start 1 {LOW}"), "end 1".to_string()]
        );

        // A watcher restarted while the condition is open (restored with its id) does not
        // announce it again, and ends it once.
        let claims = RefCell::new(Claims {
            open: Some(7),
            next: 7,
            log: vec![],
        });
        let mut w = DiskWatch {
            open: Some(7),
            ..DiskWatch::default()
        };
        for n in 0..4 {
            assert_eq!(step(&mut w, &claims, &low(n)), None);
        }
        assert_eq!(step(&mut w, &claims, &fine(4)), None);
        assert!(step(&mut w, &claims, &fine(5)).is_some());

        // Another watcher that started the condition first: this one does not announce it.
        let claims = RefCell::new(Claims {
            open: Some(3),
            next: 3,
            log: vec![],
        });
        let mut w = DiskWatch::default();
        assert_eq!(step(&mut w, &claims, &low(0)), None);
        assert_eq!(
            step(&mut w, &claims, &low(1)),
            None,
            "the store said: already claimed"
        );
    }
}

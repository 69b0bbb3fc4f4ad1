//! `deploywatch verify`: one check of each selected environment, or with a wait, checks on the
//! fast schedule until all are live or the time runs out.

use std::collections::HashMap;
use std::time::Duration;

use deploywatch_config::Follows;
use deploywatch_core::{Report, Sha, Verdict};
use tokio::time::Instant;

use crate::check::{CliExpect, Engine, Selection};
use crate::repo::RepoSnapshot;

/// How `verify` decides and how long it keeps at it.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The SHA expected everywhere: GitHub is not asked, and a mismatch once `wait` has run
    /// out (immediately without it) is `phantom`.
    pub expect: Option<Sha>,
    /// Keep checking until all are live or this much time has passed.
    pub wait: Option<Duration>,
    /// With `wait`, live only after this many consecutive live checks (0 and 1: the first).
    pub stable: u32,
    /// With `wait`, the time between checks; default the smallest `fast_interval` among the
    /// selected environments.
    pub interval: Option<Duration>,
}

/// Checks the selected environments and returns one report each, in config order.
///
/// With `expect`, GitHub is not asked: the given SHA is expected everywhere, and a mismatch
/// once `wait` has run out (immediately without it) is `phantom`. With `wait`, checks repeat
/// every `interval` (by default the smallest `fast_interval` among the selected
/// environments) until all are live — with `stable` above 1, until each has been live in that
/// many consecutive checks (load balancers flap during a rollout). An environment live in its
/// last check but not yet that many times when the time runs out is not verified: `mixed` if
/// the checks saw another live SHA meanwhile, `deploying` otherwise; either way its report
/// says so in a `stable` check.
pub async fn verify(engine: &Engine, sel: &Selection, options: &VerifyOptions) -> Vec<Report> {
    let expect = options.expect.clone();
    let wait = options.wait;
    let targets = engine.selected(sel);
    let deadline = Instant::now() + wait.unwrap_or(Duration::ZERO);
    let pause = options.interval.unwrap_or_else(|| {
        targets
            .iter()
            .map(|(_, e)| e.settings.fast_interval)
            .min()
            .unwrap_or(Duration::from_secs(10))
    });
    let mut snapshots: HashMap<String, RepoSnapshot> = HashMap::new();
    let stable = options.stable.max(1);
    let mut streaks = vec![Streak::default(); targets.len()];
    loop {
        let final_round = Instant::now() >= deadline;
        let cli = expect.as_ref().map(|sha| CliExpect {
            sha: sha.clone(),
            deadline_passed: final_round,
        });
        if cli.is_none() {
            // One poll per repository per round serves all of its environments.
            let mut polled = Vec::new();
            for (project, _) in &targets {
                let needs_branch = project
                    .environments
                    .iter()
                    .any(|e| e.follows == Follows::Branch);
                if !needs_branch || polled.contains(&&project.name) {
                    continue;
                }
                polled.push(&project.name);
                let snap = engine
                    .poll_repo(project, snapshots.get(&project.name))
                    .await;
                if let Ok(head) = &snap.head {
                    engine.record_push_lag(project, head);
                }
                snapshots.insert(project.name.clone(), snap);
            }
        }
        // At most `[limits]` checks at once, taking turns across projects (crate::limit).
        let jobs = targets
            .iter()
            .map(|(p, e)| crate::limit::Job {
                group: project_index(engine, &p.name),
                host: crate::limit::host_key(&e.build_info_url),
            })
            .collect();
        let (snapshots, cli, targets) = (&snapshots, cli.as_ref(), &targets);
        let mut checks = crate::limit::Bounded::new(jobs, engine.limits, |i| async move {
            let (p, e) = targets[i];
            (i, engine.check(p, e, snapshots.get(&p.name), cli).await)
        });
        // Each report is recorded as its check finishes, on a thread of its own, so the
        // store's work overlaps the network's instead of following it.
        let mut writer = RoundWriter::start(engine);
        let mut reports: Vec<Option<Report>> = Vec::new();
        reports.resize_with(targets.len(), || None);
        while let Some((i, report)) = checks.next().await {
            match &mut writer {
                Some(w) => w.send(i, report),
                None => reports[i] = Some(report),
            }
        }
        if let Some(w) = writer {
            for (i, report) in w.finish().await {
                reports[i] = Some(report);
            }
        }
        let reports: Vec<Report> = reports
            .into_iter()
            .map(|r| r.expect("every check reports once"))
            .collect();
        for (streak, report) in streaks.iter_mut().zip(&reports) {
            streak.add(report);
        }
        let all_stable = streaks.iter().all(|s| s.live >= stable);
        if all_stable || final_round {
            if stable == 1 {
                return reports;
            }
            return reports
                .into_iter()
                .zip(&streaks)
                .map(|(r, s)| s.judge(r, stable))
                .collect();
        }
        let now = Instant::now();
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(now))).await;
    }
}

/// One environment's run of live checks, for `--stable`.
#[derive(Clone, Debug, Default)]
struct Streak {
    /// Consecutive live checks, ending with the latest.
    live: u32,
    /// Every live SHA the checks saw, with how many checks saw it (`probes`), oldest first.
    seen: Vec<deploywatch_core::SeenSha>,
    checks: u32,
}

impl Streak {
    fn add(&mut self, report: &Report) {
        self.checks += 1;
        self.live = if report.verdict == Verdict::Live {
            self.live + 1
        } else {
            0
        };
        if let Some(sha) = &report.live_sha {
            match self.seen.iter_mut().find(|s| s.sha.matches(sha)) {
                Some(s) => s.probes += 1,
                None => self.seen.push(deploywatch_core::SeenSha {
                    sha: sha.clone(),
                    probes: 1,
                    addresses: Vec::new(),
                }),
            }
        }
    }

    /// The last report, judged against `stable`: a `stable` check added, and the verdict
    /// no longer `live` if the run of live checks is too short.
    fn judge(&self, mut report: Report, stable: u32) -> Report {
        let runs = |n: u32| if n == 1 { "check" } else { "checks" };
        let ok = self.live >= stable;
        report.checks.push(deploywatch_core::Check {
            name: "stable".into(),
            ok,
            detail: format!(
                "live in the last {} consecutive {} of {} ({} asked for)",
                self.live,
                runs(self.live),
                self.checks,
                stable
            ),
        });
        if ok || report.verdict != Verdict::Live {
            return report;
        }
        if self.seen.len() > 1 {
            let seen: Vec<String> = self
                .seen
                .iter()
                .map(|s| format!("{} in {} {}", s.sha.short(), s.probes, runs(s.probes)))
                .collect();
            report.verdict = Verdict::Mixed;
            report.seen = self.seen.clone();
            report.hint = format!(
                "{} / {} flapped over {} checks: {}. Live now, but not in {stable} consecutive \
                 checks: a load balancer still sends some requests to an old replica, or the \
                 rollout is not finished.",
                report.project,
                report.environment,
                self.checks,
                seen.join(", ")
            );
        } else {
            report.verdict = Verdict::Deploying;
            report.hint = format!(
                "{} / {} is live, but only in the last {} of the {stable} consecutive checks asked \
                 for before the time ran out: wait longer (--wait) to verify it.",
                report.project, report.environment, self.live
            );
        }
        report
    }
}

/// The project's position in the config, the fairness group of its environments' checks.
fn project_index(engine: &Engine, name: &str) -> usize {
    engine
        .config
        .projects
        .iter()
        .position(|p| p.name == name)
        .unwrap_or(0)
}

/// Records a round's reports in the store while its checks are still running: a blocking
/// thread borrows the store ([`Engine::lend_store`]) and writes each report as it comes, all
/// in one transaction, so the store's work overlaps the network's instead of following it,
/// then hands every report back, written or not.
struct RoundWriter {
    tx: std::sync::mpsc::Sender<(usize, Report)>,
    done: tokio::task::JoinHandle<Vec<(usize, Report)>>,
    /// Reports the thread could not take (it is gone): kept for the output.
    orphans: Vec<(usize, Report)>,
}

impl RoundWriter {
    fn start(engine: &Engine) -> Option<RoundWriter> {
        let mut store = engine.lend_store()?;
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Report)>();
        let done = tokio::task::spawn_blocking(move || {
            let mut kept = Vec::new();
            // Nothing to write until the first check ends: no transaction open meanwhile.
            let Ok(first) = rx.recv() else {
                return kept;
            };
            kept.push(first);
            // A panic inside a write is rolled back by the batch; the reports stay, and the
            // loan gives the store back when it drops.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                store.batch(|s| {
                    record_with_previous(s, &kept[0].1);
                    while let Ok(next) = rx.recv() {
                        kept.push(next);
                        if let Some((_, report)) = kept.last() {
                            record_with_previous(s, report);
                        }
                    }
                })
            }));
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not record the reports: {e}"),
                Err(_) => tracing::warn!("could not record the reports: a write panicked"),
            }
            // After a panic the rest of the round is still to come: keep it for the output.
            kept.extend(rx.iter());
            kept
        });
        Some(RoundWriter {
            tx,
            done,
            orphans: Vec::new(),
        })
    }

    fn send(&mut self, i: usize, report: Report) {
        // The thread only stops when the channel closes, so the send cannot fail while it
        // runs; if it died anyway the report is lost to the store, not to the output.
        if let Err(std::sync::mpsc::SendError(back)) = self.tx.send((i, report)) {
            tracing::warn!("the store's writer stopped; report not recorded");
            self.orphans.push(back);
        }
    }

    /// Waits for the last write and returns every report sent.
    async fn finish(self) -> Vec<(usize, Report)> {
        let RoundWriter {
            tx,
            done,
            mut orphans,
        } = self;
        drop(tx);
        match done.await {
            Ok(mut kept) => {
                kept.append(&mut orphans);
                kept
            }
            Err(e) => {
                tracing::warn!("the store's writer failed: {e}");
                orphans
            }
        }
    }
}

/// Records one report of `verify`: whether it changed is judged against the environment's
/// stored state, and an open incident stays open.
fn record_with_previous(s: &mut deploywatch_store::Store, report: &Report) {
    let previous = s
        .env_state(&report.project, &report.environment)
        .ok()
        .flatten();
    let changed = previous
        .as_ref()
        .is_none_or(|p| crate::watch::differs(&p.report, report));
    let incident = previous.map(|p| p.incident).unwrap_or_default();
    crate::check::record_into(s, report, changed, &incident, None);
}

//! `deploywatch verify`: one check of each selected environment, or with a wait, checks on the
//! fast schedule until all are live or the time runs out.

use std::collections::HashMap;
use std::time::Duration;

use deploywatch_config::Follows;
use deploywatch_core::{Report, Sha, Verdict};
use tokio::time::Instant;

use crate::check::{CliExpect, Engine, Selection};
use crate::repo::RepoSnapshot;

/// Checks the selected environments and returns one report each, in config order.
///
/// With `expect`, GitHub is not asked: the given SHA is expected everywhere, and a mismatch
/// once `wait` has run out (immediately without it) is `phantom`. With `wait`, checks repeat
/// every `fast_interval` (the smallest among the selected environments) until all are live.
pub async fn verify(
    engine: &Engine,
    sel: &Selection,
    expect: Option<Sha>,
    wait: Option<Duration>,
) -> Vec<Report> {
    let targets = engine.selected(sel);
    let deadline = Instant::now() + wait.unwrap_or(Duration::ZERO);
    let pause = targets
        .iter()
        .map(|(_, e)| e.settings.fast_interval)
        .min()
        .unwrap_or(Duration::from_secs(10));
    let mut snapshots: HashMap<String, RepoSnapshot> = HashMap::new();
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
        let reports = crate::limit::Bounded::new(jobs, engine.limits, |i| async move {
            let (p, e) = targets[i];
            (i, engine.check(p, e, snapshots.get(&p.name), cli).await)
        })
        .collect()
        .await;
        // One transaction for the round's reports, not one per write of each.
        engine.with_store(|s| {
            let written = s.batch(|s| {
                for report in &reports {
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
            });
            if let Err(e) = written {
                tracing::warn!("could not record the reports: {e}");
            }
        });
        let all_live = reports.iter().all(|r| r.verdict == Verdict::Live);
        if all_live || final_round {
            return reports;
        }
        let now = Instant::now();
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(now))).await;
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

//! The watcher: a long-running component that schedules repository polls and environment
//! checks on the fast→idle backoff, records history, and announces incidents.
//!
//! One task owns all state. It sleeps until the earliest due item or a [`Command`], then runs
//! every due repository poll (one per repository, serving all of its environments) and then
//! every due environment check concurrently, at most `[limits]` of them at once. A change seen
//! by a repository poll (new push, CI status change) makes that project's environments due at
//! once and resets their backoff. Polls are paced within GitHub's quota (`crate::budget`);
//! what concerns the watcher itself — offline, a wake-up, GitHub unavailable, the quota short —
//! is a [`Condition`] said once (`crate::conditions`, `crate::calm`), never an incident of each
//! environment; notices wait a coalescing window ([`COALESCE`]) and go out grouped by host.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deploywatch_config::Follows;
use deploywatch_core::{Backoff, IncidentEvent, IncidentState, Report, Sha};
use deploywatch_store::{ActionEvent, ActionRun, NotificationKey, NotificationKind, StoreError};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::time::Instant;

use crate::check::Engine;
use crate::conditions::GitHubWatch;
pub use crate::conditions::{Condition, ConditionKind};
use crate::notify::{Notice, Notifier};
use crate::repo::RepoSnapshot;

/// How long unchanged sample checks are kept (state changes are kept for ever).
const SAMPLE_RETENTION_DAYS: i64 = 90;

/// What the watcher can be told while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Check every environment (and poll every repository) now.
    CheckNow,
    /// No checks until the duration has passed or `Resume` arrives.
    Pause(Duration),
    Resume,
    /// Finish the round in progress and return.
    Stop,
}

/// What the watcher reports to whoever listens (the desktop app, the CLI's log).
#[derive(Clone, Debug)]
pub enum WatchEvent {
    Checked {
        report: Report,
        next_check_at: DateTime<Utc>,
    },
    Incident {
        notice: Notice,
        delivered: bool,
    },
    Paused {
        until: Option<DateTime<Utc>>,
    },
    /// A condition of the watcher itself began (`active`) or ended: said once each way, not
    /// per environment.
    Condition {
        condition: Condition,
        active: bool,
    },
    /// An incident action (`on_open`, `on_cause`, `on_resolve`) finished; it is recorded.
    Action {
        run: ActionRun,
    },
}

/// At most this many incident actions run at once, over the whole fleet; more wait their turn
/// (one environment's run one after another, in event order).
pub const MAX_ACTIONS_AT_ONCE: usize = 4;

/// An action run that finished, for the watcher loop: the environment's index and the run.
struct ActionDone {
    env: usize,
    run: ActionRun,
    recheck: bool,
}

/// How long a notice waits for others of its kind (same host, event and verdict) before it is
/// sent: environments failing together give one notice, and a lone alert comes this much later.
pub const COALESCE: Duration = Duration::from_secs(3);

/// A notice waiting for the coalescing window; `host` is its environment's build-info host.
struct Pending {
    notice: Notice,
    host: String,
    /// The environment's place in the config (project, environment): a grouped notice names
    /// its environments, and opens the first one's report, in config order.
    order: (usize, usize),
}

struct EnvSlot {
    project: usize,
    env: usize,
    backoff: Backoff,
    due: Instant,
    incident: IncidentState,
    incident_id: Option<i64>,
    /// Whether the open incident was announced (a repeat of an already-announced
    /// (environment, expected SHA, verdict) is not, and then neither is its resolve).
    announced: bool,
    last: Option<Last>,
    /// Whether its disk is running out, and whether that was announced (see `crate::disk`).
    disk: crate::disk::DiskWatch,
    /// Held by the environment's running action: its next one waits (events stay in order).
    action_lock: Arc<tokio::sync::Mutex<()>>,
    /// The open incident's latest action, shown in each of its reports (and in the one that
    /// resolves it) as the check `action`.
    action_check: Option<deploywatch_core::Check>,
    /// The commit status last written (or, after a restart, the one the stored state implies):
    /// a new one is written only when it changes (`crate::status`).
    status: Option<(Sha, deploywatch_github::StatusState)>,
    /// Status writes run in tasks of their own: each takes a number, and the gate (holding the
    /// number last written) lets them through in order and drops one overtaken by a later
    /// state, so GitHub never ends up showing an older state than the last one.
    status_seq: u64,
    status_gate: Arc<tokio::sync::Mutex<u64>>,
    /// `mute` (the environment's, else its project's): its notices are recorded and told to
    /// listeners as not delivered, never sent; its incidents, actions and statuses go on.
    muted: bool,
}

pub(crate) struct RepoSlot {
    project: usize,
    backoff: Backoff,
    /// The slowest it is polled when nothing happens: what the budget plans with.
    pub(crate) idle: Duration,
    due: Instant,
    pub(crate) snapshot: Option<RepoSnapshot>,
    /// Whether an environment follows the branch (the head and runs are read).
    branch: bool,
    /// How many environments follow GitHub Deployments (each poll reads theirs).
    deployments: u64,
}

impl RepoSlot {
    /// What one poll costs at most, in requests: the branch, and per environment that follows
    /// deployments the list and (usually) one status list. The runs are paced separately.
    pub(crate) fn cost(&self) -> u64 {
        u64::from(self.branch) + 2 * self.deployments
    }
}

/// The watcher component. Build it with [`Watcher::new`], keep the command sender, and
/// `run` it on a tokio runtime.
pub struct Watcher {
    pub(crate) engine: Arc<Engine>,
    notifier: Notifier,
    commands: mpsc::Receiver<Command>,
    pub(crate) events: broadcast::Sender<WatchEvent>,
    /// Incident actions: the fleet-wide bound, and where finished runs come back.
    action_slots: Arc<Semaphore>,
    actions_done: (
        mpsc::UnboundedSender<ActionDone>,
        mpsc::UnboundedReceiver<ActionDone>,
    ),
}

impl Watcher {
    pub fn new(
        engine: Arc<Engine>,
        notifier: Notifier,
    ) -> (
        Watcher,
        mpsc::Sender<Command>,
        broadcast::Sender<WatchEvent>,
    ) {
        let (tx, rx) = mpsc::channel(16);
        let (events, _) = broadcast::channel(256);
        // A webhook delivery that needed retries or failed is part of the history.
        let recorder = engine.clone();
        notifier.set_delivery_recorder(Arc::new(move |notice: &Notice, d: &crate::Delivery| {
            let at = Utc::now();
            if let Some(Err(e)) = recorder.with_store(|s| {
                s.record_delivery(&notice.project, &notice.environment, at, &d.summary())
            }) {
                tracing::warn!("could not record a webhook delivery: {e}");
            }
        }));
        (
            Watcher {
                engine,
                notifier,
                commands: rx,
                events: events.clone(),
                action_slots: Arc::new(Semaphore::new(MAX_ACTIONS_AT_ONCE)),
                actions_done: mpsc::unbounded_channel(),
            },
            tx,
            events,
        )
    }

    /// Runs until `Command::Stop` or until every command sender is dropped.
    pub async fn run(mut self) {
        let engine = self.engine.clone();
        let projects = &engine.config.projects;
        let now = Instant::now();
        // A project is polled for its branch head when an environment follows the branch,
        // and for deployments when one follows GitHub Deployments.
        let mut repos: Vec<RepoSlot> = projects
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.environments.is_empty())
            .map(|(i, p)| {
                let fast = p
                    .environments
                    .iter()
                    .map(|e| e.settings.fast_interval)
                    .min()
                    .unwrap_or(Duration::from_secs(10));
                let idle = p
                    .environments
                    .iter()
                    .map(|e| e.settings.idle_interval)
                    .min()
                    .unwrap_or(Duration::from_secs(300));
                RepoSlot {
                    project: i,
                    backoff: Backoff::new(fast, idle),
                    idle,
                    due: now,
                    snapshot: None,
                    branch: p.environments.iter().any(|e| e.follows == Follows::Branch),
                    deployments: p
                        .environments
                        .iter()
                        .filter(|e| e.follows == Follows::Deployments)
                        .count() as u64,
                }
            })
            .collect();
        let mut envs: Vec<EnvSlot> = Vec::new();
        for (pi, p) in projects.iter().enumerate() {
            for (ei, e) in p.environments.iter().enumerate() {
                let stored = engine
                    .with_store(|s| s.env_state(&p.name, &e.name).ok().flatten())
                    .flatten();
                let open = engine
                    .with_store(|s| s.open_incident_for(&p.name, &e.name).ok().flatten())
                    .flatten();
                let incident = stored
                    .as_ref()
                    .map(|s| s.incident.clone())
                    .unwrap_or_default();
                envs.push(EnvSlot {
                    project: pi,
                    env: ei,
                    backoff: Backoff::new(e.settings.fast_interval, e.settings.idle_interval),
                    due: now,
                    // An incident still open in the database was announced by an earlier run.
                    announced: open.is_some(),
                    incident_id: open.map(|i| i.id),
                    incident,
                    last: stored.as_ref().map(|s| Last::of(&s.report)),
                    disk: crate::disk::DiskWatch::restore(&engine, &p.name, &e.name),
                    action_lock: Arc::default(),
                    action_check: None,
                    status_seq: 0,
                    status_gate: Arc::default(),
                    muted: p.muted(e),
                    status: stored.as_ref().and_then(|s| {
                        crate::status::wanted(&s.report, s.incident.open).map(|w| (w.0, w.1))
                    }),
                });
            }
        }
        self.interrupted_actions(&mut envs);
        let mut paused_until: Option<Instant> = None;
        // Whether the GitHub budget shortfall was said (and not yet its end).
        let mut budget_said = false;
        let mut github = GitHubWatch::default();
        let mut network = crate::calm::Network::new();
        // Notices waiting for the coalescing window, and when it closes.
        let mut pending: Vec<Pending> = Vec::new();
        let mut flush_at: Option<Instant> = None;
        // Unchanged sample checks older than the retention are dropped once per start and
        // once a day; every change and the history stay.
        let mut next_prune = Instant::now();

        loop {
            let next = repos
                .iter()
                .map(|r| r.due)
                .chain(envs.iter().map(|e| e.due))
                .min();
            let wake = match (paused_until, next) {
                (Some(p), _) => p,
                (None, Some(n)) => n,
                (None, None) => Instant::now() + Duration::from_secs(3600),
            };
            let wake = flush_at.map_or(wake, |f| f.min(wake));
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Stop) => {
                        self.flush(std::mem::take(&mut pending)).await;
                        return;
                    }
                    Some(Command::CheckNow) => {
                        paused_until = None;
                        let now = Instant::now();
                        repos.iter_mut().for_each(|r| r.due = now);
                        envs.iter_mut().for_each(|e| e.due = now);
                        continue;
                    }
                    Some(Command::Pause(d)) => {
                        paused_until = Some(Instant::now() + d);
                        let until = Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
                        let _ = self.events.send(WatchEvent::Paused { until: Some(until) });
                        continue;
                    }
                    Some(Command::Resume) => {
                        paused_until = None;
                        let _ = self.events.send(WatchEvent::Paused { until: None });
                        continue;
                    }
                },
                Some(done) = self.actions_done.1.recv() => {
                    let slot = &mut envs[done.env];
                    let open = slot.incident.open.is_some();
                    if open || done.run.event == ActionEvent::Resolve {
                        slot.action_check = Some(crate::action::check_of(&done.run));
                    }
                    if done.recheck && open && done.run.outcome.succeeded() {
                        // The fix may have worked: look now, not on the backoff.
                        slot.backoff.reset();
                        slot.due = Instant::now();
                    }
                    let _ = self.events.send(WatchEvent::Action { run: done.run });
                    continue;
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            if let Some(p) = paused_until {
                if Instant::now() < p {
                    continue;
                }
                paused_until = None;
                let _ = self.events.send(WatchEvent::Paused { until: None });
            }

            if flush_at.is_some_and(|f| f <= Instant::now()) {
                flush_at = None;
                self.flush(std::mem::take(&mut pending)).await;
            }
            if network.turn() {
                // Woke from a suspend: look again before judging anything.
                tracing::info!("woke from a suspend: checking everything again");
                let now = Instant::now();
                repos.iter_mut().for_each(|r| r.due = now);
                envs.iter_mut().for_each(|e| e.due = now);
            }

            if Instant::now() >= next_prune {
                let cutoff = Utc::now() - chrono::Duration::days(SAMPLE_RETENTION_DAYS);
                if let Some(Err(e)) = engine.with_store(|s| s.prune(cutoff)) {
                    tracing::warn!("could not prune old checks: {e}");
                }
                next_prune = Instant::now() + Duration::from_secs(24 * 3600);
            }

            // Repository polls first, so environment checks see the newest push and CI state.
            let polled = self.poll_due(&mut repos, &envs).await;
            self.follow_github(&polled, &mut github);
            for (i, snap) in polled {
                let slot = &mut repos[i];
                if snap.changed {
                    if let Ok(head) = &snap.head {
                        engine.record_push_lag(&projects[slot.project], head);
                    }
                    let now = Instant::now();
                    for e in envs.iter_mut().filter(|e| e.project == slot.project) {
                        e.backoff.reset();
                        e.due = e.due.min(now);
                    }
                }
                slot.due = Instant::now() + slot.backoff.next(snap.changed);
                slot.snapshot = Some(snap);
            }
            self.follow_budget(&repos, &mut budget_said);

            let now = Instant::now();
            let due_envs: Vec<usize> = (0..envs.len()).filter(|i| envs[*i].due <= now).collect();
            if due_envs.is_empty() {
                continue;
            }
            // A round of many due environments runs under `[limits]` (at most N checks at once,
            // per-host limit, projects taking turns), not all at once; each environment's next
            // check is timed from when its own check finished, so a large round stays spread
            // out in the rounds after it.
            let targets: Vec<(usize, usize)> = due_envs
                .iter()
                .map(|i| (envs[*i].project, envs[*i].env))
                .collect();
            let jobs = targets
                .iter()
                .map(|(p, e)| crate::limit::Job {
                    group: *p,
                    host: crate::limit::host_key(&projects[*p].environments[*e].build_info_url),
                })
                .collect();
            let (targets, repos_ref, eng) = (&targets, &repos, &*engine);
            let mut checks = crate::limit::Bounded::new(jobs, eng.limits, |i| async move {
                let (pi, ei) = targets[i];
                let project = &projects[pi];
                let snapshot = repos_ref
                    .iter()
                    .find(|r| r.project == pi)
                    .and_then(|r| r.snapshot.as_ref());
                let (report, reach) = eng
                    .check_reach(project, &project.environments[ei], snapshot, None)
                    .await;
                (i, (report, reach, Instant::now()))
            });
            // Each check is taken as it finishes (a round's reports are never all held at
            // once), except those that could not connect: whether they say something about
            // the environment or about the watcher's own network is known only at the end of
            // the round (`crate::calm`).
            use crate::check::Reach;
            let mut busy_projects = Vec::new();
            let mut answered = false;
            let mut unconnected = Vec::new();
            while let Some((i, (report, reach, finished))) = checks.next().await {
                if reach == Reach::Unreachable {
                    unconnected.push((due_envs[i], report, finished));
                    continue;
                }
                answered = true;
                let slot = &mut envs[due_envs[i]];
                let taken = self
                    .take(slot, due_envs[i], report, finished, repos_ref, &mut pending)
                    .await;
                if taken {
                    busy_projects.push(slot.project);
                }
            }
            drop(checks);
            let (judgement, change) = network
                .judge(
                    answered,
                    !unconnected.is_empty(),
                    engine.github.answers(crate::calm::NETWORK_TEST_TIMEOUT),
                )
                .await;
            let back_online = matches!(change, Some(crate::calm::Change::BackOnline { .. }));
            if let Some(change) = change {
                self.say_network(change);
            }
            if network.is_offline() || back_online {
                // Offline explains GitHub's silence; after it, the next polls tell.
                github.pending = None;
            } else {
                self.confirm_github(&mut github, judgement == crate::calm::Judgement::Judge);
            }
            for (i, report, finished) in unconnected {
                let slot = &mut envs[i];
                if judgement == crate::calm::Judgement::Hold {
                    // Offline (or waking up): this check says nothing about the environment.
                    // Its last verdict stands; it is tried again on its backoff.
                    slot.due = finished + slot.backoff.next(false);
                    continue;
                }
                if self
                    .take(slot, i, report, finished, repos_ref, &mut pending)
                    .await
                {
                    busy_projects.push(slot.project);
                }
            }
            if !pending.is_empty() {
                // Held for the coalescing window, to go out with others of its kind.
                flush_at.get_or_insert(Instant::now() + COALESCE);
            }
            // While an environment is changing or deploying, CI state matters: keep its
            // repository on the fast schedule too.
            for r in repos
                .iter_mut()
                .filter(|r| busy_projects.contains(&r.project))
            {
                r.backoff.reset();
                r.due = r.due.min(Instant::now() + r.backoff.current());
            }
            if back_online {
                // Every environment again at once, so the first real alert waits for nothing
                // but its own `confirm` checks.
                let now = Instant::now();
                repos.iter_mut().for_each(|r| r.due = now);
                envs.iter_mut().for_each(|e| e.due = now);
            }
        }
    }

    /// Takes one check's report: backoff, incident, history, notices (into `pending`, for
    /// the coalescing window), disk, the event to listeners. `true` when the environment is
    /// changing or deploying (its repository then stays on the fast schedule).
    async fn take(
        &self,
        slot: &mut EnvSlot,
        env_index: usize,
        report: Report,
        finished: Instant,
        repos: &[RepoSlot],
        pending: &mut Vec<Pending>,
    ) -> bool {
        let engine = &self.engine;
        let projects = &engine.config.projects;
        let project = &projects[slot.project];
        let settings = &project.environments[slot.env].settings;
        let last = Last::of(&report);
        let changed = slot.last.as_ref() != Some(&last);
        let delay = slot.backoff.next(changed);
        slot.due = finished + delay;
        let next_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        // The SHA an incident is about is the one it opened with; `observe` forgets it
        // on resolve.
        let incident_sha = slot.incident.expected.clone();
        // Unverifiable only because GitHub cannot be read now (and no head is known):
        // the watcher's condition, said once for the fleet, not an incident here.
        let env = &project.environments[slot.env];
        let snapshot = repos
            .iter()
            .find(|r| r.project == slot.project)
            .and_then(|r| r.snapshot.as_ref());
        let github_down = report.verdict == deploywatch_core::Verdict::Unverifiable
            && snapshot.is_some_and(|s| match env.follows {
                Follows::Branch => s.head.is_err() && s.transient_failure.is_some(),
                Follows::Deployments => s
                    .deployment(&env.name)
                    .is_some_and(|d| d.found.is_err() && d.transient.is_some()),
            });
        let event = if github_down {
            None
        } else {
            slot.incident.observe(
                report.verdict,
                report.expected_sha.as_ref(),
                settings.confirm,
            )
        };
        let mut report = report;
        if matches!(event, Some(IncidentEvent::Opened { .. })) {
            // A new incident: an earlier one's action says nothing about it.
            slot.action_check = None;
        }
        if let Some(check) = &slot.action_check {
            // Evidence of the open incident (and of the check that resolves it).
            report.checks.push(check.clone());
            if slot.incident.open.is_none() {
                slot.action_check = None;
            }
        }
        engine.record(&report, changed, &slot.incident, Some(next_at));
        let incident_before = slot.incident_id;
        if let Some(event) = event
            && let Some(notice) = self
                .announce(slot, &event, &report, incident_sha.clone())
                .await
        {
            self.start_action(
                slot,
                env_index,
                &event,
                &report,
                incident_sha,
                incident_before,
            );
            self.hold(slot, notice, env, pending);
        }
        if engine.config.github.commit_statuses {
            self.follow_status(slot, &report, snapshot);
        }
        // After the resolve it may come with: the incident ends, then the deploy is live.
        if let Some(notice) = self.verified_live(slot, &report) {
            self.hold(slot, notice, env, pending);
        }
        slot.disk
            .follow(
                engine,
                &self.notifier,
                &self.events,
                &report,
                settings.confirm,
                slot.muted,
            )
            .await;
        let busy = changed || report.verdict == deploywatch_core::Verdict::Deploying;
        slot.last = Some(last);
        let _ = self.events.send(WatchEvent::Checked {
            report,
            next_check_at: next_at,
        });
        busy
    }

    /// Polls the due repositories within GitHub's budget (`crate::budget`): first reads, then
    /// repositories whose environments need attention, then the rest; all heads before any
    /// runs. A poll the budget holds back is rescheduled for when it fits, and its snapshot
    /// says so (checks then state the age of the head they compare with).
    async fn poll_due(
        &self,
        repos: &mut [RepoSlot],
        envs: &[EnvSlot],
    ) -> Vec<(usize, RepoSnapshot)> {
        let engine = &*self.engine;
        let projects = &engine.config.projects;
        let now = Instant::now();
        let attention = |project: usize| {
            envs.iter().filter(|e| e.project == project).any(|e| {
                e.last
                    .as_ref()
                    .is_none_or(|r| r.verdict != deploywatch_core::Verdict::Live)
            })
        };
        let mut due: Vec<usize> = (0..repos.len()).filter(|i| repos[*i].due <= now).collect();
        due.sort_by_key(|i| {
            let r = &repos[*i];
            (r.snapshot.is_some(), !attention(r.project), r.due)
        });
        let utc = Utc::now();
        let rate = engine.github.rate_estimate();
        let mut planned = 0u64;
        let mut admitted = Vec::new();
        for i in due {
            let slot = &mut repos[i];
            // A repository never read has nothing to compare with: only GitHub's own gate
            // holds its first read back.
            let paced = match (&slot.snapshot, rate) {
                (Some(_), Some(rate)) => crate::budget::ramp(&rate, utc, planned + slot.cost()),
                _ => Ok(()),
            };
            match paced {
                Ok(()) => {
                    planned += slot.cost();
                    admitted.push(i);
                }
                Err(at) => {
                    slot.due = now + (at - utc).to_std().unwrap_or_default();
                    if let Some(snap) = &mut slot.snapshot {
                        snap.deferred_until = Some(at);
                    }
                }
            }
        }
        let repos_ref = &*repos;
        let heads = futures_util::future::join_all(admitted.iter().map(|i| async move {
            let slot = &repos_ref[*i];
            if slot.branch {
                engine
                    .read_head(&projects[slot.project], slot.snapshot.as_ref(), true)
                    .await
            } else {
                RepoSnapshot::empty(Utc::now())
            }
        }))
        .await;
        let mut polled: Vec<(usize, RepoSnapshot)> = admitted.into_iter().zip(heads).collect();

        // The runs, where they can have changed: a new head's whenever GitHub allows, a
        // refresh within the budget.
        let utc = Utc::now();
        let rate = engine.github.rate_estimate();
        let mut planned = 0u64;
        let mut reads = Vec::new();
        for (i, snap) in &mut polled {
            let slot = &repos_ref[*i];
            let project = &projects[slot.project];
            let go = match engine.runs_wanted(project, snap, slot.snapshot.as_ref(), utc) {
                crate::repo::RunsRead::Skip => false,
                crate::repo::RunsRead::New => true,
                crate::repo::RunsRead::Refresh => {
                    rate.is_none_or(|rate| crate::budget::ramp(&rate, utc, planned + 1).is_ok())
                }
            };
            if go {
                planned += 1;
                reads.push(engine.read_runs(project, snap));
            }
        }
        futures_util::future::join_all(reads).await;
        let deployments = polled.iter_mut().filter_map(|(i, snap)| {
            let slot = &repos_ref[*i];
            (slot.deployments > 0).then(|| {
                engine.read_deployments(&projects[slot.project], snap, slot.snapshot.as_ref())
            })
        });
        futures_util::future::join_all(deployments).await;
        for (i, snap) in &mut polled {
            let slot = &repos_ref[*i];
            engine.finish_poll(&projects[slot.project], snap, slot.snapshot.as_ref());
        }
        polled
    }

    /// With `[notifications] verified_live`: the notice that the expected SHA is live, when
    /// this check is the first to see it (the one before saw something else; a watcher's very
    /// first look at an environment announces nothing) — at most once per environment and SHA,
    /// across restarts.
    fn verified_live(&self, slot: &EnvSlot, report: &Report) -> Option<Notice> {
        let engine = &self.engine;
        if !engine.config.notifications.verified_live
            || report.verdict != deploywatch_core::Verdict::Live
        {
            return None;
        }
        let sha = report.live_sha.as_ref()?;
        if report.expected_sha.as_ref() != Some(sha) {
            return None;
        }
        let last = slot.last.as_ref()?;
        if last.verdict == deploywatch_core::Verdict::Live && last.live_sha.as_ref() == Some(sha) {
            return None;
        }
        let (p, e) = (report.project.as_str(), report.environment.as_str());
        let key = NotificationKey {
            project: p.to_string(),
            environment: e.to_string(),
            expected_sha: Some(sha.clone()),
            verdict: deploywatch_core::Verdict::Live,
            kind: NotificationKind::Live,
        };
        let first = engine
            .with_store(|s| {
                s.claim_notification(&key, None, report.checked_at)
                    .unwrap_or(true)
            })
            .unwrap_or(true);
        if !first {
            return None;
        }
        let (to_live, to_ci) = self.lag_of(report, sha);
        Some(Notice::verified_live(report, to_live, to_ci))
    }

    /// Writes the environment's commit status when the state it implies changed (and, for a
    /// deployment verified live, a deployment status), in a task of its own: GitHub's answer
    /// never holds up a check. A refused write is logged; the state is not retried per poll.
    fn follow_status(&self, slot: &mut EnvSlot, report: &Report, snapshot: Option<&RepoSnapshot>) {
        let Some((sha, state, description)) = crate::status::wanted(report, slot.incident.open)
        else {
            return;
        };
        if slot.status.as_ref() == Some(&(sha.clone(), state)) {
            return;
        }
        slot.status = Some((sha.clone(), state));
        let project = &self.engine.config.projects[slot.project];
        let env = &project.environments[slot.env];
        let description = match state {
            deploywatch_github::StatusState::Success => {
                let (to_live, _) = self.lag_of(report, &sha);
                match to_live {
                    Some(lag) => format!(
                        "{description}, {} after the push",
                        deploywatch_core::human_duration(lag)
                    ),
                    None => description,
                }
            }
            _ => description,
        };
        let deployment = (state == deploywatch_github::StatusState::Success
            && env.follows == Follows::Deployments)
            .then(|| {
                snapshot
                    .and_then(|s| s.deployment(&env.name))
                    .and_then(|d| d.found.as_ref().ok().cloned().flatten())
                    .filter(|d| d.sha == sha)
                    .map(|d| d.deployment_id)
            })
            .flatten();
        let write = deploywatch_github::StatusWrite {
            state,
            context: crate::status::context(&env.name),
            description: description.clone(),
            target_url: None,
        };
        let (engine, repo) = (self.engine.clone(), crate::check::repo_ref(project));
        let place = format!("{}/{}", report.project, report.environment);
        slot.status_seq += 1;
        let (seq, gate) = (slot.status_seq, slot.status_gate.clone());
        tokio::spawn(async move {
            let mut written = gate.lock().await;
            if *written > seq {
                // A later state was written first: this one is history already.
                return;
            }
            *written = seq;
            match engine
                .github
                .create_commit_status(&repo, &sha, &write)
                .await
            {
                Ok(_) => tracing::info!(
                    "{place}: commit status {} {} on {}",
                    write.context,
                    write.state.as_str(),
                    sha.short()
                ),
                Err(e) => tracing::warn!("{place}: could not write the commit status: {e}"),
            }
            if let Some(id) = deployment {
                let status = deploywatch_github::DeploymentStatusWrite {
                    state: deploywatch_github::DeploymentState::Success,
                    description: format!("Verified live by Deploywatch: {description}"),
                    environment_url: None,
                    log_url: None,
                };
                if let Err(e) = engine
                    .github
                    .create_deployment_status(&repo, id, &status)
                    .await
                {
                    tracing::warn!("{place}: could not write the deployment status: {e}");
                }
            }
        });
    }

    /// From push to first seen live, and from push to CI green, of `sha` in this environment,
    /// where the store observed them.
    fn lag_of(&self, report: &Report, sha: &Sha) -> (Option<Duration>, Option<Duration>) {
        let (p, e) = (report.project.as_str(), report.environment.as_str());
        let lag = self
            .engine
            .with_store(|s| s.deploy_lags(Some(p), Some(e), 50).ok())
            .flatten()
            .and_then(|lags| lags.into_iter().find(|l| &l.sha == sha));
        let span = |d: Option<chrono::TimeDelta>| d.and_then(|d| d.to_std().ok());
        (
            lag.as_ref().and_then(|l| span(l.push_to_live())),
            lag.as_ref().and_then(|l| span(l.push_to_ci())),
        )
    }

    /// Starts the environment's command for an announced incident event, if the config has
    /// one: in a task of its own (checks go on meanwhile), after the environment's previous
    /// run and within [`MAX_ACTIONS_AT_ONCE`]. The run is recorded by the task, so a watcher
    /// restarted by a config edit meanwhile loses nothing; the loop hears of it to re-check.
    fn start_action(
        &self,
        slot: &EnvSlot,
        env_index: usize,
        event: &IncidentEvent,
        report: &Report,
        incident_sha: Option<Sha>,
        incident_before: Option<i64>,
    ) {
        let project = &self.engine.config.projects[slot.project];
        let env = &project.environments[slot.env];
        let actions = &env.actions;
        let (kind, command, verdict, previous, expected, incident_id) = match event {
            IncidentEvent::Opened { verdict } => (
                ActionEvent::Open,
                &actions.on_open,
                *verdict,
                None,
                report.expected_sha.clone(),
                slot.incident_id,
            ),
            IncidentEvent::CauseChanged { from, to } => (
                ActionEvent::Cause,
                &actions.on_cause,
                *to,
                Some(*from),
                report.expected_sha.clone(),
                slot.incident_id,
            ),
            IncidentEvent::Resolved { last } => (
                ActionEvent::Resolve,
                &actions.on_resolve,
                *last,
                None,
                incident_sha.or_else(|| report.expected_sha.clone()),
                incident_before,
            ),
        };
        if command.is_empty() {
            return;
        }
        let request = crate::action::ActionRequest {
            event: kind,
            command: command.clone(),
            timeout: actions.timeout,
            report: report.clone(),
            verdict,
            previous,
            expected_sha: expected,
            incident_id,
            repo: project.repo.to_string(),
            build_info_url: env.build_info_url.clone(),
            config_path: self.engine.config.source.clone(),
        };
        let recheck = actions.recheck && kind != ActionEvent::Resolve;
        let (engine, lock, slots) = (
            self.engine.clone(),
            slot.action_lock.clone(),
            self.action_slots.clone(),
        );
        let done = self.actions_done.0.clone();
        tracing::info!(
            "{}/{}: running {} {:?}",
            report.project,
            report.environment,
            kind.key(),
            request.command
        );
        tokio::spawn(async move {
            let _turn = lock.lock().await;
            let Ok(_slot) = slots.acquire().await else {
                return;
            };
            // Recorded as started first: if this process ends before the command, the next
            // watcher finds the run and records it interrupted.
            let started = Utc::now();
            let begun = engine.with_store(|s| {
                s.begin_action_run(&request.started(started), request.runner(started))
            });
            let mut run = crate::action::run(&request).await;
            let (p, e) = (&run.project, &run.environment);
            if run.outcome.succeeded() {
                tracing::info!("{p}/{e}: {}", run.summary());
            } else {
                tracing::warn!("{p}/{e}: {}", run.summary());
            }
            let stored = match begun {
                Some(Ok(id)) => engine.with_store(|s| s.finish_action_run(id, &run).map(|()| id)),
                _ => engine.with_store(|s| s.record_action_run(&run)),
            };
            match stored {
                Some(Ok(id)) => run.id = Some(id),
                Some(Err(err)) => {
                    tracing::warn!("could not record the action run of {p}/{e}: {err}")
                }
                None => {}
            }
            let _ = done.send(ActionDone {
                env: env_index,
                run,
                recheck,
            });
        });
    }

    /// Runs an earlier watcher started and did not see end (it crashed, was killed, or the
    /// computer went down): each is recorded as interrupted, reported like a finished run, and
    /// shown in its open incident's reports. Runs of a watcher still running are left alone.
    fn interrupted_actions(&self, envs: &mut [EnvSlot]) {
        let found = self
            .engine
            .with_store(|s| s.interrupt_action_runs(Utc::now(), crate::action::runner_liveness));
        let runs = match found {
            Some(Ok(runs)) => runs,
            Some(Err(e)) => {
                tracing::warn!("could not look for interrupted incident actions: {e}");
                return;
            }
            None => return,
        };
        let projects = &self.engine.config.projects;
        for run in runs {
            tracing::warn!("{}/{}: {}", run.project, run.environment, run.summary());
            let slot = envs.iter_mut().find(|slot| {
                let p = &projects[slot.project];
                p.name == run.project && p.environments[slot.env].name == run.environment
            });
            if let Some(slot) = slot
                && slot.incident_id.is_some()
                && slot.incident_id == run.incident_id
            {
                slot.action_check = Some(crate::action::check_of(&run));
            }
            let _ = self.events.send(WatchEvent::Action { run });
        }
    }

    /// Records an incident event and sends its notice, at most once per (project,
    /// environment, expected SHA, verdict, kind) — even across restarts.
    async fn announce(
        &self,
        slot: &mut EnvSlot,
        event: &IncidentEvent,
        report: &Report,
        incident_sha: Option<Sha>,
    ) -> Option<Notice> {
        let engine = &self.engine;
        let at = report.checked_at;
        let (p, e) = (report.project.as_str(), report.environment.as_str());
        // One match gives what the store records, the notification kind, the verdict named
        // and the SHA the notice belongs to (a resolve belongs to the incident's SHA, not the
        // one that is now live).
        let (kind, verdict, expected) = match event {
            IncidentEvent::Opened { verdict } => {
                // An incident left open by an earlier run is the same incident: reuse its id.
                slot.incident_id = engine
                    .with_store(|s| {
                        match s.open_incident(p, e, *verdict, report.expected_sha.as_ref(), at) {
                            Ok(id) | Err(StoreError::IncidentAlreadyOpen { id, .. }) => Some(id),
                            Err(err) => {
                                tracing::warn!("could not record the incident of {p}/{e}: {err}");
                                None
                            }
                        }
                    })
                    .flatten();
                (
                    NotificationKind::Open,
                    *verdict,
                    report.expected_sha.clone(),
                )
            }
            IncidentEvent::CauseChanged { to, .. } => {
                if let Some(id) = slot.incident_id
                    && let Some(Err(err)) =
                        engine.with_store(|s| s.change_incident_cause(id, *to, at))
                {
                    tracing::warn!("could not record the new cause of {p}/{e}'s incident: {err}");
                }
                (NotificationKind::Cause, *to, report.expected_sha.clone())
            }
            IncidentEvent::Resolved { last } => {
                if let Some(id) = slot.incident_id.take()
                    && let Some(Err(err)) = engine.with_store(|s| s.resolve_incident(id, at))
                {
                    tracing::warn!("could not record the resolve of {p}/{e}'s incident: {err}");
                }
                (
                    NotificationKind::Resolve,
                    *last,
                    incident_sha.or_else(|| report.expected_sha.clone()),
                )
            }
        };
        let key = NotificationKey {
            project: p.to_string(),
            environment: e.to_string(),
            expected_sha: expected,
            verdict,
            kind,
        };
        let first = engine
            .with_store(|s| {
                s.claim_notification(&key, slot.incident_id, at)
                    .unwrap_or(true)
            })
            .unwrap_or(true);
        let send = match kind {
            NotificationKind::Resolve => first && std::mem::take(&mut slot.announced),
            _ => {
                slot.announced |= first;
                first
            }
        };
        let notice = Notice::new(event, report);
        if send {
            return Some(notice);
        }
        let _ = self.events.send(WatchEvent::Incident {
            notice,
            delivered: false,
        });
        None
    }

    /// Puts a notice in the coalescing window (`pending`) — or, for a muted environment, tells
    /// the listeners of it as not delivered at once: nothing is sent, nothing waits.
    fn hold(
        &self,
        slot: &EnvSlot,
        notice: Notice,
        env: &deploywatch_config::Environment,
        pending: &mut Vec<Pending>,
    ) {
        if slot.muted {
            let _ = self.events.send(WatchEvent::Incident {
                notice,
                delivered: false,
            });
            return;
        }
        pending.push(Pending {
            notice,
            host: crate::limit::host_name(&env.build_info_url),
            order: (slot.project, slot.env),
        });
    }

    /// Sends what waited for the coalescing window: environments on one host with the same
    /// event and verdict as one notice naming them all, any other alone. Each environment
    /// keeps its own incident and its own [`WatchEvent::Incident`].
    async fn flush(&self, mut pending: Vec<Pending>) {
        let mut groups: Vec<(String, Vec<Notice>)> = Vec::new();
        pending.sort_by_key(|p| p.order);
        for Pending { notice, host, .. } in pending {
            match groups.iter_mut().find(|(h, g)| {
                *h == host && g[0].kind == notice.kind && g[0].verdict == notice.verdict
            }) {
                Some((_, group)) => group.push(notice),
                None => groups.push((host, vec![notice])),
            }
        }
        for (host, group) in groups {
            let delivered = match group.split_first() {
                Some((one, [])) => self.notifier.send(one).await.is_empty(),
                Some((first, others)) => {
                    let notice = Notice::grouped(first, others, &host);
                    self.notifier.send(&notice).await.is_empty()
                }
                None => continue,
            };
            for notice in group {
                let _ = self.events.send(WatchEvent::Incident { notice, delivered });
            }
        }
    }
}

/// Whether a check differs from the previous one in anything that resets the backoff:
/// verdict, expected SHA, live SHA, the SHAs seen or the CI state.
pub(crate) fn differs(a: &Report, b: &Report) -> bool {
    Last::of(a) != Last::of(b)
}

/// What the watcher keeps of an environment's last check: what [`differs`] compares, nothing
/// more. The whole report (checks, hint, warnings: a few KB) is in the store and in the event
/// sent to listeners; kept per environment it would be most of a large fleet's memory.
#[derive(Clone, Debug, PartialEq)]
struct Last {
    verdict: deploywatch_core::Verdict,
    expected_sha: Option<Sha>,
    live_sha: Option<Sha>,
    seen: Vec<deploywatch_core::SeenSha>,
    ci: Option<(String, Option<String>)>,
}

impl Last {
    fn of(r: &Report) -> Last {
        Last {
            verdict: r.verdict,
            expected_sha: r.expected_sha.clone(),
            live_sha: r.live_sha.clone(),
            seen: r.seen.clone(),
            ci: r
                .ci
                .as_ref()
                .map(|c| (c.status.clone(), c.conclusion.clone())),
        }
    }
}

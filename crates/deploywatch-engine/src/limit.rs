//! Bounded concurrency for checks (`[limits]`): at most `max_concurrent_checks` in flight,
//! at most `max_checks_per_host` of them against one host, started round-robin across
//! projects so a project with many environments cannot hold every slot.
//!
//! `verify` over many environments and each round of the watcher go through [`Bounded`]
//! instead of starting every check at once: a fleet of 10,000 environments then has at most
//! 64 checks (their sockets, buffers and futures) alive at a time, and one slow host at most 8.

use std::collections::{HashMap, VecDeque};
use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

/// The limits, from the config's `[limits]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max: usize,
    pub per_host: usize,
}

impl Limits {
    pub fn from_config(l: &deploywatch_config::Limits) -> Limits {
        Limits {
            max: usize::try_from(l.max_concurrent_checks)
                .unwrap_or(usize::MAX)
                .max(1),
            per_host: usize::try_from(l.max_checks_per_host)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }
}

/// The host a check's requests go to, for the per-host limit: scheme, host and port of its
/// build-info URL (an unparsable URL is its own host).
pub(crate) fn host_key(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_string(),
    }
}

/// The host of a build-info URL as people name it: `shop.example.com`, `127.0.0.1:8080` (the
/// port only when it is not the scheme's default).
pub(crate) fn host_name(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// One job: its group (the project, for fairness) and host (for the per-host limit).
pub(crate) struct Job {
    pub group: usize,
    pub host: String,
}

/// Runs jobs `0..jobs.len()` under [`Limits`]. `start(i)` makes job `i`'s future, which must
/// resolve to `(i, output)`. Jobs start in round-robin order over groups (first job of each
/// group, then the second, …), each group in its given order, skipping a group whose next job's
/// host is at its limit until a slot frees.
pub(crate) struct Bounded<F, Fut> {
    /// Per group, the jobs not started yet (indices), in order; empty groups are dropped.
    queues: Vec<VecDeque<usize>>,
    cursor: usize,
    host_of: Vec<usize>,
    in_flight_per_host: Vec<usize>,
    running: FuturesUnordered<Fut>,
    limits: Limits,
    start: F,
}

impl<T, F, Fut> Bounded<F, Fut>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = (usize, T)>,
{
    pub fn new(jobs: Vec<Job>, limits: Limits, start: F) -> Self {
        let mut hosts: HashMap<String, usize> = HashMap::new();
        let mut groups: Vec<(usize, VecDeque<usize>)> = Vec::new();
        let mut host_of = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.into_iter().enumerate() {
            let next = hosts.len();
            host_of.push(*hosts.entry(job.host).or_insert(next));
            match groups.iter_mut().find(|(g, _)| *g == job.group) {
                Some((_, q)) => q.push_back(i),
                None => groups.push((job.group, VecDeque::from([i]))),
            }
        }
        Bounded {
            queues: groups.into_iter().map(|(_, q)| q).collect(),
            cursor: 0,
            host_of,
            in_flight_per_host: vec![0; hosts.len()],
            running: FuturesUnordered::new(),
            limits,
            start,
        }
    }

    /// Starts what the limits allow, round-robin over the groups.
    fn fill(&mut self) {
        let mut blocked = 0;
        while self.running.len() < self.limits.max && blocked < self.queues.len() {
            let g = self.cursor % self.queues.len();
            let Some(&i) = self.queues[g].front() else {
                unreachable!("empty groups are removed")
            };
            let host = self.host_of[i];
            if self.in_flight_per_host[host] >= self.limits.per_host {
                blocked += 1;
                self.cursor = g + 1;
                continue;
            }
            blocked = 0;
            self.queues[g].pop_front();
            if self.queues[g].is_empty() {
                self.queues.remove(g);
                self.cursor = g;
            } else {
                self.cursor = g + 1;
            }
            self.in_flight_per_host[host] += 1;
            self.running.push((self.start)(i));
        }
    }

    /// The next job to finish, or `None` when every job has finished.
    pub async fn next(&mut self) -> Option<(usize, T)> {
        self.fill();
        let (i, out) = self.running.next().await?;
        self.in_flight_per_host[self.host_of[i]] -= 1;
        Some((i, out))
    }

    /// Every job's output, in job order.
    #[cfg(test)]
    pub async fn collect(mut self) -> Vec<T> {
        let mut out: Vec<Option<T>> = Vec::new();
        out.resize_with(self.host_of.len(), || None);
        while let Some((i, v)) = self.next().await {
            out[i] = Some(v);
        }
        out.into_iter()
            .map(|v| v.expect("every job finishes once"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Probe {
        now: usize,
        most: usize,
        per_host_now: HashMap<usize, usize>,
        per_host_most: usize,
        started: Vec<usize>,
    }

    async fn run(jobs: &[(usize, usize)], limits: Limits) -> (Probe, Vec<usize>) {
        let probe = Mutex::new(Probe {
            now: 0,
            most: 0,
            per_host_now: HashMap::new(),
            per_host_most: 0,
            started: Vec::new(),
        });
        let list = jobs
            .iter()
            .map(|(g, h)| Job {
                group: *g,
                host: format!("h{h}"),
            })
            .collect();
        let probe_ref = &probe;
        let out = Bounded::new(list, limits, |i| async move {
            let host = jobs[i].1;
            {
                let mut p = probe_ref.lock().unwrap();
                p.now += 1;
                p.most = p.most.max(p.now);
                let h = p.per_host_now.entry(host).or_default();
                *h += 1;
                let h = *h;
                p.per_host_most = p.per_host_most.max(h);
                p.started.push(i);
            }
            tokio::time::sleep(Duration::from_millis(1 + (i % 3) as u64)).await;
            let mut p = probe_ref.lock().unwrap();
            p.now -= 1;
            *p.per_host_now.get_mut(&host).unwrap() -= 1;
            (i, i * 10)
        })
        .collect()
        .await;
        (probe.into_inner().unwrap(), out)
    }

    #[tokio::test]
    async fn at_most_max_at_once_and_per_host() {
        // 300 jobs: 3 groups, 10 hosts.
        let jobs: Vec<(usize, usize)> = (0..300).map(|i| (i % 3, i % 10)).collect();
        let (p, out) = run(
            &jobs,
            Limits {
                max: 16,
                per_host: 2,
            },
        )
        .await;
        assert_eq!(
            out,
            (0..300).map(|i| i * 10).collect::<Vec<_>>(),
            "in job order"
        );
        assert_eq!(p.most, 16);
        assert_eq!(p.per_host_most, 2);
        assert_eq!(p.started.len(), 300);
    }

    #[tokio::test]
    async fn groups_take_turns() {
        // Group 0 has 100 jobs listed first, group 1 has 3: group 1 starts among the first.
        let mut jobs: Vec<(usize, usize)> = (0..100).map(|i| (0, i)).collect();
        jobs.extend((0..3).map(|i| (1, 200 + i)));
        let (p, _) = run(
            &jobs,
            Limits {
                max: 4,
                per_host: 8,
            },
        )
        .await;
        let first: Vec<usize> = p.started[..6].to_vec();
        assert_eq!(first, [0, 100, 1, 101, 2, 102]);
    }

    #[tokio::test]
    async fn a_saturated_host_does_not_block_others() {
        // Group 0: 20 jobs on host 0; group 1: 5 jobs on distinct hosts. With per_host 2, group
        // 1's jobs all start while host 0 has two in flight.
        let mut jobs: Vec<(usize, usize)> = (0..20).map(|_| (0, 0)).collect();
        jobs.extend((0..5).map(|i| (1, 1 + i)));
        let (p, out) = run(
            &jobs,
            Limits {
                max: 8,
                per_host: 2,
            },
        )
        .await;
        assert_eq!(out.len(), 25);
        assert_eq!(p.per_host_most, 2);
        let early: Vec<usize> = p.started[..7].to_vec();
        for i in 20..25 {
            assert!(early.contains(&i), "job {i} started early: {early:?}");
        }
    }

    #[test]
    fn host_names_are_what_people_write() {
        assert_eq!(
            host_name("https://shop.example.com/api/build-info"),
            "shop.example.com"
        );
        assert_eq!(host_name("http://127.0.0.1:8080/v"), "127.0.0.1:8080");
        assert_eq!(host_name("https://[::1]:8443/v"), "[::1]:8443");
        assert_eq!(host_name("not a url"), "not a url");
    }

    #[test]
    fn hosts_are_scheme_host_and_port() {
        assert_eq!(host_key("https://a.example/x"), "https://a.example:443");
        assert_eq!(host_key("http://a.example:8080/y"), "http://a.example:8080");
        assert_eq!(host_key("not a url"), "not a url");
    }
}

//! Deploy lag, observed rather than self-reported: when each SHA was first seen pushed, CI
//! green, live, and live on every replica, per environment.

use chrono::{DateTime, TimeDelta, Utc};
use deploywatch_core::Sha;
use rusqlite::types::Value;
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use crate::value::{from_ms_opt, limit_i64, sha, to_ms};
use crate::{Store, StoreError};

/// A stage in the life of a pushed SHA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagStage {
    Pushed,
    CiGreen,
    FirstLive,
    AllReplicasLive,
}

impl LagStage {
    fn column(self) -> &'static str {
        match self {
            LagStage::Pushed => "pushed_at",
            LagStage::CiGreen => "ci_green_at",
            LagStage::FirstLive => "first_live_at",
            LagStage::AllReplicasLive => "all_replicas_live_at",
        }
    }
}

/// The observed stages of one SHA in one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployLag {
    pub project: String,
    pub environment: String,
    pub sha: Sha,
    pub pushed_at: Option<DateTime<Utc>>,
    pub ci_green_at: Option<DateTime<Utc>>,
    pub first_live_at: Option<DateTime<Utc>>,
    pub all_replicas_live_at: Option<DateTime<Utc>>,
}

impl DeployLag {
    /// From first seen pushed to CI green, when both were observed.
    pub fn push_to_ci(&self) -> Option<TimeDelta> {
        Some(self.ci_green_at? - self.pushed_at?)
    }

    /// From first seen pushed to first seen live, when both were observed.
    pub fn push_to_live(&self) -> Option<TimeDelta> {
        Some(self.first_live_at? - self.pushed_at?)
    }

    /// From CI green to first seen live, when both were observed.
    pub fn ci_to_live(&self) -> Option<TimeDelta> {
        Some(self.first_live_at? - self.ci_green_at?)
    }
}

fn from_row(r: &Row<'_>) -> Result<DeployLag, StoreError> {
    Ok(DeployLag {
        project: r.get(0)?,
        environment: r.get(1)?,
        sha: sha("deploy_lag.sha", &r.get::<_, String>(2)?)?,
        pushed_at: from_ms_opt("deploy_lag.pushed_at", r.get(3)?)?,
        ci_green_at: from_ms_opt("deploy_lag.ci_green_at", r.get(4)?)?,
        first_live_at: from_ms_opt("deploy_lag.first_live_at", r.get(5)?)?,
        all_replicas_live_at: from_ms_opt("deploy_lag.all_replicas_live_at", r.get(6)?)?,
    })
}

impl Store {
    /// Records that `sha` reached `stage` in an environment at `at`. Only the first time of
    /// each stage is kept; later marks of the same stage change nothing. Pass the pushed
    /// (full) SHA for every stage so the stages of one deploy land on one row.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn mark_lag(
        &mut self,
        project: &str,
        environment: &str,
        sha: &Sha,
        stage: LagStage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = to_ms(at);
        // The column name comes from a closed enum, never from input.
        let sql = format!(
            "INSERT INTO deploy_lag (project, environment, sha, created_at, {col})
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (project, environment, sha) DO UPDATE SET
                 {col} = coalesce({col}, excluded.{col})",
            col = stage.column()
        );
        self.write(|tx| {
            tx.prepare_cached(&sql)?
                .execute(params![project, environment, sha.as_str(), at])?;
            Ok(())
        })
    }

    /// Deploy lags, newest first (by the first stage recorded), optionally of one project and
    /// environment; at most `limit` (clamped to 1..=10 000).
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn deploy_lags(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeployLag>, StoreError> {
        self.deploy_lags_since(project, environment, None, limit.clamp(1, 10_000))
    }

    /// Deploy lags, newest first, optionally of one project and environment, and with `since`
    /// only those whose first recorded stage is at or after it; at most `limit` (at least 1).
    ///
    /// One query, built with only the conditions given so SQLite can walk an index: the
    /// `(project, environment, created_at)` index for one environment, the `created_at` index
    /// for a time window alone.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn deploy_lags_since(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<DeployLag>, StoreError> {
        let sql = lag_query(project.is_some(), environment.is_some(), since.is_some());
        let mut args: Vec<Value> = Vec::new();
        args.extend(project.map(|p| Value::Text(p.to_string())));
        args.extend(environment.map(|e| Value::Text(e.to_string())));
        args.extend(since.map(|t| Value::Integer(to_ms(t))));
        args.push(Value::Integer(limit_i64(limit.max(1))));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| Ok(from_row(r)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }
}

/// The SQL of [`Store::deploy_lags_since`] with the conditions that are set, in the order
/// their values are bound: project, environment, since, limit.
fn lag_query(project: bool, environment: bool, since: bool) -> String {
    let mut conds = Vec::new();
    if project {
        conds.push("project = ?");
    }
    if environment {
        conds.push("environment = ?");
    }
    if since {
        conds.push("created_at >= ?");
    }
    let wh = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    format!(
        "SELECT project, environment, sha, pushed_at, ci_green_at, first_live_at,
             all_replicas_live_at
         FROM deploy_lag {wh}
         ORDER BY created_at DESC, rowid DESC LIMIT ?"
    )
}

/// The figures of one span (say push → live) over the deploys of one environment.
///
/// `median` and `p90` are nearest-rank percentiles (see [`nearest_rank`]): always a lag that
/// was actually observed, never an interpolation; `worst` is the largest. All three are `None`
/// when `count` is 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanSummary {
    /// The deploys the figures are of: both ends of the span observed, in order.
    pub count: usize,
    /// Deploys whose span came out negative (the later stage was seen first), left out of the
    /// figures; see [`summarize_lags`].
    pub out_of_order: usize,
    pub median: Option<TimeDelta>,
    pub p90: Option<TimeDelta>,
    pub worst: Option<TimeDelta>,
}

impl SpanSummary {
    /// The figures of some observed spans: negative ones are counted in `out_of_order` and
    /// left out, the rest summarised.
    pub fn of(spans: impl IntoIterator<Item = TimeDelta>) -> SpanSummary {
        let (mut kept, negative): (Vec<TimeDelta>, Vec<TimeDelta>) =
            spans.into_iter().partition(|d| *d >= TimeDelta::zero());
        kept.sort_unstable();
        SpanSummary {
            count: kept.len(),
            out_of_order: negative.len(),
            median: nearest_rank(&kept, 50),
            p90: nearest_rank(&kept, 90),
            worst: kept.last().copied(),
        }
    }
}

/// The `percent`-th percentile of ascending `sorted` by the nearest-rank method: the value at
/// rank `k = ⌈percent × n / 100⌉` (1-based, at least 1), so the smallest observed value with at
/// least `percent` % of the values at or below it. For an even count the median is the lower
/// of the two middle values (median of 4, 5, 6, 7 is 5), and p90 of fewer than 10 values is
/// the largest (`⌈0.9 × n⌉ = n`). `percent` is clamped to 1..=100; `None` for no values.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: u32) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let percent = usize::try_from(percent.clamp(1, 100)).unwrap_or(100);
    // ⌈p·n/100⌉ without floating point; n ≤ usize::MAX / 100 for any list that fits in memory.
    let rank = (percent * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The deploy-lag figures of one environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LagSummary {
    pub project: String,
    pub environment: String,
    /// The deploys (SHAs) recorded at any stage, including those that never went live.
    pub deploys: usize,
    /// First seen pushed → CI green.
    pub push_to_ci: SpanSummary,
    /// CI green → first seen live.
    pub ci_to_live: SpanSummary,
    /// First seen pushed → first seen live: the lead time of the change.
    pub push_to_live: SpanSummary,
}

/// Per (project, environment), sorted by project then environment: the count, median, p90 and
/// worst of push → CI green, CI green → live and push → live.
///
/// A deploy with a stage missing (CI not green yet, never live, a push the watcher never saw)
/// counts only in the spans whose both ends it has, and always in `deploys`.
///
/// A negative span (the later stage seen first: live before CI green after a deploy by hand or
/// a re-run of CI, a push the watcher first saw after its CI had finished, clocks apart) is no
/// lag at all. It is left out of that span's figures, not clamped to zero (which would pull the
/// median down and flatter the lead time), and counted in [`SpanSummary::out_of_order`] so the
/// output can say how many were left out. The deploy's other spans still count: a deploy by
/// hand before CI finished still has a push → live lead time.
pub fn summarize_lags(lags: &[DeployLag]) -> Vec<LagSummary> {
    let mut by_env: std::collections::BTreeMap<(&str, &str), Vec<&DeployLag>> =
        std::collections::BTreeMap::new();
    for lag in lags {
        by_env
            .entry((lag.project.as_str(), lag.environment.as_str()))
            .or_default()
            .push(lag);
    }
    by_env
        .into_iter()
        .map(|((project, environment), lags)| LagSummary {
            project: project.to_string(),
            environment: environment.to_string(),
            deploys: lags.len(),
            push_to_ci: SpanSummary::of(lags.iter().filter_map(|l| l.push_to_ci())),
            ci_to_live: SpanSummary::of(lags.iter().filter_map(|l| l.ci_to_live())),
            push_to_live: SpanSummary::of(lags.iter().filter_map(|l| l.push_to_live())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn secs(list: &[i64]) -> Vec<TimeDelta> {
        list.iter().map(|s| TimeDelta::seconds(*s)).collect()
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap() + TimeDelta::seconds(s)
    }

    fn lag(
        project: &str,
        env: &str,
        seed: u64,
        stages: [Option<i64>; 3], // pushed, CI green, first live (seconds)
    ) -> DeployLag {
        DeployLag {
            project: project.into(),
            environment: env.into(),
            sha: Sha::parse(&format!("{seed:040x}")).unwrap(),
            pushed_at: stages[0].map(at),
            ci_green_at: stages[1].map(at),
            first_live_at: stages[2].map(at),
            all_replicas_live_at: None,
        }
    }

    #[test]
    fn nearest_rank_on_known_lists() {
        let one_to = |n: i64| (1..=n).collect::<Vec<_>>();
        assert_eq!(nearest_rank::<i64>(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // Even count: the lower middle value, an observed one.
        assert_eq!(nearest_rank(&[4, 5, 6, 7], 50), Some(5));
        assert_eq!(nearest_rank(&[1, 2], 50), Some(1));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        // Fewer than 10 values: p90 is the largest.
        for n in 1..10 {
            assert_eq!(nearest_rank(&one_to(n), 90), Some(n), "n = {n}");
        }
        assert_eq!(nearest_rank(&one_to(10), 50), Some(5));
        assert_eq!(nearest_rank(&one_to(10), 90), Some(9));
        assert_eq!(nearest_rank(&one_to(11), 90), Some(10)); // ⌈9.9⌉
        assert_eq!(nearest_rank(&one_to(20), 90), Some(18));
        assert_eq!(nearest_rank(&one_to(100), 50), Some(50));
        assert_eq!(nearest_rank(&one_to(100), 90), Some(90));
        assert_eq!(nearest_rank(&one_to(100), 100), Some(100));
        assert_eq!(nearest_rank(&one_to(100), 0), Some(1), "clamped to 1 %");
        assert_eq!(
            nearest_rank(&one_to(100), 250),
            Some(100),
            "clamped to 100 %"
        );
    }

    #[test]
    fn span_summary_sorts_and_leaves_out_negative_spans() {
        let s = SpanSummary::of(secs(&[600, 60, -30, 0, 300, 120, -5]));
        assert_eq!(
            s,
            SpanSummary {
                count: 5,
                out_of_order: 2,
                median: Some(TimeDelta::seconds(120)), // of 0, 60, 120, 300, 600
                p90: Some(TimeDelta::seconds(600)),
                worst: Some(TimeDelta::seconds(600)),
            }
        );
        assert_eq!(SpanSummary::of(Vec::new()), SpanSummary::default());
        let only_negative = SpanSummary::of(secs(&[-1]));
        assert_eq!((only_negative.count, only_negative.out_of_order), (0, 1));
        assert_eq!(only_negative.median, None);
    }

    #[test]
    fn summaries_are_per_environment_sorted_and_count_only_observed_spans() {
        let lags = [
            lag("shop", "staging", 1, [Some(0), Some(100), Some(160)]),
            lag("shop", "production", 2, [Some(0), Some(240), Some(300)]),
            lag("shop", "production", 3, [Some(0), Some(200), None]), // not live yet
            lag("shop", "production", 4, [None, Some(50), Some(80)]), // push never seen
            // Deployed by hand before CI finished: CI → live is negative, push → live is not.
            lag("shop", "production", 5, [Some(0), Some(400), Some(100)]),
            lag("api", "production", 6, [Some(10), None, None]),
        ];
        let out = summarize_lags(&lags);
        let keys: Vec<_> = out
            .iter()
            .map(|s| (s.project.as_str(), s.environment.as_str(), s.deploys))
            .collect();
        assert_eq!(
            keys,
            [
                ("api", "production", 1),
                ("shop", "production", 4),
                ("shop", "staging", 1)
            ]
        );
        let api = &out[0];
        assert_eq!(api.push_to_ci, SpanSummary::default());
        assert_eq!(api.push_to_live, SpanSummary::default());

        let prod = &out[1];
        let figures = |s: &SpanSummary| {
            (
                s.count,
                s.out_of_order,
                s.median.map(|d| d.num_seconds()),
                s.p90.map(|d| d.num_seconds()),
                s.worst.map(|d| d.num_seconds()),
            )
        };
        // push → CI: 240, 200, 400.
        assert_eq!(
            figures(&prod.push_to_ci),
            (3, 0, Some(240), Some(400), Some(400))
        );
        // CI → live: 60, 30; -300 left out.
        assert_eq!(
            figures(&prod.ci_to_live),
            (2, 1, Some(30), Some(60), Some(60))
        );
        // push → live: 300, 100.
        assert_eq!(
            figures(&prod.push_to_live),
            (2, 0, Some(100), Some(300), Some(300))
        );
    }

    /// A small deterministic generator (xorshift64*) for the property test: the crate has no
    /// proptest, and a fixed seed keeps failures reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn stage(&mut self) -> Option<i64> {
            // One in five missing; times within a day, so every order of stages occurs.
            (self.below(5) != 0).then(|| i64::try_from(self.below(86_400)).unwrap())
        }
    }

    #[test]
    fn property_median_le_p90_le_worst_and_counts_match_the_inputs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let spans: [fn(&DeployLag) -> Option<TimeDelta>; 3] = [
            DeployLag::push_to_ci,
            DeployLag::ci_to_live,
            DeployLag::push_to_live,
        ];
        for case in 0..500 {
            let n = usize::try_from(rng.below(60)).unwrap();
            let lags: Vec<DeployLag> = (0..n)
                .map(|i| {
                    let project = ["shop", "api"][usize::try_from(rng.below(2)).unwrap()];
                    let env =
                        ["production", "staging", "qa"][usize::try_from(rng.below(3)).unwrap()];
                    let stages = [rng.stage(), rng.stage(), rng.stage()];
                    lag(project, env, u64::try_from(i).unwrap() + 1, stages)
                })
                .collect();
            let out = summarize_lags(&lags);
            assert_eq!(
                out.iter().map(|s| s.deploys).sum::<usize>(),
                n,
                "case {case}"
            );
            assert!(
                out.windows(2).all(
                    |w| (&w[0].project, &w[0].environment) < (&w[1].project, &w[1].environment)
                ),
                "case {case}: sorted, one summary per environment"
            );
            for s in &out {
                let mine: Vec<&DeployLag> = lags
                    .iter()
                    .filter(|l| l.project == s.project && l.environment == s.environment)
                    .collect();
                assert_eq!(s.deploys, mine.len(), "case {case}");
                let summaries = [&s.push_to_ci, &s.ci_to_live, &s.push_to_live];
                for (span, sum) in spans.iter().zip(summaries) {
                    let observed: Vec<TimeDelta> = mine.iter().filter_map(|l| span(l)).collect();
                    let kept: Vec<TimeDelta> = observed
                        .iter()
                        .copied()
                        .filter(|d| *d >= TimeDelta::zero())
                        .collect();
                    assert_eq!(sum.count, kept.len(), "case {case}");
                    assert_eq!(sum.count + sum.out_of_order, observed.len(), "case {case}");
                    assert_eq!(sum.worst, kept.iter().max().copied(), "case {case}");
                    match (sum.median, sum.p90, sum.worst) {
                        (Some(m), Some(p), Some(w)) => {
                            assert!(
                                TimeDelta::zero() <= m && m <= p && p <= w,
                                "case {case}: {sum:?}"
                            );
                            assert!(kept.contains(&m) && kept.contains(&p), "observed values");
                        }
                        (None, None, None) => assert_eq!(sum.count, 0, "case {case}"),
                        other => panic!("case {case}: partly empty figures {other:?}"),
                    }
                }
            }
        }
    }

    /// The query plan of each form of [`lag_query`]: an index, and no sort of its own.
    #[test]
    fn the_lag_query_walks_an_index() {
        let store = Store::open_in_memory().unwrap();
        let plan = |p: bool, e: bool, s: bool| -> String {
            let sql = format!("EXPLAIN QUERY PLAN {}", lag_query(p, e, s));
            let mut stmt = store.conn.prepare(&sql).unwrap();
            let n = sql.matches('?').count();
            let args = vec![Value::Integer(1); n];
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let one_env = plan(true, true, true);
        assert!(
            one_env.contains("USING INDEX deploy_lag_by_env")
                && one_env.contains("created_at>?")
                && !one_env.contains("TEMP B-TREE"),
            "{one_env}"
        );
        let window = plan(false, false, true);
        assert!(
            window.contains("USING INDEX deploy_lag_by_time") && !window.contains("TEMP B-TREE"),
            "{window}"
        );
        let all = plan(false, false, false);
        assert!(all.contains("deploy_lag_by_time"), "{all}");
    }
}

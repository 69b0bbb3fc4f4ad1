//! Geometry of the deploy-lag chart: one bar per deploy, height = time from push to first
//! seen live, oldest push on the left. Pure numbers; the history view draws them as SVG.

use deploywatch_ipc::LagRow;

use crate::format::{format_duration, parse_time, short_sha};

/// The SVG view box.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 200.0;
/// Room on the left for the axis labels and at the bottom for the baseline.
pub const LEFT: f64 = 56.0;
pub const BOTTOM: f64 = 20.0;
const TOP: f64 = 10.0;
/// At most this many deploys (the newest) are drawn, so bars stay readable.
pub const MAX_BARS: usize = 40;

/// One bar in view-box coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub lag_secs: i64,
    /// Tooltip: environment, short SHA and lag.
    pub label: String,
}

/// A horizontal grid line and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
}

/// The smallest "round" duration at or above `secs` that the axis ends on.
pub fn nice_max(secs: i64) -> i64 {
    const STEPS: [i64; 14] = [
        60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800,
        604_800,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= secs)
        .unwrap_or_else(|| (secs + 604_799) / 604_800 * 604_800)
}

/// Lays out the deploys that went live. Rows without a push time or a live time, or with a
/// live time before the push (clock skew), are left out rather than drawn wrong.
pub fn layout(rows: &[LagRow]) -> Chart {
    let mut lags: Vec<(i64, &LagRow, i64)> = rows
        .iter()
        .filter_map(|r| {
            let pushed = parse_time(r.pushed_at.as_deref()?)?;
            let live = parse_time(r.first_live_at.as_deref()?)?;
            let lag = (live - pushed).num_seconds();
            (lag >= 0).then_some((pushed.timestamp(), r, lag))
        })
        .collect();
    lags.sort_by_key(|(pushed, _, _)| *pushed);
    let skip = lags.len().saturating_sub(MAX_BARS);
    let lags = &lags[skip..];

    let max = nice_max(lags.iter().map(|(_, _, l)| *l).max().unwrap_or(0));
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT;
    let slot = plot_w / lags.len().max(1) as f64;
    let scale = |secs: i64| plot_h * secs as f64 / max as f64;

    let bars = lags
        .iter()
        .enumerate()
        .map(|(i, (_, row, lag))| {
            // A zero lag still gets a sliver, so the deploy is visible.
            let height = scale(*lag).max(1.0);
            Bar {
                x: LEFT + i as f64 * slot + slot * 0.15,
                y: HEIGHT - BOTTOM - height,
                width: slot * 0.7,
                height,
                lag_secs: *lag,
                label: format!(
                    "{} {}: live {} after push",
                    row.environment,
                    short_sha(&row.sha),
                    format_duration(*lag)
                ),
            }
        })
        .collect();
    let ticks = (0..=2)
        .map(|k| {
            let secs = max * k / 2;
            Tick {
                y: HEIGHT - BOTTOM - scale(secs),
                label: format_duration(secs),
            }
        })
        .collect();
    Chart { bars, ticks }
}

/// Median, p90 (nearest rank), worst and count of one span over a set of deploys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    pub count: usize,
    pub median: i64,
    pub p90: i64,
    pub worst: i64,
}

/// The figures of one environment, as `deploywatch lag` prints them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFigures {
    pub environment: String,
    pub push_to_live: Option<Figures>,
    pub push_to_ci: Option<Figures>,
    pub ci_to_live: Option<Figures>,
}

/// Per environment (in first-seen order): push → live, push → CI green and CI green → live
/// over the deploys where both ends were observed in order. The same method as the store's
/// `summarize_lags` (nearest rank; spans that came out negative left out) — computed here
/// because the store does not build for the page's wasm target.
pub fn figures(rows: &[LagRow]) -> Vec<EnvFigures> {
    let mut out: Vec<EnvFigures> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.environment.as_str()) {
            names.push(&r.environment);
        }
    }
    for env in names {
        let of = |from: fn(&LagRow) -> Option<&str>, to: fn(&LagRow) -> Option<&str>| {
            let mut spans: Vec<i64> = rows
                .iter()
                .filter(|r| r.environment == env)
                .filter_map(|r| {
                    let a = parse_time(from(r)?)?;
                    let b = parse_time(to(r)?)?;
                    Some((b - a).num_seconds())
                })
                .filter(|s| *s >= 0)
                .collect();
            spans.sort_unstable();
            let rank = |p: usize| spans[(p * spans.len()).div_ceil(100).max(1) - 1];
            (!spans.is_empty()).then(|| Figures {
                count: spans.len(),
                median: rank(50),
                p90: rank(90),
                worst: spans[spans.len() - 1],
            })
        };
        out.push(EnvFigures {
            environment: env.to_string(),
            push_to_live: of(|r| r.pushed_at.as_deref(), |r| r.first_live_at.as_deref()),
            push_to_ci: of(|r| r.pushed_at.as_deref(), |r| r.ci_green_at.as_deref()),
            ci_to_live: of(|r| r.ci_green_at.as_deref(), |r| r.first_live_at.as_deref()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_per_environment_by_nearest_rank_leave_out_spans_out_of_order() {
        // `at(s)`: 10:00 plus `s` seconds.
        let at = |s: i64| format!("2026-12-01T10:{:02}:{:02}Z", s / 60, s % 60);
        let deploy = |env: &str, pushed: i64, ci: Option<i64>, live: Option<i64>| LagRow {
            environment: env.into(),
            sha: "a1b2c3d".into(),
            pushed_at: Some(at(pushed)),
            ci_green_at: ci.map(at),
            first_live_at: live.map(at),
            all_live_at: None,
        };
        let rows = [
            deploy("production", 0, Some(10), Some(40)),
            deploy("production", 0, Some(20), Some(50)),
            deploy("production", 0, Some(30), Some(60)),
            deploy("production", 0, Some(40), Some(70)),
            // Never went live: counts for CI only.
            deploy("production", 0, Some(50), None),
            // Live seen before CI green (a clock or a poll order): left out of CI → live.
            deploy("staging", 0, Some(30), Some(20)),
        ];
        let f = figures(&rows);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].environment, "production");
        // Push → live of 40, 50, 60, 70 s: median (rank 2) 50, p90 (rank 4) 70.
        assert_eq!(
            f[0].push_to_live,
            Some(Figures {
                count: 4,
                median: 50,
                p90: 70,
                worst: 70
            })
        );
        assert_eq!(
            f[0].push_to_ci.as_ref().map(|x| (x.count, x.median)),
            Some((5, 30))
        );
        assert_eq!(
            f[0].ci_to_live.as_ref().map(|x| (x.count, x.worst)),
            Some((4, 30))
        );
        assert_eq!(f[1].environment, "staging");
        assert_eq!(f[1].ci_to_live, None);
        assert_eq!(f[1].push_to_live.as_ref().map(|x| x.median), Some(20));
    }

    fn row(env: &str, sha: &str, pushed: Option<&str>, live: Option<&str>) -> LagRow {
        LagRow {
            environment: env.into(),
            sha: sha.into(),
            pushed_at: pushed.map(Into::into),
            ci_green_at: None,
            first_live_at: live.map(Into::into),
            all_live_at: None,
        }
    }

    #[test]
    fn axis_ends_on_a_round_duration() {
        let check = |secs, expected| assert_eq!(nice_max(secs), expected, "{secs}");
        check(0, 60);
        check(61, 120);
        check(601, 900);
        check(3_600, 3_600);
        check(700_000, 1_209_600);
    }

    #[test]
    fn bars_are_ordered_by_push_and_scaled_to_the_longest_lag() {
        let chart = layout(&[
            row(
                "production",
                "bbbbbbbbb",
                Some("2026-11-21T11:00:00Z"),
                Some("2026-11-21T11:05:00Z"),
            ),
            row(
                "production",
                "aaaaaaaaa",
                Some("2026-11-21T10:00:00Z"),
                Some("2026-11-21T10:10:00Z"),
            ),
            row("staging", "ccccccccc", Some("2026-11-21T12:00:00Z"), None),
            row(
                "staging",
                "ddddddddd",
                Some("2026-11-21T12:00:00Z"),
                Some("2026-11-21T11:00:00Z"),
            ),
        ]);
        assert_eq!(chart.bars.len(), 2, "not-live and skewed rows are left out");
        let (a, b) = (&chart.bars[0], &chart.bars[1]);
        assert_eq!((a.lag_secs, b.lag_secs), (600, 300));
        assert!(a.x < b.x, "oldest push on the left");
        let plot_h = HEIGHT - TOP - BOTTOM;
        assert!(
            (a.height - plot_h).abs() < 1e-9,
            "10 min fills the 10 min axis"
        );
        assert!((b.height - plot_h / 2.0).abs() < 1e-9);
        assert!(
            (a.y + a.height - (HEIGHT - BOTTOM)).abs() < 1e-9,
            "bars stand on the baseline"
        );
        assert_eq!(a.label, "production aaaaaaa: live 10 min after push");
        let labels: Vec<_> = chart.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0 s", "5 min", "10 min"]);
        assert!(
            chart
                .bars
                .iter()
                .all(|b| b.x >= LEFT && b.x + b.width <= WIDTH)
        );
    }

    #[test]
    fn empty_and_huge_histories_stay_in_bounds() {
        assert!(layout(&[]).bars.is_empty());
        let rows: Vec<_> = (0..100)
            .map(|i| {
                let pushed = format!("2026-11-21T10:{:02}:00Z", i % 60);
                row(
                    "p",
                    &format!("{i:07}"),
                    Some(&pushed),
                    Some("2026-11-21T12:00:00Z"),
                )
            })
            .collect();
        let chart = layout(&rows);
        assert_eq!(chart.bars.len(), MAX_BARS);
        assert!(
            chart
                .bars
                .iter()
                .all(|b| b.y >= 0.0 && b.x + b.width <= WIDTH + 1e-9)
        );
    }
}

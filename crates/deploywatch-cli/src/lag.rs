//! `deploywatch lag`: the observed deploy lag of each environment (first seen pushed → CI
//! green → first seen live), from the database alone: no config, no GitHub.
//!
//! The figures are [`deploywatch_store::summarize_lags`]'s: nearest-rank median and p90 (a lag
//! that was actually observed), the worst, and how many deploys each span is of. A span that
//! came out negative (live before CI was green, say, after a deploy by hand) is left out of the
//! figures and said so, below the table and as `out_of_order` in the JSON.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use deploywatch_store::{LagSummary, SpanSummary, summarize_lags};
use serde::Serialize;

use crate::Failure;
use crate::human::Style;
use crate::setup::Paths;

/// The most deploys read for one run; beyond it only the newest are summarised (and a warning
/// says so). Months of a busy fleet are far fewer.
const MAX_DEPLOYS: usize = 200_000;

/// One environment in `lag --json`.
#[derive(Serialize)]
pub struct LagJson {
    pub project: String,
    pub environment: String,
    /// Deploys (SHAs) first recorded in the window, at any stage.
    pub deploys: usize,
    pub push_to_ci: SpanJson,
    pub ci_to_live: SpanJson,
    pub push_to_live: SpanJson,
}

/// One span in `lag --json`: whole seconds, `null` when `count` is 0.
#[derive(Serialize)]
pub struct SpanJson {
    /// Deploys with both ends of the span seen, in order.
    pub count: usize,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub worst_s: Option<i64>,
    /// Deploys whose later stage was seen first (a negative span), left out of the figures.
    pub out_of_order: usize,
}

impl From<&SpanSummary> for SpanJson {
    fn from(s: &SpanSummary) -> SpanJson {
        SpanJson {
            count: s.count,
            median_s: s.median.map(whole_seconds),
            p90_s: s.p90.map(whole_seconds),
            worst_s: s.worst.map(whole_seconds),
            out_of_order: s.out_of_order,
        }
    }
}

impl From<&LagSummary> for LagJson {
    fn from(s: &LagSummary) -> LagJson {
        LagJson {
            project: s.project.clone(),
            environment: s.environment.clone(),
            deploys: s.deploys,
            push_to_ci: (&s.push_to_ci).into(),
            ci_to_live: (&s.ci_to_live).into(),
            push_to_live: (&s.push_to_live).into(),
        }
    }
}

/// A span in seconds, rounded to the nearest (spans are never negative here).
fn whole_seconds(d: TimeDelta) -> i64 {
    (d.num_milliseconds() + 500).div_euclid(1000)
}

/// `4m 12s`, `1h 3m`, `2d 5h`: the two largest units, the smaller left out when 0.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let two = |big: i64, bu: &str, small: i64, su: &str| {
        if small == 0 {
            format!("{big}{bu}")
        } else {
            format!("{big}{bu} {small}{su}")
        }
    };
    match s {
        0..60 => format!("{s}s"),
        60..3600 => two(s / 60, "m", s % 60, "s"),
        3600..86400 => two(s / 3600, "h", s % 3600 / 60, "m"),
        _ => two(s / 86400, "d", s % 86400 / 3600, "h"),
    }
}

fn cell(d: Option<TimeDelta>) -> String {
    d.map_or_else(|| "-".to_string(), |d| human_duration(whole_seconds(d)))
}

/// The spans in the order of the table, with their titles and what a negative one means.
const SPANS: [(&str, &str); 3] = [
    ("push → CI green", "CI green before the push was first seen"),
    ("CI green → live", "live before CI was green"),
    ("push → live", "live before the push was first seen"),
];

fn spans(s: &LagSummary) -> [&SpanSummary; 3] {
    [&s.push_to_ci, &s.ci_to_live, &s.push_to_live]
}

pub fn run(
    paths: &Paths,
    project: Option<String>,
    environment: Option<String>,
    since: Duration,
    json: bool,
) -> Result<u8, Failure> {
    let store = paths.open_store()?;
    let db_error =
        |e: deploywatch_store::StoreError| Failure::usage(format!("cannot read the database: {e}"));
    // A window reaching before the representable past is all of the history.
    let from = TimeDelta::from_std(since)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d));
    let lags = store
        .deploy_lags_since(
            project.as_deref(),
            environment.as_deref(),
            from,
            MAX_DEPLOYS,
        )
        .map_err(db_error)?;
    if lags.len() >= MAX_DEPLOYS {
        eprintln!(
            "deploywatch: warning: only the newest {MAX_DEPLOYS} deploys are summarised; pass a shorter --since"
        );
    }
    let summaries = summarize_lags(&lags);
    if json {
        let docs: Vec<LagJson> = summaries.iter().map(LagJson::from).collect();
        println!("{}", crate::dto::json_text(&docs));
        return Ok(0);
    }
    let window = Window { since, from };
    if summaries.is_empty() {
        let any = !store
            .deploy_lags(None, None, 1)
            .map_err(db_error)?
            .is_empty();
        println!(
            "{}",
            nothing(any, project.as_deref(), environment.as_deref(), &window)
        );
        return Ok(0);
    }
    print!("{}", render(&summaries, &window, Style::detect()));
    Ok(0)
}

/// The time window of a run: `--since` and the instant it reaches back to (`None`: all).
pub struct Window {
    pub since: Duration,
    pub from: Option<DateTime<Utc>>,
}

impl Window {
    fn describe(&self) -> String {
        match self.from {
            Some(t) => format!(
                "the last {} (since {})",
                human_duration(i64::try_from(self.since.as_secs()).unwrap_or(i64::MAX)),
                t.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "all of the history".to_string(),
        }
    }
}

/// The line for an empty result: nothing recorded at all, or nothing in this selection.
fn nothing(any: bool, project: Option<&str>, env: Option<&str>, window: &Window) -> String {
    if !any {
        return "no deploy lag recorded yet: `deploywatch watch` records when each push is \
                first seen, goes green in CI and goes live"
            .to_string();
    }
    let which = match (project, env) {
        (Some(p), Some(e)) => format!("of {p}/{e} "),
        (Some(p), None) => format!("of project {p} "),
        (None, Some(e)) => format!("of environment {e} "),
        (None, None) => String::new(),
    };
    format!(
        "no deploys {which}first recorded in {}; try a longer --since",
        window.describe()
    )
}

/// Right- or left-aligned text padded to `width` characters.
fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.chars().count()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// The table: a title, a header of span groups over `median p90 worst n` columns, one line per
/// environment, then a note for every span left out as out of order, and what the figures are.
pub fn render(summaries: &[LagSummary], window: &Window, style: Style) -> String {
    const GAP: &str = "  ";
    const GROUP_GAP: &str = "    ";
    let places: Vec<String> = summaries
        .iter()
        .map(|s| format!("{}/{}", s.project, s.environment))
        .collect();
    let rows: Vec<(String, [[String; 4]; 3])> = summaries
        .iter()
        .map(|s| {
            let groups = spans(s).map(|span| {
                [
                    cell(span.median),
                    cell(span.p90),
                    cell(span.worst),
                    span.count.to_string(),
                ]
            });
            (s.deploys.to_string(), groups)
        })
        .collect();
    let heads = ["median", "p90", "worst", "n"];
    let place_w = places
        .iter()
        .map(|p| p.chars().count())
        .chain(["environment".len()])
        .max()
        .unwrap_or(0);
    let deploys_w = rows
        .iter()
        .map(|(d, _)| d.len())
        .chain(["deploys".len()])
        .max()
        .unwrap_or(0);
    let mut widths = [[0usize; 4]; 3];
    for (g, group) in widths.iter_mut().enumerate() {
        for (c, w) in group.iter_mut().enumerate() {
            *w = rows
                .iter()
                .map(|(_, groups)| groups[g][c].chars().count())
                .chain([heads[c].len()])
                .max()
                .unwrap_or(0);
        }
        // A group is at least as wide as its title.
        let inner: usize = group.iter().sum::<usize>() + GAP.len() * 3;
        let title = SPANS[g].0.chars().count();
        if title > inner {
            group[0] += title - inner;
        }
    }
    let group_w = |g: usize| widths[g].iter().sum::<usize>() + GAP.len() * 3;

    let mut out = format!(
        "{}\n\n",
        style.bold(&format!("Deploy lag over {}", window.describe()))
    );
    // Group titles over their columns.
    let mut titles = " ".repeat(place_w + GAP.len() + deploys_w);
    for (g, (title, _)) in SPANS.iter().enumerate() {
        titles.push_str(GROUP_GAP);
        titles.push_str(&pad(title, group_w(g), false));
    }
    out.push_str(&style.dim(titles.trim_end()));
    out.push('\n');
    let mut header = format!(
        "{}{GAP}{}",
        pad("environment", place_w, false),
        pad("deploys", deploys_w, true)
    );
    for group in &widths {
        header.push_str(GROUP_GAP);
        let cols: Vec<String> = heads
            .iter()
            .zip(group)
            .map(|(h, w)| pad(h, *w, true))
            .collect();
        header.push_str(&cols.join(GAP));
    }
    out.push_str(&style.dim(&header));
    out.push('\n');
    for (place, (deploys, groups)) in places.iter().zip(&rows) {
        let mut line = format!(
            "{}{GAP}{}",
            style.bold(&pad(place, place_w, false)),
            pad(deploys, deploys_w, true)
        );
        for (group, w) in groups.iter().zip(&widths) {
            line.push_str(GROUP_GAP);
            let cols: Vec<String> = group.iter().zip(w).map(|(v, w)| pad(v, *w, true)).collect();
            line.push_str(&cols.join(GAP));
        }
        out.push_str(&line);
        out.push('\n');
    }
    let mut notes = Vec::new();
    for (place, s) in places.iter().zip(summaries) {
        for (span, (title, why)) in spans(s).iter().zip(SPANS) {
            if span.out_of_order > 0 {
                let n = span.out_of_order;
                let deploys = if n == 1 { "deploy" } else { "deploys" };
                notes.push(format!(
                    "{place}: {n} {deploys} {why}, left out of {title} (a deploy by hand, a re-run, or clocks apart)"
                ));
            }
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&format!("! {n}\n"));
        }
    }
    out.push('\n');
    out.push_str(&style.dim(
        "median and p90 are nearest-rank (lags that were observed), worst the longest; \
         n: deploys with both ends of the span seen",
    ));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (252, "4m 12s"),
            (3599, "59m 59s"),
            (3600, "1h"),
            (3780, "1h 3m"),
            (3839, "1h 3m"),
            (86_400, "1d"),
            (86_400 * 2 + 3600 * 5 + 59, "2d 5h"),
            (-5, "0s"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs} s");
        }
    }

    #[test]
    fn spans_round_to_the_nearest_second() {
        assert_eq!(whole_seconds(TimeDelta::milliseconds(1499)), 1);
        assert_eq!(whole_seconds(TimeDelta::milliseconds(1500)), 2);
        assert_eq!(whole_seconds(TimeDelta::zero()), 0);
    }
}

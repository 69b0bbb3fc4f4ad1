//! `deploywatch demo`: a new user sees every failure mode detected within about a minute.

use std::time::Duration;

use crate::harness::Dw;

#[tokio::test]
async fn the_demo_shows_every_verdict_within_a_minute() {
    let dw = Dw::new("");
    // The demo writes its own config; --config/--db only choose where.
    let run = dw.run_async(&["demo", "--duration", "65s"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.elapsed < Duration::from_secs(80), "{run:?}");
    let verdicts = [
        "live",
        "deploying",
        "down",
        "unverifiable",
        "env_mismatch",
        "mixed",
        "stale_frontend",
        "ci_failed",
        "ci_missing",
        "image_missing",
        "phantom",
    ];
    let seen: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    for v in verdicts {
        assert!(seen.contains(&v), "the demo never showed {v}:\n{run:?}");
    }
    for summary in [
        "Phantom deploy: api / production",
        "Stale frontend: web / production",
        "Mixed versions: shop / production",
    ] {
        assert!(
            run.stdout.contains(summary),
            "no incident {summary:?}:\n{run:?}"
        );
    }
    // The config it wrote is a real, valid config.
    let written = std::fs::read_to_string(&dw.config)
        .expect("the demo writes its config where --config says");
    assert!(written.contains("[[project.environment]]"));
}

//! Verdicts (SPEC §3) for people: a CSS class that carries the colour and a label.
//! Colours: green live, blue deploying, red every alert, grey idle or not yet checked.

use deploywatch_ipc::Overall;

/// The CSS class of a verdict badge: `v-live`, `v-deploying`, `v-alert` or `v-idle`.
pub fn verdict_class(verdict: Option<&str>) -> &'static str {
    match verdict {
        Some("live") => "v-live",
        Some("deploying") => "v-deploying",
        Some(_) => "v-alert",
        None => "v-idle",
    }
}

/// The badge text of a verdict; unknown verdicts (from a newer backend) are shown raw.
pub fn verdict_label(verdict: Option<&str>) -> String {
    match verdict {
        None => "not checked yet",
        Some("live") => "live",
        Some("deploying") => "deploying",
        Some("phantom") => "phantom deploy",
        Some("stale_frontend") => "stale frontend",
        Some("ci_failed") => "CI failed",
        Some("ci_missing") => "CI missing",
        Some("image_missing") => "image missing",
        Some("mixed") => "mixed versions",
        Some("env_mismatch") => "environment mismatch",
        Some("unverifiable") => "unverifiable",
        Some("down") => "down",
        Some(other) => other,
    }
    .to_string()
}

/// The CSS class and sentence of the overall state shown in the header.
pub fn overall_view(overall: Overall, paused: bool) -> (&'static str, &'static str) {
    match (overall, paused) {
        (_, true) => ("v-idle", "Checks paused"),
        (Overall::Live, _) => ("v-live", "Everything is live"),
        (Overall::Deploying, _) => ("v-deploying", "A deploy is in progress"),
        (Overall::Alert, _) => ("v-alert", "Something needs attention"),
        (Overall::Idle, _) => ("v-idle", "Nothing checked yet"),
    }
}

/// The verdicts the history filter offers, in SPEC order.
pub const VERDICTS: [&str; 11] = [
    "live",
    "deploying",
    "phantom",
    "stale_frontend",
    "ci_failed",
    "ci_missing",
    "image_missing",
    "mixed",
    "env_mismatch",
    "unverifiable",
    "down",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_is_red_and_only_live_is_green() {
        let check = |v, class: &str, label: &str| {
            assert_eq!(verdict_class(v), class, "{v:?}");
            assert_eq!(verdict_label(v), label, "{v:?}");
        };
        check(Some("live"), "v-live", "live");
        check(Some("deploying"), "v-deploying", "deploying");
        check(Some("phantom"), "v-alert", "phantom deploy");
        check(Some("stale_frontend"), "v-alert", "stale frontend");
        check(Some("down"), "v-alert", "down");
        check(Some("brand_new"), "v-alert", "brand_new");
        check(None, "v-idle", "not checked yet");
        for v in VERDICTS
            .iter()
            .filter(|v| !matches!(**v, "live" | "deploying"))
        {
            assert_eq!(verdict_class(Some(v)), "v-alert", "{v}");
        }
    }

    #[test]
    fn paused_wins_over_the_overall_state() {
        assert_eq!(overall_view(Overall::Alert, true).0, "v-idle");
        assert_eq!(overall_view(Overall::Alert, false).0, "v-alert");
        assert_eq!(overall_view(Overall::Live, false).0, "v-live");
    }
}

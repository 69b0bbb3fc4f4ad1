//! Valid configurations: the values read, the defaults, override precedence, and the
//! `to_toml` round-trip.

use std::path::PathBuf;
use std::time::Duration;

use deploywatch_config::{
    Config, EXAMPLE, Environment, Follows, GithubConfig, Notifications, Project, RepoRef, Settings,
    parse, to_toml,
};
use deploywatch_core::Sha;
use expect_test::expect;

use crate::{BASE, in_defaults, in_env, parse_str};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn the_spec_example_parses_with_every_value() {
    let config = parse(EXAMPLE, std::path::Path::new("/etc/deploywatch.toml")).expect("parses");
    let defaults = Settings {
        grace: secs(600),
        ci_timeout: secs(600),
        fast_interval: secs(10),
        idle_interval: secs(300),
        timeout: secs(10),
        confirm: 2,
        each_address: false,
    };
    let expected = Config {
        source: PathBuf::from("/etc/deploywatch.toml"),
        github: GithubConfig {
            api_url: "https://api.github.com".into(),
            client_id: None,
            commit_statuses: false,
        },
        notifications: Notifications {
            desktop: true,
            webhook: Some("https://hooks.slack.com/services/...".into()),
            ..Notifications::default()
        },
        limits: deploywatch_config::Limits::default(),
        defaults,
        default_actions: deploywatch_config::Actions::default(),
        projects: vec![Project {
            name: "shop".into(),
            repo: RepoRef {
                owner: "acme".into(),
                name: "shop".into(),
            },
            branch: "main".into(),
            workflows: vec!["CI".into()],
            image: Some("ghcr.io/acme/shop:{sha}".into()),
            mute: false,
            environments: vec![Environment {
                name: "production".into(),
                build_info_url: "https://shop.example.com/api/build-info".into(),
                frontend_url: Some("https://shop.example.com/".into()),
                health_url: Some("https://shop.example.com/health".into()),
                sha_pointer: None,
                sha_header: None,
                expect_environment: Some("production".into()),
                replicas: 3,
                follows: Follows::Branch,
                settings: defaults,
                actions: deploywatch_config::Actions::default(),
                mute: None,
            }],
        }],
    };
    assert_eq!(config, expected);
    assert_eq!(config.projects[0].repo.to_string(), "acme/shop");
}

#[test]
fn an_empty_config_is_valid_and_all_defaults() {
    for text in [
        "",
        "# nothing yet\n",
        "[github]\n[defaults]\n[notifications]\n",
    ] {
        let config = parse_str(text).expect("empty config parses");
        assert!(config.projects.is_empty());
        assert_eq!(config.github, GithubConfig::default());
        assert_eq!(config.github.api_url, "https://api.github.com");
        assert_eq!(config.notifications, Notifications::default());
        assert!(config.notifications.desktop);
        assert_eq!(config.defaults, Settings::default());
    }
    let d = Settings::default();
    assert_eq!(
        (
            d.grace,
            d.ci_timeout,
            d.fast_interval,
            d.idle_interval,
            d.timeout,
            d.confirm
        ),
        (secs(600), secs(600), secs(10), secs(300), secs(10), 2)
    );
}

#[test]
fn optional_keys_take_their_defaults() {
    let config = parse_str(BASE).unwrap();
    let p = &config.projects[0];
    assert_eq!(p.branch, "main");
    assert!(p.workflows.is_empty());
    assert_eq!(p.image, None);
    let e = &p.environments[0];
    assert_eq!(e.replicas, 1);
    assert_eq!(e.follows, Follows::Branch);
    assert_eq!(
        (
            &e.frontend_url,
            &e.health_url,
            &e.sha_pointer,
            &e.sha_header,
            &e.expect_environment
        ),
        (&None, &None, &None, &None, &None)
    );
}

#[test]
fn environment_overrides_beat_defaults_which_beat_built_ins() {
    let text = in_defaults("timeout = \"3s\"\nconfirm = 4\nidle_interval = \"1m\"");
    let text = format!("{text}grace = \"90s\"\nconfirm = 1\nfast_interval = \"500ms\"\n");
    let config = parse_str(&text).unwrap();
    // [defaults]: grace 10m (written), timeout 3s, confirm 4, idle 1m; the rest built-in.
    assert_eq!(
        config.defaults,
        Settings {
            grace: secs(600),
            ci_timeout: secs(600),
            fast_interval: secs(10),
            idle_interval: secs(60),
            timeout: secs(3),
            confirm: 4,
            each_address: false,
        }
    );
    let production = &config.projects[0].environments[0];
    assert_eq!(production.settings, config.defaults);
    let staging = &config.projects[0].environments[1];
    assert_eq!(
        staging.settings,
        Settings {
            grace: secs(90),
            ci_timeout: secs(600),
            fast_interval: Duration::from_millis(500),
            idle_interval: secs(60),
            timeout: secs(3),
            confirm: 1,
            each_address: false,
        }
    );
}

#[test]
fn every_documented_duration_form_is_accepted() {
    #[track_caller]
    fn check(text: &str, expected: Duration) {
        let config = parse_str(&in_env(&format!("grace = \"{text}\""))).unwrap();
        assert_eq!(
            config.projects[0].environments[1].settings.grace, expected,
            "{text}"
        );
    }
    check("500ms", Duration::from_millis(500));
    check("10s", secs(10));
    check("5m", secs(300));
    check("1h", secs(3600));
    check("1h30m", secs(5400));
    check("1h 30m", secs(5400));
    check("2min", secs(120));
    check("0s", secs(0)); // grace may be zero: phantom as soon as CI passes
}

#[test]
fn all_keys_are_read() {
    let text = r#"
[github]
api_url = "https://ghe.example.com/api/v3/"
client_id = "Iv1.0123456789abcdef"

[notifications]
desktop = false

[[project]]
name = "api"
repo = "acme-corp/api.v2"
branch = "release/2.x"
workflows = ["build", "deploy image"]
image = "localhost:5000/api:{short_sha}-{sha}"

[[project.environment]]
name = "preview"
build_info_url = "http://127.0.0.1:8080/version"
sha_header = "X-Build"
replicas = 64
follows = "deployments"

[[project.environment]]
name = "canary"
build_info_url = "http://127.0.0.1:8081/__version__"
sha_pointer = "/meta/a~1b"
"#;
    let config = parse_str(text).unwrap();
    assert_eq!(config.github.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(
        config.github.client_id.as_deref(),
        Some("Iv1.0123456789abcdef")
    );
    assert!(!config.notifications.desktop);
    assert_eq!(config.notifications.webhook, None);
    let p = config.project("api").unwrap();
    assert_eq!(
        p.repo,
        RepoRef {
            owner: "acme-corp".into(),
            name: "api.v2".into()
        }
    );
    assert_eq!(p.branch, "release/2.x");
    assert_eq!(p.workflows, ["build", "deploy image"]);
    let sha = Sha::parse("0123456789abcdef0123456789abcdef01234567").unwrap();
    assert_eq!(
        p.image_for(&sha).as_deref(),
        Some("localhost:5000/api:0123456-0123456789abcdef0123456789abcdef01234567")
    );
    let preview = p.environment("preview").unwrap();
    assert_eq!(preview.sha_header.as_deref(), Some("X-Build"));
    assert_eq!(preview.replicas, 64);
    assert_eq!(preview.follows, Follows::Deployments);
    let canary = p.environment("canary").unwrap();
    assert_eq!(canary.sha_pointer.as_deref(), Some("/meta/a~1b"));
    assert!(config.project("nope").is_none());
    assert!(p.environment("nope").is_none());
}

#[test]
fn to_toml_round_trips_the_example() {
    let config = parse_str(EXAMPLE).unwrap();
    let text = to_toml(&config);
    assert_eq!(parse_str(&text).unwrap(), config);
    expect![[r#"
        [github]
        api_url = "https://api.github.com"

        [defaults]
        grace = "10m"
        ci_timeout = "10m"
        fast_interval = "10s"
        idle_interval = "5m"
        timeout = "10s"
        confirm = 2

        [notifications]
        desktop = true
        webhook = "https://hooks.slack.com/services/..."

        [[project]]
        name = "shop"
        repo = "acme/shop"
        workflows = ["CI"]
        image = "ghcr.io/acme/shop:{sha}"

        [[project.environment]]
        name = "production"
        build_info_url = "https://shop.example.com/api/build-info"
        frontend_url = "https://shop.example.com/"
        health_url = "https://shop.example.com/health"
        expect_environment = "production"
        replicas = 3
    "#]]
    .assert_eq(&text);
}

#[test]
fn to_toml_round_trips_overrides_and_every_optional_key() {
    let text = r#"
[github]
api_url = "http://127.0.0.1:9999"
client_id = "Iv1.abc"

[defaults]
grace = "2m"
fast_interval = "1s"
idle_interval = "1h 30m"
confirm = 3

[notifications]
desktop = false
webhook = "https://hooks.example.com/T0/B0/x?y=\"z\""

[[project]]
name = "shop \"quoted\" ünïcode"
repo = "acme/shop"
branch = "trunk"
image = "ghcr.io/acme/shop:{short_sha}"
mute = true

[[project.environment]]
name = "production"
build_info_url = "https://shop.example.com/api/build-info"
sha_header = "X-Build"
replicas = 2
follows = "deployments"
mute = false
grace = "0s"
timeout = "1500ms"
confirm = 1

[[project.environment]]
name = "staging"
build_info_url = "https://staging.example.com/version"
sha_pointer = "/build/rev"
expect_environment = "staging"
idle_interval = "5m"
grace = "2m"

[[project]]
name = "empty"
repo = "acme/empty"
"#;
    let config = parse_str(text).unwrap();
    // The project is muted but for production, which says otherwise.
    let shop = &config.projects[0];
    assert!(!shop.muted(&shop.environments[0]));
    assert!(shop.muted(&shop.environments[1]));
    assert!(!config.projects[1].mute);
    let rendered = to_toml(&config);
    assert_eq!(parse_str(&rendered).unwrap(), config, "{rendered}");
    // An override equal to [defaults] carries no information and is not written back.
    assert_eq!(rendered.matches("grace = \"2m\"").count(), 1, "{rendered}");
    expect![[r#"
        [github]
        api_url = "http://127.0.0.1:9999"
        client_id = "Iv1.abc"

        [defaults]
        grace = "2m"
        ci_timeout = "10m"
        fast_interval = "1s"
        idle_interval = "1h 30m"
        timeout = "10s"
        confirm = 3

        [notifications]
        desktop = false
        webhook = 'https://hooks.example.com/T0/B0/x?y="z"'

        [[project]]
        name = 'shop "quoted" ünïcode'
        repo = "acme/shop"
        branch = "trunk"
        image = "ghcr.io/acme/shop:{short_sha}"
        mute = true

        [[project.environment]]
        name = "production"
        build_info_url = "https://shop.example.com/api/build-info"
        sha_header = "X-Build"
        replicas = 2
        follows = "deployments"
        mute = false
        grace = "0s"
        timeout = "1s 500ms"
        confirm = 1

        [[project.environment]]
        name = "staging"
        build_info_url = "https://staging.example.com/version"
        sha_pointer = "/build/rev"
        expect_environment = "staging"
        idle_interval = "5m"

        [[project]]
        name = "empty"
        repo = "acme/empty"
    "#]]
    .assert_eq(&rendered);
}

#[test]
fn to_toml_of_an_empty_config_parses_back_empty() {
    let config = parse_str("").unwrap();
    let text = to_toml(&config);
    assert_eq!(parse_str(&text).unwrap(), config);
}

#[test]
fn each_address_is_a_setting_defaults_and_environments_can_set() {
    // Off by default; `[defaults]` turns it on for every environment; one environment turns it
    // off again.
    let config = parse_str(BASE).unwrap();
    assert!(!config.defaults.each_address);
    let text = in_defaults("each_address = true");
    let text = format!("{text}each_address = false\n");
    let config = parse_str(&text).unwrap();
    assert!(config.defaults.each_address);
    let [production, staging] = &config.projects[0].environments[..] else {
        panic!("two environments")
    };
    assert!(production.settings.each_address);
    assert!(!staging.settings.each_address);
    // It round-trips through to_toml: written in [defaults] and as the one override.
    let rendered = to_toml(&config);
    assert!(rendered.contains("each_address = true"), "{rendered}");
    assert!(rendered.contains("each_address = false"), "{rendered}");
    let mut again = parse_str(&rendered).unwrap();
    again.source = config.source.clone();
    assert_eq!(again, config);
    // Off everywhere: not written at all.
    let rendered = to_toml(&parse_str(BASE).unwrap());
    assert!(!rendered.contains("each_address"), "{rendered}");
}

#[test]
fn limits_default_parse_and_round_trip() {
    let plain = crate::parse_str(crate::BASE).unwrap();
    assert_eq!(plain.limits, deploywatch_config::Limits::default());
    assert_eq!(plain.limits.max_concurrent_checks, 64);
    assert_eq!(plain.limits.max_checks_per_host, 8);
    assert!(
        !deploywatch_config::to_toml(&plain).contains("[limits]"),
        "default limits are not written"
    );
    let text = format!(
        "[limits]\nmax_concurrent_checks = 200\nmax_checks_per_host = 16\n{}",
        crate::BASE
    );
    let set = crate::parse_str(&text).unwrap();
    assert_eq!(set.limits.max_concurrent_checks, 200);
    assert_eq!(set.limits.max_checks_per_host, 16);
    let again = crate::parse_str(&deploywatch_config::to_toml(&set)).unwrap();
    assert_eq!(again.limits, set.limits);
}

#[test]
fn incident_actions_are_inherited_overridden_turned_off_and_round_trip() {
    let text = in_defaults(
        "on_open = [\"./fix.sh\", \"--hard\"]\non_resolve = [\"notify-send\", \"fixed\"]\n\
         action_timeout = \"30s\"",
    );
    // staging turns the inherited resolve command off, runs its own on a cause change and
    // never re-checks.
    let text = format!(
        "{text}on_resolve = []\non_cause = [\"sh\", \"-c\", \"echo \\\"$DEPLOYWATCH_VERDICT\\\"\"]\n\
         recheck_after_action = false\n"
    );
    let config = parse_str(&text).unwrap();
    let d = &config.default_actions;
    assert_eq!(d.on_open, ["./fix.sh", "--hard"]);
    assert!(d.on_cause.is_empty());
    assert_eq!(d.on_resolve, ["notify-send", "fixed"]);
    assert_eq!(d.timeout, secs(30));
    assert!(d.recheck);
    let [production, staging] = &config.projects[0].environments[..] else {
        panic!("two environments")
    };
    assert_eq!(&production.actions, d);
    assert_eq!(staging.actions.on_open, ["./fix.sh", "--hard"]);
    assert_eq!(
        staging.actions.on_cause,
        ["sh", "-c", "echo \"$DEPLOYWATCH_VERDICT\""]
    );
    assert!(staging.actions.on_resolve.is_empty());
    assert!(!staging.actions.recheck);
    assert_eq!(staging.actions.timeout, secs(30));
    // Written back as written: the defaults once, the environment's differences only.
    let rendered = to_toml(&config);
    assert_eq!(rendered.matches("on_open").count(), 1, "{rendered}");
    assert!(rendered.contains("on_resolve = []"), "{rendered}");
    let mut again = parse_str(&rendered).unwrap();
    again.source = config.source.clone();
    assert_eq!(again, config);
    // None set: none written, and the built-in defaults.
    let plain = parse_str(BASE).unwrap();
    assert!(!plain.projects[0].environments[0].actions.any());
    assert_eq!(plain.default_actions.timeout, secs(120));
    let rendered = to_toml(&plain);
    for key in [
        "on_open",
        "on_cause",
        "on_resolve",
        "action_timeout",
        "recheck",
    ] {
        assert!(!rendered.contains(key), "{key} in {rendered}");
    }
}

#[test]
fn webhook_format_and_verified_live_are_read_and_round_trip() {
    let plain = parse_str(BASE).unwrap();
    assert_eq!(
        plain.notifications.webhook_format,
        deploywatch_config::WebhookFormat::Slack
    );
    assert!(!plain.notifications.verified_live);
    for format in deploywatch_config::WebhookFormat::ALL {
        let text = format!(
            "[notifications]\nwebhook = \"https://example.com/h\"\nwebhook_format = \"{}\"\n\
             verified_live = true\n{BASE}",
            format.as_str()
        );
        let config = parse_str(&text).unwrap();
        assert_eq!(config.notifications.webhook_format, format);
        assert!(config.notifications.verified_live);
        let mut again = parse_str(&to_toml(&config)).unwrap();
        again.source = config.source.clone();
        assert_eq!(again, config);
    }
    let rendered = to_toml(&plain);
    assert!(!rendered.contains("webhook_format") && !rendered.contains("verified_live"));
    assert!(!plain.github.commit_statuses && !rendered.contains("commit_statuses"));
    let on = parse_str(&format!("[github]\ncommit_statuses = true\n{BASE}")).unwrap();
    assert!(on.github.commit_statuses);
    let mut again = parse_str(&to_toml(&on)).unwrap();
    again.source = on.source.clone();
    assert_eq!(again, on);
}

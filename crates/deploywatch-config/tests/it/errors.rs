//! Every class of configuration error, with the exact message a user sees (file:line:column,
//! key, project/environment, what is wrong).

use deploywatch_config::ErrorKind;
use expect_test::{Expect, expect};

use crate::{BASE, in_defaults, in_env, in_project, parse_str};

/// Asserts that `text` is refused with exactly `expected` as the rendered error.
#[track_caller]
fn check(text: &str, expected: Expect) {
    match parse_str(text) {
        Ok(_) => panic!("accepted, expected an error:\n{text}"),
        Err(e) => expected.assert_eq(&e.to_string()),
    }
}

#[test]
fn the_base_config_is_valid() {
    // Every case below is BASE plus one mistake, so BASE itself must be accepted.
    let config = parse_str(BASE).expect("BASE parses");
    assert_eq!(config.projects[0].environments[1].name, "staging");
}

#[test]
fn invalid_toml_is_a_syntax_error_with_its_line() {
    check(
        &in_env("grace = 10m"),
        expect![[
            r#"config.toml:15:9: invalid TOML: string values must be quoted, expected literal string"#
        ]],
    );
    check(
        &in_env("name = \"again\""),
        expect![[r#"config.toml:15:1: invalid TOML: duplicate key `name`"#]],
    );
    check(
        "[github\napi_url = \"x\"",
        expect![[r#"config.toml:1:8: invalid TOML: unclosed table, expected `]`"#]],
    );
    let e = parse_str(&in_env("grace = 10m")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion_when_close() {
    check(
        &in_env("grce = \"5m\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].grce: unknown key `grce`; did you mean `grace`? (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("build-info-url = \"https://x\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].build-info-url: unknown key `build-info-url`; did you mean `build_info_url`? (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("Replicas = 2"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].Replicas: unknown key `Replicas`; did you mean `replicas`? (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_project("environments = []"),
        expect![[
            r#"config.toml:7:1: project[0].environments: unknown key `environments`; did you mean `environment`? (project "shop")"#
        ]],
    );
    check(
        &in_defaults("confirms = 3"),
        expect![[
            r#"config.toml:2:1: defaults.confirms: unknown key `confirms`; did you mean `confirm`?"#
        ]],
    );
    check(
        "[notifications]\nwebhok = \"https://x\"\n",
        expect![[
            r#"config.toml:2:1: notifications.webhok: unknown key `webhok`; did you mean `webhook`?"#
        ]],
    );
    check(
        "[[projects]]\nname = \"shop\"\n",
        expect![[r#"config.toml:1:3: projects: unknown key `projects`; did you mean `project`?"#]],
    );
    check(
        "[default]\ngrace = \"1m\"\n",
        expect![[r#"config.toml:1:2: default: unknown key `default`; did you mean `defaults`?"#]],
    );
    let e = parse_str(&in_env("grce = \"5m\"")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.key.as_deref(), Some("project[0].environment[1].grce"));
    assert_eq!(
        e.message,
        "unknown key `grce`; did you mean `grace`? (project \"shop\", environment \"staging\")"
    );
    assert_eq!((e.line, e.column), (Some(15), Some(1)));
}

#[test]
fn unknown_keys_without_a_close_match_list_the_valid_ones() {
    check(
        "[frobnicate]\n",
        expect![[
            r#"config.toml:1:2: frobnicate: unknown key `frobnicate`; expected one of: github, defaults, notifications, limits, project"#
        ]],
    );
    check(
        "[github]\nenterprise = true\n",
        expect![
            "config.toml:2:1: github.enterprise: unknown key `enterprise`; expected one of: api_url, client_id, commit_statuses"
        ],
    );
    check(
        &in_env("  colour = \"red\""),
        expect![[
            r#"config.toml:15:3: project[0].environment[1].colour: unknown key `colour`; expected one of: name, build_info_url, frontend_url, health_url, sha_pointer, sha_header, expect_environment, replicas, follows, mute, grace, ci_timeout, fast_interval, idle_interval, timeout, confirm, each_address, on_open, on_cause, on_resolve, action_timeout, recheck_after_action (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn misplaced_keys_say_where_they_belong() {
    check(
        &in_env("image = \"ghcr.io/acme/shop:{sha}\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].image: unknown key `image` in [[project.environment]]; it belongs in [[project]]; keys after a [[project.environment]] header belong to that environment, so move it above the project's first [[project.environment]] (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_project("replicas = 2"),
        expect![[
            r#"config.toml:7:1: project[0].replicas: unknown key `replicas` in [[project]]; it belongs in [[project.environment]] (project "shop")"#
        ]],
    );
    check(
        "[[environment]]\nname = \"production\"\n",
        expect![[
            r#"config.toml:1:3: environment: unknown key `environment`: environments belong to a project; write [[project.environment]] after its [[project]]"#
        ]],
    );
    check(
        "repo = \"acme/shop\"\n",
        expect![[
            r#"config.toml:1:1: repo: unknown key `repo` in the top level; it belongs in [[project]]"#
        ]],
    );
    check(
        "[github]\ntoken = \"ghp_secret\"\n",
        expect![[
            r#"config.toml:2:1: github.token: unknown key `token`: the GitHub token is never read from the config file; sign in with `deploywatch auth login` (or the app's settings) or set GITHUB_TOKEN"#
        ]],
    );
}

#[test]
fn wrong_types_name_what_was_expected() {
    check(
        &in_env("replicas = \"3\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].replicas: expected an integer, found a string (project "shop", environment "staging")"#
        ]],
    );
    check(
        "[notifications]\ndesktop = \"yes\"\n",
        expect![[
            r#"config.toml:2:1: notifications.desktop: expected true or false, found a string"#
        ]],
    );
    check(
        &in_project("workflows = \"CI\""),
        expect![[
            r#"config.toml:7:1: project[0].workflows: expected an array, found a string (project "shop")"#
        ]],
    );
    check(
        &in_project("workflows = [\n  \"CI\",\n  3,\n]"),
        expect![[
            r#"config.toml:9:3: project[0].workflows[1]: expected a string, found an integer (project "shop")"#
        ]],
    );
    check(
        &in_env("sha_header = 42"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].sha_header: expected a string, found an integer (project "shop", environment "staging")"#
        ]],
    );
    check(
        "github = \"https://api.github.com\"\n",
        expect![[r#"config.toml:1:1: github: expected a table, found a string"#]],
    );
    check(
        "[[project.environment]]\nname = \"p\"\n",
        expect![[
            r#"config.toml:1:3: project: expected an array of tables (write [[project]]), found a table"#
        ]],
    );
    check(
        "project = \"shop\"\n",
        expect![[
            r#"config.toml:1:1: project: expected an array of tables (write [[project]]), found a string"#
        ]],
    );
    check(
        "[[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\n[project.environment]\nname = \"p\"\n",
        expect![[
            r#"config.toml:4:10: project[0].environment: expected an array of tables (write [[project.environment]]), found a table (project "shop")"#
        ]],
    );
    check(
        &BASE.replace("name = \"shop\"", "name = 7"),
        expect![[r#"config.toml:5:1: project[0].name: expected a string, found an integer"#]],
    );
}

#[test]
fn missing_required_keys_point_at_the_table_header() {
    check(
        "\n[[project]]\nrepo = \"acme/shop\"\n",
        expect![[
            r#"config.toml:2:1: project[0].name: missing required key `name` in this [[project]]"#
        ]],
    );
    check(
        "[[project]]\nname = \"shop\"\n",
        expect![[
            r#"config.toml:1:1: project[0].repo: missing required key `repo` in this [[project]] (project "shop")"#
        ]],
    );
    check(
        &BASE.replace(
            "build_info_url = \"https://staging.shop.example.com/api/build-info\"\n",
            "",
        ),
        expect![[
            r#"config.toml:12:1: project[0].environment[1].build_info_url: missing required key `build_info_url` in this [[project.environment]] (project "shop", environment "staging")"#
        ]],
    );
    check(
        "[[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\n[[project.environment]]\nbuild_info_url = \"https://x.example\"\n",
        expect![[
            r#"config.toml:4:1: project[0].environment[0].name: missing required key `name` in this [[project.environment]] (project "shop")"#
        ]],
    );
}

#[test]
fn bad_durations_are_errors() {
    check(
        &in_env("grace = \"ten minutes\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].grace: invalid duration "ten minutes": expected e.g. 500ms, 10s, 5m, 1h (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("ci_timeout = \"10\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].ci_timeout: invalid duration "10": expected e.g. 500ms, 10s, 5m, 1h (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("timeout = 10"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].timeout: invalid duration 10: durations are strings with a unit, expected e.g. 500ms, 10s, 5m, 1h (write "10s" for seconds) (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_defaults("idle_interval = \"-5m\""),
        expect![[
            r#"config.toml:2:1: defaults.idle_interval: invalid duration "-5m": expected e.g. 500ms, 10s, 5m, 1h"#
        ]],
    );
    check(
        &BASE.replace("grace = \"10m\"", "grace = \"400days\""),
        expect![[r#"config.toml:2:1: defaults.grace: duration "400days" is longer than 365 days"#]],
    );
    check(
        &BASE.replace("grace = \"10m\"", "grace = true"),
        expect![[
            r#"config.toml:2:1: defaults.grace: expected a duration string such as "10s", found a boolean"#
        ]],
    );
    check(
        &in_env("grace = \"99999999999999999999s\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].grace: invalid duration "99999999999999999999s": expected e.g. 500ms, 10s, 5m, 1h (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn zero_is_refused_for_intervals_and_timeouts() {
    check(
        &in_env("fast_interval = \"0s\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].fast_interval: duration "0s" must be greater than zero (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_defaults("idle_interval = \"0ms\""),
        expect![[
            r#"config.toml:2:1: defaults.idle_interval: duration "0ms" must be greater than zero"#
        ]],
    );
    check(
        &in_env("timeout = \"0s\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].timeout: duration "0s" must be greater than zero (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("ci_timeout = \"0m\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].ci_timeout: duration "0m" must be greater than zero (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn bad_urls_are_errors() {
    check(
        &in_env("health_url = \"ftp://shop.example.com/health\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].health_url: invalid URL "ftp://shop.example.com/health": the scheme must be http or https, not ftp (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("frontend_url = \"shop.example.com\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].frontend_url: invalid URL "shop.example.com": relative URL without a base (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("health_url = \" https://shop.example.com\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].health_url: invalid URL " https://shop.example.com": expected an http:// or https:// URL without surrounding spaces (project "shop", environment "staging")"#
        ]],
    );
    check(
        "[github]\napi_url = \"file:///etc/passwd\"\n",
        expect![[
            r#"config.toml:2:1: github.api_url: invalid URL "file:///etc/passwd": the scheme must be http or https, not file"#
        ]],
    );
    check(
        "[notifications]\nwebhook = \"hooks.slack.com/x\"\n",
        expect![[
            r#"config.toml:2:1: notifications.webhook: invalid URL "hooks.slack.com/x": relative URL without a base"#
        ]],
    );
    check(
        &BASE.replace("https://staging.shop.example.com/api/build-info", "http://"),
        expect![[
            r#"config.toml:14:1: project[0].environment[1].build_info_url: invalid URL "http://": empty host (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn duplicate_names_are_errors_naming_the_first() {
    let two_projects = format!("{BASE}\n[[project]]\nname = \"shop\"\nrepo = \"acme/other\"\n");
    check(
        &two_projects,
        expect![[
            r#"config.toml:17:1: project[1].name: duplicate project name "shop" (first defined on line 5)"#
        ]],
    );
    let two_envs = format!(
        "{BASE}\n[[project.environment]]\nname = \"production\"\nbuild_info_url = \"https://x.example\"\n"
    );
    check(
        &two_envs,
        expect![[
            r#"config.toml:17:1: project[0].environment[2].name: duplicate environment name "production" in project "shop" (first defined on line 9)"#
        ]],
    );
    // The same environment name in two projects is fine.
    let other = format!(
        "{BASE}\n[[project]]\nname = \"blog\"\nrepo = \"acme/blog\"\n[[project.environment]]\nname = \"production\"\nbuild_info_url = \"https://blog.example\"\n"
    );
    assert!(parse_str(&other).is_ok());
}

#[test]
fn out_of_range_counts_are_errors() {
    check(
        &in_env("replicas = 0"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].replicas: replicas must be between 1 and 64, got 0 (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("replicas = 65"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].replicas: replicas must be between 1 and 64, got 65 (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("replicas = -1"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].replicas: replicas must be between 1 and 64, got -1 (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("confirm = 0"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].confirm: confirm must be at least 1, got 0 (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_defaults("confirm = 0"),
        expect![[r#"config.toml:2:1: defaults.confirm: confirm must be at least 1, got 0"#]],
    );
    check(
        &in_defaults("confirm = 99999999999999999999"),
        expect![[
            r#"config.toml:2:1: defaults.confirm: confirm is too large: 99999999999999999999"#
        ]],
    );
    check(
        &in_defaults("confirm = 4294967296"),
        expect![[r#"config.toml:2:1: defaults.confirm: confirm is too large: 4294967296"#]],
    );
    check(
        &in_env("replicas = 0x41"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].replicas: replicas must be between 1 and 64, got 0x41 (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn fast_interval_longer_than_idle_interval_is_an_error() {
    check(
        &in_defaults("fast_interval = \"10m\""),
        expect![[
            r#"config.toml:2:1: defaults.fast_interval: fast_interval (10m) must not be longer than idle_interval (5m)"#
        ]],
    );
    check(
        &in_defaults("idle_interval = \"5s\""),
        expect![[
            r#"config.toml:2:1: defaults.idle_interval: idle_interval (5s) must not be shorter than fast_interval (10s)"#
        ]],
    );
    check(
        &in_env("fast_interval = \"6m\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].fast_interval: fast_interval (6m) must not be longer than idle_interval (5m) (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("idle_interval = \"1s\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].idle_interval: idle_interval (1s) must not be shorter than fast_interval (10s) (project "shop", environment "staging")"#
        ]],
    );
    // Overriding both consistently is fine, even beyond the defaults.
    assert!(parse_str(&in_env("fast_interval = \"10m\"\nidle_interval = \"1h\"")).is_ok());
}

#[test]
fn sha_pointer_and_sha_header_are_exclusive_and_checked() {
    check(
        &in_env("sha_pointer = \"/meta/rev\"\nsha_header = \"X-Build\""),
        expect![[
            r#"config.toml:16:1: project[0].environment[1].sha_header: sha_pointer and sha_header are both set: choose one (the SHA is read either from the JSON body or from a header) (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("sha_pointer = \"meta/rev\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].sha_pointer: invalid sha_pointer "meta/rev": a JSON pointer (RFC 6901) starts with "/", e.g. "/meta/rev" (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("sha_pointer = \"/a~2b\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].sha_pointer: invalid sha_pointer "/a~2b": `~` must be followed by 0 or 1 (RFC 6901 escapes) (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("sha_header = \"X Build\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].sha_header: invalid sha_header "X Build": expected an HTTP header name, e.g. "X-Build" (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn bad_follows_is_an_error() {
    check(
        &in_env("follows = \"tags\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].follows: invalid follows "tags": expected "branch" or "deployments" (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("follows = \"Branch\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].follows: invalid follows "Branch": expected "branch" or "deployments" (project "shop", environment "staging")"#
        ]],
    );
}

#[test]
fn bad_image_templates_are_errors() {
    check(
        &in_project("image = \"ghcr.io/acme/shop:{tag}\""),
        expect![[
            r#"config.toml:7:1: project[0].image: unknown placeholder {tag} in image "ghcr.io/acme/shop:{tag}": only {sha} and {short_sha} are allowed (project "shop")"#
        ]],
    );
    check(
        &in_project("image = \"ghcr.io/acme/shop:latest\""),
        expect![[
            r#"config.toml:7:1: project[0].image: image "ghcr.io/acme/shop:latest" has no {sha} or {short_sha} placeholder: Deploywatch looks up the image built for each commit, e.g. "ghcr.io/acme/shop:{sha}" (project "shop")"#
        ]],
    );
    check(
        &in_project("image = \"ghcr.io/acme/shop:{sha\""),
        expect![[
            r#"config.toml:7:1: project[0].image: unclosed `{` in image "ghcr.io/acme/shop:{sha": only {sha} and {short_sha} placeholders are allowed (project "shop")"#
        ]],
    );
    check(
        &in_project("image = \"ghcr.io/acme/shop:sha}\""),
        expect![[
            r#"config.toml:7:1: project[0].image: unmatched `}` in image "ghcr.io/acme/shop:sha}": only {sha} and {short_sha} placeholders are allowed (project "shop")"#
        ]],
    );
    check(
        &in_project("image = \"ghcr.io/acme/shop:{SHA}\""),
        expect![[
            r#"config.toml:7:1: project[0].image: unknown placeholder {SHA} in image "ghcr.io/acme/shop:{SHA}": only {sha} and {short_sha} are allowed (project "shop")"#
        ]],
    );
}

#[test]
fn bad_repo_branch_and_names_are_errors() {
    check(
        &BASE.replace("acme/shop", "acme"),
        expect![[
            r#"config.toml:6:1: project[0].repo: invalid repo "acme": expected "owner/name", e.g. "acme/shop" (project "shop")"#
        ]],
    );
    check(
        &BASE.replace("acme/shop", "https://github.com/acme/shop"),
        expect![[
            r#"config.toml:6:1: project[0].repo: invalid repo "https://github.com/acme/shop": expected "owner/name", e.g. "acme/shop" (project "shop")"#
        ]],
    );
    check(
        &BASE.replace("acme/shop", "acme/shop/extra"),
        expect![[
            r#"config.toml:6:1: project[0].repo: invalid repo "acme/shop/extra": expected "owner/name", e.g. "acme/shop" (project "shop")"#
        ]],
    );
    check(
        &in_project("branch = \"\""),
        expect![[r#"config.toml:7:1: project[0].branch: must not be empty (project "shop")"#]],
    );
    check(
        &in_project("branch = \"my branch\""),
        expect![[
            r#"config.toml:7:1: project[0].branch: "my branch" must not contain whitespace (project "shop")"#
        ]],
    );
    check(
        &BASE.replace("name = \"shop\"", "name = \"\""),
        expect![[r#"config.toml:5:1: project[0].name: must not be empty"#]],
    );
    check(
        &BASE.replace("name = \"staging\"", "name = \" staging\""),
        expect![[
            r#"config.toml:13:1: project[0].environment[1].name: " staging" has leading or trailing whitespace (project "shop")"#
        ]],
    );
    check(
        &in_project("workflows = [\"CI\", \"\"]"),
        expect![[
            r#"config.toml:7:20: project[0].workflows[1]: must not be empty (project "shop")"#
        ]],
    );
    check(
        &in_env("expect_environment = \"\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].expect_environment: must not be empty (project "shop", environment "staging")"#
        ]],
    );
    check(
        "[github]\nclient_id = \"\"\n",
        expect![[r#"config.toml:2:1: github.client_id: must not be empty"#]],
    );
}

#[test]
fn columns_count_characters_and_unknown_keys_are_reported_in_file_order() {
    // Non-ASCII before the key: the column counts characters, not bytes.
    check(
        "[[project]]\nname = \"café\"; ",
        expect![[
            r#"config.toml:2:14: invalid TOML: unexpected key or value, expected newline, `#`"#
        ]],
    );
    check(
        "[[project]]\nname = \"café\"\nrepo = \"acme/shop\"\n[[project.environment]]\nname = \"é\"\nbuild_info_url = \"https://x.example\"\nrepl = 2\ngrce = \"1m\"\n",
        expect![[
            r#"config.toml:7:1: project[0].environment[0].repl: unknown key `repl`; did you mean `replicas`? (project "café", environment "é")"#
        ]],
    );
}

#[test]
fn each_address_must_be_a_boolean_and_names_file_line_key() {
    check(
        &in_env("each_address = \"yes\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].each_address: expected true or false, found a string (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_defaults("each_address = 1"),
        expect![[
            r#"config.toml:2:1: defaults.each_address: expected true or false, found an integer"#
        ]],
    );
    check(
        &in_env("each_adress = true"),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].each_adress: unknown key `each_adress`; did you mean `each_address`? (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_project("each_address = true"),
        expect![[
            r#"config.toml:7:1: project[0].each_address: unknown key `each_address` in [[project]]; it belongs in [defaults] or [[project.environment]] (project "shop")"#
        ]],
    );
}

#[test]
fn mute_must_be_a_boolean_and_names_file_line_key() {
    check(
        &in_env("mute = \"yes\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].mute: expected true or false, found a string (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_project("mute = 1"),
        expect![[
            r#"config.toml:7:1: project[0].mute: expected true or false, found an integer (project "shop")"#
        ]],
    );
    check(
        &in_defaults("mute = true"),
        expect![
            "config.toml:2:1: defaults.mute: unknown key `mute` in [defaults]; it belongs in [[project]] or [[project.environment]]"
        ],
    );
}

#[test]
fn limits_are_checked_and_name_file_line_key() {
    check(
        &format!("[limits]\nmax_concurrent_checks = 0\n{BASE}"),
        expect![
            "config.toml:2:1: limits.max_concurrent_checks: max_concurrent_checks must be between 1 and 4096, got 0"
        ],
    );
    check(
        &format!("[limits]\nmax_checks_per_host = 5000\n{BASE}"),
        expect![
            "config.toml:2:1: limits.max_checks_per_host: max_checks_per_host must be between 1 and 4096, got 5000"
        ],
    );
    check(
        &format!("[limits]\nmax_checks_per_host = \"8\"\n{BASE}"),
        expect!["config.toml:2:1: limits.max_checks_per_host: expected an integer, found a string"],
    );
    check(
        &format!("[limits]\nmax_concurent_checks = 8\n{BASE}"),
        expect![
            "config.toml:2:1: limits.max_concurent_checks: unknown key `max_concurent_checks`; did you mean `max_concurrent_checks`?"
        ],
    );
    check(
        &in_defaults("max_concurrent_checks = 8"),
        expect![
            "config.toml:2:1: defaults.max_concurrent_checks: unknown key `max_concurrent_checks` in [defaults]; it belongs in [limits]"
        ],
    );
}

#[test]
fn incident_actions_are_arrays_of_words_and_errors_name_file_line_key() {
    check(
        &in_defaults("on_open = \"docker compose restart web\""),
        expect![[
            r#"config.toml:2:1: defaults.on_open: expected an array of words, found a string: write the command as an array of words, e.g. ["systemctl", "--user", "restart", "shop"]; it runs without a shell (for shell syntax write ["sh", "-c", "..."])"#
        ]],
    );
    check(
        &in_env("on_cause = [\"docker compose\", \"restart\"]"),
        expect![[
            r#"config.toml:15:13: project[0].environment[1].on_cause[0]: the program "docker compose" contains a space: write the command as an array of words, e.g. ["systemctl", "--user", "restart", "shop"]; it runs without a shell (for shell syntax write ["sh", "-c", "..."]) (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("on_resolve = [\"\", \"x\"]"),
        expect![[
            r#"config.toml:15:15: project[0].environment[1].on_resolve[0]: the program (the first word) must not be empty (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_env("on_open = [\"fix\", 3]"),
        expect![[
            r#"config.toml:15:19: project[0].environment[1].on_open[1]: expected a string, found an integer (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_defaults("on_open = [\"fix\", \"a\\u0000b\"]"),
        expect![[
            r#"config.toml:2:19: defaults.on_open[1]: a command word may not contain a NUL character"#
        ]],
    );
    check(
        &in_defaults("action_timeout = \"2h\""),
        expect![[
            r#"config.toml:2:1: defaults.action_timeout: action_timeout 2h is longer than 1h: an action is a repair, not a service"#
        ]],
    );
    check(
        &in_defaults("action_timeout = \"0s\""),
        expect![[
            r#"config.toml:2:1: defaults.action_timeout: duration "0s" must be greater than zero"#
        ]],
    );
    check(
        &in_env("recheck_after_action = \"yes\""),
        expect![[
            r#"config.toml:15:1: project[0].environment[1].recheck_after_action: expected true or false, found a string (project "shop", environment "staging")"#
        ]],
    );
    check(
        &in_project("on_open = [\"fix\"]"),
        expect![[
            r#"config.toml:7:1: project[0].on_open: unknown key `on_open` in [[project]]; it belongs in [defaults] or [[project.environment]] (project "shop")"#
        ]],
    );
}

#[test]
fn a_webhook_format_that_does_not_exist_names_the_ones_that_do() {
    check(
        &format!("[notifications]\nwebhook_format = \"msteams\"\n{BASE}"),
        expect![[
            r#"config.toml:2:1: notifications.webhook_format: invalid webhook_format "msteams": expected "slack", "json", "teams" or "discord""#
        ]],
    );
    check(
        &format!("[notifications]\nverified_live = \"yes\"\n{BASE}"),
        expect![[
            r#"config.toml:2:1: notifications.verified_live: expected true or false, found a string"#
        ]],
    );
}

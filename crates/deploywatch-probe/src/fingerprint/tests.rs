//! Table tests of the fingerprint parser: every format of SPEC §2, the locator overrides and
//! hostile bodies. Each case is one line; `UPDATE_EXPECT=1 cargo test` refreshes expectations.

use expect_test::{Expect, expect};

use super::*;

const FULL: &str = "0123456789abcdef0123456789abcdef01234567";

/// Parses `body` (with content type `ct` and `headers`) and renders the outcome on one line.
fn render(
    ct: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    truncated: bool,
    locator: &Locator,
) -> String {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let ct = (!ct.is_empty()).then_some(ct);
    match parse_fingerprint(&map, ct, body, truncated, locator) {
        Ok(f) => {
            let mut line = format!("{} from {}", f.sha, f.source);
            if let Some(d) = f.build_date {
                line += &format!(", built {}", d.to_rfc3339());
            }
            if let Some(t) = f.image_tag {
                line += &format!(", image tag {t}");
            }
            if let Some(e) = f.environment {
                line += &format!(", environment {e}");
            }
            line
        }
        Err(e) => format!("error: {e}"),
    }
}

fn json(body: &str, want: Expect) {
    want.assert_eq(&render(
        "application/json",
        &[],
        body.as_bytes(),
        false,
        &Locator::default(),
    ));
}

fn with_headers(headers: &[(&str, &str)], body: &str, want: Expect) {
    want.assert_eq(&render(
        "application/json",
        headers,
        body.as_bytes(),
        false,
        &Locator::default(),
    ));
}

fn html(body: &str, want: Expect) {
    want.assert_eq(&render(
        "text/html; charset=utf-8",
        &[],
        body.as_bytes(),
        false,
        &Locator::default(),
    ));
}

fn raw(ct: &str, body: &[u8], truncated: bool, want: Expect) {
    want.assert_eq(&render(ct, &[], body, truncated, &Locator::default()));
}

fn located(
    pointer: Option<&str>,
    header: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
    want: Expect,
) {
    let locator = Locator {
        sha_pointer: pointer.map(str::to_string),
        sha_header: header.map(str::to_string),
        ..Locator::default()
    };
    want.assert_eq(&render(
        "application/json",
        headers,
        body.as_bytes(),
        false,
        &locator,
    ));
}

#[test]
fn json_fields_in_spec_order() {
    json(
        r#"{"git_sha": "ABC1234DEF"}"#,
        expect!["abc1234def from JSON /git_sha"],
    );
    json(
        r#"{"sha": "abc1234", "built_at": "2026-11-21T10:02:11Z"}"#,
        expect!["abc1234 from JSON /sha, built 2026-11-21T10:02:11+00:00"],
    );
    json(
        r#"{"commit": "abc1234"}"#,
        expect!["abc1234 from JSON /commit"],
    );
    json(
        r#"{"commit_sha": "abc1234"}"#,
        expect!["abc1234 from JSON /commit_sha"],
    );
    json(
        r#"{"git_commit": "abc1234"}"#,
        expect!["abc1234 from JSON /git_commit"],
    );
    json(
        r#"{"revision": "abc1234"}"#,
        expect!["abc1234 from JSON /revision"],
    );
    json(
        r#"{"gitCommit": "abc1234"}"#,
        expect!["abc1234 from JSON /gitCommit"],
    );
    json(
        r#"{"commitSha": "abc1234"}"#,
        expect!["abc1234 from JSON /commitSha"],
    );
    json(
        r#"{"build": {"git_sha": "abc1234"}}"#,
        expect!["abc1234 from JSON /build/git_sha"],
    );
    json(
        r#"{"version": "1.4.2-abc1234"}"#,
        expect!["abc1234 from JSON /version"],
    );
    json(
        r#"{"version": "1.4.2+abc1234"}"#,
        expect!["abc1234 from JSON /version"],
    );
    // Earlier fields win.
    json(
        r#"{"sha": "bbbbbbb", "git_sha": "aaaaaaa"}"#,
        expect!["aaaaaaa from JSON /git_sha"],
    );
    json(
        r#"{"version": "1.0.0-bbbbbbb", "revision": "aaaaaaa"}"#,
        expect!["aaaaaaa from JSON /revision"],
    );
}

#[test]
fn well_known_endpoints() {
    // Mozilla Dockerflow /__version__.
    json(
        &format!(
            r#"{{"source": "https://github.com/acme/shop", "version": "1.4.2", "commit": "{FULL}", "build": "https://ci.example.com/1"}}"#
        ),
        expect!["0123456789abcdef0123456789abcdef01234567 from JSON /commit"],
    );
    // Spring Boot actuator info, simple form.
    json(
        r#"{"git": {"branch": "main", "commit": {"id": "d632b4f", "time": "2026-11-21T10:02:11Z"}}}"#,
        expect!["d632b4f from JSON /git/commit/id (Spring Boot), built 2026-11-21T10:02:11+00:00"],
    );
    // Spring Boot actuator info, full form: the full SHA is preferred to the abbreviation.
    json(
        &format!(
            r#"{{"git": {{"commit": {{"id": {{"abbrev": "0123456", "full": "{FULL}"}}, "time": "2026-11-21T10:02:11+0000"}}}}, "build": {{"version": "1.0"}}}}"#
        ),
        expect![[
            r#"0123456789abcdef0123456789abcdef01234567 from JSON /git/commit/id (Spring Boot), built 2026-11-21T10:02:11+00:00"#
        ]],
    );
    json(
        r#"{"git": {"commit": {"id": {"abbrev": "d632b4f"}}}}"#,
        expect!["d632b4f from JSON /git/commit/id (Spring Boot)"],
    );
    json(
        r#"{"git": {"commit": {"id": {"describe": "v1"}}}}"#,
        expect![[
            r#"error: JSON field `git.commit.id` is an object without a `full` or `abbrev` string; JSON field `git.commit.id.describe` is "v1", which contains no git SHA"#
        ]],
    );
    // /api/build-info with everything.
    json(
        r#"{"git_sha": "abc1234", "build_date": 1795255331, "image_tag": "abc1234", "environment": "production"}"#,
        expect![[
            r#"abc1234 from JSON /git_sha, built 2026-11-21T10:02:11+00:00, image tag abc1234, environment production"#
        ]],
    );
    json(
        r#"{"sha": "abc1234", "buildDate": "2026-11-21 10:02:11", "env": "staging"}"#,
        expect!["abc1234 from JSON /sha, built 2026-11-21T10:02:11+00:00, environment staging"],
    );
    json(
        r#"{"sha": "abc1234", "built_at": "yesterday"}"#,
        expect!["abc1234 from JSON /sha"],
    );
}

#[test]
fn unusable_values_say_what_was_found() {
    json(
        r#"{"git_sha": "unknown"}"#,
        expect![[r#"error: JSON field `git_sha` is "unknown", not a git SHA"#]],
    );
    json(
        r#"{"git_sha": ""}"#,
        expect![[r#"error: JSON field `git_sha` is "", not a git SHA"#]],
    );
    json(
        r#"{"git_sha": null}"#,
        expect!["error: JSON field `git_sha` is null, not a git SHA"],
    );
    json(
        r#"{"git_sha": 1234567}"#,
        expect!["error: JSON field `git_sha` is the number 1234567, not a git SHA"],
    );
    json(
        r#"{"commit": {"id": "abc1234"}}"#,
        expect!["abc1234 from JSON /commit/id"],
    );
    json(
        r#"{"sha": "v1.2"}"#,
        expect![[r#"error: JSON field `sha` is "v1.2", not a git SHA"#]],
    );
    json(
        r#"{"version": "1.4.2"}"#,
        expect![[
            r#"error: no git SHA in the JSON fields git_sha, sha, commit, commit_sha, git_commit, revision, gitCommit, commitSha, git.commit.id, build.git_sha, version and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header; its keys are: "version"; JSON field `version` is "1.4.2", which contains no git SHA"#
        ]],
    );
    json(
        r#"{"status": "ok", "uptime": 12}"#,
        expect![[
            r#"error: no git SHA in the JSON fields git_sha, sha, commit, commit_sha, git_commit, revision, gitCommit, commitSha, git.commit.id, build.git_sha, version and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header; its keys are: "status", "uptime""#
        ]],
    );
    json(
        r#"{}"#,
        expect![
            "error: no git SHA in the JSON fields git_sha, sha, commit, commit_sha, git_commit, revision, gitCommit, commitSha, git.commit.id, build.git_sha, version and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header; it is an empty object"
        ],
    );
    json(
        r#"["abc1234"]"#,
        expect![
            "error: the JSON is an array, not an object with a SHA field, and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"
        ],
    );
    // A garbage field does not hide a real SHA elsewhere...
    json(
        r#"{"git_sha": "unknown", "version": "2.0.0+abc1234"}"#,
        expect!["abc1234 from JSON /version"],
    );
    with_headers(
        &[("X-Git-Sha", "abc1234")],
        r#"{"git_sha": "${GIT_SHA}"}"#,
        expect!["abc1234 from header X-Git-Sha"],
    );
    // ...and when there is none, the garbage is what is reported.
    json(
        r#"{"git_sha": "unknown", "version": "2.0.0"}"#,
        expect![[
            r#"error: JSON field `git_sha` is "unknown", not a git SHA; JSON field `version` is "2.0.0", which contains no git SHA"#
        ]],
    );
}

#[test]
fn headers_in_spec_order() {
    let body = r#"{"status": "ok"}"#;
    with_headers(
        &[("X-Git-Sha", "abc1234")],
        body,
        expect!["abc1234 from header X-Git-Sha"],
    );
    with_headers(
        &[("X-Commit-Sha", "abc1234")],
        body,
        expect!["abc1234 from header X-Commit-Sha"],
    );
    with_headers(
        &[("X-Release", "shop@1.2.3+abc1234")],
        body,
        expect!["abc1234 from header X-Release"],
    );
    with_headers(
        &[("X-Version", "2.0.0-abc1234")],
        body,
        expect!["abc1234 from header X-Version"],
    );
    with_headers(
        &[("X-Version", "2.0.0-abc1234"), ("X-Git-Sha", "def5678")],
        body,
        expect!["def5678 from header X-Git-Sha"],
    );
    // JSON fields come before headers.
    with_headers(
        &[("X-Git-Sha", "def5678")],
        r#"{"sha": "abc1234"}"#,
        expect!["abc1234 from JSON /sha"],
    );
    with_headers(
        &[("X-Git-Sha", "unknown")],
        body,
        expect![[r#"error: header X-Git-Sha is "unknown", not a git SHA"#]],
    );
    with_headers(
        &[("X-Version", "2.0.0")],
        "",
        expect![[
            r#"error: the body is empty and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header; header X-Version is "2.0.0", which contains no git SHA"#
        ]],
    );
    with_headers(
        &[("X-Git-Sha", "abc1234")],
        "",
        expect!["abc1234 from header X-Git-Sha"],
    );
}

#[test]
fn html_meta_tags() {
    let page = |meta: &str| {
        format!("<!doctype html><html><head>{meta}<title>Shop</title></head><body></body></html>")
    };
    html(
        &page(r#"<meta name="build-sha" content="abc1234">"#),
        expect![[r#"abc1234 from HTML <meta name="build-sha">"#]],
    );
    html(
        &page(r#"<meta name="git-sha" content="abc1234">"#),
        expect![[r#"abc1234 from HTML <meta name="git-sha">"#]],
    );
    html(
        &page(r#"<meta name="release" content="shop@1.2.3+abc1234">"#),
        expect![[r#"abc1234 from HTML <meta name="release">"#]],
    );
    html(
        &page(r#"<meta name="version" content="1.2.3-abc1234">"#),
        expect![[r#"abc1234 from HTML <meta name="version">"#]],
    );
    html(
        &page(r#"<meta NAME="Build-SHA" content=" ABC1234 ">"#),
        expect![[r#"abc1234 from HTML <meta name="build-sha">"#]],
    );
    html(
        &page(
            r#"<meta name="version" content="1.2.3-aaaaaaa"><meta name="git-sha" content="bbbbbbb">"#,
        ),
        expect![[r#"bbbbbbb from HTML <meta name="git-sha">"#]],
    );
    html(
        &page(r#"<meta name="build-sha" content="%VITE_GIT_SHA%">"#),
        expect![[r#"error: HTML <meta name="build-sha"> is "%VITE_GIT_SHA%", not a git SHA"#]],
    );
    html(
        &page(r#"<meta name="viewport" content="width=device-width">"#),
        expect![[
            r#"error: got an HTML page (title "Shop"), not JSON, with no <meta name="build-sha">, "git-sha", "release" or "version" tag and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    // The header outranks the meta tag.
    want_header_over_meta();
}

fn want_header_over_meta() {
    expect!["def5678 from header X-Git-Sha"].assert_eq(&render(
        "text/html",
        &[("X-Git-Sha", "def5678")],
        br#"<meta name="build-sha" content="abc1234">"#,
        false,
        &Locator::default(),
    ));
}

#[test]
fn locator_overrides() {
    let body = r#"{"git_sha": "aaaaaaa", "meta": {"rev": "bbbbbbb", "tag": "v2-ccccccc"}}"#;
    located(
        Some("/meta/rev"),
        None,
        &[],
        body,
        expect!["bbbbbbb from JSON /meta/rev (sha_pointer)"],
    );
    located(
        Some("/meta/tag"),
        None,
        &[],
        body,
        expect!["ccccccc from JSON /meta/tag (sha_pointer)"],
    );
    // An override replaces auto-detection: a SHA elsewhere is not used.
    located(
        Some("/meta/missing"),
        None,
        &[],
        body,
        expect![[
            r#"error: sha_pointer `/meta/missing` is not in the JSON body; its keys are: "git_sha", "meta""#
        ]],
    );
    located(
        Some("/meta"),
        None,
        &[],
        body,
        expect![[
            r#"error: JSON field `/meta` (sha_pointer) is an object without a `full` or `abbrev` string"#
        ]],
    );
    located(
        None,
        Some("X-Build"),
        &[("x-build", "DDDDDDD")],
        body,
        expect!["ddddddd from header X-Build (sha_header)"],
    );
    located(
        None,
        Some("X-Build"),
        &[("X-Git-Sha", "eeeeeee")],
        body,
        expect!["error: the answer has no X-Build header (sha_header)"],
    );
    located(
        Some("/rev"),
        None,
        &[],
        "<html><title>Login</title></html>",
        expect![[
            r#"error: sha_pointer `/rev` is set but got an HTML page (title "Login"), not JSON, with no <meta name="build-sha">, "git-sha", "release" or "version" tag and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    // Both given: the pointer first, then the header.
    located(
        Some("/meta/missing"),
        Some("X-Build"),
        &[("X-Build", "fffffff")],
        body,
        expect!["fffffff from header X-Build (sha_header)"],
    );
}

#[test]
fn hostile_bodies_are_errors_not_panics() {
    html(
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        expect![[
            r#"error: got an HTML page (title "502 Bad Gateway"), not JSON, with no <meta name="build-sha">, "git-sha", "release" or "version" tag and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    // Labelled JSON, but an error page.
    raw(
        "application/json",
        b"<!DOCTYPE html><html><title>Sign in</title></html>",
        false,
        expect![[
            r#"error: got an HTML page (title "Sign in"), not JSON, with no <meta name="build-sha">, "git-sha", "release" or "version" tag and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    // The first mebibyte of a 200 MB JSON document.
    let mut big = br#"{"items": ["#.to_vec();
    while big.len() < 1024 * 1024 {
        big.extend_from_slice(br#""padding padding padding", "#);
    }
    big.truncate(1024 * 1024);
    raw(
        "application/json",
        &big,
        true,
        expect![[
            r#"error: the body is larger than the body cap and was cut off after 1048576 bytes, so it is not complete JSON"#
        ]],
    );
    raw(
        "application/json",
        br#"{"git_sha": "abc12"#,
        false,
        expect![[
            r#"error: the body is not valid JSON: EOF while parsing a string at line 1 column 18"#
        ]],
    );
    // UTF-16 JSON and binary noise.
    raw(
        "application/json",
        b"{\x00\"\x00s\x00h\x00a\x00\"\x00:\x00\xff\xfe",
        false,
        expect!["error: the body is not UTF-8 text (invalid byte at offset 14), so it is not JSON"],
    );
    raw(
        "",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff",
        false,
        expect!["error: the body is not UTF-8 text (invalid byte at offset 0)"],
    );
    // 100 000 levels of nesting.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    raw(
        "application/json",
        deep.as_bytes(),
        false,
        expect!["error: the JSON is nested too deeply to read (more than 128 levels)"],
    );
    let deep = r#"{"a":"#.repeat(100_000) + "1" + &"}".repeat(100_000);
    raw(
        "application/json",
        deep.as_bytes(),
        false,
        expect!["error: the JSON is nested too deeply to read (more than 128 levels)"],
    );
    raw(
        "application/json",
        b"",
        false,
        expect![[
            r#"error: the body is empty and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    raw(
        "application/json",
        b"   \r\n",
        false,
        expect![[
            r#"error: the body is empty and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    raw(
        "text/plain",
        b"OK",
        false,
        expect![[
            r#"error: the body is plain text, not JSON: "OK" and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    raw(
        "text/plain",
        b"abc1234def\n",
        false,
        expect!["abc1234def from plain-text body"],
    );
    raw(
        "application/json",
        "\u{feff}{\"sha\": \"abc1234\"}".as_bytes(),
        false,
        expect!["abc1234 from JSON /sha"],
    );
    raw(
        "text/plain",
        "x".repeat(1 << 20).as_bytes(),
        true,
        expect![[
            r#"error: the body is plain text, not JSON: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#
        ]],
    );
    raw(
        "application/json",
        br#"{"git_sha": "\u001b[2J\u0007 pwned"}"#,
        false,
        expect![[r#"error: JSON field `git_sha` is "\u{1b}[2J\u{7} pwned", not a git SHA"#]],
    );
}

#[test]
fn deeply_nested_html_is_searched_without_overflow() {
    let page = format!(
        r#"<html><head><meta name="build-sha" content="abc1234"></head><body>{}</body></html>"#,
        "<div>".repeat(100_000)
    );
    html(
        &page,
        expect![[r#"abc1234 from HTML <meta name="build-sha">"#]],
    );
}

proptest::proptest! {
    /// The remembered class of a header name is the one computed from its words, the first
    /// time and every time after (also once the memory has been emptied by many names).
    #[test]
    fn a_header_names_remembered_class_is_its_computed_class(
        names in proptest::collection::vec("[a-zA-Z][a-zA-Z0-9-]{0,24}", 1..40),
    ) {
        for name in names.iter().chain(names.iter()) {
            let lower = name.to_ascii_lowercase();
            let words = keys::words(&lower);
            let (class, specificity) = keys::classify(&words, &[]);
            let got = keys::header_class(&lower);
            proptest::prop_assert_eq!(got.class, class, "{}", lower);
            proptest::prop_assert_eq!(got.specificity, specificity, "{}", lower);
            proptest::prop_assert_eq!(
                got.outright,
                words.iter().any(|w| w == "commit" || w == "sha"),
                "{}",
                lower
            );
        }
    }
}

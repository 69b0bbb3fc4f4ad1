//! Property tests of the fingerprint parser (and, through it, the HTML scanner): arbitrary
//! bytes never panic and any SHA returned is 7–64 lowercase hex; generated JSON bodies keep
//! the invariants detection promises (a top-level `git_sha` is read, a known commit planted
//! anywhere is found as a known commit, a pin re-applied as configuration reads the same SHA);
//! hostile inputs (100 000 nested arrays, 1 MiB of `<div>`, 1 MiB of JSON, 100 000 JSON values) return in bounded time.
//!
//! Case counts: 2000 cases per property (7 properties: 14 000 generated inputs per run), plus
//! the fixed hostile inputs.

use std::time::{Duration, Instant};

use deploywatch_core::{Confidence, Pin, Sha};
use deploywatch_probe::{Locator, parse_fingerprint};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Value};

const CASES: u32 = 2000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn parse(
    ct: Option<&str>,
    body: &[u8],
    locator: &Locator,
) -> Result<deploywatch_core::Fingerprint, String> {
    parse_fingerprint(&HeaderMap::new(), ct, body, false, locator)
}

fn is_sha_shape(sha: &Sha) -> bool {
    let s = sha.as_str();
    (7..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("text/html; charset=utf-8"),
        Some("text/plain; version=0.0.4"),
        Some("application/vnd.spring-boot.actuator.v3+json"),
        Some("application/openmetrics-text"),
    ])
}

/// Keys that can never say commit, version, build or "not this build": letters k–z, digits,
/// and the two characters RFC 6901 escapes.
fn neutral_key() -> impl Strategy<Value = String> {
    // Letters k–z spell no word the fingerprint reads by name except `vsn` (Erlang's version
    // key): a name holding it is a version field, not a neutral one, and may rightly outrank
    // a known commit under a meaningless key (a case the shrinker once found).
    "[k-z0-9~/]{1,8}".prop_filter("a neutral name, not `vsn`", |k| !k.contains("vsn"))
}

fn hex(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(b"0123456789abcdef".to_vec()),
        min..=max,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
}

/// A 40-hex SHA with at least one letter and one digit (as nearly all real ones).
fn full_sha() -> impl Strategy<Value = String> {
    hex(40, 40).prop_map(|mut s| {
        s.replace_range(0..2, "a1");
        s
    })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,30}".prop_map(Value::String),
        hex(7, 40).prop_map(Value::String),
    ]
}

fn neutral_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(neutral_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Puts `value` somewhere in `doc` following `choices`, returning the pointer where it went.
fn plant(doc: &mut Value, choices: &[usize], key: &str, value: Value) -> String {
    // Choose the container immutably, then reach it by its pointer.
    let mut pointer = String::new();
    let mut at: &Value = doc;
    for &c in choices {
        let (seg, next) = match at {
            Value::Object(m) if !m.is_empty() => {
                let (k, v) = m.iter().nth(c % m.len()).unwrap();
                (escape(k), v)
            }
            Value::Array(a) if !a.is_empty() => {
                let i = c % a.len();
                (i.to_string(), &a[i])
            }
            _ => break,
        };
        if !next.is_object() && !next.is_array() {
            break;
        }
        pointer += &format!("/{seg}");
        at = next;
    }
    let target = doc.pointer_mut(&pointer).unwrap();
    match target {
        Value::Object(m) => {
            m.insert(key.to_string(), value);
            format!("{pointer}/{}", escape(key))
        }
        Value::Array(a) => {
            a.push(value);
            format!("{pointer}/{}", a.len() - 1)
        }
        other => {
            *other = Value::Object(Map::from_iter([(key.to_string(), value)]));
            format!("{pointer}/{}", escape(key))
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes under any content type: no panic; a SHA returned has the shape of one.
    #[test]
    fn arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048), ct in content_type()) {
        if let Ok(f) = parse(ct, &body, &Locator::default()) {
            prop_assert!(is_sha_shape(&f.sha), "{:?}", f.sha);
        }
    }

    /// Arbitrary text that starts like a page, so it goes through the HTML scanner.
    #[test]
    fn arbitrary_html(text in "<[ -~\n]{0,2000}") {
        if let Ok(f) = parse(Some("text/html"), text.as_bytes(), &Locator::default()) {
            prop_assert!(is_sha_shape(&f.sha));
        }
    }

    /// Random tags, attributes and Next.js data: no panic, shape holds.
    #[test]
    fn generated_html(
        parts in prop::collection::vec(prop_oneof![
            Just("<meta name=\"".to_string()), Just("\" content=\"".to_string()),
            Just("\">".to_string()), Just("<script id=\"__NEXT_DATA__\">".to_string()),
            Just("</script>".to_string()), Just("{\"buildId\":\"".to_string()),
            Just("generator".to_string()), Just("git-sha".to_string()), hex(1, 45),
            "[ -~]{0,12}",
        ], 0..40),
    ) {
        let page = parts.concat();
        if let Ok(f) = parse(Some("text/html"), page.as_bytes(), &Locator::default()) {
            prop_assert!(is_sha_shape(&f.sha));
        }
    }

    /// A top-level `git_sha` holding S is what is read, whatever else the body holds.
    #[test]
    fn top_level_git_sha_is_read(mut doc in neutral_json(), sha in full_sha()) {
        if !doc.is_object() {
            doc = Value::Object(Map::from_iter([("x".to_string(), doc)]));
        }
        doc.as_object_mut().unwrap().insert("git_sha".into(), Value::String(sha.clone()));
        let f = parse(Some("application/json"), doc.to_string().as_bytes(), &Locator::default())
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(f.sha.as_str(), sha.as_str());
        prop_assert_eq!(f.pin, Some(Pin::Pointer("/git_sha".into())));
    }

    /// A known commit planted anywhere is found as a known commit; a configured pointer to
    /// another SHA wins over it.
    #[test]
    fn known_commit_anywhere(
        mut doc in neutral_json(),
        path in prop::collection::vec(any::<usize>(), 0..5),
        key in neutral_key(),
        known in full_sha(),
        short in 7usize..=40,
        other in full_sha(),
    ) {
        let planted = known[..short].to_string();
        plant(&mut doc, &path, &key, Value::String(planted.clone()));
        let commits = vec![Sha::parse(&known).unwrap(), Sha::parse(&other).unwrap()];
        let locator = Locator { known_commits: commits.clone(), ..Locator::default() };
        let body = serde_json::json!({ "elsewhere": other.clone(), "doc": doc }).to_string();
        // Two known commits in the body: the planted one and `other`; both are found, so
        // plant a body that holds only the planted one for the first check.
        let alone = serde_json::json!({ "doc": doc }).to_string();
        let f = parse(Some("application/json"), alone.as_bytes(), &locator)
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(f.sha.as_str(), planted.as_str());
        prop_assert_eq!(f.confidence, Confidence::KnownCommit);
        let configured = Locator { sha_pointer: Some("/elsewhere".into()), known_commits: commits, ..Locator::default() };
        let f = parse(Some("application/json"), body.as_bytes(), &configured)
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(f.sha.as_str(), other.as_str());
        prop_assert_eq!(f.confidence, Confidence::Configured);
    }

    /// Whatever is detected with a pin reads the same SHA when the pin is configured.
    #[test]
    fn pins_read_the_same_sha(
        mut doc in neutral_json(),
        path in prop::collection::vec(any::<usize>(), 0..5),
        key in prop::sample::select(vec!["git_sha", "revision", "GitCommit", "build_hash",
            "vcs.revision", "commitHash", "version", "release", "build", "x/y~z sha"]),
        value in prop_oneof![
            full_sha(), hex(7, 12),
            (hex(7, 12), "[0-9]{1,2}\\.[0-9]{1,2}").prop_map(|(h, v)| format!("v{v}-3-g{h}")),
            (hex(7, 12), "[0-9]{1,2}\\.[0-9]{1,2}").prop_map(|(h, v)| format!("{v}+{h}")),
            "[ -~]{0,20}",
        ],
        header in prop::option::of((prop::sample::select(vec!["X-Revision", "X-Git-Sha",
            "X-App-Version", "X-Request-Id", "ETag"]), hex(7, 40))),
    ) {
        plant(&mut doc, &path, key, Value::String(value));
        let body = doc.to_string();
        let mut headers = HeaderMap::new();
        if let Some((name, v)) = &header {
            headers.insert(HeaderName::from_static_lower(name), HeaderValue::from_str(v).unwrap());
        }
        let detected = parse_fingerprint(&headers, Some("application/json"), body.as_bytes(), false, &Locator::default());
        if let Ok(f) = detected {
            prop_assert!(is_sha_shape(&f.sha));
            if let Some(pin) = &f.pin {
                let locator = match pin {
                    Pin::Pointer(p) => Locator { sha_pointer: Some(p.clone()), ..Locator::default() },
                    Pin::Header(h) => Locator { sha_header: Some(h.clone()), ..Locator::default() },
                };
                let again = parse_fingerprint(&headers, Some("application/json"), body.as_bytes(), false, &locator)
                    .map_err(|e| TestCaseError::fail(format!("pin {pin}: {e}")))?;
                prop_assert_eq!(again.sha, f.sha);
            }
        }
    }

    /// Prometheus text with random labels: no panic, shape holds, a revision label is read.
    #[test]
    fn prometheus_text(
        labels in prop::collection::vec(("[a-z_]{1,10}", "[ -~]{0,20}"), 0..8),
        sha in full_sha(),
    ) {
        let mut series: Vec<String> = labels.iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .filter(|l| !l.starts_with("revision="))
            .collect();
        series.push(format!("revision=\"{sha}\""));
        let text = format!("# TYPE app_build_info gauge\napp_build_info{{{}}} 1\n", series.join(","));
        let f = parse(Some("text/plain; version=0.0.4"), text.as_bytes(), &Locator::default())
            .map_err(TestCaseError::fail)?;
        prop_assert!(is_sha_shape(&f.sha));
    }
}

/// `HeaderName::from_static` wants lowercase; the test names are written as people write them.
trait FromStaticLower {
    fn from_static_lower(name: &str) -> HeaderName;
}
impl FromStaticLower for HeaderName {
    fn from_static_lower(name: &str) -> HeaderName {
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap()
    }
}

fn bounded(what: &str, limit: Duration, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    let took = start.elapsed();
    assert!(took < limit, "{what} took {took:?}");
}

#[test]
fn hostile_inputs_return_in_bounded_time() {
    let limit = Duration::from_secs(5);
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    bounded("100 000 nested arrays", limit, || {
        assert!(
            parse(
                Some("application/json"),
                deep.as_bytes(),
                &Locator::default()
            )
            .is_err()
        );
    });
    let divs = "<div>".repeat(1024 * 1024 / 5);
    bounded("1 MiB of <div>", limit, || {
        assert!(parse(Some("text/html"), divs.as_bytes(), &Locator::default()).is_err());
    });
    // A body-cap-sized document of hex strings under neutral keys (20 000 values), and one
    // of 100 000 small values: more than the walk visits.
    let known = vec![Sha::parse("0123456789abcdef0123456789abcdef01234567").unwrap()];
    let locator = Locator {
        known_commits: known,
        ..Locator::default()
    };
    let mut map = Map::new();
    for i in 0..20_000u32 {
        map.insert(
            format!("k{i}"),
            Value::String(format!("{:040x}", u128::from(i) * 7919)),
        );
    }
    let wide = Value::Object(map).to_string();
    bounded("1 MiB of JSON hex strings", limit, || {
        assert!(parse(Some("application/json"), wide.as_bytes(), &locator).is_err());
    });
    let many = serde_json::to_string(&vec![1u8; 100_000]).unwrap();
    bounded("a JSON array of 100 000 values", limit, || {
        let e = parse(Some("application/json"), many.as_bytes(), &locator).unwrap_err();
        assert!(e.contains("only the first"), "{e}");
    });
    let next = format!(
        r#"<script id="__NEXT_DATA__">{{"x":"{}","buildId":"abc"}}</script>"#,
        "y".repeat(1024 * 1024)
    );
    bounded("1 MiB of Next.js page data", limit, || {
        let _ = parse(Some("text/html"), next.as_bytes(), &Locator::default());
    });
    let metrics = "m_build_info{revision=\"x\"} 1\n".repeat(40_000);
    bounded("1 MiB of metrics", limit, || {
        let _ = parse(Some("text/plain"), metrics.as_bytes(), &Locator::default());
    });
}

//! The corpus of real version answers (`tests/corpus/cases.json`): every case goes through
//! `parse_fingerprint` as the probe would, and must give the documented SHA and source, or be
//! unverifiable; every lookalike trap must be refused or resolved to the right SHA. A pin, when
//! one is given, must read the same SHA when applied as configuration.

use std::path::PathBuf;

use deploywatch_core::{Confidence, Pin, Sha};
use deploywatch_probe::{Locator, parse_fingerprint};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn headers_of(case: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for pair in case["headers"].as_array().into_iter().flatten() {
        let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn real_version_answers_and_lookalike_traps() {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("cases.json")).unwrap()).unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 35, "the corpus lost cases: {}", cases.len());
    let mut failures = Vec::new();
    let (mut found, mut unverifiable, mut refused, mut traps) = (0, 0, 0, 0);
    let mut services = std::collections::BTreeSet::new();
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let body = std::fs::read(corpus_dir().join(file)).unwrap();
        let headers = headers_of(case);
        let known: Vec<Sha> = case["known_commits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| Sha::parse(s.as_str().unwrap()).unwrap())
            .collect();
        let locator = Locator {
            known_commits: known,
            ..Locator::default()
        };
        let content_type = case["content_type"].as_str();
        let got = parse_fingerprint(&headers, content_type, &body, false, &locator);
        let expect = case["expect"].as_str().unwrap();
        let is_trap = case["kind"] == "trap";
        traps += usize::from(is_trap);
        if !case["source"].as_str().unwrap().starts_with("constructed") {
            services.insert(case["service"].as_str().unwrap().to_string());
        }
        match (&got, expect) {
            (Err(_), "unverifiable") => {
                if is_trap {
                    refused += 1;
                } else {
                    unverifiable += 1;
                }
            }
            (Ok(f), "unverifiable") => failures.push(format!(
                "{file}: want unverifiable, got {} from {} ({:?})",
                f.sha, f.source, f.confidence
            )),
            (Err(e), want) => failures.push(format!("{file}: want {want}, got error: {e}")),
            (Ok(f), want) => {
                let want_source = case["expect_source"].as_str().unwrap();
                if f.sha.as_str() != want || f.source != want_source {
                    failures.push(format!(
                        "{file}: want {want} from {want_source}, got {} from {}",
                        f.sha, f.source
                    ));
                    continue;
                }
                if f.confidence == Confidence::Configured {
                    failures.push(format!("{file}: nothing was configured"));
                }
                // The pin, applied as configuration, reads the same SHA.
                if let Some(pin) = &f.pin {
                    let pinned = match pin {
                        Pin::Pointer(p) => Locator {
                            sha_pointer: Some(p.clone()),
                            ..Locator::default()
                        },
                        Pin::Header(h) => Locator {
                            sha_header: Some(h.clone()),
                            ..Locator::default()
                        },
                    };
                    match parse_fingerprint(&headers, content_type, &body, false, &pinned) {
                        Ok(p) if p.sha == f.sha => {}
                        other => failures.push(format!("{file}: pin {pin} reads {other:?}")),
                    }
                }
                if is_trap {
                    refused += 1;
                } else {
                    found += 1;
                }
            }
        }
    }
    println!(
        "{} services: {found} commits found, {unverifiable} unverifiable as expected; \
         {refused} lookalikes refused or resolved to the right SHA (of {traps} traps)",
        services.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(services.len() >= 25, "{} services", services.len());
    assert!(traps >= 10);
}

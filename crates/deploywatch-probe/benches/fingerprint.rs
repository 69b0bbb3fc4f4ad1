//! How long reading a fingerprint out of an answer takes, per answer, for the shapes the
//! probes meet most: a small build-info JSON (what `verify` over a large fleet parses a
//! thousand times a round), a Spring Boot `actuator/info`, an HTML page with a meta tag.
//!
//! Run: `cargo bench -p deploywatch-probe --bench fingerprint`. Figures go to stdout.

use std::time::Instant;

use deploywatch_core::Sha;
use deploywatch_probe::{Locator, parse_fingerprint};
use http::HeaderMap;

const SHA: &str = "b7c1e2f4a9d3c5e6f7a8b9c0d1e2f3a4b5c6d7e8";

fn main() {
    let small = format!(r#"{{"sha": "{SHA}"}}"#);
    let actuator = format!(
        r#"{{"git":{{"branch":"main","commit":{{"id":"{SHA}","time":"2024-05-01T10:00:00Z"}}}},"build":{{"artifact":"shop","name":"shop","time":"2024-05-01T10:02:00Z","version":"1.4.2","group":"com.acme"}}}}"#
    );
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop</title>\
         <meta name=\"build-sha\" content=\"{SHA}\"><link rel=stylesheet href=\"/assets/app.3f9a.css\">\
         </head><body><div id=app></div><script src=\"/assets/app.9c1d.js\"></script></body></html>"
    );
    let known = Locator {
        known_commits: vec![Sha::parse(SHA).unwrap()],
        ..Locator::default()
    };
    let cases: [(&str, Option<&str>, &str, &Locator); 4] = [
        (
            "small JSON, nothing known",
            Some("application/json"),
            &small,
            &Locator::default(),
        ),
        (
            "small JSON, expected SHA known",
            Some("application/json"),
            &small,
            &known,
        ),
        ("actuator/info", Some("application/json"), &actuator, &known),
        (
            "HTML page with a meta tag",
            Some("text/html"),
            &html,
            &known,
        ),
    ];
    // What nginx sends with a static file, as the scale bench's answers carry.
    let mut nginx = HeaderMap::new();
    for (k, v) in [
        ("server", "nginx/1.22.1"),
        ("date", "Wed, 02 Dec 2026 03:30:00 GMT"),
        ("content-type", "application/json"),
        ("content-length", "51"),
        ("last-modified", "Wed, 02 Dec 2026 03:29:58 GMT"),
        ("connection", "keep-alive"),
        ("etag", "\"692ed9b6-33\""),
        ("accept-ranges", "bytes"),
    ] {
        nginx.insert(k, v.parse().unwrap());
    }
    for ((name, ct, body, locator), headers) in cases
        .into_iter()
        .flat_map(|c| [(c, HeaderMap::new()), (c, nginx.clone())])
    {
        let name = format!(
            "{name}{}",
            if headers.is_empty() {
                ""
            } else {
                ", nginx's headers"
            }
        );
        let n = 20_000;
        // Warm-up, and the answer must be the SHA: a bench of a parser that fails says nothing.
        let f = parse_fingerprint(&headers, ct, body.as_bytes(), false, locator).unwrap();
        assert_eq!(f.sha.as_str(), SHA, "{name}");
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(parse_fingerprint(
                &headers,
                ct,
                std::hint::black_box(body.as_bytes()),
                false,
                locator,
            ))
            .unwrap();
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!("{name:52} {per:8.2} µs per answer ({} bytes)", body.len());
    }
}

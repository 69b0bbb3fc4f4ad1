//! The corpus of real health bodies (`corpus/`, sources in its README), what each must read as,
//! and property tests: arbitrary bytes and deep nesting never panic and stay fast.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use HealthStatus::{Down, Up, Warn};

fn corpus(name: &str) -> Vec<u8> {
    let path = format!("{}/src/health/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `name=STATUS(word)` for each component, `name=?(word)` for unknown words.
fn components(b: &HealthBody) -> Vec<String> {
    b.components
        .iter()
        .map(|c| {
            let s = match c.status {
                Some(Up) => "up",
                Some(Warn) => "warn",
                Some(Down) => "down",
                None => "?",
            };
            match &c.detail {
                Some(d) => format!("{}={s}({d})", c.name),
                None => format!("{}={s}", c.name),
            }
        })
        .collect()
}

struct Case {
    file: &'static str,
    ctype: &'static str,
    status: Option<HealthStatus>,
    reported: Option<&'static str>,
    /// Every one of these must be among the components (see [`components`]).
    has: &'static [&'static str],
    count: usize,
    /// `(name, used percent rounded, running out)`
    disk: Option<(&'static str, u32, bool)>,
}

const JSON: &str = "application/json";
const SPRING: &str = "application/vnd.spring-boot.actuator.v3+json";

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: "spring-boot-docs.json",
            ctype: SPRING,
            status: Some(Up),
            reported: Some("UP"),
            has: &[
                "broker=up",
                "broker/us1=up",
                "broker/us2=up",
                "db=up",
                "diskSpace=up",
            ],
            count: 5,
            disk: Some((
                "/home/runner/work/spring-boot/spring-boot/documentation/spring-boot-actuator-docs/.",
                39,
                false,
            )),
        },
        Case {
            file: "spring-boot-1x.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("UP"),
            has: &["diskSpace=up"],
            count: 1,
            disk: Some(("diskSpace", 28, false)),
        },
        Case {
            file: "spring-boot-r2dbc-down.json",
            ctype: SPRING,
            status: Some(Down),
            reported: Some("DOWN"),
            has: &[
                "diskSpace=up",
                "ping=up",
                "r2dbcConnectionFactory=down(Async resource cleanup failed after onComplete)",
            ],
            count: 3,
            disk: Some(("diskSpace", 82, false)),
        },
        Case {
            file: "spring-batch-exists.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("UP"),
            has: &["db=up", "diskSpace=up", "ping=up"],
            count: 3,
            disk: Some(("/app/.", 38, false)),
        },
        Case {
            file: "spring-disk-low.json",
            ctype: SPRING,
            status: Some(Up),
            reported: Some("UP"),
            has: &["db=up", "diskSpace=up", "ping=up"],
            count: 3,
            disk: Some(("/data", 94, true)),
        },
        Case {
            file: "ietf-draft.json",
            ctype: "application/health+json",
            status: Some(Up),
            reported: Some("pass"),
            has: &[
                "cassandra:responseTime=up",
                "cassandra:connections=warn",
                "uptime=up",
                "cpu:utilization=warn",
                "memory:utilization=warn",
            ],
            count: 5,
            disk: None,
        },
        Case {
            file: "ietf-disk-fail.json",
            ctype: "application/health+json",
            status: Some(Down),
            reported: Some("fail"),
            has: &["disk:utilization=down(94 % of /data used)", "uptime=up"],
            count: 2,
            disk: Some(("disk", 94, true)),
        },
        Case {
            file: "keycloak.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("UP"),
            has: &["Keycloak database connections health check=up"],
            count: 1,
            disk: None,
        },
        Case {
            file: "keycloak-empty.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("UP"),
            has: &[],
            count: 0,
            disk: None,
        },
        Case {
            file: "wildfly-smallrye.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("UP"),
            has: &["deployments-status=up", "server-state=up", "boot-errors=up"],
            count: 3,
            disk: None,
        },
        Case {
            file: "aspnet-healthchecks-ui.json",
            ctype: JSON,
            status: Some(Down),
            reported: Some("Unhealthy"),
            has: &[
                "storage=warn(Hôte inconnu)",
                "external az storage=up",
                "docapost=up",
                "cosmosdb=down(Hôte inconnu)",
            ],
            count: 4,
            disk: None,
        },
        Case {
            file: "aspnet-default.txt",
            ctype: "text/plain",
            status: Some(Up),
            reported: Some("Healthy"),
            has: &[],
            count: 0,
            disk: None,
        },
        Case {
            file: "grafana.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("ok"),
            has: &["database=up"],
            count: 1,
            disk: None,
        },
        Case {
            file: "gitlab-readiness-failed.json",
            ctype: JSON,
            status: Some(Down),
            reported: Some("failed"),
            has: &["master_check=down(unexpected Master check result: false)"],
            count: 1,
            disk: None,
        },
        Case {
            file: "gitlab-liveness-old.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("ok"),
            has: &["db_check=up", "redis_check=up", "gitaly_check=up"],
            count: 6,
            disk: None,
        },
        Case {
            file: "gitlab-health.txt",
            ctype: "text/plain",
            status: Some(Up),
            reported: Some("GitLab OK"),
            has: &[],
            count: 0,
            disk: None,
        },
        Case {
            file: "kubernetes-readyz-verbose.txt",
            ctype: "text/plain; charset=utf-8",
            status: Some(Up),
            reported: Some("healthz check passed"),
            has: &[
                "ping=up",
                "etcd=up",
                "poststarthook/rbac/bootstrap-roles=up",
            ],
            count: 18,
            disk: None,
        },
        Case {
            file: "kubernetes-etcd-failed.txt",
            ctype: "text/plain; charset=utf-8",
            status: Some(Down),
            reported: Some("readyz check failed"),
            has: &["ping=up", "etcd=down(reason withheld)"],
            count: 4,
            disk: None,
        },
        Case {
            file: "elasticsearch-cluster-health.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("green"),
            has: &[],
            count: 0,
            disk: None,
        },
        Case {
            file: "rdcp-health.json",
            ctype: JSON,
            status: Some(Up),
            reported: Some("healthy"),
            has: &["redis=up", "db=up"],
            count: 2,
            disk: None,
        },
        Case {
            file: "common-degraded.json",
            ctype: JSON,
            status: Some(Warn),
            reported: Some("degraded"),
            has: &[
                "database=down(dial tcp 10.0.0.5:5432: connect: connection refused)",
                "cache=up",
            ],
            count: 2,
            disk: None,
        },
        Case {
            file: "consul-checks.json",
            ctype: JSON,
            status: Some(Down),
            reported: Some("critical"),
            has: &[
                "Serf Health Status=up(Agent alive and reachable)",
                "Service 'web' check=down(HTTP GET http://localhost:8080/health: 503 Service Unavailable)",
            ],
            count: 2,
            disk: None,
        },
    ]
}

#[test]
fn the_corpus_reads_as_documented() {
    let mut failures = Vec::new();
    for case in cases() {
        let body = parse_health(Some(case.ctype), &corpus(case.file), false);
        let got = components(&body);
        let mut problems = Vec::new();
        if body.status != case.status {
            problems.push(format!("status {:?}, want {:?}", body.status, case.status));
        }
        if body.reported.as_deref() != case.reported {
            problems.push(format!(
                "reported {:?}, want {:?}",
                body.reported, case.reported
            ));
        }
        for want in case.has {
            if !got.iter().any(|g| g == want) {
                problems.push(format!("no component {want:?}"));
            }
        }
        if got.len() != case.count {
            problems.push(format!("{} components, want {}", got.len(), case.count));
        }
        let disk = body.disk.as_ref().map(|d| {
            (
                d.name.as_str(),
                d.used_percent.map_or(999, |p| p.round() as u32),
                d.running_out().is_some(),
            )
        });
        if disk != case.disk {
            problems.push(format!("disk {disk:?}, want {:?}", case.disk));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} — components {got:?}",
                case.file,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn spring_disk_figures_and_description() {
    let body = parse_health(Some(SPRING), &corpus("spring-disk-low.json"), false);
    let disk = body.disk.expect("diskSpace");
    assert_eq!(disk.free_bytes, Some(6_100_000_000));
    assert_eq!(disk.total_bytes, Some(100_000_000_000));
    assert_eq!(disk.threshold_bytes, Some(10_485_760));
    assert_eq!(disk.describe(), "/data 94 % used (6.1 GB free of 100 GB)");
    assert_eq!(disk.running_out().as_deref(), Some("more than 90 % used"));
}

#[test]
fn below_the_services_own_threshold_is_running_out() {
    // Spring Boot 1.x form, free below the threshold: DOWN and running out.
    let body = br#"{"status":"DOWN","diskSpace":{"status":"DOWN","total":1000000000,"free":5000000,"threshold":10485760}}"#;
    let b = parse_health(Some(JSON), body, false);
    assert_eq!(b.status, Some(Down));
    let disk = b.disk.expect("disk");
    assert_eq!(
        disk.running_out().as_deref(),
        Some("below the service's own threshold of 10 MB")
    );
    assert_eq!(
        disk.describe(),
        "diskSpace 100 % used (5.0 MB free of 1.0 GB)"
    );
}

#[test]
fn the_worst_disk_is_the_one_reported() {
    let body = br#"{"status":"ok","checks":{
        "disk-root":{"status":"ok","path":"/","free":50000000000,"total":100000000000},
        "disk-data":{"status":"ok","path":"/data","free":2000000000,"total":100000000000},
        "memory":{"status":"ok","free":1,"total":100}}}"#;
    let b = parse_health(Some(JSON), body, false);
    let disk = b.disk.expect("disk");
    assert_eq!(disk.name, "/data");
    assert!(disk.running_out().is_some());
    // Memory has free/total too, but is not a disk.
    let memory_only =
        br#"{"status":"ok","checks":{"memory":{"status":"ok","free":1,"total":100}}}"#;
    assert_eq!(parse_health(Some(JSON), memory_only, false).disk, None);
}

#[test]
fn a_missing_path_gives_no_figures() {
    let body = br#"{"status":"DOWN","components":{"diskSpace":{"status":"DOWN","details":{"total":0,"free":0,"threshold":10485760,"path":"/nope","exists":false}}}}"#;
    let b = parse_health(Some(SPRING), body, false);
    assert_eq!(b.status, Some(Down));
    assert_eq!(b.disk, None);
    assert_eq!(components(&b), ["diskSpace=down"]);
}

#[test]
fn spring_errors_lose_their_exception_classes() {
    let body = br#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection; nested exception is java.net.ConnectException: Connection refused"}}}}"#;
    let b = parse_health(Some(SPRING), body, false);
    assert_eq!(components(&b), ["db=down(Connection refused)"]);
}

#[test]
fn small_forms() {
    let check = |body: &str, ctype: &str, want: Option<HealthStatus>| {
        let got = parse_health(Some(ctype), body.as_bytes(), false).status;
        assert_eq!(got, want, "{body:?}");
    };
    check(r#"{"healthy": false}"#, JSON, Some(Down));
    check(r#"{"healthy": true}"#, JSON, Some(Up));
    check(r#"{"status": "unhealthy"}"#, JSON, Some(Down));
    check(r#"{"status": "OUT_OF_SERVICE"}"#, JSON, Some(Down));
    check(r#"{"status": "UNKNOWN"}"#, JSON, None);
    check(r#"{"status": "error"}"#, JSON, Some(Down));
    check(r#"{"status": "yellow"}"#, JSON, Some(Warn));
    check(r#"{"status": true}"#, JSON, Some(Up));
    check(r#""ok""#, JSON, Some(Up));
    check("ok", "text/plain", Some(Up));
    check("ok\n", "", Some(Up));
    check("Unhealthy", "text/plain", Some(Down));
    check("Degraded", "text/plain", Some(Warn));
    // Not health words, not health bodies.
    check("Not Found", "text/plain", None);
    check("<html><body>ok</body></html>", "text/html", None);
    check("ok", "text/html", None);
    check("", "", None);
    check(r#"{"version": "1.2.3", "mode": "offline"}"#, JSON, None);
    check(r#"{"status": "ok""#, JSON, None);
    // A truncated text body is not guessed at.
    assert_eq!(parse_health(Some("text/plain"), b"ok", true).status, None);
}

#[test]
fn components_are_bounded() {
    let many: String = (0..500)
        .map(|i| format!("\"c{i}\": {{\"status\": \"UP\"}}"))
        .collect::<Vec<_>>()
        .join(",");
    let body = format!("{{\"status\": \"UP\", \"components\": {{{many}}}}}");
    let b = parse_health(Some(JSON), body.as_bytes(), false);
    assert_eq!(b.components.len(), MAX_COMPONENTS);
    let long = format!(
        "{{\"status\": \"DOWN\", \"checks\": {{\"db\": {{\"status\": \"down\", \"error\": \"{}\"}}}}}}",
        "x".repeat(100_000)
    );
    let b = parse_health(Some(JSON), long.as_bytes(), false);
    let detail = b.components[0].detail.as_deref().unwrap();
    assert!(detail.chars().count() <= MAX_DETAIL + 1, "{}", detail.len());
}

/// Nested `components` `depth` levels deep, each level UP except the innermost DOWN.
fn nested(depth: usize) -> String {
    format!(
        "{}{}{}",
        r#"{"status":"UP","components":{"c":"#.repeat(depth),
        r#"{"status":"DOWN"}"#,
        "}}".repeat(depth)
    )
}

#[test]
fn deep_nesting_is_cut_off_not_followed() {
    // Within the limit every level is a component.
    let b = parse_health(Some(SPRING), nested(4).as_bytes(), false);
    assert_eq!(b.components.len(), 4);
    assert_eq!(b.components.last().unwrap().status, Some(Down));
    // Far deeper than the walk goes (and than serde_json's own limit): no panic, quick.
    for depth in [MAX_DEPTH * 2, 100, 127, 200, 5_000] {
        let start = Instant::now();
        let b = parse_health(Some(SPRING), nested(depth).as_bytes(), false);
        assert!(
            b.components.len() <= MAX_DEPTH,
            "{depth}: {}",
            b.components.len()
        );
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{depth}: {:?}",
            start.elapsed()
        );
    }
    let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let start = Instant::now();
    assert_eq!(
        parse_health(Some(JSON), arrays.as_bytes(), false),
        HealthBody::default()
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_megabyte_of_checks_is_read_in_bounded_time() {
    let one = r#"{"name":"x","status":"UP","data":{"a":1,"b":[1,2,3],"c":{"d":"e"}}},"#;
    let mut body = String::from(r#"{"status":"UP","checks":["#);
    while body.len() < 1024 * 1024 - 64 {
        body.push_str(one);
    }
    body.push_str(r#"{"name":"last","status":"DOWN"}]}"#);
    let start = Instant::now();
    let b = parse_health(Some(JSON), body.as_bytes(), false);
    assert_eq!(b.status, Some(Up));
    assert_eq!(b.components.len(), MAX_COMPONENTS);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// Property-test case counts, stated in the report: 2 000 + 1 000 + 500.
const ARBITRARY_CASES: u32 = 2_000;
const JSONISH_CASES: u32 = 1_000;
const NESTING_CASES: u32 = 500;

fn jsonish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("\"UP\"".to_string()),
        Just("\"DOWN\"".to_string()),
        Just("\"fail\"".to_string()),
        Just("\"degraded\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| if n.is_finite() {
            n.to_string()
        } else {
            "1e308".into()
        }),
        "[a-zA-Z:/ %]{0,12}".prop_map(|s| format!("{s:?}")),
    ];
    let key = prop_oneof![
        Just("status"),
        Just("components"),
        Just("checks"),
        Just("details"),
        Just("diskSpace"),
        Just("disk:utilization"),
        Just("free"),
        Just("total"),
        Just("threshold"),
        Just("observedValue"),
        Just("observedUnit"),
        Just("path"),
        Just("name"),
        Just("error"),
        Just("entries"),
        Just("x"),
    ];
    leaf.prop_recursive(8, 256, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                let members: Vec<String> =
                    kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn within_bounds(b: &HealthBody) {
    assert!(b.components.len() <= MAX_COMPONENTS);
    for c in &b.components {
        assert!(c.name.chars().count() <= 2 * MAX_NAME + 1);
        assert!(c.reported.chars().count() <= MAX_WORD + 1);
        assert!(
            c.detail
                .as_ref()
                .is_none_or(|d| d.chars().count() <= MAX_DETAIL + 1)
        );
    }
    if let Some(d) = &b.disk {
        assert!(d.used_percent.is_none_or(|p| (0.0..=100.0).contains(&p)));
        let _ = (d.describe(), d.running_out());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: ARBITRARY_CASES, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..4096),
                                   ctype in prop::option::of("[a-z/+;= -]{0,30}"),
                                   truncated in any::<bool>()) {
        let start = Instant::now();
        let b = parse_health(ctype.as_deref(), &body, truncated);
        within_bounds(&b);
        prop_assert!(start.elapsed() < Duration::from_millis(500));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: JSONISH_CASES, ..ProptestConfig::default() })]

    #[test]
    fn health_shaped_json_never_panics(body in jsonish()) {
        let start = Instant::now();
        let b = parse_health(Some(JSON), body.as_bytes(), false);
        within_bounds(&b);
        prop_assert!(start.elapsed() < Duration::from_millis(500));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: NESTING_CASES, ..ProptestConfig::default() })]

    #[test]
    fn deep_nesting_of_any_shape_stays_bounded(depth in 0usize..3_000,
                                               open in prop::sample::select(vec![
                                                   r#"{"components":{"a":"#,
                                                   r#"{"checks":["#,
                                                   r#"{"status":"UP","details":{"x":"#,
                                                   "[",
                                                   r#"{"a:b":["#,
                                               ]),
                                               cut in any::<bool>()) {
        let close: String = open.chars().rev().filter_map(|c| match c {
            '{' => Some('}'),
            '[' => Some(']'),
            _ => None,
        }).collect();
        let mut body = open.repeat(depth);
        body.push_str(r#"{"status":"DOWN"}"#);
        if !cut {
            body.push_str(&close.repeat(depth));
        }
        let start = Instant::now();
        let b = parse_health(Some(JSON), body.as_bytes(), false);
        within_bounds(&b);
        prop_assert!(start.elapsed() < Duration::from_millis(500));
    }
}

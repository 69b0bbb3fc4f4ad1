//! Reading health bodies by their conventions: what the service says about itself, its
//! components and its disk. Pure and bounded: no I/O, at most [`MAX_DEPTH`] levels of nesting,
//! [`MAX_NODES`] JSON values looked at, [`MAX_COMPONENTS`] components kept, short texts.
//!
//! The conventions read:
//! - Spring Boot actuator health: `status` `UP`/`DOWN`/`OUT_OF_SERVICE`/`UNKNOWN`, components
//!   under `components` (Boot 2.2+), `details` (Boot 2.0) or at the top level (Boot 1.x), nested
//!   to any depth; `diskSpace` with `free`, `total`, `threshold`, `path`, `exists`; a failing
//!   component's `details.error`.
//! - The IETF health-check response format draft (`application/health+json`): `status`
//!   `pass`/`ok`/`up`, `warn`, `fail`/`error`/`down`; `checks` maps `component:measurement` to
//!   arrays of objects with `status`, `observedValue`, `observedUnit`, `output`
//!   (`disk:utilization` in `percent`).
//! - MicroProfile / SmallRye Health (Quarkus, Keycloak): `checks` as an array of `name`/`status`.
//! - ASP.NET Core health checks (`Healthy`/`Degraded`/`Unhealthy`, the UI writer's `entries`).
//! - The common `{"status": "ok|degraded|down", "checks": {"database": {"status": …}}}`,
//!   `{"healthy": false}`, Grafana's `{"database": "ok"}`, GitLab's `{"db_check": [{…}]}`,
//!   Consul's arrays of checks (`Status` `passing`/`warning`/`critical`), Elasticsearch's
//!   `green`/`yellow`/`red`.
//! - Text: `ok`, `Healthy`, `GitLab OK`, and Kubernetes' verbose `[+]etcd ok` / `[-]etcd failed`.

use deploywatch_core::{DiskUsage, HealthComponent, HealthProbe, HealthStatus, HttpEvidence};
use serde_json::{Map, Value};

/// The `Accept` header of health probes: the IETF format first, any JSON, then anything.
pub(crate) const ACCEPT: &str =
    "application/health+json, application/json;q=0.9, text/plain;q=0.8, */*;q=0.5";

/// Nesting followed below the top level; deeper parts of a body are not read.
pub(crate) const MAX_DEPTH: usize = 12;
/// JSON values looked at in one body.
pub(crate) const MAX_NODES: usize = 20_000;
/// Components kept from one body.
pub(crate) const MAX_COMPONENTS: usize = 64;
/// Disks considered in one body.
const MAX_DISKS: usize = 16;
/// Lines of a text body read.
const MAX_LINES: usize = 200;
/// Characters kept of a name, a status word or a detail.
const MAX_NAME: usize = 80;
const MAX_WORD: usize = 40;
const MAX_DETAIL: usize = 120;

/// What a health body says.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct HealthBody {
    pub status: Option<HealthStatus>,
    pub reported: Option<String>,
    pub components: Vec<HealthComponent>,
    pub disk: Option<DiskUsage>,
}

impl HealthBody {
    pub(crate) fn into_probe(self, http: HttpEvidence) -> HealthProbe {
        HealthProbe {
            http,
            status: self.status,
            reported: self.reported,
            components: self.components,
            disk: self.disk,
        }
    }
}

/// Reads a health body. Never fails: what cannot be read is simply not reported.
pub(crate) fn parse_health(content_type: Option<&str>, body: &[u8], truncated: bool) -> HealthBody {
    let ctype = content_type.unwrap_or("").to_ascii_lowercase();
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head = body[start..]
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&body[start..]);
    match head.first() {
        None => HealthBody::default(),
        // Kubernetes' `?verbose` text starts with `[+]` too.
        Some(b'[') if head.starts_with(b"[+]") || head.starts_with(b"[-]") => {
            from_text(&String::from_utf8_lossy(head))
        }
        Some(b'{' | b'[' | b'"') => match serde_json::from_slice::<Value>(head) {
            Ok(v) => from_json(&v),
            // Cut off, too deep for the parser (128 levels), or not JSON after all.
            Err(_) => HealthBody::default(),
        },
        Some(b'<') => HealthBody::default(),
        Some(_) if ctype.contains("html") || ctype.contains("json") || truncated => {
            HealthBody::default()
        }
        Some(_) => from_text(&String::from_utf8_lossy(head)),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Keys whose value is the status of the object they are in, strongest first.
const STATUS_KEYS: &[&str] = &[
    "status",
    "aggregatedstatus",
    "overall_status",
    "overallstatus",
    "outcome",
    "state",
    "health",
];
/// Keys whose boolean value is the status of the object they are in.
const BOOL_KEYS: &[&str] = &[
    "healthy",
    "ok",
    "up",
    "alive",
    "ready",
    "live",
    "available",
    "passing",
    "success",
];
/// Keys that hold components, whatever their values are.
const CONTAINER_KEYS: &[&str] = &[
    "components",
    "checks",
    "entries",
    "results",
    "dependencies",
    "services",
    "indicators",
];
/// Keys that hold a component's data, among which nested components may hide (Spring Boot
/// 2.0's `details`).
const DATA_KEYS: &[&str] = &["details", "data", "info"];
/// Keys that describe the service or the component rather than being one.
const META_KEYS: &[&str] = &[
    "version",
    "releaseid",
    "release_id",
    "serviceid",
    "service_id",
    "description",
    "notes",
    "output",
    "links",
    "time",
    "timestamp",
    "commit",
    "build",
    "name",
    "message",
    "error",
    "exception",
    "duration",
    "totalduration",
    "cluster_name",
    "node",
    "componentid",
    "componenttype",
    "observedvalue",
    "observedunit",
    "affectedendpoints",
    "tags",
    "id",
    "type",
];
/// Keys naming an element of an array of checks.
const NAME_KEYS: &[&str] = &[
    "name",
    "componentname",
    "component",
    "checkid",
    "check",
    "key",
    "servicename",
    "id",
];
/// Keys explaining a status.
const DETAIL_KEYS: &[&str] = &[
    "error",
    "output",
    "message",
    "reason",
    "exception",
    "description",
    "cause",
    "msg",
    "err",
];

/// Which kinds of values count as components at one level.
#[derive(Clone, Copy)]
struct Level {
    /// `"database": "ok"`
    strings: bool,
    /// `"database": true`
    bools: bool,
}

const TOP: Level = Level {
    strings: true,
    bools: false,
};
const CONTAINER: Level = Level {
    strings: true,
    bools: true,
};
const INSIDE: Level = Level {
    strings: false,
    bools: false,
};

#[derive(Default)]
struct Walk {
    components: Vec<HealthComponent>,
    disks: Vec<DiskUsage>,
    nodes: usize,
}

impl Walk {
    /// Counts one value looked at; false once the budget is spent.
    fn visit(&mut self) -> bool {
        self.nodes += 1;
        self.nodes <= MAX_NODES
    }

    fn push(&mut self, c: HealthComponent) {
        if self.components.len() < MAX_COMPONENTS {
            self.components.push(c);
        }
    }

    /// The members of an object: containers, and objects, arrays, strings or booleans that
    /// are components by `level`'s rules.
    fn map(&mut self, map: &Map<String, Value>, prefix: &str, depth: usize, level: Level) {
        if depth > MAX_DEPTH {
            return;
        }
        for (key, value) in map {
            if !self.visit() {
                return;
            }
            let lower = key.to_ascii_lowercase();
            let lower = lower.as_str();
            if CONTAINER_KEYS.contains(&lower) {
                match value {
                    Value::Object(m) => self.map(m, prefix, depth + 1, CONTAINER),
                    Value::Array(items) => self.list(items, prefix, depth + 1),
                    _ => {}
                }
                continue;
            }
            if DATA_KEYS.contains(&lower) {
                if let Value::Object(m) = value {
                    self.map(m, prefix, depth + 1, INSIDE);
                }
                continue;
            }
            if META_KEYS.contains(&lower)
                || STATUS_KEYS.contains(&lower)
                || BOOL_KEYS.contains(&lower)
            {
                continue;
            }
            let name = join(prefix, key);
            match value {
                Value::Object(m) => self.object(&name, m, depth + 1),
                Value::Array(items) => self.check_array(&name, items, depth + 1),
                Value::String(s) if level.strings => {
                    if let Some(status) = status_word(s).filter(|_| level.bools || plain_word(s)) {
                        self.push(HealthComponent {
                            name,
                            status: Some(status),
                            reported: clip(s, MAX_WORD),
                            detail: None,
                        });
                    }
                }
                Value::Bool(b) if level.bools => self.push(HealthComponent {
                    name,
                    status: Some(if *b {
                        HealthStatus::Up
                    } else {
                        HealthStatus::Down
                    }),
                    reported: b.to_string(),
                    detail: None,
                }),
                _ => {}
            }
        }
    }

    /// An object that may be a component (it has a status of its own) and may hold more.
    fn object(&mut self, name: &str, map: &Map<String, Value>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let own = own_status(map);
        if let Some((status, reported)) = &own {
            self.push(HealthComponent {
                name: name.to_string(),
                status: *status,
                reported: reported.clone(),
                detail: detail_of(map),
            });
        }
        if self.disks.len() < MAX_DISKS
            && let Some(disk) = disk_of(name, map, own.as_ref().and_then(|o| o.0))
        {
            self.disks.push(disk);
        }
        self.map(map, name, depth, INSIDE);
    }

    /// An array of checks under a container (SmallRye's `checks`, Consul's list): each object
    /// named by its `name` (or position).
    fn list(&mut self, items: &[Value], prefix: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for (i, item) in items.iter().enumerate() {
            if !self.visit() {
                return;
            }
            if let Value::Object(m) = item {
                let own = NAME_KEYS
                    .iter()
                    .find_map(|k| get(m, k).and_then(Value::as_str))
                    .map(|n| clip(n, MAX_NAME))
                    .unwrap_or_else(|| format!("#{}", i + 1));
                self.object(&join(prefix, &own), m, depth + 1);
            }
        }
    }

    /// The IETF form (and GitLab's): one key, an array of observations of that component, each
    /// with its own status. One component with the worst of them.
    fn check_array(&mut self, name: &str, items: &[Value], depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let mut worst: Option<(Option<HealthStatus>, String, Option<String>)> = None;
        for item in items {
            if !self.visit() {
                break;
            }
            let Value::Object(m) = item else { continue };
            let Some((status, reported)) = own_status(m) else {
                continue;
            };
            if self.disks.len() < MAX_DISKS
                && let Some(disk) = ietf_disk(name, m, status).or_else(|| disk_of(name, m, status))
            {
                self.disks.push(disk);
            }
            let worse = match &worst {
                None => true,
                Some((w, ..)) => rank(status) > rank(*w),
            };
            if worse {
                worst = Some((status, reported, detail_of(m)));
            }
            // Nested checks inside an observation are rare; they are still components.
            if depth < MAX_DEPTH {
                self.map(m, name, depth + 1, INSIDE);
            }
        }
        if let Some((status, reported, detail)) = worst {
            self.push(HealthComponent {
                name: name.to_string(),
                status,
                reported,
                detail,
            });
        }
    }
}

fn from_json(v: &Value) -> HealthBody {
    let mut walk = Walk::default();
    let own = match v {
        Value::Object(m) => {
            let own = own_status(m);
            walk.map(m, "", 0, TOP);
            own
        }
        Value::Array(items) => {
            walk.list(items, "", 0);
            None
        }
        Value::String(s) => Some((status_word(s), clip(s, MAX_WORD))),
        _ => None,
    };
    finish(own, walk.components, walk.disks)
}

/// The overall status (the body's own, or the worst component's) and the disk closest to
/// running out.
fn finish(
    own: Option<(Option<HealthStatus>, String)>,
    components: Vec<HealthComponent>,
    disks: Vec<DiskUsage>,
) -> HealthBody {
    let (status, reported) = match own {
        Some((Some(s), word)) => (Some(s), Some(word)),
        // No status of its own (or `UNKNOWN`): the components speak for the service.
        other => {
            let worst = components
                .iter()
                .filter(|c| c.status.is_some())
                .max_by_key(|c| rank(c.status));
            match worst {
                Some(c) => (c.status, Some(c.reported.clone())),
                None => (None, other.map(|(_, word)| word)),
            }
        }
    };
    let disk = disks.into_iter().max_by(|a, b| {
        let key = |d: &DiskUsage| (d.running_out().is_some(), d.used_percent.unwrap_or(-1.0));
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    HealthBody {
        status,
        reported,
        components,
        disk,
    }
}

/// Up < unknown < Warn < Down: the order in which statuses are worse.
fn rank(s: Option<HealthStatus>) -> u8 {
    match s {
        Some(HealthStatus::Up) => 0,
        None => 1,
        Some(HealthStatus::Warn) => 2,
        Some(HealthStatus::Down) => 3,
    }
}

/// The status an object gives itself: `(meaning, word as written)`; the meaning is `None` for
/// a word no convention defines (`UNKNOWN`).
fn own_status(map: &Map<String, Value>) -> Option<(Option<HealthStatus>, String)> {
    for key in STATUS_KEYS {
        match get(map, key) {
            Some(Value::String(s)) => return Some((status_word(s), clip(s, MAX_WORD))),
            Some(Value::Bool(b)) => return Some((Some(up_if(*b)), b.to_string())),
            // `{"status": {"code": "UP"}}`
            Some(Value::Object(o)) => {
                if let Some(Value::String(s)) = get(o, "code") {
                    return Some((status_word(s), clip(s, MAX_WORD)));
                }
            }
            _ => {}
        }
    }
    for key in BOOL_KEYS {
        if let Some(Value::Bool(b)) = get(map, key) {
            return Some((Some(up_if(*b)), format!("{key}: {b}")));
        }
    }
    None
}

fn up_if(b: bool) -> HealthStatus {
    if b {
        HealthStatus::Up
    } else {
        HealthStatus::Down
    }
}

/// Why a component has its status, from the first explaining key of the object or of its
/// `details`/`data`.
fn detail_of(map: &Map<String, Value>) -> Option<String> {
    let direct = |m: &Map<String, Value>| {
        DETAIL_KEYS.iter().find_map(|k| match get(m, k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(shorten_error(s)),
            _ => None,
        })
    };
    direct(map).or_else(|| {
        DATA_KEYS.iter().find_map(|k| match get(map, k) {
            Some(Value::Object(m)) => direct(m),
            _ => None,
        })
    })
}

/// A member by name, exactly or else ignoring ASCII case.
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn join(prefix: &str, name: &str) -> String {
    let name = clip(name, MAX_NAME);
    if prefix.is_empty() {
        name
    } else {
        clip(&format!("{prefix}/{name}"), MAX_NAME * 2)
    }
}

/// A status word of any of the conventions, in any case, with `-`, `_` or spaces.
pub(crate) fn status_word(word: &str) -> Option<HealthStatus> {
    let w = word.trim();
    if w.len() > MAX_WORD {
        return None;
    }
    let w: String = w
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    match w.as_str() {
        "up" | "pass" | "passed" | "passing" | "ok" | "okay" | "healthy" | "green" | "good"
        | "success" | "successful" | "available" | "online" | "running" | "ready" | "serving"
        | "alive" | "live" | "operational" | "fine" | "normal" | "active" | "connected"
        | "reachable" | "true" => Some(HealthStatus::Up),
        "warn"
        | "warning"
        | "warned"
        | "degraded"
        | "yellow"
        | "partial"
        | "impaired"
        | "partial_outage"
        | "degraded_performance" => Some(HealthStatus::Warn),
        "down" | "fail" | "failed" | "failing" | "failure" | "error" | "errored" | "critical"
        | "unhealthy" | "red" | "bad" | "out_of_service" | "unavailable" | "offline"
        | "not_serving" | "not_ready" | "unready" | "dead" | "stopped" | "unreachable"
        | "disconnected" | "fatal" | "false" | "broken" | "outage" | "major_outage" | "crashed"
        | "timeout" | "timed_out" | "ko" => Some(HealthStatus::Down),
        _ => None,
    }
}

/// The words a top-level string must be to count as a component's status (Grafana's
/// `"database": "ok"`): only the plainest, so `"mode": "offline"` is not read as an outage.
fn plain_word(word: &str) -> bool {
    matches!(
        word.trim().to_ascii_lowercase().as_str(),
        "ok" | "up"
            | "down"
            | "pass"
            | "passing"
            | "fail"
            | "failing"
            | "failed"
            | "healthy"
            | "unhealthy"
            | "degraded"
            | "warn"
            | "warning"
            | "error"
            | "critical"
    )
}

/// An error message without the exception class names in front of it, on one line:
/// `…CannotGetJdbcConnectionException: Failed to obtain JDBC Connection; nested exception is
/// java.net.ConnectException: Connection refused` → `Connection refused`.
fn shorten_error(text: &str) -> String {
    // Only the start matters: never scan a huge string.
    let head: String = text.chars().take(4 * MAX_DETAIL).collect();
    let mut s = head.as_str();
    if let Some(i) = s.rfind("nested exception is ") {
        s = &s[i + "nested exception is ".len()..];
    }
    while let Some((first, rest)) = s.split_once(": ") {
        let class_like = !first.is_empty()
            && !first.contains(char::is_whitespace)
            && (first.contains('.') || first.ends_with("Exception") || first.ends_with("Error"))
            && first
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '$'));
        if !class_like || rest.trim().is_empty() {
            break;
        }
        s = rest;
    }
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&one_line, MAX_DETAIL)
}

/// At most `max` characters, with `…` when cut; control characters dropped.
fn clip(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(max + 1)
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max).collect();
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Disks

/// Names that say a component is a disk.
fn disky(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let component = last.split(':').next().unwrap_or(&last);
    ["disk", "storage", "volume", "filesystem"]
        .iter()
        .any(|w| component.contains(w))
        || component == "fs"
}

fn number(map: &Map<String, Value>, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| {
        get(map, k)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
    })
}

fn bytes(map: &Map<String, Value>, keys: &[&str]) -> Option<u64> {
    // `as` saturates: a figure beyond u64 is still a very large disk, not a panic.
    number(map, keys).map(|n| n as u64)
}

/// Spring Boot's `diskSpace` (figures in the object or its `details`), or any disk-named
/// component (or one with a `path`) with `free` and `total` or a used percentage.
fn disk_of(
    name: &str,
    map: &Map<String, Value>,
    status: Option<HealthStatus>,
) -> Option<DiskUsage> {
    let inner = DATA_KEYS.iter().find_map(|k| match get(map, k) {
        Some(Value::Object(m)) if figures(m) => Some(m),
        _ => None,
    });
    let figs = if figures(map) { map } else { inner? };
    let path = ["path", "mount", "mountpoint", "mount_point", "volume"]
        .iter()
        .find_map(|k| get(figs, k).and_then(Value::as_str))
        .filter(|p| !p.trim().is_empty());
    if !disky(name) && path.is_none() {
        return None;
    }
    if matches!(get(figs, "exists"), Some(Value::Bool(false))) {
        // The configured path is missing: the component's status says so; no figures.
        return None;
    }
    let free = bytes(figs, FREE_KEYS);
    let total = bytes(figs, TOTAL_KEYS);
    let threshold = bytes(figs, THRESHOLD_KEYS);
    let used = number(figs, USED_PERCENT_KEYS).or_else(|| match (free, total) {
        (Some(f), Some(t)) if t > 0 && f <= t => Some((t - f) as f64 * 100.0 / t as f64),
        _ => None,
    });
    Some(DiskUsage {
        name: clip(path.unwrap_or(name), 2 * MAX_NAME),
        free_bytes: free,
        total_bytes: total,
        threshold_bytes: threshold,
        used_percent: used.map(|u| u.min(100.0)),
        status,
    })
}

/// Whether an object carries disk figures at all.
fn figures(map: &Map<String, Value>) -> bool {
    let has = |keys: &[&str]| number(map, keys).is_some();
    (has(FREE_KEYS) && has(TOTAL_KEYS)) || has(USED_PERCENT_KEYS)
}

/// The names services give a disk's figures (Spring Boot's `free`/`total`/`threshold`, and
/// the spellings of other health formats).
const FREE_KEYS: &[&str] = &[
    "free",
    "free_bytes",
    "freebytes",
    "available",
    "available_bytes",
    "avail",
    "free_space",
];
const TOTAL_KEYS: &[&str] = &[
    "total",
    "total_bytes",
    "totalbytes",
    "size",
    "capacity",
    "total_space",
];
const THRESHOLD_KEYS: &[&str] = &["threshold", "threshold_bytes", "thresholdbytes", "min_free"];
const USED_PERCENT_KEYS: &[&str] = &[
    "used_percent",
    "usedpercent",
    "percent_used",
    "used_pct",
    "usage_percent",
    "utilization",
];

/// An IETF observation of a disk: `disk:utilization` in `percent` (or `%`), or
/// `disk:free`/`disk:available` in a byte unit.
fn ietf_disk(
    key: &str,
    map: &Map<String, Value>,
    status: Option<HealthStatus>,
) -> Option<DiskUsage> {
    let last = key.rsplit('/').next().unwrap_or(key);
    let (component, measurement) = last.split_once(':')?;
    if !disky(component) {
        return None;
    }
    let value = number(map, &["observedValue"])?;
    let unit = get(map, "observedUnit")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut disk = DiskUsage {
        name: clip(component, MAX_NAME),
        free_bytes: None,
        total_bytes: None,
        threshold_bytes: None,
        used_percent: None,
        status,
    };
    match measurement.to_ascii_lowercase().as_str() {
        "utilization" | "usage" | "used" if matches!(unit.as_str(), "percent" | "%" | "pct") => {
            disk.used_percent = Some(value.min(100.0));
        }
        "free" | "available" => disk.free_bytes = Some(unit_bytes(value, &unit)?),
        _ => return None,
    }
    Some(disk)
}

/// A size in `unit` as bytes: `B`, `bytes`, `kB`…`TB` (decimal), `KiB`…`TiB` (binary).
fn unit_bytes(value: f64, unit: &str) -> Option<u64> {
    let factor: f64 = match unit {
        "b" | "byte" | "bytes" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * factor) as u64)
}

// ---------------------------------------------------------------------------------------------
// Text

fn from_text(text: &str) -> HealthBody {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(MAX_LINES)
        .collect();
    let verbose = lines
        .iter()
        .any(|l| l.starts_with("[+]") || l.starts_with("[-]"));
    if verbose {
        return kubernetes_verbose(&lines);
    }
    match lines.as_slice() {
        [line] if line.chars().count() <= 64 => {
            let last = line
                .split_whitespace()
                .next_back()
                .unwrap_or("")
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
            match status_word(last) {
                Some(s) => HealthBody {
                    status: Some(s),
                    reported: Some(clip(line, MAX_WORD)),
                    ..HealthBody::default()
                },
                None => HealthBody::default(),
            }
        }
        _ => HealthBody::default(),
    }
}

/// `[+]ping ok` / `[-]etcd failed: reason withheld`, then `readyz check failed`.
fn kubernetes_verbose(lines: &[&str]) -> HealthBody {
    let mut components = Vec::new();
    let mut own = None;
    for line in lines {
        let (up, rest) = if let Some(r) = line.strip_prefix("[+]") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("[-]") {
            (false, r)
        } else {
            if line.ends_with(" check passed") {
                own = Some((Some(HealthStatus::Up), clip(line, MAX_WORD)));
            } else if line.ends_with(" check failed") {
                own = Some((Some(HealthStatus::Down), clip(line, MAX_WORD)));
            }
            continue;
        };
        let (name, said) = rest.split_once(' ').unwrap_or((rest, ""));
        let (word, detail) = match said.split_once(':') {
            Some((w, d)) => (
                w.trim(),
                Some(clip(d.trim(), MAX_DETAIL)).filter(|d| !d.is_empty()),
            ),
            None => (said.trim(), None),
        };
        if components.len() < MAX_COMPONENTS {
            components.push(HealthComponent {
                name: clip(name, MAX_NAME),
                status: Some(up_if(up)),
                reported: clip(
                    if word.is_empty() {
                        if up { "ok" } else { "failed" }
                    } else {
                        word
                    },
                    MAX_WORD,
                ),
                detail,
            });
        }
    }
    finish(own, components, Vec::new())
}

#[cfg(test)]
#[path = "health/tests.rs"]
mod tests;

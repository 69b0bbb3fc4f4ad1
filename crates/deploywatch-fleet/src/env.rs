//! A simulated environment: one loopback HTTP server that serves a build-info endpoint in any
//! of the conventions of SPEC §2, a health endpoint, a frontend page with its assets, and the
//! failure modes of SPEC §3 (replicas on different SHAs, a cache in front, a proxy with no
//! upstream, a hang, an overwritten environment file, a stale frontend).
//!
//! Every setter takes effect on the next request; a [`SimEnv`] is a cheap handle (clones share
//! one server) and the server stops when the last handle is dropped.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::server::{self, ConnId, ServerGuard, Shutdown};
use crate::sha::{asset_hash, fake_sha, short_sha};

/// How an environment exposes its build (SPEC §2). Each format has its own build-info path
/// (see [`Format::path`]); the body is what services following that convention really serve.
/// Every JSON format carries a top-level `"environment"` field while the environment field is
/// set (see [`SimEnv::set_environment_field`]), as an app exposing its `APP_ENV` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `/api/build-info`: `{"git_sha", "built_at", "environment", "image_tag"}`.
    #[default]
    GitSha,
    /// Mozilla Dockerflow `/__version__`: `{"commit", "version", "source", "build"}`.
    Dockerflow,
    /// Spring Boot `/actuator/info`: `git.commit.id` as the abbreviated string
    /// (`"id": "d632b4f"`), or with `full` as `{"full": .., "abbrev": ..}`; `git.commit.time`.
    SpringActuator { full: bool },
    /// `/version`: `{"version": "1.4.2-abc1234", "buildDate"}`.
    VersionSuffix,
    /// `/version`: `{"version": "1.4.2+abc1234", "build_date"}` (semver build metadata).
    VersionBuildMetadata,
    /// `/version`: the full SHA at the RFC 6901 pointer `sha` (e.g. `/sha`, `/revision`,
    /// `/build/git_sha`), the build date at `date` when given (e.g. `/built_at`).
    JsonField {
        sha: &'static str,
        date: Option<&'static str>,
    },
    /// `/api/status`: a JSON status body without a SHA; the SHA is in the `X-Git-Sha` header.
    Header,
    /// Like [`Format::Header`] with another header (`X-Commit-Sha`, `X-Release`, `X-Build`…).
    /// `X-Version` carries `1.4.2-abc1234`, the others the full SHA.
    HeaderNamed(&'static str),
    /// `/about`: a server-rendered HTML page with `<meta name="build-sha" content="..">`.
    HtmlMeta,
    /// Like [`Format::HtmlMeta`] with another meta name (`git-sha`, `release`, `version`).
    HtmlMetaNamed(&'static str),
    /// `/api/build-info` of an image built without `GIT_SHA`: `"git_sha": "unknown"`.
    Unknown,
    /// `/api/build-info` answered `200 text/html` with an application error page, as a
    /// misrouted proxy or a crashing framework does.
    HtmlErrorPage,
    /// `/info`: exactly `body` with `content_type`, after replacing `{sha}`, `{short_sha}`,
    /// `{environment}` and `{built_at}`. For hostile or unusual bodies (`null`, `""`, custom
    /// pointers, huge bodies).
    Raw { content_type: String, body: String },
}

impl Format {
    /// The build-info path this format is served at.
    pub fn path(&self) -> &'static str {
        match self {
            Format::GitSha | Format::Unknown | Format::HtmlErrorPage => "/api/build-info",
            Format::Dockerflow => "/__version__",
            Format::SpringActuator { .. } => "/actuator/info",
            Format::VersionSuffix | Format::VersionBuildMetadata | Format::JsonField { .. } => {
                "/version"
            }
            Format::Header | Format::HeaderNamed(_) => "/api/status",
            Format::HtmlMeta | Format::HtmlMetaNamed(_) => "/about",
            Format::Raw { .. } => "/info",
        }
    }

    /// The health path of the same convention (`/__heartbeat__` for Dockerflow,
    /// `/actuator/health` for Spring Boot, `/health` otherwise). All of them are served.
    pub fn health_path(&self) -> &'static str {
        match self {
            Format::Dockerflow => "/__heartbeat__",
            Format::SpringActuator { .. } => "/actuator/health",
            _ => "/health",
        }
    }
}

/// How requests are spread over replicas (see [`SimEnv::set_replicas`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Balance {
    /// Each TCP connection is pinned to the next replica, as an L4 balancer (kube-proxy, IPVS)
    /// does: a keep-alive client keeps seeing one replica, fresh connections rotate.
    #[default]
    PerConnection,
    /// Each build-info request goes to the next replica, as an L7 round-robin proxy does.
    PerRequest,
}

/// What the frontend page serves (see [`SimEnv::set_frontend`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendSpec {
    /// The SHA in the page's `<meta name="build-sha">`; asset names derive from it.
    pub sha: String,
    /// The page's script answers 404 (the HTML references a build whose files are gone).
    pub missing_asset: bool,
    /// The page is served `Cache-Control: public, max-age=3600` instead of `no-cache`.
    pub cacheable: bool,
}

/// The state of a [`SimEnv`] at one moment, for assertions and displays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSnapshot {
    pub format: Format,
    /// The SHA of each replica (one entry unless [`SimEnv::set_replicas`] set more).
    pub replicas: Vec<String>,
    pub environment: Option<String>,
    pub down: Option<u16>,
    pub hang: bool,
    /// The page as served now: pinned by [`SimEnv::set_frontend`] or following replica 1.
    pub frontend: FrontendSpec,
    /// The SHA a cache layer serves to plain requests, if one is simulated.
    pub cache: Option<String>,
    pub hashed_assets: bool,
    pub balance: Balance,
}

/// One simulated environment: an axum server on `127.0.0.1:0`.
///
/// It starts live on a SHA derived from its name, with [`Format::GitSha`], its name as the
/// environment field, an automatic build date (the moment each SHA was first set live),
/// a no-cache frontend following the live SHA with hashed asset names, one replica.
#[derive(Clone)]
pub struct SimEnv {
    shared: Arc<Shared>,
    _guard: Arc<ServerGuard>,
}

impl std::fmt::Debug for SimEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimEnv")
            .field("name", &self.shared.name)
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

struct Shared {
    name: String,
    addr: SocketAddr,
    state: Mutex<EnvState>,
    requests: AtomicU64,
    hang: watch::Sender<bool>,
    shutdown: Shutdown,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, EnvState> {
        // A panic while holding the lock cannot leave the plain data inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the build date is reported.
#[derive(Clone, Copy, Debug)]
enum BuildDate {
    /// Each SHA's date is when it was first set live here, so a fresh deploy looks fresh.
    Auto,
    Fixed(DateTime<Utc>),
    Omitted,
}

#[derive(Clone, Debug)]
struct Build {
    at: DateTime<Utc>,
    version: String,
}

struct EnvState {
    format: Format,
    service: String,
    replicas: Vec<String>,
    builds: HashMap<String, Build>,
    next_patch: u32,
    build_date: BuildDate,
    environment: Option<String>,
    down: Option<u16>,
    frontend: Option<FrontendSpec>,
    hashed_assets: bool,
    cache: Option<String>,
    balance: Balance,
    next_replica: usize,
    pinned: HashMap<ConnId, usize>,
}

/// Connections remembered for [`Balance::PerConnection`]; past this the table is cleared
/// (closed connections never come back, so forgetting them is harmless).
const MAX_PINNED: usize = 4096;

impl EnvState {
    fn build(&mut self, sha: &str) -> Build {
        if let Some(b) = self.builds.get(sha) {
            return b.clone();
        }
        let b = Build {
            at: Utc::now(),
            version: format!("1.4.{}", self.next_patch),
        };
        self.next_patch += 1;
        self.builds.insert(sha.to_string(), b.clone());
        b
    }

    fn built_at(&mut self, sha: &str) -> Option<DateTime<Utc>> {
        let auto = self.build(sha).at;
        match self.build_date {
            BuildDate::Auto => Some(auto),
            BuildDate::Fixed(t) => Some(t),
            BuildDate::Omitted => None,
        }
    }

    fn pick_replica(&mut self, conn: ConnId) -> usize {
        let n = self.replicas.len().max(1);
        if self.balance == Balance::PerConnection
            && let Some(&i) = self.pinned.get(&conn)
            && i < n
        {
            return i;
        }
        let i = self.next_replica % n;
        self.next_replica = self.next_replica.wrapping_add(1);
        if self.balance == Balance::PerConnection {
            if self.pinned.len() >= MAX_PINNED {
                self.pinned.clear();
            }
            self.pinned.insert(conn, i);
        }
        i
    }

    fn frontend(&self) -> FrontendSpec {
        self.frontend.clone().unwrap_or_else(|| FrontendSpec {
            sha: self.replicas.first().cloned().unwrap_or_default(),
            missing_asset: false,
            cacheable: false,
        })
    }

    fn set_replicas(&mut self, shas: Vec<String>) {
        for sha in &shas {
            self.build(sha);
        }
        self.replicas = shas;
        // A rollout replaces the pods: connections pinned to the old ones are gone.
        self.pinned.clear();
        self.next_replica = 0;
    }
}

impl SimEnv {
    /// Starts an environment named `name` (also its default environment field, e.g.
    /// `"production"`) on a fresh loopback port.
    ///
    /// # Errors
    /// When the loopback port cannot be bound.
    pub async fn start(name: &str) -> io::Result<SimEnv> {
        let (listener, addr) = server::bind().await?;
        let (guard, shutdown) = server::shutdown_pair();
        let initial = fake_sha(&format!("{name}@initial"));
        let mut state = EnvState {
            format: Format::default(),
            service: name.to_string(),
            replicas: Vec::new(),
            builds: HashMap::new(),
            next_patch: 2,
            build_date: BuildDate::Auto,
            environment: Some(name.to_string()),
            down: None,
            frontend: None,
            hashed_assets: true,
            cache: None,
            balance: Balance::default(),
            next_replica: 0,
            pinned: HashMap::new(),
        };
        state.set_replicas(vec![initial]);
        let shared = Arc::new(Shared {
            name: name.to_string(),
            addr,
            state: Mutex::new(state),
            requests: AtomicU64::new(0),
            hang: watch::channel(false).0,
            shutdown: shutdown.clone(),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        server::spawn(listener, router, shutdown);
        Ok(SimEnv {
            shared,
            _guard: Arc::new(guard),
        })
    }

    /// The name given to [`SimEnv::start`].
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The build-info URL of the current format (see [`Format::path`]).
    pub fn build_info_url(&self) -> String {
        format!("{}{}", self.base_url(), self.shared.state().format.path())
    }

    /// The frontend page, `http://127.0.0.1:PORT/`.
    pub fn frontend_url(&self) -> String {
        format!("{}/", self.base_url())
    }

    /// The health URL of the current format's convention (see [`Format::health_path`]).
    pub fn health_url(&self) -> String {
        format!(
            "{}{}",
            self.base_url(),
            self.shared.state().format.health_path()
        )
    }

    /// Every replica serves `sha` (a completed rollout).
    pub fn set_live(&self, sha: &str) {
        self.shared.state().set_replicas(vec![sha.to_string()]);
    }

    /// One replica per entry, each serving its SHA; build-info requests are spread over them
    /// according to [`SimEnv::set_balance`] (per connection by default). An empty slice is
    /// ignored: an environment always has at least one replica.
    pub fn set_replicas(&self, shas: &[&str]) {
        if shas.is_empty() {
            return;
        }
        self.shared
            .state()
            .set_replicas(shas.iter().map(|s| s.to_string()).collect());
    }

    /// How requests are spread over replicas; the rotation starts again at the first replica.
    pub fn set_balance(&self, balance: Balance) {
        let mut st = self.shared.state();
        st.balance = balance;
        // A new balancer starts its rotation at the first replica.
        st.pinned.clear();
        st.next_replica = 0;
    }

    /// Switches the build-info convention; [`SimEnv::build_info_url`] follows.
    pub fn set_format(&self, format: Format) {
        self.shared.state().format = format;
    }

    /// The service name used in bodies (Dockerflow `source`, Spring `app.name`, the page
    /// title). Defaults to the environment's name.
    pub fn set_service(&self, service: &str) {
        self.shared.state().service = service.to_string();
    }

    /// The `"environment"` field of JSON build-info; `None` leaves the field out.
    pub fn set_environment_field(&self, env: Option<&str>) {
        self.shared.state().environment = env.map(str::to_string);
    }

    /// `Some(t)`: every replica reports build date `t` (e.g. older than the CI run, as when a
    /// tag still points to an old build). `None`: no build date field at all. Until first
    /// called, each SHA reports the moment it was first set live here.
    pub fn set_build_date(&self, t: Option<DateTime<Utc>>) {
        self.shared.state().build_date = match t {
            Some(t) => BuildDate::Fixed(t),
            None => BuildDate::Omitted,
        };
    }

    /// `Some(status)`: every path answers `status` with the HTML error page of an nginx proxy
    /// (`502 Bad Gateway`: no healthy upstream). Statuses outside 200–599 are served as 502.
    /// `None`: back up.
    pub fn set_down(&self, status: Option<u16>) {
        self.shared.state().down = status;
    }

    /// `true`: connections are accepted and requests read, but no answer is ever sent until
    /// `set_hang(false)` (which releases the held requests) or the server stops. Other
    /// connections are never blocked by a hanging one.
    pub fn set_hang(&self, hang: bool) {
        self.shared.hang.send_replace(hang);
    }

    /// Pins the frontend page to build `sha` (its meta tag and asset names). With
    /// `missing_asset` the page's script answers 404; with `cacheable` the page is served
    /// `Cache-Control: public, max-age=3600` (else `no-cache`). Until first called, the page
    /// follows the first replica's SHA.
    pub fn set_frontend(&self, sha: &str, missing_asset: bool, cacheable: bool) {
        self.shared.state().frontend = Some(FrontendSpec {
            sha: sha.to_string(),
            missing_asset,
            cacheable,
        });
    }

    /// The frontend follows the first replica again (undoes [`SimEnv::set_frontend`]).
    pub fn set_frontend_follows_live(&self) {
        self.shared.state().frontend = None;
    }

    /// `true` (default): assets are `/assets/app.<hash>.js` and `/assets/index.<hash>.css`;
    /// `false`: `/app.js` and `/style.css`, the same names for every build.
    pub fn set_hashed_assets(&self, hashed: bool) {
        self.shared.state().hashed_assets = hashed;
    }

    /// `Some(stale)`: a cache layer in front of build-info answers plain requests with the
    /// build of `stale`, `Age: 120` and `X-Cache: HIT`; a request with any query string, or
    /// with `Cache-Control: no-cache`/`no-store`/`max-age=0` or `Pragma: no-cache`, passes
    /// through to the replicas (`X-Cache: MISS`). `None`: no cache layer. The frontend page is
    /// not cached by it.
    pub fn set_cache(&self, stale_sha: Option<&str>) {
        let mut st = self.shared.state();
        if let Some(s) = stale_sha {
            st.build(s);
        }
        st.cache = stale_sha.map(str::to_string);
    }

    /// Requests received so far, on every path (including those held by a hang).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The current simulated state.
    pub fn snapshot(&self) -> EnvSnapshot {
        let hang = *self.shared.hang.borrow();
        let st = self.shared.state();
        EnvSnapshot {
            format: st.format.clone(),
            replicas: st.replicas.clone(),
            environment: st.environment.clone(),
            down: st.down,
            hang,
            frontend: st.frontend(),
            cache: st.cache.clone(),
            hashed_assets: st.hashed_assets,
            balance: st.balance,
        }
    }
}

/// One response under construction; header values that are not valid HTTP are dropped rather
/// than failing the whole answer.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

impl Reply {
    fn new(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Reply {
        let mut r = Reply {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
        };
        r.set(header::CONTENT_TYPE, content_type);
        r
    }

    fn json(value: &Value) -> Reply {
        Reply::new(StatusCode::OK, "application/json", value.to_string())
    }

    fn set(&mut self, name: HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
    }

    fn with(mut self, name: HeaderName, value: &str) -> Reply {
        self.set(name, value);
        self
    }

    fn into_response(self) -> Response {
        let mut response = Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    sh.requests.fetch_add(1, Ordering::Relaxed);
    let mut hang = sh.hang.subscribe();
    if *hang.borrow_and_update() {
        tokio::select! {
            _ = hang.wait_for(|h| !*h) => {}
            () = sh.shutdown.wait() => {
                return Reply::new(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "shutting down")
                    .into_response();
            }
        }
    }
    if method != Method::GET && method != Method::HEAD {
        return Reply::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "405 Method Not Allowed\n",
        )
        .with(header::ALLOW, "GET, HEAD")
        .into_response();
    }
    let mut st = sh.state();
    if let Some(status) = st.down {
        return proxy_error(status).into_response();
    }
    let path = uri.path();
    let reply = if path == st.format.path() {
        let plain = uri.query().is_none_or(str::is_empty) && !asks_no_cache(&headers);
        build_info(&mut st, conn, plain)
    } else {
        match path {
            "/health" | "/healthz" | "/__lbheartbeat__" => {
                Reply::json(&json!({"status": "ok"})).with(header::CACHE_CONTROL, "no-store")
            }
            "/__heartbeat__" => Reply::json(&json!({"status": "ok", "checks": {}, "details": {}})),
            "/actuator/health" => Reply::new(
                StatusCode::OK,
                "application/vnd.spring-boot.actuator.v3+json",
                json!({"status": "UP"}).to_string(),
            ),
            "/" | "/index.html" => frontend_page(&st),
            _ => asset(&st, path).unwrap_or_else(not_found),
        }
    };
    reply.into_response()
}

/// The request asks caches to revalidate, so a cache layer must pass it through.
fn asks_no_cache(headers: &HeaderMap) -> bool {
    let has = |name: HeaderName, needles: &[&str]| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.to_ascii_lowercase())
                .is_ok_and(|s| needles.iter().any(|n| s.contains(n)))
        })
    };
    has(
        header::CACHE_CONTROL,
        &["no-cache", "no-store", "max-age=0"],
    ) || has(header::PRAGMA, &["no-cache"])
}

fn not_found() -> Reply {
    Reply::new(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "404 page not found\n",
    )
}

/// The page nginx serves when its upstream is gone.
fn proxy_error(status: u16) -> Reply {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| (200..600).contains(&s.as_u16()))
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let title = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
    );
    Reply::new(status, "text/html", body).with(header::SERVER, "nginx/1.25.3")
}

/// What one build-info answer describes.
struct BuildView {
    sha: String,
    short: String,
    version: String,
    built_at: Option<String>,
    environment: Option<String>,
    service: String,
}

fn build_info(st: &mut EnvState, conn: ConnId, plain: bool) -> Reply {
    let cached = st.cache.clone().filter(|_| plain);
    let sha = match &cached {
        Some(stale) => stale.clone(),
        None => {
            let i = st.pick_replica(conn);
            st.replicas.get(i).cloned().unwrap_or_default()
        }
    };
    let version = st.build(&sha).version;
    let view = BuildView {
        short: short_sha(&sha).to_string(),
        built_at: st
            .built_at(&sha)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        environment: st.environment.clone(),
        service: st.service.clone(),
        version,
        sha,
    };
    let reply = render_build_info(&st.format, &view);
    match (&st.cache, cached) {
        (_, Some(_)) => reply
            .with(header::AGE, "120")
            .with(HeaderName::from_static("x-cache"), "HIT")
            .with(header::CACHE_CONTROL, "public, max-age=300"),
        (Some(_), None) => reply.with(HeaderName::from_static("x-cache"), "MISS"),
        (None, None) => reply,
    }
}

/// A JSON object with the `"environment"` field added when set.
fn with_environment(mut value: Value, view: &BuildView) -> Value {
    if let (Value::Object(map), Some(env)) = (&mut value, &view.environment) {
        map.insert("environment".into(), Value::String(env.clone()));
    }
    value
}

/// Removes `null` members, so an omitted build date is absent rather than `null`.
fn without_nulls(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
        for v in map.values_mut() {
            *v = without_nulls(std::mem::take(v));
        }
    }
    value
}

fn render_build_info(format: &Format, v: &BuildView) -> Reply {
    let json_reply = |value: Value| Reply::json(&without_nulls(with_environment(value, v)));
    match format {
        Format::GitSha => json_reply(json!({
            "git_sha": v.sha,
            "built_at": v.built_at,
            "image_tag": v.sha,
        })),
        Format::Unknown => json_reply(json!({
            "git_sha": "unknown",
            "built_at": v.built_at,
            "image_tag": "latest",
        })),
        Format::Dockerflow => json_reply(json!({
            "commit": v.sha,
            "version": v.version,
            "source": format!("https://github.com/acme/{}", v.service),
            "build": format!("https://ci.example.com/job/{}/{}", v.service, &v.short),
        })),
        Format::SpringActuator { full } => {
            let id = if *full {
                json!({"full": v.sha, "abbrev": v.short})
            } else {
                json!(v.short)
            };
            let reply = json_reply(json!({
                "app": {"name": v.service, "version": v.version},
                "build": {
                    "artifact": v.service,
                    "group": "com.example",
                    "name": v.service,
                    "version": v.version,
                    "time": v.built_at,
                },
                "git": {"branch": "main", "commit": {"id": id, "time": v.built_at}},
            }));
            reply.with(
                header::CONTENT_TYPE,
                "application/vnd.spring-boot.actuator.v3+json",
            )
        }
        Format::VersionSuffix => json_reply(json!({
            "name": v.service,
            "version": format!("{}-{}", v.version, v.short),
            "buildDate": v.built_at,
        })),
        Format::VersionBuildMetadata => json_reply(json!({
            "name": v.service,
            "version": format!("{}+{}", v.version, v.short),
            "build_date": v.built_at,
        })),
        Format::JsonField { sha, date } => {
            let mut value = Value::Object(Map::new());
            put_pointer(&mut value, sha, Value::String(v.sha.clone()));
            if let (Some(date), Some(at)) = (date, &v.built_at) {
                put_pointer(&mut value, date, Value::String(at.clone()));
            }
            json_reply(value)
        }
        Format::Header | Format::HeaderNamed(_) => {
            let name = match format {
                Format::HeaderNamed(n) => n,
                _ => "X-Git-Sha",
            };
            let value = if name.eq_ignore_ascii_case("x-version") {
                format!("{}-{}", v.version, v.short)
            } else {
                v.sha.clone()
            };
            let mut reply = json_reply(json!({"status": "ok", "service": v.service}));
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                reply.set(name, &value);
            }
            reply
        }
        Format::HtmlMeta | Format::HtmlMetaNamed(_) => {
            let name = match format {
                Format::HtmlMetaNamed(n) => n,
                _ => "build-sha",
            };
            let content = if name.eq_ignore_ascii_case("version") {
                format!("{}-{}", v.version, v.short)
            } else {
                v.sha.clone()
            };
            let body = format!(
                "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
                 <meta name=\"{}\" content=\"{}\">\n<title>About {}</title>\n</head>\n\
                 <body>\n<h1>About {}</h1>\n<p>Version {}</p>\n</body>\n</html>\n",
                html_escape(name),
                html_escape(&content),
                html_escape(&v.service),
                html_escape(&v.service),
                html_escape(&v.version)
            );
            Reply::new(StatusCode::OK, "text/html; charset=utf-8", body)
        }
        Format::HtmlErrorPage => Reply::new(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html>\n<head>\n  <title>We're sorry, but something went wrong (500)</title>\n\
             </head>\n<body>\n  <div class=\"dialog\">\n    <h1>We're sorry, but something went wrong.</h1>\n\
             \x20   <p>If you are the application owner check the logs for more information.</p>\n  </div>\n\
             </body>\n</html>\n",
        ),
        Format::Raw { content_type, body } => {
            let body = body
                .replace("{sha}", &v.sha)
                .replace("{short_sha}", &v.short)
                .replace("{environment}", v.environment.as_deref().unwrap_or(""))
                .replace("{built_at}", v.built_at.as_deref().unwrap_or(""));
            Reply::new(StatusCode::OK, content_type, body)
        }
    }
}

/// Sets `value` at an RFC 6901 `pointer`, creating objects on the way (`/build/git_sha` →
/// `{"build": {"git_sha": ..}}`). The empty pointer replaces the whole document.
fn put_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let mut slot = doc;
    for token in pointer.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(map) = slot else { return };
        slot = map.entry(key).or_insert(Value::Null);
    }
    *slot = value;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The script and stylesheet paths of frontend build `sha`.
pub(crate) fn asset_paths(sha: &str, hashed: bool) -> (String, String) {
    if hashed {
        (
            format!("/assets/app.{}.js", asset_hash(sha, "app.js")),
            format!("/assets/index.{}.css", asset_hash(sha, "index.css")),
        )
    } else {
        ("/app.js".to_string(), "/style.css".to_string())
    }
}

fn frontend_page(st: &EnvState) -> Reply {
    let spec = st.frontend();
    let (script, style) = asset_paths(&spec.sha, st.hashed_assets);
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"build-sha\" content=\"{}\">\n<title>{}</title>\n\
         <link rel=\"stylesheet\" href=\"{style}\">\n\
         <script type=\"module\" src=\"{script}\"></script>\n</head>\n\
         <body>\n<div id=\"root\"></div>\n</body>\n</html>\n",
        html_escape(&spec.sha),
        html_escape(&st.service),
    );
    let cache = if spec.cacheable {
        "public, max-age=3600"
    } else {
        "no-cache"
    };
    Reply::new(StatusCode::OK, "text/html; charset=utf-8", body).with(header::CACHE_CONTROL, cache)
}

fn asset(st: &EnvState, path: &str) -> Option<Reply> {
    let spec = st.frontend();
    let (script, style) = asset_paths(&spec.sha, st.hashed_assets);
    let cache = if st.hashed_assets {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let short = short_sha(&spec.sha);
    if path == script && !spec.missing_asset {
        let body = format!(
            "console.info(\"{} build {short}\");\n",
            st.service.escape_default()
        );
        Some(
            Reply::new(StatusCode::OK, "text/javascript; charset=utf-8", body)
                .with(header::CACHE_CONTROL, cache),
        )
    } else if path == style {
        let body =
            format!("/* build {short} */\nbody{{margin:0;font-family:system-ui,sans-serif}}\n");
        Some(
            Reply::new(StatusCode::OK, "text/css; charset=utf-8", body)
                .with(header::CACHE_CONTROL, cache),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_pointer_builds_nested_objects() {
        let check = |pointer: &str, expected: Value| {
            let mut doc = Value::Object(Map::new());
            put_pointer(&mut doc, pointer, json!("x"));
            assert_eq!(doc, expected, "{pointer}");
        };
        check("/sha", json!({"sha": "x"}));
        check("/build/git_sha", json!({"build": {"git_sha": "x"}}));
        check("/a~1b/c~0d", json!({"a/b": {"c~d": "x"}}));
        check("", json!("x"));
    }
}

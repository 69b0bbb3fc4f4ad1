//! A simulated container registry: the part of the OCI distribution API that Deploywatch
//! reads (`HEAD`/`GET /v2/<name>/manifests/<reference>`, `GET /v2/<name>/tags/list`), behind
//! the anonymous bearer-token dance public registries use (`401` with
//! `WWW-Authenticate: Bearer realm=..,service=..,scope=..` → `GET /token` → retry with the
//! token). Tokens are scoped: a token for one repository does not open another.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::server::{self, ServerGuard};
use crate::sha::sha256_hex;

/// The `service` of the token challenge.
const SERVICE: &str = "sim";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// A simulated registry on `127.0.0.1:0`. Clones share one server, which stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct SimRegistry {
    shared: Arc<Shared>,
    _guard: Arc<ServerGuard>,
}

impl std::fmt::Debug for SimRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRegistry")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

struct Shared {
    addr: SocketAddr,
    /// Repository name → tags.
    tags: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// Issued token → the repository it may pull (`None`: a token without a pull scope).
    tokens: Mutex<HashMap<String, Option<String>>>,
    issued: AtomicU64,
    requests: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these plain maps inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimRegistry {
    /// Starts an empty registry on a fresh loopback port.
    ///
    /// # Errors
    /// When the loopback port cannot be bound.
    pub async fn start() -> io::Result<SimRegistry> {
        let (listener, addr) = server::bind().await?;
        let (guard, shutdown) = server::shutdown_pair();
        let shared = Arc::new(Shared {
            addr,
            tags: Mutex::new(BTreeMap::new()),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        server::spawn(listener, router, shutdown);
        Ok(SimRegistry {
            shared,
            _guard: Arc::new(guard),
        })
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference
    /// (`127.0.0.1:PORT/acme/shop:<sha>`; Docker and Deploywatch use plain HTTP for it).
    pub fn host(&self) -> String {
        self.shared.addr.to_string()
    }

    /// Makes `name:tag` resolvable (what `docker push` does when it succeeds).
    pub fn push_tag(&self, name: &str, tag: &str) {
        lock(&self.shared.tags)
            .entry(name.to_string())
            .or_default()
            .insert(tag.to_string());
    }

    /// Removes `name:tag` (a retention policy or a manual clean-up).
    pub fn delete_tag(&self, name: &str, tag: &str) {
        if let Some(tags) = lock(&self.shared.tags).get_mut(name) {
            tags.remove(tag);
        }
    }

    /// Whether `name:tag` is resolvable now.
    pub fn has_tag(&self, name: &str, tag: &str) -> bool {
        lock(&self.shared.tags)
            .get(name)
            .is_some_and(|t| t.contains(tag))
    }

    /// The `sha256:` digest served for `name:tag` (whether or not the tag exists).
    pub fn digest(name: &str, tag: &str) -> String {
        format!("sha256:{}", sha256_hex(manifest(name, tag).as_bytes()))
    }

    /// Requests received so far, on every path.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// The image manifest of `name:tag`: a plausible OCI manifest whose blobs derive from the
/// tag, so each tag has its own stable digest.
fn manifest(name: &str, tag: &str) -> String {
    let blob = |what: &str| {
        format!(
            "sha256:{}",
            sha256_hex(format!("{what} {name}:{tag}").as_bytes())
        )
    };
    json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": blob("config"),
            "size": 7023,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob("base"), "size": 3_623_807},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob("app"), "size": 18_204_117},
        ],
        "annotations": {
            "org.opencontainers.image.source": format!("https://github.com/{name}"),
            "org.opencontainers.image.revision": tag,
        },
    })
    .to_string()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(status: StatusCode, value: &Value) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Reply {
            status,
            headers,
            body: value.to_string(),
        }
    }

    fn error(status: StatusCode, code: &str, message: &str, detail: Value) -> Reply {
        Reply::json(
            status,
            &json!({"errors": [{"code": code, "message": message, "detail": detail}]}),
        )
    }

    fn into_response(mut self) -> Response {
        self.headers.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    sh.requests.fetch_add(1, Ordering::Relaxed);
    route(&sh, &method, uri.path(), &query, &headers).into_response()
}

fn route(
    sh: &Shared,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Reply {
    if method != Method::GET && method != Method::HEAD {
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "The operation is unsupported.",
            Value::Null,
        );
    }
    if path == "/token" {
        return token(sh, query);
    }
    if path == "/v2/" || path == "/v2" {
        return match authorized(sh, headers) {
            Some(_) => Reply::json(StatusCode::OK, &json!({})),
            None => challenge(sh, None),
        };
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "page not found",
            Value::Null,
        );
    };
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return manifest_reply(sh, headers, name, reference);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        if authorized(sh, headers).flatten().as_deref() != Some(name) {
            return challenge(sh, Some(name));
        }
        return match lock(&sh.tags).get(name) {
            Some(tags) => Reply::json(StatusCode::OK, &json!({"name": name, "tags": tags})),
            None => name_unknown(name),
        };
    }
    Reply::error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "page not found",
        Value::Null,
    )
}

/// `GET /token?service=sim&scope=repository:<name>:pull`: an anonymous token for that scope.
fn token(sh: &Shared, query: &HashMap<String, String>) -> Reply {
    let repository = query.get("scope").and_then(|scope| {
        let rest = scope.strip_prefix("repository:")?;
        let (name, actions) = rest.rsplit_once(':')?;
        actions
            .split(',')
            .any(|a| a == "pull")
            .then(|| name.to_string())
    });
    let n = sh.issued.fetch_add(1, Ordering::Relaxed);
    let token = format!(
        "sim.{}",
        &sha256_hex(format!("token {n} {repository:?}").as_bytes())[..32]
    );
    lock(&sh.tokens).insert(token.clone(), repository);
    let issued_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    Reply::json(
        StatusCode::OK,
        &json!({"token": token, "access_token": token, "expires_in": 300, "issued_at": issued_at}),
    )
}

/// The scope of the request's bearer token: `None` without a known token, `Some(None)` for a
/// token without a pull scope, `Some(Some(name))` for a token that may pull `name`.
fn authorized(sh: &Shared, headers: &HeaderMap) -> Option<Option<String>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    lock(&sh.tokens).get(token.trim()).cloned()
}

fn challenge(sh: &Shared, name: Option<&str>) -> Reply {
    let realm = format!("http://{}/token", sh.addr);
    let value = match name {
        Some(n) => {
            format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\",scope=\"repository:{n}:pull\"")
        }
        None => format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\""),
    };
    let detail = match name {
        Some(n) => json!([{"Type": "repository", "Name": n, "Action": "pull"}]),
        None => Value::Null,
    };
    let mut reply = Reply::error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
        detail,
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        reply.headers.insert(header::WWW_AUTHENTICATE, v);
    }
    reply
}

fn name_unknown(name: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        "repository name not known to registry",
        json!({"name": name}),
    )
}

fn manifest_reply(sh: &Shared, headers: &HeaderMap, name: &str, reference: &str) -> Reply {
    if authorized(sh, headers).flatten().as_deref() != Some(name) {
        return challenge(sh, Some(name));
    }
    let tags = lock(&sh.tags);
    let Some(known) = tags.get(name) else {
        return name_unknown(name);
    };
    let tag = if reference.starts_with("sha256:") {
        known
            .iter()
            .find(|t| SimRegistry::digest(name, t) == reference)
    } else {
        known.get(reference)
    };
    let Some(tag) = tag else {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
            json!({"name": name, "reference": reference}),
        );
    };
    let body = manifest(name, tag);
    // The digest is the SHA-256 of exactly the bytes served, as clients verify it.
    let digest = format!("sha256:{}", sha256_hex(body.as_bytes()));
    let mut reply = Reply::json(StatusCode::OK, &Value::Null);
    reply.body = body;
    reply.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(MANIFEST_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(&digest) {
        reply.headers.insert("docker-content-digest", v);
    }
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        reply.headers.insert(header::ETAG, etag);
    }
    reply
}

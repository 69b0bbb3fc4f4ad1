//! Everything Deploywatch asks of an environment over HTTP (SPEC §2): build-info fingerprints,
//! replicas on fresh connections, a cache-busting probe, health, the frontend page and its
//! assets, and the container registry's manifest for an image tag.
//!
//! Every request is bounded (timeout over the whole request including the body, a body cap
//! enforced while streaming, a redirect limit) and identifies itself with [`user_agent`].
//! Whatever comes back, a probe returns evidence, never an error and never a panic: the
//! decision about what the evidence means is made in `deploywatch-core`.

mod addresses;
mod fetch;
mod fingerprint;
mod frontend;
mod health;
mod html;
mod registry;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deploywatch_core::{
    BuildInfoProbe, FrontendProbe, HttpEvidence, HttpOutcome, ImageCheck, Sha, TransportFailure,
};
use http::header;
use reqwest::Client;

pub use addresses::MAX_ADDRESSES;
pub use fingerprint::parse_fingerprint;
pub use registry::{RegistryAuth, Secret};

/// The `Accept` header of build-info and health probes: JSON first, but an HTML page (a
/// frontend that embeds its SHA in a meta tag) or anything else is still welcome, so the
/// evidence shows what the server really serves.
const ACCEPT_PROBE: &str = "application/json, text/html;q=0.9, */*;q=0.5";

/// Limits applied to every request a [`Prober`] makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSettings {
    /// The whole request: connecting, the answer's head and reading the body.
    pub timeout: Duration,
    /// Bodies are read up to this many bytes; the rest is never read (`truncated` is set).
    pub body_cap: usize,
    /// Redirects followed before the request fails with `TooManyRedirects`.
    pub redirect_limit: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            timeout: Duration::from_secs(10),
            body_cap: 1024 * 1024,
            redirect_limit: 5,
        }
    }
}

/// The `User-Agent` of every request: names Deploywatch and its version, so operators who see
/// it in their access logs know what it is and where to read about it.
pub fn user_agent() -> String {
    format!(
        "deploywatch/{} (+https://github.com/deploywatch/deploywatch)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Where an environment keeps its SHA, when auto-detection (SPEC §2) is not wanted.
/// The default (both `None`) auto-detects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locator {
    /// An RFC 6901 JSON pointer into the build-info body, e.g. `/meta/rev`.
    pub sha_pointer: Option<String>,
    /// A response header carrying the SHA, e.g. `X-Build`.
    pub sha_header: Option<String>,
    /// Commits of the watched repository Deploywatch already knows (the expected SHA, earlier
    /// pushes, CI runs' heads): a hex token in the answer that is one of these is strong
    /// evidence that it names this service's build. Empty when nothing is known (`--url`).
    pub known_commits: Vec<Sha>,
}

/// Substitutes `{sha}` (the full SHA) and `{short_sha}` (its first 7 characters) in an image
/// reference template such as `ghcr.io/acme/shop:{sha}`.
pub fn expand_image(template: &str, sha: &Sha) -> String {
    template
        .replace("{short_sha}", sha.short())
        .replace("{sha}", sha.as_str())
}

/// Makes the probes. Cloning is cheap; clones and [`Prober::with_settings`] share the HTTP
/// clients (and so their connection pools and TLS configuration).
///
/// The clients carry only what cannot be set per request (the User-Agent, the redirect
/// limit, HTTP/1 only, pooling or not); the timeout and the body cap travel with the prober's
/// [`ProbeSettings`] and are applied to each request, so one set of clients serves every
/// environment whatever its `timeout`.
#[derive(Clone, Debug)]
pub struct Prober {
    settings: ProbeSettings,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The redirect limit the clients were built with.
    redirect_limit: usize,
    /// `Err` only if the TLS stack could not be initialised; every probe then reports it as a
    /// transport failure instead of panicking at construction.
    clients: Result<Clients, String>,
    /// `each_address` clients, one per (host, address), reused across checks (bounded).
    by_address: Mutex<addresses::AddressClients>,
}

#[derive(Clone, Debug)]
struct Clients {
    /// Pools connections: used for everything except replica probes.
    pooled: Client,
    /// Keeps no idle connection, so each request opens its own TCP connection and a load
    /// balancer that balances per connection can route it to a different replica.
    fresh: Client,
}

impl Prober {
    /// A prober applying `settings` to every request, with new clients.
    pub fn new(settings: ProbeSettings) -> Prober {
        let clients = build_client(&settings, true).and_then(|pooled| {
            Ok(Clients {
                pooled,
                fresh: build_client(&settings, false)?,
            })
        });
        Prober {
            shared: Arc::new(Shared {
                redirect_limit: settings.redirect_limit,
                clients,
                by_address: Mutex::new(addresses::AddressClients::default()),
            }),
            settings,
        }
    }

    /// A prober applying `settings` that shares this one's clients: only a different
    /// redirect limit (a client setting) builds new ones. The timeout and body cap are
    /// per request, so one engine-wide prober serves every environment's own `timeout`.
    pub fn with_settings(&self, settings: ProbeSettings) -> Prober {
        if settings.redirect_limit == self.shared.redirect_limit {
            Prober {
                settings,
                shared: self.shared.clone(),
            }
        } else {
            Prober::new(settings)
        }
    }

    /// Whether two probers use the same clients (same pools).
    pub fn shares_clients_with(&self, other: &Prober) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn clients(&self) -> &Result<Clients, String> {
        &self.shared.clients
    }

    /// The settings this prober applies.
    pub fn settings(&self) -> &ProbeSettings {
        &self.settings
    }

    /// Fetches a build-info URL and reads its fingerprint (SPEC §2). A non-2xx answer or a
    /// transport failure leaves `fingerprint` as `Err` saying so.
    pub async fn build_info(&self, url: &str, locator: &Locator) -> BuildInfoProbe {
        self.build_info_with(url, locator, Variant::Pooled).await
    }

    /// `n` build-info probes, run concurrently, each on a fresh TCP connection (no pooling,
    /// `Connection: close`), so that replicas behind a per-connection load balancer each get a
    /// chance to answer. `n = 0` is treated as 1.
    pub async fn replicas(&self, url: &str, locator: &Locator, n: u32) -> Vec<BuildInfoProbe> {
        let probes = (0..n.max(1)).map(|_| self.build_info_with(url, locator, Variant::Fresh));
        futures_util::future::join_all(probes).await
    }

    /// A build-info probe that bypasses caches: a random `_dw=` query parameter plus
    /// `Cache-Control: no-cache` and `Pragma: no-cache`. The evidence's URL is the busted one.
    pub async fn cache_bust(&self, url: &str, locator: &Locator) -> BuildInfoProbe {
        self.build_info_with(url, locator, Variant::CacheBust).await
    }

    /// Fetches a health URL and reads what its body says by the health conventions (Spring
    /// Boot actuator, the IETF health-check format, the common `status`/`checks` forms, plain
    /// `ok`): the service's own status, its components and its disk. What it means is decided
    /// elsewhere.
    pub async fn health(&self, url: &str) -> deploywatch_core::HealthProbe {
        let clients = match self.clients() {
            Ok(c) => c,
            Err(e) => return deploywatch_core::HealthProbe::unread(client_failure(url, e)),
        };
        let request = |u: &url::Url| {
            clients
                .pooled
                .get(u.clone())
                .header(header::ACCEPT, health::ACCEPT)
        };
        let (http, answer) = fetch::get(&self.settings, url, request).await;
        match (&http.outcome, answer) {
            (HttpOutcome::Answered(r), Some(answer)) => {
                health::parse_health(r.content_type.as_deref(), &answer.body, r.truncated)
                    .into_probe(http)
            }
            _ => deploywatch_core::HealthProbe::unread(http),
        }
    }

    /// Fetches the frontend page, reads its own fingerprint from its meta tags, and checks
    /// that every script and stylesheet it references answers 200 (SPEC §3 `stale_frontend`).
    pub async fn frontend(&self, url: &str) -> FrontendProbe {
        match self.clients() {
            Ok(c) => frontend::probe(&c.pooled, &self.settings, url).await,
            Err(e) => FrontendProbe {
                http: client_failure(url, e),
                fingerprint: None,
                assets: Vec::new(),
            },
        }
    }

    /// Asks the image's registry (OCI distribution API) whether the tag or digest in
    /// `reference` has a manifest, with the credentials `auth` finds for that registry (see
    /// [`RegistryAuth`]). The check says what was asked, what came back and which credentials
    /// were used, never the secret. See [`ImageOutcome`](deploywatch_core::ImageOutcome):
    /// `Unauthorized` when credentials are needed or refused, `Error` when the registry cannot
    /// say (unreachable, a broken answer, a bad reference).
    pub async fn image(&self, reference: &str, auth: &RegistryAuth) -> ImageCheck {
        match self.clients() {
            Ok(c) => registry::check(&c.pooled, &self.settings, reference, auth).await,
            Err(e) => ImageCheck {
                reference: reference.to_string(),
                asked: String::new(),
                answer: String::new(),
                auth: String::new(),
                outcome: deploywatch_core::ImageOutcome::Error(e.clone()),
            },
        }
    }

    async fn build_info_with(
        &self,
        url: &str,
        locator: &Locator,
        variant: Variant,
    ) -> BuildInfoProbe {
        let clients = match self.clients() {
            Ok(c) => c,
            Err(e) => {
                return BuildInfoProbe {
                    http: client_failure(url, e),
                    fingerprint: Err(format!("no answer: {e}")),
                    address: None,
                };
            }
        };
        let target = match variant {
            Variant::CacheBust => cache_busted(url),
            Variant::Pooled | Variant::Fresh => url.to_string(),
        };
        let request = |u: &url::Url| {
            let client = match variant {
                Variant::Fresh => &clients.fresh,
                Variant::Pooled | Variant::CacheBust => &clients.pooled,
            };
            let mut builder = client.get(u.clone()).header(header::ACCEPT, ACCEPT_PROBE);
            match variant {
                Variant::Fresh => builder = builder.header(header::CONNECTION, "close"),
                Variant::CacheBust => {
                    builder = builder
                        .header(header::CACHE_CONTROL, "no-cache")
                        .header(header::PRAGMA, "no-cache");
                }
                Variant::Pooled => {}
            }
            builder
        };
        let (http, answer) = fetch::get(&self.settings, &target, request).await;
        let fingerprint = fingerprint_of(&http, answer, locator);
        BuildInfoProbe {
            http,
            fingerprint,
            address: None,
        }
    }
}

/// The fingerprint of a build-info answer, or why there is none (not a success, no answer).
pub(crate) fn fingerprint_of(
    http: &HttpEvidence,
    answer: Option<fetch::Answer>,
    locator: &Locator,
) -> Result<deploywatch_core::Fingerprint, String> {
    match (&http.outcome, answer) {
        (HttpOutcome::Answered(r), Some(answer)) if (200..300).contains(&r.status) => {
            parse_fingerprint(
                &answer.headers,
                r.content_type.as_deref(),
                &answer.body,
                r.truncated,
                locator,
            )
        }
        (HttpOutcome::Answered(r), _) => Err(format!(
            "answered HTTP {}, not a success, so no build information was read",
            status_text(r.status)
        )),
        (HttpOutcome::Failed(f), _) => Err(format!("no answer: {}", describe_failure(f))),
    }
}

#[derive(Clone, Copy)]
enum Variant {
    Pooled,
    Fresh,
    CacheBust,
}

/// Every client's common settings: User-Agent, redirect limit, HTTP/1.1. No timeout: each
/// request carries its own (`fetch`), the environment's, covering connecting too.
pub(crate) fn client_builder(settings: &ProbeSettings) -> reqwest::ClientBuilder {
    Client::builder()
        .user_agent(user_agent())
        .redirect(reqwest::redirect::Policy::limited(settings.redirect_limit))
        // HTTP/2 would multiplex replica probes onto one connection, and so onto one replica.
        .http1_only()
}

fn build_client(settings: &ProbeSettings, pooled: bool) -> Result<Client, String> {
    let mut builder = client_builder(settings);
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().map_err(|e| {
        format!(
            "the HTTP client could not be built: {}",
            fetch::error_chain(&e)
        )
    })
}

/// Adds `_dw=<random>` to the query, keeping what was there. An unparsable URL is returned as
/// is, so the request fails with the same "invalid URL" evidence as the plain probe.
fn cache_busted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let token = format!("{:016x}", rand::random::<u64>());
            u.query_pairs_mut().append_pair("_dw", &token);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

fn client_failure(url: &str, detail: &str) -> HttpEvidence {
    HttpEvidence {
        url: url.to_string(),
        outcome: HttpOutcome::Failed(TransportFailure::Other {
            detail: detail.to_string(),
        }),
    }
}

/// `502 Bad Gateway`, or just the number for codes without a reason phrase.
pub(crate) fn status_text(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// A transport failure in words, for people reading a report or an asset's status.
pub(crate) fn describe_failure(failure: &TransportFailure) -> String {
    match failure {
        TransportFailure::Timeout { after_ms } => format!("timed out after {after_ms} ms"),
        TransportFailure::Connect { detail } => format!("could not connect: {detail}"),
        TransportFailure::TooManyRedirects { limit } => {
            format!("more than {limit} redirects (a redirect loop?)")
        }
        TransportFailure::Other { detail } => detail.clone(),
    }
}

//! Every address behind a name (`each_address`): resolve the build-info URL's host as the system
//! does (A and AAAA records, `/etc/hosts`) and probe each address directly, keeping the URL's
//! host name for the `Host` header and the TLS server name (SNI and certificate checks).
//!
//! DNS round-robin and several load balancers behind one name are then covered
//! deterministically: every address answers once per check, instead of whichever one the
//! resolver and the connection pool happened to pick. Each probe carries its address
//! ([`BuildInfoProbe::address`]), so `mixed` can say which address serves which SHA.
//!
//! The fan-out is capped at [`MAX_ADDRESSES`]; a name that does not resolve is evidence (a
//! transport failure saying DNS resolution failed), never a panic and never an empty list.

use std::net::{IpAddr, SocketAddr};

use deploywatch_core::{BuildInfoProbe, HttpEvidence, HttpOutcome, TransportFailure};
use http::header;
use url::Host;

use crate::{ACCEPT_PROBE, Locator, Prober, describe_failure, fetch};

/// The most addresses probed per check: a name with more (a large round-robin pool) has its
/// first 16 probed, in the order [`order`] gives.
pub const MAX_ADDRESSES: usize = 16;

impl Prober {
    /// Resolves the host of `url` (A and AAAA, through the system resolver, so `/etc/hosts`
    /// counts; an IP literal is its one address) and probes every address once with
    /// [`Prober::probe_addresses`]. The probes come back in a stable order (IPv4 before IPv6,
    /// each ascending), at most [`MAX_ADDRESSES`] of them.
    ///
    /// Never empty: an invalid URL, a name that does not resolve, or one that resolves to no
    /// address gives one probe whose transport failure says so.
    pub async fn each_address(&self, url: &str, locator: &Locator) -> Vec<BuildInfoProbe> {
        let parsed = match fetch::parse_url(url) {
            Ok(u) => u,
            Err(f) => return vec![failed(url, f)],
        };
        let addresses = match parsed.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) => {
                let port = parsed.port_or_known_default().unwrap_or(80);
                match self.resolve(name, port).await {
                    Ok(found) => found,
                    Err(detail) => {
                        return vec![failed(url, TransportFailure::Connect { detail })];
                    }
                }
            }
            None => {
                let f = TransportFailure::Other {
                    detail: format!("invalid URL {url:?}: no host"),
                };
                return vec![failed(url, f)];
            }
        };
        self.probe_addresses(url, locator, &addresses).await
    }

    /// Probes `url` once at each of `addresses` (at most [`MAX_ADDRESSES`], concurrently),
    /// as if its host resolved to them: the connection goes to the address, while the `Host`
    /// header and the TLS server name stay the URL's host. Each probe is made on its own
    /// connection and records its address. An empty `addresses` is one failed probe.
    pub async fn probe_addresses(
        &self,
        url: &str,
        locator: &Locator,
        addresses: &[IpAddr],
    ) -> Vec<BuildInfoProbe> {
        let addresses = order(addresses);
        if addresses.is_empty() {
            let f = TransportFailure::Connect {
                detail: "no address to probe".into(),
            };
            return vec![failed(url, f)];
        }
        let probes = addresses.iter().map(|ip| self.probe_at(url, locator, *ip));
        futures_util::future::join_all(probes).await
    }

    /// The addresses of `name`, through the system resolver, within the probe timeout.
    async fn resolve(&self, name: &str, port: u16) -> Result<Vec<IpAddr>, String> {
        let lookup = tokio::net::lookup_host((name, port));
        match tokio::time::timeout(self.settings.timeout, lookup).await {
            Err(_) => Err(format!(
                "DNS resolution of {name} failed: no answer within {} ms",
                self.settings.timeout.as_millis()
            )),
            Ok(Err(e)) => Err(format!("DNS resolution of {name} failed: {e}")),
            Ok(Ok(found)) => {
                let found: Vec<IpAddr> = found.map(|sa| sa.ip()).collect();
                if found.is_empty() {
                    Err(format!("DNS resolution of {name} failed: no address"))
                } else {
                    Ok(found)
                }
            }
        }
    }

    async fn probe_at(&self, url: &str, locator: &Locator, ip: IpAddr) -> BuildInfoProbe {
        let address = Some(ip.to_string());
        let client = match self.address_client(url, ip) {
            Ok(c) => c,
            Err(e) => {
                let f = TransportFailure::Other { detail: e };
                return BuildInfoProbe {
                    address,
                    ..failed(url, f)
                };
            }
        };
        let request = |u: &url::Url| {
            client
                .get(u.clone())
                .header(header::ACCEPT, ACCEPT_PROBE)
                .header(header::CONNECTION, "close")
        };
        let (http, answer) = fetch::get(&self.settings, url, request).await;
        let fingerprint = crate::fingerprint_of(&http, answer, locator);
        BuildInfoProbe {
            http,
            fingerprint,
            address,
        }
    }

    /// A client whose resolver answers the URL's host with `ip` only (reqwest keeps the host
    /// name for `Host` and SNI). It keeps no idle connection, so every probe opens its own.
    /// Clients are cached by (host, address) in the shared prober, at most
    /// [`ADDRESS_CLIENTS`] of them (the oldest built is dropped first): the resolve override
    /// is the only thing that differs, and the port comes from the URL.
    fn address_client(&self, url: &str, ip: IpAddr) -> Result<reqwest::Client, String> {
        if let Err(e) = self.clients() {
            return Err(e.clone());
        }
        let name = match url::Url::parse(url.trim()) {
            Ok(parsed) => match parsed.host() {
                Some(Host::Domain(name)) => Some(name.to_string()),
                _ => None,
            },
            Err(_) => None,
        };
        let key = (name.clone().unwrap_or_default(), ip);
        let cache = &self.shared.by_address;
        if let Some(c) = lock(cache).get(&key) {
            return Ok(c);
        }
        let mut builder = crate::client_builder(&self.settings).pool_max_idle_per_host(0);
        if let Some(name) = &name {
            // The port is taken from the URL; the one given here is ignored.
            builder = builder.resolve(name, SocketAddr::new(ip, 0));
        }
        let client = builder.build().map_err(|e| {
            format!(
                "the HTTP client could not be built: {}",
                fetch::error_chain(&e)
            )
        })?;
        lock(cache).insert(key, client.clone());
        Ok(client)
    }
}

/// The most `each_address` clients a prober keeps (one per host name and address).
pub const ADDRESS_CLIENTS: usize = 256;

/// `each_address` clients by (host name, address); "" for an IP literal URL, which needs no
/// resolve override. Bounded: inserting beyond [`ADDRESS_CLIENTS`] drops the oldest.
#[derive(Debug, Default)]
pub(crate) struct AddressClients {
    clients: std::collections::HashMap<(String, IpAddr), reqwest::Client>,
    order: std::collections::VecDeque<(String, IpAddr)>,
}

impl AddressClients {
    fn get(&self, key: &(String, IpAddr)) -> Option<reqwest::Client> {
        self.clients.get(key).cloned()
    }

    fn insert(&mut self, key: (String, IpAddr), client: reqwest::Client) {
        if self.clients.insert(key.clone(), client).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > ADDRESS_CLIENTS {
            if let Some(old) = self.order.pop_front() {
                self.clients.remove(&old);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients.len()
    }
}

fn lock(m: &std::sync::Mutex<AddressClients>) -> std::sync::MutexGuard<'_, AddressClients> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Distinct addresses, IPv4 before IPv6, each ascending, at most [`MAX_ADDRESSES`]: the same
/// set always gives the same checklist, whatever order the resolver returned it in.
fn order(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = addresses.to_vec();
    out.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    out.dedup();
    out.truncate(MAX_ADDRESSES);
    out
}

/// A probe that never reached any address.
fn failed(url: &str, failure: TransportFailure) -> BuildInfoProbe {
    let why = format!("no answer: {}", describe_failure(&failure));
    BuildInfoProbe {
        http: HttpEvidence {
            url: url.to_string(),
            outcome: HttpOutcome::Failed(failure),
        },
        fingerprint: Err(why),
        address: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_ordered_and_capped() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            order(&[ip("::1"), ip("10.0.0.2"), ip("127.0.0.1"), ip("10.0.0.2")]),
            [ip("10.0.0.2"), ip("127.0.0.1"), ip("::1")]
        );
        let many: Vec<IpAddr> = (0..40u8)
            .rev()
            .map(|i| IpAddr::from([10, 0, 0, i]))
            .collect();
        let capped = order(&many);
        assert_eq!(capped.len(), MAX_ADDRESSES);
        assert_eq!(capped[0], ip("10.0.0.0"));
        assert_eq!(capped[15], ip("10.0.0.15"));
    }

    #[test]
    fn address_clients_are_reused_and_bounded() {
        let prober = Prober::new(crate::ProbeSettings::default());
        let ip = |i: u32| IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
        prober
            .address_client("https://shop.example.com/build", ip(1))
            .unwrap();
        prober
            .address_client("https://shop.example.com:8443/other", ip(1))
            .unwrap();
        assert_eq!(
            lock(&prober.shared.by_address).len(),
            1,
            "same host and address"
        );
        let shared = prober.with_settings(crate::ProbeSettings {
            timeout: std::time::Duration::from_secs(1),
            ..crate::ProbeSettings::default()
        });
        shared
            .address_client("https://shop.example.com/build", ip(2))
            .unwrap();
        assert_eq!(
            lock(&prober.shared.by_address).len(),
            2,
            "one cache per prober"
        );
        assert!(
            shared.shares_clients_with(&prober),
            "a timeout is per request"
        );
        let other = prober.with_settings(crate::ProbeSettings {
            redirect_limit: 1,
            ..crate::ProbeSettings::default()
        });
        assert!(
            !other.shares_clients_with(&prober),
            "a redirect limit is per client"
        );
        for i in 0..(ADDRESS_CLIENTS as u32 + 10) {
            prober
                .address_client("https://many.example.com/", ip(100 + i))
                .unwrap();
        }
        assert_eq!(lock(&prober.shared.by_address).len(), ADDRESS_CLIENTS);
    }
}

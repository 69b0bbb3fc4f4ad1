//! Registry credentials found the way Docker finds them: `config.json` in `$DOCKER_CONFIG` or
//! `~/.docker` — `credHelpers` for the registry, else `credsStore`, both through
//! `docker-credential-<name> get`; else the `auths` entry (`auth` = base64 `user:password`,
//! `username`/`password`, `identitytoken`) — and, for `ghcr.io` only, the GitHub token.
//!
//! Secrets live in [`Secret`], whose `Debug` prints `***` and which has no `Display`; what a
//! lookup reports ([`Resolved::source`]) names where credentials came from, never what they are.
//! Every problem (an unreadable config, a helper that is missing, fails or hangs) is evidence
//! in that description, never a failure of the check.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Docker Hub's key in `config.json` and the server URL its credential helpers are asked for.
pub(crate) const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The only registry the GitHub token is offered to.
const GHCR: &str = "ghcr.io";

/// `config.json` larger than this is not read (a real one is a few KiB).
const CONFIG_CAP: u64 = 1024 * 1024;

/// A helper's answer beyond this is not read.
const HELPER_OUTPUT_CAP: u64 = 64 * 1024;

/// How long a credential helper may take (a desktop keychain that asks the user, a cloud CLI).
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// A password or token. `Debug` prints `***`; there is no `Display`, so it cannot reach a
/// report, a log line or a formatted message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret, ignoring surrounding whitespace; `None` when nothing is left.
    pub fn new(secret: impl Into<String>) -> Option<Secret> {
        let secret = secret.into();
        let trimmed = secret.trim();
        (!trimmed.is_empty()).then(|| Secret(trimmed.to_owned()))
    }

    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where registry credentials are looked for. Built once (from the environment with
/// [`RegistryAuth::from_env`], or explicitly, as tests do) and asked per lookup, so a
/// `docker login` made while Deploywatch runs is seen at the next check.
#[derive(Clone)]
pub struct RegistryAuth {
    /// The directory holding `config.json`, and how to name it to people.
    docker_config: Option<(PathBuf, String)>,
    /// Where `docker-credential-*` programs are searched, `PATH`-style.
    helper_path: Option<OsString>,
    /// For `ghcr.io` when Docker has nothing for it, with where it came from.
    github_token: Option<(Secret, String)>,
    helper_timeout: Duration,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAuth")
            .field(
                "docker_config",
                &self.docker_config.as_ref().map(|(_, d)| d),
            )
            .field("helper_path", &self.helper_path)
            .field(
                "github_token",
                &self.github_token.as_ref().map(|(_, source)| source),
            )
            .field("helper_timeout", &self.helper_timeout)
            .finish()
    }
}

impl Default for RegistryAuth {
    fn default() -> Self {
        RegistryAuth::anonymous()
    }
}

/// Credentials to send to one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A username and password (or a token used as one: ghcr.io, ECR).
    Basic { username: String, password: Secret },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` username), exchanged
    /// at the registry's token service.
    IdentityToken(Secret),
}

/// What a lookup found for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub credential: Option<Credential>,
    /// For people: where the credential came from, or `anonymous` (with why, when a source
    /// could not be used). Never the secret.
    pub source: String,
}

impl RegistryAuth {
    /// Asks every registry anonymously.
    pub fn anonymous() -> RegistryAuth {
        RegistryAuth {
            docker_config: None,
            helper_path: None,
            github_token: None,
            helper_timeout: HELPER_TIMEOUT,
        }
    }

    /// Docker's places in this process's environment: `$DOCKER_CONFIG/config.json` (when set
    /// and not empty) or `~/.docker/config.json`, helpers on `$PATH`.
    pub fn from_env() -> RegistryAuth {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
        let auth = RegistryAuth::anonymous();
        let auth = match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            Some(dir) => auth.with_docker_config(PathBuf::from(dir)),
            None => match &home {
                Some(home) => {
                    let dir = Path::new(home).join(".docker");
                    RegistryAuth {
                        docker_config: Some((dir, "~/.docker".to_string())),
                        ..auth
                    }
                }
                None => auth,
            },
        };
        match std::env::var_os("PATH") {
            Some(path) => auth.with_helper_path(path),
            None => auth,
        }
    }

    /// Reads `config.json` in `dir` (what `DOCKER_CONFIG` names).
    pub fn with_docker_config(mut self, dir: impl Into<PathBuf>) -> RegistryAuth {
        let dir = dir.into();
        let display = dir.display().to_string();
        self.docker_config = Some((dir, display));
        self
    }

    /// Searches `docker-credential-*` programs in `path`, a `PATH`-style list of directories.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> RegistryAuth {
        self.helper_path = Some(path.into());
        self
    }

    /// Offers `token` to `ghcr.io` when Docker has no credentials for it; `source` says where
    /// it came from (`GITHUB_TOKEN`, `the keyring`).
    pub fn with_github_token(mut self, token: Secret, source: impl Into<String>) -> RegistryAuth {
        self.github_token = Some((token, source.into()));
        self
    }

    /// How long a credential helper may run before it is killed (default 10 s).
    pub fn with_helper_timeout(mut self, timeout: Duration) -> RegistryAuth {
        self.helper_timeout = timeout;
        self
    }

    /// The credentials for `registry` (`host[:port]` as in an image reference;
    /// `registry-1.docker.io` for Docker Hub).
    pub(crate) async fn resolve(&self, registry: &str) -> Resolved {
        let key = config_key(registry);
        let mut problems = Vec::new();
        if let Some((dir, display)) = &self.docker_config {
            let path = dir.join("config.json");
            let shown = format!("{display}/config.json");
            match read_config(&path).await {
                Ok(None) => {}
                Ok(Some(config)) => match self.in_config(&config, &key, &shown).await {
                    Ok(Some(found)) => return found,
                    Ok(None) => {}
                    Err(problem) => problems.push(problem),
                },
                Err(problem) => problems.push(format!("{shown} {problem}")),
            }
        }
        if registry == GHCR
            && let Some((token, source)) = &self.github_token
        {
            let mut source = format!("the GitHub token ({source})");
            if !problems.is_empty() {
                source = format!("{source}; {}", problems.join("; "));
            }
            return Resolved {
                credential: Some(Credential::Basic {
                    // ghcr.io takes any non-empty username with a token as the password.
                    username: "deploywatch".to_string(),
                    password: token.clone(),
                }),
                source,
            };
        }
        let source = if problems.is_empty() {
            "anonymous".to_string()
        } else {
            format!("anonymous: {}", problems.join("; "))
        };
        Resolved {
            credential: None,
            source,
        }
    }

    /// Docker's order: a `credHelpers` entry for the registry, else `credsStore` (which then
    /// holds every login: `auths` entries only remember that there was one), else `auths`.
    /// `Ok(None)`: nothing for this registry; `Err`: a source is configured and failed.
    async fn in_config(
        &self,
        config: &Value,
        key: &str,
        shown: &str,
    ) -> Result<Option<Resolved>, String> {
        let helper = lookup(config.get("credHelpers"), key)
            .and_then(Value::as_str)
            .map(|name| (name, "credHelpers"))
            .or_else(|| {
                config
                    .get("credsStore")
                    .and_then(Value::as_str)
                    .map(|name| (name, "credsStore"))
            })
            .filter(|(name, _)| !name.is_empty());
        if let Some((name, field)) = helper {
            let program = format!("docker-credential-{name}");
            return match self.run_helper(name, key).await {
                Ok(Some(credential)) => Ok(Some(Resolved {
                    credential: Some(credential),
                    source: format!("credentials from {program} ({field} in {shown})"),
                })),
                Ok(None) => Err(format!("{program} ({field} in {shown}) has none for {key}")),
                Err(why) => Err(format!("{program} ({field} in {shown}) {why}")),
            };
        }
        let Some(entry) = lookup(config.get("auths"), key) else {
            return Ok(None);
        };
        let text = |field: &str| {
            entry
                .get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let found = |credential, what: &str| {
            Ok(Some(Resolved {
                credential: Some(credential),
                source: format!("credentials from {shown} (auths, {what})"),
            }))
        };
        if let Some(token) = text("identitytoken").and_then(Secret::new) {
            return found(Credential::IdentityToken(token), "identitytoken");
        }
        if let Some(auth) = text("auth") {
            return match decode_auth(auth) {
                Some((username, password)) => {
                    found(Credential::Basic { username, password }, "auth")
                }
                None => Err(format!(
                    "{shown} has an `auth` for {key} that is not base64 of `user:password`"
                )),
            };
        }
        if let (Some(username), Some(password)) =
            (text("username"), text("password").and_then(Secret::new))
        {
            return found(
                Credential::Basic {
                    username: username.to_string(),
                    password,
                },
                "username and password",
            );
        }
        Ok(None)
    }

    /// `docker-credential-<name> get`, given the server URL on stdin, run directly (no shell)
    /// from the helper path with a deadline; killed when it passes. `Ok(None)` when the helper
    /// says it has no credentials for the server.
    async fn run_helper(&self, name: &str, server: &str) -> Result<Option<Credential>, String> {
        let program = self.find_helper(name)?;
        let mut child = tokio::process::Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not be started: {e}"))?;
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let talk = async {
            if let Some(stdin) = &mut stdin {
                // A helper that exits without reading its input is judged by its answer.
                let _ = stdin.write_all(server.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
            drop(stdin);
            let mut output = Vec::new();
            if let Some(stdout) = stdout {
                stdout
                    .take(HELPER_OUTPUT_CAP)
                    .read_to_end(&mut output)
                    .await
                    .map_err(|e| format!("could not be read: {e}"))?;
            }
            let status = child
                .wait()
                .await
                .map_err(|e| format!("could not be waited for: {e}"))?;
            Ok::<_, String>((status, output))
        };
        let (status, output) = match tokio::time::timeout(self.helper_timeout, talk).await {
            Ok(result) => result?,
            // Dropping the child kills it (`kill_on_drop`).
            Err(_) => {
                return Err(format!(
                    "did not answer within {} s and was stopped",
                    self.helper_timeout.as_secs_f32()
                ));
            }
        };
        let text = String::from_utf8_lossy(&output);
        if !status.success() {
            // Docker's helpers say `credentials not found in native keychain` and exit 1.
            if text.to_ascii_lowercase().contains("credentials not found") {
                return Ok(None);
            }
            // Anything else is shown, unless it could be an answer (and so hold a secret).
            let said = text.trim().lines().next().unwrap_or("").trim();
            let said = if said.is_empty() || said.starts_with('{') {
                String::new()
            } else {
                format!(": {}", said.chars().take(120).collect::<String>())
            };
            return Err(format!("failed ({status}){said}"));
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|_| "answered something that is not its JSON".to_string())?;
        let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or("");
        let Some(secret) = Secret::new(field("Secret")) else {
            return Ok(None);
        };
        Ok(Some(match field("Username") {
            // Docker's convention for an identity token kept by a helper.
            "<token>" => Credential::IdentityToken(secret),
            username => Credential::Basic {
                username: username.to_string(),
                password: secret,
            },
        }))
    }

    /// The helper's executable in the helper path, searched like a shell searches `PATH`
    /// (absolute directories only: a relative one would depend on the working directory).
    fn find_helper(&self, name: &str) -> Result<PathBuf, String> {
        if name.contains(['/', '\\', '\0']) {
            return Err("is not a program name".to_string());
        }
        let program = format!("docker-credential-{name}");
        let path = self.helper_path.as_deref().unwrap_or_default();
        std::env::split_paths(path)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(&program))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| "is not installed (not found on PATH)".to_string())
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// `Ok(None)` when there is no config file.
async fn read_config(path: &Path) -> Result<Option<Value>, String> {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    let mut bytes = Vec::new();
    file.take(CONFIG_CAP)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("cannot be read: {e}"))?;
    // serde_json's message names a line and column, never the text.
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("is not valid JSON ({e})"))
}

/// The key Docker uses for a registry in `config.json` and asks helpers for.
pub(crate) fn config_key(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
    )
}

/// `https://ghcr.io/v1/` → `ghcr.io`: what Docker compares `config.json` keys by.
fn hostname_of(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// The entry of `map` (a `credHelpers` or `auths` object) for `key`: the exact key first, then
/// any key naming the same host (`https://ghcr.io`, `ghcr.io/v2/`; Docker Hub by any of its
/// names).
fn lookup<'a>(map: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    let map = map?.as_object()?;
    if let Some(v) = map.get(key) {
        return Some(v);
    }
    let host = hostname_of(key);
    let same = |k: &str| {
        let h = hostname_of(k);
        h == host || (is_docker_hub(h) && is_docker_hub(host))
    };
    map.iter().find(|(k, _)| same(k)).map(|(_, v)| v)
}

/// `base64("user:password")` → the pair; `None` when it is not that.
fn decode_auth(auth: &str) -> Option<(String, Secret)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth.trim()))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_string(), Secret::new(password)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let secret = Secret::new(" hunter2\n").unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(Secret::new("  "), None);
        let auth = RegistryAuth::anonymous().with_github_token(secret, "GITHUB_TOKEN");
        let debug = format!("{auth:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("GITHUB_TOKEN"), "{debug}");
        let credential = Credential::Basic {
            username: "u".into(),
            password: Secret::new("hunter2").unwrap(),
        };
        assert!(!format!("{credential:?}").contains("hunter2"));
    }

    #[test]
    fn keys_and_hosts_match_like_docker() {
        assert_eq!(config_key("registry-1.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(config_key("ghcr.io"), "ghcr.io");
        assert_eq!(config_key("127.0.0.1:5000"), "127.0.0.1:5000");
        let map = serde_json::json!({
            "https://index.docker.io/v1/": "hub",
            "https://ghcr.io/v1/": "ghcr",
            "localhost:5000": "local",
        });
        let got = |key: &str| lookup(Some(&map), key).and_then(Value::as_str);
        assert_eq!(got(DOCKER_HUB_KEY), Some("hub"));
        assert_eq!(got("ghcr.io"), Some("ghcr"));
        assert_eq!(got("localhost:5000"), Some("local"));
        assert_eq!(got("localhost:5001"), None);
        let hub_by_name = serde_json::json!({"docker.io": "hub"});
        assert_eq!(
            lookup(Some(&hub_by_name), DOCKER_HUB_KEY).and_then(Value::as_str),
            Some("hub")
        );
    }

    #[test]
    fn auth_fields_decode() {
        let (user, password) = decode_auth("dXNlcjpwYTpzcw==").unwrap();
        assert_eq!((user.as_str(), password.expose()), ("user", "pa:ss"));
        assert!(decode_auth("dXNlcjpwYTpzcw").is_some(), "without padding");
        assert_eq!(decode_auth("not base64!"), None);
        assert_eq!(decode_auth("bm9jb2xvbg=="), None, "no colon");
    }

    #[tokio::test]
    async fn the_github_token_goes_to_ghcr_only_when_docker_has_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let token = Secret::new("ghp_t0k3n").unwrap();
        let auth = RegistryAuth::anonymous()
            .with_docker_config(dir.path())
            .with_github_token(token.clone(), "GITHUB_TOKEN");
        let resolved = auth.resolve("ghcr.io").await;
        assert_eq!(resolved.source, "the GitHub token (GITHUB_TOKEN)");
        assert_eq!(
            resolved.credential,
            Some(Credential::Basic {
                username: "deploywatch".into(),
                password: token
            })
        );
        let elsewhere = auth.resolve("registry.example.com").await;
        assert_eq!(
            (elsewhere.credential, elsewhere.source.as_str()),
            (None, "anonymous")
        );

        let login = base64::engine::general_purpose::STANDARD.encode("me:docker-pw");
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths": {{"ghcr.io": {{"auth": "{login}"}}}}}}"#),
        )
        .unwrap();
        let resolved = auth.resolve("ghcr.io").await;
        assert_eq!(
            resolved.source,
            format!(
                "credentials from {}/config.json (auths, auth)",
                dir.path().display()
            )
        );
        assert!(
            matches!(resolved.credential, Some(Credential::Basic { username, .. }) if username == "me")
        );
    }

    #[tokio::test]
    async fn broken_sources_are_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let shown = dir.path().display().to_string();
        let auth = RegistryAuth::anonymous()
            .with_docker_config(dir.path())
            .with_helper_path(dir.path().as_os_str());
        let resolve = async |config: &str| {
            std::fs::write(dir.path().join("config.json"), config).unwrap();
            auth.resolve("registry.example.com").await.source
        };
        assert_eq!(
            resolve("{not json").await,
            format!(
                "anonymous: {shown}/config.json is not valid JSON (key must be a string at line 1 column 2)"
            )
        );
        assert_eq!(
            resolve(r#"{"credsStore": "nowhere"}"#).await,
            format!(
                "anonymous: docker-credential-nowhere (credsStore in {shown}/config.json) is not installed (not found on PATH)"
            )
        );
        assert_eq!(
            resolve(r#"{"credsStore": "../evil"}"#).await,
            format!(
                "anonymous: docker-credential-../evil (credsStore in {shown}/config.json) is not a program name"
            )
        );
        assert_eq!(
            resolve(r#"{"auths": {"registry.example.com": {"auth": "???"}}}"#).await,
            format!(
                "anonymous: {shown}/config.json has an `auth` for registry.example.com that is not base64 of `user:password`"
            )
        );
        assert_eq!(
            resolve(r#"{"auths": {"registry.example.com": {}}}"#).await,
            "anonymous"
        );
    }
}

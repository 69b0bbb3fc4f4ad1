//! Real third-party software between Deploywatch and the app: nginx and Varnish, and the CNCF
//! distribution registry (`docker-registry`) Deploywatch asks for images, installed from Debian
//! packages (`scripts/lib.sh` `ensure_infra_packages`), started as child processes on loopback
//! with temporary configs, and stopped when the handle is dropped.
//!
//! Readiness is polled (a TCP connect, then one answered HTTP request), never slept for.

use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to come up before the test fails with its log.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// True when this process runs as root (nginx then needs `user root;` so its workers can use
/// the temporary directory; Varnish needs `-j none`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether the IPv6 loopback address can be bound here.
pub fn has_ipv6_loopback() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// A TCP port free on 127.0.0.1 and, when the machine has IPv6 loopback, on ::1 as well (so a
/// server can listen on both with the same port). Freed again before it is returned: the
/// server that binds it next may in theory lose a race, and then fails loudly with its log.
pub fn free_port() -> u16 {
    let v6 = has_ipv6_loopback();
    for _ in 0..50 {
        let v4 = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = v4.local_addr().expect("local addr").port();
        if !v6 || TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1 after 50 tries");
}

/// Sends SIGTERM (the graceful stop of nginx and varnishd), waits a little, then SIGKILL.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One plain HTTP/1.1 GET on loopback: `(status, headers, body)`. For the tests' own requests
/// (warming a cache, waiting for readiness); Deploywatch makes its own.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String, String)> {
    request(port, "GET", path, &[], b"")
}

/// Waits until `port` answers an HTTP request (any status), or panics with `log()`.
fn wait_ready(what: &str, child: &mut Child, port: u16, log: impl Fn() -> String) {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited during start-up ({status}):\n{}", log());
        }
        if get(port, "/__e2e_ready").is_ok_and(|(code, _, _)| code > 0) {
            return;
        }
        if started.elapsed() > START_TIMEOUT {
            stop(child);
            panic!(
                "{what} did not answer on port {port} within {START_TIMEOUT:?}:\n{}",
                log()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// An nginx master process (`daemon off; master_process on; worker_processes 1`) with a
/// configuration of the test's own, everything in a temporary directory.
pub struct Nginx {
    dir: tempfile::TempDir,
    child: Child,
    ports: Vec<u16>,
    conf: String,
}

fn spawn_nginx(tmp: &Path, conf_path: &Path) -> Child {
    Command::new(nginx_binary())
        .arg("-p")
        .arg(tmp)
        .arg("-c")
        .arg(conf_path)
        // nginx reports start-up problems on stderr before error_log is open.
        .arg("-e")
        .arg(tmp.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nginx ({e}): install nginx-light"))
}

impl Nginx {
    /// Starts nginx with `server_blocks` inside its `http { }` block (after
    /// `include /etc/nginx/mime.types;`). Placeholders: `{port0}` … `{port9}` become free
    /// loopback ports (free on 127.0.0.1 and ::1), `{root}` a directory for the test's files
    /// (see [`Nginx::write`]), `{tmp}` the temporary directory itself (for cache paths).
    /// Returns once every port answers; panics with `error.log` when nginx does not start.
    pub fn start(server_blocks: &str) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = dir.path().to_path_buf();
        let root = tmp.join("www");
        std::fs::create_dir_all(&root).expect("mkdir www");
        let mut blocks = server_blocks.to_string();
        let mut ports = Vec::new();
        for i in 0..10 {
            let key = format!("{{port{i}}}");
            if !blocks.contains(&key) {
                break;
            }
            let port = free_port();
            blocks = blocks.replace(&key, &port.to_string());
            ports.push(port);
        }
        assert!(!ports.is_empty(), "server blocks listen on no {{portN}}");
        let blocks = blocks
            .replace("{root}", &root.display().to_string())
            .replace("{tmp}", &tmp.display().to_string());
        let t = tmp.display();
        let user = if is_root() { "user root;\n" } else { "" };
        let conf = format!(
            "daemon off;
master_process on;
worker_processes 1;
{user}error_log {t}/error.log info;
pid {t}/nginx.pid;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {t}/access.log;
    client_body_temp_path {t}/client_body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
{blocks}
}}
"
        );
        let conf_path = tmp.join("nginx.conf");
        std::fs::write(&conf_path, &conf).expect("write nginx.conf");
        let child = spawn_nginx(&tmp, &conf_path);
        let mut nginx = Nginx {
            dir,
            child,
            ports,
            conf,
        };
        nginx.wait_ready();
        nginx
    }

    fn wait_ready(&mut self) {
        let tmp = self.dir.path();
        let conf = &self.conf;
        let log = || {
            format!(
                "--- nginx.conf\n{conf}\n--- error.log\n{}",
                std::fs::read_to_string(tmp.join("error.log")).unwrap_or_default()
            )
        };
        for &port in &self.ports {
            wait_ready("nginx", &mut self.child, port, log);
        }
    }

    /// Stops nginx: its ports refuse connections, as when the network is gone.
    pub fn stop(&mut self) {
        stop(&mut self.child);
    }

    /// Starts nginx again with the same configuration and ports.
    pub fn restart(&mut self) {
        stop(&mut self.child);
        let tmp = self.dir.path().to_path_buf();
        self.child = spawn_nginx(&tmp, &tmp.join("nginx.conf"));
        self.wait_ready();
    }

    /// The `i`-th port of the configuration (`{port<i>}`).
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// `http://127.0.0.1:<port i><path>`.
    pub fn url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port(i))
    }

    /// The `{root}` directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// Writes a file under `{root}` (creating directories), e.g. a new release's build-info.
    pub fn write(&self, rel: &str, contents: &str) {
        write_file(&self.root().join(rel), contents);
    }

    /// A file of the temporary directory (`{tmp}`) as text, e.g. a log; empty if absent.
    pub fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// `varnishd` in the foreground (`-F`) with a VCL of the test's own and its working directory
/// in a temporary directory.
pub struct Varnish {
    _dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Varnish {
    /// Starts Varnish on a free loopback port with `backend default` at
    /// `127.0.0.1:<backend_port>` followed by `vcl` (empty: the built-in VCL decides, i.e.
    /// default caching). Flags: `-j none` (no jail: the tests may run as root and the
    /// `varnish` user's jail would need the work directory set up for it), `-T none` (no
    /// management port), `-s malloc,32m`, `-p` small thread pools.
    pub fn start(vcl: &str, backend_port: u16) -> Varnish {
        let dir = tempfile::tempdir().expect("tempdir");
        let vcl_path = dir.path().join("default.vcl");
        let text = format!(
            "vcl 4.1;\nbackend default {{ .host = \"127.0.0.1\"; .port = \"{backend_port}\"; }}\n{vcl}\n"
        );
        std::fs::write(&vcl_path, &text).expect("write vcl");
        let port = free_port();
        let log_path = dir.path().join("varnishd.log");
        let log_file = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(varnishd_binary())
            .arg("-F")
            .args(["-j", "none"])
            .args(["-a", &format!("127.0.0.1:{port}")])
            .arg("-f")
            .arg(&vcl_path)
            .arg("-n")
            .arg(dir.path().join("work"))
            .args(["-s", "malloc,32m", "-T", "none"])
            .args(["-p", "thread_pools=1", "-p", "thread_pool_min=10"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run varnishd ({e}): install varnish"));
        let log = || {
            format!(
                "--- default.vcl\n{text}\n--- varnishd output\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            )
        };
        wait_ready("varnishd", &mut child, port, log);
        Varnish {
            _dir: dir,
            child,
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Varnish {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// One plain HTTP/1.1 request on loopback with extra headers and a body:
/// `(status, head, body)`. For pushing images to [`Registry`], and [`get`].
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: e2e\r\n\
         Connection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_string(), body.to_string()))
}

/// The value of header `name` (case-insensitive) in a response head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `sha256:<hex>` of `bytes`, the digest the registry names blobs and manifests by.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Docker's `auth` field: base64 of `user:password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The real CNCF distribution registry (`/usr/bin/docker-registry serve`) on a free loopback
/// port: a temporary config YAML, filesystem storage in a temporary directory, and, when
/// started with a login, htpasswd Basic auth (a bcrypt file). Killed on drop.
pub struct Registry {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    /// `Authorization` header value for pushing, when behind htpasswd.
    authorization: Option<String>,
}

impl Registry {
    /// Starts a registry, behind htpasswd for `auth = Some((user, password))`, and returns
    /// once `/v2/` answers (200 anonymous, 401 behind htpasswd). A port taken between
    /// choosing and binding it is retried; a registry that never answers fails with its log.
    pub fn start(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let auth_yaml = match auth {
            Some((user, password)) => {
                // Cost 4, the minimum: the registry verifies it on every request.
                let hash = bcrypt::hash(password, 4).expect("bcrypt");
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: deploywatch-e2e\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        let binary = PathBuf::from("/usr/bin/docker-registry");
        let binary = if binary.is_file() {
            binary
        } else {
            self::binary("docker-registry")
        };
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            let config_text = format!(
                "version: 0.1\n\
                 log:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: deploywatch-e2e-secret\n\
                 {auth_yaml}",
                dir.path().join("storage").display()
            );
            std::fs::write(&config, &config_text).expect("write config.yml");
            let log_path = dir.path().join(format!("registry-{port}.log"));
            let log = std::fs::File::create(&log_path).expect("log file");
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                // No REGISTRY_* variable of this environment may override the config.
                .env_clear()
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run docker-registry ({e}): install docker-registry")
                });
            let started = Instant::now();
            let ready = loop {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break false;
                }
                if get(port, "/v2/").is_ok_and(|(code, _, _)| code == 200 || code == 401) {
                    break true;
                }
                if started.elapsed() > START_TIMEOUT {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(25));
            };
            if ready {
                return Registry {
                    dir,
                    child,
                    port,
                    authorization: auth.map(|(u, p)| format!("Basic {}", basic_auth(u, p))),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = format!(
                "--- config.yml\n{config_text}\n--- log\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        panic!("docker-registry did not start:\n{last_log}");
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn send(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(a) = &self.authorization {
            headers.push(("Authorization", a));
        }
        let (status, head, text) = request(self.port, method, path, &headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (status, format!("{head}\n\n{text}"))
    }

    /// Uploads a blob monolithically (`POST` an upload, `PUT` it with its digest); returns its
    /// digest and size.
    fn push_blob(&self, repository: &str, bytes: &[u8]) -> (String, usize) {
        let digest = sha256_digest(bytes);
        let (status, answer) = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            "application/octet-stream",
            b"",
        );
        assert_eq!(status, 202, "blob upload not started:\n{answer}");
        let location = header(&answer, "Location").expect("Location of the upload");
        // Absolute (`http://127.0.0.1:PORT/v2/…`) or a path.
        let path = match location.find("/v2/") {
            Some(i) => &location[i..],
            None => panic!("upload Location {location:?}"),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, answer) = self.send(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            "application/octet-stream",
            bytes,
        );
        assert_eq!(status, 201, "blob not stored:\n{answer}");
        (digest, bytes.len())
    }

    /// Pushes an image (a config blob, one layer, a Docker v2 schema 2 manifest) as
    /// `repository:tag`; returns the manifest's digest as the registry reports it.
    pub fn push_image(&self, repository: &str, tag: &str) -> String {
        const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
        let (config, config_size) = self.push_blob(
            repository,
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        let (layer, layer_size) = self.push_blob(repository, b"a layer, in spirit");
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{config_size},"digest":"{config}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{layer_size},"digest":"{layer}"}}]}}"#
        );
        let (status, answer) = self.send(
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            MANIFEST,
            manifest.as_bytes(),
        );
        assert_eq!(status, 201, "manifest not stored:\n{answer}");
        let digest = header(&answer, "Docker-Content-Digest")
            .expect("Docker-Content-Digest")
            .to_string();
        assert_eq!(digest, sha256_digest(manifest.as_bytes()));
        digest
    }

    /// A directory for `DOCKER_CONFIG` (inside this registry's temporary directory, never the
    /// test's data directory) whose `config.json` is `config`.
    pub fn docker_config(&self, name: &str, config: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir docker config");
        std::fs::write(dir.join("config.json"), config).expect("write config.json");
        dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_file(path: &Path, contents: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    // Write then rename, so nginx never serves a half-written file.
    let tmp = path.with_extension("e2e-tmp");
    std::fs::write(&tmp, contents).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// `nginx` from PATH, else Debian's `/usr/sbin/nginx` (sbin is not on every user's PATH).
fn nginx_binary() -> PathBuf {
    binary("nginx")
}

fn varnishd_binary() -> PathBuf {
    binary("varnishd")
}

fn binary(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d: PathBuf| d.join(name))
        .find(|p| p.is_file());
    on_path.unwrap_or_else(|| PathBuf::from(name))
}

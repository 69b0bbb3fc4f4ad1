//! Real third-party software between Deploywatch and the app: nginx and Varnish, installed
//! from Debian packages (`scripts/lib.sh` `ensure_infra_packages`), started as child
//! processes on loopback with temporary configs, and stopped when the handle is dropped.
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
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: e2e\r\nConnection: close\r\n\r\n"
    )?;
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
        let mut child = Command::new(nginx_binary())
            .arg("-p")
            .arg(&tmp)
            .arg("-c")
            .arg(&conf_path)
            // nginx reports start-up problems on stderr before error_log is open.
            .arg("-e")
            .arg(tmp.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run nginx ({e}): install nginx-light"));
        let log = || {
            format!(
                "--- nginx.conf\n{conf}\n--- error.log\n{}",
                std::fs::read_to_string(tmp.join("error.log")).unwrap_or_default()
            )
        };
        for &port in &ports {
            wait_ready("nginx", &mut child, port, log);
        }
        Nginx { dir, child, ports }
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

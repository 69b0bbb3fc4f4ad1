//! The image check against the real CNCF distribution registry (`docker-registry`, Debian's
//! package; installed by `scripts/lib.sh`), started per test as a child process on a free
//! loopback port with a temporary config and storage: anonymous, and behind htpasswd Basic
//! auth. Images are pushed over the registry API (blob uploads, then manifests): a Docker v2
//! schema 2 manifest, an OCI image manifest and an OCI index. Credentials come from temporary
//! `DOCKER_CONFIG` directories and helper directories passed as parameters: the tests never
//! touch this process's environment.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use deploywatch_core::{ImageCheck, ImageOutcome};
use deploywatch_probe::{ProbeSettings, Prober, RegistryAuth};
use sha2::{Digest as _, Sha256};

const USER: &str = "alice";
const PASSWORD: &str = "Real-Registry-pa55word";

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A running `docker-registry`; killed (by its own handle) and its files removed on drop.
struct Distribution {
    child: Child,
    /// `127.0.0.1:PORT`, the registry part of image references.
    host: String,
    dir: tempfile::TempDir,
    /// `(user, password)` when it runs behind htpasswd.
    login: Option<(String, String)>,
    http: reqwest::Client,
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("docker-registry"))
            .find(|p| p.is_file())
    });
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/bin/docker-registry"));
    assert!(
        binary.is_file(),
        "the distribution registry is not installed: `apt-get install docker-registry` \
         (scripts/lib.sh ensure_infra_packages does it)"
    );
    binary
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().unwrap().port()
}

/// `/v2/` answers 200 (anonymous) or 401 (htpasswd) once the registry listens; `false` when
/// it exited (a port taken meanwhile) or did not answer in time.
async fn wait_ready(http: &reqwest::Client, child: &mut Child, host: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    let url = format!("http://{host}/v2/");
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if let Ok(r) = http.get(&url).send().await
            && matches!(r.status().as_u16(), 200 | 401)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

impl Distribution {
    /// Starts a registry, behind htpasswd Basic auth for `login` when given, and waits until
    /// `/v2/` answers. A port taken between choosing and binding it is retried.
    async fn start(login: Option<(&str, &str)>) -> Distribution {
        let dir = tempfile::tempdir().unwrap();
        let auth = match login {
            Some((user, password)) => {
                // Cost 4, the minimum: the registry checks it once per request.
                let hash = bcrypt::hash(password, 4).unwrap();
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: deploywatch-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: warn\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n  secret: deploywatch-test-secret\n\
                     {auth}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log_path = dir.path().join(format!("registry-{port}.log"));
            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = Command::new(registry_binary())
                .arg("serve")
                .arg(&config)
                // No REGISTRY_* variable of this environment may override the config.
                .env_clear()
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let host = format!("127.0.0.1:{port}");
            if wait_ready(&http, &mut child, &host).await {
                return Distribution {
                    child,
                    host,
                    dir,
                    login: login.map(|(u, p)| (u.to_string(), p.to_string())),
                    http,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.login {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Uploads a blob (monolithic: `POST` an upload, `PUT` it with its digest).
    async fn push_blob(&self, repository: &str, bytes: &[u8]) -> (String, usize) {
        let digest = sha256(bytes);
        let start = self
            .request(
                reqwest::Method::POST,
                &format!("http://{}/v2/{repository}/blobs/uploads/", self.host),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(start.status().as_u16(), 202, "{:?}", start.text().await);
        let location = start.headers()["location"].to_str().unwrap().to_string();
        let mut url = if location.starts_with('/') {
            format!("http://{}{location}", self.host)
        } else {
            location
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let put = self
            .request(reqwest::Method::PUT, &url)
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "{:?}", put.text().await);
        (digest, bytes.len())
    }

    /// `PUT`s a manifest under `reference` (a tag); returns its digest as the registry says it.
    async fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        body: &str,
    ) -> String {
        let put = self
            .request(
                reqwest::Method::PUT,
                &format!("http://{}/v2/{repository}/manifests/{reference}", self.host),
            )
            .header("Content-Type", media_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "{:?}", put.text().await);
        let digest = put.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(digest, sha256(body.as_bytes()));
        digest
    }

    /// Pushes one image three ways: `docker` (Docker v2 schema 2), `oci` (OCI image manifest)
    /// and `index` (an OCI index of the OCI manifest). Returns the digests in that order.
    async fn push_images(&self, repository: &str) -> [String; 3] {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let (config_digest, config_size) = self.push_blob(repository, config).await;
        let (layer_digest, layer_size) = self
            .push_blob(repository, b"not really a tarball, but a blob all the same")
            .await;
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{config_size},"digest":"{config_digest}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{layer_size},"digest":"{layer_digest}"}}]}}"#
        );
        let oci = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","size":{config_size},"digest":"{config_digest}"}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":{layer_size},"digest":"{layer_digest}"}}]}}"#
        );
        let docker_digest = self
            .push_manifest(repository, "docker", DOCKER_MANIFEST, &docker)
            .await;
        let oci_digest = self
            .push_manifest(repository, "oci", OCI_MANIFEST, &oci)
            .await;
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","size":{},"digest":"{oci_digest}","platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
            oci.len()
        );
        let index_digest = self
            .push_manifest(repository, "index", OCI_INDEX, &index)
            .await;
        [docker_digest, oci_digest, index_digest]
    }

    /// A temporary `DOCKER_CONFIG` directory (under this registry's own) holding `config`.
    fn docker_config(&self, name: &str, config: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config).unwrap();
        dir
    }
}

fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn prober() -> Prober {
    Prober::new(ProbeSettings {
        timeout: Duration::from_secs(5),
        ..ProbeSettings::default()
    })
}

/// Writes an executable `docker-credential-<name>` script into `dir`.
fn helper(dir: &Path, name: &str, script: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("docker-credential-{name}"));
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(script.as_bytes()).unwrap();
    file.sync_all().unwrap();
    drop(file);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Fails when the password reaches anything a check shows or prints.
fn assert_no_secret(check: &ImageCheck, secret: &str) {
    for text in [format!("{check:?}"), check.summary()] {
        assert!(!text.contains(secret), "the secret is shown in {text}");
    }
}

#[tokio::test]
async fn real_registry_anonymous_docker_and_oci_manifests() {
    let registry = Distribution::start(None).await;
    let [docker, oci, index] = registry.push_images("acme/shop").await;
    let host = registry.host.clone();
    let prober = prober();
    let anonymous = RegistryAuth::anonymous();
    let check = async |reference: String| prober.image(&reference, &anonymous).await;

    for (tag, media_type, digest) in [
        ("docker", DOCKER_MANIFEST, &docker),
        ("oci", OCI_MANIFEST, &oci),
        ("index", OCI_INDEX, &index),
    ] {
        let got = check(format!("{host}/acme/shop:{tag}")).await;
        assert_eq!(got.outcome, ImageOutcome::Present, "{got:?}");
        assert_eq!(
            got.asked,
            format!("HEAD http://{host}/v2/acme/shop/manifests/{tag}")
        );
        assert_eq!(got.answer, format!("HTTP 200 OK, {media_type}, {digest}"));
        assert_eq!(got.auth, "anonymous");
    }
    let by_digest = check(format!("{host}/acme/shop@{oci}")).await;
    assert_eq!(by_digest.outcome, ImageOutcome::Present, "{by_digest:?}");
    let tag_and_digest = check(format!("{host}/acme/shop:whatever@{index}")).await;
    assert_eq!(
        tag_and_digest.outcome,
        ImageOutcome::Present,
        "{tag_and_digest:?}"
    );

    let absent = check(format!("{host}/acme/shop:b7c1e2f")).await;
    assert_eq!(absent.outcome, ImageOutcome::Missing, "{absent:?}");
    assert_eq!(absent.answer, "HTTP 404 Not Found");
    let unknown_digest = check(format!("{host}/acme/shop@{}", sha256(b"never pushed"))).await;
    assert_eq!(
        unknown_digest.outcome,
        ImageOutcome::Missing,
        "{unknown_digest:?}"
    );
    let unknown_repository = check(format!("{host}/acme/nothing:docker")).await;
    assert_eq!(
        unknown_repository.outcome,
        ImageOutcome::Missing,
        "{unknown_repository:?}"
    );

    // `localhost` is this machine too: plain HTTP, as Docker does.
    let port = host.rsplit(':').next().unwrap();
    let localhost = check(format!("localhost:{port}/acme/shop:oci")).await;
    assert!(
        localhost.asked.starts_with("HEAD http://localhost:"),
        "{localhost:?}"
    );
}

#[tokio::test]
async fn real_registry_behind_htpasswd() {
    let registry = Distribution::start(Some((USER, PASSWORD))).await;
    let [_, oci, _] = registry.push_images("team/app").await;
    let host = registry.host.clone();
    let reference = format!("{host}/team/app:docker");
    let prober = prober();
    let shown = |path: &Path| format!("{}/config.json", path.display());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));

    // No credentials anywhere.
    let empty = registry.docker_config("empty", "{}");
    let check = prober
        .image(
            &reference,
            &RegistryAuth::anonymous().with_docker_config(&empty),
        )
        .await;
    assert_eq!(
        check.outcome,
        ImageOutcome::Unauthorized {
            detail: format!(
                "could not check: credentials needed for {host} — add them with `docker login {host}`"
            )
        }
    );
    assert_eq!(
        check.answer,
        r#"HTTP 401 Unauthorized (WWW-Authenticate: Basic realm="deploywatch-test")"#
    );
    assert_eq!(check.auth, "anonymous");

    // `auths` with `auth`, as `docker login` writes it without a credential store.
    let logged_in = registry.docker_config(
        "auths",
        &format!(r#"{{"auths": {{"{host}": {{"auth": "{basic}"}}}}}}"#),
    );
    let auth = RegistryAuth::anonymous().with_docker_config(&logged_in);
    let check = prober.image(&reference, &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");
    assert_eq!(
        check.auth,
        format!("credentials from {} (auths, auth)", shown(&logged_in))
    );
    assert_no_secret(&check, PASSWORD);
    let check = prober
        .image(&format!("{host}/team/app:absent"), &auth)
        .await;
    assert_eq!(check.outcome, ImageOutcome::Missing, "{check:?}");
    let check = prober.image(&format!("{host}/team/app@{oci}"), &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");

    // `username` and `password` fields.
    let fields = registry.docker_config(
        "fields",
        &format!(
            r#"{{"auths": {{"http://{host}": {{"username": "{USER}", "password": "{PASSWORD}"}}}}}}"#
        ),
    );
    let check = prober
        .image(
            &reference,
            &RegistryAuth::anonymous().with_docker_config(&fields),
        )
        .await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");

    // A wrong password is refused, and named as such.
    let wrong = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:not-it"));
    let refused = registry.docker_config(
        "wrong",
        &format!(r#"{{"auths": {{"{host}": {{"auth": "{wrong}"}}}}}}"#),
    );
    let check = prober
        .image(
            &reference,
            &RegistryAuth::anonymous().with_docker_config(&refused),
        )
        .await;
    let ImageOutcome::Unauthorized { detail } = &check.outcome else {
        panic!("{check:?}");
    };
    assert_eq!(
        detail,
        &format!(
            "credentials for {host} were refused (credentials from {} (auths, auth)): HTTP 401 for team/app:docker",
            shown(&refused)
        )
    );
    assert_no_secret(&check, "not-it");
}

#[tokio::test]
async fn real_registry_with_credential_helpers() {
    let registry = Distribution::start(Some((USER, PASSWORD))).await;
    registry.push_images("team/app").await;
    let host = registry.host.clone();
    let reference = format!("{host}/team/app:oci");
    let prober = prober();
    let bin = registry.dir.path().join("bin");
    let asked = registry.dir.path().join("asked");
    // The helper protocol: `get`, the server on stdin, JSON on stdout; "not found" otherwise.
    helper(
        &bin,
        "dwtest",
        &format!(
            "#!/bin/sh\n\
             [ \"$1\" = get ] || exit 2\n\
             read -r server\n\
             printf '%s' \"$server\" > '{asked}'\n\
             if [ \"$server\" = '{host}' ]; then\n\
               printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n\
             else\n\
               echo 'credentials not found in native keychain'; exit 1\n\
             fi\n",
            asked = asked.display()
        ),
    );
    helper(&bin, "slow", "#!/bin/sh\nexec sleep 30\n");
    helper(
        &bin,
        "broken",
        "#!/bin/sh\necho 'error getting credentials - err: exit status 1, out: `locked`'\nexit 3\n",
    );
    let with = |name: &str, config: String| {
        let dir = registry.docker_config(name, &config);
        (
            RegistryAuth::anonymous()
                .with_docker_config(&dir)
                .with_helper_path(bin.as_os_str())
                .with_helper_timeout(Duration::from_millis(500)),
            format!("{}/config.json", dir.display()),
        )
    };

    // `credHelpers` for this registry.
    let (auth, shown) = with(
        "helpers",
        format!(r#"{{"credHelpers": {{"{host}": "dwtest"}}, "auths": {{"{host}": {{}}}}}}"#),
    );
    let check = prober.image(&reference, &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");
    assert_eq!(
        check.auth,
        format!("credentials from docker-credential-dwtest (credHelpers in {shown})")
    );
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), host);
    assert_no_secret(&check, PASSWORD);
    assert!(!format!("{auth:?}").contains(PASSWORD));

    // `credsStore`, the helper for every registry.
    let (auth, shown) = with("store", r#"{"credsStore": "dwtest"}"#.to_string());
    let check = prober.image(&reference, &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");
    assert_eq!(
        check.auth,
        format!("credentials from docker-credential-dwtest (credsStore in {shown})")
    );

    // A helper's `<token>` username marks an identity token, which cannot answer Basic.
    helper(
        &bin,
        "idtoken",
        &format!("#!/bin/sh\nprintf '{{\"Username\":\"<token>\",\"Secret\":\"{PASSWORD}\"}}'\n"),
    );
    let (auth, shown) = with("idtoken", r#"{"credsStore": "idtoken"}"#.to_string());
    let check = prober.image(&reference, &auth).await;
    assert_eq!(
        check.outcome,
        ImageOutcome::Unauthorized {
            detail: format!(
                "could not check: the registry {host} wants a username and password (Basic), \
                 but the credentials from docker-credential-idtoken (credsStore in {shown}) are \
                 an identity token — log in with `docker login {host}` and a password"
            )
        }
    );
    assert_no_secret(&check, PASSWORD);

    // Helpers that cannot help are evidence; the check goes on anonymously.
    let needed = format!(
        "could not check: credentials needed for {host} — add them with `docker login {host}`"
    );
    for (name, why) in [
        ("slow", "did not answer within 0.5 s and was stopped".to_string()),
        (
            "broken",
            "failed (exit status: 3): error getting credentials - err: exit status 1, out: `locked`"
                .to_string(),
        ),
        ("absent", "is not installed (not found on PATH)".to_string()),
    ] {
        let (auth, shown) = with(name, format!(r#"{{"credsStore": "{name}"}}"#));
        let started = Instant::now();
        let check = prober.image(&reference, &auth).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{name} took {:?}", started.elapsed());
        assert_eq!(
            check.outcome,
            ImageOutcome::Unauthorized {
                detail: needed.clone()
            },
            "{name}"
        );
        assert_eq!(
            check.auth,
            format!("anonymous: docker-credential-{name} (credsStore in {shown}) {why}")
        );
    }
    // A helper with nothing for the registry.
    let (auth, _) = with(
        "other",
        r#"{"credHelpers": {"elsewhere.example": "dwtest"}, "credsStore": "dwtest"}"#.to_string(),
    );
    let port = host.rsplit(':').next().unwrap();
    let check = prober
        .image(&format!("localhost:{port}/team/app:oci"), &auth)
        .await;
    assert!(
        check
            .auth
            .starts_with("anonymous: docker-credential-dwtest (credsStore in ")
            && check
                .auth
                .ends_with(&format!(") has none for localhost:{port}")),
        "{}",
        check.auth
    );
    assert_eq!(
        std::fs::read_to_string(&asked).unwrap(),
        format!("localhost:{port}")
    );
}

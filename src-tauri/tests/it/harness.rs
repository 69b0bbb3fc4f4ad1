//! A scratch config and database, the fakes a scenario needs, and the app on the mock runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deploywatch_app::Remote;
use deploywatch_fakehub::FakeHub;
use deploywatch_fleet::SimEnv;
use deploywatch_ipc::proto::Request;
use deploywatch_resident::{AppState, Paths, Resident, Windows};
use serde_json::Value;
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow};

/// A SHA that looks real and is unique per name.
pub fn sha(name: &str) -> String {
    deploywatch_fleet::fake_sha(name)
}

/// GitHub with `acme/shop` whose `main` moved from OLD to NEW (CI passed for NEW), and a
/// production environment still serving OLD: a phantom deploy.
pub struct Scenario {
    pub hub: FakeHub,
    pub env: SimEnv,
    pub old: String,
    pub new: String,
}

impl Scenario {
    pub fn start() -> Scenario {
        tauri::async_runtime::block_on(async {
            let hub = FakeHub::start().await.expect("fake GitHub");
            let env = SimEnv::start("production")
                .await
                .expect("simulated environment");
            let (old, new) = (sha("old"), sha("new"));
            hub.push("acme/shop", "main", &old, "alice", "Add checkout");
            hub.push("acme/shop", "main", &new, "bob", "Fix rounding in totals");
            hub.add_run("acme/shop", &new, "CI", "completed", Some("success"));
            env.set_live(&old);
            Scenario { hub, env, old, new }
        })
    }

    /// The config text; `extra` lands in the environment's table.
    pub fn config(&self, extra: &str) -> String {
        format!(
            r#"[github]
api_url = "{api}"

[defaults]
grace = "0s"
ci_timeout = "10m"
fast_interval = "200ms"
idle_interval = "1s"
timeout = "2s"
confirm = 2

[notifications]
desktop = false

[[project]]
name = "shop"
repo = "acme/shop"
branch = "main"

[[project.environment]]
name = "production"
build_info_url = "{url}"
{extra}
"#,
            api = self.hub.api_url(),
            url = self.env.build_info_url()
        )
    }
}

/// The window on the mock runtime, connected over a real socket to a resident process running
/// in this test process (its state, watcher and server; no tray), over a temporary directory,
/// with one webview to call it from.
pub struct TestApp {
    /// Kept so the directory lives as long as the app.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The resident side the window talks to.
    pub resident: Arc<Resident>,
    pub app: App<MockRuntime>,
    pub webview: WebviewWindow<MockRuntime>,
}

impl TestApp {
    /// Starts the app; `config` is written first unless `None` (the first run).
    pub fn start(config: Option<&str>) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths {
            config: dir.path().join("config.toml"),
            db: dir.path().join("deploywatch.db"),
            demo_dir: dir.path().join("demo"),
        };
        if let Some(text) = config {
            std::fs::write(&paths.config, text).expect("write config");
        }
        let config = paths.config.clone();
        let socket = dir.path().join("resident.sock");
        let resident = Resident::new(Arc::new(AppState::new(paths)), Windows::new(None));
        let (client, events) = tauri::async_runtime::block_on(async {
            let listener = deploywatch_link::bind(&socket).expect("bind the resident's socket");
            deploywatch_resident::serve::start(&resident, |_| async {}).await;
            tauri::async_runtime::spawn(deploywatch_link::serve(listener, resident.clone()));
            let (client, events) = deploywatch_link::connect(&socket)
                .await
                .expect("connect to the resident process");
            // Attached as the window: it gets the events the real window gets.
            client
                .call(Request::AttachWindow)
                .await
                .expect("attach the window");
            (client, events)
        });
        let app = deploywatch_app::builder(mock_builder(), Remote(Arc::new(client)))
            .build(mock_context(noop_assets()))
            .expect("app builds");
        deploywatch_app::forward_events(app.handle(), events);
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("webview");
        TestApp {
            _dir: dir,
            config,
            resident,
            app,
            webview,
        }
    }

    /// Calls a command as the UI does: by name, with named JSON arguments.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        tauri::test::get_ipc_response(&self.webview, request)
            .map(|b| b.deserialize::<Value>().expect("JSON answer"))
    }

    /// Calls `dashboard` until `done` holds or `limit` passes; returns the last answer.
    pub fn dashboard_until(&self, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let d = self
                .invoke("dashboard", serde_json::json!({}))
                .expect("dashboard");
            if done(&d) || start.elapsed() > limit {
                return d;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

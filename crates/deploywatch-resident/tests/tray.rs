//! The resident tray on a real, private D-Bus session bus, seen as a panel sees it: the test is
//! the tray host (it owns `org.kde.StatusNotifierWatcher`), reads the item's properties, reads
//! the menu over `com.canonical.dbusmenu` and clicks its entries.
//!
//! The tray connects to the bus named by `DBUS_SESSION_BUS_ADDRESS`. Changing this process's
//! environment would race with other tests (and needs `unsafe`, which the workspace forbids),
//! so each scenario starts its own `dbus-daemon` and runs this same test binary again as a
//! child with the variable set. The binary has its own `main` (`harness = false`): run plainly
//! it is the parent and runs both scenarios; run with `DEPLOYWATCH_TEST_TRAY_CHILD` it is the
//! child and runs the one scenario named there, on the bus named there.
//!
//! Linux only: elsewhere [`Tray::spawn`] says there is no tray yet.

#[cfg(all(target_os = "linux", feature = "tray"))]
fn main() {
    linux::main();
}

#[cfg(not(all(target_os = "linux", feature = "tray")))]
fn main() {
    println!(
        "the tray tests run on Linux with the `tray` feature only (elsewhere there is no tray yet)"
    );
}

#[cfg(all(target_os = "linux", feature = "tray"))]
mod linux {

    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use deploywatch_ipc::{Dashboard, EnvRow, Overall};
    use deploywatch_resident::tray::Tray;
    use deploywatch_resident::{TrayAction, summary};
    use futures_util::StreamExt as _;
    use tokio::sync::mpsc;
    use tokio::time::timeout;
    use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

    /// Set only in the child: the address of the private bus its parent started.
    const PRIVATE_BUS: &str = "DEPLOYWATCH_TEST_PRIVATE_BUS";

    /// Set only in the child: which scenario it runs.
    const CHILD: &str = "DEPLOYWATCH_TEST_TRAY_CHILD";

    /// The parent runs every scenario, each in a child on a bus of its own; the child runs one.
    pub fn main() {
        match std::env::var(CHILD).ok().as_deref() {
            None => {
                for (name, test) in [
                    (
                        "tray_shows_the_dashboard_and_sends_clicks_to_a_tray_host",
                        tray_shows_the_dashboard_and_sends_clicks_to_a_tray_host as fn(),
                    ),
                    (
                        "tray_started_before_the_tray_host_registers_when_it_appears",
                        tray_started_before_the_tray_host_registers_when_it_appears,
                    ),
                ] {
                    test();
                    println!("test {name} ... ok");
                }
            }
            Some(scenario) => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                match scenario {
                    "with_a_tray_host" => runtime.block_on(child_with_a_tray_host()),
                    "without_a_tray_host_at_first" => {
                        runtime.block_on(child_without_a_tray_host_at_first())
                    }
                    other => panic!("no scenario {other:?}"),
                }
            }
        }
    }

    /// What the child logs when the tray starts before any tray host.
    const NO_HOST_LINE: &str = "no tray host (StatusNotifierWatcher) is running yet";

    /// How long anything on the bus may take to happen.
    const SOON: Duration = Duration::from_secs(10);

    // ---------------------------------------------------------------------------------------------
    // The parent's half: a private bus and the child run on it.

    /// A child process killed when the test ends, whatever happens.
    struct Guard(Child);

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Starts a private session bus (no service activation: nothing installed on the machine joins
    /// uninvited); returns it and its address.
    fn session_bus(dir: &std::path::Path) -> (Guard, String) {
        let mut child = Command::new("dbus-daemon")
            .arg(concat!(
                "--config-file=",
                env!("CARGO_MANIFEST_DIR"),
                "/../../scripts/dbus-test-session.conf"
            ))
            .args(["--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt package dbus-daemon) must be installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        assert!(!line.trim().is_empty(), "dbus-daemon printed no address");
        (Guard(child), line.trim().to_string())
    }

    /// Runs the scenario `name` in a child of this binary on a fresh private bus; returns its
    /// stderr (the tray's log lines) once it has passed.
    #[track_caller]
    fn run_child(name: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_bus, address) = session_bus(dir.path());
        let out = Command::new(std::env::current_exe().expect("test binary path"))
            .env(CHILD, name)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env(PRIVATE_BUS, &address)
            .env("RUST_LOG", "info")
            .output()
            .expect("the child test runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "the child scenario {name} failed:\n{stdout}\n{stderr}"
        );
        stderr
    }

    fn tray_shows_the_dashboard_and_sends_clicks_to_a_tray_host() {
        let log = run_child("with_a_tray_host");
        assert!(
            !log.contains(NO_HOST_LINE),
            "with a tray host running, the tray said there was none:\n{log}"
        );
    }

    fn tray_started_before_the_tray_host_registers_when_it_appears() {
        let log = run_child("without_a_tray_host_at_first");
        assert_eq!(
            log.matches(NO_HOST_LINE).count(),
            1,
            "the tray should say once that no tray host runs yet; it logged:\n{log}"
        );
    }

    // ---------------------------------------------------------------------------------------------
    // The child's half.

    /// The private bus this child runs on; panics outside a child run, which would otherwise
    /// talk to the real desktop's bus.
    fn private_bus() -> String {
        let address = std::env::var(PRIVATE_BUS).unwrap_or_else(|_| {
            panic!("this test runs only as the child of the tray_* tests, on their private bus")
        });
        assert_eq!(
            std::env::var("DBUS_SESSION_BUS_ADDRESS").ok().as_deref(),
            Some(address.as_str())
        );
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        address
    }

    /// Fails the child test instead of hanging it.
    async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
        timeout(SOON, f)
            .await
            .unwrap_or_else(|_| panic!("timed out: {what}"))
    }

    /// The panel's side: `org.kde.StatusNotifierWatcher` on the bus, and what registered with it.
    struct TrayHost {
        conn: zbus::Connection,
        registered: mpsc::UnboundedReceiver<Item>,
    }

    /// A registered item: its bus name and object path.
    #[derive(Clone, Debug)]
    struct Item {
        bus: String,
        path: String,
    }

    struct Watcher {
        registered: mpsc::UnboundedSender<Item>,
        items: Arc<Mutex<Vec<String>>>,
    }

    #[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
    impl Watcher {
        async fn register_status_notifier_item(
            &self,
            service: &str,
            #[zbus(header)] header: zbus::message::Header<'_>,
        ) {
            // The spec allows a bus name or an object path (then the sender is the bus name).
            let item = if service.starts_with('/') {
                Item {
                    bus: header.sender().map(ToString::to_string).unwrap_or_default(),
                    path: service.to_string(),
                }
            } else {
                Item {
                    bus: service.to_string(),
                    path: "/StatusNotifierItem".to_string(),
                }
            };
            self.items
                .lock()
                .expect("items")
                .push(format!("{}{}", item.bus, item.path));
            let _ = self.registered.send(item);
        }

        async fn register_status_notifier_host(&self, _service: &str) {}

        #[zbus(property)]
        async fn registered_status_notifier_items(&self) -> Vec<String> {
            self.items.lock().expect("items").clone()
        }

        #[zbus(property)]
        async fn is_status_notifier_host_registered(&self) -> bool {
            true
        }

        #[zbus(property)]
        async fn protocol_version(&self) -> i32 {
            0
        }
    }

    impl TrayHost {
        async fn start() -> TrayHost {
            let (tx, registered) = mpsc::unbounded_channel();
            let watcher = Watcher {
                registered: tx,
                items: Arc::default(),
            };
            let conn = zbus::connection::Builder::session()
                .and_then(|b| b.serve_at("/StatusNotifierWatcher", watcher))
                .and_then(|b| b.name("org.kde.StatusNotifierWatcher"))
                .expect("a tray host's connection")
                .build()
                .await
                .expect("the tray host joins the private bus");
            TrayHost { conn, registered }
        }

        /// The next item that registers.
        async fn registration(&mut self) -> Item {
            within(
                "an item registering with the StatusNotifierWatcher",
                self.registered.recv(),
            )
            .await
            .expect("the watcher lives as long as the host")
        }

        async fn property(&self, item: &Item, name: &str) -> OwnedValue {
            let props = zbus::fdo::PropertiesProxy::builder(&self.conn)
                .destination(item.bus.as_str())
                .and_then(|b| b.path(item.path.as_str()))
                .expect("a properties proxy")
                // The item signals NewTitle/NewIcon, not PropertiesChanged: never read a cache.
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await
                .expect("a properties proxy");
            let interface =
                zbus::names::InterfaceName::from_static_str_unchecked("org.kde.StatusNotifierItem");
            props
                .get(interface, name)
                .await
                .unwrap_or_else(|e| panic!("the item's {name}: {e}"))
        }

        async fn text(&self, item: &Item, name: &str) -> String {
            String::try_from(self.property(item, name).await)
                .unwrap_or_else(|e| panic!("{name} is a string: {e}"))
        }

        /// `IconPixmap`: (width, height, ARGB32 bytes) of each size.
        async fn icon(&self, item: &Item) -> Vec<Pixmap> {
            Value::from(self.property(item, "IconPixmap").await)
                .try_into()
                .expect("IconPixmap is a(iiay)")
        }

        /// The `ToolTip`'s title.
        async fn tooltip(&self, item: &Item) -> String {
            let (_icon, _pixmaps, title, _text): (String, Vec<Pixmap>, String, String) =
                Value::from(self.property(item, "ToolTip").await)
                    .try_into()
                    .expect("ToolTip is (sa(iiay)ss)");
            title
        }

        async fn menu_path(&self, item: &Item) -> String {
            OwnedObjectPath::try_from(self.property(item, "Menu").await)
                .expect("Menu is an object path")
                .to_string()
        }

        /// `GetLayout` of the whole menu: its revision and the root's entries.
        async fn menu(&self, item: &Item) -> (u32, Vec<Entry>) {
            let reply = self
                .conn
                .call_method(
                    Some(item.bus.as_str()),
                    self.menu_path(item).await.as_str(),
                    Some("com.canonical.dbusmenu"),
                    "GetLayout",
                    &(0i32, -1i32, Vec::<String>::new()),
                )
                .await
                .expect("dbusmenu GetLayout");
            let (revision, (_root, _props, children)): (u32, Node) = reply
                .body()
                .deserialize()
                .expect("GetLayout is u(ia{sv}av)");
            (revision, children.into_iter().map(Entry::of).collect())
        }

        /// Clicks the entry labelled `label` as a panel does.
        async fn click(&self, item: &Item, label: &str) {
            let (_, entries) = self.menu(item).await;
            let entry = entries
                .iter()
                .find(|e| e.label == label)
                .unwrap_or_else(|| panic!("no entry {label:?} in {:?}", lines(&entries)));
            self.conn
                .call_method(
                    Some(item.bus.as_str()),
                    self.menu_path(item).await.as_str(),
                    Some("com.canonical.dbusmenu"),
                    "Event",
                    &(entry.id, "clicked", Value::I32(0), 0u32),
                )
                .await
                .unwrap_or_else(|e| panic!("clicking {label:?}: {e}"));
        }

        /// A left click on the icon.
        async fn activate(&self, item: &Item) {
            self.conn
                .call_method(
                    Some(item.bus.as_str()),
                    item.path.as_str(),
                    Some("org.kde.StatusNotifierItem"),
                    "Activate",
                    &(0i32, 0i32),
                )
                .await
                .expect("Activate");
        }

        /// Every signal the item sends from now on.
        async fn signals(&self, item: &Item) -> zbus::MessageStream {
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender(item.bus.as_str())
                .expect("a bus name")
                .build();
            zbus::MessageStream::for_match_rule(rule, &self.conn, None)
                .await
                .expect("a signal subscription")
        }
    }

    /// One size of an icon: width, height, ARGB32 bytes.
    type Pixmap = (i32, i32, Vec<u8>);

    /// A dbusmenu node: id, properties, children (each a variant holding a node).
    type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

    /// One entry of the menu as a panel shows it.
    #[derive(Clone, Debug)]
    struct Entry {
        id: i32,
        separator: bool,
        enabled: bool,
        /// With dbusmenu's mnemonics read as a panel does: `__` is `_`, a single `_` is not shown.
        label: String,
    }

    impl Entry {
        fn of(child: OwnedValue) -> Entry {
            let mut value = Value::from(child);
            if let Value::Value(inner) = value {
                value = *inner;
            }
            let (id, props, _children): Node = value.try_into().expect("a menu node is (ia{sv}av)");
            let text = |k: &str| {
                props
                    .get(k)
                    .and_then(|v| v.try_clone().ok())
                    .and_then(|v| String::try_from(v).ok())
            };
            let flag = |k: &str| props.get(k).and_then(|v| bool::try_from(v).ok());
            Entry {
                id,
                separator: text("type").as_deref() == Some("separator"),
                enabled: flag("enabled").unwrap_or(true),
                label: shown_label(&text("label").unwrap_or_default()),
            }
        }
    }

    fn shown_label(raw: &str) -> String {
        let mut out = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '_' {
                out.push(c);
            } else if chars.peek() == Some(&'_') {
                chars.next();
                out.push('_');
            }
        }
        out
    }

    /// The menu as lines to compare: `---` for a separator, `(inert)` before a disabled entry.
    fn lines(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match (e.separator, e.enabled) {
                (true, _) => "---".to_string(),
                (false, true) => e.label.clone(),
                (false, false) => format!("(inert) {}", e.label),
            })
            .collect()
    }

    fn row(project: &str, environment: &str, verdict: &str) -> EnvRow {
        EnvRow {
            project: project.into(),
            environment: environment.into(),
            repo: format!("acme/{project}"),
            commit_url_base: format!("https://github.com/acme/{project}/commit/"),
            verdict: Some(verdict.into()),
            expected_sha: None,
            live_sha: None,
            ci_status: None,
            ci_conclusion: None,
            ci_url: None,
            checked_at: Some("2030-01-01T12:00:00Z".into()),
            next_check_at: None,
            hint: None,
            incident_open: false,
            muted: false,
        }
    }

    fn dashboard(overall: Overall, environments: Vec<EnvRow>) -> Dashboard {
        Dashboard {
            overall,
            paused_until: None,
            empty: false,
            demo: false,
            environments,
            config_error: None,
            conditions: Vec::new(),
        }
    }

    fn all_live() -> Dashboard {
        dashboard(
            Overall::Live,
            vec![row("shop", "prod", "live"), row("blog", "prod", "live")],
        )
    }

    /// Two alerting environments; the underscores are the kind dbusmenu would eat as mnemonics.
    fn alerting() -> Dashboard {
        dashboard(
            Overall::Alert,
            vec![
                row("shop", "eu_west", "ci_failed"),
                row("shop", "prod", "live"),
                row("blog", "prod", "phantom"),
            ],
        )
    }

    /// Receives the next action, failing on none within a while.
    async fn action(actions: &mut mpsc::UnboundedReceiver<TrayAction>, after: &str) -> TrayAction {
        within(&format!("a TrayAction after {after}"), actions.recv())
            .await
            .expect("the tray keeps its sender")
    }

    /// Fails if the item sends any signal within a moment: nothing changed, nothing to redraw.
    async fn assert_quiet(signals: &mut zbus::MessageStream, what: &str) {
        if let Ok(Some(msg)) = timeout(Duration::from_millis(500), signals.next()).await {
            let msg = msg.expect("a signal");
            let header = msg.header();
            panic!(
                "{what}: the item sent {:?}.{:?}",
                header.interface().map(|i| i.to_string()),
                header.member().map(|m| m.to_string())
            );
        }
    }

    /// Waits for the dbusmenu `LayoutUpdated` signal; returns its revision.
    async fn layout_updated(signals: &mut zbus::MessageStream) -> u32 {
        within("LayoutUpdated", async {
            loop {
                let msg = signals
                    .next()
                    .await
                    .expect("the signal stream stays open")
                    .expect("a signal");
                let header = msg.header();
                if header
                    .member()
                    .is_some_and(|m| m.as_str() == "LayoutUpdated")
                {
                    let (revision, _parent): (u32, i32) =
                        msg.body().deserialize().expect("LayoutUpdated is (ui)");
                    return revision;
                }
            }
        })
        .await
    }

    async fn child_with_a_tray_host() {
        private_bus();
        let mut host = TrayHost::start().await;
        let (tx, mut actions) = mpsc::unbounded_channel();
        let tray = Tray::spawn(tx).await.expect("the tray starts");

        // It registers with the panel under a StatusNotifierItem name.
        let item = host.registration().await;
        assert!(
            item.bus.starts_with("org.kde.StatusNotifierItem-"),
            "{item:?}"
        );
        assert_eq!(host.text(&item, "Id").await, "deploywatch");
        assert_eq!(host.text(&item, "Category").await, "ApplicationStatus");

        // Before the first dashboard: the name, the grey icon, the menu without a summary line.
        assert_eq!(host.text(&item, "Title").await, "Deploywatch");
        let idle = host.icon(&item).await;
        let (_, entries) = host.menu(&item).await;
        assert_eq!(
            lines(&entries),
            [
                "Open Deploywatch",
                "Check now",
                "Pause for 1 h",
                "---",
                "Quit"
            ]
        );

        // All live: title and tooltip are the summary, the icon changes colour, the summary heads
        // the menu and nothing alerts.
        let live = all_live();
        tray.show(&live).await;
        assert_eq!(summary(&live), "Deploywatch: 2 live");
        assert_eq!(host.text(&item, "Title").await, "Deploywatch: 2 live");
        assert_eq!(host.tooltip(&item).await, "Deploywatch: 2 live");
        let live_icon = host.icon(&item).await;
        assert_eq!(live_icon.len(), 1);
        let (w, h, data) = &live_icon[0];
        assert!(*w > 0 && *h > 0, "{w}×{h}");
        assert_eq!(
            data.len(),
            (w * h * 4) as usize,
            "ARGB32: four bytes a pixel"
        );
        assert!(
            data.chunks(4).any(|p| p[0] != 0),
            "the icon is not all transparent"
        );
        assert_ne!(live_icon, idle, "the icon shows Live, not Idle");
        let (revision, entries) = host.menu(&item).await;
        assert_eq!(
            lines(&entries),
            [
                "(inert) Deploywatch: 2 live",
                "---",
                "Open Deploywatch",
                "Check now",
                "Pause for 1 h",
                "---",
                "Quit"
            ]
        );

        // Two alerts: a new icon, and one entry per alerting environment in the dashboard's order,
        // underscores as they are written.
        let mut signals = host.signals(&item).await;
        let alert = alerting();
        tray.show(&alert).await;
        let alert_icon = host.icon(&item).await;
        assert!(!alert_icon.is_empty() && !alert_icon[0].2.is_empty());
        assert_ne!(alert_icon, live_icon, "the icon changes from Live to Alert");
        let text = summary(&alert);
        assert_eq!(host.text(&item, "Title").await, text);
        assert_eq!(host.tooltip(&item).await, text);
        let (alert_revision, entries) = host.menu(&item).await;
        assert_eq!(
            lines(&entries),
            [
                format!("(inert) {text}").as_str(),
                "---",
                "Open Deploywatch",
                "Check now",
                "Pause for 1 h",
                "---",
                "shop / eu_west: ci_failed",
                "blog / prod: phantom",
                "---",
                "Quit"
            ]
        );
        assert!(
            alert_revision > revision,
            "a new list of alerts is a new layout"
        );
        assert_eq!(layout_updated(&mut signals).await, alert_revision);

        // The same dashboard again: nothing changes on the bus, the layout keeps its revision (an
        // open menu stays open).
        let mut signals = host.signals(&item).await;
        tray.show(&alert).await;
        tray.show(&alert.clone()).await;
        assert_quiet(&mut signals, "showing the same dashboard again").await;
        assert_eq!(host.menu(&item).await.0, alert_revision);

        // Clicks arrive as actions.
        for (label, expected) in [
            ("Check now", TrayAction::CheckNow),
            ("Open Deploywatch", TrayAction::Open),
            ("Pause for 1 h", TrayAction::Pause),
            (
                "shop / eu_west: ci_failed",
                TrayAction::OpenReport {
                    project: "shop".into(),
                    environment: "eu_west".into(),
                },
            ),
            (
                "blog / prod: phantom",
                TrayAction::OpenReport {
                    project: "blog".into(),
                    environment: "prod".into(),
                },
            ),
            ("Quit", TrayAction::Quit),
        ] {
            host.click(&item, label).await;
            assert_eq!(action(&mut actions, label).await, expected, "{label}");
        }
        // The summary line is inert, a left click on the icon opens the window.
        host.click(&item, &text).await;
        host.activate(&item).await;
        assert_eq!(
            action(&mut actions, "Activate").await,
            TrayAction::Open,
            "a click on the summary line sent something"
        );

        // Paused: Resume instead of Pause for 1 h.
        let mut paused = alert.clone();
        paused.overall = Overall::Idle;
        paused.paused_until = Some("2030-01-01T13:00:00Z".into());
        tray.show(&paused).await;
        let (_, entries) = host.menu(&item).await;
        let shown = lines(&entries);
        assert!(shown.contains(&"Resume".to_string()), "{shown:?}");
        assert!(!shown.contains(&"Pause for 1 h".to_string()), "{shown:?}");
        assert_eq!(shown[0], format!("(inert) {}", summary(&paused)));
        assert_eq!(host.icon(&item).await, idle, "paused is the grey icon");
        host.click(&item, "Resume").await;
        assert_eq!(action(&mut actions, "Resume").await, TrayAction::Resume);

        // One alert fewer: a new layout again, and the remaining entry still opens its report.
        let mut signals = host.signals(&item).await;
        let mut fewer = paused.clone();
        fewer.environments.remove(0);
        tray.show(&fewer).await;
        let (fewer_revision, entries) = host.menu(&item).await;
        assert!(fewer_revision > alert_revision);
        assert_eq!(layout_updated(&mut signals).await, fewer_revision);
        let shown = lines(&entries);
        assert!(
            !shown.iter().any(|l| l.starts_with("shop / eu_west")),
            "{shown:?}"
        );
        host.click(&item, "blog / prod: phantom").await;
        assert_eq!(
            action(&mut actions, "the remaining alert").await,
            TrayAction::OpenReport {
                project: "blog".into(),
                environment: "prod".into(),
            }
        );
        assert!(actions.try_recv().is_err(), "one click, one action");
        drop(tray);
    }

    async fn child_without_a_tray_host_at_first() {
        private_bus();
        let (tx, mut actions) = mpsc::unbounded_channel();
        // No panel yet (a login where the shell starts after the resident process).
        let tray = within("spawning without a tray host", Tray::spawn(tx))
            .await
            .expect("the tray starts without a tray host");
        let alert = alerting();
        within("show without a tray host", tray.show(&alert)).await;

        // The panel starts: the item registers with it, showing the dashboard.
        let mut host = TrayHost::start().await;
        let item = host.registration().await;
        assert_eq!(host.text(&item, "Title").await, summary(&alert));
        let (_, entries) = host.menu(&item).await;
        assert!(
            lines(&entries).contains(&"blog / prod: phantom".to_string()),
            "{:?}",
            lines(&entries)
        );
        host.click(&item, "Check now").await;
        assert_eq!(
            action(&mut actions, "Check now").await,
            TrayAction::CheckNow
        );

        // The panel restarts: the item registers with the new one.
        host.conn.clone().close().await.expect("the panel leaves");
        drop(host);
        let mut host = TrayHost::start().await;
        let item = host.registration().await;
        assert_eq!(host.text(&item, "Id").await, "deploywatch");
        host.click(&item, "Quit").await;
        assert_eq!(action(&mut actions, "Quit").await, TrayAction::Quit);
        drop(tray);
    }
}

//! The desktop around the app, for the tests of the real window: a tray host on the D-Bus
//! session bus (the `StatusNotifierWatcher` a panel runs, and clicks on the menu the app
//! exports over `com.canonical.dbusmenu`), the window manager's part of closing a window
//! (`WM_DELETE_WINDOW`, what clicking × sends), and the app's process tree read from `/proc`.
//!
//! These are the real protocols a desktop speaks to the app; only the panel and the window
//! manager are replaced by the test, because Xvfb has neither.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, ImageFormat, MapState,
};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// Where the app registered its tray item: its bus name and object path.
type Item = (String, String);

/// A tray host: owns `org.kde.StatusNotifierWatcher` on the session bus, so the app's
/// AppIndicator registers its item here instead of falling back to an XEmbed icon.
pub struct TrayHost {
    conn: zbus::blocking::Connection,
    items: Arc<Mutex<Vec<Item>>>,
}

struct Watcher {
    items: Arc<Mutex<Vec<Item>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(ToString::to_string).unwrap_or_default();
        // The spec allows a bus name or (what libappindicator sends) an object path.
        let item = if service.starts_with('/') {
            (sender, service.to_string())
        } else {
            (service.to_string(), "/StatusNotifierItem".to_string())
        };
        self.items.lock().expect("items").push(item);
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.items.lock().expect("items");
        items
            .iter()
            .map(|(name, path)| format!("{name}{path}"))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// One entry of the tray menu as the desktop sees it.
#[derive(Clone, Debug)]
pub struct MenuEntry {
    pub id: i32,
    pub label: String,
}

impl TrayHost {
    pub fn start() -> TrayHost {
        let items = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::blocking::connection::Builder::session()
            .and_then(|b| b.name("org.kde.StatusNotifierWatcher"))
            .and_then(|b| {
                b.serve_at(
                    "/StatusNotifierWatcher",
                    Watcher {
                        items: items.clone(),
                    },
                )
            })
            .and_then(zbus::blocking::connection::Builder::build)
            .expect("a tray host on the session bus (run under dbus-run-session)");
        TrayHost { conn, items }
    }

    /// The app's tray item, once it has registered.
    pub fn item(&self, within: Duration) -> Item {
        let start = Instant::now();
        loop {
            if let Some(item) = self.items.lock().expect("items").last().cloned() {
                return item;
            }
            assert!(
                start.elapsed() < within,
                "the app registered no tray item with the StatusNotifierWatcher"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn item_property(&self, name: &str) -> OwnedValue {
        let (bus, path) = self.item(Duration::from_secs(15));
        let props = zbus::blocking::fdo::PropertiesProxy::builder(&self.conn)
            .destination(bus)
            .and_then(|b| b.path(path))
            .and_then(zbus::blocking::proxy::Builder::build)
            .expect("properties proxy");
        props
            .get(
                zbus::names::InterfaceName::from_static_str_unchecked("org.kde.StatusNotifierItem"),
                name,
            )
            .unwrap_or_else(|e| panic!("tray item property {name}: {e}"))
    }

    /// The item's icon as `IconPixmap` carries it: the largest (width, height, ARGB32 bytes
    /// in network order), or `None` while it has none.
    pub fn icon_pixmap(&self) -> Option<(i32, i32, Vec<u8>)> {
        let value = self.item_property("IconPixmap");
        let pixmaps = <Vec<(i32, i32, Vec<u8>)>>::try_from(value).ok()?;
        pixmaps.into_iter().max_by_key(|(w, h, _)| w * h)
    }

    fn menu_path(&self) -> OwnedObjectPath {
        OwnedObjectPath::try_from(self.item_property("Menu")).expect("Menu is an object path")
    }

    /// The visible entries of the tray menu, top to bottom (separators left out).
    pub fn menu(&self) -> Vec<MenuEntry> {
        let (bus, _) = self.item(Duration::from_secs(15));
        let reply = self
            .conn
            .call_method(
                Some(bus.as_str()),
                self.menu_path().as_str(),
                Some("com.canonical.dbusmenu"),
                "GetLayout",
                &(0i32, -1i32, Vec::<String>::new()),
            )
            .expect("dbusmenu GetLayout");
        let body = reply.body();
        let (_revision, (_root, _props, children)): Layout =
            body.deserialize().expect("GetLayout reply (u(ia{sv}av))");
        let mut out = Vec::new();
        for child in &children {
            walk(child, &mut out);
        }
        out
    }

    /// Waits until the menu has an entry whose label starts with `label`.
    pub fn wait_entry(&self, label: &str, within: Duration) -> MenuEntry {
        let start = Instant::now();
        loop {
            let menu = self.menu();
            if let Some(e) = menu.iter().find(|e| e.label.starts_with(label)) {
                return e.clone();
            }
            assert!(
                start.elapsed() < within,
                "no tray menu entry {label:?}; the menu is {:?}",
                menu.iter().map(|e| &e.label).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks the entry whose label starts with `label`, as a panel does.
    pub fn click(&self, label: &str) {
        self.send_click(label)
            .unwrap_or_else(|e| panic!("clicking {label:?}: {e}"));
    }

    /// Clicks an entry that ends the app (Quit): the app may leave the bus before it answers
    /// the click, which is then `NoReply` — the click's effect, not a failure. The caller checks
    /// that the process ended.
    pub fn click_to_exit(&self, label: &str) {
        match self.send_click(label) {
            Ok(()) => {}
            Err(zbus::Error::MethodError(name, _, _))
                if name.as_str() == "org.freedesktop.DBus.Error.NoReply" => {}
            Err(e) => panic!("clicking {label:?}: {e}"),
        }
    }

    fn send_click(&self, label: &str) -> zbus::Result<()> {
        let entry = self.wait_entry(label, Duration::from_secs(15));
        let (bus, _) = self.item(Duration::from_secs(1));
        self.conn
            .call_method(
                Some(bus.as_str()),
                self.menu_path().as_str(),
                Some("com.canonical.dbusmenu"),
                "Event",
                &(entry.id, "clicked", Value::I32(0), 0u32),
            )
            .map(drop)
    }
}

/// `GetLayout`'s reply: the revision and the root `(id, properties, children)`.
type Layout = (u32, (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>));

/// Flattens a dbusmenu node `(ia{sv}av)` in a variant: the entries with a label, depth first.
fn walk(node: &Value<'_>, out: &mut Vec<MenuEntry>) {
    let node = match node {
        Value::Value(inner) => inner.as_ref(),
        other => other,
    };
    let Value::Structure(s) = node else {
        return;
    };
    let fields = s.fields();
    let (Some(Value::I32(id)), Some(Value::Dict(props)), Some(Value::Array(children))) =
        (fields.first(), fields.get(1), fields.get(2))
    else {
        return;
    };
    let props: HashMap<String, OwnedValue> = props
        .try_clone()
        .ok()
        .and_then(|d| HashMap::try_from(d).ok())
        .unwrap_or_default();
    let text = |k: &str| {
        props
            .get(k)
            .and_then(|v| v.try_clone().ok())
            .and_then(|v| String::try_from(v).ok())
    };
    let visible = props
        .get("visible")
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(true);
    if *id != 0
        && visible
        && text("type").as_deref() != Some("separator")
        && let Some(label) = text("label")
    {
        out.push(MenuEntry {
            id: *id,
            // GTK mnemonics: "_Quit" reads "Quit".
            label: label.replace('_', ""),
        });
    }
    for child in children.iter() {
        walk(child, out);
    }
}

/// The X server of the test (`$DISPLAY`), to find and close the app's window.
pub struct Display {
    conn: x11rb::rust_connection::RustConnection,
    root: u32,
}

impl Display {
    pub fn open() -> Display {
        let (conn, screen) = x11rb::connect(None).expect("an X display ($DISPLAY, Xvfb)");
        let root = conn.setup().roots[screen].root;
        Display { conn, root }
    }

    fn atom(&self, name: &str) -> u32 {
        self.conn
            .intern_atom(false, name.as_bytes())
            .expect("intern_atom")
            .reply()
            .expect("intern_atom reply")
            .atom
    }

    /// The mapped top-level windows of process `pid` that accept `WM_DELETE_WINDOW` (its
    /// application windows, not GTK's hidden helper windows).
    pub fn windows_of(&self, pid: u32) -> Vec<u32> {
        let (wm_pid, protocols, delete) = (
            self.atom("_NET_WM_PID"),
            self.atom("WM_PROTOCOLS"),
            self.atom("WM_DELETE_WINDOW"),
        );
        let Ok(tree) = self.conn.query_tree(self.root).map(|c| c.reply()) else {
            return Vec::new();
        };
        let Ok(tree) = tree else { return Vec::new() };
        tree.children
            .into_iter()
            .filter(|&w| {
                let viewable = self
                    .conn
                    .get_window_attributes(w)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .is_some_and(|a| a.map_state == MapState::VIEWABLE);
                let owner = self
                    .conn
                    .get_property(false, w, wm_pid, AtomEnum::CARDINAL, 0, 1)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .and_then(|p| p.value32().and_then(|mut v| v.next()));
                let closable = self
                    .conn
                    .get_property(false, w, protocols, AtomEnum::ATOM, 0, 32)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .and_then(|p| p.value32().map(|mut v| v.any(|a| a == delete)))
                    .unwrap_or(false);
                viewable && owner == Some(pid) && closable
            })
            .collect()
    }

    /// Waits until process `pid` shows exactly `n` application windows.
    pub fn wait_windows(&self, pid: u32, n: usize, within: Duration) -> Vec<u32> {
        let start = Instant::now();
        loop {
            let w = self.windows_of(pid);
            if w.len() == n {
                return w;
            }
            assert!(
                start.elapsed() < within,
                "process {pid} shows {} windows, not {n}",
                w.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What `window` shows now: its pixels as the X server has them (Xvfb keeps every
    /// window's contents in its framebuffer), or `None` if it is gone or not viewable.
    #[allow(
        dead_code,
        reason = "the footprint bench reads it (it shares this file); the GUI tests do not"
    )]
    pub fn pixels(&self, window: u32) -> Option<Vec<u8>> {
        let geometry = self.conn.get_geometry(window).ok()?.reply().ok()?;
        let image = self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                window,
                0,
                0,
                geometry.width,
                geometry.height,
                !0,
            )
            .ok()?
            .reply()
            .ok()?;
        Some(image.data)
    }

    /// Asks `window` to close the way a window manager does when × is clicked: a
    /// `WM_PROTOCOLS` client message carrying `WM_DELETE_WINDOW`.
    pub fn close(&self, window: u32) {
        let (protocols, delete) = (self.atom("WM_PROTOCOLS"), self.atom("WM_DELETE_WINDOW"));
        let event = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)
            .expect("send WM_DELETE_WINDOW");
        self.conn.flush().expect("flush");
    }
}

/// The release app under test: `DEPLOYWATCH_APP_BIN` (set by `scripts/app.sh`), else the
/// release build in `$CARGO_TARGET_DIR`.
pub fn app_binary() -> std::path::PathBuf {
    std::env::var_os("DEPLOYWATCH_APP_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
            Path::new(&target).join("release/deploywatch-app")
        })
}

/// The resident process's executable: `deploywatch-tray` beside the app under test (the window
/// starts it from there).
pub fn resident_binary() -> std::path::PathBuf {
    app_binary().with_file_name("deploywatch-tray")
}

/// A process's parent and command name, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let ppid = text[close + 2..].split(' ').nth(1)?.parse().ok()?;
    Some((ppid, comm))
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `pid` and all its descendants, with their command names.
pub fn tree(pid: u32) -> Vec<(u32, String)> {
    let procs: Vec<(u32, u32, String)> = all_pids()
        .into_iter()
        .filter_map(|p| stat(p).map(|(pp, c)| (p, pp, c)))
        .collect();
    let mut out: Vec<(u32, String)> = procs
        .iter()
        .filter(|(p, ..)| *p == pid)
        .map(|(p, _, c)| (*p, c.clone()))
        .collect();
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].0;
        out.extend(
            procs
                .iter()
                .filter(|(_, pp, _)| *pp == parent)
                .map(|(p, _, c)| (*p, c.clone())),
        );
        i += 1;
    }
    out
}

/// WebKit web-content processes below `pid`: a webview's renderer and most of a window's
/// memory (the network process may outlive the webview).
pub fn web_processes(pid: u32) -> usize {
    tree(pid)
        .iter()
        .filter(|(_, comm)| comm.starts_with("WebKitWebProces"))
        .count()
}

/// How many WebKit web and network processes run on this machine, whoever their parent
/// (WebDriver's `WebKitWebDriver` is not one of them).
pub fn webkit_processes() -> usize {
    all_pids()
        .into_iter()
        .filter_map(stat)
        .filter(|(_, comm)| comm.starts_with("WebKitWebProc") || comm.starts_with("WebKitNetwork"))
        .count()
}

/// The running process whose executable is `binary`, if any.
pub fn pid_of(binary: &Path) -> Option<u32> {
    pids_of(binary).into_iter().next()
}

/// Every running process whose executable is `binary`.
pub fn pids_of(binary: &Path) -> Vec<u32> {
    let Ok(binary) = binary.canonicalize() else {
        return Vec::new();
    };
    all_pids()
        .into_iter()
        .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|exe| exe == binary))
        .filter(|p| alive(*p))
        .collect()
}

/// Whether process `pid` has a library whose file name contains `name` mapped.
pub fn maps_library(pid: u32, name: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| {
        m.lines()
            .any(|l| l.rsplit('/').next().is_some_and(|f| f.contains(name)))
    })
}

/// Whether process `pid` still runs (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Resident memory of `pid` and each descendant: (command, RSS kB, PSS kB), from
/// `/proc/<pid>/smaps_rollup`.
pub fn memory_by_process(pid: u32) -> Vec<(String, u64, u64)> {
    memory_of(&tree(pid))
}

/// Resident memory of each of `procs` (pid, command): (command, RSS kB, PSS kB).
pub fn memory_of(procs: &[(u32, String)]) -> Vec<(String, u64, u64)> {
    let mut out = Vec::new();
    for (p, comm) in procs.iter().cloned() {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        let (mut rss, mut pss) = (0, 0);
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let kb: u64 = value.parse().unwrap_or(0);
            match key {
                "Rss:" => rss += kb,
                "Pss:" => pss += kb,
                _ => {}
            }
        }
        out.push((comm, rss, pss));
    }
    out
}

/// Resident memory of `pid` and its descendants together: (RSS, PSS) in kB.
pub fn memory_kb(pid: u32) -> (u64, u64) {
    memory_by_process(pid)
        .iter()
        .fold((0, 0), |(r, p), (_, rss, pss)| (r + rss, p + pss))
}

/// One `Notify` call as the notification service received it.
#[derive(Clone, Debug)]
pub struct Notified {
    pub id: u32,
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// Pairs of (action key, label), flattened as the protocol sends them.
    pub actions: Vec<String>,
}

/// A notification service: owns `org.freedesktop.Notifications` on the session bus, records
/// every `Notify` call, says it supports actions and body markup, and can invoke an action
/// (emit `ActionInvoked`) as a desktop does when someone clicks the notification.
pub struct NotificationServer {
    conn: zbus::blocking::Connection,
    seen: Arc<Mutex<Vec<Notified>>>,
}

struct Notifications {
    seen: Arc<Mutex<Vec<Notified>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    fn get_capabilities(&self) -> Vec<String> {
        ["actions", "body", "body-markup"]
            .map(String::from)
            .to_vec()
    }

    #[allow(clippy::too_many_arguments)] // the protocol's signature
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut seen = self.seen.lock().expect("seen");
        let id = u32::try_from(seen.len()).unwrap_or(u32::MAX - 1) + 1;
        seen.push(Notified {
            id,
            app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "deploywatch-test".into(),
            "deploywatch".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

impl NotificationServer {
    pub fn start() -> NotificationServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::blocking::connection::Builder::session()
            .and_then(|b| b.name("org.freedesktop.Notifications"))
            .and_then(|b| {
                b.serve_at(
                    "/org/freedesktop/Notifications",
                    Notifications { seen: seen.clone() },
                )
            })
            .and_then(zbus::blocking::connection::Builder::build)
            .expect("a notification service on the session bus (run under dbus-run-session)");
        NotificationServer { conn, seen }
    }

    /// Every notification so far, oldest first.
    pub fn seen(&self) -> Vec<Notified> {
        self.seen.lock().expect("seen").clone()
    }

    /// Clicks notification `id`'s action `key`.
    pub fn invoke(&self, id: u32, key: &str) {
        self.conn
            .emit_signal(
                None::<&str>,
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(id, key),
            )
            .expect("emit ActionInvoked");
    }
}

//! The resident process's tray icon, drawn by the desktop's panel from what [`Tray`] publishes.
//!
//! On Linux it is a StatusNotifierItem with a `com.canonical.dbusmenu` menu on the session bus
//! (through `ksni`, pure Rust over zbus: no GTK, no libappindicator). It shows what the window
//! app's tray shows: the icon's colour is the dashboard's [`Overall`], the title and tooltip are
//! the summary ("Deploywatch: 3 live, 1 phantom"), and the menu is the summary (inert), Open
//! Deploywatch, Check now, Pause for 1 h / Resume, the alerting environments, Quit. Clicks
//! arrive as [`TrayAction`]s on a channel; a left click on the icon is Open.
//!
//! macOS and Windows have no tray here yet: [`Tray::spawn`] says so.
//!
//! [`Overall`]: deploywatch_ipc::Overall
//! [`TrayAction`]: crate::TrayAction

#[cfg(all(target_os = "linux", feature = "tray"))]
pub use linux::Tray;
#[cfg(not(all(target_os = "linux", feature = "tray")))]
pub use other::Tray;

#[cfg(all(target_os = "linux", feature = "tray"))]
mod linux {
    use deploywatch_ipc::{Dashboard, Overall};
    use ksni::TrayMethods as _;
    use ksni::menu::{MenuItem, StandardItem};
    use tokio::sync::{Mutex, mpsc::UnboundedSender};

    use crate::{MenuContent, TrayAction, summary};

    /// The title and tooltip until the first dashboard is shown.
    const NAME: &str = "Deploywatch";

    /// The tray icon on the session bus.
    pub struct Tray {
        handle: ksni::Handle<Item>,
        /// What the item shows now, compared with each new dashboard so that only what
        /// differs is touched (a changed menu layout closes a menu open under the pointer).
        shown: Mutex<Shown>,
    }

    #[derive(Clone, PartialEq)]
    struct Shown {
        overall: Overall,
        text: String,
        content: MenuContent,
    }

    impl Tray {
        /// Registers the tray item on the session bus; menu clicks are sent to `actions`.
        ///
        /// Works on a desktop without a tray host: the item registers when one appears (and
        /// again when a panel restarts). Needs a tokio runtime; fails without a session bus
        /// (or when a running tray host refuses the item). Until [`Tray::show`] the icon is
        /// Idle's and the menu has no summary line.
        pub async fn spawn(actions: UnboundedSender<TrayAction>) -> Result<Tray, String> {
            let item = Item {
                actions,
                icons: Icons::decode(),
                overall: Overall::Idle,
                text: NAME.to_string(),
                content: MenuContent::default(),
            };
            let shown = Shown {
                overall: item.overall,
                text: item.text.clone(),
                content: item.content.clone(),
            };
            let handle = item
                // A panel started after us (login, a restarted shell) still gets the item.
                .assume_sni_available(true)
                .spawn()
                .await
                .map_err(|e| format!("cannot show the tray icon: {e}"))?;
            Ok(Tray {
                handle,
                shown: Mutex::new(shown),
            })
        }

        /// Shows a dashboard: icon for `d.overall`, tooltip/title = summary, menu =
        /// [`MenuContent::of`]; each part changed only when it differs from what is shown.
        pub async fn show(&self, d: &Dashboard) {
            let now = Shown {
                overall: d.overall,
                text: summary(d),
                content: MenuContent::of(d),
            };
            let mut shown = self.shown.lock().await;
            if *shown == now {
                return;
            }
            // ksni compares every property and the menu with what it published and signals
            // only what changed: a new label is a property update, only a new list of
            // entries bumps the layout's revision.
            let next = now.clone();
            let updated = self
                .handle
                .update(move |item| {
                    item.overall = next.overall;
                    item.text = next.text;
                    item.content = next.content;
                })
                .await;
            match updated {
                Some(()) => *shown = now,
                None => tracing::warn!("the tray icon's service has stopped; not updating it"),
            }
        }
    }

    impl Drop for Tray {
        fn drop(&mut self) {
            // Leaves the bus: the panel removes the icon.
            drop(self.handle.shutdown());
        }
    }

    /// The four icons as StatusNotifierItem pixmaps, decoded once.
    struct Icons {
        live: Vec<ksni::Icon>,
        deploying: Vec<ksni::Icon>,
        alert: Vec<ksni::Icon>,
        idle: Vec<ksni::Icon>,
    }

    impl Icons {
        fn decode() -> Icons {
            Icons {
                live: pixmap(include_bytes!("../../../icons/tray-live.png")),
                deploying: pixmap(include_bytes!("../../../icons/tray-deploying.png")),
                alert: pixmap(include_bytes!("../../../icons/tray-alert.png")),
                idle: pixmap(include_bytes!("../../../icons/tray-idle.png")),
            }
        }

        fn of(&self, overall: Overall) -> &[ksni::Icon] {
            match overall {
                Overall::Live => &self.live,
                Overall::Deploying => &self.deploying,
                Overall::Alert => &self.alert,
                Overall::Idle => &self.idle,
            }
        }
    }

    /// A PNG as one ARGB32 pixmap (network byte order); a broken PNG is no pixmap at all (the
    /// panel then draws its placeholder) rather than a panic.
    fn pixmap(png_bytes: &[u8]) -> Vec<ksni::Icon> {
        match decode(png_bytes) {
            Ok(icon) => vec![icon],
            Err(e) => {
                tracing::warn!("a tray icon is not a readable PNG ({e}); showing none");
                Vec::new()
            }
        }
    }

    fn decode(png_bytes: &[u8]) -> Result<ksni::Icon, String> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        // Palette, low bit depths and 16-bit channels all become 8-bit gray/RGB(A).
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let size = reader
            .output_buffer_size()
            .ok_or("the image is too large")?;
        let mut buf = vec![0; size];
        let frame = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
        buf.truncate(frame.buffer_size());
        let argb = |a: u8, r: u8, g: u8, b: u8| [a, r, g, b];
        let data: Vec<u8> = match frame.color_type {
            png::ColorType::Rgba => buf
                .chunks_exact(4)
                .flat_map(|p| argb(p[3], p[0], p[1], p[2]))
                .collect(),
            png::ColorType::Rgb => buf
                .chunks_exact(3)
                .flat_map(|p| argb(0xff, p[0], p[1], p[2]))
                .collect(),
            png::ColorType::GrayscaleAlpha => buf
                .chunks_exact(2)
                .flat_map(|p| argb(p[1], p[0], p[0], p[0]))
                .collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&v| argb(0xff, v, v, v)).collect(),
            png::ColorType::Indexed => return Err("a palette image was not expanded".into()),
        };
        let (width, height) = (frame.width, frame.height);
        if data.len() as u64 != u64::from(width) * u64::from(height) * 4 {
            return Err(format!("{width}×{height} pixels but {} bytes", data.len()));
        }
        Ok(ksni::Icon {
            width: i32::try_from(width).map_err(|e| e.to_string())?,
            height: i32::try_from(height).map_err(|e| e.to_string())?,
            data,
        })
    }

    /// What ksni serves: read by its D-Bus objects, changed through the handle.
    struct Item {
        actions: UnboundedSender<TrayAction>,
        icons: Icons,
        overall: Overall,
        /// Title and tooltip.
        text: String,
        content: MenuContent,
    }

    impl Item {
        fn send(&self, action: TrayAction) {
            if self.actions.send(action).is_err() {
                tracing::debug!("a tray click arrived after its receiver was dropped");
            }
        }
    }

    /// dbusmenu labels take `_` as the mnemonic marker: `ci_failed` must stay `ci_failed`.
    fn label(text: &str) -> String {
        text.replace('_', "__")
    }

    fn entry(text: &str, action: TrayAction) -> MenuItem<Item> {
        StandardItem {
            label: label(text),
            activate: Box::new(move |item: &mut Item| item.send(action.clone())),
            ..Default::default()
        }
        .into()
    }

    /// The menu of the window app's tray, entry for entry.
    fn menu(content: &MenuContent) -> Vec<MenuItem<Item>> {
        let mut menu = Vec::new();
        if !content.summary.is_empty() {
            menu.push(
                StandardItem {
                    label: label(&content.summary),
                    enabled: false,
                    ..Default::default()
                }
                .into(),
            );
            menu.push(MenuItem::Separator);
        }
        menu.push(entry("Open Deploywatch", TrayAction::Open));
        menu.push(entry("Check now", TrayAction::CheckNow));
        menu.push(if content.paused {
            entry("Resume", TrayAction::Resume)
        } else {
            entry("Pause for 1 h", TrayAction::Pause)
        });
        if !content.alerting.is_empty() {
            menu.push(MenuItem::Separator);
            for (project, environment, verdict) in &content.alerting {
                menu.push(entry(
                    &format!("{project} / {environment}: {verdict}"),
                    TrayAction::OpenReport {
                        project: project.clone(),
                        environment: environment.clone(),
                    },
                ));
            }
        }
        menu.push(MenuItem::Separator);
        menu.push(entry("Quit", TrayAction::Quit));
        menu
    }

    impl ksni::Tray for Item {
        fn id(&self) -> String {
            "deploywatch".into()
        }

        fn title(&self) -> String {
            self.text.clone()
        }

        fn category(&self) -> ksni::Category {
            ksni::Category::ApplicationStatus
        }

        fn icon_pixmap(&self) -> Vec<ksni::Icon> {
            self.icons.of(self.overall).to_vec()
        }

        fn tool_tip(&self) -> ksni::ToolTip {
            ksni::ToolTip {
                title: self.text.clone(),
                ..Default::default()
            }
        }

        /// A left click on the icon: the window, as "Open Deploywatch".
        fn activate(&mut self, _x: i32, _y: i32) {
            self.send(TrayAction::Open);
        }

        fn menu(&self) -> Vec<MenuItem<Self>> {
            menu(&self.content)
        }

        fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
            match reason {
                ksni::OfflineReason::No => tracing::info!(
                    "the tray host (StatusNotifierWatcher) went away; the tray icon comes \
                     back when it returns"
                ),
                ksni::OfflineReason::Error(ksni::Error::Dbus(e)) => {
                    tracing::warn!("the tray icon lost the session bus: {e}")
                }
                ksni::OfflineReason::Error(e) => {
                    tracing::info!(
                        "no tray host (StatusNotifierWatcher) is running yet: the tray icon \
                         appears when a panel with a system tray starts"
                    );
                    tracing::debug!("registering the tray icon: {e}");
                }
                _ => tracing::info!("no tray host is reachable; waiting for one"),
            }
            // Keep serving: the item registers when a watcher appears.
            true
        }

        fn watcher_online(&self) {
            tracing::info!("a tray host appeared; registering the tray icon with it");
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn png(color: png::ColorType, width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(color);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(pixels).unwrap();
            writer.finish().unwrap();
            out
        }

        #[test]
        fn rgba_pixels_become_argb_in_network_order() {
            let bytes = png(
                png::ColorType::Rgba,
                2,
                1,
                &[0x10, 0x20, 0x30, 0x40, 0xa0, 0xb0, 0xc0, 0xd0],
            );
            let icons = pixmap(&bytes);
            assert_eq!(icons.len(), 1);
            assert_eq!((icons[0].width, icons[0].height), (2, 1));
            assert_eq!(
                icons[0].data,
                [0x40, 0x10, 0x20, 0x30, 0xd0, 0xa0, 0xb0, 0xc0]
            );
        }

        #[test]
        fn rgb_and_gray_pixels_are_opaque() {
            let rgb = pixmap(&png(png::ColorType::Rgb, 1, 1, &[1, 2, 3]));
            assert_eq!(rgb[0].data, [0xff, 1, 2, 3]);
            let gray = pixmap(&png(png::ColorType::Grayscale, 1, 1, &[7]));
            assert_eq!(gray[0].data, [0xff, 7, 7, 7]);
            let gray_alpha = pixmap(&png(png::ColorType::GrayscaleAlpha, 1, 1, &[7, 9]));
            assert_eq!(gray_alpha[0].data, [9, 7, 7, 7]);
        }

        #[test]
        fn a_broken_png_is_no_pixmap_not_a_panic() {
            assert!(pixmap(b"not a png").is_empty());
            let good = png(png::ColorType::Rgba, 2, 2, &[0; 16]);
            assert!(pixmap(&good[..good.len() / 2]).is_empty());
            assert!(pixmap(&[]).is_empty());
        }

        #[test]
        fn the_shipped_icons_decode_and_differ() {
            let icons = Icons::decode();
            let all = [
                Overall::Live,
                Overall::Deploying,
                Overall::Alert,
                Overall::Idle,
            ];
            for overall in all {
                let icon = icons.of(overall);
                assert_eq!(icon.len(), 1, "{overall:?}");
                let i = &icon[0];
                assert!(i.width > 0 && i.height > 0, "{overall:?}");
                assert_eq!(i.data.len(), (i.width * i.height * 4) as usize);
            }
            for (n, a) in all.iter().enumerate() {
                for b in &all[n + 1..] {
                    assert_ne!(icons.of(*a)[0].data, icons.of(*b)[0].data, "{a:?} = {b:?}");
                }
            }
        }

        #[test]
        fn labels_keep_their_underscores() {
            assert_eq!(
                label("shop / eu_west: ci_failed"),
                "shop / eu__west: ci__failed"
            );
        }
    }
}

#[cfg(not(all(target_os = "linux", feature = "tray")))]
mod other {
    use deploywatch_ipc::Dashboard;
    use tokio::sync::mpsc::UnboundedSender;

    use crate::TrayAction;

    /// No tray on this platform yet (macOS and Windows get `tray-icon`), or built without the
    /// `tray` feature (the window's tests, which run the resident side in-process):
    /// [`Tray::spawn`] fails.
    pub struct Tray {
        never: std::convert::Infallible,
    }

    impl Tray {
        /// Always fails here: there is no tray on this platform yet.
        pub async fn spawn(_actions: UnboundedSender<TrayAction>) -> Result<Tray, String> {
            Err("no tray on this platform yet".into())
        }

        /// Never called: no [`Tray`] exists on this platform.
        pub async fn show(&self, _d: &Dashboard) {
            match self.never {}
        }
    }
}

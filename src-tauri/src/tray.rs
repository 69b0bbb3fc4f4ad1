//! The tray icon: its colour is the worst state, its tooltip (and, since AppIndicator on Linux has
//! no tooltips, the first line of its menu) a summary ("3 live, 1 phantom"),
//! its menu Open, Check now, Pause for 1 h / Resume, the alerting environments and Quit.

use std::sync::Mutex;

use deploywatch_ipc::{Dashboard, Overall};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use deploywatch_resident::{AppState, MenuContent, summary};
use crate::window;

pub const TRAY: &str = "deploywatch";

const REPORT: &str = "report:";

fn icon(overall: Overall) -> Image<'static> {
    let bytes: &'static [u8] = match overall {
        Overall::Live => include_bytes!("../../icons/tray-live.png"),
        Overall::Deploying => include_bytes!("../../icons/tray-deploying.png"),
        Overall::Alert => include_bytes!("../../icons/tray-alert.png"),
        Overall::Idle => include_bytes!("../../icons/tray-idle.png"),
    };
    // The PNGs are ours and checked by a test; a broken one falls back to an empty icon.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new_owned(vec![0; 4], 1, 1))
}

/// What the tray shows now (managed state): each part is replaced only when it changes (a new
/// icon is a PNG written to disk for the panel, a new menu closes an open one).
struct Shown(Mutex<(Overall, String, MenuContent)>);

fn menu<R: Runtime>(app: &AppHandle<R>, content: &MenuContent) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    if !content.summary.is_empty() {
        menu.append(&MenuItem::with_id(
            app,
            "summary",
            &content.summary,
            false,
            None::<&str>,
        )?)?;
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Deploywatch",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        "check",
        "Check now",
        true,
        None::<&str>,
    )?)?;
    let (id, label) = if content.paused {
        ("resume", "Resume")
    } else {
        ("pause", "Pause for 1 h")
    };
    menu.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?;
    if !content.alerting.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        for (project, environment, verdict) in &content.alerting {
            let id = format!(
                "{REPORT}{}",
                serde_json::to_string(&(project, environment)).unwrap_or_default()
            );
            let label = format!("{project} / {environment}: {verdict}");
            menu.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

/// Creates the tray icon (grey until the first dashboard arrives). Without a tray host (a
/// bare X server) this still succeeds; the app is then reached by launching it again.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let content = MenuContent::default();
    let built = menu(app, &content)?;
    app.manage(Shown(Mutex::new((
        Overall::Idle,
        "Deploywatch".into(),
        content,
    ))));
    TrayIconBuilder::with_id(TRAY)
        .icon(icon(Overall::Idle))
        .tooltip("Deploywatch")
        .menu(&built)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Shows a new dashboard: icon, tooltip and the alerting environments in the menu.
pub fn update<R: Runtime>(app: &AppHandle<R>, d: &Dashboard) {
    let Some(tray) = app.tray_by_id(TRAY) else {
        return;
    };
    let shown = app.state::<Shown>();
    let mut shown = shown.0.lock().unwrap_or_else(|p| p.into_inner());
    let (overall, tooltip, content) = &mut *shown;
    if *overall != d.overall && tray.set_icon(Some(icon(d.overall))).is_ok() {
        *overall = d.overall;
    }
    let text = summary(d);
    if *tooltip != text && tray.set_tooltip(Some(&text)).is_ok() {
        *tooltip = text;
    }
    let now = MenuContent::of(d);
    if *content == now {
        return;
    }
    match menu(app, &now) {
        Ok(m) => {
            if tray.set_menu(Some(m)).is_ok() {
                *content = now;
            }
        }
        Err(e) => tracing::warn!("cannot rebuild the tray menu: {e}"),
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let app = app.clone();
    match id {
        "open" => {
            window::show(&app);
        }
        "quit" => {
            let handle = app.clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<AppState>().stop().await;
                handle.exit(0);
            });
        }
        "check" | "pause" | "resume" => {
            let id = id.to_string();
            tauri::async_runtime::spawn(async move {
                let state = app.state::<AppState>();
                match id.as_str() {
                    "check" => state.check_now().await,
                    "pause" => state.pause().await,
                    _ => state.resume().await,
                }
            });
        }
        other => {
            if let Some(json) = other.strip_prefix(REPORT)
                && let Ok((project, environment)) = serde_json::from_str::<(String, String)>(json)
            {
                window::open_report(&app, project, environment);
            }
        }
    }
}

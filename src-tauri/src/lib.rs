//! Deploywatch's window: the Leptos UI in a Tauri window, as a process of its own that exists
//! only while the window is open. Everything it shows and does goes through the resident
//! process (`deploywatch-tray`: the watcher, the database, the tray, notifications, the
//! token) over the local socket of `deploywatch-link`; this process holds no state of its own
//! beyond the connection, and it exits when its window closes or when the resident process
//! quits.
//!
//! [`builder`] assembles the window's commands on any [`tauri::Builder`], so tests pass
//! `tauri::test::mock_builder()` and a client of an in-process resident; [`run`] is the real
//! window.

mod commands;
mod window;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deploywatch_ipc::event;
use deploywatch_ipc::proto::{Attach, Event, Request};
use deploywatch_link::{Client, Events};
use tauri::{Emitter, Runtime};

/// The window's connection to the resident process (managed state of the app).
#[derive(Clone)]
pub struct Remote(pub Arc<Client>);

/// The window's commands over `remote`.
pub fn builder<R: Runtime>(builder: tauri::Builder<R>, remote: Remote) -> tauri::Builder<R> {
    builder
        .manage(remote)
        .invoke_handler(tauri::generate_handler![
            commands::dashboard,
            commands::report,
            commands::report_markdown,
            commands::check_now,
            commands::pause,
            commands::resume,
            commands::history,
            commands::deploy_lags,
            commands::settings,
            commands::save_settings,
            commands::set_mute,
            commands::test_environment,
            commands::sign_in_start,
            commands::sign_in_wait,
            commands::sign_in_token,
            commands::sign_out,
            commands::start_demo,
            commands::take_open_report,
        ])
}

/// Passes the resident process's events to the page (`event::DASHBOARD`,
/// `event::OPEN_REPORT`) and the window (Show); ends the app when the resident process quits
/// or goes away.
pub fn forward_events<R: Runtime>(handle: &tauri::AppHandle<R>, mut events: Events) {
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(e) = events.next().await {
            match e {
                Event::Dashboard(d) => {
                    let _ = handle.emit(event::DASHBOARD, &d);
                }
                Event::OpenReport(r) => {
                    window::show(&handle);
                    let _ = handle.emit_to(window::MAIN, event::OPEN_REPORT, &r);
                }
                Event::Show => window::show(&handle),
                Event::Quit => break,
            }
        }
        // Quit, or the resident process is gone: a window without a watcher would show
        // stale data as if it were current.
        handle.exit(0);
    });
}

/// How long a freshly started resident process gets to listen.
const RESIDENT_START: Duration = Duration::from_secs(10);

/// Connects to the resident process, starting it first when none runs.
async fn reach_resident(socket: &Path) -> Result<(Client, Events), String> {
    if let Ok(link) = deploywatch_link::connect(socket).await {
        return Ok(link);
    }
    let program = deploywatch_link::Program::Resident
        .path()
        .ok_or("cannot tell where deploywatch-tray is")?;
    let mut child = std::process::Command::new(&program)
        .env(deploywatch_link::SOCKET_ENV, socket)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    // It outlives this window: reap it from a thread if it ever ends while we run.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    let start = Instant::now();
    loop {
        match deploywatch_link::connect(socket).await {
            Ok(link) => return Ok(link),
            Err(e) if start.elapsed() > RESIDENT_START => {
                return Err(format!(
                    "{} did not start listening on {} within {} s: {e}",
                    program.display(),
                    socket.display(),
                    RESIDENT_START.as_secs()
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Runs the window until it closes. A second window process finds the first attached and
/// brings it to the front instead; a window never runs without the resident process.
pub fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOYWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let socket = deploywatch_link::default_path();
    let linked = tauri::async_runtime::block_on(async {
        let (client, events) = reach_resident(&socket).await?;
        let attach: Attach = client
            .call_as(Request::AttachWindow)
            .await
            .map_err(|e| e.message)?;
        Ok::<_, String>((client, events, attach))
    });
    let (client, events) = match linked {
        Ok((_, _, Attach::AlreadyOpen)) => return ExitCode::SUCCESS,
        Ok((client, events, Attach::Attached)) => (client, events),
        Err(e) => {
            eprintln!("deploywatch-app: {e}");
            return ExitCode::from(1);
        }
    };
    let app = builder(tauri::Builder::default(), Remote(Arc::new(client)))
        .setup(move |app| {
            window::show(app.handle());
            forward_events(app.handle(), events);
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("deploywatch-app: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // The last window closing ends this process (and its WebKit processes with it); the
    // resident process keeps watching.
    app.run(|_app, _event| {});
    ExitCode::SUCCESS
}

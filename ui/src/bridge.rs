//! The one place that talks to the Tauri backend: typed commands over
//! `window.__TAURI_INTERNALS__.invoke`, event subscriptions through the event plugin, the
//! clipboard and the clock. Everything else in the UI is plain Rust that also runs natively.
//!
//! Outside Tauri (a browser opening `dist/index.html`, or a native test) every command fails
//! with the `backend_unavailable` code instead of throwing, so the UI can say so.

use deploywatch_ipc::{
    Dashboard, DeviceCode, EnvironmentForm, HistoryPage, HistoryQuery, IpcError, LagRow,
    OpenReport, ReportView, Settings, TestResult, command, event,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The error code used when the page runs without the Tauri backend.
pub const BACKEND_UNAVAILABLE: &str = "backend_unavailable";

/// The error every command returns when there is no backend to call.
pub fn backend_unavailable() -> IpcError {
    IpcError {
        code: BACKEND_UNAVAILABLE.into(),
        message:
            "The Deploywatch backend is not available: this page runs outside the desktop app."
                .into(),
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    //! Raw bindings; only `super` calls them, after checking the backend is present.
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], catch)]
        pub async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

        #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = transformCallback)]
        pub fn transform_callback(callback: &js_sys::Function, once: bool) -> u32;
    }
}

/// True when the page runs inside the Tauri webview.
pub fn backend_available() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"__TAURI_INTERNALS__".into()).ok())
            .is_some_and(|v| v.is_object())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        false
    }
}

/// Turns whatever the backend rejected with into an [`IpcError`]: the app's commands reject
/// with `{code, message}`; Tauri itself rejects with a plain string (unknown command, denied
/// by a capability).
#[cfg(target_arch = "wasm32")]
fn to_ipc_error(value: wasm_bindgen::JsValue) -> IpcError {
    if let Ok(err) = serde_wasm_bindgen::from_value::<IpcError>(value.clone()) {
        return err;
    }
    let message = value
        .as_string()
        .or_else(|| {
            value
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "the backend rejected the request".into());
    IpcError {
        code: "ipc".into(),
        message,
    }
}

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsCast;

/// Calls one backend command with named arguments and decodes its answer.
///
/// # Errors
/// `backend_unavailable` outside Tauri, the backend's own `{code, message}`, or `decode` when
/// the answer does not have the expected shape.
async fn call<A: Serialize, R: DeserializeOwned>(cmd: &str, args: &A) -> Result<R, IpcError> {
    #[cfg(target_arch = "wasm32")]
    {
        if !backend_available() {
            return Err(backend_unavailable());
        }
        // Maps become plain JS objects, which is what Tauri expects for named arguments.
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let args = args.serialize(&serializer).map_err(|e| IpcError {
            code: "encode".into(),
            message: e.to_string(),
        })?;
        let value = js::invoke(cmd, args).await.map_err(to_ipc_error)?;
        serde_wasm_bindgen::from_value(value).map_err(|e| IpcError {
            code: "decode".into(),
            message: format!("unexpected answer from `{cmd}`: {e}"),
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (cmd, args);
        Err(backend_unavailable())
    }
}

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct EnvArgs<'a> {
    project: &'a str,
    environment: &'a str,
}

/// The report the tray or a notification asked for while this window was being created
/// (taken once: a second call returns `None`).
///
/// # Errors
/// [`backend_unavailable`] outside the app.
pub async fn take_open_report() -> Result<Option<OpenReport>, IpcError> {
    call(command::TAKE_OPEN_REPORT, &NoArgs {}).await
}

/// The dashboard: every environment and the overall state.
pub async fn dashboard() -> Result<Dashboard, IpcError> {
    call(command::DASHBOARD, &NoArgs {}).await
}

/// The latest verification report of one environment.
pub async fn report(project: &str, environment: &str) -> Result<ReportView, IpcError> {
    call(
        command::REPORT,
        &EnvArgs {
            project,
            environment,
        },
    )
    .await
}

/// The same report as Markdown, for the clipboard.
pub async fn report_markdown(project: &str, environment: &str) -> Result<String, IpcError> {
    call(
        command::REPORT_MARKDOWN,
        &EnvArgs {
            project,
            environment,
        },
    )
    .await
}

/// Checks every environment now.
pub async fn check_now() -> Result<(), IpcError> {
    call(command::CHECK_NOW, &NoArgs {}).await
}

/// Pauses checks for an hour.
pub async fn pause() -> Result<(), IpcError> {
    call(command::PAUSE, &NoArgs {}).await
}

/// Resumes checks.
pub async fn resume() -> Result<(), IpcError> {
    call(command::RESUME, &NoArgs {}).await
}

/// One page of history.
pub async fn history(query: &HistoryQuery) -> Result<HistoryPage, IpcError> {
    #[derive(Serialize)]
    struct Args<'a> {
        query: &'a HistoryQuery,
    }
    call(command::HISTORY, &Args { query }).await
}

/// Push → live timings of a project's deploys (optionally one environment).
pub async fn deploy_lags(
    project: &str,
    environment: Option<&str>,
) -> Result<Vec<LagRow>, IpcError> {
    #[derive(Serialize)]
    struct Args<'a> {
        project: &'a str,
        environment: Option<&'a str>,
    }
    call(
        command::DEPLOY_LAGS,
        &Args {
            project,
            environment,
        },
    )
    .await
}

/// The settings form as stored.
pub async fn settings() -> Result<Settings, IpcError> {
    call(command::SETTINGS, &NoArgs {}).await
}

/// Validates and writes the settings; the backend keeps the old file on error.
pub async fn save_settings(settings: &Settings) -> Result<Settings, IpcError> {
    #[derive(Serialize)]
    struct Args<'a> {
        settings: &'a Settings,
    }
    call(command::SAVE_SETTINGS, &Args { settings }).await
}

/// Probes an environment's URLs and says what was detected.
pub async fn test_environment(environment: &EnvironmentForm) -> Result<TestResult, IpcError> {
    #[derive(Serialize)]
    struct Args<'a> {
        environment: &'a EnvironmentForm,
    }
    call(command::TEST_ENVIRONMENT, &Args { environment }).await
}

/// Starts a GitHub device-flow sign-in.
pub async fn sign_in_start() -> Result<DeviceCode, IpcError> {
    call(command::SIGN_IN_START, &NoArgs {}).await
}

/// Waits until the device-flow sign-in completes or fails.
pub async fn sign_in_wait() -> Result<Settings, IpcError> {
    call(command::SIGN_IN_WAIT, &NoArgs {}).await
}

/// Stores a pasted token in the OS keyring (the token never comes back).
pub async fn sign_in_token(token: &str) -> Result<Settings, IpcError> {
    #[derive(Serialize)]
    struct Args<'a> {
        token: &'a str,
    }
    call(command::SIGN_IN_TOKEN, &Args { token }).await
}

/// Forgets the stored token.
pub async fn sign_out() -> Result<Settings, IpcError> {
    call(command::SIGN_OUT, &NoArgs {}).await
}

/// Starts watching the built-in demo fleet.
pub async fn start_demo() -> Result<Dashboard, IpcError> {
    call(command::START_DEMO, &NoArgs {}).await
}

/// Subscribes `handler` to a backend event for the life of the page; payloads that do not
/// decode are dropped (a newer backend must not crash an older page).
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_variables))]
fn listen<T: DeserializeOwned + 'static>(name: &'static str, handler: impl Fn(T) + 'static) {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::prelude::*;
        if !backend_available() {
            return;
        }
        let closure = Closure::<dyn Fn(JsValue)>::new(move |ev: JsValue| {
            let payload = js_sys::Reflect::get(&ev, &"payload".into()).unwrap_or(JsValue::NULL);
            if let Ok(value) = serde_wasm_bindgen::from_value::<T>(payload) {
                handler(value);
            }
        });
        let id = js::transform_callback(closure.as_ref().unchecked_ref(), false);
        // The listener lives as long as the page, so the closure must too.
        closure.forget();
        #[derive(Serialize)]
        struct Target {
            kind: &'static str,
        }
        #[derive(Serialize)]
        struct Args {
            event: &'static str,
            target: Target,
            handler: u32,
        }
        let args = Args {
            event: name,
            target: Target { kind: "Any" },
            handler: id,
        };
        wasm_bindgen_futures::spawn_local(async move {
            let _: Result<u32, IpcError> = call("plugin:event|listen", &args).await;
        });
    }
}

/// Calls `handler` with every new dashboard the backend pushes.
pub fn on_dashboard_changed(handler: impl Fn(Dashboard) + 'static) {
    listen(event::DASHBOARD, handler);
}

/// Calls `handler` when the tray or a notification asks to show a report.
pub fn on_open_report(handler: impl Fn(OpenReport) + 'static) {
    listen(event::OPEN_REPORT, handler);
}

/// Writes text to the system clipboard.
///
/// # Errors
/// A message for people when the clipboard refuses (no permission, no focus).
pub async fn copy_to_clipboard(text: &str) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        let window = web_sys::window().ok_or("no window")?;
        let promise = window.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|_| "the clipboard refused the text".to_string())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = text;
        Err("no clipboard outside the browser".into())
    }
}

/// The current time. On wasm it comes from JavaScript because `SystemTime` is unavailable there.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    #[cfg(target_arch = "wasm32")]
    {
        chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        chrono::Utc::now()
    }
}

//! The commands the UI calls (names in `deploywatch_ipc::command`). Each one is a request to
//! the resident process, which holds the logic (and the token): the window process only
//! forwards, so what the UI can do is exactly what the protocol offers.

use deploywatch_ipc::proto::Request;
use deploywatch_ipc::{
    Dashboard, DeviceCode, EnvironmentForm, HistoryPage, HistoryQuery, LagRow, OpenReport,
    ReportView, Settings, TestResult,
};
use tauri::State;

use crate::Remote;

type S<'a> = State<'a, Remote>;
type IpcResult<T> = Result<T, deploywatch_ipc::IpcError>;

#[tauri::command]
pub async fn dashboard(state: S<'_>) -> IpcResult<Dashboard> {
    state.0.call_as(Request::Dashboard).await
}

#[tauri::command]
pub async fn report(state: S<'_>, project: String, environment: String) -> IpcResult<ReportView> {
    state
        .0
        .call_as(Request::Report {
            project,
            environment,
        })
        .await
}

#[tauri::command]
pub async fn report_markdown(
    state: S<'_>,
    project: String,
    environment: String,
) -> IpcResult<String> {
    state
        .0
        .call_as(Request::ReportMarkdown {
            project,
            environment,
        })
        .await
}

#[tauri::command]
pub async fn check_now(state: S<'_>) -> IpcResult<()> {
    state.0.call_as(Request::CheckNow).await
}

#[tauri::command]
pub async fn pause(state: S<'_>) -> IpcResult<()> {
    state.0.call_as(Request::Pause).await
}

#[tauri::command]
pub async fn resume(state: S<'_>) -> IpcResult<()> {
    state.0.call_as(Request::Resume).await
}

#[tauri::command]
pub async fn history(state: S<'_>, query: HistoryQuery) -> IpcResult<HistoryPage> {
    state.0.call_as(Request::History { query }).await
}

#[tauri::command]
pub async fn deploy_lags(
    state: S<'_>,
    project: String,
    environment: Option<String>,
) -> IpcResult<Vec<LagRow>> {
    state
        .0
        .call_as(Request::DeployLags {
            project,
            environment,
        })
        .await
}

#[tauri::command]
pub async fn settings(state: S<'_>) -> IpcResult<Settings> {
    state.0.call_as(Request::Settings).await
}

#[tauri::command]
pub async fn save_settings(state: S<'_>, settings: Settings) -> IpcResult<Settings> {
    state.0.call_as(Request::SaveSettings { settings }).await
}

#[tauri::command]
pub async fn set_mute(
    state: S<'_>,
    project: String,
    environment: Option<String>,
    mute: bool,
) -> IpcResult<Dashboard> {
    state
        .0
        .call_as(Request::SetMute {
            project,
            environment,
            mute,
        })
        .await
}

#[tauri::command]
pub async fn test_environment(state: S<'_>, environment: EnvironmentForm) -> IpcResult<TestResult> {
    state
        .0
        .call_as(Request::TestEnvironment { environment })
        .await
}

#[tauri::command]
pub async fn sign_in_start(state: S<'_>) -> IpcResult<DeviceCode> {
    state.0.call_as(Request::SignInStart).await
}

#[tauri::command]
pub async fn sign_in_wait(state: S<'_>) -> IpcResult<Settings> {
    state.0.call_as(Request::SignInWait).await
}

/// The pasted token goes straight to the resident process (and its keyring); the window
/// process keeps no copy.
#[tauri::command]
pub async fn sign_in_token(state: S<'_>, token: String) -> IpcResult<Settings> {
    state.0.call_as(Request::SignInToken { token }).await
}

#[tauri::command]
pub async fn sign_out(state: S<'_>) -> IpcResult<Settings> {
    state.0.call_as(Request::SignOut).await
}

#[tauri::command]
pub async fn start_demo(state: S<'_>) -> IpcResult<Dashboard> {
    state.0.call_as(Request::StartDemo).await
}

/// The report the tray or a notification asked for while this window was being created.
#[tauri::command]
pub async fn take_open_report(state: S<'_>) -> IpcResult<Option<OpenReport>> {
    let report: Option<OpenReport> = state.0.call_as(Request::TakeOpenReport).await?;
    if let Some(r) = &report {
        tracing::info!(
            "the page takes the report of {} / {}",
            r.project,
            r.environment
        );
    }
    Ok(report)
}

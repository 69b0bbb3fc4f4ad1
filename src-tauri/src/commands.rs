//! The commands the UI calls (names in `deploywatch_ipc::command`). Each one only delegates to
//! [`AppState`], which holds the logic, so that tests and the tray drive the same code.

use deploywatch_ipc::{
    Dashboard, DeviceCode, EnvironmentForm, HistoryPage, HistoryQuery, LagRow, OpenReport,
    ReportView, Settings, TestResult,
};
use tauri::State;

use deploywatch_resident::{AppState, IpcResult};

type S<'a> = State<'a, AppState>;

#[tauri::command]
pub async fn dashboard(state: S<'_>) -> IpcResult<Dashboard> {
    state.dashboard().await.map_err(Into::into)
}

#[tauri::command]
pub async fn report(state: S<'_>, project: String, environment: String) -> IpcResult<ReportView> {
    state
        .report(&project, &environment)
        .await
        .map_err(Into::into)
}

#[tauri::command]
pub async fn report_markdown(
    state: S<'_>,
    project: String,
    environment: String,
) -> IpcResult<String> {
    state
        .report_markdown(&project, &environment)
        .await
        .map_err(Into::into)
}

#[tauri::command]
pub async fn check_now(state: S<'_>) -> IpcResult<()> {
    state.check_now().await;
    Ok(())
}

#[tauri::command]
pub async fn pause(state: S<'_>) -> IpcResult<()> {
    state.pause().await;
    Ok(())
}

#[tauri::command]
pub async fn resume(state: S<'_>) -> IpcResult<()> {
    state.resume().await;
    Ok(())
}

#[tauri::command]
pub async fn history(state: S<'_>, query: HistoryQuery) -> IpcResult<HistoryPage> {
    state.history(&query).await.map_err(Into::into)
}

#[tauri::command]
pub async fn deploy_lags(
    state: S<'_>,
    project: String,
    environment: Option<String>,
) -> IpcResult<Vec<LagRow>> {
    state
        .deploy_lags(&project, environment.as_deref())
        .await
        .map_err(Into::into)
}

#[tauri::command]
pub async fn settings(state: S<'_>) -> IpcResult<Settings> {
    state.settings().await.map_err(Into::into)
}

#[tauri::command]
pub async fn save_settings(state: S<'_>, settings: Settings) -> IpcResult<Settings> {
    state.save_settings(&settings).await.map_err(Into::into)
}

#[tauri::command]
pub async fn test_environment(state: S<'_>, environment: EnvironmentForm) -> IpcResult<TestResult> {
    Ok(state.test_environment(&environment).await)
}

#[tauri::command]
pub async fn sign_in_start(state: S<'_>) -> IpcResult<DeviceCode> {
    state.sign_in_start().await.map_err(Into::into)
}

#[tauri::command]
pub async fn sign_in_wait(state: S<'_>) -> IpcResult<Settings> {
    state.sign_in_wait().await.map_err(Into::into)
}

#[tauri::command]
pub async fn sign_in_token(state: S<'_>, token: String) -> IpcResult<Settings> {
    state.sign_in_token(&token).await.map_err(Into::into)
}

#[tauri::command]
pub async fn sign_out(state: S<'_>) -> IpcResult<Settings> {
    state.sign_out().await.map_err(Into::into)
}

#[tauri::command]
pub async fn start_demo(state: S<'_>) -> IpcResult<Dashboard> {
    state.start_demo().await.map_err(Into::into)
}

/// The report the tray or a notification asked for while this window was being created.
#[tauri::command]
pub fn take_open_report(state: S<'_>) -> Option<OpenReport> {
    state.take_pending_report()
}

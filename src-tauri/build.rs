//! Build script: embeds `tauri.conf.json` and the icons, and declares the app's own commands
//! so that a capability must grant each one (nothing is callable from the webview by default).

fn main() {
    let commands = &[
        "dashboard",
        "report",
        "check_now",
        "pause",
        "resume",
        "history",
        "deploy_lags",
        "settings",
        "save_settings",
        "set_mute",
        "test_environment",
        "sign_in_start",
        "sign_in_wait",
        "sign_in_token",
        "sign_out",
        "start_demo",
        "report_markdown",
        "take_open_report",
    ];
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attributes) {
        // `cargo:warning` lines are the only way a build script can explain itself.
        println!("cargo:warning=tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}

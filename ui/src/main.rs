//! The wasm entry point: wasm-bindgen calls `main` when the module is loaded.

fn main() {
    deploywatch_ui::start();
}

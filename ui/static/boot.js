// Loads the wasm UI. A separate file (not an inline script) so the strict CSP
// (script-src 'self') allows it. If the module fails to load, say so instead of a blank page.
import init from './deploywatch_ui.js';

init().catch((err) => {
  const boot = document.getElementById('boot');
  if (boot) {
    boot.textContent = 'Deploywatch could not start its interface: ' + String(err);
  }
});

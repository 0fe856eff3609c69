use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};
use crate::pwa::use_pwa;

/// "有新版本 — 重新加载": shown when a new version of the app has installed
/// and waits. Nothing reloads until the worker taps the button.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let i18n = use_i18n();
    let pwa = use_pwa();
    let state = crate::state::use_app_state();
    // Never under a form being filled in, nor while the outbox is pushed.
    let busy = move || state.forms_open.get() > 0 || state.sync.with(|s| s.running);
    view! {
        <Show when=move || pwa.update_ready.get()>
            <div class="update-banner" role="status" data-testid="update-banner">
                <span>{move || i18n.t(Key::UpdateReady)}</span>
                <Show when=busy>
                    <span data-testid="update-wait">{move || i18n.t(Key::UpdateWait)}</span>
                </Show>
                <button
                    type="button"
                    data-testid="update-reload"
                    disabled=busy
                    on:click=move |_| if !busy() { pwa.apply_update() }
                >
                    {move || i18n.t(Key::UpdateReload)}
                </button>
            </div>
        </Show>
    }
}

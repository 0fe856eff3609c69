//! Fieldbook, the phone app: a Leptos client-side app compiled to WebAssembly.
//!
//! Pages turn state into view and taps into calls on `fieldbook-core` or the
//! local store; they hold no business rule of their own (ARCHITECTURE.md).

pub mod app;
pub mod components;
pub mod forms;
pub mod i18n;
pub mod pages;
pub mod pwa;
pub mod settings;
pub mod state;
pub mod storage;
pub mod sync;

pub use app::App;

/// Mounts the app on the page's `<body>` and registers the service worker.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| {
        leptos::view! { <App register_service_worker=true/> }
    });
}

//! The installable, offline side of the app as the page sees it: the service
//! worker's registration and its "new version" handshake, and the request for
//! persistent storage.
//!
//! The service worker (`public/sw.js`) never takes over by itself. A new
//! version installs in the background and waits; [`Pwa::update_ready`] turns
//! true; only when the worker taps "reload" does the page tell the waiting
//! worker to activate, and it reloads once that worker controls the page.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState};

/// The message that asks a waiting service worker to activate.
const SKIP_WAITING: &str = "skip-waiting";

/// The state of the PWA machinery, shared through context.
#[derive(Clone, Copy, Debug)]
pub struct Pwa {
    /// A new version is installed and waits for the user's tap.
    pub update_ready: RwSignal<bool>,
    /// Whether the browser granted persistent storage; `None` until known.
    pub storage_persisted: RwSignal<Option<bool>>,
    /// Set when the user tapped "reload": only then may a change of service
    /// worker reload this page (another tab's choice must not interrupt a form
    /// open here).
    reload_requested: RwSignal<bool>,
}

impl Pwa {
    fn new() -> Self {
        Pwa {
            update_ready: RwSignal::new(false),
            storage_persisted: RwSignal::new(None),
            reload_requested: RwSignal::new(false),
        }
    }

    /// Activates the waiting version; the page reloads when it takes control.
    pub fn apply_update(&self) {
        self.reload_requested.set(true);
        let Some(container) = service_worker_container() else {
            return;
        };
        spawn_local(async move {
            let Ok(found) = JsFuture::from(container.get_registration()).await else {
                return;
            };
            let Ok(registration) = found.dyn_into::<ServiceWorkerRegistration>() else {
                return;
            };
            if let Some(waiting) = registration.waiting() {
                let _ = waiting.post_message(&JsValue::from_str(SKIP_WAITING));
            }
        });
    }
}

/// Provides [`Pwa`] to the component tree.
pub fn provide_pwa() -> Pwa {
    let pwa = Pwa::new();
    provide_context(pwa);
    pwa
}

/// The [`Pwa`] provided by [`provide_pwa`].
///
/// # Panics
/// Outside a component tree that called [`provide_pwa`].
pub fn use_pwa() -> Pwa {
    expect_context::<Pwa>()
}

fn service_worker_container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let supported =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    supported.then(|| navigator.service_worker())
}

/// Registers `/sw.js` and watches for a new version. A browser without
/// service workers (or a page not served over HTTPS or localhost) runs the app
/// online only; that is logged, not shown.
pub fn register_service_worker(pwa: Pwa) {
    let Some(container) = service_worker_container() else {
        leptos::logging::warn!("service workers unavailable: the app will not work offline");
        return;
    };

    let on_controller_change = Closure::<dyn FnMut()>::new(move || {
        if pwa.reload_requested.get_untracked() {
            let _ = window().location().reload();
        }
    });
    container.set_oncontrollerchange(Some(on_controller_change.as_ref().unchecked_ref()));
    on_controller_change.forget();

    spawn_local(async move {
        match JsFuture::from(container.register("/sw.js")).await {
            Ok(registration) => watch_for_updates(registration.unchecked_into(), container, pwa),
            Err(error) => leptos::logging::warn!("service worker registration failed: {error:?}"),
        }
    });
}

fn watch_for_updates(
    registration: ServiceWorkerRegistration,
    container: ServiceWorkerContainer,
    pwa: Pwa,
) {
    // A version that finished installing before this page loaded.
    if registration.waiting().is_some() && container.controller().is_some() {
        pwa.update_ready.set(true);
    }

    let watched = registration.clone();
    let on_update_found = Closure::<dyn FnMut()>::new(move || {
        let Some(worker) = watched.installing() else {
            return;
        };
        let container = container.clone();
        let installing = worker.clone();
        let on_state_change = Closure::<dyn FnMut()>::new(move || {
            // With no controller this is the first install, not an update.
            if installing.state() == ServiceWorkerState::Installed
                && container.controller().is_some()
            {
                pwa.update_ready.set(true);
            }
        });
        worker.set_onstatechange(Some(on_state_change.as_ref().unchecked_ref()));
        on_state_change.forget();
    });
    registration.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
    on_update_found.forget();

    // A phone keeps the app open for days: look for a new version whenever
    // the app comes back to the foreground.
    let on_visible = Closure::<dyn FnMut()>::new(move || {
        if document().visibility_state() == web_sys::VisibilityState::Visible {
            let _ = registration.update();
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", on_visible.as_ref().unchecked_ref());
    on_visible.forget();
}

/// Reads whether storage is already persistent, and asks for persistence once,
/// after the first tap or key press: browsers grant it more readily to a page
/// the user has interacted with, and asking on load would be refused.
pub fn request_persistent_storage_on_first_action(pwa: Pwa) {
    let Some(storage) = storage_manager() else {
        return;
    };
    spawn_local(async move {
        if let Ok(promise) = storage.persisted()
            && let Ok(value) = JsFuture::from(promise).await
        {
            pwa.storage_persisted.set(value.as_bool());
        }
    });

    let asked = Rc::new(Cell::new(false));
    let ask = move || {
        if asked.replace(true) {
            return;
        }
        let Some(storage) = storage_manager() else {
            return;
        };
        spawn_local(async move {
            if let Ok(promise) = storage.persist()
                && let Ok(value) = JsFuture::from(promise).await
            {
                pwa.storage_persisted.set(value.as_bool());
            }
        });
    };
    let on_pointer = ask.clone();
    // The handles are kept for the page's lifetime: after the first action
    // `ask` does nothing, which costs less than removing two listeners.
    let _ = window_event_listener(leptos::ev::pointerdown, move |_| on_pointer());
    let _ = window_event_listener(leptos::ev::keydown, move |_| ask());
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    let supported =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("storage")).unwrap_or(false);
    supported.then(|| navigator.storage())
}

/// The build id that `cargo xtask build` stamps into index.html, so a worker
/// (and a test) can tell which version is running.
pub fn build_id() -> String {
    document()
        .query_selector("meta[name=fieldbook-build]")
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_else(|| "dev".to_string())
}

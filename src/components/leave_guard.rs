//! Unsaved input is not thrown away by a tap: a form with input not yet
//! saved ("dirty") asks before the app leaves it — for an in-app link (the
//! bottom bar, a household link: an in-app dialog) and for a reload or
//! closing the tab (the browser's own `beforeunload` prompt).
//!
//! One form is open at a time; it registers its guard here while mounted.
//! The listeners are installed once, in the capture phase on the window, so
//! they see a link's click before the router does.

use std::cell::{Cell, RefCell};

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::i18n::{Key, use_i18n};

/// A form's unsaved-input guard: mark it dirty on input, clear it before
/// leaving on purpose (after saving).
#[derive(Clone, Copy)]
pub struct LeaveGuard {
    /// The form holds input not yet saved.
    pub dirty: RwSignal<bool>,
    /// The in-app address the worker tried to go to, while the dialog asks.
    pending: RwSignal<Option<String>>,
}

impl LeaveGuard {
    /// The form has input not yet saved.
    pub fn mark(&self) {
        self.dirty.set(true);
    }

    /// Leaving is fine now (the input was saved).
    pub fn clear(&self) {
        self.dirty.set(false);
        self.pending.set(None);
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<LeaveGuard>> = const { RefCell::new(None) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

fn active() -> Option<LeaveGuard> {
    ACTIVE.with(|a| *a.borrow())
}

fn flag(event: &web_sys::Event, name: &str) -> bool {
    js_sys::Reflect::get(event, &name.into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// A click on an in-app link while a form is dirty: held, and the dialog
/// asks.
fn on_click(event: web_sys::Event) {
    let Some(guard) = active() else {
        return;
    };
    if !guard.dirty.get_untracked() || event.default_prevented() {
        return;
    }
    let button = js_sys::Reflect::get(&event, &"button".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    if button != 0.0
        || ["metaKey", "ctrlKey", "shiftKey", "altKey"]
            .iter()
            .any(|k| flag(&event, k))
    {
        return;
    }
    let Some(anchor) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a[href]").ok().flatten())
    else {
        return;
    };
    let href = anchor.get_attribute("href").unwrap_or_default();
    // Only the app's own pages: a tel: link or another site leaves nothing.
    if !href.starts_with('/') || href.starts_with("//") || anchor.has_attribute("download") {
        return;
    }
    event.prevent_default();
    event.stop_immediate_propagation();
    guard.pending.set(Some(href));
}

fn on_before_unload(event: web_sys::Event) {
    if active().is_some_and(|g| g.dirty.get_untracked()) {
        event.prevent_default();
        let _ = js_sys::Reflect::set(&event, &"returnValue".into(), &"".into());
    }
}

fn install() {
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let click = Closure::<dyn Fn(web_sys::Event)>::new(on_click);
    let _ = window.add_event_listener_with_callback_and_bool(
        "click",
        click.as_ref().unchecked_ref(),
        true,
    );
    click.forget();
    let unload = Closure::<dyn Fn(web_sys::Event)>::new(on_before_unload);
    let _ =
        window.add_event_listener_with_callback("beforeunload", unload.as_ref().unchecked_ref());
    unload.forget();
}

/// The guard of the form being built: active while it is mounted.
pub fn use_leave_guard() -> LeaveGuard {
    let guard = LeaveGuard {
        dirty: RwSignal::new(false),
        pending: RwSignal::new(None),
    };
    install();
    ACTIVE.with(|a| *a.borrow_mut() = Some(guard));
    let dirty = guard.dirty;
    on_cleanup(move || {
        ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            if a.is_some_and(|g| g.dirty == dirty) {
                *a = None;
            }
        });
    });
    guard
}

/// Marks the guard dirty when a click lands on one of the form's choice
/// buttons (是/否, 见到了/未见到 …): put on the form's outer element with
/// `on:click`, beside `on:input` and `on:change` that mark it directly.
pub fn mark_on_choice(guard: LeaveGuard, event: &web_sys::Event) {
    let on_choice = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("button.choice").ok().flatten())
        .is_some();
    if on_choice {
        guard.mark();
    }
}

/// The dialog that asks before leaving a form with unsaved input.
#[component]
pub fn LeaveDialog(
    /// The form's guard.
    guard: LeaveGuard,
) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    let stay = move || guard.pending.set(None);
    // The dialog takes the focus on its safe choice; Escape stays too.
    let stay_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = stay_button.get() {
            let _ = button.focus();
        }
    });
    let leave = move |_| {
        if let Some(href) = guard.pending.get_untracked() {
            guard.clear();
            navigate(&href, Default::default());
        }
    };
    view! {
        <Show when=move || guard.pending.with(Option::is_some)>
            <div class="leave-backdrop">
                <div
                    class="leave-dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="leave-title"
                    data-testid="leave-dialog"
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            stay();
                        }
                    }
                >
                    <p id="leave-title">{move || i18n.t(Key::LeaveUnsaved)}</p>
                    <div class="actions">
                        <button class="primary" data-testid="leave-stay" node_ref=stay_button on:click=move |_| stay()>{move || i18n.t(Key::LeaveStay)}</button>
                        <button class="secondary" data-testid="leave-go" on:click=leave.clone()>{move || i18n.t(Key::LeaveGo)}</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

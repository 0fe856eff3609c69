//! 设置 → 本机加密 / Lock this phone: turn the on-device lock on (a PIN, and
//! the account password to keep the recovery key on the server) or off,
//! change the PIN, lock now, and the idle time before the app locks itself.

use leptos::prelude::*;

use crate::components::lock_screen::both;
use crate::i18n::{Key, use_i18n};
use crate::lock::{idle_seconds, lock_message, set_idle_seconds};
use crate::state::use_app_state;

/// The idle times offered, in minutes.
const IDLE_MINUTES: [u32; 4] = [1, 5, 15, 30];

/// A new PIN typed twice: the PIN rule's field message, or the PIN.
fn checked_new_pin(first: &str, second: &str) -> Result<String, (String, String)> {
    if crate::storage::seal::check_pin(first).is_err() {
        return Err(both(Key::LockPinTooShort));
    }
    if first != second {
        return Err(both(Key::LockPinMismatch));
    }
    Ok(first.to_string())
}

/// The lock's settings.
#[component]
pub fn LockPanel() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let is_on = move || {
        state.lock_version.track();
        state.lock_is_on()
    };
    let new_pin = RwSignal::new(String::new());
    let repeat_pin = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let current_pin = RwSignal::new(String::new());
    let pin_error = RwSignal::new(None::<(String, String)>);
    let message = RwSignal::new(None::<(String, String)>);
    let progress = RwSignal::new(None::<(Key, usize)>);
    let signed_in = move || state.session.with(Option::is_some);

    // The new PIN typed twice, if it passes the rule; else the field says
    // why.
    let take_new_pin = move || {
        let checked = checked_new_pin(&new_pin.get_untracked(), &repeat_pin.get_untracked());
        pin_error.set(checked.as_ref().err().cloned());
        checked.ok()
    };
    let turn_on = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if state.lock_busy.get_untracked() {
            return;
        }
        let Some(pin) = take_new_pin() else {
            return;
        };
        message.set(None);
        state.lock_busy.set(true);
        progress.set(Some((Key::LockSealing, 0)));
        leptos::task::spawn_local(async move {
            let result = state
                .enable_lock(&pin, &password.get_untracked(), move |n| {
                    progress.set(Some((Key::LockSealing, n)))
                })
                .await;
            state.lock_busy.set(false);
            progress.set(None);
            password.set(String::new());
            match result {
                Ok(()) => {
                    new_pin.set(String::new());
                    repeat_pin.set(String::new());
                    message.set(Some(both(Key::LockChanged)));
                }
                Err(e) => message.set(Some(e.both())),
            }
        });
    };
    let turn_off = move |_| {
        if state.lock_busy.get_untracked() {
            return;
        }
        message.set(None);
        state.lock_busy.set(true);
        progress.set(Some((Key::LockUnsealing, 0)));
        leptos::task::spawn_local(async move {
            let result = state
                .disable_lock(&current_pin.get_untracked(), move |n| {
                    progress.set(Some((Key::LockUnsealing, n)))
                })
                .await;
            state.lock_busy.set(false);
            progress.set(None);
            current_pin.set(String::new());
            message.set(Some(match result {
                Ok(()) => both(Key::LockChanged),
                Err(e) => lock_message(&e),
            }));
        });
    };
    let change_pin = move |_| {
        let Some(pin) = take_new_pin() else {
            return;
        };
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = state.change_pin(&pin).await;
            new_pin.set(String::new());
            repeat_pin.set(String::new());
            message.set(Some(match result {
                Ok(()) => both(Key::LockChanged),
                Err(e) => lock_message(&e),
            }));
        });
    };
    let idle_minutes = RwSignal::new((idle_seconds() / 60).max(1));
    let idle_options = IDLE_MINUTES
        .into_iter()
        .map(|m| view! { <option value=m.to_string() selected=move || idle_minutes.get() == m>{m}</option> })
        .collect_view();
    let choose_idle = move |ev: leptos::ev::Event| {
        if let Ok(minutes) = event_target_value(&ev).parse::<u32>() {
            idle_minutes.set(minutes);
            set_idle_seconds(minutes * 60);
        }
    };
    let new_pin_fields = move || {
        view! {
            <label class="field-label" for="lock-new-pin">{move || i18n.t(Key::LockNewPin)}</label>
            <input id="lock-new-pin" class="text" data-testid="lock-new-pin" type="password"
                autocomplete="new-password" aria-describedby="lock-pin-advice" bind:value=new_pin/>
            <p class="hint" id="lock-pin-advice" data-testid="lock-pin-advice">{move || i18n.t(Key::LockPinAdvice)}</p>
            <label class="field-label" for="lock-repeat-pin">{move || i18n.t(Key::LockRepeatPin)}</label>
            <input id="lock-repeat-pin" class="text" data-testid="lock-repeat-pin" type="password"
                autocomplete="new-password" bind:value=repeat_pin/>
            {move || pin_error.get().map(|(zh, en)| view! {
                <p class="error field-error" role="alert" data-testid="lock-pin-error">{i18n.pick_text(&zh, Some(&en))}</p>
            })}
        }
    };

    view! {
        <div class="field" data-testid="lock-panel">
            <h3>{move || i18n.t(Key::LockSettingsLabel)}</h3>
            <p class="intro">{move || i18n.t(Key::LockSettingsIntro)}</p>
            <p data-testid="lock-status">
                {move || i18n.t(if is_on() { Key::LockIsOn } else { Key::LockIsOff })}
            </p>
            <Show when=move || !is_on()>
                <form class="login" data-testid="lock-on-form" on:submit=turn_on>
                    {new_pin_fields()}
                    <Show
                        when=signed_in
                        fallback=move || view! { <p class="error" data-testid="lock-not-signed-in">{move || i18n.t(Key::LockNotSignedIn)}</p> }
                    >
                        <label class="field-label" for="lock-account-password">{move || i18n.t(Key::LockAccountPassword)}</label>
                        <input id="lock-account-password" class="text" data-testid="lock-account-password" type="password"
                            autocomplete="current-password" bind:value=password/>
                    </Show>
                    <button type="submit" data-testid="lock-turn-on" disabled=move || state.lock_busy.get()>
                        {move || i18n.t(Key::LockTurnOn)}
                    </button>
                </form>
            </Show>
            <Show when=is_on>
                <button type="button" data-testid="lock-now" on:click=move |_| state.lock_now()>
                    {move || i18n.t(Key::LockNow)}
                </button>
                <label class="field-label" for="lock-idle">{move || i18n.t(Key::LockIdleLabel)}</label>
                <select id="lock-idle" data-testid="lock-idle" on:change=choose_idle>{idle_options.clone()}</select>
                <span>{move || i18n.t(Key::LockMinutes)}</span>
                <h4>{move || i18n.t(Key::LockChangePin)}</h4>
                {new_pin_fields()}
                <button type="button" data-testid="lock-change-pin" on:click=change_pin>
                    {move || i18n.t(Key::LockChangePin)}
                </button>
                <h4>{move || i18n.t(Key::LockTurnOff)}</h4>
                <label class="field-label" for="lock-current-pin">{move || i18n.t(Key::LockCurrentPin)}</label>
                <input id="lock-current-pin" class="text" data-testid="lock-current-pin" type="password"
                    autocomplete="current-password" bind:value=current_pin/>
                <button type="button" data-testid="lock-turn-off" disabled=move || state.lock_busy.get()
                    on:click=turn_off>
                    {move || i18n.t(Key::LockTurnOff)}
                </button>
            </Show>
            {move || progress.get().map(|(key, n)| view! {
                <p data-testid="lock-progress" role="status">{i18n.t(key)} " " {n}</p>
            })}
            {move || message.get().map(|(zh, en)| view! {
                <p data-testid="lock-panel-message" role="status">{i18n.pick_text(&zh, Some(&en))}</p>
            })}
        </div>
    }
}

//! The lock screen: shown instead of every page while the on-device lock is
//! on and the phone locked (at start, after idle time, after "lock now").
//! The PIN unlocks offline; "忘记本机密码" signs in online with the account
//! password, fetches the recovery secret and asks for a new PIN.

use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};
use crate::lock::lock_message;
use crate::state::use_app_state;

/// Where the lock screen stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Asking for the PIN.
    Pin,
    /// Signing in to recover a forgotten PIN.
    Recover,
    /// Recovered: asking for a new PIN.
    NewPin,
}

/// The lock screen.
#[component]
pub fn LockScreen() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let step = RwSignal::new(Step::Pin);
    let pin = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let message = RwSignal::new(None::<(String, String)>);
    let account = state.lock_recovery_account();
    let has_recovery = account.is_some();
    let (server, username) = account.unwrap_or_default();
    let server = RwSignal::new(server);
    let username = RwSignal::new(username);
    let password = RwSignal::new(String::new());
    let new_pin = RwSignal::new(String::new());
    let repeat_pin = RwSignal::new(String::new());

    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = state.unlock(&pin.get_untracked()).await;
            busy.set(false);
            pin.set(String::new());
            if let Err(e) = result {
                message.set(Some(lock_message(&e)));
            }
        });
    };
    let recover = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = state
                .recover(
                    &server.get_untracked(),
                    &username.get_untracked(),
                    &password.get_untracked(),
                )
                .await;
            busy.set(false);
            password.set(String::new());
            match result {
                Ok(()) => step.set(Step::NewPin),
                Err(e) => message.set(Some(e.both())),
            }
        });
    };
    let save_new_pin = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (first, second) = (new_pin.get_untracked(), repeat_pin.get_untracked());
        if crate::storage::seal::check_pin(&first).is_err() {
            message.set(Some(both(Key::LockPinTooShort)));
            return;
        }
        if first != second {
            message.set(Some(both(Key::LockPinMismatch)));
            return;
        }
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = state.finish_recovery(&first).await;
            busy.set(false);
            if let Err(e) = result {
                message.set(Some(lock_message(&e)));
            }
        });
    };
    let shown = move || {
        message
            .get()
            .map(|(zh, en)| view! { <p class="error" role="alert" data-testid="lock-message">{i18n.pick_text(&zh, Some(&en))}</p> })
    };

    view! {
        <section class="lock-screen" data-testid="lock-screen" aria-labelledby="lock-title">
            <h2 id="lock-title">{move || i18n.t(Key::LockTitle)}</h2>
            <Show when=move || step.get() == Step::Pin>
                <p class="intro">{move || i18n.t(Key::LockIntro)}</p>
                <form class="login" on:submit=unlock>
                    <label class="field-label" for="lock-pin">{move || i18n.t(Key::LockPinLabel)}</label>
                    <input id="lock-pin" class="text" data-testid="lock-pin" type="password"
                        autocomplete="current-password" bind:value=pin/>
                    <button type="submit" data-testid="lock-unlock" disabled=move || busy.get()>
                        {move || i18n.t(if busy.get() { Key::LockUnlocking } else { Key::LockUnlock })}
                    </button>
                </form>
                <button type="button" class="link" data-testid="lock-forgot"
                    on:click=move |_| { message.set(None); step.set(Step::Recover) }>
                    {move || i18n.t(Key::LockForgot)}
                </button>
            </Show>
            <Show when=move || step.get() == Step::Recover>
                {if has_recovery {
                    view! {
                        <p class="intro">{move || i18n.t(Key::LockForgotIntro)}</p>
                        <form class="login" data-testid="recover-form" on:submit=recover>
                            <label class="field-label" for="recover-server">{move || i18n.t(Key::ServerAddress)}</label>
                            <input id="recover-server" class="text" data-testid="recover-server" type="url" bind:value=server/>
                            <label class="field-label" for="recover-username">{move || i18n.t(Key::Username)}</label>
                            <input id="recover-username" class="text" data-testid="recover-username" bind:value=username autocomplete="username"/>
                            <label class="field-label" for="recover-password">{move || i18n.t(Key::Password)}</label>
                            <input id="recover-password" class="text" data-testid="recover-password" type="password"
                                bind:value=password autocomplete="current-password"/>
                            <button type="submit" data-testid="recover-submit" disabled=move || busy.get()>
                                {move || i18n.t(Key::LockRecoverSubmit)}
                            </button>
                        </form>
                    }
                    .into_any()
                } else {
                    view! { <p class="error" role="alert" data-testid="lock-no-recovery">{move || i18n.t(Key::LockNoRecovery)}</p> }
                        .into_any()
                }}
                <button type="button" class="link" on:click=move |_| { message.set(None); step.set(Step::Pin) }>
                    {move || i18n.t(Key::Cancel)}
                </button>
            </Show>
            <Show when=move || step.get() == Step::NewPin>
                <form class="login" data-testid="new-pin-form" on:submit=save_new_pin>
                    <h3>{move || i18n.t(Key::LockSetNewPin)}</h3>
                    <label class="field-label" for="recover-new-pin">{move || i18n.t(Key::LockNewPin)}</label>
                    <input id="recover-new-pin" class="text" data-testid="recover-new-pin" type="password"
                        autocomplete="new-password" bind:value=new_pin/>
                    <label class="field-label" for="recover-repeat-pin">{move || i18n.t(Key::LockRepeatPin)}</label>
                    <input id="recover-repeat-pin" class="text" data-testid="recover-repeat-pin" type="password"
                        autocomplete="new-password" bind:value=repeat_pin/>
                    <button type="submit" data-testid="recover-save-pin" disabled=move || busy.get()>
                        {move || i18n.t(Key::Save)}
                    </button>
                </form>
            </Show>
            {shown}
        </section>
    }
}

/// A key's text in both languages, owned.
pub(crate) fn both(key: Key) -> (String, String) {
    let (zh, en) = crate::i18n::both(key);
    (zh.to_string(), en.to_string())
}

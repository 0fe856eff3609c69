//! 设置 → 修改账户密码 / Change the account password: the current password
//! and the new one twice, checked here by the core's password rules (the
//! same as the server's), then sent; each field shows its own error. After
//! an administrator's reset the server asks for this before anything else:
//! the form then opens with that reason, right after sign-in.

use fieldbook_core::passwords::{PasswordProblem, check_new_password};
use leptos::prelude::*;

use crate::i18n::{Key, both, use_i18n};
use crate::state::use_app_state;
use crate::sync::{PasswordChangeError, change_password};

type Message = Option<(&'static str, &'static str)>;

/// The change-password form; shown while signed in.
#[component]
pub fn ChangePasswordForm() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let current_error = RwSignal::new(Message::None);
    let new_error = RwSignal::new(Message::None);
    let again_error = RwSignal::new(Message::None);
    let other_error = RwSignal::new(None::<(String, String)>);
    let done = RwSignal::new(false);
    let must_change = move || {
        state
            .session
            .with(|s| s.as_ref().is_some_and(|s| s.must_change_password))
    };

    let submit = Action::new_local(move |(old, chosen): &(String, String)| {
        let (old, chosen) = (old.clone(), chosen.clone());
        async move {
            let Some(session) = state.session.get_untracked() else {
                return;
            };
            match change_password(&session, &old, &chosen).await {
                Ok(()) => {
                    let changed = crate::sync::Session {
                        must_change_password: false,
                        ..session
                    };
                    let _ = changed.save();
                    let worker = !changed.is_township();
                    state.session.set(Some(changed));
                    if let Ok(store) = state.store() {
                        state.seal_session(&store);
                    }
                    current.set(String::new());
                    new.set(String::new());
                    again.set(String::new());
                    done.set(true);
                    if worker {
                        state.sync_now().await;
                    }
                }
                Err(PasswordChangeError::CurrentWrong) => {
                    current_error.set(Some(both(Key::PasswordCurrentWrong)));
                }
                Err(PasswordChangeError::New(message)) => {
                    new_error.set(Some(if message.contains("differ") {
                        both(Key::PasswordSameAsCurrent)
                    } else if message.contains("common") {
                        both(Key::PasswordTooCommon)
                    } else if message.contains("at most") {
                        both(Key::PasswordTooLong)
                    } else {
                        both(Key::PasswordTooShort)
                    }));
                }
                Err(PasswordChangeError::Other(error)) => other_error.set(Some(error.both())),
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if submit.pending().get_untracked() {
            return;
        }
        done.set(false);
        other_error.set(None);
        let (old, chosen, repeated) = (
            current.get_untracked(),
            new.get_untracked(),
            again.get_untracked(),
        );
        current_error.set(old.is_empty().then(|| both(Key::PasswordCurrentMissing)));
        new_error.set(check_new_password(&chosen).err().map(|p| {
            both(match p {
                PasswordProblem::TooShort => Key::PasswordTooShort,
                PasswordProblem::TooLong => Key::PasswordTooLong,
                PasswordProblem::TooCommon => Key::PasswordTooCommon,
            })
        }));
        again_error.set((chosen != repeated).then(|| both(Key::PasswordsDiffer)));
        if current_error.get_untracked().is_none()
            && new_error.get_untracked().is_none()
            && again_error.get_untracked().is_none()
        {
            submit.dispatch((old, chosen));
        }
    };

    view! {
        <form class="field change-password" data-testid="change-password" on:submit=on_submit>
            <h3>{move || i18n.t(Key::ChangePasswordLabel)}</h3>
            <Show
                when=must_change
                fallback=move || view! { <p class="intro">{move || i18n.t(Key::ChangePasswordIntro)}</p> }
            >
                <p class="error" role="alert" data-testid="must-change-password">{move || i18n.t(Key::MustChangePassword)}</p>
            </Show>
            <label class="field-label" for="current-password">{move || i18n.t(Key::CurrentPassword)}</label>
            <input id="current-password" class="text" data-testid="current-password" type="password"
                autocomplete="current-password" bind:value=current/>
            <crate::components::FieldError message=current_error/>
            <label class="field-label" for="new-password">{move || i18n.t(Key::NewPassword)}</label>
            <input id="new-password" class="text" data-testid="new-password" type="password"
                autocomplete="new-password" bind:value=new/>
            <crate::components::FieldError message=new_error/>
            <label class="field-label" for="new-password-again">{move || i18n.t(Key::NewPasswordAgain)}</label>
            <input id="new-password-again" class="text" data-testid="new-password-again" type="password"
                autocomplete="new-password" bind:value=again/>
            <crate::components::FieldError message=again_error/>
            <button class="primary" type="submit" data-testid="change-password-submit" disabled=move || submit.pending().get()>
                {move || i18n.t(if submit.pending().get() { Key::ChangingPassword } else { Key::ChangePassword })}
            </button>
            <Show when=move || done.get()>
                <p role="status" data-testid="password-changed">{move || i18n.t(Key::PasswordChanged)}</p>
            </Show>
            {move || other_error.get().map(|(zh, en)| view! {
                <p class="error" role="alert" data-testid="change-password-error">{i18n.pick_text(&zh, Some(&en))}</p>
            })}
        </form>
    }
}

//! 同步: sign in to the township's server, sync by hand with progress, see
//! the unsynced count, the last good sync and what to do when it failed;
//! sign out (refused while changes wait, unless the phone is erased after a
//! backup).

use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};
use crate::state::use_app_state;
use crate::sync::SyncRecord;

/// The server's default address: the one this app was loaded from.
fn this_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .map(|o| format!("{o}/"))
        .unwrap_or_default()
}

/// A time as the phone shows it: `2026-11-29 14:05`. Screens use
/// `I18n::moment` (`11月29日 14:05`); this stays for machine-like columns.
pub fn local_time(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// "7 条记录未同步", "1 record not yet synced": records, not fields.
fn unsynced_text(i18n: crate::i18n::I18n, records: usize) -> String {
    let key = if records == 1 {
        Key::UnsyncedOne
    } else {
        Key::Unsynced
    };
    format!("{} {}", i18n.count(records), i18n.t(key))
}

/// The sign-in form.
#[component]
pub fn LoginForm() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let server = RwSignal::new(this_origin());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<(String, String)>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = state
                .login(
                    &server.get_untracked(),
                    &username.get_untracked(),
                    &password.get_untracked(),
                )
                .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    password.set(String::new());
                    error.set(None);
                    // After an administrator's reset the server takes
                    // nothing before a new password: the form asks first.
                    if state.session.with_untracked(|s| {
                        s.as_ref()
                            .is_some_and(|s| !s.is_township() && !s.must_change_password)
                    }) {
                        state.sync_now().await;
                    }
                }
                Err(e) => error.set(Some(e.both())),
            }
        });
    };
    view! {
        <form class="login" data-testid="login-form" on:submit=submit>
            <label class="field-label" for="server">{move || i18n.t(Key::ServerAddress)}</label>
            <input id="server" class="text" data-testid="server" type="url" bind:value=server autocomplete="url"/>
            <label class="field-label" for="username">{move || i18n.t(Key::Username)}</label>
            <input id="username" class="text" data-testid="username" bind:value=username autocomplete="username"/>
            <label class="field-label" for="password">{move || i18n.t(Key::Password)}</label>
            <input id="password" class="text" data-testid="password" type="password" bind:value=password autocomplete="current-password"/>
            <button class="primary" type="submit" data-testid="login" disabled=move || busy.get()>
                {move || i18n.t(if busy.get() { Key::SigningIn } else { Key::SignIn })}
            </button>
            {move || error.get().map(|(zh, en)| view! {
                <p class="error" role="alert" data-testid="login-error">{i18n.pick_text(&zh, Some(&en))}</p>
            })}
        </form>
    }
}

/// The whole sync section of Settings.
#[component]
pub fn SyncPanel() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let mobile = RwSignal::new(SyncRecord::load().mobile_data);
    let logout_refused = RwSignal::new(false);
    let confirm_erase = RwSignal::new(false);
    let sync_now = move |_| leptos::task::spawn_local(async move { state.sync_now().await });
    let toggle_mobile = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        mobile.set(on);
        let mut record = SyncRecord::load();
        record.mobile_data = on;
        record.save();
    };
    // Sign-out keeps the records, or erases them on a shared phone (after a
    // confirmation); either is refused while changes wait that are neither
    // synced nor in a backup exported since.
    let sign_out = move |erase: bool| {
        leptos::task::spawn_local(async move {
            if !state.unsynced_are_backed_up().await {
                logout_refused.set(true);
                return;
            }
            logout_refused.set(false);
            if erase && !confirm_erase.get_untracked() {
                confirm_erase.set(true);
                return;
            }
            let _ = state.logout(erase).await;
            confirm_erase.set(false);
        });
    };
    let status = move || {
        let view = state.sync.get();
        let progress = view.running.then(|| {
            let p = view.progress;
            format!(
                "{} {} / {} · {} {}",
                i18n.t(Key::SyncPushed),
                i18n.count(p.pushed),
                i18n.count(p.to_push),
                i18n.t(Key::SyncPulled),
                i18n.count(p.pulled)
            )
        });
        // A first sync: records received of the snapshot's total, with a bar.
        let received = (view.running && view.progress.total > 0).then(|| {
            let p = view.progress;
            let text = format!(
                "{} {} / {} {}",
                i18n.t(Key::SyncReceivedOf),
                i18n.count(p.received),
                i18n.count(p.total),
                i18n.t(Key::SyncRecordsUnit)
            );
            view! {
                <p class="sync-received" data-testid="sync-received">
                    {text}
                    <progress max=p.total value=p.received.min(p.total)></progress>
                </p>
            }
        });
        let last = view
            .last_ok_ms
            .map(|ms| format!("{} {}", i18n.t(Key::LastSync), i18n.moment(ms)));
        let result = view
            .last_result
            .filter(|_| !view.running && view.error.is_none())
            .map(|(pushed, pulled)| {
                format!(
                    "{} {} · {} {}",
                    i18n.t(Key::SyncPushed),
                    i18n.count(pushed),
                    i18n.t(Key::SyncPulled),
                    i18n.count(pulled)
                )
            });
        let clock = view.clock_off_ms.map(|off| {
            let minutes = (off.abs() / 60_000.0).round();
            i18n.pick_text(
                &format!("本机时钟与服务器相差约 {minutes} 分钟，请在手机设置中校准时间。"),
                Some(&format!("This phone's clock is about {minutes} min off the server's: set the time in the phone's settings.")),
            )
        });
        view! {
            <p data-testid="sync-progress" role="status">{progress}</p>
            {received}
            <p data-testid="last-sync">{last.unwrap_or_else(|| i18n.t(Key::NeverSynced).to_string())}</p>
            <p data-testid="sync-result">{result}</p>
            {clock.map(|c| view! { <p class="error" data-testid="clock-warning">{c}</p> })}
            {view.error.map(|(zh, en)| view! {
                <p class="error" role="alert" data-testid="sync-error">{i18n.pick_text(&zh, Some(&en))}</p>
            })}
        }
    };
    let signed_in = move || {
        state.session.get().map(|session| {
            let township = session.is_township();
            let who = format!("{} · {}", session.user.username, session.server);
            view! {
                <p data-testid="signed-in">{move || i18n.t(Key::SignedInAs)} " " {who.clone()}</p>
                <Show when=move || township>
                    <a class="button-link" href="/township" data-testid="township-link">{move || i18n.t(Key::TownshipTitle)}</a>
                </Show>
                <Show when=move || !township>
                    <button data-testid="sync-now" on:click=sync_now disabled=move || state.sync.with(|s| s.running)>
                        {move || i18n.t(if state.sync.with(|s| s.running) { Key::Syncing } else { Key::SyncNow })}
                    </button>
                    <label class="check">
                        <input type="checkbox" data-testid="mobile-data" prop:checked=move || mobile.get() on:change=toggle_mobile/>
                        {move || i18n.t(Key::SyncOnMobileData)}
                    </label>
                </Show>
                <button class="secondary" data-testid="logout" on:click=move |_| sign_out(false)>{move || i18n.t(Key::SignOut)}</button>
                <button class="secondary" data-testid="erase" on:click=move |_| sign_out(true)>{move || i18n.t(Key::EraseAndSignOut)}</button>
                <Show when=move || logout_refused.get()>
                    <p class="error" role="alert" data-testid="logout-refused">{move || i18n.t(Key::LogoutRefused)}</p>
                </Show>
                <Show when=move || confirm_erase.get()>
                    <p class="error" role="alert">{move || i18n.t(Key::EraseConfirm)}</p>
                    <button class="danger" data-testid="erase-confirm" on:click=move |_| sign_out(true)>{move || i18n.t(Key::EraseConfirmButton)}</button>
                    <button class="secondary" on:click=move |_| confirm_erase.set(false)>{move || i18n.t(Key::Cancel)}</button>
                </Show>
            }
        })
    };
    view! {
        <div class="field" data-testid="sync-panel">
            <h3>{move || i18n.t(Key::SyncLabel)}</h3>
            <p data-testid="unsynced">{move || unsynced_text(i18n, state.unsynced.get())}</p>
            <Show when=move || { state.conflicts.get() > 0 }>
                <a class="button-link" href="/conflicts" data-testid="conflicts-link">
                    {move || state.conflicts.get()} " " {move || i18n.t(Key::ConflictsToReview)}
                </a>
            </Show>
            {status}
            <Show when=move || state.session.with(Option::is_some) fallback=|| view! { <LoginForm/> }>
                {signed_in}
            </Show>
        </div>
    }
}

/// The line under the app's title on every page, once signed in: the
/// unsynced count and the last good sync, "syncing…", or that the last sync
/// failed (a tap opens 设置 with the reason).
#[component]
pub fn SyncBadge() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let text = move || {
        let sync = state.sync.get();
        let unsynced = state.unsynced.get();
        if sync.running {
            return (false, i18n.t(Key::Syncing).to_string());
        }
        if sync.error.is_some() {
            return (
                true,
                format!(
                    "{} · {}",
                    i18n.t(Key::SyncFailed),
                    unsynced_text(i18n, unsynced)
                ),
            );
        }
        let last = sync.last_ok_ms.map_or_else(
            || i18n.t(Key::NeverSynced).to_string(),
            |ms| format!("{} {}", i18n.t(Key::LastSync), i18n.moment(ms)),
        );
        (false, format!("{} · {last}", unsynced_text(i18n, unsynced)))
    };
    view! {
        <Show when=move || state.session.with(|s| s.as_ref().is_some_and(|s| !s.is_township()))>
            <a href="/settings" class=move || if text().0 { "sync-badge failed" } else { "sync-badge" } data-testid="sync-badge">
                {move || text().1}
            </a>
        </Show>
    }
}

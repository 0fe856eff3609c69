//! "从备份文件导入": a file picker that reads a backup, merges it into the
//! phone's records and says what it did — or why it refused the file.

use fieldbook_core::backup::ImportSummary;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{Key, use_i18n};
use crate::state::use_app_state;

/// Where an import stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    Idle,
    Working,
    Done(ImportSummary),
    Failed(&'static str, &'static str),
}

/// The bytes of the file chosen in `input`, or `None` when none is.
async fn chosen_file(input: &web_sys::HtmlInputElement) -> Option<Result<Vec<u8>, ()>> {
    let file = input.files()?.get(0)?;
    let read = async {
        let buffer = JsFuture::from(file.array_buffer()).await.map_err(drop)?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    };
    Some(read.await)
}

/// The picker and the outcome of the last import.
#[component]
pub fn ImportBackup() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let progress = RwSignal::new(Progress::Idle);
    let on_change = move |event: web_sys::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        progress.set(Progress::Working);
        leptos::task::spawn_local(async move {
            let outcome = match chosen_file(&input).await {
                None => Progress::Idle,
                Some(Err(())) => {
                    let (zh, en) = crate::i18n::both(Key::ImportFileUnreadable);
                    Progress::Failed(zh, en)
                }
                Some(Ok(bytes)) => match state.import(&bytes).await {
                    Ok(summary) => Progress::Done(summary),
                    Err(error) => {
                        let (zh, en) = error.both();
                        Progress::Failed(zh, en)
                    }
                },
            };
            // The same file may be chosen again (e.g. after freeing space).
            input.set_value("");
            progress.set(outcome);
        });
    };
    let outcome = move || {
        match progress.get() {
        Progress::Idle => None,
        Progress::Working => Some(
            view! { <p role="status" data-testid="import-working">{i18n.t(Key::Importing)}</p> }
                .into_any(),
        ),
        Progress::Failed(zh, en) => Some(
            view! { <p class="error" role="alert" data-testid="import-error">{i18n.pick(zh, en)}</p> }
                .into_any(),
        ),
        Progress::Done(s) => Some(
            view! {
                <div role="status" data-testid="import-summary">
                    <p><strong>{i18n.t(Key::ImportDone)}</strong></p>
                    <dl class="counts">
                        <dt>{i18n.t(Key::ImportAdded)}</dt><dd data-testid="import-added">{i18n.count(s.added)}</dd>
                        <dt>{i18n.t(Key::ImportUpdated)}</dt><dd data-testid="import-updated">{i18n.count(s.updated)}</dd>
                        <dt>{i18n.t(Key::ImportUnchanged)}</dt><dd data-testid="import-unchanged">{i18n.count(s.unchanged)}</dd>
                        <dt>{i18n.t(Key::ImportConflicts)}</dt><dd data-testid="import-conflicts">{i18n.count(s.conflicts)}</dd>
                    </dl>
                </div>
            }
            .into_any(),
        ),
    }
    };
    view! {
        <p class="intro">{move || i18n.t(Key::ImportIntro)}</p>
        <label class="file-button">
            <span>{move || i18n.t(Key::ImportBackup)}</span>
            <input
                type="file"
                accept=".json,application/json"
                data-testid="import-backup"
                disabled=move || progress.get() == Progress::Working
                on:change=on_change
            />
        </label>
        {outcome}
    }
}

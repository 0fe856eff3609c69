//! 待核对的不同值: every field where two edits met, with both values, who
//! made each and when. Keeping one is an edit that supersedes both, and syncs
//! like any edit.

use fieldbook_core::sync::{Change, Conflict};
use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::state::{describe_record, use_app_state};

/// A value as the worker reads it: a date in words (2026年11月14日).
fn shown(value: &serde_json::Value, i18n: crate::i18n::I18n) -> String {
    match value {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s
            .parse::<chrono::NaiveDate>()
            .map_or_else(|_| s.clone(), |d| i18n.date(d)),
        other => other.to_string(),
    }
}

/// The conflicts page.
#[component]
pub fn ConflictsPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.track();
        state.conflicts.track();
        async move { state.conflict_list().await.unwrap_or_default() }
    });
    let error = RwSignal::new(None::<(&'static str, &'static str)>);
    let choose = move |conflict: Conflict, value: serde_json::Value| {
        leptos::task::spawn_local(async move {
            match state.settle(conflict.record, &conflict.field, value).await {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some((e.zh(), e.en()))),
            }
            version.update(|v| *v += 1);
        });
    };
    let who = move |change: &Change| {
        let device = if state.device() == Some(change.device) {
            i18n.t(Key::ThisPhone).to_string()
        } else {
            format!("{:.8}", change.device.0.to_string())
        };
        format!("{device} · {}", i18n.moment(change.ts.wall_ms as f64))
    };
    // One list kept across reloads: a settled conflict's row goes, the
    // others stay as they are.
    let rows = move || {
        let none = move || list.get().unwrap_or_default().is_empty();
        // Keyed by the field of the record and the two changes that met.
        let key = |c: &Conflict| {
            (
                c.record,
                c.field.clone(),
                (c.kept.device, c.kept.seq),
                (c.lost.device, c.lost.seq),
            )
        };
        view! {
            <Show when=none>
                <p data-testid="no-conflicts">{i18n.t(Key::NoConflicts)}</p>
            </Show>
            <For each=move || list.get().unwrap_or_default() key children=move |conflict: Conflict| {
                let what = state.with_all(|r| describe_record(r, &conflict.kept));
                let (keep, other) = (conflict.clone(), conflict.clone());
                let kept_value = conflict.kept.value.clone();
                let lost_value = conflict.lost.value.clone();
                view! {
                    <div class="field conflict" data-testid="conflict">
                        <h3 data-testid="conflict-what">{what}</h3>
                        <p>
                            <strong>{i18n.t(Key::CurrentValue)}</strong> ": "
                            <span data-testid="kept-value">{shown(&conflict.kept.value, i18n)}</span>
                            " (" {who(&conflict.kept)} ")"
                        </p>
                        <button data-testid="keep-current" on:click=move |_| choose(keep.clone(), kept_value.clone())>
                            {i18n.t(Key::KeepCurrent)}
                        </button>
                        <p>
                            <strong>{i18n.t(Key::OtherValue)}</strong> ": "
                            <span data-testid="lost-value">{shown(&conflict.lost.value, i18n)}</span>
                            " (" {who(&conflict.lost)} ")"
                        </p>
                        <button data-testid="use-other" on:click=move |_| choose(other.clone(), lost_value.clone())>
                            {i18n.t(Key::UseOther)}
                        </button>
                    </div>
                }
            }/>
        }
    };
    view! {
        <SectionPage slug="conflicts" title=Key::ConflictsTitle intro=Key::ConflictsIntro>
            <crate::components::FieldError message=error/>
            <Suspense>{rows}</Suspense>
        </SectionPage>
    }
}

use fieldbook_core::validate::Problem;
use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};

/// The first problem about `field` (or a part of it, `field.xyz`), in the
/// current language.
pub fn problem_text(problems: &[Problem], field: &str, zh: bool) -> Option<&'static str> {
    problems
        .iter()
        .find(|p| p.field == field || p.field.starts_with(&format!("{field}.")))
        .map(|p| if zh { p.zh() } else { p.en() })
}

/// A labelled text input with the core's validation message for its field
/// shown beside it.
#[component]
pub fn TextField(
    /// The label's key.
    label: Key,
    /// The record field the input edits (for its validation message); also
    /// the test id.
    field: &'static str,
    /// The text.
    value: RwSignal<String>,
    /// The form's current problems.
    problems: RwSignal<Vec<Problem>>,
    /// The input's type: "text", "date", "tel" …
    #[prop(default = "text")]
    kind: &'static str,
    /// Mark as required.
    #[prop(optional)]
    required: bool,
    /// The most characters the core takes for this field
    /// (`fieldbook_core::validate::MAX_*_CHARS`): the input stops there, so
    /// a worker does not type what the form (and the server) would refuse.
    #[prop(optional)]
    max_chars: Option<usize>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("field-{}", field.replace('.', "-"));
    let error =
        move || problems.with(|p| problem_text(p, field, i18n.lang() == crate::i18n::Lang::ZhCn));
    view! {
        <label class="field-label" for=id.clone()>
            {move || i18n.t(label)}
            {required.then_some(" *")}
        </label>
        <input
            id=id
            class="text"
            class:invalid=move || error().is_some()
            type=kind
            data-testid=field.replace('.', "-")
            aria-invalid=move || error().is_some().to_string()
            maxlength=max_chars.map(|n| n.to_string())
            bind:value=value
        />
        <p class="error field-error" role="alert" data-testid=format!("{}-error", field.replace('.', "-"))>
            {error}
        </p>
    }
}

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// A validation message beside a form field, in the current language; nothing
/// when the field is fine.
#[component]
pub fn FieldError(
    /// The message in Chinese and English, or `None`.
    message: RwSignal<Option<(&'static str, &'static str)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        message.get().map(|(zh, en)| {
            view! { <p class="error field-error" role="alert">{i18n.pick(zh, en)}</p> }
        })
    }
}

use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};

/// Shown for a link into the app that leads nowhere.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="section" data-testid="page-not-found">
            <h2>{move || i18n.t(Key::NotFoundTitle)}</h2>
            <a href="/">{move || i18n.t(Key::NotFoundBack)}</a>
        </section>
    }
}

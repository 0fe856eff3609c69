use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};

/// The frame of a section's page: its title and a one-line description, then
/// the page's own content.
#[component]
pub fn SectionPage(
    /// Stable id for tests and styling, e.g. `today`.
    slug: &'static str,
    /// The page title's key.
    title: Key,
    /// The one-line description's key.
    intro: Key,
    /// The page's content.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class=format!("section section-{slug}") data-testid=format!("page-{slug}")>
            <h2 data-testid="page-title">{move || i18n.t(title)}</h2>
            <p class="intro">{move || i18n.t(intro)}</p>
            {children.map(|c| c())}
        </section>
    }
}

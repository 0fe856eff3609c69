use fieldbook_core::Section;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::{Key, use_i18n};

/// The label key of a section in the bottom navigation.
pub fn nav_label(section: Section) -> Key {
    match section {
        Section::Today => Key::NavToday,
        Section::Households => Key::NavHouseholds,
        Section::Plan => Key::NavPlan,
        Section::Indicators => Key::NavIndicators,
        Section::Settings => Key::NavSettings,
    }
}

/// The five sections as a bottom navigation bar, within a thumb's reach. The
/// section of the current page (or of its sub-page) is marked
/// `aria-current="page"`. Plain links: the router handles their clicks.
#[component]
pub fn BottomNav() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let current = Memo::new(move |_| Section::for_path(&location.pathname.get()));

    let items = Section::ALL
        .into_iter()
        .map(|section| {
            let aria_current = move || (current.get() == Some(section)).then_some("page");
            view! {
                <a
                    href=section.path()
                    class=format!("nav-item nav-{}", section.slug())
                    data-testid=format!("nav-{}", section.slug())
                    aria-current=aria_current
                >
                    <span class="nav-icon" aria-hidden="true"></span>
                    <span class="nav-label">{move || i18n.t(nav_label(section))}</span>
                </a>
            }
        })
        .collect_view();

    view! {
        <nav class="bottom-nav" aria-label=move || i18n.t(Key::MainNavigation)>
            {items}
        </nav>
    }
}

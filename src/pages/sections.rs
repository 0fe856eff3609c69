//! The section pages that so far show only their title and description.

use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::Key;

/// 统计: indicators and registers.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    view! { <SectionPage slug="indicators" title=Key::IndicatorsTitle intro=Key::IndicatorsIntro/> }
}

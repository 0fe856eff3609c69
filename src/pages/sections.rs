//! The section pages that so far show only their title and description.

use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::Key;

/// 今日: the tasks due, overdue first, grouped by household.
#[component]
pub fn TodayPage() -> impl IntoView {
    view! { <SectionPage slug="today" title=Key::TodayTitle intro=Key::TodayIntro/> }
}

/// 住户: households, their people and visit history.
#[component]
pub fn HouseholdsPage() -> impl IntoView {
    view! { <SectionPage slug="households" title=Key::HouseholdsTitle intro=Key::HouseholdsIntro/> }
}

/// 计划: the year's work plan as a checklist.
#[component]
pub fn PlanPage() -> impl IntoView {
    view! { <SectionPage slug="plan" title=Key::PlanTitle intro=Key::PlanIntro/> }
}

/// 统计: indicators and registers.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    view! { <SectionPage slug="indicators" title=Key::IndicatorsTitle intro=Key::IndicatorsIntro/> }
}

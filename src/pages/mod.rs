//! One module a page.

mod conflicts;
mod first_run;
mod household_form;
mod households;
mod indicators;
mod not_found;
mod person_form;
mod plan;
mod reports;
mod settings;
mod today;
mod township;
mod visit;

pub use conflicts::ConflictsPage;
pub use first_run::FirstRun;
pub use household_form::HouseholdFormPage;
pub use households::{HouseholdPage, HouseholdsPage};
pub use indicators::IndicatorsPage;
pub use not_found::NotFoundPage;
pub use person_form::PersonFormPage;
pub use plan::PlanPage;
pub use reports::{ReportPage, ReportsPage, download};
pub use settings::SettingsPage;
pub use today::{KeptToday, TodayPage};
pub use township::TownshipPage;
pub use visit::{VisitPage, suggested_next_visit, visit_kind_slug};

/// The record id in route parameter or query key `key` of `map` (a
/// `use_params_map()` or `use_query_map()`), if it is a well-formed UUID.
/// Reading it inside a reactive closure tracks the route.
pub(crate) fn id_param(
    map: leptos::prelude::Memo<leptos_router::params::ParamsMap>,
    key: &str,
) -> Option<uuid::Uuid> {
    leptos::prelude::Read::read(&map)
        .get(key)
        .and_then(|id| uuid::Uuid::parse_str(&id).ok())
}

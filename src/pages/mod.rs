//! One module a page.

mod first_run;
mod households;
mod not_found;
mod plan;
mod sections;
mod settings;
mod today;
mod visit;

pub use first_run::FirstRun;
pub use households::{HouseholdPage, HouseholdsPage};
pub use not_found::NotFoundPage;
pub use plan::PlanPage;
pub use sections::IndicatorsPage;
pub use settings::SettingsPage;
pub use today::TodayPage;
pub use visit::{VisitPage, suggested_next_visit, visit_kind_slug};

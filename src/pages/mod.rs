//! One module a page. Each section shows its title and description until its
//! issue fills it.

mod not_found;
mod sections;
mod settings;

pub use not_found::NotFoundPage;
pub use sections::{HouseholdsPage, IndicatorsPage, PlanPage, TodayPage};
pub use settings::SettingsPage;

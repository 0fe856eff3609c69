//! The app's frame: header, the page for the current route, the bottom
//! navigation, and the "new version" prompt.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::{BottomNav, UpdateBanner};
use crate::i18n::{Key, provide_i18n};
use crate::pages::{
    ConflictsPage, HouseholdFormPage, HouseholdPage, HouseholdsPage, IndicatorsPage, NotFoundPage,
    PersonFormPage, PlanPage, ReportPage, ReportsPage, SettingsPage, TodayPage, TownshipPage,
    VisitPage,
};
use crate::pwa::{
    provide_pwa, register_service_worker, request_persistent_storage_on_first_action,
};
use crate::settings;
use crate::state::{LoadStatus, provide_app_state};

/// The whole app.
///
/// The language starts as the one saved in localStorage (Chinese when none).
#[component]
pub fn App(
    /// Register the service worker and ask for persistent storage. The real
    /// app does; browser tests that mount the app in a test page do not.
    #[prop(optional)]
    register_service_worker: bool,
) -> impl IntoView {
    let i18n = provide_i18n(settings::load_language());
    let pwa = provide_pwa();
    let state = provide_app_state();
    if register_service_worker {
        state.start_background_sync();
        state.start_idle_lock();
        self::register_service_worker(pwa);
        request_persistent_storage_on_first_action(pwa);
    }

    view! {
        <Router>
            <div class="shell">
                <header class="app-header">
                    <h1 data-testid="app-name">{move || i18n.t(Key::AppName)}</h1>
                    <crate::components::SyncBadge/>
                </header>
                <UpdateBanner/>
                <Show when=move || state.status.get() == LoadStatus::Locked>
                    <main class="page"><crate::components::LockScreen/></main>
                </Show>
                <main class="page" hidden=move || state.status.get() == LoadStatus::Locked>
                    <Routes fallback=NotFoundPage>
                        <Route path=path!("/") view=TodayPage/>
                        <Route path=path!("/households") view=HouseholdsPage/>
                        <Route path=path!("/households/:id") view=HouseholdPage/>
                        <Route path=path!("/visit/new") view=VisitPage/>
                        <Route path=path!("/visit/:id") view=VisitPage/>
                        <Route path=path!("/visit/:id/edit") view=VisitPage/>
                        <Route path=path!("/household/new") view=HouseholdFormPage/>
                        <Route path=path!("/household/:id/edit") view=HouseholdFormPage/>
                        <Route path=path!("/person/new") view=PersonFormPage/>
                        <Route path=path!("/person/:id/edit") view=PersonFormPage/>
                        <Route path=path!("/reports") view=ReportsPage/>
                        <Route path=path!("/reports/:name") view=ReportPage/>
                        <Route path=path!("/plan") view=PlanPage/>
                        <Route path=path!("/indicators") view=IndicatorsPage/>
                        <Route path=path!("/settings") view=SettingsPage/>
                        <Route path=path!("/conflicts") view=ConflictsPage/>
                        <Route path=path!("/township") view=TownshipPage/>
                    </Routes>
                </main>
                <Show when=move || state.status.get() != LoadStatus::Locked>
                    <BottomNav/>
                </Show>
            </div>
        </Router>
    }
}

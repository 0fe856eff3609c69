//! Fieldbook, the phone app: a Leptos client-side app compiled to WebAssembly.
//!
//! Pages turn state into view and taps into calls on `fieldbook-core` or the
//! local store; they hold no business rule of their own (ARCHITECTURE.md).

pub mod app;
pub mod components;
pub mod fmt;
pub mod forms;
pub mod i18n;
pub mod live;
pub mod lock;
pub mod pages;
pub mod pwa;
pub mod settings;
pub mod state;
pub mod storage;
pub mod sync;

pub use app::App;

/// Mounts the app on the page's `<body>` and registers the service worker.
pub fn start() {
    mark("fieldbook:start");
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| {
        leptos::view! { <App register_service_worker=true/> }
    });
    mark("fieldbook:mounted");
}

/// Benchmark hook for `cargo xtask bench`, called from the page as
/// `window.wasmBindings.bench_core(runs)`: the Today list plus all eight
/// indicators for the year over the synthetic `village` (seed 20261129, the
/// same as the native benchmark), in wasm, timed with `performance.now()`.
/// Returns each run's milliseconds. It reads no record of the phone's.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn bench_core(runs: u32) -> Vec<f64> {
    use fieldbook_core::generate::{Size, generate};
    use fieldbook_core::indicators::indicators;
    use fieldbook_core::rules::{Rules, due_tasks};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default();
    let data = generate(20261129, Size::Village, today);
    let village = data.villages.first().map(|v| v.id).unwrap_or_default();
    let rules = Rules::default();
    let clock = || {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or_else(js_sys::Date::now, |p| p.now())
    };
    (0..runs.max(1))
        .map(|_| {
            let start = clock();
            let tasks = due_tasks(&data, today, &rules);
            let rates = indicators(
                &data,
                village,
                fieldbook_core::Period::Year { year: 2026 },
                today,
                &rules,
            );
            std::hint::black_box((tasks.len(), rates.len()));
            clock() - start
        })
        .collect()
}

/// A performance mark named `name` (shown in the browser's performance
/// panel; the benchmarks read the app's marks, all named `fieldbook:…`).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

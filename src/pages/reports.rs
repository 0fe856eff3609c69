//! 报表: the paper registers, made from the records — shown as tables,
//! exported as CSV that Excel opens with the Chinese intact, and printed on A4.

use chrono::Datelike;
use fieldbook_core::registers::{
    Table, care_for_girls_archive, care_for_girls_table, follow_up_log, follow_up_table,
    indicator_table, migrant_register, migrant_table, plan_progress, plan_progress_table, roster,
    roster_table, three_check_register, three_check_table, year_end_figures, year_end_table,
};
use fieldbook_core::rules::Rules;
use fieldbook_core::{Dataset, Period};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wasm_bindgen::JsCast;

use crate::i18n::{Key, use_i18n};
use crate::state::{today, use_app_state};

/// The registers, by URL name, with their titles.
pub const REGISTERS: [(&str, Key); 8] = [
    ("roster", Key::RegisterRoster),
    ("three-checks", Key::RegisterThreeChecks),
    ("follow-ups", Key::RegisterFollowUps),
    ("migrants", Key::RegisterMigrants),
    ("care-for-girls", Key::RegisterCareForGirls),
    ("plan-progress", Key::RegisterPlanProgress),
    ("indicators", Key::RegisterIndicators),
    ("year-end", Key::RegisterYearEnd),
];

/// Builds a register for the first live village, as of today.
pub fn build(data: &Dataset, name: &str) -> Option<Table> {
    let village = data.villages.iter().find(|v| !v.deleted)?.id;
    let day = today();
    let rules = Rules::default();
    let year = day.year();
    Some(match name {
        "roster" => roster_table(&roster(data, village, day, &rules)),
        "three-checks" => {
            let half = Period::half_year_of(day);
            three_check_table(
                &three_check_register(data, village, half, day, &rules),
                half,
            )
        }
        "follow-ups" => follow_up_table(&follow_up_log(data, village, Period::Year { year })),
        "migrants" => migrant_table(&migrant_register(data, village, day)),
        "care-for-girls" => {
            care_for_girls_table(&care_for_girls_archive(data, village, year), year)
        }
        "plan-progress" => plan_progress_table(&plan_progress(data, village, year), year, day),
        "indicators" => {
            let month = Period::month_of(day);
            indicator_table(
                &fieldbook_core::indicators::indicators(data, village, month, day, &rules),
                &format!("统计报表（{}年{}月）", year, day.month()),
            )
        }
        "year-end" => year_end_table(&year_end_figures(data, village, year, day, &rules)),
        _ => return None,
    })
}

/// Offers `bytes` as a file download named `file_name` of type `mime`.
pub fn download(bytes: &[u8], file_name: &str, mime: &str) -> Result<(), wasm_bindgen::JsValue> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let anchor: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// The list of registers.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="section" data-testid="page-reports">
            <h2 data-testid="page-title">{move || i18n.t(Key::ReportsTitle)}</h2>
            <ul class="report-list">
                {REGISTERS
                    .into_iter()
                    .map(|(name, key)| view! {
                        <li><a class="report-link" href=format!("/reports/{name}") data-testid=format!("report-{name}")>{move || i18n.t(key)}</a></li>
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// One register as a table, with CSV export and print.
#[component]
pub fn ReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let table = Memo::new(move |_| state.data.with(|d| build(d, &name())));
    let export = move |_| {
        if let Some(table) = table.get_untracked() {
            let file = format!("{}-{}.csv", table.title, today());
            if let Err(error) = download(&table.to_csv(), &file, "text/csv;charset=utf-8") {
                leptos::logging::warn!("CSV download failed: {error:?}");
            }
        }
    };
    let print = move |_| {
        let _ = window().print();
    };
    move || {
        match table.get() {
        None => view! { <section class="section"><p class="empty">{move || i18n.t(Key::NoPlan)}</p></section> }.into_any(),
        Some(table) => {
            let headers = table.headers.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view();
            let rows = table
                .rows
                .iter()
                .map(|row| view! { <tr>{row.iter().map(|cell| view! { <td>{cell.clone()}</td> }).collect_view()}</tr> })
                .collect_view();
            view! {
                <section class="section report" data-testid="report">
                    <h2 id="report-title" data-testid="report-title">{table.title.clone()}</h2>
                    <div class="actions no-print">
                        <button class="primary" data-testid="export-csv" on:click=export>{move || i18n.t(Key::ExportCsv)}</button>
                        <button data-testid="print" on:click=print>{move || i18n.t(Key::Print)}</button>
                    </div>
                    <p class="count no-print" data-testid="report-rows">{table.rows.len()} " " {move || i18n.t(Key::Rows)}</p>
                    // Focusable so a keyboard can scroll a wide register.
                    <div class="table-scroll" tabindex="0" role="region" aria-labelledby="report-title">
                        <table class="register">
                            <thead><tr>{headers}</tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                </section>
            }
            .into_any()
        }
    }
    }
}

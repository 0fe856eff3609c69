//! 报表: the paper registers, made from the records — shown as tables,
//! exported as CSV that Excel opens with the Chinese intact, and printed on A4.

use fieldbook_core::indicators::reference_day;
use fieldbook_core::registers::{
    CareForGirlsRow, FollowUpRow, Lang as TableLang, MigrantRow, PlanProgressRow, RosterRow, Table,
    ThreeCheckRow, care_for_girls_archive, care_for_girls_table, follow_up_log, follow_up_table,
    indicator_table, migrant_register, migrant_table, only_group, plan_progress,
    plan_progress_table, roster, roster_table, three_check_register, three_check_table,
    villager_groups, year_end_figures, year_end_table,
};
use fieldbook_core::rules::Rules;
use fieldbook_core::{Dataset, Period};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use wasm_bindgen::JsCast;

use crate::components::{Rows, Windowed};
use crate::i18n::{Key, Lang, use_i18n};
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

/// A register row's height before one is measured, in CSS pixels: a long
/// register (the year's visits run to thousands) is windowed, only the rows
/// on screen drawn; CSV and print take it whole.
const ROW_ESTIMATE: f64 = 37.0;

/// Whether a register can be narrowed to one villager group: the plan and
/// the year-end figures are the village's.
fn by_group(name: &str) -> bool {
    !matches!(name, "plan-progress" | "year-end")
}

/// A register's rows, built once for a choice of period, group and
/// language; turned into text cells a page at a time for the screen, and
/// whole for CSV (the year's visit log runs to thousands of rows).
#[derive(Clone, Debug, PartialEq)]
pub enum Register {
    /// 育龄妇女花名册.
    Roster(Vec<RosterRow>),
    /// 三查登记表 of a half-year.
    ThreeChecks(Vec<ThreeCheckRow>, Period),
    /// 随访记录册 of a period.
    FollowUps(Vec<FollowUpRow>, Period),
    /// 流动人口登记册.
    Migrants(Vec<MigrantRow>),
    /// 关爱女孩档案 of a year.
    CareForGirls(Vec<CareForGirlsRow>, i32),
    /// 工作计划完成情况 of a year, as of a day.
    PlanProgress(Vec<PlanProgressRow>, i32, chrono::NaiveDate),
    /// A short register, already a table.
    Table(Table),
}

impl Register {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            Register::Roster(rows) => rows.len(),
            Register::ThreeChecks(rows, _) => rows.len(),
            Register::FollowUps(rows, _) => rows.len(),
            Register::Migrants(rows) => rows.len(),
            Register::CareForGirls(rows, _) => rows.len(),
            Register::PlanProgress(rows, _, _) => rows.len(),
            Register::Table(table) => table.rows.len(),
        }
    }

    /// The rows `range` (clamped) as a table, in `lang`.
    pub fn table(&self, range: std::ops::Range<usize>, lang: TableLang) -> Table {
        fn part<'a, T>(rows: &'a [T], range: &std::ops::Range<usize>) -> &'a [T] {
            let end = range.end.min(rows.len());
            &rows[range.start.min(end)..end]
        }
        match self {
            Register::Roster(rows) => roster_table(part(rows, &range), lang),
            Register::ThreeChecks(rows, half) => three_check_table(part(rows, &range), *half, lang),
            Register::FollowUps(rows, period) => follow_up_table(part(rows, &range), *period, lang),
            Register::Migrants(rows) => migrant_table(part(rows, &range), lang),
            Register::CareForGirls(rows, year) => {
                care_for_girls_table(part(rows, &range), *year, lang)
            }
            Register::PlanProgress(rows, year, day) => {
                plan_progress_table(part(rows, &range), *year, *day, lang)
            }
            Register::Table(table) => Table {
                rows: part(&table.rows, &range).to_vec(),
                ..table.clone()
            },
        }
    }

    /// The whole register as a table, for CSV and print.
    pub fn whole(&self, lang: TableLang) -> Table {
        self.table(0..usize::MAX, lang)
    }
}

/// Builds a register for the first live village over `period` (the
/// registers of a day are drawn up on the period's end, or today while it
/// runs), for one villager group or the whole village, in `lang` (the short
/// tables that are made whole at once).
pub fn build(
    data: &Dataset,
    name: &str,
    period: Period,
    group: Option<&str>,
    lang: TableLang,
) -> Option<Register> {
    let village = data.villages.iter().find(|v| !v.deleted)?.id;
    let today = today();
    let day = reference_day(period, today);
    let rules = Rules::default();
    let year = period.year();
    let part;
    let data = match group {
        Some(group) if by_group(name) => {
            part = only_group(data, group);
            &part
        }
        _ => data,
    };
    Some(match name {
        "roster" => Register::Roster(roster(data, village, day, &rules)),
        "three-checks" => {
            let half = Period::half_year_of(day);
            Register::ThreeChecks(
                three_check_register(data, village, half, today, &rules),
                half,
            )
        }
        "follow-ups" => Register::FollowUps(follow_up_log(data, village, period), period),
        "migrants" => Register::Migrants(migrant_register(data, village, day)),
        "care-for-girls" => {
            Register::CareForGirls(care_for_girls_archive(data, village, year), year)
        }
        "plan-progress" => Register::PlanProgress(plan_progress(data, village, year), year, today),
        "indicators" => {
            let title = match lang {
                TableLang::Zh => format!("统计报表（{}）", period.name_zh()),
                TableLang::En => format!("Indicator summary ({})", period.name_en()),
            };
            Register::Table(indicator_table(
                &fieldbook_core::indicators::indicators(data, village, period, today, &rules),
                &title,
                lang,
            ))
        }
        "year-end" => Register::Table(year_end_table(
            &year_end_figures(data, village, year, today, &rules),
            lang,
        )),
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

use super::indicators::{PeriodKind, period_of};

fn table_lang(lang: Lang) -> TableLang {
    match lang {
        Lang::ZhCn => TableLang::Zh,
        Lang::En => TableLang::En,
    }
}

/// One register as a table, windowed (the rows on screen drawn), for a chosen period and
/// villager group, with CSV export (the whole register) and print.
#[component]
pub fn ReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let kind = RwSignal::new(PeriodKind::Year);
    let previous = RwSignal::new(false);
    let group = RwSignal::new(None::<String>);
    let groups = Memo::new(move |_| {
        state.with_list(|r| {
            r.first_village()
                .map(|v| villager_groups(r.dataset(), v.id))
                .unwrap_or_default()
        })
    });
    let register = Memo::new(move |_| {
        let period = period_of(kind.get(), previous.get());
        let group = group.get();
        let lang = table_lang(i18n.lang());
        let name = name.get();
        // Built over every visit: nothing until the cold start has read them.
        if !state.history_ready() {
            return None;
        }
        state.with_all(|r| build(r.dataset(), &name, period, group.as_deref(), lang))
    });
    let exists = Memo::new(move |_| register.with(Option::is_some));
    let row_count = Memo::new(move |_| register.with(|r| r.as_ref().map_or(0, Register::len)));
    // The title and headers; only the rows on screen become text cells.
    let table = Memo::new(move |_| {
        let lang = table_lang(i18n.lang());
        register.with(|r| r.as_ref().map(|r| r.table(0..0, lang)))
    });
    // The register's lines, keyed by the register they belong to and their
    // place in it (register lines carry no record id; a register is built
    // whole again when its records, period, group or language change, and
    // its rows are then drawn anew).
    let built = StoredValue::new(0_u64);
    let lines = Memo::new(move |_| {
        register.track();
        built.update_value(|b| *b += 1);
        let generation = built.get_value();
        (0..row_count.get_untracked())
            .map(|i| (generation, i))
            .collect::<Vec<_>>()
    });
    let row = move |(_, i): (u64, usize)| {
        let lang = table_lang(untrack(|| i18n.lang()));
        let cells = register
            .with_untracked(|r| r.as_ref().map(|r| r.table(i..i + 1, lang).rows))
            .and_then(|mut rows| rows.pop())
            .unwrap_or_default();
        view! { <tr>{cells.into_iter().map(|cell| view! { <td>{cell}</td> }).collect_view()}</tr> }
    };
    let export = move |_| {
        let lang = table_lang(untrack(|| i18n.lang()));
        if let Some(table) = register.with_untracked(|r| r.as_ref().map(|r| r.whole(lang))) {
            let file = format!("{}-{}.csv", table.title, today());
            if let Err(error) = download(&table.to_csv(), &file, "text/csv;charset=utf-8") {
                leptos::logging::warn!("CSV download failed: {error:?}");
            }
        }
    };
    // Every row is drawn for print, then the dialog opens.
    let print = move |_| crate::components::print_all();
    let kinds = move || {
        [
        (PeriodKind::Month, Key::PeriodMonth, "month"),
        (PeriodKind::Quarter, Key::PeriodQuarter, "quarter"),
        (PeriodKind::HalfYear, Key::PeriodHalfYear, "half-year"),
        (PeriodKind::Year, Key::PeriodYear, "year"),
    ]
    .into_iter()
    .map(|(k, key, slug)| {
        view! {
            <button type="button" class="choice small" data-testid=format!("report-period-{slug}")
                aria-pressed=move || (kind.get() == k).to_string()
                on:click=move |_| kind.set(k)>{move || i18n.t(key)}</button>
        }
    })
    .collect_view()
    };
    let headers = move || {
        table.with(|t| {
            t.as_ref().map(|t| {
                t.headers
                    .iter()
                    .map(|h| view! { <th scope="col">{*h}</th> })
                    .collect_view()
            })
        })
    };
    let columns = Memo::new(move |_| table.with(|t| t.as_ref().map_or(1, |t| t.headers.len())));
    let rows = move || {
        let columns = u16::try_from(columns.get()).unwrap_or(u16::MAX);
        view! {
            <Windowed items=lines key=|line: &(u64, usize)| *line row estimate=ROW_ESTIMATE rows=Rows::Table(columns)/>
        }
    };
    view! {
        <section class="section report" data-testid="report">
            <a class="back-link no-print" href="/reports" data-testid="back-to-reports">"← " {move || i18n.t(Key::BackToReports)}</a>
            {move || match exists.get() {
                false if !state.history_ready() => view! {
                    <p class="hint history-loading" data-testid="history-loading">{move || i18n.t(Key::HistoryLoading)}</p>
                }
                .into_any(),
                false => view! { <p class="empty">{move || i18n.t(Key::NoPlan)}</p> }.into_any(),
                true => view! {
                    <h2 id="report-title" data-testid="report-title">{move || table.with(|t| t.as_ref().map(|t| t.title.clone()))}</h2>
                    <div class="report-choices no-print">
                        <div class="choices" role="group" aria-label=move || i18n.t(Key::ReportPeriod)>{kinds()}</div>
                        <div class="choices" role="group">
                            <button type="button" class="choice small" data-testid="report-period-current"
                                aria-pressed=move || (!previous.get()).to_string()
                                on:click=move |_| previous.set(false)>{move || i18n.t(Key::PeriodCurrent)}</button>
                            <button type="button" class="choice small" data-testid="report-period-previous"
                                aria-pressed=move || previous.get().to_string()
                                on:click=move |_| previous.set(true)>{move || i18n.t(Key::PeriodPrevious)}</button>
                        </div>
                        <p class="period-name" data-testid="report-period">
                            {move || super::indicators::period_name(i18n.lang(), period_of(kind.get(), previous.get()))}
                        </p>
                        {move || if by_group(&name.get()) {
                            view! {
                                <label class="field-label" for="report-group">{move || i18n.t(Key::ReportGroup)}</label>
                                <select id="report-group" class="text" data-testid="report-group"
                                    on:change=move |ev| {
                                        let value = event_target_value(&ev);
                                        group.set((!value.is_empty()).then_some(value));
                                    }>
                                    <option value="" selected=move || group.with(Option::is_none)>{move || i18n.t(Key::AllGroups)}</option>
                                    {move || groups.get().into_iter().map(|g| {
                                        let chosen = g.clone();
                                        view! { <option value=g.clone() selected=move || group.get().as_deref() == Some(chosen.as_str())>{g.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            }.into_any()
                        } else {
                            view! { <p class="intro">{move || i18n.t(Key::WholeVillageOnly)}</p> }.into_any()
                        }}
                    </div>
                    <div class="actions no-print">
                        <button class="primary" data-testid="export-csv" on:click=export>{move || i18n.t(Key::ExportCsv)}</button>
                        <button data-testid="print" on:click=print>{move || i18n.t(Key::Print)}</button>
                    </div>
                    <p class="count no-print" data-testid="report-rows">{move || row_count.get()} " " {move || i18n.t(Key::Rows)}</p>
                    // Focusable so a keyboard can scroll a wide register.
                    <div class="table-scroll" tabindex="0" role="region" aria-labelledby="report-title">
                        <table class="register" aria-rowcount=move || (row_count.get() + 1).to_string()>
                            <thead><tr>{headers}</tr></thead>
                            <tbody data-testid="report-body">{rows}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

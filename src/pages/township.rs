//! 乡镇汇总: a township officer's page. The villages side by side with
//! their indicators for a period, their last sync and values to review, from
//! the server's summary, sorted by name (in Chinese order, by pinyin) or by a
//! rate, the choice remembered on the phone. The table scrolls inside its own
//! box, so the page is never wider than the phone; a tap on a village opens
//! its indicators' detail right under its row.

use fieldbook_core::api::{Summary, VillageIndicators, VillageSummary};
use fieldbook_core::period::Period;
use fieldbook_core::plan::IndicatorKind;
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::state::{today, use_app_state};

/// localStorage key of the chosen order.
const SORT_KEY: &str = "fieldbook.township.sort";

/// A period as the API spells it: `2026`, `2026-H2`, `2026-Q4`, `2026-11`.
fn spelled(period: Period) -> String {
    use chrono::Datelike;
    let start = period.start();
    let (year, month) = (start.year(), start.month());
    match period {
        Period::Month { .. } => format!("{year}-{month:02}"),
        Period::Quarter { .. } => format!("{year}-Q{}", (month - 1) / 3 + 1),
        Period::HalfYear { .. } => format!("{year}-H{}", if month <= 6 { 1 } else { 2 }),
        Period::Year { .. } => format!("{year}"),
    }
}

/// A rate in per cent, or a dash.
fn rate(numerator: usize, denominator: usize) -> String {
    if denominator == 0 {
        "—".into()
    } else {
        format!("{:.0}%", numerator as f64 * 100.0 / denominator as f64)
    }
}

/// What the villages are sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SortBy {
    /// The village's name, in Chinese order (pinyin).
    Name,
    /// One indicator's rate; a village with nothing to count goes last.
    Rate(IndicatorKind),
}

/// The chosen order, remembered on the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SortChoice {
    by: SortBy,
    descending: bool,
}

impl Default for SortChoice {
    fn default() -> Self {
        SortChoice {
            by: SortBy::Name,
            descending: false,
        }
    }
}

/// The `<select>` value of an order.
fn sort_value(by: SortBy) -> String {
    match by {
        SortBy::Name => "name".into(),
        SortBy::Rate(kind) => serde_json::to_string(&kind)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
    }
}

/// The order a `<select>` value names.
fn sort_of_value(value: &str) -> SortBy {
    serde_json::from_value(serde_json::Value::String(value.into()))
        .map(SortBy::Rate)
        .unwrap_or(SortBy::Name)
}

/// Compares two names as Chinese readers order them (by pinyin), with the
/// browser's collation; by code points where it has none.
fn compare_names() -> impl Fn(&str, &str) -> std::cmp::Ordering {
    let locales = js_sys::Array::of1(&"zh-CN".into());
    let collator = js_sys::Intl::Collator::new(&locales, &js_sys::Object::new());
    let compare = collator.compare();
    move |a: &str, b: &str| {
        compare
            .call2(&wasm_bindgen::JsValue::NULL, &a.into(), &b.into())
            .ok()
            .and_then(|v| v.as_f64())
            .map_or_else(
                || a.cmp(b),
                |n| n.partial_cmp(&0.0).unwrap_or(std::cmp::Ordering::Equal),
            )
    }
}

/// The village's rate of `kind` as a number, `None` when there is nothing
/// to count.
fn rate_of(village: &VillageSummary, kind: IndicatorKind) -> Option<f64> {
    village
        .indicators
        .iter()
        .find(|i| i.kind == kind)
        .filter(|i| i.denominator > 0)
        .map(|i| i.numerator as f64 / i.denominator as f64)
}

/// The villages in the chosen order: by name, or by a rate (then by name),
/// those with nothing to count last either way.
fn sorted(mut villages: Vec<VillageSummary>, choice: SortChoice) -> Vec<VillageSummary> {
    let by_name = compare_names();
    villages.sort_by(|a, b| {
        let names = by_name(&a.village.name, &b.village.name);
        match choice.by {
            SortBy::Name if choice.descending => names.reverse(),
            SortBy::Name => names,
            SortBy::Rate(kind) => match (rate_of(a, kind), rate_of(b, kind)) {
                (Some(x), Some(y)) => {
                    let order = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                    let order = if choice.descending {
                        order.reverse()
                    } else {
                        order
                    };
                    order.then(names)
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => names,
            },
        }
    });
    villages
}

/// The township page.
#[component]
pub fn TownshipPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let periods = [
        Period::year_of(today()),
        Period::half_year_of(today()),
        Period::quarter_of(today()),
        Period::month_of(today()),
    ];
    let period = RwSignal::new(periods[0]);
    let selected = RwSignal::new(None::<String>);
    let sort = RwSignal::new(LocalStorage::get::<SortChoice>(SORT_KEY).unwrap_or_default());
    let choose = move |choice: SortChoice| {
        sort.set(choice);
        // Not remembered (private mode, full storage): the order still
        // applies on this page.
        let _ = LocalStorage::set(SORT_KEY, choice);
    };
    let summary = LocalResource::new(move || {
        let period = period.get();
        let session = state.session.get();
        async move {
            let session = session?;
            let path = format!(
                "/api/v1/township/summary?period={}&today={}",
                spelled(period),
                today()
            );
            Some(crate::sync::get::<Summary>(&session, &path).await)
        }
    });
    // The detail answers with the village and period it is of, so a tap on
    // another village (or period) never shows the previous one's figures.
    let detail = LocalResource::new(move || {
        let period = period.get();
        let village = selected.get();
        let session = state.session.get();
        async move {
            let (session, village) = (session?, village?);
            let path = format!(
                "/api/v1/township/indicators?village={village}&period={}&today={}",
                spelled(period),
                today()
            );
            let answer = crate::sync::get::<VillageIndicators>(&session, &path)
                .await
                .ok();
            Some((village, period, answer))
        }
    });
    let period_buttons = periods
        .into_iter()
        .map(|p| {
            view! {
                <button class="choice small" aria-pressed=move || (period.get() == p).to_string()
                    data-testid=format!("period-{}", spelled(p)) on:click=move |_| period.set(p)>
                    {move || i18n.period(p)}
                </button>
            }
        })
        .collect_view();
    let sort_options = move || {
        std::iter::once(SortBy::Name)
            .chain(IndicatorKind::ALL.into_iter().map(SortBy::Rate))
            .map(|by| {
                let label = match by {
                    SortBy::Name => i18n.t(Key::TownshipSortName).to_string(),
                    SortBy::Rate(kind) => i18n.label(&kind).to_string(),
                };
                view! {
                    <option value=sort_value(by) selected=move || sort.get().by == by>{label}</option>
                }
            })
            .collect_view()
    };
    let direction = move |descending: bool| {
        let key = if descending {
            Key::TownshipDescending
        } else {
            Key::TownshipAscending
        };
        view! {
            <button class="choice small" data-testid=if descending { "sort-descending" } else { "sort-ascending" }
                aria-pressed=move || (sort.get().descending == descending).to_string()
                on:click=move |_| choose(SortChoice { descending, ..sort.get_untracked() })>
                {move || i18n.t(key)}
            </button>
        }
    };
    let controls = view! {
        <div class="township-sort">
            <label for="township-sort">{move || i18n.t(Key::TownshipSortBy)}</label>
            <select id="township-sort" data-testid="township-sort"
                on:change=move |ev| choose(SortChoice { by: sort_of_value(&event_target_value(&ev)), ..sort.get_untracked() })>
                {sort_options}
            </select>
            {direction(false)}
            {direction(true)}
        </div>
    };
    let loading = move |key: Key, testid: &'static str| {
        view! {
            <p class="township-loading" role="status" aria-busy="true" data-testid=testid>
                <span class="township-spinner" aria-hidden="true"></span>
                {move || i18n.t(key)}
            </p>
        }
    };
    let detail_view = move || match detail.get().flatten() {
        // Still coming, or the answer of another village or period.
        None => loading(Key::TownshipDetailLoading, "village-detail-loading").into_any(),
        Some((village, asked, _))
            if Some(&village) != selected.get().as_ref() || asked != period.get() =>
        {
            loading(Key::TownshipDetailLoading, "village-detail-loading").into_any()
        }
        Some((_, _, None)) => view! {
            <p class="error" role="alert">{move || i18n.t(Key::TownshipDetailFailed)}</p>
        }
        .into_any(),
        Some((_, asked, Some(d))) => {
            let items = d
                .indicators
                .iter()
                .map(|i| {
                    view! {
                        <li>{i18n.label(&i.kind)} ": " {i.numerator.len()} " / " {i.denominator.len()}
                            " (" {rate(i.numerator.len(), i.denominator.len())} ")"</li>
                    }
                })
                .collect_view();
            view! {
                <h3>{d.village.name.clone()} " · " {move || i18n.period(asked)}</h3>
                <ul>{items}</ul>
            }
            .into_any()
        }
    };
    let table = move || match summary.get().flatten() {
        None => loading(Key::TownshipLoading, "township-loading").into_any(),
        Some(Err(e)) => {
            let (zh, en) = e.both();
            view! { <p class="error" role="alert" data-testid="township-error">{i18n.pick_text(&zh, Some(&en))}</p> }.into_any()
        }
        // The answer of another period: the asked one is coming.
        Some(Ok(summary)) if summary.period != period.get() => {
            loading(Key::TownshipLoading, "township-loading").into_any()
        }
        Some(Ok(summary)) => {
            let kinds: Vec<_> = summary
                .villages
                .first()
                .map(|v| v.indicators.iter().map(|i| i.kind).collect())
                .unwrap_or_else(|| IndicatorKind::ALL.to_vec());
            let columns = kinds.len() + 4;
            let head = kinds
                .iter()
                .map(|k| view! { <th scope="col">{i18n.label(k)}</th> })
                .collect_view();
            let rows = sorted(summary.villages, sort.get())
                .into_iter()
                .map(|line| {
                    let id = line.village.id.clone();
                    let open = {
                        let id = id.clone();
                        move || selected.get().as_deref() == Some(id.as_str())
                    };
                    let toggle = {
                        let id = id.clone();
                        move |_| {
                            selected.update(|s| {
                                *s = if s.as_deref() == Some(id.as_str()) {
                                    None
                                } else {
                                    Some(id.clone())
                                }
                            })
                        }
                    };
                    let detail_id = format!("village-detail-{id}");
                    let cells = line
                        .indicators
                        .iter()
                        .map(|i| view! { <td>{rate(i.numerator, i.denominator)}</td> })
                        .collect_view();
                    let (open_row, open_class, open_controls) =
                        (open.clone(), open.clone(), open.clone());
                    let controls_id = detail_id.clone();
                    view! {
                        <tr data-testid="township-village" class:open=open_class>
                            <th scope="row">
                                <button class="link" aria-expanded=move || open().to_string()
                                    aria-controls=move || open_controls().then(|| controls_id.clone())
                                    on:click=toggle>{line.village.name.clone()}</button>
                            </th>
                            <td data-testid="village-households">{line.households}</td>
                            {cells}
                            <td>{line.last_sync_ms.map(|ms| i18n.moment(ms as f64)).unwrap_or_else(|| "—".into())}</td>
                            <td data-testid="village-conflicts">{line.open_conflicts}</td>
                        </tr>
                        <Show when=open_row>
                            <tr class="village-detail-row">
                                <td colspan=columns>
                                    <div class="village-detail" id=detail_id.clone() data-testid="village-detail">
                                        {detail_view}
                                    </div>
                                </td>
                            </tr>
                        </Show>
                    }
                })
                .collect_view();
            view! {
                <div class="table-scroll township-scroll" tabindex="0" role="region"
                    aria-label=move || i18n.t(Key::TownshipTitle)>
                    <table class="register township-table" data-testid="township-table">
                        <thead><tr>
                            <th scope="col">{i18n.t(Key::Village)}</th>
                            <th scope="col">{i18n.t(Key::Households)}</th>
                            {head}
                            <th scope="col">{i18n.t(Key::LastSync)}</th>
                            <th scope="col">{i18n.t(Key::OpenConflicts)}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <SectionPage slug="township" title=Key::TownshipTitle intro=Key::TownshipIntro>
            <div class="choices">{period_buttons}</div>
            {controls}
            {table}
        </SectionPage>
    }
}

//! 乡镇汇总: a township officer's page. The villages side by side with
//! their indicators for a period, their last sync and values to review, from
//! the server's summary; a tap on a village shows its indicators' detail.

use fieldbook_core::api::{Summary, VillageIndicators};
use fieldbook_core::period::Period;
use leptos::prelude::*;

use crate::components::{SectionPage, local_time};
use crate::i18n::{Key, use_i18n};
use crate::state::{today, use_app_state};

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
            crate::sync::get::<VillageIndicators>(&session, &path)
                .await
                .ok()
        }
    });
    let period_buttons = periods
        .into_iter()
        .map(|p| {
            view! {
                <button class="choice small" aria-pressed=move || (period.get() == p).to_string()
                    data-testid=format!("period-{}", spelled(p)) on:click=move |_| period.set(p)>
                    {spelled(p)}
                </button>
            }
        })
        .collect_view();
    let table = move || match summary.get().flatten() {
        None => None,
        Some(Err(e)) => {
            let (zh, en) = e.both();
            Some(view! { <p class="error" role="alert" data-testid="township-error">{i18n.pick_text(&zh, Some(&en))}</p> }.into_any())
        }
        Some(Ok(summary)) => {
            let kinds: Vec<_> = summary
                .villages
                .first()
                .map(|v| v.indicators.iter().map(|i| i.kind).collect())
                .unwrap_or_default();
            let head = kinds
                .iter()
                .map(|k| view! { <th scope="col">{i18n.label(k)}</th> })
                .collect_view();
            let rows = summary
                .villages
                .into_iter()
                .map(|line| {
                    let id = line.village.id.clone();
                    let cells = line
                        .indicators
                        .iter()
                        .map(|i| view! { <td>{rate(i.numerator, i.denominator)}</td> })
                        .collect_view();
                    view! {
                        <tr data-testid="township-village">
                            <th scope="row">
                                <button class="link" on:click=move |_| selected.set(Some(id.clone()))>{line.village.name.clone()}</button>
                            </th>
                            <td data-testid="village-households">{line.households}</td>
                            {cells}
                            <td>{line.last_sync_ms.map(|ms| local_time(ms as f64)).unwrap_or_else(|| "—".into())}</td>
                            <td data-testid="village-conflicts">{line.open_conflicts}</td>
                        </tr>
                    }
                })
                .collect_view();
            Some(
                view! {
                    <div class="table-wrap">
                        <table class="register" data-testid="township-table">
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
                .into_any(),
            )
        }
    };
    let detail_view = move || {
        detail.get().flatten().map(|d| {
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
                <div class="field" data-testid="village-detail">
                    <h3>{d.village.name.clone()}</h3>
                    <ul>{items}</ul>
                </div>
            }
        })
    };
    view! {
        <SectionPage slug="township" title=Key::TownshipTitle intro=Key::TownshipIntro>
            <div class="choices">{period_buttons}</div>
            <Suspense>{table}{detail_view}</Suspense>
        </SectionPage>
    }
}

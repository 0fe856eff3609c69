//! 统计: the indicators for a chosen period (month, quarter, half-year, year,
//! or the one before), each with numerator and denominator, as an inline SVG
//! bar chart against the plan's targets. Tapping a rate lists who is counted
//! and who is missing.

use fieldbook_core::indicators::{Indicator, Subject, indicators};
use fieldbook_core::rules::Rules;
use fieldbook_core::{Dataset, Period};
use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::state::{today, use_app_state};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeriodKind {
    Month,
    Quarter,
    HalfYear,
    Year,
}

fn period_of(kind: PeriodKind, previous: bool) -> Period {
    let day = today();
    let period = match kind {
        PeriodKind::Month => Period::month_of(day),
        PeriodKind::Quarter => Period::quarter_of(day),
        PeriodKind::HalfYear => Period::half_year_of(day),
        PeriodKind::Year => Period::year_of(day),
    };
    if previous { period.previous() } else { period }
}

fn subject_name(data: &Dataset, subject: &Subject) -> String {
    let person = |id| {
        data.persons
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    match subject {
        Subject::Person { id } => person(*id),
        Subject::Visit { id } => data
            .visits
            .iter()
            .find(|v| v.id == *id)
            .map(|v| format!("{} {}", person(v.person_id), v.date))
            .unwrap_or_default(),
        Subject::FollowUp {
            person_id, start, ..
        } => format!("{} {start}", person(*person_id)),
        Subject::PlanTask {
            measure_id,
            occurrence,
        } => data
            .plans
            .iter()
            .find_map(|p| p.measure(*measure_id))
            .map(|m| format!("{} #{}", m.title, occurrence + 1))
            .unwrap_or_default(),
    }
}

fn percent(permille: Option<u32>) -> String {
    permille.map_or_else(|| "—".into(), |p| format!("{}.{}%", p / 10, p % 10))
}

/// The indicators page.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let kind = RwSignal::new(PeriodKind::Month);
    let previous = RwSignal::new(false);
    let open = RwSignal::new(None::<usize>);
    let rates = Memo::new(move |_| {
        let period = period_of(kind.get(), previous.get());
        state.data.with(|d| {
            d.villages
                .iter()
                .find(|v| !v.deleted)
                .map(|v| indicators(d, v.id, period, today(), &Rules::default()))
                .unwrap_or_default()
        })
    });
    let kinds = [
        (PeriodKind::Month, Key::PeriodMonth, "month"),
        (PeriodKind::Quarter, Key::PeriodQuarter, "quarter"),
        (PeriodKind::HalfYear, Key::PeriodHalfYear, "half-year"),
        (PeriodKind::Year, Key::PeriodYear, "year"),
    ]
    .into_iter()
    .map(|(k, key, slug)| {
        view! {
            <button
                type="button"
                class="choice small"
                data-testid=format!("period-{slug}")
                aria-pressed=move || (kind.get() == k).to_string()
                on:click=move |_| { kind.set(k); open.set(None); }
            >
                {move || i18n.t(key)}
            </button>
        }
    })
    .collect_view();

    view! {
        <SectionPage slug="indicators" title=Key::IndicatorsTitle intro=Key::IndicatorsIntro>
            <div class="choices" role="group">{kinds}</div>
            <div class="choices" role="group">
                <button type="button" class="choice small" data-testid="period-current"
                    aria-pressed=move || (!previous.get()).to_string()
                    on:click=move |_| previous.set(false)>{move || i18n.t(Key::PeriodCurrent)}</button>
                <button type="button" class="choice small" data-testid="period-previous"
                    aria-pressed=move || previous.get().to_string()
                    on:click=move |_| previous.set(true)>{move || i18n.t(Key::PeriodPrevious)}</button>
            </div>
            <p class="intro" data-testid="period-range">
                {move || { let p = period_of(kind.get(), previous.get()); format!("{} – {}", p.start(), p.end()) }}
            </p>
            <a class="button" href="/reports" data-testid="reports-link">{move || i18n.t(Key::ReportsLink)}</a>
            <Chart rates/>
            <ul class="rates">
                {move || rates.get().into_iter().enumerate().map(|(index, rate)| view! { <RateRow index rate open/> }).collect_view()}
            </ul>
        </SectionPage>
    }
}

/// The bar chart: one bar a rate, with a tick at the target.
#[component]
fn Chart(
    /// The rates shown.
    rates: Memo<Vec<Indicator>>,
) -> impl IntoView {
    let i18n = use_i18n();
    const ROW: f64 = 28.0;
    const LABEL: f64 = 128.0;
    const WIDTH: f64 = 200.0;
    view! {
        {move || {
            let rates = rates.get();
            let height = ROW * rates.len() as f64;
            let bars = rates
                .iter()
                .enumerate()
                .map(|(i, rate)| {
                    let y = i as f64 * ROW;
                    let share = rate.rate().unwrap_or(0.0);
                    let met = rate.meets_target().unwrap_or(true);
                    let target_x = rate.target.map(|t| LABEL + WIDTH * f64::from(t.goal_permille) / 1000.0);
                    let kind = rate.kind;
                    view! {
                        <g>
                            <text x="0" y=y + 18.0 font-size="12">{move || i18n.label(&kind)}</text>
                            <rect x=LABEL y=y + 6.0 width=WIDTH height="14" fill="#e6ebe8"/>
                            <rect x=LABEL y=y + 6.0 width=WIDTH * share height="14" fill=if met { "#1f6f5c" } else { "#e0703a" }/>
                            {target_x.map(|x| view! { <line x1=x x2=x y1=y + 2.0 y2=y + 24.0 stroke="#1d2421" stroke-width="2"/> })}
                        </g>
                    }
                })
                .collect_view();
            view! {
                <svg class="chart" data-testid="chart" role="img" viewBox=format!("0 0 {} {height}", LABEL + WIDTH + 4.0)
                    aria-label=move || i18n.t(Key::ChartLabel)>
                    {bars}
                </svg>
            }
        }}
    }
}

/// One rate: its figures, and when tapped, the people behind it.
#[component]
fn RateRow(
    /// Position, to know which row is open.
    index: usize,
    /// The rate.
    rate: Indicator,
    /// The open row.
    open: RwSignal<Option<usize>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let kind = rate.kind;
    let figures = format!(
        "{}/{} = {}",
        rate.numerator.len(),
        rate.denominator.len(),
        percent(rate.rate_permille())
    );
    let target = rate
        .target
        .map(|t| percent(Some(u32::from(t.goal_permille))));
    let met = rate.meets_target();
    let rate = StoredValue::new(rate);
    let names = move |subjects: Vec<Subject>| {
        state.data.with(|d| {
            subjects
                .iter()
                .map(|s| subject_name(d, s))
                .collect::<Vec<_>>()
                .join("、")
        })
    };
    view! {
        <li class="rate" data-testid="rate">
            <button class="rate-head" on:click=move |_| open.update(|o| *o = if *o == Some(index) { None } else { Some(index) })>
                <span class="rate-name">{move || i18n.label(&kind)}</span>
                <span class="rate-figures" data-testid="rate-figures">{figures}</span>
                <span class="rate-target">
                    {target.map(|t| format!("≥{t}"))}
                    {move || met.map(|m| if m { " ✓" } else { " ✗" })}
                </span>
            </button>
            <Show when=move || open.get() == Some(index)>
                <div class="rate-detail" data-testid="rate-detail">
                    <p><strong>{move || i18n.t(Key::Counted)}</strong> " " {move || names(rate.with_value(|r| r.numerator.clone()))}</p>
                    <p><strong>{move || i18n.t(Key::Missing)}</strong> " " {move || names(rate.with_value(Indicator::missing))}</p>
                </div>
            </Show>
        </li>
    }
}

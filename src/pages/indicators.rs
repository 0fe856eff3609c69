//! 统计: the indicators for a chosen period (month, quarter, half-year, year,
//! or the one before), each with numerator and denominator and the period it
//! is counted over, as an inline SVG bar chart against the plan's targets.
//! Tapping a rate lists who is missing first, one row a person with her
//! household, group and phone, each a link to record the visit, and the list
//! exports as CSV; those counted follow, folded.

use chrono::NaiveDate;
use fieldbook_core::indicators::{
    Basis, Indicator, NaturalPeriod, PersonRow, Subject, basis, counted_people, indicators,
    missing_people,
};
use fieldbook_core::plan::IndicatorKind;
use fieldbook_core::registers::{Lang as TableLang, people_table};
use fieldbook_core::rules::Rules;
use fieldbook_core::{Dataset, Period};
use leptos::prelude::*;

use crate::components::{SectionPage, Windowed};
use crate::i18n::{I18n, Key, Lang, use_i18n};
use crate::state::{today, use_app_state};

/// A drill-down person row's height before one is measured, in CSS pixels.
const PERSON_ESTIMATE: f64 = 64.0;

/// The kind of period the indicators and the reports choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeriodKind {
    Month,
    Quarter,
    HalfYear,
    Year,
}

/// This (or, `previous`, the last) period of `kind` on the phone's today.
pub(crate) fn period_of(kind: PeriodKind, previous: bool) -> Period {
    let day = today();
    let period = match kind {
        PeriodKind::Month => Period::month_of(day),
        PeriodKind::Quarter => Period::quarter_of(day),
        PeriodKind::HalfYear => Period::half_year_of(day),
        PeriodKind::Year => Period::year_of(day),
    };
    if previous { period.previous() } else { period }
}

/// A period's name in the UI's language: 2026年第四季度, Q4 2026.
pub fn period_name(lang: Lang, period: Period) -> String {
    fieldbook_core::words::period(lang.words(), period)
}

/// A day in the UI's language: 2026年12月6日, 6 Dec 2026.
fn day_name(lang: Lang, day: NaiveDate) -> String {
    fieldbook_core::words::date(lang.words(), day)
}

/// What a rate is counted over, in words: "2026年第四季度",
/// "按半年计算（2026年下半年）", "截至2026年12月6日".
fn basis_text(i18n: I18n, basis: Basis) -> String {
    let lang = i18n.lang();
    match basis {
        Basis::Chosen { period } => {
            format!(
                "{}{}",
                i18n.t(Key::IndCountedOver),
                period_name(lang, period)
            )
        }
        Basis::Natural {
            natural,
            period,
            through,
        } => {
            let by = match natural {
                NaturalPeriod::Quarter => i18n.t(Key::IndByQuarter),
                _ => i18n.t(Key::IndByHalfYear),
            };
            let up_to = if through < period.end() && through < today() {
                format!("{}{}", i18n.t(Key::IndUpTo), day_name(lang, through))
            } else {
                String::new()
            };
            match lang {
                Lang::ZhCn => format!("{by}（{}{up_to}）", period_name(lang, period)),
                Lang::En => format!("{by} {}{up_to}", period_name(lang, period)),
            }
        }
        Basis::OnDay { day } => format!("{}{}", i18n.t(Key::IndAsOf), day_name(lang, day)),
    }
}

/// What a plan task is, by name, for the plan-completion drill-down.
fn plan_task_name(data: &Dataset, subject: &Subject) -> Option<String> {
    let Subject::PlanTask {
        measure_id,
        occurrence,
    } = subject
    else {
        return None;
    };
    data.plans
        .iter()
        .find_map(|p| p.measure(*measure_id))
        .map(|m| format!("{} #{}", m.title, occurrence + 1))
}

fn percent(permille: Option<u32>) -> String {
    permille.map_or_else(|| "—".into(), |p| format!("{}.{}%", p / 10, p % 10))
}

/// "未完成（141）", "Missing (141)".
fn with_count(lang: Lang, words: &str, count: usize) -> String {
    match lang {
        Lang::ZhCn => format!("{words}（{count}）"),
        Lang::En => format!("{words} ({count})"),
    }
}

/// The indicators page.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let kind = RwSignal::new(PeriodKind::Month);
    let previous = RwSignal::new(false);
    let open = RwSignal::new(None::<usize>);
    let period = Memo::new(move |_| period_of(kind.get(), previous.get()));
    let rates = Memo::new(move |_| {
        let period = period.get();
        // Counted over every visit: nothing until the cold start has read them.
        if !state.history_ready() {
            return Vec::new();
        }
        state.with_all(|r| {
            r.first_village()
                .map(|v| indicators(r.dataset(), v.id, period, today(), &Rules::default()))
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
            <div class="choices" role="group" aria-label=move || i18n.t(Key::ReportPeriod)>{kinds}</div>
            <div class="choices" role="group">
                <button type="button" class="choice small" data-testid="period-current"
                    aria-pressed=move || (!previous.get()).to_string()
                    on:click=move |_| { previous.set(false); open.set(None); }>{move || i18n.t(Key::PeriodCurrent)}</button>
                <button type="button" class="choice small" data-testid="period-previous"
                    aria-pressed=move || previous.get().to_string()
                    on:click=move |_| { previous.set(true); open.set(None); }>{move || i18n.t(Key::PeriodPrevious)}</button>
            </div>
            <p class="period-name" data-testid="period-range">
                {move || period_name(i18n.lang(), period.get())}
            </p>
            <p class="intro basis-note" data-testid="basis-note">{move || i18n.t(Key::IndBasisNote)}</p>
            <a class="button" href="/reports" data-testid="reports-link">{move || i18n.t(Key::ReportsLink)}</a>
            <Show when=move || !state.history_ready()>
                <p class="hint history-loading" data-testid="history-loading">{move || i18n.t(Key::HistoryLoading)}</p>
            </Show>
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

/// One rate: its figures and what they are counted over, and when tapped,
/// the people behind it.
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
    let kind = rate.kind;
    let empty = rate.denominator.is_empty();
    let figures = if empty {
        "—".to_string()
    } else {
        format!(
            "{}/{} = {}",
            rate.numerator.len(),
            rate.denominator.len(),
            percent(rate.rate_permille())
        )
    };
    let target = rate
        .target
        .map(|t| percent(Some(u32::from(t.goal_permille))));
    let met = rate.meets_target();
    let basis = basis(kind, rate.period, today());
    let rate = StoredValue::new(rate);
    let detail_id = format!("rate-detail-{index}");
    view! {
        <li class="rate" data-testid="rate">
            <button class="rate-head" aria-expanded=move || (open.get() == Some(index)).to_string() aria-controls=detail_id.clone()
                on:click=move |_| open.update(|o| *o = if *o == Some(index) { None } else { Some(index) })>
                <span class="rate-name">{move || i18n.label(&kind)}</span>
                <span class="rate-figures" data-testid="rate-figures">{figures}</span>
                <span class="rate-basis" data-testid="rate-basis">{move || basis_text(i18n, basis)}</span>
                <span class="rate-target" data-testid="rate-target">
                    {target.map(|t| format!("≥{t}"))}
                    {met.map(|m| if m { " ✓" } else { " ✗" })}
                </span>
            </button>
            <div id=detail_id>
                <Show when=move || open.get() == Some(index)>
                    {move || if empty {
                        view! { <p class="rate-detail" data-testid="rate-detail">{move || i18n.t(Key::IndNothingToCount)}</p> }.into_any()
                    } else if kind == IndicatorKind::PlanCompletion {
                        view! { <PlanTasksDetail rate/> }.into_any()
                    } else {
                        view! { <PeopleDetail rate/> }.into_any()
                    }}
                </Show>
            </div>
        </li>
    }
}

/// The plan tasks behind plan completion: those not ticked first.
#[component]
fn PlanTasksDetail(rate: StoredValue<Indicator>) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let names = move |subjects: Vec<Subject>| {
        state.with_plans(|r| {
            subjects
                .iter()
                .filter_map(|s| plan_task_name(r.dataset(), s))
                .collect::<Vec<_>>()
                .join("、")
        })
    };
    view! {
        <div class="rate-detail" data-testid="rate-detail">
            <p><strong>{move || i18n.t(Key::Missing)}</strong> " " {move || names(rate.with_value(Indicator::missing))}</p>
            <p><strong>{move || i18n.t(Key::Counted)}</strong> " " {move || names(rate.with_value(|r| r.numerator.clone()))}</p>
            <a class="button" href="/plan">{move || i18n.t(Key::NavPlan)}</a>
        </div>
    }
}

/// The people behind a rate: the missing first, one row a person, each a
/// link to record the visit that would count her; an export of that list;
/// then those counted, folded.
#[component]
fn PeopleDetail(rate: StoredValue<Indicator>) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let kind = rate.with_value(|r| r.kind);
    let missing = state.with_records(|d| rate.with_value(|r| missing_people(d.dataset(), r)));
    let counted = state.with_records(|d| rate.with_value(|r| counted_people(d.dataset(), r)));
    let missing_count = missing.len();
    let counted_count = counted.len();
    let missing = StoredValue::new(missing);
    let export = move |_| {
        let lang = i18n.lang();
        let table_lang = match lang {
            Lang::ZhCn => TableLang::Zh,
            Lang::En => TableLang::En,
        };
        let title = format!("{}-{}", i18n.label(&kind), i18n.t(Key::IndMissingPeople));
        let table = missing.with_value(|rows| people_table(rows, &title, table_lang));
        let file = format!("{title}-{}.csv", today());
        if let Err(error) = crate::pages::download(&table.to_csv(), &file, "text/csv;charset=utf-8")
        {
            leptos::logging::warn!("CSV download failed: {error:?}");
        }
    };
    // Keyed by person. The missing, the list worked from, are windowed (a
    // rate over the village lists hundreds); those counted, folded away and
    // searched with the browser's find, are all in the page.
    let person_key = |row: &PersonRow| row.person_id;
    let person_line = |row: PersonRow| view! { <PersonLine row/> };
    let missing_rows = view! {
        <Windowed items=Signal::stored(missing.get_value()) key=person_key row=person_line estimate=PERSON_ESTIMATE/>
    };
    let counted_rows = view! {
        <For each=move || counted.clone() key=person_key children=person_line/>
    };
    view! {
        <div class="rate-detail" data-testid="rate-detail">
            <div class="detail-head">
                <h3 class="detail-title" data-testid="missing-title">
                    {move || with_count(i18n.lang(), i18n.t(Key::IndMissingPeople), missing_count)}
                </h3>
                <Show when=move || { missing_count > 0 }>
                    <button type="button" data-testid="export-missing" on:click=export>{move || i18n.t(Key::IndExportMissing)}</button>
                </Show>
            </div>
            <Show when=move || { missing_count == 0 }>
                <p class="empty">{move || i18n.t(Key::IndNobodyMissing)}</p>
            </Show>
            <ul class="people" data-testid="missing-list">{missing_rows}</ul>
            <details class="counted" data-testid="counted">
                <summary>{move || with_count(i18n.lang(), i18n.t(Key::IndCountedPeople), counted_count)}</summary>
                <ul class="people" data-testid="counted-list">{counted_rows}</ul>
            </details>
        </div>
    }
}

/// One person of a drill-down: a link to record her visit (or to her
/// household when no single visit counts her), and her phone to call.
#[component]
fn PersonLine(row: PersonRow) -> impl IntoView {
    let i18n = use_i18n();
    let href = match row.visit_kind {
        Some(kind) => format!(
            "/visit/new?person={}&kind={}",
            row.person_id,
            crate::pages::visit_kind_slug(kind)
        ),
        None => format!("/households/{}", row.household_id),
    };
    let number = row.household_number.clone();
    let group = row.group.clone();
    let phone = row.phone.clone();
    let name = row.name.clone();
    let visit = row.visit_kind;
    view! {
        <li class="person-line" data-testid="person-row">
            <a class="person-link" href=href data-testid="person-link">
                <span class="person-name">{name}</span>
                <span class="person-meta">
                    <span data-testid="person-household">{move || format!("{} {number}", i18n.t(Key::IndHouseholdShort))}</span>
                    {(!group.is_empty()).then(|| view! { <span data-testid="person-group">{group.clone()}</span> })}
                    {visit.map(|k| view! { <span class="person-visit">{move || format!("{}{}", i18n.t(Key::IndRecordVisitFor), i18n.label(&k))}</span> })}
                </span>
            </a>
            {(!phone.is_empty()).then(|| {
                let tel = format!("tel:{}", phone.replace([' ', '-'], ""));
                let shown = phone.clone();
                view! {
                    <a class="person-phone" href=tel data-testid="person-phone"
                        aria-label=move || format!("{}{}", i18n.t(Key::IndCallPhone), shown)>{phone.clone()}</a>
                }
            })}
        </li>
    }
}

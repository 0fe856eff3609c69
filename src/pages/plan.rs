//! 计划: the year's work plan as a checklist. Each measure's dated tasks can
//! be ticked (with date, note and households reached) and unticked; progress
//! shows per section and overall.

use fieldbook_core::plan::{PlanTask, is_ticked};
use fieldbook_core::{Tick, WorkPlan};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::SectionPage;
use crate::forms::parse_date;
use crate::i18n::{Key, both, use_i18n};
use crate::state::{new_id, today, use_app_state};

/// The plan page.
#[component]
pub fn PlanPage() -> impl IntoView {
    let state = use_app_state();
    let i18n = use_i18n();
    let plan = Memo::new(move |_| {
        state.data.with(|d| {
            let mut plans: Vec<&WorkPlan> = d.plans.iter().filter(|p| !p.deleted).collect();
            plans.sort_by_key(|p| (p.year - chrono::Datelike::year(&today())).abs());
            plans.first().map(|p| (*p).clone())
        })
    });
    let ticks = Memo::new(move |_| {
        state.data.with(|d| {
            d.ticks
                .iter()
                .filter(|t| !t.deleted)
                .cloned()
                .collect::<Vec<Tick>>()
        })
    });
    view! {
        <SectionPage slug="plan" title=Key::PlanTitle intro=Key::PlanIntro>
            {move || match plan.get() {
                None => view! { <p class="empty" data-testid="no-plan">{move || i18n.t(Key::NoPlan)}</p> }.into_any(),
                Some(plan) => view! { <Checklist plan ticks/> }.into_any(),
            }}
        </SectionPage>
    }
}

fn progress_text(done: usize, total: usize) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(0);
    format!("{done}/{total} · {percent}%")
}

#[component]
fn Checklist(
    /// The plan shown.
    plan: WorkPlan,
    /// Live ticks.
    ticks: Memo<Vec<Tick>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let tasks = plan.tasks();
    let total = tasks.len();
    let done = move || ticks.with(|t| plan_done(&tasks, t));
    let title = plan.title.clone();
    let title_en = plan.title_en.clone();
    let plan = StoredValue::new(plan);
    let sections = plan.with_value(|p| p.sections.clone());
    view! {
        <div class="plan" data-testid="plan">
            <h3>{move || if i18n.lang() == crate::i18n::Lang::En { title_en.clone().unwrap_or(title.clone()) } else { title.clone() }}</h3>
            <p class="progress-line" data-testid="plan-progress">
                {move || i18n.t(Key::Progress)} " " {move || progress_text(done(), total)}
            </p>
            {sections
                .into_iter()
                .map(|section| {
                    let section_tasks: Vec<PlanTask> = plan.with_value(|p| {
                        p.tasks().into_iter().filter(|t| t.section_id == section.id).collect()
                    });
                    let section_total = section_tasks.len();
                    let section_tasks = StoredValue::new(section_tasks);
                    let title = section.title.clone();
                    let title_en = section.title_en.clone();
                    view! {
                        <details class="plan-section" data-testid="plan-section">
                            <summary>
                                <span class="section-title">
                                    {move || if i18n.lang() == crate::i18n::Lang::En { title_en.clone().unwrap_or(title.clone()) } else { title.clone() }}
                                </span>
                                <span class="section-progress" data-testid="section-progress">
                                    {move || progress_text(ticks.with(|t| section_tasks.with_value(|s| plan_done(s, t))), section_total)}
                                </span>
                            </summary>
                            <ul class="measures">
                                {section
                                    .measures
                                    .into_iter()
                                    .map(|measure| {
                                        let measure_tasks: Vec<PlanTask> = section_tasks.with_value(|s| {
                                            s.iter().filter(|t| t.measure_id == measure.id).cloned().collect()
                                        });
                                        let title = measure.title.clone();
                                        let title_en = measure.title_en.clone();
                                        view! {
                                            <li class="measure">
                                                <p class="measure-title">
                                                    {move || if i18n.lang() == crate::i18n::Lang::En { title_en.clone().unwrap_or(title.clone()) } else { title.clone() }}
                                                </p>
                                                <ul class="plan-tasks">
                                                    {measure_tasks.into_iter().map(|task| view! { <TaskRow task ticks/> }).collect_view()}
                                                </ul>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        </details>
                    }
                })
                .collect_view()}
        </div>
    }
}

fn plan_done(tasks: &[PlanTask], ticks: &[Tick]) -> usize {
    tasks.iter().filter(|t| is_ticked(t, ticks)).count()
}

/// One dated task: a checkbox, and when ticking, a short form for the date,
/// a note and the households reached.
#[component]
fn TaskRow(
    /// The task.
    task: PlanTask,
    /// Live ticks.
    ticks: Memo<Vec<Tick>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let task = StoredValue::new(task);
    let tick = Memo::new(move |_| {
        ticks.with(|all| {
            task.with_value(|t| {
                all.iter()
                    .find(|k| {
                        k.plan_id == t.plan_id
                            && k.measure_id == t.measure_id
                            && k.occurrence == t.occurrence
                    })
                    .cloned()
            })
        })
    });
    let editing = RwSignal::new(false);
    let date = RwSignal::new(today().format("%Y-%m-%d").to_string());
    let note = RwSignal::new(String::new());
    let reached = RwSignal::new(String::new());
    let error = RwSignal::new(None::<(&'static str, &'static str)>);

    let window = task.with_value(|t| {
        if t.start == t.end {
            t.start.format("%m-%d").to_string()
        } else {
            format!("{} – {}", t.start.format("%m-%d"), t.end.format("%m-%d"))
        }
    });

    let untick = move || {
        let Some(current) = tick.get_untracked() else {
            return;
        };
        let removed = Tick {
            deleted: true,
            ..current.clone()
        };
        spawn_local(async move {
            if let Err(e) = state.save(Some(current), removed).await {
                error.set(Some((e.zh(), e.en())));
            }
        });
    };
    let confirm = move |_| {
        let Some(day) = parse_date(&date.get_untracked()) else {
            error.set(Some(both(Key::DateInvalid)));
            return;
        };
        let households_reached = match reached.get_untracked().trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    error.set(Some(both(Key::HouseholdsReachedInvalid)));
                    return;
                }
            },
        };
        let new_tick = task.with_value(|t| Tick {
            id: new_id(),
            plan_id: t.plan_id,
            measure_id: t.measure_id,
            occurrence: t.occurrence,
            date: day,
            by: None,
            note: Some(note.get_untracked().trim().to_string()).filter(|n| !n.is_empty()),
            households_reached,
            deleted: false,
        });
        let problems = state
            .data
            .with_untracked(|d| fieldbook_core::validate::validate_tick(&new_tick, d, today()));
        if let Some(problem) = problems.first() {
            error.set(Some((problem.zh(), problem.en())));
            return;
        }
        spawn_local(async move {
            match state.save(None, new_tick).await {
                Ok(()) => {
                    editing.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some((e.zh(), e.en()))),
            }
        });
    };

    view! {
        <li class="plan-task" data-testid="plan-task">
            <label class="tick">
                <input
                    type="checkbox"
                    data-testid="tick"
                    prop:checked=move || tick.with(Option::is_some) || editing.get()
                    on:change=move |_| {
                        if tick.with_untracked(Option::is_some) {
                            untick();
                        } else {
                            editing.update(|e| *e = !*e);
                        }
                    }
                />
                <span class="task-window">{window}</span>
                <span class="tick-info">
                    {move || tick.get().map(|t| format!("✓ {}", t.date))}
                </span>
            </label>
            <Show when=move || editing.get()>
                <div class="tick-form">
                    <label class="field-label">{move || i18n.t(Key::DoneOn)}</label>
                    <input type="date" class="text" data-testid="tick-date" bind:value=date/>
                    <label class="field-label">{move || i18n.t(Key::HouseholdsReached)}</label>
                    <input class="text" inputmode="numeric" data-testid="tick-reached" bind:value=reached/>
                    <label class="field-label">{move || i18n.t(Key::Notes)}</label>
                    <input class="text" data-testid="tick-note" bind:value=note/>
                    <div class="actions">
                        <button class="primary" data-testid="tick-save" on:click=confirm>{move || i18n.t(Key::Save)}</button>
                        <button on:click=move |_| editing.set(false)>{move || i18n.t(Key::Cancel)}</button>
                    </div>
                </div>
            </Show>
            <crate::components::FieldError message=error/>
        </li>
    }
}

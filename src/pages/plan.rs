//! 计划: the year's work plan as a checklist. Each measure's dated tasks can
//! be ticked (with date, note and households reached) and unticked; progress
//! shows per section and overall.

use fieldbook_core::plan::{PlanTask, is_ticked};
use fieldbook_core::{Measure, Recurrence, Tick, WorkPlan};
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
    let chosen_year = RwSignal::new(None::<i32>);
    let years = Memo::new(move |_| {
        state.with_plans(|r| {
            let d = r.dataset();
            let mut years: Vec<i32> = d
                .plans
                .iter()
                .filter(|p| !p.deleted)
                .map(|p| p.year)
                .collect();
            years.sort();
            years.dedup();
            years
        })
    });
    // The chosen year's plan, else the one nearest this year.
    let plan = Memo::new(move |_| {
        let chosen = chosen_year.get();
        state.with_plans(|r| {
            let d = r.dataset();
            let mut plans: Vec<&WorkPlan> = d.plans.iter().filter(|p| !p.deleted).collect();
            plans.sort_by_key(|p| {
                let wanted = chosen.unwrap_or_else(|| chrono::Datelike::year(&today()));
                (p.year - wanted).abs()
            });
            plans.first().map(|p| (*p).clone())
        })
    });
    let error = RwSignal::new(None::<(&'static str, &'static str)>);
    // Which sections are unfolded, kept across the re-render an edit causes.
    let open_sections = RwSignal::new(Vec::<uuid::Uuid>::new());
    // Starting next year's plan asks first: an in-page confirmation.
    let confirming = RwSignal::new(false);
    let confirm_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if confirming.get()
            && let Some(button) = confirm_button.get()
        {
            let _ = button.focus();
        }
    });
    let next_year = Memo::new(move |_| {
        state.with_plans(|r| {
            let d = r.dataset();
            d.plans
                .iter()
                .filter(|p| !p.deleted)
                .map(|p| p.year + 1)
                .max()
        })
    });
    let start_next_year = move |_| {
        confirming.set(false);
        let Some(last) = state.with_records(|r| {
            let d = r.dataset();
            d.plans
                .iter()
                .filter(|p| !p.deleted)
                .max_by_key(|p| p.year)
                .cloned()
        }) else {
            return;
        };
        let next = last.carry_into(last.year + 1, new_id());
        let year = next.year;
        spawn_local(async move {
            match state.save(None, next).await {
                Ok(()) => chosen_year.set(Some(year)),
                Err(e) => error.set(Some((e.zh(), e.en()))),
            }
        });
    };
    let ticks = Memo::new(move |_| {
        state.with_plans(|r| {
            let d = r.dataset();
            d.ticks
                .iter()
                .filter(|t| !t.deleted)
                .cloned()
                .collect::<Vec<Tick>>()
        })
    });
    view! {
        <SectionPage slug="plan" title=Key::PlanTitle intro=Key::PlanIntro>
            <div class="choices" role="group">
                {move || years.get().into_iter().map(|year| view! {
                    <button type="button" class="choice small" data-testid=format!("plan-year-{year}")
                        aria-pressed=move || (plan.with(|p| p.as_ref().map(|p| p.year)) == Some(year)).to_string()
                        on:click=move |_| chosen_year.set(Some(year))>{year}</button>
                }).collect_view()}
                <Show when=move || !years.with(Vec::is_empty)>
                    <button type="button" class="choice small" data-testid="start-next-year"
                        aria-expanded=move || confirming.get().to_string()
                        on:click=move |_| confirming.set(true)>
                        {move || i18n.t(Key::StartNextYear)}
                    </button>
                </Show>
            </div>
            <Show when=move || confirming.get()>
                <div class="confirm-box" role="alertdialog" aria-labelledby="next-year-question"
                    aria-describedby="next-year-explain" data-testid="start-next-year-dialog">
                    <p id="next-year-question" class="confirm-question">
                        {move || i18n.t(Key::StartNextYearQuestion).replace("{year}", &next_year.get().map(|y| y.to_string()).unwrap_or_default())}
                    </p>
                    <p id="next-year-explain">{move || i18n.t(Key::StartNextYearExplain)}</p>
                    <div class="actions">
                        <button type="button" class="primary" node_ref=confirm_button data-testid="start-next-year-confirm"
                            on:click=start_next_year>{move || i18n.t(Key::StartNextYearConfirm)}</button>
                        <button type="button" data-testid="start-next-year-cancel"
                            on:click=move |_| confirming.set(false)>{move || i18n.t(Key::Cancel)}</button>
                    </div>
                </div>
            </Show>
            <crate::components::FieldError message=error/>
            {move || match plan.get() {
                None => view! {
                    <p class="empty" data-testid="no-plan">{move || i18n.t(Key::NoPlan)}</p>
                    <NewPlan error/>
                }.into_any(),
                Some(plan) => view! { <Checklist plan ticks open_sections/> }.into_any(),
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
    /// The unfolded sections.
    open_sections: RwSignal<Vec<uuid::Uuid>>,
) -> impl IntoView {
    let i18n = use_i18n();
    // The year's tasks, computed once and shared by the overall and the
    // per-section progress.
    let tasks = StoredValue::new(plan.tasks());
    let total = tasks.with_value(Vec::len);
    let done = move || ticks.with(|t| tasks.with_value(|all| plan_done(all, t)));
    let title = plan.title.clone();
    let title_en = plan.title_en.clone();
    let plan = StoredValue::new(plan);
    let sections = plan.with_value(|p| p.sections.clone());
    view! {
        <div class="plan" data-testid="plan">
            <h3 data-testid="plan-title">{move || i18n.pick_text(&title, title_en.as_deref())}</h3>
            <p class="progress-line" data-testid="plan-progress">
                {move || i18n.t(Key::Progress)} " " {move || progress_text(done(), total)}
            </p>
            {sections
                .into_iter()
                .map(|section| {
                    let section_tasks: Vec<PlanTask> = tasks.with_value(|all| {
                        all.iter().filter(|t| t.section_id == section.id).cloned().collect()
                    });
                    let section_total = section_tasks.len();
                    let section_tasks = StoredValue::new(section_tasks);
                    let title = section.title.clone();
                    let title_en = section.title_en.clone();
                    let section_id = section.id;
                    view! {
                        <details
                            class="plan-section"
                            data-testid="plan-section"
                            prop:open=move || open_sections.with(|o| o.contains(&section_id))
                            on:toggle=move |ev| {
                                let open = ev
                                    .target()
                                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlDetailsElement>(t).ok())
                                    .is_some_and(|d| d.open());
                                open_sections.update(|o| {
                                    o.retain(|id| *id != section_id);
                                    if open {
                                        o.push(section_id);
                                    }
                                });
                            }
                        >
                            <summary>
                                <span class="section-title">
                                    {move || i18n.pick_text(&title, title_en.as_deref())}
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
                                            <li class="measure" data-testid="measure">
                                                <p class="measure-title">
                                                    {move || i18n.pick_text(&title, title_en.as_deref())}
                                                </p>
                                                <MeasureEditor plan=plan.get_value() section_id measure=Some(measure.clone())/>
                                                <ul class="plan-tasks">
                                                    <For each=move || measure_tasks.clone() key=|t: &PlanTask| (t.measure_id, t.occurrence) let:task>
                                                        <TaskRow task ticks/>
                                                    </For>
                                                </ul>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                            <MeasureEditor plan=plan.get_value() section_id=section.id measure=None/>
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
    let date = RwSignal::new(today().to_string());
    let note = RwSignal::new(String::new());
    let reached = RwSignal::new(String::new());
    let error = RwSignal::new(None::<(&'static str, &'static str)>);

    let window = task.with_value(|t| (t.start, t.end));

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
        let problems = state.with_records(|r| {
            fieldbook_core::validate::validate_tick(&new_tick, r.dataset(), today())
        });
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

    // A task whose window has closed unticked is missed: it can no longer
    // be done in its window, and looks it.
    let closed = task.with_value(|t| t.end < today());
    let missed = move || closed && tick.with(Option::is_none);
    view! {
        <li class="plan-task" class:missed=missed data-testid="plan-task"
            data-missed=move || missed().to_string()>
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
                <span class="task-window">{move || i18n.date_range(window.0, window.1)}</span>
                <span class="tick-info">
                    {move || tick.get().map(|t| format!("✓ {}", i18n.date_short(t.date)))}
                </span>
                <Show when=missed>
                    <span class="task-missed" data-testid="task-missed">{move || i18n.t(Key::PlanTaskMissed)}</span>
                </Show>
            </label>
            <Show when=move || editing.get()>
                <div class="tick-form">
                    <label class="field-label">{move || i18n.t(Key::DoneOn)}</label>
                    <input type="date" class="text" data-testid="tick-date" bind:value=date/>
                    <label class="field-label">{move || i18n.t(Key::HouseholdsReached)}</label>
                    <input class="text" inputmode="numeric" data-testid="tick-reached" bind:value=reached/>
                    <label class="field-label">{move || i18n.t(Key::Notes)}</label>
                    <input class="text" data-testid="tick-note" maxlength=fieldbook_core::validate::MAX_NOTE_CHARS.to_string() bind:value=note/>
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

fn recurrence_choices() -> [(&'static str, Recurrence); 5] {
    [
        ("once", Recurrence::Once),
        ("monthly", Recurrence::Monthly),
        ("quarterly", Recurrence::Quarterly),
        ("half_yearly", Recurrence::HalfYearly),
        ("yearly", Recurrence::Yearly),
    ]
}

/// Editing one measure (or adding one when `measure` is `None`): its title and
/// how often it recurs; an existing one can also be removed. The plan is
/// saved as an edit of the plan record.
#[component]
fn MeasureEditor(
    /// The plan as stored.
    plan: WorkPlan,
    /// The section the measure is in.
    section_id: uuid::Uuid,
    /// The measure, or `None` to add one.
    measure: Option<Measure>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let open = RwSignal::new(false);
    let adding = measure.is_none();
    let title = RwSignal::new(
        measure
            .as_ref()
            .map(|m| m.title.clone())
            .unwrap_or_default(),
    );
    let recurrence = RwSignal::new(
        measure
            .as_ref()
            .map_or(Recurrence::Once, |m| m.recurrence.clone()),
    );
    let error = RwSignal::new(None::<(&'static str, &'static str)>);
    let plan = StoredValue::new(plan);
    let measure = StoredValue::new(measure);

    let store = move |next: WorkPlan| {
        let problems = fieldbook_core::validate::validate_plan(&next);
        if let Some(problem) = problems.first() {
            error.set(Some((problem.zh(), problem.en())));
            return;
        }
        let before = plan.get_value();
        spawn_local(async move {
            match state.save(Some(before), next).await {
                Ok(()) => {
                    open.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some((e.zh(), e.en()))),
            }
        });
    };
    let save = move |_| {
        let edited = match measure.get_value() {
            Some(m) => Measure {
                title: title.get_untracked().trim().to_string(),
                recurrence: recurrence.get_untracked(),
                ..m
            },
            None => Measure {
                id: new_id(),
                title: title.get_untracked().trim().to_string(),
                title_en: None,
                description: None,
                description_en: None,
                recurrence: recurrence.get_untracked(),
                indicator: None,
            },
        };
        if let Some(next) = plan.with_value(|p| p.with_measure(section_id, edited)) {
            store(next);
        }
    };
    let remove = move |_| {
        if let Some(m) = measure.get_value() {
            store(plan.with_value(|p| p.without_measure(m.id)));
        }
    };

    view! {
        <div class="measure-editor">
            <button type="button" class="link-button" data-testid=if adding { "add-measure" } else { "edit-measure" }
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || i18n.t(if adding { Key::AddMeasure } else { Key::Edit })}
            </button>
            <Show when=move || open.get()>
                <div class="tick-form">
                    <label class="field-label">{move || i18n.t(Key::MeasureTitle)}</label>
                    <input class="text" data-testid="measure-title" maxlength=fieldbook_core::validate::MAX_LINE_CHARS.to_string() bind:value=title/>
                    <label class="field-label">{move || i18n.t(Key::Recurrence)}</label>
                    <select data-testid="measure-recurrence" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        if let Some((_, r)) = recurrence_choices().into_iter().find(|(slug, _)| *slug == value) {
                            recurrence.set(r);
                        }
                    }>
                        {recurrence_choices().into_iter().map(|(slug, r)| {
                            let label = r.clone();
                            view! { <option value=slug selected=move || recurrence.with(|c| *c == r)>{move || i18n.label(&label)}</option> }
                        }).collect_view()}
                    </select>
                    <div class="actions">
                        <button class="primary" data-testid="measure-save" on:click=save>{move || i18n.t(Key::Save)}</button>
                        <Show when=move || !adding>
                            <button data-testid="measure-remove" on:click=remove>{move || i18n.t(Key::Remove)}</button>
                        </Show>
                    </div>
                </div>
            </Show>
            <crate::components::FieldError message=error/>
        </div>
    }
}

/// "新建本年度计划": a village with no plan yet (e.g. one made on the
/// township's server) starts this year's from a template or empty.
#[component]
fn NewPlan(error: RwSignal<Option<(&'static str, &'static str)>>) -> impl IntoView {
    use fieldbook_core::templates::{Template, builtin, empty_plan};
    let i18n = use_i18n();
    let state = use_app_state();
    let create = move |template: Option<fieldbook_core::templates::TemplateId>| {
        let Some(village) = state.village() else {
            return;
        };
        let year = chrono::Datelike::year(&crate::state::today());
        let mut next_id = crate::state::new_id;
        let plan = match template {
            Some(id) => Template::get(id).instantiate(village.id, year, &mut next_id),
            None => empty_plan(village.id, year, &format!("{year}年工作计划"), &mut next_id),
        };
        leptos::task::spawn_local(async move {
            match state.save(None, plan).await {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some((e.zh(), e.en()))),
            }
        });
    };
    let buttons = builtin()
        .into_iter()
        .map(|t| Some(t.id))
        .chain([None])
        .enumerate()
        .map(|(i, choice)| {
            let title = choice.map_or_else(
                || i18n.pick("空白计划", "An empty plan").to_string(),
                |id| {
                    let t = Template::get(id);
                    i18n.pick(t.title(), t.title_en()).to_string()
                },
            );
            view! {
                <button type="button" class="choice" data-testid=format!("new-plan-{i}")
                    on:click=move |_| create(choice)>{title}</button>
            }
        })
        .collect_view();
    view! {
        <div class="field" data-testid="new-plan">
            <h3>{move || i18n.t(Key::NewPlan)}</h3>
            <div class="choices">{buttons}</div>
        </div>
    }
}

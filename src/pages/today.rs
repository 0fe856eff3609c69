//! 今日: what is due, from the core's `due_tasks` — overdue first, then due,
//! then coming up; within each, by household. A tap opens the visit form for
//! that person and kind, filled in.

use std::collections::HashMap;

use fieldbook_core::Dataset;
use fieldbook_core::model::Id;
use fieldbook_core::rules::{Rules, Task, TaskStatus, due_tasks};
use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::pages::FirstRun;
use crate::state::{LoadStatus, today, use_app_state};

/// How many households a status group shows before "show more".
const PAGE: usize = 40;

/// The Today page: the first run until a village exists, then the list.
#[component]
pub fn TodayPage() -> impl IntoView {
    let state = use_app_state();
    let i18n = use_i18n();
    let has_village =
        Memo::new(move |_| state.data.with(|d| d.villages.iter().any(|v| !v.deleted)));
    let content = move || match state.status.get() {
        LoadStatus::Loading => {
            view! { <p class="intro" data-testid="loading">{move || i18n.t(Key::Loading)}</p> }
                .into_any()
        }
        LoadStatus::Failed(error) => view! {
            <div class="error-box" role="alert" data-testid="storage-failed">
                <h3>{move || i18n.t(Key::StorageOpenFailed)}</h3>
                <p>{i18n.pick(error.zh(), error.en())}</p>
            </div>
        }
        .into_any(),
        LoadStatus::Ready if !has_village.get() => view! { <FirstRun/> }.into_any(),
        LoadStatus::Ready => view! { <TaskList/> }.into_any(),
    };
    view! {
        <SectionPage slug="today" title=Key::TodayTitle intro=Key::TodayIntro>
            {content}
        </SectionPage>
    }
}

/// One household's tasks within a status group.
#[derive(Clone, Debug, PartialEq)]
struct HouseholdTasks {
    household_id: Id,
    label: String,
    lines: Vec<TaskLine>,
}

#[derive(Clone, Debug, PartialEq)]
struct TaskLine {
    task: Task,
    person: String,
}

/// Groups the tasks of one status by household, keeping the core's order.
fn group(data: &Dataset, tasks: &[Task], status: fn(&TaskStatus) -> bool) -> Vec<HouseholdTasks> {
    let names: HashMap<Id, &str> = data
        .persons
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let mut groups: Vec<HouseholdTasks> = Vec::new();
    for task in tasks.iter().filter(|t| status(&t.status)) {
        let person = task
            .person_id
            .and_then(|id| names.get(&id).copied())
            .unwrap_or_default()
            .to_string();
        let line = TaskLine {
            task: task.clone(),
            person,
        };
        match groups
            .iter_mut()
            .find(|g| g.household_id == task.household_id)
        {
            Some(group) => group.lines.push(line),
            None => {
                let household = data.households.iter().find(|h| h.id == task.household_id);
                let head = household
                    .and_then(|h| h.head_person_id)
                    .and_then(|id| names.get(&id).copied())
                    .unwrap_or_default();
                let number = household.map(|h| h.number.as_str()).unwrap_or_default();
                groups.push(HouseholdTasks {
                    household_id: task.household_id,
                    label: format!("{number} {head}").trim().to_string(),
                    lines: vec![line],
                });
            }
        }
    }
    groups
}

/// The three status groups.
#[component]
fn TaskList() -> impl IntoView {
    let state = use_app_state();
    let i18n = use_i18n();
    let tasks = Memo::new(move |_| {
        state
            .data
            .with(|d| due_tasks(d, today(), &Rules::default()))
    });
    let grouped = Memo::new(move |_| {
        let tasks = tasks.get();
        state.data.with(|d| {
            [
                (
                    Key::Overdue,
                    "overdue",
                    group(d, &tasks, |s| matches!(s, TaskStatus::Overdue)),
                ),
                (
                    Key::DueNow,
                    "due",
                    group(d, &tasks, |s| matches!(s, TaskStatus::Due)),
                ),
                (
                    Key::Upcoming,
                    "upcoming",
                    group(d, &tasks, |s| matches!(s, TaskStatus::Upcoming)),
                ),
            ]
        })
    });
    view! {
        <div class="task-list">
            <Show when=move || tasks.with(Vec::is_empty)>
                <p class="empty" data-testid="nothing-due">{move || i18n.t(Key::NothingDue)}</p>
            </Show>
            {move || {
                grouped
                    .get()
                    .into_iter()
                    .filter(|(_, _, groups)| !groups.is_empty())
                    .map(|(title, slug, groups)| view! { <StatusGroup title slug groups/> })
                    .collect_view()
            }}
        </div>
    }
}

/// One status group (逾期, 到期, 即将到期), paged by household.
#[component]
fn StatusGroup(
    /// The group's heading.
    title: Key,
    /// Test id and CSS suffix.
    slug: &'static str,
    /// Its households.
    groups: Vec<HouseholdTasks>,
) -> impl IntoView {
    let i18n = use_i18n();
    let shown = RwSignal::new(PAGE);
    let total = groups.len();
    let count: usize = groups.iter().map(|g| g.lines.len()).sum();
    let groups = StoredValue::new(groups);
    view! {
        <section class=format!("status-group status-{slug}") data-testid=format!("tasks-{slug}")>
            <h3>{move || i18n.t(title)} " (" <span data-testid="group-count">{count}</span> ")"</h3>
            {move || {
                groups
                    .with_value(|g| g.iter().take(shown.get()).cloned().collect::<Vec<_>>())
                    .into_iter()
                    .map(|g| view! { <HouseholdCard group=g/> })
                    .collect_view()
            }}
            <Show when=move || { shown.get() < total }>
                <button class="more" on:click=move |_| shown.update(|n| *n += PAGE)>
                    {move || i18n.t(Key::ShowMore)}
                </button>
            </Show>
        </section>
    }
}

/// A household and its tasks; each task a link to the visit form.
#[component]
fn HouseholdCard(
    /// The household's tasks.
    group: HouseholdTasks,
) -> impl IntoView {
    let i18n = use_i18n();
    let lines = group
        .lines
        .into_iter()
        .map(|line| {
            let task = line.task;
            let kind = task.kind.closing_visit();
            let href = match task.person_id {
                Some(person) => format!(
                    "/visit/new?person={person}&kind={}",
                    crate::pages::visit_kind_slug(kind)
                ),
                None => format!("/households/{}", task.household_id),
            };
            let window = format!(
                "{} – {}",
                crate::forms::month_day(task.start),
                crate::forms::month_day(task.end)
            );
            view! {
                <li>
                    <a class="task" href=href data-testid="task">
                        <span class="task-person">{line.person}</span>
                        <span class="task-kind">{move || i18n.label(&task.kind)}</span>
                        <span class="task-window">{window}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="household-card">
            <a class="household-label" href=format!("/households/{}", group.household_id)>{group.label}</a>
            <ul class="task-lines">{lines}</ul>
        </div>
    }
}

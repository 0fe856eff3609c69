//! 今日: what is due, from the core's `due_tasks` — overdue first, then due,
//! then coming up; within each, by household. A tap opens the visit form for
//! that person and kind, filled in.
//!
//! A cold start shows the list as last computed ([`KeptToday`], kept in the
//! store) while the records load, if it was computed today and no record
//! was written since; the live list replaces it once they are read.

use std::collections::HashMap;

use chrono::NaiveDate;
use fieldbook_core::Dataset;
use fieldbook_core::model::Id;
use fieldbook_core::rules::{Rules, Task, TaskStatus, due_tasks};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::pages::FirstRun;
use crate::state::{LoadStatus, today, use_app_state};

/// How many households a status group shows before "show more".
const PAGE: usize = 15;

/// The Today page: the first run until a village exists, then the list.
#[component]
pub fn TodayPage() -> impl IntoView {
    let state = use_app_state();
    let i18n = use_i18n();
    let has_village =
        Memo::new(move |_| state.data.with(|d| d.villages.iter().any(|v| !v.deleted)));
    let content = move || match state.status.get() {
        // The lock screen stands in front of every page while locked.
        LoadStatus::Locked => ().into_any(),
        LoadStatus::Loading => match state.kept_today.get() {
            Some(kept) => view! { <KeptTaskList kept/> }.into_any(),
            None => {
                view! { <p class="intro" data-testid="loading">{move || i18n.t(Key::Loading)}</p> }
                    .into_any()
            }
        },
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

/// The Today list as computed on `date`, kept for the next cold start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeptToday {
    /// The shape's version: a list kept by an older app is not read.
    version: u32,
    /// The day it was computed for: statuses change with the day.
    pub date: NaiveDate,
    /// Nothing at all was due.
    empty: bool,
    /// The status groups.
    groups: Vec<StatusList>,
}

impl KeptToday {
    const VERSION: u32 = 1;

    /// Whether it can stand in for the live list on `today`.
    pub fn usable_on(&self, today: NaiveDate) -> bool {
        self.version == Self::VERSION && self.date == today
    }

    /// What is kept for the next start: each group's first page of
    /// households (with the whole group's count), so that a village with
    /// thousands of open tasks keeps a few kilobytes.
    fn first_pages(&self) -> KeptToday {
        let mut kept = self.clone();
        for group in &mut kept.groups {
            group.households.truncate(PAGE);
        }
        kept
    }
}

/// One status group's households, and how many tasks the whole group has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StatusList {
    slug: String,
    tasks: usize,
    households: Vec<HouseholdTasks>,
}

/// The status groups: heading, slug.
const STATUS_GROUPS: [(Key, &str); 3] = [
    (Key::Overdue, "overdue"),
    (Key::DueNow, "due"),
    (Key::Upcoming, "upcoming"),
];

/// One household's tasks within a status group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct HouseholdTasks {
    household_id: Id,
    label: String,
    lines: Vec<TaskLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// The three status groups, live: computed from the records, and kept for
/// the next cold start whenever they change.
#[component]
fn TaskList() -> impl IntoView {
    let state = use_app_state();
    let grouped = Memo::new(move |_| {
        let today = today();
        state.data.with(|d| {
            let tasks = due_tasks(d, today, &Rules::default());
            KeptToday {
                version: KeptToday::VERSION,
                date: today,
                empty: tasks.is_empty(),
                groups: [
                    (
                        "overdue",
                        group(d, &tasks, |s| matches!(s, TaskStatus::Overdue)),
                    ),
                    ("due", group(d, &tasks, |s| matches!(s, TaskStatus::Due))),
                    (
                        "upcoming",
                        group(d, &tasks, |s| matches!(s, TaskStatus::Upcoming)),
                    ),
                ]
                .map(|(slug, households)| StatusList {
                    slug: slug.to_string(),
                    tasks: households.iter().map(|h| h.lines.len()).sum(),
                    households,
                })
                .into(),
            }
        })
    });
    Effect::new(move |_| grouped.with(|list| state.keep_today(list.first_pages())));
    move || view! { <Groups list=grouped.get() mark="fieldbook:today-live"/> }
}

/// The list kept from an earlier run, shown while the records load.
#[component]
fn KeptTaskList(
    /// The list as last computed.
    kept: KeptToday,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="intro" data-testid="today-kept">{move || i18n.t(Key::TodayKept)}</p>
        <Groups list=kept mark="fieldbook:today-kept"/>
    }
}

/// The status groups of a list; marks `mark` (a performance mark) at the
/// first frame after they are in the page.
#[component]
fn Groups(
    /// What to show.
    list: KeptToday,
    /// The performance mark's name.
    mark: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    request_animation_frame(move || crate::mark(mark));
    let groups = list
        .groups
        .into_iter()
        .filter(|group| !group.households.is_empty())
        .filter_map(|group| {
            let (title, slug) = STATUS_GROUPS.into_iter().find(|(_, s)| *s == group.slug)?;
            let (count, groups) = (group.tasks, group.households);
            Some(view! { <StatusGroup title slug count groups/> })
        })
        .collect_view();
    view! {
        <div class="task-list">
            <Show when=move || list.empty>
                <p class="empty" data-testid="nothing-due">{move || i18n.t(Key::NothingDue)}</p>
            </Show>
            {groups}
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
    /// How many tasks the whole group has.
    count: usize,
    /// Its households (a kept list: only the first page).
    groups: Vec<HouseholdTasks>,
) -> impl IntoView {
    let i18n = use_i18n();
    let shown = RwSignal::new(PAGE);
    let total = groups.len();
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

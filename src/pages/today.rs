//! 今日: the day's work as a route, from the core's `today_list`.
//!
//! - The working list (待办): overdue and due tasks, by the core's order
//!   (priority, days late, end), "by urgency"; or "by household" (按户): one
//!   card per household that has work today, in route order (villager
//!   group, house number), with its address, a tap-to-call phone and all of
//!   that household's tasks with their status.
//! - Filters by villager group (in numbered order, with each group's count)
//!   and by kind of task; the filter and the arrangement are remembered on
//!   the phone ([`FILTER_KEY`]).
//! - Coming up (即将到期), the tasks set aside until an agreed return visit
//!   (约好再访, collapsed) and the missed tasks (上期未完成, collapsed).
//!
//! A tap on a task or a household remembers where it was on the page; when
//! Today is shown again (after saving the visit, or going back) the list
//! scrolls so that the tapped row (or, once it is done and gone, its
//! neighbour) is where it was.
//!
//! A cold start shows the list as last computed ([`KeptToday`], kept in the
//! store) while the records load, if it was computed today and no record
//! was written since; the live list (the core's `TodayIndex`, kept by
//! `AppState`: a save recomputes the households it touched) replaces it
//! once every record is read.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use fieldbook_core::groups::{GroupKey, route_key};
use fieldbook_core::model::{Id, NotSeenReason};
use fieldbook_core::records::Records;
use fieldbook_core::rules::{Task, TaskKind, TaskStatus, TodayList};
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

use crate::components::{Rows, SectionPage, Windowed};
use crate::i18n::{I18n, Key, Lang, use_i18n};
use crate::pages::FirstRun;
use crate::state::{LoadStatus, today, use_app_state};

/// How many task rows of a part are kept for the next cold start.
const PAGE: usize = 40;
/// How many household cards of the route are kept for the next cold start.
const CARD_PAGE: usize = 20;
/// A task row's height before one is measured (CSS pixels, with its margin).
const ROW_ESTIMATE: f64 = 72.0;
/// A route card's height before one is measured.
const CARD_ESTIMATE: f64 = 200.0;
/// localStorage key of the remembered filter and arrangement.
pub const FILTER_KEY: &str = "fieldbook.today-filter";

/// The Today page: the first run until a village exists, then the list.
#[component]
pub fn TodayPage() -> impl IntoView {
    let state = use_app_state();
    let i18n = use_i18n();
    let filter = RwSignal::new(load_filter());
    Effect::new(move |_| filter.with(save_filter));
    let has_village = Memo::new(move |_| state.with_villages(|r| r.first_village().is_some()));
    // The live list exists once every record is read; until then (the
    // store opening, the visits being read) the kept one or "reading"
    // shows, drawn once for both.
    let live = Memo::new(move |_| state.with_today(Option::is_some));
    let phase = Memo::new(move |_| match state.status.get() {
        LoadStatus::Locked => Phase::Locked,
        LoadStatus::Loading => Phase::Waiting,
        LoadStatus::Failed(error) => Phase::Failed(error),
        LoadStatus::Ready if !has_village.get() => Phase::FirstRun,
        LoadStatus::Ready if !live.get() => Phase::Waiting,
        LoadStatus::Ready => Phase::Live,
    });
    let content = move || match phase.get() {
        // The lock screen stands in front of every page while locked.
        Phase::Locked => ().into_any(),
        Phase::Waiting => match state.kept_today.get() {
            Some(kept) => view! {
                <p class="intro" data-testid="today-kept">{move || i18n.t(Key::TodayKept)}</p>
                <TodayBody view=Signal::stored(kept) filter mark="fieldbook:today-kept"/>
            }
            .into_any(),
            None => {
                view! { <p class="intro" data-testid="loading">{move || i18n.t(Key::Loading)}</p> }
                    .into_any()
            }
        },
        Phase::Failed(error) => view! {
            <div class="error-box" role="alert" data-testid="storage-failed">
                <h3>{move || i18n.t(Key::StorageOpenFailed)}</h3>
                <p>{i18n.pick(error.zh(), error.en())}</p>
            </div>
        }
        .into_any(),
        Phase::FirstRun => view! { <FirstRun/> }.into_any(),
        Phase::Live => view! { <LiveToday filter/> }.into_any(),
    };
    view! {
        <SectionPage slug="today" title=Key::TodayTitle intro=Key::TodayRouteIntro>
            {content}
        </SectionPage>
    }
}

/// What the Today page shows, by where loading stands.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// The lock screen is in front.
    Locked,
    /// The records are being read: the kept list, or "reading".
    Waiting,
    /// The store could not be opened or read.
    Failed(crate::storage::StorageError),
    /// No village yet.
    FirstRun,
    /// The live list.
    Live,
}

/// How the working list is arranged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Arrange {
    /// One list by the core's order: priority, days late, end.
    #[default]
    Urgency,
    /// One card per household, in route order.
    Households,
}

/// What Today shows: a villager group (`Some("")`: households without
/// one), a kind of task, and the arrangement. Remembered on the phone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Filter {
    group: Option<String>,
    kind: Option<TaskKind>,
    arrange: Arrange,
}

fn load_filter() -> Filter {
    LocalStorage::get::<Filter>(FILTER_KEY).unwrap_or_default()
}

fn save_filter(filter: &Filter) {
    // Best effort: a full localStorage only forgets the choice.
    let _ = LocalStorage::set(FILTER_KEY, filter);
}

/// A household as Today shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct House {
    id: Id,
    number: String,
    group: Option<String>,
    head: String,
    address: Option<String>,
    phone: Option<String>,
}

/// One task with whom it serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Line {
    task: Task,
    person: String,
    phone: Option<String>,
    house: House,
}

impl Line {
    fn in_group(&self, group: Option<&str>) -> bool {
        group.is_none_or(|g| self.house.group.as_deref().unwrap_or("") == g)
    }

    fn of_kind(&self, kind: Option<TaskKind>) -> bool {
        kind.is_none_or(|k| self.task.kind == k)
    }

    /// A stable key for the row, to find it again after a visit.
    fn anchor(&self) -> String {
        let t = &self.task;
        format!(
            "t-{}-{}-{}-{}",
            t.household_id,
            t.person_id.map(|p| p.to_string()).unwrap_or_default(),
            crate::forms::slug(t.kind),
            t.start
        )
    }
}

/// One household's tasks on the route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Card {
    house: House,
    lines: Vec<Line>,
}

/// A part of the list: how many items it has in all, and the items (a kept
/// list keeps only the first rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Part<T> {
    total: usize,
    items: Vec<T>,
}

impl<T: Clone> Part<T> {
    fn of(items: Vec<T>) -> Self {
        Part {
            total: items.len(),
            items,
        }
    }

    fn first(&self, n: usize) -> Self {
        Part {
            total: self.total,
            items: self.items.iter().take(n).cloned().collect(),
        }
    }
}

/// A villager group's chip: its name (`""`: no group) and how many tasks
/// of the working list (of the chosen kind) it has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct GroupCount {
    group: String,
    count: usize,
}

/// The Today list as shown for a filter on `date`; kept for the next cold
/// start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeptToday {
    /// The shape's version: a list kept by an older app is not read.
    version: u32,
    /// The day it was computed for: statuses change with the day.
    pub date: NaiveDate,
    /// The filter it shows (a remembered group that no longer exists is
    /// dropped).
    filter: Filter,
    /// Nothing at all is due, in any group.
    empty: bool,
    /// The groups in numbered order, with their counts.
    groups: Vec<GroupCount>,
    /// The working list's count over all groups (of the chosen kind).
    all: usize,
    /// Each kind's count in the chosen group, in priority order.
    kinds: Vec<(TaskKind, usize)>,
    working: Part<Line>,
    upcoming: Part<Line>,
    cards: Part<Card>,
    set_aside: Part<Line>,
    missed: Part<Line>,
}

impl KeptToday {
    const VERSION: u32 = 2;

    /// Whether it can stand in for the live list on `today`.
    pub fn usable_on(&self, today: NaiveDate) -> bool {
        self.version == Self::VERSION && self.date == today
    }

    /// What is kept for the next start: each part's first page (with the
    /// whole part's count), so that a village with thousands of open tasks
    /// keeps a few kilobytes.
    fn first_pages(&self) -> KeptToday {
        KeptToday {
            working: self.working.first(PAGE),
            upcoming: self.upcoming.first(PAGE),
            cards: self.cards.first(CARD_PAGE),
            set_aside: self.set_aside.first(0),
            missed: self.missed.first(0),
            ..self.clone()
        }
    }
}

/// The day's list from the records, before any filter.
#[derive(Clone, Debug, PartialEq)]
struct Base {
    date: NaiveDate,
    working: Vec<Line>,
    upcoming: Vec<Line>,
    set_aside: Vec<Line>,
    missed: Vec<Line>,
    /// Every villager group of the village's households, in numbered order
    /// (`""` last when some household has none).
    groups: Vec<String>,
}

impl Base {
    /// The list from every record, at once (the tests).
    #[cfg(test)]
    fn new(data: &fieldbook_core::Dataset, date: NaiveDate) -> Base {
        let rules = fieldbook_core::rules::Rules::default();
        let list = fieldbook_core::rules::today_list(data, date, &rules);
        Base::of(list, &Records::new(data.clone()), date)
    }

    /// `list` (the live Today list of `date`) with its people's names and
    /// households looked up in `records`: only those the list names.
    fn of(list: TodayList, records: &Records, date: NaiveDate) -> Base {
        // Any person (a deleted one's task keeps her name).
        let person = |id: Id| {
            records
                .person(id)
                .or_else(|| records.dataset().persons.iter().find(|p| p.id == id))
        };
        let mut houses: HashMap<Id, Option<House>> = HashMap::new();
        let mut house = |id: Id| -> Option<House> {
            houses
                .entry(id)
                .or_insert_with(|| {
                    let h = records.household(id)?;
                    let head = h
                        .head_person_id
                        .and_then(person)
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    Some(House {
                        id: h.id,
                        number: h.number.clone(),
                        group: h
                            .group
                            .as_deref()
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .map(str::to_string),
                        head,
                        address: h.address.clone().filter(|a| !a.trim().is_empty()),
                        phone: h.phone.clone().filter(|p| !p.trim().is_empty()),
                    })
                })
                .clone()
        };
        let mut groups: Vec<String> = records
            .dataset()
            .households
            .iter()
            .filter(|h| !h.deleted)
            .map(|h| {
                h.group
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        groups.sort_by_cached_key(|g| GroupKey::of(Some(g.as_str())));
        let mut lines = |tasks: Vec<Task>| -> Vec<Line> {
            tasks
                .into_iter()
                .filter_map(|task| {
                    let house = house(task.household_id)?;
                    let (person, phone) = task
                        .person_id
                        .and_then(person)
                        .map(|p| (p.name.clone(), p.phone.clone()))
                        .unwrap_or_default();
                    Some(Line {
                        task,
                        person,
                        phone,
                        house,
                    })
                })
                .collect()
        };
        Base {
            date,
            working: lines(list.working),
            upcoming: lines(list.upcoming),
            set_aside: lines(list.set_aside),
            missed: lines(list.missed),
            groups,
        }
    }

    /// The list as shown for `filter`.
    fn show(&self, filter: &Filter) -> KeptToday {
        let kind = filter.kind;
        let group = filter.group.clone().filter(|g| self.groups.contains(g));
        let chosen = |lines: &[Line]| -> Vec<Line> {
            lines
                .iter()
                .filter(|l| l.in_group(group.as_deref()) && l.of_kind(kind))
                .cloned()
                .collect()
        };
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut all = 0;
        for line in self.working.iter().filter(|l| l.of_kind(kind)) {
            *counts
                .entry(line.house.group.as_deref().unwrap_or(""))
                .or_default() += 1;
            all += 1;
        }
        let groups = self
            .groups
            .iter()
            .map(|g| GroupCount {
                group: g.clone(),
                count: counts.get(g.as_str()).copied().unwrap_or(0),
            })
            .collect();
        let mut by_kind: HashMap<TaskKind, usize> = HashMap::new();
        for line in self.working.iter().filter(|l| l.in_group(group.as_deref())) {
            *by_kind.entry(line.task.kind).or_default() += 1;
        }
        let kinds = TaskKind::ALL
            .into_iter()
            .map(|k| (k, by_kind.get(&k).copied().unwrap_or(0)))
            .collect();

        let working = chosen(&self.working);
        let upcoming = chosen(&self.upcoming);
        let set_aside = chosen(&self.set_aside);
        let missed = chosen(&self.missed);
        let cards = cards(&working, &set_aside, &upcoming);
        KeptToday {
            version: KeptToday::VERSION,
            date: self.date,
            filter: Filter {
                group,
                kind,
                arrange: filter.arrange,
            },
            empty: self.working.is_empty() && self.upcoming.is_empty(),
            groups,
            all,
            kinds,
            working: Part::of(working),
            upcoming: Part::of(upcoming),
            cards: Part::of(cards),
            set_aside: Part::of(set_aside),
            missed: Part::of(missed),
        }
    }
}

/// The route: one card for each household with work to do now, in route
/// order, holding all of its tasks: to do, set aside, coming up.
fn cards(working: &[Line], set_aside: &[Line], upcoming: &[Line]) -> Vec<Card> {
    let mut by_house: HashMap<Id, Card> = HashMap::new();
    for line in working {
        by_house
            .entry(line.house.id)
            .or_insert_with(|| Card {
                house: line.house.clone(),
                lines: Vec::new(),
            })
            .lines
            .push(line.clone());
    }
    for line in set_aside.iter().chain(upcoming) {
        if let Some(card) = by_house.get_mut(&line.house.id) {
            card.lines.push(line.clone());
        }
    }
    let mut cards: Vec<Card> = by_house.into_values().collect();
    cards.sort_by_cached_key(|c| {
        let h = &c.house;
        (
            route_key(h.group.as_deref(), h.address.as_deref(), &h.number),
            h.id,
        )
    });
    cards
}

/// The live list: computed from the records, shown for the filter, and
/// kept for the next cold start whenever it changes.
#[component]
fn LiveToday(filter: RwSignal<Filter>) -> impl IntoView {
    let state = use_app_state();
    // Left open overnight: a new day's list.
    state.roll_today();
    // The live list, with names and houses from the households list.
    let base = Memo::new(move |_| {
        let date = today();
        let list = state.with_today(|list| list.clone().unwrap_or_default());
        state.with_list(|r| Base::of(list, r, date))
    });
    let shown = Memo::new(move |_| base.with(|b| filter.with(|f| b.show(f))));
    Effect::new(move |_| shown.with(|list| state.keep_today(list.first_pages())));
    request_animation_frame(restore_position);
    view! { <TodayBody view=shown filter mark="fieldbook:today-live"/> }
}

/// Where a tap left the page: the page's scroll position, and row anchors
/// with where each stood from the top of the window.
type Return = (f64, Vec<(String, f64)>);

thread_local! {
    /// Where the last tap left the page: the page's scroll position, then
    /// row anchors and where each should be from the top of the window,
    /// the tapped one first, then its neighbours (for when the tapped one
    /// is done and gone).
    static RETURN: RefCell<Option<Return>> = const { RefCell::new(None) };
    /// Which collapsed parts are open.
    static OPEN: RefCell<HashSet<&'static str>> = RefCell::new(HashSet::new());
}

/// The top of `element` from the top of the window, in CSS pixels.
fn top_in_window(element: &web_sys::Element) -> f64 {
    let mut top = 0.0;
    let mut at = element.clone().dyn_into::<web_sys::HtmlElement>().ok();
    while let Some(el) = at {
        top += f64::from(el.offset_top());
        at = el
            .offset_parent()
            .and_then(|p| p.dyn_into::<web_sys::HtmlElement>().ok());
    }
    top - window().scroll_y().unwrap_or(0.0)
}

/// Remembers where a tapped link sat (see [`RETURN`]); a phone number's
/// link leaves the page where it is and remembers nothing.
fn remember_position(event: &web_sys::MouseEvent) {
    let Some(target) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(Some(link)) = target.closest("a[href]") else {
        return;
    };
    if link
        .get_attribute("href")
        .is_some_and(|h| h.starts_with("tel:"))
    {
        return;
    }
    let (Ok(Some(anchor)), Ok(Some(root))) =
        (link.closest("[data-anchor]"), link.closest(".today"))
    else {
        return;
    };
    let Ok(all) = root.query_selector_all("[data-anchor]") else {
        return;
    };
    let anchors: Vec<web_sys::Element> = (0..all.length())
        .filter_map(|i| all.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .collect();
    let Some(at) = anchors.iter().position(|a| *a == anchor) else {
        return;
    };
    let top = |i: usize| anchors.get(i).map(top_in_window);
    // Once the tapped row is done and gone, the rows after it move up into
    // its place: each is looked for where the one before it was.
    let gap = match (top(at), top(at + 1)) {
        (Some(tapped), Some(next)) => next - tapped,
        _ => 0.0,
    };
    let after = anchors.iter().enumerate().skip(at).take(4);
    let before = anchors.iter().enumerate().take(at).rev().take(3);
    let points: Vec<(String, f64)> = after
        .chain(before)
        .filter_map(|(i, a)| {
            let shift = if i > at { gap } else { 0.0 };
            Some((a.get_attribute("data-anchor")?, top_in_window(a) - shift))
        })
        .collect();
    let scrolled = window().scroll_y().unwrap_or(0.0);
    RETURN.with(|r| *r.borrow_mut() = Some((scrolled, points)));
}

/// Brings the first remembered row still on the page back to where it
/// was, once; nothing when nothing was remembered. The lists are windowed,
/// so the tapped row may not be drawn yet: the page first scrolls to where
/// it was (the windows follow and draw the rows there), then, once one of
/// the remembered rows is drawn, fine-tunes to it.
fn restore_position() {
    let Some((scrolled, points)) = RETURN.with(|r| r.borrow_mut().take()) else {
        return;
    };
    window().scroll_to_with_x_and_y(0.0, scrolled);
    fine_tune(points, 30);
}

/// Scrolls the first of `points` drawn to its place; tries again on the
/// next frames (`frames` more at most) while none is drawn.
fn fine_tune(points: Vec<(String, f64)>, frames: u32) {
    for (anchor, top) in &points {
        let selector = format!("[data-anchor=\"{anchor}\"]");
        if let Ok(Some(element)) = document().query_selector(&selector) {
            window().scroll_by_with_x_and_y(0.0, top_in_window(&element) - top);
            return;
        }
    }
    if frames > 0 {
        request_animation_frame(move || fine_tune(points, frames - 1));
    }
}

/// One part of the shown list as signals: its count and its items, each
/// changed only when it changes.
struct PartView<T: Send + Sync + 'static> {
    total: Memo<usize>,
    items: Memo<Vec<T>>,
}

impl<T: Send + Sync + 'static> Clone for PartView<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for PartView<T> {}

impl<T: Clone + PartialEq + Send + Sync + 'static> PartView<T> {
    fn of(view: Signal<KeptToday>, part: fn(&KeptToday) -> &Part<T>) -> Self {
        PartView {
            total: Memo::new(move |_| view.with(|v| part(v).total)),
            items: Memo::new(move |_| view.with(|v| part(v).items.clone())),
        }
    }
}

/// The whole list for one filter: the filter bar, the working list (by
/// urgency or by household), coming up, set aside and missed. The list
/// changes in place (a new filter, a save, a sync): each part's keyed rows
/// that are still there stay as they are. Marks `mark` (a performance
/// mark) at the first frame after it is in the page.
#[component]
fn TodayBody(
    /// What to show.
    #[prop(into)]
    view: Signal<KeptToday>,
    /// The filter, changed by the filter bar.
    filter: RwSignal<Filter>,
    /// The performance mark's name.
    mark: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    request_animation_frame(move || crate::mark(mark));
    let date = Memo::new(move |_| view.with(|v| v.date));
    let empty = Memo::new(move |_| view.with(|v| v.empty));
    let nothing_here = Memo::new(move |_| {
        view.with(|v| {
            let filtered = v.filter.group.is_some() || v.filter.kind.is_some();
            !v.empty && filtered && v.working.total == 0
        })
    });
    let bar = Memo::new(move |_| {
        view.with(|v| (v.filter.clone(), v.groups.clone(), v.all, v.kinds.clone()))
    });
    let arrange = Memo::new(move |_| view.with(|v| v.filter.arrange));
    let working = PartView::of(view, |v| &v.working);
    let upcoming = PartView::of(view, |v| &v.upcoming);
    let cards = PartView::of(view, |v| &v.cards);
    let set_aside = PartView::of(view, |v| &v.set_aside);
    let missed = PartView::of(view, |v| &v.missed);
    let main = move || match arrange.get() {
        Arrange::Urgency => view! {
            <LinePart slug="due" title=Key::TodayToDo part=working date/>
            <LinePart slug="upcoming" title=Key::Upcoming part=upcoming date/>
        }
        .into_any(),
        Arrange::Households => view! { <CardPart part=cards date/> }.into_any(),
    };
    let filter_bar = move || {
        let (shown, groups, all, kinds) = bar.get();
        view! { <FilterBar shown groups all kinds filter/> }
    };
    view! {
        <div class="today" on:click=move |ev| remember_position(&ev)>
            {filter_bar}
            <Show when=move || empty.get()>
                <p class="empty" data-testid="nothing-due">{move || i18n.t(Key::NothingDue)}</p>
            </Show>
            <Show when=move || nothing_here.get()>
                <p class="empty" data-testid="nothing-in-filter">
                    {move || i18n.t(Key::TodayNothingInFilter)}
                </p>
            </Show>
            {main}
            <Collapsed slug="come-back" title=Key::TodayComeBack hint=Key::TodayComeBackHint part=set_aside date/>
            <Collapsed slug="missed" title=Key::TodayMissed hint=Key::TodayMissedHint part=missed date/>
        </div>
    }
}

/// The filter bar: arrangement, villager groups with their counts, kind.
#[component]
fn FilterBar(
    /// The filter the list below shows.
    shown: Filter,
    groups: Vec<GroupCount>,
    all: usize,
    kinds: Vec<(TaskKind, usize)>,
    filter: RwSignal<Filter>,
) -> impl IntoView {
    let i18n = use_i18n();
    let change = move |f: &dyn Fn(&mut Filter)| filter.update(|filter| f(filter));
    let shown_arrange = shown.arrange;
    let arrange_button = move |arrange: Arrange, key: Key, testid: &'static str| {
        view! {
            <button
                class="choice"
                data-testid=testid
                aria-pressed=(shown_arrange == arrange).to_string()
                on:click=move |_| change(&|f| f.arrange = arrange)
            >
                {move || i18n.t(key)}
            </button>
        }
    };
    let chosen_group = shown.group.clone();
    let chips = groups
        .into_iter()
        .map(|GroupCount { group, count }| {
            let pressed = chosen_group.as_deref() == Some(group.as_str());
            let name = group.clone();
            let data_group = group.clone();
            let label = move || {
                if name.is_empty() {
                    i18n.t(Key::TodayNoGroup).to_string()
                } else {
                    name.clone()
                }
            };
            view! {
                <button
                    class="choice chip"
                    data-testid="group-chip"
                    data-group=data_group
                    aria-pressed=pressed.to_string()
                    on:click=move |_| {
                        let group = group.clone();
                        change(&move |f| f.group = Some(group.clone()));
                    }
                >
                    {label} " " <span class="chip-count" data-testid="chip-count">{count}</span>
                </button>
            }
        })
        .collect_view();
    let all_pressed = chosen_group.is_none();
    let chosen_kind = shown.kind;
    let kind_options = kinds
        .into_iter()
        .filter(|(k, n)| *n > 0 || Some(*k) == chosen_kind)
        .map(|(k, n)| {
            view! {
                <option value=crate::forms::slug(k) selected=Some(k) == chosen_kind>
                    {move || i18n.label(&k)} " (" {n} ")"
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="today-filters">
            <div class="choices arrange" role="group" aria-label=move || i18n.t(Key::TodayArrange)>
                {arrange_button(Arrange::Urgency, Key::TodayByUrgency, "arrange-urgency")}
                {arrange_button(Arrange::Households, Key::TodayByHousehold, "arrange-households")}
            </div>
            <div
                class="group-chips"
                role="group"
                aria-label=move || i18n.t(Key::TodayGroupFilter)
                data-testid="group-filter"
            >
                <button
                    class="choice chip"
                    data-testid="group-all"
                    aria-pressed=all_pressed.to_string()
                    on:click=move |_| change(&|f| f.group = None)
                >
                    {move || i18n.t(Key::TodayAllGroups)} " " <span class="chip-count" data-testid="chip-count">{all}</span>
                </button>
                {chips}
            </div>
            <select
                class="kind-filter"
                data-testid="kind-filter"
                aria-label=move || i18n.t(Key::TodayKindFilter)
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    let kind = TaskKind::ALL.into_iter().find(|k| crate::forms::slug(*k) == value);
                    change(&move |f| f.kind = kind);
                }
            >
                <option value="" selected=chosen_kind.is_none()>{move || i18n.t(Key::TodayAllKinds)}</option>
                {kind_options}
            </select>
        </div>
    }
}

/// A part's lines, windowed (the rows on screen drawn), keyed by task.
#[component]
fn WindowedLines(items: Memo<Vec<Line>>, date: Memo<NaiveDate>) -> impl IntoView {
    view! {
        <ul class="today-lines">
            <Windowed
                items
                key=Line::anchor
                row=move |line| view! { <TaskRow line date=date.get_untracked() with_house=true/> }
                estimate=ROW_ESTIMATE
            />
        </ul>
    }
}

/// One part of the list by urgency (待办, 即将到期), windowed; nothing
/// while it is empty.
#[component]
fn LinePart(
    /// Test id and CSS suffix: `due`, `upcoming`.
    slug: &'static str,
    /// The part's heading.
    title: Key,
    /// Its lines.
    part: PartView<Line>,
    /// The list's day.
    date: Memo<NaiveDate>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || { part.total.get() > 0 }>
            <section class=format!("status-group today-part today-{slug}") data-testid=format!("tasks-{slug}")>
                <h3>{move || i18n.t(title)} " (" <span data-testid="group-count">{move || part.total.get()}</span> ")"</h3>
                <WindowedLines items=part.items date/>
            </section>
        </Show>
    }
}

/// The working list by household (按户): cards in route order, windowed,
/// keyed by household; nothing while it is empty.
#[component]
fn CardPart(
    /// The cards.
    part: PartView<Card>,
    /// The list's day.
    date: Memo<NaiveDate>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || { part.total.get() > 0 }>
            <section class="status-group today-part today-households" data-testid="tasks-households">
                <h3>
                    {move || i18n.t(Key::TodayToDo)} " (" <span data-testid="households-count">{move || part.total.get()}</span>
                    " " {move || i18n.t(Key::TodayHouseholdUnit)} ")"
                </h3>
                <div class="route-cards" role="feed" aria-label=move || i18n.t(Key::TodayToDo)>
                    <Windowed
                        items=part.items
                        key=|card: &Card| card.house.id
                        row=move |card| view! { <RouteCard card date=date.get_untracked()/> }
                        estimate=CARD_ESTIMATE
                        rows=Rows::Block
                    />
                </div>
            </section>
        </Show>
    }
}

/// A `tel:` link's target: the digits and a leading plus of a number.
fn tel_href(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect();
    format!("tel:{digits}")
}

/// One household on the route: number and head, address, phone, and all
/// of its tasks.
#[component]
fn RouteCard(card: Card, date: NaiveDate) -> impl IntoView {
    let i18n = use_i18n();
    let house = card.house;
    let phone = house
        .phone
        .clone()
        .or_else(|| card.lines.iter().find_map(|l| l.phone.clone()));
    let address = house.address.clone().or_else(|| house.group.clone());
    let call = phone.map(|phone| {
        let href = tel_href(&phone);
        view! {
            <a class="route-phone" href=href data-testid="household-phone"
                aria-label=move || format!("{} {phone}", i18n.t(Key::TodayCall))>
                <span class="route-phone-icon" aria-hidden="true"></span>
                {phone.clone()}
            </a>
        }
    });
    let lines = card.lines;
    view! {
        <article class="route-card" data-testid="household-card" data-anchor=format!("h-{}", house.id)>
            <div class="route-head">
                <a class="route-house" href=format!("/households/{}", house.id) data-testid="household-link">
                    <span class="route-number">{house.number.clone()}</span>
                    " "
                    <span class="route-name">{house.head.clone()}</span>
                </a>
                {call}
            </div>
            {address.map(|a| view! { <p class="route-address" data-testid="household-address">{a}</p> })}
            <ul class="today-lines">
                <For each=move || lines.clone() key=Line::anchor let:line>
                    <TaskRow line date with_house=false/>
                </For>
            </ul>
        </article>
    }
}

/// A collapsed part (约好再访, 上期未完成) with its count, windowed;
/// nothing while it is empty.
#[component]
fn Collapsed(
    /// Test id: `come-back`, `missed`.
    slug: &'static str,
    title: Key,
    hint: Key,
    part: PartView<Line>,
    date: Memo<NaiveDate>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(OPEN.with(|o| o.borrow().contains(slug)));
    view! {
        <Show when=move || { part.total.get() > 0 }>
            <details
                class=format!("today-collapsed today-{slug}")
                data-testid=slug
                prop:open=move || open.get_untracked()
                on:toggle=move |ev| {
                    let now = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                    open.set(now);
                    OPEN.with(|o| {
                        let mut o = o.borrow_mut();
                        if now { o.insert(slug); } else { o.remove(slug); }
                    });
                }
            >
                <summary>
                    <span>{move || i18n.t(title)}</span>
                    " (" <span data-testid=format!("{slug}-count")>{move || part.total.get()}</span> ")"
                </summary>
                <p class="hint">{move || i18n.t(hint)}</p>
                <Show when=move || open.get()>
                    <WindowedLines items=part.items date/>
                </Show>
            </details>
        </Show>
    }
}

/// Where a tap on a task goes: the visit form for that person and kind; a
/// missed task or a household's own task opens the household.
fn task_href(task: &Task) -> String {
    match task.person_id {
        Some(person) if !task.status.is_missed() => format!(
            "/visit/new?person={person}&kind={}",
            crate::pages::visit_kind_slug(task.kind.closing_visit())
        ),
        _ => format!("/households/{}", task.household_id),
    }
}

/// One task: person, kind, window with its year, status; with the
/// household's number and group as its own link when `with_house`.
#[component]
fn TaskRow(line: Line, date: NaiveDate, with_house: bool) -> impl IntoView {
    let i18n = use_i18n();
    let task = line.task.clone();
    let anchor = line.anchor();
    let href = task_href(&task);
    let kind = task.kind;
    let (start, end) = (task.start, task.end);
    let status_class = status_class(&task, date);
    let status = {
        let task = task.clone();
        move || status_text(i18n, &task, date)
    };
    let attempt = task
        .attempt
        .filter(|_| task.status.is_actionable())
        .map(|a| {
            move || {
                let reason = match a.reason {
                    NotSeenReason::NotHome => Key::TodayReasonNotHome,
                    NotSeenReason::Away => Key::TodayReasonAway,
                    NotSeenReason::Declined => Key::TodayReasonDeclined,
                };
                format!(
                    "{} · {} · {}",
                    i18n.t(Key::TodayLastAttempt),
                    i18n.t(reason),
                    date_text(i18n.lang(), a.date, a.date.year() != date.year())
                )
            }
        });
    let house = with_house.then(|| {
        let h = &line.house;
        view! {
            <a class="today-house" href=format!("/households/{}", h.id) data-testid="task-household">
                <span class="today-house-number">{h.number.clone()}</span>
                <span class="today-house-group">{h.group.clone().unwrap_or_default()}</span>
            </a>
        }
    });
    view! {
        <li class="today-row" data-anchor=anchor>
            <a class=format!("task today-task {status_class}") href=href data-testid="task">
                <span class="task-person">{line.person.clone()}</span>
                <span class="task-kind">{move || i18n.label(&kind)}</span>
                <span class="task-window">{move || window_text(i18n.lang(), start, end)}</span>
                <span class="task-status" data-testid="task-status">{status}</span>
                {attempt.map(|a| view! { <span class="task-attempt">{a}</span> })}
            </a>
            {house}
        </li>
    }
}

fn status_class(task: &Task, date: NaiveDate) -> &'static str {
    match task.status {
        _ if task.is_agreed_return(date) => "is-return",
        _ if task.set_aside_until(date).is_some() => "is-set-aside",
        TaskStatus::Overdue => "is-overdue",
        TaskStatus::Due => "is-due",
        TaskStatus::Upcoming | TaskStatus::Later => "is-upcoming",
        TaskStatus::Missed => "is-missed",
        TaskStatus::Done { .. } => "is-done",
    }
}

/// A task's status in words: days late, due, from when, back on which day,
/// the agreed return today, not done.
fn status_text(i18n: I18n, task: &Task, date: NaiveDate) -> String {
    let lang = i18n.lang();
    if task.is_agreed_return(date) {
        return i18n.t(Key::TodayAgreedToday).to_string();
    }
    if let Some(day) = task.set_aside_until(date) {
        let day = date_text(lang, day, day.year() != date.year());
        return i18n.t(Key::TodayComeBackOn).replace("{}", &day);
    }
    match task.status {
        TaskStatus::Overdue => i18n
            .t(Key::TodayDaysLate)
            .replace("{}", &task.days_late(date).to_string()),
        TaskStatus::Due => i18n.t(Key::DueNow).to_string(),
        TaskStatus::Upcoming | TaskStatus::Later => {
            let day = date_text(lang, task.start, task.start.year() != date.year());
            i18n.t(Key::TodayStartsOn).replace("{}", &day)
        }
        TaskStatus::Missed => i18n.t(Key::TodayNotDone).to_string(),
        TaskStatus::Done { .. } => String::new(),
    }
}

/// A day in words: 12月9日 / 9 Dec, with the year when asked (2026年12月9日 /
/// 9 Dec 2026).
fn date_text(lang: Lang, day: NaiveDate, with_year: bool) -> String {
    if with_year {
        fieldbook_core::words::date(lang.words(), day)
    } else {
        fieldbook_core::words::date_short(lang.words(), day, day)
    }
}

/// A window with its year: 2026年1月1日–6月30日 / 1 Jan – 30 Jun 2026; both
/// years when it spans two.
fn window_text(lang: Lang, start: NaiveDate, end: NaiveDate) -> String {
    fieldbook_core::words::date_range(lang.words(), start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn windows_carry_their_year() {
        assert_eq!(
            window_text(Lang::ZhCn, d(2026, 1, 1), d(2026, 6, 30)),
            "2026年1月1日–6月30日"
        );
        assert_eq!(
            window_text(Lang::ZhCn, d(2025, 12, 25), d(2026, 1, 8)),
            "2025年12月25日–2026年1月8日"
        );
        assert_eq!(
            window_text(Lang::En, d(2026, 7, 1), d(2026, 12, 31)),
            "1 Jul – 31 Dec 2026"
        );
        assert_eq!(
            window_text(Lang::En, d(2025, 12, 25), d(2026, 1, 8)),
            "25 Dec 2025 – 8 Jan 2026"
        );
        assert_eq!(date_text(Lang::ZhCn, d(2026, 12, 9), false), "12月9日");
    }

    #[test]
    fn a_phone_link_keeps_only_what_a_dialler_reads() {
        assert_eq!(tel_href("138 0013 8000"), "tel:13800138000");
        assert_eq!(tel_href("+86 138-0013-8000"), "tel:+8613800138000");
        assert_eq!(tel_href("0371-6123 4567"), "tel:037161234567");
    }

    #[test]
    fn a_filter_is_remembered_as_plain_json_and_an_old_one_still_reads() {
        let filter = Filter {
            group: Some("三组".into()),
            kind: Some(TaskKind::ThreeChecks),
            arrange: Arrange::Households,
        };
        let json = serde_json::to_string(&filter).unwrap();
        assert_eq!(
            json,
            r#"{"group":"三组","kind":"three_checks","arrange":"households"}"#
        );
        assert_eq!(serde_json::from_str::<Filter>(&json).unwrap(), filter);
        assert_eq!(
            serde_json::from_str::<Filter>("{}").unwrap(),
            Filter::default()
        );
    }

    #[test]
    fn the_list_filters_by_group_and_kind_and_routes_by_house() {
        use fieldbook_core::generate::{Size, generate};
        let date = d(2026, 12, 6);
        let data = generate(20261129, Size::Village, date);
        let base = Base::new(&data, date);
        assert_eq!(base.groups[..3], ["一组", "二组", "三组"]);
        let all = base.show(&Filter::default());
        assert_eq!(all.all, base.working.len());
        assert_eq!(all.groups.iter().map(|g| g.count).sum::<usize>(), all.all);

        let three = base.show(&Filter {
            group: Some("三组".into()),
            kind: None,
            arrange: Arrange::Households,
        });
        assert!(three.working.total > 0);
        assert!(three.working.total < all.working.total);
        assert!(
            three
                .working
                .items
                .iter()
                .all(|l| l.house.group.as_deref() == Some("三组"))
        );
        // One card per household, in route order, holding every line of it.
        let ids: Vec<Id> = three.cards.items.iter().map(|c| c.house.id).collect();
        assert_eq!(ids.len(), ids.iter().collect::<HashSet<_>>().len());
        let to_do: usize = three
            .cards
            .items
            .iter()
            .flat_map(|c| &c.lines)
            .filter(|l| l.task.status.is_actionable() && l.task.set_aside_until(date).is_none())
            .count();
        assert_eq!(to_do, three.working.total);
        let numbers: Vec<&str> = three
            .cards
            .items
            .iter()
            .map(|c| c.house.number.as_str())
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(
            numbers, sorted,
            "the demo numbers its houses along the route"
        );

        let kind = base.show(&Filter {
            group: None,
            kind: Some(TaskKind::ThreeChecks),
            arrange: Arrange::Urgency,
        });
        assert!(
            kind.working
                .items
                .iter()
                .all(|l| l.task.kind == TaskKind::ThreeChecks)
        );
        // A remembered group that is not in this village shows everything.
        let gone = base.show(&Filter {
            group: Some("九十九组".into()),
            ..Filter::default()
        });
        assert_eq!(gone.filter.group, None);
        assert_eq!(gone.working.total, all.working.total);
    }
}

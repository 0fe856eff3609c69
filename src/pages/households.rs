//! 住户: the household list with search (name, number, pinyin initials) and
//! filters, paged so a village of a thousand households stays smooth; and a
//! household's page with its people and their visits.

use fieldbook_core::search::{FlagFilter, HouseholdIndex};
use fieldbook_core::{Household, Person};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::SectionPage;
use crate::i18n::{Key, use_i18n};
use crate::pages::visit_kind_slug;
use crate::state::{today, use_app_state};

/// How many households the list renders before "show more".
const PAGE: usize = 50;

fn flag_filters() -> [(FlagFilter, Key, &'static str); 4] {
    [
        (FlagFilter::OneChild, Key::FlagOneChild, "one_child"),
        (FlagFilter::TwoGirls, Key::FlagTwoGirls, "two_girls"),
        (
            FlagFilter::CareForGirls,
            Key::FlagCareForGirls,
            "care_for_girls",
        ),
        (
            FlagFilter::SpecialFamily,
            Key::FlagSpecial,
            "special_family",
        ),
    ]
}

/// The household list.
#[component]
pub fn HouseholdsPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let query = RwSignal::new(String::new());
    let group = RwSignal::new(None::<String>);
    let flag = RwSignal::new(None::<FlagFilter>);
    let shown = RwSignal::new(PAGE);

    let index = Memo::new(move |_| {
        state.data.with(|d| {
            d.villages
                .iter()
                .find(|v| !v.deleted)
                .map(|v| HouseholdIndex::new(d, v.id))
                .unwrap_or_default()
        })
    });
    // The index is compared by its result, not its contents: a new index is
    // built whenever the records change.
    let matches = Memo::new(move |_| {
        let q = query.get();
        let g = group.get();
        let f = flag.get();
        index.with(|i| i.search(&q, g.as_deref(), f))
    });
    Effect::new(move |_| {
        query.track();
        group.track();
        flag.track();
        shown.set(PAGE);
    });

    let rows = move || {
        let ids: Vec<_> = matches.with(|m| m.iter().take(shown.get()).copied().collect());
        state.data.with(|d| {
            ids.into_iter()
                .filter_map(|id| d.household(id))
                .map(|h| {
                    let members: Vec<String> = d
                        .persons
                        .iter()
                        .filter(|p| p.household_id == h.id && !p.deleted)
                        .map(|p| p.name.clone())
                        .collect();
                    view! {
                        <li>
                            <a class="household-row" href=format!("/households/{}", h.id) data-testid="household-row">
                                <span class="household-number">{h.number.clone()}</span>
                                <span class="household-group">{h.group.clone().unwrap_or_default()}</span>
                                <span class="household-members">{members.join("、")}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()
        })
    };

    view! {
        <SectionPage slug="households" title=Key::HouseholdsTitle intro=Key::HouseholdsIntro>
            <a class="button" href="/household/new" data-testid="add-household">{move || i18n.t(Key::AddHousehold)}</a>
            <input
                type="search"
                class="text search"
                data-testid="household-search"
                aria-label=move || i18n.t(Key::SearchHouseholds)
                placeholder=move || i18n.t(Key::SearchHouseholds)
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <div class="filters">
                <select
                    aria-label=move || i18n.t(Key::VillagerGroup)
                    data-testid="group-filter"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        group.set(Some(value).filter(|v| !v.is_empty()));
                    }
                >
                    <option value="">{move || i18n.t(Key::AllGroups)}</option>
                    {move || index.with(|i| i.groups()).into_iter().map(|g| view! { <option value=g.clone()>{g.clone()}</option> }).collect_view()}
                </select>
                <select
                    aria-label=move || i18n.t(Key::AllFamilies)
                    data-testid="flag-filter"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        flag.set(flag_filters().into_iter().find(|(_, _, slug)| *slug == value).map(|(f, _, _)| f));
                    }
                >
                    <option value="">{move || i18n.t(Key::AllFamilies)}</option>
                    {flag_filters().into_iter().map(|(_, key, slug)| view! { <option value=slug>{move || i18n.t(key)}</option> }).collect_view()}
                </select>
            </div>
            <p class="count" data-testid="household-count">
                {move || matches.with(Vec::len)} " " {move || i18n.t(Key::HouseholdsFound)}
            </p>
            <Show when=move || matches.with(Vec::is_empty)>
                <p class="empty">{move || i18n.t(Key::NoMatches)}</p>
            </Show>
            <ul class="household-list">{rows}</ul>
            <Show when=move || { shown.get() < matches.with(Vec::len) }>
                <button class="more" on:click=move |_| shown.update(|n| *n += PAGE)>
                    {move || i18n.t(Key::ShowMore)}
                </button>
            </Show>
        </SectionPage>
    }
}

/// One household: flags, members, and each member's visits.
#[component]
pub fn HouseholdPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let params = use_params_map();
    let household = Memo::new(move |_| {
        let id = super::id_param(params, "id")?;
        state.data.with(|d| d.household(id).cloned())
    });
    move || {
        match household.get() {
        None => view! {
            <section class="section"><p class="error" role="alert">{move || i18n.t(Key::HouseholdNotFound)}</p></section>
        }
        .into_any(),
        Some(h) => view! { <HouseholdDetail household=h/> }.into_any(),
    }
    }
}

#[component]
fn HouseholdDetail(
    /// The household shown.
    household: Household,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let id = household.id;
    let members = Memo::new(move |_| {
        state.data.with(|d| {
            d.persons
                .iter()
                .filter(|p| p.household_id == id && !p.deleted)
                .cloned()
                .collect::<Vec<Person>>()
        })
    });
    let flags = [
        (household.flags.one_child, Key::FlagOneChild),
        (household.flags.two_girls, Key::FlagTwoGirls),
        (household.flags.care_for_girls, Key::FlagCareForGirls),
        (household.flags.special_family, Key::FlagSpecial),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, key)| view! { <span class="flag">{move || i18n.t(key)}</span> })
    .collect_view();

    view! {
        <section class="section household" data-testid="household-page">
            <h2>{move || i18n.t(Key::HouseholdNumber)} " " {household.number.clone()}</h2>
            <p class="intro">
                {household.group.clone().unwrap_or_default()} " " {household.address.clone().unwrap_or_default()}
                " " {household.phone.clone().unwrap_or_default()}
            </p>
            <div class="flags">{flags}</div>
            <div class="actions">
                <a class="button secondary" href=format!("/household/{id}/edit") data-testid="edit-household">{move || i18n.t(Key::Edit)}</a>
                <a class="button" href=format!("/person/new?household={id}") data-testid="add-person">{move || i18n.t(Key::AddPerson)}</a>
            </div>
            <h3>{move || i18n.t(Key::Members)}</h3>
            <ul class="members">
                {move || members.get().into_iter().map(|p| view! { <MemberCard person=p/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn MemberCard(
    /// The member.
    person: Person,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let id = person.id;
    let visits = Memo::new(move |_| {
        state.data.with(|d| {
            let mut visits: Vec<_> = d
                .visits
                .iter()
                .filter(|v| v.person_id == id && !v.deleted)
                .cloned()
                .collect();
            visits.sort_by_key(|v| std::cmp::Reverse(v.date));
            visits
        })
    });
    let age = person.age_on(today());
    let method = person.contraception.as_ref().map(|c| c.method);
    let sex = person.sex;
    let marital = person.marital;
    view! {
        <li class="member" data-testid="member">
            <div class="member-head">
                <strong>{person.name.clone()}</strong>
                <span>{move || i18n.label(&sex)}</span>
                <span>{age.map(|a| a.to_string()).unwrap_or_default()} {move || i18n.t(Key::Age)}</span>
                <span>{move || i18n.label(&marital)}</span>
                <span>{move || method.map_or_else(|| i18n.t(Key::NoMethod), |m| i18n.label(&m))}</span>
            </div>
            <div class="actions">
                <a class="button" href=format!("/visit/new?person={id}&kind={}", visit_kind_slug(fieldbook_core::VisitKind::Other)) data-testid="record-visit">
                    {move || i18n.t(Key::RecordVisit)}
                </a>
                <a class="button secondary" href=format!("/person/{id}/edit") data-testid="edit-person">{move || i18n.t(Key::Edit)}</a>
            </div>
            <details>
                <summary>{move || i18n.t(Key::VisitHistory)} " (" {move || visits.with(Vec::len)} ")"</summary>
                <Show when=move || visits.with(Vec::is_empty)>
                    <p class="empty">{move || i18n.t(Key::NoVisits)}</p>
                </Show>
                <ul class="visits">
                    {move || visits.get().into_iter().map(|v| {
                        let kind = v.kind;
                        view! {
                            <li>
                                <a class="visit-link" href=format!("/visit/{}/edit", v.id) data-testid="visit-link">
                                    {v.date.to_string()} " " {move || i18n.label(&kind)}
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </details>
        </li>
    }
}

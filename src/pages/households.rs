//! 住户: the household list with search (name, number, pinyin initials) and
//! filters, windowed (the rows on screen drawn) so a village of a thousand
//! households stays smooth; and a
//! household's page with its people and their visits.

use fieldbook_core::model::{Id, VisitKind};
use fieldbook_core::search::FlagFilter;
use fieldbook_core::{Household, Person};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use fieldbook_core::rules::Rules;
use fieldbook_core::visit_context::{
    address_line, close_paren, colon, full_date, open_paren, open_tasks, outcome_words, tel_href,
    visit_kinds_for,
};

use crate::components::{SectionPage, Windowed};
use crate::i18n::{Key, Lang, use_i18n};
use crate::pages::visit_kind_slug;
use crate::state::{today, use_app_state};

/// A household row's height before one is measured, in CSS pixels.
const ROW_ESTIMATE: f64 = 64.0;

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

    // The search index is the records' own (kept up to date in place);
    // searched again when the list changes.
    let matches = Memo::new(move |_| {
        let q = query.get();
        let g = group.get();
        let f = flag.get();
        state.with_list(|r| {
            r.first_village()
                .map(|v| r.search(v.id).search(&q, g.as_deref(), f))
                .unwrap_or_default()
        })
    });
    let groups = Memo::new(move |_| {
        state.with_list(|r| {
            r.first_village()
                .map(|v| r.search(v.id).groups())
                .unwrap_or_default()
        })
    });
    // One row per household, keyed by its id.
    let row = move |id: Id| {
        move || {
            state.with_household(id, |r| {
                r.household(id).map(|h| {
                    let members: Vec<String> =
                        r.members(h.id).into_iter().map(|p| p.name.clone()).collect();
                    view! {
                        <a class="household-row" href=format!("/households/{}", h.id) data-testid="household-row">
                            <span class="household-number">{h.number.clone()}</span>
                            <span class="household-group">{h.group.clone().unwrap_or_default()}</span>
                            <span class="household-members">{members.join("、")}</span>
                        </a>
                    }
                })
            })
        }
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
                    {move || groups.get().into_iter().map(|g| view! { <option value=g.clone()>{g.clone()}</option> }).collect_view()}
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
            <ul class="household-list">
                <Windowed items=matches key=|id: &Id| *id row=move |id| view! { <li>{row(id)}</li> } estimate=ROW_ESTIMATE/>
            </ul>
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
        state.with_household(id, |r| r.household(id).cloned())
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
    // Women of reproductive age first (the ones most visits are for), the
    // youngest first; then the others in their stored order.
    let members = Memo::new(move |_| {
        let day = today();
        let rules = Rules::default();
        state.with_household(id, |r| {
            let (mut women, others): (Vec<Person>, Vec<Person>) =
                r.members(id).into_iter().cloned().partition(|p| {
                    rules.is_reproductive_age_woman(p, day) && !p.living.is_deregistered()
                });
            women.sort_by_key(|p| std::cmp::Reverse(p.birth_date));
            (women, others)
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
    let phone = household.phone.clone().map(|phone| {
        let href = tel_href(&phone);
        view! {
            <a class="tel-link" href=href data-testid="household-phone" aria-label=move || format!("{} {phone}", i18n.t(Key::CallPhone))>
                {phone.clone()}
            </a>
        }
    });

    view! {
        <section class="section household" data-testid="household-page">
            <h2>{move || i18n.t(Key::HouseholdNumber)} " " {household.number.clone()}</h2>
            <p class="intro household-address" data-testid="household-address">{address_line(&household)}</p>
            {phone}
            <div class="flags">{flags}</div>
            <div class="actions">
                <a class="button secondary" href=format!("/household/{id}/edit") data-testid="edit-household">{move || i18n.t(Key::Edit)}</a>
                <a class="button" href=format!("/person/new?household={id}") data-testid="add-person">{move || i18n.t(Key::AddPerson)}</a>
            </div>
            <Show when=move || members.with(|(w, _)| !w.is_empty())>
                <h3>{move || i18n.t(Key::ReproductiveWomen)}</h3>
                <ul class="members" data-testid="women">
                    <For each=move || members.with(|m| m.0.iter().map(|p| p.id).collect::<Vec<_>>()) key=|id| *id let:id>
                        {
                            // Drawn again only when this member changes.
                            let person = Memo::new(move |_| members.with(|m| m.0.iter().find(|p| p.id == id).cloned()));
                            move || person.get().map(|p| view! { <MemberCard person=p status=true/> })
                        }
                    </For>
                </ul>
            </Show>
            <Show when=move || members.with(|(_, o)| !o.is_empty())>
                <h3>{move || i18n.t(if members.with(|(w, _)| w.is_empty()) { Key::Members } else { Key::OtherMembers })}</h3>
                <ul class="members" data-testid="others">
                    <For each=move || members.with(|m| m.1.iter().map(|p| p.id).collect::<Vec<_>>()) key=|id| *id let:id>
                        {
                            // Drawn again only when this member changes.
                            let person = Memo::new(move |_| members.with(|m| m.1.iter().find(|p| p.id == id).cloned()));
                            move || person.get().map(|p| view! { <MemberCard person=p status=false/> })
                        }
                    </For>
                </ul>
            </Show>
        </section>
    }
}

/// A woman's status at a glance: method and since when, the last three
/// checks, and her open tasks.
#[component]
fn StatusLine(
    /// The woman.
    person: Person,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let id = person.id;
    let zh = move || i18n.lang() == Lang::ZhCn;
    let method = person.contraception.as_ref().map(|c| (c.method, c.start));
    // Her visits by (date, id): the last seen three-check is the last one.
    let last_checks = Memo::new(move |_| {
        state.with_person(id, |r| {
            r.visits_of(id)
                .into_iter()
                .rev()
                .find(|v| v.kind == VisitKind::ThreeChecks && v.was_seen())
                .map(|v| v.date)
        })
    });
    let open = Memo::new(move |_| {
        state.with_person(id, |r| {
            open_tasks(r.dataset(), id, today(), &Rules::default())
        })
    });
    view! {
        <p class="status-line" data-testid="status-line">
            <span>
                {move || match method {
                    None => format!("{}{}{}", i18n.t(Key::Method), colon(zh()), i18n.t(Key::NoMethod)),
                    Some((m, None)) => format!("{}{}{}", i18n.t(Key::Method), colon(zh()), i18n.label(&m)),
                    Some((m, Some(start))) => format!(
                        "{}{}{}{}{} {}{}",
                        i18n.t(Key::Method),
                        colon(zh()),
                        i18n.label(&m),
                        open_paren(zh()),
                        i18n.t(Key::MethodSince),
                        full_date(start, zh()),
                        close_paren(zh())
                    ),
                }}
            </span>
            <span>
                {move || format!(
                    "{}{}{}",
                    i18n.t(Key::LastThreeChecks),
                    colon(zh()),
                    last_checks.get().map_or_else(|| i18n.t(Key::NeverChecked).to_string(), |d| full_date(d, zh()))
                )}
            </span>
            <span data-testid="open-tasks">
                {move || open.with(|tasks| {
                    if tasks.is_empty() {
                        i18n.t(Key::NoOpenTasks).to_string()
                    } else {
                        let mut kinds: Vec<&'static str> = Vec::new();
                        for t in tasks {
                            let name = i18n.label(&t.kind);
                            if !kinds.contains(&name) {
                                kinds.push(name);
                            }
                        }
                        format!(
                            "{} {}{}{}",
                            i18n.t(Key::OpenTasks),
                            tasks.len(),
                            colon(zh()),
                            kinds.join(if zh() { "、" } else { ", " })
                        )
                    }
                })}
            </span>
        </p>
    }
}

#[component]
fn MemberCard(
    /// The member.
    person: Person,
    /// Show her status line (a woman of reproductive age).
    status: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let id = person.id;
    let household = person.household_id;
    // Her visits, the latest first.
    let visits = Memo::new(move |_| {
        state.with_person(id, |r| {
            let mut visits: Vec<_> = r.visits_of(id).into_iter().cloned().collect();
            visits.reverse();
            visits
        })
    });
    // The visit kinds that apply to this person today; the first one due
    // is what 记录随访 opens with.
    let record_kind = Memo::new(move |_| {
        state.with_person(id, |r| {
            let d = r.dataset();
            let rules = Rules::default();
            let person = r.person(id)?;
            let kinds = visit_kinds_for(d, person, today(), &rules);
            let day = today();
            let mut tasks = open_tasks(d, id, day, &rules);
            // What is due now first, then what is late, then what comes.
            tasks.sort_by_key(|t| match (t.start <= day, day <= t.end) {
                (true, true) => 0,
                (true, false) => 1,
                _ => 2,
            });
            let due = tasks
                .into_iter()
                .map(|t| t.kind.closing_visit())
                .find(|k| kinds.contains(k));
            due.or_else(|| kinds.first().copied())
        })
    });
    let from = format!("/households/{household}");
    let age = person.age_on(today());
    let method = person.contraception.as_ref().map(|c| c.method);
    let sex = person.sex;
    let marital = person.marital;
    // Her status and history need every visit: until the cold start's
    // background read is done they say it is still reading.
    let shown_person = StoredValue::new(person.clone());
    let status_line =
        move || status.then(|| view! { <StatusLine person=shown_person.get_value()/> });
    let history_ready = move || state.history_ready();
    let history_from = StoredValue::new(from.clone());
    view! {
        <li class="member" data-testid="member">
            <div class="member-head">
                <strong data-testid="member-name">{person.name.clone()}</strong>
                <span>{move || i18n.label(&sex)}</span>
                <span>{age.map(|a| a.to_string()).unwrap_or_default()} {move || i18n.t(Key::Age)}</span>
                <span>{move || i18n.label(&marital)}</span>
                {(!status).then(|| view! {
                    <span>{move || method.map_or_else(|| i18n.t(Key::NoMethod), |m| i18n.label(&m))}</span>
                })}
            </div>
            <Show when=history_ready fallback=move || view! {
                <p class="hint history-loading" data-testid="history-loading">{move || i18n.t(Key::HistoryLoading)}</p>
            }>
                {status_line}
            </Show>
            <div class="actions">
                {move || record_kind.get().map(|kind| view! {
                    <a class="button" href=format!("/visit/new?person={id}&kind={}&from={from}", visit_kind_slug(kind)) data-testid="record-visit">
                        {move || i18n.t(Key::RecordVisit)}
                    </a>
                })}
                <a class="button secondary" href=format!("/person/{id}/edit") data-testid="edit-person">{move || i18n.t(Key::Edit)}</a>
            </div>
            <Show when=history_ready>
            <details>
                <summary data-testid="history-toggle">{move || i18n.t(Key::VisitHistory)} " (" {move || visits.with(Vec::len)} ")"</summary>
                <Show when=move || visits.with(Vec::is_empty)>
                    <p class="empty">{move || i18n.t(Key::NoVisits)}</p>
                </Show>
                <ul class="visits">
                    <For each=move || visits.with(|vs| vs.iter().map(|v| v.id).collect::<Vec<_>>()) key=|id| *id children=move |id| {
                        // Drawn again only when this visit changes.
                        let visit = Memo::new(move |_| visits.with(|vs| vs.iter().find(|v| v.id == id).cloned()));
                        move || visit.get().map(|v| {
                        let kind = v.kind;
                        let date = v.date;
                        let attempt = v.not_seen.is_some();
                        let words = StoredValue::new(v.clone());
                        view! {
                            <li>
                                <a
                                    class="history-row"
                                    class:attempt=attempt
                                    href=format!("/visit/{}?from={}", v.id, history_from.get_value())
                                    data-testid="visit-link"
                                >
                                    <span class="history-date">{move || full_date(date, i18n.lang() == Lang::ZhCn)}</span>
                                    <span class="history-kind">{move || i18n.label(&kind)}</span>
                                    <span class="history-outcome" data-testid="visit-outcome">
                                        {move || words.with_value(|v| outcome_words(v, i18n.lang() == Lang::ZhCn))}
                                    </span>
                                </a>
                            </li>
                        }
                    })}/>
                </ul>
            </details>
            </Show>
        </li>
    }
}

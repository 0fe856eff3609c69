//! 随访记录: the visit form, one short form whose outcome fields follow the
//! kind of visit. Opened from Today (person and kind filled in) or from a
//! household's page.

use chrono::{Days, NaiveDate};
use fieldbook_core::model::{Method, Outcome, ThreeCheckResults, Visit, VisitKind};
use fieldbook_core::rules::{Rules, TaskStatus, tasks_between};
use fieldbook_core::validate::validate_visit;
use fieldbook_core::{Dataset, Person};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::forms::{parse_date, slug};
use crate::i18n::{I18n, Key, use_i18n};
use crate::state::{new_id, today, use_app_state};

/// The name of a visit kind in URLs (`three_checks`, …), as serde writes it.
pub fn visit_kind_slug(kind: VisitKind) -> String {
    slug(kind)
}

fn parse_kind(slug: &str) -> Option<VisitKind> {
    VisitKind::ALL
        .into_iter()
        .find(|k| visit_kind_slug(*k) == slug)
}

/// The next date the rules expect a visit of `kind` for `person` after
/// `date`: the start of the next open window.
pub fn suggested_next_visit(
    data: &Dataset,
    person: &Person,
    kind: VisitKind,
    date: NaiveDate,
) -> Option<NaiveDate> {
    let from = date.checked_add_days(Days::new(1))?;
    let to = date.checked_add_days(Days::new(400))?;
    tasks_between(data, from, to, date, &Rules::default())
        .into_iter()
        .filter(|t| {
            t.person_id == Some(person.id)
                && t.kind.closing_visit() == kind
                && !matches!(t.status, TaskStatus::Done { .. })
                && t.start > date
        })
        .map(|t| t.start)
        .min()
}

/// An outcome question of the visit form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Question {
    Adverse,
    Referred,
    PregnancyFound,
    KnowsPolicy,
    Satisfied,
    NewMethod,
}

/// The questions that fit a kind of visit, so each form stays short.
fn questions(kind: VisitKind) -> &'static [Question] {
    use Question::*;
    match kind {
        VisitKind::ThreeChecks => &[Adverse, Referred, Satisfied],
        VisitKind::MethodFollowUp => &[Adverse, Referred, NewMethod, Satisfied],
        VisitKind::MigrantCheck => &[PregnancyFound, KnowsPolicy, Satisfied],
        VisitKind::PregnancyFollowUp => &[Referred, Satisfied],
        VisitKind::BirthDefectReferral => &[Referred, Satisfied],
        VisitKind::Postpartum => &[Adverse, Referred, NewMethod, Satisfied],
        VisitKind::PublicityAtHome => &[KnowsPolicy, Satisfied],
        VisitKind::CertificateDelivered | VisitKind::RewardCheck | VisitKind::CareForGirls => {
            &[KnowsPolicy, Satisfied]
        }
        VisitKind::Other => &[
            Adverse,
            Referred,
            PregnancyFound,
            KnowsPolicy,
            Satisfied,
            NewMethod,
        ],
    }
}

/// The visit form page.
#[component]
pub fn VisitPage() -> impl IntoView {
    crate::state::use_form_guard();
    let i18n = use_i18n();
    let state = use_app_state();
    let query = use_query_map();
    let params = use_params_map();
    // Correcting a stored visit (`/visit/:id/edit`) or recording a new one
    // (`/visit/new?person=…&kind=…`).
    let before = Memo::new(move |_| {
        let id = super::id_param(params, "id")?;
        state
            .data
            .with(|d| d.visits.iter().find(|v| v.id == id && !v.deleted).cloned())
    });
    let person_id = move || {
        before
            .get()
            .map(|v| v.person_id)
            .or_else(|| super::id_param(query, "person"))
    };
    let person = Memo::new(move |_| {
        let id = person_id()?;
        state.data.with(|d| d.person(id).cloned())
    });
    let initial_kind = query
        .read_untracked()
        .get("kind")
        .and_then(|k| parse_kind(&k))
        .unwrap_or(VisitKind::ThreeChecks);

    move || match person.get() {
        None => view! {
            <section class="section">
                <p class="error" role="alert">{move || i18n.t(Key::PersonNotFound)}</p>
            </section>
        }
        .into_any(),
        Some(person) => {
            let before = before.get_untracked();
            let initial_kind = before.as_ref().map_or(initial_kind, |v| v.kind);
            view! { <VisitForm person initial_kind before/> }.into_any()
        }
    }
}

/// A yes / no / not-asked choice.
#[component]
fn YesNo(
    /// The label's key.
    label: Key,
    /// Test id.
    testid: &'static str,
    /// The answer.
    value: RwSignal<Option<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let options = [(None, Key::NotAsked), (Some(true), Key::Yes), (Some(false), Key::No)]
        .into_iter()
        .map(|(answer, key)| {
            view! {
                <button
                    type="button"
                    class="choice small"
                    data-testid=format!("{testid}-{}", match answer { None => "unset", Some(true) => "yes", Some(false) => "no" })
                    aria-pressed=move || (value.get() == answer).to_string()
                    on:click=move |_| value.set(answer)
                >
                    {move || i18n.t(key)}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="yes-no" role="group">
            <span class="field-label">{move || i18n.t(label)}</span>
            <div class="choices">{options}</div>
        </div>
    }
}

fn problem_for(
    problems: &[fieldbook_core::validate::Problem],
    field: &str,
    i18n: I18n,
) -> Option<&'static str> {
    problems
        .iter()
        .find(|p| p.field == field || p.field.starts_with(&format!("{field}.")))
        .map(|p| i18n.pick(p.zh(), p.en()))
}

/// The form itself, for a known person.
#[component]
fn VisitForm(
    /// Whom the visit serves.
    person: Person,
    /// The kind to start with.
    initial_kind: VisitKind,
    /// The stored visit when correcting one; its correction is saved as an
    /// edit with its changes in the outbox, not as a silent overwrite.
    before: Option<Visit>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let navigate = use_navigate();
    let old = before.clone().unwrap_or_else(|| {
        Visit::new(
            uuid::Uuid::nil(),
            person.id,
            person.household_id,
            today(),
            initial_kind,
        )
    });
    let checks = old.outcome.three_checks.unwrap_or_default();
    let date = RwSignal::new(old.date.to_string());
    let kind = RwSignal::new(initial_kind);
    let adverse = RwSignal::new(old.outcome.adverse_reaction);
    let referred = RwSignal::new(old.outcome.referred);
    let pregnancy_found = RwSignal::new(old.outcome.pregnancy_found);
    let knows_policy = RwSignal::new(old.outcome.knows_policy);
    let satisfied = RwSignal::new(old.outcome.satisfied);
    let ring = RwSignal::new(checks.ring_in_place);
    let pregnant = RwSignal::new(checks.pregnant);
    let condition = RwSignal::new(checks.condition_found);
    let new_method = RwSignal::new(old.outcome.new_method);
    let defect_level = RwSignal::new(old.outcome.defect_level);
    let notes = RwSignal::new(old.notes.clone().unwrap_or_default());
    let next_visit = RwSignal::new(old.next_visit.map(|d| d.to_string()).unwrap_or_default());
    // A correction keeps the stored next date until the date or kind changes.
    let keep_stored_next = StoredValue::new(before.is_some());
    let before = StoredValue::new(before);
    let problems = RwSignal::new(Vec::<fieldbook_core::validate::Problem>::new());
    let save_error = RwSignal::new(None::<(&'static str, &'static str)>);
    let saving = RwSignal::new(false);
    let date_invalid = RwSignal::new(false);
    let person = StoredValue::new(person);

    // Suggest the next visit from the rules whenever the date or kind changes
    // (an effect on the form's own state, not derived data: the worker may
    // overwrite it).
    Effect::new(move |_| {
        let (Some(day), k) = (parse_date(&date.get()), kind.get()) else {
            return;
        };
        if keep_stored_next.get_value() {
            keep_stored_next.set_value(false);
            return;
        }
        let suggestion = state
            .data
            .with_untracked(|d| person.with_value(|p| suggested_next_visit(d, p, k, day)));
        next_visit.set(suggestion.map(|d| d.to_string()).unwrap_or_default());
    });

    let asks = move |question: Question| questions(kind.get()).contains(&question);

    let methods = move || {
        let sex = person.with_value(|p| p.sex);
        Method::ALL
            .into_iter()
            .filter(|m| m.only_for().is_none_or(|s| s == sex))
            .collect::<Vec<_>>()
    };

    let save = move |_| {
        let Some(day) = parse_date(&date.get_untracked()) else {
            date_invalid.set(true);
            return;
        };
        date_invalid.set(false);
        let k = kind.get_untracked();
        // Only the answers to the questions this kind asks are kept: one
        // given before the kind was changed would otherwise be saved unseen.
        let asked = questions(k);
        let answer = |q: Question, value: RwSignal<Option<bool>>| {
            asked.contains(&q).then(|| value.get_untracked()).flatten()
        };
        let visit = person.with_value(|p| Visit {
            outcome: Outcome {
                adverse_reaction: answer(Question::Adverse, adverse),
                referred: answer(Question::Referred, referred),
                new_method: asked
                    .contains(&Question::NewMethod)
                    .then(|| new_method.get_untracked())
                    .flatten(),
                pregnancy_found: answer(Question::PregnancyFound, pregnancy_found),
                knows_policy: answer(Question::KnowsPolicy, knows_policy),
                satisfied: answer(Question::Satisfied, satisfied),
                three_checks: (k == VisitKind::ThreeChecks).then(|| ThreeCheckResults {
                    ring_in_place: ring.get_untracked(),
                    pregnant: pregnant.get_untracked(),
                    condition_found: condition.get_untracked(),
                }),
                defect_level: (k == VisitKind::BirthDefectReferral)
                    .then(|| defect_level.get_untracked())
                    .flatten(),
            },
            notes: Some(notes.get_untracked().trim().to_string()).filter(|n| !n.is_empty()),
            next_visit: parse_date(&next_visit.get_untracked()),
            recorded_by: before.with_value(|b| b.as_ref().and_then(|v| v.recorded_by.clone())),
            ..Visit::new(
                before.with_value(|b| b.as_ref().map_or_else(new_id, |v| v.id)),
                p.id,
                p.household_id,
                day,
                k,
            )
        });
        let found = state
            .data
            .with_untracked(|d| validate_visit(&visit, d, today()));
        problems.set(found.clone());
        if !found.is_empty() {
            return;
        }
        saving.set(true);
        save_error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            let household = visit.household_id;
            let correcting = before.with_value(Option::is_some);
            match state.save(before.get_value(), visit).await {
                Ok(()) if correcting => {
                    navigate(&format!("/households/{household}"), Default::default())
                }
                Ok(()) => navigate("/", Default::default()),
                Err(error) => save_error.set(Some((error.zh(), error.en()))),
            }
            saving.set(false);
        });
    };

    let correcting = before.with_value(Option::is_some);
    let title = if correcting {
        Key::CorrectVisitTitle
    } else {
        Key::VisitTitle
    };

    let kind_options = move || {
        VisitKind::ALL
            .into_iter()
            .map(|k| {
                let slug = visit_kind_slug(k);
                view! { <option value=slug.clone() selected=move || kind.get() == k>{move || i18n.label(&k)}</option> }
            })
            .collect_view()
    };

    view! {
        <section class="section visit-form" data-testid="visit-form">
            <h2 data-testid="visit-title">{move || i18n.t(title)}</h2>
            <Show when=move || correcting>
                <p class="intro">{move || i18n.t(Key::CorrectingIntro)}</p>
            </Show>
            <p class="intro" data-testid="visit-person">{person.with_value(|p| p.name.clone())}</p>

            <label class="field-label" for="visit-kind">{move || i18n.t(Key::VisitKind)}</label>
            <select
                id="visit-kind"
                data-testid="visit-kind"
                on:change=move |ev| {
                    if let Some(k) = parse_kind(&event_target_value(&ev)) {
                        kind.set(k);
                    }
                }
            >
                {kind_options}
            </select>

            <label class="field-label" for="visit-date">{move || i18n.t(Key::VisitDate)}</label>
            <input id="visit-date" data-testid="visit-date" type="date" class="text" bind:value=date/>
            <p class="error field-error" role="alert" data-testid="date-error">
                {move || {
                    if date_invalid.get() {
                        Some(i18n.t(Key::DateInvalid))
                    } else {
                        problems.with(|p| problem_for(p, "date", i18n))
                    }
                }}
            </p>

            <Show when=move || kind.get() == VisitKind::ThreeChecks>
                <YesNo label=Key::RingInPlace testid="ring" value=ring/>
                <YesNo label=Key::PregnantCheck testid="pregnant" value=pregnant/>
                <YesNo label=Key::ConditionFound testid="condition" value=condition/>
            </Show>
            <Show when=move || kind.get() == VisitKind::BirthDefectReferral>
                <label class="field-label" for="defect-level">{move || i18n.t(Key::DefectLevel)}</label>
                <select id="defect-level" on:change=move |ev| defect_level.set(event_target_value(&ev).parse().ok())>
                    <option value="">"—"</option>
                    <option value="1">"一级 1"</option>
                    <option value="2">"二级 2"</option>
                    <option value="3">"三级 3"</option>
                </select>
            </Show>
            <Show when=move || asks(Question::Adverse)>
                <YesNo label=Key::AdverseReaction testid="adverse" value=adverse/>
            </Show>
            <Show when=move || asks(Question::Referred)>
                <YesNo label=Key::Referred testid="referred" value=referred/>
            </Show>
            <Show when=move || asks(Question::PregnancyFound)>
                <YesNo label=Key::PregnancyFound testid="pregnancy-found" value=pregnancy_found/>
            </Show>
            <Show when=move || asks(Question::KnowsPolicy)>
                <YesNo label=Key::KnowsPolicy testid="knows-policy" value=knows_policy/>
            </Show>
            <Show when=move || asks(Question::Satisfied)>
                <YesNo label=Key::Satisfied testid="satisfied" value=satisfied/>
            </Show>

            <Show when=move || asks(Question::NewMethod)>
            <label class="field-label" for="new-method">{move || i18n.t(Key::NewMethod)}</label>
            <select
                id="new-method"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    new_method.set(Method::ALL.into_iter().find(|m| slug(*m) == value));
                }
            >
                <option value="">{move || i18n.t(Key::NoChange)}</option>
                {move || methods().into_iter().map(|m| {
                    view! { <option value=slug(m)>{move || i18n.label(&m)}</option> }
                }).collect_view()}
            </select>
            </Show>
            <p class="error field-error" role="alert">
                {move || problems.with(|p| problem_for(p, "outcome", i18n))}
            </p>

            <label class="field-label" for="next-visit">
                {move || i18n.t(Key::NextVisit)} " (" {move || i18n.t(Key::NextVisitSuggested)} ")"
            </label>
            <input id="next-visit" data-testid="next-visit" type="date" class="text" bind:value=next_visit/>
            <p class="error field-error" role="alert">
                {move || problems.with(|p| problem_for(p, "next_visit", i18n))}
            </p>

            <label class="field-label" for="visit-notes">{move || i18n.t(Key::Notes)}</label>
            <textarea id="visit-notes" class="text" maxlength=fieldbook_core::validate::MAX_NOTE_CHARS.to_string() bind:value=notes></textarea>
            <p class="error field-error" role="alert" data-testid="notes-error">
                {move || problems.with(|p| problem_for(p, "notes", i18n))}
            </p>

            <Show when=move || !problems.with(Vec::is_empty)>
                <p class="error" role="alert" data-testid="form-errors">{move || i18n.t(Key::FixErrors)}</p>
            </Show>
            <Show when=move || save_error.get().is_some()>
                <p class="error" role="alert" data-testid="save-error">
                    {move || save_error.get().map(|(zh, en)| i18n.pick(zh, en))}
                </p>
            </Show>
            <div class="actions">
                <button class="primary" data-testid="save-visit" on:click=save disabled=move || saving.get()>
                    {move || i18n.t(if saving.get() { Key::Saving } else { Key::Save })}
                </button>
            </div>
        </section>
    }
}

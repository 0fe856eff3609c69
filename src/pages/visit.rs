//! 随访记录: the visit form, one short form whose outcome fields follow the
//! kind of visit. Opened from Today (person and kind filled in) or from a
//! household's page.

use chrono::{Days, NaiveDate};
use fieldbook_core::model::{
    Method, NotSeen, NotSeenReason, Outcome, ThreeCheckResults, Visit, VisitKind,
};
use fieldbook_core::rules::{Rules, TaskStatus, tasks_between};
use fieldbook_core::validate::validate_visit;
use fieldbook_core::visit_context::{
    close_paren, colon, due_task, full_date, open_paren, outcome_words, suggested_come_back,
    why_due,
};
use fieldbook_core::{Dataset, Person};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_location, use_navigate, use_params_map, use_query_map};

use crate::components::{LeaveDialog, mark_on_choice, use_leave_guard};
use crate::forms::{parse_date, slug};
use crate::i18n::{I18n, Key, Lang, use_i18n};
use crate::state::{new_id, today, use_app_state};

/// An in-app page to go back to (`from` in the URL): a path of this app,
/// never another site.
pub fn back_route(from: Option<String>) -> Option<String> {
    from.filter(|f| f.starts_with('/') && !f.starts_with("//") && !f.contains(':'))
}

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
        state.with_visit(id, |r| r.visit(id).cloned())
    });
    let person_id = move || {
        before
            .get()
            .map(|v| v.person_id)
            .or_else(|| super::id_param(query, "person"))
    };
    let person = Memo::new(move |_| {
        let id = person_id()?;
        state.with_person(id, |r| r.person(id).cloned())
    });
    let initial_kind = query
        .read_untracked()
        .get("kind")
        .and_then(|k| parse_kind(&k))
        .unwrap_or(VisitKind::ThreeChecks);
    let from = back_route(query.read_untracked().get("from"));
    // `/visit/:id` shows a stored visit read-only; `/visit/:id/edit` and
    // `/visit/new` are the form.
    let location = use_location();
    let read_only = move || {
        let path = location.pathname.get();
        !path.ends_with("/edit") && !path.ends_with("/new")
    };

    // Whether a stored visit is shown, not the visit itself: saving a
    // correction must not rebuild the form under the worker's hands.
    let has_before = Memo::new(move |_| before.with(Option::is_some));
    // A stored visit asked for while the cold start still reads the visits.
    let reading = move || params.read().get("id").is_some() && !state.history_ready();
    move || {
        match (person.get(), has_before.get()) {
        (None, _) if reading() => view! {
            <section class="section">
                <p class="hint history-loading" data-testid="history-loading">{move || i18n.t(Key::HistoryLoading)}</p>
            </section>
        }
        .into_any(),
        (None, _) => view! {
            <section class="section">
                <p class="error" role="alert">{move || i18n.t(Key::PersonNotFound)}</p>
            </section>
        }
        .into_any(),
        (Some(person), true) if read_only() => match before.get_untracked() {
            Some(visit) => view! { <VisitRecord person visit from=from.clone()/> }.into_any(),
            None => ().into_any(),
        },
        (Some(person), _) => {
            let before = before.get_untracked();
            let initial_kind = before.as_ref().map_or(initial_kind, |v| v.kind);
            view! { <VisitForm person initial_kind before from=from.clone()/> }.into_any()
        }
    }
    }
}

/// A date in the current language: "2026年12月6日" / "6 Dec 2026".
fn date_words(day: NaiveDate, i18n: I18n) -> String {
    full_date(day, i18n.lang() == Lang::ZhCn)
}

/// A stored visit, read-only, with an explicit 更正 that opens the form.
#[component]
fn VisitRecord(
    /// Whom the visit served.
    person: Person,
    /// The visit.
    visit: Visit,
    /// Where to go back to.
    from: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let kind = visit.kind;
    let back = from
        .clone()
        .unwrap_or_else(|| format!("/households/{}", visit.household_id));
    let edit = match &from {
        Some(from) => format!("/visit/{}/edit?from={from}", visit.id),
        None => format!("/visit/{}/edit", visit.id),
    };
    let words = StoredValue::new(visit.clone());
    let notes = visit.notes.clone();
    let next = visit.next_visit;
    let recorded_by = visit.recorded_by.clone();
    view! {
        <section class="section visit-record" data-testid="visit-record">
            <h2>{move || i18n.t(Key::VisitDetails)}</h2>
            <VisitContext person=person.clone() kind=Signal::stored(kind) except=Some(visit.id)/>
            <dl class="record-fields">
                <dt>{move || i18n.t(Key::VisitKind)}</dt>
                <dd data-testid="record-kind">{move || i18n.label(&kind)}</dd>
                <dt>{move || i18n.t(Key::VisitDate)}</dt>
                <dd data-testid="record-date">{move || date_words(visit.date, i18n)}</dd>
                <dt>{move || i18n.t(Key::VisitOutcome)}</dt>
                <dd data-testid="record-outcome">
                    {move || words.with_value(|v| outcome_words(v, i18n.lang() == Lang::ZhCn))}
                </dd>
                {next.map(|d| view! {
                    <dt>{move || i18n.t(Key::NextVisit)}</dt>
                    <dd>{move || date_words(d, i18n)}</dd>
                })}
                {notes.map(|n| view! {
                    <dt>{move || i18n.t(Key::Notes)}</dt>
                    <dd>{n}</dd>
                })}
                {recorded_by.map(|r| view! {
                    <dt>{move || i18n.t(Key::RecordedBy)}</dt>
                    <dd>{r}</dd>
                })}
            </dl>
            <div class="actions">
                <a class="button" href=edit data-testid="correct-visit">{move || i18n.t(Key::Correct)}</a>
                <a class="button secondary" href=back data-testid="visit-back">{move || i18n.t(Key::Back)}</a>
            </div>
        </section>
    }
}

/// What the worker needs at the door: the household and group, her age,
/// method and since when, the last visit of this kind, and why it is due.
#[component]
fn VisitContext(
    /// The person visited.
    person: Person,
    /// The kind of visit (follows the form's choice).
    kind: Signal<VisitKind>,
    /// A visit left out of "last visit" (the one being shown or corrected).
    except: Option<uuid::Uuid>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let zh = move || i18n.lang() == Lang::ZhCn;
    let household = state.with_records(|r| r.household(person.household_id).cloned());
    let number = household
        .as_ref()
        .map(|h| h.number.clone())
        .unwrap_or_default();
    let group = household.and_then(|h| h.group).unwrap_or_default();
    let age = person.age_on(today());
    let method = person.contraception.as_ref().map(|c| (c.method, c.start));
    let id = person.id;
    // Her visits by (date, id): the last of this kind is the last one.
    let last = Memo::new(move |_| {
        let k = kind.get();
        state.with_person(id, |r| {
            r.visits_of(id)
                .into_iter()
                .rev()
                .find(|v| v.kind == k && Some(v.id) != except)
                .cloned()
        })
    });
    let due = Memo::new(move |_| {
        let k = kind.get();
        state.with_person(id, |r| {
            due_task(r.dataset(), id, k, today(), &Rules::default())
        })
    });
    // Both need every visit: until the cold start has read them, they say so.
    let reading = move || !state.history_ready();
    view! {
        <dl class="visit-context" data-testid="visit-context">
            <dt>{move || i18n.t(Key::HouseholdNumber)}</dt>
            <dd data-testid="context-household">{number} " " {group}</dd>
            <dt>{move || i18n.t(Key::Age)}</dt>
            <dd data-testid="context-age">
                {age.map(|a| a.to_string()).unwrap_or_else(|| "—".into())} " " {move || i18n.t(Key::Age)}
            </dd>
            <dt>{move || i18n.t(Key::Method)}</dt>
            <dd data-testid="context-method">
                {move || match method {
                    None => i18n.t(Key::NoMethod).to_string(),
                    Some((m, None)) => i18n.label(&m).to_string(),
                    Some((m, Some(start))) => format!(
                        "{}{}{} {}{}",
                        i18n.label(&m),
                        open_paren(zh()),
                        i18n.t(Key::MethodSince),
                        date_words(start, i18n),
                        close_paren(zh())
                    ),
                }}
            </dd>
            <dt>{move || i18n.t(Key::LastVisitOfKind)}</dt>
            <dd data-testid="context-last">
                {move || match last.get() {
                    _ if reading() => i18n.t(Key::HistoryLoading).to_string(),
                    None => i18n.t(Key::NoneYet).to_string(),
                    Some(v) => format!("{}{}{}", date_words(v.date, i18n), colon(zh()), outcome_words(&v, zh())),
                }}
            </dd>
            <dt>{move || i18n.t(Key::WhyDue)}</dt>
            <dd data-testid="context-why">
                {move || match due.get() {
                    _ if reading() => i18n.t(Key::HistoryLoading).to_string(),
                    None => i18n.t(Key::NoTaskOfKind).to_string(),
                    Some(task) => why_due(&task, zh()),
                }}
            </dd>
        </dl>
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
    /// The name of "no answer": 未问 (not asked), or 未查 (not checked) for
    /// the three checks.
    #[prop(default = Key::NotAsked)]
    unset: Key,
) -> impl IntoView {
    let i18n = use_i18n();
    let options = [(None, unset), (Some(true), Key::Yes), (Some(false), Key::No)]
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
        <div class="yes-no" role="group" aria-labelledby=format!("{testid}-label")>
            <span class="field-label" id=format!("{testid}-label")>{move || i18n.t(label)}</span>
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
    /// Where to go back to after saving (the page she came from).
    from: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let navigate = use_navigate();
    let guard = use_leave_guard();
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
    // 见到了 / 未见到: an attempt records why and when to come back.
    let seen = RwSignal::new(old.not_seen.is_none());
    let reason = RwSignal::new(old.not_seen.map_or(NotSeenReason::NotHome, |n| n.reason));
    let come_back = RwSignal::new(
        old.not_seen
            .and_then(|n| n.come_back)
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    let suggest_come_back = move |r: NotSeenReason| {
        let day = parse_date(&date.get_untracked()).unwrap_or_else(today);
        come_back.set(
            suggested_come_back(r, day)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
    };
    let from = StoredValue::new(from);
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
            .with_records(|r| person.with_value(|p| suggested_next_visit(r.dataset(), p, k, day)));
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
        let not_seen = (!seen.get_untracked()).then(|| NotSeen {
            reason: reason.get_untracked(),
            come_back: parse_date(&come_back.get_untracked()),
        });
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
            not_seen,
            recorded_by: before.with_value(|b| b.as_ref().and_then(|v| v.recorded_by.clone())),
            ..Visit::new(
                before.with_value(|b| b.as_ref().map_or_else(new_id, |v| v.id)),
                p.id,
                p.household_id,
                day,
                k,
            )
        });
        // Nobody seen, nothing asked: an attempt keeps no answers and no
        // next visit (the come-back date is when to try again).
        let visit = if visit.not_seen.is_some() {
            Visit {
                outcome: Outcome::default(),
                next_visit: None,
                ..visit
            }
        } else {
            visit
        };
        let found = state.with_records(|r| validate_visit(&visit, r.dataset(), today()));
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
                Ok(()) => {
                    guard.clear();
                    // Back where she came from: Today, or the household.
                    let back = from.get_value().unwrap_or_else(|| {
                        if correcting {
                            format!("/households/{household}")
                        } else {
                            "/".to_string()
                        }
                    });
                    navigate(&back, Default::default());
                }
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
        <section
            class="section visit-form"
            data-testid="visit-form"
            on:input=move |_| guard.mark()
            on:change=move |_| guard.mark()
            on:click=move |ev| mark_on_choice(guard, &ev)
        >
            <h2 data-testid="visit-title">{move || i18n.t(title)}</h2>
            <Show when=move || correcting>
                <p class="intro">{move || i18n.t(Key::CorrectingIntro)}</p>
            </Show>
            <p class="intro" data-testid="visit-person">{person.with_value(|p| p.name.clone())}</p>
            <VisitContext
                person=person.get_value()
                kind=Signal::derive(move || kind.get())
                except=before.with_value(|b| b.as_ref().map(|v| v.id))
            />

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

            <span class="field-label" id="seen-label">{move || i18n.t(Key::SeenQuestion)}</span>
            <div class="choices" role="group" aria-labelledby="seen-label">
                <button type="button" class="choice small" data-testid="seen-yes"
                    aria-pressed=move || seen.get().to_string()
                    on:click=move |_| seen.set(true)>{move || i18n.t(Key::Seen)}</button>
                <button type="button" class="choice small" data-testid="seen-no"
                    aria-pressed=move || (!seen.get()).to_string()
                    on:click=move |_| {
                        seen.set(false);
                        if come_back.with_untracked(String::is_empty) {
                            suggest_come_back(reason.get_untracked());
                        }
                    }>{move || i18n.t(Key::NotSeen)}</button>
            </div>
            <Show when=move || !seen.get()>
                <span class="field-label" id="reason-label">{move || i18n.t(Key::NotSeenReasonLabel)}</span>
                <div class="choices" role="group" aria-labelledby="reason-label">
                    {NotSeenReason::ALL.into_iter().map(|r| view! {
                        <button type="button" class="choice small" data-testid=format!("reason-{}", slug(r))
                            aria-pressed=move || (reason.get() == r).to_string()
                            on:click=move |_| {
                                reason.set(r);
                                suggest_come_back(r);
                            }>{move || i18n.label(&r)}</button>
                    }).collect_view()}
                </div>
                <label class="field-label" for="come-back">{move || i18n.t(Key::ComeBack)}</label>
                <input id="come-back" data-testid="come-back" type="date" class="text" bind:value=come_back/>
                <p class="error field-error" role="alert" data-testid="come-back-error">
                    {move || problems.with(|p| problem_for(p, "not_seen", i18n))}
                </p>
            </Show>
            <div class="answers" hidden=move || !seen.get()>
            <Show when=move || kind.get() == VisitKind::ThreeChecks>
                <YesNo label=Key::RingInPlace testid="ring" value=ring unset=Key::NotChecked/>
                <YesNo label=Key::PregnantCheck testid="pregnant" value=pregnant unset=Key::NotChecked/>
                <YesNo label=Key::ConditionFound testid="condition" value=condition unset=Key::NotChecked/>
            </Show>
            <Show when=move || kind.get() == VisitKind::BirthDefectReferral>
                <label class="field-label" for="defect-level">{move || i18n.t(Key::DefectLevel)}</label>
                <select id="defect-level" on:change=move |ev| defect_level.set(event_target_value(&ev).parse().ok())>
                    <option value="">"—"</option>
                    {[1u8, 2, 3]
                        .map(|n| {
                            let (zh, en) = fieldbook_core::labels::defect_level(n).unwrap_or(("", ""));
                            view! {
                                <option value=n.to_string() selected=move || defect_level.get() == Some(n)>
                                    {move || i18n.pick(zh, en)}
                                </option>
                            }
                        })
                        .collect_view()}
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
            </div>

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
            <LeaveDialog guard/>
        </section>
    }
}

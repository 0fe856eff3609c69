//! Adding and editing a person, with the core's validation messages beside
//! each field. Sections of the form appear only when they apply (a migrant's
//! place, a pregnancy's date, a method's dates).

use fieldbook_core::Person;
use fieldbook_core::model::{
    Contraception, DeregisterReason, Living, MaritalStatus, Method, MigrantCertificate, Pregnancy,
    Sex,
};
use fieldbook_core::validate::{
    MAX_LINE_CHARS, MAX_NAME_CHARS, MAX_SHORT_TEXT_CHARS, Problem, validate_person,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::components::{
    FieldError, LeaveDialog, TextField, mark_on_choice, problem_text, use_leave_guard,
};
use crate::forms::{date_text, parse_date as date_or_none, slug, text_or_none};
use crate::i18n::{Key, Lang, use_i18n};
use crate::state::{new_id, today, use_app_state};

/// `/person/new?household=…` and `/person/:id/edit`.
#[component]
pub fn PersonFormPage() -> impl IntoView {
    crate::state::use_form_guard();
    let i18n = use_i18n();
    let state = use_app_state();
    let params = use_params_map();
    let query = use_query_map();
    let existing = Memo::new(move |_| {
        let id = super::id_param(params, "id")?;
        state.with_person(id, |r| r.person(id).cloned())
    });
    let household = Memo::new(move |_| {
        let id = super::id_param(query, "household")?;
        state.with_household(id, |r| r.household(id).map(|h| h.id))
    });
    move || match (existing.get(), household.get()) {
        (Some(person), _) => {
            view! { <PersonForm household=person.household_id before=Some(person)/> }.into_any()
        }
        (None, Some(household)) if params.read().get("id").is_none() => {
            view! { <PersonForm household before=None/> }.into_any()
        }
        _ => view! { <p class="error" role="alert">{move || i18n.t(Key::PersonNotFound)}</p> }
            .into_any(),
    }
}

#[component]
fn PersonForm(
    /// The household the person belongs to.
    household: uuid::Uuid,
    /// The stored person when editing.
    before: Option<Person>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let navigate = use_navigate();
    let guard = use_leave_guard();
    let p = before
        .clone()
        .unwrap_or_else(|| Person::new(new_id(), household, "", Sex::Female));
    let name = RwSignal::new(p.name.clone());
    let sex = RwSignal::new(p.sex);
    let birth = RwSignal::new(date_text(p.birth_date));
    let relation = RwSignal::new(p.relation.clone().unwrap_or_default());
    let marital = RwSignal::new(p.marital);
    let phone = RwSignal::new(p.phone.clone().unwrap_or_default());
    let children = RwSignal::new(p.children.to_string());
    let (living_kind, place, since) = match &p.living {
        Living::Resident => ("resident", String::new(), None),
        Living::OutMigrant { place, since } => ("out", place.clone(), *since),
        Living::InMigrant { place, since } => ("in", place.clone(), *since),
        Living::Deregistered {
            reason: DeregisterReason::MovedAway,
            date,
        } => ("moved", String::new(), *date),
        Living::Deregistered {
            reason: DeregisterReason::Deceased,
            date,
        } => ("deceased", String::new(), *date),
    };
    let living = RwSignal::new(living_kind);
    let place = RwSignal::new(place);
    let since = RwSignal::new(date_text(since));
    let certificate = RwSignal::new(
        p.certificate
            .as_ref()
            .map(|c| c.number.clone())
            .unwrap_or_default(),
    );
    let certificate_expires =
        RwSignal::new(date_text(p.certificate.as_ref().and_then(|c| c.expires)));
    let (pregnancy_kind, pregnancy_date) = match p.pregnancy {
        Pregnancy::None => ("none", None),
        Pregnancy::Pregnant { last_period } => ("pregnant", Some(last_period)),
        Pregnancy::Delivered { on } => ("delivered", Some(on)),
    };
    let pregnancy = RwSignal::new(pregnancy_kind);
    let pregnancy_date = RwSignal::new(date_text(pregnancy_date));
    // 怀孕 and 已分娩 need their date: the form says so rather than saving
    // 未孕 (the record cannot hold the status without it).
    let pregnancy_date_missing = RwSignal::new(None::<Key>);
    let method = RwSignal::new(p.contraception.as_ref().map(|c| c.method));
    let method_start = RwSignal::new(date_text(p.contraception.as_ref().and_then(|c| c.start)));
    let replace_by = RwSignal::new(date_text(
        p.contraception.as_ref().and_then(|c| c.replace_by),
    ));
    let informed = RwSignal::new(p.contraception.as_ref().is_some_and(|c| c.informed_choice));
    let menopause = RwSignal::new(date_text(p.menopause));
    let exemption = RwSignal::new(p.exemption.clone().unwrap_or_default());
    let problems = RwSignal::new(Vec::<Problem>::new());
    let save_error = RwSignal::new(None::<(&'static str, &'static str)>);
    let saving = RwSignal::new(false);
    let base = StoredValue::new(p);
    let before = StoredValue::new(before);
    let zh = move || i18n.lang() == Lang::ZhCn;

    let save = move |_| {
        let living_value = match living.get_untracked() {
            "out" => Living::OutMigrant {
                place: place.get_untracked().trim().into(),
                since: date_or_none(&since.get_untracked()),
            },
            "in" => Living::InMigrant {
                place: place.get_untracked().trim().into(),
                since: date_or_none(&since.get_untracked()),
            },
            "moved" => Living::Deregistered {
                reason: DeregisterReason::MovedAway,
                date: date_or_none(&since.get_untracked()),
            },
            "deceased" => Living::Deregistered {
                reason: DeregisterReason::Deceased,
                date: date_or_none(&since.get_untracked()),
            },
            _ => Living::Resident,
        };
        let status = if sex.get_untracked() == Sex::Female {
            pregnancy.get_untracked()
        } else {
            "none"
        };
        let pregnancy_value = match (status, date_or_none(&pregnancy_date.get_untracked())) {
            ("pregnant", Some(day)) => Pregnancy::Pregnant { last_period: day },
            ("delivered", Some(day)) => Pregnancy::Delivered { on: day },
            ("pregnant", None) => {
                pregnancy_date_missing.set(Some(Key::LastPeriodRequired));
                Pregnancy::None
            }
            ("delivered", None) => {
                pregnancy_date_missing.set(Some(Key::DeliveryDateRequired));
                Pregnancy::None
            }
            _ => Pregnancy::None,
        };
        if !matches!(
            (status, &pregnancy_value),
            ("pregnant" | "delivered", Pregnancy::None)
        ) {
            pregnancy_date_missing.set(None);
        }
        let person = Person {
            name: name.get_untracked().trim().to_string(),
            sex: sex.get_untracked(),
            birth_date: date_or_none(&birth.get_untracked()),
            relation: text_or_none(&relation.get_untracked()),
            marital: marital.get_untracked(),
            phone: text_or_none(&phone.get_untracked()),
            children: children.get_untracked().trim().parse().unwrap_or(0),
            certificate: (living_value.is_migrant()
                && !certificate.get_untracked().trim().is_empty())
            .then(|| MigrantCertificate {
                number: certificate.get_untracked().trim().into(),
                expires: date_or_none(&certificate_expires.get_untracked()),
            }),
            living: living_value,
            pregnancy: pregnancy_value,
            contraception: method.get_untracked().map(|m| Contraception {
                method: m,
                start: date_or_none(&method_start.get_untracked()),
                replace_by: date_or_none(&replace_by.get_untracked()),
                informed_choice: informed.get_untracked(),
            }),
            menopause: date_or_none(&menopause.get_untracked()),
            exemption: text_or_none(&exemption.get_untracked()),
            ..base.get_value()
        };
        let found = state.with_records(|r| validate_person(&person, r.dataset(), today()));
        problems.set(found.clone());
        if !found.is_empty() || pregnancy_date_missing.get_untracked().is_some() {
            return;
        }
        saving.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let household = person.household_id;
            match state.save(before.get_value(), person).await {
                Ok(()) => {
                    guard.clear();
                    navigate(&format!("/households/{household}"), Default::default());
                }
                Err(error) => save_error.set(Some((error.zh(), error.en()))),
            }
            saving.set(false);
        });
    };

    let marital_options = move || {
        [MaritalStatus::Unmarried, MaritalStatus::FirstMarriage, MaritalStatus::Remarried, MaritalStatus::Divorced, MaritalStatus::Widowed]
            .into_iter()
            .map(|m| view! { <option value=slug(m) selected=move || marital.get() == m>{move || i18n.label(&m)}</option> })
            .collect_view()
    };
    let method_options = move || {
        let s = sex.get();
        Method::ALL
            .into_iter()
            .filter(|m| m.only_for().is_none_or(|only| only == s))
            .map(|m| view! { <option value=slug(m) selected=move || method.get() == Some(m)>{move || i18n.label(&m)}</option> })
            .collect_view()
    };

    view! {
        <section
            class="section"
            data-testid="person-form"
            on:input=move |_| guard.mark()
            on:change=move |_| guard.mark()
            on:click=move |ev| mark_on_choice(guard, &ev)
        >
            <h2>{move || i18n.t(if before.with_value(Option::is_some) { Key::EditPerson } else { Key::AddPerson })}</h2>
            <TextField label=Key::Name field="name" value=name problems required=true max_chars=MAX_NAME_CHARS/>
            <span class="field-label">{move || i18n.t(Key::Sex)}</span>
            <div class="choices" role="group">
                {[Sex::Female, Sex::Male].into_iter().map(|s| view! {
                    <button type="button" class="choice small" data-testid=format!("sex-{}", slug(s))
                        aria-pressed=move || (sex.get() == s).to_string()
                        on:click=move |_| sex.set(s)>{move || i18n.label(&s)}</button>
                }).collect_view()}
            </div>
            <TextField label=Key::BirthDate field="birth_date" value=birth problems kind="date"/>
            <TextField label=Key::Relation field="relation" value=relation problems max_chars=MAX_SHORT_TEXT_CHARS/>
            <label class="field-label" for="marital">{move || i18n.t(Key::Marital)}</label>
            <select id="marital" data-testid="marital" on:change=move |ev| {
                let v = event_target_value(&ev);
                if let Some(m) = [MaritalStatus::Unmarried, MaritalStatus::FirstMarriage, MaritalStatus::Remarried, MaritalStatus::Divorced, MaritalStatus::Widowed].into_iter().find(|m| slug(*m) == v) {
                    marital.set(m);
                }
            }>{marital_options}</select>
            <p class="error field-error" role="alert">{move || problems.with(|p| problem_text(p, "marital", zh()))}</p>
            <TextField label=Key::Phone field="phone" value=phone problems kind="tel" max_chars=MAX_SHORT_TEXT_CHARS/>
            <TextField label=Key::Children field="children" value=children problems/>

            <label class="field-label" for="living">{move || i18n.t(Key::Living)}</label>
            <select id="living" data-testid="living" on:change=move |ev| {
                let v = event_target_value(&ev);
                living.set(match v.as_str() { "out" => "out", "in" => "in", "moved" => "moved", "deceased" => "deceased", _ => "resident" });
            }>
                {[("resident", Key::LivingResident), ("out", Key::LivingOut), ("in", Key::LivingIn), ("moved", Key::LivingMoved), ("deceased", Key::LivingDeceased)]
                    .into_iter()
                    .map(|(value, key)| view! { <option value=value selected=move || living.get() == value>{move || i18n.t(key)}</option> })
                    .collect_view()}
            </select>
            // The place follows the status: where an out-migrant lives now
            // (流入地), where an in-migrant is registered (户籍地).
            <Show when=move || living.get() == "out">
                <TextField label=Key::PlaceLivingNow field="living.place" value=place problems required=true max_chars=MAX_LINE_CHARS/>
            </Show>
            <Show when=move || living.get() == "in">
                <TextField label=Key::PlaceRegistered field="living.place" value=place problems required=true max_chars=MAX_LINE_CHARS/>
            </Show>
            <Show when=move || matches!(living.get(), "out" | "in")>
                <TextField label=Key::CertificateNumber field="certificate.number" value=certificate problems max_chars=MAX_SHORT_TEXT_CHARS/>
                <TextField label=Key::CertificateExpires field="certificate.expires" value=certificate_expires problems kind="date"/>
            </Show>
            <Show when=move || living.get() != "resident">
                <TextField label=Key::Since field="living.since" value=since problems kind="date"/>
            </Show>

            <Show when=move || sex.get() == Sex::Female>
                <label class="field-label" for="pregnancy">{move || i18n.t(Key::Pregnancy)}</label>
                <select id="pregnancy" data-testid="pregnancy" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    pregnancy.set(match v.as_str() { "pregnant" => "pregnant", "delivered" => "delivered", _ => "none" });
                }>
                    {[("none", Key::PregnancyNone), ("pregnant", Key::PregnancyPregnant), ("delivered", Key::PregnancyDelivered)]
                        .into_iter()
                        .map(|(value, key)| view! { <option value=value selected=move || pregnancy.get() == value>{move || i18n.t(key)}</option> })
                        .collect_view()}
                </select>
                <Show when=move || pregnancy.get() != "none">
                    {move || {
                        let missing = pregnancy_date_missing.get();
                        let core = problems.with(|p| problem_text(p, "pregnancy", zh()));
                        let error = missing.map(|k| i18n.t(k)).or(core);
                        let invalid = error.is_some();
                        view! {
                            <label class="field-label" for="field-pregnancy">
                                {i18n.t(if pregnancy.get() == "pregnant" { Key::LastPeriodDate } else { Key::DeliveryDate })}
                                " *"
                            </label>
                            <input
                                id="field-pregnancy"
                                class="text"
                                class:invalid=invalid
                                type="date"
                                data-testid="pregnancy-date"
                                aria-invalid=invalid.to_string()
                                aria-required="true"
                                bind:value=pregnancy_date
                            />
                            <p class="error field-error" role="alert" data-testid="pregnancy-error">{error}</p>
                        }
                    }}
                </Show>
            </Show>

            <label class="field-label" for="method">{move || i18n.t(Key::Method)}</label>
            <select id="method" data-testid="method" on:change=move |ev| {
                let v = event_target_value(&ev);
                method.set(Method::ALL.into_iter().find(|m| slug(*m) == v));
            }>
                <option value="" selected=move || method.get().is_none()>{move || i18n.t(Key::NoMethod)}</option>
                {method_options}
            </select>
            <p class="error field-error" role="alert">{move || problems.with(|p| problem_text(p, "contraception.method", zh()))}</p>
            <Show when=move || method.get().is_some()>
                <TextField label=Key::MethodStart field="contraception.start" value=method_start problems kind="date"/>
                <TextField label=Key::ReplaceBy field="contraception.replace_by" value=replace_by problems kind="date"/>
                <label class="check">
                    <input type="checkbox" prop:checked=move || informed.get() on:change=move |ev| informed.set(event_target_checked(&ev))/>
                    {move || i18n.t(Key::InformedChoice)}
                </label>
            </Show>
            <Show when=move || sex.get() == Sex::Female>
                <TextField label=Key::Menopause field="menopause" value=menopause problems kind="date"/>
            </Show>
            <TextField label=Key::Exemption field="exemption" value=exemption problems max_chars=MAX_LINE_CHARS/>

            <Show when=move || !problems.with(Vec::is_empty) || pregnancy_date_missing.with(Option::is_some)>
                <p class="error" role="alert" data-testid="form-errors">{move || i18n.t(Key::FixErrors)}</p>
            </Show>
            <FieldError message=save_error/>
            <div class="actions">
                <button class="primary" data-testid="save-person" on:click=save disabled=move || saving.get()>
                    {move || i18n.t(if saving.get() { Key::Saving } else { Key::Save })}
                </button>
            </div>
            <LeaveDialog guard/>
        </section>
    }
}

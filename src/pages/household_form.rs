//! Adding and editing a household, with the core's validation messages
//! beside each field.

use fieldbook_core::Household;
use fieldbook_core::validate::{
    MAX_LINE_CHARS, MAX_NOTE_CHARS, MAX_SHORT_TEXT_CHARS, Problem, validate_household,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::components::{FieldError, LeaveDialog, TextField, use_leave_guard};
use crate::forms::text_or_none;
use crate::i18n::{Key, use_i18n};
use crate::state::{new_id, use_app_state};

/// `/household/new` and `/household/:id/edit`.
#[component]
pub fn HouseholdFormPage() -> impl IntoView {
    crate::state::use_form_guard();
    let i18n = use_i18n();
    let state = use_app_state();
    let params = use_params_map();
    let existing = Memo::new(move |_| {
        let id = super::id_param(params, "id")?;
        state.with_household(id, |r| r.household(id).cloned())
    });
    let editing_unknown = move || params.read().get("id").is_some() && existing.get().is_none();
    move || {
        if editing_unknown() {
            view! { <p class="error" role="alert">{move || i18n.t(Key::HouseholdNotFound)}</p> }
                .into_any()
        } else {
            view! { <HouseholdForm before=existing.get_untracked()/> }.into_any()
        }
    }
}

#[component]
fn HouseholdForm(
    /// The stored household when editing; `None` when adding.
    before: Option<Household>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let navigate = use_navigate();
    let guard = use_leave_guard();
    let start = before.clone();
    let number = RwSignal::new(start.as_ref().map(|h| h.number.clone()).unwrap_or_default());
    let group = RwSignal::new(
        start
            .as_ref()
            .and_then(|h| h.group.clone())
            .unwrap_or_default(),
    );
    let address = RwSignal::new(
        start
            .as_ref()
            .and_then(|h| h.address.clone())
            .unwrap_or_default(),
    );
    let phone = RwSignal::new(
        start
            .as_ref()
            .and_then(|h| h.phone.clone())
            .unwrap_or_default(),
    );
    let notes = RwSignal::new(
        start
            .as_ref()
            .and_then(|h| h.notes.clone())
            .unwrap_or_default(),
    );
    let flags = RwSignal::new(start.as_ref().map(|h| h.flags).unwrap_or_default());
    let problems = RwSignal::new(Vec::<Problem>::new());
    let save_error = RwSignal::new(None::<(&'static str, &'static str)>);
    let saving = RwSignal::new(false);
    let before = StoredValue::new(before);

    let flag_boxes = [
        (Key::FlagOneChild, "one_child"),
        (Key::FlagTwoGirls, "two_girls"),
        (Key::FlagCareForGirls, "care_for_girls"),
        (Key::FlagSpecial, "special_family"),
    ]
    .into_iter()
    .map(|(key, slug)| {
        let get = move |f: &fieldbook_core::FamilyFlags| match slug {
            "one_child" => f.one_child,
            "two_girls" => f.two_girls,
            "care_for_girls" => f.care_for_girls,
            _ => f.special_family,
        };
        view! {
            <label class="check">
                <input
                    type="checkbox"
                    data-testid=format!("flag-{slug}")
                    prop:checked=move || flags.with(get)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        flags.update(|f| match slug {
                            "one_child" => f.one_child = on,
                            "two_girls" => f.two_girls = on,
                            "care_for_girls" => f.care_for_girls = on,
                            _ => f.special_family = on,
                        });
                    }
                />
                {move || i18n.t(key)}
            </label>
        }
    })
    .collect_view();

    let save = move |_| {
        let Some(village) = state.village() else {
            return;
        };
        let old = before.get_value();
        let household = Household {
            number: number.get_untracked().trim().to_string(),
            group: text_or_none(&group.get_untracked()),
            address: text_or_none(&address.get_untracked()),
            phone: text_or_none(&phone.get_untracked()),
            notes: text_or_none(&notes.get_untracked()),
            flags: flags.get_untracked(),
            ..old
                .clone()
                .unwrap_or_else(|| Household::new(new_id(), village.id, ""))
        };
        let found = state.with_records(|r| validate_household(&household, r.dataset()));
        problems.set(found.clone());
        if !found.is_empty() {
            return;
        }
        saving.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let id = household.id;
            match state.save(old, household).await {
                Ok(()) => {
                    guard.clear();
                    navigate(&format!("/households/{id}"), Default::default());
                }
                Err(error) => save_error.set(Some((error.zh(), error.en()))),
            }
            saving.set(false);
        });
    };

    view! {
        <section
            class="section"
            data-testid="household-form"
            on:input=move |_| guard.mark()
            on:change=move |_| guard.mark()
        >
            <h2>{move || i18n.t(if before.with_value(Option::is_some) { Key::EditHousehold } else { Key::AddHousehold })}</h2>
            <TextField label=Key::HouseholdNumber field="number" value=number problems required=true max_chars=MAX_SHORT_TEXT_CHARS/>
            <TextField label=Key::VillagerGroup field="group" value=group problems max_chars=MAX_SHORT_TEXT_CHARS/>
            <TextField label=Key::Address field="address" value=address problems max_chars=MAX_LINE_CHARS/>
            <TextField label=Key::Phone field="phone" value=phone problems kind="tel" max_chars=MAX_SHORT_TEXT_CHARS/>
            <fieldset class="checks">{flag_boxes}</fieldset>
            <TextField label=Key::Notes field="notes" value=notes problems max_chars=MAX_NOTE_CHARS/>
            <Show when=move || !problems.with(Vec::is_empty)>
                <p class="error" role="alert">{move || i18n.t(Key::FixErrors)}</p>
            </Show>
            <FieldError message=save_error/>
            <div class="actions">
                <button class="primary" data-testid="save-household" on:click=save disabled=move || saving.get()>
                    {move || i18n.t(if saving.get() { Key::Saving } else { Key::Save })}
                </button>
            </div>
            <LeaveDialog guard/>
        </section>
    }
}

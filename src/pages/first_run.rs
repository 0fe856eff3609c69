//! 开始使用: the first run. First "已有账户？登录同步": a worker with an
//! account signs in and her village comes from the server. Then "没有服务器：
//! 在本机建立村": she names her village and year and picks a plan template —
//! or loads the demo village to explore.
//!
//! A signed-in worker never makes a second village: once a session exists
//! the create-village part is gone (and `start` refuses), and a phone that
//! already made its own village is not signed in (`AppState::login`).

use chrono::Datelike;
use fieldbook_core::Village;
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::templates::{Template, TemplateId, builtin, empty_plan};
use fieldbook_core::validate::{MAX_NAME_CHARS, validate_village};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::FieldError;
use crate::i18n::{Key, use_i18n};
use crate::state::{new_id, today, use_app_state};

/// The first-run form.
#[component]
pub fn FirstRun() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_app_state();
    let name = RwSignal::new(String::new());
    let township = RwSignal::new(String::new());
    let year = RwSignal::new(today().year().to_string());
    let template: RwSignal<Option<TemplateId>> = RwSignal::new(Some(TemplateId::One));
    let name_error = RwSignal::new(None::<(&'static str, &'static str)>);
    let year_error = RwSignal::new(false);
    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<String>);
    let demo_progress = RwSignal::new(None::<(usize, usize)>);

    let signed_in = move || state.session.with(Option::is_some);
    let start = move |_| {
        // The form is hidden once signed in; this guards the path itself.
        if state.session.with_untracked(Option::is_some) {
            save_error.set(Some(i18n.t(Key::CreateRefusedSignedIn).to_string()));
            return;
        }
        let village = Village {
            id: new_id(),
            name: name.get_untracked().trim().to_string(),
            township: Some(township.get_untracked().trim().to_string()).filter(|t| !t.is_empty()),
            deleted: false,
        };
        let problems = validate_village(&village);
        name_error.set(problems.first().map(|p| (p.zh(), p.en())));
        let plan_year = year
            .get_untracked()
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y));
        year_error.set(plan_year.is_none());
        let (Some(plan_year), true) = (plan_year, problems.is_empty()) else {
            return;
        };
        let mut next_id = new_id;
        let plan = match template.get_untracked() {
            Some(id) => Template::get(id).instantiate(village.id, plan_year, &mut next_id),
            None => empty_plan(
                village.id,
                plan_year,
                &format!("{plan_year}年工作计划"),
                &mut next_id,
            ),
        };
        saving.set(true);
        spawn_local(async move {
            // The village and its plan are real records: they go through the
            // store one by one, each with its outbox changes, to be synced.
            let result = match state.save(None, village).await {
                Ok(()) => state.save(None, plan).await,
                Err(error) => Err(error),
            };
            saving.set(false);
            if let Err(error) = result {
                save_error.set(Some(i18n.pick(error.zh(), error.en()).to_string()));
            }
        });
    };

    let load_demo = move |_| {
        if state.session.with_untracked(Option::is_some) {
            save_error.set(Some(i18n.t(Key::CreateRefusedSignedIn).to_string()));
            return;
        }
        let seed = js_sys::Date::now() as u64;
        let data = generate(seed, Size::Village, today());
        demo_progress.set(Some((0, 1)));
        spawn_local(async move {
            let result = state
                .save_all(data, move |done, total| {
                    demo_progress.set(Some((done, total)))
                })
                .await;
            demo_progress.set(None);
            if let Err(error) = result {
                save_error.set(Some(i18n.pick(error.zh(), error.en()).to_string()));
            }
        });
    };

    let template_choices = move || {
        builtin()
            .into_iter()
            .map(|t| Some(t.id))
            .chain([None])
            .map(|choice| {
                view! {
                    <label class="choice-card">
                        <input
                            type="radio"
                            name="template"
                            prop:checked=move || template.get() == choice
                            on:change=move |_| template.set(choice)
                        />
                        <TemplateLabel choice=choice/>
                    </label>
                }
            })
            .collect_view()
    };

    let create = move || {
        view! {
            <section class="first-run-part" data-testid="no-server" aria-labelledby="no-server-title">
                <h3 id="no-server-title">{move || i18n.t(Key::NoServer)}</h3>
                <p class="intro">{move || i18n.t(Key::NoServerIntro)}</p>
                <p class="intro">{move || i18n.t(Key::FirstRunIntro)}</p>
                <label class="field-label" for="village-name">
                    {move || i18n.t(Key::VillageName)} " *"
                </label>
                <input id="village-name" data-testid="village-name" class="text" maxlength=MAX_NAME_CHARS.to_string() bind:value=name autocomplete="off"/>
                <FieldError message=name_error/>
                <label class="field-label" for="township">{move || i18n.t(Key::Township)}</label>
                <input id="township" class="text" maxlength=MAX_NAME_CHARS.to_string() bind:value=township/>
                <label class="field-label" for="plan-year">{move || i18n.t(Key::PlanYear)}</label>
                <input id="plan-year" data-testid="plan-year" class="text" inputmode="numeric" bind:value=year/>
                <Show when=move || year_error.get()>
                    <p class="error" role="alert">{move || i18n.t(Key::YearInvalid)}</p>
                </Show>
                <fieldset class="choices-vertical">
                    <legend>{move || i18n.t(Key::PlanTemplate)}</legend>
                    {template_choices()}
                </fieldset>
                <button class="primary" data-testid="start" on:click=start disabled=move || saving.get()>
                    {move || i18n.t(if saving.get() { Key::Saving } else { Key::StartButton })}
                </button>
                <hr/>
                <p class="intro">{move || i18n.t(Key::TryDemoIntro)}</p>
                <button data-testid="try-demo" on:click=load_demo disabled=move || demo_progress.get().is_some()>
                    {move || i18n.t(Key::TryDemo)}
                </button>
                <Show when=move || demo_progress.get().is_some()>
                    <div class="progress" role="status" data-testid="demo-progress">
                        {move || i18n.t(Key::LoadingDemo)}
                        <progress
                            max=move || demo_progress.get().map_or(1, |p| p.1.max(1))
                            value=move || demo_progress.get().map_or(0, |p| p.0)
                        ></progress>
                    </div>
                </Show>
            </section>
        }
    };
    // A worker signed in whose account has no village: nothing will come.
    let no_village = move || {
        state.session.with(|s| {
            s.as_ref()
                .is_some_and(|s| !s.is_township() && s.user.villages.is_empty())
        })
    };

    view! {
        <div class="first-run" data-testid="first-run">
            <h2>{move || i18n.t(Key::FirstRunTitle)}</h2>
            <section class="first-run-part" data-testid="have-account" aria-labelledby="have-account-title">
                <h3 id="have-account-title">{move || i18n.t(Key::HaveAccount)}</h3>
                <Show
                    when=signed_in
                    fallback=move || view! {
                        <p class="intro">{move || i18n.t(Key::HaveAccountIntro)}</p>
                        <crate::components::LoginForm/>
                    }
                >
                    <Show when=move || state.session.with(|s| s.as_ref().is_some_and(|s| s.must_change_password))>
                        <crate::components::ChangePasswordForm/>
                    </Show>
                    <Show
                        when=no_village
                        fallback=move || view! {
                            <Show when=move || state.session.with(|s| s.as_ref().is_some_and(|s| !s.is_township()))>
                                <p role="status" data-testid="signed-in-waiting">{move || i18n.t(Key::SignedInWaiting)}</p>
                            </Show>
                        }
                    >
                        <p class="error" role="alert" data-testid="signed-in-no-village">{move || i18n.t(Key::SignedInNoVillage)}</p>
                    </Show>
                    <crate::components::SyncPanel/>
                </Show>
            </section>
            <Show when=move || !signed_in()>
                <hr/>
                {create}
            </Show>
            <Show when=move || save_error.get().is_some()>
                <p class="error" role="alert" data-testid="first-run-error">{move || save_error.get()}</p>
            </Show>
            <hr/>
            <crate::components::ImportBackup/>
        </div>
    }
}

/// A template's title and summary, or the empty plan's label.
#[component]
fn TemplateLabel(
    /// The template, or `None` for the empty plan.
    choice: Option<TemplateId>,
) -> impl IntoView {
    let i18n = use_i18n();
    match choice {
        Some(id) => {
            let t = Template::get(id);
            let (title, title_en) = (t.title(), t.title_en());
            let (summary, summary_en) = (t.summary(), t.summary_en());
            view! {
                <span class="choice-title">{move || i18n.pick(title, title_en)}</span>
                <span class="choice-summary">{move || i18n.pick(summary, summary_en)}</span>
            }
            .into_any()
        }
        None => {
            view! { <span class="choice-title">{move || i18n.t(Key::EmptyPlan)}</span> }.into_any()
        }
    }
}

//! 设置: language, storage, sync and the account password, the lock,
//! backup (export and import) and version.

use leptos::prelude::*;

use crate::components::SectionPage;
use crate::i18n::{Key, Lang, use_i18n};
use crate::pwa::{build_id, use_pwa};
use crate::settings;
use crate::state::use_app_state;

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let pwa = use_pwa();
    let save_failed = RwSignal::new(false);
    let state = use_app_state();
    let usage = LocalResource::new(crate::storage::estimate);
    let backup_error = RwSignal::new(None::<(&'static str, &'static str)>);
    let export_backup = move |_| {
        leptos::task::spawn_local(async move {
            match state.backup().await {
                Ok(backup) => {
                    let village = state.village().map(|v| v.name).unwrap_or_default();
                    let file = format!("fieldbook-backup-{village}-{}.json", crate::state::today());
                    if crate::pages::download(&backup.to_bytes(), &file, "application/json")
                        .is_err()
                    {
                        backup_error.set(Some(crate::i18n::both(Key::BackupFailed)));
                    } else {
                        backup_error.set(None);
                    }
                }
                Err(error) => backup_error.set(Some((error.zh(), error.en()))),
            }
        });
    };
    let usage_text = move || {
        usage.get().flatten().map(|(used, quota)| {
            let mb = |bytes: f64| format!("{:.1} MB", bytes / 1_000_000.0);
            format!(
                "{} {} / {} {}",
                i18n.t(Key::StorageUsed),
                mb(used),
                i18n.t(Key::StorageQuota),
                mb(quota)
            )
        })
    };

    let choose = move |lang: Lang| {
        i18n.set_lang(lang);
        save_failed.set(settings::save_language(lang).is_err());
    };
    let language_buttons = Lang::ALL
        .into_iter()
        .map(|lang| {
            view! {
                <button
                    type="button"
                    class="choice"
                    data-testid=format!("lang-{}", lang.tag())
                    aria-pressed=move || (i18n.lang() == lang).to_string()
                    on:click=move |_| choose(lang)
                >
                    {lang.native_name()}
                </button>
            }
        })
        .collect_view();

    let storage_text = move || {
        i18n.t(match pwa.storage_persisted.get() {
            Some(true) => Key::StoragePersisted,
            Some(false) => Key::StorageNotPersisted,
            None => Key::StorageUnknown,
        })
    };

    view! {
        <SectionPage slug="settings" title=Key::SettingsTitle intro=Key::SettingsIntro>
            <div class="field" role="group" aria-labelledby="language-label">
                <h3 id="language-label">{move || i18n.t(Key::LanguageLabel)}</h3>
                <div class="choices">{language_buttons}</div>
                <Show when=move || save_failed.get()>
                    <p class="error" role="alert">{move || i18n.t(Key::LanguageSaveFailed)}</p>
                </Show>
            </div>
            <div class="field">
                <h3>{move || i18n.t(Key::StorageLabel)}</h3>
                <p data-testid="storage-persisted">{storage_text}</p>
                <p data-testid="storage-usage">{usage_text}</p>
            </div>
            <crate::components::SyncPanel/>
            <Show when=move || state.session.with(Option::is_some)>
                <crate::components::ChangePasswordForm/>
            </Show>
            <crate::components::LockPanel/>
            <div class="field">
                <h3>{move || i18n.t(Key::BackupLabel)}</h3>
                <p class="intro">{move || i18n.t(Key::BackupIntro)}</p>
                <button data-testid="export-backup" on:click=export_backup>{move || i18n.t(Key::ExportBackup)}</button>
                <crate::components::FieldError message=backup_error/>
                <crate::components::ImportBackup/>
            </div>
            <div class="field">
                <h3>{move || i18n.t(Key::VersionLabel)}</h3>
                <p data-testid="build-id">{build_id()}</p>
            </div>
        </SectionPage>
    }
}

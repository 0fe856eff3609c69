//! Small settings kept in localStorage through gloo-storage. Records never go
//! here (they live in IndexedDB); only what is small and per device.

use gloo_storage::{LocalStorage, Storage};

use crate::i18n::Lang;

/// localStorage key of the chosen language.
pub const LANGUAGE_KEY: &str = "fieldbook.language";

/// The language the worker chose, or Chinese when none was chosen or the
/// stored value is unreadable.
pub fn load_language() -> Lang {
    LocalStorage::get::<Lang>(LANGUAGE_KEY).unwrap_or_default()
}

/// Remembers the chosen language for the next start.
///
/// # Errors
/// When localStorage is unavailable or full; the caller shows the message.
pub fn save_language(lang: Lang) -> Result<(), gloo_storage::errors::StorageError> {
    LocalStorage::set(LANGUAGE_KEY, lang)
}

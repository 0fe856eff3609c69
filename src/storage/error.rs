//! [`StorageError`]: why a storage operation failed, and what the worker is
//! told.

use std::fmt;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

use crate::i18n::{self, Key, Lang};

/// Why a storage operation failed; each has a message for the worker.
///
/// Whatever the error, a write either happened whole or not at all: the
/// store never leaves a record without its outbox changes or the reverse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The browser's storage quota is full (`QuotaExceededError`).
    QuotaExceeded,
    /// IndexedDB is missing, blocked by another tab, closed, or the database
    /// is newer than this app. The detail is for the log.
    Unavailable(String),
    /// Something else went wrong; the detail is for the log.
    Other(String),
    /// The lock is on and the phone is locked: nothing is read or written
    /// until the PIN is entered.
    Locked,
}

impl StorageError {
    /// Maps a JavaScript error (usually a `DOMException`) to a storage error:
    /// `QuotaExceededError` is [`QuotaExceeded`](StorageError::QuotaExceeded);
    /// a closed or blocked database, a newer database version, a disk or
    /// browser failure and a refused access are
    /// [`Unavailable`](StorageError::Unavailable); anything else is
    /// [`Other`](StorageError::Other).
    pub fn from_js(value: &JsValue) -> StorageError {
        let Some(exception) = value.dyn_ref::<DomException>() else {
            let detail = value
                .as_string()
                .or_else(|| {
                    js_sys::JSON::stringify(value)
                        .ok()
                        .and_then(|s| s.as_string())
                })
                .unwrap_or_else(|| "unknown JavaScript error".to_string());
            return StorageError::Other(detail);
        };
        let name = exception.name();
        let detail = format!("{name}: {}", exception.message());
        match name.as_str() {
            "QuotaExceededError" => StorageError::QuotaExceeded,
            // InvalidStateError: the connection was closed (another tab
            // upgraded or deleted the database, or the browser closed it).
            // VersionError: the stored database is newer than this app.
            // UnknownError: a disk or browser failure, not the data.
            // SecurityError, InvalidAccessError: storage refused (some
            // private modes, blocked third-party storage).
            "InvalidStateError" | "VersionError" | "UnknownError" | "SecurityError"
            | "InvalidAccessError" => StorageError::Unavailable(detail),
            _ => StorageError::Other(detail),
        }
    }

    /// The worker's message in `lang`: what happened and what to do.
    pub fn text(&self, lang: Lang) -> &'static str {
        let key = match self {
            StorageError::QuotaExceeded => Key::StorageQuotaExceeded,
            StorageError::Unavailable(_) => Key::StorageUnavailable,
            StorageError::Other(_) => Key::StorageFailed,
            StorageError::Locked => Key::StorageLocked,
        };
        i18n::text(lang, key)
    }

    /// The worker's message in Chinese (zh-CN).
    pub fn zh(&self) -> &'static str {
        self.text(Lang::ZhCn)
    }

    /// The worker's message in English.
    pub fn en(&self) -> &'static str {
        self.text(Lang::En)
    }

    pub(crate) fn other(detail: impl fmt::Display) -> StorageError {
        StorageError::Other(detail.to_string())
    }
}

impl fmt::Display for StorageError {
    /// The English message and, for the log, the detail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::QuotaExceeded | StorageError::Locked => f.write_str(self.en()),
            StorageError::Unavailable(detail) | StorageError::Other(detail) => {
                write!(f, "{} ({detail})", self.en())
            }
        }
    }
}

impl std::error::Error for StorageError {}

impl From<JsValue> for StorageError {
    fn from(value: JsValue) -> Self {
        StorageError::from_js(&value)
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::other(format_args!("record JSON: {e}"))
    }
}

impl From<fieldbook_core::sync::RecordError> for StorageError {
    fn from(e: fieldbook_core::sync::RecordError) -> Self {
        StorageError::other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_speaks_both_languages_chinese_first() {
        for error in [
            StorageError::QuotaExceeded,
            StorageError::Unavailable("x".into()),
            StorageError::Other("x".into()),
            StorageError::Locked,
        ] {
            assert!(!error.zh().is_empty() && !error.en().is_empty());
            assert_eq!(error.zh(), error.text(Lang::default()));
            assert_ne!(error.zh(), error.en());
        }
        assert_eq!(
            StorageError::QuotaExceeded.zh(),
            "手机存储空间已满，请先同步或导出备份，再清理空间。数据未保存，表单内容仍保留。"
        );
        assert!(
            StorageError::Other("disk said no".into())
                .to_string()
                .contains("disk said no")
        );
    }
}

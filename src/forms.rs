//! Small conversions every form needs between what an input holds (text) and
//! what a record holds. One place, so every form reads dates and blanks alike.

use chrono::NaiveDate;

/// A trimmed text, or `None` when it is blank.
pub fn text_or_none(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

// Dates are read and written through chrono's `FromStr` and `Display`
// (`YYYY-MM-DD`, the form serde uses too), never through
// a `format("%…")` pattern: chrono's pattern interpreter is some 15 KB of
// the shell's wasm that nothing else needs.

/// A date typed or picked as `YYYY-MM-DD`, or `None` when blank or unreadable.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    text.trim().parse().ok()
}

/// A date as a date input shows it; blank for none.
pub fn date_text(day: Option<NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

/// A core enumeration's stable name as serde writes it (`three_checks`,
/// `iud` …), for option values and URLs.
pub fn slug<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_and_dates_read_alike_everywhere() {
        assert_eq!(text_or_none("  "), None);
        assert_eq!(text_or_none(" 三组 "), Some("三组".into()));
        let day = NaiveDate::from_ymd_opt(2026, 3, 8);
        assert_eq!(parse_date(" 2026-03-08 "), day);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(date_text(day), "2026-03-08");
        assert_eq!(date_text(None), "");
        assert_eq!(slug(fieldbook_core::VisitKind::ThreeChecks), "three_checks");
    }
}

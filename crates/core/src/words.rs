//! Dates, periods and counts as a worker reads them, in Chinese or English.
//!
//! One place, so every screen writes `2026年12月6日` (or `6 Dec 2026`) the
//! same way. CSV files keep ISO dates (`2026-12-06`): they are read by
//! spreadsheets, not people, and are not formatted here.
//!
//! Pure: "this year" is the caller's `today`, never a clock.

use chrono::{Datelike, NaiveDate};

use crate::period::Period;

/// The language to write in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// 简体中文.
    Chinese,
    /// English.
    English,
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const QUARTERS_ZH: [&str; 4] = ["一", "二", "三", "四"];

fn month_en(month: u32) -> &'static str {
    MONTHS_EN[(month.clamp(1, 12) - 1) as usize]
}

/// A date in full: `2026年12月6日`, `6 Dec 2026`.
pub fn date(lang: Language, day: NaiveDate) -> String {
    match lang {
        Language::Chinese => format!("{}年{}月{}日", day.year(), day.month(), day.day()),
        Language::English => format!("{} {} {}", day.day(), month_en(day.month()), day.year()),
    }
}

/// A date without its year when it lies in `today`'s year (`12月6日`,
/// `6 Dec`), else in full.
pub fn date_short(lang: Language, day: NaiveDate, today: NaiveDate) -> String {
    if day.year() != today.year() {
        return date(lang, day);
    }
    match lang {
        Language::Chinese => format!("{}月{}日", day.month(), day.day()),
        Language::English => format!("{} {}", day.day(), month_en(day.month())),
    }
}

/// A range of days, the year always shown and never repeated within one
/// year: `2026年1月1日–6月30日`, `1 Jan – 30 Jun 2026`; across years
/// `2025年12月1日–2026年1月31日`, `1 Dec 2025 – 31 Jan 2026`. One day alone
/// is that date.
pub fn date_range(lang: Language, first: NaiveDate, last: NaiveDate) -> String {
    if first == last {
        return date(lang, first);
    }
    let same_year = first.year() == last.year();
    match lang {
        Language::Chinese if same_year => {
            format!("{}–{}月{}日", date(lang, first), last.month(), last.day())
        }
        Language::Chinese => format!("{}–{}", date(lang, first), date(lang, last)),
        Language::English if same_year => format!(
            "{} {} – {}",
            first.day(),
            month_en(first.month()),
            date(lang, last)
        ),
        Language::English => format!("{} – {}", date(lang, first), date(lang, last)),
    }
}

/// A reporting period: `2026年11月`, `2026年第四季度`, `2026年下半年`,
/// `2026年`; `Nov 2026`, `Q4 2026`, `H2 2026`, `2026`.
pub fn period(lang: Language, period: Period) -> String {
    match (lang, period) {
        (Language::Chinese, Period::Month { year, month }) => format!("{year}年{month}月"),
        (Language::Chinese, Period::Quarter { year, quarter }) => format!(
            "{year}年第{}季度",
            QUARTERS_ZH[(quarter.clamp(1, 4) - 1) as usize]
        ),
        (Language::Chinese, Period::HalfYear { year, half }) => {
            format!("{year}年{}半年", if half <= 1 { "上" } else { "下" })
        }
        (Language::Chinese, Period::Year { year }) => format!("{year}年"),
        (Language::English, Period::Month { year, month }) => {
            format!("{} {year}", month_en(month))
        }
        (Language::English, Period::Quarter { year, quarter }) => {
            format!("Q{} {year}", quarter.clamp(1, 4))
        }
        (Language::English, Period::HalfYear { year, half }) => {
            format!("H{} {year}", half.clamp(1, 2))
        }
        (Language::English, Period::Year { year }) => year.to_string(),
    }
}

/// A whole number with thousands separators, in either language: `29,511`.
pub fn count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A `usize` count with separators (see [`count`]).
pub fn count_usize(n: usize) -> String {
    count(n as u64)
}

/// A date and a time of day (hours and minutes): the date short when in
/// `today`'s year. `12月6日 14:05`, `6 Dec 14:05`.
pub fn date_time(
    lang: Language,
    day: NaiveDate,
    hour: u32,
    minute: u32,
    today: NaiveDate,
) -> String {
    format!("{} {hour:02}:{minute:02}", date_short(lang, day, today))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::{Chinese, English};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_full_and_short() {
        let today = d(2026, 12, 6);
        assert_eq!(date(Chinese, d(2026, 12, 6)), "2026年12月6日");
        assert_eq!(date(English, d(2026, 12, 6)), "6 Dec 2026");
        assert_eq!(date(Chinese, d(2026, 1, 9)), "2026年1月9日");
        assert_eq!(date_short(Chinese, d(2026, 12, 6), today), "12月6日");
        assert_eq!(date_short(English, d(2026, 11, 14), today), "14 Nov");
        // Another year keeps its year.
        assert_eq!(
            date_short(Chinese, d(2025, 11, 14), today),
            "2025年11月14日"
        );
        assert_eq!(date_short(English, d(2027, 1, 2), today), "2 Jan 2027");
        assert_eq!(
            date_time(Chinese, d(2026, 12, 6), 9, 5, today),
            "12月6日 09:05"
        );
        assert_eq!(
            date_time(English, d(2026, 12, 6), 14, 5, today),
            "6 Dec 14:05"
        );
    }

    #[test]
    fn ranges_show_the_year_once() {
        assert_eq!(
            date_range(Chinese, d(2026, 1, 1), d(2026, 6, 30)),
            "2026年1月1日–6月30日"
        );
        assert_eq!(
            date_range(English, d(2026, 1, 1), d(2026, 6, 30)),
            "1 Jan – 30 Jun 2026"
        );
        assert_eq!(
            date_range(Chinese, d(2025, 12, 1), d(2026, 1, 31)),
            "2025年12月1日–2026年1月31日"
        );
        assert_eq!(
            date_range(English, d(2025, 12, 1), d(2026, 1, 31)),
            "1 Dec 2025 – 31 Jan 2026"
        );
        assert_eq!(
            date_range(Chinese, d(2026, 3, 8), d(2026, 3, 8)),
            "2026年3月8日"
        );
    }

    #[test]
    fn periods_in_words() {
        let cases = [
            (
                Period::Month {
                    year: 2026,
                    month: 11,
                },
                "2026年11月",
                "Nov 2026",
            ),
            (
                Period::Quarter {
                    year: 2026,
                    quarter: 4,
                },
                "2026年第四季度",
                "Q4 2026",
            ),
            (
                Period::Quarter {
                    year: 2026,
                    quarter: 1,
                },
                "2026年第一季度",
                "Q1 2026",
            ),
            (
                Period::HalfYear {
                    year: 2026,
                    half: 1,
                },
                "2026年上半年",
                "H1 2026",
            ),
            (
                Period::HalfYear {
                    year: 2026,
                    half: 2,
                },
                "2026年下半年",
                "H2 2026",
            ),
            (Period::Year { year: 2026 }, "2026年", "2026"),
        ];
        for (p, zh, en) in cases {
            assert_eq!(period(Chinese, p), zh);
            assert_eq!(period(English, p), en);
        }
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0u8), "0");
        assert_eq!(count(7u8), "7");
        assert_eq!(count(999u16), "999");
        assert_eq!(count(1000u16), "1,000");
        assert_eq!(count(29_511u32), "29,511");
        assert_eq!(count(1_234_567u32), "1,234,567");
        assert_eq!(count(-4_937i32), "-4,937");
        assert_eq!(count_usize(100_000), "100,000");
    }

    #[test]
    fn chinese_words_hold_no_latin_letters_and_english_no_chinese() {
        let days = [
            d(2026, 1, 1),
            d(2026, 6, 30),
            d(2026, 12, 31),
            d(2025, 2, 28),
        ];
        let today = d(2026, 12, 6);
        let mut zh = Vec::new();
        let mut en = Vec::new();
        for a in days {
            zh.push(date(Chinese, a));
            zh.push(date_short(Chinese, a, today));
            en.push(date(English, a));
            en.push(date_short(English, a, today));
            for b in days {
                zh.push(date_range(Chinese, a, b));
                en.push(date_range(English, a, b));
            }
            for p in [
                Period::month_of(a),
                Period::quarter_of(a),
                Period::half_year_of(a),
                Period::year_of(a),
            ] {
                zh.push(period(Chinese, p));
                en.push(period(English, p));
            }
        }
        for s in zh {
            assert!(!s.chars().any(|c| c.is_ascii_alphabetic()), "{s}");
        }
        for s in en {
            assert!(s.is_ascii() || s.contains('–'), "{s}");
            assert!(
                !s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{s}"
            );
        }
    }
}

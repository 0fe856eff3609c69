//! Dates, periods and counts in the UI's language: the core's
//! [`fieldbook_core::words`] behind the current [`I18n`] (tracked, so a
//! view using them follows a change of language).
//!
//! Every screen writes dates through these: `i18n.date(d)` (2026年12月6日 /
//! 6 Dec 2026), `i18n.date_short(d)` (12月6日 this year, else in full),
//! `i18n.date_range(a, b)` (2026年1月1日–6月30日), `i18n.period(p)`
//! (2026年第四季度 / Q4 2026), `i18n.count(n)` (29,511). CSV files keep ISO
//! dates and plain numbers.

use chrono::NaiveDate;
use fieldbook_core::Period;
use fieldbook_core::words::{self, Language};

use crate::i18n::{I18n, Lang};

impl Lang {
    /// The core's name for this language.
    pub fn words(self) -> Language {
        match self {
            Lang::ZhCn => Language::Chinese,
            Lang::En => Language::English,
        }
    }
}

impl I18n {
    /// A date in full: `2026年12月6日`, `6 Dec 2026` (tracked).
    pub fn date(&self, day: NaiveDate) -> String {
        words::date(self.lang().words(), day)
    }

    /// A date without its year when it is this year's: `12月6日`, `6 Dec`
    /// (tracked).
    pub fn date_short(&self, day: NaiveDate) -> String {
        words::date_short(self.lang().words(), day, crate::state::today())
    }

    /// A range of days: `2026年1月1日–6月30日`, `1 Jan – 30 Jun 2026`
    /// (tracked).
    pub fn date_range(&self, first: NaiveDate, last: NaiveDate) -> String {
        words::date_range(self.lang().words(), first, last)
    }

    /// A reporting period: `2026年第四季度`, `2026年下半年`, `Q4 2026`
    /// (tracked).
    pub fn period(&self, period: Period) -> String {
        words::period(self.lang().words(), period)
    }

    /// A count with thousands separators: `29,511`.
    pub fn count(&self, n: usize) -> String {
        words::count_usize(n)
    }

    /// A moment given in milliseconds since the epoch, in the phone's time
    /// zone: `12月6日 14:05`, `6 Dec 14:05` (tracked).
    pub fn moment(&self, ms: f64) -> String {
        let d = js_sys::Date::new(&ms.into());
        let day =
            NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
                .unwrap_or_default();
        words::date_time(
            self.lang().words(),
            day,
            d.get_hours(),
            d.get_minutes(),
            crate::state::today(),
        )
    }
}

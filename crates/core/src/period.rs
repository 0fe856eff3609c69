//! Reporting periods: month, quarter, half-year, year.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::plan::month_end;

/// A reporting period (统计期).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    /// A calendar month, 1–12.
    Month {
        /// Year.
        year: i32,
        /// Month, 1–12.
        month: u32,
    },
    /// A quarter, 1–4.
    Quarter {
        /// Year.
        year: i32,
        /// Quarter, 1–4.
        quarter: u32,
    },
    /// A half-year: 1 is January–June, 2 is July–December.
    HalfYear {
        /// Year.
        year: i32,
        /// Half, 1 or 2.
        half: u32,
    },
    /// A calendar year.
    Year {
        /// Year.
        year: i32,
    },
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("month 1-12")
}

impl Period {
    /// The month containing `day`.
    pub fn month_of(day: NaiveDate) -> Period {
        Period::Month {
            year: day.year(),
            month: day.month(),
        }
    }

    /// The quarter containing `day`.
    pub fn quarter_of(day: NaiveDate) -> Period {
        Period::Quarter {
            year: day.year(),
            quarter: (day.month() - 1) / 3 + 1,
        }
    }

    /// The half-year containing `day`.
    pub fn half_year_of(day: NaiveDate) -> Period {
        Period::HalfYear {
            year: day.year(),
            half: if day.month() <= 6 { 1 } else { 2 },
        }
    }

    /// The year containing `day`.
    pub fn year_of(day: NaiveDate) -> Period {
        Period::Year { year: day.year() }
    }

    /// The calendar year the period lies in.
    pub fn year(self) -> i32 {
        match self {
            Period::Month { year, .. }
            | Period::Quarter { year, .. }
            | Period::HalfYear { year, .. }
            | Period::Year { year } => year,
        }
    }

    /// (first month, number of months), with out-of-range parts clamped.
    fn months(self) -> (u32, u32) {
        match self {
            Period::Month { month, .. } => (month.clamp(1, 12), 1),
            Period::Quarter { quarter, .. } => ((quarter.clamp(1, 4) - 1) * 3 + 1, 3),
            Period::HalfYear { half, .. } => (if half.clamp(1, 2) == 1 { 1 } else { 7 }, 6),
            Period::Year { .. } => (1, 12),
        }
    }

    /// The first day.
    pub fn start(self) -> NaiveDate {
        first_of(self.year(), self.months().0)
    }

    /// The last day.
    pub fn end(self) -> NaiveDate {
        let (first, count) = self.months();
        month_end(self.year(), first + count - 1)
    }

    /// Whether `day` lies in the period.
    pub fn contains(self, day: NaiveDate) -> bool {
        self.start() <= day && day <= self.end()
    }

    /// The period of the same kind just before this one.
    pub fn previous(self) -> Period {
        match self {
            Period::Month { year, month } if month <= 1 => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month - 1,
            },
            Period::Quarter { year, quarter } if quarter <= 1 => Period::Quarter {
                year: year - 1,
                quarter: 4,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter - 1,
            },
            Period::HalfYear { year, half } if half <= 1 => Period::HalfYear {
                year: year - 1,
                half: 2,
            },
            Period::HalfYear { year, .. } => Period::HalfYear { year, half: 1 },
            Period::Year { year } => Period::Year { year: year - 1 },
        }
    }

    /// The period of the same kind just after this one.
    pub fn next(self) -> Period {
        match self {
            Period::Month { year, month } if month >= 12 => Period::Month {
                year: year + 1,
                month: 1,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month + 1,
            },
            Period::Quarter { year, quarter } if quarter >= 4 => Period::Quarter {
                year: year + 1,
                quarter: 1,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter + 1,
            },
            Period::HalfYear { year, half } if half >= 2 => Period::HalfYear {
                year: year + 1,
                half: 1,
            },
            Period::HalfYear { year, .. } => Period::HalfYear { year, half: 2 },
            Period::Year { year } => Period::Year { year: year + 1 },
        }
    }

    /// This period and the ones after it of the same kind, up to the one
    /// containing `last_day` (empty if this period starts after it).
    pub fn through(self, last_day: NaiveDate) -> Vec<Period> {
        let mut periods = Vec::new();
        let mut period = self;
        while period.start() <= last_day {
            periods.push(period);
            period = period.next();
        }
        periods
    }

    /// The period's name in Chinese: 2026年12月, 2026年第四季度,
    /// 2026年下半年, 2026年 ([`crate::words::period`]).
    pub fn name_zh(self) -> String {
        crate::words::period(crate::words::Language::Chinese, self)
    }

    /// The period's name in English: Dec 2026, Q4 2026, H2 2026, 2026
    /// ([`crate::words::period`]).
    pub fn name_en(self) -> String {
        crate::words::period(crate::words::Language::English, self)
    }

    /// The half-years the period overlaps (for the three checks, which are
    /// counted per half-year).
    pub fn half_years(self) -> Vec<Period> {
        let first = Period::half_year_of(self.start());
        let last = Period::half_year_of(self.end());
        if first == last {
            vec![first]
        } else {
            vec![first, last]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn bounds_of_each_kind() {
        let feb = Period::Month {
            year: 2028,
            month: 2,
        };
        assert_eq!((feb.start(), feb.end()), (d(2028, 2, 1), d(2028, 2, 29)));
        let q3 = Period::Quarter {
            year: 2026,
            quarter: 3,
        };
        assert_eq!((q3.start(), q3.end()), (d(2026, 7, 1), d(2026, 9, 30)));
        let h2 = Period::HalfYear {
            year: 2026,
            half: 2,
        };
        assert_eq!((h2.start(), h2.end()), (d(2026, 7, 1), d(2026, 12, 31)));
        let y = Period::Year { year: 2026 };
        assert_eq!((y.start(), y.end()), (d(2026, 1, 1), d(2026, 12, 31)));
    }

    #[test]
    fn the_period_before_crosses_years() {
        assert_eq!(
            Period::Month {
                year: 2026,
                month: 1
            }
            .previous(),
            Period::Month {
                year: 2025,
                month: 12
            }
        );
        assert_eq!(
            Period::Quarter {
                year: 2026,
                quarter: 1
            }
            .previous(),
            Period::Quarter {
                year: 2025,
                quarter: 4
            }
        );
        assert_eq!(
            Period::HalfYear {
                year: 2026,
                half: 2
            }
            .previous(),
            Period::HalfYear {
                year: 2026,
                half: 1
            }
        );
    }

    #[test]
    fn periods_follow_each_other() {
        let q = Period::Quarter {
            year: 2026,
            quarter: 3,
        };
        assert_eq!(q.through(d(2027, 2, 1)).len(), 3);
        assert_eq!(q.through(d(2026, 6, 30)), vec![]);
        for p in [
            q,
            Period::Month {
                year: 2026,
                month: 12,
            },
            Period::HalfYear {
                year: 2026,
                half: 2,
            },
            Period::Year { year: 2026 },
        ] {
            assert_eq!(p.next().previous(), p);
            assert_eq!(p.next().start(), p.end().succ_opt().unwrap());
        }
    }

    #[test]
    fn periods_have_names_in_both_languages() {
        let day = d(2026, 12, 6);
        assert_eq!(Period::month_of(day).name_zh(), "2026年12月");
        assert_eq!(Period::quarter_of(day).name_zh(), "2026年第四季度");
        assert_eq!(Period::half_year_of(day).name_zh(), "2026年下半年");
        assert_eq!(
            Period::half_year_of(d(2026, 1, 6)).name_zh(),
            "2026年上半年"
        );
        assert_eq!(Period::year_of(day).name_zh(), "2026年");
        assert_eq!(Period::month_of(day).name_en(), "Dec 2026");
        assert_eq!(Period::quarter_of(day).name_en(), "Q4 2026");
        assert_eq!(Period::half_year_of(day).name_en(), "H2 2026");
        assert_eq!(Period::year_of(day).name_en(), "2026");
    }

    #[test]
    fn a_day_finds_its_periods() {
        let day = d(2026, 11, 29);
        assert_eq!(
            Period::quarter_of(day),
            Period::Quarter {
                year: 2026,
                quarter: 4
            }
        );
        assert_eq!(
            Period::half_year_of(day),
            Period::HalfYear {
                year: 2026,
                half: 2
            }
        );
        assert!(Period::month_of(day).contains(day));
        assert_eq!(Period::Year { year: 2026 }.half_years().len(), 2);
        assert_eq!(
            Period::Month {
                year: 2026,
                month: 3
            }
            .half_years()
            .len(),
            1
        );
    }
}

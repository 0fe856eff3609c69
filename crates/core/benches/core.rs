//! `cargo bench -p fieldbook-core`: what the phone computes when the Today
//! list and the indicators page open, over the synthetic `village` (1,000
//! households, about 4,000 persons, 25,000 visits). Goal: ≤ 50 ms natively.

use chrono::NaiveDate;
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::indicators::indicators;
use fieldbook_core::rules::{Rules, due_tasks};
use fieldbook_core::{Dataset, Period};

fn main() {
    divan::main();
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date")
}

fn village() -> Dataset {
    generate(20261129, Size::Village, today())
}

/// The Today list plus all eight indicators for the year.
#[divan::bench(sample_count = 20)]
fn due_tasks_and_year_indicators(bencher: divan::Bencher<'_, '_>) {
    let data = village();
    let village_id = data.villages[0].id;
    let rules = Rules::default();
    bencher.bench_local(|| {
        let tasks = due_tasks(&data, today(), &rules);
        let rates = indicators(
            &data,
            village_id,
            Period::Year { year: 2026 },
            today(),
            &rules,
        );
        (tasks.len(), rates.len())
    });
}

/// The Today list alone.
#[divan::bench(sample_count = 20)]
fn due_tasks_only(bencher: divan::Bencher<'_, '_>) {
    let data = village();
    let rules = Rules::default();
    bencher.bench_local(|| due_tasks(&data, today(), &rules).len());
}

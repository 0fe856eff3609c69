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

/// One visit saved: the records take it and the Today list recomputes its
/// household only (what the phone does between the tap on 保存 and Today
/// drawn again), for the `small` data set and the village.
#[divan::bench(args = [Size::Small, Size::Village], sample_count = 20)]
fn one_visit_into_the_indexed_today(bencher: divan::Bencher<'_, '_>, size: Size) {
    use fieldbook_core::model::{Visit, VisitKind};
    use fieldbook_core::records::{AnyRecord, Records};
    use fieldbook_core::today_index::TodayIndex;
    let data = generate(20261129, size, today());
    let rules = Rules::default();
    let person = data.persons[data.persons.len() / 2].clone();
    let mut records = Records::new(data);
    let mut index = TodayIndex::new(&records, today(), &rules);
    let mut n = 0u128;
    bencher.bench_local(|| {
        n += 1;
        let visit = Visit::new(
            uuid::Uuid::from_u128(n),
            person.id,
            person.household_id,
            today(),
            VisitKind::ThreeChecks,
        );
        let touched = records.apply([AnyRecord::Visit(visit)]);
        index.refresh(&records, &touched, &rules);
        index.list().working.len()
    });
}

/// Indexing every record of the village (the cold start's in-memory part).
#[divan::bench(sample_count = 10)]
fn index_the_village(bencher: divan::Bencher<'_, '_>) {
    use fieldbook_core::records::Records;
    use fieldbook_core::today_index::TodayIndex;
    let data = village();
    let rules = Rules::default();
    bencher
        .with_inputs(|| data.clone())
        .bench_local_values(|data| {
            let records = Records::new(data);
            let index = TodayIndex::new(&records, today(), &rules);
            (records.len(), index.list().working.len())
        });
}

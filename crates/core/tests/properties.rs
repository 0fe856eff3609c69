//! Invariants of the rules and indicators, checked over synthetic villages
//! drawn from many seeds and days.

use chrono::{Days, NaiveDate};
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::indicators::indicators;
use fieldbook_core::rules::{Rules, TaskStatus, due_tasks, tasks_between, working_order};
use fieldbook_core::validate::validate_dataset;
use fieldbook_core::{Dataset, Period};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(offset)
}

fn periods(today: NaiveDate) -> Vec<Period> {
    let month = Period::month_of(today);
    vec![
        month,
        month.previous(),
        Period::quarter_of(today),
        Period::half_year_of(today),
        Period::half_year_of(today).previous(),
        Period::year_of(today),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn numerators_are_subsets_of_their_denominators(seed in any::<u64>(), offset in 0u64..1000) {
        let today = day(offset);
        let data = generate(seed, Size::Small, today);
        let village = data.villages[0].id;
        for period in periods(today) {
            for indicator in indicators(&data, village, period, today, &Rules::default()) {
                let denominator: HashSet<_> = indicator.denominator.iter().collect();
                prop_assert!(indicator.numerator.len() <= indicator.denominator.len());
                prop_assert!(
                    indicator.numerator.iter().all(|s| denominator.contains(s)),
                    "{:?} {:?}: a numerator subject outside the denominator", indicator.kind, period
                );
                prop_assert_eq!(denominator.len(), indicator.denominator.len(), "no subject twice");
            }
        }
    }

    #[test]
    fn the_today_list_holds_only_open_tasks_in_order(seed in any::<u64>(), offset in 0u64..1000) {
        let today = day(offset);
        let data = generate(seed, Size::Small, today);
        let rules = Rules::default();
        let list = due_tasks(&data, today, &rules);
        let numbers: HashMap<_, _> = data.households.iter().map(|h| (h.id, h.number.as_str())).collect();
        let mut last_rank = 0;
        for (i, task) in list.iter().enumerate() {
            let rank = match task.status {
                TaskStatus::Overdue => { prop_assert!(task.end < today && today <= task.close_until); 0 }
                TaskStatus::Due => { prop_assert!(task.start <= today && today <= task.end); 0 }
                TaskStatus::Upcoming => { prop_assert!(task.start > today); 1 }
                other => { prop_assert!(false, "{other:?} on the Today list"); 2 }
            };
            prop_assert!(rank >= last_rank, "the work of now (overdue and due), then upcoming");
            if i > 0 && rank == 0 {
                prop_assert_ne!(
                    working_order(&list[i - 1], task, today, &numbers),
                    std::cmp::Ordering::Greater,
                    "by priority, then days late, then end"
                );
            }
            last_rank = rank;
        }
        // A task closed by a visit is never overdue, and a visit's task is
        // closed by a visit of the right kind inside its reach.
        for task in tasks_between(&data, day(0), today, today, &rules) {
            if let TaskStatus::Done { visit_id, on_time } = task.status {
                let visit = data.visits.iter().find(|v| v.id == visit_id).unwrap();
                prop_assert_eq!(visit.kind, task.kind.closing_visit());
                prop_assert!(visit.date >= task.start);
                prop_assert_eq!(on_time, visit.date <= task.end);
            }
        }
    }

    #[test]
    fn due_tasks_depend_only_on_their_inputs(seed in any::<u64>(), offset in 0u64..1000) {
        let today = day(offset);
        let data = generate(seed, Size::Small, today);
        let copy = data.clone();
        let first = due_tasks(&data, today, &Rules::default());
        prop_assert_eq!(&data, &copy, "the records are not changed");
        prop_assert_eq!(first, due_tasks(&copy, today, &Rules::default()));
    }

    #[test]
    fn generated_villages_validate_clean_and_survive_json(seed in any::<u64>(), offset in 0u64..1000) {
        let today = day(offset);
        let data = generate(seed, Size::Small, today);
        let problems = validate_dataset(&data, today);
        prop_assert!(problems.is_empty(), "{:?}", &problems[..problems.len().min(5)]);
        let json = serde_json::to_string(&data).unwrap();
        let back: Dataset = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, data);
    }
}

#[test]
fn the_village_size_validates_clean_too() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let data = generate(7, Size::Village, today);
    let problems = validate_dataset(&data, today);
    assert!(
        problems.is_empty(),
        "{} problems, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
}

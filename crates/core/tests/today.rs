//! The Today list's parts over synthetic villages drawn from many seeds and
//! days, some of their visits turned into attempts that found nobody:
//! missed tasks are never on the working list, every task of a closed
//! window is done or missed, and attempts close nothing.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::model::{NotSeen, NotSeenReason};
use fieldbook_core::rules::{Rules, Task, TaskStatus, tasks_between, today_list};
use fieldbook_core::{Dataset, Id};
use proptest::prelude::*;

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(offset)
}

/// What makes a task itself, whatever its status.
type TaskId = (Id, Option<Id>, fieldbook_core::rules::TaskKind, NaiveDate);

fn key(task: &Task) -> TaskId {
    (task.household_id, task.person_id, task.kind, task.start)
}

/// Turns about one visit in `one_in` into an attempt that found nobody,
/// with a day to come back 0–20 days later for most of them.
fn with_attempts(mut data: Dataset, mix: u64, one_in: u64) -> Dataset {
    for (i, visit) in data.visits.iter_mut().enumerate() {
        let draw = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix;
        if !draw.is_multiple_of(one_in) {
            continue;
        }
        let reason = NotSeenReason::ALL[(draw / one_in % 3) as usize];
        let come_back = (!draw.is_multiple_of(5)).then(|| visit.date + Days::new(draw / 7 % 21));
        visit.not_seen = Some(NotSeen { reason, come_back });
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_task_is_never_both_missed_and_on_the_working_list(
        seed in any::<u64>(), offset in 0u64..1000, mix in any::<u64>()
    ) {
        let today = day(offset);
        let data = with_attempts(generate(seed, Size::Small, today), mix, 4);
        let list = today_list(&data, today, &Rules::default());
        let missed: HashSet<TaskId> = list.missed.iter().map(key).collect();
        for task in &list.working {
            prop_assert!(task.status.is_actionable(), "{task:?}");
            prop_assert!(!missed.contains(&key(task)), "{task:?} both missed and to do");
            prop_assert_eq!(task.set_aside_until(today), None);
        }
        for task in &list.missed {
            prop_assert_eq!(task.status, TaskStatus::Missed);
            prop_assert!(task.close_until < today);
        }
        for task in &list.set_aside {
            prop_assert!(task.status.is_actionable());
            prop_assert!(task.set_aside_until(today).is_some_and(|d| d > today));
            prop_assert!(!missed.contains(&key(task)));
        }
        for task in &list.upcoming {
            prop_assert_eq!(task.status, TaskStatus::Upcoming);
        }
        // No task in two parts.
        let all: Vec<TaskId> = list.working.iter().chain(&list.upcoming)
            .chain(&list.set_aside).chain(&list.missed).map(key).collect();
        let distinct: HashSet<&TaskId> = all.iter().collect();
        prop_assert_eq!(distinct.len(), all.len());
    }

    #[test]
    fn every_task_of_a_closed_window_is_done_or_missed(
        seed in any::<u64>(), offset in 0u64..1000, mix in any::<u64>()
    ) {
        let today = day(offset);
        let data = with_attempts(generate(seed, Size::Small, today), mix, 5);
        for task in tasks_between(&data, day(0), today, today, &Rules::default()) {
            let closed = task.close_until < today;
            prop_assert!(task.close_until >= task.end);
            if task.kind.is_period_bound() {
                prop_assert_eq!(task.close_until, task.end, "{:?}", task);
            }
            if closed {
                prop_assert!(task.status.is_done() || task.status.is_missed(), "{:?}", task);
            } else {
                prop_assert!(!task.status.is_missed(), "{:?}", task);
            }
            prop_assert_eq!(task.days_late(today) > 0, !task.status.is_done() && task.end < today);
        }
    }

    #[test]
    fn not_seen_attempts_never_close_a_task(
        seed in any::<u64>(), offset in 0u64..1000, mix in any::<u64>()
    ) {
        let today = day(offset);
        let seen = generate(seed, Size::Small, today);
        let tried = with_attempts(seen.clone(), mix, 3);
        let attempts: HashSet<Id> = tried.visits.iter()
            .filter(|v| v.not_seen.is_some()).map(|v| v.id).collect();
        let rules = Rules::default();
        let before: HashSet<TaskId> = tasks_between(&seen, day(0), today, today, &rules)
            .iter().filter(|t| t.status.is_done()).map(key).collect();
        for task in tasks_between(&tried, day(0), today, today, &rules) {
            if let TaskStatus::Done { visit_id, .. } = task.status {
                prop_assert!(!attempts.contains(&visit_id), "{:?} closed by an attempt", task);
                prop_assert!(before.contains(&key(&task)));
                prop_assert_eq!(task.attempt, None);
            }
            if let Some(attempt) = task.attempt {
                prop_assert!(attempts.contains(&attempt.visit_id));
                prop_assert!(attempt.date >= task.start && attempt.date <= task.close_until);
            }
        }
    }
}

/// Today's size in the demo village on 2026-12-06 (the figures the issue
/// quotes): printed with `--nocapture`; it holds the parts' invariants.
#[test]
fn the_demo_village_on_the_sixth_of_december() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let data = generate(20261129, Size::Village, today);
    let list = today_list(&data, today, &Rules::default());
    let overdue = list
        .working
        .iter()
        .filter(|t| t.status == TaskStatus::Overdue)
        .count();
    println!(
        "Today on {today}: working {} ({} overdue, {} due), upcoming {}, set aside {}, missed {}",
        list.working.len(),
        overdue,
        list.working.len() - overdue,
        list.upcoming.len(),
        list.set_aside.len(),
        list.missed.len()
    );
    assert!(!list.working.is_empty());
    // The first half-year's three checks are all missed, none on the list.
    assert!(
        list.working
            .iter()
            .all(|t| t.end >= today || t.status == TaskStatus::Overdue)
    );
    assert!(
        list.missed
            .iter()
            .any(|t| t.kind == fieldbook_core::rules::TaskKind::ThreeChecks)
    );
    assert!(
        !list
            .working
            .iter()
            .any(|t| t.kind.is_period_bound() && t.end < today)
    );
}

//! The indexed records and the incremental Today list, against the
//! whole-village computations they stand in for: over generated villages
//! and random edits (new visits, visits corrected, moved or removed,
//! persons moved, removed or given another method, households flagged,
//! renumbered or removed), after every batch
//!
//! - `TodayIndex::list` equals `today_list` of the same records and day;
//! - the records equal a plain dataset that took the same edits;
//! - members, visits by person, latest visits, ticks by plan, households of
//!   a village and the household search equal what a scan finds.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::model::{
    Contraception, Household, Method, NotSeen, NotSeenReason, Person, Visit, VisitKind,
};
use fieldbook_core::records::{AnyRecord, Records};
use fieldbook_core::rules::{Rules, today_list};
use fieldbook_core::search::HouseholdIndex;
use fieldbook_core::today_index::TodayIndex;
use fieldbook_core::{Dataset, Id};
use proptest::prelude::*;
use uuid::Uuid;

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(offset)
}

/// One edit, drawn as numbers and read against the records held.
#[derive(Clone, Debug)]
enum Edit {
    NewVisit {
        person: usize,
        kind: usize,
        days_ago: u64,
        not_seen: Option<(usize, u64)>,
    },
    CorrectVisit {
        visit: usize,
        kind: usize,
        days_ago: u64,
    },
    MoveVisit {
        visit: usize,
        person: usize,
    },
    RemoveVisit {
        visit: usize,
    },
    MovePerson {
        person: usize,
        household: usize,
    },
    RemovePerson {
        person: usize,
    },
    NewMethod {
        person: usize,
        method: usize,
        days_ago: u64,
    },
    NewPerson {
        household: usize,
        n: u128,
    },
    FlagHousehold {
        household: usize,
    },
    RenumberHousehold {
        household: usize,
        number: u16,
    },
    RemoveHousehold {
        household: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = || any::<usize>();
    prop_oneof![
        4 => (i(), i(), 0u64..400, prop::option::of((i(), 0u64..30)))
            .prop_map(|(person, kind, days_ago, not_seen)| Edit::NewVisit { person, kind, days_ago, not_seen }),
        2 => (i(), i(), 0u64..400).prop_map(|(visit, kind, days_ago)| Edit::CorrectVisit { visit, kind, days_ago }),
        1 => (i(), i()).prop_map(|(visit, person)| Edit::MoveVisit { visit, person }),
        1 => i().prop_map(|visit| Edit::RemoveVisit { visit }),
        1 => (i(), i()).prop_map(|(person, household)| Edit::MovePerson { person, household }),
        1 => i().prop_map(|person| Edit::RemovePerson { person }),
        2 => (i(), i(), 0u64..800).prop_map(|(person, method, days_ago)| Edit::NewMethod { person, method, days_ago }),
        1 => (i(), any::<u128>()).prop_map(|(household, n)| Edit::NewPerson { household, n }),
        1 => i().prop_map(|household| Edit::FlagHousehold { household }),
        1 => (i(), any::<u16>()).prop_map(|(household, number)| Edit::RenumberHousehold { household, number }),
        1 => i().prop_map(|household| Edit::RemoveHousehold { household }),
    ]
}

/// The record an edit makes, from what `data` holds now.
fn make(edit: &Edit, data: &Dataset, today: NaiveDate, serial: u128) -> Option<AnyRecord> {
    let pick = |n: usize, len: usize| (len > 0).then(|| n % len);
    Some(match *edit {
        Edit::NewVisit {
            person,
            kind,
            days_ago,
            not_seen,
        } => {
            let p = &data.persons[pick(person, data.persons.len())?];
            let mut visit = Visit::new(
                Uuid::from_u128(serial),
                p.id,
                p.household_id,
                today - Days::new(days_ago),
                VisitKind::ALL[kind % VisitKind::ALL.len()],
            );
            visit.not_seen = not_seen.map(|(reason, later)| NotSeen {
                reason: NotSeenReason::ALL[reason % NotSeenReason::ALL.len()],
                come_back: Some(today + Days::new(later)),
            });
            AnyRecord::Visit(visit)
        }
        Edit::CorrectVisit {
            visit,
            kind,
            days_ago,
        } => {
            let mut v = data.visits[pick(visit, data.visits.len())?].clone();
            v.kind = VisitKind::ALL[kind % VisitKind::ALL.len()];
            v.date = today - Days::new(days_ago);
            AnyRecord::Visit(v)
        }
        Edit::MoveVisit { visit, person } => {
            let mut v = data.visits[pick(visit, data.visits.len())?].clone();
            let p = &data.persons[pick(person, data.persons.len())?];
            v.person_id = p.id;
            v.household_id = p.household_id;
            AnyRecord::Visit(v)
        }
        Edit::RemoveVisit { visit } => {
            let mut v = data.visits[pick(visit, data.visits.len())?].clone();
            v.deleted = true;
            AnyRecord::Visit(v)
        }
        Edit::MovePerson { person, household } => {
            let mut p = data.persons[pick(person, data.persons.len())?].clone();
            p.household_id = data.households[pick(household, data.households.len())?].id;
            AnyRecord::Person(p)
        }
        Edit::RemovePerson { person } => {
            let mut p = data.persons[pick(person, data.persons.len())?].clone();
            p.deleted = true;
            AnyRecord::Person(p)
        }
        Edit::NewMethod {
            person,
            method,
            days_ago,
        } => {
            let mut p = data.persons[pick(person, data.persons.len())?].clone();
            let held = p.contraception.clone();
            p.contraception = Some(Contraception {
                method: Method::ALL[method % Method::ALL.len()],
                start: Some(today - Days::new(days_ago)),
                replace_by: held.as_ref().and_then(|c| c.replace_by),
                informed_choice: held.is_some_and(|c| c.informed_choice),
            });
            AnyRecord::Person(p)
        }
        Edit::NewPerson { household, n } => {
            let h = &data.households[pick(household, data.households.len())?];
            let mut p: Person = data
                .persons
                .iter()
                .find(|p| p.birth_date.is_some() && p.marital.is_married())
                .cloned()?;
            p.id = Uuid::from_u128(serial ^ (n << 64));
            p.household_id = h.id;
            p.name = format!("新{serial}");
            AnyRecord::Person(p)
        }
        Edit::FlagHousehold { household } => {
            let mut h = data.households[pick(household, data.households.len())?].clone();
            h.flags.care_for_girls = !h.flags.care_for_girls;
            AnyRecord::Household(h)
        }
        Edit::RenumberHousehold { household, number } => {
            let mut h = data.households[pick(household, data.households.len())?].clone();
            h.number = format!("{:04}", number % 2000);
            AnyRecord::Household(h)
        }
        Edit::RemoveHousehold { household } => {
            let mut h: Household = data.households[pick(household, data.households.len())?].clone();
            h.deleted = true;
            AnyRecord::Household(h)
        }
    })
}

/// The plain way: replace the record with its id, else push it.
fn upsert(data: &mut Dataset, record: AnyRecord) {
    fn put<T>(list: &mut Vec<T>, record: T, id: impl Fn(&T) -> Id) {
        match list.iter_mut().find(|r| id(r) == id(&record)) {
            Some(slot) => *slot = record,
            None => list.push(record),
        }
    }
    match record {
        AnyRecord::Village(r) => put(&mut data.villages, r, |r| r.id),
        AnyRecord::Household(r) => put(&mut data.households, r, |r| r.id),
        AnyRecord::Person(r) => put(&mut data.persons, r, |r| r.id),
        AnyRecord::Visit(r) => put(&mut data.visits, r, |r| r.id),
        AnyRecord::Plan(r) => put(&mut data.plans, r, |r| r.id),
        AnyRecord::Tick(r) => put(&mut data.ticks, r, |r| r.id),
    }
}

/// Every index of `records` against a scan of `data`.
fn same_as_a_scan(records: &Records, data: &Dataset) -> Result<(), TestCaseError> {
    prop_assert_eq!(records.dataset(), data);
    for h in &data.households {
        let members: Vec<Id> = records.members(h.id).iter().map(|p| p.id).collect();
        let scanned: Vec<Id> = data
            .persons
            .iter()
            .filter(|p| p.household_id == h.id && !p.deleted)
            .map(|p| p.id)
            .collect();
        prop_assert_eq!(members, scanned);
        prop_assert_eq!(records.household(h.id).is_some(), !h.deleted);
    }
    let by_person = data.visits_by_person();
    for p in &data.persons {
        let held: Vec<&Visit> = records.visits_of(p.id);
        let scanned = by_person.get(&p.id).cloned().unwrap_or_default();
        prop_assert_eq!(&held, &scanned);
        for kind in VisitKind::ALL {
            let latest = scanned.iter().rev().find(|v| v.kind == kind).copied();
            prop_assert_eq!(records.latest_visit(p.id, kind), latest);
        }
    }
    for v in &data.villages {
        let held: Vec<Id> = records.households_of(v.id).iter().map(|h| h.id).collect();
        let scanned: Vec<Id> = data.households_of(v.id).map(|h| h.id).collect();
        prop_assert_eq!(held, scanned);
        prop_assert_eq!(records.search(v.id), &HouseholdIndex::new(data, v.id));
    }
    for plan in &data.plans {
        let held: Vec<Id> = records.ticks_of(plan.id).iter().map(|t| t.id).collect();
        let scanned: Vec<Id> = data
            .ticks
            .iter()
            .filter(|t| t.plan_id == plan.id && !t.deleted)
            .map(|t| t.id)
            .collect();
        prop_assert_eq!(held, scanned);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_incremental_today_list_is_the_whole_village_one(
        seed in any::<u64>(),
        offset in 300u64..1000,
        batches in prop::collection::vec(prop::collection::vec(edit(), 1..6), 1..12),
    ) {
        let today = day(offset);
        let rules = Rules::default();
        let mut plain = generate(seed, Size::Small, today);
        let mut records = Records::new(plain.clone());
        let mut index = TodayIndex::new(&records, today, &rules);
        prop_assert_eq!(index.list(), &today_list(&plain, today, &rules));
        same_as_a_scan(&records, &plain)?;
        let mut serial = 1u128 << 100;
        for batch in &batches {
            let mut made = Vec::new();
            for edit in batch {
                serial += 1;
                // Each edit reads the records as the earlier ones left them.
                if let Some(record) = make(edit, &plain, today, serial) {
                    upsert(&mut plain, record.clone());
                    made.push(record);
                }
            }
            let touched = records.apply(made);
            index.refresh(&records, &touched, &rules);
            prop_assert_eq!(index.list(), &today_list(&plain, today, &rules), "after {:?}", batch);
            same_as_a_scan(&records, &plain)?;
        }
    }
}

#[test]
fn putting_a_record_equal_to_the_held_one_touches_nothing() {
    let today = day(500);
    let data = generate(7, Size::Small, today);
    let mut records = Records::new(data.clone());
    let same = records.apply([AnyRecord::Person(data.persons[3].clone())]);
    assert!(same.is_empty());
    assert!(same.households.is_empty());
    let mut moved = data.persons[3].clone();
    moved.name.push('二');
    let touched = records.apply([AnyRecord::Person(moved.clone())]);
    assert_eq!(touched.records, 1);
    assert_eq!(
        touched.persons.iter().copied().collect::<Vec<_>>(),
        vec![moved.id]
    );
    assert_eq!(
        touched.households.iter().copied().collect::<Vec<_>>(),
        vec![moved.household_id]
    );
}

#[test]
fn a_visit_touches_only_its_person_and_household() {
    let today = day(500);
    let data = generate(11, Size::Small, today);
    let rules = Rules::default();
    let mut records = Records::new(data.clone());
    let mut index = TodayIndex::new(&records, today, &rules);
    let person = &data.persons[5];
    let untouched: HashMap<Id, Vec<fieldbook_core::rules::Task>> = data
        .households
        .iter()
        .filter(|h| h.id != person.household_id)
        .map(|h| (h.id, index.tasks_of_household(h.id).to_vec()))
        .collect();
    let visit = Visit::new(
        Uuid::from_u128(99),
        person.id,
        person.household_id,
        today,
        VisitKind::ThreeChecks,
    );
    let touched = records.apply([AnyRecord::Visit(visit)]);
    assert_eq!(touched.persons.len(), 1);
    assert_eq!(
        touched.households.iter().copied().collect::<Vec<_>>(),
        vec![person.household_id]
    );
    index.refresh(&records, &touched, &rules);
    for (id, tasks) in untouched {
        assert_eq!(index.tasks_of_household(id), tasks.as_slice());
    }
    assert_eq!(index.list(), &today_list(records.dataset(), today, &rules));
}

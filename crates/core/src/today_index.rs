//! [`TodayIndex`]: the Today list kept up to date household by household.
//!
//! A household's tasks depend only on that household, its members and
//! their visits (the rules' constants and `today` aside): so when a save or
//! a pulled page touches a few households ([`Touched`]), only their tasks
//! are found again, with the rules' own [`household_tasks`], and the list
//! is sorted again from what is held. The result is always the value
//! [`today_list`](crate::rules::today_list) gives for the same records and
//! day; `tests/today_index.rs` checks that over generated villages and
//! random edits.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::model::Id;
use crate::records::{Records, Touched};
use crate::rules::{Rules, Task, TodayList, household_tasks, today_range};

/// The Today list of one day, with each household's tasks held apart.
#[derive(Clone, Debug, Default)]
pub struct TodayIndex {
    today: NaiveDate,
    by_household: HashMap<Id, Vec<Task>>,
    numbers: HashMap<Id, String>,
    list: TodayList,
}

impl TodayIndex {
    /// Finds every household's tasks on `today`.
    pub fn new(records: &Records, today: NaiveDate, rules: &Rules) -> Self {
        let mut index = TodayIndex {
            today,
            ..TodayIndex::default()
        };
        let households: Vec<Id> = records
            .dataset()
            .households
            .iter()
            .filter(|h| !h.deleted)
            .map(|h| h.id)
            .collect();
        for id in households {
            index.find(records, id, rules);
        }
        index.sort();
        index
    }

    /// The day the list is for. On a new day, make a new index.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// Finds again the tasks of the households `touched` names (a removed
    /// household's go), and sorts the list again. Nothing else is looked at.
    pub fn refresh(&mut self, records: &Records, touched: &Touched, rules: &Rules) {
        if touched.households.is_empty() {
            return;
        }
        for &id in &touched.households {
            self.find(records, id, rules);
        }
        self.sort();
    }

    /// The Today list.
    pub fn list(&self) -> &TodayList {
        &self.list
    }

    /// One household's tasks on the list's day, of every status.
    pub fn tasks_of_household(&self, id: Id) -> &[Task] {
        self.by_household.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    fn find(&mut self, records: &Records, id: Id, rules: &Rules) {
        let Some(household) = records.household(id) else {
            self.by_household.remove(&id);
            self.numbers.remove(&id);
            return;
        };
        let (from, to) = today_range(self.today, rules);
        let members = records.members(id);
        let tasks = household_tasks(
            household,
            &members,
            &|person| records.visits_of(person),
            from,
            to,
            self.today,
            rules,
        );
        self.numbers.insert(id, household.number.clone());
        if tasks.is_empty() {
            self.by_household.remove(&id);
        } else {
            self.by_household.insert(id, tasks);
        }
    }

    fn sort(&mut self) {
        let numbers: HashMap<Id, &str> = self
            .numbers
            .iter()
            .map(|(id, n)| (*id, n.as_str()))
            .collect();
        self.list = TodayList::from_tasks(
            self.by_household.values().flatten().cloned(),
            self.today,
            &numbers,
        );
    }
}

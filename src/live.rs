//! The records in memory as the pages see them: the core's indexed
//! [`Records`], updated in place by typed changes, and fine-grained
//! triggers so that a change wakes only the pages that show it.
//!
//! - One trigger per household, made when a page first asks for that
//!   household and fired when an apply's [`Touched::households`] names it
//!   (its record, a member's record, a member's visit changed).
//! - One per list: the households list (households or persons changed),
//!   the plans (plans or ticks changed), the villages.
//! - One for "anything" (indicators, registers: whole-village computations).
//!
//! The Today list is kept by the core's [`TodayIndex`] next to the records:
//! every apply refreshes the households it touched, nothing else.
//!
//! This type knows no store and no signal of the app: [`crate::state`]
//! holds it (non-reactively) and fires its triggers after each change.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::NaiveDate;
use fieldbook_core::Id;
use fieldbook_core::records::{AnyRecord, Records, Touched};
use fieldbook_core::rules::{Rules, TodayList};
use fieldbook_core::sync::RecordKind;
use fieldbook_core::today_index::TodayIndex;
use leptos::prelude::*;

/// The triggers the pages subscribe to.
pub struct Triggers {
    /// One per household a page has asked for.
    households: RefCell<HashMap<Id, ArcTrigger>>,
    /// Households or persons changed: the households list, search.
    list: ArcTrigger,
    /// Plans or ticks changed.
    plans: ArcTrigger,
    /// Villages changed.
    villages: ArcTrigger,
    /// Anything changed: whole-village computations.
    all: ArcTrigger,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            households: RefCell::default(),
            list: ArcTrigger::new(),
            plans: ArcTrigger::new(),
            villages: ArcTrigger::new(),
            all: ArcTrigger::new(),
        }
    }
}

/// Which triggers a change fires.
#[derive(Default)]
pub struct Fire(Vec<ArcTrigger>);

impl Fire {
    /// Fires them (after the records are no longer borrowed).
    pub fn notify(self) {
        for trigger in self.0 {
            trigger.notify();
        }
    }

    /// How many triggers fire.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none fires.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Triggers {
    /// The household's trigger, made on first use.
    fn household(&self, id: Id) -> ArcTrigger {
        self.households.borrow_mut().entry(id).or_default().clone()
    }

    /// The triggers `touched` fires.
    fn of(&self, touched: &Touched) -> Fire {
        let mut fire = Vec::new();
        if touched.kinds.is_empty() && touched.households.is_empty() {
            return Fire(fire);
        }
        {
            let households = self.households.borrow();
            fire.extend(
                touched
                    .households
                    .iter()
                    .filter_map(|id| households.get(id).cloned()),
            );
        }
        let any = |kinds: &[RecordKind]| kinds.iter().any(|k| touched.kinds.contains(k));
        if any(&[
            RecordKind::Household,
            RecordKind::Person,
            RecordKind::Village,
        ]) {
            fire.push(self.list.clone());
        }
        if any(&[RecordKind::Plan, RecordKind::Tick]) {
            fire.push(self.plans.clone());
        }
        if any(&[RecordKind::Village]) {
            fire.push(self.villages.clone());
        }
        fire.push(self.all.clone());
        Fire(fire)
    }

    /// Every trigger: the records were replaced as a whole.
    fn every(&self) -> Fire {
        let mut fire: Vec<ArcTrigger> = self.households.borrow().values().cloned().collect();
        fire.extend([
            self.list.clone(),
            self.plans.clone(),
            self.villages.clone(),
            self.all.clone(),
        ]);
        Fire(fire)
    }
}

/// The records in memory, their Today index and their triggers.
pub struct Live {
    records: Records,
    /// The live Today list, once every record (visits too) is in.
    today: Option<TodayIndex>,
    /// The Today index being built, a few households at a time.
    building: Option<TodayIndex>,
    rules: Rules,
    triggers: Triggers,
}

impl Default for Live {
    fn default() -> Self {
        Live::new(Records::new(fieldbook_core::Dataset::new()))
    }
}

impl Live {
    /// `records`, without a Today index yet.
    pub fn new(records: Records) -> Live {
        Live {
            records,
            today: None,
            building: None,
            rules: Rules::default(),
            triggers: Triggers::default(),
        }
    }

    /// The records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Subscribes the running computation to household `id` (its record,
    /// its members and their visits).
    pub fn track_household(&self, id: Id) {
        self.triggers.household(id).track();
    }

    /// Subscribes to the households list (households and persons).
    pub fn track_list(&self) {
        self.triggers.list.track();
    }

    /// Subscribes to the plans and their ticks.
    pub fn track_plans(&self) {
        self.triggers.plans.track();
    }

    /// Subscribes to the villages.
    pub fn track_villages(&self) {
        self.triggers.villages.track();
    }

    /// Subscribes to any change.
    pub fn track_all(&self) {
        self.triggers.all.track();
    }

    /// Puts `batch` into the records (each replacing the record with its
    /// id) and refreshes the Today index for what it touched (rebuilding it
    /// when the day is no longer its day). Returns what changed and the
    /// triggers to fire (fire them once this is no longer borrowed).
    pub fn apply(&mut self, batch: Vec<AnyRecord>, date: NaiveDate) -> (Touched, Fire) {
        if batch.is_empty() {
            return (Touched::default(), Fire::default());
        }
        let touched = self.records.apply(batch);
        self.refresh_today(&touched, date);
        let fire = self.triggers.of(&touched);
        (touched, fire)
    }

    /// Replaces every record (a new store, a lock, an erase); drops the
    /// Today index. Returns every trigger to fire.
    pub fn reset(&mut self, records: Records) -> Fire {
        self.records = records;
        self.today = None;
        self.building = None;
        self.triggers.every()
    }

    /// Every trigger, to fire once the records are whole (the background
    /// read of the visits is done): whatever read them before read a part.
    pub fn every_trigger(&self) -> Fire {
        self.triggers.every()
    }

    /// Puts records read from the store into memory without refreshing
    /// anything or telling anyone (the cold start's background read: every
    /// trigger fires once it is done).
    pub fn load(&mut self, batch: Vec<AnyRecord>) -> Touched {
        self.records.apply(batch)
    }

    /// Builds the Today index from every record, for `date`, at once.
    pub fn start_today(&mut self, date: NaiveDate) {
        self.building = None;
        self.today = Some(TodayIndex::new(&self.records, date, &self.rules));
    }

    /// Starts building the Today index for `date` in parts
    /// ([`build_today`](Live::build_today), then
    /// [`finish_today`](Live::finish_today)), so that input is handled
    /// between them.
    pub fn begin_today(&mut self, date: NaiveDate) {
        self.building = Some(TodayIndex::new(&Records::default(), date, &self.rules));
    }

    /// Adds these households' tasks to the index being built.
    pub fn build_today(&mut self, households: &[Id]) {
        if let Some(index) = &mut self.building {
            let part = Touched {
                households: households.iter().copied().collect(),
                ..Touched::default()
            };
            index.refresh(&self.records, &part, &self.rules);
        }
    }

    /// Makes the index built in parts the live one (built anew at once if
    /// the day changed meanwhile).
    pub fn finish_today(&mut self, date: NaiveDate) {
        match self.building.take() {
            Some(index) if index.today() == date => self.today = Some(index),
            _ => self.start_today(date),
        }
    }

    /// Refreshes the Today index after a change (none is kept before
    /// [`start_today`](Live::start_today)).
    fn refresh_today(&mut self, touched: &Touched, date: NaiveDate) {
        // A household already in the index being built is found again;
        // one not yet in it is found from the records as they will be.
        if let Some(index) = &mut self.building {
            index.refresh(&self.records, touched, &self.rules);
        }
        let Some(index) = &mut self.today else {
            return;
        };
        if index.today() == date {
            index.refresh(&self.records, touched, &self.rules);
        } else {
            *index = TodayIndex::new(&self.records, date, &self.rules);
        }
    }

    /// A new day without a change: rebuilds the index for `date` when it
    /// is another day's. Whether it did.
    pub fn roll_today(&mut self, date: NaiveDate) -> bool {
        match &self.today {
            Some(index) if index.today() != date => {
                self.start_today(date);
                true
            }
            _ => false,
        }
    }

    /// The live Today list, once there is one.
    pub fn today_list(&self) -> Option<TodayList> {
        self.today.as_ref().map(|index| index.list().clone())
    }
}

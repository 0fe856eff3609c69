//! [`Records`]: every record one phone holds, by id, with the indexes the
//! pages need, kept up to date in place as records change.
//!
//! A [`Dataset`] is a set of lists: fine for computations over the whole
//! village (the rules, the indicators, the registers), slow for "this
//! household's members" or "her last follow-up", which scan every person or
//! every visit. `Records` keeps the same lists (so those computations take
//! [`Records::dataset`] as before) and beside them:
//!
//! - each record's place in its list, by id;
//! - persons by household, visits by person (in date order), ticks by plan,
//!   households by village;
//! - the household search of each village ([`HouseholdIndex`]).
//!
//! [`Records::apply`] puts changed records in (a save, a pulled page, a
//! backup's merge) and answers what they touched ([`Touched`]): which
//! households, persons, plans and villages, so a page that shows one
//! household is told only when that household changed, and the Today list
//! ([`crate::today_index::TodayIndex`]) recomputes only those households.
//!
//! Deleted records (tombstones) stay, as in a [`Dataset`]; every lookup here
//! answers live records only.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::model::{Household, Id, Person, Village, Visit, VisitKind};
use crate::plan::{Tick, WorkPlan};
use crate::search::HouseholdIndex;
use crate::sync::RecordKind;

/// One record of any kind: what a save, a pull or an import hands over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum AnyRecord {
    /// A village.
    Village(Village),
    /// A household.
    Household(Household),
    /// A person.
    Person(Person),
    /// A visit.
    Visit(Visit),
    /// A work plan.
    Plan(WorkPlan),
    /// A tick of a plan task.
    Tick(Tick),
}

impl AnyRecord {
    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            AnyRecord::Village(_) => RecordKind::Village,
            AnyRecord::Household(_) => RecordKind::Household,
            AnyRecord::Person(_) => RecordKind::Person,
            AnyRecord::Visit(_) => RecordKind::Visit,
            AnyRecord::Plan(_) => RecordKind::Plan,
            AnyRecord::Tick(_) => RecordKind::Tick,
        }
    }

    /// The record's id.
    pub fn id(&self) -> Id {
        match self {
            AnyRecord::Village(r) => r.id,
            AnyRecord::Household(r) => r.id,
            AnyRecord::Person(r) => r.id,
            AnyRecord::Visit(r) => r.id,
            AnyRecord::Plan(r) => r.id,
            AnyRecord::Tick(r) => r.id,
        }
    }

    /// A record of `kind` from its JSON (as stored, pushed or pulled).
    pub fn from_json(kind: RecordKind, json: serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            RecordKind::Village => AnyRecord::Village(serde_json::from_value(json)?),
            RecordKind::Household => AnyRecord::Household(serde_json::from_value(json)?),
            RecordKind::Person => AnyRecord::Person(serde_json::from_value(json)?),
            RecordKind::Visit => AnyRecord::Visit(serde_json::from_value(json)?),
            RecordKind::Plan => AnyRecord::Plan(serde_json::from_value(json)?),
            RecordKind::Tick => AnyRecord::Tick(serde_json::from_value(json)?),
        })
    }

    /// Every record of a dataset, villages first, then households, persons,
    /// visits, plans and ticks.
    pub fn all_of(data: Dataset) -> Vec<AnyRecord> {
        let mut out = Vec::with_capacity(
            data.villages.len()
                + data.households.len()
                + data.persons.len()
                + data.visits.len()
                + data.plans.len()
                + data.ticks.len(),
        );
        out.extend(data.villages.into_iter().map(AnyRecord::Village));
        out.extend(data.households.into_iter().map(AnyRecord::Household));
        out.extend(data.persons.into_iter().map(AnyRecord::Person));
        out.extend(data.visits.into_iter().map(AnyRecord::Visit));
        out.extend(data.plans.into_iter().map(AnyRecord::Plan));
        out.extend(data.ticks.into_iter().map(AnyRecord::Tick));
        out
    }
}

macro_rules! from_record {
    ($ty:ty, $variant:ident) => {
        impl From<$ty> for AnyRecord {
            fn from(record: $ty) -> Self {
                AnyRecord::$variant(record)
            }
        }
    };
}

from_record!(Village, Village);
from_record!(Household, Household);
from_record!(Person, Person);
from_record!(Visit, Visit);
from_record!(WorkPlan, Plan);
from_record!(Tick, Tick);

/// What an [`Records::apply`] changed, for whoever shows or derives from
/// those records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Kinds with a changed record.
    pub kinds: BTreeSet<RecordKind>,
    /// Households whose own record, members or members' visits changed
    /// (both households of a person who moved, or of a visit moved to
    /// another person).
    pub households: BTreeSet<Id>,
    /// Persons whose own record or visits changed.
    pub persons: BTreeSet<Id>,
    /// Plans whose own record or ticks changed.
    pub plans: BTreeSet<Id>,
    /// Villages whose own record or households changed.
    pub villages: BTreeSet<Id>,
    /// Records put in (new or replaced).
    pub records: usize,
}

impl Touched {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Adds what `other` touched.
    pub fn extend(&mut self, other: Touched) {
        self.kinds.extend(other.kinds);
        self.households.extend(other.households);
        self.persons.extend(other.persons);
        self.plans.extend(other.plans);
        self.villages.extend(other.villages);
        self.records += other.records;
    }
}

/// Every record by id, with indexes; see the module's notes.
#[derive(Clone, Debug, Default)]
pub struct Records {
    data: Dataset,
    villages: HashMap<Id, usize>,
    households: HashMap<Id, usize>,
    persons: HashMap<Id, usize>,
    visits: HashMap<Id, usize>,
    plans: HashMap<Id, usize>,
    ticks: HashMap<Id, usize>,
    /// Household id → places of its persons (deleted ones too).
    members: HashMap<Id, Vec<usize>>,
    /// Person id → places of her visits (deleted ones too), by (date, id).
    visits_by_person: HashMap<Id, Vec<usize>>,
    /// Plan id → places of its ticks (deleted ones too).
    ticks_by_plan: HashMap<Id, Vec<usize>>,
    /// Village id → places of its households (deleted ones too).
    households_by_village: HashMap<Id, Vec<usize>>,
    /// Village id → its household search.
    search: HashMap<Id, HouseholdIndex>,
}

fn remove_place(index: &mut HashMap<Id, Vec<usize>>, key: Id, place: usize) {
    if let Some(list) = index.get_mut(&key) {
        list.retain(|&p| p != place);
        if list.is_empty() {
            index.remove(&key);
        }
    }
}

impl Records {
    /// Indexes `data`. A record whose id appears twice in a list counts
    /// once: the last one.
    pub fn new(data: Dataset) -> Self {
        let places = |ids: &mut dyn Iterator<Item = Id>, len: usize| {
            let mut map = HashMap::with_capacity(len);
            for (i, id) in ids.enumerate() {
                if map.insert(id, i).is_some() {
                    return None;
                }
            }
            Some(map)
        };
        let (
            Some(villages),
            Some(households),
            Some(persons),
            Some(visits),
            Some(plans),
            Some(ticks),
        ) = (
            places(&mut data.villages.iter().map(|r| r.id), data.villages.len()),
            places(
                &mut data.households.iter().map(|r| r.id),
                data.households.len(),
            ),
            places(&mut data.persons.iter().map(|r| r.id), data.persons.len()),
            places(&mut data.visits.iter().map(|r| r.id), data.visits.len()),
            places(&mut data.plans.iter().map(|r| r.id), data.plans.len()),
            places(&mut data.ticks.iter().map(|r| r.id), data.ticks.len()),
        )
        else {
            // An id twice in a list: one at a time, the last one kept.
            let mut records = Records::default();
            records.data.schema_version = data.schema_version;
            records.apply(AnyRecord::all_of(data));
            return records;
        };
        let mut members: HashMap<Id, Vec<usize>> = HashMap::new();
        for (i, p) in data.persons.iter().enumerate() {
            members.entry(p.household_id).or_default().push(i);
        }
        let mut visits_by_person: HashMap<Id, Vec<usize>> = HashMap::new();
        for (i, v) in data.visits.iter().enumerate() {
            visits_by_person.entry(v.person_id).or_default().push(i);
        }
        for list in visits_by_person.values_mut() {
            list.sort_by_key(|&p| (data.visits[p].date, data.visits[p].id));
        }
        let mut ticks_by_plan: HashMap<Id, Vec<usize>> = HashMap::new();
        for (i, t) in data.ticks.iter().enumerate() {
            ticks_by_plan.entry(t.plan_id).or_default().push(i);
        }
        let mut households_by_village: HashMap<Id, Vec<usize>> = HashMap::new();
        for (i, h) in data.households.iter().enumerate() {
            households_by_village
                .entry(h.village_id)
                .or_default()
                .push(i);
        }
        let search = data
            .villages
            .iter()
            .map(|v| v.id)
            .chain(data.households.iter().map(|h| h.village_id))
            .collect::<BTreeSet<Id>>()
            .into_iter()
            .map(|v| (v, HouseholdIndex::new(&data, v)))
            .collect();
        Records {
            villages,
            households,
            persons,
            visits,
            plans,
            ticks,
            members,
            visits_by_person,
            ticks_by_plan,
            households_by_village,
            search,
            data,
        }
    }

    /// The records as lists, for computations over the whole village.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    /// How many records (tombstones too).
    pub fn len(&self) -> usize {
        self.villages.len()
            + self.households.len()
            + self.persons.len()
            + self.visits.len()
            + self.plans.len()
            + self.ticks.len()
    }

    /// No record at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts each record in, replacing the one with its id, and keeps every
    /// index; answers what changed. A record equal to the one held changes
    /// nothing and touches nothing.
    pub fn apply(&mut self, records: impl IntoIterator<Item = AnyRecord>) -> Touched {
        let mut touched = Touched::default();
        let mut searches: BTreeSet<(Id, Id)> = BTreeSet::new();
        for record in records {
            self.apply_one(record, &mut touched, &mut searches);
        }
        for (village, household) in searches {
            self.refresh_search(village, household);
        }
        touched
    }

    fn apply_one(
        &mut self,
        record: AnyRecord,
        touched: &mut Touched,
        searches: &mut BTreeSet<(Id, Id)>,
    ) {
        let kind = record.kind();
        match record {
            AnyRecord::Village(village) => {
                let id = village.id;
                if !put(&mut self.data.villages, &mut self.villages, village, |r| {
                    r.id
                }) {
                    return;
                }
                touched.villages.insert(id);
                // A village's name and flags reach nothing else here; a new
                // village gets its (empty) search.
                self.search.entry(id).or_default();
            }
            AnyRecord::Household(household) => {
                let id = household.id;
                let before = self
                    .households
                    .get(&id)
                    .map(|&p| self.data.households[p].village_id);
                let village = household.village_id;
                if !put(
                    &mut self.data.households,
                    &mut self.households,
                    household,
                    |r| r.id,
                ) {
                    return;
                }
                let place = self.households[&id];
                if before != Some(village) {
                    if let Some(old) = before {
                        remove_place(&mut self.households_by_village, old, place);
                        touched.villages.insert(old);
                        searches.insert((old, id));
                    }
                    self.households_by_village
                        .entry(village)
                        .or_default()
                        .push(place);
                }
                touched.villages.insert(village);
                touched.households.insert(id);
                searches.insert((village, id));
            }
            AnyRecord::Person(person) => {
                let id = person.id;
                let before = self
                    .persons
                    .get(&id)
                    .map(|&p| self.data.persons[p].household_id);
                let household = person.household_id;
                if !put(&mut self.data.persons, &mut self.persons, person, |r| r.id) {
                    return;
                }
                let place = self.persons[&id];
                if before != Some(household) {
                    if let Some(old) = before {
                        remove_place(&mut self.members, old, place);
                        self.touch_household(old, touched, searches);
                    }
                    self.members.entry(household).or_default().push(place);
                }
                touched.persons.insert(id);
                self.touch_household(household, touched, searches);
            }
            AnyRecord::Visit(visit) => {
                let id = visit.id;
                let before = self.visits.get(&id).map(|&p| self.data.visits[p].person_id);
                let person = visit.person_id;
                let household = visit.household_id;
                if !put(&mut self.data.visits, &mut self.visits, visit, |r| r.id) {
                    return;
                }
                let place = self.visits[&id];
                if let Some(old) = before {
                    remove_place(&mut self.visits_by_person, old, place);
                    self.touch_person(old, touched);
                }
                // Re-inserted in order: its date may have changed.
                let visits = &self.data.visits;
                let list = self.visits_by_person.entry(person).or_default();
                let key = |p: usize| (visits[p].date, visits[p].id);
                let at = list.partition_point(|&p| key(p) < key(place));
                list.insert(at, place);
                self.touch_person(person, touched);
                touched.households.insert(household);
            }
            AnyRecord::Plan(plan) => {
                let id = plan.id;
                if !put(&mut self.data.plans, &mut self.plans, plan, |r| r.id) {
                    return;
                }
                touched.plans.insert(id);
            }
            AnyRecord::Tick(tick) => {
                let id = tick.id;
                let before = self.ticks.get(&id).map(|&p| self.data.ticks[p].plan_id);
                let plan = tick.plan_id;
                if !put(&mut self.data.ticks, &mut self.ticks, tick, |r| r.id) {
                    return;
                }
                let place = self.ticks[&id];
                if before != Some(plan) {
                    if let Some(old) = before {
                        remove_place(&mut self.ticks_by_plan, old, place);
                        touched.plans.insert(old);
                    }
                    self.ticks_by_plan.entry(plan).or_default().push(place);
                }
                touched.plans.insert(plan);
            }
        }
        touched.kinds.insert(kind);
        touched.records += 1;
    }

    /// A person's record or visits changed: she and her household are
    /// touched.
    fn touch_person(&self, person: Id, touched: &mut Touched) {
        touched.persons.insert(person);
        if let Some(&p) = self.persons.get(&person) {
            touched.households.insert(self.data.persons[p].household_id);
        }
    }

    fn touch_household(
        &self,
        household: Id,
        touched: &mut Touched,
        searches: &mut BTreeSet<(Id, Id)>,
    ) {
        touched.households.insert(household);
        if let Some(&p) = self.households.get(&household) {
            searches.insert((self.data.households[p].village_id, household));
        }
    }

    fn refresh_search(&mut self, village: Id, household: Id) {
        let names: Vec<String> = self
            .members(household)
            .into_iter()
            .map(|p| p.name.clone())
            .collect();
        let entry = self
            .household(household)
            .filter(|h| h.village_id == village)
            .cloned();
        self.search
            .entry(village)
            .or_default()
            .put(household, entry.as_ref(), &names);
    }

    /// The live village with this id.
    pub fn village(&self, id: Id) -> Option<&Village> {
        live(&self.data.villages, &self.villages, id, |r| r.deleted)
    }

    /// The village this phone serves: the first live one.
    pub fn first_village(&self) -> Option<&Village> {
        self.data.villages.iter().find(|v| !v.deleted)
    }

    /// The live household with this id.
    pub fn household(&self, id: Id) -> Option<&Household> {
        live(&self.data.households, &self.households, id, |r| r.deleted)
    }

    /// The live person with this id.
    pub fn person(&self, id: Id) -> Option<&Person> {
        live(&self.data.persons, &self.persons, id, |r| r.deleted)
    }

    /// The live visit with this id.
    pub fn visit(&self, id: Id) -> Option<&Visit> {
        live(&self.data.visits, &self.visits, id, |r| r.deleted)
    }

    /// The visit with this id, deleted or not.
    pub fn visit_any(&self, id: Id) -> Option<&Visit> {
        self.visits.get(&id).map(|&p| &self.data.visits[p])
    }

    /// The live plan with this id.
    pub fn plan(&self, id: Id) -> Option<&WorkPlan> {
        live(&self.data.plans, &self.plans, id, |r| r.deleted)
    }

    /// The live plan of a village for a year (the first, if there are two).
    pub fn plan_for(&self, village: Id, year: i32) -> Option<&WorkPlan> {
        self.data.plan_for(village, year)
    }

    /// The live persons of a household, in the order they were first
    /// stored.
    pub fn members(&self, household: Id) -> Vec<&Person> {
        let mut places: Vec<usize> = self.members.get(&household).cloned().unwrap_or_default();
        places.sort_unstable();
        places
            .into_iter()
            .map(|p| &self.data.persons[p])
            .filter(|p| !p.deleted)
            .collect()
    }

    /// A person's live visits by date (then id).
    pub fn visits_of(&self, person: Id) -> Vec<&Visit> {
        self.visits_by_person
            .get(&person)
            .map(|places| {
                places
                    .iter()
                    .map(|&p| &self.data.visits[p])
                    .filter(|v| !v.deleted)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A person's latest live visit of `kind` (by date, then id).
    pub fn latest_visit(&self, person: Id, kind: VisitKind) -> Option<&Visit> {
        self.visits_by_person.get(&person).and_then(|places| {
            places
                .iter()
                .rev()
                .map(|&p| &self.data.visits[p])
                .find(|v| !v.deleted && v.kind == kind)
        })
    }

    /// The live ticks of a plan, in the order they were first stored.
    pub fn ticks_of(&self, plan: Id) -> Vec<&Tick> {
        let mut places: Vec<usize> = self.ticks_by_plan.get(&plan).cloned().unwrap_or_default();
        places.sort_unstable();
        places
            .into_iter()
            .map(|p| &self.data.ticks[p])
            .filter(|t| !t.deleted)
            .collect()
    }

    /// The live households of a village, in the order they were first
    /// stored.
    pub fn households_of(&self, village: Id) -> Vec<&Household> {
        let mut places: Vec<usize> = self
            .households_by_village
            .get(&village)
            .cloned()
            .unwrap_or_default();
        places.sort_unstable();
        places
            .into_iter()
            .map(|p| &self.data.households[p])
            .filter(|h| !h.deleted)
            .collect()
    }

    /// The household search of a village (empty for an unknown one).
    pub fn search(&self, village: Id) -> &HouseholdIndex {
        static EMPTY: std::sync::OnceLock<HouseholdIndex> = std::sync::OnceLock::new();
        self.search
            .get(&village)
            .unwrap_or_else(|| EMPTY.get_or_init(HouseholdIndex::default))
    }
}

/// Puts `record` into `list` (replacing the one with its id, else at the
/// end) and keeps `places`; false when the held record equals it.
fn put<T: PartialEq>(
    list: &mut Vec<T>,
    places: &mut HashMap<Id, usize>,
    record: T,
    id: impl Fn(&T) -> Id,
) -> bool {
    let key = id(&record);
    match places.get(&key) {
        Some(&p) if list[p] == record => false,
        Some(&p) => {
            list[p] = record;
            true
        }
        None => {
            places.insert(key, list.len());
            list.push(record);
            true
        }
    }
}

fn live<'a, T>(
    list: &'a [T],
    places: &HashMap<Id, usize>,
    id: Id,
    deleted: impl Fn(&T) -> bool,
) -> Option<&'a T> {
    places.get(&id).map(|&p| &list[p]).filter(|r| !deleted(r))
}

impl From<Dataset> for Records {
    fn from(data: Dataset) -> Self {
        Records::new(data)
    }
}

//! [`Dataset`]: all the records one device or one server query holds, the
//! input of the rules, indicators and registers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Household, Id, Person, SCHEMA_VERSION, Village, Visit};
use crate::plan::{Tick, WorkPlan};

/// Every record of one or more villages. Deleted records (tombstones) stay
/// in the lists; every computation skips them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The shape version of this data ([`SCHEMA_VERSION`] when written).
    #[serde(default = "current_schema")]
    pub schema_version: u32,
    /// Villages.
    #[serde(default)]
    pub villages: Vec<Village>,
    /// Households.
    #[serde(default)]
    pub households: Vec<Household>,
    /// Persons.
    #[serde(default)]
    pub persons: Vec<Person>,
    /// Visits.
    #[serde(default)]
    pub visits: Vec<Visit>,
    /// Work plans.
    #[serde(default)]
    pub plans: Vec<WorkPlan>,
    /// Ticks of plan tasks.
    #[serde(default)]
    pub ticks: Vec<Tick>,
}

fn current_schema() -> u32 {
    SCHEMA_VERSION
}

impl Dataset {
    /// An empty dataset of the current schema.
    pub fn new() -> Self {
        Dataset {
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        }
    }

    /// Live (not deleted) households of a village.
    pub fn households_of(&self, village_id: Id) -> impl Iterator<Item = &Household> {
        self.households
            .iter()
            .filter(move |h| !h.deleted && h.village_id == village_id)
    }

    /// The live household with this id.
    pub fn household(&self, id: Id) -> Option<&Household> {
        self.households.iter().find(|h| h.id == id && !h.deleted)
    }

    /// The live person with this id.
    pub fn person(&self, id: Id) -> Option<&Person> {
        self.persons.iter().find(|p| p.id == id && !p.deleted)
    }

    /// The live plan of a village for a year (the first, if there are two).
    pub fn plan_for(&self, village_id: Id, year: i32) -> Option<&WorkPlan> {
        self.plans
            .iter()
            .find(|p| !p.deleted && p.village_id == village_id && p.year == year)
    }

    /// An index from household id to its village id, over live households.
    pub fn village_of_households(&self) -> HashMap<Id, Id> {
        self.households
            .iter()
            .filter(|h| !h.deleted)
            .map(|h| (h.id, h.village_id))
            .collect()
    }

    /// Live persons of a village (through their households).
    pub fn persons_of(&self, village_id: Id) -> Vec<&Person> {
        let villages = self.village_of_households();
        self.persons
            .iter()
            .filter(|p| !p.deleted && villages.get(&p.household_id) == Some(&village_id))
            .collect()
    }

    /// A married person's spouse: the live, married person of the other sex
    /// in the same household whose relation to the head makes them a couple
    /// (户主 and 配偶, 子 and 儿媳, …; see [`crate::model::relation`]).
    pub fn spouse_of(&self, person: &Person) -> Option<&Person> {
        let relation = person.relation.as_deref()?;
        if !person.marital.is_married() {
            return None;
        }
        self.persons.iter().find(|other| {
            !other.deleted
                && other.id != person.id
                && other.household_id == person.household_id
                && other.sex != person.sex
                && other.marital.is_married()
                && other
                    .relation
                    .as_deref()
                    .is_some_and(|r| crate::model::relation::are_couple(relation, r))
        })
    }

    /// Live visits, grouped by person, each group in date order.
    pub fn visits_by_person(&self) -> HashMap<Id, Vec<&Visit>> {
        let mut by_person: HashMap<Id, Vec<&Visit>> = HashMap::new();
        for visit in self.visits.iter().filter(|v| !v.deleted) {
            by_person.entry(visit.person_id).or_default().push(visit);
        }
        for visits in by_person.values_mut() {
            visits.sort_by_key(|v| (v.date, v.id));
        }
        by_person
    }
}

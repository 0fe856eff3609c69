//! The indicators the plans promise (DOMAIN.md "Indicators"), for a village
//! and a period, each with the people (or visits, or tasks) behind its
//! numerator and denominator, so a worker can see who is missing.

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::model::{Id, Person, Pregnancy, Visit, VisitKind};
use crate::period::Period;
use crate::plan::{IndicatorKind, Target, is_ticked};
use crate::rules::{Rules, TaskKind, TaskStatus, tasks_between};

/// What a numerator or denominator counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Subject {
    /// A person (three checks, coverage, migrants, birth-defect intervention).
    Person {
        /// The person.
        id: Id,
    },
    /// A visit (awareness and satisfaction answers).
    Visit {
        /// The visit.
        id: Id,
    },
    /// A follow-up task of a person.
    FollowUp {
        /// The person.
        person_id: Id,
        /// What kind of follow-up.
        kind: TaskKind,
        /// Its window's first day, which tells it from the person's others.
        start: NaiveDate,
    },
    /// A task of the work plan.
    PlanTask {
        /// The measure.
        measure_id: Id,
        /// Which occurrence.
        occurrence: u16,
    },
}

/// One indicator's value for a village and a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// Which indicator.
    pub kind: IndicatorKind,
    /// The period.
    pub period: Period,
    /// Those counted above the line: always a subset of the denominator.
    pub numerator: Vec<Subject>,
    /// Everyone the indicator is about.
    pub denominator: Vec<Subject>,
    /// The plan's goal, where the village's plan for the year sets one.
    pub target: Option<Target>,
}

impl Indicator {
    /// The rate in tenths of a percent, rounded down; `None` when the
    /// denominator is empty.
    pub fn rate_permille(&self) -> Option<u32> {
        let den = self.denominator.len();
        (den > 0).then(|| u32::try_from(self.numerator.len() * 1000 / den).unwrap_or(u32::MAX))
    }

    /// The rate as a fraction 0.0–1.0; `None` when the denominator is empty.
    pub fn rate(&self) -> Option<f64> {
        let den = self.denominator.len();
        (den > 0).then(|| self.numerator.len() as f64 / den as f64)
    }

    /// Whether the plan's goal is met; `None` without a goal, and `None`
    /// when there is nothing to count (0/0 is neither met nor missed).
    pub fn meets_target(&self) -> Option<bool> {
        if self.denominator.is_empty() {
            return None;
        }
        self.target
            .map(|t| t.is_met(self.numerator.len(), self.denominator.len()))
    }

    /// Those in the denominator but not in the numerator: whom to visit.
    pub fn missing(&self) -> Vec<Subject> {
        let counted: HashSet<_> = self.numerator.iter().collect();
        self.denominator
            .iter()
            .filter(|s| !counted.contains(s))
            .copied()
            .collect()
    }
}

/// The period an indicator is naturally counted over, whatever period the
/// worker chose: the three checks are due once a half-year, migrants are
/// checked once a quarter, measure coverage is a state on a day; the others
/// count what happened in the chosen period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NaturalPeriod {
    /// Counted per half-year (三查).
    HalfYear,
    /// Counted per quarter (流动人口季查).
    Quarter,
    /// A state on the reference day (措施落实).
    Day,
    /// Counted over whatever period is chosen.
    Chosen,
}

/// The natural period of each indicator.
pub fn natural_period(kind: IndicatorKind) -> NaturalPeriod {
    match kind {
        IndicatorKind::ThreeCheckRate => NaturalPeriod::HalfYear,
        IndicatorKind::MigrantManagementRate => NaturalPeriod::Quarter,
        IndicatorKind::MeasureCoverage => NaturalPeriod::Day,
        IndicatorKind::FollowUpRate
        | IndicatorKind::Awareness
        | IndicatorKind::Satisfaction
        | IndicatorKind::BirthDefectIntervention
        | IndicatorKind::PlanCompletion => NaturalPeriod::Chosen,
    }
}

/// What an indicator's figures are counted over, to state on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Basis {
    /// Over the chosen period itself.
    Chosen {
        /// The chosen period.
        period: Period,
    },
    /// Over a longer natural period that holds the chosen one: a three-check
    /// rate under 月 or 季度 is the half-year's ("按半年计算（2026年下半年）").
    Natural {
        /// The natural period's kind.
        natural: NaturalPeriod,
        /// The period counted over.
        period: Period,
        /// Counted up to this day: the chosen period's end, or today while
        /// it runs.
        through: NaiveDate,
    },
    /// A state on one day (the period's end, or today while it runs).
    OnDay {
        /// The day.
        day: NaiveDate,
    },
}

fn is_shorter_than(period: Period, natural: NaturalPeriod) -> bool {
    match natural {
        NaturalPeriod::HalfYear => matches!(period, Period::Month { .. } | Period::Quarter { .. }),
        NaturalPeriod::Quarter => matches!(period, Period::Month { .. }),
        NaturalPeriod::Day | NaturalPeriod::Chosen => false,
    }
}

/// What `kind` is counted over when the worker chooses `period`. The
/// figures themselves come from [`indicator`]: a half-yearly or quarterly
/// indicator under a shorter period counts the whole natural period that
/// holds the chosen one's start, up to the reference day.
pub fn basis(kind: IndicatorKind, period: Period, today: NaiveDate) -> Basis {
    let natural = natural_period(kind);
    match natural {
        NaturalPeriod::Day => Basis::OnDay {
            day: reference_day(period, today),
        },
        NaturalPeriod::HalfYear if is_shorter_than(period, natural) => Basis::Natural {
            natural,
            period: Period::half_year_of(period.start()),
            through: reference_day(period, today),
        },
        NaturalPeriod::Quarter if is_shorter_than(period, natural) => Basis::Natural {
            natural,
            period: Period::quarter_of(period.start()),
            through: reference_day(period, today),
        },
        _ => Basis::Chosen { period },
    }
}

/// A person in an indicator's drill-down: one row a person, however many
/// of her tasks or visits the indicator counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    /// The person.
    pub person_id: Id,
    /// Her name.
    pub name: String,
    /// Her household.
    pub household_id: Id,
    /// 户编号.
    pub household_number: String,
    /// 村民组, empty if none.
    pub group: String,
    /// Her phone, else the household's; empty if neither.
    pub phone: String,
    /// The visit that would count her (the link to record it), if any.
    pub visit_kind: Option<VisitKind>,
}

/// The visit that moves a person into `kind`'s numerator, when one visit
/// does.
fn visit_for(kind: IndicatorKind, subject: &Subject) -> Option<VisitKind> {
    match (kind, subject) {
        (_, Subject::FollowUp { kind, .. }) => Some(kind.closing_visit()),
        (IndicatorKind::ThreeCheckRate, _) => Some(VisitKind::ThreeChecks),
        (IndicatorKind::MeasureCoverage, _) => Some(VisitKind::MethodFollowUp),
        (IndicatorKind::MigrantManagementRate, _) => Some(VisitKind::MigrantCheck),
        (IndicatorKind::Awareness, _) => Some(VisitKind::PublicityAtHome),
        (IndicatorKind::BirthDefectIntervention, _) => Some(VisitKind::BirthDefectReferral),
        _ => None,
    }
}

/// The persons behind `subjects`, one row each (a person with two missed
/// follow-ups is listed once, with the first one's visit), sorted by
/// villager group, household number and name. Plan tasks have no person
/// and are left out; so are subjects whose person is gone.
pub fn person_rows(data: &Dataset, kind: IndicatorKind, subjects: &[Subject]) -> Vec<PersonRow> {
    let persons: HashMap<Id, &Person> = data.persons.iter().map(|p| (p.id, p)).collect();
    let homes: HashMap<Id, &crate::model::Household> =
        data.households.iter().map(|h| (h.id, h)).collect();
    let visits: HashMap<Id, Id> = if subjects.iter().any(|s| matches!(s, Subject::Visit { .. })) {
        data.visits.iter().map(|v| (v.id, v.person_id)).collect()
    } else {
        HashMap::new()
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for subject in subjects {
        let person_id = match subject {
            Subject::Person { id } => *id,
            Subject::FollowUp { person_id, .. } => *person_id,
            Subject::Visit { id } => match visits.get(id) {
                Some(person) => *person,
                None => continue,
            },
            Subject::PlanTask { .. } => continue,
        };
        if !seen.insert(person_id) {
            continue;
        }
        let Some(person) = persons.get(&person_id) else {
            continue;
        };
        let home = homes.get(&person.household_id);
        rows.push(PersonRow {
            person_id,
            name: person.name.clone(),
            household_id: person.household_id,
            household_number: home.map(|h| h.number.clone()).unwrap_or_default(),
            group: home.and_then(|h| h.group.clone()).unwrap_or_default(),
            phone: person
                .phone
                .clone()
                .or_else(|| home.and_then(|h| h.phone.clone()))
                .unwrap_or_default(),
            visit_kind: visit_for(kind, subject),
        });
    }
    rows.sort_by(|a, b| {
        (group_order(&a.group), &a.household_number, &a.name).cmp(&(
            group_order(&b.group),
            &b.household_number,
            &b.name,
        ))
    });
    rows
}

/// The people an indicator is missing (in the denominator, not the
/// numerator), one row a person: whom to visit.
pub fn missing_people(data: &Dataset, indicator: &Indicator) -> Vec<PersonRow> {
    person_rows(data, indicator.kind, &indicator.missing())
}

/// The people an indicator counts, one row a person, leaving out anyone
/// who is also missing (a woman with one follow-up done and one missed is
/// listed as missing).
pub fn counted_people(data: &Dataset, indicator: &Indicator) -> Vec<PersonRow> {
    let missing: HashSet<Id> = missing_people(data, indicator)
        .into_iter()
        .map(|r| r.person_id)
        .collect();
    person_rows(data, indicator.kind, &indicator.numerator)
        .into_iter()
        .filter(|r| !missing.contains(&r.person_id))
        .collect()
}

/// The order of villager groups: 一组, 二组 … 十二组 by their number
/// (Chinese numerals or digits), then groups without a number by name,
/// then no group ([`crate::groups::GroupKey`]).
pub fn group_order(group: &str) -> crate::groups::GroupKey {
    crate::groups::GroupKey::of(Some(group))
}

/// The day an indicator is judged on: the period's end, or today if the
/// period is still running (never before the period's start).
pub fn reference_day(period: Period, today: NaiveDate) -> NaiveDate {
    period.end().min(today).max(period.start())
}

/// Every indicator of [`IndicatorKind::ALL`] for a village and a period.
pub fn indicators(
    data: &Dataset,
    village_id: Id,
    period: Period,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<Indicator> {
    let village = VillageView::new(data, village_id);
    IndicatorKind::ALL
        .into_iter()
        .map(|kind| village.indicator(kind, period, today, rules))
        .collect()
}

/// One indicator for a village and a period.
pub fn indicator(
    data: &Dataset,
    village_id: Id,
    kind: IndicatorKind,
    period: Period,
    today: NaiveDate,
    rules: &Rules,
) -> Indicator {
    VillageView::new(data, village_id).indicator(kind, period, today, rules)
}

/// One village's live records, indexed once for all indicators.
struct VillageView<'a> {
    data: &'a Dataset,
    village_id: Id,
    persons: Vec<&'a Person>,
    visits: HashMap<Id, Vec<&'a Visit>>,
}

impl<'a> VillageView<'a> {
    fn new(data: &'a Dataset, village_id: Id) -> Self {
        let persons = data.persons_of(village_id);
        let ids: HashSet<Id> = persons.iter().map(|p| p.id).collect();
        // Only visits that served the person count: an attempt that found
        // nobody (未见到) counts for nothing.
        let mut visits = data.visits_by_person();
        visits.retain(|person, _| ids.contains(person));
        for list in visits.values_mut() {
            list.retain(|v| v.was_seen());
        }
        VillageView {
            data,
            village_id,
            persons,
            visits,
        }
    }

    fn visits_of(&self, person: Id) -> &[&'a Visit] {
        self.visits.get(&person).map(Vec::as_slice).unwrap_or(&[])
    }

    fn has_visit(&self, person: Id, kind: VisitKind, from: NaiveDate, to: NaiveDate) -> bool {
        self.visits_of(person)
            .iter()
            .any(|v| v.kind == kind && from <= v.date && v.date <= to)
    }

    fn indicator(
        &self,
        kind: IndicatorKind,
        period: Period,
        today: NaiveDate,
        rules: &Rules,
    ) -> Indicator {
        let day = reference_day(period, today);
        let (numerator, denominator) = match kind {
            IndicatorKind::ThreeCheckRate => self.three_checks(period, day, rules),
            IndicatorKind::MeasureCoverage => self.measure_coverage(day, rules),
            IndicatorKind::FollowUpRate => self.follow_ups(period, day, today, rules),
            IndicatorKind::MigrantManagementRate => self.migrants(period, day, rules),
            IndicatorKind::Awareness => self.answers(period, day, |v| v.outcome.knows_policy),
            IndicatorKind::Satisfaction => self.answers(period, day, |v| v.outcome.satisfied),
            IndicatorKind::BirthDefectIntervention => self.birth_defects(period, day),
            IndicatorKind::PlanCompletion => self.plan_completion(period, day),
        };
        let target = self
            .data
            .plan_for(self.village_id, period.year())
            .and_then(|plan| plan.target_for(kind));
        Indicator {
            kind,
            period,
            numerator,
            denominator,
            target,
        }
    }

    /// Eligible married women on the reference day; counted when checked in
    /// every half-year of the period that has begun.
    fn three_checks(
        &self,
        period: Period,
        day: NaiveDate,
        rules: &Rules,
    ) -> (Vec<Subject>, Vec<Subject>) {
        let halves: Vec<Period> = period
            .half_years()
            .into_iter()
            .filter(|h| h.start() <= day)
            .collect();
        self.count_persons(
            |p| rules.is_eligible_married_woman(p, day),
            |p| {
                halves.iter().all(|h| {
                    self.has_visit(p.id, VisitKind::ThreeChecks, h.start(), h.end().min(day))
                })
            },
        )
    }

    /// Eligible married women not pregnant on the reference day; counted
    /// when she or her husband (a condom, a vasectomy) has a measure in force
    /// that day: the measure covers the couple.
    fn measure_coverage(&self, day: NaiveDate, rules: &Rules) -> (Vec<Subject>, Vec<Subject>) {
        let in_force = |p: &Person| {
            p.contraception.as_ref().is_some_and(|c| {
                c.start.is_none_or(|s| s <= day) && c.replace_by.is_none_or(|r| r >= day)
            })
        };
        self.count_persons(
            |p| rules.is_eligible_married_woman(p, day) && !is_pregnant_on(p, day),
            |p| in_force(p) || self.data.spouse_of(p).is_some_and(in_force),
        )
    }

    /// Method follow-ups whose window ended in the period by the reference
    /// day; counted when done inside the window.
    fn follow_ups(
        &self,
        period: Period,
        day: NaiveDate,
        today: NaiveDate,
        rules: &Rules,
    ) -> (Vec<Subject>, Vec<Subject>) {
        let households: HashSet<Id> = self
            .data
            .households_of(self.village_id)
            .map(|h| h.id)
            .collect();
        let mut numerator = Vec::new();
        let mut denominator = Vec::new();
        for task in tasks_between(self.data, period.start(), day, today, rules) {
            let in_village = households.contains(&task.household_id);
            let ended_in_period = period.start() <= task.end && task.end <= day;
            let Some(person_id) = task.person_id else {
                continue;
            };
            if !in_village || !task.kind.is_follow_up() || !ended_in_period {
                continue;
            }
            let subject = Subject::FollowUp {
                person_id,
                kind: task.kind,
                start: task.start,
            };
            if matches!(task.status, TaskStatus::Done { on_time: true, .. }) {
                numerator.push(subject);
            }
            denominator.push(subject);
        }
        (numerator, denominator)
    }

    /// Migrant women of reproductive age on the reference day; counted with a
    /// valid certificate and a check in every quarter of the period begun.
    fn migrants(
        &self,
        period: Period,
        day: NaiveDate,
        rules: &Rules,
    ) -> (Vec<Subject>, Vec<Subject>) {
        let quarters = Period::quarter_of(period.start()).through(day);
        self.count_persons(
            |p| rules.is_migrant_woman(p, day),
            |p| {
                p.certificate.as_ref().is_some_and(|c| c.is_valid_on(day))
                    && quarters.iter().all(|q| {
                        self.has_visit(p.id, VisitKind::MigrantCheck, q.start(), q.end().min(day))
                    })
            },
        )
    }

    /// Visits in the period that asked the question; counted when "yes".
    fn answers(
        &self,
        period: Period,
        day: NaiveDate,
        answer: impl Fn(&Visit) -> Option<bool>,
    ) -> (Vec<Subject>, Vec<Subject>) {
        let mut numerator = Vec::new();
        let mut denominator = Vec::new();
        for person in &self.persons {
            for visit in self.visits_of(person.id) {
                if visit.date < period.start() || visit.date > day {
                    continue;
                }
                let Some(yes) = answer(visit) else { continue };
                let subject = Subject::Visit { id: visit.id };
                if yes {
                    numerator.push(subject);
                }
                denominator.push(subject);
            }
        }
        (numerator, denominator)
    }

    /// Women pregnant at some time in the period (by the reference day);
    /// counted when referred for screening during that pregnancy.
    fn birth_defects(&self, period: Period, day: NaiveDate) -> (Vec<Subject>, Vec<Subject>) {
        let gestation = Days::new(Pregnancy::GESTATION_DAYS);
        self.count_persons_with(|p| {
            let since = match p.pregnancy {
                Pregnancy::Pregnant { last_period } if last_period <= day => {
                    let expected = last_period.checked_add_days(gestation)?;
                    (expected >= period.start()).then_some(last_period)
                }
                Pregnancy::Delivered { on } if on >= period.start() && on <= day => {
                    on.checked_sub_days(gestation)
                }
                _ => None,
            }?;
            Some(self.has_visit(p.id, VisitKind::BirthDefectReferral, since, day))
        })
    }

    /// The plan's tasks in the period that were due by the reference day (or
    /// ticked already); counted when ticked.
    fn plan_completion(&self, period: Period, day: NaiveDate) -> (Vec<Subject>, Vec<Subject>) {
        let Some(plan) = self.data.plan_for(self.village_id, period.year()) else {
            return (Vec::new(), Vec::new());
        };
        let ticks: Vec<_> = self
            .data
            .ticks
            .iter()
            .filter(|t| t.plan_id == plan.id && t.date <= day)
            .cloned()
            .collect();
        let mut numerator = Vec::new();
        let mut denominator = Vec::new();
        for task in plan.tasks() {
            if task.end < period.start() || task.start > period.end() {
                continue;
            }
            let ticked = is_ticked(&task, &ticks);
            if task.end > day && !ticked {
                continue;
            }
            let subject = Subject::PlanTask {
                measure_id: task.measure_id,
                occurrence: task.occurrence,
            };
            if ticked {
                numerator.push(subject);
            }
            denominator.push(subject);
        }
        (numerator, denominator)
    }

    fn count_persons(
        &self,
        in_denominator: impl Fn(&Person) -> bool,
        in_numerator: impl Fn(&Person) -> bool,
    ) -> (Vec<Subject>, Vec<Subject>) {
        self.count_persons_with(|p| in_denominator(p).then(|| in_numerator(p)))
    }

    /// `judge` says `None` (not counted), `Some(false)` (denominator only) or
    /// `Some(true)` (both).
    fn count_persons_with(
        &self,
        judge: impl Fn(&Person) -> Option<bool>,
    ) -> (Vec<Subject>, Vec<Subject>) {
        let mut numerator = Vec::new();
        let mut denominator = Vec::new();
        for person in &self.persons {
            let Some(counted) = judge(person) else {
                continue;
            };
            let subject = Subject::Person { id: person.id };
            if counted {
                numerator.push(subject);
            }
            denominator.push(subject);
        }
        (numerator, denominator)
    }
}

/// Pregnant on `day`: a pregnancy whose last period was on or before it.
fn is_pregnant_on(person: &Person, day: NaiveDate) -> bool {
    matches!(person.pregnancy, Pregnancy::Pregnant { last_period } if last_period <= day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Contraception, Household, Living, MaritalStatus, Method, MigrantCertificate, Outcome, Sex,
        Village,
    };
    use crate::plan::{Measure, PlanSection, Recurrence, Tick, WorkPlan};
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn id(n: u128) -> Id {
        Uuid::from_u128(n)
    }

    const VILLAGE: u128 = 1;
    const OTHER_VILLAGE: u128 = 2;
    const A: u128 = 101;
    const B: u128 = 102;
    const C: u128 = 103;
    const D: u128 = 104;
    const E: u128 = 105;
    const F: u128 = 106;
    const G: u128 = 107;
    const H: u128 = 108;
    const OUTSIDER: u128 = 199;

    fn woman(n: u128, household: u128) -> Person {
        Person {
            birth_date: Some(d(1990, 1, 1)),
            marital: MaritalStatus::FirstMarriage,
            children: 1,
            ..Person::new(id(n), id(household), format!("人{n}"), Sex::Female)
        }
    }

    fn method(
        method: Method,
        start: NaiveDate,
        replace_by: Option<NaiveDate>,
    ) -> Option<Contraception> {
        Some(Contraception {
            method,
            start: Some(start),
            replace_by,
            informed_choice: true,
        })
    }

    fn household(n: u128, village: u128) -> Household {
        Household::new(id(n), id(village), format!("{n:04}"))
    }

    /// The worked example: who is who is written beside each person.
    fn sample() -> Dataset {
        let mut data = Dataset::new();
        for v in [VILLAGE, OTHER_VILLAGE] {
            data.villages.push(Village {
                id: id(v),
                name: format!("村{v}"),
                township: None,
                deleted: false,
            });
        }
        data.households.push(household(10, VILLAGE));
        data.households.push(household(20, OTHER_VILLAGE));

        // A: IUD in force, checked in both half-years of 2026.
        let mut a = woman(A, 10);
        a.contraception = method(Method::Iud, d(2026, 1, 10), Some(d(2034, 1, 10)));
        // B: pregnant since February, referred for screening.
        let mut b = woman(B, 10);
        b.pregnancy = Pregnancy::Pregnant {
            last_period: d(2026, 2, 1),
        };
        // C: pill that ran out in March.
        let mut c = woman(C, 10);
        c.contraception = method(Method::Pill, d(2025, 3, 1), Some(d(2026, 3, 1)));
        // D: no measure, never checked.
        let d_ = woman(D, 10);
        // E: unmarried: in no married-women indicator.
        let mut e = woman(E, 10);
        e.marital = MaritalStatus::Unmarried;
        // F: migrant with a valid certificate, checked in Q1 and Q2.
        let mut f = woman(F, 10);
        f.marital = MaritalStatus::Unmarried;
        f.living = Living::InMigrant {
            place: "四川省".into(),
            since: None,
        };
        f.certificate = Some(MigrantCertificate {
            number: "F1".into(),
            expires: Some(d(2027, 1, 1)),
        });
        // G: migrant without a certificate, checked in Q1 only.
        let mut g = woman(G, 10);
        g.marital = MaritalStatus::Unmarried;
        g.living = Living::OutMigrant {
            place: "浙江省".into(),
            since: None,
        };
        // H: pregnant, not referred.
        let mut h = woman(H, 10);
        h.pregnancy = Pregnancy::Pregnant {
            last_period: d(2026, 3, 1),
        };
        // Outsider: another village's woman, checked: never counted here.
        let outsider = woman(OUTSIDER, 20);
        data.persons = vec![a, b, c, d_, e, f, g, h, outsider];

        let mut n = 1000;
        let mut visit = |person: u128, household: u128, date, kind, outcome: Outcome| {
            n += 1;
            Visit {
                outcome,
                ..Visit::new(id(n), id(person), id(household), date, kind)
            }
        };
        let yes = Outcome {
            knows_policy: Some(true),
            satisfied: Some(true),
            ..Outcome::default()
        };
        let no = Outcome {
            knows_policy: Some(false),
            satisfied: Some(true),
            ..Outcome::default()
        };
        let none = Outcome::default();
        data.visits = vec![
            visit(A, 10, d(2026, 3, 1), VisitKind::ThreeChecks, yes.clone()),
            visit(A, 10, d(2026, 8, 1), VisitKind::ThreeChecks, none.clone()),
            visit(
                A,
                10,
                d(2026, 2, 5),
                VisitKind::MethodFollowUp,
                none.clone(),
            ),
            visit(B, 10, d(2026, 4, 1), VisitKind::ThreeChecks, yes.clone()),
            visit(
                B,
                10,
                d(2026, 3, 1),
                VisitKind::BirthDefectReferral,
                no.clone(),
            ),
            visit(C, 10, d(2025, 10, 1), VisitKind::ThreeChecks, none.clone()),
            visit(F, 10, d(2026, 2, 1), VisitKind::MigrantCheck, none.clone()),
            visit(F, 10, d(2026, 5, 1), VisitKind::MigrantCheck, none.clone()),
            visit(G, 10, d(2026, 2, 1), VisitKind::MigrantCheck, none.clone()),
            visit(
                OUTSIDER,
                20,
                d(2026, 3, 1),
                VisitKind::ThreeChecks,
                yes.clone(),
            ),
        ];

        let plan = WorkPlan {
            id: id(500),
            village_id: id(VILLAGE),
            year: 2026,
            title: "2026年工作计划".into(),
            title_en: None,
            targets: vec![Target {
                indicator: IndicatorKind::ThreeCheckRate,
                goal_permille: 1000,
            }],
            sections: vec![PlanSection {
                id: id(501),
                title: "一".into(),
                title_en: None,
                measures: vec![
                    Measure {
                        id: id(510),
                        title: "协会例会".into(),
                        title_en: None,
                        description: None,
                        description_en: None,
                        recurrence: Recurrence::Quarterly,
                        indicator: None,
                    },
                    Measure {
                        id: id(511),
                        title: "年终总结".into(),
                        title_en: None,
                        description: None,
                        description_en: None,
                        recurrence: Recurrence::Once,
                        indicator: None,
                    },
                ],
            }],
            deleted: false,
        };
        data.plans.push(plan);
        data.ticks.push(Tick {
            id: id(600),
            plan_id: id(500),
            measure_id: id(510),
            occurrence: 0,
            date: d(2026, 3, 20),
            by: None,
            note: None,
            households_reached: None,
            deleted: false,
        });
        data
    }

    fn persons(subjects: &[Subject]) -> Vec<u128> {
        let mut ids: Vec<u128> = subjects
            .iter()
            .map(|s| match s {
                Subject::Person { id } => id.as_u128(),
                other => panic!("not a person: {other:?}"),
            })
            .collect();
        ids.sort();
        ids
    }

    fn first_half() -> (Period, NaiveDate) {
        (
            Period::HalfYear {
                year: 2026,
                half: 1,
            },
            d(2026, 6, 30),
        )
    }

    fn get(kind: IndicatorKind, period: Period, today: NaiveDate) -> Indicator {
        indicator(
            &sample(),
            id(VILLAGE),
            kind,
            period,
            today,
            &Rules::default(),
        )
    }

    #[test]
    fn three_check_rate_counts_eligible_married_women_checked_in_the_half_year() {
        let (period, today) = first_half();
        let rate = get(IndicatorKind::ThreeCheckRate, period, today);
        assert_eq!(persons(&rate.denominator), vec![A, B, C, D, H]);
        assert_eq!(persons(&rate.numerator), vec![A, B]);
        assert_eq!(rate.rate_permille(), Some(400));
        assert_eq!(persons(&rate.missing()), vec![C, D, H]);
        assert_eq!(rate.target.map(|t| t.goal_permille), Some(1000));
        assert_eq!(rate.meets_target(), Some(false));

        // Over the year, only A was checked in both halves.
        let year = get(
            IndicatorKind::ThreeCheckRate,
            Period::Year { year: 2026 },
            d(2026, 11, 29),
        );
        assert_eq!(persons(&year.numerator), vec![A]);
    }

    #[test]
    fn measure_coverage_leaves_out_pregnant_women_and_lapsed_measures() {
        let (period, today) = first_half();
        let coverage = get(IndicatorKind::MeasureCoverage, period, today);
        assert_eq!(persons(&coverage.denominator), vec![A, C, D]);
        assert_eq!(persons(&coverage.numerator), vec![A]);
    }

    #[test]
    fn a_husband_s_measure_covers_the_couple() {
        let (period, today) = first_half();
        let mut data = sample();
        let mut husband = woman(150, 10);
        husband.sex = Sex::Male;
        husband.relation = Some(crate::model::relation::HEAD.into());
        husband.contraception = method(Method::Condom, d(2025, 1, 1), None);
        data.persons.push(husband);
        data.persons
            .iter_mut()
            .find(|p| p.id == id(D))
            .unwrap()
            .relation = Some(crate::model::relation::SPOUSE.into());
        let coverage = indicator(
            &data,
            id(VILLAGE),
            IndicatorKind::MeasureCoverage,
            period,
            today,
            &Rules::default(),
        );
        assert_eq!(persons(&coverage.numerator), vec![A, D]);
    }

    #[test]
    fn migrant_management_needs_a_valid_certificate_and_every_quarterly_check() {
        let (period, today) = first_half();
        let migrants = get(IndicatorKind::MigrantManagementRate, period, today);
        assert_eq!(persons(&migrants.denominator), vec![F, G]);
        assert_eq!(persons(&migrants.numerator), vec![F]);
        // In the first quarter alone G was checked, but has no certificate.
        let q1 = get(
            IndicatorKind::MigrantManagementRate,
            Period::Quarter {
                year: 2026,
                quarter: 1,
            },
            today,
        );
        assert_eq!(persons(&q1.numerator), vec![F]);
    }

    #[test]
    fn awareness_and_satisfaction_count_answers_in_visits() {
        let (period, today) = first_half();
        let awareness = get(IndicatorKind::Awareness, period, today);
        assert_eq!(
            (awareness.numerator.len(), awareness.denominator.len()),
            (2, 3)
        );
        let satisfaction = get(IndicatorKind::Satisfaction, period, today);
        assert_eq!(
            (satisfaction.numerator.len(), satisfaction.denominator.len()),
            (3, 3)
        );
        assert!(
            awareness
                .denominator
                .iter()
                .all(|s| matches!(s, Subject::Visit { .. }))
        );
    }

    #[test]
    fn birth_defect_intervention_counts_referred_pregnant_women() {
        let (period, today) = first_half();
        let referred = get(IndicatorKind::BirthDefectIntervention, period, today);
        assert_eq!(persons(&referred.denominator), vec![B, H]);
        assert_eq!(persons(&referred.numerator), vec![B]);
    }

    #[test]
    fn follow_up_rate_counts_follow_ups_done_inside_their_window() {
        let (period, today) = first_half();
        let follow_ups = get(IndicatorKind::FollowUpRate, period, today);
        // A's IUD: 1 month (done 5 Feb, on time) and 3 months (missed);
        // the 6-month window ends in July. C's pill: re-supplies to March.
        let a_only: Vec<_> = follow_ups
            .denominator
            .iter()
            .filter(|s| matches!(s, Subject::FollowUp { person_id, .. } if *person_id == id(A)))
            .collect();
        assert_eq!(a_only.len(), 2);
        assert_eq!(follow_ups.numerator.len(), 1);
        assert!(matches!(
            follow_ups.numerator[0],
            Subject::FollowUp { person_id, kind: TaskKind::MethodFollowUp, start } if person_id == id(A) && start == d(2026, 2, 3)
        ));
    }

    #[test]
    fn plan_completion_counts_ticked_tasks_among_those_due_so_far() {
        let (period, today) = first_half();
        let completion = get(IndicatorKind::PlanCompletion, period, today);
        assert_eq!(
            completion.denominator.len(),
            2,
            "two quarterly meetings due by June"
        );
        assert_eq!(
            completion.numerator,
            vec![Subject::PlanTask {
                measure_id: id(510),
                occurrence: 0
            }]
        );
        // In March, before the first quarter ended, the ticked meeting counts.
        let march = get(
            IndicatorKind::PlanCompletion,
            Period::Month {
                year: 2026,
                month: 3,
            },
            d(2026, 3, 25),
        );
        assert_eq!((march.numerator.len(), march.denominator.len()), (1, 1));
    }

    #[test]
    fn every_indicator_is_computed_and_an_empty_village_has_no_rates() {
        let (period, today) = first_half();
        let all = indicators(&sample(), id(VILLAGE), period, today, &Rules::default());
        assert_eq!(
            all.iter().map(|i| i.kind).collect::<Vec<_>>(),
            IndicatorKind::ALL.to_vec()
        );
        let empty = indicators(
            &Dataset::new(),
            id(VILLAGE),
            period,
            today,
            &Rules::default(),
        );
        assert!(
            empty
                .iter()
                .all(|i| i.rate().is_none() && i.denominator.is_empty())
        );
    }

    #[test]
    fn each_indicator_states_the_period_it_is_counted_over() {
        let today = d(2026, 12, 6);
        let quarter = Period::quarter_of(today);
        let month = Period::month_of(today);
        let half = Period::half_year_of(today);
        // Three checks are half-yearly: under a quarter or a month, the
        // half-year holding it.
        for chosen in [quarter, month] {
            assert_eq!(
                basis(IndicatorKind::ThreeCheckRate, chosen, today),
                Basis::Natural {
                    natural: NaturalPeriod::HalfYear,
                    period: half,
                    through: today
                }
            );
        }
        assert_eq!(
            basis(IndicatorKind::ThreeCheckRate, half, today),
            Basis::Chosen { period: half }
        );
        // The previous quarter: its half-year up to the quarter's end.
        assert_eq!(
            basis(IndicatorKind::ThreeCheckRate, quarter.previous(), today),
            Basis::Natural {
                natural: NaturalPeriod::HalfYear,
                period: half,
                through: d(2026, 9, 30)
            }
        );
        // Migrants are quarterly: a month is counted as its quarter.
        assert_eq!(
            basis(IndicatorKind::MigrantManagementRate, month, today),
            Basis::Natural {
                natural: NaturalPeriod::Quarter,
                period: quarter,
                through: today
            }
        );
        assert_eq!(
            basis(IndicatorKind::MigrantManagementRate, quarter, today),
            Basis::Chosen { period: quarter }
        );
        assert_eq!(
            basis(IndicatorKind::MeasureCoverage, quarter.previous(), today),
            Basis::OnDay {
                day: d(2026, 9, 30)
            }
        );
        assert_eq!(
            basis(IndicatorKind::FollowUpRate, month, today),
            Basis::Chosen { period: month }
        );

        // And the figures agree: under the quarter and the month, the
        // three-check rate is the half-year's.
        let (period, day) = first_half();
        let whole = get(IndicatorKind::ThreeCheckRate, period, day);
        let q2 = get(IndicatorKind::ThreeCheckRate, Period::quarter_of(day), day);
        let june = get(IndicatorKind::ThreeCheckRate, Period::month_of(day), day);
        assert_eq!(q2.numerator, whole.numerator);
        assert_eq!(june.numerator, whole.numerator);
    }

    #[test]
    fn nothing_to_count_is_neither_met_nor_missed() {
        let (period, today) = first_half();
        let mut data = sample();
        data.persons.retain(|p| p.id == id(OUTSIDER));
        let rate = indicator(
            &data,
            id(VILLAGE),
            IndicatorKind::ThreeCheckRate,
            period,
            today,
            &Rules::default(),
        );
        assert!(rate.denominator.is_empty());
        assert!(rate.target.is_some(), "the plan sets a goal");
        assert_eq!(rate.rate_permille(), None);
        assert_eq!(rate.meets_target(), None);
    }

    #[test]
    fn the_drill_down_lists_each_missing_person_once_with_household_and_group() {
        let (period, today) = first_half();
        let mut data = sample();
        data.households[0].group = Some("三组".into());
        data.households[0].phone = Some("0571-8888888".into());
        data.persons
            .iter_mut()
            .find(|p| p.id == id(C))
            .unwrap()
            .phone = Some("13800000000".into());
        let rate = indicator(
            &data,
            id(VILLAGE),
            IndicatorKind::ThreeCheckRate,
            period,
            today,
            &Rules::default(),
        );
        let missing = missing_people(&data, &rate);
        let ids: Vec<u128> = missing.iter().map(|r| r.person_id.as_u128()).collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.contains(&C) && ids.contains(&D) && ids.contains(&H));
        let c = missing.iter().find(|r| r.person_id == id(C)).unwrap();
        assert_eq!(
            (
                c.household_number.as_str(),
                c.group.as_str(),
                c.phone.as_str()
            ),
            ("0010", "三组", "13800000000")
        );
        let d_ = missing.iter().find(|r| r.person_id == id(D)).unwrap();
        assert_eq!(d_.phone, "0571-8888888", "the household's phone stands in");
        assert_eq!(c.visit_kind, Some(VisitKind::ThreeChecks));

        // Follow-ups: A has one done and one missed; she is listed once,
        // among the missing, not among the counted.
        let follow_ups = indicator(
            &data,
            id(VILLAGE),
            IndicatorKind::FollowUpRate,
            period,
            today,
            &Rules::default(),
        );
        let missing = missing_people(&data, &follow_ups);
        let a_rows = missing.iter().filter(|r| r.person_id == id(A)).count();
        assert_eq!(a_rows, 1);
        let mut persons: Vec<Id> = missing.iter().map(|r| r.person_id).collect();
        persons.dedup();
        assert_eq!(persons.len(), missing.len(), "one row a person");
        assert!(
            counted_people(&data, &follow_ups)
                .iter()
                .all(|r| r.person_id != id(A))
        );
    }

    #[test]
    fn villager_groups_sort_by_their_number() {
        let mut groups = vec![
            "十二组",
            "二组",
            "",
            "十组",
            "一组",
            "3组",
            "东片",
            "十一组",
        ];
        groups.sort_by_key(|g| group_order(g));
        assert_eq!(
            groups,
            [
                "一组",
                "二组",
                "3组",
                "十组",
                "十一组",
                "十二组",
                "东片",
                ""
            ]
        );
        assert_eq!(crate::groups::number_in("二十一组"), Some(21));
        assert_eq!(crate::groups::number_in("第5组"), Some(5));
    }
}

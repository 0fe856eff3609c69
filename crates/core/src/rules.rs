//! The rules that make tasks due (DOMAIN.md "Tasks due"): who needs which
//! visit, when, and whether a visit already closed it.
//!
//! Every constant is in [`Rules`], with the documented default. The rules
//! read only their inputs: the records, "today" and the constants.
//!
//! # Overdue or missed
//!
//! Each task has a window (when it should be done) and a reach
//! ([`Task::close_until`], the last day a visit still closes it, late).
//! While today is inside the reach and no visit closed it, a task past its
//! window is [`TaskStatus::Overdue`] and carries its days late
//! ([`Task::days_late`]); once the reach has passed it is
//! [`TaskStatus::Missed`]: it can no longer be done, it leaves the working
//! list, and it counts as not done (the indicators count only visits done).
//!
//! Which kinds are which ([`TaskKind::is_period_bound`]):
//! - *period-bound*, reach = window: 三查 (a half-year), 流动人口季查 (a
//!   quarter), 关爱女孩帮扶 and 奖励扶助 (a year). The work of a period is
//!   done in that period; after it ends the next period's task is the one to
//!   do. Such a task goes from due straight to missed.
//! - *follow-ups*, reach past the window: a method's follow-ups, injections
//!   and pill re-supplies (a series: late until the next of the series
//!   opens), the replace-by reminder, device removal, the certificate
//!   renewal, the second postpartum visit (late for up to
//!   [`Rules::overdue_lookback_days`]), the first postpartum visit (late
//!   until the 42-day visit opens), the birth-defect referral (late until the
//!   expected date). A pregnancy's monthly follow-ups are a series of
//!   back-to-back months: a month not visited is missed when the next
//!   month's follow-up opens, and that one is on the list at once at the
//!   first priority, so the woman is never off the list.
//!
//! No task stays overdue longer than `overdue_lookback_days` after its
//! window: a follow-up half a year late is missed, not buried in the list.
//!
//! # Priority
//!
//! [`TaskKind::priority`]: 1 the mother and child (postpartum, birth-defect
//! referral, pregnancy follow-up); 2 keeping a method safe and continuous
//! (injection, pill re-supply, method follow-up, replacement, removal);
//! 3 the routine checks (三查, 流动人口季查, certificate renewal); 4 the
//! yearly household work (关爱女孩帮扶, 奖励扶助). [`today_list`] sorts the
//! working list by priority, then days late (most first), then the window's
//! end.
//!
//! # Attempts
//!
//! A visit that found nobody ([`Visit::not_seen`]) closes nothing. The
//! latest such attempt of a task's closing kind inside its reach is kept on
//! the task ([`Task::attempt`]); when it agreed a day to come back after
//! today, the task is set aside until that day ([`TodayList::set_aside`]),
//! and on that day it is on the working list again, as the agreed return
//! visit ([`Task::is_agreed_return`]).

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::model::{
    Household, Id, Method, NotSeenReason, Person, Pregnancy, Sex, Visit, VisitKind,
};
use crate::period::Period;

/// Every adjustable constant of the rules, with the defaults of DOMAIN.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Youngest age of a woman of reproductive age (育龄): 15.
    pub reproductive_age_min: i32,
    /// Oldest age of a woman of reproductive age: 49.
    pub reproductive_age_max: i32,
    /// How far ahead the Today list looks for upcoming tasks: 14 days.
    pub upcoming_days: u64,
    /// How long a late follow-up stays worth doing after its window: 183
    /// days (one half-year); after that (or once the next of its series
    /// opens) it is missed, so old misses do not bury today's work. Also how
    /// far back the Today list shows missed tasks (上期未完成).
    pub overdue_lookback_days: u64,
    /// A follow-up's window: this many days either side of its date: 7.
    pub follow_up_window_days: u64,
    /// Follow-ups after an IUD is fitted, in months: 1, 3, 6, 12; then yearly.
    pub iud_follow_up_months: Vec<u32>,
    /// Follow-ups after an implant, in months: 1; then yearly.
    pub implant_follow_up_months: Vec<u32>,
    /// Follow-ups after a sterilisation, in months: 1; then yearly.
    pub sterilisation_follow_up_months: Vec<u32>,
    /// Notice before a method's replace-by date: 30 days.
    pub replace_by_notice_days: u64,
    /// Interval between injections: 3 months.
    pub injectable_interval_months: u32,
    /// Interval between pill re-supplies: 1 month.
    pub pill_interval_months: u32,
    /// Interval between pregnancy follow-ups: 1 month.
    pub pregnancy_follow_up_months: u32,
    /// The birth-defect screening referral is due within this many weeks of
    /// the last period: 20 (before the mid-pregnancy screening).
    pub birth_defect_referral_weeks: u64,
    /// First postpartum visit: days 3 to 7 after delivery.
    pub postpartum_first_days: (u64, u64),
    /// Second postpartum visit: at day 42, within the follow-up window.
    pub postpartum_second_day: u64,
    /// The age at which a woman with an IUD or implant is reminded to have it
    /// removed (及时通知绝经对象终止措施): 50.
    pub device_removal_age: i32,
    /// How long the removal reminder stays open: 3 months.
    pub device_removal_window_months: u32,
    /// Notice before a migrant certificate expires: 30 days.
    pub certificate_notice_days: u64,
    /// The age at which members of qualifying families are checked for the
    /// reward and assistance scheme (奖励扶助): 60.
    pub reward_age: i32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            reproductive_age_min: 15,
            reproductive_age_max: 49,
            upcoming_days: 14,
            overdue_lookback_days: 183,
            follow_up_window_days: 7,
            iud_follow_up_months: vec![1, 3, 6, 12],
            implant_follow_up_months: vec![1],
            sterilisation_follow_up_months: vec![1],
            replace_by_notice_days: 30,
            injectable_interval_months: 3,
            pill_interval_months: 1,
            pregnancy_follow_up_months: 1,
            birth_defect_referral_weeks: 20,
            postpartum_first_days: (3, 7),
            postpartum_second_day: 42,
            device_removal_age: 50,
            device_removal_window_months: 3,
            certificate_notice_days: 30,
            reward_age: 60,
        }
    }
}

impl Rules {
    /// A woman of reproductive age on `day` (育龄妇女): female, 15–49.
    pub fn is_reproductive_age_woman(&self, person: &Person, day: NaiveDate) -> bool {
        person.sex == Sex::Female
            && person.age_on(day).is_some_and(|a| {
                (self.reproductive_age_min..=self.reproductive_age_max).contains(&a)
            })
    }

    /// An eligible married woman on `day` (已婚育龄妇女, the three checks'
    /// population): of reproductive age, married, on the books, without
    /// menopause and not exempted.
    pub fn is_eligible_married_woman(&self, person: &Person, day: NaiveDate) -> bool {
        !person.deleted
            && self.is_reproductive_age_woman(person, day)
            && person.marital.is_married()
            && !person.living.is_deregistered()
            && person.menopause.is_none_or(|m| m > day)
            && person.exemption.is_none()
    }

    /// A migrant woman of reproductive age on `day` (the migrant management
    /// rate's population).
    pub fn is_migrant_woman(&self, person: &Person, day: NaiveDate) -> bool {
        !person.deleted && person.living.is_migrant() && self.is_reproductive_age_woman(person, day)
    }
}

/// What a task asks the worker to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// 三查, once each half-year.
    ThreeChecks,
    /// 随访 after a new or changed measure.
    MethodFollowUp,
    /// 措施到期: the method's replace-by date is near.
    MethodReplacement,
    /// The next injection.
    Injection,
    /// The monthly pill re-supply.
    PillResupply,
    /// 孕期随访, monthly.
    PregnancyFollowUp,
    /// 出生缺陷干预: the screening referral, once a pregnancy.
    BirthDefectReferral,
    /// 产后访视.
    Postpartum,
    /// Remind a woman reaching 50 to have her IUD or implant removed.
    DeviceRemoval,
    /// 流动人口季查, each quarter.
    MigrantCheck,
    /// The migrant certificate expires soon: deliver a new one.
    CertificateRenewal,
    /// 关爱女孩帮扶: one support visit a year.
    CareForGirls,
    /// 奖励扶助: check the eligibility of a member turning 60.
    RewardEligibility,
}

impl TaskKind {
    /// Every kind, in the order of their priority (the kind filter's order).
    pub const ALL: [TaskKind; 13] = [
        TaskKind::Postpartum,
        TaskKind::BirthDefectReferral,
        TaskKind::PregnancyFollowUp,
        TaskKind::Injection,
        TaskKind::PillResupply,
        TaskKind::MethodFollowUp,
        TaskKind::MethodReplacement,
        TaskKind::DeviceRemoval,
        TaskKind::ThreeChecks,
        TaskKind::MigrantCheck,
        TaskKind::CertificateRenewal,
        TaskKind::CareForGirls,
        TaskKind::RewardEligibility,
    ];

    /// How soon a task of this kind should be done, 1 first:
    /// 1 the mother and child (postpartum visits, the birth-defect referral,
    /// pregnancy follow-ups): missed days here cannot be made up;
    /// 2 a method kept safe and continuous (injection, pill re-supply,
    /// follow-ups, replacement, removal): a gap means an unplanned pregnancy
    /// or an unnoticed complication;
    /// 3 the routine checks of a half-year or quarter (三查, 流动人口季查) and
    /// the certificate renewal;
    /// 4 the yearly household work (关爱女孩帮扶, 奖励扶助核查).
    pub fn priority(self) -> u8 {
        match self {
            TaskKind::Postpartum | TaskKind::BirthDefectReferral | TaskKind::PregnancyFollowUp => 1,
            TaskKind::Injection
            | TaskKind::PillResupply
            | TaskKind::MethodFollowUp
            | TaskKind::MethodReplacement
            | TaskKind::DeviceRemoval => 2,
            TaskKind::ThreeChecks | TaskKind::MigrantCheck | TaskKind::CertificateRenewal => 3,
            TaskKind::CareForGirls | TaskKind::RewardEligibility => 4,
        }
    }

    /// Whether a task of this kind belongs to its period (a half-year, a
    /// quarter, a year) and is missed as soon as the period ends: its reach
    /// is its window. The other kinds are follow-ups that stay worth doing
    /// late for a while (see the module's notes).
    pub fn is_period_bound(self) -> bool {
        matches!(
            self,
            TaskKind::ThreeChecks
                | TaskKind::MigrantCheck
                | TaskKind::CareForGirls
                | TaskKind::RewardEligibility
        )
    }

    /// The kind of visit that closes a task of this kind.
    pub fn closing_visit(self) -> VisitKind {
        match self {
            TaskKind::ThreeChecks => VisitKind::ThreeChecks,
            TaskKind::MethodFollowUp
            | TaskKind::MethodReplacement
            | TaskKind::Injection
            | TaskKind::PillResupply
            | TaskKind::DeviceRemoval => VisitKind::MethodFollowUp,
            TaskKind::PregnancyFollowUp => VisitKind::PregnancyFollowUp,
            TaskKind::BirthDefectReferral => VisitKind::BirthDefectReferral,
            TaskKind::Postpartum => VisitKind::Postpartum,
            TaskKind::MigrantCheck => VisitKind::MigrantCheck,
            TaskKind::CertificateRenewal => VisitKind::CertificateDelivered,
            TaskKind::CareForGirls => VisitKind::CareForGirls,
            TaskKind::RewardEligibility => VisitKind::RewardCheck,
        }
    }

    /// Whether the task counts in the follow-up rate (随访服务率): the
    /// follow-ups that keep a contraceptive method safe and continuous.
    pub fn is_follow_up(self) -> bool {
        matches!(
            self,
            TaskKind::MethodFollowUp | TaskKind::Injection | TaskKind::PillResupply
        )
    }
}

/// The rule that made a task, with its parameter: what the Today list shows
/// as "why".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// Three checks each half-year for an eligible married woman.
    ThreeChecksHalfYearly,
    /// A follow-up so many months after the method started.
    FollowUpAfterStart {
        /// The method.
        method: Method,
        /// Months after the start.
        months: u32,
    },
    /// The yearly follow-up of a long-acting method.
    FollowUpYearly {
        /// The method.
        method: Method,
        /// Years after the start.
        years: u32,
    },
    /// The replace-by date is within the notice period.
    ReplaceBy,
    /// An injection every so many months.
    InjectionEvery {
        /// Interval.
        months: u32,
    },
    /// A pill re-supply every so many months.
    PillEvery {
        /// Interval.
        months: u32,
    },
    /// A pregnancy follow-up in the given month of pregnancy.
    PregnancyMonthly {
        /// Month of pregnancy, from 1.
        month: u32,
    },
    /// One screening referral per pregnancy.
    BirthDefectOnce,
    /// A postpartum visit around so many days after delivery.
    PostpartumDay {
        /// Days after delivery.
        day: u64,
    },
    /// Device removal at the given age.
    DeviceRemovalAtAge {
        /// Age.
        age: i32,
    },
    /// The quarterly migrant check.
    MigrantQuarterly,
    /// The certificate expires within the notice period.
    CertificateExpiring,
    /// The yearly care-for-girls support visit.
    CareForGirlsYearly,
    /// The eligibility check at the given age.
    RewardAtAge {
        /// Age.
        age: i32,
    },
}

/// Where a task stands on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskStatus {
    /// Past its window, not done, and a late visit still closes it (see the
    /// module's notes): on the working list with its days late.
    Overdue,
    /// Not done, and past its reach: a visit can no longer close it (its
    /// period ended, or the next of its series opened, or it is too late to
    /// be worth doing). Off the working list; counted as not done.
    Missed,
    /// In its window and not done.
    Due,
    /// Its window opens within the look-ahead.
    Upcoming,
    /// Its window opens later.
    Later,
    /// Closed by a visit.
    Done {
        /// The visit that closed it.
        visit_id: Id,
        /// Whether the visit fell inside the window (a late visit still
        /// closes the task, but is not counted as on time).
        on_time: bool,
    },
}

impl TaskStatus {
    /// Closed by a visit.
    pub fn is_done(self) -> bool {
        matches!(self, TaskStatus::Done { .. })
    }

    /// Missed: not done and no longer doable.
    pub fn is_missed(self) -> bool {
        matches!(self, TaskStatus::Missed)
    }

    /// Can be done now: due or overdue.
    pub fn is_actionable(self) -> bool {
        matches!(self, TaskStatus::Overdue | TaskStatus::Due)
    }
}

/// The latest attempt at a task that found nobody (未见到).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The attempt's visit record.
    pub visit_id: Id,
    /// When it was made.
    pub date: NaiveDate,
    /// Why she was not seen.
    pub reason: NotSeenReason,
    /// The day agreed (or guessed) to come back, if any.
    pub come_back: Option<NaiveDate>,
}

/// One task: who, what, when, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The household served.
    pub household_id: Id,
    /// The person served; `None` for a task of the whole household.
    pub person_id: Option<Id>,
    /// What to do.
    pub kind: TaskKind,
    /// First day of the window.
    pub start: NaiveDate,
    /// Last day of the window.
    pub end: NaiveDate,
    /// Where it stands.
    pub status: TaskStatus,
    /// The rule that made it.
    pub rule: Rule,
    /// The last day a visit still closes it (late after `end`); the same
    /// as `end` for a period-bound kind.
    pub close_until: NaiveDate,
    /// The latest attempt that found nobody, inside the task's reach, when
    /// it is still open.
    #[serde(default)]
    pub attempt: Option<Attempt>,
}

impl Task {
    /// Days past the window's end on `today`, for a task not done (0 inside
    /// or before its window, and for a done task).
    pub fn days_late(&self, today: NaiveDate) -> u64 {
        if self.status.is_done() || today <= self.end {
            return 0;
        }
        u64::try_from((today - self.end).num_days()).unwrap_or(0)
    }

    /// The day the task is set aside until: an actionable task whose latest
    /// attempt agreed to come back after `today`.
    pub fn set_aside_until(&self, today: NaiveDate) -> Option<NaiveDate> {
        if !self.status.is_actionable() {
            return None;
        }
        self.attempt
            .and_then(|a| a.come_back)
            .filter(|&day| day > today)
    }

    /// Whether `today` is the day agreed to come back: the task is on the
    /// working list as the agreed return visit.
    pub fn is_agreed_return(&self, today: NaiveDate) -> bool {
        self.status.is_actionable() && self.attempt.and_then(|a| a.come_back) == Some(today)
    }
}

fn add_days(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn sub_days(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

fn add_months(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The day a person turns `age`, when the birth date is known (29 February
/// birthdays fall on 28 February in common years).
fn birthday(person: &Person, age: i32) -> Option<NaiveDate> {
    let birth = person.birth_date?;
    let year = birth.year() + age;
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, birth.month(), 28))
}

/// A task before its status is known: the window, and the last day a late
/// visit still closes it (the next window of the same series opens after).
struct Candidate {
    kind: TaskKind,
    rule: Rule,
    start: NaiveDate,
    end: NaiveDate,
    close_until: NaiveDate,
    person_id: Option<Id>,
}

/// The tasks whose windows overlap `[from, to]`, with their status on
/// `today`, for every live person and household in `data`.
///
/// This is the rules' one engine: [`due_tasks`] shows a slice of it, and the
/// follow-up rate counts from it.
pub fn tasks_between(
    data: &Dataset,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<Task> {
    let households: HashMap<Id, &Household> = data
        .households
        .iter()
        .filter(|h| !h.deleted)
        .map(|h| (h.id, h))
        .collect();
    let visits = data.visits_by_person();
    let no_visits = Vec::new();
    let mut members: HashMap<Id, Vec<&Person>> = HashMap::new();
    let mut tasks = Vec::new();

    for person in data.persons.iter().filter(|p| !p.deleted) {
        let Some(household) = households.get(&person.household_id) else {
            continue;
        };
        members.entry(household.id).or_default().push(person);
        let visits = visits.get(&person.id).unwrap_or(&no_visits);
        person_tasks(
            person, household, visits, from, to, today, rules, &mut tasks,
        );
    }

    // Household tasks: closed by a visit to any member.
    for household in households.values() {
        let people = members.get(&household.id).map(Vec::as_slice).unwrap_or(&[]);
        let household_visits = || {
            people
                .iter()
                .flat_map(|p| visits.get(&p.id).unwrap_or(&no_visits).iter().copied())
                .collect()
        };
        own_tasks(
            household,
            household_visits,
            from,
            to,
            today,
            rules,
            &mut tasks,
        );
    }

    tasks.retain(|t| t.start <= to && t.end >= from);
    tasks
}

/// The tasks of one live household whose windows overlap `[from, to]`,
/// with their status on `today`: each of its live `members`' (in the order
/// given) and then its own (关爱女孩). `visits` gives a member's live visits
/// in date order. The same tasks [`tasks_between`] finds for this household;
/// what the Today list recomputes when one household changes
/// ([`crate::today_index::TodayIndex`]).
pub fn household_tasks<'a>(
    household: &Household,
    members: &[&'a Person],
    visits: &dyn Fn(Id) -> Vec<&'a Visit>,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut all: Vec<&Visit> = Vec::new();
    for person in members {
        let hers = visits(person.id);
        person_tasks(person, household, &hers, from, to, today, rules, &mut tasks);
        if household.flags.care_for_girls {
            all.extend(hers);
        }
    }
    own_tasks(household, || all, from, to, today, rules, &mut tasks);
    tasks.retain(|t| t.start <= to && t.end >= from);
    tasks
}

/// One live member's tasks (none for a deregistered person).
#[allow(clippy::too_many_arguments)]
fn person_tasks(
    person: &Person,
    household: &Household,
    visits: &[&Visit],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
    out: &mut Vec<Task>,
) {
    if person.living.is_deregistered() {
        return;
    }
    let mut candidates = Vec::new();
    person_candidates(person, household, from, to, rules, &mut candidates);
    for candidate in candidates {
        out.push(settle(candidate, household.id, visits, today, rules));
    }
}

/// The household's own tasks (关爱女孩 each year of the range, for a
/// household so flagged), closed by the first visit to any member, by date:
/// `visits` gives the members' visits (in any order; sorted here).
fn own_tasks<'a>(
    household: &Household,
    visits: impl FnOnce() -> Vec<&'a Visit>,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
    out: &mut Vec<Task>,
) {
    if !household.flags.care_for_girls {
        return;
    }
    let mut household_visits = visits();
    household_visits.sort_by_key(|v| (v.date, v.id));
    for year in from.year()..=to.year() {
        let period = Period::Year { year };
        let candidate = Candidate {
            kind: TaskKind::CareForGirls,
            rule: Rule::CareForGirlsYearly,
            start: period.start(),
            end: period.end(),
            close_until: period.end(),
            person_id: household.head_person_id,
        };
        out.push(settle(
            candidate,
            household.id,
            &household_visits,
            today,
            rules,
        ));
    }
}

/// The tasks of one person on `today` — the same windows and statuses as
/// [`due_tasks`] looks at (from the look-back to the look-ahead), computed
/// for that person alone rather than the whole village: what the visit form
/// and the household page show. A household task (关爱女孩) is hers when
/// she heads the household. Empty for an unknown, removed or deregistered
/// person.
pub fn tasks_for_person(
    data: &Dataset,
    person_id: Id,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<Task> {
    let (from, to) = today_range(today, rules);
    let Some(person) = data
        .persons
        .iter()
        .find(|p| p.id == person_id && !p.deleted)
    else {
        return Vec::new();
    };
    let Some(household) = data
        .households
        .iter()
        .find(|h| h.id == person.household_id && !h.deleted)
    else {
        return Vec::new();
    };
    if person.living.is_deregistered() {
        return Vec::new();
    }
    let hers = |id: Id| -> Vec<&Visit> {
        let mut visits: Vec<&Visit> = data
            .visits
            .iter()
            .filter(|v| !v.deleted && v.person_id == id)
            .collect();
        visits.sort_by_key(|v| (v.date, v.id));
        visits
    };
    let mut tasks = Vec::new();
    person_tasks(
        person,
        household,
        &hers(person.id),
        from,
        to,
        today,
        rules,
        &mut tasks,
    );
    if household.head_person_id == Some(person.id) {
        let members: Vec<Id> = data
            .persons
            .iter()
            .filter(|p| p.household_id == household.id && !p.deleted)
            .map(|p| p.id)
            .collect();
        let visits = || {
            data.visits
                .iter()
                .filter(|v| !v.deleted && members.contains(&v.person_id))
                .collect()
        };
        own_tasks(household, visits, from, to, today, rules, &mut tasks);
    }
    tasks.retain(|t| t.start <= to && t.end >= from);
    tasks
}

fn person_candidates(
    person: &Person,
    household: &Household,
    from: NaiveDate,
    to: NaiveDate,
    rules: &Rules,
    out: &mut Vec<Candidate>,
) {
    let id = Some(person.id);
    let window = rules.follow_up_window_days;
    let mut push = |kind, rule, start, end, close_until| {
        out.push(Candidate {
            kind,
            rule,
            start,
            end,
            close_until,
            person_id: id,
        });
    };

    // Three checks: each half-year overlapping the range in which she is an
    // eligible married woman (judged at the half-year's end, or today's range end).
    for half in Period::half_year_of(from).through(to) {
        let judged_on = half.end().min(to.max(half.start()));
        if rules.is_eligible_married_woman(person, judged_on) {
            push(
                TaskKind::ThreeChecks,
                Rule::ThreeChecksHalfYearly,
                half.start(),
                half.end(),
                half.end(),
            );
        }
    }

    // Methods.
    if let Some(measure) = &person.contraception
        && let Some(start) = measure.start
    {
        let method = measure.method;
        let mut series: Vec<(NaiveDate, Rule)> = Vec::new();
        let months: &[u32] = match method {
            Method::Iud => &rules.iud_follow_up_months,
            Method::Implant => &rules.implant_follow_up_months,
            Method::FemaleSterilisation | Method::MaleSterilisation => {
                &rules.sterilisation_follow_up_months
            }
            _ => &[],
        };
        for &m in months {
            series.push((
                add_months(start, m),
                Rule::FollowUpAfterStart { method, months: m },
            ));
        }
        if !months.is_empty() {
            let last = months.iter().copied().max().unwrap_or(0);
            let mut years = last / 12 + 1;
            // One past the range too: it ends the reach of the last in it.
            loop {
                let day = add_months(start, years * 12);
                series.push((day, Rule::FollowUpYearly { method, years }));
                if day > add_days(to, window) {
                    break;
                }
                years += 1;
            }
        }
        let (kind, interval, rule) = match method {
            Method::Injectable => (
                TaskKind::Injection,
                rules.injectable_interval_months,
                Rule::InjectionEvery {
                    months: rules.injectable_interval_months,
                },
            ),
            Method::Pill => (
                TaskKind::PillResupply,
                rules.pill_interval_months,
                Rule::PillEvery {
                    months: rules.pill_interval_months,
                },
            ),
            _ => (TaskKind::MethodFollowUp, 0, Rule::ReplaceBy),
        };
        if interval > 0 {
            // Only the doses near the range: skip whole intervals before it;
            // and one past it, which ends the reach of the last in it.
            let mut k = 1;
            loop {
                let day = add_months(start, k * interval);
                if add_days(day, window) >= from {
                    series.push((day, rule));
                }
                if day > add_days(to, window) {
                    break;
                }
                k += 1;
            }
        }
        let series_kind = if interval > 0 {
            kind
        } else {
            TaskKind::MethodFollowUp
        };
        for (i, (day, rule)) in series.iter().enumerate() {
            let next = series.get(i + 1).map(|(d, _)| sub_days(*d, window + 1));
            let end = add_days(*day, window);
            let too_late = add_days(end, rules.overdue_lookback_days);
            let close_until = next.unwrap_or(too_late).min(too_late).max(end);
            push(series_kind, *rule, sub_days(*day, window), end, close_until);
        }

        if let Some(replace_by) = measure.replace_by {
            push(
                TaskKind::MethodReplacement,
                Rule::ReplaceBy,
                sub_days(replace_by, rules.replace_by_notice_days),
                replace_by,
                add_days(replace_by, rules.overdue_lookback_days),
            );
        }

        if method.is_removable_device()
            && person.sex == Sex::Female
            && let Some(at_age) = birthday(person, rules.device_removal_age)
        {
            let end = add_months(at_age, rules.device_removal_window_months);
            push(
                TaskKind::DeviceRemoval,
                Rule::DeviceRemovalAtAge {
                    age: rules.device_removal_age,
                },
                at_age,
                end,
                add_days(end, rules.overdue_lookback_days),
            );
        }
    }

    // Pregnancy and after.
    match person.pregnancy {
        Pregnancy::Pregnant { last_period } => {
            let expected = person.pregnancy.expected_date().unwrap_or(NaiveDate::MAX);
            let mut month = 1;
            loop {
                let start = add_months(last_period, month * rules.pregnancy_follow_up_months);
                if start >= expected || start > to {
                    break;
                }
                let end = sub_days(add_months(start, rules.pregnancy_follow_up_months), 1);
                push(
                    TaskKind::PregnancyFollowUp,
                    Rule::PregnancyMonthly { month },
                    start,
                    end.min(expected),
                    end.min(expected),
                );
                month += 1;
            }
            let referral_end = add_days(last_period, rules.birth_defect_referral_weeks * 7);
            push(
                TaskKind::BirthDefectReferral,
                Rule::BirthDefectOnce,
                last_period,
                referral_end,
                expected,
            );
        }
        Pregnancy::Delivered { on } => {
            let (first, last) = rules.postpartum_first_days;
            push(
                TaskKind::Postpartum,
                Rule::PostpartumDay { day: first },
                add_days(on, first),
                add_days(on, last),
                add_days(on, rules.postpartum_second_day.saturating_sub(window + 1)),
            );
            let second = add_days(on, rules.postpartum_second_day);
            push(
                TaskKind::Postpartum,
                Rule::PostpartumDay {
                    day: rules.postpartum_second_day,
                },
                sub_days(second, window),
                add_days(second, window),
                add_days(second, rules.overdue_lookback_days),
            );
        }
        Pregnancy::None => {}
    }

    // Migrants.
    if person.living.is_migrant() {
        for quarter in Period::quarter_of(from).through(to) {
            let judged_on = quarter.end().min(to.max(quarter.start()));
            if rules.is_migrant_woman(person, judged_on) {
                push(
                    TaskKind::MigrantCheck,
                    Rule::MigrantQuarterly,
                    quarter.start(),
                    quarter.end(),
                    quarter.end(),
                );
            }
        }
        if let Some(expires) = person.certificate.as_ref().and_then(|c| c.expires) {
            push(
                TaskKind::CertificateRenewal,
                Rule::CertificateExpiring,
                sub_days(expires, rules.certificate_notice_days),
                expires,
                add_days(expires, rules.overdue_lookback_days),
            );
        }
    }

    // Reward and assistance: the year a member of a qualifying family turns 60.
    if household.flags.qualifies_for_reward()
        && let Some(at_age) = birthday(person, rules.reward_age)
    {
        let year = Period::Year {
            year: at_age.year(),
        };
        push(
            TaskKind::RewardEligibility,
            Rule::RewardAtAge {
                age: rules.reward_age,
            },
            year.start(),
            year.end(),
            year.end(),
        );
    }
}

/// Gives a candidate its status: closed by the first visit of the right kind
/// on or after the window's start and inside its reach (on time when inside
/// the window), else by where today falls: upcoming or later before the
/// window, due in it, overdue after it within the reach, missed after the
/// reach. Attempts that found nobody close nothing; the latest one inside
/// the reach is kept on an open task.
fn settle(
    candidate: Candidate,
    household_id: Id,
    visits: &[&Visit],
    today: NaiveDate,
    rules: &Rules,
) -> Task {
    let wanted = candidate.kind.closing_visit();
    let close_until = candidate.close_until.max(candidate.end);
    let in_reach =
        |v: &&&Visit| v.kind == wanted && v.date >= candidate.start && v.date <= close_until;
    let closing = visits.iter().filter(in_reach).find(|v| v.was_seen());
    let status = match closing {
        Some(visit) => TaskStatus::Done {
            visit_id: visit.id,
            on_time: visit.date <= candidate.end,
        },
        None if close_until < today => TaskStatus::Missed,
        None if candidate.end < today => TaskStatus::Overdue,
        None if candidate.start <= today => TaskStatus::Due,
        None if candidate.start <= add_days(today, rules.upcoming_days) => TaskStatus::Upcoming,
        None => TaskStatus::Later,
    };
    let attempt = if status.is_done() {
        None
    } else {
        visits
            .iter()
            .filter(in_reach)
            .filter(|v| v.date <= today)
            .filter_map(|v| v.not_seen.map(|n| (v, n)))
            .max_by_key(|(v, n)| (v.date, n.come_back, v.id))
            .map(|(v, n)| Attempt {
                visit_id: v.id,
                date: v.date,
                reason: n.reason,
                come_back: n.come_back,
            })
    };
    Task {
        household_id,
        person_id: candidate.person_id,
        kind: candidate.kind,
        start: candidate.start,
        end: candidate.end,
        status,
        rule: candidate.rule,
        close_until,
        attempt,
    }
}

/// The Today list, in four parts (see the module's notes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayList {
    /// What to do now: overdue and due tasks that are not set aside, by
    /// priority, then days late (most first), then the window's end.
    pub working: Vec<Task>,
    /// Tasks whose window opens within the look-ahead, by the window's start.
    pub upcoming: Vec<Task>,
    /// Actionable tasks set aside until the day agreed to come back (after
    /// today), by that day.
    pub set_aside: Vec<Task>,
    /// Missed tasks whose window ended within the look-back (上期未完成),
    /// by their households' numbers.
    pub missed: Vec<Task>,
}

impl TodayList {
    /// Nothing at all to show.
    pub fn is_empty(&self) -> bool {
        self.working.is_empty()
            && self.upcoming.is_empty()
            && self.set_aside.is_empty()
            && self.missed.is_empty()
    }
}

/// The working list's order on `today`: priority, then days late (most
/// first), then the window's end and start; ties by household number
/// (`numbers`), household, person and kind, so the order is total and the
/// same on every device.
pub fn working_order(
    a: &Task,
    b: &Task,
    today: NaiveDate,
    numbers: &HashMap<Id, &str>,
) -> std::cmp::Ordering {
    let key = |t: &Task| {
        (
            t.kind.priority(),
            std::cmp::Reverse(t.days_late(today)),
            t.end,
            t.start,
        )
    };
    key(a).cmp(&key(b)).then_with(|| tie_break(a, b, numbers))
}

fn tie_break(a: &Task, b: &Task, numbers: &HashMap<Id, &str>) -> std::cmp::Ordering {
    let key = |t: &Task| {
        (
            numbers.get(&t.household_id).copied(),
            t.household_id,
            t.person_id,
            t.kind,
            t.start,
        )
    };
    // Two tasks equal so far (a person's two follow-ups of one day, say)
    // still come in one order, whatever order they were found in.
    key(a)
        .cmp(&key(b))
        .then_with(|| a.end.cmp(&b.end))
        .then_with(|| format!("{:?}", a.rule).cmp(&format!("{:?}", b.rule)))
}

/// The Today list on `today` (see [`TodayList`]): every task whose window
/// overlaps the look-back and the look-ahead, sorted into what to do now,
/// what comes up, what waits for an agreed day and what was missed.
pub fn today_list(data: &Dataset, today: NaiveDate, rules: &Rules) -> TodayList {
    let (from, to) = today_range(today, rules);
    let numbers: HashMap<Id, &str> = data
        .households
        .iter()
        .map(|h| (h.id, h.number.as_str()))
        .collect();
    TodayList::from_tasks(tasks_between(data, from, to, today, rules), today, &numbers)
}

/// The days the Today list looks at on `today`: from the look-back to the
/// look-ahead.
pub fn today_range(today: NaiveDate, rules: &Rules) -> (NaiveDate, NaiveDate) {
    (
        sub_days(today, rules.overdue_lookback_days),
        add_days(today, rules.upcoming_days),
    )
}

impl TodayList {
    /// Sorts `tasks` (those of the Today range, see [`today_range`]) into
    /// the four parts, each in its order; `numbers` gives households'
    /// numbers for the ties.
    pub fn from_tasks(
        tasks: impl IntoIterator<Item = Task>,
        today: NaiveDate,
        numbers: &HashMap<Id, &str>,
    ) -> TodayList {
        let mut list = TodayList::default();
        list.take(tasks, today);
        list.sort(today, numbers);
        list
    }

    fn take(&mut self, tasks: impl IntoIterator<Item = Task>, today: NaiveDate) {
        let list = self;
        for task in tasks {
            match task.status {
                TaskStatus::Missed => list.missed.push(task),
                TaskStatus::Overdue | TaskStatus::Due => {
                    if task.set_aside_until(today).is_some() {
                        list.set_aside.push(task);
                    } else {
                        list.working.push(task);
                    }
                }
                TaskStatus::Upcoming => list.upcoming.push(task),
                TaskStatus::Later | TaskStatus::Done { .. } => {}
            }
        }
    }

    fn sort(&mut self, today: NaiveDate, numbers: &HashMap<Id, &str>) {
        let list = self;
        list.working
            .sort_by(|a, b| working_order(a, b, today, numbers));
        list.upcoming.sort_by(|a, b| {
            (a.start, a.kind.priority())
                .cmp(&(b.start, b.kind.priority()))
                .then_with(|| tie_break(a, b, numbers))
        });
        list.set_aside.sort_by(|a, b| {
            (a.set_aside_until(today), a.kind.priority())
                .cmp(&(b.set_aside_until(today), b.kind.priority()))
                .then_with(|| tie_break(a, b, numbers))
        });
        list.missed
            .sort_by(|a, b| tie_break(a, b, numbers).then_with(|| a.end.cmp(&b.end)));
    }
}

/// The tasks on Today that are neither missed nor set aside: the working
/// list (overdue and due, by priority, days late and end), then the
/// upcoming.
pub fn due_tasks(data: &Dataset, today: NaiveDate, rules: &Rules) -> Vec<Task> {
    let list = today_list(data, today, rules);
    let mut tasks = list.working;
    tasks.extend(list.upcoming);
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Contraception, FamilyFlags, Household, Living, MaritalStatus, MigrantCertificate, Village,
    };
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn id(n: u128) -> Id {
        Uuid::from_u128(n)
    }

    /// A village with one household (id 10) and whatever persons a test adds.
    fn village() -> Dataset {
        let mut data = Dataset::new();
        data.villages.push(Village {
            id: id(1),
            name: "杨庄村".into(),
            township: None,
            deleted: false,
        });
        data.households.push(Household::new(id(10), id(1), "0001"));
        data
    }

    fn woman(n: u128, born: NaiveDate) -> Person {
        Person {
            birth_date: Some(born),
            marital: MaritalStatus::FirstMarriage,
            children: 1,
            ..Person::new(id(n), id(10), "王秀英", Sex::Female)
        }
    }

    fn visit(n: u128, person: u128, date: NaiveDate, kind: VisitKind) -> Visit {
        Visit::new(id(n), id(person), id(10), date, kind)
    }

    fn with_method(mut p: Person, method: Method, start: NaiveDate) -> Person {
        p.contraception = Some(Contraception {
            method,
            start: Some(start),
            replace_by: None,
            informed_choice: true,
        });
        p
    }

    type Line = (TaskKind, NaiveDate, NaiveDate, TaskStatus);

    fn lines(tasks: Vec<Task>) -> Vec<Line> {
        tasks
            .into_iter()
            .map(|t| (t.kind, t.start, t.end, t.status))
            .collect()
    }

    /// The working list, then the upcoming.
    fn due(data: &Dataset, today: NaiveDate) -> Vec<Line> {
        lines(due_tasks(data, today, &Rules::default()))
    }

    /// The missed tasks Today shows (上期未完成).
    fn missed(data: &Dataset, today: NaiveDate) -> Vec<Line> {
        lines(today_list(data, today, &Rules::default()).missed)
    }

    #[test]
    fn three_checks_are_due_each_half_year_and_missed_after_it() {
        let mut data = village();
        data.persons.push(woman(100, d(1990, 5, 1)));
        let list = due(&data, d(2026, 3, 10));
        assert_eq!(
            list,
            vec![(
                TaskKind::ThreeChecks,
                d(2026, 1, 1),
                d(2026, 6, 30),
                TaskStatus::Due
            )]
        );
        // Last half-year's three checks can no longer be done in it.
        assert_eq!(
            missed(&data, d(2026, 3, 10)),
            vec![(
                TaskKind::ThreeChecks,
                d(2025, 7, 1),
                d(2025, 12, 31),
                TaskStatus::Missed
            )]
        );
        // A three-check visit in the new half-year closes only the new one.
        data.visits
            .push(visit(501, 100, d(2026, 3, 1), VisitKind::ThreeChecks));
        assert_eq!(due(&data, d(2026, 3, 10)), vec![]);
        assert_eq!(missed(&data, d(2026, 3, 10)).len(), 1);

        data.visits
            .push(visit(500, 100, d(2025, 10, 5), VisitKind::ThreeChecks));
        assert_eq!(due(&data, d(2026, 3, 10)), vec![]);
        assert_eq!(missed(&data, d(2026, 3, 10)), vec![]);
    }

    #[test]
    fn an_attempt_that_found_nobody_closes_no_task() {
        let mut data = village();
        data.persons.push(woman(100, d(1990, 5, 1)));
        let mut attempt = visit(500, 100, d(2026, 3, 1), VisitKind::ThreeChecks);
        attempt.not_seen = Some(crate::model::NotSeen {
            reason: crate::model::NotSeenReason::NotHome,
            come_back: Some(d(2026, 3, 12)),
        });
        data.visits.push(attempt);
        // Open, and set aside until the day agreed to come back.
        let list = today_list(&data, d(2026, 3, 10), &Rules::default());
        assert!(list.working.is_empty(), "{:?}", list.working);
        assert_eq!(list.set_aside.len(), 1);
        let task = &list.set_aside[0];
        assert_eq!(
            (task.kind, task.start, task.status),
            (TaskKind::ThreeChecks, d(2026, 1, 1), TaskStatus::Due)
        );
        assert_eq!(task.set_aside_until(d(2026, 3, 10)), Some(d(2026, 3, 12)));
        let attempt = task.attempt.unwrap();
        assert_eq!(
            (attempt.visit_id, attempt.date, attempt.reason),
            (id(500), d(2026, 3, 1), crate::model::NotSeenReason::NotHome)
        );
        // On that day it is back on the working list, as the agreed return.
        let list = today_list(&data, d(2026, 3, 12), &Rules::default());
        assert!(list.set_aside.is_empty());
        assert_eq!(list.working.len(), 1);
        assert!(list.working[0].is_agreed_return(d(2026, 3, 12)));
        assert!(!list.working[0].is_agreed_return(d(2026, 3, 13)));
    }

    #[test]
    fn only_eligible_married_women_get_three_checks() {
        let today = d(2026, 3, 10);
        let mut unmarried = woman(100, d(1995, 1, 1));
        unmarried.marital = MaritalStatus::Unmarried;
        let older = woman(101, d(1975, 1, 1));
        let mut menopause = woman(102, d(1980, 1, 1));
        menopause.menopause = Some(d(2025, 1, 1));
        let mut exempt = woman(103, d(1990, 1, 1));
        exempt.exemption = Some("病残".into());
        let mut left = woman(104, d(1990, 1, 1));
        left.living = Living::Deregistered {
            reason: crate::model::DeregisterReason::MovedAway,
            date: None,
        };
        let mut deleted = woman(105, d(1990, 1, 1));
        deleted.deleted = true;
        let mut data = village();
        data.persons = vec![unmarried, older, menopause, exempt, left, deleted];
        assert_eq!(due(&data, today), vec![]);
    }

    #[test]
    fn an_iud_is_followed_up_at_one_month_within_seven_days() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Iud,
            d(2026, 1, 20),
        ));
        data.visits
            .push(visit(500, 100, d(2026, 1, 5), VisitKind::ThreeChecks));
        data.visits
            .push(visit(502, 100, d(2025, 11, 5), VisitKind::ThreeChecks));
        let follow_up = (TaskKind::MethodFollowUp, d(2026, 2, 13), d(2026, 2, 27));

        let upcoming = due(&data, d(2026, 2, 5));
        assert!(upcoming.contains(&(follow_up.0, follow_up.1, follow_up.2, TaskStatus::Upcoming)));
        let in_window = due(&data, d(2026, 2, 15));
        assert!(in_window.contains(&(follow_up.0, follow_up.1, follow_up.2, TaskStatus::Due)));

        data.visits
            .push(visit(501, 100, d(2026, 2, 14), VisitKind::MethodFollowUp));
        assert_eq!(due(&data, d(2026, 2, 15)), vec![]);
    }

    #[test]
    fn a_late_follow_up_closes_the_task_but_not_on_time() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Iud,
            d(2025, 6, 1),
        ));
        data.visits
            .push(visit(501, 100, d(2025, 7, 20), VisitKind::MethodFollowUp));
        let tasks = tasks_between(
            &data,
            d(2025, 6, 1),
            d(2025, 7, 31),
            d(2025, 8, 1),
            &Rules::default(),
        );
        let first = tasks
            .iter()
            .find(|t| {
                t.rule
                    == Rule::FollowUpAfterStart {
                        method: Method::Iud,
                        months: 1,
                    }
            })
            .unwrap();
        assert_eq!((first.start, first.end), (d(2025, 6, 24), d(2025, 7, 8)));
        assert_eq!(
            first.status,
            TaskStatus::Done {
                visit_id: id(501),
                on_time: false
            }
        );
    }

    #[test]
    fn long_acting_methods_are_followed_up_yearly_after_the_series() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Implant,
            d(2023, 4, 10),
        ));
        let tasks = tasks_between(
            &data,
            d(2026, 1, 1),
            d(2026, 12, 31),
            d(2026, 1, 1),
            &Rules::default(),
        );
        let yearly: Vec<_> = tasks
            .iter()
            .filter(|t| t.kind == TaskKind::MethodFollowUp)
            .collect();
        assert_eq!(yearly.len(), 1);
        assert_eq!(
            yearly[0].rule,
            Rule::FollowUpYearly {
                method: Method::Implant,
                years: 3
            }
        );
        assert_eq!(
            (yearly[0].start, yearly[0].end),
            (d(2026, 4, 3), d(2026, 4, 17))
        );
    }

    #[test]
    fn a_near_replace_by_date_an_injection_and_a_pill_resupply_fall_due() {
        let today = d(2026, 3, 10);
        let mut iud = with_method(woman(100, d(1990, 5, 1)), Method::Iud, d(2018, 3, 1));
        iud.contraception.as_mut().unwrap().replace_by = Some(d(2026, 4, 1));
        let injectable = with_method(
            woman(101, d(1991, 5, 1)),
            Method::Injectable,
            d(2025, 12, 5),
        );
        let pill = with_method(woman(102, d(1992, 5, 1)), Method::Pill, d(2026, 2, 12));
        let mut data = village();
        data.persons = vec![iud, injectable, pill];
        for (n, p) in [(500, 100), (501, 101), (502, 102)] {
            data.visits
                .push(visit(n, p, d(2026, 1, 10), VisitKind::ThreeChecks));
            data.visits
                .push(visit(n + 10, p, d(2025, 9, 10), VisitKind::ThreeChecks));
        }
        let list = due(&data, today);
        assert!(list.contains(&(
            TaskKind::MethodReplacement,
            d(2026, 3, 2),
            d(2026, 4, 1),
            TaskStatus::Due
        )));
        assert!(list.contains(&(
            TaskKind::Injection,
            d(2026, 2, 26),
            d(2026, 3, 12),
            TaskStatus::Due
        )));
        assert!(list.contains(&(
            TaskKind::PillResupply,
            d(2026, 3, 5),
            d(2026, 3, 19),
            TaskStatus::Due
        )));
    }

    #[test]
    fn a_pregnancy_gets_monthly_follow_ups_and_one_referral() {
        let mut p = woman(100, d(1995, 5, 1));
        p.pregnancy = Pregnancy::Pregnant {
            last_period: d(2026, 1, 1),
        };
        let mut data = village();
        data.persons.push(p);
        data.visits
            .push(visit(500, 100, d(2026, 1, 3), VisitKind::ThreeChecks));
        data.visits
            .push(visit(501, 100, d(2025, 8, 3), VisitKind::ThreeChecks));
        let list = due(&data, d(2026, 3, 10));
        assert_eq!(
            list,
            vec![
                (
                    TaskKind::PregnancyFollowUp,
                    d(2026, 3, 1),
                    d(2026, 3, 31),
                    TaskStatus::Due
                ),
                (
                    TaskKind::BirthDefectReferral,
                    d(2026, 1, 1),
                    d(2026, 5, 21),
                    TaskStatus::Due
                ),
            ]
        );
        // February's follow-up gave way to March's.
        assert_eq!(
            missed(&data, d(2026, 3, 10)),
            vec![(
                TaskKind::PregnancyFollowUp,
                d(2026, 2, 1),
                d(2026, 2, 28),
                TaskStatus::Missed
            )]
        );
        data.visits.push(visit(
            502,
            100,
            d(2026, 2, 20),
            VisitKind::BirthDefectReferral,
        ));
        data.visits.push(visit(
            503,
            100,
            d(2026, 2, 20),
            VisitKind::PregnancyFollowUp,
        ));
        assert_eq!(due(&data, d(2026, 3, 10)).len(), 1);
    }

    #[test]
    fn postpartum_visits_at_three_to_seven_days_and_at_forty_two() {
        let mut p = woman(100, d(1995, 5, 1));
        p.pregnancy = Pregnancy::Delivered { on: d(2026, 3, 1) };
        p.exemption = Some("产后".into());
        let mut data = village();
        data.persons.push(p);
        assert_eq!(
            due(&data, d(2026, 3, 5)),
            vec![(
                TaskKind::Postpartum,
                d(2026, 3, 4),
                d(2026, 3, 8),
                TaskStatus::Due
            )]
        );
        // A late first visit is still worth making, until the 42-day one.
        let late = due_tasks(&data, d(2026, 3, 20), &Rules::default());
        assert_eq!(
            lines(late.clone()),
            vec![(
                TaskKind::Postpartum,
                d(2026, 3, 4),
                d(2026, 3, 8),
                TaskStatus::Overdue
            )]
        );
        assert_eq!(late[0].days_late(d(2026, 3, 20)), 12);
        assert_eq!(
            due(&data, d(2026, 4, 5)),
            vec![(
                TaskKind::Postpartum,
                d(2026, 4, 5),
                d(2026, 4, 19),
                TaskStatus::Due
            )]
        );
        assert_eq!(
            missed(&data, d(2026, 4, 5)),
            vec![(
                TaskKind::Postpartum,
                d(2026, 3, 4),
                d(2026, 3, 8),
                TaskStatus::Missed
            )]
        );
    }

    #[test]
    fn a_woman_turning_fifty_with_an_iud_is_reminded_to_remove_it() {
        let mut p = with_method(woman(100, d(1976, 3, 20)), Method::Iud, d(2010, 1, 1));
        p.marital = MaritalStatus::Widowed;
        let mut data = village();
        data.persons.push(p);
        let list = due(&data, d(2026, 3, 25));
        assert!(list.contains(&(
            TaskKind::DeviceRemoval,
            d(2026, 3, 20),
            d(2026, 6, 20),
            TaskStatus::Due
        )));
    }

    #[test]
    fn migrant_women_are_checked_each_quarter_and_their_certificates_renewed() {
        let mut p = woman(100, d(1992, 5, 1));
        p.marital = MaritalStatus::Unmarried;
        p.living = Living::OutMigrant {
            place: "广东省东莞市".into(),
            since: Some(d(2024, 2, 1)),
        };
        p.certificate = Some(MigrantCertificate {
            number: "A123".into(),
            expires: Some(d(2026, 6, 1)),
        });
        let mut data = village();
        data.persons.push(p);
        data.visits
            .push(visit(500, 100, d(2026, 2, 3), VisitKind::MigrantCheck));
        let list = due(&data, d(2026, 5, 10));
        assert_eq!(
            missed(&data, d(2026, 5, 10)),
            vec![(
                TaskKind::MigrantCheck,
                d(2025, 10, 1),
                d(2025, 12, 31),
                TaskStatus::Missed
            )]
        );
        assert_eq!(
            list,
            vec![
                (
                    TaskKind::CertificateRenewal,
                    d(2026, 5, 2),
                    d(2026, 6, 1),
                    TaskStatus::Due
                ),
                (
                    TaskKind::MigrantCheck,
                    d(2026, 4, 1),
                    d(2026, 6, 30),
                    TaskStatus::Due
                ),
            ]
        );
    }

    #[test]
    fn care_for_girls_and_reward_tasks_come_from_the_household() {
        let mut data = village();
        data.households[0].flags = FamilyFlags {
            one_child: true,
            care_for_girls: true,
            ..FamilyFlags::default()
        };
        data.households[0].head_person_id = Some(id(100));
        let mut father = woman(100, d(1966, 7, 1));
        father.sex = Sex::Male;
        data.persons.push(father);
        let today = d(2026, 11, 29);
        let list = due(&data, today);
        assert_eq!(
            list,
            vec![
                (
                    TaskKind::CareForGirls,
                    d(2026, 1, 1),
                    d(2026, 12, 31),
                    TaskStatus::Due
                ),
                (
                    TaskKind::RewardEligibility,
                    d(2026, 1, 1),
                    d(2026, 12, 31),
                    TaskStatus::Due
                ),
            ]
        );
        data.visits
            .push(visit(500, 100, d(2026, 5, 1), VisitKind::CareForGirls));
        data.visits
            .push(visit(501, 100, d(2026, 5, 1), VisitKind::RewardCheck));
        assert_eq!(due(&data, today), vec![]);
    }

    #[test]
    fn a_deleted_visit_closes_nothing() {
        let mut data = village();
        data.persons.push(woman(100, d(1990, 5, 1)));
        let mut v = visit(500, 100, d(2026, 2, 1), VisitKind::ThreeChecks);
        v.deleted = true;
        data.visits.push(v);
        assert!(due(&data, d(2026, 3, 10)).contains(&(
            TaskKind::ThreeChecks,
            d(2026, 1, 1),
            d(2026, 6, 30),
            TaskStatus::Due
        )));
    }

    #[test]
    fn the_list_puts_the_work_of_now_first_then_upcoming() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Iud,
            d(2026, 2, 25),
        ));
        data.persons.push(with_method(
            woman(101, d(1991, 5, 1)),
            Method::Injectable,
            d(2025, 11, 20),
        ));
        let statuses: Vec<_> = due(&data, d(2026, 3, 5)).into_iter().map(|t| t.3).collect();
        assert_eq!(
            statuses,
            vec![
                TaskStatus::Overdue,
                TaskStatus::Due,
                TaskStatus::Due,
                TaskStatus::Upcoming
            ]
        );
    }

    #[test]
    fn the_working_list_goes_by_priority_then_lateness_then_end() {
        let today = d(2026, 3, 20);
        let mut pregnant = woman(100, d(1995, 5, 1));
        pregnant.pregnancy = Pregnancy::Pregnant {
            last_period: d(2026, 1, 10),
        };
        // Injections due 2026-02-01 (its window ended 02-08) and 2026-03-18
        // (in its window).
        let late = with_method(
            woman(101, d(1990, 5, 1)),
            Method::Injectable,
            d(2025, 11, 1),
        );
        let in_window = with_method(
            woman(102, d(1991, 5, 1)),
            Method::Injectable,
            d(2025, 12, 18),
        );
        let mut data = village();
        data.persons = vec![late, in_window, pregnant];
        let list = today_list(&data, today, &Rules::default());
        let order: Vec<_> = list
            .working
            .iter()
            .map(|t| (t.kind, t.person_id, t.days_late(today)))
            .collect();
        assert_eq!(
            order,
            vec![
                (TaskKind::PregnancyFollowUp, Some(id(100)), 0),
                (TaskKind::BirthDefectReferral, Some(id(100)), 0),
                (TaskKind::Injection, Some(id(101)), 40),
                (TaskKind::Injection, Some(id(102)), 0),
                (TaskKind::ThreeChecks, Some(id(100)), 0),
                (TaskKind::ThreeChecks, Some(id(101)), 0),
                (TaskKind::ThreeChecks, Some(id(102)), 0),
            ]
        );
    }

    #[test]
    fn a_follow_up_stays_overdue_until_the_next_of_its_series_then_is_missed() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Injectable,
            d(2025, 12, 1),
        ));
        // The first injection: 2026-03-01 ± 7 days; the second opens 05-25.
        let injection = |today| {
            tasks_between(
                &data,
                d(2026, 2, 1),
                d(2026, 3, 31),
                today,
                &Rules::default(),
            )
            .into_iter()
            .find(|t| t.kind == TaskKind::Injection)
            .unwrap()
        };
        let task = injection(d(2026, 4, 20));
        assert_eq!(
            (task.end, task.close_until),
            (d(2026, 3, 8), d(2026, 5, 24))
        );
        assert_eq!(task.status, TaskStatus::Overdue);
        assert_eq!(task.days_late(d(2026, 4, 20)), 43);
        assert_eq!(injection(d(2026, 5, 24)).status, TaskStatus::Overdue);
        assert_eq!(injection(d(2026, 5, 25)).status, TaskStatus::Missed);
    }

    #[test]
    fn a_follow_up_half_a_year_late_is_missed() {
        let mut data = village();
        let mut p = with_method(woman(100, d(1990, 5, 1)), Method::Iud, d(2018, 3, 1));
        p.contraception.as_mut().unwrap().replace_by = Some(d(2025, 6, 1));
        data.persons.push(p);
        let rules = Rules::default();
        let find = |today, kind| {
            tasks_between(&data, d(2025, 1, 1), today, today, &rules)
                .into_iter()
                .filter(|t| t.kind == kind)
                .map(|t| (t.end, t.status))
                .collect::<Vec<_>>()
        };
        // The yearly follow-up of 2025 (03-01 ± 7 days): late for 183 days.
        assert!(
            find(d(2025, 9, 1), TaskKind::MethodFollowUp)
                .contains(&(d(2025, 3, 8), TaskStatus::Overdue))
        );
        assert!(
            find(d(2025, 9, 8), TaskKind::MethodFollowUp)
                .contains(&(d(2025, 3, 8), TaskStatus::Missed))
        );
        assert_eq!(
            find(d(2025, 11, 30), TaskKind::MethodReplacement),
            vec![(d(2025, 6, 1), TaskStatus::Overdue)]
        );
        assert_eq!(
            find(d(2025, 12, 2), TaskKind::MethodReplacement),
            vec![(d(2025, 6, 1), TaskStatus::Missed)]
        );
    }

    #[test]
    fn period_bound_kinds_reach_no_further_than_their_window() {
        for kind in TaskKind::ALL {
            assert!((1..=4).contains(&kind.priority()), "{kind:?}");
        }
        let today = d(2026, 6, 1);
        let data = crate::generate::generate(7, crate::generate::Size::Small, today);
        let tasks = tasks_between(
            &data,
            d(2025, 1, 1),
            d(2026, 12, 31),
            today,
            &Rules::default(),
        );
        assert!(tasks.iter().any(|t| t.kind.is_period_bound()));
        for task in tasks {
            assert!(task.close_until >= task.end, "{task:?}");
            if task.kind.is_period_bound() {
                assert_eq!(task.close_until, task.end, "{task:?}");
            }
        }
    }

    #[test]
    fn the_latest_attempt_decides_when_to_come_back() {
        let mut data = village();
        data.persons.push(woman(100, d(1990, 5, 1)));
        let attempt = |n, date, come_back| {
            let mut v = visit(n, 100, date, VisitKind::ThreeChecks);
            v.not_seen = Some(crate::model::NotSeen {
                reason: crate::model::NotSeenReason::Away,
                come_back,
            });
            v
        };
        data.visits
            .push(attempt(500, d(2026, 3, 1), Some(d(2026, 4, 1))));
        data.visits.push(attempt(501, d(2026, 3, 5), None));
        // An attempt of another kind or of last half-year does not count.
        let mut other = attempt(502, d(2026, 3, 6), Some(d(2026, 5, 1)));
        other.kind = VisitKind::MigrantCheck;
        data.visits.push(other);
        data.visits
            .push(attempt(503, d(2025, 12, 1), Some(d(2026, 5, 1))));
        let list = today_list(&data, d(2026, 3, 10), &Rules::default());
        assert!(list.set_aside.is_empty());
        assert_eq!(list.working.len(), 1);
        assert_eq!(list.working[0].attempt.map(|a| a.visit_id), Some(id(501)));

        // A visit that saw her closes the task, and no attempt is kept.
        data.visits
            .push(visit(504, 100, d(2026, 3, 8), VisitKind::ThreeChecks));
        let day = d(2026, 3, 10);
        let task = tasks_between(&data, day, day, day, &Rules::default())
            .into_iter()
            .find(|t| t.start == d(2026, 1, 1))
            .unwrap();
        assert!(task.status.is_done());
        assert_eq!(task.attempt, None);
    }
}

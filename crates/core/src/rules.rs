//! The rules that make tasks due (DOMAIN.md "Tasks due"): who needs which
//! visit, when, and whether a visit already closed it.
//!
//! Every constant is in [`Rules`], with the documented default. The rules
//! read only their inputs: the records, "today" and the constants.

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::model::{Household, Id, Method, Person, Pregnancy, Sex, Visit, VisitKind};
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
    /// How far back an unclosed task stays on the Today list as overdue:
    /// 183 days (one half-year), so old misses do not bury today's work.
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
    /// Past its window and not done.
    Overdue,
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
        if person.living.is_deregistered() {
            continue;
        }
        let mut candidates = Vec::new();
        person_candidates(person, household, from, to, rules, &mut candidates);
        let visits = visits.get(&person.id).unwrap_or(&no_visits);
        for candidate in candidates {
            tasks.push(settle(candidate, household.id, visits, today, rules));
        }
    }

    // Household tasks: closed by a visit to any member.
    for household in households.values() {
        if !household.flags.care_for_girls {
            continue;
        }
        let people = members.get(&household.id).map(Vec::as_slice).unwrap_or(&[]);
        let household_visits: Vec<&Visit> = people
            .iter()
            .flat_map(|p| visits.get(&p.id).unwrap_or(&no_visits).iter().copied())
            .collect();
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
            tasks.push(settle(
                candidate,
                household.id,
                &household_visits,
                today,
                rules,
            ));
        }
    }

    tasks.retain(|t| t.start <= to && t.end >= from);
    tasks
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
    let from = sub_days(today, rules.overdue_lookback_days);
    let to = add_days(today, rules.upcoming_days);
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
    let live = |v: &&Visit| !v.deleted;
    let mut hers: Vec<&Visit> = data
        .visits
        .iter()
        .filter(live)
        .filter(|v| v.person_id == person.id)
        .collect();
    hers.sort_by_key(|v| (v.date, v.id));
    let mut candidates = Vec::new();
    person_candidates(person, household, from, to, rules, &mut candidates);
    let mut tasks: Vec<Task> = candidates
        .into_iter()
        .map(|c| settle(c, household.id, &hers, today, rules))
        .collect();
    if household.flags.care_for_girls && household.head_person_id == Some(person.id) {
        let members: Vec<Id> = data
            .persons
            .iter()
            .filter(|p| p.household_id == household.id && !p.deleted)
            .map(|p| p.id)
            .collect();
        let mut household_visits: Vec<&Visit> = data
            .visits
            .iter()
            .filter(live)
            .filter(|v| members.contains(&v.person_id))
            .collect();
        household_visits.sort_by_key(|v| (v.date, v.id));
        for year in from.year()..=to.year() {
            let period = Period::Year { year };
            let candidate = Candidate {
                kind: TaskKind::CareForGirls,
                rule: Rule::CareForGirlsYearly,
                start: period.start(),
                end: period.end(),
                close_until: period.end(),
                person_id: Some(person.id),
            };
            tasks.push(settle(
                candidate,
                household.id,
                &household_visits,
                today,
                rules,
            ));
        }
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
            loop {
                let day = add_months(start, years * 12);
                if day > add_days(to, window) {
                    break;
                }
                series.push((day, Rule::FollowUpYearly { method, years }));
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
            // Only the doses near the range: skip whole intervals before it.
            let mut k = 1;
            loop {
                let day = add_months(start, k * interval);
                if day > add_days(to, window) {
                    break;
                }
                if add_days(day, window) >= from {
                    series.push((day, rule));
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
            let close_until = next
                .unwrap_or(add_days(end, rules.overdue_lookback_days))
                .max(end);
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
/// on or after the window's start (on time when inside the window), else by
/// where today falls.
fn settle(
    candidate: Candidate,
    household_id: Id,
    visits: &[&Visit],
    today: NaiveDate,
    rules: &Rules,
) -> Task {
    let wanted = candidate.kind.closing_visit();
    let closing = visits.iter().find(|v| {
        v.kind == wanted
            && v.was_seen()
            && v.date >= candidate.start
            && v.date <= candidate.close_until
    });
    let status = match closing {
        Some(visit) => TaskStatus::Done {
            visit_id: visit.id,
            on_time: visit.date <= candidate.end,
        },
        None if candidate.end < today => TaskStatus::Overdue,
        None if candidate.start <= today => TaskStatus::Due,
        None if candidate.start <= add_days(today, rules.upcoming_days) => TaskStatus::Upcoming,
        None => TaskStatus::Later,
    };
    Task {
        household_id,
        person_id: candidate.person_id,
        kind: candidate.kind,
        start: candidate.start,
        end: candidate.end,
        status,
        rule: candidate.rule,
    }
}

/// The Today list: every open task that is overdue (within the look-back),
/// due, or upcoming within the look-ahead — overdue first, then due, then
/// upcoming; within each, by household and window end.
pub fn due_tasks(data: &Dataset, today: NaiveDate, rules: &Rules) -> Vec<Task> {
    let from = sub_days(today, rules.overdue_lookback_days);
    let to = add_days(today, rules.upcoming_days);
    let numbers: HashMap<Id, &str> = data
        .households
        .iter()
        .map(|h| (h.id, h.number.as_str()))
        .collect();
    let mut tasks: Vec<Task> = tasks_between(data, from, to, today, rules)
        .into_iter()
        .filter(|t| {
            matches!(
                t.status,
                TaskStatus::Overdue | TaskStatus::Due | TaskStatus::Upcoming
            )
        })
        .collect();
    let rank = |s: TaskStatus| match s {
        TaskStatus::Overdue => 0,
        TaskStatus::Due => 1,
        _ => 2,
    };
    tasks.sort_by(|a, b| {
        (
            rank(a.status),
            numbers.get(&a.household_id),
            a.household_id,
            a.end,
            a.kind,
        )
            .cmp(&(
                rank(b.status),
                numbers.get(&b.household_id),
                b.household_id,
                b.end,
                b.kind,
            ))
    });
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

    fn due(data: &Dataset, today: NaiveDate) -> Vec<(TaskKind, NaiveDate, NaiveDate, TaskStatus)> {
        due_tasks(data, today, &Rules::default())
            .into_iter()
            .map(|t| (t.kind, t.start, t.end, t.status))
            .collect()
    }

    #[test]
    fn three_checks_are_due_each_half_year_and_overdue_after_it() {
        let mut data = village();
        data.persons.push(woman(100, d(1990, 5, 1)));
        let list = due(&data, d(2026, 3, 10));
        assert_eq!(
            list,
            vec![
                (
                    TaskKind::ThreeChecks,
                    d(2025, 7, 1),
                    d(2025, 12, 31),
                    TaskStatus::Overdue
                ),
                (
                    TaskKind::ThreeChecks,
                    d(2026, 1, 1),
                    d(2026, 6, 30),
                    TaskStatus::Due
                ),
            ]
        );

        data.visits
            .push(visit(500, 100, d(2025, 10, 5), VisitKind::ThreeChecks));
        data.visits
            .push(visit(501, 100, d(2026, 3, 1), VisitKind::ThreeChecks));
        assert_eq!(due(&data, d(2026, 3, 10)), vec![]);
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
        let open = due(&data, d(2026, 3, 10));
        assert!(
            open.contains(&(
                TaskKind::ThreeChecks,
                d(2026, 1, 1),
                d(2026, 6, 30),
                TaskStatus::Due
            )),
            "{open:?}"
        );
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
                    d(2026, 2, 1),
                    d(2026, 2, 28),
                    TaskStatus::Overdue
                ),
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
        assert_eq!(
            due(&data, d(2026, 4, 5)),
            vec![
                (
                    TaskKind::Postpartum,
                    d(2026, 3, 4),
                    d(2026, 3, 8),
                    TaskStatus::Overdue
                ),
                (
                    TaskKind::Postpartum,
                    d(2026, 4, 5),
                    d(2026, 4, 19),
                    TaskStatus::Due
                ),
            ]
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
            list,
            vec![
                (
                    TaskKind::MigrantCheck,
                    d(2025, 10, 1),
                    d(2025, 12, 31),
                    TaskStatus::Overdue
                ),
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
    fn the_list_puts_overdue_first_then_due_then_upcoming() {
        let mut data = village();
        data.persons.push(with_method(
            woman(100, d(1990, 5, 1)),
            Method::Iud,
            d(2026, 2, 25),
        ));
        let statuses: Vec<_> = due(&data, d(2026, 3, 5)).into_iter().map(|t| t.3).collect();
        assert_eq!(
            statuses,
            vec![TaskStatus::Overdue, TaskStatus::Due, TaskStatus::Upcoming]
        );
    }
}

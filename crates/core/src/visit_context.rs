//! What a worker needs to know about one person at the door: which kinds of
//! visit apply to her today, why a visit is due (the rule in words), her
//! open tasks, her last visit of a kind, and a visit's outcome in words.
//! The visit form and the household page show these; the rules are here so
//! that every screen agrees.
//!
//! Which visit kinds apply (decided for issue 14):
//! - a kind any of her tasks (due, overdue or coming up) is closed by;
//! - 三查 for an eligible married woman; 随访 for anyone with a method;
//!   流动人口季查 for a migrant woman of reproductive age; 孕期随访 and
//!   出生缺陷干预 during a pregnancy; 产后访视 up to the second postpartum
//!   visit's window; 送证上门 for a migrant; 奖励扶助核查 for a member of a
//!   qualifying family aged 59 or over; 关爱女孩帮扶 for a member of a
//!   care-for-girls household;
//! - 宣传入户 and 其他 for any adult (18 or over, or of unknown age) on the
//!   books: publicity and other services are for grown-ups, not children;
//! - nothing for a deregistered or removed person.

use chrono::{Days, NaiveDate};

use crate::data::Dataset;
use crate::labels::Label;
use crate::model::{NotSeenReason, Person, Pregnancy, Visit, VisitKind};
use crate::rules::{Rule, Rules, Task, TaskStatus, tasks_for_person};

/// The age from which 宣传入户 and 其他 apply.
pub const ADULT_AGE: i32 = 18;

impl Label for NotSeenReason {
    fn zh(&self) -> &'static str {
        match self {
            NotSeenReason::NotHome => "不在家",
            NotSeenReason::Away => "外出",
            NotSeenReason::Declined => "拒访",
        }
    }
    fn en(&self) -> &'static str {
        match self {
            NotSeenReason::NotHome => "not at home",
            NotSeenReason::Away => "away",
            NotSeenReason::Declined => "declined",
        }
    }
}

/// Whether a task is still to be done and can be worked now or soon: due,
/// overdue or coming up (not done, not later, not missed).
pub fn is_open(task: &Task) -> bool {
    matches!(
        task.status,
        TaskStatus::Overdue | TaskStatus::Due | TaskStatus::Upcoming
    )
}

/// The person's open tasks on `today` ([`is_open`]), earliest window first.
pub fn open_tasks(
    data: &Dataset,
    person_id: crate::Id,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<Task> {
    let mut tasks: Vec<Task> = tasks_for_person(data, person_id, today, rules)
        .into_iter()
        .filter(is_open)
        .collect();
    tasks.sort_by_key(|t| (t.start, t.end));
    tasks
}

/// The open task a visit of `kind` would serve for this person on `today`:
/// the one whose window holds today, else the latest overdue one, else the
/// next one coming up. `None` when no task of hers asks for such a visit (a
/// visit made on the worker's own initiative).
pub fn due_task(
    data: &Dataset,
    person_id: crate::Id,
    kind: VisitKind,
    today: NaiveDate,
    rules: &Rules,
) -> Option<Task> {
    open_tasks(data, person_id, today, rules)
        .into_iter()
        .filter(|t| t.kind.closing_visit() == kind)
        .min_by_key(|t| {
            if t.start <= today && today <= t.end {
                (0, (t.end - today).num_days())
            } else if t.end < today {
                (1, (today - t.end).num_days())
            } else {
                (2, (t.start - today).num_days())
            }
        })
}

/// The kinds of visit that apply to `person` on `today`, in the forms'
/// order (see the module's doc for the rules). Empty for a child or a
/// deregistered person.
pub fn visit_kinds_for(
    data: &Dataset,
    person: &Person,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<VisitKind> {
    if person.deleted || person.living.is_deregistered() {
        return Vec::new();
    }
    let household = data.household(person.household_id);
    let age = person.age_on(today);
    let tasks = open_tasks(data, person.id, today, rules);
    let postpartum_until = rules.postpartum_second_day + rules.follow_up_window_days;
    VisitKind::ALL
        .into_iter()
        .filter(|kind| {
            let by_task = tasks.iter().any(|t| t.kind.closing_visit() == *kind);
            let by_rule = match kind {
                VisitKind::ThreeChecks => rules.is_eligible_married_woman(person, today),
                VisitKind::MethodFollowUp => person.contraception.is_some(),
                VisitKind::MigrantCheck => rules.is_migrant_woman(person, today),
                VisitKind::PregnancyFollowUp | VisitKind::BirthDefectReferral => {
                    matches!(person.pregnancy, Pregnancy::Pregnant { .. })
                }
                VisitKind::Postpartum => match person.pregnancy {
                    Pregnancy::Delivered { on } => on
                        .checked_add_days(Days::new(postpartum_until))
                        .is_some_and(|until| on <= today && today <= until),
                    _ => false,
                },
                VisitKind::CertificateDelivered => person.living.is_migrant(),
                VisitKind::RewardCheck => {
                    household.is_some_and(|h| h.flags.qualifies_for_reward())
                        && age.is_some_and(|a| a >= rules.reward_age - 1)
                }
                VisitKind::CareForGirls => household.is_some_and(|h| h.flags.care_for_girls),
                VisitKind::PublicityAtHome | VisitKind::Other => age.is_none_or(|a| a >= ADULT_AGE),
            };
            by_task || by_rule
        })
        .collect()
}

/// The person's last visit of `kind`, attempts included; `except` (a visit
/// being shown or corrected) is left out.
pub fn last_visit_of_kind(
    data: &Dataset,
    person_id: crate::Id,
    kind: VisitKind,
    except: Option<crate::Id>,
) -> Option<&Visit> {
    data.visits
        .iter()
        .filter(|v| {
            !v.deleted && v.person_id == person_id && v.kind == kind && Some(v.id) != except
        })
        .max_by_key(|v| (v.date, v.id))
}

/// The person's last three-check visit where she was seen.
pub fn last_three_checks(data: &Dataset, person_id: crate::Id) -> Option<&Visit> {
    data.visits
        .iter()
        .filter(|v| {
            !v.deleted
                && v.person_id == person_id
                && v.kind == VisitKind::ThreeChecks
                && v.was_seen()
        })
        .max_by_key(|v| (v.date, v.id))
}

/// A month and day: "12月8日" / "8 Dec".
pub fn month_day(day: NaiveDate, zh: bool) -> String {
    crate::words::date_short(language(zh), day, day)
}

/// A full date: "2026年12月8日" / "8 Dec 2026".
pub fn full_date(day: NaiveDate, zh: bool) -> String {
    crate::words::date(language(zh), day)
}

fn language(zh: bool) -> crate::words::Language {
    if zh {
        crate::words::Language::Chinese
    } else {
        crate::words::Language::English
    }
}

/// Why a task is due, in words: its rule.
pub fn rule_words(rule: Rule, zh: bool) -> String {
    let pick = |a: String, b: String| if zh { a } else { b };
    match rule {
        Rule::ThreeChecksHalfYearly => pick(
            "已婚育龄妇女每半年三查一次".into(),
            "Three checks each half-year for a married woman of reproductive age".into(),
        ),
        Rule::FollowUpAfterStart { method, months } => pick(
            format!("{}落实后第{months}个月随访", method.zh()),
            format!("Follow-up {months} months after {} started", method.en()),
        ),
        Rule::FollowUpYearly { method, years } => pick(
            format!("{}落实满{years}年的年度随访", method.zh()),
            format!(
                "Yearly follow-up, {years} years after {} started",
                method.en()
            ),
        ),
        Rule::ReplaceBy => pick(
            "措施即将到期，需要更换".into(),
            "The method is due for replacement".into(),
        ),
        Rule::InjectionEvery { months } => pick(
            format!("每{months}个月注射一次"),
            format!("An injection every {months} months"),
        ),
        Rule::PillEvery { months } => pick(
            format!("每{months}个月发放一次口服药"),
            format!("Pills re-supplied every {months} months"),
        ),
        Rule::PregnancyMonthly { month } => pick(
            format!("孕期第{month}个月随访"),
            format!("Pregnancy follow-up, month {month}"),
        ),
        Rule::BirthDefectOnce => pick(
            "每次怀孕转介一次出生缺陷筛查".into(),
            "One birth-defect screening referral each pregnancy".into(),
        ),
        Rule::PostpartumDay { day } => pick(
            format!("产后第{day}天访视"),
            format!("Postpartum visit around day {day}"),
        ),
        Rule::DeviceRemovalAtAge { age } => pick(
            format!("满{age}岁，提醒取出节育器具"),
            format!("Turns {age}: remind her to have the device removed"),
        ),
        Rule::MigrantQuarterly => pick(
            "流动人口每季度核查一次".into(),
            "Quarterly check of a migrant woman".into(),
        ),
        Rule::CertificateExpiring => pick(
            "婚育证明即将到期".into(),
            "The migrant certificate expires soon".into(),
        ),
        Rule::CareForGirlsYearly => pick(
            "关爱女孩户每年帮扶一次".into(),
            "Yearly support visit of a care-for-girls family".into(),
        ),
        Rule::RewardAtAge { age } => pick(
            format!("满{age}岁，核查奖励扶助资格"),
            format!("Turns {age}: check eligibility for the reward scheme"),
        ),
    }
}

/// Why a task is due, with its window: "已婚育龄妇女每半年三查一次（7月1日至12月31日）".
pub fn why_due(task: &Task, zh: bool) -> String {
    let rule = rule_words(task.rule, zh);
    let (start, end) = (month_day(task.start, zh), month_day(task.end, zh));
    if zh {
        format!("{rule}（{start}至{end}）")
    } else {
        format!("{rule} ({start} – {end})")
    }
}

/// A visit's outcome in words: "未见到：不在家，约12月8日再访" for an
/// attempt; the answers given for a visit ("环在位：是；怀孕：否；发现疾病：未查");
/// "未填写结果" when none was.
pub fn outcome_words(visit: &Visit, zh: bool) -> String {
    if let Some(not_seen) = visit.not_seen {
        let reason = if zh {
            not_seen.reason.zh()
        } else {
            not_seen.reason.en()
        };
        return match (not_seen.come_back, zh) {
            (Some(day), true) => format!("未见到：{reason}，约{}再访", month_day(day, true)),
            (Some(day), false) => {
                format!(
                    "Not seen: {reason}; come back about {}",
                    month_day(day, false)
                )
            }
            (None, true) => format!("未见到：{reason}"),
            (None, false) => format!("Not seen: {reason}"),
        };
    }
    let yes_no = |answer: bool| match (answer, zh) {
        (true, true) => "是",
        (false, true) => "否",
        (true, false) => "yes",
        (false, false) => "no",
    };
    let mut parts: Vec<String> = Vec::new();
    let mut say = |zh_label: &str, en_label: &str, answer: &str| {
        parts.push(if zh {
            format!("{zh_label}：{answer}")
        } else {
            format!("{en_label}: {answer}")
        });
    };
    let outcome = &visit.outcome;
    if let Some(checks) = outcome.three_checks {
        let not_checked = if zh { "未查" } else { "not checked" };
        for (zh_label, en_label, answer) in [
            ("查环", "ring check", checks.ring_in_place),
            ("查孕", "pregnancy check", checks.pregnant),
            ("查病", "gynaecological check", checks.condition_found),
        ] {
            let answer = answer.map_or(not_checked, yes_no);
            say(zh_label, en_label, answer);
        }
    }
    for (zh_label, en_label, answer) in [
        ("不良反应", "adverse reaction", outcome.adverse_reaction),
        ("转诊", "referred", outcome.referred),
        ("发现怀孕", "pregnancy found", outcome.pregnancy_found),
        ("知晓政策", "knows the policy", outcome.knows_policy),
        ("满意", "satisfied", outcome.satisfied),
    ] {
        if let Some(answer) = answer {
            say(zh_label, en_label, yes_no(answer));
        }
    }
    if let Some(method) = outcome.new_method {
        say(
            "措施变更为",
            "method changed to",
            if zh { method.zh() } else { method.en() },
        );
    }
    if let Some(level) = outcome.defect_level {
        let level = level.to_string();
        say("干预级别", "screening level", &level);
    }
    if parts.is_empty() {
        return if zh {
            "未填写结果"
        } else {
            "no answers recorded"
        }
        .to_string();
    }
    parts.join(if zh { "；" } else { "; " })
}

/// Where a suggested come-back date falls after an attempt on `date`: the
/// next day for 不在家, a week for 外出, a month for 拒访. The worker may
/// change it.
pub fn suggested_come_back(reason: NotSeenReason, date: NaiveDate) -> Option<NaiveDate> {
    let days = match reason {
        NotSeenReason::NotHome => 1,
        NotSeenReason::Away => 7,
        NotSeenReason::Declined => 30,
    };
    date.checked_add_days(Days::new(days))
}

/// A household's group and address on one line, the group said once: the
/// address alone when it already begins with the group ("一组 2号", not
/// "一组 一组 2号"), else "group address"; either alone when the other is
/// missing.
pub fn address_line(household: &crate::model::Household) -> String {
    let group = household.group.as_deref().map(str::trim).unwrap_or("");
    let address = household.address.as_deref().map(str::trim).unwrap_or("");
    match (group.is_empty(), address.is_empty()) {
        (true, _) => address.to_string(),
        (false, true) => group.to_string(),
        (false, false) if address.starts_with(group) => address.to_string(),
        (false, false) => format!("{group} {address}"),
    }
}

/// A phone number as a `tel:` link's target: its digits and a leading +,
/// an extension (after 转) left out.
pub fn tel_href(phone: &str) -> String {
    let number = phone.split('转').next().unwrap_or("");
    let digits: String = number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    format!("tel:{digits}")
}

/// A label's colon: "：" in Chinese, ": " in English.
pub fn colon(zh: bool) -> &'static str {
    if zh { "：" } else { ": " }
}

/// An opening bracket: "（" in Chinese, " (" in English.
pub fn open_paren(zh: bool) -> &'static str {
    if zh { "（" } else { " (" }
}

/// A closing bracket: "）" in Chinese, ")" in English.
pub fn close_paren(zh: bool) -> &'static str {
    if zh { "）" } else { ")" }
}

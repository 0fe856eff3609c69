//! 数据核对: checks on records before they are saved or synced.
//!
//! Each `validate_*` function looks at one record and returns *every* problem
//! it finds at once, so a form can mark all of its faulty fields together.
//! A [`Problem`] names the field (the record's serde field name, a dotted
//! path for nested fields, with `[i]` for list items, e.g.
//! `contraception.replace_by` or `sections[0].measures[2].title`) and the
//! reason as a [`MessageKey`], whose text exists in Chinese and English.
//!
//! These are data checks that help a worker catch typing slips; they judge
//! the record, never the person. Like the rest of the core they read no
//! clock: "today" is an argument, and the result depends only on the inputs.
//!
//! The limits are the constants below, kept together so each can be
//! adjusted in one place; the message texts quote them, and a test checks
//! that they agree.
//!
//! Each `validate_*` also adds the problems of the record's own field limits
//! ([`crate::limits`]: lengths, ranges, dates, bytes), which the server
//! applies to every value a phone sends; so a form refuses all the server
//! would, and shows why before a push.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::limits;
use crate::model::{
    Household, Id, Living, MaritalStatus, Method, Person, Pregnancy, Sex, Village, Visit,
};
use crate::plan::{Recurrence, Tick, WorkPlan, windows};
use crate::sync::{RecordKind, RecordRef};

/// The longest name (of a person or a village) in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 30;
/// Older than this many years on "today" is taken as a typing slip in the birth date.
pub const MAX_AGE_YEARS: i32 = 120;
/// 法定婚龄, women: a married woman younger than this is worth a second look.
pub const LEGAL_MARRIAGE_AGE_FEMALE: i32 = 20;
/// 法定婚龄, men.
pub const LEGAL_MARRIAGE_AGE_MALE: i32 = 22;
/// A pregnancy whose last period is longer ago than this many days has
/// surely ended; the record needs updating.
pub const MAX_PREGNANCY_DAYS: i64 = 300;
/// A menopause date at an age below this is taken as a slip.
pub const MIN_MENOPAUSE_AGE: i32 = 35;
/// More children than this is implausible.
pub const MAX_CHILDREN: u8 = 20;
/// The years a work plan may be for.
pub const PLAN_YEARS: RangeInclusive<i32> = 2000..=2100;
/// The highest goal a target may set: 1000 ‰ = 100 %.
pub const MAX_GOAL_PERMILLE: u16 = 1000;
/// The birth-defect intervention levels (一级, 二级, 三级).
pub const DEFECT_LEVELS: RangeInclusive<u8> = 1..=3;
/// More households reached by one task than this is implausible.
pub const MAX_HOUSEHOLDS_REACHED: u32 = 100_000;
/// The longest short text in characters, after trimming: a household
/// number, a villager group, a phone number, a relation to the head, a
/// certificate number.
pub const MAX_SHORT_TEXT_CHARS: usize = 30;
/// The longest one-line text in characters, after trimming: an address, a
/// migrant's place, an exemption, a plan's, section's or measure's title
/// (Chinese or English: the built-in plans' English titles reach about 110).
pub const MAX_LINE_CHARS: usize = 200;
/// The longest note in characters, after trimming: a household's, visit's
/// or tick's notes, a measure's description.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// The years any date may fall in: a wider span is a typing slip (or worse)
/// whatever day it is, so the check needs no clock. "Not after today" is a
/// form check ([`validate_person`] and friends take `today`).
pub const DATE_YEARS: RangeInclusive<i32> = 1900..=2100;
/// The most dates a measure on given dates may list: one a day of a year.
pub const MAX_MEASURE_DATES: usize = 366;
/// The most bytes a field's value may take as JSON, except a plan's
/// `sections` ([`MAX_SECTIONS_BYTES`]).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;
/// The most bytes a plan's `sections` may take as JSON. A plan is one record
/// whose sections hold every measure with its titles in two languages, so a
/// real plan's sections outgrow [`MAX_VALUE_BYTES`] (the built-in templates'
/// take up to some 13 KiB); 64 KiB leaves a village room to write its own
/// measures and descriptions while still bounding what one change may carry.
pub const MAX_SECTIONS_BYTES: usize = 64 * 1024;

/// The legal marriage age for a sex.
pub fn legal_marriage_age(sex: Sex) -> i32 {
    match sex {
        Sex::Female => LEGAL_MARRIAGE_AGE_FEMALE,
        Sex::Male => LEGAL_MARRIAGE_AGE_MALE,
    }
}

/// Why a field is flagged: one variant per reason, with its text in Chinese
/// ([`MessageKey::zh`]) and English ([`MessageKey::en`]). Serialised as a
/// stable snake_case code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKey {
    /// A name is empty or only spaces.
    NameEmpty,
    /// A name is longer than [`MAX_NAME_CHARS`].
    NameTooLong,
    /// The household's village is not among the live villages.
    UnknownVillage,
    /// The household number is empty.
    HouseholdNumberEmpty,
    /// Another live household of the same village has the same number.
    DuplicateHouseholdNumber,
    /// The head of household is not a live person of this household.
    HeadNotInHousehold,
    /// The person's household is not among the live households.
    UnknownHousehold,
    /// The birth date is after today.
    BirthDateInFuture,
    /// The birth date makes the person older than [`MAX_AGE_YEARS`].
    BirthDateTooOld,
    /// Recorded as (ever) married but younger than the legal marriage age.
    MarriedBelowLegalAge,
    /// The method's replace-by date is before its start date.
    ReplaceByBeforeStart,
    /// The method's start date is after today.
    MethodStartInFuture,
    /// The method is one only the other sex can use ([`Method::only_for`]).
    MethodNotForSex,
    /// A pregnancy or delivery is recorded for a man.
    PregnancyForMale,
    /// The last-period date is after today.
    LastPeriodInFuture,
    /// Still "pregnant", but the last period was more than
    /// [`MAX_PREGNANCY_DAYS`] ago.
    LastPeriodTooLongAgo,
    /// The delivery date is after today.
    DeliveredInFuture,
    /// A menopause date is recorded for a man.
    MenopauseForMale,
    /// The menopause date is after today.
    MenopauseInFuture,
    /// The menopause date is at an age below [`MIN_MENOPAUSE_AGE`].
    MenopauseTooYoung,
    /// An out-migrant without the place they went to.
    OutMigrantPlaceEmpty,
    /// An in-migrant without the place they come from.
    InMigrantPlaceEmpty,
    /// The migration "since" date is after today.
    MigrantSinceInFuture,
    /// The deregistration date is after today.
    DeregisteredInFuture,
    /// The migrant certificate has no number.
    CertificateNumberEmpty,
    /// More children than [`MAX_CHILDREN`].
    TooManyChildren,
    /// The visit's person is not among the live persons.
    UnknownPerson,
    /// The visit's household is not the person's household.
    VisitHouseholdMismatch,
    /// The visit date is after today.
    VisitDateInFuture,
    /// The visit date is before the person's birth.
    VisitBeforeBirth,
    /// The next-visit date is before the visit date.
    NextVisitBeforeVisit,
    /// A not-seen attempt's come-back date is before the attempt.
    ComeBackBeforeVisit,
    /// The birth-defect intervention level is not in [`DEFECT_LEVELS`].
    DefectLevelOutOfRange,
    /// A title (of a plan, section or measure) is empty.
    TitleEmpty,
    /// The plan's year is outside [`PLAN_YEARS`].
    PlanYearOutOfRange,
    /// A measure on given dates has no dates.
    NoDates,
    /// A measure's date is not in the plan's year.
    DateOutsidePlanYear,
    /// Two measures of the plan have the same id.
    DuplicateMeasureId,
    /// A target's goal is above 100 %.
    GoalAbove100Percent,
    /// The tick's plan is not among the live plans.
    UnknownPlan,
    /// The tick's measure is not in its plan.
    UnknownMeasure,
    /// The tick's occurrence is beyond the measure's tasks in the year.
    OccurrenceOutOfRange,
    /// The tick's date is not in the plan's year.
    TickDateOutsidePlanYear,
    /// The tick's date is after today.
    TickDateInFuture,
    /// More households reached than [`MAX_HOUSEHOLDS_REACHED`].
    TooManyHouseholds,
    /// A short text longer than [`MAX_SHORT_TEXT_CHARS`].
    ShortTextTooLong,
    /// A one-line text longer than [`MAX_LINE_CHARS`].
    LineTooLong,
    /// A note longer than [`MAX_NOTE_CHARS`].
    NoteTooLong,
    /// A date outside [`DATE_YEARS`].
    DateOutOfRange,
    /// A measure with more dates than [`MAX_MEASURE_DATES`].
    TooManyDates,
    /// A value larger than [`MAX_VALUE_BYTES`] as JSON.
    ValueTooLarge,
    /// A plan's sections larger than [`MAX_SECTIONS_BYTES`] as JSON.
    SectionsTooLarge,
    /// A phone number that is neither a mobile nor a landline number
    /// ([`crate::limits::is_valid_phone`]).
    PhoneInvalid,
    /// A not-seen attempt carries outcome answers or a next visit: nobody was
    /// seen, so nothing was asked.
    NotSeenWithAnswers,
}

impl MessageKey {
    /// Every key, in declaration order.
    pub const ALL: &[MessageKey] = &[
        MessageKey::NameEmpty,
        MessageKey::NameTooLong,
        MessageKey::UnknownVillage,
        MessageKey::HouseholdNumberEmpty,
        MessageKey::DuplicateHouseholdNumber,
        MessageKey::HeadNotInHousehold,
        MessageKey::UnknownHousehold,
        MessageKey::BirthDateInFuture,
        MessageKey::BirthDateTooOld,
        MessageKey::MarriedBelowLegalAge,
        MessageKey::ReplaceByBeforeStart,
        MessageKey::MethodStartInFuture,
        MessageKey::MethodNotForSex,
        MessageKey::PregnancyForMale,
        MessageKey::LastPeriodInFuture,
        MessageKey::LastPeriodTooLongAgo,
        MessageKey::DeliveredInFuture,
        MessageKey::MenopauseForMale,
        MessageKey::MenopauseInFuture,
        MessageKey::MenopauseTooYoung,
        MessageKey::OutMigrantPlaceEmpty,
        MessageKey::InMigrantPlaceEmpty,
        MessageKey::MigrantSinceInFuture,
        MessageKey::DeregisteredInFuture,
        MessageKey::CertificateNumberEmpty,
        MessageKey::TooManyChildren,
        MessageKey::UnknownPerson,
        MessageKey::VisitHouseholdMismatch,
        MessageKey::VisitDateInFuture,
        MessageKey::VisitBeforeBirth,
        MessageKey::NextVisitBeforeVisit,
        MessageKey::ComeBackBeforeVisit,
        MessageKey::DefectLevelOutOfRange,
        MessageKey::TitleEmpty,
        MessageKey::PlanYearOutOfRange,
        MessageKey::NoDates,
        MessageKey::DateOutsidePlanYear,
        MessageKey::DuplicateMeasureId,
        MessageKey::GoalAbove100Percent,
        MessageKey::UnknownPlan,
        MessageKey::UnknownMeasure,
        MessageKey::OccurrenceOutOfRange,
        MessageKey::TickDateOutsidePlanYear,
        MessageKey::TickDateInFuture,
        MessageKey::TooManyHouseholds,
        MessageKey::ShortTextTooLong,
        MessageKey::LineTooLong,
        MessageKey::NoteTooLong,
        MessageKey::DateOutOfRange,
        MessageKey::TooManyDates,
        MessageKey::ValueTooLarge,
        MessageKey::SectionsTooLarge,
        MessageKey::PhoneInvalid,
        MessageKey::NotSeenWithAnswers,
    ];

    /// The message in simplified Chinese (zh-CN), as the worker reads it.
    pub fn zh(self) -> &'static str {
        match self {
            MessageKey::NameEmpty => "请填写名字",
            MessageKey::NameTooLong => "名字不能超过30个字",
            MessageKey::UnknownVillage => "找不到所属的村，请重新选择",
            MessageKey::HouseholdNumberEmpty => "请填写户编号",
            MessageKey::DuplicateHouseholdNumber => "本村已有相同的户编号，请核对",
            MessageKey::HeadNotInHousehold => "户主不是本户成员，请重新选择",
            MessageKey::UnknownHousehold => "找不到所属的户，请重新选择",
            MessageKey::BirthDateInFuture => "出生日期不能晚于今天",
            MessageKey::BirthDateTooOld => "年龄超过120岁，请核对出生日期",
            MessageKey::MarriedBelowLegalAge => {
                "年龄低于法定婚龄（女20岁、男22岁），请核对出生日期或婚姻状况"
            }
            MessageKey::ReplaceByBeforeStart => "到期更换日期不能早于落实日期",
            MessageKey::MethodStartInFuture => "落实日期不能晚于今天",
            MessageKey::MethodNotForSex => "该措施与性别不符，请核对",
            MessageKey::PregnancyForMale => "男性不能登记孕情，请核对性别",
            MessageKey::LastPeriodInFuture => "末次月经日期不能晚于今天",
            MessageKey::LastPeriodTooLongAgo => "末次月经已超过300天，请核对日期或更新孕情",
            MessageKey::DeliveredInFuture => "分娩日期不能晚于今天",
            MessageKey::MenopauseForMale => "男性不能登记绝经日期，请核对性别",
            MessageKey::MenopauseInFuture => "绝经日期不能晚于今天",
            MessageKey::MenopauseTooYoung => "绝经时不满35岁，请核对绝经日期或出生日期",
            MessageKey::OutMigrantPlaceEmpty => "请填写流入地（外出到哪里）",
            MessageKey::InMigrantPlaceEmpty => "请填写户籍地（从哪里来）",
            MessageKey::MigrantSinceInFuture => "流动起始日期不能晚于今天",
            MessageKey::DeregisteredInFuture => "注销日期不能晚于今天",
            MessageKey::CertificateNumberEmpty => "请填写婚育证明编号",
            MessageKey::TooManyChildren => "子女数超过20个，请核对",
            MessageKey::UnknownPerson => "找不到服务对象，请重新选择",
            MessageKey::VisitHouseholdMismatch => "所选的户与此人所在的户不一致，请核对",
            MessageKey::VisitDateInFuture => "随访日期不能晚于今天",
            MessageKey::VisitBeforeBirth => "随访日期不能早于出生日期",
            MessageKey::NextVisitBeforeVisit => "下次随访日期不能早于本次随访日期",
            MessageKey::ComeBackBeforeVisit => "再访日期不能早于本次日期",
            MessageKey::PhoneInvalid => {
                "电话号码应为11位手机号（1开头）或带区号的固定电话（如0571-88886666）"
            }
            MessageKey::NotSeenWithAnswers => "未见到本人时不能填写随访结果和下次随访日期",
            MessageKey::DefectLevelOutOfRange => "干预级别应为一级、二级或三级",
            MessageKey::TitleEmpty => "请填写标题",
            MessageKey::PlanYearOutOfRange => "年份应在2000年到2100年之间",
            MessageKey::NoDates => "请至少填写一个日期",
            MessageKey::DateOutsidePlanYear => "日期不在计划年度内，请核对",
            MessageKey::DuplicateMeasureId => "计划中有重复的措施，请核对",
            MessageKey::GoalAbove100Percent => "目标不能超过100%",
            MessageKey::UnknownPlan => "找不到对应的工作计划",
            MessageKey::UnknownMeasure => "计划中找不到这项措施",
            MessageKey::OccurrenceOutOfRange => "这项措施本年度没有这一次任务",
            MessageKey::TickDateOutsidePlanYear => "完成日期不在计划年度内，请核对",
            MessageKey::TickDateInFuture => "完成日期不能晚于今天",
            MessageKey::TooManyHouseholds => "覆盖户数超过100000户，请核对",
            MessageKey::ShortTextTooLong => "不能超过30个字",
            MessageKey::LineTooLong => "不能超过200个字",
            MessageKey::NoteTooLong => "不能超过2000个字",
            MessageKey::DateOutOfRange => "日期应在1900年到2100年之间，请核对",
            MessageKey::TooManyDates => "日期不能超过366个",
            MessageKey::ValueTooLarge => "内容太长（超过8192字节），请删减",
            MessageKey::SectionsTooLarge => "计划内容太长（超过65536字节），请删减",
        }
    }

    /// The message in English.
    pub fn en(self) -> &'static str {
        match self {
            MessageKey::NameEmpty => "Please enter the name.",
            MessageKey::NameTooLong => "The name can have at most 30 characters.",
            MessageKey::UnknownVillage => "The village was not found; please choose it again.",
            MessageKey::HouseholdNumberEmpty => "Please enter the household number.",
            MessageKey::DuplicateHouseholdNumber => {
                "Another household in this village has the same number; please check."
            }
            MessageKey::HeadNotInHousehold => {
                "The head of household is not a member of this household; please choose again."
            }
            MessageKey::UnknownHousehold => "The household was not found; please choose it again.",
            MessageKey::BirthDateInFuture => "The birth date cannot be later than today.",
            MessageKey::BirthDateTooOld => {
                "The age is over 120 years; please check the birth date."
            }
            MessageKey::MarriedBelowLegalAge => {
                "The age is below the legal marriage age (women 20, men 22); please check the birth date or marital status."
            }
            MessageKey::ReplaceByBeforeStart => {
                "The replace-by date cannot be earlier than the start date."
            }
            MessageKey::MethodStartInFuture => "The start date cannot be later than today.",
            MessageKey::MethodNotForSex => "This method does not match the sex; please check.",
            MessageKey::PregnancyForMale => {
                "A pregnancy cannot be recorded for a man; please check the sex."
            }
            MessageKey::LastPeriodInFuture => "The last period date cannot be later than today.",
            MessageKey::LastPeriodTooLongAgo => {
                "The last period was more than 300 days ago; please check the date or update the pregnancy."
            }
            MessageKey::DeliveredInFuture => "The delivery date cannot be later than today.",
            MessageKey::MenopauseForMale => {
                "A menopause date cannot be recorded for a man; please check the sex."
            }
            MessageKey::MenopauseInFuture => "The menopause date cannot be later than today.",
            MessageKey::MenopauseTooYoung => {
                "Menopause before age 35; please check the menopause date or the birth date."
            }
            MessageKey::OutMigrantPlaceEmpty => "Please enter where the person has gone.",
            MessageKey::InMigrantPlaceEmpty => "Please enter where the person comes from.",
            MessageKey::MigrantSinceInFuture => "The 'since' date cannot be later than today.",
            MessageKey::DeregisteredInFuture => {
                "The deregistration date cannot be later than today."
            }
            MessageKey::CertificateNumberEmpty => "Please enter the certificate number.",
            MessageKey::TooManyChildren => "More than 20 children; please check the number.",
            MessageKey::UnknownPerson => "The person was not found; please choose again.",
            MessageKey::VisitHouseholdMismatch => {
                "The household does not match the person's household; please check."
            }
            MessageKey::VisitDateInFuture => "The visit date cannot be later than today.",
            MessageKey::VisitBeforeBirth => "The visit date cannot be earlier than the birth date.",
            MessageKey::NextVisitBeforeVisit => {
                "The next visit date cannot be earlier than this visit."
            }
            MessageKey::ComeBackBeforeVisit => {
                "The date to come back cannot be earlier than this attempt."
            }
            MessageKey::PhoneInvalid => {
                "A phone number is an 11-digit mobile number starting with 1 or a landline with its area code (like 0571-88886666)."
            }
            MessageKey::NotSeenWithAnswers => {
                "A visit where the person was not seen cannot have answers or a next visit."
            }
            MessageKey::DefectLevelOutOfRange => "The intervention level must be 1, 2 or 3.",
            MessageKey::TitleEmpty => "Please enter a title.",
            MessageKey::PlanYearOutOfRange => "The year must be between 2000 and 2100.",
            MessageKey::NoDates => "Please enter at least one date.",
            MessageKey::DateOutsidePlanYear => "The date is not in the plan's year; please check.",
            MessageKey::DuplicateMeasureId => {
                "This measure appears twice in the plan; please check."
            }
            MessageKey::GoalAbove100Percent => "The goal cannot be above 100%.",
            MessageKey::UnknownPlan => "The work plan was not found.",
            MessageKey::UnknownMeasure => "This measure is not in the plan.",
            MessageKey::OccurrenceOutOfRange => "The measure has no such task this year.",
            MessageKey::TickDateOutsidePlanYear => {
                "The completion date is not in the plan's year; please check."
            }
            MessageKey::TickDateInFuture => "The completion date cannot be later than today.",
            MessageKey::TooManyHouseholds => {
                "More than 100000 households reached; please check the number."
            }
            MessageKey::ShortTextTooLong => "This can have at most 30 characters.",
            MessageKey::LineTooLong => "This can have at most 200 characters.",
            MessageKey::NoteTooLong => "This can have at most 2000 characters.",
            MessageKey::DateOutOfRange => "The date must be between 1900 and 2100; please check.",
            MessageKey::TooManyDates => "At most 366 dates.",
            MessageKey::ValueTooLarge => "This is too long (over 8192 bytes); please shorten it.",
            MessageKey::SectionsTooLarge => {
                "The plan is too long (over 65536 bytes); please shorten it."
            }
        }
    }
}

/// One problem with one field of a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Problem {
    /// The field: its serde name, a dotted path for nested fields, `[i]`
    /// for an item of a list (`sections[0].measures[1].title`).
    pub field: String,
    /// Why it is flagged.
    pub key: MessageKey,
}

impl Problem {
    /// A problem with `field` for the reason `key`.
    pub fn new(field: impl Into<String>, key: MessageKey) -> Self {
        Problem {
            field: field.into(),
            key,
        }
    }

    /// The message in Chinese.
    pub fn zh(&self) -> &'static str {
        self.key.zh()
    }

    /// The message in English.
    pub fn en(&self) -> &'static str {
        self.key.en()
    }
}

/// Collects problems; a tiny helper so each check reads as one line.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, key: MessageKey) {
        self.0.push(Problem::new(field, key));
    }

    pub(crate) fn flag(&mut self, fault: bool, field: &str, key: MessageKey) {
        if fault {
            self.add(field, key);
        }
    }

    fn name(&mut self, field: &str, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            self.add(field, MessageKey::NameEmpty);
        } else if name.chars().count() > MAX_NAME_CHARS {
            self.add(field, MessageKey::NameTooLong);
        }
    }
}

impl Problems {
    /// Adds each of `more` that is not listed yet: the field limits of
    /// [`crate::limits`], some of which a record check makes in its own
    /// place too.
    fn extend_new(&mut self, more: Vec<Problem>) {
        for problem in more {
            if !self.0.contains(&problem) {
                self.0.push(problem);
            }
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Whether a method can be used by a person of `sex`.
fn fits(method: Method, sex: Sex) -> bool {
    method.only_for().is_none_or(|only| only == sex)
}

/// Checks a village: its name.
pub fn validate_village(village: &Village) -> Vec<Problem> {
    let mut out = Problems::default();
    out.name("name", &village.name);
    out.extend_new(limits::village_limits(village));
    out.0
}

/// Checks a household: a known village, a non-empty number unique among the
/// village's live households, and a head who is a live person of it.
pub fn validate_household(household: &Household, data: &Dataset) -> Vec<Problem> {
    let mut out = Problems::default();
    let village_known = data
        .villages
        .iter()
        .any(|v| v.id == household.village_id && !v.deleted);
    out.flag(!village_known, "village_id", MessageKey::UnknownVillage);

    let number = household.number.trim();
    if number.is_empty() {
        out.add("number", MessageKey::HouseholdNumberEmpty);
    } else {
        let duplicate = data
            .households_of(household.village_id)
            .any(|h| h.id != household.id && h.number.trim() == number);
        out.flag(duplicate, "number", MessageKey::DuplicateHouseholdNumber);
    }

    if let Some(head) = household.head_person_id {
        let in_household = data
            .person(head)
            .is_some_and(|p| p.household_id == household.id);
        out.flag(
            !in_household,
            "head_person_id",
            MessageKey::HeadNotInHousehold,
        );
    }
    out.extend_new(limits::household_limits(household));
    out.0
}

/// Checks a person on `today`: name, household, dates (birth, method,
/// pregnancy, menopause, migration) against today and against each other,
/// the fit of method, pregnancy and menopause with the sex, the marriage
/// age, the migrant's place and certificate, and the number of children.
pub fn validate_person(person: &Person, data: &Dataset, today: NaiveDate) -> Vec<Problem> {
    let mut out = Problems::default();
    let female = person.sex == Sex::Female;
    out.name("name", &person.name);
    out.flag(
        data.household(person.household_id).is_none(),
        "household_id",
        MessageKey::UnknownHousehold,
    );

    // The age is only trusted when the birth date is not in the future.
    let age = match person.birth_date {
        Some(birth) if birth > today => {
            out.add("birth_date", MessageKey::BirthDateInFuture);
            None
        }
        _ => person.age_on(today),
    };
    out.flag(
        age.is_some_and(|a| a > MAX_AGE_YEARS),
        "birth_date",
        MessageKey::BirthDateTooOld,
    );
    let ever_married = person.marital != MaritalStatus::Unmarried;
    out.flag(
        ever_married && age.is_some_and(|a| a < legal_marriage_age(person.sex)),
        "marital",
        MessageKey::MarriedBelowLegalAge,
    );

    if let Some(c) = &person.contraception {
        out.flag(
            matches!((c.start, c.replace_by), (Some(s), Some(r)) if r < s),
            "contraception.replace_by",
            MessageKey::ReplaceByBeforeStart,
        );
        out.flag(
            c.start.is_some_and(|s| s > today),
            "contraception.start",
            MessageKey::MethodStartInFuture,
        );
        out.flag(
            !fits(c.method, person.sex),
            "contraception.method",
            MessageKey::MethodNotForSex,
        );
    }

    out.flag(
        !female && person.pregnancy != Pregnancy::None,
        "pregnancy",
        MessageKey::PregnancyForMale,
    );
    match person.pregnancy {
        Pregnancy::None => {}
        Pregnancy::Pregnant { last_period } => {
            if last_period > today {
                out.add("pregnancy.last_period", MessageKey::LastPeriodInFuture);
            } else if (today - last_period).num_days() > MAX_PREGNANCY_DAYS {
                out.add("pregnancy.last_period", MessageKey::LastPeriodTooLongAgo);
            }
        }
        Pregnancy::Delivered { on } => {
            out.flag(on > today, "pregnancy.on", MessageKey::DeliveredInFuture);
        }
    }

    if let Some(menopause) = person.menopause {
        // For a man the date itself is the one slip; its timing says nothing more.
        if female {
            out.flag(
                menopause > today,
                "menopause",
                MessageKey::MenopauseInFuture,
            );
            out.flag(
                person
                    .age_on(menopause)
                    .is_some_and(|a| a < MIN_MENOPAUSE_AGE),
                "menopause",
                MessageKey::MenopauseTooYoung,
            );
        } else {
            out.add("menopause", MessageKey::MenopauseForMale);
        }
    }

    match &person.living {
        Living::Resident => {}
        Living::OutMigrant { place, since } | Living::InMigrant { place, since } => {
            let empty_key = if matches!(person.living, Living::OutMigrant { .. }) {
                MessageKey::OutMigrantPlaceEmpty
            } else {
                MessageKey::InMigrantPlaceEmpty
            };
            out.flag(is_blank(place), "living.place", empty_key);
            out.flag(
                since.is_some_and(|s| s > today),
                "living.since",
                MessageKey::MigrantSinceInFuture,
            );
        }
        Living::Deregistered { date, .. } => {
            out.flag(
                date.is_some_and(|d| d > today),
                "living.date",
                MessageKey::DeregisteredInFuture,
            );
        }
    }

    if let Some(certificate) = &person.certificate {
        out.flag(
            is_blank(&certificate.number),
            "certificate.number",
            MessageKey::CertificateNumberEmpty,
        );
    }
    out.flag(
        person.children > MAX_CHILDREN,
        "children",
        MessageKey::TooManyChildren,
    );
    out.extend_new(limits::person_limits(person));
    out.0
}

/// Checks a visit on `today`: a known person in the named household, a date
/// neither after today nor before the person's birth, a next visit not
/// before it, the defect level, and a new method that fits the person's sex.
pub fn validate_visit(visit: &Visit, data: &Dataset, today: NaiveDate) -> Vec<Problem> {
    let mut out = Problems::default();
    let person = data.person(visit.person_id);
    out.flag(person.is_none(), "person_id", MessageKey::UnknownPerson);
    out.flag(
        person.is_some_and(|p| p.household_id != visit.household_id),
        "household_id",
        MessageKey::VisitHouseholdMismatch,
    );
    out.flag(visit.date > today, "date", MessageKey::VisitDateInFuture);
    out.flag(
        person
            .and_then(|p| p.birth_date)
            .is_some_and(|b| visit.date < b),
        "date",
        MessageKey::VisitBeforeBirth,
    );
    out.flag(
        visit.next_visit.is_some_and(|n| n < visit.date),
        "next_visit",
        MessageKey::NextVisitBeforeVisit,
    );
    out.flag(
        visit
            .not_seen
            .and_then(|n| n.come_back)
            .is_some_and(|c| c < visit.date),
        "not_seen.come_back",
        MessageKey::ComeBackBeforeVisit,
    );
    out.flag(
        visit.not_seen.is_some() && visit.outcome != Default::default(),
        "outcome",
        MessageKey::NotSeenWithAnswers,
    );
    out.flag(
        visit.not_seen.is_some() && visit.next_visit.is_some(),
        "next_visit",
        MessageKey::NotSeenWithAnswers,
    );
    out.flag(
        visit
            .outcome
            .defect_level
            .is_some_and(|l| !DEFECT_LEVELS.contains(&l)),
        "outcome.defect_level",
        MessageKey::DefectLevelOutOfRange,
    );
    if let (Some(method), Some(p)) = (visit.outcome.new_method, person) {
        out.flag(
            !fits(method, p.sex),
            "outcome.new_method",
            MessageKey::MethodNotForSex,
        );
    }
    out.extend_new(limits::visit_limits(visit));
    out.0
}

/// Checks a work plan: titles (plan, sections, measures), the year, the
/// dates of measures on given dates, unique measure ids, and goals.
pub fn validate_plan(plan: &WorkPlan) -> Vec<Problem> {
    let mut out = Problems::default();
    out.flag(is_blank(&plan.title), "title", MessageKey::TitleEmpty);
    out.flag(
        !PLAN_YEARS.contains(&plan.year),
        "year",
        MessageKey::PlanYearOutOfRange,
    );
    for (t, target) in plan.targets.iter().enumerate() {
        if target.goal_permille > MAX_GOAL_PERMILLE {
            out.add(
                format!("targets[{t}].goal_permille"),
                MessageKey::GoalAbove100Percent,
            );
        }
    }
    let mut measure_ids = HashSet::new();
    for (s, section) in plan.sections.iter().enumerate() {
        if is_blank(&section.title) {
            out.add(format!("sections[{s}].title"), MessageKey::TitleEmpty);
        }
        for (m, measure) in section.measures.iter().enumerate() {
            let at = format!("sections[{s}].measures[{m}]");
            if !measure_ids.insert(measure.id) {
                out.add(format!("{at}.id"), MessageKey::DuplicateMeasureId);
            }
            if is_blank(&measure.title) {
                out.add(format!("{at}.title"), MessageKey::TitleEmpty);
            }
            if let Recurrence::Dates { dates } = &measure.recurrence {
                if dates.is_empty() {
                    out.add(format!("{at}.recurrence.dates"), MessageKey::NoDates);
                }
                for (d, date) in dates.iter().enumerate() {
                    if date.year() != plan.year {
                        out.add(
                            format!("{at}.recurrence.dates[{d}]"),
                            MessageKey::DateOutsidePlanYear,
                        );
                    }
                }
            }
        }
    }
    out.extend_new(limits::plan_limits(plan));
    out.0
}

/// Checks a tick on `today`: a known live plan with the measure, an
/// occurrence among the measure's tasks, a date in the plan's year and not
/// after today, and a plausible number of households reached.
pub fn validate_tick(tick: &Tick, data: &Dataset, today: NaiveDate) -> Vec<Problem> {
    let mut out = Problems::default();
    let plan = data
        .plans
        .iter()
        .find(|p| p.id == tick.plan_id && !p.deleted);
    match plan {
        None => out.add("plan_id", MessageKey::UnknownPlan),
        Some(plan) => {
            match plan.measure(tick.measure_id) {
                None => out.add("measure_id", MessageKey::UnknownMeasure),
                Some(measure) => {
                    let tasks = windows(&measure.recurrence, plan.year).len();
                    out.flag(
                        usize::from(tick.occurrence) >= tasks,
                        "occurrence",
                        MessageKey::OccurrenceOutOfRange,
                    );
                }
            }
            out.flag(
                tick.date.year() != plan.year,
                "date",
                MessageKey::TickDateOutsidePlanYear,
            );
        }
    }
    out.flag(tick.date > today, "date", MessageKey::TickDateInFuture);
    out.flag(
        tick.households_reached
            .is_some_and(|n| n > MAX_HOUSEHOLDS_REACHED),
        "households_reached",
        MessageKey::TooManyHouseholds,
    );
    out.extend_new(limits::tick_limits(tick));
    out.0
}

/// Checks every live (not deleted) record of a dataset on `today`: villages,
/// households, persons, visits, plans and ticks, in that order and in the
/// dataset's order within each kind.
pub fn validate_dataset(data: &Dataset, today: NaiveDate) -> Vec<(RecordRef, Problem)> {
    fn tag(
        kind: RecordKind,
        id: Id,
        problems: Vec<Problem>,
    ) -> impl Iterator<Item = (RecordRef, Problem)> {
        problems
            .into_iter()
            .map(move |p| (RecordRef { kind, id }, p))
    }
    let mut all = Vec::new();
    for v in data.villages.iter().filter(|v| !v.deleted) {
        all.extend(tag(RecordKind::Village, v.id, validate_village(v)));
    }
    for h in data.households.iter().filter(|h| !h.deleted) {
        all.extend(tag(
            RecordKind::Household,
            h.id,
            validate_household(h, data),
        ));
    }
    for p in data.persons.iter().filter(|p| !p.deleted) {
        all.extend(tag(
            RecordKind::Person,
            p.id,
            validate_person(p, data, today),
        ));
    }
    for v in data.visits.iter().filter(|v| !v.deleted) {
        all.extend(tag(RecordKind::Visit, v.id, validate_visit(v, data, today)));
    }
    for p in data.plans.iter().filter(|p| !p.deleted) {
        all.extend(tag(RecordKind::Plan, p.id, validate_plan(p)));
    }
    for t in data.ticks.iter().filter(|t| !t.deleted) {
        all.extend(tag(RecordKind::Tick, t.id, validate_tick(t, data, today)));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Contraception, DeregisterReason, FamilyFlags, MigrantCertificate, Outcome, VisitKind,
    };
    use crate::plan::{IndicatorKind, Measure, PlanSection, Target};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn id(n: u128) -> Id {
        Uuid::from_u128(n)
    }
    fn today() -> NaiveDate {
        d(2024, 6, 15)
    }

    const V: u128 = 1;
    const H1: u128 = 10;
    const H2: u128 = 11;
    const HEAD: u128 = 20;
    const WIFE: u128 = 21;
    const MIGRANT: u128 = 22;
    const VISIT: u128 = 30;
    const PLAN: u128 = 40;
    const SECTION: u128 = 41;
    const MONTHLY: u128 = 42;
    const ON_DATES: u128 = 43;
    const TICK: u128 = 50;

    fn person(n: u128, household: u128, name: &str, sex: Sex, birth: NaiveDate) -> Person {
        Person {
            id: id(n),
            household_id: id(household),
            name: name.into(),
            sex,
            birth_date: Some(birth),
            relation: None,
            marital: MaritalStatus::FirstMarriage,
            phone: None,
            living: Living::Resident,
            certificate: None,
            children: 1,
            pregnancy: Pregnancy::None,
            contraception: None,
            menopause: None,
            exemption: None,
            deleted: false,
        }
    }

    fn household(n: u128, number: &str, head: u128) -> Household {
        Household {
            id: id(n),
            village_id: id(V),
            number: number.into(),
            group: Some("三组".into()),
            address: None,
            phone: None,
            head_person_id: Some(id(head)),
            flags: FamilyFlags::default(),
            notes: None,
            deleted: false,
        }
    }

    fn measure(n: u128, title: &str, recurrence: Recurrence) -> Measure {
        Measure {
            id: id(n),
            title: title.into(),
            title_en: None,
            description: None,
            description_en: None,
            recurrence,
            indicator: None,
        }
    }

    /// One valid record of each kind: a resident couple (she has an IUD), an
    /// in-migrant woman with a certificate, a three-check visit, a plan with
    /// a monthly measure and one on given dates, and a tick.
    fn sample() -> Dataset {
        let mut data = Dataset::new();
        data.villages.push(Village {
            id: id(V),
            name: "李家村".into(),
            township: Some("城关镇".into()),
            deleted: false,
        });
        data.households.push(household(H1, "001", HEAD));
        data.households.push(household(H2, "002", MIGRANT));
        data.persons
            .push(person(HEAD, H1, "李建国", Sex::Male, d(1988, 7, 20)));
        let mut wife = person(WIFE, H1, "王秀英", Sex::Female, d(1990, 3, 1));
        wife.contraception = Some(Contraception {
            method: Method::Iud,
            start: Some(d(2020, 5, 1)),
            replace_by: Some(d(2030, 5, 1)),
            informed_choice: true,
        });
        data.persons.push(wife);
        let mut migrant = person(MIGRANT, H2, "张丽", Sex::Female, d(1975, 2, 10));
        migrant.living = Living::InMigrant {
            place: "河南省周口市".into(),
            since: Some(d(2023, 3, 1)),
        };
        migrant.certificate = Some(MigrantCertificate {
            number: "豫2023-0456".into(),
            expires: Some(d(2026, 3, 1)),
        });
        data.persons.push(migrant);
        data.visits.push(Visit {
            id: id(VISIT),
            person_id: id(WIFE),
            household_id: id(H1),
            date: d(2024, 5, 10),
            kind: VisitKind::ThreeChecks,
            recorded_by: Some("刘专干".into()),
            outcome: Outcome {
                knows_policy: Some(true),
                satisfied: Some(true),
                ..Outcome::default()
            },
            notes: None,
            next_visit: Some(d(2024, 11, 10)),
            not_seen: None,
            deleted: false,
        });
        data.plans.push(WorkPlan {
            id: id(PLAN),
            village_id: id(V),
            year: 2024,
            title: "李家村计生协会2024年工作计划".into(),
            title_en: None,
            targets: vec![
                Target {
                    indicator: IndicatorKind::ThreeCheckRate,
                    goal_permille: 1000,
                },
                Target {
                    indicator: IndicatorKind::MigrantManagementRate,
                    goal_permille: 950,
                },
            ],
            sections: vec![PlanSection {
                id: id(SECTION),
                title: "一、优质服务".into(),
                title_en: None,
                measures: vec![
                    measure(MONTHLY, "入户宣传", Recurrence::Monthly),
                    measure(
                        ON_DATES,
                        "集中服务日",
                        Recurrence::Dates {
                            dates: vec![d(2024, 3, 8), d(2024, 5, 29)],
                        },
                    ),
                ],
            }],
            deleted: false,
        });
        data.ticks.push(Tick {
            id: id(TICK),
            plan_id: id(PLAN),
            measure_id: id(MONTHLY),
            occurrence: 4,
            date: d(2024, 5, 20),
            by: Some("刘专干".into()),
            note: None,
            households_reached: Some(35),
            deleted: false,
        });
        data
    }

    fn person_mut(data: &mut Dataset, n: u128) -> &mut Person {
        data.persons.iter_mut().find(|p| p.id == id(n)).unwrap()
    }
    fn household_mut(data: &mut Dataset, n: u128) -> &mut Household {
        data.households.iter_mut().find(|h| h.id == id(n)).unwrap()
    }
    fn plan_mut(data: &mut Dataset) -> &mut WorkPlan {
        &mut data.plans[0]
    }
    fn measure_mut(data: &mut Dataset, m: usize) -> &mut Measure {
        &mut data.plans[0].sections[0].measures[m]
    }

    fn at(kind: RecordKind, n: u128, field: &str, key: MessageKey) -> (RecordRef, Problem) {
        (RecordRef { kind, id: id(n) }, Problem::new(field, key))
    }

    use MessageKey as K;
    use RecordKind as R;

    type Case = (&'static str, fn(&mut Dataset), Vec<(RecordRef, Problem)>);

    /// Every check: a fault put into the valid sample, and exactly the
    /// problems it must raise.
    fn cases() -> Vec<Case> {
        vec![
            // Village.
            (
                "village name blank",
                |ds| ds.villages[0].name = "  ".into(),
                vec![at(R::Village, V, "name", K::NameEmpty)],
            ),
            (
                "village name too long",
                |ds| ds.villages[0].name = "村".repeat(31),
                vec![at(R::Village, V, "name", K::NameTooLong)],
            ),
            // Household.
            (
                "household in an unknown village",
                |ds| household_mut(ds, H2).village_id = id(999),
                vec![at(R::Household, H2, "village_id", K::UnknownVillage)],
            ),
            (
                "household in a deleted village",
                |ds| ds.villages[0].deleted = true,
                vec![
                    at(R::Household, H1, "village_id", K::UnknownVillage),
                    at(R::Household, H2, "village_id", K::UnknownVillage),
                ],
            ),
            (
                "household number blank",
                |ds| household_mut(ds, H1).number = " ".into(),
                vec![at(R::Household, H1, "number", K::HouseholdNumberEmpty)],
            ),
            (
                "household number taken in the village",
                |ds| household_mut(ds, H2).number = " 001".into(),
                vec![
                    at(R::Household, H1, "number", K::DuplicateHouseholdNumber),
                    at(R::Household, H2, "number", K::DuplicateHouseholdNumber),
                ],
            ),
            (
                "head from another household",
                |ds| household_mut(ds, H1).head_person_id = Some(id(MIGRANT)),
                vec![at(
                    R::Household,
                    H1,
                    "head_person_id",
                    K::HeadNotInHousehold,
                )],
            ),
            (
                "head unknown",
                |ds| household_mut(ds, H1).head_person_id = Some(id(999)),
                vec![at(
                    R::Household,
                    H1,
                    "head_person_id",
                    K::HeadNotInHousehold,
                )],
            ),
            // Person.
            (
                "person name empty",
                |ds| person_mut(ds, WIFE).name = String::new(),
                vec![at(R::Person, WIFE, "name", K::NameEmpty)],
            ),
            (
                "person name too long",
                |ds| person_mut(ds, WIFE).name = "王".repeat(31),
                vec![at(R::Person, WIFE, "name", K::NameTooLong)],
            ),
            (
                "person in an unknown household",
                |ds| person_mut(ds, HEAD).household_id = id(999),
                vec![
                    at(R::Household, H1, "head_person_id", K::HeadNotInHousehold),
                    at(R::Person, HEAD, "household_id", K::UnknownHousehold),
                ],
            ),
            (
                "birth date in the future",
                |ds| person_mut(ds, HEAD).birth_date = Some(d(2024, 6, 16)),
                vec![at(R::Person, HEAD, "birth_date", K::BirthDateInFuture)],
            ),
            (
                "birth date over 120 years ago",
                |ds| person_mut(ds, HEAD).birth_date = Some(d(1903, 6, 14)),
                vec![at(R::Person, HEAD, "birth_date", K::BirthDateTooOld)],
            ),
            (
                "married woman of 19",
                |ds| person_mut(ds, WIFE).birth_date = Some(d(2005, 1, 1)),
                vec![at(R::Person, WIFE, "marital", K::MarriedBelowLegalAge)],
            ),
            (
                "divorced man of 21",
                |ds| {
                    let p = person_mut(ds, HEAD);
                    p.marital = MaritalStatus::Divorced;
                    p.birth_date = Some(d(2002, 6, 16));
                },
                vec![at(R::Person, HEAD, "marital", K::MarriedBelowLegalAge)],
            ),
            (
                "replace-by before start",
                |ds| {
                    let c = person_mut(ds, WIFE).contraception.as_mut().unwrap();
                    c.replace_by = Some(d(2020, 4, 30));
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "contraception.replace_by",
                    K::ReplaceByBeforeStart,
                )],
            ),
            (
                "method started in the future",
                |ds| {
                    let c = person_mut(ds, WIFE).contraception.as_mut().unwrap();
                    c.start = Some(d(2024, 7, 1));
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "contraception.start",
                    K::MethodStartInFuture,
                )],
            ),
            (
                "IUD for a man",
                |ds| {
                    person_mut(ds, HEAD).contraception = Some(Contraception {
                        method: Method::Iud,
                        start: None,
                        replace_by: None,
                        informed_choice: false,
                    });
                },
                vec![at(
                    R::Person,
                    HEAD,
                    "contraception.method",
                    K::MethodNotForSex,
                )],
            ),
            (
                "male sterilisation for a woman",
                |ds| {
                    let c = person_mut(ds, WIFE).contraception.as_mut().unwrap();
                    c.method = Method::MaleSterilisation;
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "contraception.method",
                    K::MethodNotForSex,
                )],
            ),
            (
                "pregnancy for a man",
                |ds| {
                    person_mut(ds, HEAD).pregnancy = Pregnancy::Delivered { on: d(2024, 1, 1) };
                },
                vec![at(R::Person, HEAD, "pregnancy", K::PregnancyForMale)],
            ),
            (
                "last period in the future",
                |ds| {
                    person_mut(ds, WIFE).pregnancy = Pregnancy::Pregnant {
                        last_period: d(2024, 6, 16),
                    };
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "pregnancy.last_period",
                    K::LastPeriodInFuture,
                )],
            ),
            (
                "still pregnant 301 days after the last period",
                |ds| {
                    person_mut(ds, WIFE).pregnancy = Pregnancy::Pregnant {
                        last_period: d(2023, 8, 19),
                    };
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "pregnancy.last_period",
                    K::LastPeriodTooLongAgo,
                )],
            ),
            (
                "delivered in the future",
                |ds| person_mut(ds, WIFE).pregnancy = Pregnancy::Delivered { on: d(2024, 6, 16) },
                vec![at(R::Person, WIFE, "pregnancy.on", K::DeliveredInFuture)],
            ),
            (
                "menopause for a man",
                |ds| person_mut(ds, HEAD).menopause = Some(d(2030, 1, 1)),
                vec![at(R::Person, HEAD, "menopause", K::MenopauseForMale)],
            ),
            (
                "menopause in the future",
                |ds| person_mut(ds, MIGRANT).menopause = Some(d(2024, 6, 16)),
                vec![at(R::Person, MIGRANT, "menopause", K::MenopauseInFuture)],
            ),
            (
                "menopause at 33",
                |ds| person_mut(ds, WIFE).menopause = Some(d(2024, 2, 29)),
                vec![at(R::Person, WIFE, "menopause", K::MenopauseTooYoung)],
            ),
            (
                "out-migrant without a place",
                |ds| {
                    person_mut(ds, HEAD).living = Living::OutMigrant {
                        place: " ".into(),
                        since: None,
                    };
                },
                vec![at(R::Person, HEAD, "living.place", K::OutMigrantPlaceEmpty)],
            ),
            (
                "in-migrant without a place",
                |ds| {
                    if let Living::InMigrant { place, .. } = &mut person_mut(ds, MIGRANT).living {
                        place.clear();
                    }
                },
                vec![at(
                    R::Person,
                    MIGRANT,
                    "living.place",
                    K::InMigrantPlaceEmpty,
                )],
            ),
            (
                "migrant since a future date",
                |ds| {
                    if let Living::InMigrant { since, .. } = &mut person_mut(ds, MIGRANT).living {
                        *since = Some(d(2024, 7, 1));
                    }
                },
                vec![at(
                    R::Person,
                    MIGRANT,
                    "living.since",
                    K::MigrantSinceInFuture,
                )],
            ),
            (
                "out-migrant since a future date",
                |ds| {
                    person_mut(ds, HEAD).living = Living::OutMigrant {
                        place: "广东省东莞市".into(),
                        since: Some(d(2025, 1, 1)),
                    };
                },
                vec![at(R::Person, HEAD, "living.since", K::MigrantSinceInFuture)],
            ),
            (
                "deregistered on a future date",
                |ds| {
                    person_mut(ds, HEAD).living = Living::Deregistered {
                        reason: DeregisterReason::MovedAway,
                        date: Some(d(2024, 12, 1)),
                    };
                },
                vec![at(R::Person, HEAD, "living.date", K::DeregisteredInFuture)],
            ),
            (
                "certificate without a number",
                |ds| {
                    let c = person_mut(ds, MIGRANT).certificate.as_mut().unwrap();
                    c.number = "  ".into();
                },
                vec![at(
                    R::Person,
                    MIGRANT,
                    "certificate.number",
                    K::CertificateNumberEmpty,
                )],
            ),
            (
                "21 children",
                |ds| person_mut(ds, WIFE).children = 21,
                vec![at(R::Person, WIFE, "children", K::TooManyChildren)],
            ),
            // Visit.
            (
                "visit in the future",
                |ds| {
                    ds.visits[0].date = d(2024, 6, 16);
                    ds.visits[0].next_visit = None;
                },
                vec![at(R::Visit, VISIT, "date", K::VisitDateInFuture)],
            ),
            (
                "visit before the birth",
                |ds| ds.visits[0].date = d(1990, 2, 28),
                vec![at(R::Visit, VISIT, "date", K::VisitBeforeBirth)],
            ),
            (
                "visit to an unknown person",
                |ds| ds.visits[0].person_id = id(999),
                vec![at(R::Visit, VISIT, "person_id", K::UnknownPerson)],
            ),
            (
                "visit to a deleted person",
                |ds| person_mut(ds, WIFE).deleted = true,
                vec![at(R::Visit, VISIT, "person_id", K::UnknownPerson)],
            ),
            (
                "visit names another household",
                |ds| ds.visits[0].household_id = id(H2),
                vec![at(
                    R::Visit,
                    VISIT,
                    "household_id",
                    K::VisitHouseholdMismatch,
                )],
            ),
            (
                "next visit before the visit",
                |ds| ds.visits[0].next_visit = Some(d(2024, 5, 9)),
                vec![at(R::Visit, VISIT, "next_visit", K::NextVisitBeforeVisit)],
            ),
            (
                "come back before the attempt",
                |ds| {
                    // An attempt has no answers and no next visit (issue 14).
                    ds.visits[0].outcome = Default::default();
                    ds.visits[0].next_visit = None;
                    ds.visits[0].not_seen = Some(crate::model::NotSeen {
                        reason: crate::model::NotSeenReason::NotHome,
                        come_back: Some(d(2024, 5, 9)),
                    })
                },
                vec![at(
                    R::Visit,
                    VISIT,
                    "not_seen.come_back",
                    K::ComeBackBeforeVisit,
                )],
            ),
            (
                "an attempt with answers",
                |ds| {
                    ds.visits[0].next_visit = None;
                    ds.visits[0].outcome.satisfied = Some(true);
                    ds.visits[0].not_seen = Some(crate::model::NotSeen {
                        reason: crate::model::NotSeenReason::Away,
                        come_back: None,
                    })
                },
                vec![at(R::Visit, VISIT, "outcome", K::NotSeenWithAnswers)],
            ),
            (
                "defect level 0",
                |ds| ds.visits[0].outcome.defect_level = Some(0),
                vec![at(
                    R::Visit,
                    VISIT,
                    "outcome.defect_level",
                    K::DefectLevelOutOfRange,
                )],
            ),
            (
                "defect level 4",
                |ds| ds.visits[0].outcome.defect_level = Some(4),
                vec![at(
                    R::Visit,
                    VISIT,
                    "outcome.defect_level",
                    K::DefectLevelOutOfRange,
                )],
            ),
            (
                "new method for the other sex",
                |ds| ds.visits[0].outcome.new_method = Some(Method::Condom),
                vec![at(
                    R::Visit,
                    VISIT,
                    "outcome.new_method",
                    K::MethodNotForSex,
                )],
            ),
            // Plan.
            (
                "plan title blank",
                |ds| plan_mut(ds).title = "\t".into(),
                vec![at(R::Plan, PLAN, "title", K::TitleEmpty)],
            ),
            (
                "section title empty",
                |ds| plan_mut(ds).sections[0].title.clear(),
                vec![at(R::Plan, PLAN, "sections[0].title", K::TitleEmpty)],
            ),
            (
                "plan year 1999",
                |ds| {
                    plan_mut(ds).year = 1999;
                    plan_mut(ds).sections[0].measures.truncate(1);
                    ds.ticks.clear();
                },
                vec![at(R::Plan, PLAN, "year", K::PlanYearOutOfRange)],
            ),
            (
                "plan year 2101",
                |ds| {
                    plan_mut(ds).year = 2101;
                    plan_mut(ds).sections[0].measures.truncate(1);
                    ds.ticks.clear();
                },
                vec![at(R::Plan, PLAN, "year", K::PlanYearOutOfRange)],
            ),
            (
                "measure title blank",
                |ds| measure_mut(ds, 1).title = " ".into(),
                vec![at(
                    R::Plan,
                    PLAN,
                    "sections[0].measures[1].title",
                    K::TitleEmpty,
                )],
            ),
            (
                "measure on given dates without dates",
                |ds| measure_mut(ds, 1).recurrence = Recurrence::Dates { dates: vec![] },
                vec![at(
                    R::Plan,
                    PLAN,
                    "sections[0].measures[1].recurrence.dates",
                    K::NoDates,
                )],
            ),
            (
                "measure date in another year",
                |ds| {
                    measure_mut(ds, 1).recurrence = Recurrence::Dates {
                        dates: vec![d(2024, 3, 8), d(2025, 1, 2)],
                    };
                },
                vec![at(
                    R::Plan,
                    PLAN,
                    "sections[0].measures[1].recurrence.dates[1]",
                    K::DateOutsidePlanYear,
                )],
            ),
            (
                "two measures with one id",
                |ds| measure_mut(ds, 1).id = id(MONTHLY),
                vec![at(
                    R::Plan,
                    PLAN,
                    "sections[0].measures[1].id",
                    K::DuplicateMeasureId,
                )],
            ),
            (
                "goal above 100 %",
                |ds| plan_mut(ds).targets[1].goal_permille = 1001,
                vec![at(
                    R::Plan,
                    PLAN,
                    "targets[1].goal_permille",
                    K::GoalAbove100Percent,
                )],
            ),
            // Tick.
            (
                "tick of an unknown plan",
                |ds| ds.ticks[0].plan_id = id(999),
                vec![at(R::Tick, TICK, "plan_id", K::UnknownPlan)],
            ),
            (
                "tick of a deleted plan",
                |ds| plan_mut(ds).deleted = true,
                vec![at(R::Tick, TICK, "plan_id", K::UnknownPlan)],
            ),
            (
                "tick of an unknown measure",
                |ds| ds.ticks[0].measure_id = id(999),
                vec![at(R::Tick, TICK, "measure_id", K::UnknownMeasure)],
            ),
            (
                "tick of a 13th month",
                |ds| ds.ticks[0].occurrence = 12,
                vec![at(R::Tick, TICK, "occurrence", K::OccurrenceOutOfRange)],
            ),
            (
                "tick of a third date when there are two",
                |ds| {
                    ds.ticks[0].measure_id = id(ON_DATES);
                    ds.ticks[0].occurrence = 2;
                },
                vec![at(R::Tick, TICK, "occurrence", K::OccurrenceOutOfRange)],
            ),
            (
                "tick dated in the year before",
                |ds| ds.ticks[0].date = d(2023, 12, 31),
                vec![at(R::Tick, TICK, "date", K::TickDateOutsidePlanYear)],
            ),
            (
                "tick dated after today",
                |ds| ds.ticks[0].date = d(2024, 6, 16),
                vec![at(R::Tick, TICK, "date", K::TickDateInFuture)],
            ),
            (
                "tick reaching 100001 households",
                |ds| ds.ticks[0].households_reached = Some(100_001),
                vec![at(
                    R::Tick,
                    TICK,
                    "households_reached",
                    K::TooManyHouseholds,
                )],
            ),
            // The field limits of `crate::limits`, which the server applies too.
            (
                "township name too long",
                |ds| ds.villages[0].township = Some("镇".repeat(31)),
                vec![at(R::Village, V, "township", K::NameTooLong)],
            ),
            (
                "household phone no phone number",
                |ds| household_mut(ds, H1).phone = Some("12ab".into()),
                vec![at(R::Household, H1, "phone", K::PhoneInvalid)],
            ),
            (
                "household phone too long",
                |ds| household_mut(ds, H1).phone = Some("1".repeat(31)),
                vec![at(R::Household, H1, "phone", K::ShortTextTooLong)],
            ),
            (
                "household address too long",
                |ds| household_mut(ds, H1).address = Some("路".repeat(201)),
                vec![at(R::Household, H1, "address", K::LineTooLong)],
            ),
            (
                "household notes too long",
                |ds| household_mut(ds, H1).notes = Some("记".repeat(2001)),
                vec![at(R::Household, H1, "notes", K::NoteTooLong)],
            ),
            (
                "household notes short but too large as JSON",
                // Control characters take six bytes each in JSON.
                |ds| household_mut(ds, H1).notes = Some("\u{1}".repeat(2000)),
                vec![at(R::Household, H1, "notes", K::ValueTooLarge)],
            ),
            (
                "replace-by date in 2101",
                |ds| {
                    person_mut(ds, WIFE)
                        .contraception
                        .as_mut()
                        .unwrap()
                        .replace_by = Some(d(2101, 1, 1))
                },
                vec![at(
                    R::Person,
                    WIFE,
                    "contraception.replace_by",
                    K::DateOutOfRange,
                )],
            ),
            (
                "certificate number too long",
                |ds| person_mut(ds, MIGRANT).certificate.as_mut().unwrap().number = "证".repeat(31),
                vec![at(
                    R::Person,
                    MIGRANT,
                    "certificate.number",
                    K::ShortTextTooLong,
                )],
            ),
            (
                "measure with 367 dates",
                |ds| {
                    measure_mut(ds, 1).recurrence = Recurrence::Dates {
                        dates: vec![d(2024, 3, 8); 367],
                    }
                },
                vec![at(
                    R::Plan,
                    PLAN,
                    "sections[0].measures[1].recurrence.dates",
                    K::TooManyDates,
                )],
            ),
            (
                "plan sections over 64 KiB",
                |ds| {
                    let long = Some("说".repeat(MAX_NOTE_CHARS));
                    for n in 0..12 {
                        let mut m = measure(1000 + n, "宣传", Recurrence::Monthly);
                        m.description = long.clone();
                        ds.plans[0].sections[0].measures.push(m);
                    }
                },
                vec![at(R::Plan, PLAN, "sections", K::SectionsTooLarge)],
            ),
        ]
    }

    #[test]
    fn the_valid_sample_has_no_problems() {
        let data = sample();
        assert_eq!(validate_village(&data.villages[0]), vec![]);
        for h in &data.households {
            assert_eq!(validate_household(h, &data), vec![], "{}", h.number);
        }
        for p in &data.persons {
            assert_eq!(validate_person(p, &data, today()), vec![], "{}", p.name);
        }
        assert_eq!(validate_visit(&data.visits[0], &data, today()), vec![]);
        assert_eq!(validate_plan(&data.plans[0]), vec![]);
        assert_eq!(validate_tick(&data.ticks[0], &data, today()), vec![]);
        assert_eq!(validate_dataset(&data, today()), vec![]);
    }

    #[test]
    fn each_check_fires_with_its_field_and_key_and_nothing_else() {
        for (label, fault, expected) in cases() {
            let mut data = sample();
            fault(&mut data);
            assert_eq!(validate_dataset(&data, today()), expected, "case: {label}");
        }
    }

    #[test]
    fn every_message_key_is_raised_by_some_case() {
        let raised: HashSet<MessageKey> = cases()
            .into_iter()
            .flat_map(|(_, _, expected)| expected.into_iter().map(|(_, p)| p.key))
            .collect();
        let missing: Vec<_> = MessageKey::ALL
            .iter()
            .filter(|k| !raised.contains(k))
            .collect();
        assert!(missing.is_empty(), "keys no case raises: {missing:?}");
    }

    #[test]
    fn the_per_record_functions_agree_with_validate_dataset() {
        // The cases run through validate_dataset; this ties a few of them to
        // the function a form calls directly.
        let mut data = sample();
        person_mut(&mut data, WIFE).children = 21;
        let wife = data.person(id(WIFE)).unwrap();
        assert_eq!(
            validate_person(wife, &data, today()),
            vec![Problem::new("children", K::TooManyChildren)]
        );
        let mut village = data.villages[0].clone();
        village.name = String::new();
        assert_eq!(
            validate_village(&village),
            vec![Problem::new("name", K::NameEmpty)]
        );
    }

    #[test]
    fn boundaries_are_allowed() {
        let mut data = sample();
        data.villages[0].name = "村".repeat(MAX_NAME_CHARS);
        let wife = person_mut(&mut data, WIFE);
        wife.name = format!("  {}  ", "王".repeat(MAX_NAME_CHARS));
        wife.birth_date = Some(d(2004, 6, 15)); // 20 today
        wife.children = MAX_CHILDREN;
        wife.pregnancy = Pregnancy::Pregnant {
            last_period: d(2023, 8, 20), // 300 days ago
        };
        let c = wife.contraception.as_mut().unwrap();
        c.start = Some(today());
        c.replace_by = Some(today());
        let head = person_mut(&mut data, HEAD);
        head.birth_date = Some(d(2002, 6, 15)); // 22 today
        let migrant = person_mut(&mut data, MIGRANT);
        migrant.birth_date = Some(d(1904, 6, 15)); // 120 today
        migrant.menopause = Some(d(1939, 6, 15)); // at 35
        data.visits[0].date = d(2004, 6, 15); // on the birth day
        data.visits[0].next_visit = Some(d(2004, 6, 15));
        data.visits[0].outcome.defect_level = Some(3);
        data.plans[0].targets[0].goal_permille = MAX_GOAL_PERMILLE;
        data.ticks[0].date = today();
        data.ticks[0].occurrence = 11;
        data.ticks[0].households_reached = Some(MAX_HOUSEHOLDS_REACHED);
        assert_eq!(validate_dataset(&data, today()), vec![]);
    }

    #[test]
    fn a_record_with_several_faults_gets_all_of_them_at_once() {
        let mut data = sample();
        let p = person_mut(&mut data, HEAD);
        p.name = " ".into();
        p.household_id = id(999);
        p.birth_date = Some(d(2010, 1, 1));
        p.contraception = Some(Contraception {
            method: Method::Pill,
            start: Some(d(2024, 7, 1)),
            replace_by: Some(d(2024, 6, 1)),
            informed_choice: false,
        });
        p.pregnancy = Pregnancy::Pregnant {
            last_period: d(2024, 7, 1),
        };
        p.menopause = Some(d(2024, 1, 1));
        p.living = Living::OutMigrant {
            place: String::new(),
            since: Some(d(2024, 9, 1)),
        };
        p.certificate = Some(MigrantCertificate {
            number: String::new(),
            expires: None,
        });
        p.children = 25;
        let head = data.person(id(HEAD)).unwrap();
        let fields_and_keys: Vec<(&str, MessageKey)> = vec![
            ("name", K::NameEmpty),
            ("household_id", K::UnknownHousehold),
            ("marital", K::MarriedBelowLegalAge),
            ("contraception.replace_by", K::ReplaceByBeforeStart),
            ("contraception.start", K::MethodStartInFuture),
            ("contraception.method", K::MethodNotForSex),
            ("pregnancy", K::PregnancyForMale),
            ("pregnancy.last_period", K::LastPeriodInFuture),
            ("menopause", K::MenopauseForMale),
            ("living.place", K::OutMigrantPlaceEmpty),
            ("living.since", K::MigrantSinceInFuture),
            ("certificate.number", K::CertificateNumberEmpty),
            ("children", K::TooManyChildren),
        ];
        let expected: Vec<Problem> = fields_and_keys
            .into_iter()
            .map(|(f, k)| Problem::new(f, k))
            .collect();
        assert_eq!(validate_person(head, &data, today()), expected);

        let mut visit = data.visits[0].clone();
        visit.date = d(2024, 6, 20);
        visit.household_id = id(H2);
        visit.next_visit = Some(d(2024, 6, 1));
        visit.outcome.defect_level = Some(9);
        visit.outcome.new_method = Some(Method::MaleSterilisation);
        assert_eq!(
            validate_visit(&visit, &data, today()),
            vec![
                Problem::new("household_id", K::VisitHouseholdMismatch),
                Problem::new("date", K::VisitDateInFuture),
                Problem::new("next_visit", K::NextVisitBeforeVisit),
                Problem::new("outcome.defect_level", K::DefectLevelOutOfRange),
                Problem::new("outcome.new_method", K::MethodNotForSex),
            ]
        );

        let mut plan = data.plans[0].clone();
        plan.title.clear();
        plan.year = 1990;
        plan.targets[0].goal_permille = 2000;
        plan.sections[0].measures[1].id = id(MONTHLY);
        plan.sections[0].measures[1].title.clear();
        assert_eq!(
            validate_plan(&plan),
            vec![
                Problem::new("title", K::TitleEmpty),
                Problem::new("year", K::PlanYearOutOfRange),
                Problem::new("targets[0].goal_permille", K::GoalAbove100Percent),
                Problem::new("sections[0].measures[1].id", K::DuplicateMeasureId),
                Problem::new("sections[0].measures[1].title", K::TitleEmpty),
                Problem::new(
                    "sections[0].measures[1].recurrence.dates[0]",
                    K::DateOutsidePlanYear
                ),
                Problem::new(
                    "sections[0].measures[1].recurrence.dates[1]",
                    K::DateOutsidePlanYear
                ),
            ]
        );

        let mut tick = data.ticks[0].clone();
        tick.occurrence = 40;
        tick.date = d(2025, 2, 1);
        tick.households_reached = Some(u32::MAX);
        assert_eq!(
            validate_tick(&tick, &data, today()),
            vec![
                Problem::new("occurrence", K::OccurrenceOutOfRange),
                Problem::new("date", K::TickDateOutsidePlanYear),
                Problem::new("date", K::TickDateInFuture),
                Problem::new("households_reached", K::TooManyHouseholds),
            ]
        );
    }

    #[test]
    fn deleted_records_are_not_checked() {
        let mut data = sample();
        let mut ghost = person(99, 999, "", Sex::Male, d(2030, 1, 1));
        ghost.deleted = true;
        data.persons.push(ghost);
        let mut old_visit = data.visits[0].clone();
        old_visit.id = id(98);
        old_visit.date = d(2099, 1, 1);
        old_visit.deleted = true;
        data.visits.push(old_visit);
        assert_eq!(validate_dataset(&data, today()), vec![]);
    }

    fn is_chinese(c: char) -> bool {
        matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
    }

    #[test]
    fn every_key_has_chinese_and_english_text() {
        for &key in MessageKey::ALL {
            let (zh, en) = (key.zh(), key.en());
            assert!(!zh.trim().is_empty(), "{key:?}: empty zh");
            assert!(zh.chars().any(is_chinese), "{key:?}: zh without Chinese");
            assert!(!en.trim().is_empty(), "{key:?}: empty en");
            assert!(!en.chars().any(is_chinese), "{key:?}: en with Chinese");
            assert!(en.is_ascii(), "{key:?}: en with non-ASCII text: {en}");
        }
    }

    #[test]
    fn keys_are_listed_once_and_their_texts_are_distinct() {
        let keys: HashSet<_> = MessageKey::ALL.iter().collect();
        assert_eq!(keys.len(), MessageKey::ALL.len());
        let zh: HashSet<_> = MessageKey::ALL.iter().map(|k| k.zh()).collect();
        let en: HashSet<_> = MessageKey::ALL.iter().map(|k| k.en()).collect();
        assert_eq!(zh.len(), MessageKey::ALL.len(), "two keys share a zh text");
        assert_eq!(en.len(), MessageKey::ALL.len(), "two keys share an en text");
    }

    #[test]
    fn texts_quote_the_limits_they_explain() {
        let quotes: [(MessageKey, String); 18] = [
            (K::NameTooLong, MAX_NAME_CHARS.to_string()),
            (K::BirthDateTooOld, MAX_AGE_YEARS.to_string()),
            (
                K::MarriedBelowLegalAge,
                LEGAL_MARRIAGE_AGE_FEMALE.to_string(),
            ),
            (K::MarriedBelowLegalAge, LEGAL_MARRIAGE_AGE_MALE.to_string()),
            (K::LastPeriodTooLongAgo, MAX_PREGNANCY_DAYS.to_string()),
            (K::MenopauseTooYoung, MIN_MENOPAUSE_AGE.to_string()),
            (K::TooManyChildren, MAX_CHILDREN.to_string()),
            (K::PlanYearOutOfRange, PLAN_YEARS.start().to_string()),
            (K::PlanYearOutOfRange, PLAN_YEARS.end().to_string()),
            (K::TooManyHouseholds, MAX_HOUSEHOLDS_REACHED.to_string()),
            (K::ShortTextTooLong, MAX_SHORT_TEXT_CHARS.to_string()),
            (K::LineTooLong, MAX_LINE_CHARS.to_string()),
            (K::NoteTooLong, MAX_NOTE_CHARS.to_string()),
            (K::DateOutOfRange, DATE_YEARS.start().to_string()),
            (K::DateOutOfRange, DATE_YEARS.end().to_string()),
            (K::TooManyDates, MAX_MEASURE_DATES.to_string()),
            (K::ValueTooLarge, MAX_VALUE_BYTES.to_string()),
            (K::SectionsTooLarge, MAX_SECTIONS_BYTES.to_string()),
        ];
        for (key, number) in quotes {
            assert!(key.zh().contains(&number), "{key:?} zh lacks {number}");
            assert!(key.en().contains(&number), "{key:?} en lacks {number}");
        }
        assert!(
            K::GoalAbove100Percent
                .en()
                .contains(&(MAX_GOAL_PERMILLE / 10).to_string())
        );
    }

    #[test]
    fn no_enforcement_language() {
        for &key in MessageKey::ALL {
            for word in ["罚", "违", "处分", "强制", "超生"] {
                assert!(!key.zh().contains(word), "{key:?}: {word}");
            }
            let en = key.en().to_lowercase();
            for word in ["fine", "penalty", "violat", "illegal", "punish"] {
                assert!(!en.contains(word), "{key:?}: {word}");
            }
        }
    }

    #[test]
    fn problems_serialise_with_stable_codes() {
        let json = serde_json::to_string(&Problem::new("children", K::TooManyChildren)).unwrap();
        assert_eq!(json, r#"{"field":"children","key":"too_many_children"}"#);
        let back: Problem = serde_json::from_str(&json).unwrap();
        assert_eq!(back.key, K::TooManyChildren);
    }

    #[test]
    fn future_checks_follow_the_given_today() {
        let mut data = sample();
        data.visits[0].date = d(2024, 8, 1);
        data.visits[0].next_visit = None;
        let visit = data.visits[0].clone();
        assert_eq!(
            validate_visit(&visit, &data, today()),
            vec![Problem::new("date", K::VisitDateInFuture)]
        );
        assert_eq!(validate_visit(&visit, &data, d(2024, 8, 1)), vec![]);
    }

    proptest! {
        /// Validation is a function of its inputs: the same dataset and day
        /// give the same answer, on a copy as on the original, and checking
        /// changes nothing.
        #[test]
        fn validation_depends_only_on_its_inputs(
            days in -40_000i64..40_000,
            children in 0u8..=40,
            level in proptest::option::of(0u8..=6),
        ) {
            let day = today() + chrono::Duration::days(days);
            let mut data = sample();
            person_mut(&mut data, WIFE).children = children;
            data.visits[0].outcome.defect_level = level;
            let before = data.clone();
            let first = validate_dataset(&data, day);
            let second = validate_dataset(&data.clone(), day);
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(&data, &before);
            let per_record: Vec<Problem> = data
                .persons
                .iter()
                .flat_map(|p| validate_person(p, &data, day))
                .collect();
            let from_dataset: Vec<Problem> = first
                .into_iter()
                .filter(|(r, _)| r.kind == RecordKind::Person)
                .map(|(_, p)| p)
                .collect();
            prop_assert_eq!(per_record, from_dataset);
        }
    }
}

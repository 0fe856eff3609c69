//! 字段限值: the checks one field's value passes on its own, whoever sent it.
//!
//! [`check_field`] is what the server applies to every pushed change and
//! every settled value ([`Change::validate`](crate::sync::Change::validate));
//! the app's forms apply the very same checks through the `validate_*`
//! functions of [`crate::validate`], which add the per-record `*_limits`
//! problems of this module to their own, so a form shows the error before a
//! push could be refused.
//!
//! A field's own limits are:
//! - its type and enum values (the record's serde shape, as
//!   [`RecordKind::check_value`] decodes it);
//! - text lengths in characters after trimming: names (a person's, a
//!   village's or township's, who recorded a visit or ticked a task) up to
//!   [`MAX_NAME_CHARS`], short texts up to [`MAX_SHORT_TEXT_CHARS`], lines up
//!   to [`MAX_LINE_CHARS`], notes up to [`MAX_NOTE_CHARS`];
//! - numeric ranges: children, the defect level, the plan year, goals, the
//!   households reached, a tick's occurrence, the dates a measure lists;
//! - every date, nested ones included, within [`DATE_YEARS`];
//! - the value's size as JSON: [`MAX_VALUE_BYTES`], or [`MAX_SECTIONS_BYTES`]
//!   for a plan's `sections`.
//!
//! Nested fields (a person's contraception, pregnancy, living, certificate;
//! a visit's outcome; a plan's targets and sections with their measures) are
//! checked all the way down, and a problem names its path
//! (`sections[0].measures[2].title`).
//!
//! What is deliberately absent:
//! - **"Not after today"** stays a form check. The core reads no clock, and
//!   a phone's "today" is not the server's: a visit recorded just after
//!   midnight on a phone whose clock runs a few minutes ahead, or synced
//!   from a timezone ahead of the server's, would be refused for a day it
//!   rightly holds, and the worker could do nothing about it. The fixed
//!   [`DATE_YEARS`] bound needs no clock and refuses what is absurd on any
//!   day.
//! - **Cross-field and cross-record checks** (a duplicate household number,
//!   a head who is not of the household, an unknown parent, a method that
//!   does not fit the sex, a replace-by date before the start) judge a value
//!   against others, which arrive as separate changes, perhaps from
//!   different phones: two phones offline may each make a valid edit that
//!   merges into a pair the check would refuse, and neither push is wrong.
//!   They stay with the forms. The server's village and parent checks are
//!   about access, not data, and live in the server.
//! - **Empty texts** (a blank name or title) are a prompt to complete the
//!   record, not a danger: the form asks for them, the server does not.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;

use crate::model::{
    Contraception, Household, Living, MigrantCertificate, Person, Pregnancy, Village, Visit,
};
use crate::plan::{Recurrence, Tick, WorkPlan};
use crate::sync::{ID_FIELD, RecordKind};
use crate::validate::{
    DATE_YEARS, DEFECT_LEVELS, MAX_CHILDREN, MAX_GOAL_PERMILLE, MAX_HOUSEHOLDS_REACHED,
    MAX_LINE_CHARS, MAX_MEASURE_DATES, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_SECTIONS_BYTES,
    MAX_SHORT_TEXT_CHARS, MAX_VALUE_BYTES, MessageKey, PLAN_YEARS, Problem, Problems,
};

/// Why a field's value was refused: the path of the part at fault and the
/// reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRefusal {
    /// The record's kind.
    pub kind: RecordKind,
    /// The path at fault: the field, or a part of it
    /// (`contraception.start`, `sections[0].title`).
    pub path: String,
    /// The form's message, when the value has the right shape but breaks a
    /// limit; `None` for a value of the wrong type or an unknown field,
    /// which no form can produce.
    pub key: Option<MessageKey>,
    /// What is wrong, in English.
    pub reason: String,
}

impl fmt::Display for FieldRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field `{}` of a {}: {}",
            self.path,
            self.kind.name(),
            self.reason
        )
    }
}

/// The most bytes `field` of `kind` may take as JSON.
pub fn max_value_bytes(kind: RecordKind, field: &str) -> usize {
    if kind == RecordKind::Plan && field == "sections" {
        MAX_SECTIONS_BYTES
    } else {
        MAX_VALUE_BYTES
    }
}

/// Checks one field's value of a record of `kind` on its own (see the
/// module's doc for what that covers and what it leaves to the forms).
/// `null` means absent: the field takes its default, which only an optional
/// field may. The first problem found, with its path and reason.
///
/// ```
/// use fieldbook_core::limits::check_field;
/// use fieldbook_core::sync::RecordKind;
/// use serde_json::json;
///
/// assert!(check_field(RecordKind::Person, "name", &json!("王秀英")).is_ok());
/// let refused = check_field(RecordKind::Person, "name", &json!("王".repeat(31))).unwrap_err();
/// assert_eq!(refused.path, "name");
/// assert!(check_field(RecordKind::Person, "children", &json!(21)).is_err());
/// ```
pub fn check_field(kind: RecordKind, field: &str, value: &Value) -> Result<(), FieldRefusal> {
    let refusal = |path: &str, key: Option<MessageKey>, reason: String| FieldRefusal {
        kind,
        path: path.to_string(),
        key,
        reason,
    };
    if field == ID_FIELD {
        return Err(refusal(
            field,
            None,
            "the id is not a field: it cannot change".to_string(),
        ));
    }
    // The size first: a huge value is refused before it is decoded.
    let bytes = json_len(value);
    let max = max_value_bytes(kind, field);
    if bytes > max {
        return Err(refusal(
            field,
            Some(size_key(kind, field)),
            format!("the value takes {bytes} bytes as JSON; at most {max} are allowed"),
        ));
    }
    kind.check_value(field, value).map_err(|reason| {
        // `check_value` names the field and kind itself; keep serde's part.
        let reason = reason
            .split_once(": ")
            .map_or(reason.clone(), |(_, r)| r.to_string());
        refusal(field, None, reason)
    })?;
    let object = Value::Object(kind.with_value(field, value));
    let problems = record_limits(kind, object).unwrap_or_default();
    match problems.into_iter().find(|p| is_within(&p.field, field)) {
        None => Ok(()),
        Some(problem) => Err(refusal(
            &problem.field,
            Some(problem.key),
            problem.key.en().to_string(),
        )),
    }
}

/// The limits problems of a record given as JSON (`None` when it does not
/// decode as `kind`).
fn record_limits(kind: RecordKind, object: Value) -> Option<Vec<Problem>> {
    Some(match kind {
        RecordKind::Village => village_limits(&serde_json::from_value(object).ok()?),
        RecordKind::Household => household_limits(&serde_json::from_value(object).ok()?),
        RecordKind::Person => person_limits(&serde_json::from_value(object).ok()?),
        RecordKind::Visit => visit_limits(&serde_json::from_value(object).ok()?),
        RecordKind::Plan => plan_limits(&serde_json::from_value(object).ok()?),
        RecordKind::Tick => tick_limits(&serde_json::from_value(object).ok()?),
    })
}

/// Whether `path` is `field` or a part of it.
fn is_within(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn size_key(kind: RecordKind, field: &str) -> MessageKey {
    if max_value_bytes(kind, field) == MAX_SECTIONS_BYTES {
        MessageKey::SectionsTooLarge
    } else {
        MessageKey::ValueTooLarge
    }
}

/// The length of a value's JSON text, counted without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The kinds of free text and their limits.
#[derive(Clone, Copy)]
enum Text {
    Name,
    Short,
    Line,
    Note,
}

impl Text {
    fn limit(self) -> (usize, MessageKey) {
        match self {
            Text::Name => (MAX_NAME_CHARS, MessageKey::NameTooLong),
            Text::Short => (MAX_SHORT_TEXT_CHARS, MessageKey::ShortTextTooLong),
            Text::Line => (MAX_LINE_CHARS, MessageKey::LineTooLong),
            Text::Note => (MAX_NOTE_CHARS, MessageKey::NoteTooLong),
        }
    }
}

impl Problems {
    fn text(&mut self, field: &str, kind: Text, text: &str) {
        let (max, key) = kind.limit();
        self.flag(text.trim().chars().count() > max, field, key);
    }

    fn opt_text(&mut self, field: &str, kind: Text, text: &Option<String>) {
        if let Some(text) = text {
            self.text(field, kind, text);
        }
    }

    /// A phone number: a short text (its length first, so an over-long
    /// value is told so), then a mobile or landline number.
    fn opt_phone(&mut self, field: &str, phone: &Option<String>) {
        let Some(phone) = phone else {
            return;
        };
        let (max, key) = Text::Short.limit();
        if phone.trim().chars().count() > max {
            self.add(field, key);
        } else {
            self.flag(!is_valid_phone(phone), field, MessageKey::PhoneInvalid);
        }
    }

    fn date(&mut self, field: &str, day: NaiveDate) {
        self.flag(
            !DATE_YEARS.contains(&day.year()),
            field,
            MessageKey::DateOutOfRange,
        );
    }

    fn opt_date(&mut self, field: &str, day: Option<NaiveDate>) {
        if let Some(day) = day {
            self.date(field, day);
        }
    }

    /// Every field of `record` within its size as JSON.
    fn sizes<T: Serialize>(&mut self, kind: RecordKind, record: &T) {
        let Ok(Value::Object(fields)) = serde_json::to_value(record) else {
            return;
        };
        for (field, value) in fields.iter().filter(|(f, _)| *f != ID_FIELD) {
            self.flag(
                json_len(value) > max_value_bytes(kind, field),
                field,
                size_key(kind, field),
            );
        }
    }
}

/// Whether `text` is a Chinese phone number a worker can call:
/// - a mobile number: 11 digits starting with 1 (`13800138000`,
///   `138 0013 8000`, `138-0013-8000`);
/// - a landline with its area code: 0, two or three more digits, then 7 or
///   8 digits (`0571-88886666`, `010 88886666`, `(0571)88886666`), with an
///   optional extension after 转 (`0571-88886666转123`, 1 to 6 digits);
/// - either with an optional `+86` or `86` in front, after which a
///   landline's leading 0 may be left out (`+86 571 8888 6666`).
///
/// Spaces, dashes and brackets between digits are allowed; letters are not.
/// An empty text is no phone number (the forms store an empty field as
/// none).
///
/// ```
/// use fieldbook_core::limits::is_valid_phone;
/// assert!(is_valid_phone("13800138000"));
/// assert!(is_valid_phone("+86 138-0013-8000"));
/// assert!(is_valid_phone("0571-88886666"));
/// assert!(!is_valid_phone("abc"));
/// assert!(!is_valid_phone("12ab"));
/// assert!(!is_valid_phone("110"));
/// ```
pub fn is_valid_phone(text: &str) -> bool {
    let text = text.trim();
    let (number, extension) = match text.split_once('转') {
        Some((number, extension)) => (number, Some(extension.trim())),
        None => (text, None),
    };
    if extension.is_some_and(|e| {
        e.is_empty() || e.chars().count() > 6 || !e.chars().all(|c| c.is_ascii_digit())
    }) {
        return false;
    }
    let (prefixed, rest) = match number.strip_prefix('+') {
        Some(rest) => match rest.trim_start().strip_prefix("86") {
            Some(rest) => (true, rest),
            None => return false,
        },
        None => (false, number),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return false;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    // "86" without the plus: a country code only before a number that is
    // valid without it (no valid number starts with 86).
    let (prefixed, digits) = match digits.strip_prefix("86") {
        Some(without) if !prefixed => (true, without.to_string()),
        _ => (prefixed, digits),
    };
    let bytes = digits.as_bytes();
    let mobile = bytes.len() == 11 && bytes[0] == b'1';
    let landline = bytes.len() >= 10 && bytes.len() <= 12 && bytes[0] == b'0' && bytes[1] != b'0';
    let landline_abroad =
        prefixed && (9..=11).contains(&bytes.len()) && !matches!(bytes[0], b'0' | b'1');
    let beijing_abroad = prefixed && bytes.len() == 10 && bytes.starts_with(b"10");
    if mobile {
        // A mobile number has no extension.
        return extension.is_none();
    }
    landline || landline_abroad || beijing_abroad
}

/// A village's own limits: its name and township are names.
pub fn village_limits(village: &Village) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Village, village);
    out.text("name", Text::Name, &village.name);
    out.opt_text("township", Text::Name, &village.township);
    out.0
}

/// A household's own limits: its texts.
pub fn household_limits(household: &Household) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Household, household);
    out.text("number", Text::Short, &household.number);
    out.opt_text("group", Text::Short, &household.group);
    out.opt_text("address", Text::Line, &household.address);
    out.opt_phone("phone", &household.phone);
    out.opt_text("notes", Text::Note, &household.notes);
    out.0
}

/// A person's own limits: texts, every date, nested ones included, and the
/// number of children.
pub fn person_limits(person: &Person) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Person, person);
    out.text("name", Text::Name, &person.name);
    out.opt_date("birth_date", person.birth_date);
    out.opt_text("relation", Text::Short, &person.relation);
    out.opt_phone("phone", &person.phone);
    match &person.living {
        Living::Resident => {}
        Living::OutMigrant { place, since } | Living::InMigrant { place, since } => {
            out.text("living.place", Text::Line, place);
            out.opt_date("living.since", *since);
        }
        Living::Deregistered { date, .. } => out.opt_date("living.date", *date),
    }
    if let Some(MigrantCertificate { number, expires }) = &person.certificate {
        out.text("certificate.number", Text::Short, number);
        out.opt_date("certificate.expires", *expires);
    }
    out.flag(
        person.children > MAX_CHILDREN,
        "children",
        MessageKey::TooManyChildren,
    );
    match person.pregnancy {
        Pregnancy::None => {}
        Pregnancy::Pregnant { last_period } => out.date("pregnancy.last_period", last_period),
        Pregnancy::Delivered { on } => out.date("pregnancy.on", on),
    }
    if let Some(Contraception {
        start, replace_by, ..
    }) = &person.contraception
    {
        out.opt_date("contraception.start", *start);
        out.opt_date("contraception.replace_by", *replace_by);
    }
    out.opt_date("menopause", person.menopause);
    out.opt_text("exemption", Text::Line, &person.exemption);
    out.0
}

/// A visit's own limits: its dates, who recorded it, the defect level and
/// the notes.
pub fn visit_limits(visit: &Visit) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Visit, visit);
    out.date("date", visit.date);
    out.opt_text("recorded_by", Text::Name, &visit.recorded_by);
    out.flag(
        visit
            .outcome
            .defect_level
            .is_some_and(|l| !DEFECT_LEVELS.contains(&l)),
        "outcome.defect_level",
        MessageKey::DefectLevelOutOfRange,
    );
    out.opt_text("notes", Text::Note, &visit.notes);
    out.opt_date("next_visit", visit.next_visit);
    out.opt_date(
        "not_seen.come_back",
        visit.not_seen.and_then(|n| n.come_back),
    );
    out.0
}

/// A plan's own limits: the year, titles, goals, and each section's and
/// measure's texts and dates.
pub fn plan_limits(plan: &WorkPlan) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Plan, plan);
    out.flag(
        !PLAN_YEARS.contains(&plan.year),
        "year",
        MessageKey::PlanYearOutOfRange,
    );
    out.text("title", Text::Line, &plan.title);
    out.opt_text("title_en", Text::Line, &plan.title_en);
    for (t, target) in plan.targets.iter().enumerate() {
        out.flag(
            target.goal_permille > MAX_GOAL_PERMILLE,
            &format!("targets[{t}].goal_permille"),
            MessageKey::GoalAbove100Percent,
        );
    }
    for (s, section) in plan.sections.iter().enumerate() {
        let at = format!("sections[{s}]");
        out.text(&format!("{at}.title"), Text::Line, &section.title);
        out.opt_text(&format!("{at}.title_en"), Text::Line, &section.title_en);
        for (m, measure) in section.measures.iter().enumerate() {
            let at = format!("{at}.measures[{m}]");
            out.text(&format!("{at}.title"), Text::Line, &measure.title);
            out.opt_text(&format!("{at}.title_en"), Text::Line, &measure.title_en);
            out.opt_text(
                &format!("{at}.description"),
                Text::Note,
                &measure.description,
            );
            out.opt_text(
                &format!("{at}.description_en"),
                Text::Note,
                &measure.description_en,
            );
            if let Recurrence::Dates { dates } = &measure.recurrence {
                out.flag(
                    dates.len() > MAX_MEASURE_DATES,
                    &format!("{at}.recurrence.dates"),
                    MessageKey::TooManyDates,
                );
                for (d, day) in dates.iter().enumerate() {
                    out.date(&format!("{at}.recurrence.dates[{d}]"), *day);
                }
            }
        }
    }
    out.0
}

/// A tick's own limits: the occurrence (a measure has at most
/// [`MAX_MEASURE_DATES`] tasks a year), the date, who ticked it, the note and
/// the households reached.
pub fn tick_limits(tick: &Tick) -> Vec<Problem> {
    let mut out = Problems::default();
    out.sizes(RecordKind::Tick, tick);
    out.flag(
        usize::from(tick.occurrence) >= MAX_MEASURE_DATES,
        "occurrence",
        MessageKey::OccurrenceOutOfRange,
    );
    out.date("date", tick.date);
    out.opt_text("by", Text::Name, &tick.by);
    out.opt_text("note", Text::Note, &tick.note);
    out.flag(
        tick.households_reached
            .is_some_and(|n| n > MAX_HOUSEHOLDS_REACHED),
        "households_reached",
        MessageKey::TooManyHouseholds,
    );
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Size, generate};
    use crate::model::Id;
    use crate::templates::builtin;
    use MessageKey as K;
    use RecordKind as R;
    use serde_json::json;

    fn refused(kind: RecordKind, field: &str, value: Value) -> FieldRefusal {
        check_field(kind, field, &value)
            .expect_err(&format!("{kind:?}.{field} = {value} should be refused"))
    }

    fn long(n: usize) -> Value {
        json!("字".repeat(n))
    }

    #[test]
    fn each_limit_refuses_with_its_path_and_key() {
        let measure = |extra: Value| {
            let mut m =
                json!({"id": Id::nil(), "title": "宣传", "recurrence": {"every": "monthly"}});
            for (k, v) in extra.as_object().unwrap() {
                m[k] = v.clone();
            }
            json!([{"id": Id::nil(), "title": "一、服务", "measures": [m]}])
        };
        let cases: Vec<(R, &str, Value, &str, K)> = vec![
            (R::Village, "name", long(31), "name", K::NameTooLong),
            (R::Village, "township", long(31), "township", K::NameTooLong),
            (
                R::Household,
                "number",
                long(31),
                "number",
                K::ShortTextTooLong,
            ),
            (
                R::Household,
                "group",
                long(31),
                "group",
                K::ShortTextTooLong,
            ),
            (
                R::Household,
                "address",
                long(201),
                "address",
                K::LineTooLong,
            ),
            (
                R::Household,
                "phone",
                long(31),
                "phone",
                K::ShortTextTooLong,
            ),
            (R::Household, "notes", long(2001), "notes", K::NoteTooLong),
            (R::Person, "name", long(31), "name", K::NameTooLong),
            (
                R::Person,
                "relation",
                long(31),
                "relation",
                K::ShortTextTooLong,
            ),
            (R::Person, "phone", long(31), "phone", K::ShortTextTooLong),
            (
                R::Person,
                "exemption",
                long(201),
                "exemption",
                K::LineTooLong,
            ),
            (
                R::Person,
                "children",
                json!(21),
                "children",
                K::TooManyChildren,
            ),
            (
                R::Person,
                "birth_date",
                json!("1899-12-31"),
                "birth_date",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "menopause",
                json!("2101-01-01"),
                "menopause",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "living",
                json!({"status": "out_migrant", "place": "字".repeat(201)}),
                "living.place",
                K::LineTooLong,
            ),
            (
                R::Person,
                "living",
                json!({"status": "in_migrant", "place": "河南", "since": "1800-01-01"}),
                "living.since",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "living",
                json!({"status": "deregistered", "reason": "deceased", "date": "2200-01-01"}),
                "living.date",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "certificate",
                json!({"number": "证".repeat(31)}),
                "certificate.number",
                K::ShortTextTooLong,
            ),
            (
                R::Person,
                "certificate",
                json!({"number": "1", "expires": "2101-01-01"}),
                "certificate.expires",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "pregnancy",
                json!({"status": "pregnant", "last_period": "1000-01-01"}),
                "pregnancy.last_period",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "pregnancy",
                json!({"status": "delivered", "on": "2101-01-01"}),
                "pregnancy.on",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "contraception",
                json!({"method": "iud", "start": "1899-01-01"}),
                "contraception.start",
                K::DateOutOfRange,
            ),
            (
                R::Person,
                "contraception",
                json!({"method": "iud", "replace_by": "2101-01-01"}),
                "contraception.replace_by",
                K::DateOutOfRange,
            ),
            (
                R::Visit,
                "date",
                json!("2101-01-01"),
                "date",
                K::DateOutOfRange,
            ),
            (
                R::Visit,
                "next_visit",
                json!("1899-01-01"),
                "next_visit",
                K::DateOutOfRange,
            ),
            (
                R::Visit,
                "not_seen",
                json!({"reason": "not_home", "come_back": "2101-01-01"}),
                "not_seen.come_back",
                K::DateOutOfRange,
            ),
            (
                R::Visit,
                "recorded_by",
                long(31),
                "recorded_by",
                K::NameTooLong,
            ),
            (R::Visit, "notes", long(2001), "notes", K::NoteTooLong),
            (
                R::Visit,
                "outcome",
                json!({"defect_level": 4}),
                "outcome.defect_level",
                K::DefectLevelOutOfRange,
            ),
            (
                R::Visit,
                "outcome",
                json!({"defect_level": 0}),
                "outcome.defect_level",
                K::DefectLevelOutOfRange,
            ),
            (R::Plan, "year", json!(1999), "year", K::PlanYearOutOfRange),
            (R::Plan, "year", json!(2101), "year", K::PlanYearOutOfRange),
            (R::Plan, "title", long(201), "title", K::LineTooLong),
            (
                R::Plan,
                "title_en",
                json!("x".repeat(201)),
                "title_en",
                K::LineTooLong,
            ),
            (
                R::Plan,
                "targets",
                json!([{"indicator": "awareness", "goal_permille": 1001}]),
                "targets[0].goal_permille",
                K::GoalAbove100Percent,
            ),
            (
                R::Plan,
                "sections",
                json!([{"id": Id::nil(), "title": "字".repeat(201), "measures": []}]),
                "sections[0].title",
                K::LineTooLong,
            ),
            (
                R::Plan,
                "sections",
                measure(json!({"title": "字".repeat(201)})),
                "sections[0].measures[0].title",
                K::LineTooLong,
            ),
            (
                R::Plan,
                "sections",
                measure(json!({"description_en": "x".repeat(2001)})),
                "sections[0].measures[0].description_en",
                K::NoteTooLong,
            ),
            (
                R::Plan,
                "sections",
                measure(
                    json!({"recurrence": {"every": "dates", "dates": vec!["2024-01-01"; 367]}}),
                ),
                "sections[0].measures[0].recurrence.dates",
                K::TooManyDates,
            ),
            (
                R::Plan,
                "sections",
                measure(
                    json!({"recurrence": {"every": "dates", "dates": ["2024-01-01", "2150-01-01"]}}),
                ),
                "sections[0].measures[0].recurrence.dates[1]",
                K::DateOutOfRange,
            ),
            (
                R::Tick,
                "occurrence",
                json!(366),
                "occurrence",
                K::OccurrenceOutOfRange,
            ),
            (
                R::Tick,
                "date",
                json!("1899-12-31"),
                "date",
                K::DateOutOfRange,
            ),
            (R::Tick, "by", long(31), "by", K::NameTooLong),
            (R::Tick, "note", long(2001), "note", K::NoteTooLong),
            (
                R::Tick,
                "households_reached",
                json!(100_001),
                "households_reached",
                K::TooManyHouseholds,
            ),
            // The size as JSON, before any decoding.
            (
                R::Household,
                "notes",
                json!("\u{1}".repeat(1400)),
                "notes",
                K::ValueTooLarge,
            ),
            (
                R::Person,
                "name",
                json!("x".repeat(9000)),
                "name",
                K::ValueTooLarge,
            ),
            (
                R::Plan,
                "sections",
                json!("x".repeat(MAX_SECTIONS_BYTES)),
                "sections",
                K::SectionsTooLarge,
            ),
        ];
        for (kind, field, value, path, key) in cases {
            let r = refused(kind, field, value);
            assert_eq!(
                (r.path.as_str(), r.key),
                (path, Some(key)),
                "{kind:?}.{field}"
            );
            let text = r.to_string();
            assert!(text.contains(&format!("`{path}`")), "{text}");
            assert!(text.contains(kind.name()), "{text}");
        }
    }

    #[test]
    fn the_boundaries_are_accepted() {
        let ok: Vec<(R, &str, Value)> = vec![
            (R::Village, "name", long(30)),
            (
                R::Household,
                "number",
                json!(format!("  {}  ", "1".repeat(30))),
            ),
            (R::Household, "address", long(200)),
            (R::Household, "notes", long(2000)),
            (R::Household, "notes", Value::Null),
            (R::Person, "children", json!(20)),
            (R::Person, "birth_date", json!("1900-01-01")),
            (R::Person, "menopause", json!("2100-12-31")),
            (R::Person, "name", json!("")),
            (R::Visit, "outcome", json!({"defect_level": 3})),
            (R::Plan, "year", json!(2100)),
            (R::Tick, "occurrence", json!(365)),
            (R::Tick, "households_reached", json!(100_000)),
        ];
        for (kind, field, value) in ok {
            assert_eq!(
                check_field(kind, field, &value),
                Ok(()),
                "{kind:?}.{field} = {value}"
            );
        }
    }

    #[test]
    fn shapes_are_refused_without_a_form_message() {
        for (kind, field, value) in [
            (R::Person, "sex", json!("x")),
            (R::Person, "sex", Value::Null),
            (R::Person, "children", json!(-1)),
            (R::Person, "children", json!(256)),
            (R::Person, "favourite_colour", json!("red")),
            (R::Person, ID_FIELD, json!(Id::nil())),
            (R::Visit, "kind", json!("raid")),
            (R::Person, "living", json!({"status": "abroad"})),
        ] {
            let r = refused(kind, field, value);
            assert_eq!(r.key, None, "{kind:?}.{field}");
            assert_eq!(r.path, field);
        }
    }

    #[test]
    fn a_real_plans_sections_need_their_larger_limit() {
        let village = Id::from_u128(1);
        let mut largest = 0;
        for template in builtin() {
            let mut n = 10u128;
            let plan = template.instantiate(village, 2026, &mut || {
                n += 1;
                Id::from_u128(n)
            });
            let json = serde_json::to_value(&plan).unwrap();
            for (field, value) in json.as_object().unwrap() {
                if field != ID_FIELD {
                    assert_eq!(check_field(R::Plan, field, value), Ok(()), "{field}");
                }
            }
            largest = largest.max(json_len(&json["sections"]));
        }
        // Over the general limit, as the doc of MAX_SECTIONS_BYTES says, and
        // well within its own.
        assert!(largest > MAX_VALUE_BYTES, "{largest}");
        assert!(largest * 3 < MAX_SECTIONS_BYTES, "{largest}");
    }

    #[test]
    fn every_field_of_the_synthetic_village_passes() {
        let data = generate(7, Size::Small, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        let records: Vec<(R, Value)> = std::iter::empty()
            .chain(
                data.villages
                    .iter()
                    .map(|r| (R::Village, serde_json::to_value(r))),
            )
            .chain(
                data.households
                    .iter()
                    .map(|r| (R::Household, serde_json::to_value(r))),
            )
            .chain(
                data.persons
                    .iter()
                    .map(|r| (R::Person, serde_json::to_value(r))),
            )
            .chain(
                data.visits
                    .iter()
                    .map(|r| (R::Visit, serde_json::to_value(r))),
            )
            .chain(
                data.plans
                    .iter()
                    .map(|r| (R::Plan, serde_json::to_value(r))),
            )
            .chain(
                data.ticks
                    .iter()
                    .map(|r| (R::Tick, serde_json::to_value(r))),
            )
            .map(|(k, v)| (k, v.unwrap()))
            .collect();
        for (kind, record) in records {
            for (field, value) in record.as_object().unwrap() {
                if field != ID_FIELD {
                    assert_eq!(check_field(kind, field, value), Ok(()), "{kind:?}.{field}");
                }
            }
        }
    }
}

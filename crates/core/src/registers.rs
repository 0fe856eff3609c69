//! The registers that replace the paperwork (DOMAIN.md "Tables the app
//! replaces"): a row model for each table, built from the records, and CSV
//! output that Excel opens with the Chinese intact (UTF-8 with a BOM).
//!
//! Each register is a [`Table`]: a title, Chinese column headers and rows of
//! text cells, which the app shows on screen, prints on A4 and exports.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::data::Dataset;
use crate::indicators::{Indicator, indicators, reference_day};
use crate::labels::{Label, yes_no_zh};
use crate::model::{
    DeregisterReason, Household, Id, Living, MaritalStatus, Method, Person, Pregnancy, Sex, Visit,
    VisitKind,
};
use crate::period::Period;
use crate::plan::{IndicatorKind, Recurrence, is_ticked};
use crate::rules::Rules;

/// A register ready to show, print or export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    /// The register's title, e.g. "育龄妇女花名册".
    pub title: String,
    /// Column headers, in Chinese.
    pub headers: Vec<&'static str>,
    /// The rows; each has one cell per header.
    pub rows: Vec<Vec<String>>,
}

/// The byte-order mark that tells Excel a CSV file is UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl Table {
    /// The table as CSV: UTF-8 with a BOM, a header line, then the rows,
    /// every cell made safe to open in a spreadsheet ([`safe_cell`]).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(UTF8_BOM.to_vec());
        // Writing to a Vec cannot fail, and every row has the header's width.
        writer
            .write_record(self.headers.iter().map(|h| safe_cell(h).into_owned()))
            .expect("in-memory CSV");
        for row in &self.rows {
            writer
                .write_record(row.iter().map(|cell| safe_cell(cell).into_owned()))
                .expect("in-memory CSV");
        }
        writer.into_inner().expect("in-memory CSV")
    }
}

/// The language a register is shown in: its title, headers and the words
/// in its cells (names, places and notes stay as typed). CSV follows the
/// screen's language; dates are ISO in both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Lang {
    /// 中文, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`, by the language.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn headers(self, pairs: &[(&'static str, &'static str)]) -> Vec<&'static str> {
        pairs.iter().map(|(zh, en)| self.pick(zh, en)).collect()
    }

    /// A fixed word of a cell (a label such as 初婚 or 是) in the language;
    /// a word with no English stays as it is.
    fn word(self, zh: &str) -> String {
        match self {
            Lang::Zh => zh.to_owned(),
            Lang::En => english(zh).unwrap_or(zh).to_owned(),
        }
    }
}

/// The registers' own cell words, with their English.
const WORDS: [(&str, &str); 10] = [
    ("是", "yes"),
    ("否", "no"),
    ("无", "none"),
    ("已查", "checked"),
    ("未查", "not checked"),
    ("已完成", "done"),
    ("未完成", "not done"),
    ("进行中", "in progress"),
    ("达标", "met"),
    ("未达标", "not met"),
];

fn find_label<T: Label>(zh: &str, all: &[T]) -> Option<&'static str> {
    all.iter().find(|l| l.zh() == zh).map(Label::en)
}

/// The English of a cell word: the registers' own words, then the model's
/// labels (crate::labels).
fn english(zh: &str) -> Option<&'static str> {
    let day = NaiveDate::MIN;
    WORDS
        .iter()
        .find(|(z, _)| *z == zh)
        .map(|(_, en)| *en)
        .or_else(|| find_label(zh, &[Sex::Female, Sex::Male]))
        .or_else(|| {
            find_label(
                zh,
                &[
                    MaritalStatus::Unmarried,
                    MaritalStatus::FirstMarriage,
                    MaritalStatus::Remarried,
                    MaritalStatus::Divorced,
                    MaritalStatus::Widowed,
                ],
            )
        })
        .or_else(|| {
            find_label(
                zh,
                &[
                    Living::Resident,
                    Living::OutMigrant {
                        place: String::new(),
                        since: None,
                    },
                    Living::InMigrant {
                        place: String::new(),
                        since: None,
                    },
                    Living::Deregistered {
                        reason: DeregisterReason::MovedAway,
                        date: None,
                    },
                    Living::Deregistered {
                        reason: DeregisterReason::Deceased,
                        date: None,
                    },
                ],
            )
        })
        .or_else(|| {
            find_label(
                zh,
                &[
                    Pregnancy::None,
                    Pregnancy::Pregnant { last_period: day },
                    Pregnancy::Delivered { on: day },
                ],
            )
        })
        .or_else(|| find_label(zh, &Method::ALL))
        .or_else(|| find_label(zh, &VisitKind::ALL))
        .or_else(|| find_label(zh, &IndicatorKind::ALL))
        .or_else(|| {
            find_label(
                zh,
                &[
                    Recurrence::Once,
                    Recurrence::Monthly,
                    Recurrence::Quarterly,
                    Recurrence::HalfYearly,
                    Recurrence::Yearly,
                    Recurrence::Dates { dates: Vec::new() },
                ],
            )
        })
}

/// The villager groups (村民组) of a village's households, each once, in
/// their order (一组, 二组 … 十二组).
pub fn villager_groups(data: &Dataset, village_id: Id) -> Vec<String> {
    let mut groups: Vec<String> = data
        .households_of(village_id)
        .filter_map(|h| h.group.clone())
        .filter(|g| !g.trim().is_empty())
        .collect();
    groups.sort_by_key(|g| crate::indicators::group_order(g));
    groups.dedup();
    groups
}

/// The records of one villager group: its households, their people and
/// visits (villages, plans and ticks stay whole), so that every register
/// built from it is the group's.
pub fn only_group(data: &Dataset, group: &str) -> Dataset {
    let homes: std::collections::HashSet<Id> = data
        .households
        .iter()
        .filter(|h| h.group.as_deref() == Some(group))
        .map(|h| h.id)
        .collect();
    let mut part = data.clone();
    part.households.retain(|h| homes.contains(&h.id));
    part.persons.retain(|p| homes.contains(&p.household_id));
    part.visits.retain(|v| homes.contains(&v.household_id));
    part
}

/// The characters that make a spreadsheet read a cell as a formula (or, for
/// tab and carriage return, that some spreadsheets strip before looking
/// for one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as it is safe to open in Excel, LibreOffice or WPS: one that
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'`
/// in front, so a name typed as `=HYPERLINK(…)` shows as text instead of
/// running as a formula (OWASP's "CSV injection"). Every other cell is
/// left as it is.
///
/// A negative number would be prefixed too and open as text; no register
/// has one (counts, ages and percentages are never negative), so every
/// cell is treated alike rather than guessing which text is a number.
pub fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// `YYYY-MM-DD` through `Display` rather than a `format("%…")` pattern,
/// whose interpreter would otherwise be linked into the app's wasm.
fn date(day: Option<NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn percent(permille: Option<u32>) -> String {
    permille
        .map(|p| format!("{}.{}%", p / 10, p % 10))
        .unwrap_or_else(|| "—".into())
}

/// Sorting key of persons: household number, then name.
fn by_household<'a>(data: &'a Dataset) -> impl Fn(&&Person) -> (String, String) + 'a {
    let numbers: HashMap<Id, String> = data
        .households
        .iter()
        .map(|h| (h.id, h.number.clone()))
        .collect();
    move |p: &&Person| {
        (
            numbers.get(&p.household_id).cloned().unwrap_or_default(),
            p.name.clone(),
        )
    }
}

fn households(data: &Dataset) -> HashMap<Id, &Household> {
    data.households.iter().map(|h| (h.id, h)).collect()
}

/// One line of the roster of women of reproductive age (育龄妇女花名册).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RosterRow {
    /// 户编号.
    pub household_number: String,
    /// 村民组.
    pub group: String,
    /// 姓名.
    pub name: String,
    /// 出生日期.
    pub birth_date: Option<NaiveDate>,
    /// 年龄 on the roster's day.
    pub age: Option<i32>,
    /// 婚姻状况.
    pub marital: &'static str,
    /// 居住状态.
    pub living: &'static str,
    /// 子女数.
    pub children: u8,
    /// 避孕措施.
    pub method: &'static str,
    /// 落实日期.
    pub method_start: Option<NaiveDate>,
    /// 到期日期.
    pub replace_by: Option<NaiveDate>,
    /// 孕情.
    pub pregnancy: &'static str,
    /// 联系电话.
    pub phone: String,
}

/// The roster: every woman of reproductive age of the village on `day`.
pub fn roster(data: &Dataset, village_id: Id, day: NaiveDate, rules: &Rules) -> Vec<RosterRow> {
    let homes = households(data);
    let mut women: Vec<&Person> = data
        .persons_of(village_id)
        .into_iter()
        .filter(|p| !p.living.is_deregistered() && rules.is_reproductive_age_woman(p, day))
        .collect();
    women.sort_by_key(by_household(data));
    women
        .into_iter()
        .map(|p| {
            let home = homes.get(&p.household_id);
            RosterRow {
                household_number: home.map(|h| h.number.clone()).unwrap_or_default(),
                group: home.and_then(|h| h.group.clone()).unwrap_or_default(),
                name: p.name.clone(),
                birth_date: p.birth_date,
                age: p.age_on(day),
                marital: p.marital.zh(),
                living: p.living.zh(),
                children: p.children,
                method: p.contraception.as_ref().map_or("无", |c| c.method.zh()),
                method_start: p.contraception.as_ref().and_then(|c| c.start),
                replace_by: p.contraception.as_ref().and_then(|c| c.replace_by),
                pregnancy: p.pregnancy.zh(),
                phone: text(&p.phone),
            }
        })
        .collect()
}

/// The roster as a table.
pub fn roster_table(rows: &[RosterRow], lang: Lang) -> Table {
    Table {
        title: lang
            .pick("育龄妇女花名册", "Roster of women of reproductive age")
            .into(),
        headers: lang.headers(&[
            ("户编号", "Household no."),
            ("村民组", "Group"),
            ("姓名", "Name"),
            ("出生日期", "Born"),
            ("年龄", "Age"),
            ("婚姻状况", "Marital status"),
            ("居住状态", "Living"),
            ("子女数", "Children"),
            ("避孕措施", "Method"),
            ("落实日期", "Since"),
            ("到期日期", "Replace by"),
            ("孕情", "Pregnancy"),
            ("联系电话", "Phone"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.household_number.clone(),
                    r.group.clone(),
                    r.name.clone(),
                    date(r.birth_date),
                    r.age.map(|a| a.to_string()).unwrap_or_default(),
                    lang.word(r.marital),
                    lang.word(r.living),
                    r.children.to_string(),
                    lang.word(r.method),
                    date(r.method_start),
                    date(r.replace_by),
                    lang.word(r.pregnancy),
                    r.phone.clone(),
                ]
            })
            .collect(),
    }
}

/// One line of the three-check register (三查登记表).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreeCheckRow {
    /// 户编号.
    pub household_number: String,
    /// 姓名.
    pub name: String,
    /// 年龄.
    pub age: Option<i32>,
    /// 避孕措施.
    pub method: &'static str,
    /// 参检日期, the first check of the half-year.
    pub checked_on: Option<NaiveDate>,
    /// 查环: the ring is in place.
    pub ring: &'static str,
    /// 查孕: pregnant.
    pub pregnant: &'static str,
    /// 查病: a condition found.
    pub condition: &'static str,
}

/// The three-check register of a half-year: every eligible married woman and
/// her check, if she had one.
pub fn three_check_register(
    data: &Dataset,
    village_id: Id,
    half_year: Period,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<ThreeCheckRow> {
    let day = reference_day(half_year, today);
    let homes = households(data);
    let visits = data.visits_by_person();
    let mut women: Vec<&Person> = data
        .persons_of(village_id)
        .into_iter()
        .filter(|p| rules.is_eligible_married_woman(p, day))
        .collect();
    women.sort_by_key(by_household(data));
    women
        .into_iter()
        .map(|p| {
            let check: Option<&Visit> = visits.get(&p.id).and_then(|vs| {
                vs.iter()
                    .find(|v| v.kind == VisitKind::ThreeChecks && half_year.contains(v.date))
                    .copied()
            });
            let results = check
                .and_then(|v| v.outcome.three_checks)
                .unwrap_or_default();
            ThreeCheckRow {
                household_number: homes
                    .get(&p.household_id)
                    .map(|h| h.number.clone())
                    .unwrap_or_default(),
                name: p.name.clone(),
                age: p.age_on(day),
                method: p.contraception.as_ref().map_or("无", |c| c.method.zh()),
                checked_on: check.map(|v| v.date),
                ring: yes_no_zh(results.ring_in_place),
                pregnant: yes_no_zh(results.pregnant),
                condition: yes_no_zh(results.condition_found),
            }
        })
        .collect()
}

/// The three-check register as a table.
pub fn three_check_table(rows: &[ThreeCheckRow], half_year: Period, lang: Lang) -> Table {
    Table {
        title: match lang {
            Lang::Zh => format!("三查登记表（{}）", half_year.name_zh()),
            Lang::En => format!("Three-check register ({})", half_year.name_en()),
        },
        headers: lang.headers(&[
            ("户编号", "Household no."),
            ("姓名", "Name"),
            ("年龄", "Age"),
            ("避孕措施", "Method"),
            ("参检日期", "Checked on"),
            ("查环(环在位)", "Ring in place"),
            ("查孕(怀孕)", "Pregnant"),
            ("查病(发现疾病)", "Condition found"),
            ("状态", "Status"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.household_number.clone(),
                    r.name.clone(),
                    r.age.map(|a| a.to_string()).unwrap_or_default(),
                    lang.word(r.method),
                    date(r.checked_on),
                    lang.word(r.ring),
                    lang.word(r.pregnant),
                    lang.word(r.condition),
                    lang.word(if r.checked_on.is_some() {
                        "已查"
                    } else {
                        "未查"
                    }),
                ]
            })
            .collect(),
    }
}

/// One line of the follow-up log (随访记录册): a visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FollowUpRow {
    /// 日期.
    pub date: NaiveDate,
    /// 户编号.
    pub household_number: String,
    /// 姓名.
    pub name: String,
    /// 服务类型.
    pub kind: &'static str,
    /// 不良反应.
    pub adverse_reaction: &'static str,
    /// 转诊.
    pub referred: &'static str,
    /// 措施变更.
    pub new_method: &'static str,
    /// 知晓.
    pub knows_policy: &'static str,
    /// 满意.
    pub satisfied: &'static str,
    /// 下次随访.
    pub next_visit: Option<NaiveDate>,
    /// 记录人.
    pub recorded_by: String,
    /// 备注.
    pub notes: String,
}

/// The follow-up log of a period: every visit in the village, by date.
pub fn follow_up_log(data: &Dataset, village_id: Id, period: Period) -> Vec<FollowUpRow> {
    let homes = households(data);
    let persons: HashMap<Id, &Person> = data
        .persons_of(village_id)
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut visits: Vec<&Visit> = data
        .visits
        .iter()
        .filter(|v| !v.deleted && period.contains(v.date) && persons.contains_key(&v.person_id))
        .collect();
    visits.sort_by_key(|v| (v.date, v.id));
    visits
        .into_iter()
        .map(|v| FollowUpRow {
            date: v.date,
            household_number: homes
                .get(&v.household_id)
                .map(|h| h.number.clone())
                .unwrap_or_default(),
            name: persons
                .get(&v.person_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            kind: v.kind.zh(),
            adverse_reaction: yes_no_zh(v.outcome.adverse_reaction),
            referred: yes_no_zh(v.outcome.referred),
            new_method: v.outcome.new_method.map_or("", |m| m.zh()),
            knows_policy: yes_no_zh(v.outcome.knows_policy),
            satisfied: yes_no_zh(v.outcome.satisfied),
            next_visit: v.next_visit,
            recorded_by: text(&v.recorded_by),
            notes: text(&v.notes),
        })
        .collect()
}

/// The follow-up log as a table.
pub fn follow_up_table(rows: &[FollowUpRow], period: Period, lang: Lang) -> Table {
    Table {
        title: match lang {
            Lang::Zh => format!("随访记录册（{}）", period.name_zh()),
            Lang::En => format!("Follow-up log ({})", period.name_en()),
        },
        headers: lang.headers(&[
            ("日期", "Date"),
            ("户编号", "Household no."),
            ("姓名", "Name"),
            ("服务类型", "Kind"),
            ("不良反应", "Adverse reaction"),
            ("转诊", "Referred"),
            ("措施变更", "New method"),
            ("知晓政策", "Knows the policy"),
            ("满意", "Satisfied"),
            ("下次随访", "Next visit"),
            ("记录人", "Recorded by"),
            ("备注", "Notes"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    date(Some(r.date)),
                    r.household_number.clone(),
                    r.name.clone(),
                    lang.word(r.kind),
                    lang.word(r.adverse_reaction),
                    lang.word(r.referred),
                    lang.word(r.new_method),
                    lang.word(r.knows_policy),
                    lang.word(r.satisfied),
                    date(r.next_visit),
                    r.recorded_by.clone(),
                    r.notes.clone(),
                ]
            })
            .collect(),
    }
}

/// One line of the migrant register (流动人口登记册).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrantRow {
    /// 户编号.
    pub household_number: String,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: &'static str,
    /// 出生日期.
    pub birth_date: Option<NaiveDate>,
    /// 流出 or 流入.
    pub direction: &'static str,
    /// 流入地 / 户籍地.
    pub place: String,
    /// 流动时间.
    pub since: Option<NaiveDate>,
    /// 婚育证明编号.
    pub certificate: String,
    /// 有效期至.
    pub certificate_expires: Option<NaiveDate>,
    /// 本季度已查: the latest quarterly check in the quarter of `day`.
    pub checked_this_quarter: Option<NaiveDate>,
}

/// The migrant register: every migrant of the village on `day`.
pub fn migrant_register(data: &Dataset, village_id: Id, day: NaiveDate) -> Vec<MigrantRow> {
    let homes = households(data);
    let visits = data.visits_by_person();
    let quarter = Period::quarter_of(day);
    let mut migrants: Vec<&Person> = data
        .persons_of(village_id)
        .into_iter()
        .filter(|p| p.living.is_migrant())
        .collect();
    migrants.sort_by_key(by_household(data));
    migrants
        .into_iter()
        .map(|p| {
            let (place, since) = match &p.living {
                Living::OutMigrant { place, since } | Living::InMigrant { place, since } => {
                    (place.clone(), *since)
                }
                _ => (String::new(), None),
            };
            MigrantRow {
                household_number: homes
                    .get(&p.household_id)
                    .map(|h| h.number.clone())
                    .unwrap_or_default(),
                name: p.name.clone(),
                sex: p.sex.zh(),
                birth_date: p.birth_date,
                direction: p.living.zh(),
                place,
                since,
                certificate: p
                    .certificate
                    .as_ref()
                    .map(|c| c.number.clone())
                    .unwrap_or_default(),
                certificate_expires: p.certificate.as_ref().and_then(|c| c.expires),
                checked_this_quarter: visits.get(&p.id).and_then(|vs| {
                    vs.iter()
                        .rev()
                        .find(|v| {
                            v.kind == VisitKind::MigrantCheck
                                && quarter.contains(v.date)
                                && v.date <= day
                        })
                        .map(|v| v.date)
                }),
            }
        })
        .collect()
}

/// The migrant register as a table.
pub fn migrant_table(rows: &[MigrantRow], lang: Lang) -> Table {
    Table {
        title: lang.pick("流动人口登记册", "Migrant register").into(),
        headers: lang.headers(&[
            ("户编号", "Household no."),
            ("姓名", "Name"),
            ("性别", "Sex"),
            ("出生日期", "Born"),
            ("流向", "Direction"),
            ("地点", "Place"),
            ("流动时间", "Since"),
            ("婚育证明编号", "Certificate no."),
            ("有效期至", "Valid until"),
            ("本季度季查", "Checked this quarter"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.household_number.clone(),
                    r.name.clone(),
                    lang.word(r.sex),
                    date(r.birth_date),
                    lang.word(r.direction),
                    r.place.clone(),
                    date(r.since),
                    r.certificate.clone(),
                    date(r.certificate_expires),
                    r.checked_this_quarter
                        .map(|d| format!("{} {d}", lang.word("已查")))
                        .unwrap_or_else(|| lang.word("未查")),
                ]
            })
            .collect(),
    }
}

/// One line of the care-for-girls archive (关爱女孩档案).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CareForGirlsRow {
    /// 户编号.
    pub household_number: String,
    /// 户主.
    pub head: String,
    /// 住址.
    pub address: String,
    /// 联系电话.
    pub phone: String,
    /// The household's members' names, 家庭成员.
    pub members: String,
    /// 本年帮扶次数.
    pub visits_this_year: usize,
    /// 最近帮扶日期.
    pub last_visit: Option<NaiveDate>,
}

/// The care-for-girls archive: each household in the programme with its
/// support visits in `year`.
pub fn care_for_girls_archive(data: &Dataset, village_id: Id, year: i32) -> Vec<CareForGirlsRow> {
    let persons = data.persons_of(village_id);
    let mut homes: Vec<&Household> = data
        .households_of(village_id)
        .filter(|h| h.flags.care_for_girls)
        .collect();
    homes.sort_by(|a, b| a.number.cmp(&b.number));
    homes
        .into_iter()
        .map(|h| {
            let members: Vec<&&Person> =
                persons.iter().filter(|p| p.household_id == h.id).collect();
            let support: Vec<NaiveDate> = data
                .visits
                .iter()
                .filter(|v| {
                    !v.deleted
                        && v.was_seen()
                        && v.household_id == h.id
                        && v.kind == VisitKind::CareForGirls
                        && Period::Year { year }.contains(v.date)
                })
                .map(|v| v.date)
                .collect();
            CareForGirlsRow {
                household_number: h.number.clone(),
                head: h
                    .head_person_id
                    .and_then(|id| members.iter().find(|p| p.id == id))
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                address: text(&h.address),
                phone: text(&h.phone),
                members: members
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                visits_this_year: support.len(),
                last_visit: support.into_iter().max(),
            }
        })
        .collect()
}

/// The care-for-girls archive as a table.
pub fn care_for_girls_table(rows: &[CareForGirlsRow], year: i32, lang: Lang) -> Table {
    Table {
        title: match lang {
            Lang::Zh => format!("关爱女孩档案（{year}年）"),
            Lang::En => format!("Care-for-girls archive ({year})"),
        },
        headers: lang.headers(&[
            ("户编号", "Household no."),
            ("户主", "Head"),
            ("住址", "Address"),
            ("联系电话", "Phone"),
            ("家庭成员", "Members"),
            ("本年帮扶次数", "Support visits this year"),
            ("最近帮扶日期", "Last support visit"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.household_number.clone(),
                    r.head.clone(),
                    r.address.clone(),
                    r.phone.clone(),
                    r.members.clone(),
                    r.visits_this_year.to_string(),
                    date(r.last_visit),
                ]
            })
            .collect(),
    }
}

/// One line of the plan progress table (工作计划完成情况): a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanProgressRow {
    /// 部分: the plan's section.
    pub section: String,
    /// The section's English title, if the plan has one.
    pub section_en: Option<String>,
    /// 措施.
    pub measure: String,
    /// The measure's English title, if the plan has one.
    pub measure_en: Option<String>,
    /// 周期.
    pub recurrence: &'static str,
    /// 任务期限: the window's last day.
    pub due_by: NaiveDate,
    /// 完成日期.
    pub done_on: Option<NaiveDate>,
    /// 完成人.
    pub done_by: String,
    /// 覆盖户数.
    pub households_reached: Option<u32>,
    /// 备注.
    pub note: String,
}

/// Plan progress: every task of the village's plan for `year`, with its tick.
pub fn plan_progress(data: &Dataset, village_id: Id, year: i32) -> Vec<PlanProgressRow> {
    let Some(plan) = data.plan_for(village_id, year) else {
        return Vec::new();
    };
    let ticks: Vec<_> = data
        .ticks
        .iter()
        .filter(|t| !t.deleted && t.plan_id == plan.id)
        .cloned()
        .collect();
    plan.tasks()
        .into_iter()
        .map(|task| {
            let section = plan.sections.iter().find(|s| s.id == task.section_id);
            let measure = plan.measure(task.measure_id);
            let tick = is_ticked(&task, &ticks)
                .then(|| {
                    ticks.iter().find(|t| {
                        t.measure_id == task.measure_id && t.occurrence == task.occurrence
                    })
                })
                .flatten();
            PlanProgressRow {
                section: section.map(|s| s.title.clone()).unwrap_or_default(),
                section_en: section.and_then(|s| s.title_en.clone()),
                measure: measure.map(|m| m.title.clone()).unwrap_or_default(),
                measure_en: measure.and_then(|m| m.title_en.clone()),
                recurrence: measure.map_or(Recurrence::Once.zh(), |m| m.recurrence.zh()),
                due_by: task.end,
                done_on: tick.map(|t| t.date),
                done_by: tick.and_then(|t| t.by.clone()).unwrap_or_default(),
                households_reached: tick.and_then(|t| t.households_reached),
                note: tick.and_then(|t| t.note.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// Plan progress as a table.
pub fn plan_progress_table(
    rows: &[PlanProgressRow],
    year: i32,
    today: NaiveDate,
    lang: Lang,
) -> Table {
    let title_in = |zh: &String, en: &Option<String>| match (lang, en) {
        (Lang::En, Some(en)) => en.clone(),
        _ => zh.clone(),
    };
    Table {
        title: match lang {
            Lang::Zh => format!("{year}年工作计划完成情况"),
            Lang::En => format!("Work plan progress {year}"),
        },
        headers: lang.headers(&[
            ("部分", "Part"),
            ("措施", "Measure"),
            ("周期", "Recurrence"),
            ("任务期限", "Due by"),
            ("完成日期", "Done on"),
            ("完成人", "Done by"),
            ("覆盖户数", "Households reached"),
            ("备注", "Notes"),
            ("状态", "Status"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                let status = match (r.done_on, r.due_by < today) {
                    (Some(_), _) => "已完成",
                    (None, true) => "未完成",
                    (None, false) => "进行中",
                };
                vec![
                    title_in(&r.section, &r.section_en),
                    title_in(&r.measure, &r.measure_en),
                    lang.word(r.recurrence),
                    date(Some(r.due_by)),
                    date(r.done_on),
                    r.done_by.clone(),
                    r.households_reached
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    r.note.clone(),
                    lang.word(status),
                ]
            })
            .collect(),
    }
}

/// The indicator summary as a table.
pub fn indicator_table(rows: &[Indicator], title: &str, lang: Lang) -> Table {
    Table {
        title: title.into(),
        headers: lang.headers(&[
            ("指标", "Indicator"),
            ("分子", "Numerator"),
            ("分母", "Denominator"),
            ("比率", "Rate"),
            ("目标", "Goal"),
            ("是否达标", "Goal met"),
        ]),
        rows: rows
            .iter()
            .map(|i| {
                vec![
                    lang.pick(i.kind.zh(), i.kind.en()).into(),
                    i.numerator.len().to_string(),
                    i.denominator.len().to_string(),
                    percent(i.rate_permille()),
                    i.target
                        .map(|t| format!("≥{}", percent(Some(u32::from(t.goal_permille)))))
                        .unwrap_or_default(),
                    match i.meets_target() {
                        Some(true) => lang.word("达标"),
                        Some(false) => lang.word("未达标"),
                        None => String::new(),
                    },
                ]
            })
            .collect(),
    }
}

/// The figures of the year-end summary (年度工作总结), to fill into its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct YearEndFigures {
    /// The year.
    pub year: i32,
    /// 总户数.
    pub households: usize,
    /// 总人口 (on the books at year end).
    pub persons: usize,
    /// 育龄妇女.
    pub women_of_reproductive_age: usize,
    /// 已婚育龄妇女.
    pub eligible_married_women: usize,
    /// 流动人口.
    pub migrants: usize,
    /// Visits in the year by kind, in [`VisitKind::ALL`] order.
    pub visits_by_kind: Vec<(VisitKind, usize)>,
    /// The year's indicators.
    pub indicators: Vec<Indicator>,
    /// 关爱女孩户.
    pub care_for_girls_households: usize,
    /// 计划任务 done and due.
    pub plan_tasks_done: usize,
    /// All tasks of the year's plan.
    pub plan_tasks: usize,
}

/// The year-end figures for a village.
pub fn year_end_figures(
    data: &Dataset,
    village_id: Id,
    year: i32,
    today: NaiveDate,
    rules: &Rules,
) -> YearEndFigures {
    let period = Period::Year { year };
    let day = reference_day(period, today);
    let persons: Vec<&Person> = data
        .persons_of(village_id)
        .into_iter()
        .filter(|p| !p.living.is_deregistered())
        .collect();
    let ids: std::collections::HashSet<Id> = persons.iter().map(|p| p.id).collect();
    let visits: Vec<&Visit> = data
        .visits
        .iter()
        .filter(|v| {
            !v.deleted && v.was_seen() && period.contains(v.date) && ids.contains(&v.person_id)
        })
        .collect();
    let progress = plan_progress(data, village_id, year);
    YearEndFigures {
        year,
        households: data.households_of(village_id).count(),
        persons: persons.len(),
        women_of_reproductive_age: persons
            .iter()
            .filter(|p| rules.is_reproductive_age_woman(p, day))
            .count(),
        eligible_married_women: persons
            .iter()
            .filter(|p| rules.is_eligible_married_woman(p, day))
            .count(),
        migrants: persons.iter().filter(|p| p.living.is_migrant()).count(),
        visits_by_kind: VisitKind::ALL
            .into_iter()
            .map(|k| (k, visits.iter().filter(|v| v.kind == k).count()))
            .collect(),
        indicators: indicators(data, village_id, period, today, rules),
        care_for_girls_households: data
            .households_of(village_id)
            .filter(|h| h.flags.care_for_girls)
            .count(),
        plan_tasks_done: progress.iter().filter(|r| r.done_on.is_some()).count(),
        plan_tasks: progress.len(),
    }
}

/// The year-end figures as a two-column table (项目, 数值).
pub fn year_end_table(figures: &YearEndFigures, lang: Lang) -> Table {
    let item = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    let mut rows = vec![
        vec![item("总户数", "Households"), figures.households.to_string()],
        vec![item("总人口", "People"), figures.persons.to_string()],
        vec![
            item("育龄妇女", "Women of reproductive age"),
            figures.women_of_reproductive_age.to_string(),
        ],
        vec![
            item("已婚育龄妇女", "Married women of reproductive age"),
            figures.eligible_married_women.to_string(),
        ],
        vec![item("流动人口", "Migrants"), figures.migrants.to_string()],
        vec![
            item("关爱女孩户", "Care-for-girls households"),
            figures.care_for_girls_households.to_string(),
        ],
        vec![
            item("计划任务完成", "Plan tasks done"),
            format!("{}/{}", figures.plan_tasks_done, figures.plan_tasks),
        ],
    ];
    for (kind, count) in &figures.visits_by_kind {
        rows.push(vec![
            match lang {
                Lang::Zh => format!("{}（次）", kind.zh()),
                Lang::En => format!("{} (visits)", kind.en()),
            },
            count.to_string(),
        ]);
    }
    for indicator in &figures.indicators {
        rows.push(vec![
            lang.pick(indicator.kind.zh(), indicator.kind.en()).into(),
            percent(indicator.rate_permille()),
        ]);
    }
    Table {
        title: match lang {
            Lang::Zh => format!("{}年度工作总结数据", figures.year),
            Lang::En => format!("Year-end figures {}", figures.year),
        },
        headers: lang.headers(&[("项目", "Item"), ("数值", "Value")]),
        rows,
    }
}

/// The drill-down of an indicator (whom it misses) as a table, for CSV.
pub fn people_table(rows: &[crate::indicators::PersonRow], title: &str, lang: Lang) -> Table {
    Table {
        title: title.into(),
        headers: lang.headers(&[
            ("户编号", "Household no."),
            ("村民组", "Group"),
            ("姓名", "Name"),
            ("联系电话", "Phone"),
            ("服务类型", "Visit"),
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.household_number.clone(),
                    r.group.clone(),
                    r.name.clone(),
                    r.phone.clone(),
                    r.visit_kind
                        .map(|k| lang.pick(k.zh(), k.en()).to_string())
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Contraception, MaritalStatus, Method, MigrantCertificate, Sex, ThreeCheckResults, Village,
    };
    use crate::plan::{IndicatorKind, Measure, PlanSection, Target, Tick, WorkPlan};
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn id(n: u128) -> Id {
        Uuid::from_u128(n)
    }

    fn person(n: u128, household: u128, name: &str, sex: Sex, born: NaiveDate) -> Person {
        Person {
            birth_date: Some(born),
            marital: MaritalStatus::FirstMarriage,
            children: 1,
            ..Person::new(id(n), id(household), name, sex)
        }
    }

    fn visit(n: u128, p: u128, household: u128, date: NaiveDate, kind: VisitKind) -> Visit {
        Visit {
            recorded_by: Some("李红".into()),
            ..Visit::new(id(n), id(p), id(household), date, kind)
        }
    }

    fn sample() -> Dataset {
        let mut data = Dataset::new();
        data.villages.push(Village {
            id: id(1),
            name: "杨庄村".into(),
            township: None,
            deleted: false,
        });
        for (n, number) in [(10, "0002"), (11, "0001")] {
            data.households.push(Household {
                group: Some("三组".into()),
                address: Some(format!("三组{n}号")),
                ..Household::new(id(n), id(1), number)
            });
        }
        data.households[1].flags.care_for_girls = true;
        data.households[1].head_person_id = Some(id(103));

        let mut a = person(100, 10, "王秀英", Sex::Female, d(1990, 4, 2));
        a.contraception = Some(Contraception {
            method: Method::Iud,
            start: Some(d(2020, 5, 1)),
            replace_by: Some(d(2030, 5, 1)),
            informed_choice: true,
        });
        let b = person(101, 11, "张丽", Sex::Female, d(1978, 1, 1));
        let old = person(102, 11, "赵桂兰", Sex::Female, d(1970, 1, 1));
        let man = person(103, 11, "张建国", Sex::Male, d(1976, 1, 1));
        let mut migrant = person(104, 10, "王芳", Sex::Female, d(1998, 8, 8));
        migrant.marital = MaritalStatus::Unmarried;
        migrant.living = Living::OutMigrant {
            place: "广东省东莞市".into(),
            since: Some(d(2024, 3, 1)),
        };
        migrant.certificate = Some(MigrantCertificate {
            number: "粤A001".into(),
            expires: Some(d(2027, 3, 1)),
        });
        data.persons = vec![a, b, old, man, migrant];

        let mut check = visit(200, 100, 10, d(2026, 3, 3), VisitKind::ThreeChecks);
        check.outcome.three_checks = Some(ThreeCheckResults {
            ring_in_place: Some(true),
            pregnant: Some(false),
            condition_found: Some(false),
        });
        check.notes = Some("环位正常, 说\"很好\"".into());
        data.visits = vec![
            check,
            visit(201, 104, 10, d(2026, 5, 2), VisitKind::MigrantCheck),
            visit(202, 103, 11, d(2026, 2, 1), VisitKind::CareForGirls),
            visit(203, 101, 11, d(2026, 4, 1), VisitKind::CareForGirls),
            visit(204, 101, 11, d(2025, 12, 1), VisitKind::PublicityAtHome),
        ];
        data.plans.push(WorkPlan {
            id: id(300),
            village_id: id(1),
            year: 2026,
            title: "2026年计划".into(),
            title_en: None,
            targets: vec![Target {
                indicator: IndicatorKind::ThreeCheckRate,
                goal_permille: 1000,
            }],
            sections: vec![PlanSection {
                id: id(301),
                title: "一、宣传教育".into(),
                title_en: None,
                measures: vec![Measure {
                    id: id(302),
                    title: "入户宣传".into(),
                    title_en: None,
                    description: None,
                    description_en: None,
                    recurrence: Recurrence::Quarterly,
                    indicator: None,
                }],
            }],
            deleted: false,
        });
        data.ticks.push(Tick {
            id: id(310),
            plan_id: id(300),
            measure_id: id(302),
            occurrence: 0,
            date: d(2026, 3, 15),
            by: Some("李红".into()),
            note: Some("发放资料".into()),
            households_reached: Some(120),
            deleted: false,
        });
        data
    }

    fn parse(csv_bytes: &[u8]) -> Vec<Vec<String>> {
        assert!(
            csv_bytes.starts_with(UTF8_BOM),
            "CSV must start with a BOM for Excel"
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&csv_bytes[UTF8_BOM.len()..]);
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        let names = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+86 138",
            "-1+2",
            "@SUM(A1)",
            "\t=1+1",
            "\r=1+1",
        ];
        let table = Table {
            title: "测试".into(),
            headers: vec!["姓名", "备注"],
            rows: names
                .iter()
                .map(|n| vec![n.to_string(), format!("王{n}")])
                .collect(),
        };
        let csv = parse(&table.to_csv());
        for (row, name) in csv[1..].iter().zip(names) {
            assert_eq!(row[0], format!("'{name}"));
            assert_eq!(row[1], format!("王{name}"), "only a cell's start counts");
        }
        assert_eq!(safe_cell("王秀英"), "王秀英");
        assert_eq!(safe_cell(""), "");
        assert_eq!(safe_cell("95.0%"), "95.0%");

        // Through a register built from records, as the app exports it.
        let mut data = sample();
        let wang = data
            .persons
            .iter_mut()
            .find(|p| p.name == "王秀英")
            .unwrap();
        wang.name = "=HYPERLINK(\"http://x\",\"y\")".into();
        let rows = roster(&data, id(1), d(2026, 6, 1), &Rules::default());
        let csv = parse(&roster_table(&rows, Lang::Zh).to_csv());
        assert!(
            csv.iter()
                .any(|r| r[2] == "'=HYPERLINK(\"http://x\",\"y\")"),
            "{csv:?}"
        );
        assert!(csv.iter().all(|r| r.iter().all(|c| !c.starts_with('='))));
    }

    #[test]
    fn the_roster_lists_women_of_reproductive_age_by_household() {
        let rows = roster(&sample(), id(1), d(2026, 6, 1), &Rules::default());
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["张丽", "王秀英", "王芳"]);
        let first = &rows[1];
        assert_eq!(
            (first.age, first.method, first.marital),
            (Some(36), "宫内节育器", "初婚")
        );

        let csv = parse(&roster_table(&rows, Lang::Zh).to_csv());
        assert_eq!(csv[0][..3], ["户编号", "村民组", "姓名"]);
        assert_eq!(csv.len(), 4);
        assert_eq!(csv[2][2], "王秀英");
        assert_eq!(csv[2][9], "2020-05-01");
    }

    #[test]
    fn the_three_check_register_shows_each_result_and_who_is_missing() {
        let half = Period::HalfYear {
            year: 2026,
            half: 1,
        };
        let rows = three_check_register(&sample(), id(1), half, d(2026, 6, 30), &Rules::default());
        assert_eq!(rows.len(), 2);
        let table = three_check_table(&rows, half, Lang::Zh);
        let wang = table.rows.iter().find(|r| r[1] == "王秀英").unwrap();
        assert_eq!(wang[4..], ["2026-03-03", "是", "否", "否", "已查"]);
        let zhang = table.rows.iter().find(|r| r[1] == "张丽").unwrap();
        assert_eq!(zhang[8], "未查");
    }

    #[test]
    fn the_follow_up_log_holds_the_period_s_visits_in_date_order_and_quotes_safely() {
        let rows = follow_up_log(&sample(), id(1), Period::Year { year: 2026 });
        let dates: Vec<_> = rows.iter().map(|r| r.date).collect();
        assert_eq!(
            dates,
            [d(2026, 2, 1), d(2026, 3, 3), d(2026, 4, 1), d(2026, 5, 2)]
        );
        let csv = parse(&follow_up_table(&rows, Period::Year { year: 2026 }, Lang::Zh).to_csv());
        assert_eq!(
            csv[2][11], "环位正常, 说\"很好\"",
            "commas and quotes survive"
        );
        assert_eq!(csv[2][3], "三查");
    }

    #[test]
    fn the_migrant_register_shows_place_certificate_and_this_quarter_s_check() {
        let rows = migrant_register(&sample(), id(1), d(2026, 6, 1));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].direction, "流出");
        assert_eq!(rows[0].place, "广东省东莞市");
        assert_eq!(rows[0].checked_this_quarter, Some(d(2026, 5, 2)));
        let next_quarter = migrant_register(&sample(), id(1), d(2026, 7, 2));
        assert_eq!(next_quarter[0].checked_this_quarter, None);
        assert_eq!(migrant_table(&next_quarter, Lang::Zh).rows[0][9], "未查");
    }

    #[test]
    fn the_care_for_girls_archive_counts_the_year_s_support() {
        let rows = care_for_girls_archive(&sample(), id(1), 2026);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].head, "张建国");
        assert_eq!(rows[0].visits_this_year, 2);
        assert_eq!(rows[0].last_visit, Some(d(2026, 4, 1)));
        assert!(rows[0].members.contains("张丽"));
    }

    #[test]
    fn plan_progress_shows_each_task_with_its_tick() {
        let rows = plan_progress(&sample(), id(1), 2026);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].done_on, Some(d(2026, 3, 15)));
        assert_eq!(rows[0].households_reached, Some(120));
        let table = plan_progress_table(&rows, 2026, d(2026, 7, 10), Lang::Zh);
        let statuses: Vec<_> = table.rows.iter().map(|r| r[8].as_str()).collect();
        assert_eq!(statuses, ["已完成", "未完成", "进行中", "进行中"]);
    }

    #[test]
    fn the_indicator_summary_prints_rates_and_targets() {
        let period = Period::HalfYear {
            year: 2026,
            half: 1,
        };
        let summary = indicators(&sample(), id(1), period, d(2026, 6, 30), &Rules::default());
        let table = indicator_table(&summary, "统计报表", Lang::Zh);
        assert_eq!(
            table.rows[0],
            ["三查参检率", "1", "2", "50.0%", "≥100.0%", "未达标"]
        );
        assert_eq!(table.rows.len(), IndicatorKind::ALL.len());
    }

    #[test]
    fn the_year_end_figures_add_up_the_year() {
        let figures = year_end_figures(&sample(), id(1), 2026, d(2026, 11, 29), &Rules::default());
        assert_eq!(figures.households, 2);
        assert_eq!(figures.persons, 5);
        assert_eq!(figures.women_of_reproductive_age, 3);
        assert_eq!(figures.eligible_married_women, 2);
        assert_eq!(figures.migrants, 1);
        assert_eq!(figures.care_for_girls_households, 1);
        let publicity = figures
            .visits_by_kind
            .iter()
            .find(|(k, _)| *k == VisitKind::PublicityAtHome)
            .unwrap();
        assert_eq!(publicity.1, 0, "last year's visit is not counted");
        assert_eq!((figures.plan_tasks_done, figures.plan_tasks), (1, 4));
        let table = year_end_table(&figures, Lang::Zh);
        assert_eq!(table.rows[0], ["总户数", "2"]);
    }

    #[test]
    fn registers_speak_english_in_the_english_ui() {
        let data = sample();
        let rows = roster(&data, id(1), d(2026, 6, 1), &Rules::default());
        let table = roster_table(&rows, Lang::En);
        assert_eq!(table.title, "Roster of women of reproductive age");
        assert_eq!(table.headers[..3], ["Household no.", "Group", "Name"]);
        let wang = table.rows.iter().find(|r| r[2] == "王秀英").unwrap();
        assert_eq!(
            (wang[5].as_str(), wang[8].as_str()),
            ("first marriage", "IUD")
        );
        let half = Period::HalfYear {
            year: 2026,
            half: 1,
        };
        let checks = three_check_register(&data, id(1), half, d(2026, 6, 30), &Rules::default());
        let table = three_check_table(&checks, half, Lang::En);
        assert_eq!(table.title, "Three-check register (H1 2026)");
        let wang = table.rows.iter().find(|r| r[1] == "王秀英").unwrap();
        assert_eq!(wang[5..], ["yes", "no", "no", "checked"]);
        assert_eq!(
            three_check_table(&checks, half, Lang::Zh).title,
            "三查登记表（2026年上半年）"
        );
        let log = follow_up_log(&data, id(1), Period::Year { year: 2026 });
        let table = follow_up_table(&log, Period::Year { year: 2026 }, Lang::En);
        assert_eq!(table.rows[1][3], "three checks");
        assert_eq!(table.rows[1][0], "2026-03-03", "dates stay ISO");
        // No Chinese left in an English register's own words.
        let year_end = year_end_figures(&data, id(1), 2026, d(2026, 11, 29), &Rules::default());
        for table in [
            roster_table(&rows, Lang::En),
            year_end_table(&year_end, Lang::En),
            plan_progress_table(
                &plan_progress(&data, id(1), 2026),
                2026,
                d(2026, 7, 10),
                Lang::En,
            ),
            migrant_table(&migrant_register(&data, id(1), d(2026, 6, 1)), Lang::En),
            care_for_girls_table(&care_for_girls_archive(&data, id(1), 2026), 2026, Lang::En),
        ] {
            let own = std::iter::once(table.title.as_str()).chain(table.headers.iter().copied());
            for text in own {
                assert!(text.is_ascii(), "{text}");
            }
        }
    }

    #[test]
    fn a_register_can_be_narrowed_to_one_villager_group() {
        let mut data = sample();
        data.households[0].group = Some("十二组".into());
        data.households[1].group = Some("二组".into());
        assert_eq!(villager_groups(&data, id(1)), ["二组", "十二组"]);
        let part = only_group(&data, "二组");
        let rows = roster(&part, id(1), d(2026, 6, 1), &Rules::default());
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["张丽"]);
        let log = follow_up_log(&part, id(1), Period::Year { year: 2026 });
        assert!(log.iter().all(|r| r.household_number == "0001"));
        assert_eq!(log.len(), 2);
        assert_eq!(
            plan_progress(&part, id(1), 2026).len(),
            4,
            "the plan stays whole"
        );
    }

    #[test]
    fn the_missing_list_exports_as_csv_with_iso_dates_and_safe_cells() {
        let rows = vec![crate::indicators::PersonRow {
            person_id: id(100),
            name: "=王秀英".into(),
            household_id: id(10),
            household_number: "0002".into(),
            group: "三组".into(),
            phone: "13800000000".into(),
            visit_kind: Some(VisitKind::ThreeChecks),
        }];
        let csv = parse(&people_table(&rows, "三查参检率 未完成", Lang::Zh).to_csv());
        assert_eq!(csv[0], ["户编号", "村民组", "姓名", "联系电话", "服务类型"]);
        assert_eq!(csv[1], ["0002", "三组", "'=王秀英", "13800000000", "三查"]);
    }
}

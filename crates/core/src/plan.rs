//! 年度工作计划: the year's work plan, its measures, their dated tasks, and the
//! ticks that mark tasks done.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::Id;

/// An indicator the plans promise (DOMAIN.md "Indicators").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// 三查参检率.
    ThreeCheckRate,
    /// 措施落实率.
    MeasureCoverage,
    /// 随访服务率.
    FollowUpRate,
    /// 流动人口管理服务率.
    MigrantManagementRate,
    /// 知晓率.
    Awareness,
    /// 满意率.
    Satisfaction,
    /// 出生缺陷干预率.
    BirthDefectIntervention,
    /// 计划完成率.
    PlanCompletion,
}

impl IndicatorKind {
    /// Every indicator, in report order.
    pub const ALL: [IndicatorKind; 8] = [
        IndicatorKind::ThreeCheckRate,
        IndicatorKind::MeasureCoverage,
        IndicatorKind::FollowUpRate,
        IndicatorKind::MigrantManagementRate,
        IndicatorKind::Awareness,
        IndicatorKind::Satisfaction,
        IndicatorKind::BirthDefectIntervention,
        IndicatorKind::PlanCompletion,
    ];
}

/// 目标: a goal the plan sets for an indicator, e.g. three-check rate 100 %.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The indicator.
    pub indicator: IndicatorKind,
    /// The goal in tenths of a percent (950 = 95.0 %), so targets compare
    /// exactly: the rate must be at least this.
    pub goal_permille: u16,
}

impl Target {
    /// Whether `numerator / denominator` meets the goal. An empty
    /// denominator meets every goal: there was nobody left to serve.
    pub fn is_met(&self, numerator: usize, denominator: usize) -> bool {
        denominator == 0 || numerator * 1000 >= usize::from(self.goal_permille) * denominator
    }
}

/// How often a measure recurs within the year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recurrence {
    /// Once in the year, at any time before its end.
    Once,
    /// Each month.
    Monthly,
    /// Each quarter.
    Quarterly,
    /// Each half-year (Jan–Jun, Jul–Dec).
    HalfYearly,
    /// Once a year: the same as `Once`, for a standing measure.
    Yearly,
    /// On given dates: each task's window is the day itself.
    Dates {
        /// The dates, in the plan's year.
        dates: Vec<NaiveDate>,
    },
}

/// 措施: one measure of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// The measure's id; kept when the plan is carried into the next year.
    pub id: Id,
    /// 标题 (Chinese).
    pub title: String,
    /// English title, for the English UI; the built-in templates have one.
    #[serde(default)]
    pub title_en: Option<String>,
    /// 内容: what is to be done.
    #[serde(default)]
    pub description: Option<String>,
    /// English description.
    #[serde(default)]
    pub description_en: Option<String>,
    /// How often.
    pub recurrence: Recurrence,
    /// The indicator the measure serves, if any.
    #[serde(default)]
    pub indicator: Option<IndicatorKind>,
}

/// One of the plan's headings (一、二、三…) with its measures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    /// The section's id; kept across years.
    pub id: Id,
    /// 标题 (Chinese).
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: Option<String>,
    /// The measures, in order.
    pub measures: Vec<Measure>,
}

/// 年度工作计划: a village's plan for a year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkPlan {
    /// The plan's id.
    pub id: Id,
    /// The village.
    pub village_id: Id,
    /// The calendar year.
    pub year: i32,
    /// 标题.
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: Option<String>,
    /// The goals it sets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Its sections.
    pub sections: Vec<PlanSection>,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

/// A dated occurrence of a measure: what the plan checklist shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTask {
    /// The plan.
    pub plan_id: Id,
    /// The section.
    pub section_id: Id,
    /// The measure.
    pub measure_id: Id,
    /// Which occurrence of the measure this is in the year, from 0.
    pub occurrence: u16,
    /// First day of the window.
    pub start: NaiveDate,
    /// Last day of the window: the task is due by then.
    pub end: NaiveDate,
}

/// 勾选: a task marked done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    /// The tick's id.
    pub id: Id,
    /// The plan.
    pub plan_id: Id,
    /// The measure.
    pub measure_id: Id,
    /// Which occurrence.
    pub occurrence: u16,
    /// 完成日期.
    pub date: NaiveDate,
    /// 完成人.
    #[serde(default)]
    pub by: Option<String>,
    /// 备注.
    #[serde(default)]
    pub note: Option<String>,
    /// 覆盖户数: households reached.
    #[serde(default)]
    pub households_reached: Option<u32>,
    /// Tombstone: the tick was taken back.
    #[serde(default)]
    pub deleted: bool,
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date")
}

/// The last day of a month.
pub fn month_end(year: i32, month: u32) -> NaiveDate {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    ymd(next_year, next_month, 1)
        .pred_opt()
        .expect("a valid date")
}

/// The windows (start, end) a recurrence yields in `year`.
pub fn windows(recurrence: &Recurrence, year: i32) -> Vec<(NaiveDate, NaiveDate)> {
    let span = |first_month: u32, months: u32| {
        (
            ymd(year, first_month, 1),
            month_end(year, first_month + months - 1),
        )
    };
    match recurrence {
        Recurrence::Once | Recurrence::Yearly => vec![span(1, 12)],
        Recurrence::Monthly => (1..=12).map(|m| span(m, 1)).collect(),
        Recurrence::Quarterly => [1, 4, 7, 10].into_iter().map(|m| span(m, 3)).collect(),
        Recurrence::HalfYearly => vec![span(1, 6), span(7, 6)],
        Recurrence::Dates { dates } => {
            let mut days: Vec<_> = dates.iter().filter(|d| d.year() == year).copied().collect();
            days.sort();
            days.dedup();
            days.into_iter().map(|d| (d, d)).collect()
        }
    }
}

impl WorkPlan {
    /// Every dated task of the plan's year, section by section, measure by
    /// measure, in date order within a measure.
    pub fn tasks(&self) -> Vec<PlanTask> {
        let mut tasks = Vec::new();
        for section in &self.sections {
            for measure in &section.measures {
                for (occurrence, (start, end)) in windows(&measure.recurrence, self.year)
                    .into_iter()
                    .enumerate()
                {
                    tasks.push(PlanTask {
                        plan_id: self.id,
                        section_id: section.id,
                        measure_id: measure.id,
                        occurrence: u16::try_from(occurrence).unwrap_or(u16::MAX),
                        start,
                        end,
                    });
                }
            }
        }
        tasks
    }

    /// The plan's goal for an indicator, if it sets one.
    pub fn target_for(&self, indicator: IndicatorKind) -> Option<Target> {
        self.targets
            .iter()
            .copied()
            .find(|t| t.indicator == indicator)
    }

    /// The measure with this id.
    pub fn measure(&self, id: Id) -> Option<&Measure> {
        self.sections
            .iter()
            .flat_map(|s| &s.measures)
            .find(|m| m.id == id)
    }

    /// The plan with `measure` put into section `section_id`: replacing the
    /// measure with its id, or added at the section's end. `None` when the
    /// section does not exist.
    pub fn with_measure(&self, section_id: Id, measure: Measure) -> Option<WorkPlan> {
        let mut next = self.clone();
        let section = next.sections.iter_mut().find(|s| s.id == section_id)?;
        match section.measures.iter_mut().find(|m| m.id == measure.id) {
            Some(slot) => *slot = measure,
            None => section.measures.push(measure),
        }
        Some(next)
    }

    /// The plan without the measure `measure_id` (its ticks stay stored, but
    /// no task refers to them any more).
    pub fn without_measure(&self, measure_id: Id) -> WorkPlan {
        let mut next = self.clone();
        for section in &mut next.sections {
            section.measures.retain(|m| m.id != measure_id);
        }
        next
    }

    /// This plan carried into `year` as a new plan with id `new_id`: every
    /// section, measure (with its edits and ids) and target kept; dates of
    /// `Dates` measures moved to the same day of the new year (29 February
    /// becomes 28 February).
    pub fn carry_into(&self, year: i32, new_id: Id) -> WorkPlan {
        let mut next = self.clone();
        next.id = new_id;
        next.year = year;
        next.deleted = false;
        next.title = retitle(&self.title, self.year, year);
        next.title_en = self
            .title_en
            .as_deref()
            .map(|t| retitle(t, self.year, year));
        for measure in next.sections.iter_mut().flat_map(|s| s.measures.iter_mut()) {
            if let Recurrence::Dates { dates } = &mut measure.recurrence {
                for date in dates.iter_mut() {
                    *date = NaiveDate::from_ymd_opt(year, date.month(), date.day())
                        .unwrap_or_else(|| ymd(year, date.month(), 28));
                }
            }
        }
        next
    }
}

/// A plan title carried from year `from` to year `to`: the old year's
/// number (as in "2026年…" or "… 2026") becomes the new one; a title without
/// it gets the new year in front ("2027年" + title), so the new plan never
/// bears the old year's name.
fn retitle(title: &str, from: i32, to: i32) -> String {
    let old = from.to_string();
    if title.contains(&old) {
        title.replace(&old, &to.to_string())
    } else if title.is_ascii() {
        format!("{to} {title}")
    } else {
        format!("{to}年{title}")
    }
}

/// Whether a task is ticked: a live tick for its measure and occurrence.
pub fn is_ticked(task: &PlanTask, ticks: &[Tick]) -> bool {
    ticks.iter().any(|t| {
        !t.deleted
            && t.plan_id == task.plan_id
            && t.measure_id == task.measure_id
            && t.occurrence == task.occurrence
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn measure(n: u128, title: &str, recurrence: Recurrence) -> Measure {
        Measure {
            id: Uuid::from_u128(n),
            title: title.into(),
            title_en: None,
            description: None,
            description_en: None,
            recurrence,
            indicator: None,
        }
    }

    fn plan() -> WorkPlan {
        WorkPlan {
            id: Uuid::from_u128(1),
            village_id: Uuid::from_u128(2),
            year: 2026,
            title: "计划".into(),
            title_en: None,
            targets: Vec::new(),
            sections: vec![PlanSection {
                id: Uuid::from_u128(3),
                title: "一".into(),
                title_en: None,
                measures: vec![measure(10, "例会", Recurrence::Quarterly)],
            }],
            deleted: false,
        }
    }

    #[test]
    fn measures_are_edited_added_and_removed() {
        let edited = plan()
            .with_measure(
                Uuid::from_u128(3),
                measure(10, "协会例会", Recurrence::Monthly),
            )
            .unwrap();
        assert_eq!(edited.sections[0].measures.len(), 1);
        assert_eq!(edited.tasks().len(), 12);
        let added = edited
            .with_measure(
                Uuid::from_u128(3),
                measure(11, "年终总结", Recurrence::Once),
            )
            .unwrap();
        assert_eq!(added.tasks().len(), 13);
        assert!(
            plan()
                .with_measure(Uuid::from_u128(99), measure(12, "x", Recurrence::Once))
                .is_none()
        );
        let removed = added.without_measure(Uuid::from_u128(10));
        assert_eq!(removed.tasks().len(), 1);
    }

    #[test]
    fn a_plan_carried_into_next_year_keeps_its_edits_with_next_year_s_dates() {
        let edited = plan()
            .with_measure(
                Uuid::from_u128(3),
                measure(
                    11,
                    "宣传日",
                    Recurrence::Dates {
                        dates: vec![NaiveDate::from_ymd_opt(2026, 5, 29).unwrap()],
                    },
                ),
            )
            .unwrap();
        let next = edited.carry_into(2027, Uuid::from_u128(50));
        assert_eq!((next.id, next.year), (Uuid::from_u128(50), 2027));
        assert_eq!(next.sections, {
            let mut s = edited.sections.clone();
            s[0].measures[1].recurrence = Recurrence::Dates {
                dates: vec![NaiveDate::from_ymd_opt(2027, 5, 29).unwrap()],
            };
            s
        });
        assert!(next.tasks().iter().all(|t| t.start.year() == 2027));
    }

    #[test]
    fn next_year_s_plan_bears_next_year_in_its_title() {
        assert_eq!(retitle("2026年工作计划", 2026, 2027), "2027年工作计划");
        assert_eq!(retitle("Work plan 2026", 2026, 2027), "Work plan 2027");
        assert_eq!(
            retitle("村计生协会工作计划", 2026, 2027),
            "2027年村计生协会工作计划"
        );
        assert_eq!(retitle("Work plan", 2026, 2027), "2027 Work plan");
        let mut p = plan();
        p.title = "2026年工作计划".into();
        let next = p.carry_into(2027, Uuid::from_u128(51));
        assert_eq!(next.title, "2027年工作计划");
    }
}

//! The three sample work plans (篇一, 篇二, 篇三 of the source document) as
//! built-in templates, written for the app in our own words.
//!
//! API contract (used by the generator and the app):
//! - [`builtin`] lists the templates, [`Template::get`] finds one;
//! - [`Template::title`], [`Template::summary`] and [`Template::targets`]
//!   (and their English forms) describe a template in the picker;
//! - [`Template::instantiate`] makes a village's plan for a year, taking ids
//!   from the caller;
//! - [`empty_plan`] makes a plan with nothing in it, for "start from scratch".
//!
//! Each template follows the sections of its source plan that set out the
//! year's work (篇一 "二、措施与对策", 篇二 "(一)…(八)", 篇三 "三、具体工作措施"),
//! leaving out the passages describing problems and those on penalties or
//! enforcement: the app serves people and has no enforcement features.
//! Section titles carry no numbers (一、二…): the app numbers them by
//! position, so they stay right when a worker adds or removes one.
//!
//! Ids are taken from `next_id` in a fixed order: the plan first, then each
//! section followed by its measures, in the order shown. The same id sequence
//! therefore always gives the same plan.

use chrono::NaiveDate;

use crate::model::Id;
use crate::plan::{IndicatorKind, Measure, PlanSection, Recurrence, Target, WorkPlan};

/// Which built-in template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateId {
    /// 篇一: publicity, villager self-management and migrant services.
    One,
    /// 篇二: a stronger association and quality services.
    Two,
    /// 篇三: groundwork, the three checks and follow-ups, care for girls.
    Three,
}

impl TemplateId {
    /// Every template, in the source's order (篇一 to 篇三).
    pub const ALL: [TemplateId; 3] = [TemplateId::One, TemplateId::Two, TemplateId::Three];
}

/// A built-in plan template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Which one.
    pub id: TemplateId,
}

impl Template {
    /// The template with this id.
    pub fn get(id: TemplateId) -> Template {
        Template { id }
    }

    /// Its name in the picker (Chinese), e.g. "篇一：政策宣传、村民自治与流动人口服务".
    pub fn title(&self) -> &'static str {
        self.spec().title
    }

    /// Its name in the picker (English).
    pub fn title_en(&self) -> &'static str {
        self.spec().title_en
    }

    /// A few sentences on what the template stresses (Chinese).
    pub fn summary(&self) -> &'static str {
        self.spec().summary
    }

    /// A few sentences on what the template stresses (English).
    pub fn summary_en(&self) -> &'static str {
        self.spec().summary_en
    }

    /// The goals the template's plan sets, in report order.
    pub fn targets(&self) -> Vec<Target> {
        self.spec()
            .targets
            .iter()
            .map(|&(indicator, goal_permille)| Target {
                indicator,
                goal_permille,
            })
            .collect()
    }

    /// The template as a plan for `village_id` and `year`; every id (plan,
    /// sections, measures) comes from `next_id`, in this order: the plan,
    /// then each section followed by its measures. Measures on given dates
    /// get their dates in `year`.
    pub fn instantiate(
        &self,
        village_id: Id,
        year: i32,
        next_id: &mut dyn FnMut() -> Id,
    ) -> WorkPlan {
        let spec = self.spec();
        let id = next_id();
        let mut sections = Vec::with_capacity(spec.sections.len());
        for section in spec.sections {
            let section_id = next_id();
            let mut measures = Vec::with_capacity(section.measures.len());
            for measure in section.measures {
                measures.push(measure.build(next_id(), year));
            }
            sections.push(PlanSection {
                id: section_id,
                title: section.title.to_owned(),
                title_en: Some(section.title_en.to_owned()),
                measures,
            });
        }
        WorkPlan {
            id,
            village_id,
            year,
            title: format!("{year}年村计生协会工作计划（{}）", spec.theme),
            title_en: Some(format!(
                "{year} work plan of the village family-planning association ({})",
                spec.theme_en
            )),
            targets: self.targets(),
            sections,
            deleted: false,
        }
    }

    fn spec(&self) -> &'static TemplateSpec {
        match self.id {
            TemplateId::One => &ONE,
            TemplateId::Two => &TWO,
            TemplateId::Three => &THREE,
        }
    }
}

/// The built-in templates, 篇一 to 篇三.
pub fn builtin() -> Vec<Template> {
    TemplateId::ALL.into_iter().map(Template::get).collect()
}

/// An empty plan for `village_id` and `year` titled `title`: no targets, no
/// sections, for a worker who starts from scratch. Its id is the one value
/// taken from `next_id`.
pub fn empty_plan(
    village_id: Id,
    year: i32,
    title: &str,
    next_id: &mut dyn FnMut() -> Id,
) -> WorkPlan {
    WorkPlan {
        id: next_id(),
        village_id,
        year,
        title: title.to_owned(),
        title_en: None,
        targets: Vec::new(),
        sections: Vec::new(),
        deleted: false,
    }
}

// ---------------------------------------------------------------------------
// The templates as static data.

/// How often a template measure recurs; `Days` are (month, day) pairs that
/// become dates in the instantiated year.
enum Every {
    Once,
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
    Days(&'static [(u32, u32)]),
}

struct MeasureSpec {
    title: &'static str,
    title_en: &'static str,
    what: &'static str,
    what_en: &'static str,
    every: Every,
    serves: Option<IndicatorKind>,
}

impl MeasureSpec {
    fn build(&self, id: Id, year: i32) -> Measure {
        let recurrence = match self.every {
            Every::Once => Recurrence::Once,
            Every::Monthly => Recurrence::Monthly,
            Every::Quarterly => Recurrence::Quarterly,
            Every::HalfYearly => Recurrence::HalfYearly,
            Every::Yearly => Recurrence::Yearly,
            Every::Days(days) => Recurrence::Dates {
                dates: days
                    .iter()
                    .filter_map(|&(month, day)| NaiveDate::from_ymd_opt(year, month, day))
                    .collect(),
            },
        };
        Measure {
            id,
            title: self.title.to_owned(),
            title_en: Some(self.title_en.to_owned()),
            description: Some(self.what.to_owned()),
            description_en: Some(self.what_en.to_owned()),
            recurrence,
            indicator: self.serves,
        }
    }
}

struct SectionSpec {
    title: &'static str,
    title_en: &'static str,
    measures: &'static [MeasureSpec],
}

struct TemplateSpec {
    title: &'static str,
    title_en: &'static str,
    theme: &'static str,
    theme_en: &'static str,
    summary: &'static str,
    summary_en: &'static str,
    targets: &'static [(IndicatorKind, u16)],
    sections: &'static [SectionSpec],
}

use IndicatorKind as K;

/// The publicity days every template marks: Women's Day (3·8), the family
/// planning association's Members' Day (5·29), World Population Day (7·11)
/// and China's Birth Defect Prevention Day (9·12). None is 29 February, so
/// each exists in every year.
const PUBLICITY_DAYS: &[(u32, u32)] = &[(3, 8), (5, 29), (7, 11), (9, 12)];

// --- Shared measures -------------------------------------------------------

const YEAR_END_SUMMARY: MeasureSpec = MeasureSpec {
    title: "年终工作总结",
    title_en: "Year-end summary",
    what: "年底用全年的服务记录算出各项指标，写清做了哪些服务、哪些目标达到、哪里还有差距、明年怎么改进，报镇计生办。",
    what_en: "At year end, work out the indicators from the year's service records and write down what services were given, which targets were met, where gaps remain and what to improve next year; send it to the township office.",
    every: Every::Once,
    serves: Some(K::PlanCompletion),
};

const SATISFACTION_CALLBACKS: MeasureSpec = MeasureSpec {
    title: "服务满意度回访",
    title_en: "Satisfaction call-backs",
    what: "每半年挑一部分接受过服务的妇女回访，问问她们对检查和随访是否满意、还希望得到什么帮助，把意见带到例会上商量改进。",
    what_en: "Each half-year, call back a sample of women who were served, ask whether they were satisfied with the checks and follow-ups and what more would help, and take their views to the members' meeting.",
    every: Every::HalfYearly,
    serves: Some(K::Satisfaction),
};

// --- 篇一 ------------------------------------------------------------------

static ONE: TemplateSpec = TemplateSpec {
    title: "篇一：政策宣传、村民自治与流动人口服务",
    title_en: "Plan 1: publicity, villager self-management and migrant services",
    theme: "宣传、自治与流动人口服务",
    theme_en: "publicity, self-management and migrant services",
    summary: "以宣传开路，靠会员和村民自己组织、自己服务；重点做好流动人口季查和婚育证明服务、奖励扶助落实到户，台账从记录中生成，给专干减负。适合外出务工人员多的村。",
    summary_en: "Publicity first, with members and villagers organising their own services; stresses the quarterly migrant check, certificate services and getting benefits to every family, with registers produced from the records to spare the worker paperwork. Suits villages where many people work away.",
    // The source holds that with so many people away a 100% three-check rate
    // cannot be reached (篇一 一、6), so this plan aims at 95%.
    targets: &[
        (K::ThreeCheckRate, 950),
        (K::FollowUpRate, 950),
        (K::MigrantManagementRate, 950),
        (K::Awareness, 900),
        (K::Satisfaction, 900),
        (K::BirthDefectIntervention, 900),
        (K::PlanCompletion, 900),
    ],
    sections: &[
        SectionSpec {
            title: "广泛宣传计生政策",
            title_en: "Make the policies widely known",
            measures: &[
                MeasureSpec {
                    title: "宣传日集中活动",
                    title_en: "Publicity days",
                    what: "在三八妇女节、5·29会员活动日、7·11世界人口日和9·12预防出生缺陷日，在村部或集市摆咨询台、发资料，当场解答生育登记、奖励扶助和生殖健康方面的疑问。",
                    what_en: "On Women's Day (8 March), Members' Day (29 May), World Population Day (11 July) and Birth Defect Prevention Day (12 September), set up an advice stand at the village office or market, hand out leaflets and answer questions on birth registration, benefits and reproductive health.",
                    every: Every::Days(PUBLICITY_DAYS),
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "政策资料送到户",
                    title_en: "Leaflets to every home",
                    what: "每季度由会员把新的政策明白纸和生殖健康小册子送到自己联系的农户，当面讲清要点，问一问是否了解，记在入户记录里。",
                    what_en: "Each quarter, members take the latest policy sheets and reproductive-health booklets to the households they look after, explain the main points in person, ask whether the family knows the policy and note it in the visit record.",
                    every: Every::Quarterly,
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "更新计生宣传栏",
                    title_en: "Refresh the notice board",
                    what: "每季度更新村务公开栏里的计生专栏：服务时间、专干电话、奖励扶助和优惠政策的享受名单。",
                    what_en: "Each quarter, update the family-planning corner of the village notice board: service hours, the worker's phone number, and the lists of families receiving rewards and benefits.",
                    every: Every::Quarterly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "精简台账，规范资料",
            title_en: "Keep the paperwork lean",
            measures: &[
                MeasureSpec {
                    title: "随手记录，每月核对",
                    title_en: "Record as you go, check monthly",
                    what: "入户服务当场用手机记下；每月底核对一次育龄妇女花名册，补上出生、迁移、婚姻等变化，不再另外手抄账卡。",
                    what_en: "Record each home visit on the phone on the spot; at the end of each month check the roster of women of reproductive age, add births, moves and marriages, and stop copying ledgers by hand.",
                    every: Every::Monthly,
                    serves: None,
                },
                MeasureSpec {
                    title: "半年检查前自查",
                    title_en: "Self-check before the half-yearly inspection",
                    what: "镇里半年检查之前，从记录中导出三查登记表和计划完成情况，对照目标找出漏项，先把服务补上再报数字。",
                    what_en: "Before the township's half-yearly inspection, export the three-check register and plan progress from the records, compare them with the targets, and fill any gaps with services before reporting figures.",
                    every: Every::HalfYearly,
                    serves: Some(K::PlanCompletion),
                },
                YEAR_END_SUMMARY,
            ],
        },
        SectionSpec {
            title: "以人为本，村民自治",
            title_en: "People first: villagers run their own affairs",
            measures: &[
                MeasureSpec {
                    title: "已婚育龄妇女三查服务",
                    title_en: "Three checks for married women of reproductive age",
                    what: "上、下半年各组织一次查环、查孕、查病：提前一周通知到人，就近安排服务点，没来的上门约好补查时间，结果当场记录。",
                    what_en: "Once in each half-year, organise the IUD, pregnancy and gynaecological checks: tell every woman a week ahead, use the nearest service point, visit those who did not come to book another time, and record the results on the spot.",
                    every: Every::HalfYearly,
                    serves: Some(K::ThreeCheckRate),
                },
                MeasureSpec {
                    title: "避孕节育随访",
                    title_en: "Contraception follow-up visits",
                    what: "按手机上的随访提醒，上门看望新上环、皮埋或刚换了方法的妇女，问清有没有不适，有不良反应的帮她联系医生。",
                    what_en: "Following the phone's reminders, visit women who have a new IUD or implant or have just changed method, ask how they feel, and help anyone with side effects to see a doctor.",
                    every: Every::Monthly,
                    serves: Some(K::FollowUpRate),
                },
                MeasureSpec {
                    title: "协会会员例会",
                    title_en: "Association members' meeting",
                    what: "每季度开一次会员例会，通报计划进度，听取群众意见，商量哪些家庭需要帮助、下季度谁负责什么。",
                    what_en: "Hold a members' meeting each quarter: report progress on the plan, hear villagers' views, and agree which families need help and who does what next quarter.",
                    every: Every::Quarterly,
                    serves: None,
                },
                SATISFACTION_CALLBACKS,
            ],
        },
        SectionSpec {
            title: "加强队伍建设",
            title_en: "Build up the team",
            measures: &[
                MeasureSpec {
                    title: "年初分工联系户",
                    title_en: "Share out the households at the start of the year",
                    what: "年初把各村民组和农户分给会员、宣传员联系，名单公开，专干不再一个人包揽所有工作。",
                    what_en: "At the start of the year, share the villager groups and households out among members and publicity workers and publish who covers whom, so the worker no longer carries everything alone.",
                    every: Every::Once,
                    serves: None,
                },
                MeasureSpec {
                    title: "会员业务培训",
                    title_en: "Training for members",
                    what: "每半年组织一次学习：新政策、避孕节育和生殖健康常识、入户怎样沟通，以及手机记录的用法。",
                    what_en: "Twice a year, hold a training session: new policies, basics of contraception and reproductive health, how to talk with families at home, and how to use the phone app.",
                    every: Every::HalfYearly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "做好流动人口服务",
            title_en: "Serve the people who move",
            measures: &[
                MeasureSpec {
                    title: "流动人口季查",
                    title_en: "Quarterly migrant check",
                    what: "每季度和在外的已婚育龄妇女联系一次，提醒她在务工地参加检查，把报告单寄回或拍照发回；来本村居住的妇女上门登记，同样提供三查服务。",
                    what_en: "Each quarter, contact every married woman of reproductive age who works away, remind her to have her checks where she lives and to post or photograph the report back; register women who have moved into the village at home and offer them the same checks.",
                    every: Every::Quarterly,
                    serves: Some(K::MigrantManagementRate),
                },
                MeasureSpec {
                    title: "婚育证明办理与送证",
                    title_en: "Migrant certificates: issue, renew, deliver",
                    what: "每月查看30天内到期的流动人口婚育证明，提前告诉本人或家属续办；新外出的帮着办证，能送上门的就送上门。",
                    what_en: "Each month, look for migrant marriage-and-childbearing certificates that expire within 30 days and tell the person or the family to renew; help people newly leaving to get one, and deliver certificates to the home where possible.",
                    every: Every::Monthly,
                    serves: Some(K::MigrantManagementRate),
                },
            ],
        },
        SectionSpec {
            title: "完善利益导向",
            title_en: "Make sure families get their benefits",
            measures: &[
                MeasureSpec {
                    title: "奖励扶助对象摸底",
                    title_en: "Find who qualifies for reward and assistance",
                    what: "每年排查独生子女户、双女户中当年满60周岁的父母，帮他们准备材料申报奖励扶助，确认后张榜公示。",
                    what_en: "Each year, find the parents in one-child and two-girl families who turn 60 this year, help them prepare the application for reward and assistance, and post the confirmed list publicly.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "优惠政策兑现到户",
                    title_en: "Deliver benefits to the household",
                    what: "协助村两委发放独生子女父母奖励费等优惠，逐户核对金额，请领取人签收，一户不漏。",
                    what_en: "Help the village committee pay the one-child parents' bonus and other benefits: check the amount household by household, have each recipient sign for it, and miss no family.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "看望计生特殊家庭",
                    title_en: "Visit families who lost or care for a disabled only child",
                    what: "每季度上门看望独生子女伤残或去世的家庭，了解生活和看病上的难处，帮助申请扶助，多陪伴、多倾听。",
                    what_en: "Each quarter, visit families whose only child is disabled or has died, learn about their difficulties with daily life and medical care, help them apply for support, and take time to listen.",
                    every: Every::Quarterly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "加强部门配合",
            title_en: "Work hand in hand with other offices",
            measures: &[
                MeasureSpec {
                    title: "与卫生院核对孕情、转介筛查",
                    title_en: "Check pregnancies with the health centre; refer for screening",
                    what: "每季度和镇卫生院、村卫生室核对新孕妇和新生儿名单，帮每位孕妇预约出生缺陷筛查和孕期检查。",
                    what_en: "Each quarter, compare the lists of new pregnancies and births with the township health centre and the village clinic, and help every pregnant woman book birth-defect screening and antenatal checks.",
                    every: Every::Quarterly,
                    serves: Some(K::BirthDefectIntervention),
                },
                MeasureSpec {
                    title: "代办证件服务",
                    title_en: "Help with papers",
                    what: "帮群众在民政、派出所、卫生院之间办理生育登记、出生医学证明等手续，需要时代为跑腿，办好后送证上门。",
                    what_en: "Help families with birth registration, the medical birth certificate and similar papers across the civil affairs office, the police station and the health centre; run the errands for them when needed and bring the papers home.",
                    every: Every::Quarterly,
                    serves: None,
                },
            ],
        },
    ],
};

// --- 篇二 ------------------------------------------------------------------

static TWO: TemplateSpec = TemplateSpec {
    title: "篇二：协会建设与优质服务",
    title_en: "Plan 2: a stronger association and quality services",
    theme: "协会建设与优质服务",
    theme_en: "a stronger association and quality services",
    summary: "围绕完成全年指标：宣传进村入户，建好信息员网络和会员队伍，协会按章程开展活动，服务以知情选择、出生缺陷干预和生殖健康为主。",
    summary_en: "Works towards the year's targets: publicity that reaches every home, a working network of information officers and members, an association run by its statutes, and services centred on informed choice, birth-defect prevention and reproductive health.",
    // The source promises to meet every target the county sets; it gives no
    // figures, so these are the usual ones, with the plan itself done in full.
    targets: &[
        (K::ThreeCheckRate, 1000),
        (K::MeasureCoverage, 950),
        (K::FollowUpRate, 950),
        (K::MigrantManagementRate, 950),
        (K::Awareness, 900),
        (K::Satisfaction, 900),
        (K::BirthDefectIntervention, 900),
        (K::PlanCompletion, 1000),
    ],
    sections: &[
        SectionSpec {
            title: "围绕目标，做好服务",
            title_en: "Meet the year's goals through good service",
            measures: &[
                MeasureSpec {
                    title: "制订并公布年度计划",
                    title_en: "Draw up and publish the year's plan",
                    what: "年初按镇里下达的指标，和会员一起定下本村全年的目标和措施，在公开栏公布，让群众知道今年能得到哪些服务。",
                    what_en: "At the start of the year, set the village's goals and measures with the members from the targets the township passes down, and post them on the notice board so villagers know what services to expect.",
                    every: Every::Once,
                    serves: None,
                },
                MeasureSpec {
                    title: "季度进度检查",
                    title_en: "Quarterly progress review",
                    what: "每季度末看一看计划里各项任务完成得怎样，落后的项目安排人手补上。",
                    what_en: "At the end of each quarter, review which tasks of the plan are done and assign people to catch up on any that lag behind.",
                    every: Every::Quarterly,
                    serves: Some(K::PlanCompletion),
                },
                YEAR_END_SUMMARY,
            ],
        },
        SectionSpec {
            title: "深化宣传教育，倡导婚育新风",
            title_en: "Publicity into the village and every home",
            measures: &[
                MeasureSpec {
                    title: "宣传品入户",
                    title_en: "Publicity materials to every home",
                    what: "每季度把婚育新风、优生优育和奖励政策的宣传品送到每一户，当面讲解，入户时记下对方是否了解政策。",
                    what_en: "Each quarter, bring leaflets on modern marriage and family values, healthy pregnancy and reward policies to every household, explain them in person and note whether the family knows the policy.",
                    every: Every::Quarterly,
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "宣传日活动",
                    title_en: "Publicity days",
                    what: "三八妇女节、5·29会员活动日、7·11世界人口日、9·12预防出生缺陷日在村里办咨询宣传活动，请卫生室医生到场答疑。",
                    what_en: "On Women's Day (8 March), Members' Day (29 May), World Population Day (11 July) and Birth Defect Prevention Day (12 September), hold an advice and publicity event in the village, with the village clinic's doctor there to answer questions.",
                    every: Every::Days(PUBLICITY_DAYS),
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "好人好事投稿",
                    title_en: "Share good stories",
                    what: "每半年写一篇本村的好做法或邻里互助的故事，投给镇里的简报或县里的宣传平台。",
                    what_en: "Each half-year, write up one good practice or story of neighbours helping each other in the village and send it to the township bulletin or the county's media.",
                    every: Every::HalfYearly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "完善工作机制，夯实基础管理",
            title_en: "Strengthen the basic management",
            measures: &[
                MeasureSpec {
                    title: "信息员每月报告",
                    title_en: "Monthly report from the information officers",
                    what: "各村民组信息员每月报告本组的出生、怀孕、结婚和迁入迁出情况，专干当月核实并更新记录。",
                    what_en: "Each month, the information officer of each villager group reports births, pregnancies, marriages and people moving in or out; the worker checks them within the month and updates the records.",
                    every: Every::Monthly,
                    serves: None,
                },
                MeasureSpec {
                    title: "流动人口季查",
                    title_en: "Quarterly migrant check",
                    what: "每季度联系一次外出的已婚育龄妇女，了解她在外面的检查和避孕情况，提醒婚育证明的有效期；对流入本村的妇女登记并提供服务。",
                    what_en: "Each quarter, get in touch with every married woman of reproductive age who works away to learn about her checks and contraception and remind her when her certificate expires; register women who moved into the village and offer them services.",
                    every: Every::Quarterly,
                    serves: Some(K::MigrantManagementRate),
                },
                MeasureSpec {
                    title: "专题走访调研",
                    title_en: "Look into one problem",
                    what: "年内选一个群众反映多的问题（比如外出青年的婚育服务、老人养老），走访听意见，提出改进办法，在例会上讨论。",
                    what_en: "Once in the year, pick a problem villagers often raise (such as services for young people working away, or care in old age), visit and listen, propose improvements and discuss them at a meeting.",
                    every: Every::Once,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "抓好队伍建设",
            title_en: "Train the team",
            measures: &[
                MeasureSpec {
                    title: "宣传员、信息员培训",
                    title_en: "Training for publicity workers and information officers",
                    what: "每半年组织村组宣传员、信息员学习一次：新政策、入户讲解的方法、信息怎样报得准。",
                    what_en: "Twice a year, train the village's publicity workers and information officers: new policies, how to explain things on home visits, and how to report information accurately.",
                    every: Every::HalfYearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "专干参加上级培训",
                    title_en: "The worker attends township training",
                    what: "专干每年至少参加一次镇、县组织的业务培训，回来后在会员例会上转讲。",
                    what_en: "The worker attends at least one township or county training a year and passes it on to the members at the next meeting.",
                    every: Every::Yearly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "加强协会建设，提升村民自治",
            title_en: "A stronger association; villagers run their own affairs",
            measures: &[
                MeasureSpec {
                    title: "协会换届与规范化",
                    title_en: "Association election and working rules",
                    what: "按协会章程完成理事会换届（不到换届年可删去此项），配齐会员小组长，公布名单和联系电话。",
                    what_en: "Hold the association's council election under its statutes (delete this in a year without one), fill every group-leader post, and publish the names and phone numbers.",
                    every: Every::Once,
                    serves: None,
                },
                MeasureSpec {
                    title: "会员例会",
                    title_en: "Members' meeting",
                    what: "每季度开一次会员例会，通报工作，交流入户时碰到的难处，安排下季度的任务。",
                    what_en: "Hold a members' meeting each quarter to report on the work, share difficulties met on home visits and plan the next quarter's tasks.",
                    every: Every::Quarterly,
                    serves: None,
                },
                MeasureSpec {
                    title: "优先优惠和奖励扶助落实",
                    title_en: "Deliver priority, preferential and reward benefits",
                    what: "协助村两委核对奖励扶助、独生子女优惠等享受名单，张榜公示，做到该享受的都享受、按时发到户。",
                    what_en: "Help the village committee check the lists for reward and assistance and one-child benefits, post them publicly, and make sure everyone entitled receives them on time.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "走访计生困难家庭",
                    title_en: "Visit family-planning families in difficulty",
                    what: "每半年走访一次生活困难的独生子女户、双女户和计生特殊家庭，了解需要，帮助联系救助和生产帮扶。",
                    what_en: "Each half-year, visit one-child, two-girl and bereaved families who are struggling, learn what they need and help them reach relief and livelihood support.",
                    every: Every::HalfYearly,
                    serves: None,
                },
            ],
        },
        SectionSpec {
            title: "深入开展优质服务",
            title_en: "Quality services",
            measures: &[
                MeasureSpec {
                    title: "已婚育龄妇女三查服务",
                    title_en: "Three checks for married women of reproductive age",
                    what: "每半年为已婚育龄妇女组织一次查环、查孕、查病，提前通知；不方便出门的上门预约，保证每个人都有记录。",
                    what_en: "Each half-year, organise the IUD, pregnancy and gynaecological checks for married women of reproductive age: notify them in advance, book a home appointment for those who cannot travel, and make sure every woman has a record.",
                    every: Every::HalfYearly,
                    serves: Some(K::ThreeCheckRate),
                },
                MeasureSpec {
                    title: "避孕方法知情选择",
                    title_en: "Informed choice of contraception",
                    what: "对新婚、产后和需要换措施的妇女，上门介绍各种避孕方法的效果、用法和注意事项，由她本人自主选择，并做好记录。",
                    what_en: "For newly married women, new mothers and women who need to change method, explain at home how each method works, how it is used and what to watch for; she chooses for herself and the choice is recorded.",
                    every: Every::Monthly,
                    serves: Some(K::MeasureCoverage),
                },
                MeasureSpec {
                    title: "避孕节育随访",
                    title_en: "Contraception follow-ups",
                    what: "按提醒名单上门随访落实措施后的妇女，问有没有不适，需要治疗的帮着转诊，措施快到期的提醒更换。",
                    what_en: "Visit women on the reminder list after a new method, ask about side effects, refer those who need treatment, and remind those whose method is due for replacement.",
                    every: Every::Monthly,
                    serves: Some(K::FollowUpRate),
                },
                MeasureSpec {
                    title: "孕情登记与出生缺陷筛查转介",
                    title_en: "Pregnancy registration and birth-defect screening referral",
                    what: "每月登记新发现的孕妇，讲解孕早期保健和免费增补叶酸，帮她们预约出生缺陷一级筛查和孕期检查。",
                    what_en: "Each month, register newly found pregnancies, explain early-pregnancy care and free folic acid, and help each woman book first-level birth-defect screening and antenatal checks.",
                    every: Every::Monthly,
                    serves: Some(K::BirthDefectIntervention),
                },
                SATISFACTION_CALLBACKS,
            ],
        },
        SectionSpec {
            title: "各方协作，齐抓共管",
            title_en: "Work together across organisations",
            measures: &[
                MeasureSpec {
                    title: "部门联席会",
                    title_en: "Joint meeting with partner organisations",
                    what: "每半年和村妇联、共青团、卫生室等坐下来商量一次，分工办好生殖健康讲座、关爱女孩和帮扶活动。",
                    what_en: "Each half-year, sit down with the village women's federation, youth league and clinic to share out reproductive-health talks, care-for-girls work and support activities.",
                    every: Every::HalfYearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "与卫生室核对出生和孕产妇名单",
                    title_en: "Match births and mothers with the clinic",
                    what: "每季度和村卫生室、镇卫生院核对新生儿和孕产妇名单，补登遗漏，安排产后访视。",
                    what_en: "Each quarter, compare the lists of newborns and of pregnant women and new mothers with the village clinic and township health centre, add anyone missed, and schedule postnatal visits.",
                    every: Every::Quarterly,
                    serves: None,
                },
            ],
        },
    ],
};

// --- 篇三 ------------------------------------------------------------------

static THREE: TemplateSpec = TemplateSpec {
    title: "篇三：夯实基础、三查随访与关爱女孩",
    title_en: "Plan 3: groundwork, checks and follow-ups, care for girls",
    theme: "基础管理与优质服务",
    theme_en: "groundwork and quality services",
    summary: "目标明确：三查参检率100%，流动人口管理服务率95%以上，措施落实率100%。每月例会以会代训，一年两次三查，随访和出生缺陷干预贯穿全年，宣传结合节日和入户谈心，关爱女孩和奖励扶助一户不漏。",
    summary_en: "Clear goals: a 100% three-check rate, a migrant management rate of at least 95% and 100% measure coverage. Monthly meetings double as training; checks twice a year; follow-ups and birth-defect prevention all year; publicity at festivals and in talks at home; care-for-girls and reward benefits reaching every family.",
    // 三查 100%, 流动人口 95% and 措施落实 100% are the source's own figures;
    // the others it only asks to raise.
    targets: &[
        (K::ThreeCheckRate, 1000),
        (K::MeasureCoverage, 1000),
        (K::FollowUpRate, 950),
        (K::MigrantManagementRate, 950),
        (K::Awareness, 900),
        (K::Satisfaction, 900),
        (K::BirthDefectIntervention, 900),
        (K::PlanCompletion, 1000),
    ],
    sections: &[
        SectionSpec {
            title: "加强基础管理",
            title_en: "Strengthen the groundwork",
            measures: &[
                MeasureSpec {
                    title: "每月工作例会（以会代训）",
                    title_en: "Monthly meeting with a training topic",
                    what: "每月开一次专干、联系员例会：通报进度，商量难题，再学一个业务小专题。",
                    what_en: "Each month, hold a meeting of the worker and the liaison members: report progress, talk through problems, and study one short work topic.",
                    every: Every::Monthly,
                    serves: None,
                },
                MeasureSpec {
                    title: "业务知识培训班",
                    title_en: "Skills course for workers and liaisons",
                    what: "年内办一期培训班，请镇里老师给专干和联系员讲政策、服务流程和沟通技巧。",
                    what_en: "Once in the year, run a course where township trainers teach the worker and liaison members the policies, service procedures and how to talk with families.",
                    every: Every::Once,
                    serves: None,
                },
                MeasureSpec {
                    title: "账卡册随记录更新",
                    title_en: "Keep the books current from the records",
                    what: "每月同步手机记录，核对花名册和各类登记册，发现遗漏当月补上。",
                    what_en: "Each month, sync the phone's records, check the roster and registers against them, and fill any gaps within the month.",
                    every: Every::Monthly,
                    serves: None,
                },
                MeasureSpec {
                    title: "一年两次三查服务",
                    title_en: "Three checks, twice a year",
                    what: "上、下半年各做一次查环、查孕、查病，重在见到本人：每位已婚育龄妇女的孕情和避孕情况都要清楚，争取人人参检。",
                    what_en: "Do the IUD, pregnancy and gynaecological checks once in each half-year, making a point of seeing each woman in person, so that every married woman's pregnancy and contraception status is clear; aim for everyone to take part.",
                    every: Every::HalfYearly,
                    serves: Some(K::ThreeCheckRate),
                },
                MeasureSpec {
                    title: "流动人口季查",
                    title_en: "Quarterly migrant check",
                    what: "每季度联系在外的已婚育龄妇女，请她在当地检查并寄回报告单；报告单没寄回或不合格的，多联系、多提醒，帮她找到附近的检查点。",
                    what_en: "Each quarter, contact the married women of reproductive age who live away, ask each to have her checks locally and send back the report; where a report is missing or not valid, keep in touch, remind her and help her find a nearby check point.",
                    every: Every::Quarterly,
                    serves: Some(K::MigrantManagementRate),
                },
                MeasureSpec {
                    title: "流入人口清理与交接",
                    title_en: "Review in-migrants and share news with their home areas",
                    what: "每半年梳理一次来本村居住的人员，弄清人数和婚育情况，主动和她们户籍地联系，互通服务信息。",
                    what_en: "Each half-year, go over the people who have moved into the village, find out how many there are and their family situation, and contact their home areas to exchange service information.",
                    every: Every::HalfYearly,
                    serves: Some(K::MigrantManagementRate),
                },
                MeasureSpec {
                    title: "外出青年婚育服务",
                    title_en: "Services for young people working away",
                    what: "春节前后外出青年回乡时上门坐坐，了解婚育打算，介绍婚前保健、孕前检查和生育登记怎么办。",
                    what_en: "Around Spring Festival, when young people working away come home, drop by, learn about their plans for marriage and children, and explain premarital care, pre-pregnancy checks and how to register a birth.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "避孕措施落实情况核对",
                    title_en: "Contraception coverage check",
                    what: "每季度核对已婚育龄妇女的避孕情况；暂时没有措施又不打算怀孕的，上门咨询，在知情选择的基础上帮她落实合适的长效方法。",
                    what_en: "Each quarter, review the contraception of married women of reproductive age; visit any woman who has no method and does not plan a pregnancy, and help her to a suitable long-acting method of her informed choice.",
                    every: Every::Quarterly,
                    serves: Some(K::MeasureCoverage),
                },
                YEAR_END_SUMMARY,
            ],
        },
        SectionSpec {
            title: "做好优质服务，提高满意率",
            title_en: "Quality services that satisfy",
            measures: &[
                MeasureSpec {
                    title: "孕情登记与一级干预",
                    title_en: "Pregnancy registration and first-level prevention",
                    what: "每月登记新孕妇，讲孕期保健，组织她们参加出生缺陷一级干预：增补叶酸、孕前和孕早期检查。",
                    what_en: "Each month, register new pregnancies, talk about care in pregnancy, and bring the women into first-level birth-defect prevention: folic acid and pre-pregnancy and early-pregnancy checks.",
                    every: Every::Monthly,
                    serves: Some(K::BirthDefectIntervention),
                },
                MeasureSpec {
                    title: "动员参加二、三级干预",
                    title_en: "Second- and third-level screening",
                    what: "对曾生育病残儿的家庭和其他需要的孕妇，鼓励参加产前筛查和新生儿疾病筛查，帮忙联系医院，必要时陪同。",
                    what_en: "Encourage families who have had a child with a disability, and other pregnant women who need it, to take prenatal screening and newborn screening; help contact the hospital and go along when needed.",
                    every: Every::Quarterly,
                    serves: Some(K::BirthDefectIntervention),
                },
                MeasureSpec {
                    title: "知情选择咨询",
                    title_en: "Informed-choice counselling",
                    what: "对需要落实措施的妇女，由专干讲清各类避孕方法的种类、特点和原理，她了解后自己选定一种，并记录在案。",
                    what_en: "For each woman who needs a method, the worker explains the kinds of contraception, how each works and its pros and cons; once informed she picks one herself, and the choice is recorded.",
                    every: Every::Monthly,
                    serves: Some(K::MeasureCoverage),
                },
                MeasureSpec {
                    title: "避孕节育随访",
                    title_en: "Contraception follow-ups",
                    what: "按随访提醒及时上门，问问用得怎样；有不良反应的，帮她尽快看医生、落实治疗。",
                    what_en: "Visit on time as the follow-up reminders fall due and ask how the method suits her; if she has side effects, help her see a doctor and get treatment quickly.",
                    every: Every::Monthly,
                    serves: Some(K::FollowUpRate),
                },
                MeasureSpec {
                    title: "到期更换与绝经取出提醒",
                    title_en: "Reminders: replacement due, removal at menopause",
                    what: "每月查看措施30天内到期、年满50岁仍带环或皮埋的妇女，上门提醒按时更换或取出，并帮她预约。",
                    what_en: "Each month, find the women whose method is due for replacement within 30 days and those over 50 who still have an IUD or implant; visit to remind them to have it replaced or removed, and help book it.",
                    every: Every::Monthly,
                    serves: Some(K::FollowUpRate),
                },
                SATISFACTION_CALLBACKS,
            ],
        },
        SectionSpec {
            title: "加强宣传教育，提高知晓率",
            title_en: "Publicity that people take in",
            measures: &[
                MeasureSpec {
                    title: "节日宣传活动",
                    title_en: "Publicity on festival days",
                    what: "结合三八妇女节、5·29会员活动日、7·11世界人口日、9·12预防出生缺陷日办宣传活动，和卫生、民政、妇联的活动一起搞。",
                    what_en: "Hold publicity events on Women's Day (8 March), Members' Day (29 May), World Population Day (11 July) and Birth Defect Prevention Day (12 September), together with the health, civil affairs and women's federation activities.",
                    every: Every::Days(PUBLICITY_DAYS),
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "广播与微信群科普",
                    title_en: "Health tips on the radio and in group chats",
                    what: "每月通过村广播、宣传栏或村民微信群发一次避孕节育、优生优育、生殖保健方面的小知识。",
                    what_en: "Each month, share a short piece on contraception, healthy pregnancy or reproductive health over the village loudspeakers, on the notice board or in the villagers' group chat.",
                    every: Every::Monthly,
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "入户谈心与送证上门",
                    title_en: "Talks at home and papers brought to the door",
                    what: "会员每季度走访自己联系的农户，拉拉家常、帮忙解决难处，把办好的证件送上门，顺便讲讲政策，记下是否知晓。",
                    what_en: "Each quarter, members visit the households they look after, chat, help with problems, bring any finished papers to the door, explain the policies along the way and note whether the family knows them.",
                    every: Every::Quarterly,
                    serves: Some(K::Awareness),
                },
                MeasureSpec {
                    title: "婚育新风进万家专题活动",
                    title_en: "\"New family customs in every home\" event",
                    what: "年内办一次专题活动，比如评选文明幸福家庭、文艺演出或知识竞赛，用身边的好榜样带动大家。",
                    what_en: "Once in the year, hold a themed event, such as choosing model happy families, a show or a quiz, letting good examples from the village lead the way.",
                    every: Every::Once,
                    serves: Some(K::Awareness),
                },
            ],
        },
        SectionSpec {
            title: "强化社会保障，提高政策落实率",
            title_en: "Family support and benefits",
            measures: &[
                MeasureSpec {
                    title: "关爱女孩排查建档",
                    title_en: "Find and record poor one-girl families",
                    what: "年初摸清全村只有一个女孩且生活困难的家庭，一户一档建立关爱女孩档案。",
                    what_en: "At the start of the year, find every family in the village with one daughter and no other child that is living in hardship, and open a care-for-girls file for each.",
                    every: Every::Once,
                    serves: None,
                },
                MeasureSpec {
                    title: "关爱女孩帮扶走访",
                    title_en: "Care-for-girls support visit",
                    what: "每年至少上门帮扶一次：联合妇联、民政、学校落实助学、就业、救助等帮扶，公益金优先照顾独女家庭。",
                    what_en: "Visit each such family at least once a year with support: work with the women's federation, civil affairs and the school on school aid, jobs and relief, and put one-girl families first for charity funds.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "奖励扶助资格确认",
                    title_en: "Confirm reward and assistance eligibility",
                    what: "排查当年满60周岁的计生家庭父母，核实资格，公示名单，符合条件的一个都不漏。",
                    what_en: "Find the parents in qualifying families who turn 60 this year, confirm their eligibility and post the list, so that no one who qualifies is missed.",
                    every: Every::Yearly,
                    serves: None,
                },
                MeasureSpec {
                    title: "优惠政策宣传与兑现",
                    title_en: "Explain and deliver preferential benefits",
                    what: "每半年讲一次计生家庭能享受的优先优惠，并核对独生子女户的各项优惠是否按时到户。",
                    what_en: "Each half-year, explain the priority and preferential benefits family-planning families are entitled to, and check that each one-child family's benefits arrived on time.",
                    every: Every::HalfYearly,
                    serves: None,
                },
            ],
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Measure, windows};
    use chrono::Datelike;

    /// Ids 1, 2, 3… as UUIDs, and the list of those handed out.
    fn counter() -> (impl FnMut() -> Id, std::rc::Rc<std::cell::RefCell<Vec<Id>>>) {
        let handed = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = handed.clone();
        let mut n = 0u128;
        let next = move || {
            n += 1;
            let id = Id::from_u128(n);
            log.borrow_mut().push(id);
            id
        };
        (next, handed)
    }

    fn village() -> Id {
        Id::from_u128(0xABCD)
    }

    fn plan(template: &Template, year: i32) -> WorkPlan {
        let (mut next, _) = counter();
        template.instantiate(village(), year, &mut next)
    }

    fn measures(plan: &WorkPlan) -> Vec<&Measure> {
        plan.sections.iter().flat_map(|s| &s.measures).collect()
    }

    fn has_han(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn builtin_lists_the_three_in_order() {
        let ids: Vec<_> = builtin().into_iter().map(|t| t.id).collect();
        assert_eq!(ids, TemplateId::ALL.to_vec());
        for id in TemplateId::ALL {
            assert_eq!(Template::get(id).id, id);
        }
        let titles: Vec<_> = builtin().iter().map(Template::title).collect();
        assert!(titles[0].starts_with("篇一"));
        assert!(titles[1].starts_with("篇二"));
        assert!(titles[2].starts_with("篇三"));
    }

    #[test]
    fn template_id_serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&TemplateId::Three).unwrap(),
            "\"three\""
        );
        let back: TemplateId = serde_json::from_str("\"two\"").unwrap();
        assert_eq!(back, TemplateId::Two);
    }

    #[test]
    fn each_template_has_enough_sections_and_measures() {
        for t in builtin() {
            let p = plan(&t, 2027);
            assert!(p.sections.len() >= 3, "{:?}: {}", t.id, p.sections.len());
            assert!(measures(&p).len() >= 8, "{:?}", t.id);
            for s in &p.sections {
                assert!(!s.measures.is_empty(), "{:?}: empty {}", t.id, s.title);
            }
        }
    }

    #[test]
    fn every_text_is_there_in_chinese_and_english() {
        for t in builtin() {
            for text in [t.title(), t.summary()] {
                assert!(has_han(text), "{text}");
            }
            for text in [t.title_en(), t.summary_en()] {
                assert!(!text.is_empty() && text.is_ascii(), "{text}");
            }
            let p = plan(&t, 2027);
            assert!(has_han(&p.title) && p.title.starts_with("2027年"));
            assert!(
                p.title_en
                    .as_deref()
                    .is_some_and(|e| e.starts_with("2027 "))
            );
            for s in &p.sections {
                assert!(has_han(&s.title));
                assert!(
                    s.title_en
                        .as_deref()
                        .is_some_and(|e| !e.is_empty() && e.is_ascii())
                );
            }
            for m in measures(&p) {
                assert!(has_han(&m.title), "{:?}", m.title);
                let en = m.title_en.as_deref().unwrap_or_default();
                assert!(!en.is_empty() && en.is_ascii(), "{:?}: {en:?}", m.title);
                let zh = m.description.as_deref().unwrap_or_default();
                assert!(has_han(zh), "{}: no description", m.title);
                let den = m.description_en.as_deref().unwrap_or_default();
                assert!(den.len() > 20 && den.is_ascii(), "{}: {den:?}", m.title);
            }
        }
    }

    #[test]
    fn measure_titles_are_unique_within_a_template() {
        for t in builtin() {
            let p = plan(&t, 2027);
            let mut titles: Vec<_> = measures(&p).iter().map(|m| m.title.clone()).collect();
            let n = titles.len();
            titles.sort();
            titles.dedup();
            assert_eq!(titles.len(), n, "{:?}", t.id);
        }
    }

    #[test]
    fn the_three_checks_recur_half_yearly_and_serve_the_three_check_rate() {
        for t in builtin() {
            let p = plan(&t, 2027);
            let three: Vec<_> = measures(&p)
                .into_iter()
                .filter(|m| m.title.contains("三查"))
                .collect();
            assert_eq!(three.len(), 1, "{:?}", t.id);
            assert_eq!(three[0].recurrence, Recurrence::HalfYearly);
            assert_eq!(three[0].indicator, Some(IndicatorKind::ThreeCheckRate));
            for m in measures(&p) {
                if m.indicator == Some(IndicatorKind::ThreeCheckRate) {
                    assert_eq!(m.recurrence, Recurrence::HalfYearly, "{}", m.title);
                }
            }
        }
    }

    #[test]
    fn the_migrant_check_recurs_quarterly() {
        for t in builtin() {
            let p = plan(&t, 2027);
            let check: Vec<_> = measures(&p)
                .into_iter()
                .filter(|m| m.title.contains("流动人口季查"))
                .collect();
            assert_eq!(check.len(), 1, "{:?}", t.id);
            assert_eq!(check[0].recurrence, Recurrence::Quarterly);
            assert_eq!(
                check[0].indicator,
                Some(IndicatorKind::MigrantManagementRate)
            );
        }
    }

    #[test]
    fn targets_follow_the_source() {
        let goal = |id, k| {
            plan(&Template::get(id), 2027)
                .target_for(k)
                .map(|t| t.goal_permille)
        };
        // 篇三 states them: 三查 100 %, 流动人口 ≥ 95 %, 措施落实 100 %.
        assert_eq!(goal(TemplateId::Three, K::ThreeCheckRate), Some(1000));
        assert_eq!(goal(TemplateId::Three, K::MeasureCoverage), Some(1000));
        assert!(goal(TemplateId::Three, K::MigrantManagementRate) >= Some(950));
        assert_eq!(goal(TemplateId::Two, K::ThreeCheckRate), Some(1000));
        assert_eq!(goal(TemplateId::Two, K::PlanCompletion), Some(1000));
        // 篇一 itself doubts 100 % can be reached with so many people away.
        assert_eq!(goal(TemplateId::One, K::ThreeCheckRate), Some(950));
        for id in TemplateId::ALL {
            assert!(goal(id, K::MigrantManagementRate) >= Some(950), "{id:?}");
        }
    }

    #[test]
    fn targets_and_measures_agree() {
        for t in builtin() {
            let p = plan(&t, 2027);
            assert_eq!(p.targets, t.targets());
            let mut kinds: Vec<_> = p.targets.iter().map(|t| t.indicator).collect();
            let sorted = {
                let mut k = kinds.clone();
                k.sort();
                k
            };
            assert_eq!(kinds, sorted, "{:?}: targets in report order", t.id);
            kinds.dedup();
            assert_eq!(kinds.len(), p.targets.len(), "{:?}: one goal each", t.id);
            for target in &p.targets {
                assert!((1..=1000).contains(&target.goal_permille));
                assert!(
                    measures(&p)
                        .iter()
                        .any(|m| m.indicator == Some(target.indicator)),
                    "{:?}: no measure serves {:?}",
                    t.id,
                    target.indicator
                );
            }
            for m in measures(&p) {
                if let Some(k) = m.indicator {
                    assert!(p.target_for(k).is_some(), "{:?}: {k:?} has no goal", t.id);
                }
            }
        }
    }

    #[test]
    fn tasks_of_2027_fall_inside_2027() {
        let first = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
        for t in builtin() {
            let p = plan(&t, 2027);
            let tasks = p.tasks();
            assert!(!tasks.is_empty());
            for task in &tasks {
                assert!(first <= task.start && task.start <= task.end && task.end <= last);
                assert_eq!(task.plan_id, p.id);
            }
            // Every measure yields at least one task in its year.
            for m in measures(&p) {
                assert!(
                    tasks.iter().any(|task| task.measure_id == m.id),
                    "{}",
                    m.title
                );
            }
            let count = |title: &str| {
                let m = measures(&p)
                    .into_iter()
                    .find(|m| m.title.contains(title))
                    .unwrap();
                tasks.iter().filter(|task| task.measure_id == m.id).count()
            };
            assert_eq!(count("流动人口季查"), 4, "{:?}", t.id);
            assert_eq!(count("三查"), 2, "{:?}", t.id);
            assert_eq!(count("年终工作总结"), 1, "{:?}", t.id);
            assert_eq!(count("随访"), 12, "{:?}: monthly follow-ups", t.id);
        }
    }

    #[test]
    fn publicity_days_are_dated_in_the_instantiated_year() {
        for year in [2027, 2028, 2031] {
            for t in builtin() {
                let p = plan(&t, year);
                let dated: Vec<_> = measures(&p)
                    .into_iter()
                    .filter(|m| matches!(m.recurrence, Recurrence::Dates { .. }))
                    .collect();
                assert_eq!(dated.len(), 1, "{:?}", t.id);
                let days: Vec<_> = windows(&dated[0].recurrence, year)
                    .into_iter()
                    .map(|(start, end)| {
                        assert_eq!(start, end);
                        (start.year(), start.month(), start.day())
                    })
                    .collect();
                assert_eq!(
                    days,
                    vec![(year, 3, 8), (year, 5, 29), (year, 7, 11), (year, 9, 12)]
                );
            }
        }
    }

    #[test]
    fn ids_come_from_next_id_in_order_and_are_distinct() {
        for t in builtin() {
            let (mut next, handed) = counter();
            let p = t.instantiate(village(), 2027, &mut next);
            let mut expected = vec![p.id];
            for s in &p.sections {
                expected.push(s.id);
                expected.extend(s.measures.iter().map(|m| m.id));
            }
            assert_eq!(*handed.borrow(), expected, "{:?}", t.id);
            assert_eq!(p.id, Id::from_u128(1));
            assert_eq!(p.village_id, village());
            let mut distinct = expected.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), expected.len());
        }
    }

    #[test]
    fn the_same_ids_give_the_same_plan() {
        for t in builtin() {
            assert_eq!(plan(&t, 2027), plan(&t, 2027));
        }
        assert_ne!(
            plan(&Template::get(TemplateId::One), 2027),
            plan(&Template::get(TemplateId::Two), 2027)
        );
        assert_ne!(
            plan(&Template::get(TemplateId::One), 2027),
            plan(&Template::get(TemplateId::One), 2028)
        );
    }

    #[test]
    fn a_plan_survives_json() {
        for t in builtin() {
            let p = plan(&t, 2027);
            let json = serde_json::to_string(&p).unwrap();
            let back: WorkPlan = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p);
        }
    }

    #[test]
    fn carry_into_keeps_an_edited_measure() {
        let mut p = plan(&Template::get(TemplateId::Three), 2027);
        let edited = {
            let m = &mut p.sections[1].measures[0];
            m.title = "孕情登记（每两周一次）".to_owned();
            m.description = Some("改为每两周上门一次。".to_owned());
            m.recurrence = Recurrence::Quarterly;
            m.clone()
        };
        let next = p.carry_into(2028, Id::from_u128(9999));
        assert_eq!(next.year, 2028);
        // Titled with the new year, in both languages.
        assert!(next.title.starts_with("2028年"), "{}", next.title);
        assert!(!next.title.contains("2027"));
        let title_en = next.title_en.clone().unwrap();
        assert!(title_en.contains("2028") && !title_en.contains("2027"));
        assert_eq!(next.measure(edited.id), Some(&edited));
        assert_eq!(next.targets, p.targets);
        let tasks = next.tasks();
        assert_eq!(
            tasks.iter().filter(|t| t.measure_id == edited.id).count(),
            4
        );
        assert!(
            tasks
                .iter()
                .all(|t| t.start.year() == 2028 && t.end.year() == 2028)
        );
    }

    #[test]
    fn no_enforcement_language() {
        const WORDS: [&str; 9] = [
            "罚",
            "处罚",
            "违法",
            "违纪",
            "社会抚养费",
            "执法",
            "超生",
            "打击",
            "一票否决",
        ];
        const WORDS_EN: [&str; 5] = ["fine", "penalt", "violat", "punish", "enforce"];
        for t in builtin() {
            let p = plan(&t, 2027);
            let mut texts = vec![
                t.title().to_owned(),
                t.summary().to_owned(),
                t.title_en().to_owned(),
                t.summary_en().to_owned(),
                p.title.clone(),
                p.title_en.clone().unwrap_or_default(),
            ];
            for s in &p.sections {
                texts.push(s.title.clone());
                texts.extend(s.title_en.clone());
                for m in &s.measures {
                    texts.push(m.title.clone());
                    texts.extend(m.title_en.clone());
                    texts.extend(m.description.clone());
                    texts.extend(m.description_en.clone());
                }
            }
            for text in &texts {
                for w in WORDS {
                    assert!(!text.contains(w), "{w} in {text}");
                }
                let lower = text.to_lowercase();
                for w in WORDS_EN {
                    assert!(!lower.contains(w), "{w} in {text}");
                }
            }
        }
    }

    #[test]
    fn empty_plan_has_nothing_but_its_title() {
        let (mut next, handed) = counter();
        let p = empty_plan(village(), 2027, "2027年工作计划", &mut next);
        assert_eq!(*handed.borrow(), vec![p.id]);
        assert_eq!(p.village_id, village());
        assert_eq!(p.year, 2027);
        assert_eq!(p.title, "2027年工作计划");
        assert!(p.targets.is_empty() && p.sections.is_empty() && !p.deleted);
        assert!(p.tasks().is_empty());
    }
}

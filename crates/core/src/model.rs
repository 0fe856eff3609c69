//! The records the app keeps (DOMAIN.md "What the app keeps").
//!
//! Every record is plain data: serde (de)serialisable, with ids passed in
//! (UUIDs made at the edge), dates as calendar dates, and a `deleted`
//! tombstone instead of removal, so that sync can merge deletions like any
//! other edit. Field names are the sync protocol's field names: renaming one
//! is a schema change (see [`SCHEMA_VERSION`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the stored and synced data's shape. Bump it with a
/// migration when a record's fields change meaning or name.
pub const SCHEMA_VERSION: u32 = 1;

/// A record's id: a UUID made by the caller (UUIDv7 on the phone).
pub type Id = Uuid;

/// 村: a village, the unit a worker serves and the township compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    /// The village's id.
    pub id: Id,
    /// 村名.
    pub name: String,
    /// 镇/街道, the township it belongs to.
    #[serde(default)]
    pub township: Option<String>,
    /// Tombstone: the village was removed.
    #[serde(default)]
    pub deleted: bool,
}

/// 家庭标记: the family circumstances that bring services or benefits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FamilyFlags {
    /// 独生子女户: a one-child family.
    pub one_child: bool,
    /// 双女户: a family with two daughters and no son.
    pub two_girls: bool,
    /// 关爱女孩·贫困独女户: a poor one-girl family in the care-for-girls programme.
    pub care_for_girls: bool,
    /// 计生特殊家庭: the only child died or is disabled.
    pub special_family: bool,
}

impl FamilyFlags {
    /// Whether a member may qualify for the reward and assistance scheme
    /// (奖励扶助): one-child, two-girl and special families.
    pub fn qualifies_for_reward(&self) -> bool {
        self.one_child || self.two_girls || self.special_family
    }
}

/// 户: a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Household {
    /// The household's id.
    pub id: Id,
    /// The village it belongs to.
    pub village_id: Id,
    /// 户编号: the household number in the village's books.
    pub number: String,
    /// 村民组: the villager group.
    #[serde(default)]
    pub group: Option<String>,
    /// 住址.
    #[serde(default)]
    pub address: Option<String>,
    /// 联系电话.
    #[serde(default)]
    pub phone: Option<String>,
    /// 户主: the head of the household, one of its persons.
    #[serde(default)]
    pub head_person_id: Option<Id>,
    /// Family circumstances.
    #[serde(default)]
    pub flags: FamilyFlags,
    /// 备注.
    #[serde(default)]
    pub notes: Option<String>,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

impl Household {
    /// A new household with only the required fields.
    pub fn new(id: Id, village_id: Id, number: impl Into<String>) -> Self {
        Household {
            id,
            village_id,
            number: number.into(),
            group: None,
            address: None,
            phone: None,
            head_person_id: None,
            flags: FamilyFlags::default(),
            notes: None,
            deleted: false,
        }
    }
}

/// 性别.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 女.
    Female,
    /// 男.
    Male,
}

/// 婚姻状况.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaritalStatus {
    /// 未婚.
    #[default]
    Unmarried,
    /// 初婚.
    FirstMarriage,
    /// 再婚.
    Remarried,
    /// 离婚.
    Divorced,
    /// 丧偶.
    Widowed,
}

impl MaritalStatus {
    /// 初婚 or 再婚: currently married.
    pub fn is_married(self) -> bool {
        matches!(
            self,
            MaritalStatus::FirstMarriage | MaritalStatus::Remarried
        )
    }
}

/// Why a person left the books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeregisterReason {
    /// 迁出: moved away for good.
    MovedAway,
    /// 死亡.
    Deceased,
}

/// 居住状态: where a person lives relative to the village's books.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Living {
    /// 常住.
    #[default]
    Resident,
    /// 流出: registered here, living elsewhere.
    OutMigrant {
        /// 流入地: where to.
        place: String,
        /// Since when.
        #[serde(default)]
        since: Option<NaiveDate>,
    },
    /// 流入: registered elsewhere, living here.
    InMigrant {
        /// 户籍地: where from.
        place: String,
        /// Since when.
        #[serde(default)]
        since: Option<NaiveDate>,
    },
    /// 注销: left the books.
    Deregistered {
        /// Moved away or died.
        reason: DeregisterReason,
        /// When.
        #[serde(default)]
        date: Option<NaiveDate>,
    },
}

impl Living {
    /// An out- or in-migrant.
    pub fn is_migrant(&self) -> bool {
        matches!(self, Living::OutMigrant { .. } | Living::InMigrant { .. })
    }

    /// Left the books (moved away for good or died).
    pub fn is_deregistered(&self) -> bool {
        matches!(self, Living::Deregistered { .. })
    }
}

/// 流动人口婚育证明: a migrant's marriage-and-childbearing certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrantCertificate {
    /// 证明编号.
    pub number: String,
    /// 有效期至.
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}

impl MigrantCertificate {
    /// Valid on `day`: it has no expiry or has not expired.
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.expires.is_none_or(|e| e >= day)
    }
}

/// 孕情: pregnancy status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pregnancy {
    /// 未孕.
    #[default]
    None,
    /// 怀孕: pregnant, with the last menstrual period (末次月经).
    Pregnant {
        /// 末次月经.
        last_period: NaiveDate,
    },
    /// 已分娩: delivered.
    Delivered {
        /// 分娩日期.
        on: NaiveDate,
    },
}

impl Pregnancy {
    /// Days from the last period to the expected date of delivery (280).
    pub const GESTATION_DAYS: u64 = 280;

    /// 预产期: the expected date of delivery, for a pregnancy.
    pub fn expected_date(&self) -> Option<NaiveDate> {
        match self {
            Pregnancy::Pregnant { last_period } => {
                last_period.checked_add_days(chrono::Days::new(Self::GESTATION_DAYS))
            }
            _ => None,
        }
    }
}

/// 避孕节育措施: a contraceptive method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 宫内节育器 (上环).
    Iud,
    /// 皮下埋植.
    Implant,
    /// 针剂.
    Injectable,
    /// 口服药.
    Pill,
    /// 避孕套.
    Condom,
    /// 女扎.
    FemaleSterilisation,
    /// 男扎.
    MaleSterilisation,
    /// 其他.
    Other,
}

impl Method {
    /// Every method, in the order forms list them.
    pub const ALL: [Method; 8] = [
        Method::Iud,
        Method::Implant,
        Method::Injectable,
        Method::Pill,
        Method::Condom,
        Method::FemaleSterilisation,
        Method::MaleSterilisation,
        Method::Other,
    ];

    /// The sex the method is used by, where only one can use it.
    pub fn only_for(self) -> Option<Sex> {
        match self {
            Method::Iud
            | Method::Implant
            | Method::Injectable
            | Method::Pill
            | Method::FemaleSterilisation => Some(Sex::Female),
            Method::MaleSterilisation | Method::Condom => Some(Sex::Male),
            Method::Other => None,
        }
    }

    /// A long-acting method (长效措施) a woman must have removed at menopause.
    pub fn is_removable_device(self) -> bool {
        matches!(self, Method::Iud | Method::Implant)
    }
}

/// The contraceptive measure a person uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contraception {
    /// The method.
    pub method: Method,
    /// 落实日期: when it started.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// 到期更换日期: when it must be replaced.
    #[serde(default)]
    pub replace_by: Option<NaiveDate>,
    /// 知情选择: the informed choice was made and recorded.
    #[serde(default)]
    pub informed_choice: bool,
}

/// The usual entries of 与户主关系 (relation to the head of the household).
pub mod relation {
    /// 户主: the head.
    pub const HEAD: &str = "户主";
    /// 配偶: the head's spouse.
    pub const SPOUSE: &str = "配偶";
    /// 子: a son.
    pub const SON: &str = "子";
    /// 女: a daughter.
    pub const DAUGHTER: &str = "女";
    /// 儿媳: a son's wife.
    pub const DAUGHTER_IN_LAW: &str = "儿媳";
    /// 女婿: a daughter's husband.
    pub const SON_IN_LAW: &str = "女婿";
    /// 孙子: a grandson.
    pub const GRANDSON: &str = "孙子";
    /// 孙女: a granddaughter.
    pub const GRANDDAUGHTER: &str = "孙女";
    /// 父亲: the head's father.
    pub const FATHER: &str = "父亲";
    /// 母亲: the head's mother.
    pub const MOTHER: &str = "母亲";

    /// The pairs of relations that make a married couple within one
    /// household.
    pub const COUPLES: [(&str, &str); 4] = [
        (HEAD, SPOUSE),
        (SON, DAUGHTER_IN_LAW),
        (DAUGHTER, SON_IN_LAW),
        (FATHER, MOTHER),
    ];

    /// Whether two relations make a couple (in either order).
    pub fn are_couple(a: &str, b: &str) -> bool {
        COUPLES
            .iter()
            .any(|&(x, y)| (a == x && b == y) || (a == y && b == x))
    }
}

/// 人: a person of a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The person's id.
    pub id: Id,
    /// The household the person belongs to.
    pub household_id: Id,
    /// 姓名.
    pub name: String,
    /// 性别.
    pub sex: Sex,
    /// 出生日期.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// 与户主关系, e.g. 户主, 配偶, 子, 女.
    #[serde(default)]
    pub relation: Option<String>,
    /// 婚姻状况.
    #[serde(default)]
    pub marital: MaritalStatus,
    /// 联系电话.
    #[serde(default)]
    pub phone: Option<String>,
    /// 居住状态.
    #[serde(default)]
    pub living: Living,
    /// 流动人口婚育证明.
    #[serde(default)]
    pub certificate: Option<MigrantCertificate>,
    /// 现有子女数.
    #[serde(default)]
    pub children: u8,
    /// 孕情.
    #[serde(default)]
    pub pregnancy: Pregnancy,
    /// 避孕节育措施, if any.
    #[serde(default)]
    pub contraception: Option<Contraception>,
    /// 绝经日期.
    #[serde(default)]
    pub menopause: Option<NaiveDate>,
    /// 免查原因: why the person is exempt from the three checks, if she is.
    #[serde(default)]
    pub exemption: Option<String>,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

impl Person {
    /// A new person with only the required fields; every other field takes
    /// its "not recorded" default (resident, unmarried, no measure …).
    pub fn new(id: Id, household_id: Id, name: impl Into<String>, sex: Sex) -> Self {
        Person {
            id,
            household_id,
            name: name.into(),
            sex,
            birth_date: None,
            relation: None,
            marital: MaritalStatus::default(),
            phone: None,
            living: Living::default(),
            certificate: None,
            children: 0,
            pregnancy: Pregnancy::default(),
            contraception: None,
            menopause: None,
            exemption: None,
            deleted: false,
        }
    }

    /// Whole years of age on `day`, when the birth date is known.
    pub fn age_on(&self, day: NaiveDate) -> Option<i32> {
        let birth = self.birth_date?;
        let mut years = chrono::Datelike::year(&day) - chrono::Datelike::year(&birth);
        let (dm, dd) = (chrono::Datelike::month(&day), chrono::Datelike::day(&day));
        let (bm, bd) = (
            chrono::Datelike::month(&birth),
            chrono::Datelike::day(&birth),
        );
        if (dm, dd) < (bm, bd) {
            years -= 1;
        }
        Some(years)
    }
}

/// 服务类型: what a visit was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// 三查: ring, pregnancy and gynaecological checks.
    ThreeChecks,
    /// 随访: follow-up after a new or changed measure.
    MethodFollowUp,
    /// 流动人口季查: the quarterly migrant check.
    MigrantCheck,
    /// 孕期随访.
    PregnancyFollowUp,
    /// 出生缺陷干预: birth-defect screening referral.
    BirthDefectReferral,
    /// 产后访视.
    Postpartum,
    /// 宣传入户: publicity at home.
    PublicityAtHome,
    /// 送证上门: certificate delivered.
    CertificateDelivered,
    /// 奖励扶助核查.
    RewardCheck,
    /// 关爱女孩帮扶.
    CareForGirls,
    /// 其他.
    Other,
}

impl VisitKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [VisitKind; 11] = [
        VisitKind::ThreeChecks,
        VisitKind::MethodFollowUp,
        VisitKind::MigrantCheck,
        VisitKind::PregnancyFollowUp,
        VisitKind::BirthDefectReferral,
        VisitKind::Postpartum,
        VisitKind::PublicityAtHome,
        VisitKind::CertificateDelivered,
        VisitKind::RewardCheck,
        VisitKind::CareForGirls,
        VisitKind::Other,
    ];
}

/// The result of each of the three checks (三查).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThreeCheckResults {
    /// 查环: the IUD is in place (`None`: not checked or no IUD).
    pub ring_in_place: Option<bool>,
    /// 查孕: pregnant.
    pub pregnant: Option<bool>,
    /// 查病: a gynaecological condition was found.
    pub condition_found: Option<bool>,
}

/// 随访结果: what a visit found. Every field optional; a form fills those
/// that fit its kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Outcome {
    /// 不良反应.
    pub adverse_reaction: Option<bool>,
    /// 转诊治疗: referred for treatment.
    pub referred: Option<bool>,
    /// 措施变更: the new method, if the measure changed.
    pub new_method: Option<Method>,
    /// 发现怀孕.
    pub pregnancy_found: Option<bool>,
    /// 知晓政策: knows the policy.
    pub knows_policy: Option<bool>,
    /// 满意.
    pub satisfied: Option<bool>,
    /// The three checks' results, for a three-check visit.
    pub three_checks: Option<ThreeCheckResults>,
    /// 出生缺陷干预级别 (一级/二级/三级), for a referral.
    pub defect_level: Option<u8>,
}

/// Why a visit found nobody to serve (未见到).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSeenReason {
    /// 不在家: nobody home this time.
    NotHome,
    /// 外出: away for a while (working elsewhere, visiting family).
    Away,
    /// 拒访: declined the visit.
    Declined,
}

impl NotSeenReason {
    /// Every reason, in the order forms list them.
    pub const ALL: [NotSeenReason; 3] = [
        NotSeenReason::NotHome,
        NotSeenReason::Away,
        NotSeenReason::Declined,
    ];
}

/// 未见到: an attempted visit that served nobody. It closes no task; the
/// task stays open and comes back to the Today list on `come_back`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotSeen {
    /// Why she was not seen.
    pub reason: NotSeenReason,
    /// 再访日期: when to try again, if agreed or guessed.
    #[serde(default)]
    pub come_back: Option<NaiveDate>,
}

/// 随访/服务记录: a visit to a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// The visit's id.
    pub id: Id,
    /// Whom the visit served.
    pub person_id: Id,
    /// The person's household.
    pub household_id: Id,
    /// 日期.
    pub date: NaiveDate,
    /// What it was for.
    pub kind: VisitKind,
    /// 记录人.
    #[serde(default)]
    pub recorded_by: Option<String>,
    /// What it found.
    #[serde(default)]
    pub outcome: Outcome,
    /// 备注.
    #[serde(default)]
    pub notes: Option<String>,
    /// 下次随访日期.
    #[serde(default)]
    pub next_visit: Option<NaiveDate>,
    /// 未见到: set when the visit was only an attempt (not at home, away,
    /// declined); such a visit closes no task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_seen: Option<NotSeen>,
    /// Tombstone.
    #[serde(default)]
    pub deleted: bool,
}

impl Visit {
    /// Whether the visit served the person (it was not only an attempt).
    pub fn was_seen(&self) -> bool {
        self.not_seen.is_none()
    }

    /// A new visit with only the required fields: no outcome, notes or next
    /// date yet.
    pub fn new(id: Id, person_id: Id, household_id: Id, date: NaiveDate, kind: VisitKind) -> Self {
        Visit {
            id,
            person_id,
            household_id,
            date,
            kind,
            recorded_by: None,
            outcome: Outcome::default(),
            notes: None,
            next_visit: None,
            not_seen: None,
            deleted: false,
        }
    }
}

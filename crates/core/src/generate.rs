//! 合成村: a deterministic synthetic village (or township) for tests, the
//! demo and benchmarks.
//!
//! [`generate`] turns a seed, a [`Size`] and "today" into a [`Dataset`]:
//! villages, households of one to seven persons (户主, 配偶, 子, 女, 儿媳,
//! 孙子, 孙女, 父亲, 母亲), their contraceptive measures, pregnancies,
//! migrations and certificates, five years of visits up to today, and each
//! village's work plan for today's year with some of its tasks ticked.
//!
//! Everything comes from one seeded ChaCha8 generator, ids included: the same
//! seed and today give an equal dataset on every platform; no clock and no
//! OS randomness are read. Nothing is dated after today except dates that
//! are by nature in the future (replace-by dates, certificate expiries,
//! next-visit dates; an expected delivery date follows from a last period).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::model::{
    Contraception, DeregisterReason, FamilyFlags, Household, Id, Living, MaritalStatus, Method,
    MigrantCertificate, Outcome, Person, Pregnancy, Sex, ThreeCheckResults, Village, Visit,
    VisitKind,
};
use crate::plan::{Tick, WorkPlan};
use crate::templates;

/// How much data to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// One village of 50 households: unit tests and a quick look.
    Small,
    /// One village of 1,000 households: about 4,000 persons and 25,000
    /// visits over five years. The demo.
    Village,
    /// One village of 3,000 households, three times the demo: benchmarks
    /// that show a figure does not grow with the village.
    Village3,
    /// A township (镇) of 50 villages of 150 to 1,000 households each: the
    /// township office's view and benchmarks.
    Township,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 4] = [Size::Small, Size::Village, Size::Village3, Size::Township];

    /// The size's name, as [`FromStr`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Village => "village",
            Size::Village3 => "village3",
            Size::Township => "township",
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text named no [`Size`]: expected "small", "village", "village3" or
/// "township".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSize(pub String);

impl fmt::Display for UnknownSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown size {:?}: expected small, village, village3 or township",
            self.0
        )
    }
}

impl std::error::Error for UnknownSize {}

impl FromStr for Size {
    type Err = UnknownSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Size::ALL
            .into_iter()
            .find(|size| size.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSize(s.to_string()))
    }
}

/// How many years of visits the data spans, up to today.
const SPAN_YEARS: u32 = 5;

/// A synthetic dataset: the same `seed`, `size` and `today` always give an
/// equal [`Dataset`]; another seed gives other data. Visits span the five
/// years up to `today`; the work plans are for `today`'s year.
pub fn generate(seed: u64, size: Size, today: NaiveDate) -> Dataset {
    let mut g = Gen::new(seed, today);
    let township = g.pick(TOWNSHIPS).to_string();
    let sizes: Vec<usize> = match size {
        Size::Small => vec![50],
        Size::Village => vec![1000],
        Size::Village3 => vec![3000],
        Size::Township => (0..50).map(|_| g.rng.random_range(150..=1000)).collect(),
    };
    let names = g.village_names(sizes.len());
    let mut data = Dataset::new();
    for (name, households) in names.into_iter().zip(sizes) {
        g.village(&mut data, name, &township, households);
    }
    data
}

// ---------------------------------------------------------------------------
// Vocabulary.

/// Surnames with their approximate national frequency (in 0.01 %).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 710),
    ("李", 700),
    ("张", 680),
    ("刘", 540),
    ("陈", 450),
    ("杨", 310),
    ("黄", 220),
    ("赵", 210),
    ("吴", 200),
    ("周", 190),
    ("徐", 130),
    ("孙", 130),
    ("马", 110),
    ("朱", 110),
    ("胡", 100),
    ("郭", 97),
    ("何", 95),
    ("高", 90),
    ("林", 89),
    ("罗", 87),
    ("郑", 80),
    ("梁", 70),
    ("谢", 60),
    ("宋", 60),
    ("唐", 55),
    ("许", 50),
    ("韩", 50),
    ("冯", 49),
    ("邓", 48),
    ("曹", 46),
    ("彭", 45),
    ("曾", 44),
    ("肖", 43),
    ("田", 42),
    ("董", 41),
    ("袁", 40),
    ("潘", 38),
    ("于", 37),
    ("蒋", 36),
    ("蔡", 35),
    ("余", 34),
    ("杜", 33),
    ("叶", 32),
    ("程", 31),
    ("苏", 30),
    ("魏", 29),
    ("吕", 28),
    ("丁", 27),
    ("任", 26),
    ("沈", 25),
    ("姚", 24),
    ("卢", 23),
    ("姜", 22),
    ("崔", 21),
    ("钟", 20),
    ("谭", 19),
    ("陆", 18),
    ("汪", 17),
    ("范", 16),
    ("金", 15),
    ("石", 14),
];

/// Given names by generation (born before 1960, 1960s–70s, 1980s–90s,
/// 2000 on): (male, female).
const GIVEN: [(&[&str], &[&str]); 4] = [
    (
        &[
            "建国", "建华", "国庆", "国强", "德明", "德胜", "志明", "永福", "永强", "福生", "长林",
            "振华", "树林", "玉林", "金山", "宝山", "文华", "明德", "保国", "兴旺", "春生", "根生",
            "洪发", "连生",
        ],
        &[
            "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "玉珍", "秀珍", "淑珍", "淑英", "桂芝",
            "玉梅", "翠花", "金凤", "素芬", "兰英", "凤兰", "秀云", "玉英", "春花",
        ],
    ),
    (
        &[
            "建军", "建平", "卫东", "卫国", "红兵", "志强", "志刚", "国华", "海军", "立新", "永刚",
            "文军", "建伟", "明华", "军华", "庆丰", "继红", "长春", "新民", "学军", "春雷", "东升",
            "跃进", "胜利",
        ],
        &[
            "丽华", "红梅", "春梅", "丽萍", "红霞", "秀梅", "爱华", "小红", "美华", "春燕", "海燕",
            "丽娟", "桂香", "月娥", "彩霞", "晓梅", "玉芳", "小芳", "艳华", "素琴", "雪梅", "冬梅",
            "红英", "爱莲",
        ],
    ),
    (
        &[
            "伟强", "海涛", "俊杰", "志伟", "建勇", "晓东", "文斌", "鹏飞", "振宇", "磊磊", "国栋",
            "浩然", "家豪", "明辉", "永杰", "宏伟", "晓峰", "泽民", "子龙", "晓军", "超群", "少华",
            "志远", "凯文",
        ],
        &[
            "婷婷", "丽丽", "晓燕", "小燕", "雪莲", "丹丹", "倩倩", "慧敏", "静怡", "晓丽", "丽娜",
            "佳佳", "欢欢", "雅婷", "思思", "春艳", "海霞", "晓琳", "梦瑶", "秀娟", "玉洁", "文静",
            "晶晶", "敏慧",
        ],
    ),
    (
        &[
            "子轩", "浩宇", "宇轩", "梓豪", "俊熙", "皓轩", "子墨", "宇航", "一鸣", "博文", "睿泽",
            "天佑", "明轩", "梓睿", "沐宸", "奕辰", "铭泽", "锦程", "宇泽", "思远", "景行", "子豪",
        ],
        &[
            "梓涵", "欣怡", "子涵", "雨涵", "一诺", "诗涵", "可欣", "语嫣", "思琪", "梦琪", "佳怡",
            "紫萱", "雨桐", "若汐", "依诺", "欣妍", "芷若", "梓萱", "诗琪", "梦洁", "心怡", "安琪",
        ],
    ),
];

const TOWNSHIPS: &[&str] = &[
    "青山镇",
    "红星镇",
    "长乐镇",
    "安平镇",
    "永丰镇",
    "清河镇",
    "太平镇",
    "双河镇",
    "龙泉镇",
    "白沙镇",
];

const VILLAGE_FIRST: &[&str] = &[
    "张家", "李家", "王家", "刘家", "陈家", "杨家", "赵家", "黄家", "周家", "吴家", "东", "西",
    "南", "北", "前", "后", "上", "下", "大", "小", "新", "石", "柳", "桃", "杏", "枣", "桑", "槐",
    "马", "龙",
];

const VILLAGE_SECOND: &[&str] = &[
    "庄", "湾", "河", "坪", "沟", "岭", "营", "店", "寨", "坝", "桥", "铺", "集", "洼", "堡", "岗",
    "圩", "塘",
];

const GROUPS: [&str; 8] = [
    "一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组",
];

/// Where out-migrants go (流入地).
const DESTINATIONS: &[&str] = &[
    "广东省东莞市",
    "广东省深圳市",
    "广东省广州市",
    "广东省佛山市",
    "浙江省义乌市",
    "浙江省宁波市",
    "浙江省杭州市",
    "江苏省苏州市",
    "江苏省昆山市",
    "上海市",
    "北京市",
    "福建省晋江市",
    "福建省厦门市",
    "天津市",
];

/// Where in-migrants come from (户籍地).
const ORIGINS: &[&str] = &[
    "四川省南充市",
    "河南省周口市",
    "贵州省毕节市",
    "安徽省阜阳市",
    "湖南省邵阳市",
    "江西省赣州市",
    "云南省昭通市",
    "湖北省黄冈市",
    "广西壮族自治区玉林市",
    "甘肃省天水市",
    "重庆市万州区",
];

const EXEMPTIONS: &[&str] = &["重病免查", "残疾免查", "长期卧床免查"];

const TICK_NOTES: &[&str] = &[
    "已完成",
    "按时完成",
    "入户宣传，发放资料",
    "召开会员大会",
    "已上报镇计生办",
];

use crate::model::relation::{
    DAUGHTER, DAUGHTER_IN_LAW, FATHER, GRANDDAUGHTER, GRANDSON, HEAD, MOTHER, SON, SPOUSE,
};

/// The order relations are listed in a household's register.
const RELATION_ORDER: [&str; 9] = [
    HEAD,
    SPOUSE,
    SON,
    DAUGHTER,
    DAUGHTER_IN_LAW,
    GRANDSON,
    GRANDDAUGHTER,
    FATHER,
    MOTHER,
];

const MAX_HOUSEHOLD: usize = 7;

// ---------------------------------------------------------------------------
// Dates.

fn plus(day: NaiveDate, days: i64) -> NaiveDate {
    day + TimeDelta::days(days)
}

fn months_after(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_add_months(Months::new(months))
        .expect("date in range")
}

fn years_after(day: NaiveDate, years: u32) -> NaiveDate {
    months_after(day, 12 * years)
}

fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(12 * years))
        .expect("date in range")
}

fn age(birth: NaiveDate, day: NaiveDate) -> i32 {
    let years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years - 1
    } else {
        years
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
}

/// The calendar half-year (Jan–Jun or Jul–Dec) holding `day`.
fn half_year(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = ymd(day.year(), day.month0() / 6 * 6 + 1, 1);
    (start, plus(months_after(start, 6), -1))
}

/// Calendar periods of `months` months (3: quarters, 6: half-years, 12:
/// years) that overlap `from..=to`, each clipped to it.
fn periods(from: NaiveDate, to: NaiveDate, months: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let first_month = (from.month0() / months) * months + 1;
    let mut start = ymd(from.year(), first_month, 1);
    let mut out = Vec::new();
    while start <= to {
        let next = months_after(start, months);
        out.push((start.max(from), plus(next, -1).min(to)));
        start = next;
    }
    out
}

// ---------------------------------------------------------------------------
// Hidden facts behind a person.

/// One stretch of a contraceptive measure: from `start` until `end` (when it
/// was replaced) or still in use.
#[derive(Clone, Copy, Debug)]
struct Episode {
    method: Method,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

/// A person being made, with the history the visits are drawn from.
#[derive(Clone, Debug)]
struct Member {
    person: Person,
    /// The current marriage's date.
    married_on: Option<NaiveDate>,
    spouse: Option<Id>,
    /// Pregnancies she carried: (last period, delivery if delivered).
    pregnancies: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// The measure's history, oldest first; the last is the current one.
    episodes: Vec<Episode>,
}

impl Member {
    fn birth(&self) -> NaiveDate {
        self.person
            .birth_date
            .expect("generated persons have a birth date")
    }

    fn age_on(&self, day: NaiveDate) -> i32 {
        age(self.birth(), day)
    }

    fn is_female(&self) -> bool {
        self.person.sex == Sex::Female
    }

    fn left_on(&self) -> Option<NaiveDate> {
        match self.person.living {
            Living::Deregistered { date, .. } => date,
            _ => None,
        }
    }

    /// Born by `day` and not yet off the books.
    fn present_on(&self, day: NaiveDate) -> bool {
        day >= self.birth() && self.left_on().is_none_or(|left| day < left)
    }

    fn is_alive_member(&self) -> bool {
        !self.person.living.is_deregistered()
    }

    /// Out-migrated by `day`: living elsewhere.
    fn away_on(&self, day: NaiveDate) -> bool {
        matches!(self.person.living, Living::OutMigrant { since, .. } if since.is_none_or(|s| s <= day))
    }

    fn migrant_since(&self) -> Option<NaiveDate> {
        match self.person.living {
            Living::OutMigrant { since, .. } | Living::InMigrant { since, .. } => since,
            _ => None,
        }
    }

    /// An eligible married woman on `day` (DOMAIN.md "Rules").
    fn eligible_on(&self, day: NaiveDate) -> bool {
        let p = &self.person;
        self.is_female()
            && p.marital.is_married()
            && p.exemption.is_none()
            && self.married_on.is_some_and(|m| m <= day)
            && (15..=49).contains(&self.age_on(day))
            && p.menopause.is_none_or(|m| m > day)
            && self.present_on(day)
    }

    fn pregnant_on(&self, day: NaiveDate) -> bool {
        self.pregnancies
            .iter()
            .any(|&(lmp, birth)| plus(lmp, 35) <= day && birth.is_none_or(|b| day < b))
    }

    fn method_on(&self, day: NaiveDate) -> Option<Method> {
        self.episodes
            .iter()
            .find(|e| e.start <= day && e.end.is_none_or(|end| day < end))
            .map(|e| e.method)
    }

    fn last_birth(&self) -> Option<NaiveDate> {
        self.pregnancies.iter().filter_map(|p| p.1).max()
    }
}

/// Children born to a woman up to today, and the pregnancy she carries now.
struct Births {
    born: Vec<NaiveDate>,
    last_period_now: Option<NaiveDate>,
}

/// Members who join a household together or not at all (`core` of them),
/// then as many of the rest as fit; lower `priority` first.
struct Group {
    priority: u8,
    core: usize,
    members: Vec<Member>,
}

impl Group {
    fn one(priority: u8, member: Member) -> Group {
        Group {
            priority,
            core: 1,
            members: vec![member],
        }
    }
}

/// A household's members and what its flags follow from.
struct Family {
    members: Vec<Member>,
    /// The head couple's children, listed or not.
    kids: Vec<(NaiveDate, Sex)>,
    /// The only child died (计生特殊家庭) or is disabled.
    only_child_died: bool,
    only_child_disabled: bool,
}

/// A household's place in the village's books.
struct Address {
    number: String,
    group: &'static str,
    house: u32,
}

// ---------------------------------------------------------------------------
// The generator.

struct Gen {
    rng: ChaCha8Rng,
    today: NaiveDate,
    /// First day of the span of visits.
    from: NaiveDate,
    /// The current village's workers (记录人); the first does most.
    workers: Vec<String>,
    /// The current village's visits.
    visits: Vec<Visit>,
}

impl Gen {
    fn new(seed: u64, today: NaiveDate) -> Gen {
        Gen {
            rng: ChaCha8Rng::seed_from_u64(seed),
            today,
            from: plus(years_before(today, SPAN_YEARS), 1),
            workers: Vec::new(),
            visits: Vec::new(),
        }
    }

    // --- draws -------------------------------------------------------------

    fn id(&mut self) -> Id {
        new_id(&mut self.rng)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..=hi)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("a non-empty list")
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|i| i.1).sum();
        let mut r = self.rng.random_range(0..total);
        for &(item, weight) in items {
            if r < weight {
                return item;
            }
            r -= weight;
        }
        items[items.len() - 1].0
    }

    /// A day in `lo..=hi` (`lo` if the range is empty).
    fn day_in(&mut self, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
        if hi <= lo {
            return lo;
        }
        plus(lo, self.int(0, (hi - lo).num_days()))
    }

    fn birth_for_age(&mut self, years: u32) -> NaiveDate {
        let latest = years_before(self.today, years);
        let earliest = plus(years_before(self.today, years + 1), 1);
        self.day_in(earliest, latest)
    }

    fn surname(&mut self) -> &'static str {
        self.weighted(SURNAMES)
    }

    /// A male line's surname: often one of the village's clans (宗族).
    fn line_surname(&mut self, clans: [&'static str; 2]) -> &'static str {
        if self.chance(0.35) {
            self.pick(&clans)
        } else {
            self.surname()
        }
    }

    fn given_name(&mut self, sex: Sex, born: i32) -> &'static str {
        let era = match born {
            ..1960 => 0,
            1960..1980 => 1,
            1980..2000 => 2,
            _ => 3,
        };
        let (male, female) = GIVEN[era];
        self.pick(if sex == Sex::Male { male } else { female })
    }

    fn phone(&mut self) -> String {
        format!(
            "1{}{:09}",
            self.int(3, 9),
            self.rng.random_range(0..1_000_000_000u32)
        )
    }

    fn worker(&mut self) -> String {
        let i = if self.chance(0.65) {
            0
        } else {
            self.rng.random_range(0..self.workers.len())
        };
        self.workers[i].clone()
    }

    // --- villages ----------------------------------------------------------

    fn village_names(&mut self, count: usize) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(count);
        while names.len() < count {
            let name = format!(
                "{}{}村",
                self.pick(VILLAGE_FIRST),
                self.pick(VILLAGE_SECOND)
            );
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    fn village(&mut self, data: &mut Dataset, name: String, township: &str, households: usize) {
        let village = Village {
            id: self.id(),
            name,
            township: Some(township.to_string()),
            deleted: false,
        };
        let village_id = village.id;
        data.villages.push(village);
        self.workers = (0..3)
            .map(|_| {
                let surname = self.surname();
                let given = self.given_name(Sex::Female, 1975);
                format!("{surname}{given}")
            })
            .collect();
        let clans = [self.surname(), self.surname()];
        for (index, address) in self.addresses(households).into_iter().enumerate() {
            let in_migrant = index > 0 && self.chance(0.04);
            let (household, members) = self.household(village_id, address, clans, in_migrant);
            self.household_visits(&household, &members);
            data.households.push(household);
            data.persons.extend(members.into_iter().map(|m| m.person));
        }
        let mut visits = std::mem::take(&mut self.visits);
        visits.sort_by_key(|v| v.date);
        data.visits.extend(visits);
        let plan = self.plan(village_id);
        let ticks = self.ticks(&plan, households);
        data.plans.push(plan);
        data.ticks.extend(ticks);
    }

    /// Household numbers 0001…, villager groups in contiguous blocks, house
    /// numbers within a group with a few gaps.
    fn addresses(&mut self, count: usize) -> Vec<Address> {
        let groups = (count / 25).clamp(2, GROUPS.len());
        let mut out = Vec::with_capacity(count);
        let mut house = 0;
        let mut last_group = 0;
        for i in 0..count {
            let group = i * groups / count;
            if group != last_group {
                house = 0;
                last_group = group;
            }
            house += if self.chance(0.1) { 2 } else { 1 };
            out.push(Address {
                number: format!("{:04}", i + 1),
                group: GROUPS[group],
                house,
            });
        }
        out
    }

    // --- households ----------------------------------------------------------

    fn household(
        &mut self,
        village_id: Id,
        address: Address,
        clans: [&'static str; 2],
        in_migrant: bool,
    ) -> (Household, Vec<Member>) {
        let id = self.id();
        let mut family = self.family(id, clans, in_migrant);
        if in_migrant {
            self.move_in(&mut family.members);
        } else {
            self.move_out(&mut family.members);
        }
        for member in &mut family.members {
            self.menopause(member);
            self.exemption(member);
            self.certificate(member);
            self.person_phone(member);
        }
        self.contraception(&mut family.members);
        let (flags, notes) = self.flags(&family);
        let head = &family.members[0].person;
        let phone = match head.phone.clone() {
            Some(phone) => Some(phone),
            None => family
                .members
                .iter()
                .find_map(|m| m.person.phone.clone())
                .or_else(|| self.chance(0.3).then(|| self.phone())),
        };
        let household = Household {
            id,
            village_id,
            number: address.number,
            group: Some(address.group.to_string()),
            address: Some(format!("{} {}号", address.group, address.house)),
            phone,
            head_person_id: Some(head.id),
            flags,
            notes: notes.or_else(|| in_migrant.then(|| "流入人口租住户".to_string())),
            deleted: false,
        };
        (household, family.members)
    }

    fn member(
        &mut self,
        household_id: Id,
        surname: &str,
        sex: Sex,
        birth: NaiveDate,
        relation: &str,
    ) -> Member {
        let given = self.given_name(sex, birth.year());
        Member {
            person: Person {
                id: self.id(),
                household_id,
                name: format!("{surname}{given}"),
                sex,
                birth_date: Some(birth),
                relation: Some(relation.to_string()),
                marital: MaritalStatus::Unmarried,
                phone: None,
                living: Living::Resident,
                certificate: None,
                children: 0,
                pregnancy: Pregnancy::None,
                contraception: None,
                menopause: None,
                exemption: None,
                deleted: false,
            },
            married_on: None,
            spouse: None,
            pregnancies: Vec::new(),
            episodes: Vec::new(),
        }
    }

    fn head_age(&mut self, in_migrant: bool) -> u32 {
        let (lo, hi) = if in_migrant {
            (23, 42)
        } else {
            self.weighted(&[
                ((23, 34), 14),
                ((35, 44), 22),
                ((45, 54), 25),
                ((55, 64), 19),
                ((65, 74), 13),
                ((75, 88), 7),
            ])
        };
        self.rng.random_range(lo..=hi)
    }

    fn head_marital(&mut self, age: u32, in_migrant: bool) -> MaritalStatus {
        let (unmarried, divorced, widowed) = match age {
            _ if in_migrant => (8, 0, 0),
            ..30 => (22, 1, 0),
            30..50 => (5, 3, 1),
            50..60 => (3, 3, 6),
            60..75 => (2, 2, 20),
            _ => (2, 1, 45),
        };
        let married = 100 - unmarried - divorced - widowed;
        self.weighted(&[
            (MaritalStatus::Unmarried, unmarried),
            (MaritalStatus::Divorced, divorced),
            (MaritalStatus::Widowed, widowed),
            (MaritalStatus::FirstMarriage, married),
        ])
    }

    fn head_sex(&mut self, marital: MaritalStatus) -> Sex {
        let female = match marital {
            MaritalStatus::FirstMarriage | MaritalStatus::Remarried => 0.05,
            MaritalStatus::Unmarried => 0.15,
            MaritalStatus::Divorced => 0.5,
            MaritalStatus::Widowed => 0.6,
        };
        if self.chance(female) {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// A wife's birth date for a husband: up to 2 years older or 5 younger,
    /// and at least 20.
    fn wife_birth(&mut self, husband: NaiveDate) -> NaiveDate {
        let offset = self.int(-730, 1825);
        plus(husband, offset).min(years_before(self.today, 20))
    }

    fn husband_birth(&mut self, wife: NaiveDate) -> NaiveDate {
        let offset = self.int(-730, 1825);
        plus(wife, -offset).min(years_before(self.today, 22))
    }

    /// The wedding: the bride at 20–27, the groom at least 22.
    fn wedding(&mut self, husband: NaiveDate, wife: NaiveDate) -> NaiveDate {
        let bride_age = 20 + self.int(0, 4) + self.int(0, 3);
        let legal = years_after(wife, 20).max(years_after(husband, 22));
        let day = plus(
            years_after(wife, u32::try_from(bride_age).unwrap_or(20)),
            self.int(0, 364),
        );
        let latest = plus(self.today, -self.int(30, 400));
        day.max(legal).min(latest).max(legal).min(self.today)
    }

    fn wed(&mut self, husband: &mut Member, wife: &mut Member) {
        let on = self.wedding(husband.birth(), wife.birth());
        let status = if self.chance(0.03) {
            MaritalStatus::Remarried
        } else {
            MaritalStatus::FirstMarriage
        };
        let (husband_id, wife_id) = (husband.person.id, wife.person.id);
        for (partner, other) in [(husband, wife_id), (wife, husband_id)] {
            partner.person.marital = status;
            partner.married_on = Some(on);
            partner.spouse = Some(other);
        }
    }

    fn target_children(&mut self, mother_born: i32) -> usize {
        match mother_born {
            ..1955 => self.weighted(&[(2, 2), (3, 4), (4, 3), (5, 1)]),
            1955..1970 => self.weighted(&[(1, 1), (2, 5), (3, 3)]),
            1970..1990 => self.weighted(&[(1, 5), (2, 5), (3, 1)]),
            _ => self.weighted(&[(0, 2), (1, 5), (2, 5), (3, 1)]),
        }
    }

    /// The children a woman bears after her wedding, spaced 2–6 years, none
    /// after 41; the next one, if due within 280 days, is her pregnancy now.
    fn bear(&mut self, mother: NaiveDate, married_on: NaiveDate) -> Births {
        let target = self.target_children(mother.year());
        let mut born = Vec::new();
        let mut last_period_now = None;
        let mut next = plus(married_on, self.int(300, 1100));
        for _ in 0..target {
            if age(mother, next) > 41 {
                break;
            }
            if next > self.today {
                let last_period = plus(next, -280);
                if last_period <= self.today {
                    last_period_now = Some(last_period);
                }
                break;
            }
            born.push(next);
            next = plus(next, self.int(730, 2200));
        }
        Births {
            born,
            last_period_now,
        }
    }

    /// Records a mother's births and current pregnancy on her.
    fn record_births(&mut self, mother: &mut Member, births: &Births) {
        for &birth in &births.born {
            let last_period = plus(birth, -self.int(266, 294));
            mother.pregnancies.push((last_period, Some(birth)));
        }
        mother.person.children = u8::try_from(births.born.len()).unwrap_or(u8::MAX);
        let last = births.born.last().copied();
        if let (Some(last_period), true) =
            (births.last_period_now, mother.person.marital.is_married())
        {
            mother.pregnancies.push((last_period, None));
            mother.person.pregnancy = Pregnancy::Pregnant { last_period };
        } else if let Some(on) = last.filter(|&b| plus(b, 365) >= self.today) {
            mother.person.pregnancy = Pregnancy::Delivered { on };
        }
    }

    fn kid_sex(&mut self) -> Sex {
        if self.chance(0.53) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    fn family(&mut self, id: Id, clans: [&'static str; 2], in_migrant: bool) -> Family {
        let head_age = self.head_age(in_migrant);
        let marital = self.head_marital(head_age, in_migrant);
        let head_sex = self.head_sex(marital);
        let line = if in_migrant {
            self.surname()
        } else {
            self.line_surname(clans)
        };
        let head_surname = if head_sex == Sex::Male {
            line
        } else {
            self.surname()
        };
        let head_birth = self.birth_for_age(head_age);
        let mut head = self.member(id, head_surname, head_sex, head_birth, HEAD);
        head.person.marital = marital;
        let mut couple = vec![head];
        if marital.is_married() {
            let spouse = self.spouse_of(&mut couple[0], line);
            couple.push(spouse);
        }
        let kids = self.head_couple_children(&mut couple);
        let (died, disabled) = self.only_child_fate(&couple, &kids);
        if died {
            // 现有子女数 counts living children.
            couple.iter_mut().for_each(|m| m.person.children = 0);
        }
        let mut groups = vec![Group {
            priority: 0,
            core: couple.len(),
            members: couple,
        }];
        let mut son_stays = false;
        for (index, &(birth, sex)) in kids.iter().enumerate() {
            let died_now = died && index == 0;
            if let Some(group) = self.child(id, line, birth, sex, died_now, &mut son_stays) {
                groups.push(group);
            }
        }
        if !son_stays && head_sex == Sex::Male && head_age <= 55 && !in_migrant {
            groups.extend(self.parents(id, line, head_birth));
        }
        Family {
            members: assemble(groups),
            kids,
            only_child_died: died,
            only_child_disabled: disabled,
        }
    }

    /// The head's spouse, wed to the head.
    fn spouse_of(&mut self, head: &mut Member, line: &'static str) -> Member {
        let household = head.person.household_id;
        if head.person.sex == Sex::Male {
            let birth = self.wife_birth(head.birth());
            let surname = self.surname();
            let mut wife = self.member(household, surname, Sex::Female, birth, SPOUSE);
            self.wed(head, &mut wife);
            wife
        } else {
            let birth = self.husband_birth(head.birth());
            let mut husband = self.member(household, line, Sex::Male, birth, SPOUSE);
            self.wed(&mut husband, head);
            husband
        }
    }

    /// The head couple's children (birth, sex); their births recorded on the
    /// mother when she is in the household; both parents' child counts set.
    fn head_couple_children(&mut self, couple: &mut [Member]) -> Vec<(NaiveDate, Sex)> {
        if couple[0].person.marital == MaritalStatus::Unmarried {
            return Vec::new();
        }
        let mother = couple.iter().position(Member::is_female);
        let (mother_birth, married_on) = match mother {
            Some(i) => {
                let birth = couple[i].birth();
                let married = match couple[i].married_on {
                    Some(on) => on,
                    None => {
                        let husband = self.husband_birth(birth);
                        self.wedding(husband, birth)
                    }
                };
                (birth, married)
            }
            None => {
                let father = couple[0].birth();
                let birth = self.wife_birth(father);
                (birth, self.wedding(father, birth))
            }
        };
        let births = self.bear(mother_birth, married_on);
        if let Some(i) = mother {
            self.record_births(&mut couple[i], &births);
        }
        for member in couple.iter_mut() {
            member.person.children = u8::try_from(births.born.len()).unwrap_or(u8::MAX);
        }
        births.born.iter().map(|&b| (b, self.kid_sex())).collect()
    }

    /// For an older couple with one child: sometimes the child died or is
    /// disabled (计生特殊家庭). Returns (died, disabled).
    fn only_child_fate(&mut self, couple: &[Member], kids: &[(NaiveDate, Sex)]) -> (bool, bool) {
        let older = couple.iter().all(|m| m.age_on(self.today) >= 45);
        if kids.len() != 1 || !older || !self.chance(0.06) {
            return (false, false);
        }
        if self.chance(0.5) {
            (true, false)
        } else {
            (false, true)
        }
    }

    /// One of the head couple's children, or nothing when the child lives
    /// elsewhere (a married daughter, a son with his own household).
    fn child(
        &mut self,
        household: Id,
        line: &'static str,
        birth: NaiveDate,
        sex: Sex,
        died: bool,
        son_stays: &mut bool,
    ) -> Option<Group> {
        let relation = if sex == Sex::Male { SON } else { DAUGHTER };
        let mut kid = self.member(household, line, sex, birth, relation);
        let years = kid.age_on(self.today);
        if died {
            let lo = years_after(birth, 1).max(years_before(self.today, 15));
            let date = self.day_in(lo.min(self.today), self.today);
            kid.person.living = Living::Deregistered {
                reason: DeregisterReason::Deceased,
                date: Some(date),
            };
            return Some(Group::one(1, kid));
        }
        if years < 18 {
            return Some(Group::one(1, kid));
        }
        let min_age = if sex == Sex::Male { 23 } else { 21 };
        let married = years >= min_age && self.chance(f64::from(years - min_age + 1) * 0.15);
        if !married {
            return Some(Group::one(3, kid));
        }
        if sex == Sex::Female {
            return self.married_out(kid);
        }
        if !*son_stays && self.chance(0.8) {
            *son_stays = true;
            return Some(self.son_branch(kid, line));
        }
        None
    }

    /// A daughter married into another family: usually not on this
    /// household's books; sometimes still listed as moved away (迁出).
    fn married_out(&mut self, mut daughter: Member) -> Option<Group> {
        if !self.chance(0.12) {
            return None;
        }
        let birth = daughter.birth();
        let hi = years_after(birth, 28).min(self.today);
        let date = self.day_in(years_after(birth, 21).min(hi), hi);
        daughter.person.marital = MaritalStatus::FirstMarriage;
        daughter.person.living = Living::Deregistered {
            reason: DeregisterReason::MovedAway,
            date: Some(date),
        };
        Some(Group::one(4, daughter))
    }

    /// A married son living with his parents: his wife (儿媳) and their
    /// children (孙子/孙女).
    fn son_branch(&mut self, mut son: Member, line: &'static str) -> Group {
        let household = son.person.household_id;
        let wife_birth = self.wife_birth(son.birth());
        let wife_surname = self.surname();
        let mut wife = self.member(
            household,
            wife_surname,
            Sex::Female,
            wife_birth,
            DAUGHTER_IN_LAW,
        );
        self.wed(&mut son, &mut wife);
        let births = self.bear(wife_birth, wife.married_on.expect("just wed"));
        self.record_births(&mut wife, &births);
        son.person.children = wife.person.children;
        let mut members = vec![son, wife];
        for &birth in &births.born {
            let sex = self.kid_sex();
            let relation = if sex == Sex::Male {
                GRANDSON
            } else {
                GRANDDAUGHTER
            };
            members.push(self.member(household, line, sex, birth, relation));
        }
        Group {
            priority: 2,
            core: 2,
            members,
        }
    }

    /// The head's father and/or mother, sometimes one of them deceased in
    /// the last five years.
    fn parents(&mut self, household: Id, line: &'static str, head: NaiveDate) -> Option<Group> {
        if !self.chance(0.55) {
            return None;
        }
        let father_birth = plus(
            years_before(head, u32::try_from(self.int(23, 32)).unwrap_or(25)),
            -self.int(0, 364),
        );
        let mother_birth = self.wife_birth(father_birth).min(years_before(head, 20));
        let (with_father, with_mother) =
            self.weighted(&[((true, true), 40), ((true, false), 25), ((false, true), 35)]);
        let mut members = Vec::new();
        if with_father && age(father_birth, self.today) <= 92 {
            members.push(self.member(household, line, Sex::Male, father_birth, FATHER));
        }
        if with_mother && age(mother_birth, self.today) <= 94 {
            let surname = self.surname();
            members.push(self.member(household, surname, Sex::Female, mother_birth, MOTHER));
        }
        let children = u8::try_from(self.int(2, 5)).unwrap_or(2);
        for parent in &mut members {
            parent.person.children = children;
            parent.person.marital = MaritalStatus::Widowed;
        }
        if let [father, mother] = members.as_mut_slice() {
            self.wed(father, mother);
            if self.chance(0.1) {
                self.one_parent_died(father, mother);
            }
        }
        if members.is_empty() {
            return None;
        }
        Some(Group {
            priority: 5,
            core: members.len(),
            members,
        })
    }

    fn one_parent_died(&mut self, father: &mut Member, mother: &mut Member) {
        let date = self.day_in(self.from, plus(self.today, -1));
        let (dead, survivor) = if self.chance(0.6) {
            (father, mother)
        } else {
            (mother, father)
        };
        dead.person.living = Living::Deregistered {
            reason: DeregisterReason::Deceased,
            date: Some(date),
        };
        survivor.person.marital = MaritalStatus::Widowed;
    }

    // --- migration -----------------------------------------------------------

    /// A whole in-migrant family (流入): since a date in the last eight
    /// years, or since birth for a child born here.
    fn move_in(&mut self, members: &mut [Member]) {
        let place = self.pick(ORIGINS).to_string();
        let since = self.day_in(years_before(self.today, 8), plus(self.today, -60));
        for member in members {
            member.person.living = Living::InMigrant {
                place: place.clone(),
                since: Some(since.max(member.birth())),
            };
        }
    }

    /// Young couples and unmarried young adults working elsewhere (流出).
    fn move_out(&mut self, members: &mut [Member]) {
        let today = self.today;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let young = |m: &Member| (20..=48).contains(&m.age_on(today)) && m.is_alive_member();
        for (i, m) in members.iter().enumerate() {
            let relation = m.person.relation.as_deref().unwrap_or_default();
            let couple_member = matches!(relation, HEAD | SON) && m.person.marital.is_married();
            if couple_member && young(m) {
                let p = if relation == HEAD { 0.12 } else { 0.3 };
                if self.chance(p) {
                    let spouse = members.iter().position(|s| Some(s.person.id) == m.spouse);
                    groups.push(std::iter::once(i).chain(spouse).collect());
                }
            } else if matches!(relation, SON | DAUGHTER)
                && m.person.marital == MaritalStatus::Unmarried
                && (18..=40).contains(&m.age_on(today))
                && m.is_alive_member()
                && self.chance(0.4)
            {
                groups.push(vec![i]);
            }
        }
        for group in groups {
            let adult = group
                .iter()
                .map(|&i| years_after(members[i].birth(), 18))
                .max()
                .expect("non-empty group");
            let lo = adult.max(years_before(today, 8));
            let hi = plus(today, -30);
            if lo > hi {
                continue;
            }
            let since = self.day_in(lo, hi);
            let place = self.pick(DESTINATIONS).to_string();
            for i in group {
                members[i].person.living = Living::OutMigrant {
                    place: place.clone(),
                    since: Some(since),
                };
            }
        }
    }

    /// A migrant woman of reproductive age's certificate (婚育证明): mostly
    /// valid, some expiring within 30 days, a few expired.
    fn certificate(&mut self, member: &mut Member) {
        let p = &member.person;
        let eligible = member.is_female()
            && p.living.is_migrant()
            && (15..=49).contains(&member.age_on(self.today));
        let share = if p.marital.is_married() { 0.9 } else { 0.7 };
        if !eligible || !self.chance(share) {
            return;
        }
        let r: f64 = self.rng.random();
        let expires = if r < 0.05 {
            plus(self.today, -self.int(1, 200))
        } else if r < 0.13 {
            plus(self.today, self.int(0, 30))
        } else {
            plus(self.today, self.int(31, 1094))
        };
        let issued = years_before(expires, 3);
        member.person.certificate = Some(MigrantCertificate {
            number: format!("{}{:06}", issued.year(), self.int(1, 999_999)),
            expires: Some(expires),
        });
    }

    // --- health and measures --------------------------------------------------

    /// Menopause (绝经) at 45–55, for women who have reached it by today.
    fn menopause(&mut self, member: &mut Member) {
        if !member.is_female() || member.person.pregnancy != Pregnancy::None {
            return;
        }
        let at = 45 + self.int(0, 5) + self.int(0, 5);
        let day = plus(
            years_after(member.birth(), u32::try_from(at).unwrap_or(50)),
            self.int(0, 364),
        );
        if day <= self.today && member.left_on().is_none_or(|left| day < left) {
            member.person.menopause = Some(day);
        }
    }

    fn exemption(&mut self, member: &mut Member) {
        let reproductive = (15..=49).contains(&member.age_on(self.today));
        if member.is_female()
            && member.person.marital.is_married()
            && reproductive
            && member.is_alive_member()
            && self.chance(0.015)
        {
            member.person.exemption = Some(self.pick(EXEMPTIONS).to_string());
        }
    }

    fn person_phone(&mut self, member: &mut Member) {
        let years = member.age_on(self.today);
        let share = match years {
            ..18 => 0.0,
            18..=70 if member.person.living.is_migrant() => 0.85,
            18..=70 => 0.7,
            _ => 0.25,
        };
        if member.is_alive_member() && self.chance(share) {
            member.person.phone = Some(self.phone());
        }
    }

    /// Each married woman's measure; condoms and male sterilisation go on
    /// her husband.
    fn contraception(&mut self, members: &mut [Member]) {
        for i in 0..members.len() {
            let woman = &members[i];
            let wants = woman.is_female()
                && woman.person.marital.is_married()
                && woman.is_alive_member()
                && woman.age_on(self.today) <= 60
                && !matches!(woman.person.pregnancy, Pregnancy::Pregnant { .. });
            if !wants {
                continue;
            }
            let husband = members
                .iter()
                .position(|m| Some(m.person.id) == woman.spouse && m.is_alive_member());
            let Some(method) = self.choose_method(woman, husband.is_some()) else {
                continue;
            };
            let Some(base) = self.measure_base(woman, method) else {
                continue;
            };
            let stop = woman.person.menopause.unwrap_or(self.today);
            let user = match (method.only_for(), husband) {
                (Some(Sex::Male), Some(h)) => h,
                _ => i,
            };
            self.fit(&mut members[user], method, base, stop);
        }
    }

    fn choose_method(&mut self, woman: &Member, has_husband: bool) -> Option<Method> {
        use Method::*;
        let years = woman.age_on(self.today);
        let children = woman.person.children;
        let method = if years >= 50 || woman.person.menopause.is_some() {
            if children >= 2 && self.chance(0.3) {
                Some(FemaleSterilisation)
            } else if self.chance(0.12) {
                Some(Iud)
            } else {
                None
            }
        } else if children == 0 {
            self.weighted(&[
                (Some(Pill), 30),
                (Some(Condom), 35),
                (Some(Injectable), 8),
                (Some(Other), 5),
                (None, 22),
            ])
        } else if years >= 35 && children >= 2 {
            self.weighted(&[
                (Some(FemaleSterilisation), 38),
                (Some(Iud), 42),
                (Some(Implant), 5),
                (Some(MaleSterilisation), 5),
                (Some(Condom), 5),
                (None, 5),
            ])
        } else {
            self.weighted(&[
                (Some(Iud), 62),
                (Some(Implant), 8),
                (Some(Injectable), 6),
                (Some(Pill), 6),
                (Some(Condom), 10),
                (Some(FemaleSterilisation), 3),
                (Some(MaleSterilisation), 1),
                (Some(Other), 2),
                (None, 2),
            ])
        };
        match method {
            Some(m) if m.only_for() == Some(Sex::Male) && !has_husband => {
                Some(if children > 0 { Iud } else { Pill })
            }
            other => other,
        }
    }

    /// When a measure starts: some months after her last delivery (at it,
    /// for sterilisation), or after the wedding; `None` if that is still
    /// ahead.
    fn measure_base(&mut self, woman: &Member, method: Method) -> Option<NaiveDate> {
        let base = match woman.last_birth() {
            Some(birth) if method == Method::FemaleSterilisation => plus(birth, self.int(3, 120)),
            Some(birth) => plus(birth, self.int(42, 365)),
            None => plus(woman.married_on?, self.int(0, 540)),
        };
        (base <= self.today).then_some(base)
    }

    /// Puts a measure on its user with its history: IUDs and implants are
    /// replaced when due (some overdue), injectables and pills run on their
    /// 3-month and monthly cycles.
    fn fit(&mut self, user: &mut Member, method: Method, base: NaiveDate, stop: NaiveDate) {
        let (start, replace_by) = match method {
            Method::Iud | Method::Implant => {
                let life = if method == Method::Iud {
                    self.int(8, 10)
                } else {
                    self.int(3, 5)
                };
                let life = u32::try_from(life).unwrap_or(5);
                let start = self.replaced_chain(user, method, base, life, stop);
                (start, Some(years_after(start, life)))
            }
            Method::Injectable | Method::Pill => {
                let cycle = if method == Method::Injectable { 3 } else { 1 };
                let start = base.max(plus(self.today, -self.int(60, 1500)));
                (start, Some(self.next_due(start, cycle)))
            }
            _ => (base, None),
        };
        user.episodes.push(Episode {
            method,
            start,
            end: None,
        });
        user.person.contraception = Some(Contraception {
            method,
            start: Some(start),
            replace_by,
            informed_choice: self.chance(0.93),
        });
    }

    /// Replacements of a device every `life` years from `base` up to `stop`;
    /// the replaced ones go into the history. Returns the current start.
    fn replaced_chain(
        &mut self,
        user: &mut Member,
        method: Method,
        base: NaiveDate,
        life: u32,
        stop: NaiveDate,
    ) -> NaiveDate {
        let mut start = base;
        loop {
            let due = years_after(start, life);
            let overdue = due > plus(self.today, -180) && self.chance(0.12);
            if due > stop || overdue {
                return start;
            }
            let next = plus(due, self.int(0, 30)).min(self.today);
            user.episodes.push(Episode {
                method,
                start,
                end: Some(next),
            });
            start = next;
        }
    }

    /// The next injection or pill re-supply after `start` on a `cycle`-month
    /// rhythm; now and then one already overdue.
    fn next_due(&mut self, start: NaiveDate, cycle: u32) -> NaiveDate {
        let mut k = 1;
        while months_after(start, k * cycle) < self.today {
            k += 1;
        }
        if k > 1 && self.chance(0.08) {
            k -= 1;
        }
        months_after(start, k * cycle)
    }

    // --- flags ---------------------------------------------------------------

    /// Family flags that follow from the head couple's children, and the
    /// note that explains them.
    fn flags(&mut self, family: &Family) -> (FamilyFlags, Option<String>) {
        let kids = &family.kids;
        let girls = kids.iter().filter(|k| k.1 == Sex::Female).count();
        let one_child = kids.len() == 1 && !family.only_child_died;
        let mut flags = FamilyFlags {
            one_child,
            two_girls: kids.len() == 2 && girls == 2,
            care_for_girls: false,
            special_family: family.only_child_died || family.only_child_disabled,
        };
        if one_child && girls == 1 && self.chance(0.35) {
            flags.care_for_girls = true;
        }
        let note = if family.only_child_died {
            Some("独生子女死亡")
        } else if family.only_child_disabled {
            Some("独生子女伤残")
        } else if flags.care_for_girls {
            Some("贫困独女户")
        } else {
            None
        };
        (flags, note.map(String::from))
    }

    // --- visits --------------------------------------------------------------

    /// Records a visit if it falls in the span, after the person's birth and
    /// before they left the books.
    fn record(
        &mut self,
        member: &Member,
        date: NaiveDate,
        kind: VisitKind,
        outcome: Outcome,
    ) -> Option<&mut Visit> {
        if date < self.from || date > self.today || !member.present_on(date) {
            return None;
        }
        let visit = Visit {
            id: self.id(),
            person_id: member.person.id,
            household_id: member.person.household_id,
            date,
            kind,
            recorded_by: Some(self.worker()),
            outcome,
            notes: None,
            next_visit: None,
            not_seen: None,
            deleted: false,
        };
        self.visits.push(visit);
        self.visits.last_mut()
    }

    fn household_visits(&mut self, household: &Household, members: &[Member]) {
        for member in members {
            if member.is_female() {
                self.three_checks(member);
                self.pregnancy_visits(member);
                self.migrant_checks(member);
                self.certificate_delivered(member);
            }
            self.method_follow_ups(member);
        }
        self.publicity(members);
        if household.flags.qualifies_for_reward() {
            self.reward_checks(members);
        }
        if household.flags.care_for_girls {
            self.care_for_girls(members);
        }
        self.other_visits(members);
    }

    /// A day in a half-year, mostly in the campaign months (3–5, 9–11).
    fn campaign_day(&mut self, start: NaiveDate, end: NaiveDate) -> NaiveDate {
        let campaign = months_after(half_year(start).0, 2);
        let (lo, hi) = (
            campaign.max(start),
            plus(months_after(campaign, 3), -1).min(end),
        );
        if lo <= hi && self.chance(0.75) {
            self.day_in(lo, hi)
        } else {
            self.day_in(start, end)
        }
    }

    /// 三查 in most half-years while she is an eligible married woman.
    fn three_checks(&mut self, woman: &Member) {
        if woman.married_on.is_none() || woman.person.exemption.is_some() {
            return;
        }
        for (start, end) in periods(self.from, self.today, 6) {
            // Draw over the whole half-year: the current one is partly done.
            let (_, half_end) = half_year(start);
            let day = self.campaign_day(start, half_end);
            if day > end || !woman.eligible_on(day) {
                continue;
            }
            let share = if woman.away_on(day) { 0.55 } else { 0.9 };
            if self.chance(share) {
                let outcome = self.three_check_outcome(woman, day);
                self.record(woman, day, VisitKind::ThreeChecks, outcome);
            }
        }
    }

    fn three_check_outcome(&mut self, woman: &Member, day: NaiveDate) -> Outcome {
        let pregnant = woman.pregnant_on(day);
        let ring = (woman.method_on(day) == Some(Method::Iud)).then(|| self.chance(0.985));
        let condition = self.chance(0.06);
        let referred = condition.then(|| self.chance(0.7));
        Outcome {
            three_checks: Some(ThreeCheckResults {
                ring_in_place: ring,
                pregnant: Some(pregnant),
                condition_found: Some(condition),
            }),
            pregnancy_found: Some(pregnant),
            referred,
            ..Outcome::default()
        }
    }

    /// Follow-ups of each measure: IUD at 1, 3, 6, 12 months then yearly;
    /// implant, sterilisation, condom and other at 1 month then yearly;
    /// injectables every 3 months; pills monthly. Most inside ±7 days.
    fn method_follow_ups(&mut self, member: &Member) {
        for (k, episode) in member.episodes.iter().enumerate() {
            if self.chance(0.5) {
                let outcome = Outcome {
                    new_method: Some(episode.method),
                    satisfied: Some(self.chance(0.96)),
                    ..Outcome::default()
                };
                let note = if k > 0 {
                    "到期更换"
                } else {
                    "落实措施"
                };
                if let Some(v) =
                    self.record(member, episode.start, VisitKind::MethodFollowUp, outcome)
                {
                    v.notes = Some(note.to_string());
                }
            }
            // Past the current measure's dues, the next one (the next visit).
            let until = episode.end.unwrap_or(years_after(self.today, 2));
            let dues = follow_up_dates(episode.method, episode.start, until);
            let window_start = plus(self.from, -40);
            for (j, &due) in dues.iter().enumerate() {
                if due < window_start || due > self.today {
                    continue;
                }
                let r: f64 = self.rng.random();
                let day = if r < 0.86 {
                    plus(due, self.int(-7, 7))
                } else if r < 0.92 {
                    plus(due, self.int(8, 30))
                } else {
                    continue;
                };
                let outcome = self.follow_up_outcome();
                // A visit late past the next due date books the one after
                // it: a next visit before the visit itself is invalid.
                let next = dues[j + 1..].iter().copied().find(|&n| n >= day);
                if let Some(v) = self.record(member, day, VisitKind::MethodFollowUp, outcome) {
                    v.next_visit = next;
                }
            }
        }
    }

    fn follow_up_outcome(&mut self) -> Outcome {
        let adverse = self.chance(0.04);
        let asked = self.chance(0.5);
        Outcome {
            adverse_reaction: Some(adverse),
            referred: Some(adverse && self.chance(0.7)),
            knows_policy: asked.then(|| self.chance(0.93)),
            satisfied: asked.then(|| self.chance(0.95)),
            ..Outcome::default()
        }
    }

    /// Monthly follow-ups through each pregnancy, a birth-defect referral
    /// for most, and postpartum visits at 3–7 and 42 days.
    fn pregnancy_visits(&mut self, mother: &Member) {
        for &(last_period, birth) in &mother.pregnancies {
            let end = birth.unwrap_or(plus(self.today, 1));
            if end < self.from {
                continue;
            }
            let mut day = plus(last_period, self.int(42, 70));
            let mut first = true;
            while day < end && day <= self.today {
                if self.chance(0.9) {
                    let outcome = Outcome {
                        pregnancy_found: first.then_some(true),
                        adverse_reaction: Some(self.chance(0.03)),
                        ..Outcome::default()
                    };
                    let next = plus(day, 30);
                    if let Some(v) = self.record(mother, day, VisitKind::PregnancyFollowUp, outcome)
                    {
                        v.next_visit = (next < end).then_some(next);
                        first = false;
                    }
                }
                day = plus(day, self.int(28, 33));
            }
            if self.chance(0.9) {
                self.defect_referral(mother, last_period, birth);
            }
            if let Some(birth) = birth {
                self.postpartum(mother, birth);
            }
        }
    }

    /// 出生缺陷干预: level 1 early (folic acid, counselling), level 2
    /// prenatal screening, level 3 newborn screening.
    fn defect_referral(
        &mut self,
        mother: &Member,
        last_period: NaiveDate,
        birth: Option<NaiveDate>,
    ) {
        let level = self.weighted(&[(1u8, 30), (2, 60), (3, 10)]);
        let (day, note) = match (level, birth) {
            (1, _) => (plus(last_period, self.int(20, 70)), "发放叶酸，孕早期指导"),
            (3, Some(b)) => (plus(b, self.int(3, 28)), "新生儿疾病筛查"),
            _ => (plus(last_period, self.int(84, 150)), "产前筛查"),
        };
        let level = if level == 3 && birth.is_none() {
            2
        } else {
            level
        };
        if birth.is_some_and(|b| level < 3 && day >= b) {
            return;
        }
        let outcome = Outcome {
            defect_level: Some(level),
            referred: Some(true),
            ..Outcome::default()
        };
        if let Some(v) = self.record(mother, day, VisitKind::BirthDefectReferral, outcome) {
            v.notes = Some(note.to_string());
        }
    }

    fn postpartum(&mut self, mother: &Member, birth: NaiveDate) {
        for (lo, hi, share) in [(3, 7, 0.92), (40, 44, 0.85)] {
            if self.chance(share) {
                let day = plus(birth, self.int(lo, hi));
                let outcome = Outcome {
                    adverse_reaction: Some(self.chance(0.03)),
                    satisfied: Some(self.chance(0.96)),
                    ..Outcome::default()
                };
                self.record(mother, day, VisitKind::Postpartum, outcome);
            }
        }
    }

    /// 流动人口季查 for migrant women of reproductive age.
    fn migrant_checks(&mut self, woman: &Member) {
        let Some(since) = woman.migrant_since() else {
            return;
        };
        let share = if woman.person.certificate.is_some() {
            0.88
        } else {
            0.6
        };
        for (start, end) in periods(self.from.max(since), self.today, 3) {
            let day = self.day_in(start, end);
            if !(15..=49).contains(&woman.age_on(day)) || !self.chance(share) {
                continue;
            }
            let outcome = Outcome {
                pregnancy_found: Some(woman.pregnant_on(day)),
                knows_policy: Some(self.chance(0.92)),
                ..Outcome::default()
            };
            self.record(woman, day, VisitKind::MigrantCheck, outcome);
        }
    }

    /// 送证上门 on the day her certificate was issued.
    fn certificate_delivered(&mut self, woman: &Member) {
        let Some(expires) = woman.person.certificate.as_ref().and_then(|c| c.expires) else {
            return;
        };
        let issued = years_before(expires, 3);
        // The home village issues it and brings it to the family (送证上门).
        let out_since = match woman.person.living {
            Living::OutMigrant { since, .. } => since,
            _ => return,
        };
        if out_since.is_none_or(|s| issued >= s) && self.chance(0.7) {
            self.record(
                woman,
                issued,
                VisitKind::CertificateDelivered,
                Outcome::default(),
            );
        }
    }

    /// 宣传入户: about once a year per household, mostly to a woman of
    /// reproductive age.
    fn publicity(&mut self, members: &[Member]) {
        for (start, end) in periods(self.from, self.today, 6) {
            if !self.chance(0.95) {
                continue;
            }
            let day = self.day_in(start, end);
            let at_home: Vec<&Member> = members
                .iter()
                .filter(|m| m.present_on(day) && m.age_on(day) >= 18 && !m.away_on(day))
                .collect();
            let women: Vec<&Member> = at_home
                .iter()
                .copied()
                .filter(|m| m.is_female() && m.age_on(day) <= 49)
                .collect();
            let pool = if !women.is_empty() && self.chance(0.7) {
                women
            } else {
                at_home
            };
            let Some(&person) = pool.choose(&mut self.rng) else {
                continue;
            };
            let outcome = Outcome {
                knows_policy: Some(self.chance(0.93)),
                satisfied: Some(self.chance(0.95)),
                ..Outcome::default()
            };
            let note = self.chance(0.3).then(|| {
                self.pick(&["发放宣传资料", "讲解优生优育知识", "宣传奖励扶助政策"])
                    .to_string()
            });
            if let Some(v) = self.record(person, day, VisitKind::PublicityAtHome, outcome) {
                v.notes = note;
            }
        }
    }

    /// 奖励扶助核查: each year for the head couple from the year they turn 60.
    fn reward_checks(&mut self, members: &[Member]) {
        for (start, end) in periods(self.from, self.today, 12) {
            for m in members
                .iter()
                .filter(|m| matches!(m.person.relation.as_deref(), Some(HEAD | SPOUSE)))
            {
                let sixty = years_after(m.birth(), 60);
                if sixty > end {
                    continue;
                }
                let turning = sixty >= start;
                if self.chance(if turning { 0.95 } else { 0.6 }) {
                    let day = self.day_in(sixty.max(start), end);
                    let outcome = Outcome {
                        knows_policy: Some(self.chance(0.95)),
                        satisfied: Some(self.chance(0.97)),
                        ..Outcome::default()
                    };
                    self.record(m, day, VisitKind::RewardCheck, outcome);
                }
            }
        }
    }

    /// 关爱女孩帮扶: a support visit most years, to the girl's mother or the head.
    fn care_for_girls(&mut self, members: &[Member]) {
        let person = members
            .iter()
            .find(|m| m.is_female() && matches!(m.person.relation.as_deref(), Some(HEAD | SPOUSE)))
            .unwrap_or(&members[0]);
        for (start, end) in periods(self.from, self.today, 12) {
            if self.chance(0.9) {
                let day = self.day_in(start, end);
                let outcome = Outcome {
                    satisfied: Some(self.chance(0.97)),
                    ..Outcome::default()
                };
                if let Some(v) = self.record(person, day, VisitKind::CareForGirls, outcome) {
                    v.notes = Some("发放帮扶金，了解女孩就学情况".to_string());
                }
            }
        }
    }

    fn other_visits(&mut self, members: &[Member]) {
        for (start, end) in periods(self.from, self.today, 12) {
            if self.chance(0.03) {
                let day = self.day_in(start, end);
                if let Some(v) = self.record(&members[0], day, VisitKind::Other, Outcome::default())
                {
                    v.notes = Some("政策咨询".to_string());
                }
            }
        }
    }

    // --- plans ---------------------------------------------------------------

    fn plan(&mut self, village_id: Id) -> WorkPlan {
        let templates = templates::builtin();
        let index = self.rng.random_range(0..templates.len());
        let rng = &mut self.rng;
        let mut next_id = || new_id(rng);
        templates[index].instantiate(village_id, self.today.year(), &mut next_id)
    }

    /// Ticks for most tasks whose window has ended and some of those under
    /// way.
    fn ticks(&mut self, plan: &WorkPlan, households: usize) -> Vec<Tick> {
        let mut ticks = Vec::new();
        for task in plan.tasks() {
            if task.start > self.today {
                continue;
            }
            let share = if task.end < self.today { 0.85 } else { 0.45 };
            if !self.chance(share) {
                continue;
            }
            let date = self.day_in(task.start, task.end.min(self.today));
            let reached = i64::try_from(households).unwrap_or(i64::MAX);
            ticks.push(Tick {
                id: self.id(),
                plan_id: task.plan_id,
                measure_id: task.measure_id,
                occurrence: task.occurrence,
                date,
                by: Some(self.worker()),
                note: self.chance(0.2).then(|| self.pick(TICK_NOTES).to_string()),
                households_reached: self
                    .chance(0.6)
                    .then(|| u32::try_from(self.int(reached / 5, reached)).unwrap_or(0)),
                deleted: false,
            });
        }
        ticks
    }
}

/// A version-4 UUID from the seeded generator.
fn new_id(rng: &mut ChaCha8Rng) -> Id {
    uuid::Builder::from_random_bytes(rng.random::<u128>().to_le_bytes()).into_uuid()
}

/// The follow-up due dates of a measure started on `start`, before `until`.
fn follow_up_dates(method: Method, start: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
    let (first, step): (&[u32], u32) = match method {
        Method::Iud => (&[1, 3, 6, 12], 12),
        Method::Injectable => (&[3], 3),
        Method::Pill => (&[1], 1),
        _ => (&[1, 12], 12),
    };
    let mut months: Vec<u32> = first.to_vec();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        if i == months.len() {
            months.push(months[i - 1] + step);
        }
        let due = months_after(start, months[i]);
        if due >= until {
            return out;
        }
        out.push(due);
        i += 1;
    }
}

/// The household's members: groups by priority while they fit in seven,
/// then in register order (户主, 配偶, children by age, …).
fn assemble(mut groups: Vec<Group>) -> Vec<Member> {
    groups.sort_by_key(|g| g.priority);
    let mut members: Vec<Member> = Vec::new();
    for group in groups {
        if members.len() + group.core > MAX_HOUSEHOLD {
            continue;
        }
        let room = MAX_HOUSEHOLD - members.len();
        members.extend(group.members.into_iter().take(room));
    }
    members.sort_by_key(|m| {
        let relation = m.person.relation.as_deref().unwrap_or_default();
        let rank = RELATION_ORDER
            .iter()
            .position(|r| *r == relation)
            .unwrap_or(RELATION_ORDER.len());
        // Sons and daughters together, by age.
        let rank = if rank == 3 {
            2
        } else if rank == 6 {
            5
        } else {
            rank
        };
        (rank, m.person.birth_date)
    });
    members
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    use super::*;

    fn today() -> NaiveDate {
        ymd(2025, 6, 15)
    }

    /// The Village dataset, made once for the tests that read it.
    fn village() -> &'static Dataset {
        static DATA: OnceLock<Dataset> = OnceLock::new();
        DATA.get_or_init(|| generate(42, Size::Village, today()))
    }

    #[test]
    fn generate_is_deterministic() {
        let a = generate(7, Size::Small, today());
        assert_eq!(a, generate(7, Size::Small, today()));
        let b = generate(8, Size::Small, today());
        assert_ne!(a, b);
        assert_ne!(a.villages[0].id, b.villages[0].id);
    }

    #[test]
    fn generate_small_has_50_households() {
        let data = generate(1, Size::Small, today());
        assert_eq!(data.villages.len(), 1);
        assert_eq!(data.households.len(), 50);
        assert_eq!(data.plans.len(), 1);
    }

    #[test]
    fn generate_village_counts_are_in_range() {
        let data = village();
        assert_eq!(data.villages.len(), 1);
        assert_eq!(data.households.len(), 1000);
        assert!(
            (3600..=4400).contains(&data.persons.len()),
            "{}",
            data.persons.len()
        );
        assert!(
            (21_250..=28_750).contains(&data.visits.len()),
            "{}",
            data.visits.len()
        );
    }

    #[test]
    fn generate_village_uses_every_method_and_visit_kind() {
        let data = village();
        let methods: HashSet<Method> = data
            .persons
            .iter()
            .filter_map(|p| p.contraception.as_ref().map(|c| c.method))
            .collect();
        for method in Method::ALL {
            assert!(methods.contains(&method), "{method:?} missing");
        }
        let kinds: HashSet<VisitKind> = data.visits.iter().map(|v| v.kind).collect();
        for kind in VisitKind::ALL {
            assert!(kinds.contains(&kind), "{kind:?} missing");
        }
    }

    #[test]
    fn generate_visits_fall_between_birth_and_today() {
        let data = village();
        let persons: HashMap<Id, &Person> = data.persons.iter().map(|p| (p.id, p)).collect();
        let from = years_before(today(), SPAN_YEARS);
        for visit in &data.visits {
            let person = persons[&visit.person_id];
            assert!(visit.date <= today() && visit.date > from, "{visit:?}");
            assert!(visit.date >= person.birth_date.unwrap(), "{visit:?}");
            if let Living::Deregistered {
                date: Some(left), ..
            } = person.living
            {
                assert!(visit.date < left, "{visit:?}");
            }
            assert_eq!(visit.household_id, person.household_id);
        }
    }

    #[test]
    fn generate_dates_nothing_after_today_but_what_is_due() {
        let data = village();
        for p in &data.persons {
            let mut past = vec![p.birth_date, p.menopause];
            past.extend(p.contraception.as_ref().map(|c| c.start));
            match &p.living {
                Living::OutMigrant { since, .. } | Living::InMigrant { since, .. } => {
                    past.push(*since)
                }
                Living::Deregistered { date, .. } => past.push(*date),
                Living::Resident => {}
            }
            match p.pregnancy {
                Pregnancy::Pregnant { last_period } => {
                    assert!(last_period > plus(today(), -280));
                    past.push(Some(last_period));
                }
                Pregnancy::Delivered { on } => past.push(Some(on)),
                Pregnancy::None => {}
            }
            for day in past.into_iter().flatten() {
                assert!(day <= today(), "{p:?}");
            }
        }
        assert!(data.ticks.iter().all(|t| t.date <= today()));
    }

    #[test]
    fn generate_every_person_has_a_household() {
        let data = village();
        let households: HashSet<Id> = data.households.iter().map(|h| h.id).collect();
        assert!(
            data.persons
                .iter()
                .all(|p| households.contains(&p.household_id))
        );
        let mut sizes: HashMap<Id, usize> = HashMap::new();
        for p in &data.persons {
            *sizes.entry(p.household_id).or_default() += 1;
        }
        for h in &data.households {
            assert!((1..=MAX_HOUSEHOLD).contains(&sizes[&h.id]), "{h:?}");
            let head = data.person(h.head_person_id.unwrap()).unwrap();
            assert_eq!(head.household_id, h.id);
            assert_eq!(head.relation.as_deref(), Some(HEAD));
        }
        let persons: HashSet<Id> = data.persons.iter().map(|p| p.id).collect();
        assert!(data.visits.iter().all(|v| persons.contains(&v.person_id)));
        let ids: HashSet<Id> = data
            .households
            .iter()
            .map(|h| h.id)
            .chain(persons.iter().copied())
            .chain(data.visits.iter().map(|v| v.id))
            .collect();
        assert_eq!(
            ids.len(),
            data.households.len() + data.persons.len() + data.visits.len()
        );
    }

    #[test]
    fn generate_keeps_the_model_rules() {
        let data = village();
        for p in &data.persons {
            if let Some(c) = &p.contraception {
                assert!(c.method.only_for().is_none_or(|sex| sex == p.sex), "{p:?}");
            }
            if p.sex == Sex::Male {
                assert_eq!(p.pregnancy, Pregnancy::None);
                assert_eq!(p.menopause, None);
            }
            if let Some(m) = p.menopause {
                assert!(age(p.birth_date.unwrap(), m) >= 45, "{p:?}");
            }
            if matches!(p.relation.as_deref(), Some(SPOUSE | DAUGHTER_IN_LAW)) {
                assert!(p.marital.is_married(), "{p:?}");
            }
            if p.certificate.is_some() {
                assert!(p.living.is_migrant() && p.sex == Sex::Female);
            }
        }
        for h in &data.households {
            let kids: Vec<&Person> = data
                .persons
                .iter()
                .filter(|p| {
                    p.household_id == h.id && matches!(p.relation.as_deref(), Some(SON | DAUGHTER))
                })
                .collect();
            let head = data.person(h.head_person_id.unwrap()).unwrap();
            if h.flags.one_child {
                assert_eq!(head.children, 1, "{h:?}");
            }
            if h.flags.two_girls {
                assert_eq!(head.children, 2, "{h:?}");
                assert!(kids.iter().all(|k| k.sex == Sex::Female), "{h:?}");
            }
            if h.flags.care_for_girls {
                assert!(h.flags.one_child);
                assert!(kids.iter().all(|k| k.sex == Sex::Female), "{h:?}");
            }
        }
        let flagged =
            |f: fn(&FamilyFlags) -> bool| data.households.iter().filter(|h| f(&h.flags)).count();
        assert!(flagged(|f| f.one_child) > 50);
        assert!(flagged(|f| f.two_girls) > 5);
        assert!(flagged(|f| f.care_for_girls) > 5);
        assert!(flagged(|f| f.special_family) > 0);
        let pregnant = data
            .persons
            .iter()
            .filter(|p| matches!(p.pregnancy, Pregnancy::Pregnant { .. }))
            .count();
        let deregistered = data
            .persons
            .iter()
            .filter(|p| p.living.is_deregistered())
            .count();
        let certificates = data
            .persons
            .iter()
            .filter(|p| p.certificate.is_some())
            .count();
        assert!(pregnant > 5 && deregistered > 5 && certificates > 50);
    }

    #[test]
    fn generate_township_has_50_villages() {
        let data = generate(3, Size::Township, today());
        assert_eq!(data.villages.len(), 50);
        assert_eq!(data.plans.len(), 50);
        let names: HashSet<&str> = data.villages.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.len(), 50);
        for village in &data.villages {
            let count = data.households_of(village.id).count();
            assert!((150..=1000).contains(&count), "{count}");
        }
    }

    #[test]
    fn generate_small_round_trips_through_json() {
        let data = generate(5, Size::Small, today());
        let json = serde_json::to_string(&data).unwrap();
        let back: Dataset = serde_json::from_str(&json).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn generate_handles_a_leap_day_today() {
        let leap = ymd(2024, 2, 29);
        let data = generate(9, Size::Small, leap);
        assert!(data.visits.iter().all(|v| v.date <= leap));
    }

    #[test]
    fn generate_ticks_a_share_of_started_tasks() {
        use crate::plan::{Measure, PlanSection, Recurrence};
        let mut g = Gen::new(11, today());
        g.workers = vec!["王秀梅".to_string()];
        let measure = |id: u128, recurrence| Measure {
            id: Id::from_u128(id),
            title: "入户随访".to_string(),
            title_en: None,
            description: None,
            description_en: None,
            recurrence,
            indicator: None,
        };
        let plan = WorkPlan {
            id: Id::from_u128(1),
            village_id: Id::from_u128(2),
            year: 2025,
            title: "2025年度工作计划".to_string(),
            title_en: None,
            targets: Vec::new(),
            sections: vec![PlanSection {
                id: Id::from_u128(3),
                title: "一、宣传".to_string(),
                title_en: None,
                measures: (0..20)
                    .map(|i| {
                        measure(
                            10 + i,
                            if i % 2 == 0 {
                                Recurrence::Monthly
                            } else {
                                Recurrence::Quarterly
                            },
                        )
                    })
                    .collect(),
            }],
            deleted: false,
        };
        let tasks = plan.tasks();
        let started = tasks.iter().filter(|t| t.start <= today()).count();
        let ticks = g.ticks(&plan, 300);
        assert!(
            ticks.len() > started / 2 && ticks.len() < started,
            "{} of {started}",
            ticks.len()
        );
        for tick in &ticks {
            let task = tasks
                .iter()
                .find(|t| t.measure_id == tick.measure_id && t.occurrence == tick.occurrence)
                .unwrap();
            assert!(task.start <= tick.date && tick.date <= task.end.min(today()));
            assert!(tick.households_reached.is_none_or(|n| n <= 300));
        }
        let data = generate(1, Size::Small, today());
        assert_eq!(data.plans[0].year, 2025);
        assert_eq!(data.plans[0].village_id, data.villages[0].id);
    }

    #[test]
    fn generate_size_parses_and_prints() {
        for size in Size::ALL {
            assert_eq!(size.to_string().parse::<Size>(), Ok(size));
        }
        assert_eq!("Village".parse::<Size>(), Ok(Size::Village));
        assert_eq!("village3".parse::<Size>(), Ok(Size::Village3));
        assert!("city".parse::<Size>().is_err());
        assert_eq!(
            serde_json::to_string(&Size::Township).unwrap(),
            "\"township\""
        );
    }
}

//! The names of the model's enumerations in Chinese and English, for forms,
//! lists and registers. One place, so the app and the registers agree.

use crate::model::{DeregisterReason, Living, MaritalStatus, Method, Pregnancy, Sex, VisitKind};
use crate::plan::{IndicatorKind, Recurrence};
use crate::rules::TaskKind;

/// A name in both languages.
pub trait Label {
    /// 中文名称.
    fn zh(&self) -> &'static str;
    /// English name.
    fn en(&self) -> &'static str;
}

macro_rules! labels {
    ($ty:ty { $($pat:pat => $zh:literal, $en:literal;)* }) => {
        impl Label for $ty {
            fn zh(&self) -> &'static str {
                match self { $($pat => $zh,)* }
            }
            fn en(&self) -> &'static str {
                match self { $($pat => $en,)* }
            }
        }
    };
}

labels!(Sex {
    Sex::Female => "女", "female";
    Sex::Male => "男", "male";
});

labels!(MaritalStatus {
    MaritalStatus::Unmarried => "未婚", "unmarried";
    MaritalStatus::FirstMarriage => "初婚", "first marriage";
    MaritalStatus::Remarried => "再婚", "remarried";
    MaritalStatus::Divorced => "离婚", "divorced";
    MaritalStatus::Widowed => "丧偶", "widowed";
});

labels!(Living {
    Living::Resident => "常住", "resident";
    Living::OutMigrant { .. } => "流出", "out-migrant";
    Living::InMigrant { .. } => "流入", "in-migrant";
    Living::Deregistered { reason: DeregisterReason::MovedAway, .. } => "迁出注销", "moved away";
    Living::Deregistered { reason: DeregisterReason::Deceased, .. } => "死亡注销", "deceased";
});

labels!(Pregnancy {
    Pregnancy::None => "未孕", "not pregnant";
    Pregnancy::Pregnant { .. } => "怀孕", "pregnant";
    Pregnancy::Delivered { .. } => "已分娩", "delivered";
});

labels!(Method {
    Method::Iud => "宫内节育器", "IUD";
    Method::Implant => "皮下埋植", "implant";
    Method::Injectable => "针剂", "injectable";
    Method::Pill => "口服药", "oral pill";
    Method::Condom => "避孕套", "condom";
    Method::FemaleSterilisation => "女扎", "female sterilisation";
    Method::MaleSterilisation => "男扎", "male sterilisation";
    Method::Other => "其他", "other";
});

labels!(VisitKind {
    VisitKind::ThreeChecks => "三查", "three checks";
    VisitKind::MethodFollowUp => "措施随访", "method follow-up";
    VisitKind::MigrantCheck => "流动人口季查", "quarterly migrant check";
    VisitKind::PregnancyFollowUp => "孕期随访", "pregnancy follow-up";
    VisitKind::BirthDefectReferral => "出生缺陷干预", "birth-defect screening referral";
    VisitKind::Postpartum => "产后访视", "postpartum visit";
    VisitKind::PublicityAtHome => "宣传入户", "publicity at home";
    VisitKind::CertificateDelivered => "送证上门", "certificate delivered";
    VisitKind::RewardCheck => "奖励扶助核查", "reward and assistance check";
    VisitKind::CareForGirls => "关爱女孩帮扶", "care-for-girls support";
    VisitKind::Other => "其他", "other";
});

labels!(TaskKind {
    TaskKind::ThreeChecks => "三查", "three checks";
    TaskKind::MethodFollowUp => "措施随访", "method follow-up";
    TaskKind::MethodReplacement => "措施到期更换", "method due for replacement";
    TaskKind::Injection => "按时注射", "next injection";
    TaskKind::PillResupply => "发放口服药", "pill re-supply";
    TaskKind::PregnancyFollowUp => "孕期随访", "pregnancy follow-up";
    TaskKind::BirthDefectReferral => "出生缺陷筛查转介", "birth-defect screening referral";
    TaskKind::Postpartum => "产后访视", "postpartum visit";
    TaskKind::DeviceRemoval => "提醒取环/取埋植", "remind to remove IUD or implant";
    TaskKind::MigrantCheck => "流动人口季查", "quarterly migrant check";
    TaskKind::CertificateRenewal => "婚育证明到期", "certificate expiring";
    TaskKind::CareForGirls => "关爱女孩帮扶", "care-for-girls support";
    TaskKind::RewardEligibility => "奖励扶助资格核查", "reward eligibility check";
});

labels!(IndicatorKind {
    IndicatorKind::ThreeCheckRate => "三查参检率", "three-check rate";
    IndicatorKind::MeasureCoverage => "措施落实率", "measure coverage";
    IndicatorKind::FollowUpRate => "随访服务率", "follow-up rate";
    IndicatorKind::MigrantManagementRate => "流动人口管理服务率", "migrant management rate";
    IndicatorKind::Awareness => "知晓率", "awareness";
    IndicatorKind::Satisfaction => "满意率", "satisfaction";
    IndicatorKind::BirthDefectIntervention => "出生缺陷干预率", "birth-defect intervention rate";
    IndicatorKind::PlanCompletion => "计划完成率", "plan completion";
});

labels!(Recurrence {
    Recurrence::Once => "一次", "once";
    Recurrence::Monthly => "每月", "monthly";
    Recurrence::Quarterly => "每季度", "quarterly";
    Recurrence::HalfYearly => "每半年", "half-yearly";
    Recurrence::Yearly => "每年", "yearly";
    Recurrence::Dates { .. } => "指定日期", "on given dates";
});

/// "是" / "否" / "" for an optional yes-or-no answer, in Chinese.
pub fn yes_no_zh(answer: Option<bool>) -> &'static str {
    match answer {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

/// The birth-defect intervention level (出生缺陷干预级别) in words:
/// `(中文, English)`, e.g. `("一级", "primary")`; `None` for another number.
pub fn defect_level(level: u8) -> Option<(&'static str, &'static str)> {
    match level {
        1 => Some(("一级", "primary")),
        2 => Some(("二级", "secondary")),
        3 => Some(("三级", "tertiary")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(label: &dyn Label) {
        assert!(
            label
                .zh()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
        assert!(!label.en().is_empty() && label.en().is_ascii());
    }

    #[test]
    fn every_value_has_a_chinese_and_an_english_name() {
        for m in Method::ALL {
            check(&m);
        }
        for k in VisitKind::ALL {
            check(&k);
        }
        for k in IndicatorKind::ALL {
            check(&k);
        }
        for s in [Sex::Female, Sex::Male] {
            check(&s);
        }
        for level in 1..=3 {
            let (zh, en) = defect_level(level).unwrap();
            assert!(zh.ends_with('级') && en.is_ascii() && !en.is_empty());
        }
        assert_eq!(defect_level(0), None);
        assert_eq!(TaskKind::MigrantCheck.zh(), VisitKind::MigrantCheck.zh());
        assert_eq!(Method::Iud.zh(), "宫内节育器");
    }
}

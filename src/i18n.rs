//! Every string the app shows, in Chinese (zh-CN, the default) and English.
//!
//! One table, one key per string: the `messages!` macro below makes a missing
//! translation a compile error, and the tests check that no text is empty or
//! left in the wrong language. Later issues add their keys to the table.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A language the UI speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// 简体中文, the default: the workers' language.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Both languages, Chinese first.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language's own name, shown in the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
        }
    }
}

macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// The key of one UI string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key { $($key),* }

        impl Key {
            /// Every key, for the completeness tests.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];
        }

        /// The text of `key` in `lang`.
        pub fn text(lang: Lang, key: Key) -> &'static str {
            match key {
                $(Key::$key => match lang { Lang::ZhCn => $zh, Lang::En => $en },)*
            }
        }
    };
}

messages! {
    AppName => "村级计生工作手册", "Fieldbook";
    NavToday => "今日", "Today";
    NavHouseholds => "住户", "Households";
    NavPlan => "计划", "Plan";
    NavIndicators => "统计", "Indicators";
    NavSettings => "设置", "Settings";
    MainNavigation => "主导航", "Main navigation";
    TodayTitle => "今日任务", "Today";
    TodayIntro => "今天到期、逾期和即将到期的随访与服务，按住户排列。",
        "Visits and services due today, overdue or coming up, by household.";
    HouseholdsTitle => "住户与人员", "Households and people";
    HouseholdsIntro => "按姓名、户编号或拼音首字母查找住户，查看家庭成员和服务记录。",
        "Find a household by name, number or pinyin initials; see its people and their visits.";
    PlanTitle => "年度工作计划", "Work plan";
    PlanIntro => "本年度工作计划的各项措施，完成一项勾选一项。",
        "This year's work plan as a checklist of measures: tick each task when done.";
    IndicatorsTitle => "统计与报表", "Indicators and reports";
    IndicatorsIntro => "三查参检率、措施落实率等指标，以及可导出打印的登记表。",
        "Three-check rate, measure coverage and the other rates, and registers to export and print.";
    SettingsTitle => "同步与设置", "Sync and settings";
    SettingsIntro => "服务器与同步、备份、存储空间和界面语言。",
        "Server and sync, backup, storage and the app's language.";
    LanguageLabel => "界面语言", "Language";
    LanguageSaveFailed => "语言已切换，但无法保存到本机，下次打开时会恢复为中文。",
        "The language changed, but could not be saved on this phone; it will be Chinese next time.";
    StorageLabel => "本机存储", "Storage on this phone";
    StoragePersisted => "已设为持久保存：浏览器不会自行清除本机数据。",
        "Persistent: the browser will not clear this phone's data by itself.";
    StorageNotPersisted => "未获持久保存：空间不足时浏览器可能清除数据，请及时同步或备份。",
        "Not persistent: the browser may clear data when space runs low. Sync or back up often.";
    StorageUnknown => "尚未确认存储是否持久。", "Not yet known whether storage is persistent.";
    VersionLabel => "版本", "Version";
    UpdateReady => "有新版本", "New version";
    UpdateReload => "重新加载", "Reload";
    NotFoundTitle => "找不到此页面", "Page not found";
    NotFoundBack => "回到今日任务", "Back to Today";
}

/// The UI language, shared through context. Reading it inside a view makes
/// that view follow a change of language at once.
#[derive(Clone, Copy, Debug)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// The current language (tracked).
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// The text of `key` in the current language (tracked).
    pub fn t(&self, key: Key) -> &'static str {
        text(self.lang.get(), key)
    }

    /// Switches the language for this session; persisting it is the caller's
    /// choice (see `settings::save_language`).
    pub fn set_lang(&self, lang: Lang) {
        self.lang.set(lang);
    }
}

/// Provides the UI language to every component below, starting with
/// `initial`, and keeps `<html lang>` in step with it.
pub fn provide_i18n(initial: Lang) -> I18n {
    let i18n = I18n {
        lang: RwSignal::new(initial),
    };
    provide_context(i18n);
    Effect::new(move |_| {
        let tag = i18n.lang().tag();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", tag);
        }
    });
    i18n
}

/// The UI language provided by [`provide_i18n`].
///
/// # Panics
/// Outside a component tree that called [`provide_i18n`].
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_key_has_text_in_both_languages() {
        for &key in Key::ALL {
            for lang in Lang::ALL {
                assert!(
                    !text(lang, key).trim().is_empty(),
                    "{key:?} empty in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn chinese_texts_are_chinese_and_english_texts_are_not() {
        for &key in Key::ALL {
            let (zh, en) = (text(Lang::ZhCn, key), text(Lang::En, key));
            assert!(has_cjk(zh), "{key:?} has no Chinese text: {zh}");
            assert!(!has_cjk(en), "{key:?} English text holds Chinese: {en}");
        }
    }

    #[test]
    fn languages_are_stored_by_their_tag_and_chinese_is_the_default() {
        for lang in Lang::ALL {
            let stored = serde_json::to_string(&lang).unwrap();
            assert_eq!(stored, format!("\"{}\"", lang.tag()));
            assert_eq!(serde_json::from_str::<Lang>(&stored).unwrap(), lang);
        }
        assert_eq!(Lang::default(), Lang::ZhCn);
    }
}

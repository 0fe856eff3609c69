//! The five sections of the app (DESIGN.md "The app") and their routes.

/// One of the app's five top-level sections, in bottom-navigation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// 今日: the tasks due today, overdue first.
    Today,
    /// 住户: households, people and their visit history.
    Households,
    /// 计划: the year's work plan as a checklist.
    Plan,
    /// 统计: indicators and the registers that replace paperwork.
    Indicators,
    /// 设置: sync, backup, storage and language.
    Settings,
}

impl Section {
    /// Every section, in the order the bottom navigation shows them.
    pub const ALL: [Section; 5] = [
        Section::Today,
        Section::Households,
        Section::Plan,
        Section::Indicators,
        Section::Settings,
    ];

    /// The URL path of the section's page. Today is the start page.
    pub fn path(self) -> &'static str {
        match self {
            Section::Today => "/",
            Section::Households => "/households",
            Section::Plan => "/plan",
            Section::Indicators => "/indicators",
            Section::Settings => "/settings",
        }
    }

    /// A short, stable identifier, used in test ids and CSS classes.
    pub fn slug(self) -> &'static str {
        match self {
            Section::Today => "today",
            Section::Households => "households",
            Section::Plan => "plan",
            Section::Indicators => "indicators",
            Section::Settings => "settings",
        }
    }

    /// The other paths whose pages belong to the section: the visit form
    /// is reached from Today, the registers from the indicators.
    fn also_owns(self) -> &'static [&'static str] {
        match self {
            Section::Today => &["/visit"],
            Section::Households => &["/household", "/person"],
            Section::Indicators => &["/reports"],
            _ => &[],
        }
    }

    /// The section whose page a path belongs to, or `None` for a path outside
    /// the app. A sub-page (`/households/42`) belongs to its section.
    pub fn for_path(path: &str) -> Option<Section> {
        let path = path.split(['?', '#']).next().unwrap_or("");
        if path == "/" || path.is_empty() {
            return Some(Section::Today);
        }
        let under = |base: &str| {
            path.strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        Section::ALL.into_iter().find(|s| {
            (s.path() != "/" && under(s.path())) || s.also_owns().iter().any(|p| under(p))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_is_found_by_its_own_path() {
        for s in Section::ALL {
            assert_eq!(Section::for_path(s.path()), Some(s), "{s:?}");
        }
    }

    #[test]
    fn sub_pages_belong_to_their_section_and_lookalikes_do_not() {
        assert_eq!(
            Section::for_path("/households/abc"),
            Some(Section::Households)
        );
        assert_eq!(Section::for_path("/plan?year=2026"), Some(Section::Plan));
        assert_eq!(
            Section::for_path("/reports/roster"),
            Some(Section::Indicators)
        );
        assert_eq!(
            Section::for_path("/visit/new?person=1"),
            Some(Section::Today)
        );
        assert_eq!(Section::for_path("/planets"), None);
        assert_eq!(Section::for_path("/api/v1/pull"), None);
    }

    #[test]
    fn paths_and_slugs_are_unique() {
        let mut paths: Vec<_> = Section::ALL.iter().map(|s| s.path()).collect();
        let mut slugs: Vec<_> = Section::ALL.iter().map(|s| s.slug()).collect();
        paths.sort();
        paths.dedup();
        slugs.sort();
        slugs.dedup();
        assert_eq!(paths.len(), 5);
        assert_eq!(slugs.len(), 5);
    }
}

//! Finding a household the way a worker types: by a member's name, by the
//! household number, or by the pinyin initials of a name (typing `zxm` finds
//! 张秀梅), with filters by villager group and family flags.

use std::collections::HashMap;

use crate::data::Dataset;
use crate::model::{FamilyFlags, Household, Id};

mod pinyin_initials;

/// The pinyin initials of a text, lower case: `张秀梅` → `zxm`. Characters
/// without pinyin (letters, digits) are kept as they are, lower-cased.
pub fn initials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match initial(c) {
            Some(letter) => out.push(letter),
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The first letter of a character's pinyin (the first reading where it
/// has several), from the table generated out of the `pinyin` crate's data
/// (see `tests/pinyin_table.rs`): one byte a character instead of that
/// crate's full syllables, which made up a tenth of the app's wasm.
fn initial(c: char) -> Option<char> {
    let code = u32::from(c);
    let blocks = pinyin_initials::BLOCKS;
    let block = blocks
        .partition_point(|&(start, _)| start <= code)
        .checked_sub(1)?;
    let (start, letters) = blocks[block];
    match *letters.as_bytes().get((code - start) as usize)? {
        b'.' => None,
        b'E' => Some('ê'),
        letter => Some(char::from(letter)),
    }
}

/// Which family flag a filter asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagFilter {
    /// 独生子女户.
    OneChild,
    /// 双女户.
    TwoGirls,
    /// 关爱女孩.
    CareForGirls,
    /// 计生特殊家庭.
    SpecialFamily,
}

impl FlagFilter {
    fn matches(self, flags: &FamilyFlags) -> bool {
        match self {
            FlagFilter::OneChild => flags.one_child,
            FlagFilter::TwoGirls => flags.two_girls,
            FlagFilter::CareForGirls => flags.care_for_girls,
            FlagFilter::SpecialFamily => flags.special_family,
        }
    }
}

/// A search over one village's households, built once and queried on every
/// keystroke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HouseholdIndex {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    household_id: Id,
    number: String,
    group: Option<String>,
    flags: FamilyFlags,
    /// Each live member's name and its initials.
    names: Vec<(String, String)>,
}

impl HouseholdIndex {
    /// Indexes the live households of a village and their live members, in
    /// household-number order (ties by id).
    pub fn new(data: &Dataset, village_id: Id) -> Self {
        let mut names: HashMap<Id, Vec<(String, String)>> = HashMap::new();
        for person in data.persons.iter().filter(|p| !p.deleted) {
            names
                .entry(person.household_id)
                .or_default()
                .push((person.name.clone(), initials(&person.name)));
        }
        let mut homes: Vec<&Household> = data.households_of(village_id).collect();
        homes.sort_by(|a, b| (&a.number, a.id).cmp(&(&b.number, b.id)));
        HouseholdIndex {
            entries: homes
                .into_iter()
                .map(|h| Entry {
                    household_id: h.id,
                    number: h.number.clone(),
                    group: h.group.clone(),
                    flags: h.flags,
                    names: names.remove(&h.id).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Puts one household in, replacing what was held for it: `household`
    /// with its live members' `names`, or nothing (`None`: removed, or
    /// moved to another village). Keeps the household-number order, as if
    /// the index were built anew.
    pub fn put(&mut self, household_id: Id, household: Option<&Household>, names: &[String]) {
        self.entries.retain(|e| e.household_id != household_id);
        let Some(h) = household.filter(|h| !h.deleted) else {
            return;
        };
        let key = (h.number.as_str(), h.id);
        let at = self
            .entries
            .partition_point(|e| (e.number.as_str(), e.household_id) < key);
        self.entries.insert(
            at,
            Entry {
                household_id: h.id,
                number: h.number.clone(),
                group: h.group.clone(),
                flags: h.flags,
                names: names.iter().map(|n| (n.clone(), initials(n))).collect(),
            },
        );
    }

    /// How many households it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// It holds no household.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The villager groups present, in their numbered order (一组, 二组 …
    /// 十二组; see [`crate::groups`]), for the group filter.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.group.clone())
            .collect();
        groups.sort();
        groups.dedup();
        crate::groups::sort_groups(&mut groups);
        groups
    }

    /// The households matching `query` (empty matches all) within the group
    /// and flag filters, in household-number order. A query matches a
    /// member's name (anywhere in it), the household number (from its
    /// start, ignoring leading zeros), or the start of a member's pinyin
    /// initials.
    pub fn search(&self, query: &str, group: Option<&str>, flag: Option<FlagFilter>) -> Vec<Id> {
        let query = query.trim().to_lowercase();
        let number_query = query.trim_start_matches('0');
        self.entries
            .iter()
            .filter(|e| group.is_none_or(|g| e.group.as_deref() == Some(g)))
            .filter(|e| flag.is_none_or(|f| f.matches(&e.flags)))
            .filter(|e| {
                query.is_empty()
                    || (!number_query.is_empty()
                        && e.number.trim_start_matches('0').starts_with(number_query))
                    || e.number == query
                    || e.names.iter().any(|(name, initials)| {
                        name.contains(&query) || initials.starts_with(&query)
                    })
            })
            .map(|e| e.household_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, Sex};
    use uuid::Uuid;

    fn id(n: u128) -> Id {
        Uuid::from_u128(n)
    }

    fn village() -> Dataset {
        let mut data = Dataset::new();
        for (n, number, group) in [
            (10, "0001", "一组"),
            (11, "0002", "二组"),
            (12, "0013", "二组"),
        ] {
            data.households.push(Household {
                group: Some(group.into()),
                ..Household::new(id(n), id(1), number)
            });
        }
        data.households[2].flags.care_for_girls = true;
        for (n, household, name) in [
            (100, 10, "张秀梅"),
            (101, 10, "李建国"),
            (102, 11, "张小红"),
            (103, 12, "王芳"),
        ] {
            data.persons
                .push(Person::new(id(n), id(household), name, Sex::Female));
        }
        data
    }

    #[test]
    fn initials_of_chinese_names() {
        assert_eq!(initials("张秀梅"), "zxm");
        assert_eq!(initials("李建国"), "ljg");
        assert_eq!(initials("王A3"), "wa3");
        // The table's edges: its first and last characters, one without
        // pinyin inside a block, and characters outside every block.
        assert_eq!(initials("〇㐀𲎉"), "lqm");
        assert_eq!(initials("\u{3403}"), "\u{3403}");
        assert_eq!(initials("😀ÀZ"), "😀àz");
    }

    #[test]
    fn typing_initials_a_name_or_a_number_finds_the_household() {
        let index = HouseholdIndex::new(&village(), id(1));
        assert_eq!(index.search("zxm", None, None), vec![id(10)]);
        assert_eq!(index.search("zx", None, None), vec![id(10), id(11)]);
        assert_eq!(index.search("建国", None, None), vec![id(10)]);
        assert_eq!(index.search("13", None, None), vec![id(12)]);
        assert_eq!(index.search("0002", None, None), vec![id(11)]);
        assert_eq!(index.search("", None, None).len(), 3);
        assert!(index.search("qq", None, None).is_empty());
    }

    #[test]
    fn filters_narrow_by_group_and_flag() {
        let index = HouseholdIndex::new(&village(), id(1));
        assert_eq!(index.groups(), vec!["一组".to_string(), "二组".to_string()]);
        assert_eq!(index.search("", Some("二组"), None), vec![id(11), id(12)]);
        assert_eq!(
            index.search("", None, Some(FlagFilter::CareForGirls)),
            vec![id(12)]
        );
        assert_eq!(index.search("z", Some("二组"), None), vec![id(11)]);
    }
}

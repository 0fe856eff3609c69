//! Villager groups (村民组) in their numbered order, and households in route
//! order: the order a worker walks the village.
//!
//! Group names are free text ("一组", "十二组", "第3组", "东组"); sorted as
//! text, "十二组" would come before "二组". [`GroupKey`] reads the number in
//! a name (Chinese numerals or digits) and sorts numbered groups by number,
//! then unnumbered ones by name, then households with no group.

use std::cmp::Ordering;

use crate::model::Household;

/// The number written in `text`: its first run of Chinese numerals
/// (一 … 十, 百, 零, 两) or digits (ASCII or full-width), e.g. 12 for
/// "十二组", 3 for "第3组". `None` when there is none.
pub fn number_in(text: &str) -> Option<u32> {
    let chars: Vec<char> = text.chars().collect();
    let start = chars.iter().position(|&c| is_numeral(c))?;
    let run: Vec<char> = chars[start..]
        .iter()
        .copied()
        .take_while(|&c| is_numeral(c))
        .collect();
    if run.iter().all(|&c| digit(c).is_some()) {
        return run
            .iter()
            .try_fold(0u32, |n, &c| n.checked_mul(10)?.checked_add(digit(c)?));
    }
    chinese_number(&run)
}

fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn is_numeral(c: char) -> bool {
    digit(c).is_some() || chinese_digit(c).is_some() || matches!(c, '十' | '百')
}

/// A run of Chinese numerals as a number: 十二 = 12, 二十 = 20, 一百零五 =
/// 105; a run of plain digits without units reads digit by digit (一〇 = 10).
fn chinese_number(run: &[char]) -> Option<u32> {
    let has_units = run.iter().any(|&c| matches!(c, '十' | '百'));
    if !has_units {
        return run.iter().try_fold(0u32, |n, &c| {
            n.checked_mul(10)?
                .checked_add(chinese_digit(c).or_else(|| digit(c))?)
        });
    }
    let (mut total, mut current) = (0u32, None::<u32>);
    for &c in run {
        match c {
            '十' => {
                total = total.checked_add(current.unwrap_or(1).checked_mul(10)?)?;
                current = None;
            }
            '百' => {
                total = total.checked_add(current.unwrap_or(1).checked_mul(100)?)?;
                current = None;
            }
            _ => current = Some(chinese_digit(c).or_else(|| digit(c))?),
        }
    }
    total.checked_add(current.unwrap_or(0))
}

/// How a villager group sorts: numbered groups by number (一组, 二组 …
/// 十二组), then groups without a number by name, then no group at all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    /// A group whose name holds a number.
    Numbered(u32, String),
    /// A group named without a number.
    Named(String),
    /// No group recorded.
    None,
}

impl GroupKey {
    /// The key of a group name (`None` or blank: no group).
    pub fn of(group: Option<&str>) -> GroupKey {
        match group.map(str::trim).filter(|g| !g.is_empty()) {
            None => GroupKey::None,
            Some(name) => match number_in(name) {
                Some(n) => GroupKey::Numbered(n, name.to_string()),
                None => GroupKey::Named(name.to_string()),
            },
        }
    }
}

/// Compares two group names in their numbered order.
pub fn compare_groups(a: Option<&str>, b: Option<&str>) -> Ordering {
    GroupKey::of(a).cmp(&GroupKey::of(b))
}

/// Sorts group names in their numbered order, in place.
pub fn sort_groups<S: AsRef<str>>(groups: &mut [S]) {
    groups.sort_by_cached_key(|g| GroupKey::of(Some(g.as_ref())));
}

/// The house number of an address: the number just before its last 号
/// ("三组 12号" → 12, "幸福路十五号" → 15).
pub fn house_number(address: &str) -> Option<u32> {
    let before = &address[..address.rfind('号')?];
    let run: String = before
        .chars()
        .rev()
        .take_while(|&c| is_numeral(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    number_in(&run)
}

/// The number of a household number: "0251" → 251 (`None` without digits).
fn numeric(number: &str) -> Option<u32> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Where a household comes on the route: villager group (in numbered
/// order), then house number from the address, then household number
/// (numerically, then as text). Households without a house number follow
/// those with one in their group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteKey {
    group: GroupKey,
    house: (u8, u32),
    number: (u8, u32),
    text: String,
}

/// The route key of a household given its group, address and number.
pub fn route_key(group: Option<&str>, address: Option<&str>, number: &str) -> RouteKey {
    let present = |n: Option<u32>| n.map_or((1, 0), |n| (0, n));
    RouteKey {
        group: GroupKey::of(group),
        house: present(address.and_then(house_number)),
        number: present(numeric(number)),
        text: number.to_string(),
    }
}

/// Route order of two households (see [`RouteKey`]); ties by id.
pub fn route_order(a: &Household, b: &Household) -> Ordering {
    let key = |h: &Household| {
        (
            route_key(h.group.as_deref(), h.address.as_deref(), &h.number),
            h.id,
        )
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn numbers_are_read_from_chinese_numerals_and_digits() {
        for (text, n) in [
            ("一组", 1),
            ("二组", 2),
            ("十组", 10),
            ("十一组", 11),
            ("十二组", 12),
            ("二十组", 20),
            ("二十三组", 23),
            ("一百零五号", 105),
            ("第3组", 3),
            ("12组", 12),
            ("第１２组", 12),
            ("两组", 2),
            ("一〇组", 10),
        ] {
            assert_eq!(number_in(text), Some(n), "{text}");
        }
        assert_eq!(number_in("东组"), None);
        assert_eq!(number_in(""), None);
    }

    #[test]
    fn groups_sort_by_number_then_name_then_none() {
        let mut groups = vec![
            "十二组",
            "二组",
            "东组",
            "十组",
            "一组",
            "三组",
            "十一组",
            "第4组",
        ];
        sort_groups(&mut groups);
        assert_eq!(
            groups,
            vec![
                "一组",
                "二组",
                "三组",
                "第4组",
                "十组",
                "十一组",
                "十二组",
                "东组"
            ]
        );
        assert_eq!(compare_groups(Some("八组"), None), Ordering::Less);
        assert_eq!(compare_groups(Some(" "), None), Ordering::Equal);
    }

    #[test]
    fn households_go_in_route_order() {
        let house = |n: u128, number: &str, group: Option<&str>, address: Option<&str>| {
            let mut h = Household::new(Uuid::from_u128(n), Uuid::from_u128(1), number);
            h.group = group.map(str::to_string);
            h.address = address.map(str::to_string);
            h
        };
        let mut list = [
            house(1, "0300", Some("三组"), Some("三组 2号")),
            house(2, "0010", Some("一组"), Some("一组 10号")),
            house(3, "0290", Some("三组"), Some("三组 十号")),
            house(4, "0251", Some("三组"), Some("三组 1号")),
            house(5, "0999", None, None),
            house(6, "0011", Some("一组"), Some("一组 9号")),
            house(7, "0260", Some("三组"), None),
            house(8, "1100", Some("十二组"), Some("十二组 1号")),
        ];
        list.sort_by(route_order);
        let numbers: Vec<&str> = list.iter().map(|h| h.number.as_str()).collect();
        assert_eq!(
            numbers,
            vec![
                "0011", "0010", "0251", "0300", "0290", "0260", "1100", "0999"
            ]
        );
        assert_eq!(house_number("三组 12号"), Some(12));
        assert_eq!(house_number("幸福路十五号"), Some(15));
        assert_eq!(house_number("三组"), None);
    }
}

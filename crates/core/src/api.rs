//! The sync server's JSON messages beyond push and pull (those are in
//! [`crate::sync`]): sessions, users, conflicts, the township summary. The
//! server and the app both use these types, so they cannot drift apart.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::indicators::Indicator;
use crate::period::Period;
use crate::plan::{IndicatorKind, Target};
use crate::sync::{Conflict, RecordRef};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A village worker: reads and writes her villages' records.
    Worker,
    /// A township officer: reads the township's villages, settles conflicts.
    Officer,
    /// An administrator: users and villages; reads everything.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Worker, Role::Officer, Role::Admin];

    /// The role's name as stored and sent.
    pub fn name(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// `POST /api/v1/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The answer to a good login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginResponse {
    /// The session token, for `Authorization: Bearer …`.
    pub token: String,
    /// When it expires, ms since the epoch.
    pub expires_ms: u64,
    /// Who signed in.
    pub user: UserView,
    /// The server's clock.
    pub server_time_ms: u64,
    /// An administrator reset the password: every route but
    /// `POST /api/v1/password` and logout answers 403
    /// (`password_change_required`) until the user has chosen a new one.
    /// Sent only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_change_password: bool,
}

/// `POST /api/v1/password`: the session user changes her own password.
/// The current one is checked (and counted like a login); the new one must
/// pass [`crate::passwords::check_new_password`]. Every other session of
/// hers ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// The password she signs in with now.
    pub current: String,
    /// The one she chooses.
    pub new: String,
}

/// `POST /api/v1/device-key`: the on-device lock's recovery secret for
/// this user and `device`, made on the first request. The account password
/// is asked again, so that a session token read from a stolen phone cannot
/// fetch the secret that opens that phone's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeyRequest {
    /// The phone's device id.
    pub device: crate::Id,
    /// The session user's password.
    pub password: String,
}

/// The answer to a [`DeviceKeyRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeyResponse {
    /// The device id asked for.
    pub device: crate::Id,
    /// 32 bytes as 64 lowercase hex characters (derived from the server
    /// key, or random from an older server); the same at every request for
    /// this user and device.
    pub secret: String,
    /// When the server made it, ms since the epoch.
    pub created_ms: u64,
}

/// A user as the API shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// An officer's township.
    pub township: Option<String>,
    /// The villages they may read (a worker also writes them).
    pub villages: Vec<VillageView>,
}

/// A village as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageView {
    /// Its id: the id of its village record.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its township.
    pub township: String,
}

/// `GET /api/v1/whoami`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoAmI {
    /// Who.
    pub user: UserView,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// `GET /api/v1/conflicts`: the open conflicts of the user's villages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictList {
    /// Each losing value with the winner it lost to.
    pub conflicts: Vec<Conflict>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// `POST /api/v1/conflicts/settle`: choose a field's value. The server
/// records it as its own change superseding every value the field held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// The record.
    pub record: RecordRef,
    /// The field.
    pub field: String,
    /// The value chosen.
    pub value: serde_json::Value,
}

/// One indicator of a village in the township summary: the counts only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorCount {
    /// Which indicator.
    pub kind: IndicatorKind,
    /// How many are counted.
    pub numerator: usize,
    /// Out of how many.
    pub denominator: usize,
    /// The plan's goal, if it sets one.
    pub target: Option<Target>,
}

impl From<&Indicator> for IndicatorCount {
    fn from(i: &Indicator) -> Self {
        IndicatorCount {
            kind: i.kind,
            numerator: i.numerator.len(),
            denominator: i.denominator.len(),
            target: i.target,
        }
    }
}

/// One village's line on the township page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageSummary {
    /// The village.
    pub village: VillageView,
    /// Its indicators for the period.
    pub indicators: Vec<IndicatorCount>,
    /// When a phone of it last synced, ms since the epoch.
    pub last_sync_ms: Option<i64>,
    /// Records with open conflicts.
    pub open_conflicts: i64,
    /// Households (not deleted).
    pub households: usize,
}

/// `GET /api/v1/township/summary?period=…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The period, as asked.
    pub period: Period,
    /// The villages side by side.
    pub villages: Vec<VillageSummary>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// `GET /api/v1/township/indicators?village=…&period=…`: one village's
/// indicators with the people behind each count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageIndicators {
    /// The village.
    pub village: VillageView,
    /// Its indicators.
    pub indicators: Vec<Indicator>,
    /// The server's clock.
    pub server_time_ms: u64,
}

/// An error answer: `{"error": code, "message": text, "field": path?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, …
    pub error: String,
    /// What was wrong, in English.
    pub message: String,
    /// The JSON path of the field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Parses a period as the API writes it: `2026`, `2026-H1`, `2026-Q3` or
/// `2026-11`.
pub fn parse_period(text: &str) -> Option<Period> {
    let (year, rest) = match text.split_once('-') {
        Some((y, r)) => (y, Some(r)),
        None => (text, None),
    };
    if year.len() != 4 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let day = |month: u32| NaiveDate::from_ymd_opt(year, month, 1);
    match rest {
        None => Some(Period::year_of(day(1)?)),
        Some("H1") => Some(Period::half_year_of(day(1)?)),
        Some("H2") => Some(Period::half_year_of(day(7)?)),
        Some(r) if r.len() == 2 && r.starts_with('Q') => {
            let q: u32 = r[1..].parse().ok().filter(|q| (1..=4).contains(q))?;
            Some(Period::quarter_of(day(q * 3 - 2)?))
        }
        Some(r) if r.len() == 2 && r.bytes().all(|b| b.is_ascii_digit()) => {
            let m: u32 = r.parse().ok().filter(|m| (1..=12).contains(m))?;
            Some(Period::month_of(day(m)?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_in_four_spellings() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_period("2026"), Some(Period::year_of(d(2026, 5, 1))));
        assert_eq!(
            parse_period("2026-H2"),
            Some(Period::half_year_of(d(2026, 9, 1)))
        );
        assert_eq!(
            parse_period("2026-Q3"),
            Some(Period::quarter_of(d(2026, 8, 1)))
        );
        assert_eq!(
            parse_period("2026-11"),
            Some(Period::month_of(d(2026, 11, 30)))
        );
        for bad in [
            "", "26", "2026-Q5", "2026-13", "2026-H3", "year", "2026-1", "99999", "2026-+1",
        ] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }

    #[test]
    fn roles_round_trip_by_name() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.name()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.name())
            );
        }
        assert_eq!(Role::from_name("root"), None);
    }
}

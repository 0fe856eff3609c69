//! The rules for a new account password, shared by the server (`user add`,
//! `user reset-password`, `POST /api/v1/password`) and the app's
//! change-password form, so that both refuse the same passwords for the
//! same reasons.
//!
//! A password has 8 to 256 characters and is not one of the most common
//! passwords (`common_passwords.txt`, compiled in; SECURITY.md says where
//! the list comes from). The list is compared case-insensitively, after
//! trimming spaces, so `Woaini1314` and ` 5201314 ` are refused too.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The shipped list of common passwords, one a line (`#` lines are comments).
pub const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Why a new password is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    TooLong,
    /// On the list of the most common passwords.
    TooCommon,
}

impl PasswordProblem {
    /// The reason in English, as the server sends it.
    pub fn message(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "the password must have at least 8 characters",
            PasswordProblem::TooLong => "the password must have at most 256 characters",
            PasswordProblem::TooCommon => {
                "the password is one of the most common passwords: choose another"
            }
        }
    }
}

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// Whether `password` is on the list of the most common passwords.
pub fn is_common_password(password: &str) -> bool {
    common().contains(password.trim().to_lowercase().as_str())
}

/// Checks a new password against the rules.
pub fn check_new_password(password: &str) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(PasswordProblem::TooShort)
    } else if n > MAX_PASSWORD_CHARS {
        Err(PasswordProblem::TooLong)
    } else if is_common_password(password) {
        Err(PasswordProblem::TooCommon)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_chinese_passwords_are_refused_in_any_case() {
        for p in [
            "12345678",
            "woaini1314",
            "WoAiNi1314",
            "qq123456",
            "a123456789",
            " 5201314520 ",
            "password",
            "1qaz2wsx",
        ] {
            assert_eq!(
                check_new_password(p),
                Err(PasswordProblem::TooCommon),
                "{p}"
            );
        }
        assert_eq!(
            check_new_password("5201314"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(check_new_password("王庄村的春天来了"), Ok(()));
        assert_eq!(check_new_password("correct horse battery"), Ok(()));
        assert_eq!(
            check_new_password(&"x".repeat(257)),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn the_list_is_lower_case_and_a_few_hundred_long() {
        let n = common().len();
        assert!((300..5_000).contains(&n), "{n}");
        for word in common() {
            assert_eq!(*word, word.to_lowercase(), "{word}");
        }
    }
}

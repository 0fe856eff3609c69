//! Issue 14, items 3–5: the rules behind the visit form, the person and
//! household forms and the household page — phone numbers, a not-seen
//! attempt, the visit kinds that apply to a person, her tasks and the
//! outcome in words.

use chrono::NaiveDate;
use fieldbook_core::limits::{check_field, is_valid_phone};
use fieldbook_core::model::{
    Contraception, Household, MaritalStatus, Method, NotSeen, NotSeenReason, Outcome, Person, Sex,
    ThreeCheckResults, Village, Visit, VisitKind,
};
use fieldbook_core::rules::{Rules, due_tasks, tasks_for_person};
use fieldbook_core::sync::RecordKind;
use fieldbook_core::validate::{MessageKey, validate_household, validate_person, validate_visit};
use fieldbook_core::visit_context::{
    due_task, last_visit_of_kind, open_tasks, outcome_words, suggested_come_back, visit_kinds_for,
    why_due,
};
use fieldbook_core::{Dataset, Id};
use serde_json::json;
use uuid::Uuid;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn id(n: u8) -> Id {
    Uuid::from_bytes([n; 16])
}

const TODAY: (i32, u32, u32) = (2026, 12, 6);

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

/// One village, one household (一组 2号) with a married woman of 30 on an
/// IUD, her husband, and their son of five.
fn village() -> Dataset {
    let mut data = Dataset::new();
    data.villages.push(Village {
        id: id(1),
        name: "王庄村".into(),
        township: None,
        deleted: false,
    });
    let mut household = Household::new(id(2), id(1), "0002");
    household.group = Some("一组".into());
    household.head_person_id = Some(id(4));
    data.households.push(household);
    let mut woman = Person::new(id(3), id(2), "王秀英", Sex::Female);
    woman.birth_date = Some(day(1996, 3, 1));
    woman.marital = MaritalStatus::FirstMarriage;
    woman.contraception = Some(Contraception {
        method: Method::Iud,
        start: Some(day(2026, 9, 1)),
        replace_by: None,
        informed_choice: true,
    });
    let mut man = Person::new(id(4), id(2), "李强", Sex::Male);
    man.birth_date = Some(day(1994, 5, 1));
    man.marital = MaritalStatus::FirstMarriage;
    let mut boy = Person::new(id(5), id(2), "李小宝", Sex::Male);
    boy.birth_date = Some(day(2021, 6, 1));
    data.persons.extend([woman, man, boy]);
    data
}

fn keys(problems: &[fieldbook_core::validate::Problem]) -> Vec<(String, MessageKey)> {
    problems.iter().map(|p| (p.field.clone(), p.key)).collect()
}

#[test]
fn phone_numbers_are_mobiles_or_landlines_with_an_optional_country_code() {
    for good in [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 13800138000",
        "+8613800138000",
        "86 138 0013 8000",
        "0571-88886666",
        "0571 8888666",
        "010-88886666",
        "(0571)88886666",
        "0571-88886666转123",
        "+86 571 8888 6666",
        "+86 10 8888 6666",
        " 13800138000 ",
    ] {
        assert!(is_valid_phone(good), "{good} is a phone number");
    }
    for bad in [
        "abc",
        "12ab",
        "",
        "110",
        "88886666",
        "1380013800",
        "138001380001",
        "23800138000",
        "0571-8888",
        "00571-88886666",
        "+1 4155550100",
        "13800138000转12",
        "0571-88886666转",
        "0571-88886666转12345678",
        "１３８００１３８０００",
        "138.0013.8000",
    ] {
        assert!(!is_valid_phone(bad), "{bad:?} is not a phone number");
    }
}

#[test]
fn the_forms_and_the_field_check_refuse_a_wrong_phone_and_name_the_field() {
    let data = village();
    let mut household = data.households[0].clone();
    household.phone = Some("abc".into());
    assert_eq!(
        keys(&validate_household(&household, &data)),
        [("phone".to_string(), MessageKey::PhoneInvalid)]
    );
    household.phone = Some("0571-88886666".into());
    assert!(validate_household(&household, &data).is_empty());

    let mut person = data.persons[0].clone();
    person.phone = Some("12ab".into());
    assert_eq!(
        keys(&validate_person(&person, &data, today())),
        [("phone".to_string(), MessageKey::PhoneInvalid)]
    );
    person.phone = Some("+86 138 0013 8000".into());
    assert!(validate_person(&person, &data, today()).is_empty());

    for kind in [RecordKind::Household, RecordKind::Person] {
        let refused = check_field(kind, "phone", &json!("abc")).unwrap_err();
        assert_eq!(refused.path, "phone");
        assert_eq!(refused.key, Some(MessageKey::PhoneInvalid));
        assert!(check_field(kind, "phone", &json!("13800138000")).is_ok());
        assert!(check_field(kind, "phone", &json!(null)).is_ok());
        // Too long is still told as too long.
        let long = check_field(kind, "phone", &json!("1".repeat(31))).unwrap_err();
        assert_eq!(long.key, Some(MessageKey::ShortTextTooLong));
    }
}

#[test]
fn the_generated_demo_village_has_only_valid_phones() {
    let data =
        fieldbook_core::generate::generate(1, fieldbook_core::generate::Size::Village, today());
    let phones: Vec<&String> = data
        .households
        .iter()
        .filter_map(|h| h.phone.as_ref())
        .chain(data.persons.iter().filter_map(|p| p.phone.as_ref()))
        .collect();
    assert!(phones.len() > 100);
    for phone in phones {
        assert!(is_valid_phone(phone), "{phone}");
    }
}

#[test]
fn a_not_seen_attempt_carries_no_answers_and_no_next_visit() {
    let data = village();
    let attempt = Visit {
        not_seen: Some(NotSeen {
            reason: NotSeenReason::NotHome,
            come_back: Some(day(2026, 12, 7)),
        }),
        ..Visit::new(id(9), id(3), id(2), today(), VisitKind::ThreeChecks)
    };
    assert!(validate_visit(&attempt, &data, today()).is_empty());

    let with_answers = Visit {
        outcome: Outcome {
            satisfied: Some(true),
            ..Outcome::default()
        },
        ..attempt.clone()
    };
    assert_eq!(
        keys(&validate_visit(&with_answers, &data, today())),
        [("outcome".to_string(), MessageKey::NotSeenWithAnswers)]
    );
    let with_checks = Visit {
        outcome: Outcome {
            three_checks: Some(ThreeCheckResults::default()),
            ..Outcome::default()
        },
        ..attempt.clone()
    };
    assert_eq!(
        keys(&validate_visit(&with_checks, &data, today())),
        [("outcome".to_string(), MessageKey::NotSeenWithAnswers)]
    );
    let with_next = Visit {
        next_visit: Some(day(2027, 1, 5)),
        ..attempt.clone()
    };
    assert_eq!(
        keys(&validate_visit(&with_next, &data, today())),
        [("next_visit".to_string(), MessageKey::NotSeenWithAnswers)]
    );
}

#[test]
fn one_persons_tasks_are_the_village_lists_tasks_of_hers() {
    let data =
        fieldbook_core::generate::generate(1, fieldbook_core::generate::Size::Village, today());
    let rules = Rules::default();
    let village: Vec<_> = due_tasks(&data, today(), &rules);
    let mut checked = 0;
    for person in data.persons.iter().filter(|p| !p.deleted).take(300) {
        let mut hers: Vec<_> = tasks_for_person(&data, person.id, today(), &rules)
            .into_iter()
            .filter(|t| village.contains(t))
            .collect();
        let mut expected: Vec<_> = village
            .iter()
            .filter(|t| t.person_id == Some(person.id))
            .cloned()
            .collect();
        let key =
            |t: &fieldbook_core::rules::Task| (t.start, t.end, t.kind, format!("{:?}", t.rule));
        hers.sort_by_key(key);
        expected.sort_by_key(key);
        checked += expected.len();
        assert_eq!(hers, expected, "{}", person.name);
    }
    assert!(checked > 20, "{checked} tasks compared");
}

#[test]
fn why_a_visit_is_due_names_the_rule_and_its_window() {
    let data = village();
    let rules = Rules::default();
    let task = due_task(&data, id(3), VisitKind::ThreeChecks, today(), &rules)
        .expect("her second-half three checks are due");
    assert_eq!(
        why_due(&task, true),
        "已婚育龄妇女每半年三查一次（7月1日至12月31日）"
    );
    assert!(why_due(&task, false).starts_with("Three checks each half-year"));
    // An IUD fitted on 1 September: the 3-month follow-up around 1 December.
    let follow_up = due_task(&data, id(3), VisitKind::MethodFollowUp, today(), &rules).unwrap();
    assert!(
        why_due(&follow_up, true).starts_with("宫内节育器落实后第3个月随访"),
        "{}",
        why_due(&follow_up, true)
    );
    assert!(due_task(&data, id(5), VisitKind::ThreeChecks, today(), &rules).is_none());
}

#[test]
fn a_not_seen_attempt_leaves_her_task_open() {
    let mut data = village();
    let rules = Rules::default();
    data.visits.push(Visit {
        not_seen: Some(NotSeen {
            reason: NotSeenReason::Away,
            come_back: None,
        }),
        ..Visit::new(id(9), id(3), id(2), today(), VisitKind::ThreeChecks)
    });
    assert!(due_task(&data, id(3), VisitKind::ThreeChecks, today(), &rules).is_some());
    assert_eq!(
        last_visit_of_kind(&data, id(3), VisitKind::ThreeChecks, None).map(|v| v.id),
        Some(id(9))
    );
    assert_eq!(
        last_visit_of_kind(&data, id(3), VisitKind::ThreeChecks, Some(id(9))),
        None
    );
    data.visits.push(Visit::new(
        id(10),
        id(3),
        id(2),
        today(),
        VisitKind::ThreeChecks,
    ));
    // The visit closes this half-year's three checks.
    assert!(
        open_tasks(&data, id(3), today(), &rules)
            .iter()
            .all(|t| t.kind != fieldbook_core::rules::TaskKind::ThreeChecks || t.end < today())
    );
}

#[test]
fn visit_kinds_apply_to_the_person_they_serve() {
    let data = village();
    let rules = Rules::default();
    let woman = visit_kinds_for(&data, &data.persons[0], today(), &rules);
    assert!(woman.contains(&VisitKind::ThreeChecks));
    assert!(woman.contains(&VisitKind::MethodFollowUp));
    assert!(woman.contains(&VisitKind::PublicityAtHome));
    assert!(!woman.contains(&VisitKind::Postpartum));
    assert!(!woman.contains(&VisitKind::MigrantCheck));
    let man = visit_kinds_for(&data, &data.persons[1], today(), &rules);
    assert_eq!(man, [VisitKind::PublicityAtHome, VisitKind::Other]);
    let boy = visit_kinds_for(&data, &data.persons[2], today(), &rules);
    assert!(boy.is_empty(), "no visit for a five-year-old: {boy:?}");
}

#[test]
fn outcomes_read_in_words() {
    let mut visit = Visit::new(id(9), id(3), id(2), today(), VisitKind::ThreeChecks);
    visit.outcome.three_checks = Some(ThreeCheckResults {
        ring_in_place: Some(true),
        pregnant: Some(false),
        condition_found: None,
    });
    visit.outcome.satisfied = Some(true);
    assert_eq!(
        outcome_words(&visit, true),
        "查环：是；查孕：否；查病：未查；满意：是"
    );
    assert_eq!(
        outcome_words(&visit, false),
        "ring check: yes; pregnancy check: no; gynaecological check: not checked; satisfied: yes"
    );
    let attempt = Visit {
        not_seen: Some(NotSeen {
            reason: NotSeenReason::NotHome,
            come_back: suggested_come_back(NotSeenReason::NotHome, day(2026, 12, 7)),
        }),
        ..Visit::new(
            id(9),
            id(3),
            id(2),
            day(2026, 12, 7),
            VisitKind::ThreeChecks,
        )
    };
    assert_eq!(
        outcome_words(&attempt, true),
        "未见到：不在家，约12月8日再访"
    );
    assert_eq!(
        outcome_words(&attempt, false),
        "Not seen: not at home; come back about 8 Dec"
    );
    let empty = Visit::new(id(9), id(3), id(2), today(), VisitKind::Other);
    assert_eq!(outcome_words(&empty, true), "未填写结果");
}

#[test]
fn the_address_says_the_group_once_and_the_phone_is_a_call_link() {
    use fieldbook_core::visit_context::{address_line, tel_href};
    let mut household = Household::new(id(2), id(1), "0002");
    household.group = Some("一组".into());
    household.address = Some("一组 2号".into());
    assert_eq!(address_line(&household), "一组 2号");
    household.address = Some("东街2号".into());
    assert_eq!(address_line(&household), "一组 东街2号");
    household.address = None;
    assert_eq!(address_line(&household), "一组");
    household.group = None;
    household.address = Some("东街2号".into());
    assert_eq!(address_line(&household), "东街2号");
    assert_eq!(tel_href("+86 138-0013-8000"), "tel:+8613800138000");
    assert_eq!(tel_href("0571-88886666转123"), "tel:057188886666");
}

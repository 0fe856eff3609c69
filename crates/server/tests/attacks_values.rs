//! Attacks with values (issue 13, item 2): a phone that sends values no form
//! would make. Every pushed change and every settled value passes the core's
//! field check (`fieldbook_core::limits::check_field`); settle takes only a
//! value its conflict holds and moves no record to another village; pull and
//! snapshot pages are bounded by bytes. Each named case asserts the status,
//! the reason and that the database is unchanged. SQLite always; PostgreSQL
//! as ignored tests (`cargo xtask test` runs them).

mod common;

use std::cell::Cell;

use common::*;
use fieldbook_core::limits::check_field;
use fieldbook_core::model::{Person, Sex, Visit, VisitKind};
use fieldbook_core::plan::{Measure, PlanSection, Recurrence, Tick, WorkPlan};
use fieldbook_core::sync::{Change, DeviceId, Hlc, RecordKind, RecordRef, changes_for_new_record};
use fieldbook_core::{Household, Id};
use fieldbook_server::sync::MAX_PAGE_BYTES;
use http::StatusCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use uuid::Uuid;

/// Wang's phone.
fn phone() -> DeviceId {
    device(31)
}

/// One record of every kind in 王庄村, pushed by wang's phone: what the
/// cases change.
struct Records {
    wang: String,
    village: RecordRef,
    household: RecordRef,
    second_household: RecordRef,
    person: RecordRef,
    visit: RecordRef,
    plan: RecordRef,
    tick: RecordRef,
    /// The next change number of wang's phone.
    next_seq: Cell<u64>,
}

impl Records {
    async fn new(t: &TestServer) -> Records {
        let wang = t.login("wang").await;
        let village = Id::parse_str(&t.wang_village).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let household = Household::new(Uuid::new_v4(), village, "001");
        let second = Household::new(Uuid::new_v4(), village, "002");
        let person = Person::new(Uuid::new_v4(), household.id, "王秀英", Sex::Female);
        let visit = Visit::new(
            Uuid::new_v4(),
            person.id,
            household.id,
            day,
            VisitKind::ThreeChecks,
        );
        let measure = Uuid::new_v4();
        let plan = WorkPlan {
            id: Uuid::new_v4(),
            village_id: village,
            year: 2026,
            title: "2026年工作计划".into(),
            title_en: None,
            targets: Vec::new(),
            sections: vec![PlanSection {
                id: Uuid::new_v4(),
                title: "一、优质服务".into(),
                title_en: None,
                measures: vec![Measure {
                    id: measure,
                    title: "入户宣传".into(),
                    title_en: None,
                    description: None,
                    description_en: None,
                    recurrence: Recurrence::Monthly,
                    indicator: None,
                }],
            }],
            deleted: false,
        };
        let tick = Tick {
            id: Uuid::new_v4(),
            plan_id: plan.id,
            measure_id: measure,
            occurrence: 3,
            date: day,
            by: None,
            note: None,
            households_reached: None,
            deleted: false,
        };
        let records = [
            (
                RecordKind::Household,
                serde_json::to_value(&household).unwrap(),
            ),
            (
                RecordKind::Household,
                serde_json::to_value(&second).unwrap(),
            ),
            (RecordKind::Person, serde_json::to_value(&person).unwrap()),
            (RecordKind::Visit, serde_json::to_value(&visit).unwrap()),
            (RecordKind::Plan, serde_json::to_value(&plan).unwrap()),
            (RecordKind::Tick, serde_json::to_value(&tick).unwrap()),
        ];
        let mut changes = Vec::new();
        for (kind, json) in records {
            let first = changes.len() as u64 + 1;
            changes.extend(
                changes_for_new_record(kind, &json, Hlc::new(t.now(), 0), phone(), first).unwrap(),
            );
        }
        let (status, body) = t.push(&wang, phone(), &changes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rejected"], json!([]), "the records are valid");
        let r = |kind, id| RecordRef { kind, id };
        Records {
            wang,
            village: r(RecordKind::Village, village),
            household: r(RecordKind::Household, household.id),
            second_household: r(RecordKind::Household, second.id),
            person: r(RecordKind::Person, person.id),
            visit: r(RecordKind::Visit, visit.id),
            plan: r(RecordKind::Plan, plan.id),
            tick: r(RecordKind::Tick, tick.id),
            next_seq: Cell::new(changes.len() as u64 + 1),
        }
    }

    fn of(&self, kind: RecordKind) -> RecordRef {
        match kind {
            RecordKind::Village => self.village,
            RecordKind::Household => self.household,
            RecordKind::Person => self.person,
            RecordKind::Visit => self.visit,
            RecordKind::Plan => self.plan,
            RecordKind::Tick => self.tick,
        }
    }

    /// A change of wang's phone setting `field` of `record` to `value`,
    /// under the next change number (which a refused change leaves free).
    fn change(&self, t: &TestServer, record: RecordRef, field: &str, value: Value) -> Change {
        Change {
            record,
            field: field.to_string(),
            value,
            ts: Hlc::new(t.now(), 0),
            device: phone(),
            seq: self.next_seq.get(),
            supersedes: Vec::new(),
        }
    }
}

fn long(n: usize) -> Value {
    json!("字".repeat(n))
}

/// The fields of each kind that hold free text, with their limit in
/// characters.
fn text_fields() -> Vec<(RecordKind, &'static str, usize)> {
    use RecordKind::*;
    vec![
        (Village, "name", 30),
        (Village, "township", 30),
        (Household, "number", 30),
        (Household, "group", 30),
        (Household, "address", 200),
        (Household, "phone", 30),
        (Household, "notes", 2000),
        (Person, "name", 30),
        (Person, "relation", 30),
        (Person, "phone", 30),
        (Person, "exemption", 200),
        (Visit, "recorded_by", 30),
        (Visit, "notes", 2000),
        (Plan, "title", 200),
        (Plan, "title_en", 200),
        (Tick, "by", 30),
        (Tick, "note", 2000),
    ]
}

/// One named bad value: the field set, the value, and what the reason must
/// say (the path in backquotes and the why).
struct BadValue {
    name: String,
    kind: RecordKind,
    field: String,
    value: Value,
    path: String,
    why: String,
}

fn bad(
    name: impl Into<String>,
    kind: RecordKind,
    field: &str,
    value: Value,
    path: &str,
    why: &str,
) -> BadValue {
    BadValue {
        name: name.into(),
        kind,
        field: field.to_string(),
        value,
        path: path.to_string(),
        why: why.to_string(),
    }
}

/// The catalogue: for each kind and field, an over-long text, an
/// out-of-range number or date, an invalid enum or shape, and a value over
/// 8 KiB; a 3 MB note; nested fields at depth.
fn catalogue() -> Vec<BadValue> {
    use RecordKind::*;
    let mut cases = Vec::new();
    for (kind, field, max) in text_fields() {
        cases.push(bad(
            format!("{} {field} of {} characters", kind.name(), max + 1),
            kind,
            field,
            long(max + 1),
            field,
            &format!("at most {max} characters"),
        ));
    }
    // Every field of every kind: a value over 8 KiB (refused before it is
    // decoded, whatever its type) and a shape no field has.
    for kind in RecordKind::ALL {
        for field in kind.fields() {
            let (value, max) = if kind == Plan && field == "sections" {
                (json!("x".repeat(64 * 1024 + 1)), 64 * 1024)
            } else {
                (json!("x".repeat(8 * 1024)), 8 * 1024)
            };
            cases.push(bad(
                format!("{} {field} over {max} bytes", kind.name()),
                kind,
                &field,
                value,
                &field,
                &format!("at most {max} are allowed"),
            ));
            cases.push(bad(
                format!("{} {field} as an object of nothing", kind.name()),
                kind,
                &field,
                json!({"bogus": true}),
                &field,
                "",
            ));
        }
    }
    let date_fields = [
        (Person, "birth_date"),
        (Person, "menopause"),
        (Visit, "date"),
        (Visit, "next_visit"),
        (Tick, "date"),
    ];
    for (kind, field) in date_fields {
        for day in ["1899-12-31", "2101-01-01"] {
            cases.push(bad(
                format!("{} {field} on {day}", kind.name()),
                kind,
                field,
                json!(day),
                field,
                "between 1900 and 2100",
            ));
        }
        cases.push(bad(
            format!("{} {field} on February 30th", kind.name()),
            kind,
            field,
            json!("2026-02-30"),
            field,
            "",
        ));
    }
    let more = vec![
        bad(
            "a 3 MB household note",
            Household,
            "notes",
            json!("字".repeat(1_000_000)),
            "notes",
            "at most 8192 are allowed",
        ),
        bad(
            "a 3 MB visit note",
            Visit,
            "notes",
            json!("记".repeat(1_000_000)),
            "notes",
            "at most 8192 are allowed",
        ),
        bad(
            "21 children",
            Person,
            "children",
            json!(21),
            "children",
            "More than 20 children",
        ),
        bad(
            "-1 children",
            Person,
            "children",
            json!(-1),
            "children",
            "invalid value",
        ),
        bad(
            "300 children",
            Person,
            "children",
            json!(300),
            "children",
            "invalid value",
        ),
        bad(
            "a sex that is none",
            Person,
            "sex",
            json!("x"),
            "sex",
            "unknown variant",
        ),
        bad("no sex", Person, "sex", Value::Null, "sex", "missing field"),
        bad(
            "a marital status that is none",
            Person,
            "marital",
            json!("x"),
            "marital",
            "unknown variant",
        ),
        bad(
            "a visit kind that is none",
            Visit,
            "kind",
            json!("raid"),
            "kind",
            "unknown variant",
        ),
        bad(
            "a method that is none",
            Person,
            "contraception",
            json!({"method": "x"}),
            "contraception",
            "unknown variant",
        ),
        bad(
            "a living status that is none",
            Person,
            "living",
            json!({"status": "abroad"}),
            "living",
            "unknown variant",
        ),
        bad(
            "a pregnancy status that is none",
            Person,
            "pregnancy",
            json!({"status": "x"}),
            "pregnancy",
            "unknown variant",
        ),
        bad(
            "a contraception start in 1800",
            Person,
            "contraception",
            json!({"method": "iud", "start": "1800-01-01"}),
            "contraception.start",
            "between 1900 and 2100",
        ),
        bad(
            "a replace-by date in 2200",
            Person,
            "contraception",
            json!({"method": "iud", "replace_by": "2200-01-01"}),
            "contraception.replace_by",
            "between 1900 and 2100",
        ),
        bad(
            "a last period in 1000",
            Person,
            "pregnancy",
            json!({"status": "pregnant", "last_period": "1000-01-01"}),
            "pregnancy.last_period",
            "between 1900 and 2100",
        ),
        bad(
            "a delivery in 2101",
            Person,
            "pregnancy",
            json!({"status": "delivered", "on": "2101-01-01"}),
            "pregnancy.on",
            "between 1900 and 2100",
        ),
        bad(
            "a migrant's place of 201 characters",
            Person,
            "living",
            json!({"status": "out_migrant", "place": "字".repeat(201)}),
            "living.place",
            "at most 200 characters",
        ),
        bad(
            "a migrant since 1800",
            Person,
            "living",
            json!({"status": "in_migrant", "place": "河南", "since": "1800-01-01"}),
            "living.since",
            "between 1900 and 2100",
        ),
        bad(
            "deregistered in 2200",
            Person,
            "living",
            json!({"status": "deregistered", "reason": "deceased", "date": "2200-01-01"}),
            "living.date",
            "between 1900 and 2100",
        ),
        bad(
            "a certificate number of 31 characters",
            Person,
            "certificate",
            json!({"number": "证".repeat(31)}),
            "certificate.number",
            "at most 30 characters",
        ),
        bad(
            "a certificate expiring in 2101",
            Person,
            "certificate",
            json!({"number": "1", "expires": "2101-01-01"}),
            "certificate.expires",
            "between 1900 and 2100",
        ),
        bad(
            "a defect level of 4",
            Visit,
            "outcome",
            json!({"defect_level": 4}),
            "outcome.defect_level",
            "must be 1, 2 or 3",
        ),
        bad(
            "a defect level of 0",
            Visit,
            "outcome",
            json!({"defect_level": 0}),
            "outcome.defect_level",
            "must be 1, 2 or 3",
        ),
        bad(
            "a new method that is none",
            Visit,
            "outcome",
            json!({"new_method": "x"}),
            "outcome",
            "unknown variant",
        ),
        bad(
            "a plan year of 1999",
            Plan,
            "year",
            json!(1999),
            "year",
            "between 2000 and 2100",
        ),
        bad(
            "a plan year of 2101",
            Plan,
            "year",
            json!(2101),
            "year",
            "between 2000 and 2100",
        ),
        bad(
            "a goal of 100.1 %",
            Plan,
            "targets",
            json!([{"indicator": "awareness", "goal_permille": 1001}]),
            "targets[0].goal_permille",
            "above 100%",
        ),
        bad(
            "an indicator that is none",
            Plan,
            "targets",
            json!([{"indicator": "x", "goal_permille": 1}]),
            "targets",
            "unknown variant",
        ),
        bad(
            "a section title of 201 characters",
            Plan,
            "sections",
            json!([{"id": Uuid::nil(), "title": "字".repeat(201), "measures": []}]),
            "sections[0].title",
            "at most 200 characters",
        ),
        bad(
            "a measure description of 2001 characters",
            Plan,
            "sections",
            json!([{"id": Uuid::nil(), "title": "一", "measures": [{"id": Uuid::nil(), "title": "宣传", "description": "字".repeat(2001), "recurrence": {"every": "monthly"}}]}]),
            "sections[0].measures[0].description",
            "at most 2000 characters",
        ),
        bad(
            "a measure on 367 dates",
            Plan,
            "sections",
            json!([{"id": Uuid::nil(), "title": "一", "measures": [{"id": Uuid::nil(), "title": "宣传", "recurrence": {"every": "dates", "dates": vec!["2026-01-01"; 367]}}]}]),
            "sections[0].measures[0].recurrence.dates",
            "At most 366 dates",
        ),
        bad(
            "a measure date in 2150",
            Plan,
            "sections",
            json!([{"id": Uuid::nil(), "title": "一", "measures": [{"id": Uuid::nil(), "title": "宣传", "recurrence": {"every": "dates", "dates": ["2150-01-01"]}}]}]),
            "sections[0].measures[0].recurrence.dates[0]",
            "between 1900 and 2100",
        ),
        bad(
            "a recurrence that is none",
            Plan,
            "sections",
            json!([{"id": Uuid::nil(), "title": "一", "measures": [{"id": Uuid::nil(), "title": "宣传", "recurrence": {"every": "hourly"}}]}]),
            "sections",
            "unknown variant",
        ),
        bad(
            "a tick's 367th occurrence",
            Tick,
            "occurrence",
            json!(366),
            "occurrence",
            "no such task",
        ),
        bad(
            "100,001 households reached",
            Tick,
            "households_reached",
            json!(100_001),
            "households_reached",
            "More than 100000 households",
        ),
        bad(
            "households reached below zero",
            Tick,
            "households_reached",
            json!(-5),
            "households_reached",
            "invalid value",
        ),
        bad(
            "the id as a field",
            Household,
            "id",
            json!(Uuid::nil()),
            "id",
            "cannot change",
        ),
        bad(
            "a field no household has",
            Household,
            "favourite_colour",
            json!("red"),
            "favourite_colour",
            "unknown field",
        ),
    ];
    cases.extend(more);
    cases
}

/// The reason a refused change gets: the field check's.
fn reason_of(t: &serde_json::Value) -> String {
    t["rejected"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

on_both! {
    async fn every_bad_value_of_every_field_is_refused_with_its_path_and_changes_nothing(t: &TestServer) {
        let r = Records::new(t).await;
        let before = t.snapshot().await;
        let cases = catalogue();
        assert!(cases.len() > 150, "{} cases", cases.len());
        for case in &cases {
            let change = r.change(t, r.of(case.kind), &case.field, case.value.clone());
            let (status, body) = t.push(&r.wang, phone(), &[change]).await;
            let what = &case.name;
            assert_eq!(status, StatusCode::OK, "{what}: {body}");
            assert_eq!(body["accepted"], json!([]), "{what}");
            let reason = reason_of(&body);
            assert!(
                reason.contains(&format!("field `{}` of a {}", case.path, case.kind.name())),
                "{what}: {reason}"
            );
            assert!(reason.contains(&case.why), "{what}: {reason}");
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }
    }

    async fn village_add_keeps_the_limits_that_every_copy_checks(t: &TestServer) {
        let before = t.snapshot().await;
        let long_name = fieldbook_server::admin::add_village(&t.db, &"村".repeat(31), "石桥镇", t.now()).await;
        let message = long_name.expect_err("a 31-character name").to_string();
        assert!(message.contains("name: The name can have at most 30 characters."), "{message}");
        let long_township = fieldbook_server::admin::add_village(&t.db, "新村", &"镇".repeat(31), t.now()).await;
        let message = long_township.expect_err("a 31-character township").to_string();
        assert!(message.contains("township"), "{message}");
        assert_eq!(t.snapshot().await, before);
    }

    async fn a_change_at_the_limits_is_taken(t: &TestServer) {
        let r = Records::new(t).await;
        let good = [
            (r.household, "notes", long(2000)),
            (r.household, "address", long(200)),
            (r.person, "name", long(30)),
            (r.person, "children", json!(20)),
            (r.person, "birth_date", json!("1900-01-01")),
            (r.visit, "outcome", json!({"defect_level": 3})),
            (r.tick, "households_reached", json!(100_000)),
        ];
        for (record, field, value) in good {
            let change = r.change(t, record, field, value);
            let (status, body) = t.push(&r.wang, phone(), &[change]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["accepted"], json!([r.next_seq.get()]), "{field}: {body}");
            r.next_seq.set(r.next_seq.get() + 1);
        }
    }

    async fn settle_takes_only_a_value_the_conflict_holds_and_moves_nothing(t: &TestServer) {
        let r = Records::new(t).await;
        let officer = t.login("zhao").await;
        // A conflict on the household's address and one on the person's
        // household: wang's two phones edit offline, neither seeing the other.
        let other = device(32);
        let mine = [
            r.change(t, r.household, "address", json!("东街1号")),
            Change { seq: r.next_seq.get() + 1, ..r.change(t, r.person, "household_id", json!(r.household.id)) },
        ];
        let theirs = [
            Change { device: other, seq: 1, ..r.change(t, r.household, "address", json!("西街2号")) },
            Change { device: other, seq: 2, ..r.change(t, r.person, "household_id", json!(r.second_household.id)) },
        ];
        for (device, changes) in [(phone(), &mine[..]), (other, &theirs[..])] {
            let (status, body) = t.push(&r.wang, device, changes).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["rejected"], json!([]), "{body}");
        }
        let (_, body) = t.get("/api/v1/conflicts", Some(&officer)).await;
        assert_eq!(body["conflicts"].as_array().unwrap().len(), 2, "{body}");

        // A household of 李庄村.
        let li = t.login("li").await;
        let (li_household, li_changes) = new_household(&t.li_village, "900", device(33), 1, t.now());
        assert_eq!(t.push(&li, device(33), &li_changes).await.0, StatusCode::OK);

        let settle = |record: RecordRef, field: &str, value: Value| {
            json!({"record": record, "field": field, "value": value})
        };
        let before = t.snapshot().await;
        let cases: Vec<(&str, &str, Value, StatusCode, &str)> = vec![
            ("a value neither phone wrote", "zhao", settle(r.household, "address", json!("北街9号")),
                StatusCode::CONFLICT, "not one this field's conflict holds"),
            ("an address of 201 characters", "zhao", settle(r.household, "address", long(201)),
                StatusCode::BAD_REQUEST, "field `address` of a household: This can have at most 200 characters."),
            ("an address over 8 KiB", "wang", settle(r.household, "address", json!("x".repeat(9000))),
                StatusCode::BAD_REQUEST, "at most 8192 are allowed"),
            ("an address that is a number", "wang", settle(r.household, "address", json!(7)),
                StatusCode::BAD_REQUEST, "field `address`"),
            ("a move to another village's household", "zhao", settle(r.person, "household_id", json!(li_household.id)),
                StatusCode::BAD_REQUEST, "a record cannot move to another village"),
            ("a move to a household nobody has", "wang", settle(r.person, "household_id", json!(Uuid::new_v4())),
                StatusCode::BAD_REQUEST, "a record cannot move to another village"),
        ];
        for (what, who, body, status, reason) in cases {
            let token = if who == "zhao" { &officer } else { &r.wang };
            let (got, answer) = t.post("/api/v1/conflicts/settle", Some(token), &body).await;
            assert_eq!(got, status, "{what}: {answer}");
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.contains(reason), "{what}: {message}");
            assert_eq!(t.snapshot().await, before, "{what} changed nothing");
        }

        // A value the conflict holds is taken: the loser's, then the parent
        // the other phone chose, within the village.
        for body in [
            settle(r.household, "address", json!("东街1号")),
            settle(r.person, "household_id", json!(r.second_household.id)),
        ] {
            let (status, answer) = t.post("/api/v1/conflicts/settle", Some(&officer), &body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        let (_, body) = t.get("/api/v1/conflicts", Some(&officer)).await;
        assert_eq!(body["conflicts"], json!([]));
    }

    async fn pull_and_snapshot_pages_are_bounded_by_bytes_and_lose_nothing(t: &TestServer) {
        let wang = t.login("wang").await;
        let village = Id::parse_str(&t.wang_village).unwrap();
        // 400 households with 2,000-character notes: about 6 KB a change,
        // 2.4 MB in all, far under the count limits of a page.
        let mut changes = Vec::new();
        for n in 0..400 {
            let mut household = Household::new(Uuid::new_v4(), village, format!("{n:03}"));
            household.notes = Some("记".repeat(2000));
            household.address = Some("路".repeat(200));
            let first = changes.len() as u64 + 1;
            changes.extend(
                changes_for_new_record(
                    RecordKind::Household,
                    &serde_json::to_value(&household).unwrap(),
                    Hlc::new(t.now(), 0),
                    phone(),
                    first,
                )
                .unwrap(),
            );
        }
        let (status, body) = t.push(&wang, phone(), &changes).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["rejected"], json!([]));
        let one_change = changes.iter().map(|c| serde_json::to_vec(c).unwrap().len()).max().unwrap();

        // Pull: pages of 5,000 are cut by bytes; paging on as the phone does
        // brings every change.
        let mut cursor = 0;
        let mut pages = 0;
        let mut pulled = Vec::new();
        loop {
            let (status, body) = t
                .post("/api/v1/sync/pull", Some(&wang), &json!({"cursor": cursor, "limit": 5000}))
                .await;
            assert_eq!(status, StatusCode::OK);
            let size = serde_json::to_vec(&body).unwrap().len();
            assert!(size <= MAX_PAGE_BYTES + one_change + 1024, "a page of {size} bytes");
            let page: fieldbook_core::sync::PullResponse = serde_json::from_value(body).unwrap();
            assert!(!page.changes.is_empty() || !page.more, "a page with more holds something");
            pulled.extend(page.changes.into_iter().map(|c| c.change));
            pages += 1;
            cursor = page.next_cursor;
            if !page.more {
                break;
            }
        }
        assert!(pages >= 3, "{pages} pages");
        for change in &changes {
            assert!(pulled.contains(change), "change {} arrived", change.seq);
        }
        assert_eq!(t.pull_all(&wang, 5000).await, pulled, "the tests' helper pages alike");

        // Snapshot: the same, paging after the last record of each page.
        let mut after = None;
        let mut records = Vec::new();
        let mut pages = 0;
        loop {
            let (status, body) = t
                .post("/api/v1/sync/snapshot", Some(&wang), &json!({"after": after, "limit": 10000}))
                .await;
            assert_eq!(status, StatusCode::OK);
            let size = serde_json::to_vec(&body).unwrap().len();
            assert!(size <= MAX_PAGE_BYTES + 4 * one_change, "a page of {size} bytes");
            let page: fieldbook_core::sync::SnapshotResponse = serde_json::from_value(body).unwrap();
            assert!(!page.records.is_empty(), "every page holds at least one record");
            after = page.records.last().map(|r| r.record);
            records.extend(page.records.into_iter().map(|r| r.record));
            pages += 1;
            if !page.more {
                break;
            }
        }
        assert!(pages >= 3, "{pages} pages");
        // 400 households and the village itself, each once.
        assert_eq!(records.len(), 401);
        records.dedup();
        assert_eq!(records.len(), 401);
    }
}

/// A JSON value for a property case: text of every length class, numbers
/// about every range, dates about the bounds, and nested shapes.
fn any_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        "[a-z ]{0,10}",
        "[\\u{4e00}-\\u{4e10}]{25,35}",
        "[\\u{4e00}-\\u{4e10}]{195,205}",
        "[\\u{4e00}-\\u{4e10}]{1995,2005}",
        "[\\u{1}-\\u{3}]{1300,1500}",
    ];
    let day =
        (1890i32..2110, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let number = prop_oneof![-2i64..400, 1990i64..2110, 990i64..1010, 99_990i64..100_010,];
    let leaf = prop_oneof![
        text.clone().prop_map(Value::from),
        day.clone().prop_map(Value::from),
        number.clone().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        prop::sample::select(
            &[
                "female",
                "male",
                "first_marriage",
                "iud",
                "three_checks",
                "x"
            ][..]
        )
        .prop_map(Value::from),
    ];
    let nested = prop_oneof![
        (prop::sample::select(&["iud", "condom", "x"][..]), day.clone(), day.clone())
            .prop_map(|(m, s, r)| json!({"method": m, "start": s, "replace_by": r})),
        day.clone().prop_map(|d| json!({"status": "pregnant", "last_period": d})),
        (text.clone(), day.clone()).prop_map(|(p, d)| json!({"status": "out_migrant", "place": p, "since": d})),
        (text.clone(), day.clone()).prop_map(|(n, d)| json!({"number": n, "expires": d})),
        number.clone().prop_map(|l| json!({"defect_level": l, "satisfied": true})),
        number.clone().prop_map(|g| json!([{"indicator": "awareness", "goal_permille": g}])),
        (text.clone(), text, day).prop_map(|(s, m, d)| json!([{"id": Uuid::nil(), "title": s,
            "measures": [{"id": Uuid::nil(), "title": m, "recurrence": {"every": "dates", "dates": [d]}}]}])),
    ];
    prop_oneof![3 => leaf, 2 => nested]
}

/// A kind and one of its fields, parent fields left out: a random id there
/// is refused as a move to another village, which the field check does not
/// decide.
fn any_field() -> impl Strategy<Value = (RecordKind, String)> {
    prop::sample::select(
        RecordKind::ALL
            .into_iter()
            .filter(|k| *k != RecordKind::Village)
            .flat_map(|kind| kind.fields().into_iter().map(move |f| (kind, f)))
            .filter(|(kind, f)| kind.parent().is_none_or(|(parent, _)| parent != f))
            .collect::<Vec<_>>(),
    )
}

fn values_through_push(backend: Backend) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(TestServer::new(backend));
    let r = rt.block_on(Records::new(&t));
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(any_field(), any_value()), |((kind, field), value)| {
        rt.block_on(async {
            let before = t.snapshot().await;
            t.advance(1);
            let change = r.change(&t, r.of(kind), &field, value.clone());
            let seq = change.seq;
            let (status, body) = t
                .push(&r.wang, phone(), std::slice::from_ref(&change))
                .await;
            prop_assert_eq!(status, StatusCode::OK, "{}", body);
            match check_field(kind, &field, &value) {
                Ok(()) => {
                    prop_assert_eq!(&body["accepted"], &json!([seq]), "{}", body);
                    let log = t.pull_log(&r.wang, 0, 5000).await;
                    prop_assert!(
                        log.iter().any(|c| c.change == change),
                        "the accepted change is stored"
                    );
                    r.next_seq.set(seq + 1);
                }
                Err(refusal) => {
                    prop_assert_eq!(&body["accepted"], &json!([]), "{}", body);
                    prop_assert_eq!(reason_of(&body), refusal.to_string());
                    prop_assert_eq!(t.snapshot().await, before, "nothing stored");
                }
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_values_through_push_are_stored_exactly_when_the_core_accepts_them_sqlite() {
    values_through_push(Backend::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL: FIELDBOOK_TEST_POSTGRES_URL (cargo xtask test sets it)"]
fn random_values_through_push_are_stored_exactly_when_the_core_accepts_them_postgres() {
    values_through_push(Backend::Postgres);
}

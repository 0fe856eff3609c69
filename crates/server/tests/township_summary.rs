//! The township summary keeps each village's figures until the village's
//! next change: after a push, after a settle, per period and per day it
//! answers what the village's records say now (as the core computes them
//! from the same records, and as the village's detail counts them), and its
//! permissions are those of the summary without the cache.

mod common;

use common::*;
use fieldbook_core::api::IndicatorCount;
use fieldbook_core::generate::{Size, generate};
use fieldbook_core::indicators::{Subject, indicators};
use fieldbook_core::rules::Rules;
use fieldbook_core::sync::{
    Change, Hlc, RecordKind, RecordRef, changes_for_edit, changes_for_new_record,
};
use fieldbook_core::{Dataset, Id};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;

const TODAY: &str = "2026-11-29";

fn today() -> chrono::NaiveDate {
    TODAY.parse().unwrap()
}

/// The generated small village (50 households), moved into 王庄村.
fn wang_dataset(t: &TestServer) -> Dataset {
    let village = Id::parse_str(&t.wang_village).unwrap();
    let mut data = generate(1, Size::Small, today());
    data.villages.clear();
    for h in &mut data.households {
        h.village_id = village;
    }
    for p in &mut data.plans {
        p.village_id = village;
    }
    data
}

/// Pushes every record of `data` from `device` as wang, in pages.
async fn push_all(t: &TestServer, token: &str, data: &Dataset) -> u64 {
    fn add<T: Serialize>(out: &mut Vec<(RecordKind, Value)>, kind: RecordKind, list: &[T]) {
        out.extend(
            list.iter()
                .map(|r| (kind, serde_json::to_value(r).unwrap())),
        );
    }
    let mut records = Vec::new();
    add(&mut records, RecordKind::Household, &data.households);
    add(&mut records, RecordKind::Person, &data.persons);
    add(&mut records, RecordKind::Visit, &data.visits);
    add(&mut records, RecordKind::Plan, &data.plans);
    add(&mut records, RecordKind::Tick, &data.ticks);
    // In pages of whole records: a record's changes travel together.
    let mut seq = 1;
    let mut pages: Vec<Vec<Change>> = vec![Vec::new()];
    for (kind, json) in records {
        let made =
            changes_for_new_record(kind, &json, Hlc::new(t.now(), 0), device(1), seq).unwrap();
        seq += made.len() as u64;
        if pages.last().unwrap().len() + made.len() > 4_000 {
            pages.push(Vec::new());
        }
        pages.last_mut().unwrap().extend(made);
    }
    for page in &pages {
        let (status, body) = t.push(token, device(1), page).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["rejected"],
            json!([]),
            "every generated record is taken"
        );
    }
    seq
}

/// The summary's line of `village` for `period`, asked as `token`.
async fn line(t: &TestServer, token: &str, period: &str, day: &str, village: &str) -> Value {
    let path = format!("/api/v1/township/summary?period={period}&today={day}");
    let (status, body) = t.get(&path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["village"]["id"] == village)
        .cloned()
        .unwrap_or_else(|| panic!("{village} is not in {body}"))
}

/// What the core counts for 王庄村 in `data`.
fn expected(t: &TestServer, data: &Dataset, period: &str, day: &str) -> Value {
    let period = fieldbook_core::api::parse_period(period).unwrap();
    let counts: Vec<IndicatorCount> = indicators(
        data,
        Id::parse_str(&t.wang_village).unwrap(),
        period,
        day.parse().unwrap(),
        &Rules::default(),
    )
    .iter()
    .map(IndicatorCount::from)
    .collect();
    serde_json::to_value(counts).unwrap()
}

/// The detail's counts for the village, as (numerator, denominator) lists.
async fn detail_counts(
    t: &TestServer,
    token: &str,
    period: &str,
    village: &str,
) -> Vec<(usize, usize)> {
    let path =
        format!("/api/v1/township/indicators?village={village}&period={period}&today={TODAY}");
    let (status, body) = t.get(&path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["numerator"].as_array().unwrap().len(),
                i["denominator"].as_array().unwrap().len(),
            )
        })
        .collect()
}

fn counts_of(line: &Value) -> Vec<(usize, usize)> {
    line["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["numerator"].as_u64().unwrap() as usize,
                i["denominator"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

const PERIODS: [&str; 4] = ["2026", "2026-H2", "2026-Q4", "2026-11"];

on_both! {
    async fn the_summary_follows_every_push(t: &TestServer) {
        let wang = t.login("wang").await;
        let officer = t.login("zhao").await;
        // Asked before anything is pushed: an empty village, kept.
        let empty = line(t, &officer, "2026-Q4", TODAY, &t.wang_village).await;
        assert_eq!(empty["households"], 0);

        let mut data = wang_dataset(t);
        let mut seq = push_all(t, &wang, &data).await;
        // Every period: what the core counts from the same records, asked
        // twice (the second from what was kept), and what the detail counts.
        for period in PERIODS {
            let first = line(t, &officer, period, TODAY, &t.wang_village).await;
            assert_eq!(first["households"], data.households.iter().filter(|h| !h.deleted).count());
            assert_eq!(first["indicators"], expected(t, &data, period, TODAY), "{period}");
            let again = line(t, &officer, period, TODAY, &t.wang_village).await;
            assert_eq!(again, first, "{period}, asked again");
            assert_eq!(detail_counts(t, &officer, period, &t.wang_village).await, counts_of(&first), "{period}");
        }

        // A change that moves an indicator: a person counted in a
        // denominator is deleted.
        let year = expected(t, &data, "2026", TODAY);
        let detail = {
            let path = format!("/api/v1/township/indicators?village={}&period=2026&today={TODAY}", t.wang_village);
            t.get(&path, Some(&officer)).await.1
        };
        let person = detail["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["denominator"].as_array().unwrap().iter())
            .find_map(|s| match serde_json::from_value::<Subject>(s.clone()).ok()? {
                Subject::Person { id } => Some(id),
                _ => None,
            })
            .expect("a person counted in some indicator");
        let at = data.persons.iter().position(|p| p.id == person).unwrap();
        let before = data.persons[at].clone();
        data.persons[at].deleted = true;
        t.advance(60_000);
        let edit = changes_for_edit(
            RecordRef { kind: RecordKind::Person, id: person },
            &serde_json::to_value(&before).unwrap(),
            &serde_json::to_value(&data.persons[at]).unwrap(),
            Hlc::new(t.now(), 0),
            device(1),
            seq,
        )
        .unwrap();
        seq += edit.len() as u64;
        let (status, body) = t.push(&wang, device(1), &edit).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let after = expected(t, &data, "2026", TODAY);
        assert_ne!(after, year, "the deletion moves an indicator");
        for period in PERIODS {
            let now = line(t, &officer, period, TODAY, &t.wang_village).await;
            assert_eq!(now["indicators"], expected(t, &data, period, TODAY), "{period} after the push");
        }

        // A new household: the count follows at once.
        let (_, created) = new_household(&t.wang_village, "9001", device(1), seq, t.now());
        assert_eq!(t.push(&wang, device(1), &created).await.0, StatusCode::OK);
        let now = line(t, &officer, "2026-Q4", TODAY, &t.wang_village).await;
        assert_eq!(now["households"], data.households.iter().filter(|h| !h.deleted).count() + 1);
    }

    async fn a_restarted_server_answers_from_the_kept_figures_never_stale_ones(t: &TestServer) {
        let wang = t.login("wang").await;
        let officer = t.login("zhao").await;
        let mut data = wang_dataset(t);
        let seq = push_all(t, &wang, &data).await;
        let first = line(t, &officer, "2026-Q4", TODAY, &t.wang_village).await;
        // The asked period and the page's three others of that day are kept.
        let kept: i64 = sqlx::query("SELECT COUNT(*) FROM township_lines WHERE village_id = $1")
            .bind(&t.wang_village)
            .fetch_one(&t.db.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(kept, 4);

        // After a restart the kept line answers, not a computation: a
        // marker written into the kept line comes back.
        let marked = sqlx::query(
            "UPDATE township_lines SET body = REPLACE(body, '\"households\":50', '\"households\":999') \
             WHERE village_id = $1",
        )
        .bind(&t.wang_village)
        .execute(&t.db.pool)
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(first["households"], 50);
        assert_eq!(marked, 4);
        let restarted = t.restarted();
        let again = line(&restarted, &officer, "2026-Q4", TODAY, &t.wang_village).await;
        assert_eq!(again["households"], 999);
        assert_eq!(again["indicators"], first["indicators"]);

        // A change since: the kept line is not used, after another restart
        // too; the answer is the records' own.
        let (_, created) = new_household(&t.wang_village, "9001", device(1), seq, t.now());
        assert_eq!(t.push(&wang, device(1), &created).await.0, StatusCode::OK);
        data.households.push(fieldbook_core::Household::new(Id::nil(), Id::nil(), "9001"));
        let after = line(&t.restarted(), &officer, "2026-Q4", TODAY, &t.wang_village).await;
        assert_eq!(after["households"], data.households.iter().filter(|h| !h.deleted).count());
        assert_eq!(after["indicators"], expected(t, &data, "2026-Q4", TODAY));
    }

    async fn each_day_and_period_is_its_own_answer(t: &TestServer) {
        let wang = t.login("wang").await;
        let officer = t.login("zhao").await;
        let data = wang_dataset(t);
        push_all(t, &wang, &data).await;
        // The same period on other days (tasks fall due, windows close) and
        // other periods on the same day.
        for day in ["2026-07-01", "2026-10-15", TODAY, "2027-01-05"] {
            for period in PERIODS {
                let line = line(t, &officer, period, day, &t.wang_village).await;
                assert_eq!(line["indicators"], expected(t, &data, period, day), "{period} on {day}");
            }
        }
        // Another village's push does not touch this one's figures, and
        // that village's own line follows its push.
        let li = t.login("li").await;
        let (_, theirs) = new_household(&t.li_village, "001", device(9), 1, t.now());
        assert_eq!(t.push(&li, device(9), &theirs).await.0, StatusCode::OK);
        assert_eq!(line(t, &officer, "2026", TODAY, &t.li_village).await["households"], 1);
        let mine = line(t, &officer, "2026", TODAY, &t.wang_village).await;
        assert_eq!(mine["indicators"], expected(t, &data, "2026", TODAY));
    }

    async fn a_settle_shows_in_the_summary(t: &TestServer) {
        let wang = t.login("wang").await;
        let officer = t.login("zhao").await;
        let (a, b) = (device(1), device(2));
        let (household, created) = new_household(&t.wang_village, "001", a, 1, t.now());
        assert_eq!(t.push(&wang, a, &created).await.0, StatusCode::OK);
        assert_eq!(line(t, &officer, "2026", TODAY, &t.wang_village).await["open_conflicts"], 0);
        // Two phones change the address: a conflict to review.
        t.advance(60_000);
        let mut on_a = household.clone();
        on_a.address = Some("东街1号".into());
        let edits_a = edit(&household, &on_a, a, created.len() as u64 + 1, t.now());
        t.advance(1_000);
        let mut on_b = household.clone();
        on_b.address = Some("西街2号".into());
        let edits_b = edit(&household, &on_b, b, 1, t.now());
        assert_eq!(t.push(&wang, b, &edits_b).await.0, StatusCode::OK);
        assert_eq!(t.push(&wang, a, &edits_a).await.0, StatusCode::OK);
        assert_eq!(line(t, &officer, "2026", TODAY, &t.wang_village).await["open_conflicts"], 1);
        // Settled by the officer: nothing left to review.
        let record = json!({"kind": "household", "id": household.id});
        let (status, body) = t
            .post("/api/v1/conflicts/settle", Some(&officer), &json!({"record": record, "field": "address", "value": "东街1号"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(line(t, &officer, "2026", TODAY, &t.wang_village).await["open_conflicts"], 0);
    }

    async fn the_cache_changes_no_permission(t: &TestServer) {
        let wang = t.login("wang").await;
        let officer = t.login("zhao").await;
        let (_, created) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        assert_eq!(t.push(&wang, device(1), &created).await.0, StatusCode::OK);
        // The officer's summary is computed and kept…
        line(t, &officer, "2026", TODAY, &t.wang_village).await;
        // …and a worker still may not read it, nor any village's detail.
        for path in [
            format!("/api/v1/township/summary?period=2026&today={TODAY}"),
            format!("/api/v1/township/summary?period=2026&today={TODAY}&village={}", t.wang_village),
            format!("/api/v1/township/indicators?period=2026&today={TODAY}&village={}", t.wang_village),
        ] {
            assert_eq!(t.get(&path, Some(&wang)).await.0, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(t.get(&path, None).await.0, StatusCode::UNAUTHORIZED, "{path}");
        }
        // An officer of another township sees none of these villages.
        fieldbook_server::admin::add_user(&t.db, "qian", PASSWORD, fieldbook_server::auth::Role::Officer, Some("河口镇"), &[], t.now())
            .await
            .unwrap();
        let other = t.login("qian").await;
        let (status, body) = t.get(&format!("/api/v1/township/summary?period=2026&today={TODAY}"), Some(&other)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["villages"], json!([]));
        let path = format!("/api/v1/township/summary?period=2026&village={}", t.wang_village);
        assert_eq!(t.get(&path, Some(&other)).await.0, StatusCode::FORBIDDEN);
        // Asking for one village answers that one only.
        let (status, body) = t.get(&path, Some(&officer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["villages"].as_array().unwrap().len(), 1);
        assert_eq!(body["villages"][0]["households"], 1);
    }
}

//! Phone numbers (issue 14, item 4): a household's or a person's phone is a
//! mobile or a landline number; the server refuses anything else a phone
//! sends ("abc", "12ab") with the field named, and changes nothing, as the
//! forms do (`fieldbook_core::limits::is_valid_phone`). SQLite always;
//! PostgreSQL as ignored tests (`cargo xtask test` runs them).

mod common;

use common::*;
use fieldbook_core::model::{Person, Sex};
use fieldbook_core::sync::{Change, DeviceId, Hlc, RecordKind, RecordRef, changes_for_new_record};
use fieldbook_core::{Household, Id};
use http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Wang's phone (the device).
fn device_of_wang() -> DeviceId {
    device(41)
}

on_both! {
    async fn a_phone_number_that_is_no_phone_number_is_refused_with_the_field_named(t: &TestServer) {
        let wang = t.login("wang").await;
        let village = Id::parse_str(&t.wang_village).unwrap();
        let household = Household::new(Uuid::new_v4(), village, "001");
        let person = Person::new(Uuid::new_v4(), household.id, "王秀英", Sex::Female);
        let mut changes = changes_for_new_record(
            RecordKind::Household,
            &serde_json::to_value(&household).unwrap(),
            Hlc::new(t.now(), 0),
            device_of_wang(),
            1,
        )
        .unwrap();
        let next = changes.len() as u64 + 1;
        changes.extend(
            changes_for_new_record(
                RecordKind::Person,
                &serde_json::to_value(&person).unwrap(),
                Hlc::new(t.now(), 0),
                device_of_wang(),
                next,
            )
            .unwrap(),
        );
        let (status, body) = t.push(&wang, device_of_wang(), &changes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rejected"], json!([]), "{body}");
        let mut seq = changes.len() as u64 + 1;

        let records = [
            (RecordRef { kind: RecordKind::Household, id: household.id }, "household"),
            (RecordRef { kind: RecordKind::Person, id: person.id }, "person"),
        ];
        let change = |record: RecordRef, value: Value, seq: u64| Change {
            record,
            field: "phone".to_string(),
            value,
            ts: Hlc::new(t.now(), 0),
            device: device_of_wang(),
            seq,
            supersedes: Vec::new(),
        };
        for (record, name) in records {
            for bad in ["abc", "12ab", "110", "1380013800", "13800138000abc"] {
                let before = t.snapshot().await;
                let (status, body) = t.push(&wang, device_of_wang(), &[change(record, json!(bad), seq)]).await;
                assert_eq!(status, StatusCode::OK, "{name} {bad}: {body}");
                assert_eq!(body["accepted"], json!([]), "{name} {bad}: {body}");
                let reason = body["rejected"][0]["reason"].as_str().unwrap_or_default();
                assert!(reason.contains(&format!("field `phone` of a {name}")), "{name} {bad}: {reason}");
                assert!(reason.contains("phone number"), "{name} {bad}: {reason}");
                assert_eq!(t.snapshot().await, before, "{name} {bad} changed nothing");
            }
            for good in ["13800138000", "0571-88886666", "+86 138 0013 8000"] {
                let (status, body) = t.push(&wang, device_of_wang(), &[change(record, json!(good), seq)]).await;
                assert_eq!(status, StatusCode::OK, "{name} {good}: {body}");
                assert_eq!(body["accepted"], json!([seq]), "{name} {good}: {body}");
                seq += 1;
            }
        }
    }

    async fn a_new_household_with_a_wrong_phone_is_refused_whole(t: &TestServer) {
        let wang = t.login("wang").await;
        let village = Id::parse_str(&t.wang_village).unwrap();
        let mut household = Household::new(Uuid::new_v4(), village, "002");
        household.phone = Some("abc".into());
        let changes = changes_for_new_record(
            RecordKind::Household,
            &serde_json::to_value(&household).unwrap(),
            Hlc::new(t.now(), 0),
            device_of_wang(),
            1,
        )
        .unwrap();
        let (status, body) = t.push(&wang, device_of_wang(), &changes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rejected = body["rejected"].as_array().cloned().unwrap_or_default();
        assert!(
            rejected.iter().any(|r| r["reason"].as_str().unwrap_or_default().contains("field `phone` of a household")),
            "{body}"
        );
        let stored = t.snapshot().await.join("\n");
        // The value as JSON, quotes and all: random ids, tokens and password
        // hashes in the snapshot may hold the letters "abc" by chance.
        assert!(!stored.contains("\"abc\""), "the wrong phone is not stored: {stored}");
    }
}

//! Property tests of every POST route through `app()`: arbitrary JSON
//! values, good bodies with parts spoiled, arbitrary bytes and good bodies
//! with bytes spoiled. No answer may be a 5xx, the server may not panic, a
//! refused request (4xx, or a push that takes none of its changes) changes
//! nothing in the database, and every 4xx has the API's error body. SQLite
//! always; PostgreSQL as ignored tests (`cargo xtask test` runs them).
//!
//! `FIELDBOOK_BAD_INPUT_CASES` sets the cases per route (96 by default).

mod common;

use std::cell::RefCell;

use common::*;
use http::StatusCode;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// Keys the API's bodies use: drawn more often than random ones, so that
/// arbitrary objects come near the real shapes.
const KEYS: &[&str] = &[
    "username",
    "password",
    "device",
    "changes",
    "record",
    "kind",
    "id",
    "field",
    "value",
    "ts",
    "wall_ms",
    "counter",
    "seq",
    "supersedes",
    "cursor",
    "limit",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(String::from),
        1 => "[a-z_]{1,8}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,10}",
        any::<String>(),
        // Ids, kinds, periods and numbers as text.
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        prop::sample::select(&["household", "person", "visit", "plan", "tick", "village"][..])
            .prop_map(String::from),
        "-?[0-9]{1,25}(\\.[0-9]+)?",
        Just("NaN".to_string()),
    ]
}

/// Any JSON value, up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(i64::MAX as u64 + 1),
            Just(u64::MAX)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One step of spoiling a good body: at the node `at` (in document order),
/// put another value, take it out, or add a key beside it.
#[derive(Clone, Debug)]
enum Spoil {
    /// Another value at a leaf (a string, number, boolean or null), most
    /// often one of the same kind: the shape stays and the values go wrong.
    Leaf(Index, Value),
    Replace(Index, Value),
    Remove(Index),
    AddKey(Index, String, Value),
}

/// Leaf values near the real ones: small numbers, ids, names of kinds and
/// fields, and the extremes.
/// Words a body's strings are made of: kinds, fields, periods.
const LEAF_WORDS: &[&str] = &[
    "household",
    "person",
    "visit",
    "plan",
    "tick",
    "village",
    "address",
    "phone",
    "number",
    "group",
    "village_id",
    "deleted",
    "flags",
    "notes",
    "id",
    "东街1号",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..20).prop_map(Value::from),
        prop::sample::select(&[i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX][..])
            .prop_map(Value::from),
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}".prop_map(Value::from),
        prop::sample::select(LEAF_WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ]
}

fn spoil() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        3 => (any::<Index>(), leaf()).prop_map(|(at, v)| Spoil::Leaf(at, v)),
        1 => (any::<Index>(), json_value()).prop_map(|(at, v)| Spoil::Replace(at, v)),
        1 => any::<Index>().prop_map(Spoil::Remove),
        1 => (any::<Index>(), key(), json_value()).prop_map(|(at, k, v)| Spoil::AddKey(at, k, v)),
    ]
}

/// A step from the root to a node.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node's path, in document order (the root first).
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    here.push(Step::At(i));
                    walk(item, here, out);
                    here.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    here.push(Step::Key(k.clone()));
                    walk(item, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::At(i) => &mut v[*i],
    })
}

/// Applies `spoil` to `body`.
fn apply(body: &mut Value, spoil: &Spoil) {
    let all = paths(body);
    match spoil {
        Spoil::Leaf(at, v) => {
            let leaves: Vec<_> = all
                .iter()
                .filter(|p| !matches!(node(body, p), Value::Array(_) | Value::Object(_)))
                .cloned()
                .collect();
            if !leaves.is_empty() {
                *node(body, &leaves[at.index(leaves.len())]) = v.clone();
            }
        }
        Spoil::Replace(at, v) => *node(body, &all[at.index(all.len())]) = v.clone(),
        Spoil::Remove(at) => {
            let path = &all[at.index(all.len())];
            let Some((last, parent)) = path.split_last() else {
                *body = Value::Null;
                return;
            };
            match (node(body, parent), last) {
                (Value::Object(map), Step::Key(k)) => {
                    map.remove(k);
                }
                (Value::Array(items), Step::At(i)) => {
                    items.remove(*i);
                }
                _ => unreachable!("a path's parent holds its last step"),
            }
        }
        Spoil::AddKey(at, k, v) => {
            if let Value::Object(map) = node(body, &all[at.index(all.len())]) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// One change to a body's bytes.
#[derive(Clone, Debug)]
enum ByteEdit {
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Set(at, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

fn edit_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    match edit {
        ByteEdit::Set(at, b) => {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        ByteEdit::Insert(at, b) => bytes.insert(at.index(bytes.len() + 1), *b),
        ByteEdit::Delete(at) => {
            bytes.remove(at.index(bytes.len()));
        }
        ByteEdit::Truncate(at) => bytes.truncate(at.index(bytes.len())),
    }
}

/// A request body: made up, or one of the route's good bodies spoiled.
#[derive(Clone, Debug)]
enum Input {
    Json(Value),
    Spoiled(Index, Vec<Spoil>),
    Bytes(Vec<u8>),
    SpoiledBytes(Index, Vec<ByteEdit>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => json_value().prop_map(Input::Json),
        // No spoil at all now and then: a good request, taken.
        4 => (any::<Index>(), prop::collection::vec(spoil(), 0..4))
            .prop_map(|(t, s)| Input::Spoiled(t, s)),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Input::Bytes),
        1 => (any::<Index>(), prop::collection::vec(byte_edit(), 1..6))
            .prop_map(|(t, e)| Input::SpoiledBytes(t, e)),
    ]
}

impl Input {
    fn bytes(&self, templates: &[Value]) -> Vec<u8> {
        match self {
            Input::Json(v) => serde_json::to_vec(v).unwrap(),
            Input::Spoiled(t, spoils) => {
                let mut body = templates[t.index(templates.len())].clone();
                for s in spoils {
                    apply(&mut body, s);
                }
                serde_json::to_vec(&body).unwrap()
            }
            Input::Bytes(b) => b.clone(),
            Input::SpoiledBytes(t, edits) => {
                let mut bytes = serde_json::to_vec(&templates[t.index(templates.len())]).unwrap();
                for e in edits {
                    edit_bytes(&mut bytes, e);
                }
                bytes
            }
        }
    }
}

/// Who sends a case: the route's usual user, another role, or nobody.
#[derive(Clone, Copy, Debug)]
enum Who {
    Usual,
    Other,
    Nobody,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![4 => Just(Who::Usual), 1 => Just(Who::Other), 1 => Just(Who::Nobody)]
}

/// A server with a household of 王庄村 whose address has an open conflict,
/// and signed-in users.
struct Fixture {
    t: TestServer,
    wang: RefCell<String>,
    zhao: String,
    admin: String,
    household: Value,
    next_seq: u64,
}

impl Fixture {
    async fn new(backend: Backend) -> Fixture {
        let t = TestServer::new(backend).await;
        let wang = t.login("wang").await;
        let zhao = t.login("zhao").await;
        let admin = t.login("admin").await;
        let (household, created) = new_household(&t.wang_village, "001", device(1), 1, t.now());
        assert_eq!(t.push(&wang, device(1), &created).await.0, StatusCode::OK);
        let next_seq = created.len() as u64 + 1;
        for (phone, seq, address) in [(device(1), next_seq, "东街1号"), (device(2), 1, "西街2号")]
        {
            t.advance(1_000);
            let mut moved = household.clone();
            moved.address = Some(address.into());
            let edits = edit(&household, &moved, phone, seq, t.now());
            let (status, body) = t.push(&wang, phone, &edits).await;
            assert_eq!(
                (status, body["rejected"].clone()),
                (StatusCode::OK, json!([]))
            );
        }
        let (_, body) = t.get("/api/v1/conflicts", Some(&wang)).await;
        assert_eq!(body["conflicts"].as_array().unwrap().len(), 1, "{body}");
        let household = json!({"kind": "household", "id": household.id});
        Fixture {
            t,
            wang: RefCell::new(wang),
            zhao,
            admin,
            household,
            next_seq: next_seq + 1,
        }
    }

    /// Good bodies of `path`, to spoil.
    fn templates(&self, path: &str) -> Vec<Value> {
        let t = &self.t;
        let change = |seq: u64, field: &str, value: Value| {
            json!({"record": self.household, "field": field, "value": value,
                   "ts": {"wall_ms": t.now(), "counter": 0}, "device": device(1), "seq": seq})
        };
        match path {
            "/api/v1/login" => vec![
                json!({"username": "wang", "password": PASSWORD}),
                json!({"username": "nobody", "password": "a wrong guess"}),
            ],
            "/api/v1/logout" => vec![json!({})],
            "/api/v1/sync/push" => {
                let (_, new) = new_household(&t.wang_village, "002", device(5), 1, t.now());
                let (_, theirs) = new_household(&t.li_village, "003", device(6), 1, t.now());
                vec![
                    json!({"device": device(5), "changes": new}),
                    json!({"device": device(6), "changes": theirs}),
                    json!({"device": device(1), "changes": [
                        change(self.next_seq, "phone", json!("13800000110")),
                        change(self.next_seq + 1, "group", json!("三组")),
                        change(1, "number", json!("001")),
                    ]}),
                ]
            }
            "/api/v1/sync/pull" => vec![
                json!({"cursor": 0, "limit": 100}),
                json!({"cursor": 3, "limit": 1}),
            ],
            "/api/v1/conflicts/settle" => vec![
                json!({"record": self.household, "field": "address", "value": "东街1号"}),
                json!({"record": self.household, "field": "phone", "value": null}),
            ],
            "/api/v1/sync/snapshot" => vec![
                json!({"limit": 100}),
                json!({"after": self.household, "limit": 1}),
            ],
            "/api/v1/device-key" => vec![
                json!({"device": device(1), "password": PASSWORD}),
                json!({"device": device(2), "password": "a wrong guess"}),
            ],
            other => unreachable!("{other} takes no body"),
        }
    }

    fn token(&self, path: &str, who: Who) -> Option<String> {
        match (path, who) {
            ("/api/v1/login", _) | (_, Who::Nobody) => None,
            (_, Who::Usual) => Some(self.wang.borrow().clone()),
            ("/api/v1/logout", Who::Other) => Some("bm90IGEgcmVhbCB0b2tlbg".into()),
            ("/api/v1/conflicts/settle", Who::Other) => Some(self.admin.clone()),
            (_, Who::Other) => Some(self.zhao.clone()),
        }
    }

    /// Sends one case and checks what it did.
    async fn check(
        &self,
        path: &str,
        body: Vec<u8>,
        who: Who,
        before: &RefCell<Vec<String>>,
    ) -> Result<(), TestCaseError> {
        let token = self.token(path, who);
        let (status, answer) = self
            .t
            .send("POST", path, token.as_deref(), Some(body))
            .await;
        prop_assert!(!status.is_server_error(), "{path}: {status} {answer}");
        let after = self.t.snapshot().await;
        if status.is_client_error() {
            prop_assert!(
                answer["error"].is_string() && answer["message"].is_string(),
                "{path}: {status} without the error body: {answer}"
            );
            prop_assert!(
                *before.borrow() == after,
                "{path}: refused ({status} {answer}) yet the database changed"
            );
            return Ok(());
        }
        prop_assert!(status.is_success(), "{path}: {status}");
        let took_nothing = match path {
            "/api/v1/sync/push" => answer["accepted"] == json!([]),
            "/api/v1/sync/pull" | "/api/v1/sync/snapshot" => true,
            _ => false,
        };
        if took_nothing {
            prop_assert!(
                *before.borrow() == after,
                "{path}: took nothing ({answer}) yet the database changed"
            );
        }
        if path == "/api/v1/logout" {
            // The usual session ended: sign in again for the next case.
            *self.wang.borrow_mut() = self.t.login("wang").await;
            *before.borrow_mut() = self.t.snapshot().await;
        } else {
            *before.borrow_mut() = after;
        }
        Ok(())
    }
}

/// Runs the cases of one route on `backend`.
fn fuzz(backend: Backend, path: &'static str) {
    let cases = std::env::var("FIELDBOOK_BAD_INPUT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(96);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fixture = rt.block_on(Fixture::new(backend));
    let templates = fixture.templates(path);
    let before = RefCell::new(rt.block_on(fixture.t.snapshot()));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(input(), who()), |(input, who)| {
        rt.block_on(fixture.check(path, input.bytes(&templates), who, &before))
    });
    if let Err(e) = result {
        panic!("{path}: {e}");
    }
}

macro_rules! routes {
    ($($name:ident => $path:literal,)*) => {
        mod sqlite {
            use super::*;
            $(
                #[test]
                fn $name() {
                    fuzz(Backend::Sqlite, $path);
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[test]
                #[ignore = "needs PostgreSQL: FIELDBOOK_TEST_POSTGRES_URL (cargo xtask test sets it)"]
                fn $name() {
                    fuzz(Backend::Postgres, $path);
                }
            )*
        }
    };
}

routes! {
    any_login_body_is_answered_without_a_5xx => "/api/v1/login",
    any_logout_body_is_answered_without_a_5xx => "/api/v1/logout",
    any_push_body_is_answered_without_a_5xx_and_a_refused_one_changes_nothing => "/api/v1/sync/push",
    any_pull_body_is_answered_without_a_5xx_and_changes_nothing => "/api/v1/sync/pull",
    any_settle_body_is_answered_without_a_5xx_and_a_refused_one_changes_nothing => "/api/v1/conflicts/settle",
    any_snapshot_body_is_answered_without_a_5xx_and_changes_nothing => "/api/v1/sync/snapshot",
    any_device_key_body_is_answered_without_a_5xx_and_a_refused_one_changes_nothing => "/api/v1/device-key",
}

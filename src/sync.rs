//! Sync with the township's server: the session, one sync step (push the
//! outbox, then pull and merge page by page), and why a step failed in words
//! a worker can act on.
//!
//! A step may stop anywhere (a closed tab, a lost connection): pushes are
//! idempotent by (device, change number) and the outbox keeps a change until
//! the server has acknowledged it; a pulled page is merged and its cursor
//! moved in one transaction, and merging a change twice changes nothing. So
//! the next step always finishes the job.

use std::cell::Cell;

use fieldbook_core::api::{ErrorBody, LoginRequest, LoginResponse, Role, UserView};
use fieldbook_core::records::AnyRecord;
use fieldbook_core::sync::{
    Change, ChangeId, PullRequest, PullResponse, PushRequest, PushResponse, SnapshotRequest,
};
use gloo_storage::{LocalStorage, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::storage::{StorageError, Store};

mod catch_up;

/// localStorage key of the session.
pub const SESSION_KEY: &str = "fieldbook.session";
/// localStorage key of the sync preferences and the last good sync.
pub const SYNC_KEY: &str = "fieldbook.sync";

/// Changes per push request.
pub const PUSH_BATCH: usize = 500;
/// Changes per pull page: the server's most. Each page is one request and
/// one IndexedDB transaction.
pub const PULL_PAGE: u32 = 5_000;
/// Records per snapshot page: the server's most. Each page is one request
/// and one IndexedDB transaction; the next page is on its way while one is
/// written.
pub const SNAPSHOT_PAGE: u32 = 10_000;
/// How far the phone's clock may be from the server's before the worker is
/// told to set it.
pub const CLOCK_WARNING_MS: f64 = 5.0 * 60.0 * 1000.0;

/// A signed-in session, kept across restarts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The server's address, e.g. `https://fieldbook.example.org/`.
    pub server: String,
    /// The bearer token.
    pub token: String,
    /// Who signed in.
    pub user: UserView,
    /// An administrator reset the password: the server refuses everything
    /// but a password change until she has chosen her own.
    #[serde(default)]
    pub must_change_password: bool,
}

impl Session {
    /// The session kept from an earlier start, if any.
    pub fn load() -> Option<Session> {
        LocalStorage::get(SESSION_KEY).ok()
    }

    /// Keeps the session for the next start.
    pub fn save(&self) -> Result<(), StorageError> {
        LocalStorage::set(SESSION_KEY, self)
            .map_err(|e| StorageError::Other(format!("localStorage: {e}")))
    }

    /// Forgets the session.
    pub fn forget() {
        LocalStorage::delete(SESSION_KEY);
    }

    /// Whether this is a township officer's (or admin's) session.
    pub fn is_township(&self) -> bool {
        self.user.role != Role::Worker
    }

    fn url(&self, path: &str) -> String {
        join(&self.server, path)
    }
}

/// Sync preferences and what the last steps left, kept in localStorage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncRecord {
    /// Sync on mobile data too, not only on Wi-Fi.
    pub mobile_data: bool,
    /// When the last step finished well, ms since the epoch (phone clock).
    pub last_ok_ms: Option<f64>,
    /// The server's clock minus the phone's, from the last answer.
    pub offset_ms: f64,
}

impl SyncRecord {
    /// The stored record (defaults when none).
    pub fn load() -> SyncRecord {
        LocalStorage::get(SYNC_KEY).unwrap_or_default()
    }

    /// Stores it.
    pub fn save(&self) {
        let _ = LocalStorage::set(SYNC_KEY, self);
        CLOCK_OFFSET.with(|c| c.set(self.offset_ms));
    }
}

thread_local! {
    /// The server's clock minus the phone's, applied to every stamp.
    static CLOCK_OFFSET: Cell<f64> = Cell::new(SyncRecord::load().offset_ms);
}

/// The phone's clock corrected by the server's last word.
pub fn corrected_now_ms() -> f64 {
    js_sys::Date::now() + CLOCK_OFFSET.with(Cell::get)
}

/// Why signing in or syncing failed, with what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncError {
    /// The username or password is wrong.
    WrongPassword,
    /// Too many attempts: wait.
    TooManyAttempts(u64),
    /// The server cannot be reached.
    Unreachable,
    /// The session ended (expired, signed out elsewhere, password reset).
    SessionExpired,
    /// The phone holds the demo village, which never syncs.
    DemoData,
    /// The server refused changes: which record and why.
    Refused(Vec<String>),
    /// An administrator reset the password: choose a new one first.
    PasswordChangeRequired,
    /// The server refused the request (403 and the like) or failed.
    Server(String),
    /// Sign-in refused on this phone: it holds villages made on it (named)
    /// that are not the account's, which the server would never take.
    LocalVillage(Vec<String>),
    /// The phone's store failed.
    Storage(StorageError),
}

impl SyncError {
    /// The message in Chinese and in English.
    pub fn both(&self) -> (String, String) {
        match self {
            SyncError::WrongPassword => (
                "用户名或密码不对，请重新输入。".into(),
                "The username or password is wrong. Enter them again.".into(),
            ),
            SyncError::TooManyAttempts(s) => (
                format!("尝试次数过多，请 {} 分钟后再试。", s.div_ceil(60)),
                format!("Too many attempts: try again in {} min.", s.div_ceil(60)),
            ),
            SyncError::Unreachable => (
                "连不上服务器：请检查网络（Wi-Fi）和服务器地址，稍后会自动重试。记录都保存在本机。".into(),
                "The server cannot be reached: check the network (Wi-Fi) and the server address; sync will retry. Everything stays on this phone.".into(),
            ),
            SyncError::SessionExpired => (
                "登录已过期，请重新登录后再同步。未同步的修改都保存在本机。".into(),
                "The session has expired: sign in again to sync. Unsynced changes stay on this phone.".into(),
            ),
            SyncError::DemoData => (
                "本机装的是示范村数据，不会同步。要同步，请先清除本机数据再登录。".into(),
                "This phone holds the demo village, which never syncs. To sync, clear this phone's data and sign in.".into(),
            ),
            SyncError::Refused(list) => (
                format!("服务器拒收了 {} 条修改：{}", list.len(), list.join("；")),
                format!("The server refused {} change(s): {}", list.len(), list.join("; ")),
            ),
            SyncError::PasswordChangeRequired => {
                let (zh, en) = crate::i18n::both(crate::i18n::Key::MustChangePassword);
                (zh.into(), en.into())
            }
            SyncError::Server(reason) => (
                format!("服务器拒绝了请求：{reason}"),
                format!("The server refused the request: {reason}"),
            ),
            SyncError::LocalVillage(names) => {
                let (zh, en) = crate::i18n::both(crate::i18n::Key::LoginLocalVillage);
                (format!("{zh}{}", names.join("、")), format!("{en}{}", names.join(", ")))
            }
            SyncError::Storage(e) => (e.zh().to_string(), e.en().to_string()),
        }
    }
}

impl From<StorageError> for SyncError {
    fn from(e: StorageError) -> Self {
        SyncError::Storage(e)
    }
}

/// `server` + `path`, with one slash between.
fn join(server: &str, path: &str) -> String {
    format!(
        "{}/{}",
        server.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Sends `body` as JSON, with the session's token if there is one; the
/// answer whatever its status, or "unreachable".
async fn send_json<T: Serialize>(
    url: &str,
    token: Option<&str>,
    body: &T,
) -> Result<gloo_net::http::Response, (u16, SyncError)> {
    let mut request = gloo_net::http::Request::post(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    request
        .json(body)
        .map_err(|e| (0, SyncError::Server(e.to_string())))?
        .send()
        .await
        .map_err(|_| (0, SyncError::Unreachable))
}

/// Posts JSON; decodes a 2xx answer, or maps the error.
async fn post<T: Serialize, R: for<'de> Deserialize<'de>>(
    url: &str,
    token: Option<&str>,
    body: &T,
) -> Result<R, (u16, SyncError)> {
    answer(send_json(url, token, body).await?).await
}

/// Posts JSON; a 2xx answer as the JavaScript object the browser's own
/// `response.json()` makes (for a large answer whose parts go into
/// IndexedDB as they are), or the error mapped as [`post`] maps it.
async fn post_js<T: Serialize>(
    url: &str,
    token: &str,
    body: &T,
) -> Result<wasm_bindgen::JsValue, (u16, SyncError)> {
    let response = send_json(url, Some(token), body).await?;
    let status = response.status();
    if !(200..300).contains(&status) {
        // An error answer: mapped by `answer`, which never succeeds here.
        return match answer::<Value>(response).await {
            Ok(_) => Err((status, SyncError::Server(format!("HTTP {status}")))),
            Err(e) => Err(e),
        };
    }
    let raw: web_sys::Response = response.into();
    let parsed = raw
        .json()
        .map_err(|_| (status, SyncError::Server("the answer is not JSON".into())))?;
    wasm_bindgen_futures::JsFuture::from(parsed)
        .await
        .map_err(|_| (status, SyncError::Server("the answer is not JSON".into())))
}

/// Gets JSON with the session's token.
pub async fn get<R: for<'de> Deserialize<'de>>(
    session: &Session,
    path: &str,
) -> Result<R, SyncError> {
    let response = gloo_net::http::Request::get(&session.url(path))
        .header("Authorization", &format!("Bearer {}", session.token))
        .send()
        .await
        .map_err(|_| SyncError::Unreachable)?;
    answer(response).await.map_err(|(_, e)| match e {
        SyncError::WrongPassword => SyncError::SessionExpired,
        other => other,
    })
}

async fn answer<R: for<'de> Deserialize<'de>>(
    response: gloo_net::http::Response,
) -> Result<R, (u16, SyncError)> {
    let status = response.status();
    if (200..300).contains(&status) {
        return response
            .json::<R>()
            .await
            .map_err(|e| (status, SyncError::Server(e.to_string())));
    }
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let body: Option<ErrorBody> = response.json().await.ok();
    let must_change = body
        .as_ref()
        .is_some_and(|b| b.error == "password_change_required");
    let reason = body.map_or_else(|| format!("HTTP {status}"), |b| b.message);
    Err((
        status,
        match status {
            403 if must_change => SyncError::PasswordChangeRequired,
            401 => SyncError::WrongPassword,
            429 => SyncError::TooManyAttempts(retry),
            // A proxy answering for a server that is down.
            502..=504 => SyncError::Unreachable,
            _ => SyncError::Server(reason),
        },
    ))
}

/// Signs in at `server`; keeps and returns the session. Also notes the
/// server's clock.
pub async fn login(server: &str, username: &str, password: &str) -> Result<Session, SyncError> {
    let server = server.trim().to_string();
    let sent = js_sys::Date::now();
    let answer: LoginResponse = post(
        &join(&server, "/api/v1/login"),
        None,
        &LoginRequest {
            username: username.trim().to_string(),
            password: password.to_string(),
        },
    )
    .await
    .map_err(|(_, e)| e)?;
    note_server_time(answer.server_time_ms, sent);
    let session = Session {
        server,
        token: answer.token,
        user: answer.user,
        must_change_password: answer.must_change_password,
    };
    session.save()?;
    Ok(session)
}

/// The on-device lock's recovery secret for this phone (`device`), from the
/// session's server; the account `password` is asked again there.
pub async fn device_key(
    session: &Session,
    device: fieldbook_core::Id,
    password: &str,
) -> Result<fieldbook_core::api::DeviceKeyResponse, SyncError> {
    post(
        &session.url("/api/v1/device-key"),
        Some(&session.token),
        &fieldbook_core::api::DeviceKeyRequest {
            device,
            password: password.to_string(),
        },
    )
    .await
    .map_err(|(_, e)| e)
}

/// Why the server refused a password change, by the form's field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordChangeError {
    /// The current password is wrong.
    CurrentWrong,
    /// The new one breaks a rule (the server's words).
    New(String),
    /// Anything else (no connection, too many attempts, a session ended).
    Other(SyncError),
}

/// Changes the session user's password (`POST /api/v1/password`); her
/// other sessions end, this one goes on.
pub async fn change_password(
    session: &Session,
    current: &str,
    new: &str,
) -> Result<(), PasswordChangeError> {
    let response = send_json(
        &session.url("/api/v1/password"),
        Some(&session.token),
        &fieldbook_core::api::PasswordChangeRequest {
            current: current.to_string(),
            new: new.to_string(),
        },
    )
    .await
    .map_err(|(_, e)| PasswordChangeError::Other(e))?;
    let status = response.status();
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 400 {
        let body: Option<ErrorBody> = response.json().await.ok();
        return Err(match body {
            Some(b) if b.field.as_deref() == Some("current") => PasswordChangeError::CurrentWrong,
            Some(b) if b.field.as_deref() == Some("new") => PasswordChangeError::New(b.message),
            Some(b) => PasswordChangeError::Other(SyncError::Server(b.message)),
            None => PasswordChangeError::Other(SyncError::Server("HTTP 400".into())),
        });
    }
    Err(PasswordChangeError::Other(
        answer::<Value>(response).await.err().map_or(
            SyncError::Server(format!("HTTP {status}")),
            |(_, e)| match e {
                // The session, not the password typed, was refused.
                SyncError::WrongPassword => SyncError::SessionExpired,
                other => other,
            },
        ),
    ))
}

/// Ends the session on the server (when reachable) and forgets it here.
pub async fn logout(session: &Session) {
    let _: Result<Value, _> = post(&session.url("/api/v1/logout"), Some(&session.token), &()).await;
    Session::forget();
}

/// Notes the server's clock from an answer to a request sent at `sent_ms`:
/// the offset is taken against the middle of the round trip.
fn note_server_time(server_time_ms: u64, sent_ms: f64) {
    note_server_time_between(server_time_ms, sent_ms, js_sys::Date::now());
}

/// As [`note_server_time`], for an answer that was in at `arrived_ms`.
fn note_server_time_between(server_time_ms: u64, sent_ms: f64, arrived_ms: f64) {
    let mut record = SyncRecord::load();
    record.offset_ms = server_time_ms as f64 - (sent_ms + arrived_ms) / 2.0;
    record.save();
}

/// Where a step stands, for the progress line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Changes pushed so far.
    pub pushed: usize,
    /// Changes to push in all.
    pub to_push: usize,
    /// Changes pulled so far (and records of a snapshot taken in).
    pub pulled: usize,
    /// Records of a snapshot taken in so far, over every step that took
    /// part of it (a snapshot resumed after a closed tab counts on).
    pub received: usize,
    /// Records the whole snapshot holds, as the server says; 0 when no
    /// snapshot is being taken in (or the server does not say).
    pub total: usize,
}

/// What a finished step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Changes the server acknowledged.
    pub pushed: usize,
    /// Changes pulled and merged (and records of a snapshot taken in).
    pub pulled: usize,
    /// How far the phone's clock is from the server's, when far.
    pub clock_off_ms: Option<f64>,
}

/// Work started now and driven by the browser's task queue, whose outcome
/// is awaited later: so a request travels while the store is read or
/// written.
struct Eager<T> {
    done: wasm_bindgen_futures::JsFuture,
    outcome: std::rc::Rc<std::cell::RefCell<Option<T>>>,
}

impl<T: 'static> Eager<T> {
    /// Starts `work`.
    fn start(work: impl std::future::Future<Output = T> + 'static) -> Eager<T> {
        let outcome: std::rc::Rc<std::cell::RefCell<Option<T>>> = Default::default();
        let slot = std::rc::Rc::clone(&outcome);
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            let done = work.await;
            *slot.borrow_mut() = Some(done);
            Ok(wasm_bindgen::JsValue::UNDEFINED)
        });
        Eager {
            done: wasm_bindgen_futures::JsFuture::from(promise),
            outcome,
        }
    }

    /// The outcome, once there (`None` only if the work was dropped).
    async fn answer(self) -> Option<T> {
        let _ = self.done.await;
        self.outcome.borrow_mut().take()
    }
}

/// A request started now whose answer is awaited later: the next snapshot
/// page comes over the network, and the browser parses it, while the
/// current one is written.
struct Prefetch {
    fetch: Eager<Fetched>,
    /// When it was sent (ms, phone clock), for the clock offset.
    sent_ms: f64,
}

/// A page as `response.json()` made it, and when it was in; or the error.
type Fetched = Result<(wasm_bindgen::JsValue, f64), (u16, SyncError)>;

impl Prefetch {
    /// Sends a snapshot request now.
    fn snapshot(session: &Session, request: SnapshotRequest) -> Prefetch {
        let url = session.url("/api/v1/sync/snapshot");
        let token = session.token.clone();
        Prefetch {
            fetch: Eager::start(async move {
                let got = post_js(&url, &token, &request).await;
                got.map(|page| (page, js_sys::Date::now()))
            }),
            sent_ms: js_sys::Date::now(),
        }
    }

    /// The answer, once in.
    async fn answer(self) -> Fetched {
        self.fetch
            .answer()
            .await
            .unwrap_or(Err((0, SyncError::Unreachable)))
    }
}

/// One sync step: push every outbox change (per device that made it, in
/// batches), dropping exactly what the server acknowledged; then take in a
/// snapshot (a phone that holds nothing) and pull page by page, merging
/// each and moving the cursor. `progress` hears each step; `describe` names
/// a refused change's record for the worker; `on_records` gets the records
/// each page changed, decoded from what was written, right after its
/// commit: so a failed step has handed over exactly what was committed
/// (and the error says what failed).
pub async fn sync_step(
    store: &Store,
    session: &Session,
    progress: &dyn Fn(Progress),
    describe: &dyn Fn(&Change) -> String,
    on_records: &dyn Fn(Vec<AnyRecord>),
) -> Result<Report, SyncError> {
    crate::mark("fieldbook:sync:start");
    // The server's identity is asked for while the store is read.
    let identity = Eager::start(catch_up::identity(session.clone()));
    // One read for what the step starts from.
    let start = store.sync_start(&session.server).await?;
    crate::mark("fieldbook:sync:read-start");
    if start.local_only {
        return Err(SyncError::DemoData);
    }
    let seen = identity
        .answer()
        .await
        .unwrap_or(Err(SyncError::Unreachable))?;
    // A restored server first gets back what it lost; the cursor may move
    // back, so the step starts from what the store holds then.
    let start = if catch_up::catch_up_after_restore(store, session, seen).await? {
        store.sync_start(&session.server).await?
    } else {
        start
    };
    let expired = |(status, e): (u16, SyncError)| {
        if status == 401 {
            SyncError::SessionExpired
        } else {
            e
        }
    };
    let mut report = Report::default();
    let mut state = Progress::default();
    let outbox = start.outbox;
    state.to_push = outbox.values().map(Vec::len).sum();
    progress(state);
    let mut refused = Vec::new();
    let own = store.device_id();
    for (device, changes) in outbox {
        for batch in changes.chunks(PUSH_BATCH) {
            let sent = js_sys::Date::now();
            let answer: PushResponse = match post(
                &session.url("/api/v1/sync/push"),
                Some(&session.token),
                &PushRequest {
                    device,
                    changes: batch.to_vec(),
                },
            )
            .await
            {
                Ok(answer) => answer,
                // Another phone's changes (taken in from its backup file)
                // that this account may not send: the server says whose
                // they are. They stay in the outbox, the worker is told,
                // and the rest of the sync goes on.
                Err((403, SyncError::Server(reason))) if device != own => {
                    refused.extend(batch.iter().map(|c| format!("{}: {reason}", describe(c))));
                    state.pushed += batch.len();
                    progress(state);
                    continue;
                }
                Err(e) => return Err(expired(e)),
            };
            note_server_time(answer.server_time_ms, sent);
            let accepted: Vec<ChangeId> = answer
                .accepted
                .iter()
                .map(|&seq| ChangeId { device, seq })
                .collect();
            store.acknowledge(&accepted).await?;
            for rejection in &answer.rejected {
                let what = batch
                    .iter()
                    .find(|c| c.seq == rejection.seq)
                    .map_or_else(|| format!("#{}", rejection.seq), describe);
                refused.push(format!("{what}: {}", rejection.reason));
            }
            report.pushed += accepted.len();
            state.pushed += batch.len();
            progress(state);
        }
    }
    crate::mark("fieldbook:sync:pushed");
    let mut cursor = start.cursor;
    if cursor == 0
        && let Some(mut at) = store.snapshot_point(&session.server).await?
    {
        // A phone that holds nothing of its villages takes their records
        // as they stand, page by page, then pulls from the snapshot's
        // cursor: far less than every change since the start. The next
        // page is asked for as soon as this one says where it ends, so it
        // comes (and is parsed) while this one is written.
        state.received = at.received as usize;
        state.total = at.total as usize;
        let request = |after| SnapshotRequest {
            after,
            limit: SNAPSHOT_PAGE,
        };
        let mut next = Some(Prefetch::snapshot(session, request(at.after)));
        while let Some(fetch) = next.take() {
            let sent = fetch.sent_ms;
            crate::mark("fieldbook:sync:snapshot-waiting");
            let (page, arrived) = match fetch.answer().await {
                Ok(page) => page,
                // A server without snapshots: pull every change instead.
                Err((404, _)) => break,
                Err(e) => return Err(expired(e)),
            };
            crate::mark("fieldbook:sync:snapshot-parsed");
            let (more, last) = crate::storage::snapshot_page_next(&page)?;
            if more {
                next = Some(Prefetch::snapshot(session, request(last)));
            }
            let taken = store
                .apply_snapshot_page(&page, &at, corrected_now_ms())
                .await?;
            crate::mark("fieldbook:sync:snapshot-written");
            note_server_time_between(taken.server_time_ms, sent, arrived);
            report.pulled += taken.records;
            state.pulled += taken.records;
            state.received = taken.progress.received as usize;
            state.total = taken.progress.total as usize;
            on_records(taken.written);
            progress(state);
            at = taken.progress;
            if !taken.more {
                cursor = at.cursor;
                break;
            }
        }
        state.total = 0;
    }
    loop {
        let sent = js_sys::Date::now();
        crate::mark("fieldbook:sync:pull-sent");
        let page: PullResponse = post(
            &session.url("/api/v1/sync/pull"),
            Some(&session.token),
            &PullRequest {
                cursor,
                limit: PULL_PAGE,
            },
        )
        .await
        .map_err(expired)?;
        note_server_time(page.server_time_ms, sent);
        crate::mark("fieldbook:sync:pull-received");
        let changes: Vec<Change> = page.changes.into_iter().map(|c| c.change).collect();
        let applied = store
            .apply_pulled(
                &session.server,
                &changes,
                page.next_cursor,
                corrected_now_ms(),
            )
            .await?;
        crate::mark("fieldbook:sync:pull-applied");
        on_records(applied.records);
        report.pulled += changes.len();
        state.pulled += changes.len();
        progress(state);
        cursor = page.next_cursor;
        if !page.more {
            break;
        }
    }
    let mut record = SyncRecord::load();
    if record.offset_ms.abs() > CLOCK_WARNING_MS {
        report.clock_off_ms = Some(record.offset_ms);
    }
    if !refused.is_empty() {
        return Err(SyncError::Refused(refused));
    }
    record.last_ok_ms = Some(js_sys::Date::now());
    record.save();
    Ok(report)
}

/// Whether the connection allows a background sync: Wi-Fi, Ethernet or an
/// unknown type always; mobile data only when the worker allowed it. The
/// Network Information API says, where the browser has it.
pub fn connection_allows(mobile_data: bool) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    if !navigator.on_line() {
        return false;
    }
    let kind = js_sys::Reflect::get(&navigator, &"connection".into())
        .ok()
        .filter(|c| !c.is_undefined())
        .and_then(|c| js_sys::Reflect::get(&c, &"type".into()).ok())
        .and_then(|t| t.as_string());
    match kind.as_deref() {
        Some("cellular") => mobile_data,
        _ => true,
    }
}

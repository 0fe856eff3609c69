//! The few IndexedDB calls the store needs, as futures over web-sys.
//!
//! Why not a wrapper crate: the store's promise is "both or neither, and a
//! full disk says so", and that needs two things the maintained crates do
//! not give. `indexed-db` 0.4.2 resolves a transaction when its closure
//! returns, not when the browser commits, so a commit that fails (Chromium
//! reports a full disk at commit) would look saved; and it panics on a
//! DOMException it does not know, `QuotaExceededError` among them. `idb`
//! 0.6.5 resolves a transaction on the first bubbling `error` event, before
//! the browser has set `transaction.error`, so the quota error's name is
//! lost. Here a transaction is done only at `complete` or `abort`, and an
//! abort's reason is read from `transaction.error`.
//!
//! Every wait is a `Promise` whose `resolve`/`reject` are the request's own
//! handlers, so no Rust closure can be called after it was dropped. Promise
//! reactions run as microtasks inside the request's event dispatch, while
//! the transaction is still active: the next request can be made from the
//! awaiting code (the same pattern as the `idb` JavaScript library).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, Event, IdbDatabase, IdbFactory, IdbObjectStore, IdbObjectStoreParameters,
    IdbRequest, IdbTransaction, IdbVersionChangeEvent,
};

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase`, seen only for `transaction(names, mode, options)`:
    /// web-sys has the options argument only behind its unstable-API cfg.
    /// Browsers that do not know `durability` ignore it.
    type DatabaseWithOptions;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        stores: &Array,
        mode: &str,
        options: &JsValue,
    ) -> Result<IdbTransaction, JsValue>;
}

/// What a transaction may do, and how sure its commit must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Reads only.
    Read,
    /// Writes that `complete` only once on disk (`durability: "strict"`):
    /// a worker's saved record must survive the battery dying a second
    /// later. Chromium's default ("relaxed") may still be in OS buffers.
    WriteStrict,
    /// Writes for bulk loads: the browser's default durability, faster; a
    /// crash loses whole transactions, which the load can redo.
    WriteBulk,
}

/// The global `indexedDB`, in a window or a worker.
pub(crate) fn factory() -> Result<IdbFactory, JsValue> {
    let global = js_sys::global();
    let value = js_sys::Reflect::get(&global, &JsValue::from_str("indexedDB"))?;
    value
        .dyn_into::<IdbFactory>()
        .map_err(|_| JsValue::from_str("IndexedDB is not available in this browser"))
}

/// The result of `req`, or its error. The handlers are attached now, so the
/// future may be awaited after other requests.
pub(crate) fn request(req: IdbRequest) -> impl Future<Output = Result<JsValue, JsValue>> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    let done = JsFuture::from(promise);
    async move {
        match done.await {
            Ok(_) => req.result(),
            Err(_) => Err(req
                .error()
                .ok()
                .flatten()
                .map(JsValue::from)
                .unwrap_or_else(|| JsValue::from_str("the request failed"))),
        }
    }
}

/// An open transaction and the promise of its end.
pub(crate) struct Tx {
    raw: IdbTransaction,
    /// Settles at `complete` (resolved) or `abort` (rejected). Made when the
    /// transaction is, so that no end is missed.
    end: JsFuture,
}

impl Tx {
    /// Begins a transaction over `stores`.
    pub(crate) fn begin(db: &IdbDatabase, stores: &[&str], mode: Mode) -> Result<Tx, JsValue> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let (mode, durability) = match mode {
            Mode::Read => ("readonly", "default"),
            Mode::WriteStrict => ("readwrite", "strict"),
            Mode::WriteBulk => ("readwrite", "default"),
        };
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"durability".into(), &durability.into())?;
        let raw = db
            .unchecked_ref::<DatabaseWithOptions>()
            .transaction_with_options(&names, mode, &options)?;
        let end = JsFuture::from(Promise::new(&mut |resolve: Function, reject: Function| {
            raw.set_oncomplete(Some(&resolve));
            raw.set_onabort(Some(&reject));
        }));
        Ok(Tx { raw, end })
    }

    /// One of the transaction's object stores.
    pub(crate) fn store(&self, name: &str) -> Result<IdbObjectStore, JsValue> {
        self.raw.object_store(name)
    }

    /// Waits until the browser commits. `Err` holds why it aborted instead
    /// (`transaction.error`: a failed request's error, or a commit-time
    /// `QuotaExceededError`).
    pub(crate) async fn commit(self) -> Result<(), JsValue> {
        let Tx { raw, end } = self;
        match end.await {
            Ok(_) => Ok(()),
            Err(_) => Err(raw
                .error()
                .map(JsValue::from)
                .unwrap_or_else(|| JsValue::from_str("the transaction was aborted"))),
        }
    }

    /// Aborts (if the browser has not already) and waits until every write
    /// is rolled back. Returns `transaction.error`, if the browser set one.
    pub(crate) async fn abort(self) -> Option<DomException> {
        let Tx { raw, end } = self;
        // Throws InvalidStateError when a failed request already aborted it.
        let _ = raw.abort();
        let _ = end.await;
        raw.error()
    }
}

/// Why [`open`] failed.
pub(crate) enum OpenError {
    /// Another connection (an old tab) holds an older version open and did
    /// not close it.
    Blocked,
    /// The browser's error (or the upgrade step's).
    Failed(JsValue),
}

/// Opens database `name` at `version`, running `upgrade(db, tx, old_version)`
/// in the `versionchange` transaction when the stored version is older. A
/// failed upgrade aborts that transaction, so the database stays as it was.
///
/// The returned connection closes itself on `versionchange` (another tab
/// upgrading or deleting the database), so that it never blocks them; later
/// calls on it fail with `InvalidStateError`.
pub(crate) async fn open(
    name: &str,
    version: u32,
    upgrade: impl FnOnce(&IdbDatabase, &IdbTransaction, u32) -> Result<(), JsValue> + 'static,
) -> Result<IdbDatabase, OpenError> {
    let req = factory()
        .and_then(|f| f.open_with_u32(name, version))
        .map_err(OpenError::Failed)?;
    let upgrade_error: Rc<RefCell<Option<JsValue>>> = Rc::default();
    let on_upgrade = {
        let upgrade_error = Rc::clone(&upgrade_error);
        let req = req.clone();
        Closure::once(move |event: IdbVersionChangeEvent| {
            let result = (|| {
                let db: IdbDatabase = req.result()?.dyn_into()?;
                let tx = req
                    .transaction()
                    .ok_or_else(|| JsValue::from_str("no versionchange transaction"))?;
                // IndexedDB versions are whole numbers from 1; 0 = no database.
                let old = event.old_version() as u32;
                if let Err(e) = upgrade(&db, &tx, old) {
                    let _ = tx.abort();
                    return Err(e);
                }
                Ok(())
            })();
            if let Err(e) = result {
                *upgrade_error.borrow_mut() = Some(e);
            }
        })
    };
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let settled = JsFuture::from(Promise::new(&mut |resolve: Function, reject: Function| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
        req.set_onblocked(Some(&reject));
    }));
    match settled.await {
        Ok(_) => {
            let db: IdbDatabase = req
                .result()
                .and_then(|r| r.dyn_into())
                .map_err(OpenError::Failed)?;
            close_on_versionchange(&db);
            Ok(db)
        }
        Err(event) => {
            let blocked = event
                .dyn_ref::<Event>()
                .is_some_and(|e| e.type_() == "blocked");
            if blocked {
                // The request stays pending and may still succeed once the
                // old tab closes; whoever asked has been told "unavailable"
                // by then, so close that connection at once. The upgrade
                // handler must outlive this call for the same reason.
                on_upgrade.forget();
                let pending = req.clone();
                let close = Closure::once_into_js(move || {
                    if let Ok(db) = pending.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                        db.close();
                    }
                });
                req.set_onsuccess(Some(close.unchecked_ref()));
                req.set_onblocked(None);
                return Err(OpenError::Blocked);
            }
            let reason = upgrade_error.borrow_mut().take().unwrap_or_else(|| {
                req.error()
                    .ok()
                    .flatten()
                    .map(JsValue::from)
                    .unwrap_or_else(|| JsValue::from_str("the database could not be opened"))
            });
            Err(OpenError::Failed(reason))
        }
    }
}

fn close_on_versionchange(db: &IdbDatabase) {
    let this = db.clone();
    let close = Closure::once_into_js(move || this.close());
    db.set_onversionchange(Some(close.unchecked_ref()));
}

/// Deletes database `name` (done when it did not exist). Waits while
/// another connection holds it open; ours close themselves.
pub(crate) async fn delete(name: &str) -> Result<(), JsValue> {
    let req = factory()?.delete_database(name)?;
    request(req.unchecked_into()).await.map(drop)
}

/// Creates object store `name` unless the database has it already, with
/// in-line keys at `key_path` or, without one, out-of-line keys.
pub(crate) fn create_store(
    db: &IdbDatabase,
    name: &str,
    key_path: Option<&str>,
) -> Result<(), JsValue> {
    if db.object_store_names().contains(name) {
        return Ok(());
    }
    let params = IdbObjectStoreParameters::new();
    if let Some(path) = key_path {
        params.set_key_path(&JsValue::from_str(path));
    }
    db.create_object_store_with_optional_parameters(name, &params)
        .map(drop)
}

/// Creates object store `name` unless the database has it already, keyed
/// in-line by the compound key `paths` (each a dotted path into the value).
pub(crate) fn create_store_with_key_path(
    db: &IdbDatabase,
    name: &str,
    paths: &[&str],
) -> Result<(), JsValue> {
    if db.object_store_names().contains(name) {
        return Ok(());
    }
    let params = IdbObjectStoreParameters::new();
    let key_path: Array = paths.iter().map(|p| JsValue::from_str(p)).collect();
    params.set_key_path(&key_path);
    db.create_object_store_with_optional_parameters(name, &params)
        .map(drop)
}

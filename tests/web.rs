//! Browser tests: the app's components mounted in headless Chromium
//! (wasm-bindgen-test), read back through the DOM.
//! Run by `cargo xtask test`; on their own:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`
#![cfg(target_arch = "wasm32")]

use fieldbook::App;
use fieldbook::i18n::Lang;
use fieldbook::settings::{LANGUAGE_KEY, load_language, save_language};
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// The app mounted in a test page; unmounting it runs every cleanup, so the
/// router's window listeners of one test do not catch the next test's clicks.
struct Mounted {
    root: HtmlElement,
    owner: Owner,
    handle: Option<Box<dyn std::any::Any>>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.handle.take();
        self.owner.cleanup();
        self.root.remove();
    }
}

/// Mounts the app into a fresh element.
fn mount_app() -> Mounted {
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let owner = Owner::new();
    let handle = owner.with(|| leptos::mount::mount_to(root.clone(), || view! { <App/> }));
    Mounted {
        root,
        owner,
        handle: Some(Box::new(handle)),
    }
}

/// Lets the browser run timers and the app's tasks for a moment.
async fn settle(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    tick().await;
}

/// Waits (up to two seconds) until `selector` has the text `expected`.
async fn wait_for_text(root: &HtmlElement, selector: &str, expected: &str) {
    for _ in 0..100 {
        let found = root
            .query_selector(selector)
            .unwrap()
            .and_then(|e| e.text_content());
        if found.as_deref().map(str::trim) == Some(expected) {
            return;
        }
        settle(20).await;
    }
    assert_eq!(text_of(root, selector).trim(), expected, "{selector}");
}

fn text_of(root: &HtmlElement, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"))
        .text_content()
        .unwrap_or_default()
}

fn click(root: &HtmlElement, selector: &str) {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"))
        .unchecked_into::<HtmlElement>()
        .click();
}

#[wasm_bindgen_test]
async fn the_shell_speaks_chinese_and_shows_five_sections() {
    LocalStorage::delete(LANGUAGE_KEY);
    let app = mount_app();
    let root = &app.root;
    tick().await;

    assert_eq!(text_of(root, "[data-testid=app-name]"), "村级计生工作手册");
    let labels: Vec<String> = {
        let links = root.query_selector_all(".bottom-nav a").unwrap();
        (0..links.length())
            .map(|i| {
                links
                    .item(i)
                    .unwrap()
                    .text_content()
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(labels, ["今日", "住户", "计划", "统计", "设置"]);
    assert_eq!(
        document()
            .document_element()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("zh-CN")
    );
}

#[wasm_bindgen_test]
async fn tapping_a_section_opens_it_and_marks_it_current() {
    LocalStorage::delete(LANGUAGE_KEY);
    let app = mount_app();
    let root = &app.root;
    tick().await;

    click(root, "[data-testid=nav-plan]");
    wait_for_text(root, "[data-testid=page-title]", "年度工作计划").await;
    let current = root.query_selector("[aria-current=page]").unwrap().unwrap();
    assert_eq!(
        current.get_attribute("data-testid").as_deref(),
        Some("nav-plan")
    );

    click(root, "[data-testid=nav-today]");
    wait_for_text(root, "[data-testid=page-title]", "今日任务").await;
}

#[wasm_bindgen_test]
async fn choosing_english_in_settings_switches_at_once_and_is_saved() {
    LocalStorage::delete(LANGUAGE_KEY);
    let app = mount_app();
    let root = &app.root;
    tick().await;

    click(root, "[data-testid=nav-settings]");
    wait_for_text(root, "[data-testid=page-title]", "同步与设置").await;
    click(root, "[data-testid=lang-en]");
    tick().await;

    assert_eq!(text_of(root, "[data-testid=app-name]"), "Fieldbook");
    assert_eq!(
        text_of(root, "[data-testid=nav-settings]").trim(),
        "Settings"
    );
    assert_eq!(load_language(), Lang::En);
    assert_eq!(
        document()
            .document_element()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("en")
    );

    click(root, "[data-testid=lang-zh-CN]");
    tick().await;
    assert_eq!(text_of(root, "[data-testid=app-name]"), "村级计生工作手册");
    assert_eq!(load_language(), Lang::ZhCn);
    click(root, "[data-testid=nav-today]");
    wait_for_text(root, "[data-testid=page-title]", "今日任务").await;
}

#[wasm_bindgen_test]
async fn a_saved_language_applies_when_the_app_starts() {
    save_language(Lang::En).unwrap();
    let app = mount_app();
    let root = &app.root;
    tick().await;
    assert_eq!(text_of(root, "[data-testid=app-name]"), "Fieldbook");
    assert_eq!(
        text_of(root, "[data-testid=nav-households]").trim(),
        "Households"
    );
    LocalStorage::delete(LANGUAGE_KEY);
}

#[wasm_bindgen_test]
fn the_language_setting_round_trips_through_local_storage() {
    save_language(Lang::En).unwrap();
    assert_eq!(
        LocalStorage::raw()
            .get_item(LANGUAGE_KEY)
            .unwrap()
            .as_deref(),
        Some("\"en\"")
    );
    assert_eq!(load_language(), Lang::En);
    save_language(Lang::ZhCn).unwrap();
    assert_eq!(load_language(), Lang::ZhCn);
}

#[wasm_bindgen_test]
fn an_unreadable_or_missing_language_falls_back_to_chinese() {
    LocalStorage::raw()
        .set_item(LANGUAGE_KEY, "klingon")
        .unwrap();
    assert_eq!(load_language(), Lang::ZhCn);
    LocalStorage::delete(LANGUAGE_KEY);
    assert_eq!(load_language(), Lang::ZhCn);
}

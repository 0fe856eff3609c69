//! Browser tests of the windowed list (src/components/windowed.rs): only a
//! window of a long list is in the page, the spacers stand for the rest,
//! rows are keyed, a focused row stays.
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test windowed`
#![cfg(target_arch = "wasm32")]

use fieldbook::components::Windowed;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Each row's height in these tests, in CSS pixels.
const ROW: f64 = 20.0;

/// A list mounted in a test page; unmounting it runs every cleanup.
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
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }
}

/// Mounts a windowed `<ul>` of `items`, rows `ROW` high, each keyed and
/// marked by its number.
fn mount(items: RwSignal<Vec<u32>>) -> Mounted {
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let owner = Owner::new();
    let handle = owner.with(|| {
        leptos::mount::mount_to(root.clone(), move || {
            view! {
                <ul id="list" style="margin:0;padding:0;list-style:none">
                    <Windowed
                        items
                        key=|n: &u32| *n
                        row=|n: u32| view! {
                            <li class="row" data-key=n.to_string() tabindex="-1"
                                style=format!("height:{ROW}px;margin:0")>{n}</li>
                        }
                        estimate=ROW
                    />
                </ul>
            }
        })
    });
    Mounted {
        root,
        owner,
        handle: Some(Box::new(handle)),
    }
}

/// Lets the browser run a few frames and the app's tasks.
async fn settle(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    tick().await;
}

fn rows() -> Vec<Element> {
    let all = document().query_selector_all("#list > li.row").unwrap();
    (0..all.length())
        .filter_map(|i| all.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

fn row(key: u32) -> Option<Element> {
    document()
        .query_selector(&format!("#list > li[data-key=\"{key}\"]"))
        .unwrap()
}

fn height(selector: &str) -> f64 {
    let all = document().query_selector_all(selector).unwrap();
    (0..all.length())
        .filter_map(|i| all.item(i))
        .map(|n| {
            n.unchecked_into::<Element>()
                .get_bounding_client_rect()
                .height()
        })
        .sum()
}

// The tests share the window and its scroll position: one test runs them
// one after the other.
#[wasm_bindgen_test]
async fn windowed_lists() {
    a_long_list_draws_only_a_window_and_the_spacers_keep_its_height().await;
    a_changed_list_keeps_the_nodes_of_the_rows_it_still_holds().await;
    a_focused_row_stays_drawn_when_it_scrolls_out_of_the_window().await;
    a_row_whose_item_changed_is_drawn_anew().await;
}

async fn a_long_list_draws_only_a_window_and_the_spacers_keep_its_height() {
    let items = RwSignal::new((0..2000).collect::<Vec<u32>>());
    let _mounted = mount(items);
    settle(100).await;
    let drawn = rows();
    assert!(!drawn.is_empty(), "the first rows are drawn");
    assert!(
        drawn.len() < 300,
        "only a window is drawn, not 2000 rows: {}",
        drawn.len()
    );
    assert_eq!(drawn[0].get_attribute("data-key").as_deref(), Some("0"));
    assert_eq!(
        drawn[0].get_attribute("aria-posinset").as_deref(),
        Some("1")
    );
    assert_eq!(
        drawn[0].get_attribute("aria-setsize").as_deref(),
        Some("2000")
    );
    // Rows and spacers together are as high as the whole list.
    let whole = height("#list > li");
    assert!((whole - 2000.0 * ROW).abs() < 1.0, "{whole}");
    assert!((height("#list") - 2000.0 * ROW).abs() < 1.0);

    // Scrolling the page moves the window: the rows there are drawn, the
    // first ones are gone, and the height stays.
    window().scroll_to_with_x_and_y(0.0, 1000.0 * ROW);
    settle(200).await;
    assert!(row(0).is_none(), "the first row left the page");
    let there = row(1010).expect("the rows on screen are drawn");
    assert_eq!(
        there.get_attribute("aria-posinset").as_deref(),
        Some("1011")
    );
    assert!(rows().len() < 300);
    assert!((height("#list > li") - 2000.0 * ROW).abs() < 1.0);
    // Where it belongs in the list.
    let list_top = document()
        .get_element_by_id("list")
        .unwrap()
        .get_bounding_client_rect()
        .top();
    let at = there.get_bounding_client_rect().top() - list_top;
    assert!((at - 1010.0 * ROW).abs() < 1.0, "{at}");
}

async fn a_changed_list_keeps_the_nodes_of_the_rows_it_still_holds() {
    let items = RwSignal::new((0..500).collect::<Vec<u32>>());
    let _mounted = mount(items);
    settle(100).await;
    let kept = row(7).expect("row 7 is drawn");
    kept.set_attribute("data-mark", "kept").unwrap();
    // A row before it goes, a new one comes first, one after it changes.
    items.update(|v| {
        v.retain(|n| *n != 3);
        v.insert(0, 10_000);
        v[20] = 20_000;
    });
    settle(100).await;
    let now = row(7).expect("row 7 is still drawn");
    assert!(now.is_same_node(Some(&kept)), "the same node, reused");
    assert_eq!(now.get_attribute("data-mark").as_deref(), Some("kept"));
    // Its place in the list follows: 10000, 0, 1, 2, 4, 5, 6, 7.
    assert_eq!(now.get_attribute("aria-posinset").as_deref(), Some("8"));
    assert!(row(3).is_none());
    assert_eq!(
        rows()[0].get_attribute("data-key").as_deref(),
        Some("10000")
    );
    assert!((height("#list > li") - 500.0 * ROW).abs() < 1.0);
}

async fn a_focused_row_stays_drawn_when_it_scrolls_out_of_the_window() {
    let items = RwSignal::new((0..2000).collect::<Vec<u32>>());
    let _mounted = mount(items);
    settle(100).await;
    let focused: HtmlElement = row(2).unwrap().unchecked_into();
    focused.focus().unwrap();
    let active = || {
        document()
            .active_element()
            .and_then(|a| a.get_attribute("data-key"))
    };
    assert_eq!(active().as_deref(), Some("2"), "focused");
    window().scroll_to_with_x_and_y(0.0, 1500.0 * ROW);
    settle(200).await;
    assert!(row(1).is_none(), "its neighbours left the page");
    let still = row(2).unwrap_or_else(|| panic!("the focused row is still drawn: {:?}", active()));
    assert!(still.is_same_node(Some(&focused)));
    assert!(
        document()
            .active_element()
            .is_some_and(|a| a.is_same_node(Some(&focused)))
    );
    assert!(row(1510).is_some(), "the rows on screen are drawn");
    // Still as high as the whole list, the focused row where it belongs.
    assert!((height("#list > li") - 2000.0 * ROW).abs() < 1.0);
    let list_top = document()
        .get_element_by_id("list")
        .unwrap()
        .get_bounding_client_rect()
        .top();
    let at = still.get_bounding_client_rect().top() - list_top;
    assert!((at - 2.0 * ROW).abs() < 1.0, "{at}");
}

async fn a_row_whose_item_changed_is_drawn_anew() {
    // Items keyed by their number, with a text that may change.
    let items = RwSignal::new(
        (0..300)
            .map(|n| (n, format!("v{n}")))
            .collect::<Vec<(u32, String)>>(),
    );
    let root: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&root).unwrap();
    let owner = Owner::new();
    let handle = owner.with(|| {
        leptos::mount::mount_to(root.clone(), move || {
            view! {
                <ul id="list">
                    <Windowed
                        items
                        key=|item: &(u32, String)| item.0
                        row=|(n, text): (u32, String)| view! { <li class="row" data-key=n.to_string()>{text}</li> }
                        estimate=ROW
                    />
                </ul>
            }
        })
    });
    let _mounted = Mounted {
        root,
        owner,
        handle: Some(Box::new(handle)),
    };
    settle(100).await;
    let (four, five) = (row(4).unwrap(), row(5).unwrap());
    items.update(|v| v[5].1 = "changed".into());
    settle(100).await;
    assert!(
        row(4).unwrap().is_same_node(Some(&four)),
        "an unchanged row stays"
    );
    let now = row(5).unwrap();
    assert_eq!(now.text_content().as_deref(), Some("changed"));
    assert!(
        !now.is_same_node(Some(&five)),
        "a changed row is drawn anew"
    );
}

//! A windowed, keyed list: of a long list of records only the rows on
//! screen (plus a margin) are in the page; spacers above and below stand for
//! the others, so the page keeps its height and the scrollbar its place.
//!
//! - The page scrolls, not the list: the window follows the window's
//!   `scroll` and `resize` (passive listeners, one update per animation
//!   frame).
//! - Rows are keyed by the record's id (Leptos's keyed `<For>`): a list that
//!   changes around a row keeps that row's DOM node.
//! - Rows may differ in height. Each rendered row is measured and its
//!   height kept by key; a row never measured counts as the average of the
//!   measured ones (the `estimate` until one is). Offsets are prefix sums of
//!   these (rebuilt in O(n) when a height changes: 5,000 rows cost well under
//!   a millisecond). Chromium's scroll anchoring keeps the row being read in
//!   place when a spacer above it is corrected.
//! - Accessibility: list rows carry `aria-setsize` / `aria-posinset`, table
//!   rows `aria-rowindex` (the table itself carries `aria-rowcount`); a row
//!   holding the focus stays rendered when it scrolls out of the window.
//! - Printing renders every row ([`print_all`], and the browser's own
//!   `beforeprint` / `afterprint`).
//!
//! Each row must render exactly one element (an `<li>`, a `<tr>`, an
//! `<article>`…): the rows are measured as the elements between the spacers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// What the rows are, for the spacers' element and the rows' ARIA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// `<li>` rows of a `<ul>`/`<ol>`: `aria-setsize`, `aria-posinset`.
    List,
    /// `<tr>` rows of a `<tbody>` under one header row: `aria-rowindex`;
    /// the spacer's cell spans this many columns.
    Table(u16),
    /// Block rows (`<article>` in a `role="feed"`, `<div>`):
    /// `aria-setsize`, `aria-posinset`.
    Block,
}

/// How far beyond the screen rows are rendered, above and below, in screen
/// heights: a fling on a phone stays inside the drawn rows for a frame or
/// two, and a route's next houses are in the page.
const MARGIN_SCREENS: f64 = 2.0;

thread_local! {
    static PRINTING: RefCell<Option<ArcRwSignal<bool>>> = const { RefCell::new(None) };
}

/// Whether the page is being printed: every windowed list then renders all
/// of its rows. Listens to `beforeprint` / `afterprint` once.
fn printing() -> ArcRwSignal<bool> {
    PRINTING.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| {
                let signal = ArcRwSignal::new(false);
                for (name, on) in [("beforeprint", true), ("afterprint", false)] {
                    let signal = signal.clone();
                    let listener = Closure::<dyn Fn()>::new(move || signal.set(on));
                    let _ = window()
                        .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
                    listener.forget();
                }
                signal
            })
            .clone()
    })
}

/// Prints the page with every row of every windowed list rendered (the
/// rows are drawn first, then the print dialog opens).
pub fn print_all() {
    let printing = printing();
    printing.set(true);
    request_animation_frame(move || {
        request_animation_frame(move || {
            let _ = window().print();
            printing.set(false);
        })
    });
}

/// One slot of the rendered part: a row, or the gap between a kept focused
/// row and the window.
#[derive(Clone)]
enum Slot<T> {
    Row(T),
    Gap,
}

/// A slot's key in the keyed `<For>`: a row's key and its version (bumped
/// when the item under that key changed, so that its row is drawn anew).
#[derive(Clone, PartialEq, Eq, Hash)]
enum SlotKey<K> {
    Row(K, u32),
    Gap,
}

/// What is known of the rows' sizes, outside the reactive graph.
struct Layout<K> {
    /// Measured heights by key.
    heights: HashMap<K, f64>,
    /// Each item's key, in order.
    keys: Vec<K>,
    /// Where each key is.
    index: HashMap<K, usize>,
    /// `offsets[i]`: the top of row `i` from the list's top; `offsets[n]`:
    /// the whole height.
    offsets: Vec<f64>,
    /// The height of a row not measured yet.
    guess: f64,
    /// The focused row's key, kept rendered.
    pinned: Option<K>,
    /// The focused element, when the window just moved around it: the
    /// keyed diff may move its row in the page, which blurs it; it is
    /// focused again (without scrolling).
    refocus: Option<web_sys::Element>,
}

impl<K: Eq + Hash + Clone> Layout<K> {
    fn rebuild(&mut self) {
        if !self.heights.is_empty() {
            self.guess = self.heights.values().sum::<f64>() / self.heights.len() as f64;
        }
        self.offsets.clear();
        self.offsets.reserve(self.keys.len() + 1);
        let mut at = 0.0;
        for key in &self.keys {
            self.offsets.push(at);
            at += self.heights.get(key).copied().unwrap_or(self.guess);
        }
        self.offsets.push(at);
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    /// The rows that meet `from..to` (list coordinates).
    fn range(&self, from: f64, to: f64) -> (usize, usize) {
        let n = self.len();
        let start = self.offsets[1..].partition_point(|bottom| *bottom <= from);
        let end = self.offsets[..n].partition_point(|top| *top < to);
        (start.min(n), end.max(start).min(n))
    }
}

/// The rendered window: rows `start..end`, the kept focused row, and the
/// spacers' heights (top, between, bottom).
#[derive(Clone, Debug, PartialEq)]
struct Window {
    start: usize,
    end: usize,
    pinned: Option<usize>,
    gaps: (f64, f64, f64),
}

/// A windowed list of `items`, each row drawn by `row` and keyed by `key`.
/// Place it inside the list's container (`<ul>`, `<tbody>`, a feed).
#[component]
pub fn Windowed<T, K, KF, RF, V>(
    /// The items, in order.
    #[prop(into)]
    items: Signal<Vec<T>>,
    /// Each item's key: the record's id.
    key: KF,
    /// Draws one item as exactly one element.
    row: RF,
    /// A row's height before any is measured, in CSS pixels.
    #[prop(default = 48.0)]
    estimate: f64,
    /// What the rows are.
    #[prop(default = Rows::List)]
    rows: Rows,
) -> impl IntoView
where
    T: Clone + PartialEq + Send + Sync + 'static,
    K: Eq + Hash + Clone + Send + Sync + 'static,
    KF: Fn(&T) -> K + Clone + Send + Sync + 'static,
    RF: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let top_ref: Holder = StoredValue::new_local(None);
    let bottom_ref: Holder = StoredValue::new_local(None);
    let layout = Rc::new(RefCell::new(Layout::<K> {
        heights: HashMap::new(),
        keys: Vec::new(),
        index: HashMap::new(),
        offsets: vec![0.0],
        guess: estimate,
        pinned: None,
        refocus: None,
    }));
    // Before the list is in the page: the first screenful.
    let first = (screen_height() * (1.0 + MARGIN_SCREENS) / estimate.max(1.0)).ceil() as usize;
    let shown = RwSignal::new(Window {
        start: 0,
        end: 0,
        pinned: None,
        gaps: (0.0, 0.0, 0.0),
    });
    let printing = printing();
    let key_of = key.clone();
    // The first window, before the first effect runs.
    shown.set(items.with_untracked(|items| {
        reset(
            &mut layout.borrow_mut(),
            items,
            &key,
            &shown.get_untracked(),
            first,
            printing.get_untracked(),
        )
    }));

    // The rendered rows, in order, each with its height: from its top to
    // the next element's top, so that margins count (the spacers and the
    // gap left out).
    let rendered = move || -> Vec<(web_sys::Element, f64)> {
        let (Some(top), Some(bottom)) = (
            top_ref.get_value().filter(|e| e.is_connected()),
            bottom_ref.get_value(),
        ) else {
            return Vec::new();
        };
        let mut out: Vec<(web_sys::Element, f64)> = Vec::new();
        let mut last: Option<(web_sys::Element, f64)> = None;
        let mut at = top.next_element_sibling();
        while let Some(el) = at {
            let y = el.get_bounding_client_rect().top();
            if let Some((row, top)) = last.take() {
                out.push((row, y - top));
            }
            if el == bottom {
                break;
            }
            if !el.class_list().contains("vl-gap") {
                last = Some((el.clone(), y));
            }
            at = el.next_element_sibling();
        }
        out
    };

    // Measures the rows in the page, then chooses the window for the
    // current scroll position. Returns whether the window moved.
    let update = {
        let layout = layout.clone();
        let printing = printing.clone();
        move || -> bool {
            let Some(top_el) = top_ref.get_value().filter(|e| e.is_connected()) else {
                return false;
            };
            let mut layout = layout.borrow_mut();
            let layout = &mut *layout;
            if let Some(el) = layout.refocus.take() {
                refocus(&el);
            }
            let now = shown.get_untracked();
            let n = layout.len();
            // Which items the rendered elements are, in order.
            let mut order: Vec<usize> = (now.start.min(n)..now.end.min(n)).collect();
            if let Some(p) = now.pinned.filter(|p| *p < n) {
                if p < now.start {
                    order.insert(0, p);
                } else {
                    order.push(p);
                }
            }
            let elements = rendered();
            let active = document().active_element();
            let mut changed = false;
            let mut pinned = None;
            let mut focused = None;
            if elements.len() == order.len() {
                for ((el, height), i) in elements.iter().zip(&order) {
                    let key = layout.keys[*i].clone();
                    let height = *height;
                    if height > 0.0 {
                        let old = layout.heights.insert(key.clone(), height);
                        changed |= old.is_none_or(|o| (o - height).abs() > 0.5);
                    }
                    if let Some(a) = active.as_ref().filter(|a| el.contains(Some(a))) {
                        pinned = Some(key);
                        focused = Some(a.clone());
                    }
                    set_aria(el, rows, *i, n);
                }
            }
            layout.pinned = pinned;
            if changed {
                layout.rebuild();
            }
            let (start, end) = if printing.get_untracked() {
                (0, n)
            } else {
                let list_top = top_el.get_bounding_client_rect().top();
                let screen = screen_height();
                let margin = screen * MARGIN_SCREENS;
                layout.range(-list_top - margin, -list_top + screen + margin)
            };
            let pinned = layout
                .pinned
                .as_ref()
                .and_then(|k| layout.index.get(k).copied())
                .filter(|p| *p < start || *p >= end);
            let o = &layout.offsets;
            let gaps = match pinned {
                Some(p) if p < start => (o[p], o[start] - o[p + 1], o[n] - o[end]),
                Some(p) => (o[start], o[p] - o[end], o[n] - o[p + 1]),
                None => (o[start], 0.0, o[n] - o[end]),
            };
            let next = Window {
                start,
                end,
                pinned,
                gaps,
            };
            if next == now {
                return false;
            }
            let moved = (next.start, next.end, next.pinned) != (now.start, now.end, now.pinned);
            if moved {
                layout.refocus = focused;
            }
            shown.set(next);
            moved
        }
    };
    let frames = Rc::new(Frames {
        scheduled: Cell::new(false),
        alive: Cell::new(true),
        rounds: Cell::new(0),
        update: Box::new(update),
    });

    // The items changed: new keys and offsets, the window kept where it is
    // (clamped) until measured.
    {
        let layout = layout.clone();
        let key = key.clone();
        let frames = frames.clone();
        let printing = printing.clone();
        Effect::new(move |_| {
            let all = printing.get();
            let next = items.with(|items| {
                reset(
                    &mut layout.borrow_mut(),
                    items,
                    &key,
                    &shown.get_untracked(),
                    first,
                    all,
                )
            });
            shown.set(next);
            frames.rounds.set(0);
            schedule(&frames);
        });
    }

    // The page's scroll and size move the window.
    {
        let listener = {
            let frames = frames.clone();
            Closure::<dyn Fn()>::new(move || {
                frames.rounds.set(0);
                schedule(&frames);
            })
        };
        let options = web_sys::AddEventListenerOptions::new();
        options.set_passive(true);
        for name in ["scroll", "resize"] {
            let _ = window().add_event_listener_with_callback_and_add_event_listener_options(
                name,
                listener.as_ref().unchecked_ref(),
                &options,
            );
        }
        let held = SendWrapper::new((listener, frames.clone()));
        on_cleanup(move || {
            let (listener, frames) = held.take();
            frames.alive.set(false);
            for name in ["scroll", "resize"] {
                let _ = window()
                    .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        });
    }

    // The items drawn last, with their versions: a row whose item changed
    // under the same key gets a new version, so the `<For>` draws it anew;
    // an unchanged row keeps its node.
    let drawn: StoredValue<HashMap<K, (T, u32)>, LocalStorage> =
        StoredValue::new_local(HashMap::new());
    let each = move || {
        let w = shown.get();
        let slots = items.with(|items| {
            let mut slots: Vec<Slot<T>> = Vec::with_capacity(w.end.saturating_sub(w.start) + 2);
            let pin = |p: usize| items.get(p).map(|t| Slot::Row(t.clone()));
            if let Some(p) = w.pinned.filter(|p| *p < w.start) {
                slots.extend(pin(p));
                slots.push(Slot::Gap);
            }
            let end = w.end.min(items.len());
            let start = w.start.min(end);
            slots.extend(items[start..end].iter().map(|t| Slot::Row(t.clone())));
            if let Some(p) = w.pinned.filter(|p| *p >= w.end) {
                slots.push(Slot::Gap);
                slots.extend(pin(p));
            }
            slots
        });
        drawn
            .try_update_value(|drawn| {
                let mut now = HashMap::with_capacity(slots.len());
                let keyed = slots
                    .into_iter()
                    .map(|slot| match slot {
                        Slot::Row(t) => {
                            let k = key_of(&t);
                            let version = match drawn.remove(&k) {
                                Some((old, v)) if old == t => v,
                                Some((_, v)) => v.wrapping_add(1),
                                None => 0,
                            };
                            now.insert(k.clone(), (t.clone(), version));
                            (SlotKey::Row(k, version), Some(t))
                        }
                        Slot::Gap => (SlotKey::Gap, None),
                    })
                    .collect::<Vec<_>>();
                *drawn = now;
                keyed
            })
            .unwrap_or_default()
    };
    let slot_key = |(k, _): &(SlotKey<K>, Option<T>)| k.clone();
    let children = move |(_, t): (SlotKey<K>, Option<T>)| match t {
        Some(t) => row(t).into_any(),
        None => spacer(rows, shown, 1, None),
    };
    view! {
        {spacer(rows, shown, 0, Some(top_ref))}
        <For each=each key=slot_key children=children/>
        {spacer(rows, shown, 2, Some(bottom_ref))}
    }
}

/// New keys and offsets for `items`; the window kept where it was
/// (clamped, at least `first` rows) until measured, or every row when `all`.
fn reset<T, K: Eq + Hash + Clone>(
    layout: &mut Layout<K>,
    items: &[T],
    key: &impl Fn(&T) -> K,
    now: &Window,
    first: usize,
    all: bool,
) -> Window {
    layout.keys = items.iter().map(key).collect();
    layout.index = layout
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    // Forget the heights of rows long gone.
    if layout.heights.len() > 2 * layout.keys.len() + 64 {
        let index = &layout.index;
        layout.heights.retain(|k, _| index.contains_key(k));
    }
    layout.rebuild();
    let n = layout.len();
    let o = &layout.offsets;
    let (start, end) = if all {
        (0, n)
    } else {
        let start = now.start.min(n);
        (start, (start + (now.end - now.start).max(first)).min(n))
    };
    Window {
        start,
        end,
        pinned: None,
        gaps: (o[start], 0.0, o[n] - o[end]),
    }
}

/// Where a spacer's element is kept once built.
type Holder = StoredValue<Option<web_sys::Element>, LocalStorage>;

/// A directive: keeps the element in `holder`.
fn hold(el: web_sys::Element, holder: Holder) {
    holder.set_value(Some(el));
}

/// Focuses `el` again if the focus fell to the page (its row was moved),
/// without scrolling to it.
fn refocus(el: &web_sys::Element) {
    let lost = document().active_element().is_none_or(|a| {
        document()
            .body()
            .is_some_and(|b| a == *b.unchecked_ref::<web_sys::Element>())
    });
    if let Some(el) = el
        .dyn_ref::<web_sys::HtmlElement>()
        .filter(|el| lost && el.is_connected())
    {
        let options = web_sys::FocusOptions::new();
        options.set_prevent_scroll(true);
        let _ = el.focus_with_options(&options);
    }
}

/// The window's inner height, in CSS pixels.
fn screen_height() -> f64 {
    window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(800.0)
}

/// The update loop: at most one update per frame; a window that moved is
/// measured again on the next frame, a few rounds at most.
struct Frames {
    scheduled: Cell<bool>,
    alive: Cell<bool>,
    rounds: Cell<u8>,
    update: Box<dyn Fn() -> bool>,
}

fn schedule(frames: &Rc<Frames>) {
    if frames.scheduled.replace(true) {
        return;
    }
    let frames = frames.clone();
    request_animation_frame(move || {
        frames.scheduled.set(false);
        if frames.alive.get() && (frames.update)() && frames.rounds.get() < 8 {
            frames.rounds.set(frames.rounds.get() + 1);
            schedule(&frames);
        }
    });
}

/// The ARIA of row `i` of `n`.
fn set_aria(el: &web_sys::Element, rows: Rows, i: usize, n: usize) {
    let set = |name: &str, value: usize| {
        let value = value.to_string();
        if el.get_attribute(name).as_deref() != Some(value.as_str()) {
            let _ = el.set_attribute(name, &value);
        }
    };
    match rows {
        Rows::Table(_) => set("aria-rowindex", i + 2),
        Rows::List | Rows::Block => {
            set("aria-setsize", n);
            set("aria-posinset", i + 1);
        }
    }
}

/// A spacer: the top (0), the gap by a kept focused row (1) or the bottom
/// (2), as an element that fits among the rows.
fn spacer(rows: Rows, shown: RwSignal<Window>, which: usize, holder: Option<Holder>) -> AnyView {
    let height = move || {
        let (a, b, c) = shown.with(|w| w.gaps);
        format!("{}px", [a, b, c][which])
    };
    let holder = holder.unwrap_or_else(|| StoredValue::new_local(None));
    match rows {
        Rows::List => {
            view! { <li class="vl-gap" aria-hidden="true" style:height=height use:hold=holder></li> }
                .into_any()
        }
        Rows::Table(columns) => view! {
            <tr class="vl-gap" aria-hidden="true" use:hold=holder>
                <td colspan=columns.to_string() style:height=height></td>
            </tr>
        }
        .into_any(),
        Rows::Block => {
            view! { <div class="vl-gap" aria-hidden="true" style:height=height use:hold=holder></div> }
                .into_any()
        }
    }
}

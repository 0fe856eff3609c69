//! fieldbook-core: the domain of a village family-planning association's
//! field work (村级计生协会), shared by the phone app and the township server.
//!
//! Architecture invariant: this crate is pure. It performs no I/O, reads no
//! clock and makes no random ids: "today" and every id are arguments. That is
//! what lets the phone and the server run the very same rules and reach the
//! very same answers, and what lets every rule be tested natively.
//! `tests/purity.rs` enforces the invariant.
//!
//! Map: [`model`] (households, persons, visits), [`plan`] (work plans, tasks,
//! ticks), [`data`] (a set of records), [`period`] (reporting periods),
//! [`sections`] (the app's five sections).

#![warn(missing_docs)]

pub mod account;
pub mod api;
pub mod backup;
pub mod data;
pub mod generate;
pub mod groups;
pub mod indicators;
pub mod labels;
pub mod limits;
pub mod model;
pub mod passwords;
pub mod period;
pub mod plan;
pub mod records;
pub mod registers;
pub mod replay;
pub mod rules;
pub mod search;
pub mod sections;
pub mod sync;
pub mod templates;
pub mod today_index;
pub mod validate;
pub mod visit_context;
pub mod words;

pub use data::Dataset;
pub use model::*;
pub use period::Period;
pub use plan::{IndicatorKind, Measure, PlanSection, PlanTask, Recurrence, Target, Tick, WorkPlan};
pub use sections::Section;

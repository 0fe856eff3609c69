//! fieldbook-core: the domain of a village family-planning association's
//! field work (村级计生协会), shared by the phone app and the township server.
//!
//! Architecture invariant: this crate is pure. It performs no I/O, reads no
//! clock and makes no random ids: "today" and every id are arguments. That is
//! what lets the phone and the server run the very same rules and reach the
//! very same answers, and what lets every rule be tested natively.
//! `tests/purity.rs` enforces the invariant.
//!
//! The domain model, templates, rules, indicators and registers arrive with
//! the core issue; this crate currently holds the app's section map, from
//! which the shell builds its navigation and routes.

pub mod sections;

pub use sections::Section;

//! Tidy test for the architecture invariant "the core is pure": no I/O, no
//! clock, no randomness, no web or platform crates. It reads the crate's own
//! manifest and sources; the crate itself never does.

use std::path::{Path, PathBuf};

/// Crates the core may depend on: pure data, maths and formats. Adding one is
/// a design decision; add it here with the reason.
const ALLOWED_DEPENDENCIES: &[&str] = &[
    "serde",       // (de)serialisation of records
    "serde_json",  // the sync messages' JSON form
    "uuid",        // ids are passed in; the type only
    "time",        // calendar dates, without the clock feature
    "jiff",        // calendar dates, as an alternative
    "chrono",      // calendar dates, without the clock feature
    "thiserror",   // typed errors
    "csv",         // register output to an in-memory writer
    "proptest",    // dev: property tests
    "rand",        // the synthetic village: seeded, no OS randomness features
    "rand_chacha", // the synthetic village's portable seeded generator
    "divan",       // dev: benchmarks
    "pinyin",      // dev: the source of the pinyin initials table
];

/// Source text that would mean the core reads a clock, does I/O, or draws
/// random numbers.
const FORBIDDEN_IN_SOURCE: &[&str] = &[
    "SystemTime::now",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "std::thread",
    "now_v7",
    "new_v4",
    "thread_rng",
    "rand::rng(",
    "OsRng",
    "from_os_rng",
    "from_entropy",
    "getrandom",
    "wasm_bindgen",
    "web_sys",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dependency_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]");
            continue;
        }
        if in_deps
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            names.push(name.trim().to_string());
        }
    }
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("core src readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_depends_only_on_pure_crates() {
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    let bad: Vec<_> = dependency_names(&manifest)
        .into_iter()
        .filter(|d| !ALLOWED_DEPENDENCIES.contains(&d.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "fieldbook-core must stay pure; remove {bad:?}"
    );
}

#[test]
fn core_sources_do_no_io_read_no_clock_and_draw_no_randomness() {
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    assert!(!files.is_empty());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in FORBIDDEN_IN_SOURCE {
            if text.contains(needle) {
                found.push(format!("{}: {needle}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "impure code in fieldbook-core: {found:#?}"
    );
}

#[test]
fn the_manifest_parser_sees_dependencies() {
    // Guards the guard: if the parser stopped finding dependencies, the first
    // test would pass for any manifest.
    let sample = "[package]\nname = \"x\"\n[dependencies]\nreqwest = \"1\"\n# c\n[dev-dependencies]\nproptest = \"1\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n";
    assert_eq!(dependency_names(sample), ["reqwest", "proptest", "libc"]);
}

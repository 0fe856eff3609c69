//! `cargo xtask test`: every check and test suite, counted into one closing
//! line `N passed, M failed`. A suite that cannot even start (a compile
//! error, a missing tool) counts as one failure, so nothing fails silently.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::dist;
use crate::postgres::TestPostgres;
use crate::process::{run, run_capturing};
use crate::tools::{self, CHROMEDRIVER, npm_bin};

/// Counts over all suites.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: u64,
    pub failed: u64,
    /// One line a suite, for the table at the end.
    pub lines: Vec<String>,
}

impl Summary {
    fn add(&mut self, suite: &str, passed: u64, failed: u64) {
        self.passed += passed;
        self.failed += failed;
        let mark = if failed == 0 { "ok  " } else { "FAIL" };
        self.lines.push(format!(
            "{mark} {suite:<44} {passed:>4} passed, {failed} failed"
        ));
    }

    /// A check that passes or fails as a whole (fmt, clippy).
    fn add_check(&mut self, suite: &str, ok: bool) {
        self.add(suite, u64::from(ok), u64::from(!ok));
    }

    /// A suite whose runner reported counts; a runner that failed without
    /// reporting a failure still counts as one.
    fn add_counts(&mut self, suite: &str, ok: bool, counts: Option<(u64, u64)>) {
        let (passed, mut failed) = counts.unwrap_or((0, 0));
        if !ok && failed == 0 {
            failed = 1;
        }
        if ok && counts.is_none() {
            // A runner that succeeded but ran nothing is not a pass.
            failed = 1;
        }
        self.add(suite, passed, failed);
    }

    /// The line CI reads.
    pub fn closing_line(&self) -> String {
        let mut text = String::from("\nSuites:\n");
        for line in &self.lines {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!("{} passed, {} failed", self.passed, self.failed));
        text
    }
}

/// Sums libtest's `test result: ok. 3 passed; 0 failed; …` lines, as printed
/// by `cargo test` and by wasm-bindgen-test-runner.
pub fn libtest_counts(output: &str) -> Option<(u64, u64)> {
    let mut seen = false;
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        seen = true;
        for part in rest.split(';') {
            let words: Vec<_> = part.split_whitespace().collect();
            if let [.., number, label] = words[..] {
                let n: u64 = number.parse().unwrap_or(0);
                match label {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    _ => {}
                }
            }
        }
    }
    seen.then_some((passed, failed))
}

/// Passed and failed counts from Playwright's JSON report.
pub fn playwright_counts(report: &str) -> Option<(u64, u64)> {
    let json: serde_json::Value = serde_json::from_str(report).ok()?;
    let stats = json.get("stats")?;
    let n = |key: &str| {
        stats
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let passed = n("expected") + n("flaky");
    let failed = n("unexpected");
    (passed + failed > 0).then_some((passed, failed))
}

pub fn run_all(root: &Path) -> Result<Summary> {
    let mut summary = Summary::default();
    tools::ensure_build_tools(root)?;
    tools::ensure_test_tools(root)?;

    let fmt = run(Command::new("cargo").args(["fmt", "--all", "--check"]));
    summary.add_check("cargo fmt --check", fmt.is_ok());

    let clippy = run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]));
    summary.add_check("clippy (native, workspace)", clippy.is_ok());
    let clippy_wasm = run(Command::new("cargo").args([
        "clippy",
        "--package",
        "fieldbook",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]));
    summary.add_check("clippy (wasm32, app)", clippy_wasm.is_ok());

    let (ok, output) = run_capturing(Command::new("cargo").args(["test", "--workspace"]))?;
    summary.add_counts(
        "native tests (cargo test --workspace)",
        ok,
        libtest_counts(&output),
    );

    match postgres_suite(root) {
        Ok((ok, counts)) => {
            summary.add_counts("server on PostgreSQL (cargo test --ignored)", ok, counts)
        }
        Err(error) => {
            eprintln!("xtask: the PostgreSQL tests could not run: {error:#}");
            summary.add_counts("server on PostgreSQL (cargo test --ignored)", false, None);
        }
    }

    let (ok, output) = run_capturing(
        Command::new("cargo")
            .args([
                "test",
                "--package",
                "fieldbook",
                "--target",
                "wasm32-unknown-unknown",
                "--test",
                "web",
                "--test",
                "storage",
                "--test",
                "lock",
                "--test",
                "windowed",
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;
    summary.add_counts(
        "browser tests (wasm-bindgen-test, Chromium)",
        ok,
        libtest_counts(&output),
    );

    match end_to_end(root) {
        Ok((ok, counts)) => summary.add_counts("end-to-end (Playwright, Chromium)", ok, counts),
        Err(error) => {
            eprintln!("xtask: end-to-end tests could not run: {error:#}");
            summary.add_counts("end-to-end (Playwright, Chromium)", false, None);
        }
    }
    Ok(summary)
}

/// The server's tests that need PostgreSQL (ignored in a plain `cargo
/// test`), against a throwaway server started here from Debian's package.
fn postgres_suite(root: &Path) -> Result<(bool, Option<(u64, u64)>)> {
    let server = TestPostgres::start(&root.join("target/postgres"))?;
    let (ok, output) = run_capturing(
        Command::new("cargo")
            .args([
                "test",
                "--package",
                "fieldbook-server",
                "--tests",
                "--",
                "--ignored",
            ])
            .env("FIELDBOOK_TEST_POSTGRES_URL", server.url()),
    )?;
    Ok((ok, libtest_counts(&output)))
}

/// Builds what `cargo xtask run` serves, plus a second version of it for the
/// update test, and runs Playwright against the real server binary.
fn end_to_end(root: &Path) -> Result<(bool, Option<(u64, u64)>)> {
    let report = dist::build(root, None)?;
    report.print();
    let server = tools::build_server(root)?;

    // The "next version": the same build under another build id, so its
    // index.html and hence its service worker differ, as a new release's do.
    let work = root.join("target/e2e");
    let next = work.join("dist-next");
    let _ = std::fs::remove_dir_all(&next);
    copy_dir(&root.join("dist"), &next)?;
    let build_id = dist::finalize(&next, &root.join("public/sw.js"), Some("e2e-next"))?;

    let json_report = work.join("playwright.json");
    let _ = std::fs::remove_file(&json_report);
    let (ok, _) = run_capturing(
        Command::new(npm_bin(root, "playwright"))
            .args(["test", "--config", "tests/e2e/playwright.config.ts"])
            .env("FIELDBOOK_SERVER_BIN", &server)
            .env("FIELDBOOK_DIST", root.join("dist"))
            .env("FIELDBOOK_DIST_NEXT", &next)
            .env("FIELDBOOK_NEXT_BUILD_ID", build_id)
            .env("PLAYWRIGHT_JSON_OUTPUT_NAME", &json_report)
            .current_dir(root),
    )?;
    let counts = std::fs::read_to_string(&json_report)
        .ok()
        .and_then(|r| playwright_counts(&r));
    Ok((ok, counts))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines_are_summed() {
        let output = "running 3 tests\n\
            test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
            test result: FAILED. 5 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(libtest_counts(output), Some((8, 2)));
        assert_eq!(libtest_counts("error[E0425]: cannot find value"), None);
    }

    #[test]
    fn playwright_stats_are_read() {
        let report = r#"{"stats":{"expected":6,"unexpected":1,"flaky":1,"skipped":2}}"#;
        assert_eq!(playwright_counts(report), Some((7, 1)));
        assert_eq!(playwright_counts(r#"{"stats":{"expected":0}}"#), None);
        assert_eq!(playwright_counts("not json"), None);
    }

    #[test]
    fn a_suite_that_fails_or_runs_nothing_counts_as_a_failure() {
        let mut summary = Summary::default();
        summary.add_counts("crashed", false, None);
        summary.add_counts("ran nothing", true, None);
        summary.add_counts("exit 1 but no failed test", false, Some((4, 0)));
        summary.add_counts("fine", true, Some((3, 0)));
        summary.add_check("fmt", true);
        assert_eq!((summary.passed, summary.failed), (8, 3));
        assert!(summary.closing_line().ends_with("\n8 passed, 3 failed"));
    }
}

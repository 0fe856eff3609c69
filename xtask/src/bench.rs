//! `cargo xtask bench`: the figures that matter on a cheap phone and a busy
//! township server, each measured several times on this machine, printed as
//! a table (figure, goal, median, min, max, runs) and written to
//! `bench/results.json`. Benchmarks, not tests: nothing here passes or
//! fails; a missed goal is shown as such.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::process::{run, run_capturing};
use crate::{dist, tools};

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What is measured.
    pub name: String,
    /// The goal, in words ("≤ 400 KB"), or "report".
    pub goal: String,
    /// Whether the median meets the goal (`None`: no goal).
    pub met: Option<bool>,
    /// The unit of the numbers.
    pub unit: String,
    /// Every run's value.
    pub runs: Vec<f64>,
    /// (median, min, max, samples) when a tool summarised the runs itself.
    pub summary: Option<(f64, f64, f64, usize)>,
}

impl Figure {
    /// A figure with a goal "at most `limit`".
    pub fn at_most(name: &str, unit: &str, limit: f64, runs: Vec<f64>) -> Figure {
        let mut f = Figure {
            name: name.into(),
            goal: format!("≤ {} {unit}", trim(limit)),
            met: None,
            unit: unit.into(),
            runs,
            summary: None,
        };
        f.met = f.median().map(|m| m <= limit);
        f
    }

    /// A figure with a goal "at most `limit`" that a tool summarised (divan
    /// gives median, fastest and slowest of its samples).
    pub fn summarised(
        name: &str,
        unit: &str,
        limit: f64,
        summary: (f64, f64, f64, usize),
    ) -> Figure {
        let mut f = Figure::at_most(name, unit, limit, Vec::new());
        f.summary = Some(summary);
        f.met = Some(summary.0 <= limit);
        f
    }

    /// A figure with a goal "at least `limit`".
    pub fn at_least(name: &str, unit: &str, limit: f64, runs: Vec<f64>) -> Figure {
        let mut f = Figure::report(name, unit, runs);
        f.goal = format!("≥ {} {unit}", trim(limit));
        f.met = f.median().map(|m| m >= limit);
        f
    }

    /// A figure reported without a goal.
    pub fn report(name: &str, unit: &str, runs: Vec<f64>) -> Figure {
        Figure {
            name: name.into(),
            goal: "report".into(),
            met: None,
            unit: unit.into(),
            runs,
            summary: None,
        }
    }

    /// The median run (the mean of the middle two for an even count).
    pub fn median(&self) -> Option<f64> {
        if let Some((median, ..)) = self.summary {
            return Some(median);
        }
        let mut sorted = self.runs.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
        }
    }

    fn min(&self) -> Option<f64> {
        self.summary
            .map(|s| s.1)
            .or_else(|| self.runs.iter().copied().reduce(f64::min))
    }

    fn max(&self) -> Option<f64> {
        self.summary
            .map(|s| s.2)
            .or_else(|| self.runs.iter().copied().reduce(f64::max))
    }

    fn count(&self) -> usize {
        self.summary.map_or(self.runs.len(), |s| s.3)
    }

    /// The figure as JSON for `bench/results.json`.
    pub fn to_json(&self) -> Value {
        json!({
            "figure": self.name,
            "goal": self.goal,
            "met": self.met,
            "unit": self.unit,
            "median": self.median(),
            "min": self.min(),
            "max": self.max(),
            "runs": self.runs,
            "samples": self.count(),
        })
    }
}

/// A number without needless decimals.
fn trim(x: f64) -> String {
    if x >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The table as text.
pub fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "{:<46} {:<16} {:>10} {:>10} {:>10} {:>4}  {}\n",
        "figure", "goal", "median", "min", "max", "runs", "unit"
    );
    for f in figures {
        let cell = |v: Option<f64>| v.map_or_else(|| "—".to_string(), trim);
        let mark = match f.met {
            Some(true) => "ok",
            Some(false) => "MISSED",
            None => "",
        };
        out.push_str(&format!(
            "{:<46} {:<16} {:>10} {:>10} {:>10} {:>4}  {} {mark}\n",
            f.name,
            f.goal,
            cell(f.median()),
            cell(f.min()),
            cell(f.max()),
            f.count(),
            f.unit
        ));
    }
    out
}

/// Parses divan's line for `bench` (`├─ name  fastest │ slowest │ median │
/// mean │ samples │ iters`) into (fastest, slowest, median) in ms.
pub fn divan_line(output: &str, bench: &str) -> Option<(f64, f64, f64)> {
    let line = output.lines().find(|l| l.contains(bench))?;
    let cells: Vec<&str> = line.split('│').collect();
    let first = cells.first()?.rsplit(bench).next()?.trim();
    let ms = |text: &str| -> Option<f64> {
        let mut parts = text.split_whitespace();
        let value: f64 = parts.next()?.parse().ok()?;
        let factor = match parts.next()? {
            "ns" => 1e-6,
            "µs" | "us" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            _ => return None,
        };
        Some(value * factor)
    };
    Some((ms(first)?, ms(cells.get(1)?)?, ms(cells.get(2)?)?))
}

/// Runs every benchmark and writes `bench/results.json`.
pub fn run_all(root: &Path) -> Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_test_tools(root)?;
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    let mut figures = Vec::new();

    // 1. The shell's size.
    let report = dist::build(root, None)?;
    report.print();
    let (_, gzip) = report.total();
    for (name, raw, gz) in &report.rows {
        figures.push(Figure::report(
            &format!("shell: {name} raw"),
            "KB",
            vec![*raw as f64 / 1000.0],
        ));
        figures.push(Figure::report(
            &format!("shell: {name} gzip"),
            "KB",
            vec![*gz as f64 / 1000.0],
        ));
    }
    figures.push(Figure::at_most(
        "shell: total gzip",
        "KB",
        400.0,
        vec![gzip as f64 / 1000.0],
    ));

    // 4. The core, natively (divan: 20 samples; fastest, median, slowest).
    let (_, output) = run_capturing(Command::new("cargo").args([
        "bench",
        "--package",
        "fieldbook-core",
        "--bench",
        "core",
    ]))?;
    if let Some((fastest, slowest, median)) = divan_line(&output, "due_tasks_and_year_indicators") {
        figures.push(Figure::summarised(
            "core: due tasks + year indicators (native)",
            "ms",
            50.0,
            (median, fastest, slowest, 20),
        ));
    }

    // 2, 3, 4 (wasm), 5 (ours), 7 (browser): Playwright in Chromium.
    let server = tools::build_server(root)?;
    let browser_out = work.join("browser.json");
    let _ = std::fs::remove_file(&browser_out);
    let (ok, _) = run_capturing(
        Command::new(tools::npm_bin(root, "playwright"))
            .args(["test", "--config", "bench/browser/playwright.config.ts"])
            .env("FIELDBOOK_SERVER_BIN", &server)
            .env("FIELDBOOK_DIST", root.join("dist"))
            .env("FIELDBOOK_BENCH_OUT", &browser_out)
            .env("FIELDBOOK_BENCH_RUNS", "5")
            .current_dir(root),
    )?;
    if !ok {
        eprintln!("xtask: some browser benchmarks did not finish; their figures are missing");
    }
    let browser: Value = std::fs::read_to_string(&browser_out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let runs = |key: &str| -> Vec<f64> {
        browser[key]["runs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    figures.push(Figure::at_most(
        "offline cold start to Today (4× CPU)",
        "ms",
        1000.0,
        runs("cold_start_offline_ms"),
    ));
    figures.push(Figure::report(
        "offline cold start to Today from every record (4× CPU)",
        "ms",
        runs("cold_start_live_ms"),
    ));
    figures.push(Figure::at_most(
        "search: keystroke to list (4× CPU)",
        "ms",
        16.0,
        runs("search_keystroke_ms"),
    ));
    figures.push(Figure::report(
        "core: due tasks + year indicators (wasm, 4× CPU)",
        "ms",
        runs("core_wasm_ms"),
    ));
    let first_sync = runs("first_sync_ms");
    let incremental = runs("incremental_sync_100_ms");
    figures.push(Figure::at_most(
        "sync: first full sync of the village",
        "ms",
        2000.0,
        first_sync.clone(),
    ));
    figures.push(Figure::at_most(
        "sync: incremental, 100 changes",
        "ms",
        50.0,
        incremental.clone(),
    ));
    figures.push(Figure::at_most(
        "storage: browser bytes for the village",
        "MB",
        20.0,
        runs("storage_village_bytes")
            .iter()
            .map(|b| b / 1e6)
            .collect(),
    ));

    // 5 (beside ours): PouchDB from express-pouchdb, the same records.
    match pouchdb(root, &work) {
        Ok(pouch) => {
            let runs = |key: &str| -> Vec<f64> {
                pouch[key]["runs"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default()
            };
            let pouch_first = runs("first_sync_ms");
            let pouch_incremental = runs("incremental_ms");
            figures.push(Figure::report(
                "sync: PouchDB first full sync (same records)",
                "ms",
                pouch_first.clone(),
            ));
            figures.push(Figure::report(
                "sync: PouchDB incremental, 100 docs",
                "ms",
                pouch_incremental.clone(),
            ));
            let ratio = |theirs: &[f64], ours: &[f64]| {
                let median = |v: &[f64]| Figure::report("", "", v.to_vec()).median();
                match (median(theirs), median(ours)) {
                    (Some(t), Some(o)) if o > 0.0 => vec![t / o],
                    _ => Vec::new(),
                }
            };
            figures.push(Figure::at_least(
                "sync: first sync, PouchDB ÷ ours",
                "×",
                5.0,
                ratio(&pouch_first, &first_sync),
            ));
            figures.push(Figure::at_least(
                "sync: incremental, PouchDB ÷ ours",
                "×",
                1.0,
                ratio(&pouch_incremental, &incremental),
            ));
        }
        Err(error) => eprintln!("xtask: the PouchDB comparison did not run: {error:#}"),
    }

    // 7. The server's database: one village measured. A whole township (50
    // villages) is 50 times as many records, each village's in its own rows.
    if let Some(mb) = server_database_mb(root, &server, &work, "village")? {
        figures.push(Figure::report(
            "storage: server SQLite, one village (measured)",
            "MB",
            vec![mb],
        ));
        figures.push(Figure::report(
            "storage: server SQLite, township (50 × one village)",
            "MB",
            vec![mb * 50.0],
        ));
    }

    println!("\n{}", table(&figures));
    let results = json!({
        "machine": crate::process::output_line("uname", &["-srm"]),
        "figures": figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
    });
    let path = root.join("bench/results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("written to {}", path.display());
    Ok(())
}

/// The PouchDB baseline (`bench/pouchdb`): its own `npm ci`, then
/// `replicate.mjs` on the synthetic village; its JSON answer.
fn pouchdb(root: &Path, work: &Path) -> Result<Value> {
    let folder = root.join("bench/pouchdb");
    if !folder.join("node_modules").is_dir() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder))?;
    }
    let data = work.join("village.json");
    if !data.is_file() {
        let village = fieldbook_core::generate::generate(
            1,
            fieldbook_core::generate::Size::Village,
            crate::today_utc(),
        );
        std::fs::write(&data, serde_json::to_vec(&village)?)?;
    }
    let output = Command::new("node")
        .arg("replicate.mjs")
        .arg("--data")
        .arg(&data)
        .args(["--runs", "5", "--incremental", "100"])
        .current_dir(&folder)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run node")?;
    anyhow::ensure!(output.status.success(), "replicate.mjs failed");
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Loads synthetic data of `size` into a fresh SQLite database through the
/// server's `load-demo` command and returns the file's size in MB (the
/// command closes the database, so the write-ahead log is checkpointed).
fn server_database_mb(root: &Path, server: &Path, work: &Path, size: &str) -> Result<Option<f64>> {
    let data = work.join("server-data");
    let _ = std::fs::remove_dir_all(&data);
    run(Command::new(server)
        .arg("--data-dir")
        .arg(&data)
        .args(["load-demo", "--size", size])
        .current_dir(root))?;
    let file = data.join("fieldbook.db");
    let mb = std::fs::metadata(&file).ok().map(|m| m.len() as f64 / 1e6);
    let _ = std::fs::remove_dir_all(&data);
    Ok(mb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_runs() {
        assert_eq!(
            Figure::report("x", "ms", vec![3.0, 1.0, 2.0]).median(),
            Some(2.0)
        );
        assert_eq!(
            Figure::report("x", "ms", vec![4.0, 1.0, 2.0, 3.0]).median(),
            Some(2.5)
        );
        assert_eq!(Figure::report("x", "ms", vec![]).median(), None);
    }

    #[test]
    fn a_goal_is_met_by_the_median() {
        assert_eq!(
            Figure::at_most("x", "ms", 10.0, vec![5.0, 50.0, 9.0]).met,
            Some(true)
        );
        assert_eq!(
            Figure::at_most("x", "ms", 10.0, vec![11.0, 12.0, 1.0]).met,
            Some(false)
        );
        assert_eq!(Figure::at_most("x", "ms", 10.0, vec![]).met, None);
        let t = table(&[Figure::at_most("search", "ms", 16.0, vec![20.0])]);
        assert!(t.contains("MISSED"), "{t}");
    }

    #[test]
    fn divan_lines_parse_into_milliseconds() {
        let output = "core                              fastest       │ slowest       │ median        │ mean          │ samples │ iters\n\
            ├─ due_tasks_and_year_indicators  10.9 ms       │ 20.01 ms      │ 12.1 ms       │ 12.8 ms       │ 20      │ 20\n\
            ╰─ due_tasks_only                 5.5 ms        │ 900 µs        │ 6.1 ms        │ 6.2 ms        │ 20      │ 20\n";
        assert_eq!(
            divan_line(output, "due_tasks_and_year_indicators"),
            Some((10.9, 20.01, 12.1))
        );
        let (_, slowest, _) = divan_line(output, "due_tasks_only").unwrap();
        assert!((slowest - 0.9).abs() < 1e-9);
        assert_eq!(divan_line(output, "missing"), None);
    }
}

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

/// A part of the benchmarks run alone (`--only`); the other figures in
/// `bench/results.json` are kept as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The server under load.
    Load,
    /// The Playwright figures: cold start, search, sync beside PouchDB in
    /// the browser, save → Today at three sizes, memory.
    Browser,
    /// Nothing measured: the README's table written anew from
    /// `bench/results.json`.
    Table,
}

/// What `cargo xtask bench` was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Only one part (`--only load`, `--only browser`).
    pub only: Option<Part>,
    /// Runs of each server-load setting (`--load-runs N`, 5).
    pub load_runs: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            only: None,
            load_runs: 5,
        }
    }
}

/// `cargo xtask bench [--only load|browser] [--load-runs N]`.
pub fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--only" if value == "load" => options.only = Some(Part::Load),
            "--only" if value == "browser" => options.only = Some(Part::Browser),
            "--only" if value == "table" => options.only = Some(Part::Table),
            "--only" => anyhow::bail!("--only takes `load`, `browser` or `table`"),
            "--load-runs" => {
                options.load_runs = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .context("--load-runs takes 1 to 100")?;
            }
            _ => anyhow::bail!("unknown option {flag}"),
        }
    }
    Ok(options)
}

/// Runs the benchmarks asked for and writes `bench/results.json`.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    match options.only {
        Some(Part::Load) => {
            let server = tools::build_server(root)?;
            let figures = server_load(&server, options.load_runs);
            write_results(root, &figures, true)
        }
        Some(Part::Browser) => {
            tools::ensure_build_tools(root)?;
            tools::ensure_test_tools(root)?;
            let work = root.join("target/bench");
            std::fs::create_dir_all(&work)?;
            // FIELDBOOK_DIST: a release dist built already (by `cargo
            // xtask build`); otherwise it is built here.
            let dist = match std::env::var_os("FIELDBOOK_DIST") {
                Some(dist) => std::path::PathBuf::from(dist),
                None => {
                    dist::build(root, None)?;
                    root.join("dist")
                }
            };
            // FIELDBOOK_SERVER_BIN: a server built already.
            let server = match std::env::var_os("FIELDBOOK_SERVER_BIN") {
                Some(server) => std::path::PathBuf::from(server),
                None => tools::build_server(root)?,
            };
            let floor = pouchdb_floor(root, &work)
                .inspect_err(|error| eprintln!("xtask: the PouchDB floor did not run: {error:#}"))
                .ok();
            let figures = browser_figures(root, &work, &server, &dist, floor.as_ref())?;
            write_results(root, &figures, true)
        }
        Some(Part::Table) => write_results(root, &[], true),
        None => run_all(root, &options),
    }
}

/// Runs every benchmark and writes `bench/results.json`.
pub fn run_all(root: &Path, options: &Options) -> Result<()> {
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

    // 5 (the floor): PouchDB in Node's memory from express-pouchdb, the
    // same records; no browser, no IndexedDB.
    let floor = match pouchdb_floor(root, &work) {
        Ok(floor) => Some(floor),
        Err(error) => {
            eprintln!("xtask: the PouchDB floor did not run: {error:#}");
            None
        }
    };

    // 2, 3, 4 (wasm), 5 (ours beside PouchDB in the browser), 7, memory:
    // Playwright in Chromium.
    let server = tools::build_server(root)?;
    figures.extend(browser_figures(
        root,
        &work,
        &server,
        &root.join("dist"),
        floor.as_ref(),
    )?);

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

    // 8. The township summary of 50 villages: right after the server
    // starts (while it computes every village) and asked again.
    match crate::load::township_summary(&server, &work, 5) {
        Ok(times) => {
            figures.push(Figure::report(
                "server: township summary, 50 villages, first ask after start",
                "ms",
                vec![times.first],
            ));
            figures.push(Figure::at_most(
                "server: township summary, 50 villages, asked again",
                "ms",
                2000.0,
                times.kept,
            ));
        }
        Err(error) => eprintln!("xtask: the township summary did not run: {error:#}"),
    }

    // 9. The server under load.
    figures.extend(server_load(&server, options.load_runs));

    write_results(root, &figures, false)
}

/// The data the browser benchmarks need, written to `work`: the village
/// both sync servers serve (seed 1, as `fieldbook-server --demo` seeds it)
/// as the generator's JSON for PouchDB's server, and backups of the three
/// sizes save → Today is measured at, for the app's own import.
fn browser_data(work: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    use fieldbook_core::generate::{Size, generate};
    let today = crate::today_utc();
    let village = village_data(work)?;
    let backups = work.join("backups");
    std::fs::create_dir_all(&backups)?;
    let device: fieldbook_core::sync::DeviceId =
        serde_json::from_value(json!("00000000-0000-4000-8000-00000000be0c"))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    for size in [Size::Small, Size::Village, Size::Village3] {
        let backup = fieldbook_core::backup::Backup::new(
            device,
            now_ms,
            generate(1, size, today),
            Vec::new(),
        );
        std::fs::write(backups.join(format!("{size}.json")), backup.to_bytes())?;
    }
    Ok((village, backups))
}

/// The village both sync servers serve (seed 1, today), as the generator's
/// JSON, written to `work/village.json`.
fn village_data(work: &Path) -> Result<std::path::PathBuf> {
    use fieldbook_core::generate::{Size, generate};
    let village = work.join("village.json");
    let data = generate(1, Size::Village, crate::today_utc());
    std::fs::write(&village, serde_json::to_vec(&data)?)?;
    Ok(village)
}

/// The median of some runs.
fn median_of(runs: &[f64]) -> Option<f64> {
    Figure::report("", "", runs.to_vec()).median()
}

/// The ratio of two figures' medians, as one run (none when either is
/// missing).
fn ratio(theirs: &[f64], ours: &[f64]) -> Vec<f64> {
    match (median_of(theirs), median_of(ours)) {
        (Some(t), Some(o)) if o > 0.0 => vec![t / o],
        _ => Vec::new(),
    }
}

/// The browser benchmarks (`bench/browser/app.bench.ts`) and their figures;
/// `floor` is PouchDB-in-Node's answer when it ran.
fn browser_figures(
    root: &Path,
    work: &Path,
    server: &Path,
    dist: &Path,
    floor: Option<&Value>,
) -> Result<Vec<Figure>> {
    pouchdb_install(root)?;
    let (village, backups) = browser_data(work)?;
    let browser_out = work.join("browser.json");
    let _ = std::fs::remove_file(&browser_out);
    let mut playwright = Command::new(tools::npm_bin(root, "playwright"));
    playwright
        .args(["test", "--config", "bench/browser/playwright.config.ts"])
        .env("FIELDBOOK_SERVER_BIN", server)
        .env("FIELDBOOK_DIST", dist)
        .env("FIELDBOOK_BENCH_OUT", &browser_out)
        .env("FIELDBOOK_BENCH_POUCH_DATA", &village)
        .env("FIELDBOOK_BENCH_BACKUPS", &backups)
        .current_dir(root);
    for (name, default) in [
        ("FIELDBOOK_BENCH_RUNS", "5"),
        ("FIELDBOOK_BENCH_SLOW_RUNS", "3"),
    ] {
        if std::env::var_os(name).is_none() {
            playwright.env(name, default);
        }
    }
    let (ok, _) = run_capturing(&mut playwright)?;
    if !ok {
        eprintln!("xtask: some browser benchmarks did not finish; their figures are missing");
    }
    let browser: Value = std::fs::read_to_string(&browser_out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Ok(browser_figures_from(&browser, floor))
}

/// The figures of the browser benchmarks' JSON (`{key: {runs: […]}}`) and
/// PouchDB-in-Node's answer.
pub fn browser_figures_from(browser: &Value, floor: Option<&Value>) -> Vec<Figure> {
    let runs = |key: &str| -> Vec<f64> {
        browser[key]["runs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let mut figures = Vec::new();

    // Cold start, offline, 4× CPU.
    figures.push(Figure::report(
        "cold start: kept Today list drawn (4× CPU)",
        "ms",
        runs("cold_start_offline_ms"),
    ));
    figures.push(Figure::at_most(
        "cold start: live Today list drawn (4× CPU)",
        "ms",
        800.0,
        runs("cold_start_live_ms"),
    ));
    figures.push(Figure::at_most(
        "cold start: a household search works (4× CPU)",
        "ms",
        800.0,
        runs("cold_start_search_usable_ms"),
    ));
    // Every other mark the app sets (`crate::mark`), as it is.
    if let Some(all) = browser.as_object() {
        let shown = ["mark fieldbook:today-kept", "mark fieldbook:today-live"];
        for (key, _) in all
            .iter()
            .filter(|(k, _)| k.starts_with("mark fieldbook:") && !shown.contains(&k.as_str()))
        {
            let name = key.trim_start_matches("mark ");
            figures.push(Figure::report(
                &format!("cold start: mark {name} (4× CPU)"),
                "ms",
                runs(key),
            ));
        }
    }
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
    figures.push(Figure::at_most(
        "storage: browser bytes for the village",
        "MB",
        20.0,
        runs("storage_village_bytes")
            .iter()
            .map(|b| b / 1e6)
            .collect(),
    ));
    figures.push(Figure::report(
        "memory: JS heap + wasm, the village loaded",
        "MB",
        runs("memory_village_total_mb"),
    ));
    figures.push(Figure::report(
        "memory: of which JS heap (after GC)",
        "MB",
        runs("memory_village_js_heap_mb"),
    ));
    figures.push(Figure::report(
        "memory: of which wasm",
        "MB",
        runs("memory_village_wasm_mb"),
    ));

    // Sync, ours beside PouchDB on IndexedDB in the same Chromium.
    for rate in [1, 4] {
        let ours_first = runs(&format!("first_sync_{rate}x_ms"));
        let ours_incremental = runs(&format!("incremental_sync_100_{rate}x_ms"));
        let pouch_first = runs(&format!("pouchdb_first_sync_{rate}x_ms"));
        let pouch_incremental = runs(&format!("pouchdb_incremental_100_{rate}x_ms"));
        let cpu = format!("{rate}× CPU");
        figures.push(if rate == 1 {
            Figure::at_most(
                &format!("sync: first sync of the village, ours ({cpu})"),
                "ms",
                1500.0,
                ours_first.clone(),
            )
        } else {
            Figure::report(
                &format!("sync: first sync of the village, ours ({cpu})"),
                "ms",
                ours_first.clone(),
            )
        });
        figures.push(Figure::report(
            &format!("sync: of which signing in ({cpu})"),
            "ms",
            runs(&format!("first_sync_login_{rate}x_ms")),
        ));
        figures.push(Figure::report(
            &format!("sync: first sync, PouchDB on IndexedDB ({cpu})"),
            "ms",
            pouch_first.clone(),
        ));
        figures.push(Figure::at_least(
            &format!("sync: first sync, PouchDB ÷ ours ({cpu})"),
            "×",
            12.0,
            ratio(&pouch_first, &ours_first),
        ));
        figures.push(if rate == 1 {
            Figure::at_most(
                &format!("sync: incremental, 100 changes, ours ({cpu})"),
                "ms",
                30.0,
                ours_incremental.clone(),
            )
        } else {
            Figure::report(
                &format!("sync: incremental, 100 changes, ours ({cpu})"),
                "ms",
                ours_incremental.clone(),
            )
        });
        figures.push(Figure::report(
            &format!("sync: incremental, PouchDB on IndexedDB ({cpu})"),
            "ms",
            pouch_incremental.clone(),
        ));
        figures.push(Figure::report(
            &format!("sync: incremental, PouchDB ÷ ours ({cpu})"),
            "×",
            ratio(&pouch_incremental, &ours_incremental),
        ));
    }
    if let Some(floor) = floor {
        let floor_runs = |key: &str| -> Vec<f64> {
            floor[key]["runs"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        figures.push(Figure::report(
            "sync: floor, PouchDB in Node memory, first sync",
            "ms",
            floor_runs("first_sync_ms"),
        ));
        figures.push(Figure::report(
            "sync: floor, PouchDB in Node memory, incremental 100",
            "ms",
            floor_runs("incremental_ms"),
        ));
    }

    // Save a visit → Today drawn again, 4× CPU, three sizes.
    let mut medians = Vec::new();
    for (size, words) in [
        ("small", "small (50 households)"),
        ("village", "the demo village (1,000)"),
        ("village3", "village × 3 (3,000)"),
    ] {
        let save = runs(&format!("save_to_today_{size}_ms"));
        medians.extend(median_of(&save));
        figures.push(Figure::at_most(
            &format!("save → Today drawn, {words} (4× CPU)"),
            "ms",
            50.0,
            save,
        ));
        if size != "village" {
            figures.push(Figure::report(
                &format!("memory: JS heap + wasm, {words}"),
                "MB",
                runs(&format!("memory_size_{size}_total_mb")),
            ));
        }
    }
    let spread = match (
        medians.iter().copied().reduce(f64::max),
        medians.iter().copied().reduce(f64::min),
    ) {
        (Some(max), Some(min)) if medians.len() == 3 && min > 0.0 => vec![max / min],
        _ => Vec::new(),
    };
    figures.push(Figure::at_most(
        "save → Today: slowest size ÷ fastest",
        "×",
        1.5,
        spread,
    ));
    figures
}

/// Prints the table, writes `bench/results.json` and the README's table.
/// With `merge`, the file's other figures are kept and those measured now
/// replaced (by name).
fn write_results(root: &Path, figures: &[Figure], merge: bool) -> Result<()> {
    println!("\n{}", table(figures));
    let path = root.join("bench/results.json");
    let mut all: Vec<Value> = Vec::new();
    if merge {
        let old: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        for figure in old["figures"].as_array().into_iter().flatten() {
            let name = figure["figure"].as_str().unwrap_or_default();
            if RETIRED.contains(&name) {
                continue;
            }
            match figures.iter().find(|f| f.name == name) {
                Some(new) => all.push(new.to_json()),
                None => all.push(figure.clone()),
            }
        }
        let added: Vec<Value> = figures
            .iter()
            .filter(|f| !all.iter().any(|v| v["figure"] == f.name.as_str()))
            .map(Figure::to_json)
            .collect();
        // New figures go after the last one replaced: beside their part.
        let at = all
            .iter()
            .rposition(|v| figures.iter().any(|f| v["figure"] == f.name.as_str()))
            .map_or(all.len(), |i| i + 1);
        all.splice(at..at, added);
    } else {
        all.extend(figures.iter().map(Figure::to_json));
    }
    let results = json!({
        "machine": crate::process::output_line("uname", &["-srm"]),
        "figures": all,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("written to {}", path.display());
    let readme = root.join("README.md");
    if let Ok(text) = std::fs::read_to_string(&readme) {
        match replace_table(&text, &markdown_table(&all)) {
            Some(updated) => {
                std::fs::write(&readme, updated)?;
                println!("and the table in {}", readme.display());
            }
            None => eprintln!("xtask: README.md has no {TABLE_BEGIN} … {TABLE_END}; not updated"),
        }
    }
    Ok(())
}

/// Figures of earlier versions of the benchmark, measured otherwise or
/// named anew: dropped from `bench/results.json` when a part is re-run.
const RETIRED: [&str; 8] = [
    "offline cold start to Today (4× CPU)",
    "offline cold start to Today from every record (4× CPU)",
    "sync: first full sync of the village",
    "sync: incremental, 100 changes",
    "sync: PouchDB first full sync (same records)",
    "sync: PouchDB incremental, 100 docs",
    "sync: first sync, PouchDB ÷ ours",
    "sync: incremental, PouchDB ÷ ours",
];

/// The README's generated table lies between these lines.
const TABLE_BEGIN: &str = "<!-- cargo xtask bench: table begins -->";
const TABLE_END: &str = "<!-- cargo xtask bench: table ends -->";

/// `text` with what lies between [`TABLE_BEGIN`] and [`TABLE_END`] replaced
/// by `table`; `None` when the markers are missing.
pub fn replace_table(text: &str, table: &str) -> Option<String> {
    let begin = text.find(TABLE_BEGIN)? + TABLE_BEGIN.len();
    let end = begin + text[begin..].find(TABLE_END)?;
    Some(format!("{}\n{table}{}", &text[..begin], &text[end..]))
}

/// The limit in a goal's words ("≤ 800 ms" → 800), `None` for "report".
fn goal_limit(goal: &str) -> Option<f64> {
    goal.trim_start_matches(['≤', '≥', ' '])
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The figures of `bench/results.json` as a Markdown table: goal, now (the
/// median), now ÷ goal, min, max, runs, and whether the goal is met.
pub fn markdown_table(figures: &[Value]) -> String {
    let mut out = String::from(
        "| figure | goal | now (median) | now ÷ goal | min | max | runs | unit | |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let cell = |v: &Value| v.as_f64().map_or_else(|| "—".to_string(), trim);
    for f in figures {
        let goal = f["goal"].as_str().unwrap_or("report");
        let ratio = match (goal_limit(goal), f["median"].as_f64()) {
            (Some(limit), Some(median)) if limit > 0.0 => format!("{:.2}", median / limit),
            _ => String::new(),
        };
        let met = match f["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {ratio} | {} | {} | {} | {} | {met} |\n",
            f["figure"].as_str().unwrap_or_default(),
            goal,
            cell(&f["median"]),
            cell(&f["min"]),
            cell(&f["max"]),
            f["samples"].as_u64().unwrap_or(0),
            f["unit"].as_str().unwrap_or_default(),
        ));
    }
    out
}

/// The names of the server-load figures begin so.
const LOAD_PREFIX: &str = "server load:";

/// The settings the server-load figures are measured in: the N = 50
/// and 500 devices that each sign in, push and pull; and 500 devices that
/// hold a session already, as phones do.
const LOAD_SETTINGS: [(usize, bool); 3] = [(50, false), (500, false), (500, true)];

/// `cargo xtask load --json` `runs` times for each database and
/// [`LOAD_SETTINGS`]: per request kind p50 and p99, devices synced per
/// second and the server's peak memory. Each run starts a fresh server (a
/// fresh PostgreSQL cluster too). A run with errors is left out and said.
fn server_load(server: &Path, runs: usize) -> Vec<Figure> {
    let mut figures = Vec::new();
    for database in ["sqlite", "postgres"] {
        for (devices, reuse_session) in LOAD_SETTINGS {
            let mut reports = Vec::new();
            for run in 1..=runs {
                println!(
                    "server load: {database}, {devices} devices{}, run {run} of {runs}",
                    if reuse_session { ", signed in" } else { "" }
                );
                match load_run(server, database, devices, reuse_session) {
                    Ok(report) => reports.push(report),
                    Err(error) => eprintln!("xtask: that run is left out: {error:#}"),
                }
            }
            figures.extend(load_figures(database, devices, reuse_session, &reports));
        }
    }
    figures
}

/// One `cargo xtask load … --json` (in an optimised xtask, as `load` does),
/// its JSON report; an error when a device failed.
fn load_run(server: &Path, database: &str, devices: usize, reuse_session: bool) -> Result<Value> {
    let mut cargo = tools::cargo();
    cargo
        .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
        .args(["load", "--json", "--database", database])
        .args(["--devices", &devices.to_string(), "--server"])
        .arg(server)
        .args(reuse_session.then_some("--reuse-session"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    let output = cargo.output().context("cannot run cargo")?;
    let report: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("the load run printed no report ({})", output.status))?;
    if report["errors"].as_u64() != Some(0) {
        anyhow::bail!(
            "{} devices failed; first: {}",
            report["errors"],
            report["first_errors"][0]
        );
    }
    Ok(report)
}

/// The figures of one setting from its runs' reports. The goals
/// (p99 ≤ 250 ms per request kind, peak ≤ 200 MB) are set for 500 devices.
fn load_figures(
    database: &str,
    devices: usize,
    reuse_session: bool,
    reports: &[Value],
) -> Vec<Figure> {
    let name = |what: &str| {
        format!(
            "{LOAD_PREFIX} {}, {devices} devices{}: {what}",
            if database == "sqlite" {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            if reuse_session { ", signed in" } else { "" }
        )
    };
    let values = |path: &[&str]| -> Vec<f64> {
        reports
            .iter()
            .filter_map(|r| path.iter().fold(r, |v, key| &v[*key]).as_f64())
            .collect()
    };
    let goals = devices >= 500;
    let mut figures = Vec::new();
    let kinds: &[&str] = if reuse_session {
        &["push", "pull"]
    } else {
        &["login", "push", "pull"]
    };
    for kind in kinds {
        let label = if *kind == "pull" { "pull page" } else { kind };
        figures.push(Figure::report(
            &name(&format!("{label} p50")),
            "ms",
            values(&["requests", kind, "p50_ms"]),
        ));
        let p99 = values(&["requests", kind, "p99_ms"]);
        let p99_name = name(&format!("{label} p99"));
        figures.push(if goals {
            Figure::at_most(&p99_name, "ms", crate::load::GOAL_P99_MS, p99)
        } else {
            Figure::report(&p99_name, "ms", p99)
        });
    }
    figures.push(Figure::report(
        &name("throughput"),
        "devices/s",
        values(&["devices_per_s"]),
    ));
    let peak = values(&["peak_rss_mb"]);
    figures.push(if goals {
        Figure::at_most(&name("peak memory"), "MB", crate::load::GOAL_PEAK_MB, peak)
    } else {
        Figure::report(&name("peak memory"), "MB", peak)
    });
    figures
}

/// `npm ci` in `bench/pouchdb` (PouchDB 9, express-pouchdb), once.
fn pouchdb_install(root: &Path) -> Result<()> {
    let folder = root.join("bench/pouchdb");
    if !folder.join("node_modules").is_dir() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder))?;
    }
    Ok(())
}

/// The PouchDB floor (`bench/pouchdb/replicate.mjs`): PouchDB in Node's
/// memory replicating the village (seed 1) from express-pouchdb; its JSON
/// answer.
fn pouchdb_floor(root: &Path, work: &Path) -> Result<Value> {
    pouchdb_install(root)?;
    let data = village_data(work)?;
    let output = Command::new("node")
        .arg("replicate.mjs")
        .arg("--data")
        .arg(&data)
        .args(["--runs", "5", "--incremental", "100"])
        .current_dir(root.join("bench/pouchdb"))
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
    fn bench_options_parse() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        assert_eq!(
            parse_options(&args(&["--only", "load", "--load-runs", "3"])).unwrap(),
            Options {
                only: Some(Part::Load),
                load_runs: 3
            }
        );
        assert_eq!(
            parse_options(&args(&["--only", "browser"])).unwrap().only,
            Some(Part::Browser)
        );
        assert_eq!(
            parse_options(&args(&["--only", "table"])).unwrap().only,
            Some(Part::Table)
        );
        for bad in [
            &["--only", "shell"][..],
            &["--load-runs", "0"],
            &["--only"],
            &["--fast", "yes"],
        ] {
            assert!(parse_options(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn load_reports_become_figures_with_goals_at_500_devices() {
        let report = |p99: f64, peak: f64| {
            json!({
                "requests": {
                    "login": {"p50_ms": 900.0, "p99_ms": 2000.0},
                    "push": {"p50_ms": 50.0, "p99_ms": p99},
                    "pull": {"p50_ms": 20.0, "p99_ms": 100.0},
                },
                "devices_per_s": 12.5,
                "peak_rss_mb": peak,
            })
        };
        let reports = [
            report(100.0, 90.0),
            report(300.0, 95.0),
            report(200.0, 99.0),
        ];
        let figures = load_figures("sqlite", 500, false, &reports);
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), 8, "{names:?}");
        let push_p99 = &figures[3];
        assert_eq!(push_p99.name, "server load: SQLite, 500 devices: push p99");
        assert_eq!(push_p99.median(), Some(200.0));
        assert_eq!(push_p99.met, Some(true));
        assert_eq!(figures[1].met, Some(false), "login p99 2000 ms");
        assert_eq!(figures[7].met, Some(true), "peak 95 MB");
        let small = load_figures("postgres", 50, true, &reports);
        assert_eq!(small.len(), 6, "no login when signed in");
        assert!(small.iter().all(|f| f.met.is_none()), "goals are for 500");
        assert_eq!(
            small[0].name,
            "server load: PostgreSQL, 50 devices, signed in: push p50"
        );
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

    #[test]
    fn the_readme_table_is_replaced_between_its_markers() {
        let text = format!("# Perf\n\nintro\n{TABLE_BEGIN}\nold\n{TABLE_END}\n\nafter\n");
        let new = replace_table(&text, "| new |\n").unwrap();
        assert_eq!(
            new,
            format!("# Perf\n\nintro\n{TABLE_BEGIN}\n| new |\n{TABLE_END}\n\nafter\n")
        );
        assert_eq!(replace_table("no markers", "x"), None);
    }

    #[test]
    fn the_markdown_table_shows_now_against_the_goal() {
        let figures = [
            Figure::at_most("cold", "ms", 800.0, vec![1200.0]).to_json(),
            Figure::at_least("ratio", "×", 12.0, vec![6.0]).to_json(),
            Figure::report("heap", "MB", vec![40.0]).to_json(),
        ];
        let table = markdown_table(&figures);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(
            lines[2].starts_with("| cold | ≤ 800 ms | 1200 | 1.50 |"),
            "{table}"
        );
        assert!(lines[2].ends_with("**missed** |"), "{table}");
        assert!(
            lines[3].starts_with("| ratio | ≥ 12 × | 6 | 0.50 |"),
            "{table}"
        );
        assert!(lines[4].starts_with("| heap | report | 40 |  |"), "{table}");
        assert_eq!(goal_limit("≤ 1.5 ×"), Some(1.5));
        assert_eq!(goal_limit("report"), None);
    }

    #[test]
    fn browser_results_become_figures_with_ratios_and_the_spread_of_sizes() {
        let browser = json!({
            "first_sync_1x_ms": {"runs": [1000.0, 1200.0, 1100.0]},
            "pouchdb_first_sync_1x_ms": {"runs": [22000.0]},
            "save_to_today_small_ms": {"runs": [20.0, 30.0]},
            "save_to_today_village_ms": {"runs": [40.0]},
            "save_to_today_village3_ms": {"runs": [50.0]},
            "mark fieldbook:records-usable": {"runs": [700.0]},
        });
        let figures = browser_figures_from(&browser, None);
        let find = |name: &str| {
            figures
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("no figure {name}"))
        };
        let ratio = find("sync: first sync, PouchDB ÷ ours (1× CPU)");
        assert_eq!(ratio.median(), Some(20.0));
        assert_eq!(ratio.met, Some(true));
        assert_eq!(
            find("sync: first sync of the village, ours (1× CPU)").met,
            Some(true)
        );
        assert_eq!(find("sync: first sync, PouchDB ÷ ours (4× CPU)").met, None);
        let spread = find("save → Today: slowest size ÷ fastest");
        assert_eq!(spread.median(), Some(2.0));
        assert_eq!(spread.met, Some(false));
        assert_eq!(
            find("cold start: mark fieldbook:records-usable (4× CPU)").median(),
            Some(700.0)
        );
    }
}

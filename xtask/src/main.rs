//! `cargo xtask`: Fieldbook's automation. Each command installs what it needs
//! and prints each step it runs, so a fresh machine and CI do exactly what the
//! README says.

mod bench;
mod dist;
mod load;
mod postgres;
mod process;
mod soak;
mod suites;
mod tools;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use fieldbook_core::generate::{Size, generate};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--host H] [--port P]   build the app in release mode and start the server
                              (default http://127.0.0.1:8080; --host 0.0.0.0 for phones
                              on the same Wi-Fi)
  build [--build-id ID]       build the PWA into dist/ and print its size
  bench [--only load|browser|table] [--load-runs N]
                              measure size, start-up, search, core, sync (beside PouchDB),
                              save → Today, memory, server load and storage; print a table,
                              write bench/results.json and the README's table
                              (--only load: just the server under load; --only browser: just
                              the Playwright figures; FIELDBOOK_DIST=dir and
                              FIELDBOOK_SERVER_BIN=file skip the builds,
                              FIELDBOOK_BENCH_ONLY=cold,sync,save runs some parts;
                              other figures kept; --only table: the README's table anew
                              from bench/results.json; --load-runs: runs of each load
                              setting, 5)
  test                        run every check and test suite; ends with `N passed, M failed`
  setup                       install what is missing, and nothing else
  demo-data --size S --out F  write the synthetic village (S: small, village, village3, township)
            [--seed N] [--today YYYY-MM-DD]
                              as JSON to F (seed 1 and today's date by default)
  postgres                    start a throwaway PostgreSQL server for tests, print its URL
                              and keep it until Ctrl-C or end of input
  soak [--cases N] [--kills K] [--seed S]
                              the reliability tests at length: N randomized convergence
                              cases (10000), and the crash test with K SIGKILLs (100) on
                              SQLite and PostgreSQL; prints the counts and failing seeds
                              (--seed: re-run that one case alone)
  load [--devices N] [--changes C] [--villages K] [--database sqlite|postgres]
       [--same-address] [--reuse-session] [--server BIN] [--json]
                              N devices (50) at once against the release server, each:
                              login, push C changes (20), pull its village (of K, 1);
                              latency per request kind, throughput, peak server memory
                              (--same-address: all from 127.0.0.1, not an address each;
                              --reuse-session: each signs in before the clock starts and
                              only pushes and pulls, as a phone with its 30-day session;
                              --server: that binary, not a fresh release build; --json:
                              one JSON object on stdout, the progress on stderr)
";

fn main() {
    if let Err(error) = run(std::env::args().skip(1).collect()) {
        eprintln!("xtask: error: {error:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    let (command, rest) = args
        .split_first()
        .map_or(("", &[][..]), |(c, r)| (c.as_str(), r));
    match command {
        "run" => {
            let server_args = rest.to_vec();
            tools::ensure_build_tools(&root)?;
            let report = dist::build(&root, None)?;
            report.print();
            let server = tools::build_server(&root)?;
            tools::run_server(&server, &root.join("dist"), &server_args)
        }
        "build" => {
            let build_id = option_value(rest, "--build-id")?;
            tools::ensure_build_tools(&root)?;
            dist::build(&root, build_id.as_deref())?.print();
            Ok(())
        }
        "test" => {
            if !rest.is_empty() {
                bail!("`cargo xtask test` takes no options\n\n{USAGE}");
            }
            let summary = suites::run_all(&root)?;
            println!("{}", summary.closing_line());
            if summary.failed > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        "demo-data" => demo_data(rest),
        "bench" => bench::command(&root, rest),
        "load" => load::command(&root, rest),
        "soak" => soak::command(&root, rest),
        "postgres" => {
            if !rest.is_empty() {
                bail!("`cargo xtask postgres` takes no options\n\n{USAGE}");
            }
            postgres::serve(&root.join("target/postgres"))
        }
        "setup" => {
            tools::ensure_build_tools(&root)?;
            tools::ensure_test_tools(&root)
        }
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

/// `cargo xtask demo-data`: the core's generator, written as JSON.
fn demo_data(args: &[String]) -> Result<()> {
    let mut size = None;
    let mut out = None;
    let mut seed = 1u64;
    let mut today = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--size" => size = Some(value.parse::<Size>().map_err(anyhow::Error::msg)?),
            "--out" => out = Some(PathBuf::from(value)),
            "--seed" => seed = value.parse()?,
            "--today" => today = Some(chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")?),
            _ => bail!("unknown option {flag}\n\n{USAGE}"),
        }
    }
    let (Some(size), Some(out)) = (size, out) else {
        bail!("demo-data needs --size and --out\n\n{USAGE}");
    };
    let today = today.unwrap_or_else(today_utc);
    let data = generate(seed, size, today);
    let file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    serde_json::to_writer(file, &data)?;
    println!(
        "wrote {}: {} villages, {} households, {} persons, {} visits (seed {seed}, today {today})",
        out.display(),
        data.villages.len(),
        data.households.len(),
        data.persons.len(),
        data.visits.len()
    );
    Ok(())
}

/// Today's date in UTC, from the system clock (xtask runs at the edge; the
/// core never reads a clock).
fn today_utc() -> chrono::NaiveDate {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + chrono::Days::new(seconds / 86_400)
}

fn option_value(args: &[String], name: &str) -> Result<Option<String>> {
    match args {
        [] => Ok(None),
        [flag, value] if flag == name => Ok(Some(value.clone())),
        _ => bail!("unexpected options {args:?}\n\n{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn demo_data_writes_the_generated_village_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("small.json");
        let out_arg = out.to_string_lossy().to_string();
        demo_data(&args(&[
            "--size",
            "small",
            "--out",
            &out_arg,
            "--seed",
            "9",
            "--today",
            "2026-11-29",
        ]))
        .unwrap();
        let written: fieldbook_core::Dataset =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(written, generate(9, Size::Small, today));
        assert_eq!(written.households.len(), 50);
    }

    #[test]
    fn demo_data_refuses_missing_or_unknown_options() {
        assert!(demo_data(&args(&["--size", "small"])).is_err());
        assert!(demo_data(&args(&["--size", "huge", "--out", "x.json"])).is_err());
        assert!(demo_data(&args(&["--colour", "red"])).is_err());
        assert!(demo_data(&args(&["--size"])).is_err());
    }
}

//! `cargo xtask soak`: the reliability tests at length. The randomized
//! convergence cases (crates/server/tests/convergence.rs) for many seeds,
//! and the crash test (crates/server/tests/process.rs) with many SIGKILLs
//! during pushes and pulls, on SQLite and on a throwaway PostgreSQL, and
//! the restore test (crates/server/tests/restore.rs) with 50 rounds of
//! pushes after the backup. Prints
//! the counts and any failing seed; `--seed S` re-runs one case alone.

use std::path::Path;

use anyhow::{Result, bail};

use crate::postgres::TestPostgres;
use crate::process::run_capturing;
use crate::tools;

/// What `cargo xtask soak` runs.
struct Options {
    cases: u64,
    seed: Option<u64>,
    kills: u32,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        cases: 10_000,
        seed: None,
        kills: 100,
    };
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            bail!("options come in pairs: --cases N, --seed S, --kills K");
        };
        match flag.as_str() {
            "--cases" => options.cases = value.parse()?,
            "--seed" => options.seed = Some(value.parse()?),
            "--kills" => options.kills = value.parse()?,
            _ => bail!("unknown option {flag} (--cases N, --seed S, --kills K)"),
        }
    }
    Ok(options)
}

/// `cargo test --release -p fieldbook-server --test <name>` with `env`,
/// printing its output; whether it passed, and the output.
fn server_test(name: &str, filter: &[&str], env: &[(&str, String)]) -> Result<(bool, String)> {
    let mut command = tools::cargo();
    command.args([
        "test",
        "--release",
        "-p",
        "fieldbook-server",
        "--test",
        name,
        "--",
    ]);
    command.args(filter);
    command.arg("--nocapture");
    for (key, value) in env {
        command.env(key, value);
    }
    let (ok, output) = run_capturing(&mut command)?;
    Ok((ok, output))
}

pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let options = options(args)?;
    let mut failures = Vec::new();

    let env = match options.seed {
        Some(seed) => vec![("FIELDBOOK_CONVERGENCE_SEED", seed.to_string())],
        None => vec![("FIELDBOOK_CONVERGENCE_CASES", options.cases.to_string())],
    };
    let (ok, output) = server_test("convergence", &[], &env)?;
    let summary = output
        .lines()
        .find(|l| l.starts_with("convergence:"))
        .unwrap_or("convergence: no summary (the test did not finish)");
    println!("{summary}");
    if !ok {
        failures.push("convergence".to_string());
    }
    if options.seed.is_some() {
        return finish(failures);
    }

    let kills = vec![("FIELDBOOK_CRASH_ROUNDS", options.kills.to_string())];
    let (ok, _) = server_test(
        "process",
        &[
            "a_server_killed_during_pushes_loses_no_acknowledged_change",
            "--exact",
        ],
        &kills,
    )?;
    println!(
        "crash, SQLite: {} SIGKILLs during pushes and pulls: {}",
        options.kills,
        if ok { "nothing lost" } else { "FAILED" }
    );
    if !ok {
        failures.push("crash on SQLite".to_string());
    }
    let restore_rounds = vec![("FIELDBOOK_RESTORE_ROUNDS", "50".to_string())];
    let (ok, _) = server_test(
        "restore",
        &["phones_bring_back_what_a_restored_backup_lacks", "--exact"],
        &restore_rounds,
    )?;
    println!(
        "restore, SQLite: 50 rounds of pushes after the backup, then phones replay: {}",
        if ok { "everything back" } else { "FAILED" }
    );
    if !ok {
        failures.push("restore on SQLite".to_string());
    }
    let postgres = TestPostgres::start(&root.join("target/postgres"))?;
    let mut env = kills;
    env.push(("FIELDBOOK_TEST_POSTGRES_URL", postgres.url().to_string()));
    let (ok, _) = server_test(
        "process",
        &[
            "a_server_killed_during_pushes_loses_no_acknowledged_change_on_postgres",
            "--exact",
            "--ignored",
        ],
        &env,
    )?;
    println!(
        "crash, PostgreSQL: {} SIGKILLs during pushes and pulls: {}",
        options.kills,
        if ok { "nothing lost" } else { "FAILED" }
    );
    if !ok {
        failures.push("crash on PostgreSQL".to_string());
    }
    finish(failures)
}

fn finish(failures: Vec<String>) -> Result<()> {
    if failures.is_empty() {
        println!("soak: everything held");
        Ok(())
    } else {
        bail!("soak: failed: {}", failures.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_with_defaults() {
        let o = options(&[]).unwrap();
        assert_eq!((o.cases, o.seed, o.kills), (10_000, None, 100));
        let args: Vec<String> = ["--cases", "50", "--seed", "7", "--kills", "3"]
            .map(String::from)
            .into();
        let o = options(&args).unwrap();
        assert_eq!((o.cases, o.seed, o.kills), (50, Some(7), 3));
        assert!(options(&["--cases".to_string()]).is_err());
        assert!(options(&["--fast".to_string(), "1".to_string()]).is_err());
    }
}

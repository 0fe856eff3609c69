//! `cargo xtask`: Fieldbook's automation. Each command installs what it needs
//! and prints each step it runs, so a fresh machine and CI do exactly what the
//! README says.

mod dist;
mod process;
mod suites;
mod tools;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--host H] [--port P]   build the app in release mode and start the server
                              (default http://127.0.0.1:8080; --host 0.0.0.0 for phones
                              on the same Wi-Fi)
  build [--build-id ID]       build the PWA into dist/ and print its size
  test                        run every check and test suite; ends with `N passed, M failed`
  setup                       install what is missing, and nothing else
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

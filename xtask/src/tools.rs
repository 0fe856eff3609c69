//! Installing what is missing: the wasm target, trunk, wasm-bindgen-cli,
//! the npm tools (wasm-opt, Playwright), Chromium and its driver. Each check
//! is cheap when the tool is already there.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{output_line, run};

/// The trunk release that builds with this toolchain (0.22 needs a newer rustc).
pub const TRUNK_VERSION: &str = "0.21.14";
/// Debian's packages for the browser tests.
const APT_PACKAGES: &[&str] = &["chromium", "chromium-driver"];
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Everything `cargo xtask build` and `run` need.
pub fn ensure_build_tools(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen(root)?;
    ensure_npm_tools(root)
}

/// What `cargo xtask test` needs beyond the build tools.
pub fn ensure_test_tools(root: &Path) -> Result<()> {
    ensure_npm_tools(root)?;
    ensure_apt_packages()
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed: install it from rustup.rs")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_trunk() -> Result<()> {
    if output_line("trunk", &["--version"]).as_deref() == Some(&format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    println!("trunk {TRUNK_VERSION} is missing; installing it (about 10 minutes on 2 cores)");
    run(Command::new("cargo").args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))
}

/// The version of a package as locked in Cargo.lock.
pub fn locked_version(cargo_lock: &str, package: &str) -> Option<String> {
    let mut lines = cargo_lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

fn ensure_wasm_bindgen(root: &Path) -> Result<()> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let version =
        locked_version(&lock, "wasm-bindgen").context("wasm-bindgen is not in Cargo.lock")?;
    if output_line("wasm-bindgen", &["--version"]).as_deref()
        == Some(&format!("wasm-bindgen {version}"))
    {
        return Ok(());
    }
    println!("wasm-bindgen-cli {version} (the version in Cargo.lock) is missing; installing it");
    // Not `--locked`: wasm-bindgen-cli's own lock file names a crate version
    // the registry no longer has.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))
}

/// `node_modules/` from package-lock.json: wasm-opt (binaryen) and
/// Playwright. Playwright is told never to download a browser: the tests use
/// Debian's Chromium.
fn ensure_npm_tools(root: &Path) -> Result<()> {
    let lock = root.join("package-lock.json");
    let installed = root.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => i.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh && npm_bin(root, "wasm-opt").exists() && npm_bin(root, "playwright").exists() {
        return Ok(());
    }
    if output_line("npm", &["--version"]).is_none() {
        bail!("npm is needed: install Node.js 20 (e.g. `apt-get install -y nodejs npm`)");
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(root))
}

/// An executable installed by npm.
pub fn npm_bin(root: &Path, name: &str) -> PathBuf {
    root.join("node_modules/.bin").join(name)
}

/// PATH with the npm tools first, so trunk finds binaryen's wasm-opt.
pub fn path_with_npm_tools(root: &Path) -> Result<OsString> {
    let mut paths = vec![root.join("node_modules/.bin")];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    Ok(std::env::join_paths(paths)?)
}

fn is_root() -> bool {
    output_line("id", &["-u"]).as_deref() == Some("0")
}

fn ensure_apt_packages() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", APT_PACKAGES.join(" "));
    if !is_root() {
        bail!(
            "Chromium and ChromeDriver are missing. Install them with:\n  sudo apt-get update && sudo {install}"
        );
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(APT_PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Cargo's target folder: `CARGO_TARGET_DIR` (relative to the workspace)
/// when set, else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Builds fieldbook-server in release mode; returns the binary's path.
pub fn build_server(root: &Path) -> Result<PathBuf> {
    run(cargo().args(["build", "--release", "--package", "fieldbook-server"]))?;
    Ok(target_dir(root).join("release/fieldbook-server"))
}

/// `cargo`, without the variables `cargo run` gave xtask for its own
/// package: build scripts that watch them (ring's watches
/// CARGO_MANIFEST_DIR) would rebuild on every switch between `cargo build`
/// and `cargo xtask`.
pub fn cargo() -> Command {
    let mut cargo = Command::new("cargo");
    for (name, _) in std::env::vars_os() {
        if is_package_variable(&name.to_string_lossy()) {
            cargo.env_remove(name);
        }
    }
    cargo
}

/// A variable `cargo run` sets for the package it runs.
fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

/// Starts the server on the built app with its data in `data/` (the demo
/// village and login made on first start) and waits for it to stop.
pub fn run_server(server: &Path, dist: &Path, args: &[String]) -> Result<()> {
    let mut command = Command::new(server);
    command.arg("--dist").arg(dist).arg("--demo").args(args);
    run(&mut command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_variables_of_cargo_run_are_known() {
        assert!(is_package_variable("CARGO_MANIFEST_DIR"));
        assert!(is_package_variable("CARGO_PKG_VERSION_MAJOR"));
        assert!(!is_package_variable("CARGO_TARGET_DIR"));
        assert!(!is_package_variable("CARGO_HOME"));
    }

    #[test]
    fn reads_a_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.1\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "trunk"), None);
    }

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// trunk, the `=` pin in Cargo.toml and the installed CLI must agree, or
    /// the built app fails at run time with a schema mismatch.
    #[test]
    fn trunk_and_the_manifest_pin_the_locked_wasm_bindgen() {
        let root = root();
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
        let version = locked_version(&lock, "wasm-bindgen").unwrap();
        let trunk = std::fs::read_to_string(root.join("Trunk.toml")).unwrap();
        assert!(
            trunk.contains(&format!("wasm_bindgen = \"{version}\"")),
            "Trunk.toml must pin wasm_bindgen = \"{version}\""
        );
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("wasm-bindgen = \"={version}\"")),
            "Cargo.toml must pin wasm-bindgen = \"={version}\""
        );
    }

    #[test]
    fn trunk_and_package_json_pin_the_same_wasm_opt() {
        let root = root();
        let trunk = std::fs::read_to_string(root.join("Trunk.toml")).unwrap();
        let package: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).unwrap())
                .unwrap();
        let binaryen = package["devDependencies"]["binaryen"].as_str().unwrap();
        let major = binaryen.split('.').next().unwrap();
        assert!(trunk.contains(&format!("wasm_opt = \"version_{major}\"")));
    }
}

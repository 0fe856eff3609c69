//! Building the PWA: trunk, then the steps trunk cannot do because they need
//! the final files (trunk hashes the wasm before wasm-opt rewrites it):
//! stamping the build id, writing the service worker's precache list and
//! version, and precompressing every text file for the server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::process::run;
use crate::tools::path_with_npm_tools;

const VERSION_MARKER: &str = "\"__FIELDBOOK_VERSION__\"";
const PRECACHE_MARKER: &str = "[] /*__FIELDBOOK_PRECACHE__*/";
const BUILD_META: &str = "<meta name=\"fieldbook-build\" content=\"";
const COMPRESSIBLE: &[&str] = &["html", "js", "css", "wasm", "webmanifest", "svg", "json"];

/// Runs trunk (release, offline) into `dist/`, then [`finalize`]s it.
pub fn build(root: &Path, build_id: Option<&str>) -> Result<SizeReport> {
    run(Command::new("trunk")
        .args(["build", "--release", "--offline"])
        .env("PATH", path_with_npm_tools(root)?)
        .env("TRUNK_OFFLINE", "true")
        .current_dir(root))?;
    let dist = root.join("dist");
    finalize(&dist, &root.join("public/sw.js"), build_id)?;
    SizeReport::measure(&dist)
}

/// Makes a trunk output folder deployable: see the module docs. Idempotent,
/// so a copy of a finished dist can be finalized again as another version.
pub fn finalize(dist: &Path, sw_template: &Path, build_id: Option<&str>) -> Result<String> {
    remove_compressed(dist)?;
    let assets = shell_files(dist)?;
    let content_id = content_hash(dist, &assets)?;
    let build_id = build_id.map_or_else(|| content_id[..12].to_string(), str::to_string);
    stamp_build_id(&dist.join("index.html"), &build_id)?;

    // The version covers index.html after stamping: a new build id is a new
    // version of the shell.
    let version = content_hash(dist, &assets)?;
    let template = std::fs::read_to_string(sw_template)
        .with_context(|| format!("reading {}", sw_template.display()))?;
    let urls: Vec<String> = assets.iter().map(|p| format!("/{p}")).collect();
    let sw = service_worker(&template, &version, &urls)?;
    std::fs::write(dist.join("sw.js"), sw)?;

    for file in all_files(dist)? {
        let extension = Path::new(&file)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        if COMPRESSIBLE.contains(&extension) {
            precompress(&dist.join(&file))?;
        }
    }
    Ok(build_id)
}

/// The service worker with its version and precache list filled in.
pub fn service_worker(template: &str, version: &str, urls: &[String]) -> Result<String> {
    if !template.contains(VERSION_MARKER) || !template.contains(PRECACHE_MARKER) {
        bail!("public/sw.js lost its markers {VERSION_MARKER} and {PRECACHE_MARKER}");
    }
    Ok(template
        .replace(VERSION_MARKER, &serde_json::to_string(version)?)
        .replace(PRECACHE_MARKER, &serde_json::to_string(urls)?))
}

/// Every file of the dist folder, as `/`-separated relative paths, sorted.
fn all_files(dist: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, base, out)?;
            } else {
                let relative = path.strip_prefix(base)?;
                let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dist, dist, &mut files)
        .with_context(|| format!("reading {}: build the app first", dist.display()))?;
    files.sort();
    Ok(files)
}

/// The files the service worker precaches: the whole shell except the worker
/// itself and the compressed twins (the browser decompresses for the cache).
pub fn shell_files(dist: &Path) -> Result<Vec<String>> {
    Ok(all_files(dist)?
        .into_iter()
        .filter(|f| f != "sw.js" && !f.ends_with(".gz") && !f.ends_with(".br"))
        .collect())
}

fn remove_compressed(dist: &Path) -> Result<()> {
    for file in all_files(dist)? {
        if file.ends_with(".gz") || file.ends_with(".br") {
            std::fs::remove_file(dist.join(file))?;
        }
    }
    Ok(())
}

/// A hex digest over the files' names and contents.
fn content_hash(dist: &Path, files: &[String]) -> Result<String> {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.as_bytes());
        hasher.update([0]);
        let bytes = std::fs::read(dist.join(file))?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn stamp_build_id(index: &Path, build_id: &str) -> Result<()> {
    let html = std::fs::read_to_string(index)?;
    let stamped = stamp(&html, build_id)?;
    std::fs::write(index, stamped)?;
    Ok(())
}

/// index.html with the build id meta tag's content replaced.
pub fn stamp(html: &str, build_id: &str) -> Result<String> {
    if !build_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bail!("a build id may hold only letters, digits, '-', '_' and '.': {build_id:?}");
    }
    let start = html
        .find(BUILD_META)
        .context("index.html lost its fieldbook-build meta tag")?
        + BUILD_META.len();
    let end = start
        + html[start..]
            .find('"')
            .context("unterminated fieldbook-build meta")?;
    Ok(format!("{}{build_id}{}", &html[..start], &html[end..]))
}

fn precompress(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    std::fs::write(with_suffix(path, "gz"), gz.finish()?)?;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
    std::fs::write(with_suffix(path, "br"), br)?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The shell's size as a phone downloads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SizeReport {
    /// (kind, raw bytes, gzip bytes) for wasm, js and css.
    pub rows: Vec<(&'static str, u64, u64)>,
}

impl SizeReport {
    /// Sums the wasm, js and css files of a finalized dist.
    pub fn measure(dist: &Path) -> Result<Self> {
        let mut rows = Vec::new();
        for kind in ["wasm", "js", "css"] {
            let (mut raw, mut gzip) = (0, 0);
            for file in shell_files(dist)? {
                if file.ends_with(&format!(".{kind}")) {
                    raw += std::fs::metadata(dist.join(&file))?.len();
                    gzip += std::fs::metadata(dist.join(format!("{file}.gz")))?.len();
                }
            }
            rows.push((kind, raw, gzip));
        }
        Ok(SizeReport { rows })
    }

    /// Total (raw, gzip).
    pub fn total(&self) -> (u64, u64) {
        self.rows
            .iter()
            .fold((0, 0), |(r, g), row| (r + row.1, g + row.2))
    }

    pub fn print(&self) {
        let kb = |b: u64| format!("{:.1} KB", b as f64 / 1000.0);
        println!("\nApp shell size (dist/):");
        println!("  {:<6} {:>12} {:>12}", "", "raw", "gzip");
        for (kind, raw, gzip) in &self.rows {
            println!("  {kind:<6} {:>12} {:>12}", kb(*raw), kb(*gzip));
        }
        let (raw, gzip) = self.total();
        println!("  {:<6} {:>12} {:>12}", "total", kb(raw), kb(gzip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "const VERSION = \"__FIELDBOOK_VERSION__\";\nconst PRECACHE = [] /*__FIELDBOOK_PRECACHE__*/;\n";
    const INDEX: &str = "<html><head><meta name=\"fieldbook-build\" content=\"dev\"></head></html>";

    /// A trunk-like output folder, and the service worker template beside it.
    struct Sample {
        dist: tempfile::TempDir,
        template: tempfile::NamedTempFile,
    }

    impl Sample {
        fn new() -> Self {
            let dist = tempfile::tempdir().unwrap();
            let write = |name: &str, text: &str| {
                let path = dist.path().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            };
            write("index.html", INDEX);
            write("app-0123456789abcdef_bg.wasm", &"w".repeat(3000));
            write("app-0123456789abcdef.js", &"j".repeat(2000));
            write("main-0123456789abcdef.css", &"c".repeat(1000));
            write("icons/icon-192.png", "png");
            write("sw.js", TEMPLATE);
            let template = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(template.path(), TEMPLATE).unwrap();
            Sample { dist, template }
        }

        fn finalize(&self, build_id: Option<&str>) -> String {
            finalize(self.dist.path(), self.template.path(), build_id).unwrap()
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.dist.path().join(name)).unwrap()
        }
    }

    #[test]
    fn the_service_worker_gets_the_shell_list_and_a_version() {
        let sw = service_worker(TEMPLATE, "abc", &["/index.html".into(), "/a.js".into()]).unwrap();
        assert_eq!(
            sw,
            "const VERSION = \"abc\";\nconst PRECACHE = [\"/index.html\",\"/a.js\"];\n"
        );
        assert!(service_worker("no markers", "abc", &[]).is_err());
    }

    #[test]
    fn stamping_replaces_the_build_id_and_refuses_odd_ids() {
        let once = stamp(INDEX, "v1").unwrap();
        assert!(once.contains("content=\"v1\""));
        let twice = stamp(&once, "v2").unwrap();
        assert!(twice.contains("content=\"v2\"") && !twice.contains("v1"));
        assert!(stamp(INDEX, "x\" onload=\"y").is_err());
        assert!(stamp("<html></html>", "v1").is_err());
    }

    #[test]
    fn finalize_precaches_the_shell_and_compresses_text_files() {
        let sample = Sample::new();
        let id = sample.finalize(None);
        assert_eq!(id.len(), 12);
        let sw = sample.read("sw.js");
        for url in [
            "/index.html",
            "/app-0123456789abcdef_bg.wasm",
            "/app-0123456789abcdef.js",
            "/main-0123456789abcdef.css",
            "/icons/icon-192.png",
        ] {
            assert!(
                sw.contains(&format!("\"{url}\"")),
                "{url} missing from {sw}"
            );
        }
        assert!(
            !sw.contains("/sw.js"),
            "the worker must not precache itself"
        );
        assert!(!sw.contains(".gz\"") && !sw.contains(".br\""));
        let dist = sample.dist.path();
        assert!(dist.join("app-0123456789abcdef_bg.wasm.br").exists());
        assert!(dist.join("index.html.gz").exists());
        assert!(!dist.join("icons/icon-192.png.gz").exists());
    }

    #[test]
    fn same_files_same_version_and_a_new_build_id_is_a_new_version() {
        let sample = Sample::new();
        let id = sample.finalize(None);
        let version = |s: &Sample| s.read("sw.js").lines().next().unwrap().to_string();
        let first = version(&sample);
        assert_eq!(sample.finalize(Some(&id)), id);
        assert_eq!(version(&sample), first);
        sample.finalize(Some("next"));
        assert_ne!(version(&sample), first);
        assert!(sample.read("index.html").contains("content=\"next\""));
    }

    #[test]
    fn the_size_report_counts_raw_and_gzip_bytes() {
        let sample = Sample::new();
        sample.finalize(Some("t"));
        let report = SizeReport::measure(sample.dist.path()).unwrap();
        let wasm = report.rows.iter().find(|r| r.0 == "wasm").unwrap();
        assert_eq!(wasm.1, 3000);
        assert!(
            wasm.2 > 0 && wasm.2 < 3000,
            "gzip of a repetitive file is small"
        );
        assert_eq!(report.total().0, 6000);
    }
}

//! The parts of the architecture that a test can check, run by `cargo test` (as
//! rust-analyzer's `tidy.rs` does for its own rules):
//!
//! - every `.rs` file of the project opens with a `//!` header saying what it is for;
//! - `datadao-core` is pure: its manifest lists no I/O, command-line, plotting, logging
//!   or server crate, and its source uses no `std::fs`, `std::io`, `std::env`, `std::net`,
//!   `std::process` and prints nothing;
//! - only the front ends (`src/`, `python/`) depend on `datadao-log`;
//! - every path `ARCHITECTURE.md` names exists.
//!
//! Each check reads the files as text, so it needs nothing but the repository.

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, skipping build output and virtual environments.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            let skipped = name == "target" || name.starts_with('.') || name == "node_modules";
            if !skipped {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The project's own Rust files: the binary, its tests and benches, the crates and the
/// Python binding.
fn project_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "crates", "python/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files
}

/// Files among `files` whose first line that is not blank is not a `//!` comment.
fn without_header(files: &[(PathBuf, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| {
            !text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|(p, _)| p.display().to_string())
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_header() {
    let files: Vec<(PathBuf, String)> = project_rust_files()
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    assert!(files.len() > 50, "found only {} files", files.len());
    let missing = without_header(&files);
    assert!(missing.is_empty(), "no `//!` header: {missing:?}");
    // The check itself: a file that starts with code, or a plain comment, is caught.
    let broken = [
        (PathBuf::from("a.rs"), "use std::fs;\n".to_string()),
        (
            PathBuf::from("b.rs"),
            "// a comment\n//! late\n".to_string(),
        ),
        (PathBuf::from("c.rs"), "\n//! fine\n".to_string()),
    ];
    assert_eq!(without_header(&broken), ["a.rs", "b.rs"]);
}

/// Crates a pure core may not depend on: files, terminals, flags, plots, logs, servers.
const IMPURE_CRATES: &[&str] = &[
    "clap",
    "plotters",
    "indicatif",
    "axum",
    "hyper",
    "hyper-util",
    "tokio",
    "dotenvy",
    "toml",
    "fs4",
    "signal-hook",
    "libc",
    "parquet",
    "datadao-log",
    "datadao-scenario",
    "anyhow",
    "pyo3",
    "serde_json",
    "csv",
];

/// The `[dependencies]` names of a manifest (not its dev-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                // `rand.workspace = true` names `rand`.
                let name = name.trim().trim_matches('"');
                names.push(name.split('.').next().unwrap_or(name).to_string());
            }
        }
    }
    names
}

/// Lines of core source that reach outside the process or print.
fn impure_lines(path: &str, text: &str) -> Vec<String> {
    const FORBIDDEN: &[&str] = &[
        "std::fs",
        "std::io",
        "std::env",
        "std::net",
        "std::process",
        "println!",
        "eprintln!",
        "print!",
        "eprint!",
        "dbg!",
    ];
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let code = l.split("//").next().unwrap_or("");
            FORBIDDEN.iter().any(|f| code.contains(f))
        })
        .map(|(n, l)| format!("{path}:{}: {}", n + 1, l.trim()))
        .collect()
}

#[test]
fn the_core_does_no_io_and_depends_on_no_front_end_crate() {
    let manifest = fs::read_to_string(root().join("crates/datadao-core/Cargo.toml")).unwrap();
    let deps = dependencies(&manifest);
    assert!(deps.iter().any(|d| d == "rand"), "parsed {deps:?}");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| IMPURE_CRATES.contains(&d.as_str()))
        .collect();
    assert!(bad.is_empty(), "datadao-core depends on {bad:?}");

    let mut files = Vec::new();
    rust_files(&root().join("crates/datadao-core/src"), &mut files);
    let mut found = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        found.extend(impure_lines(&path.display().to_string(), &text));
    }
    assert!(found.is_empty(), "I/O or printing in the core: {found:#?}");

    // The checks themselves catch what they are for.
    let broken = "[dependencies]\nrand = \"0.8\"\nclap = \"4\"\n[dev-dependencies]\ncsv = \"1\"\n";
    assert_eq!(dependencies(broken), ["rand", "clap"]);
    let code = "use std::fs::File;\n// std::io in a comment is fine\nfn f() { println!(\"x\") }\n";
    assert_eq!(impure_lines("x.rs", code).len(), 2);
}

#[test]
fn only_the_front_ends_depend_on_the_log_crate() {
    let check = |manifest: &str| dependencies(manifest).iter().any(|d| d == "datadao-log");
    for krate in ["datadao-core", "datadao-scenario"] {
        let path = root().join(format!("crates/{krate}/Cargo.toml"));
        let manifest = fs::read_to_string(&path).unwrap();
        assert!(!check(&manifest), "{krate} depends on datadao-log");
    }
    assert!(check(
        &fs::read_to_string(root().join("Cargo.toml")).unwrap()
    ));
    assert!(check("[dependencies]\ndatadao-log = { path = \"x\" }\n"));
}

/// File endings and top-level folders that mark a backticked span as a path.
const PATH_ENDINGS: &[&str] = &[
    ".rs", ".md", ".toml", ".py", ".pyi", ".html", ".js", ".css", ".sh", ".png",
];
const SOURCE_ENDINGS: &[&str] = &[".rs", ".py", ".pyi", ".html", ".js", ".css"];
const TOP_FOLDERS: &[&str] = &[
    "src/",
    "crates/",
    "python/",
    "tests/",
    "docs/",
    "benches/",
    "presets/",
    "examples/",
    "scripts/",
    ".ci/",
];

/// Backticked paths in `text`: spans ending like a file or starting with one of the
/// project's folders, without spaces or wildcards (`presets/*.toml` names a pattern, a
/// feature such as `num-traits/std` is no path).
fn named_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let plain = span
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
        // A bare file name is a path only when it is source: `run_config.toml` or
        // `simulation_results.png` name outputs.
        let looks_like_path = if span.contains('/') {
            PATH_ENDINGS.iter().any(|e| span.ends_with(e))
                || TOP_FOLDERS.iter().any(|f| span.starts_with(f))
        } else {
            SOURCE_ENDINGS.iter().any(|e| span.ends_with(e))
        };
        let is_url = span.contains("://") || span.starts_with('/');
        if plain && looks_like_path && !is_url {
            out.push(span.trim_end_matches('/').to_string());
        }
    }
    out
}

/// Where a path in ARCHITECTURE.md may be written relative to: the root, or the source
/// folder of the crate or front end whose section names it.
const PATH_ROOTS: &[&str] = &[
    "",
    "src",
    "src/serve",
    "crates",
    "crates/datadao-core/src",
    "crates/datadao-core",
    "crates/datadao-core/src/config",
    "crates/datadao-log",
    "crates/datadao-log/src",
    "crates/datadao-scenario/src",
    "crates/datadao-core/src/engine",
    "crates/datadao-core/src/governance",
    "crates/datadao-core/src/engine/governance",
    "python",
    "python/src",
    "python/datadao",
    "tests",
    "docs",
];

fn missing_paths(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| !PATH_ROOTS.iter().any(|r| root().join(r).join(p).exists()))
        .cloned()
        .collect()
}

#[test]
fn every_path_architecture_md_names_exists() {
    let text = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let paths = named_paths(&text);
    assert!(paths.len() > 30, "found only {paths:?}");
    let missing = missing_paths(&paths);
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names {missing:?}, which do not exist"
    );
    // The check itself: a file that is not there is caught, a URL or pattern is not a path.
    let probe = named_paths(
        "`src/no_such_file.rs`, `https://x/y`, `presets/*.toml`, `market.rs`, `num-traits/std`, `run_config.toml`",
    );
    assert_eq!(probe, ["src/no_such_file.rs", "market.rs"]);
    assert_eq!(missing_paths(&probe), ["src/no_such_file.rs"]);
}

/// The top-level module a source file belongs to (`engine` for `engine/apply.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Edges `module -> module it names as crate::NAME`, outside comments and test modules,
/// between the top-level modules of the crate whose source folder is `src` (`main` and
/// `lib` are the roots, which may name anything and are left out).
fn module_edges(files: &[(String, String)]) -> Vec<(String, String)> {
    let modules: Vec<&String> = files.iter().map(|(m, _)| m).collect();
    let mut edges = Vec::new();
    for (module, text) in files {
        if module == "main" || module == "lib" {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            for (i, _) in line.match_indices("crate::") {
                let name: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `use crate::{a, b}` names several.
                let names: Vec<String> = if line[i + 7..].starts_with('{') {
                    line[i + 8..]
                        .split('}')
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or_default().to_string())
                        .collect()
                } else {
                    vec![name]
                };
                for name in names {
                    if name != *module && modules.contains(&&name) {
                        edges.push((module.clone(), name));
                    }
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn find_cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.iter().any(|d| d == node) {
            return None;
        }
        path.push(node.to_string());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(c) = visit(to, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    for (from, _) in edges {
        if let Some(c) = visit(from, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn crate_modules(src: &str) -> Vec<(String, String)> {
    let src = root().join(src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|f| (module_of(&src, f), fs::read_to_string(f).unwrap()))
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    for src in [
        "src",
        "crates/datadao-core/src",
        "crates/datadao-scenario/src",
        "crates/datadao-log/src",
        "python/src",
    ] {
        let edges = module_edges(&crate_modules(src));
        assert!(
            find_cycle(&edges).is_none(),
            "{src}: modules import each other: {:?}",
            find_cycle(&edges)
        );
    }
    // The check itself: two modules that name each other are a cycle.
    let sample = [
        ("a".to_string(), "use crate::b::X;\n".to_string()),
        ("b".to_string(), "use crate::{c, a::Y};\n".to_string()),
        ("c".to_string(), "// crate::a in a comment\n".to_string()),
    ];
    assert_eq!(
        find_cycle(&module_edges(&sample)),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
}

#[test]
fn the_scenario_crate_leaves_anyhow_to_the_front_ends() {
    let check = |manifest: &str| dependencies(manifest).iter().any(|d| d == "anyhow");
    let manifest = fs::read_to_string(root().join("crates/datadao-scenario/Cargo.toml")).unwrap();
    assert!(!check(&manifest), "datadao-scenario depends on anyhow");
    assert!(check("[dependencies]\nanyhow = \"1\"\n"));
}

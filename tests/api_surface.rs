//! What a Rust user of the crate gets: the curated API and nothing else.
//!
//! Builds tests/consumers/rust (a program depending on lifesign with its
//! default features, as any Rust user would) in its own target folder,
//! target/consumer-rust, and documents the crate there the same way.

mod common;

use common::TempDir;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// The items of the crate root that `cargo doc` shows, as `kind.Name`.
const CURATED: &[&str] = &[
    "constant.MAX_INTERVAL",
    "constant.MIN_INTERVAL",
    "constant.VERSION",
    "enum.ErrorKind",
    "enum.LockState",
    "enum.LogLevel",
    "enum.ProcessState",
    "enum.Shape",
    "enum.State",
    "enum.Verdict",
    "enum.WaitErrorKind",
    "fn.check",
    "fn.emit_once",
    "fn.is_alive",
    "fn.judge",
    "fn.log_level",
    "fn.scan",
    "fn.set_log_handler",
    "fn.set_log_level",
    "fn.try_check",
    "fn.try_scan",
    "fn.wait_ready",
    "fn.wait_ready_with",
    "fn.watch",
    "struct.Cancel",
    "struct.CheckOptions",
    "struct.EmitOnce",
    "struct.Emitter",
    "struct.Error",
    "struct.NotifyConfig",
    "struct.NotifyRelay",
    "struct.Observation",
    "struct.Options",
    "struct.Record",
    "struct.Report",
    "struct.Unreadable",
    "struct.WaitError",
    "struct.WaitOptions",
    "type.ErrorCallback",
    "type.LogHandler",
    "type.Result",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the consumer crate pointing at this repository.
fn consumer(test: &str) -> TempDir {
    let src = root().join("tests/consumers/rust");
    let tmp = TempDir::new(&format!("rust-consumer-{test}"));
    let dir = tmp.dir();
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    let manifest = std::fs::read_to_string(src.join("Cargo.toml.in"))
        .unwrap()
        .replace("@LIFESIGN_PATH@", root().to_str().unwrap());
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    for f in [
        "src/main.rs",
        "src/bin/reaches_internals.rs",
        "src/bin/exhaustive_use.rs",
        "src/bin/exhaustive_match.rs",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    // The versions the crate itself is built and tested with.
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    tmp
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .args(["--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/consumer-rust"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

#[test]
fn a_rust_dependent_gets_the_curated_api_and_no_c_symbols() {
    let dir = consumer("build");

    let built = cargo(
        dir.dir(),
        &["build", "--bin", "consumer", "--message-format=json"],
    );
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    // The library package is an rlib alone, with no dependency of the CLI:
    // a Rust dependent builds no liblifesign.so or .a, no lexopt, no tokio
    // (the C artifacts and the CLI are packages of their own). Cargo lists
    // every unit of the build, rebuilt or fresh.
    let mut units = Vec::new();
    for line in String::from_utf8_lossy(&built.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kinds = msg["target"]["kind"].to_string();
        for f in msg["filenames"].as_array().into_iter().flatten() {
            let file = f.as_str().unwrap_or_default().to_string();
            units.push((name.clone(), kinds.clone(), file));
        }
    }
    assert!(
        units.iter().any(|(name, _, _)| name == "lifesign"),
        "no lifesign unit in the build: {units:?}"
    );
    // (A proc-macro such as serde_derive is a .so of the compiler's own.)
    let extra: Vec<&(String, String, String)> = units
        .iter()
        .filter(|(name, kinds, file)| {
            ["lexopt", "tokio", "async_nats", "lifesign_capi"].contains(&name.as_str())
                || kinds.contains("cdylib")
                || kinds.contains("staticlib")
                || (file.contains("liblifesign") && (file.ends_with(".so") || file.ends_with(".a")))
        })
        .collect();
    assert!(extra.is_empty(), "a Rust dependent built {extra:?}");
    let tree = cargo(
        dir.dir(),
        &["tree", "--prefix", "none", "-e", "normal,build"],
    );
    assert!(tree.status.success(), "{tree:?}");
    let tree = String::from_utf8_lossy(&tree.stdout);
    for krate in [
        "lexopt ",
        "cbindgen ",
        "lifesign-capi ",
        "tokio ",
        "async-nats ",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(krate)),
            "a Rust dependent builds {krate}:\n{tree}"
        );
    }
    let exe = root().join("target/consumer-rust/debug/consumer");
    let nm = Command::new("nm").arg(&exe).output().expect("nm runs");
    assert!(nm.status.success());
    let c_symbols: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("lifesign_"))
        .map(str::to_string)
        .collect();
    assert!(
        c_symbols.is_empty(),
        "C symbols linked into a Rust dependent: {c_symbols:?}"
    );

    let hb = dir.path("hb.json");
    let run = Command::new(&exe).arg(&hb).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.ends_with(&format!("{} alive\n", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );

    let internal = cargo(dir.dir(), &["build", "--bin", "reaches_internals"]);
    let stderr = String::from_utf8_lossy(&internal.stderr);
    assert!(
        !internal.status.success(),
        "the internal modules are reachable"
    );
    assert!(stderr.contains("private"), "{stderr}");
}

#[test]
fn options_and_enums_can_grow_without_breaking_a_dependent() {
    // Built by literal, or matched without a wildcard arm, they would
    // break every dependent at the next addition: both are refused.
    let dir = consumer("exhaustive");
    let built = cargo(dir.dir(), &["build", "--bin", "exhaustive_use"]);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(!built.status.success(), "non-exhaustive items compiled");
    for ty in ["CheckOptions", "WaitOptions"] {
        assert!(
            stderr.contains("cannot create non-exhaustive struct")
                && stderr.contains(&format!("lifesign::{ty} {{")),
            "{ty}: {stderr}"
        );
    }
    let built = cargo(dir.dir(), &["build", "--bin", "exhaustive_match"]);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(!built.status.success(), "an exhaustive match compiled");
    assert!(stderr.contains("E0004"), "{stderr}");
}

#[test]
fn cargo_doc_shows_only_the_curated_api() {
    let dir = consumer("doc");
    let doc = cargo(dir.dir(), &["doc", "--no-deps", "-p", "lifesign"]);
    assert!(
        doc.status.success(),
        "{}",
        String::from_utf8_lossy(&doc.stderr)
    );
    let html = root().join("target/consumer-rust/doc/lifesign");
    let all = std::fs::read_to_string(html.join("all.html")).unwrap();
    let items: BTreeSet<String> = all
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter_map(|href| href.strip_suffix(".html"))
        .filter(|h| !h.contains('/') && h.contains('.'))
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = CURATED.iter().map(|s| s.to_string()).collect();
    assert_eq!(items, expected);
    // No module pages: the internal modules are not documented.
    let modules: Vec<String> = std::fs::read_dir(&html)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("index.html").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(modules.is_empty(), "documented modules: {modules:?}");
}

#[test]
fn the_readme_rust_example_is_the_crate_doctest() {
    // The crate's first doctest compiles; the README shows the same lines.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split("\n## Rust\n").nth(1).expect("a Rust section");
    let shown = section
        .split("```rust\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a rust block");
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let tested = docs
        .split("```no_run\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a doctest");
    let tested: String = tested
        .lines()
        .filter(|l| !l.starts_with("# "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(shown, tested);
}

//! The C exports: declared only through `ffi_fn!` (so none lacks its
//! guard), and the shared library exports exactly the header's functions.

use std::path::{Path, PathBuf};

#[path = "../abi/version_script.rs"]
mod version_script;

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of code (not a comment) of the workspace's packages (src/,
/// capi/, cli/) that contains one of
/// `patterns`, as `file:line: code`, skipping the files `skip` names and
/// the lines `skip_line` is true for (given the line, it may keep state).
fn src_lines_with(
    patterns: &[&str],
    skip: impl Fn(&Path) -> bool,
    mut skip_line: impl FnMut(&str) -> bool,
) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "capi", "cli"] {
        rust_sources(&root.join(dir), &mut files);
    }
    files.sort();
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap();
        if skip(rel) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if skip_line(line) || code.starts_with("//") {
                continue;
            }
            if patterns.iter().any(|p| code.contains(p)) {
                found.push(format!("{}:{}: {code}", rel.display(), n + 1));
            }
        }
    }
    found
}

/// The `fn lifesign_*` names declared in the header.
fn header_functions() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/lifesign.h")).unwrap();
    let mut names: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("typedef") && l.contains('('))
        .filter_map(|l| {
            let before = l.split('(').next()?;
            let name = before.rsplit([' ', '*']).next()?;
            name.starts_with("lifesign_").then(|| name.to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn no_export_is_declared_outside_ffi_fn() {
    // The macro's own definition is the one place allowed to write them.
    let mut in_macro = false;
    let offenders = src_lines_with(
        // An `extern "C" fn` that is neither `pub` nor `no_mangle` (a signal
        // handler, an atfork hook) exports nothing.
        &[
            "#[no_mangle]",
            "no_mangle)]",
            "export_name",
            "pub extern \"C\" fn",
            "pub unsafe extern \"C\" fn",
        ],
        |_| false,
        |line| {
            if line.trim_start().starts_with("macro_rules! ffi_fn") {
                in_macro = true;
            } else if in_macro && line == "}" {
                in_macro = false;
            }
            in_macro
        },
    );
    assert!(
        offenders.is_empty(),
        "exports outside ffi_fn! (declare them inside `ffi_fn! {{ … }}` in capi/src/lib.rs): {offenders:#?}"
    );
}

#[test]
fn the_library_writes_to_stderr_only_through_its_log_module() {
    // The CLI owns its terminal; src/log.rs is the one way out.
    let offenders = src_lines_with(
        &["eprintln!", "eprint!", "stderr()", "libc::STDERR_FILENO"],
        |rel| rel.starts_with("cli") || rel == Path::new("src/log.rs"),
        |_| false,
    );
    assert!(
        offenders.is_empty(),
        "stderr written outside src/log.rs (use crate::log): {offenders:#?}"
    );
}

/// The shared library next to this test's own build.
fn built_library() -> PathBuf {
    // target/<profile>/deps/exports-<hash> -> target/<profile>/liblifesign.so
    let exe = std::env::current_exe().unwrap();
    let lib = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("liblifesign.so");
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}

/// The shared library next to this test's own build exports
/// exactly the header's functions, and no other `lifesign_*` symbol.
#[test]
fn the_shared_library_exports_exactly_the_headers_functions() {
    let lib = built_library();
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .expect("nm runs");
    assert!(out.status.success(), "nm failed: {out:?}");
    let mut exported: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|name| name.starts_with("lifesign_"))
        // nm shows the version too: `lifesign_check@@LIFESIGN_0.2`.
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect();
    exported.sort();
    assert_eq!(exported, header_functions());
}

/// `(function, node)` of abi/lifesign.map, sorted.
fn map_nodes() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("abi/lifesign.map")).unwrap();
    let mut nodes = version_script::symbol_nodes(&map);
    nodes.sort();
    nodes
}

#[test]
fn the_version_script_names_each_function_of_the_header_once() {
    let nodes = map_nodes();
    let mut names: Vec<String> = nodes.iter().map(|(name, _)| name.clone()).collect();
    names.dedup();
    assert_eq!(
        names.len(),
        nodes.len(),
        "a function is in two nodes: {nodes:?}"
    );
    let header = header_functions();
    let missing: Vec<&String> = header.iter().filter(|f| !names.contains(f)).collect();
    let gone: Vec<&String> = names.iter().filter(|f| !header.contains(f)).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "abi/lifesign.map and include/lifesign.h disagree: in the header only {missing:?} \
         (put a new function in a new node, as the map's comment shows), in the map only {gone:?}"
    );
    assert!(
        nodes.iter().all(|(_, node)| node.starts_with("LIFESIGN_")),
        "{nodes:?}"
    );
}

/// `objdump -T` shows every export with the node abi/lifesign.map gives it
/// (capi/build.rs attaches them where the linker is lld: x86_64 Linux).
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
#[test]
fn every_export_carries_its_version_node() {
    let lib = built_library();
    let out = std::process::Command::new("objdump")
        .arg("-T")
        .arg(&lib)
        .output()
        .expect("objdump runs");
    assert!(out.status.success(), "objdump failed: {out:?}");
    // "0000000000039cf0 g    DF .text  000000000000001e  LIFESIGN_0.2 lifesign_report_init"
    let mut exported: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" g ") && !l.contains("*UND*"))
        .filter_map(|l| {
            let mut words = l.split_whitespace().rev();
            let name = words.next()?;
            let node = words.next()?;
            name.starts_with("lifesign_")
                .then(|| (name.to_string(), node.to_string()))
        })
        .collect();
    exported.sort();
    assert_eq!(
        exported,
        map_nodes(),
        "exports and their versions (objdump -T) differ from abi/lifesign.map"
    );
}

#[test]
fn the_header_declares_the_functions_this_test_reads() {
    let names = header_functions();
    assert!(names.len() >= 25, "{names:?}");
    assert!(names.contains(&"lifesign_report_init".to_string()));
}

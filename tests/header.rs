//! The committed header is exactly what is generated from the crate: the
//! constants from the code families of src/codes.rs, the types and
//! functions by cbindgen from capi/src/lib.rs. Regenerate it with `make header`.
//!
//! cbindgen does not expand macros on stable Rust, and every export is
//! declared inside `ffi_fn!`. So the generator shows cbindgen a copy of
//! capi/src/lib.rs in which the macro's invocation (from `ffi_fn! {` to
//! `} // ffi_fn!`) is an inline module and each
//! export is spelled as the macro writes it (`#[no_mangle] pub [unsafe]
//! extern "C" fn`). tests/exports.rs checks that the library's symbols are
//! exactly the header's functions, so the two cannot drift apart.

mod common;

use common::TempDir;
use std::path::Path;

/// capi/src/lib.rs as `ffi_fn!` expands its exports, for cbindgen.
fn ffi_source_as_expanded(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut inside = false;
    for line in src.lines() {
        if line == "ffi_fn! {" {
            inside = true;
            out.push_str("mod exports {\n");
            continue;
        }
        if line == "} // ffi_fn!" {
            inside = false;
        }
        let export = if !inside {
            None
        } else if let Some(rest) = line.strip_prefix("unsafe fn lifesign_") {
            Some(format!("pub unsafe extern \"C\" fn lifesign_{rest}"))
        } else {
            line.strip_prefix("fn lifesign_")
                .map(|rest| format!("pub extern \"C\" fn lifesign_{rest}"))
        };
        match export {
            Some(decl) => {
                out.push_str("#[no_mangle]\n");
                out.push_str(&decl);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(lifesign::codes::c_constants_text());
    let src = std::fs::read_to_string(root.join("capi/src/lib.rs")).expect("capi/src/lib.rs");
    let dir = TempDir::new("header");
    let expanded = dir.path("ffi.rs");
    std::fs::write(&expanded, ffi_source_as_expanded(&src)).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(&expanded)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    c89_comments(&String::from_utf8(generated).expect("UTF-8 header"))
}

/// cbindgen ends its C++ guards with `//` comments; the header holds none
/// (older C tools still read headers as C89), so they become `/* */`.
fn c89_comments(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for line in header.lines() {
        match line.split_once("  // ").or_else(|| line.split_once(" // ")) {
            Some((code, comment)) if code.starts_with('#') || code.starts_with('}') => {
                out.push_str(&format!("{code} /* {comment} */"));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The header's text outside its `/* */` comments and string literals.
fn code_of(header: &str) -> String {
    let (mut code, mut rest) = (String::new(), header);
    loop {
        let comment = rest.find("/*");
        let string = rest.find('"');
        match (comment, string) {
            (Some(c), s) if s.is_none_or(|s| c < s) => {
                code.push_str(&rest[..c]);
                let end = rest[c..].find("*/").expect("unterminated comment");
                rest = &rest[c + end + 2..];
            }
            (_, Some(s)) => {
                code.push_str(&rest[..s]);
                let end = rest[s + 1..].find('"').expect("unterminated string");
                rest = &rest[s + end + 2..];
            }
            _ => {
                code.push_str(rest);
                return code;
            }
        }
    }
}

#[test]
fn header_holds_no_line_comment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/lifesign.h")).unwrap();
    let code = code_of(&header);
    let offenders: Vec<&str> = code.lines().filter(|l| l.contains("//")).collect();
    assert!(
        offenders.is_empty(),
        "`//` comments in include/lifesign.h: {offenders:?}"
    );
    // The check sees what it is meant to see.
    assert!(code_of("int a; // x\n/* // y */ \"//\"").contains("// x"));
    assert!(!code_of("/* // y */ \"//\"").contains("//"));
}

#[test]
fn committed_header_matches_the_generated_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate();
    let path = root.join("include/lifesign.h");
    if std::env::var_os("LIFESIGN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/lifesign.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/lifesign.h differs from what src/codes.rs and capi/src/lib.rs generate; \
         run `make header` and commit the result"
    );
}

#[test]
fn every_export_of_ffi_rs_reaches_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("capi/src/lib.rs")).unwrap();
    let declared = src
        .lines()
        .filter(|l| l.contains("fn lifesign_") && !l.starts_with("//"))
        .count();
    let expanded = ffi_source_as_expanded(&src)
        .matches("#[no_mangle]\npub ")
        .count();
    assert!(
        expanded >= 20,
        "only {expanded} exports found in capi/src/lib.rs"
    );
    assert_eq!(
        declared, expanded,
        "an export of capi/src/lib.rs is not written as `fn lifesign_…` or `unsafe fn lifesign_…` \
         at the start of a line inside `ffi_fn! {{ … }}`"
    );
}

#[test]
fn header_exports_only_prefixed_names_and_its_version_matches_cargo() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/lifesign.h")).unwrap();
    let mut version = [None, None, None, None];
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define ") {
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(
                name.starts_with("LIFESIGN_"),
                "unprefixed macro in the header: {name}"
            );
            let slot = match name {
                "LIFESIGN_VERSION_MAJOR" => 0,
                "LIFESIGN_VERSION_MINOR" => 1,
                "LIFESIGN_VERSION_PATCH" => 2,
                "LIFESIGN_VERSION_STRING" => 3,
                _ => continue,
            };
            version[slot] = Some(value.trim_matches('"').to_string());
        }
        if line.contains('(') && !line.starts_with(' ') && !line.starts_with('#') {
            if let Some(name) = line
                .split('(')
                .next()
                .and_then(|s| s.split(['*', ' ']).next_back())
            {
                if !name.is_empty() && !line.starts_with("typedef") && !line.starts_with("/*") {
                    assert!(name.starts_with("lifesign_"), "unprefixed function: {line}");
                }
            }
        }
    }
    let v: Vec<String> = version
        .into_iter()
        .map(|v| v.expect("version macro"))
        .collect();
    assert_eq!(
        format!("{}.{}.{}", v[0], v[1], v[2]),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(v[3], env!("CARGO_PKG_VERSION"));
}

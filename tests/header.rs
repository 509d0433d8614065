//! The committed header is exactly what cbindgen generates from src/ffi.rs.
//! Regenerate it with `LIFESIGN_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_matches_the_generated_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = root.join("include/lifesign.h");
    if std::env::var_os("LIFESIGN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/lifesign.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/lifesign.h differs from what src/ffi.rs generates; \
         run `LIFESIGN_BLESS=1 cargo test --test header` and commit the result"
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

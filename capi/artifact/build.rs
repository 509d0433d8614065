// The ELF identity of liblifesign.so, decided here and nowhere else:
//
// - The SONAME names the ABI, by cargo-c's rule: `liblifesign.so.0.MINOR`
//   while the version is 0.x (every 0.x minor may break the ABI),
//   `liblifesign.so.MAJOR` from 1.0. A program records it when linked, and
//   the dynamic loader refuses to start it against a library of another ABI.
//   The Makefile, cbuild/ and packaging/ read the SONAME from the built file
//   (or follow this rule, checked against it by their tests).
// - The exports carry the symbol versions that capi/build.rs attaches in
//   the objects of `lifesign-capi` (it says why there); abi/lifesign.map is
//   given to the linker of the shared library for the nodes. Only where the
//   linker is lld (x86_64 Linux, and zig's for make dist), as there.

fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let (major, minor) = (
        env("CARGO_PKG_VERSION_MAJOR"),
        env("CARGO_PKG_VERSION_MINOR"),
    );
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../abi/lifesign.map");
    if env("CARGO_CFG_TARGET_OS") != "linux" {
        return;
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblifesign.so.{abi}");
    if env("TARGET") != "x86_64-unknown-linux-gnu" {
        return;
    }
    let map = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("../../abi/lifesign.map");
    let map = map.canonicalize().expect("abi/lifesign.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
}

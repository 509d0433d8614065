// Give the shared library a SONAME so that consumers record `liblifesign.so.0`
// and not the path they were linked against.
fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblifesign.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

//! The whole check of a real file, through the Rust API and the C ABI:
//! the bytes are written to a file (on tmpfs where there is one), checked,
//! and the C report must be well formed (a NUL-terminated UTF-8 message).

#![no_main]

use libfuzzer_sys::fuzz_target;
use lifesign::check::Verdict;
use lifesign::protocol::{decode, MAX_FILE_BYTES};
use lifesign::{check, CheckOptions};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("lifesign-fuzz-check-{}.json", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    std::fs::write(p, data).expect("the scratch file is writable");
    let rep = check(p, &CheckOptions::default());
    let decodes = data.len() as u64 <= MAX_FILE_BYTES && decode(data).is_ok();
    assert_eq!(rep.verdict == Verdict::Invalid, !decodes, "{}", rep.detail);
    let c_path = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut r = std::mem::MaybeUninit::uninit();
    // SAFETY: report_init writes the whole struct.
    let mut r: lifesign_capi::lifesign_report = unsafe {
        lifesign_capi::lifesign_report_init(r.as_mut_ptr());
        r.assume_init()
    };
    // SAFETY: a valid C string and an initialised report.
    let rc = unsafe { lifesign_capi::lifesign_check(c_path.as_ptr(), 0, 0, &mut r) };
    assert_eq!(rc, 0);
    // SAFETY: the report's message is NUL-terminated within its 256 bytes.
    let msg = unsafe { CStr::from_ptr(r.message.as_ptr()) };
    assert!(msg.to_bytes().len() < 256);
    assert!(msg.to_str().is_ok(), "the C report's message is not UTF-8");
    // SAFETY: the report's detail is NUL-terminated within its 256 bytes.
    let detail = unsafe { CStr::from_ptr(r.detail.as_ptr()) };
    assert!(detail.to_str().is_ok(), "the C report's detail is not UTF-8");
    assert_eq!(r.verdict == Verdict::Invalid.code(), !decodes);
});

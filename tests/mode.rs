//! The heartbeat's mode is exactly the configured one, whatever the umask.
//! (Its own test binary: the umask is process-wide.)

mod common;

use common::TempDir;
use lifesign::{Emitter, Options};
use std::os::unix::fs::PermissionsExt;

#[test]
fn mode_is_exact_whatever_the_umask() {
    // SAFETY: umask has no preconditions; this binary has only this test.
    unsafe { libc::umask(0o077) };
    let d = TempDir::new("mode");
    for (name, mode) in [
        ("default.json", None),
        ("private.json", Some(0o600)),
        ("group.json", Some(0o640)),
    ] {
        let p = d.path(name);
        let opts = {
            let mut o = Options::default();
            o.mode = mode.unwrap_or(lifesign::write::DEFAULT_MODE);
            o
        };
        let e = Emitter::start_with(&p, opts).unwrap();
        e.beat().unwrap();
        let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode.unwrap_or(0o644), "{name}");
        e.stop().unwrap();
    }
    for bad in [0o10000, 0o666, 0o4644, 0o2640, 0o1644, 0o6777] {
        let opts = {
            let mut o = Options::default();
            o.mode = bad;
            o
        };
        let err = Emitter::start_with(d.path("bad.json"), opts)
            .expect_err("a world-writable or special mode is refused");
        assert_eq!(err.kind, lifesign::ErrorKind::InvalidArgument, "{bad:o}");
    }
    assert!(!d.path("bad.json").exists());
}

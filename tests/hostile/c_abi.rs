//! The C ABI given garbage: NULL, non-UTF-8 and out-of-range arguments.

use super::*;

fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(ffi::lifesign_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

#[test]
fn the_c_abi_refuses_null_non_utf8_and_out_of_range_arguments_without_crashing() {
    let d = TempDir::new("cabi");
    let p = c(&d.path("hb.json"));
    let bad_utf8: &[u8] = b"\xff\xfe\0";
    let bad = bad_utf8.as_ptr() as *const c_char;
    let inv = ErrorKind::InvalidArgument.code();
    // SAFETY: every pointer below is NULL, a valid C string, or writable.
    unsafe {
        // Intervals out of range are clamped, not refused.
        for (asked, written) in [(1u32, 10u64), (9, 10), (u32::MAX, 3_600_000), (0, 1000)] {
            let mut e = std::ptr::null_mut();
            assert_eq!(ffi::lifesign_start(p.as_ptr(), asked, &mut e), 0);
            let mut r = report();
            assert_eq!(ffi::lifesign_check(p.as_ptr(), 0, 0, &mut r), 0);
            assert_eq!(r.interval_ms, written, "interval {asked}");
            ffi::lifesign_free(e);
        }
        // Options out of range.
        let mut o: ffi::lifesign_options = std::mem::zeroed();
        ffi::lifesign_options_init(&mut o);
        o.stale_after_ms = u64::MAX;
        let mut e = std::ptr::null_mut();
        assert_eq!(ffi::lifesign_start_with(p.as_ptr(), &o, &mut e), 0);
        let mut r = report();
        assert_eq!(ffi::lifesign_check(p.as_ptr(), 0, 0, &mut r), 0);
        assert_eq!(
            (r.verdict, r.max_age_ms),
            // Written clamped to 2^53 - 1, the largest integer of the protocol.
            (Verdict::Alive.code(), (1u64 << 53) - 1)
        );
        ffi::lifesign_free(e);
        for (field, value) in [
            ("notify_fd", -2i64),
            ("notify_fd", i32::MIN as i64),
            ("mode", 0o10000),
            ("mode", u32::MAX as i64),
            ("flags", 1 << 31),
            ("size", 0),
        ] {
            ffi::lifesign_options_init(&mut o);
            match field {
                "notify_fd" => o.notify_fd = value as i32,
                "mode" => o.mode = value as u32,
                "flags" => o.flags = value as u32,
                _ => o.size = value as u32,
            }
            let mut e = 0x1 as *mut ffi::lifesign_emitter;
            assert_eq!(
                ffi::lifesign_start_with(p.as_ptr(), &o, &mut e),
                inv,
                "{field}={value}"
            );
            assert!(e.is_null(), "{field}={value}: *out is NULL on error");
        }
        // Paths that name no file, or cannot become one.
        std::fs::create_dir_all(d.path("occupied/x")).unwrap();
        for path in [
            "/",
            "..",
            &format!("{}/occupied", d.dir().display()),
            &format!("{}/{}", d.dir().display(), "n".repeat(300)),
        ] {
            let cp = CString::new(path).unwrap();
            let mut e = 0x1 as *mut ffi::lifesign_emitter;
            let rc = ffi::lifesign_start(cp.as_ptr(), 1000, &mut e);
            assert!(rc == inv || rc == ErrorKind::Io.code(), "{path}: {rc}");
            assert!(e.is_null());
            assert!(!last_error().is_empty());
        }
        assert!(temporaries(d.dir()).is_empty());
        // Checks with bad arguments: an error code and a report saying invalid.
        for pid in [-1i64, i64::MIN, i32::MAX as i64 + 1, i64::MAX] {
            let mut r = report();
            r.verdict = Verdict::Alive.code();
            assert_eq!(
                ffi::lifesign_check(p.as_ptr(), 0, pid, &mut r),
                inv,
                "pid {pid}"
            );
            assert_eq!((r.verdict, r.state), (Verdict::Invalid.code(), -1));
            let mut r = report();
            assert_eq!(ffi::lifesign_wait_ready(p.as_ptr(), pid, 0, 1, &mut r), inv);
            assert_eq!(r.verdict, Verdict::Invalid.code());
        }
        let mut r = report();
        assert_eq!(
            ffi::lifesign_check(p.as_ptr(), u64::MAX, i32::MAX as i64, &mut r),
            0
        );
        assert_eq!(r.verdict, Verdict::PidMismatch.code());
        assert_eq!(
            ffi::lifesign_check_stall(p.as_ptr(), 0, 0, u64::MAX, std::ptr::null_mut()),
            inv
        );
        assert_eq!(ffi::lifesign_check_stall(bad, 0, 0, 0, &mut r), inv);
        assert_eq!(ffi::lifesign_is_alive(bad, 0), inv);
        assert_eq!(
            ffi::lifesign_wait_ready_cancel(
                p.as_ptr(),
                0,
                0,
                1,
                std::ptr::null(),
                std::ptr::null_mut()
            ),
            inv
        );
        assert_eq!(
            ffi::lifesign_wait_ready_cancel(bad, 0, 0, 1, std::ptr::null(), &mut r),
            inv
        );
        let long = CString::new(format!("{}/{}", d.dir().display(), "n".repeat(5000))).unwrap();
        assert_eq!(ffi::lifesign_check(long.as_ptr(), 0, 0, &mut r), 0);
        assert_eq!(
            r.verdict,
            Verdict::Invalid.code(),
            "a too-long name is a verdict"
        );
        assert_eq!(ffi::lifesign_is_alive(long.as_ptr(), 0), 0);
        // An emitter given garbage, then used after stop.
        let mut e = std::ptr::null_mut();
        assert_eq!(ffi::lifesign_start(p.as_ptr(), 3_600_000, &mut e), 0);
        for state in [i32::MIN, -1, 5, i32::MAX, State::Stopped.code()] {
            assert_eq!(
                ffi::lifesign_set_state(e, state, std::ptr::null()),
                inv,
                "state {state}"
            );
        }
        assert_eq!(ffi::lifesign_set_state(e, 1, bad), inv);
        assert_eq!(ffi::lifesign_set_meta(e, bad, c"v".as_ptr()), inv);
        assert_eq!(ffi::lifesign_set_meta(e, c"k".as_ptr(), bad), inv);
        assert_eq!(ffi::lifesign_write_failures(e, std::ptr::null_mut()), inv);
        assert_eq!(ffi::lifesign_stop(e), 0);
        let seq_after_stop = {
            let mut r = report();
            ffi::lifesign_check(p.as_ptr(), 0, 0, &mut r);
            r.seq
        };
        for rc in [
            ffi::lifesign_beat(e),
            ffi::lifesign_progress(e),
            ffi::lifesign_set_state(e, 1, c"again".as_ptr()),
            ffi::lifesign_set_meta(e, c"k".as_ptr(), c"v".as_ptr()),
        ] {
            assert_eq!(rc, ErrorKind::State.code());
        }
        let mut n = 7u64;
        assert_eq!(ffi::lifesign_write_failures(e, &mut n), 0);
        assert_eq!(n, 0);
        assert_eq!(ffi::lifesign_stop(e), 0, "stop is idempotent");
        let mut r = report();
        ffi::lifesign_check(p.as_ptr(), 0, 0, &mut r);
        assert_eq!(
            (r.seq, r.verdict),
            (seq_after_stop, Verdict::Stopped.code())
        );
        ffi::lifesign_free(e);
        ffi::lifesign_free(std::ptr::null_mut());
        ffi::lifesign_cancel_free(std::ptr::null_mut());
        // Names of codes out of range.
        for code in [i32::MIN, -8, 10, i32::MAX] {
            for name in [
                ffi::lifesign_verdict_name(code),
                ffi::lifesign_state_name(code),
                ffi::lifesign_shape_name(code),
                ffi::lifesign_error_name(code),
            ] {
                assert_eq!(
                    std::ffi::CStr::from_ptr(name).to_str().unwrap(),
                    "unknown",
                    "code {code}"
                );
            }
        }
        // The last error is per thread.
        assert_eq!(ffi::lifesign_beat(std::ptr::null_mut()), inv);
        let mine = last_error();
        std::thread::spawn(|| {
            ffi::lifesign_check(std::ptr::null(), 0, 0, std::ptr::null_mut());
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), mine);
    }
}

//! Hostile input and hostile neighbours: files no writer of ours produces,
//! things at the path that are not regular files, the C ABI given garbage,
//! planted symlinks, and PIDs that must never be probed or signalled.
//!
//! "Never reads without bound" is measured, not assumed: the bytes a check
//! reads are taken from `/proc/thread-self/io` (`rchar`) around the call.

#[path = "reliability/support.rs"]
mod support;

use lifesign::check::{read_path, Read};
#[cfg(feature = "capi")]
use lifesign::ffi;
use lifesign::protocol::{encode, Record, Shape, State, MAX_FILE_BYTES};
use lifesign::{check, CheckOptions, Emitter, ErrorKind, Options, Verdict};
use serde_json::{json, Value};
#[cfg(feature = "capi")]
use std::ffi::c_char;
use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

const ENTRY: &str = "child_process_entry";

#[test]
#[ignore = "entry point of the child processes that the hostile-input tests start"]
fn child_process_entry() {
    let Some((role, args)) = current_role() else {
        return;
    };
    match role.as_str() {
        "planted" => role_planted(&args),
        "modes" => role_modes(&args),
        "start" => role_start(&args),
        "folders" => role_folders(&args),
        other => panic!("unknown role {other}"),
    }
    finish_role(0)
}

fn now() -> u64 {
    lifesign::check::now_ms()
}

/// A valid heartbeat of a process on another host (no probe), fresh.
fn foreign_record(pid: u32) -> Record {
    Record {
        v: 1,
        pid,
        state: Some(State::Ready),
        seq: 1,
        updated_at_ms: now(),
        interval_ms: Some(3_600_000),
        host: Some("elsewhere.invalid".into()),
        shape: Shape::V1,
        ..Record::default()
    }
}

/// Bytes this thread has read through read(2) and friends so far.
fn thread_rchar() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|v| v.trim().parse().ok())
}

/// Checks `path` and returns the report with the bytes the check read
/// (None where the kernel does not count them).
fn check_counting(path: &Path) -> (lifesign::Report, Option<u64>) {
    let before = thread_rchar();
    let r = check(path, &CheckOptions::default());
    let after = thread_rchar();
    // Reading the counter itself costs a few hundred bytes; allow 8 KiB.
    (r, before.zip(after).map(|(b, a)| a - b))
}

const READ_SLACK: u64 = 8192;

fn assert_invalid(path: &Path, what: &str) -> lifesign::Report {
    let r = within(60, what, {
        let p = path.to_path_buf();
        move || check(&p, &CheckOptions::default())
    });
    assert_eq!(r.verdict, Verdict::Invalid, "{what}: {}", r.detail);
    assert_eq!((r.state, r.pid, r.shape), (None, 0, Shape::None), "{what}");
    r
}

// ---- hostile contents -------------------------------------------------------

fn nested(open: &str, close: &str, depth: usize, inner: &str) -> Vec<u8> {
    let mut s = open.repeat(depth);
    s.push_str(inner);
    s.push_str(&close.repeat(depth));
    s.into_bytes()
}

fn with_field(extra: &str) -> Vec<u8> {
    format!(
        r#"{{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":{},"host":"elsewhere.invalid"{extra}}}"#,
        now()
    )
    .into_bytes()
}

/// Files that are invalid whatever the clock or the machine.
fn invalid_contents() -> Vec<(String, Vec<u8>)> {
    let good = encode(&foreign_record(4242));
    let mut v: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("whitespace".into(), b" \n\t ".to_vec()),
        ("null".into(), b"null".to_vec()),
        ("number".into(), b"42".to_vec()),
        ("string".into(), b"\"ready\"".to_vec()),
        ("array".into(), b"[1,2]".to_vec()),
        ("empty_object".into(), b"{}".to_vec()),
        ("nul_bytes".into(), vec![0; 512]),
        ("nul_after_json".into(), [good.clone(), vec![0]].concat()),
        ("raw_nul_in_string".into(), with_field(",\"message\":\"a\0b\"")),
        ("invalid_utf8".into(), with_field(",\"message\":\"\u{1}\"").iter().map(|&b| if b == 1 { 0xff } else { b }).collect()),
        ("overlong_utf8".into(), [b"{\"v\":1,\"pid\":1,\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":1,\"message\":\"".to_vec(), vec![0xc0, 0xaf], b"\"}".to_vec()].concat()),
        ("surrogate_utf8".into(), [b"{\"v\":1,\"pid\":1,\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":1,\"message\":\"".to_vec(), vec![0xed, 0xa0, 0x80], b"\"}".to_vec()].concat()),
        ("lone_surrogate_escape".into(), with_field(",\"message\":\"\\ud800\"")),
        ("bom".into(), [vec![0xef, 0xbb, 0xbf], good.clone()].concat()),
        ("two_objects".into(), [good.clone(), good.clone()].concat()),
        ("trailing_comma".into(), with_field(",")),
        ("deep_arrays".into(), nested("[", "]", 1_000_000, "")),
        ("deep_objects".into(), nested("{\"a\":", "}", 200_000, "1")),
        ("deep_inside_a_record".into(), with_field(&format!(",\"x\":{}", String::from_utf8(nested("[", "]", 200, "")).unwrap()))),
        ("unclosed_deep".into(), "[".repeat(60_000).into_bytes()),
        ("deep_objects_under_the_size_limit".into(), nested("{\"a\":", "}", 12_000, "1")),
        ("duplicate_pid".into(), with_field(",\"pid\":1")),
        ("duplicate_in_meta".into(), with_field(",\"meta\":{\"a\":\"x\",\"a\":\"y\"}")),
        ("duplicate_deep_in_unknown".into(), with_field(",\"x\":{\"y\":{\"z\":1,\"z\":2}}")),
    ];
    for k in [1, 2, good.len() / 2, good.len() - 1] {
        v.push((format!("truncated_at_{k}"), good[..k].to_vec()));
    }
    for (name, field, value) in [
        ("pid_zero", "pid", "0"),
        ("pid_minus_one", "pid", "-1"),
        ("pid_i32_min", "pid", "-2147483648"),
        ("pid_2_pow_31", "pid", "2147483648"),
        ("pid_u32_max", "pid", "4294967295"),
        ("pid_2_pow_32", "pid", "4294967296"),
        ("pid_float", "pid", "4242.0"),
        ("pid_exponent", "pid", "4.242e3"),
        ("pid_huge_float", "pid", "1e400"),
        ("pid_minus_zero", "pid", "-0"),
        ("pid_string", "pid", "\"4242\""),
        ("pid_null", "pid", "null"),
        ("pid_array", "pid", "[4242]"),
        ("seq_zero", "seq", "0"),
        ("seq_negative", "seq", "-1"),
        ("seq_2_pow_64", "seq", "18446744073709551616"),
        ("seq_float", "seq", "1.5"),
        ("v_zero", "v", "0"),
        ("v_string", "v", "\"1\""),
        ("v_bool", "v", "true"),
        ("v_float", "v", "1.0"),
        ("state_number", "state", "1"),
        ("state_upper", "state", "\"READY\""),
        ("state_null", "state", "null"),
        ("state_unknown", "state", "\"asleep\""),
        ("updated_negative", "updated_at_ms", "-1"),
        ("updated_float", "updated_at_ms", "1.5"),
        (
            "updated_huge",
            "updated_at_ms",
            "340282366920938463463374607431768211456",
        ),
    ] {
        let mut m = serde_json::from_slice::<serde_json::Map<String, Value>>(&good).unwrap();
        m.remove(field);
        let rest = serde_json::to_string(&m).unwrap();
        let body = format!("{{\"{field}\":{value},{}", &rest[1..]);
        v.push((name.into(), body.into_bytes()));
    }
    for (name, extra) in [
        ("boot_id_number", ",\"boot_id\":5"),
        ("message_number", ",\"message\":5"),
        ("message_null", ",\"message\":null"),
        ("meta_array", ",\"meta\":[]"),
        ("meta_nested", ",\"meta\":{\"a\":{\"b\":\"c\"}}"),
        ("meta_number", ",\"meta\":{\"a\":1}"),
        ("interval_negative", ",\"interval_ms\":-5"),
        ("interval_float", ",\"interval_ms\":0.5"),
        ("pid_start_string", ",\"pid_start\":\"7\""),
        ("progress_negative", ",\"progress\":-1"),
    ] {
        v.push((name.into(), with_field(extra)));
    }
    v
}

#[test]
fn hostile_contents_are_invalid_through_every_entry_point_and_never_crash() {
    let d = Scratch::new("contents");
    let cases = invalid_contents();
    for (name, bytes) in &cases {
        std::fs::write(d.path(name), bytes).unwrap();
    }
    #[allow(unused_mut)] // counted only with the C ABI (capi)
    let mut c_checked = 0;
    for (name, _) in &cases {
        let p = d.path(name);
        assert_invalid(&p, name);
        // The same through the C ABI: a verdict, not an error.
        #[cfg(feature = "capi")]
        {
            let cp = CString::new(p.as_os_str().as_bytes()).unwrap();
            let mut r = report();
            // SAFETY: a valid C string and a writable report.
            let rc = unsafe { ffi::lifesign_check(cp.as_ptr(), 0, 0, &mut r) };
            assert_eq!(
                (rc, r.verdict, r.state),
                (0, Verdict::Invalid.code(), -1),
                "{name}"
            );
            c_checked += 1;
        }
    }
    // And the reaper's view of the whole folder: one process, no crash.
    let out = Command::new(cli())
        .args(["scan", "--json"])
        .arg(&d.0)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).expect("scan prints JSON");
    let text = listed.to_string();
    for (name, _) in &cases {
        assert!(text.contains(&format!("/{name}\"")), "scan skipped {name}");
    }
    assert!(
        !text.contains("\"alive\""),
        "scan called something alive: {text}"
    );
    figure(
        "hostile_contents",
        &[
            ("files", cases.len().to_string()),
            ("c_abi_checks", c_checked.to_string()),
            ("crashes", "0".into()),
        ],
    );
}

#[test]
fn odd_but_well_formed_contents_never_crash_the_checker() {
    // Valid or not by the rules, these must give a verdict and nothing else.
    let d = Scratch::new("odd");
    let long = "é".repeat(30_000); // 60,000 bytes: a foreign writer may exceed 4 KiB
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nested_127_in_unknown", with_field(&format!(",\"x\":{}", String::from_utf8(nested("[", "]", 126, "")).unwrap()))),
        ("long_message", with_field(&format!(",\"message\":\"{long}\""))),
        ("escaped_nuls", with_field(&format!(",\"message\":\"{}\"", "\\u0000".repeat(5000)))),
        ("many_unknown_keys", with_field(&(0..3000).map(|i| format!(",\"k{i}\":{i}")).collect::<String>())),
        ("v_u64_max", format!(r#"{{"v":18446744073709551615,"pid":4242,"state":"ready","seq":1,"updated_at_ms":{}}}"#, now()).into_bytes()),
        ("max_everything", br#"{"v":1,"pid":2147483647,"state":"ready","seq":18446744073709551615,"updated_at_ms":18446744073709551615,"interval_ms":18446744073709551615,"stale_after_ms":18446744073709551615,"progress":18446744073709551615,"progress_at_ms":18446744073709551615,"pid_start":18446744073709551615,"pid_ns":18446744073709551615,"host":"elsewhere.invalid"}"#.to_vec()),
        ("zero_times", br#"{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":0,"progress_at_ms":0,"host":"elsewhere.invalid"}"#.to_vec()),
        ("timestamp_far_future", br#"{"pid":4242,"timestamp":"9999-12-31T23:59:60.999999+23:59"}"#.to_vec()),
        ("timestamp_year_0", br#"{"pid":4242,"timestamp":"0000-01-01T00:00:00Z"}"#.to_vec()),
        ("camel_huge", br#"{"pid":4242,"status":"running","updatedAtMs":18446744073709551615}"#.to_vec()),
    ];
    for (name, bytes) in &cases {
        let p = d.path(name);
        std::fs::write(&p, bytes).unwrap();
        for stall in [None, Some(1), Some(u64::MAX)] {
            let opts = CheckOptions {
                max_age_ms: Some(u64::MAX),
                stall_ms: stall,
                ..CheckOptions::default()
            };
            let r = check(&p, &opts);
            assert!(r.message.len() <= MAX_FILE_BYTES as usize, "{name}");
            let _ = (r.verdict, r.age_ms, r.progress_age_ms);
        }
    }
}

// ---- size limits: decided from metadata, read with a bound -------------------

#[test]
fn size_limit_is_exact_and_a_4_gib_sparse_file_is_refused_without_reading_it() {
    let d = Scratch::new("size");
    // A heartbeat padded with spaces to exactly the limit is read; one more
    // byte and it is invalid.
    let mut at_limit = encode(&foreign_record(4242));
    at_limit.resize(MAX_FILE_BYTES as usize, b' ');
    std::fs::write(d.path("at_limit"), &at_limit).unwrap();
    let r = check(d.path("at_limit"), &CheckOptions::default());
    assert_eq!(r.verdict, Verdict::Alive, "{}", r.detail);
    at_limit.push(b' ');
    std::fs::write(d.path("over_limit"), &at_limit).unwrap();
    assert_invalid(&d.path("over_limit"), "one byte over");

    let sparse = d.path("sparse-4g");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(4 << 30).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&sparse).unwrap().len(), 4 << 30);
    let (r, read) = check_counting(&sparse);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.detail.contains("4294967296"), "{}", r.detail);
    match read {
        Some(n) => assert!(n < READ_SLACK, "the checker read {n} bytes of a 4 GiB file"),
        None => eprintln!("no per-thread I/O accounting here: only the verdict was checked"),
    }
    // Through a symlink, and as a 1 TiB file where the filesystem allows it.
    std::os::unix::fs::symlink(&sparse, d.path("link-to-sparse")).unwrap();
    let (r, read) = check_counting(&d.path("link-to-sparse"));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(read.is_none_or(|n| n < READ_SLACK));
    let huge = d.path("sparse-1t");
    if std::fs::File::create(&huge)
        .and_then(|f| f.set_len(1 << 40))
        .is_ok()
    {
        let (r, read) = check_counting(&huge);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert!(read.is_none_or(|n| n < READ_SLACK));
    }
    figure(
        "sparse_4gib",
        &[
            (
                "bytes_read",
                read.map_or("unmeasured".into(), |n| n.to_string()),
            ),
            ("verdict", "invalid".into()),
        ],
    );
}

#[test]
fn files_that_lie_about_their_size_are_read_with_a_bound() {
    let d = Scratch::new("bound");
    // procfs reports size 0 for /proc/kallsyms, yet it holds megabytes:
    // the check reads up to the limit, then stops.
    let proc_file = ["/proc/kallsyms", "/proc/self/pagemap"]
        .into_iter()
        .find(|f| std::fs::File::open(f).is_ok())
        .expect("a procfs file");
    std::os::unix::fs::symlink(proc_file, d.path("procfs")).unwrap();
    let (r, read) = check_counting(&d.path("procfs"));
    assert_eq!(r.verdict, Verdict::Invalid, "{}", r.detail);
    if let Some(n) = read {
        assert!(n <= MAX_FILE_BYTES + 1 + READ_SLACK, "read {n} bytes");
    }
    // A file growing while it is checked: every check ends, reads at most the
    // limit, and says alive (whole, small) or invalid (too big). The grower
    // starts again from a small heartbeat each time it passes 128 KiB, so
    // the size crosses the limit throughout.
    let p = d.path("growing");
    let small = encode(&foreign_record(4242));
    std::fs::write(&p, &small).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let grower = {
        let (p, done) = (p.clone(), done.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            let mut cycles = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                f.set_len(0).unwrap();
                std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(&small).unwrap();
                for _ in 0..32 {
                    f.write_all(&[b' '; 4096]).unwrap();
                }
                cycles += 1;
            }
            cycles
        })
    };
    let (mut alive, mut invalid, mut max_read) = (0, 0, 0);
    for _ in 0..scale(2000, 50_000) {
        let (r, read) = check_counting(&p);
        match r.verdict {
            Verdict::Alive => alive += 1,
            Verdict::Invalid => invalid += 1,
            other => panic!("a growing file read as {other:?}: {}", r.detail),
        }
        max_read = max_read.max(read.unwrap_or(0));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let cycles = grower.join().unwrap();
    assert!(
        max_read <= MAX_FILE_BYTES + 1 + READ_SLACK,
        "read {max_read} bytes"
    );
    figure(
        "lying_sizes",
        &[
            (
                "procfs_bytes_read",
                read.map_or("unmeasured".into(), |n| n.to_string()),
            ),
            ("growing_checks", (alive + invalid).to_string()),
            ("growing_alive", alive.to_string()),
            ("growing_invalid", invalid.to_string()),
            ("grow_cycles", cycles.to_string()),
            ("max_bytes_read_by_one_check", max_read.to_string()),
        ],
    );
}

// ---- things that are not regular files ------------------------------------------

fn mkfifo(p: &Path) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn what_is_not_a_regular_file_is_invalid_or_missing_and_never_blocks() {
    let d = Scratch::new("types");
    // A FIFO nobody writes: opening it for reading would block forever.
    mkfifo(&d.path("fifo"));
    assert_invalid(&d.path("fifo"), "fifo without a writer");
    // A FIFO with a writer pouring data in: never opened, nothing read.
    mkfifo(&d.path("fifo-fed"));
    let mut feeder = Command::new("sh")
        .arg("-c")
        .arg(format!("exec yes > '{}'", d.path("fifo-fed").display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (r, read) = check_counting(&d.path("fifo-fed"));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(read.is_none_or(|n| n < READ_SLACK));
    let _ = feeder.kill();
    let _ = feeder.wait();
    // A folder, a socket, devices through symlinks.
    std::fs::create_dir(d.path("dir")).unwrap();
    assert_invalid(&d.path("dir"), "a folder");
    let _sock = std::os::unix::net::UnixListener::bind(d.path("sock")).unwrap();
    assert_invalid(&d.path("sock"), "a socket");
    for (name, target) in [
        ("zero", "/dev/zero"),
        ("urandom", "/dev/urandom"),
        ("null", "/dev/null"),
    ] {
        std::os::unix::fs::symlink(target, d.path(name)).unwrap();
        let (r, read) = check_counting(&d.path(name));
        assert_eq!(r.verdict, Verdict::Invalid, "{target}");
        assert!(read.is_none_or(|n| n < READ_SLACK), "{target} was read");
    }
    std::os::unix::fs::symlink(d.path("dir"), d.path("link-to-dir")).unwrap();
    assert_invalid(&d.path("link-to-dir"), "a symlink to a folder");
    // Symlinks that lead nowhere.
    std::os::unix::fs::symlink(d.path("nothing-here"), d.path("dangling")).unwrap();
    assert_eq!(
        check(d.path("dangling"), &CheckOptions::default()).verdict,
        Verdict::Missing
    );
    std::os::unix::fs::symlink(d.path("loop-b"), d.path("loop-a")).unwrap();
    std::os::unix::fs::symlink(d.path("loop-a"), d.path("loop-b")).unwrap();
    assert_invalid(&d.path("loop-a"), "a symlink loop");
    std::os::unix::fs::symlink(d.path("self"), d.path("self")).unwrap();
    assert_invalid(&d.path("self"), "a symlink to itself");
    // A chain longer than the kernel follows (40).
    std::fs::write(d.path("chain-end"), encode(&foreign_record(4242))).unwrap();
    let mut prev = d.path("chain-end");
    for i in 0..50 {
        let link = d.path(&format!("chain-{i}"));
        std::os::unix::fs::symlink(&prev, &link).unwrap();
        prev = link;
    }
    assert_invalid(&prev, "a chain of 50 symlinks");
    // A short chain is followed, and the heartbeat behind it is read.
    let behind_links = check(d.path("chain-4"), &CheckOptions::default());
    assert_eq!(
        (behind_links.shape, behind_links.pid),
        (lifesign::Shape::V1, 4242),
        "{}",
        behind_links.detail
    );
    // A path that runs through a file.
    std::fs::write(d.path("plain"), b"x").unwrap();
    assert_invalid(&d.path("plain/hb.json"), "a path through a file");
    // The CLI and the waiter on a FIFO: they answer, they do not hang.
    let fifo = d.path("fifo");
    let out = within(60, "lifesign check on a FIFO", move || {
        Command::new(cli())
            .arg("check")
            .arg(&fifo)
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid"));
    let fifo = d.path("fifo");
    let outcome = within(60, "wait_ready on a FIFO", move || {
        lifesign::wait_ready(
            &fifo,
            &lifesign::WaitOptions {
                timeout: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )
    });
    assert_eq!(outcome.report.verdict, Verdict::Invalid);
}

#[test]
fn a_heartbeat_swapped_for_a_fifo_or_a_device_mid_check_never_blocks_the_checker() {
    let d = Scratch::new("swap");
    let target = d.path("hb.json");
    let good = encode(&foreign_record(4242));
    std::fs::write(&target, &good).unwrap();
    let swaps = scale(3_000, 100_000);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (d, target, done) = (d.0.clone(), target.clone(), done.clone());
        std::thread::spawn(move || {
            for n in 0..swaps {
                let stage = d.join("stage");
                match n % 3 {
                    0 => std::fs::write(&stage, &good).unwrap(),
                    1 => mkfifo(&stage),
                    _ => std::os::unix::fs::symlink("/dev/zero", &stage).unwrap(),
                }
                std::fs::rename(&stage, &target).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    // Checks until the swapper is done; a blocked check would trip the watchdog.
    let p = target.clone();
    let (alive, invalid) = within(300, "checks racing a swapper", move || {
        let (mut alive, mut invalid) = (0u64, 0u64);
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            match check(&p, &CheckOptions::default()).verdict {
                Verdict::Alive => alive += 1,
                Verdict::Invalid => invalid += 1,
                other => panic!("unexpected verdict {other:?}"),
            }
        }
        (alive, invalid)
    });
    swapper.join().unwrap();
    let checks = alive + invalid;
    assert!(
        alive > 0 && invalid > 0,
        "the race never happened: {alive} alive, {invalid} invalid"
    );
    figure(
        "type_swaps",
        &[
            ("checks", checks.to_string()),
            ("swaps", swaps.to_string()),
            ("alive", alive.to_string()),
            ("invalid", invalid.to_string()),
            ("hangs", "0".into()),
        ],
    );
}

// ---- the C ABI given garbage ---------------------------------------------------

#[cfg(feature = "capi")]
fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(ffi::lifesign_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(feature = "capi")]
fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

#[cfg(feature = "capi")]
#[test]
fn the_c_abi_refuses_null_non_utf8_and_out_of_range_arguments_without_crashing() {
    let d = Scratch::new("cabi");
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
            &format!("{}/occupied", d.0.display()),
            &format!("{}/{}", d.0.display(), "n".repeat(300)),
        ] {
            let cp = CString::new(path).unwrap();
            let mut e = 0x1 as *mut ffi::lifesign_emitter;
            let rc = ffi::lifesign_start(cp.as_ptr(), 1000, &mut e);
            assert!(rc == inv || rc == ErrorKind::Io.code(), "{path}: {rc}");
            assert!(e.is_null());
            assert!(!last_error().is_empty());
        }
        assert!(temporaries(&d.0).is_empty());
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
        let long = CString::new(format!("{}/{}", d.0.display(), "n".repeat(5000))).unwrap();
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
        for code in [i32::MIN, -7, 10, i32::MAX] {
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

// ---- security: temporaries, links, modes ---------------------------------------------

/// Waits for "go", then starts an emitter on `path`, retrying while a start
/// fails; reports how it went.
fn role_planted(a: &Value) {
    let path = PathBuf::from(a["path"].as_str().unwrap());
    let attempts = a["attempts"].as_u64().unwrap();
    say("waiting");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let mut failures = 0u64;
    let mut kinds_ok = true;
    let mut first_error = String::from("-");
    let mut emitter = None;
    for _ in 0..attempts {
        match Emitter::start_with(
            &path,
            Options {
                interval: Duration::from_secs(3600),
                log_errors: false,
                ..Options::default()
            },
        ) {
            Ok(e) => {
                emitter = Some(e);
                break;
            }
            Err(err) => {
                failures += 1;
                kinds_ok &= err.kind == ErrorKind::Io;
                if first_error == "-" {
                    first_error = err.message.replace(char::is_whitespace, "_");
                }
            }
        }
    }
    let e = emitter.expect("the emitter started in the end");
    let mut beats = 0;
    for _ in 0..20 {
        if e.beat().is_ok() {
            beats += 1;
        }
    }
    e.stop().unwrap();
    say(&format!(
        "result start_failures={failures} io_errors_only={kinds_ok} beats_ok={beats} first_error={first_error}"
    ));
}

#[test]
fn temporaries_are_never_opened_through_names_planted_in_advance() {
    let d = Scratch::new("planted");
    let victim = d.path("victim.txt");
    std::fs::write(&victim, b"VICTIM-CONTENT").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let victim_before = std::fs::metadata(&victim).unwrap();
    let would_be_created = d.path("created-through-a-dangling-link");
    let hb = d.path("hb.json");
    let planted = scale(64, 512);
    let mut child = RoleChild::spawn(
        ENTRY,
        "planted",
        &json!({ "path": hb, "attempts": planted + 16 }),
    );
    child.expect("waiting");
    let pid = child.pid();
    for n in 0..planted {
        let name = d.path(&format!(".hb.json.lifesign-{pid}-{n}.tmp"));
        match n % 3 {
            0 => std::os::unix::fs::symlink(&victim, &name).unwrap(),
            1 => std::os::unix::fs::symlink(&would_be_created, &name).unwrap(),
            _ => std::fs::hard_link(&victim, &name).unwrap(),
        }
    }
    child.send("go");
    let said = child.finish();
    let line = said.iter().find(|l| l.starts_with("result ")).unwrap();
    let m = fields(line);
    assert_eq!(m["io_errors_only"], "true", "{line}");
    assert_eq!(num(&m, "beats_ok"), 20);
    assert!(num(&m, "start_failures") <= planted, "{line}");
    // The victim is untouched, nothing was created through a dangling link.
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM-CONTENT");
    let after = std::fs::metadata(&victim).unwrap();
    assert_eq!(
        (after.mode(), after.mtime(), after.mtime_nsec(), after.len()),
        (
            victim_before.mode(),
            victim_before.mtime(),
            victim_before.mtime_nsec(),
            victim_before.len()
        )
    );
    assert!(
        !would_be_created.exists(),
        "a write went through a dangling symlink"
    );
    let meta = std::fs::symlink_metadata(&hb).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o644);
    let r = match read_path(&hb) {
        Read::Record(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.pid, r.state), (pid, Some(State::Stopped)));
    let left = temporaries(&d.0).len();
    figure(
        "planted_names",
        &[
            ("planted", planted.to_string()),
            ("start_failures", m["start_failures"].clone()),
            ("victim_changed", "no".into()),
            ("planted_names_left", left.to_string()),
        ],
    );
}

#[test]
fn a_symlink_or_hard_link_at_the_heartbeat_path_is_replaced_never_written_through() {
    let d = Scratch::new("links");
    let victim = d.path("victim.txt");
    std::fs::write(&victim, b"VICTIM").unwrap();
    let hb = d.path("hb.json");
    std::os::unix::fs::symlink(&victim, &hb).unwrap();
    let e = Emitter::start(&hb, Duration::from_secs(3600)).unwrap();
    e.beat().unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert!(std::fs::symlink_metadata(&hb)
        .unwrap()
        .file_type()
        .is_file());
    e.stop().unwrap();
    std::fs::remove_file(&hb).unwrap();
    std::fs::hard_link(&victim, &hb).unwrap();
    let e = Emitter::start(&hb, Duration::from_secs(3600)).unwrap();
    e.stop().unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert_eq!(
        std::fs::metadata(&victim).unwrap().nlink(),
        1,
        "the link was replaced"
    );
    // The shell's one-shot writer too.
    std::fs::remove_file(&hb).unwrap();
    std::os::unix::fs::symlink(&victim, &hb).unwrap();
    let st = Command::new(cli())
        .args(["emit"])
        .arg(&hb)
        .args(["--state", "ready"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert!(std::fs::symlink_metadata(&hb)
        .unwrap()
        .file_type()
        .is_file());
}

/// With umask 0, writes flat out while a lister stats every temporary it
/// catches; reports the modes seen.
fn role_modes(a: &Value) {
    let dir = PathBuf::from(a["dir"].as_str().unwrap());
    // SAFETY: umask has no preconditions; this process is ours alone.
    unsafe { libc::umask(0) };
    for (name, mode) in [
        ("default.json", lifesign::write::DEFAULT_MODE),
        ("private.json", 0o600),
    ] {
        let p = dir.join(name);
        let e = Emitter::start_with(
            &p,
            Options {
                mode,
                interval: Duration::from_secs(3600),
                log_errors: false,
                ..Options::default()
            },
        )
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let caught = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lister = {
            let (dir, stop, caught) = (dir.clone(), stop.clone(), caught.clone());
            std::thread::spawn(move || {
                let mut widest = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for t in temporaries(&dir) {
                        if let Ok(m) = std::fs::symlink_metadata(dir.join(&t)) {
                            caught.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            widest |= m.mode() & 0o7777;
                        }
                    }
                }
                widest
            })
        };
        let mut writes = 0u64;
        // Bounded: stop once the lister caught enough temporaries.
        while writes < 200_000 && caught.load(std::sync::atomic::Ordering::Relaxed) < 50 {
            e.beat().unwrap();
            writes += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let widest = lister.join().unwrap();
        let caught = caught.load(std::sync::atomic::Ordering::Relaxed);
        e.stop().unwrap();
        let final_mode = std::fs::metadata(&p).unwrap().mode() & 0o7777;
        say(&format!(
            "mode name={name} asked={mode:o} final={final_mode:o} temporaries_caught={caught} widest_temporary={widest:o} writes={writes}"
        ));
    }
}

#[test]
fn with_umask_0_heartbeats_and_their_temporaries_are_never_world_writable() {
    // On tmpfs where there is one: writes are fast there, so temporaries are
    // caught sooner.
    let shm = Path::new("/dev/shm");
    let d = if shm.is_dir() {
        Scratch::under(shm, "modes")
    } else {
        Scratch::new("modes")
    };
    let c = RoleChild::spawn(ENTRY, "modes", &json!({ "dir": d.0 }));
    let said = c.finish();
    let lines: Vec<_> = said.iter().filter(|l| l.starts_with("mode ")).collect();
    assert_eq!(lines.len(), 2, "{said:?}");
    for l in lines {
        let m = fields(l);
        let asked = u32::from_str_radix(&m["asked"], 8).unwrap();
        let final_mode = u32::from_str_radix(&m["final"], 8).unwrap();
        let widest = u32::from_str_radix(&m["widest_temporary"], 8).unwrap();
        assert_eq!(final_mode, asked, "{l}");
        assert_eq!(
            widest & !asked,
            0,
            "a temporary had more bits than asked: {l}"
        );
        assert_eq!(widest & 0o002, 0, "a world-writable temporary: {l}");
        assert!(
            num(&m, "temporaries_caught") > 0,
            "no temporary was caught: the test proved nothing: {l}"
        );
        figure(
            "modes_umask_0",
            &[
                ("file", m["name"].clone()),
                ("final", m["final"].clone()),
                ("temporaries_caught", m["temporaries_caught"].clone()),
                ("widest_temporary", m["widest_temporary"].clone()),
            ],
        );
    }
}

/// With umask 0, starts an emitter under folders that do not exist yet,
/// then has it recreate a removed one; reports the folders' modes.
fn role_folders(a: &Value) {
    let base = PathBuf::from(a["dir"].as_str().unwrap());
    // SAFETY: umask has no preconditions; this process is ours alone.
    unsafe { libc::umask(0) };
    let p = base.join("new/sub/hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    std::fs::remove_dir_all(base.join("new/sub")).unwrap();
    e.beat().unwrap();
    e.stop().unwrap();
    let mode = |q: &str| std::fs::metadata(base.join(q)).unwrap().mode() & 0o7777;
    say(&format!(
        "folders new={:o} sub={:o}",
        mode("new"),
        mode("new/sub")
    ));
}

#[test]
fn folders_the_emitter_creates_are_never_world_writable() {
    let d = Scratch::new("folders");
    let c = RoleChild::spawn(ENTRY, "folders", &json!({ "dir": d.0 }));
    let said = c.finish();
    let line = said.iter().find(|l| l.starts_with("folders ")).unwrap();
    for (name, mode) in fields(line) {
        let mode = u32::from_str_radix(&mode, 8).unwrap();
        assert_eq!(mode & 0o002, 0, "folder {name} is world-writable: {mode:o}");
    }
}

// ---- PIDs that must never be probed or signalled -------------------------------------

/// A zombie child of ours: its PID exists, its process is gone.
struct Zombie(std::process::Child);

impl Zombie {
    fn new() -> Zombie {
        let child = Command::new("true").spawn().unwrap();
        // SAFETY: observes our own child without reaping it.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                child.id(),
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            );
        }
        Zombie(child)
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Zombie {
    fn drop(&mut self) {
        let _ = self.0.wait();
    }
}

fn local_record(pid: u32, start: Option<u64>) -> Record {
    let id = lifesign::process::identity();
    Record {
        v: 1,
        pid,
        state: Some(State::Ready),
        seq: 1,
        updated_at_ms: now(),
        interval_ms: Some(3_600_000),
        host: id.host.clone(),
        boot_id: id.boot_id.clone(),
        pid_ns: id.pid_ns,
        pid_start: start,
        shape: Shape::V1,
        ..Record::default()
    }
}

#[test]
fn a_file_from_another_host_namespace_or_boot_is_never_probed() {
    let d = Scratch::new("noprobe");
    let z = Zombie::new();
    let (start, zombie) = lifesign::process::stat_of(z.pid()).expect("the zombie's stat");
    assert!(zombie);
    let write = |name: &str, r: &Record| {
        let p = d.path(name);
        std::fs::write(&p, encode(r)).unwrap();
        check(&p, &CheckOptions::default())
    };
    // Control: written here, the probe finds the zombie and says gone.
    let r = write("here.json", &local_record(z.pid(), Some(start)));
    assert_eq!(r.verdict, Verdict::ProcessGone, "{}", r.detail);
    // Another host or PID namespace naming the same PID: no probe, so the
    // zombie is not seen and the fresh file is alive.
    let mut other_host = local_record(z.pid(), Some(start));
    other_host.host = Some("elsewhere.invalid".into());
    let r = write("other-host.json", &other_host);
    assert_eq!((r.verdict, r.detail.as_str()), (Verdict::Alive, ""));
    let mut other_ns = local_record(z.pid(), Some(start));
    other_ns.pid_ns = other_ns.pid_ns.map(|n| n ^ 1);
    let r = write("other-ns.json", &other_ns);
    assert_eq!((r.verdict, r.detail.as_str()), (Verdict::Alive, ""));
    // An earlier boot naming a live PID (ours): gone by the boot rule, before
    // any probe could say the PID is running.
    let mut other_boot = local_record(std::process::id(), lifesign::process::own_start_time());
    other_boot.boot_id = Some("00000000-0000-0000-0000-000000000000".into());
    let r = write("other-boot.json", &other_boot);
    assert_eq!(r.verdict, Verdict::ProcessGone);
    assert_eq!(r.detail, "written during an earlier boot");
}

/// Starts (and stops) one emitter on `path`; used under strace.
fn role_start(a: &Value) {
    let p = PathBuf::from(a["path"].as_str().unwrap());
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.stop().unwrap();
    say("ok");
}

/// The first integer argument of each traced call of `name`, e.g.
/// `1234  kill(-1, SIG_0) = 0` gives -1 for "kill".
fn first_args(trace: &str, name: &str) -> Vec<i64> {
    let needle = format!("{name}(");
    trace
        .lines()
        .filter_map(|l| {
            let at = l.find(&needle)?;
            // Only the call itself, not a longer name that ends the same.
            if at > 0 && l.as_bytes()[at - 1].is_ascii_alphanumeric() || l[..at].ends_with('_') {
                return None;
            }
            let rest = &l[at + needle.len()..];
            let end = rest.find([',', ')'])?;
            rest[..end].trim().parse().ok()
        })
        .collect()
}

#[test]
fn no_signal_or_pidfd_ever_names_a_pid_below_1_or_a_foreign_writer() {
    let strace_ok = Command::new("strace")
        .args(["-qq", "-e", "trace=none", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let d = Scratch::new("strace");
    let z = Zombie::new();
    let (start, _) = lifesign::process::stat_of(z.pid()).unwrap();
    let mut foreign = local_record(z.pid(), Some(start));
    foreign.host = Some("elsewhere.invalid".into());
    std::fs::write(d.path("foreign-host.json"), encode(&foreign)).unwrap();
    let mut other_ns = local_record(z.pid(), Some(start));
    other_ns.pid_ns = other_ns.pid_ns.map(|n| n ^ 1);
    std::fs::write(d.path("foreign-ns.json"), encode(&other_ns)).unwrap();
    // A file naming this test process: the probe must be seen in the trace,
    // or the trace proves nothing.
    std::fs::write(
        d.path("self.json"),
        encode(&local_record(
            std::process::id(),
            lifesign::process::own_start_time(),
        )),
    )
    .unwrap();
    for (name, pid) in [
        ("pid-0.json", "0"),
        ("pid-minus-1.json", "-1"),
        ("pid-u32-max.json", "4294967295"),
        ("pid-i32-min.json", "-2147483648"),
    ] {
        std::fs::write(
            d.path(name),
            format!(
                r#"{{"v":1,"pid":{pid},"state":"ready","seq":1,"updated_at_ms":{}}}"#,
                now()
            ),
        )
        .unwrap();
    }
    // Temporaries whose writer PID would be 0, -1 or i32::MIN if cast to
    // pid_t, and one that is not a writer's name at all.
    let temps = [
        (".hb.json.lifesign-0-1.tmp", true),
        (".hb.json.lifesign-4294967295-1.tmp", true),
        (".hb.json.lifesign-2147483648-1.tmp", true),
        (".hb.json.lifesign--1-1.tmp", false),
        // A positive PID above pid_max: dead, asked about with kill(pid, 0),
        // which shows that the trace sees kill calls.
        (".hb.json.lifesign-2147483646-1.tmp", true),
    ];
    for (t, _) in temps {
        std::fs::write(d.path(t), b"{").unwrap();
    }
    let hb = d.path("hb.json");
    let trace = d.path("trace.txt");
    let traced = |cmd: &mut Command| {
        if strace_ok {
            let prog = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let envs: Vec<_> = cmd
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
                .collect();
            let mut s = Command::new("strace");
            s.args(["-f", "-qq", "-a", "0", "-e", "signal=none", "-e"])
                .arg("trace=kill,tkill,tgkill,pidfd_open,pidfd_send_signal,rt_sigqueueinfo")
                .arg("-o")
                .arg(format!("{}.{}", trace.display(), std::process::id()))
                .arg("-A")
                .arg(prog)
                .args(args)
                .envs(envs);
            let out = s.output().unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        } else {
            let out = cmd.output().unwrap();
            assert!(out.status.success() || out.status.code() == Some(1));
            out
        }
    };
    let mut scan = Command::new(cli());
    scan.args(["scan", "--json"]).arg(&d.0);
    let out = traced(&mut scan);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    for name in ["foreign-host.json", "foreign-ns.json"] {
        assert!(listed.contains(name));
    }
    let mut emit = Command::new(cli());
    emit.arg("emit").arg(&hb).args(["--state", "ready"]);
    traced(&mut emit);
    // The library's own start: it cleans temporaries of dead writers.
    let mut start = role_command(ENTRY, "start", &json!({ "path": hb }), false);
    traced(&mut start);
    for (t, removed) in temps {
        assert_eq!(
            !d.path(t).exists(),
            removed,
            "{t}: a writer PID outside 1..=i32::MAX is dead without asking kill()"
        );
    }
    if !strace_ok {
        eprintln!("skipped the syscall trace: strace is not usable here (the verdict and clean-up checks ran)");
        return;
    }
    let text =
        std::fs::read_to_string(format!("{}.{}", trace.display(), std::process::id())).unwrap();
    let kills: Vec<i64> = ["kill", "tkill", "tgkill", "rt_sigqueueinfo"]
        .iter()
        .flat_map(|n| first_args(&text, n))
        .collect();
    let pidfds = first_args(&text, "pidfd_open");
    for p in kills.iter().chain(&pidfds) {
        assert!(*p > 0, "a signal or pidfd named pid {p}:\n{text}");
        assert_ne!(
            *p,
            i64::from(z.pid()),
            "a foreign writer's pid was probed:\n{text}"
        );
    }
    assert!(
        pidfds.contains(&i64::from(std::process::id())),
        "the trace did not see the probe of a local file:\n{text}"
    );
    assert!(
        kills.contains(&2_147_483_646),
        "the trace did not see the existence test of a dead writer:\n{text}"
    );
    figure(
        "syscall_trace",
        &[
            ("kill_calls", kills.len().to_string()),
            ("pidfd_open_calls", pidfds.len().to_string()),
            ("pids_below_1", "0".into()),
            ("foreign_pids_probed", "0".into()),
        ],
    );
}

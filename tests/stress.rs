//! Stress and fault tests: torn reads under a writer going flat out, writers
//! killed with SIGKILL at random moments, many writers in one folder, one
//! handle shared by many threads, a fork, and filesystem faults (a full
//! filesystem, a read-only one, a folder removed under the emitter).
//!
//! Every reader, writer and victim is a real process: this test binary run
//! in a *role* (see tests/reliability/support.rs). The default run is short;
//! `LIFESIGN_STRESS=long` (tests/reliability/run.sh) runs the long form and
//! prints the figures recorded in docs/RELIABILITY.md.

#[path = "reliability/support.rs"]
mod support;

use lifesign::check::{read_path, Read};
#[cfg(feature = "capi")]
use lifesign::ffi;
use lifesign::{check, CheckOptions, Emitter, ErrorKind, Options, State, Verdict};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;
use support::*;

/// The entry test that child processes run (see support.rs).
const ENTRY: &str = "child_process_entry";

#[test]
#[ignore = "entry point of the child processes that the stress tests start"]
fn child_process_entry() {
    let Some((role, args)) = current_role() else {
        return;
    };
    match role.as_str() {
        "writer" => role_writer(&args),
        "reader" => role_reader(&args),
        "faults" => role_faults(&args),
        "fsize" => role_file_size_limit(&args),
        "fork" => role_fork(&args),
        other => panic!("unknown role {other}"),
    }
    finish_role(0)
}

// ---- small helpers ---------------------------------------------------------

fn record(path: &Path) -> lifesign::Record {
    match read_path(path) {
        Read::Record(r) => r,
        other => panic!("{} is not a heartbeat: {other:?}", path.display()),
    }
}

fn arg_path(a: &Value, k: &str) -> PathBuf {
    PathBuf::from(
        a[k].as_str()
            .unwrap_or_else(|| panic!("argument {k} missing")),
    )
}

/// A small deterministic generator (xorshift64*), seeded per run; the seed
/// is printed so that a failing sequence can be replayed with
/// `LIFESIGN_STRESS_SEED`.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("LIFESIGN_STRESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("{test}: LIFESIGN_STRESS_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// SIGKILL, then wait until the child has exited without reaping it.
fn kill_and_leave_zombie(pid: u32) {
    // SAFETY: signals and observes our own unreaped child.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT);
    }
}

// ---- roles -----------------------------------------------------------------

/// Starts an emitter on `path`, says `started`, then writes as fast as it
/// can (messages of varying length, so that the file size changes on every
/// write) until its stdin closes; then stops and says `done`.
fn role_writer(a: &Value) {
    let path = arg_path(a, "path");
    let opts = Options {
        interval: Duration::from_millis(a["interval_ms"].as_u64().unwrap_or(3_600_000)),
        durable: a["durable"].as_bool().unwrap_or(false),
        log_errors: false,
        ..Options::default()
    };
    let e = match Emitter::start_with(&path, opts) {
        Ok(e) => e,
        Err(err) => {
            say(&format!("err {err}"));
            finish_role(1)
        }
    };
    say(&format!("started pid={}", std::process::id()));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let r = match i % 4 {
            0 => e.beat(),
            1 => e.progress().and_then(|()| e.beat()),
            _ => {
                let len = (i.wrapping_mul(7919) % 3000) as usize;
                let c = char::from(b'a' + (i % 26) as u8);
                e.set_state(State::Ready, Some(&c.to_string().repeat(len)))
            }
        };
        if r.is_ok() {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    let stopped = e.stop().is_ok();
    say(&format!(
        "done beats={ok} failures={failed} stopped={stopped}"
    ));
}

/// Checks the given paths in turn, `reads` times in all, through the Rust
/// API or the C ABI, and tallies the verdicts.
fn role_reader(a: &Value) {
    let paths: Vec<PathBuf> = a["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    let c_paths: Vec<CString> = paths
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).unwrap())
        .collect();
    let reads = a["reads"].as_u64().unwrap();
    let via_c = a["api"].as_str() == Some("c");
    let monotonic = a["monotonic"].as_bool().unwrap_or(false);
    let mut tally: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut last: Vec<Option<u64>> = vec![None; paths.len()];
    let (mut regressions, mut changes) = (0u64, 0u64);
    let mut first_bad = String::from("-");
    for i in 0..reads {
        let k = (i as usize) % paths.len();
        let (verdict, seq, detail) = if via_c {
            check_via_c(&c_paths[k])
        } else {
            let r = check(&paths[k], &CheckOptions::default());
            (r.verdict, r.seq, r.detail)
        };
        *tally.entry(verdict.as_str()).or_default() += 1;
        if verdict == Verdict::Alive {
            if let Some(prev) = last[k] {
                if seq != prev {
                    changes += 1;
                }
                if monotonic && seq < prev {
                    regressions += 1;
                }
            }
            last[k] = Some(seq);
        } else if first_bad == "-" {
            first_bad = format!("{}:{}:{detail}", paths[k].display(), verdict.as_str())
                .replace(char::is_whitespace, "_");
        }
    }
    let get = |k: &str| tally.get(k).copied().unwrap_or(0);
    let other: u64 = tally
        .iter()
        .filter(|(k, _)| !["alive", "invalid", "missing"].contains(k))
        .map(|(_, v)| v)
        .sum();
    say(&format!(
        "result reads={reads} alive={} invalid={} missing={} other={other} regressions={regressions} changes={changes} first_bad={first_bad}",
        get("alive"),
        get("invalid"),
        get("missing"),
    ));
}

// ---- torn reads ------------------------------------------------------------

struct Totals {
    reads: u64,
    alive: u64,
    invalid: u64,
    missing: u64,
    other: u64,
    regressions: u64,
    changes: u64,
    first_bad: Vec<String>,
}

fn run_readers(paths: &[PathBuf], processes: u64, reads: u64, monotonic: bool) -> Totals {
    let children: Vec<RoleChild> = (0..processes)
        .map(|i| {
            RoleChild::spawn(
                ENTRY,
                "reader",
                &json!({
                    "paths": paths,
                    "reads": reads,
                    "api": if i % 2 == 1 && cfg!(feature = "capi") { "c" } else { "rust" },
                    "monotonic": monotonic,
                }),
            )
        })
        .collect();
    let mut t = Totals {
        reads: 0,
        alive: 0,
        invalid: 0,
        missing: 0,
        other: 0,
        regressions: 0,
        changes: 0,
        first_bad: Vec::new(),
    };
    for c in children {
        let lines = c.finish();
        let line = lines
            .iter()
            .find(|l| l.starts_with("result "))
            .expect("a reader result");
        let m = fields(line);
        t.reads += num(&m, "reads");
        t.alive += num(&m, "alive");
        t.invalid += num(&m, "invalid");
        t.missing += num(&m, "missing");
        t.other += num(&m, "other");
        t.regressions += num(&m, "regressions");
        t.changes += num(&m, "changes");
        if m["first_bad"] != "-" {
            t.first_bad.push(m["first_bad"].clone());
        }
    }
    t
}

/// Runs `lifesign check FILE --json` `n` times; returns (runs, alive, invalid).
fn cli_reads(path: &Path, n: u64) -> (u64, u64, u64) {
    let (mut alive, mut invalid) = (0, 0);
    for _ in 0..n {
        let out = Command::new(cli())
            .args(["check", "--json"])
            .arg(path)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        match v["verdict"].as_str() {
            Some("alive") => {
                assert_eq!(out.status.code(), Some(0));
                alive += 1
            }
            Some("invalid") => invalid += 1,
            other => panic!("the CLI saw {other:?}: {v}"),
        }
    }
    (n, alive, invalid)
}

fn torn_reads_in(base: &Path, label: &str) {
    let d = Scratch::under(base, "torn");
    let path = d.path("hb.json");
    let mut w = RoleChild::spawn(ENTRY, "writer", &json!({ "path": path }));
    w.expect("started");
    let processes = scale(3, 4);
    let reads = scale(15_000, 300_000);
    let cli_path = path.clone();
    let cli = std::thread::spawn(move || cli_reads(&cli_path, scale(30, 1000)));
    let t = run_readers(std::slice::from_ref(&path), processes, reads, true);
    let (cli_runs, cli_alive, cli_invalid) = cli.join().unwrap();
    let done = w.finish();
    let beats = done
        .iter()
        .find(|l| l.starts_with("done "))
        .map(|l| num(&fields(l), "beats"))
        .expect("the writer's figures");
    figure(
        &format!("torn_reads_{label}"),
        &[
            ("reader_processes", processes.to_string()),
            ("reads", t.reads.to_string()),
            ("cli_reads", cli_runs.to_string()),
            ("invalid", (t.invalid + cli_invalid).to_string()),
            ("missing", t.missing.to_string()),
            ("other", t.other.to_string()),
            ("seq_regressions", t.regressions.to_string()),
            ("seq_changes_seen", t.changes.to_string()),
            ("writes", beats.to_string()),
        ],
    );
    assert_eq!(t.invalid + cli_invalid, 0, "torn reads: {:?}", t.first_bad);
    assert_eq!(t.missing + t.other, 0, "not alive: {:?}", t.first_bad);
    assert_eq!(t.alive, t.reads);
    assert_eq!(cli_alive, cli_runs);
    assert_eq!(t.regressions, 0, "a reader saw seq go back");
    assert!(
        t.changes > 0,
        "the readers never saw a new write: the test proved nothing"
    );
    assert!(beats > 0);
}

#[test]
fn no_reader_process_ever_sees_a_torn_heartbeat_on_the_temporary_folder() {
    torn_reads_in(&std::env::temp_dir(), "tmpdir");
}

#[test]
fn no_reader_process_ever_sees_a_torn_heartbeat_on_tmpfs() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("skipped: /dev/shm is not here (the temporary-folder variant still runs)");
        return;
    }
    torn_reads_in(shm, "dev_shm");
}

// ---- SIGKILL at random moments ------------------------------------------------

#[test]
fn a_writer_killed_at_random_moments_leaves_a_whole_heartbeat_read_as_process_gone() {
    let d = Scratch::new("kill");
    let path = d.path("hb.json");
    let mut rng = Rng::seeded("kill");
    let iterations = scale(100, 1000);
    let mut writers: HashSet<u32> = HashSet::new();
    let mut ever_written = false;
    let mut leftovers: Vec<String> = Vec::new();
    let (mut early, mut zombie_checks, mut orphans_seen, mut orphans_cleaned) = (0, 0, 0, 0);
    let mut scans = 0;
    for i in 0..iterations {
        let mut w = RoleChild::spawn(
            ENTRY,
            "writer",
            &json!({ "path": path, "durable": i % 2 == 1 }),
        );
        let pid = w.pid();
        writers.insert(pid);
        let kill_early = rng.below(4) == 0;
        if kill_early {
            early += 1;
            std::thread::sleep(Duration::from_micros(rng.below(5_000)));
        } else {
            w.expect("started");
            ever_written = true;
            // The new emitter removed what killed writers left behind
            // (unless the PID of their writer is alive again).
            for name in leftovers.drain(..) {
                let writer = lifesign::write::temp_writer_pid(name.as_bytes()).unwrap();
                if writer != pid && !Path::new(&format!("/proc/{writer}")).exists() {
                    assert!(
                        !d.path(&name).exists(),
                        "the temporary {name} of a dead writer survived a new start"
                    );
                    orphans_cleaned += 1;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        kill_and_leave_zombie(pid);
        let keep_zombie = i % 3 == 0;
        if !keep_zombie {
            w.child.wait().unwrap();
        }
        match read_path(&path) {
            Read::Record(r) => {
                assert!(
                    writers.contains(&r.pid),
                    "kill #{i}: the file names pid {}, no writer of ours",
                    r.pid
                );
                if !kill_early {
                    assert_eq!(
                        r.pid, pid,
                        "kill #{i}: the started writer's heartbeat is gone"
                    );
                }
                ever_written = true;
                let rep = check(&path, &CheckOptions::default());
                assert_eq!(
                    rep.verdict,
                    Verdict::ProcessGone,
                    "kill #{i} (zombie: {keep_zombie}): {}",
                    rep.detail
                );
                zombie_checks += u64::from(keep_zombie);
            }
            Read::Missing => assert!(!ever_written, "kill #{i}: a written heartbeat vanished"),
            Read::Invalid(why) => panic!("kill #{i}: a torn heartbeat after SIGKILL: {why}"),
        }
        if keep_zombie {
            w.child.wait().unwrap();
        }
        let temps = temporaries(&d.0);
        orphans_seen += temps.len();
        if !temps.is_empty() && scans < 3 {
            // A temporary is never reported as a heartbeat by the reaper's view.
            scans += 1;
            let out = Command::new(cli())
                .args(["scan", "--json"])
                .arg(&d.0)
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&out.stdout);
            for t in &temps {
                assert!(
                    !listed.contains(t.as_str()),
                    "scan listed the temporary {t}: {listed}"
                );
            }
        }
        for t in temps {
            if !leftovers.contains(&t) {
                leftovers.push(t);
            }
        }
    }
    // The next emitter on the path cleans up and is alive.
    let e = Emitter::start(&path, Duration::from_secs(3600)).unwrap();
    for name in temporaries(&d.0) {
        let writer = lifesign::write::temp_writer_pid(name.as_bytes()).unwrap();
        assert!(
            Path::new(&format!("/proc/{writer}")).exists(),
            "{name}: the temporary of a dead writer survived a new start"
        );
    }
    assert!(check(&path, &CheckOptions::default()).is_alive());
    e.stop().unwrap();
    figure(
        "sigkill",
        &[
            ("kills", iterations.to_string()),
            ("kills_during_start", early.to_string()),
            ("checks_of_zombies", zombie_checks.to_string()),
            ("torn_files", "0".into()),
            ("verdict_not_process_gone", "0".into()),
            (
                "temporaries_left_by_killed_writers",
                orphans_seen.to_string(),
            ),
            (
                "verified_removed_by_next_start",
                orphans_cleaned.to_string(),
            ),
        ],
    );
}

// ---- many writers ------------------------------------------------------------

#[test]
fn many_emitters_in_one_folder_and_two_on_one_path_never_tear_a_file() {
    let d = Scratch::new("many");
    let own = scale(6, 12);
    let mut paths: Vec<PathBuf> = (0..own).map(|i| d.path(&format!("w{i}.json"))).collect();
    let shared = d.path("shared.json");
    let mut writers: Vec<(PathBuf, RoleChild)> = Vec::new();
    for p in paths.iter().chain([&shared, &shared]) {
        let mut w = RoleChild::spawn(ENTRY, "writer", &json!({ "path": p }));
        w.expect("started");
        writers.push((p.clone(), w));
    }
    paths.push(shared.clone());
    let t = run_readers(&paths, 2, scale(10_000, 200_000), false);
    let shared_pids: Vec<u32> = writers
        .iter()
        .filter(|(p, _)| *p == shared)
        .map(|(_, w)| w.pid())
        .collect();
    let mut total_writes = 0;
    for (p, w) in writers {
        let pid = w.pid();
        let done = w.finish();
        let line = done.iter().find(|l| l.starts_with("done ")).unwrap();
        total_writes += num(&fields(line), "beats");
        let r = record(&p);
        if p == shared {
            assert!(shared_pids.contains(&r.pid));
        } else {
            assert_eq!((r.pid, r.state), (pid, Some(State::Stopped)));
        }
    }
    assert_eq!(record(&shared).state, Some(State::Stopped));
    assert!(temporaries(&d.0).is_empty(), "{:?}", temporaries(&d.0));
    figure(
        "many_writers",
        &[
            ("writer_processes", (own + 2).to_string()),
            ("writes", total_writes.to_string()),
            ("reads", t.reads.to_string()),
            ("invalid", t.invalid.to_string()),
            ("not_alive", (t.missing + t.other).to_string()),
        ],
    );
    assert_eq!(t.invalid, 0, "torn reads: {:?}", t.first_bad);
    assert_eq!(t.alive, t.reads, "{:?}", t.first_bad);
    assert!(t.changes > 0, "the readers never saw a new write");
}

// ---- one handle, many threads ------------------------------------------------

#[test]
fn one_handle_shared_by_threads_never_deadlocks_and_ends_stopped() {
    let d = Scratch::new("threads");
    let rounds = scale(20, 400);
    let mut ops_total = 0u64;
    for round in 0..rounds {
        let p = d.path("hb.json");
        let ops = within(120, "a round of racing calls", move || {
            let e = Arc::new(
                Emitter::start_with(
                    &p,
                    Options {
                        interval: Duration::from_millis(10),
                        log_errors: false,
                        ..Options::default()
                    },
                )
                .unwrap(),
            );
            let threads = 6;
            let start = Arc::new(Barrier::new(threads));
            let count = Arc::new(AtomicU64::new(0));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (e, start, count) =
                        (Arc::clone(&e), Arc::clone(&start), Arc::clone(&count));
                    std::thread::spawn(move || {
                        start.wait();
                        let mut stopped_here = false;
                        for n in 0..200usize {
                            let r = match (n + t) % 6 {
                                0 => e.beat(),
                                1 => e.progress(),
                                2 => e.set_state(State::Ready, Some("busy")),
                                3 => e.set_state(State::Failed, Some("racing")),
                                4 => e.set_meta("n", Some(&n.to_string())),
                                _ if t == round as usize % threads
                                    && n == 100 + round as usize % 50 =>
                                {
                                    let r = e.stop();
                                    stopped_here = r.is_ok();
                                    r
                                }
                                _ => e.beat(),
                            };
                            count.fetch_add(1, Ordering::Relaxed);
                            if stopped_here && n > 100 + round as usize % 50 {
                                // After our stop returned, every call is refused.
                                match &r {
                                    Err(err) => assert_eq!(err.kind, ErrorKind::State, "{err}"),
                                    Ok(()) => panic!("call {n} succeeded after stop"),
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("no thread panicked");
            }
            e.stop().unwrap();
            let r = record(&p);
            assert_eq!(r.state, Some(State::Stopped), "the final state was lost");
            assert_eq!(e.beat().unwrap_err().kind, ErrorKind::State);
            assert_eq!(record(&p).seq, r.seq, "a write landed after stop");
            count.load(Ordering::Relaxed)
        });
        ops_total += ops;
    }
    figure(
        "one_handle_threads",
        &[
            ("rounds", rounds.to_string()),
            ("threads", "6".into()),
            ("calls", ops_total.to_string()),
            ("deadlocks", "0".into()),
            ("lost_final_states", "0".into()),
        ],
    );
}

/// A check through the C ABI: the verdict, the seq and the reason.
#[cfg(feature = "capi")]
fn check_via_c(path: &CString) -> (Verdict, u64, String) {
    let mut r = report();
    // SAFETY: a valid C string and an initialised report.
    let rc = unsafe { ffi::lifesign_check(path.as_ptr(), 0, 0, &mut r) };
    assert_eq!(rc, 0);
    let v = Verdict::from_code(r.verdict).expect("a known verdict");
    // SAFETY: the library NUL-terminates detail.
    let detail = unsafe { std::ffi::CStr::from_ptr(r.detail.as_ptr()) };
    (v, r.seq, detail.to_string_lossy().into_owned())
}

#[cfg(not(feature = "capi"))]
fn check_via_c(_: &CString) -> (Verdict, u64, String) {
    panic!("the C ABI readers need the capi feature")
}

/// A C handle as a value that threads may share (the C ABI is thread-safe).
#[cfg(feature = "capi")]
#[derive(Clone, Copy)]
struct Handle(*mut ffi::lifesign_emitter);
// SAFETY: every lifesign_* call on a live handle is thread-safe (header).
#[cfg(feature = "capi")]
unsafe impl Send for Handle {}
// SAFETY: as above.
#[cfg(feature = "capi")]
unsafe impl Sync for Handle {}

#[cfg(feature = "capi")]
#[test]
fn one_c_handle_shared_by_threads_never_deadlocks_and_ends_stopped() {
    let d = Scratch::new("cthreads");
    let rounds = scale(20, 400);
    let path = CString::new(d.path("hb.json").as_os_str().as_bytes()).unwrap();
    let p = d.path("hb.json");
    for round in 0..rounds {
        let path = path.clone();
        let p = p.clone();
        within(120, "a round of racing C calls", move || {
            let mut raw = std::ptr::null_mut();
            // SAFETY: valid C string and out pointer.
            assert_eq!(
                unsafe { ffi::lifesign_start(path.as_ptr(), 10, &mut raw) },
                0
            );
            let h = Handle(raw);
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    std::thread::spawn(move || {
                        let h = h;
                        for n in 0..150 {
                            // SAFETY: the handle stays live until every thread is joined.
                            let rc = unsafe {
                                match (n + t) % 5 {
                                    0 => ffi::lifesign_beat(h.0),
                                    1 => ffi::lifesign_progress(h.0),
                                    2 => ffi::lifesign_set_state(h.0, 1, c"ok".as_ptr()),
                                    3 => ffi::lifesign_set_meta(h.0, c"k".as_ptr(), c"v".as_ptr()),
                                    _ if n == 75 + round % 20 => ffi::lifesign_stop(h.0),
                                    _ => ffi::lifesign_beat(h.0),
                                }
                            };
                            assert!(
                                rc == 0 || rc == ErrorKind::State.code(),
                                "unexpected code {rc}"
                            );
                        }
                    })
                })
                .collect();
            for t in handles {
                t.join().expect("no thread panicked");
            }
            // SAFETY: no other thread uses the handle any more.
            unsafe {
                assert_eq!(ffi::lifesign_stop(h.0), 0);
                ffi::lifesign_free(h.0);
            }
            assert_eq!(record(&p).state, Some(State::Stopped));
        });
    }
}

// ---- fork ----------------------------------------------------------------------

/// In a fresh process: an emitter, a fork; the child is refused the parent's
/// emitter, but starts its own; the parent's thread keeps refreshing.
fn role_fork(a: &Value) {
    let p = arg_path(a, "parent");
    let q = arg_path(a, "child");
    let e = Emitter::start_with(
        &p,
        Options {
            interval: Duration::from_millis(10),
            log_errors: false,
            ..Options::default()
        },
    )
    .unwrap();
    // SAFETY: the child only calls the emitter API and then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let refused =
            |r: lifesign::Result<()>| matches!(r, Err(ref x) if x.kind == ErrorKind::State);
        let mut code = 0;
        if !(refused(e.beat())
            && refused(e.progress())
            && refused(e.set_state(State::Failed, Some("child")))
            && refused(e.set_meta("who", Some("child")))
            && refused(e.stop()))
        {
            code = 1;
        }
        match Emitter::start(&q, Duration::from_secs(3600)) {
            Ok(own) => {
                if own.set_state(State::Ready, None).is_err() || own.stop().is_err() {
                    code = 2;
                }
            }
            Err(_) => code = 3,
        }
        drop(e); // releases memory only
                 // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child saw a wrong answer");
    let theirs = record(&q);
    assert_eq!(
        (theirs.pid, theirs.state),
        (pid as u32, Some(State::Stopped))
    );
    let mine = record(&p);
    assert_eq!(mine.pid, std::process::id());
    assert_ne!(
        mine.state,
        Some(State::Failed),
        "the child wrote the parent's file"
    );
    // The parent's refresh thread goes on (bounded wait: only a dead thread fails).
    let mut later = mine.seq;
    for _ in 0..6000 {
        later = record(&p).seq;
        if later >= mine.seq + 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        later >= mine.seq + 3,
        "the parent's thread stopped refreshing"
    );
    e.stop().unwrap();
    say("ok");
}

#[test]
fn after_fork_the_child_starts_its_own_emitter_and_the_parents_thread_keeps_writing() {
    let d = Scratch::new("fork");
    let c = RoleChild::spawn(
        ENTRY,
        "fork",
        &json!({ "parent": d.path("parent.json"), "child": d.path("child.json") }),
    );
    let said = c.finish();
    assert!(said.iter().any(|l| l == "ok"), "{said:?}");
}

// ---- filesystem faults ------------------------------------------------------------

type Seen = Arc<Mutex<Vec<String>>>;

fn emitter_with_errors(path: &Path, interval: Duration) -> (Emitter, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let e = Emitter::start_with(
        path,
        Options {
            interval,
            log_errors: false,
            on_error: Some(Arc::new(move |err: &lifesign::Error| {
                s2.lock()
                    .unwrap()
                    .push(format!("{:?}: {}", err.kind, err.message))
            })),
            ..Options::default()
        },
    )
    .unwrap();
    (e, seen)
}

/// Polls (bounded, generous) until `cond` holds; fails only on a real hang.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..60_000 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("{what}: still not true after a minute");
}

/// How a filesystem fault is made, kept and cleared.
struct Fault<'a> {
    /// Breaks the filesystems of A and B.
    make: &'a dyn Fn(),
    /// Called while waiting for B's thread to fail: keeps the fault complete.
    keep: &'a dyn Fn(),
    /// Repairs them.
    clear: &'a dyn Fn(),
    /// What the error messages say.
    errno_text: &'a str,
}

/// The shared part of the full and read-only scenarios. Emitter A writes
/// only when told (exact counts); emitter B's thread writes every 10 ms.
fn fault_scenario(a_dir: &Path, b_dir: &Path, f: Fault<'_>) -> String {
    let a_path = a_dir.join("a.json");
    let b_path = b_dir.join("b.json");
    let (a, a_seen) = emitter_with_errors(&a_path, Duration::from_secs(3600));
    let (b, _b_seen) = emitter_with_errors(&b_path, Duration::from_millis(10));
    a.set_state(State::Ready, Some("before the fault")).unwrap();
    let before = record(&a_path);
    (f.make)();
    let failed_beats = 5;
    for _ in 0..failed_beats {
        let err = a.beat().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
        assert!(err.message.contains(f.errno_text), "{err}");
    }
    assert_eq!(a.write_failures(), failed_beats);
    assert_eq!(
        a_seen.lock().unwrap().len() as u64,
        failed_beats,
        "the callback heard every failure"
    );
    assert_eq!(
        record(&a_path),
        before,
        "the old heartbeat is intact, whole"
    );
    assert!(check(&a_path, &CheckOptions::default()).is_alive());
    let names: Vec<String> = temporaries(a_dir)
        .into_iter()
        .filter(|n| n.starts_with(".a.json"))
        .collect();
    assert!(names.is_empty(), "a failed write left {names:?}");
    // B's thread keeps trying (and failing) without taking the process down.
    let b_before = b.write_failures();
    eventually("the refresh thread retries", || {
        (f.keep)();
        b.write_failures() >= b_before + 3
    });
    let b_seq = record(&b_path).seq;
    (f.clear)();
    a.beat().unwrap();
    let after = record(&a_path);
    assert_eq!(
        after.seq,
        before.seq + 1,
        "seq counts only successful writes"
    );
    eventually("the refresh thread resumes", || record(&b_path).seq > b_seq);
    a.stop().unwrap();
    b.stop().unwrap();
    assert_eq!(record(&b_path).state, Some(State::Stopped));
    format!(
        "failed_beats={failed_beats} thread_failures={} recovered=yes",
        b.write_failures()
    )
}

/// Fills the filesystem of `dir` to the last byte (appending to a filler).
fn fill(dir: &Path) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .unwrap();
    let chunk = [b'x'; 4096];
    let err = loop {
        if let Err(e) = f.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    while f.write_all(b"x").is_ok() {}
}

/// Runs in a child in its own mount namespace where possible (`unshare -m`),
/// so that a mount can never outlive the test.
fn role_faults(a: &Value) {
    match a["case"].as_str().unwrap() {
        "full" => {
            // One filesystem each, so that B's writes in flight cannot free
            // a page that A's next write would take.
            let mounts = Tmpfs::mount("full-a", "size=64k")
                .and_then(|x| Tmpfs::mount("full-b", "size=64k").map(|y| (x, y)));
            let (fa, fb) = match mounts {
                Ok(m) => m,
                Err(why) => {
                    say(&format!("skip {why}"));
                    return;
                }
            };
            let figures = fault_scenario(
                &fa.dir,
                &fb.dir,
                Fault {
                    make: &|| {
                        fill(&fa.dir);
                        fill(&fb.dir);
                    },
                    keep: &|| fill(&fb.dir),
                    clear: &|| {
                        std::fs::remove_file(fa.dir.join("filler")).unwrap();
                        std::fs::remove_file(fb.dir.join("filler")).unwrap();
                    },
                    errno_text: "No space left",
                },
            );
            say(&format!("ok {figures}"));
        }
        "readonly" => {
            let fs = match Tmpfs::mount("ro", "size=1m") {
                Ok(fs) => fs,
                Err(why) => {
                    say(&format!("skip {why}"));
                    return;
                }
            };
            let remount = |ro: bool| {
                // A write in flight holds a file open for writing: retry (bounded).
                let mut last = String::new();
                for _ in 0..10_000 {
                    match fs.set_read_only(ro) {
                        Ok(()) => return,
                        Err(e) => last = e,
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                panic!("{last}");
            };
            let figures = fault_scenario(
                &fs.dir,
                &fs.dir,
                Fault {
                    make: &|| remount(true),
                    keep: &|| {},
                    clear: &|| remount(false),
                    errno_text: "Read-only file system",
                },
            );
            say(&format!("ok {figures}"));
        }
        other => panic!("unknown fault {other}"),
    }
}

fn run_fault(case: &str) -> Option<String> {
    let c = RoleChild::spawn_cmd(role_command(
        ENTRY,
        "faults",
        &json!({ "case": case }),
        true,
    ));
    let said = c.finish();
    if let Some(skip) = said.iter().find(|l| l.starts_with("skip ")) {
        eprintln!("{case}: skipped the mounted filesystem: {skip}");
        return None;
    }
    let ok = said
        .iter()
        .find(|l| l.starts_with("ok "))
        .unwrap_or_else(|| panic!("{said:?}"));
    Some(ok[3..].to_string())
}

#[test]
fn a_full_filesystem_fails_writes_cleanly_keeps_the_old_heartbeat_and_recovers() {
    match run_fault("full") {
        Some(figures) => figure(
            "full_filesystem_tmpfs_64k",
            &[("result", figures.replace(' ', ","))],
        ),
        None => {
            // No mount here: the file-size limit gives the same failure path.
            eprintln!("full filesystem simulated with RLIMIT_FSIZE instead");
            let c = RoleChild::spawn(
                ENTRY,
                "fsize",
                &json!({ "dir": Scratch::new("fsize-fallback").0 }),
            );
            let said = c.finish();
            assert!(said.iter().any(|l| l.starts_with("ok")), "{said:?}");
        }
    }
}

#[test]
fn a_read_only_filesystem_fails_writes_cleanly_keeps_the_old_heartbeat_and_recovers() {
    match run_fault("readonly") {
        Some(figures) => figure("read_only_tmpfs", &[("result", figures.replace(' ', ","))]),
        None => eprintln!(
            "skipped: no tmpfs could be mounted and remounted read-only here; as root a \
             chmod cannot make a folder read-only (see docs/RELIABILITY.md)"
        ),
    }
}

/// In a fresh process (the limit is per process): writes fail with EFBIG
/// while RLIMIT_FSIZE is below the heartbeat's size, and resume after.
fn role_file_size_limit(a: &Value) {
    let dir = arg_path(a, "dir");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("hb.json");
    let (e, seen) = emitter_with_errors(&p, Duration::from_secs(3600));
    e.set_state(State::Ready, Some("before the limit")).unwrap();
    let before = record(&p);
    // SAFETY: plain libc calls on this process; SIGXFSZ ignored so that the
    // write returns EFBIG instead of killing us.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: 16,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    for _ in 0..3 {
        let err = e.beat().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
    }
    assert_eq!(e.write_failures(), 3);
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(record(&p), before);
    assert!(temporaries(&dir).is_empty());
    // SAFETY: as above.
    unsafe {
        let lim = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    e.beat().unwrap();
    assert_eq!(record(&p).seq, before.seq + 1);
    e.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    say("ok");
}

#[test]
fn a_write_refused_by_the_file_size_limit_fails_cleanly_and_recovers() {
    let d = Scratch::new("fsize");
    let c = RoleChild::spawn(ENTRY, "fsize", &json!({ "dir": d.path("sub") }));
    let said = c.finish();
    assert!(said.iter().any(|l| l == "ok"), "{said:?}");
}

#[test]
fn a_folder_removed_again_and_again_while_emitting_is_recreated_and_never_read_torn() {
    let d = Scratch::new("rmdir");
    let sub = d.path("sub");
    let p = sub.join("hb.json");
    let (e, _seen) = emitter_with_errors(&p, Duration::from_millis(10));
    let rounds = scale(200, 5000);
    let (mut ok, mut failed, mut missing, mut whole) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(&sub);
        match read_path(&p) {
            Read::Missing => missing += 1,
            Read::Record(_) => whole += 1,
            Read::Invalid(why) => panic!("torn or strange read with the folder going: {why}"),
        }
        match e.beat() {
            Ok(()) => ok += 1,
            Err(err) => {
                assert_eq!(err.kind, ErrorKind::Io, "{err}");
                failed += 1;
            }
        }
    }
    e.beat().unwrap();
    assert!(check(&p, &CheckOptions::default()).is_alive());
    // A file where the folder was: writes fail (ENOTDIR) until it goes. The
    // refresh thread may recreate the folder in between: try again (bounded).
    let mut placed = false;
    for _ in 0..10_000 {
        let _ = std::fs::remove_dir_all(&sub);
        if std::fs::write(&sub, b"not a folder").is_ok() {
            placed = true;
            break;
        }
    }
    assert!(placed, "could not put a file where the folder was");
    assert_eq!(e.beat().unwrap_err().kind, ErrorKind::Io);
    std::fs::remove_file(&sub).unwrap();
    e.beat().unwrap();
    e.stop().unwrap();
    assert_eq!(record(&p).state, Some(State::Stopped));
    assert!(temporaries(&sub).is_empty(), "{:?}", temporaries(&sub));
    figure(
        "folder_removed",
        &[
            ("removals", rounds.to_string()),
            ("beats_ok", ok.to_string()),
            ("beats_failed_cleanly", failed.to_string()),
            ("reads_missing", missing.to_string()),
            ("reads_whole", whole.to_string()),
            ("reads_torn", "0".into()),
        ],
    );
}

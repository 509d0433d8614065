//! Stress and fault tests: torn reads under a writer going flat out, writers
//! killed with SIGKILL at random moments, many writers in one folder, one
//! handle shared by many threads, a fork, and filesystem faults (a full
//! filesystem, a read-only one, a folder removed under the emitter).
//!
//! Every reader, writer and victim is a real process: this test binary run
//! in a *role* (see tests/README.md). The default run is short;
//! `LIFESIGN_STRESS=long` (tests/reliability/run.sh) runs the long form and
//! prints the figures recorded in docs/RELIABILITY.md.
//!
//! One file per topic (this file holds the writer and reader roles they
//! share and the entry of their child processes): `torn_reads`,
//! `killed_writers`, `many_writers`, `shared_handle`, `fork` and `fs_faults`.

#[path = "../common/mod.rs"]
mod common;

mod fork;
mod fs_faults;
mod killed_writers;
mod many_writers;
mod shared_handle;
mod torn_reads;

use common::*;
use lifesign::check::{read_path, Read};
use lifesign::{check, CheckOptions, Emitter, ErrorKind, Options, State, Verdict};
use lifesign_capi as ffi;
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

#[test]
#[ignore = "entry point of the child processes that the stress tests start"]
fn child_process_entry() {
    run_role(|role, args| match role {
        "writer" => role_writer(args),
        "reader" => role_reader(args),
        "faults" => fs_faults::role_faults(args),
        "fsize" => fs_faults::role_file_size_limit(args),
        "fork" => fork::role_fork(args),
        other => panic!("unknown role {other}"),
    });
}

// ---- small helpers ---------------------------------------------------------

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

// ---- roles -----------------------------------------------------------------

/// Starts an emitter on `path`, says `started`, then writes as fast as it
/// can (messages of varying length, so that the file size changes on every
/// write) until its stdin closes; then stops and says `done`.
fn role_writer(a: &Value) {
    let path = arg_path(a, "path");
    let opts = {
        let mut o = Options::default();
        o.interval = Duration::from_millis(a["interval_ms"].as_u64().unwrap_or(3_600_000));
        o.durable = a["durable"].as_bool().unwrap_or(false);
        o.log_errors = false;
        o
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

/// A check through the C ABI: the verdict, the seq and the reason.
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

/// What the reader processes saw, summed.
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
    let children: Vec<Child> = (0..processes)
        .map(|i| {
            Child::role(
                "reader",
                &json!({
                    "paths": paths,
                    "reads": reads,
                    "api": if i % 2 == 1 { "c" } else { "rust" },
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

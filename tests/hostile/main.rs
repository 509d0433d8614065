//! Hostile input and hostile neighbours: files no writer of ours produces,
//! things at the path that are not regular files, the C ABI given garbage,
//! planted symlinks, and PIDs that must never be probed or signalled.
//!
//! "Never reads without bound" is measured, not assumed: the bytes a check
//! reads are taken from `/proc/thread-self/io` (`rchar`) around the call.
//!
//! One file per topic (this file holds what they share and the entry of
//! their child processes): `contents`, `size_limits`, `not_regular_files`,
//! `c_abi`, `links_and_modes` and `pids`.

#[path = "../common/mod.rs"]
mod common;

mod c_abi;
mod contents;
mod links_and_modes;
mod not_regular_files;
mod pids;
mod size_limits;

use common::*;
use lifesign::check::{read_path, Read};
use lifesign::protocol::{encode, Record, Shape, State, MAX_FILE_BYTES};
use lifesign::{check, CheckOptions, Emitter, ErrorKind, Options, Verdict};
use lifesign_capi as ffi;
use serde_json::{json, Value};
use std::ffi::c_char;
use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
#[ignore = "entry point of the child processes that the hostile-input tests start"]
fn child_process_entry() {
    run_role(|role, args| match role {
        "planted" => links_and_modes::role_planted(args),
        "modes" => links_and_modes::role_modes(args),
        "start" => pids::role_start(args),
        "folders" => links_and_modes::role_folders(args),
        other => panic!("unknown role {other}"),
    });
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

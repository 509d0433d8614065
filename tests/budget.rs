//! Syscall budgets of the hot operations, counted with strace: a check of
//! a live emitter, a beat, the shared beat thread's writes, and a wait's
//! idle wake-ups. The budgets
//! live in benches/syscall-budgets.json (docs/BENCHMARKS.md prints them).
//!
//! Each operation runs in a role of this binary under `strace -f`, between
//! two marker calls (`write(-1, "lifesign-budget-begin")`, which fails with
//! EBADF and does nothing else); the calls of that thread between the
//! markers are the operation's. Deterministic: no timing is judged.

mod common;

use common::{role_command, run_role, say, Child, TempDir};
use lifesign::check::{try_check, CheckOptions, Verdict};
use lifesign::{Emitter, State, WaitOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const BEGIN: &str = "lifesign-budget-begin";
const END: &str = "lifesign-budget-end";
const MAIN: &str = "lifesign-budget-main";
/// How many times each operation is counted (the largest count is judged).
const ROUNDS: usize = 5;

/// The budget of `op`, from the one table.
fn budget(op: &str) -> usize {
    budget_field(op, "budget")
}

/// A number of the entry of `op` in the one table.
fn budget_field(op: &str, field: &str) -> usize {
    let table: Value =
        serde_json::from_str(include_str!("../benches/syscall-budgets.json")).unwrap();
    table["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["op"] == op)
        .and_then(|b| b[field].as_u64())
        .unwrap_or_else(|| panic!("no {field} for {op} in benches/syscall-budgets.json"))
        as usize
}

fn marker(tag: &str) {
    // SAFETY: a write to an invalid descriptor: fails with EBADF, and
    // shows in the trace with its text.
    unsafe { libc::write(-1, tag.as_ptr().cast(), tag.len()) };
}

#[test]
#[ignore]
fn child_process_entry() {
    run_role(|role, args| {
        let path = Path::new(args["path"].as_str().unwrap()).to_owned();
        marker(MAIN);
        match role {
            "check" | "check-plus-one" => {
                let opts = CheckOptions::default();
                // The first check verifies the writer and keeps its pidfd.
                assert_eq!(try_check(&path, &opts).unwrap().verdict, Verdict::Alive);
                for _ in 0..ROUNDS {
                    marker(BEGIN);
                    let r = try_check(&path, &opts);
                    if role == "check-plus-one" {
                        // SAFETY: no preconditions; one deliberate extra call.
                        unsafe { libc::getppid() };
                    }
                    marker(END);
                    assert_eq!(r.unwrap().verdict, Verdict::Alive);
                }
            }
            "beat" => {
                let e = Emitter::start(&path, Duration::from_secs(3600)).unwrap();
                e.set_state(State::Ready, None).unwrap();
                for _ in 0..ROUNDS {
                    marker(BEGIN);
                    let r = e.beat();
                    marker(END);
                    r.unwrap();
                }
                e.stop().unwrap();
            }
            "beat-thread" => {
                let dir = path;
                let emitters: Vec<Emitter> = (0..8)
                    .map(|i| {
                        let p = dir.join(format!("e{i}.json"));
                        Emitter::start(&p, Duration::from_millis(100)).unwrap()
                    })
                    .collect();
                // Every emitter has written a few periodic beats.
                for (i, _) in emitters.iter().enumerate() {
                    let p = dir.join(format!("e{i}.json"));
                    common::eventually("periodic beats", || common::record(&p).seq >= 6);
                }
                marker(BEGIN);
                drop(emitters);
            }
            "wait-idle" => {
                // Waits on a heartbeat in state starting; the test beats it
                // once `waiting` exists, then makes it ready.
                let waiting = Path::new(args["waiting"].as_str().unwrap());
                marker(BEGIN);
                std::fs::write(waiting, b"").unwrap();
                let out = lifesign::wait_ready(&path, &WaitOptions::default());
                marker(END);
                assert!(out.is_ok(), "{out:?}");
            }
            other => panic!("unknown role {other}"),
        }
        say("done");
    });
}

/// One system call of the trace: the thread and the call's name.
struct Call {
    tid: u32,
    name: String,
    marker: Option<&'static str>,
    /// Whether the call names a file `hb.json`.
    hb: bool,
}

/// Runs `role` under `strace -f` and returns the calls it made, in order
/// (a call interrupted by another thread's is counted where it started).
fn traced(role: &str, args: Value) -> Vec<Call> {
    let cmd = role_command(role, &args, false);
    let text = common::strace(&cmd, &["-s", "32", "-e", "signal=none"]);
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Call> {
    let (tid, rest) = line.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
        return None;
    }
    let name = &rest[..rest.find('(')?];
    // A debug build checks each descriptor it closes with fcntl(F_GETFD)
    // (std's debug assertion, inlined into the library): not the
    // library's call. `make test` counts a release build, where none is made.
    if cfg!(debug_assertions) && name == "fcntl" && rest.contains(", F_GETFD") {
        return None;
    }
    let marker = [BEGIN, END, MAIN]
        .into_iter()
        .find(|m| name == "write" && rest.contains(&format!("\"{m}\"")));
    Some(Call {
        tid: tid.parse().ok()?,
        name: name.to_owned(),
        marker,
        hb: rest.contains("/hb.json\""),
    })
}

/// The calls of the marking thread between each BEGIN and its END.
fn bracketed(calls: &[Call]) -> Vec<Vec<String>> {
    let mut rounds = Vec::new();
    let mut open: Option<(u32, Vec<String>)> = None;
    for c in calls {
        match (c.marker, &mut open) {
            (Some(m), None) if m == BEGIN => open = Some((c.tid, Vec::new())),
            (Some(m), Some((tid, names))) if m == END && c.tid == *tid => {
                rounds.push(std::mem::take(names));
                open = None;
            }
            (None, Some((tid, names))) if c.tid == *tid => names.push(c.name.clone()),
            _ => {}
        }
    }
    rounds
}

/// Fails when a round made more calls than the budget of `op`.
fn within_budget(op: &str, rounds: &[Vec<String>]) -> Result<usize, String> {
    let limit = budget(op);
    let worst = rounds
        .iter()
        .max_by_key(|r| r.len())
        .cloned()
        .unwrap_or_default();
    if rounds.len() < ROUNDS {
        return Err(format!("{op}: only {} rounds were traced", rounds.len()));
    }
    if worst.len() > limit {
        return Err(format!(
            "{op} made {} system calls, over its budget of {limit}: {worst:?}",
            worst.len()
        ));
    }
    Ok(worst.len())
}

fn count_check(role: &str) -> Vec<Vec<String>> {
    let d = TempDir::in_ram("budget-check");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    c.send("ready");
    let rounds = bracketed(&traced(role, json!({ "path": p })));
    drop(c);
    rounds
}

#[test]
fn a_check_of_a_live_emitter_stays_within_its_budget() {
    if !common::have_strace("check budget") {
        return;
    }
    let rounds = count_check("check");
    let n = within_budget("check", &rounds).unwrap();
    eprintln!("check: {n} system calls: {:?}", rounds[0]);
    // What the budget is made of: the file read once, the lock not at all.
    let all: Vec<&String> = rounds.iter().flatten().collect();
    assert!(
        all.iter().all(|c| c.as_str() != "fcntl"),
        "the lock was consulted: {all:?}"
    );
}

#[test]
fn the_budget_test_fails_on_one_added_syscall() {
    if !common::have_strace("added syscall") {
        return;
    }
    let plain = count_check("check");
    let more = count_check("check-plus-one");
    let max = |r: &[Vec<String>]| r.iter().map(Vec::len).max().unwrap();
    assert_eq!(max(&more), max(&plain) + 1, "{more:?} against {plain:?}");
    assert!(more.iter().all(|r| r.iter().any(|c| c == "getppid")));
    // At the budget, one more call is caught.
    if max(&plain) == budget("check") {
        let err = within_budget("check", &more).unwrap_err();
        assert!(err.contains("over its budget"), "{err}");
    }
}

#[test]
fn a_beat_stays_within_its_budget_where_the_umask_keeps_the_mode() {
    if !common::have_strace("beat budget") {
        return;
    }
    let d = TempDir::in_ram("budget-beat");
    // The default umask of a service (022) keeps the default mode 0644.
    let rounds = bracketed(&traced("beat", json!({ "path": d.path("hb.json") })));
    let n = within_budget("beat", &rounds).unwrap();
    eprintln!("beat: {n} system calls: {:?}", rounds[0]);
    assert!(rounds.iter().flatten().all(|c| c != "fchmod"), "{rounds:?}");
}

#[test]
fn the_shared_beat_thread_makes_no_calls_per_emitter_beyond_its_writes() {
    if !common::have_strace("beat-thread budget") {
        return;
    }
    let d = TempDir::in_ram("budget-beat-thread");
    let calls = traced("beat-thread", json!({ "path": d.dir() }));
    let main = calls.iter().find(|c| c.marker == Some(MAIN)).unwrap().tid;
    let stop = calls.iter().position(|c| c.marker == Some(BEGIN)).unwrap();
    // The writers: every other thread that renamed a heartbeat before the
    // emitters were stopped. Their calls from their first write to their
    // last, waits on the queue (futex) aside.
    let mut per_tid: HashMap<u32, Vec<&str>> = HashMap::new();
    for c in &calls[..stop] {
        if c.tid != main && c.name != "futex" {
            per_tid.entry(c.tid).or_default().push(&c.name);
        }
    }
    let (mut writes, mut made) = (0, 0);
    for names in per_tid.values() {
        let (Some(first), Some(last)) = (
            names.iter().position(|n| n.starts_with("rename")),
            names.iter().rposition(|n| n.starts_with("rename")),
        ) else {
            continue;
        };
        writes += names[first + 1..=last]
            .iter()
            .filter(|n| n.starts_with("rename"))
            .count();
        made += last - first;
    }
    assert!(writes >= 8 * 3, "only {writes} periodic writes were traced");
    let per_write = made as f64 / writes as f64;
    eprintln!("beat thread: {made} calls for {writes} writes");
    assert!(
        made <= writes * budget("beat-thread"),
        "{made} calls for {writes} writes: {per_write:.2} a write, over the budget of {}",
        budget("beat-thread")
    );
}

/// An inotify descriptor on a folder that reports the opens of its files.
struct OpenWatch(std::os::fd::OwnedFd);

impl OpenWatch {
    fn new(dir: &Path) -> OpenWatch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: no preconditions; the descriptor is owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid descriptor and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: a fresh descriptor that nothing else owns.
        OpenWatch(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }

    /// Blocks until `name` is opened (a hang guard of a minute).
    fn next_open(&self, name: &str) {
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 4096];
        loop {
            let mut p = libc::pollfd {
                fd: self.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut p, 1, 60_000) };
            assert!(ready == 1, "nobody opened {name} within a minute");
            // SAFETY: reads into a buffer of its length.
            let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
            assert!(n > 0, "{}", std::io::Error::last_os_error());
            let mut at = 0;
            let mut seen = false;
            while at < n as usize {
                // SAFETY: the kernel wrote whole events; read unaligned.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                let start = at + std::mem::size_of::<libc::inotify_event>();
                let raw = &buf[start..start + ev.len as usize];
                let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                seen |= &raw[..len] == name.as_bytes();
                at = start + ev.len as usize;
            }
            if seen {
                return;
            }
        }
    }
}

/// How many times the waited-on heartbeat is rewritten while the waiter waits.
const IDLE_BEATS: usize = 40;

/// Traces a wait on a heartbeat in state starting while the test beats it
/// `IDLE_BEATS` times, then makes it ready: every call of the waiting
/// process from the wait's start to its return (all its threads: the
/// waiter, the folder watcher), and how many times the waiter read the
/// heartbeat.
fn count_wait_idle() -> (Vec<String>, usize) {
    let d = TempDir::in_ram("budget-wait");
    let p = d.path("hb.json");
    let waiting = d.path("waiting");
    let mut c = Child::emitter(&p, 3_600_000);
    let args = json!({ "path": p, "waiting": waiting });
    // Each beat once the waiter has read the last one: a reader's open of
    // the heartbeat, seen with inotify (the emitter opens only temporaries).
    let opens = OpenWatch::new(d.dir());
    let tracer = std::thread::spawn(move || traced("wait-idle", args));
    common::eventually("the waiter starts", || waiting.exists());
    opens.next_open("hb.json");
    for _ in 0..IDLE_BEATS {
        c.send("beat");
        opens.next_open("hb.json");
    }
    c.send("ready");
    let calls = tracer.join().unwrap();
    drop(c);
    let begin = calls.iter().position(|c| c.marker == Some(BEGIN)).unwrap();
    let end = calls.iter().position(|c| c.marker == Some(END)).unwrap();
    let waiter = calls[begin].tid;
    let within: Vec<&Call> = calls[begin + 1..end].iter().collect();
    let reads = within
        .iter()
        .filter(|c| c.tid == waiter && c.name == "newfstatat" && c.hb)
        .count();
    (within.iter().map(|c| c.name.clone()).collect(), reads)
}

#[test]
fn a_wait_on_an_emitter_not_yet_ready_makes_a_bounded_number_of_calls_per_wake_up() {
    if !common::have_strace("wait-idle budget") {
        return;
    }
    let (calls, reads) = count_wait_idle();
    let (per_beat, setup) = (budget("wait-idle"), budget_field("wait-idle", "setup"));
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for c in &calls {
        *by_name.entry(c).or_default() += 1;
    }
    eprintln!(
        "wait: {} calls for {IDLE_BEATS} beats, {reads} reads of the heartbeat: {by_name:?}",
        calls.len()
    );
    // The waiter woke and read the heartbeat for every beat.
    assert!(reads > IDLE_BEATS, "{reads} reads for {IDLE_BEATS} beats");
    assert!(
        calls.len() <= per_beat * reads + setup,
        "{} calls for {reads} wake-ups: over {per_beat} a wake-up plus {setup}: {by_name:?}",
        calls.len()
    );
    // The writer's lock is looked at before its pidfd is kept, never per
    // wake-up after (the pidfd answers, as in a check).
    let locks = by_name.get("fcntl").copied().unwrap_or(0);
    assert!(locks <= 2, "{locks} looks at the lock for {reads} wake-ups: {by_name:?}");
}

//! Ready latency and death latency, across processes, on CLOCK_MONOTONIC.
//!
//! Ready: the emitter (a child process) takes the time just before
//! `set_state(ready)` and prints it; the waiter (a thread here) takes the
//! time when `wait_ready` returns. Death: the time just before SIGKILL of
//! the emitter, and the time the checker first says `process_gone`.

use crate::util::{
    emit, fresh_dir, loadavg, median, mono_ns, note, percentile, pidfd, r2, wait_readable, Proc,
    Rng,
};
use crate::Config;
use lifesign::check::{self, CheckOptions, Verdict};
use lifesign::protocol::{self, State};
use lifesign::wait::{self, WaitOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

fn ready_count() -> usize {
    crate::sized(150, 5)
}
fn poll_samples() -> usize {
    crate::sized(30, 3)
}
const POLL: Duration = Duration::from_millis(300);
fn death_samples() -> usize {
    crate::sized(40, 3)
}
fn probe_loops() -> usize {
    crate::sized(20, 2)
}

fn latency_record(id: &str, samples_ns: &[f64], extra: serde_json::Value) -> serde_json::Value {
    let us: Vec<f64> = samples_ns.iter().map(|n| n / 1e3).collect();
    let mut v = json!({
        "kind": "latency",
        "id": id,
        "samples": us.len(),
        "median_us": r2(median(&us)),
        "p99_us": r2(percentile(&us, 99.0)),
        "min_us": r2(us.iter().copied().fold(f64::INFINITY, f64::min)),
        "max_us": r2(us.iter().copied().fold(0.0, f64::max)),
        "loadavg": loadavg(),
    });
    if let (serde_json::Value::Object(m), serde_json::Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// When a waiter under test saw `ready` (its observer, for lifesign) and
/// when it returned; `None` when it did not see it.
type Waiter = fn(PathBuf) -> Option<(u64, u64)>;

fn lifesign_waiter(path: PathBuf) -> Option<(u64, u64)> {
    let mut seen = None;
    let out = wait::wait_ready_with(
        &path,
        &{
            let mut o = WaitOptions::default();
            o.timeout = Some(Duration::from_secs(10));
            o
        },
        |r| {
            if seen.is_none() && r.verdict == Verdict::Alive && r.state == Some(State::Ready) {
                seen = Some(mono_ns());
            }
        },
    );
    let t1 = mono_ns();
    out.is_ok().then(|| (seen.unwrap_or(t1), t1))
}

fn poll_waiter(path: PathBuf) -> Option<(u64, u64)> {
    let deadline = mono_ns() + 10_000_000_000;
    loop {
        let r = check::check(&path, &CheckOptions::default());
        if r.verdict == Verdict::Alive && r.state == Some(State::Ready) {
            let t = mono_ns();
            return Some((t, t));
        }
        if mono_ns() > deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Ready latencies: until the waiter saw `ready`, until it returned, and
/// the floor (the same child waking this process through a pipe: time taken
/// in the child just before it writes, and here just after the read returns).
#[derive(Default)]
struct ReadySamples {
    seen: Vec<f64>,
    returned: Vec<f64>,
    pipe: Vec<f64>,
    write: Vec<f64>,
    failures: usize,
}

/// Samples of ready latency with one emitter process, `n` times.
fn ready_samples(path: &Path, n: usize, waiter: Waiter, lead: (u64, u64)) -> ReadySamples {
    let mut child = Proc::me(&["child-ready", path_str(path)]);
    child.expect("started");
    let mut rng = Rng::new();
    let mut out = ReadySamples::default();
    for _ in 0..n {
        child.send("starting");
        child.expect("ok");
        let p = path.to_path_buf();
        let h = thread::spawn(move || waiter(p));
        // Let the waiter reach its sleep (or, for the poll loop, a random
        // phase of its period) before the emitter becomes ready.
        thread::sleep(Duration::from_millis(rng.range(lead.0, lead.1)));
        child.send("go");
        let line = child.line();
        let mut times = line
            .split(' ')
            .map(|t| t.parse::<u64>().expect("a timestamp"));
        let t0 = times.next().expect("t0");
        let written = times.next().expect("t1");
        out.write.push(written.saturating_sub(t0) as f64);
        match h.join().expect("waiter thread") {
            Some((seen, returned)) => {
                out.seen.push(seen.saturating_sub(t0) as f64);
                out.returned.push(returned.saturating_sub(t0) as f64);
            }
            None => out.failures += 1,
        }
        child.send("ping");
        let t0: u64 = child.line().parse().expect("a timestamp");
        out.pipe.push(mono_ns().saturating_sub(t0) as f64);
    }
    child.finish();
    out
}

pub fn ready(cfg: &Config) {
    for (fs, base) in cfg.filesystems() {
        let dir = base.join("ready");
        fresh_dir(&dir);
        let path = dir.join("hb.json");
        let n = ready_count();
        note(&format!("ready latency on {fs}: {n} samples"));
        let r = ready_samples(&path, n, lifesign_waiter, (15, 16));
        emit(&latency_record(
            &format!("ready.{fs}.wait"),
            &r.returned,
            json!({"fs": fs, "failures": r.failures, "target_median_us": 1000}),
        ));
        emit(&latency_record(
            &format!("ready.{fs}.seen"),
            &r.seen,
            json!({"fs": fs}),
        ));
        emit(&latency_record(
            &format!("ready.{fs}.pipe"),
            &r.pipe,
            json!({"fs": fs}),
        ));
        emit(&latency_record(
            &format!("ready.{fs}.write"),
            &r.write,
            json!({"fs": fs}),
        ));
        if fs == "tmpfs" {
            note(&format!(
                "ready latency of a 300 ms poll loop: {} samples",
                poll_samples()
            ));
            let r = ready_samples(&path, poll_samples(), poll_waiter, (15, 315));
            emit(&latency_record(
                "ready.tmpfs.poll300",
                &r.returned,
                json!({"fs": fs, "failures": r.failures}),
            ));
            emit(&latency_record(
                "inotify.close",
                &inotify_close_samples(&dir, 20),
                json!({"fs": fs}),
            ));
        }
    }
}

/// What closing an inotify descriptor that watches a folder costs (the
/// waiter closes one when it returns). One close every 20 ms, as a waiter
/// would, not back to back.
fn inotify_close_samples(dir: &Path, n: usize) -> Vec<f64> {
    let c = crate::util::cpath(dir);
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        // SAFETY: a fresh descriptor, a valid path; closed here.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK);
            assert!(fd >= 0, "inotify_init1");
            libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_MOVED_TO | libc::IN_CREATE);
            let t0 = mono_ns();
            libc::close(fd);
            v.push(mono_ns().saturating_sub(t0) as f64);
        }
        thread::sleep(Duration::from_millis(20));
    }
    v
}

pub fn death(cfg: &Config) {
    let dir = cfg.tmpfs.join("death");
    fresh_dir(&dir);

    // A waiter on a starting emitter: the pidfd wakes it. Alternating with
    // the floor: a pidfd of the same kind of child polled directly.
    note(&format!(
        "death latency of a waiter: {} samples (and {} of the pidfd floor)",
        death_samples(),
        death_samples()
    ));
    let path = dir.join("wait.json");
    let mut lat = Vec::new();
    let mut lat_seen = Vec::new();
    let mut floor = Vec::new();
    let mut wrong = 0;
    for _ in 0..death_samples() {
        let mut child = Proc::me(&["child-ready", path_str(&path)]);
        child.expect("started");
        if let Some(fd) = pidfd(child.pid()) {
            thread::sleep(Duration::from_millis(15));
            let t0 = mono_ns();
            child.kill();
            wait_readable(&fd);
            floor.push(mono_ns().saturating_sub(t0) as f64);
        }
        child.reap();
        let mut child = Proc::me(&["child-ready", path_str(&path)]);
        child.expect("started");
        let p = path.clone();
        let h = thread::spawn(move || {
            let mut seen = None;
            let out = wait::wait_ready_with(
                &p,
                &{
                    let mut o = WaitOptions::default();
                    o.timeout = Some(Duration::from_secs(10));
                    o
                },
                |r| {
                    if seen.is_none() && r.verdict == Verdict::ProcessGone {
                        seen = Some(mono_ns());
                    }
                },
            );
            let t1 = mono_ns();
            (
                out.expect_err("a killed emitter is never ready")
                    .report()
                    .verdict,
                seen.unwrap_or(t1),
                t1,
            )
        });
        thread::sleep(Duration::from_millis(15));
        let t0 = mono_ns();
        child.kill();
        let (verdict, seen, t1) = h.join().expect("waiter thread");
        if verdict == Verdict::ProcessGone {
            lat.push(t1.saturating_sub(t0) as f64);
            lat_seen.push(seen.saturating_sub(t0) as f64);
        } else {
            wrong += 1;
        }
        child.reap();
    }
    emit(&latency_record(
        "death.wait",
        &lat,
        json!({"failures": wrong}),
    ));
    emit(&latency_record("death.seen", &lat_seen, json!({})));
    emit(&latency_record("death.pidfd", &floor, json!({})));

    // Probe loops every second: lifesign's check, and a staleness-only
    // checker (age > stale_after_ms = 3 x interval), side by side, each on
    // its own emitter killed at a random phase.
    note(&format!(
        "death latency of 1 s probe loops: {} lifesign + {} staleness-only",
        probe_loops(),
        probe_loops()
    ));
    let mut rng = Rng::new();
    let mut runs = Vec::new();
    for i in 0..probe_loops() * 2 {
        let staleness = i % 2 == 1;
        let p = dir.join(format!("probe-{i}.json"));
        let mut child = Proc::me(&["child-emitter", path_str(&p), "1000"]);
        child.expect("ready");
        let killed_at = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let k = killed_at.clone();
        let h = thread::spawn(move || probe_loop(&p, staleness, &k));
        runs.push((staleness, child, h, killed_at, rng.range(0, 1000)));
    }
    // Kill each emitter at its random offset.
    let start = mono_ns();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| runs[i].4);
    for i in order {
        let at = start + runs[i].4 * 1_000_000;
        let now = mono_ns();
        if at > now {
            thread::sleep(Duration::from_nanos(at - now));
        }
        runs[i]
            .3
            .store(mono_ns(), std::sync::atomic::Ordering::SeqCst);
        runs[i].1.kill();
    }
    let mut probe = Vec::new();
    let mut stale = Vec::new();
    let mut wrong = 0;
    for (staleness, child, h, killed_at, _) in runs {
        let (ok, t1) = h.join().expect("probe thread");
        let t0 = killed_at.load(std::sync::atomic::Ordering::SeqCst);
        child.reap();
        if !ok {
            wrong += 1;
            continue;
        }
        let l = t1.saturating_sub(t0) as f64;
        if staleness {
            stale.push(l);
        } else {
            probe.push(l);
        }
    }
    emit(&latency_record(
        "death.probe1s",
        &probe,
        json!({"failures": wrong}),
    ));
    emit(&latency_record(
        "death.stale1s",
        &stale,
        json!({"interval_ms": 1000, "max_age_ms": 3000}),
    ));
}

/// Checks every second until the emitter is seen dead; returns whether the
/// expected verdict came and when. Before the kill every check must say alive.
fn probe_loop(
    path: &Path,
    staleness_only: bool,
    killed_at: &std::sync::atomic::AtomicU64,
) -> (bool, u64) {
    let deadline = mono_ns() + 20_000_000_000;
    loop {
        let dead = if staleness_only {
            // Only the file's age: what a checker without a process probe knows.
            let bytes = std::fs::read(path).unwrap_or_default();
            match protocol::decode(&bytes) {
                Ok(r) => {
                    let age = check::now_ms().saturating_sub(r.updated_at_ms);
                    age > r.stale_after_ms.unwrap_or(3000)
                }
                Err(_) => false,
            }
        } else {
            let r = check::check(path, &CheckOptions::default());
            match r.verdict {
                Verdict::ProcessGone => true,
                Verdict::Alive => false,
                _ => return (false, mono_ns()),
            }
        };
        let now = mono_ns();
        if dead {
            let killed = killed_at.load(std::sync::atomic::Ordering::SeqCst);
            // Dead before the kill would be a wrong verdict.
            return (killed != 0 && killed <= now, now);
        }
        if now > deadline {
            return (false, now);
        }
        thread::sleep(Duration::from_secs(1));
    }
}

//! Scale and footprint: `lifesign scan` over 10,000 heartbeat files, many
//! emitters in one process, and what one emitter adds to a process compared
//! with a Python process running kstlib's heartbeat.

use crate::util::{cpath, emit, fresh_dir, median, note, own_pidfds, r2, usage_of, Proc, Usage};
use crate::Config;
use lifesign::check::{self, CheckOptions, Verdict};
use lifesign::process;
use lifesign::protocol::{encode, Record, Shape, State, PROTOCOL_VERSION};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const FILES: usize = 10_000;
const SCAN_REPS: usize = 5;
const MANY: usize = 1000;
const WINDOW: Duration = Duration::from_secs(5);
const FOOTPRINT_WINDOW: Duration = Duration::from_secs(10);

pub fn run(cfg: &Config) {
    let Some(cli) = cfg.cli.clone() else {
        note("no --cli given: scan skipped");
        return many(cfg);
    };
    // Writers: 100 live processes (more than the 64 identities the checker caches).
    let writers: Vec<Proc> = (0..100)
        .map(|_| {
            let mut p = Proc::me(&["child-sleep"]);
            p.expect("up");
            p
        })
        .collect();
    let ids: Vec<(u32, Option<u64>)> = writers
        .iter()
        .map(|w| (w.pid(), process::stat_of(w.pid()).map(|(s, _)| s)))
        .collect();
    for (fs, base) in cfg.filesystems() {
        let dir = base.join("scan");
        for nwriters in [1usize, 100] {
            fresh_dir(&dir);
            write_files(&dir, &ids[..nwriters]);
            note(&format!(
                "scan of {FILES} files from {nwriters} writer(s) on {fs}"
            ));
            scan(&cli, &dir, fs, nwriters);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    for w in writers {
        w.finish();
    }
    many(cfg);
}

/// Heartbeat files as an emitter writes them, fresh for an hour.
fn write_files(dir: &Path, ids: &[(u32, Option<u64>)]) {
    let id = process::identity();
    let now = check::now_ms();
    for i in 0..FILES {
        let (pid, start) = ids[i % ids.len()];
        let r = Record {
            v: PROTOCOL_VERSION,
            pid,
            state: Some(State::Ready),
            seq: 1,
            updated_at_ms: now,
            started_at_ms: Some(now),
            interval_ms: Some(1000),
            stale_after_ms: Some(3_600_000),
            host: id.host.clone(),
            boot_id: id.boot_id.clone(),
            pid_ns: id.pid_ns,
            pid_start: start,
            lock_ino: None,
            progress: Some(0),
            progress_at_ms: Some(now),
            message: Some("serving".into()),
            meta: Default::default(),
            shape: Shape::V1,
        };
        std::fs::write(dir.join(format!("hb-{i:05}.json")), encode(&r)).expect("write a file");
    }
}

/// The floor of a scan: list the folder, then open, read and close each
/// file and kill(pid, 0) its writer, raw syscalls.
fn floor_scan(dir: &Path, pids: &[u32]) -> usize {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    for (i, e) in std::fs::read_dir(dir).expect("list").flatten().enumerate() {
        let c = cpath(&e.path());
        // SAFETY: a valid path and buffer; the descriptor is closed here.
        unsafe {
            let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            assert!(fd >= 0);
            n += libc::read(fd, buf.as_mut_ptr().cast(), buf.len()).max(0) as usize;
            libc::close(fd);
            libc::kill(pids[i % pids.len()] as libc::pid_t, 0);
        }
    }
    n
}

fn scan(cli: &Path, dir: &Path, fs: &str, nwriters: usize) {
    let pids: Vec<u32> = {
        let mut v: Vec<u32> = std::fs::read_dir(dir)
            .expect("list")
            .flatten()
            .take(nwriters * 3)
            .filter_map(|e| {
                let b = std::fs::read(e.path()).ok()?;
                lifesign::protocol::decode(&b).ok().map(|r| r.pid)
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut cli_ms = Vec::new();
    let mut floor_ms = Vec::new();
    let mut inproc_ms = Vec::new();
    let mut failures = 0;
    for rep in 0..SCAN_REPS {
        let run_cli = |cli_ms: &mut Vec<f64>, failures: &mut usize| {
            let t = Instant::now();
            let st = Command::new(cli)
                .arg("scan")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run lifesign scan");
            cli_ms.push(t.elapsed().as_secs_f64() * 1e3);
            if !st.success() {
                *failures += 1;
            }
        };
        let run_floor = |floor_ms: &mut Vec<f64>| {
            let t = Instant::now();
            floor_scan(dir, &pids);
            floor_ms.push(t.elapsed().as_secs_f64() * 1e3);
        };
        if rep % 2 == 0 {
            run_floor(&mut floor_ms);
            run_cli(&mut cli_ms, &mut failures);
        } else {
            run_cli(&mut cli_ms, &mut failures);
            run_floor(&mut floor_ms);
        }
        // The same checks in this process (no process start, no output).
        let t = Instant::now();
        let mut alive = 0;
        for e in std::fs::read_dir(dir).expect("list").flatten() {
            if check::check(e.path(), &CheckOptions::default()).verdict == Verdict::Alive {
                alive += 1;
            }
        }
        inproc_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if alive != FILES {
            failures += 1;
        }
    }
    let ratios: Vec<f64> = cli_ms.iter().zip(&floor_ms).map(|(c, f)| c / f).collect();
    emit(&json!({
        "kind": "scan", "id": format!("scan.{fs}.w{nwriters}"), "fs": fs, "files": FILES,
        "writers": nwriters, "reps": SCAN_REPS,
        "cli_ms": r2(median(&cli_ms)), "floor_ms": r2(median(&floor_ms)),
        "inproc_ms": r2(median(&inproc_ms)),
        "ratio": r2(median(&ratios)),
        "cli_us_per_file": r2(median(&cli_ms) * 1e3 / FILES as f64),
        "floor_us_per_file": r2(median(&floor_ms) * 1e3 / FILES as f64),
        "inproc_us_per_file": r2(median(&inproc_ms) * 1e3 / FILES as f64),
        "failures": failures,
    }));
    if fs == "tmpfs" && nwriters == 100 {
        // The checker's descriptors after checking 100 live writers: the
        // pidfd cache is bounded.
        emit(
            &json!({"kind": "value", "id": "check.fds.100writers", "pidfds": own_pidfds(),
                     "cache_capacity": process::CACHE_CAPACITY}),
        );
    }
}

fn diff(a: &Usage, b: &Usage) -> serde_json::Value {
    let secs = (b.at_ns - a.at_ns) as f64 / 1e9;
    json!({
        "rss_kib": b.rss_kib, "threads": b.threads, "fds": b.fds,
        "cpu_pct": r2((b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / 1e9 / secs * 100.0 * 1000.0) / 1000.0,
        "cpu_us_per_s": r2((b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / 1e3 / secs),
        "window_s": r2(secs),
    })
}

/// 1000 emitters at 1 s in one process.
fn many(cfg: &Config) {
    let dir = cfg.tmpfs.join("many");
    fresh_dir(&dir);
    note(&format!("{MANY} emitters at 1 s in one process"));
    let mut child = Proc::me(&[
        "child-many",
        &MANY.to_string(),
        dir.to_str().expect("UTF-8"),
        "1000",
    ]);
    child.expect("idle");
    thread::sleep(Duration::from_millis(200));
    let idle = usage_of(child.pid());
    child.send("go");
    let started: f64 = child.expect("started ")[8..].parse().unwrap_or(0.0);
    thread::sleep(Duration::from_millis(1500));
    let a = usage_of(child.pid());
    thread::sleep(WINDOW);
    let b = usage_of(child.pid());
    // Every file must still be alive.
    let alive = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    check::check(e.path(), &CheckOptions::default()).verdict == Verdict::Alive
                })
                .count()
        })
        .unwrap_or(0);
    let rest = child.finish();
    let stopped: f64 = rest
        .lines()
        .find_map(|l| l.strip_prefix("stopped "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    emit(&json!({
        "kind": "many", "id": "many.1000", "emitters": MANY, "interval_ms": 1000,
        "start_ms": started, "stop_ms": stopped, "alive": alive,
        "idle": {"rss_kib": idle.rss_kib, "threads": idle.threads, "fds": idle.fds},
        "running": diff(&a, &b),
    }));
    let _ = std::fs::remove_dir_all(&dir);
}

/// One emitter at 1 s: what it adds to a process, against a Python process
/// running kstlib's heartbeat at 1 s. Both run at the same time.
pub fn footprint(cfg: &Config) {
    let dir = cfg.tmpfs.join("footprint");
    fresh_dir(&dir);
    note("footprint of one emitter at 1 s (and of kstlib's heartbeat)");
    let mut ours = Proc::me(&["child-many", "1", dir.to_str().expect("UTF-8"), "1000"]);
    ours.expect("idle");
    let mut peer = match (&cfg.python, &cfg.peer) {
        (Some(py), Some(script)) => {
            let mut p = Proc::spawn(
                Command::new(py)
                    .arg(script)
                    .arg("footprint-child")
                    .arg(dir.join("kstlib.json")),
            );
            p.expect("idle");
            Some(p)
        }
        _ => None,
    };
    thread::sleep(Duration::from_millis(300));
    let ours_idle = usage_of(ours.pid());
    let peer_idle = peer.as_ref().map(|p| usage_of(p.pid()));
    thread::sleep(FOOTPRINT_WINDOW);
    let ours_idle2 = usage_of(ours.pid());
    let peer_idle2 = peer.as_ref().map(|p| usage_of(p.pid()));
    ours.send("go");
    ours.expect("started");
    if let Some(p) = peer.as_mut() {
        p.send("go");
        p.expect("started");
    }
    // Let the first beats happen (kstlib writes first after one interval).
    thread::sleep(Duration::from_millis(1500));
    let ours_a = usage_of(ours.pid());
    let peer_a = peer.as_ref().map(|p| usage_of(p.pid()));
    thread::sleep(FOOTPRINT_WINDOW);
    let ours_b = usage_of(ours.pid());
    let peer_b = peer.as_ref().map(|p| usage_of(p.pid()));
    let seq = |p: &PathBuf| {
        check::check(
            p,
            &CheckOptions {
                max_age_ms: Some(10_000),
                ..CheckOptions::default()
            },
        )
    };
    let ours_report = seq(&dir.join("e-00000.json"));
    emit(&json!({
        "kind": "footprint", "id": "footprint.lifesign",
        "idle": {"rss_kib": ours_idle.rss_kib, "threads": ours_idle.threads, "fds": ours_idle.fds},
        "idle_cpu": diff(&ours_idle, &ours_idle2),
        "running": diff(&ours_a, &ours_b),
        "verdict": ours_report.verdict.as_str(), "seq": ours_report.seq,
        "stack_bytes": lifesign::emitter::THREAD_STACK_BYTES,
    }));
    if let (Some(pi), Some(pi2), Some(pa), Some(pb)) = (peer_idle, peer_idle2, peer_a, peer_b) {
        let kr = seq(&dir.join("kstlib.json"));
        emit(&json!({
            "kind": "footprint", "id": "footprint.kstlib",
            "idle": {"rss_kib": pi.rss_kib, "threads": pi.threads, "fds": pi.fds},
            "idle_cpu": diff(&pi, &pi2),
            "running": diff(&pa, &pb),
            "verdict": kr.verdict.as_str(),
        }));
    } else {
        note("no --python/--peer given: the kstlib footprint is skipped");
    }
    ours.finish();
    if let Some(p) = peer {
        p.finish();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! Scale and footprint: `lifesign scan` over 10,000 heartbeat files, many
//! emitters in one process, and what one emitter adds to a process compared
//! with a Python process running kstlib's heartbeat.

use crate::util::{
    cpath, emit, fresh_dir, median, note, own_fds_of, r2, threads_named, usage_of, Proc, Usage,
};
use crate::Config;
use lifesign::check::{self, CheckOptions, Verdict};
use lifesign::process;
use lifesign::protocol::{encode, Record, Shape, State, PROTOCOL_VERSION};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn files() -> usize {
    crate::sized(10_000, 200)
}
const SCAN_REPS: usize = 5;
fn many_count() -> usize {
    crate::sized(10_000, 200)
}
/// Windows over which the emitters' CPU per beat is measured, each next to
/// a batch of the floor.
const MANY_REPS: usize = 5;
fn many_window() -> Duration {
    crate::sized(Duration::from_secs(2), Duration::from_millis(300))
}
const FLOOR_BEATS: usize = 2000;
const ONE_STARTS: usize = 21;
fn footprint_window() -> Duration {
    crate::sized(Duration::from_secs(10), Duration::from_secs(1))
}

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
                "scan of {} files from {nwriters} writer(s) on {fs}",
                files()
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
    for i in 0..files() {
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
            ..Record::default()
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
        if alive != files() {
            failures += 1;
        }
    }
    let ratios: Vec<f64> = cli_ms.iter().zip(&floor_ms).map(|(c, f)| c / f).collect();
    emit(&json!({
        "kind": "scan", "id": format!("scan.{fs}.w{nwriters}"), "fs": fs, "files": files(),
        "writers": nwriters, "reps": SCAN_REPS,
        "cli_ms": r2(median(&cli_ms)), "floor_ms": r2(median(&floor_ms)),
        "inproc_ms": r2(median(&inproc_ms)),
        "ratio": r2(median(&ratios)),
        "cli_us_per_file": r2(median(&cli_ms) * 1e3 / files() as f64),
        "floor_us_per_file": r2(median(&floor_ms) * 1e3 / files() as f64),
        "inproc_us_per_file": r2(median(&inproc_ms) * 1e3 / files() as f64),
        "failures": failures,
    }));
    if fs == "tmpfs" && nwriters == 100 {
        // The checker's descriptors after checking 100 live writers: the
        // pidfd cache is bounded.
        emit(
            &json!({"kind": "value", "id": "check.fds.100writers", "pidfds": own_fds_of("[pidfd]"),
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

/// The emitters' files, by name: listing a folder while 10,000 files are
/// renamed over can miss entries.
fn many_files(dir: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    (0..many_count()).map(move |i| dir.join(format!("e-{i:05}.json")))
}

/// The sum of `seq` over the emitters' files: how many writes they made.
fn writes_in(dir: &Path) -> u64 {
    many_files(dir)
        .filter_map(|p| match check::read_path(&p) {
            check::Read::Record(r) => Some(r.seq),
            _ => None,
        })
        .sum()
}

/// CPU time of the threads of `pid` named `name`, from schedstat (ns).
fn cpu_ns_named(pid: u32, name: &str) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| {
        d.flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
            })
            .filter_map(|t| {
                std::fs::read_to_string(t.path().join("schedstat"))
                    .ok()?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    })
}

/// 10,000 emitters at 1 s in one process: threads, memory, CPU per beat
/// against the floor of one `beat()` measured side by side, and the start
/// of one more emitter in that folder of 10,000 heartbeat files.
fn many(cfg: &Config) {
    let dir = cfg.tmpfs.join("many");
    fresh_dir(&dir);
    note(&format!("{} emitters at 1 s in one process", many_count()));
    let mut child = Proc::me(&[
        "child-many",
        &many_count().to_string(),
        dir.to_str().expect("UTF-8"),
        "1000",
    ]);
    child.expect("idle");
    thread::sleep(Duration::from_millis(200));
    let idle = usage_of(child.pid());
    child.send("go");
    let started: f64 = child.expect("started ")[8..].parse().unwrap_or(0.0);
    // Let the start's burst settle into the steady state.
    thread::sleep(Duration::from_millis(2500));
    let mut per_beat_us = Vec::new();
    let mut floor_us = Vec::new();
    let mut round_us = Vec::new();
    let mut round_wall_us = Vec::new();
    let mut hot_ratios = Vec::new();
    let mut floor_wall_us = Vec::new();
    let mut ratios = Vec::new();
    let mut cpu_pct = Vec::new();
    let mut beats_per_s = Vec::new();
    let mut beat_thread_us = Vec::new();
    let mut writer_us = Vec::new();
    let first = usage_of(child.pid());
    let mut last = first;
    for _ in 0..MANY_REPS {
        let a = usage_of(child.pid());
        let (ta, wra) = (
            cpu_ns_named(child.pid(), "lifesign-beat"),
            cpu_ns_named(child.pid(), "lifesign-write"),
        );
        let wa = writes_in(&dir);
        thread::sleep(many_window());
        let b = usage_of(child.pid());
        let (tb, wrb) = (
            cpu_ns_named(child.pid(), "lifesign-beat"),
            cpu_ns_named(child.pid(), "lifesign-write"),
        );
        let wb = writes_in(&dir);
        let beats = wb.saturating_sub(wa).max(1);
        let cpu = b.cpu_ns.saturating_sub(a.cpu_ns) as f64;
        let secs = (b.at_ns - a.at_ns) as f64 / 1e9;
        let beat_us = cpu / beats as f64 / 1e3;
        let mut ask = |cmd: &str| {
            child.send(&format!("{cmd} {FLOOR_BEATS}"));
            let line = child.expect(&format!("{cmd} "));
            let mut f = line[cmd.len() + 1..]
                .split_whitespace()
                .map(|v| v.parse::<f64>().unwrap_or(f64::NAN) / 1e3);
            (f.next().unwrap_or(f64::NAN), f.next().unwrap_or(f64::NAN))
        };
        let (rc, rw) = ask("round");
        let (fc, fw) = ask("floor");
        per_beat_us.push(beat_us);
        beat_thread_us.push(tb.saturating_sub(ta) as f64 / beats as f64 / 1e3);
        writer_us.push(wrb.saturating_sub(wra) as f64 / beats as f64 / 1e3);
        round_us.push(rc);
        round_wall_us.push(rw);
        floor_us.push(fc);
        floor_wall_us.push(fw);
        ratios.push(beat_us / rc);
        hot_ratios.push(beat_us / fc);
        cpu_pct.push(cpu / 1e9 / secs * 100.0);
        beats_per_s.push(beats as f64 / secs);
        last = b;
    }
    let beat_threads = threads_named(child.pid(), "lifesign-beat");
    let writer_threads = threads_named(child.pid(), "lifesign-write");
    let mut one_us = Vec::new();
    for _ in 0..ONE_STARTS {
        child.send("one");
        let ns: f64 = child.expect("one ")[4..].parse().unwrap_or(f64::NAN);
        one_us.push(ns / 1e3);
    }
    let files_in_folder = many_files(&dir).filter(|p| p.exists()).count();
    // Every file must still be alive.
    let alive = many_files(&dir)
        .filter(|p| check::check(p, &CheckOptions::default()).verdict == Verdict::Alive)
        .count();
    let rest = child.finish();
    let stopped: f64 = rest
        .lines()
        .find_map(|l| l.strip_prefix("stopped "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    emit(&json!({
        "kind": "many", "id": format!("many.{}", many_count()), "emitters": many_count(), "interval_ms": 1000,
        "start_ms": started, "stop_ms": stopped, "alive": alive,
        "idle": {"rss_kib": idle.rss_kib, "threads": idle.threads, "fds": idle.fds},
        "running": {
            "rss_kib": last.rss_kib, "threads": last.threads, "fds": last.fds,
            "rss_added_kib": last.rss_kib.saturating_sub(idle.rss_kib),
            "beat_threads": beat_threads, "writer_threads": writer_threads,
            "cpu_pct": r2(median(&cpu_pct)),
            "beats_per_s": r2(median(&beats_per_s)),
            "window_s": r2((last.at_ns - first.at_ns) as f64 / 1e9),
        },
        "beat_cpu_us": r2(median(&per_beat_us)),
        "beat_thread_cpu_us": r2(median(&beat_thread_us)),
        "writer_cpu_us": r2(median(&writer_us)),
        "round_cpu_us": r2(median(&round_us)),
        "round_wall_us": r2(median(&round_wall_us)),
        "floor_cpu_us": r2(median(&floor_us)),
        "hot_ratio": r2(median(&hot_ratios)),
        "floor_wall_us": r2(median(&floor_wall_us)),
        "ratio": r2(median(&ratios)),
        "ratio_min": r2(ratios.iter().copied().fold(f64::INFINITY, f64::min)),
        "ratio_max": r2(ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        "reps": MANY_REPS,
        "one_start_us": r2(median(&one_us)),
        "one_start_max_us": r2(one_us.iter().copied().fold(0.0, f64::max)),
        "one_start_files": files_in_folder,
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
    thread::sleep(footprint_window());
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
    thread::sleep(footprint_window());
    let ours_b = usage_of(ours.pid());
    let peer_b = peer.as_ref().map(|p| usage_of(p.pid()));
    let seq = |p: &PathBuf| {
        check::check(p, &{
            let mut o = CheckOptions::default();
            o.max_age = Some(Duration::from_secs(10));
            o
        })
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

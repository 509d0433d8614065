//! Waiters at scale (section `waiters`): many waits on one folder, whose
//! emitters are other processes, measured from each emitter's ready write
//! to its wait's return; and the CPU of following one file in a folder of
//! 10,000 beating emitters.
//!
//! `LIFESIGN_BENCH_SMOKE` (set and not `0`) shrinks every size, so that a
//! smoke run of the section takes seconds.

use crate::util::{cpu_ns_of, emit, fresh_dir, median, note, r2, Proc};
use crate::Config;
use lifesign::wait::{wait_ready_with, WaitOptions};
use lifesign::{Emitter, State};
use serde_json::json;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn smoke() -> bool {
    std::env::var("LIFESIGN_BENCH_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn hb(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("w-{i:05}.json"))
}

/// CPU time of this process, every thread (exited ones too), ns.
fn own_cpu_ns() -> u64 {
    // SAFETY: ru is valid storage for one rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with valid storage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as u64 * 1_000_000_000 + v.tv_usec as u64 * 1000;
    t(ru.ru_utime) + t(ru.ru_stime)
}

pub fn run(cfg: &Config) {
    let (n, procs) = if smoke() { (40, 4) } else { (1000, 10) };
    let dir = cfg.tmpfs.join("waiters");
    one_process(&dir, n, procs);
    let (wprocs, per) = if smoke() { (4, 5) } else { (100, 10) };
    many_processes(&dir, wprocs, per, procs);
    follow(cfg, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `procs` emitter processes holding `n` heartbeats of `dir` between them.
fn emitters(dir: &Path, n: usize, procs: usize) -> Vec<Proc> {
    let per = n.div_ceil(procs);
    (0..procs)
        .map(|k| {
            let first = (k * per).min(n);
            let count = per.min(n - first);
            let mut p = Proc::me(&[
                "child-emitters",
                &dir.display().to_string(),
                &first.to_string(),
                &count.to_string(),
            ]);
            p.expect("started");
            p
        })
        .collect()
}

/// Tells every emitter to write `ready`, one file after another; returns
/// each file's write time (CLOCK_MONOTONIC ns, taken just before it). The
/// emitters keep beating until they are finished.
fn go(kids: &mut [Proc]) -> HashMap<usize, u64> {
    for k in kids.iter_mut() {
        k.send("go");
    }
    let mut at = HashMap::new();
    for k in kids.iter_mut() {
        loop {
            let l = k.line();
            let Some((i, t)) = l.split_once(' ') else {
                break;
            };
            if let (Ok(i), Ok(t)) = (i.parse(), t.parse()) {
                at.insert(i, t);
            }
        }
    }
    at
}

/// Runs waits on heartbeats `first .. first + count` of `dir`, each on its
/// own thread; calls `all_read` once every wait has read its file, then
/// returns each one's end time (ns, CLOCK_MONOTONIC) and whether it was ready.
fn waits(
    dir: &Path,
    first: usize,
    count: usize,
    all_read: impl FnOnce(),
) -> Vec<(usize, u64, bool)> {
    let barrier = Arc::new(Barrier::new(count + 1));
    let threads: Vec<_> = (first..first + count)
        .map(|i| {
            let (p, b) = (hb(dir, i), barrier.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut once = true;
                    let out = wait_ready_with(
                        &p,
                        &{
                            let mut o = WaitOptions::default();
                            o.timeout = Some(Duration::from_secs(600));
                            o
                        },
                        |_| {
                            if std::mem::take(&mut once) {
                                b.wait();
                            }
                        },
                    );
                    (i, crate::util::mono_ns(), out.is_ok())
                })
                .expect("a thread")
        })
        .collect();
    barrier.wait();
    all_read();
    threads
        .into_iter()
        .map(|t| t.join().expect("joined"))
        .collect()
}

fn latencies(ends: &[(usize, u64, bool)], at: &HashMap<usize, u64>) -> (Vec<f64>, usize) {
    let mut ms = Vec::new();
    let mut not_ready = 0;
    for (i, end, ready) in ends {
        if !ready {
            not_ready += 1;
        }
        if let Some(t0) = at.get(i) {
            ms.push(end.saturating_sub(*t0) as f64 / 1e6);
        }
    }
    (ms, not_ready)
}

fn one_process(dir: &Path, n: usize, procs: usize) {
    fresh_dir(dir);
    note(&format!(
        "{n} waits in one process on one folder, emitters in {procs} processes"
    ));
    let mut kids = emitters(dir, n, procs);
    let mut cpu0 = 0;
    let mut at = HashMap::new();
    let ends = waits(dir, 0, n, || {
        cpu0 = own_cpu_ns();
        at = go(&mut kids);
    });
    let cpu = own_cpu_ns() - cpu0;
    for k in kids {
        k.finish();
    }
    let (ms, not_ready) = latencies(&ends, &at);
    let max = ms.iter().copied().fold(0.0, f64::max);
    note(&format!(
        "  ready write to wait return: median {:.2} ms, slowest {:.2} ms; CPU {:.1} ms; not ready {not_ready}",
        median(&ms),
        max,
        cpu as f64 / 1e6
    ));
    emit(&json!({
        "id": "waiters.one_process",
        "waits": n,
        "emitter_processes": procs,
        "median_ms": r2(median(&ms)),
        "slowest_ms": r2(max),
        "waiter_cpu_ms": r2(cpu as f64 / 1e6),
        "not_ready": not_ready,
    }));
}

fn many_processes(dir: &Path, wprocs: usize, per: usize, procs: usize) {
    let n = wprocs * per;
    fresh_dir(dir);
    note(&format!(
        "{wprocs} processes x {per} waits on one folder of {n} emitters ({procs} processes)"
    ));
    let mut kids = emitters(dir, n, procs);
    let mut waiters: Vec<Proc> = (0..wprocs)
        .map(|k| {
            Proc::me(&[
                "child-waits",
                &dir.display().to_string(),
                &(k * per).to_string(),
                &per.to_string(),
            ])
        })
        .collect();
    for w in &mut waiters {
        w.expect("read");
    }
    let cpu0: u64 = waiters.iter().map(|w| cpu_ns_of(w.pid())).sum();
    let at = go(&mut kids);
    let mut ends = Vec::new();
    let mut cpu = 0u64;
    for w in waiters {
        for l in w.finish().lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                ["end", i, t, r] => {
                    ends.push((i.parse().unwrap_or(0), t.parse().unwrap_or(0), *r == "1"))
                }
                ["cpu", ns] => cpu += ns.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    for k in kids {
        k.finish();
    }
    let (ms, not_ready) = latencies(&ends, &at);
    let max = ms.iter().copied().fold(0.0, f64::max);
    let cpu = cpu.saturating_sub(cpu0);
    note(&format!(
        "  ready write to wait return: median {:.2} ms, slowest {:.2} ms; waiters' CPU {:.1} ms in all; not ready {not_ready}",
        median(&ms),
        max,
        cpu as f64 / 1e6
    ));
    emit(&json!({
        "id": "waiters.many_processes",
        "processes": wprocs,
        "waits_each": per,
        "median_ms": r2(median(&ms)),
        "slowest_ms": r2(max),
        "waiters_cpu_ms": r2(cpu as f64 / 1e6),
        "not_ready": not_ready,
    }));
}

/// `lifesign watch` of one file in a folder of 10,000 beating emitters:
/// its CPU per second while only the others beat, and per change of its
/// own file. (The CLI follows one file; `scan` takes snapshots.)
fn follow(cfg: &Config, dir: &Path) {
    let Some(cli) = &cfg.cli else {
        note("no --cli given: the watch measurement is skipped");
        return;
    };
    let (n, changes, window) = if smoke() {
        (200, 10, Duration::from_millis(500))
    } else {
        (10_000, 200, Duration::from_secs(5))
    };
    fresh_dir(dir);
    note(&format!(
        "lifesign watch of one file among {n} emitters beating every second"
    ));
    let mut many = Proc::me(&[
        "child-many",
        &n.to_string(),
        &dir.display().to_string(),
        "1000",
    ]);
    many.expect("idle");
    many.send("go");
    many.line();
    let mine = dir.join("mine.json");
    let mut own = Proc::me(&["child-ready", &mine.display().to_string()]);
    own.expect("started");
    let mut watch = Proc::spawn(std::process::Command::new(cli).arg("watch").arg(&mine));
    watch.line();
    // Settle, then the noise alone.
    std::thread::sleep(Duration::from_millis(500));
    let c0 = cpu_ns_of(watch.pid());
    let t0 = Instant::now();
    std::thread::sleep(window);
    let idle_ns = cpu_ns_of(watch.pid()) - c0;
    let idle_per_s = idle_ns as f64 / t0.elapsed().as_secs_f64();
    // Its own changes: starting and ready in turn, each seen as a line.
    let c1 = cpu_ns_of(watch.pid());
    let t1 = Instant::now();
    for k in 0..changes {
        own.send(if k % 2 == 0 { "go" } else { "starting" });
        own.line();
        watch.line();
    }
    let busy_ns = cpu_ns_of(watch.pid()) - c1;
    // What the noise cost meanwhile is not the changes' own.
    let noise_ns = idle_per_s * t1.elapsed().as_secs_f64();
    let per_change = (busy_ns as f64 - noise_ns).max(0.0) / changes as f64;
    note(&format!(
        "  watch CPU: {:.3} ms/s with only the others beating; {:.1} us per change of its own file",
        idle_per_s / 1e6,
        per_change / 1e3
    ));
    emit(&json!({
        "id": "waiters.watch",
        "emitters": n,
        "idle_cpu_ms_per_s": r2(idle_per_s / 1e6),
        "cpu_us_per_change": r2(per_change / 1e3),
        "changes": changes,
    }));
    watch.kill();
    watch.reap();
    own.finish();
    many.finish();
}

/// `child-emitters DIR FIRST COUNT`: COUNT emitters (`starting`), prints
/// `started`; on `go` writes `ready` to each in turn and prints `I NS` per
/// file, the time just before its write; stops them at the end of input.
pub fn child_emitters(args: &[String]) {
    let dir = PathBuf::from(&args[0]);
    let first: usize = args[1].parse().expect("FIRST");
    let count: usize = args[2].parse().expect("COUNT");
    let hbs: Vec<Emitter> = (first..first + count)
        .map(|i| Emitter::start(hb(&dir, i), Duration::from_secs(1)).expect("start"))
        .collect();
    println!("started");
    let mut times = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line == "go" {
            for (k, h) in hbs.iter().enumerate() {
                times.push((first + k, crate::util::mono_ns()));
                h.set_state(State::Ready, None).expect("ready");
            }
            break;
        }
    }
    for (i, t) in times {
        println!("{i} {t}");
    }
    println!("done");
    crate::util::wait_for_eof();
    for h in hbs {
        let _ = h.stop();
    }
}

/// `child-waits DIR FIRST COUNT`: COUNT waits on threads; prints `read`
/// once each has read its file, then `end I NS READY` per wait and `cpu NS`.
pub fn child_waits(args: &[String]) {
    let dir = PathBuf::from(&args[0]);
    let first: usize = args[1].parse().expect("FIRST");
    let count: usize = args[2].parse().expect("COUNT");
    let ends = waits(&dir, first, count, || println!("read"));
    for (i, t, r) in ends {
        println!("end {i} {t} {}", u8::from(r));
    }
    println!("cpu {}", own_cpu_ns());
    crate::util::wait_for_eof();
}

//! The lifesign benchmarks measured from Rust (`harness = false`).
//!
//! Run them all through `benches/run.sh` (or `make bench`), which builds
//! this program, runs each section, the C, Python and binding benchmarks,
//! and writes docs/BENCHMARKS.md. By hand:
//!
//! ```text
//! lifesign_bench SECTION --tmpfs DIR --disk DIR [--cli PATH] [--python PATH --peer PATH]
//! ```
//!
//! SECTION is one of `cost` (beat and check against their floors), `ready`
//! (ready latency), `death` (death latency), `scale` (scan of 10,000 files,
//! 1000 emitters in one process), `footprint` (one emitter against a
//! Python process running kstlib's heartbeat) and `waiters` (1000 waits on
//! one folder in one process and in 100, and `lifesign watch` among 10,000
//! emitters; `LIFESIGN_BENCH_SMOKE=1` shrinks it). Each prints one JSON object
//! per line on stdout; progress goes to stderr.
//!
//! The `child-*` modes are this same program acting as a separate emitter
//! process for the measurements above.

mod cost;
mod latency;
mod scale;
mod util;
mod waiters;

use lifesign::{Emitter, State};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

static SMOKE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A size of a measurement: `full` in a real run, `smoke` in the smoke run
/// of `make test` (`--smoke 1`: every section runs, briefly, and nothing it
/// measures is judged).
pub fn sized<T>(full: T, smoke: T) -> T {
    if SMOKE.load(std::sync::atomic::Ordering::Relaxed) {
        smoke
    } else {
        full
    }
}

/// Where and with what the sections run.
pub struct Config {
    /// A folder on tmpfs.
    pub tmpfs: PathBuf,
    /// A folder on the ordinary disk.
    pub disk: PathBuf,
    /// The command-line tool (`target/release/lifesign`).
    pub cli: Option<PathBuf>,
    /// The Python of the peer's virtual environment.
    pub python: Option<PathBuf>,
    /// benches/peer_kstlib.py.
    pub peer: Option<PathBuf>,
    /// Repetitions of each paired measurement.
    pub reps: usize,
}

impl Config {
    /// The two file systems, named as in the document.
    pub fn filesystems(&self) -> [(&'static str, PathBuf); 2] {
        [("tmpfs", self.tmpfs.clone()), ("disk", self.disk.clone())]
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes --bench; the sections are named explicitly.
    let args: Vec<String> = args.into_iter().filter(|a| a != "--bench").collect();
    let Some(mode) = args.first().cloned() else {
        eprintln!("usage: lifesign_bench cost|ready|death|scale|footprint|waiters --tmpfs DIR --disk DIR [--cli PATH] [--python PATH --peer PATH]");
        std::process::exit(2);
    };
    let rest = &args[1..];
    match mode.as_str() {
        "child-emitter" => child_emitter(rest),
        "child-ready" => child_ready(rest),
        "child-sleep" => {
            println!("up");
            util::wait_for_eof();
        }
        "child-many" => child_many(rest),
        "child-emitters" => waiters::child_emitters(rest),
        "child-waits" => waiters::child_waits(rest),
        section => {
            let cfg = config(rest);
            match section {
                "cost" => cost::run(&cfg),
                "ready" => latency::ready(&cfg),
                "death" => latency::death(&cfg),
                "scale" => scale::run(&cfg),
                "footprint" => scale::footprint(&cfg),
                "waiters" => waiters::run(&cfg),
                other => {
                    eprintln!("unknown section {other:?}");
                    std::process::exit(2);
                }
            }
        }
    }
}

fn config(args: &[String]) -> Config {
    let mut kv = HashMap::new();
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let Some(name) = k.strip_prefix("--") else {
            eprintln!("unexpected argument {k:?}");
            std::process::exit(2);
        };
        let v = it.next().cloned().unwrap_or_default();
        kv.insert(name.to_owned(), v);
    }
    let dir = |k: &str, default: &str| PathBuf::from(kv.get(k).map_or(default, String::as_str));
    let opt = |k: &str| kv.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if kv.get("smoke").is_some_and(|v| v == "1") {
        SMOKE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Config {
        tmpfs: dir("tmpfs", "/dev/shm/lifesign-bench"),
        disk: dir("disk", "target/bench-disk"),
        cli: opt("cli"),
        python: opt("python"),
        peer: opt("peer"),
        reps: kv.get("reps").and_then(|v| v.parse().ok()).unwrap_or(7),
    }
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> &'a str {
    args.get(i).map(String::as_str).unwrap_or_else(|| {
        eprintln!("missing {what}");
        std::process::exit(2)
    })
}

/// `child-emitter PATH INTERVAL_MS`: an emitter in state ready until stdin closes.
fn child_emitter(args: &[String]) {
    let path = arg(args, 0, "PATH");
    let ms: u64 = arg(args, 1, "INTERVAL_MS").parse().expect("interval");
    let e = Emitter::start(path, Duration::from_millis(ms)).expect("start");
    e.set_state(State::Ready, Some("serving")).expect("ready");
    println!("ready");
    util::wait_for_eof();
    let _ = e.stop();
}

/// `child-ready PATH`: an emitter in state starting; `starting` sets that
/// state again, `go` takes CLOCK_MONOTONIC, sets ready and prints the time
/// before and after,
/// `ping` prints the time (the floor: a wake-up through a pipe).
fn child_ready(args: &[String]) {
    let path = arg(args, 0, "PATH");
    let e = Emitter::start(path, Duration::from_secs(3600)).expect("start");
    println!("started");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.as_str() {
            "starting" => {
                e.set_state(State::Starting, None).expect("starting");
                println!("ok");
            }
            "go" => {
                let t0 = util::mono_ns();
                e.set_state(State::Ready, None).expect("ready");
                println!("{t0} {}", util::mono_ns());
            }
            "ping" => println!("{}", util::mono_ns()),
            _ => println!("err"),
        }
    }
    let _ = e.stop();
}

/// `child-many N DIR INTERVAL_MS`: prints `idle`, waits for a line, starts N
/// emitters in state ready, prints `started MS`, then answers commands
/// until the end of stdin, when it stops them all and prints `stopped MS`:
/// `floor K` makes K `beat()` calls on one more emitter in DIR and prints
/// `floor CPU_NS WALL_NS` per call (the CPU time of the calling thread);
/// `round K` makes K `beat()` calls on the N emitters in turn (the same
/// files and data as their beat thread's writes) and prints `round CPU_NS
/// WALL_NS` per call;
/// `one` starts one more emitter in DIR, stops it, and prints `one NS`,
/// the time `start` took.
fn child_many(args: &[String]) {
    let n: usize = arg(args, 0, "N").parse().expect("N");
    let dir = PathBuf::from(arg(args, 1, "DIR"));
    let ms: u64 = arg(args, 2, "INTERVAL_MS").parse().expect("interval");
    println!("idle");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let _ = lines.next();
    let t = Instant::now();
    let emitters: Vec<Emitter> = (0..n)
        .map(|i| {
            let e = Emitter::start(
                dir.join(format!("e-{i:05}.json")),
                Duration::from_millis(ms),
            )
            .expect("start");
            e.set_state(State::Ready, Some("serving")).expect("ready");
            e
        })
        .collect();
    println!("started {:.1}", t.elapsed().as_secs_f64() * 1e3);
    // Made on the first `floor`, so that the footprint sees N emitters.
    let mut floor: Option<Emitter> = None;
    let mut ones = 0u64;
    let mut next = 0usize;
    for line in lines {
        let Ok(line) = line else { break };
        let (cmd, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "floor" => {
                let k: u64 = rest.parse().unwrap_or(1000).max(1);
                let floor = floor.get_or_insert_with(|| {
                    let e = Emitter::start(dir.join("floor.json"), Duration::from_secs(3600))
                        .expect("start");
                    e.set_state(State::Ready, Some("serving")).expect("ready");
                    e
                });
                per_call("floor", k, || floor.beat().expect("beat"));
            }
            "round" => {
                let k: u64 = rest.parse().unwrap_or(1000).max(1);
                per_call("round", k, || {
                    // A failed beat (none expected) still costs a write.
                    let _ = emitters[next % emitters.len()].beat();
                    next += 1;
                });
            }
            "one" => {
                let path = dir.join(format!("one-{ones}.json"));
                ones += 1;
                let t = Instant::now();
                let e = Emitter::start(&path, Duration::from_millis(ms)).expect("start");
                let ns = t.elapsed().as_nanos();
                let _ = e.stop();
                drop(e);
                let _ = std::fs::remove_file(&path);
                println!("one {ns}");
            }
            _ => println!("err"),
        }
    }
    let t = Instant::now();
    if let Some(f) = floor {
        let _ = f.stop();
    }
    for e in &emitters {
        let _ = e.stop();
    }
    drop(emitters);
    println!("stopped {:.1}", t.elapsed().as_secs_f64() * 1e3);
}

/// Makes `k` calls of `f` and prints `TAG CPU_NS WALL_NS` per call (the CPU
/// time of the calling thread).
fn per_call(tag: &str, k: u64, mut f: impl FnMut()) {
    let (c0, w0) = (util::thread_cpu_ns(), util::mono_ns());
    for _ in 0..k {
        f();
    }
    let (c1, w1) = (util::thread_cpu_ns(), util::mono_ns());
    println!(
        "{tag} {:.1} {:.1}",
        (c1 - c0) as f64 / k as f64,
        (w1 - w0) as f64 / k as f64
    );
}

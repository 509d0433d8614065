//! The measuring harness: batches timed on the monotonic clock, paired
//! measurements of a floor and the library in alternating order, medians,
//! child processes driven over pipes, and readings of /proc.

use serde_json::{json, Value};
use std::ffi::CString;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid, writable storage for one timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the machine.
pub fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CPU time of the calling thread in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// How many threads of a process have this name (`/proc/<pid>/task/*/comm`).
pub fn threads_named(pid: u32, name: &str) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| {
        d.flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
            })
            .count() as u64
    })
}

/// The median (the mean of the two middle values for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => s[n / 2],
        _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let k = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[k - 1]
}

/// Rounds for the JSON output (no float noise in the document).
pub fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A small xorshift generator for random phases (no dependency needed).
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock.
    pub fn new() -> Rng {
        Rng(mono_ns() | 1)
    }
    /// A value in `[lo, hi)`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo).max(1)
    }
}

/// Nanoseconds per call over `n` calls.
pub fn ns_per_call(n: u64, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// How many calls of `f` fill a batch of about `batch`.
pub fn calibrate(f: &mut dyn FnMut(), batch: Duration) -> u64 {
    for _ in 0..3 {
        f();
    }
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let e = t.elapsed();
        if e >= Duration::from_millis(20) || n >= 1 << 24 {
            let per = e.as_nanos() as f64 / n as f64;
            return ((batch.as_nanos() as f64 / per) as u64).max(5);
        }
        n *= 2;
    }
}

/// A floor and the library measured side by side.
pub struct Pair {
    /// ns per call of the floor, one value a repetition.
    pub base: Vec<f64>,
    /// ns per call of the library, one value a repetition.
    pub lib: Vec<f64>,
    /// Calls per batch.
    pub calls: (u64, u64),
}

/// The slices each side's batch is cut into: the floor and the library
/// take turns slice by slice, so that a burst of the machine's other work
/// lands on both sides of a repetition rather than on one.
const SLICES: u64 = 10;

/// Measures `base` and `lib` in `reps` repetitions, each side's batch
/// about `batch` long, the two taking turns in slices (which goes first
/// alternating).
pub fn paired(reps: usize, batch: Duration, base: &mut dyn FnMut(), lib: &mut dyn FnMut()) -> Pair {
    let nb = (calibrate(base, batch) / SLICES).max(1);
    let nl = (calibrate(lib, batch) / SLICES).max(1);
    let mut p = Pair {
        base: Vec::new(),
        lib: Vec::new(),
        calls: (nb * SLICES, nl * SLICES),
    };
    for r in 0..reps {
        let (mut b, mut l) = (0.0, 0.0);
        for s in 0..SLICES as usize {
            if (r + s) % 2 == 0 {
                b += ns_per_call(nb, base);
                l += ns_per_call(nl, lib);
            } else {
                l += ns_per_call(nl, lib);
                b += ns_per_call(nb, base);
            }
        }
        p.base.push(b / SLICES as f64);
        p.lib.push(l / SLICES as f64);
    }
    p
}

impl Pair {
    /// The ratio of each repetition (library / floor).
    pub fn ratios(&self) -> Vec<f64> {
        self.lib
            .iter()
            .zip(&self.base)
            .map(|(l, b)| l / b)
            .collect()
    }

    /// One JSON record: medians of each side and of the per-repetition ratios.
    pub fn record(&self, id: &str, extra: Value) -> Value {
        let ratios = self.ratios();
        let mut v = json!({
            "kind": "ratio",
            "id": id,
            "base_ns": r2(median(&self.base)),
            "lib_ns": r2(median(&self.lib)),
            "ratio": r3(median(&ratios)),
            "ratio_min": r3(ratios.iter().copied().fold(f64::INFINITY, f64::min)),
            "ratio_max": r3(ratios.iter().copied().fold(0.0, f64::max)),
            "reps": self.base.len(),
            "base_calls": self.calls.0,
            "lib_calls": self.calls.1,
            "base_samples": self.base.iter().map(|x| r2(*x)).collect::<Vec<_>>(),
            "lib_samples": self.lib.iter().map(|x| r2(*x)).collect::<Vec<_>>(),
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }
}

/// Prints one result line.
pub fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Progress for the person running the benchmark.
pub fn note(msg: &str) {
    eprintln!("  {msg}");
}

/// A path as a C string.
pub fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

/// A child process of this program, driven one line at a time.
pub struct Proc {
    /// The process.
    pub child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl Proc {
    /// Starts this same program in a child mode.
    pub fn me(args: &[&str]) -> Proc {
        let exe = std::env::current_exe().expect("own path");
        Proc::spawn(Command::new(exe).args(args))
    }

    /// Starts a command with piped stdin and stdout.
    pub fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .env_remove("LIFESIGN_FILE")
            .env_remove("LIFESIGN_INTERVAL_MS")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("LIFESIGN_NOTIFY_FD")
            .spawn()
            .expect("spawn a child process");
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        Proc { child, stdin, out }
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads one line (without its newline); panics at end of file.
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        let n = self.out.read_line(&mut s).expect("read from a child");
        assert!(n > 0, "the child process closed its output");
        s.trim_end().to_owned()
    }

    /// Reads one line and checks that it starts with `want`.
    pub fn expect(&mut self, want: &str) -> String {
        let l = self.line();
        assert!(l.starts_with(want), "child said {l:?}, expected {want:?}");
        l
    }

    /// Sends one line.
    pub fn send(&mut self, s: &str) {
        let w = self.stdin.as_mut().expect("stdin still open");
        writeln!(w, "{s}").expect("write to a child");
        w.flush().expect("flush to a child");
    }

    /// Closes the child's stdin (its signal to stop) and waits for it.
    pub fn finish(mut self) -> String {
        drop(self.stdin.take());
        let mut rest = String::new();
        let _ = self.out.read_to_string(&mut rest);
        let _ = self.child.wait();
        rest
    }

    /// SIGKILL now.
    pub fn kill(&self) {
        // SAFETY: sends a signal to our own child's PID.
        unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGKILL) };
    }

    /// Reaps a killed child.
    pub fn reap(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Reads stdin to its end (a child's wait for the parent's signal to stop).
pub fn wait_for_eof() {
    let mut sink = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut sink);
}

/// A snapshot of a process: resident memory, threads, descriptors and the
/// CPU time of all its threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// VmRSS in KiB.
    pub rss_kib: u64,
    /// Number of threads.
    pub threads: u64,
    /// Open descriptors.
    pub fds: u64,
    /// CPU time of all threads, ns (schedstat), or clock ticks as a fallback.
    pub cpu_ns: u64,
    /// When it was taken.
    pub at_ns: u64,
}

/// Reads the usage of a process from /proc.
pub fn usage_of(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
    Usage {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        fds,
        cpu_ns: cpu_ns_of(pid),
        at_ns: mono_ns(),
    }
}

/// CPU time of every thread of a process, from schedstat (nanoseconds);
/// falls back to utime + stime of /proc/<pid>/stat (clock ticks).
pub fn cpu_ns_of(pid: u32) -> u64 {
    let mut total = 0u64;
    let mut any = false;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                if let Some(ns) = s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    total += ns;
                    any = true;
                }
            }
        }
    }
    if any {
        return total;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

/// Open descriptors of this process.
pub fn own_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// Open descriptors of this process of one anonymous kind: `[pidfd]`,
/// `[eventpoll]`.
pub fn own_fds_of(kind: &str) -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|t| t.as_os_str().as_encoded_bytes().ends_with(kind.as_bytes()))
            })
            .count() as u64
    })
}

/// Makes an empty folder (removing an old one).
pub fn fresh_dir(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
    std::fs::create_dir_all(p).expect("create a bench folder");
}

/// Rounds a ratio to three decimals.
pub fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The 1-minute load average (other work on this shared machine).
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Opens a pidfd (None where the kernel has none).
pub fn pidfd(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a fresh descriptor that we own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Blocks until a descriptor is readable.
pub fn wait_readable(fd: &std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, -1) };
}

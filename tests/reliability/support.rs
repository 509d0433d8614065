//! Support for the reliability tests (tests/stress.rs, tests/hostile.rs):
//! the short/long switch, figures, a hang watchdog, child processes that run
//! a *role* of the test binary itself, and tmpfs mounts.
//!
//! A role is a piece of the test binary run in a fresh process: the parent
//! starts `current_exe() <entry test> --exact --ignored --nocapture` with
//! `LIFESIGN_TEST_ROLE` (and its JSON arguments in `LIFESIGN_TEST_ROLE_ARGS`)
//! in the environment; the entry test runs the role, prints `@@ ...` lines
//! on stdout and exits. So every reader, writer and victim is a real process,
//! without a helper program of its own.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The environment variable naming the role a child process runs.
pub const ROLE_ENV: &str = "LIFESIGN_TEST_ROLE";
/// The environment variable holding the role's arguments (a JSON value).
pub const ROLE_ARGS_ENV: &str = "LIFESIGN_TEST_ROLE_ARGS";

/// Whether the long form was asked for (`LIFESIGN_STRESS=long`).
pub fn long_form() -> bool {
    std::env::var("LIFESIGN_STRESS").as_deref() == Ok("long")
}

/// `short` in the default run, `long` in the long form.
pub fn scale(short: u64, long: u64) -> u64 {
    if long_form() {
        long
    } else {
        short
    }
}

/// Records a figure: printed on stderr (visible with `--nocapture`) and
/// appended to `$LIFESIGN_FIGURES_FILE` when set (tests/reliability/run.sh
/// collects them there).
pub fn figure(test: &str, pairs: &[(&str, String)]) {
    let mut line = format!("FIGURE {test}");
    for (k, v) in pairs {
        line.push_str(&format!(" {k}={v}"));
    }
    eprintln!("{line}");
    if let Some(f) = std::env::var_os("LIFESIGN_FIGURES_FILE") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Runs `f` on a thread and fails only if it has not returned after
/// `secs` seconds: a real hang, not a slow machine.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer after {secs} s (a hang)"),
    }
}

/// A fresh folder, removed on drop. `base` defaults to the temporary folder
/// (or `$LIFESIGN_TEST_TMP`).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let base = std::env::var_os("LIFESIGN_TEST_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Scratch::under(&base, tag)
    }

    pub fn under(base: &Path, tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = base.join(format!(
            "lifesign-rel-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lifesign temporaries (`.*.lifesign-<pid>-<n>.tmp`) in a folder.
pub fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| lifesign::write::temp_writer_pid(n.as_bytes()).is_some())
                .collect()
        })
        .unwrap_or_default()
}

/// The CLI built by cargo for the tests.
pub fn cli() -> &'static str {
    env!("CARGO_BIN_EXE_lifesign")
}

/// The role this process was started for, with its arguments, if any.
pub fn current_role() -> Option<(String, Value)> {
    let role = std::env::var(ROLE_ENV).ok()?;
    let args = std::env::var(ROLE_ARGS_ENV)
        .ok()
        .and_then(|a| serde_json::from_str(&a).ok())
        .unwrap_or(Value::Null);
    Some((role, args))
}

/// Prints one `@@` line for the parent and flushes.
pub fn say(line: &str) {
    let out = std::io::stdout();
    let mut out = out.lock();
    let _ = writeln!(out, "@@ {line}");
    let _ = out.flush();
}

/// Ends a role process: flushes and exits without returning to the harness.
pub fn finish_role(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

/// Whether `unshare -m` works here (a private mount namespace per child, so a
/// mount can never outlive the test).
pub fn private_mounts_available() -> bool {
    static ANSWER: once_cell::sync::Lazy<bool> = once_cell::sync::Lazy::new(|| {
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    *ANSWER
}

/// A command running `role` of this test binary through its entry test.
pub fn role_command(entry: &str, role: &str, args: &Value, private_mounts: bool) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut c = if private_mounts && private_mounts_available() {
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    c.args([
        entry,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ROLE_ENV, role)
    .env(ROLE_ARGS_ENV, args.to_string());
    c
}

/// A role process with a pipe on its stdin and its `@@` lines readable.
pub struct RoleChild {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub seen: Vec<String>,
}

impl RoleChild {
    pub fn spawn(entry: &str, role: &str, args: &Value) -> RoleChild {
        RoleChild::spawn_cmd(role_command(entry, role, args, false))
    }

    pub fn spawn_cmd(mut cmd: Command) -> RoleChild {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        RoleChild {
            child,
            stdin,
            stdout,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next `@@` line (without the marker), or None at end of output.
    pub fn next(&mut self) -> Option<String> {
        loop {
            let mut s = String::new();
            if self.stdout.read_line(&mut s).ok()? == 0 {
                return None;
            }
            if let Some(rest) = s.trim_end().strip_prefix("@@ ") {
                self.seen.push(rest.to_string());
                return Some(rest.to_string());
            }
        }
    }

    /// Reads `@@` lines until one starts with `prefix`.
    pub fn expect(&mut self, prefix: &str) -> String {
        while let Some(l) = self.next() {
            if l.starts_with(prefix) {
                return l;
            }
        }
        panic!(
            "the child (pid {}) ended without saying {prefix:?}; it said {:?}",
            self.pid(),
            self.seen
        );
    }

    pub fn send(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin is open");
        writeln!(s, "{line}").unwrap();
        s.flush().unwrap();
    }

    /// Closes stdin (the child's cue to finish), then reads the rest of
    /// its lines and waits for it; panics unless it exited with 0.
    pub fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        while self.next().is_some() {}
        let st = self.child.wait().unwrap();
        assert!(
            st.success(),
            "child {} ended with {st}; it said {:?}",
            self.child.id(),
            self.seen
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for RoleChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `key=value key=value` into a map.
pub fn fields(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A numeric field of a `key=value` line.
pub fn num(m: &BTreeMap<String, String>, k: &str) -> u64 {
    m.get(k)
        .unwrap_or_else(|| panic!("no {k} in {m:?}"))
        .parse()
        .unwrap()
}

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// A tmpfs mounted on a fresh folder, unmounted and removed on drop.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options` (e.g. `size=64k`); the error says why
    /// it could not be done here.
    pub fn mount(tag: &str, options: &str) -> Result<Tmpfs, String> {
        let base = std::env::temp_dir();
        let dir = base.join(format!("lifesign-tmpfs-{tag}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let target = c_path(&dir);
        let data = CString::new(format!("{options},mode=0755")).unwrap();
        // SAFETY: every pointer is a valid NUL-terminated string for the call.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "mount -t tmpfs -o {options} {}: {e}",
                dir.display()
            ));
        }
        Ok(Tmpfs { dir })
    }

    /// Remounts read-only (`true`) or read-write (`false`).
    pub fn set_read_only(&self, ro: bool) -> Result<(), String> {
        let target = c_path(&self.dir);
        let mut flags = libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV;
        if ro {
            flags |= libc::MS_RDONLY;
        }
        // SAFETY: valid NUL-terminated target; no source, type or data.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(format!(
                "remount {} {}: {}",
                if ro { "ro" } else { "rw" },
                self.dir.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = c_path(&self.dir);
        // SAFETY: valid NUL-terminated target.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A C report prepared as a C caller prepares it (`lifesign_report_init`).
#[cfg(feature = "capi")]
pub fn report() -> lifesign::ffi::lifesign_report {
    let mut r = std::mem::MaybeUninit::uninit();
    // SAFETY: report_init writes the whole struct.
    unsafe {
        lifesign::ffi::lifesign_report_init(r.as_mut_ptr());
        r.assume_init()
    }
}

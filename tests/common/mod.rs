//! Helpers shared by the integration tests: temporary folders and a real
//! child emitter process driven over a pipe (no sleeps to synchronise).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh folder under the target directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = std::env::var_os("LIFESIGN_TEST_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let p = base.join(format!(
            "lifesign-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test-support binary: `examples/emitter_child.rs`, built by cargo for
/// the tests (see Cargo.toml's `[[example]]`).
pub fn child_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/examples/emitter_child
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let p = profile_dir.join("examples").join("emitter_child");
    assert!(
        p.exists(),
        "{} is missing: run the tests with `cargo test` (it builds examples)",
        p.display()
    );
    p
}

/// A child process running an emitter, driven line by line over stdin.
pub struct ChildEmitter {
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ChildEmitter {
    /// Starts the child on `path` and waits until its first write is done.
    pub fn start(path: &Path, interval_ms: u32) -> ChildEmitter {
        Self::start_with_env(path, interval_ms, &[])
    }

    pub fn start_with_env(path: &Path, interval_ms: u32, env: &[(&str, &str)]) -> ChildEmitter {
        let mut cmd = Command::new(child_binary());
        cmd.env("LIFESIGN_FILE", path)
            .env("LIFESIGN_INTERVAL_MS", interval_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = ChildEmitter {
            child,
            stdin,
            stdout,
        };
        assert_eq!(c.line(), "started");
        c
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads one line of the child's answers.
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }

    /// Sends a command and returns the child's answer ("ok" or "err ...").
    pub fn send(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.line()
    }

    /// SIGKILL, then wait until it has exited without reaping it (a zombie).
    pub fn kill_and_leave_zombie(&mut self) {
        // SAFETY: signals and observes our own unreaped child.
        unsafe {
            libc::kill(self.pid() as i32, libc::SIGKILL);
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                self.pid(),
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            );
        }
    }
}

impl Drop for ChildEmitter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lists the lifesign temporaries in a folder.
pub fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Runs the calling test again, alone, in a fresh process of this test
/// binary, and asserts that it passed there. Returns `true` in that child
/// (where the test's body runs), `false` in the parent (which only waited).
/// For tests that change what a process has only one of: the current
/// folder, descriptor numbers, signal masks, seccomp filters.
pub fn in_own_process(test: &str) -> bool {
    const VAR: &str = "LIFESIGN_TEST_OWN_PROCESS";
    if std::env::var(VAR).as_deref() == Ok(test) {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(VAR, test)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{test} failed in its own process ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// Polls (bounded by a minute: a hang, not a slow machine) until `cond`.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..60_000 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("not within a minute: {what}");
}

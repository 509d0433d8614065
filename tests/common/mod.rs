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
        self.command(cmd);
        self.line()
    }

    /// Sends a command without waiting for its answer (read it with `line`).
    pub fn command(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Whether an answer is waiting to be read (without waiting for one).
    pub fn has_answered(&self) -> bool {
        if !self.stdout.buffer().is_empty() {
            return true;
        }
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(self.stdout.get_ref()),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
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

/// One datagram from a socket standing in for systemd's, and the
/// descriptor it carried (`SCM_RIGHTS`), if any; within a minute.
pub fn recv_with_fd(
    sock: &std::os::unix::net::UnixDatagram,
) -> (String, Option<std::os::fd::OwnedFd>) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    sock.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u8; 64];
    // SAFETY: the header points at live local buffers of the given sizes;
    // a received descriptor is taken into an OwnedFd exactly once.
    unsafe {
        let mut hdr: libc::msghdr = std::mem::zeroed();
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = control.len() as _;
        let n = libc::recvmsg(sock.as_raw_fd(), &mut hdr, libc::MSG_CMSG_CLOEXEC);
        assert!(n >= 0, "a datagram within a minute");
        let mut fd = None;
        let cmsg = libc::CMSG_FIRSTHDR(&hdr);
        if !cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
        (String::from_utf8_lossy(&buf[..n as usize]).to_string(), fd)
    }
}

/// Every datagram already queued on a socket standing in for systemd's.
pub fn drain(sock: &std::os::unix::net::UnixDatagram) -> Vec<String> {
    sock.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    sock.set_nonblocking(false).unwrap();
    out
}

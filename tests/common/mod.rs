//! The test kit of every Rust integration test (tests/README.md describes
//! it): one temporary folder type, one child-process type speaking the
//! line protocol, hang guards, figures, tmpfs mounts and a few readers.
//!
//! Children are real processes: `examples/emitter_child.rs` (an emitter
//! driven over stdin) or a *role* of the test binary itself (see
//! [`role_command`]). Both speak the line protocol of tests/README.md, so
//! one reader serves them all, with no sleeps to synchronise.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

// ---- temporary folders -------------------------------------------------------

/// A fresh folder (mode 0755 less the umask) under `$TMPDIR`, removed with
/// everything in it on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir::under(&std::env::temp_dir(), tag)
    }

    /// A fresh folder in memory (`/dev/shm`) where there is one, for tests
    /// that write many files.
    pub fn in_ram(tag: &str) -> TempDir {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            TempDir::under(shm, tag)
        } else {
            TempDir::new(tag)
        }
    }

    /// A fresh folder under `base`.
    pub fn under(base: &Path, tag: &str) -> TempDir {
        let d = tempfile::Builder::new()
            .prefix(&format!("lifesign-test-{tag}-"))
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir_in(base)
            .unwrap();
        TempDir(d)
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        self.0.path()
    }

    /// `name` inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// The lifesign temporaries (`.NAME.lifesign-PID-N.tmp`) in a folder.
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

/// The heartbeat at `path`; panics unless it is one.
pub fn record(path: &Path) -> lifesign::Record {
    match lifesign::check::read_path(path) {
        lifesign::check::Read::Record(r) => r,
        other => panic!("{} is not a heartbeat: {other:?}", path.display()),
    }
}

// ---- the line protocol -------------------------------------------------------

/// The marker that starts every protocol line a child prints; the rest of
/// its stdout (the test harness's own lines, say) is not protocol.
pub const MARK: &str = "@@ ";

/// Prints one protocol line for the parent and flushes.
pub fn say(line: &str) {
    let out = std::io::stdout();
    let mut out = out.lock();
    let _ = writeln!(out, "{MARK}{line}");
    let _ = out.flush();
}

/// The protocol lines (without the marker) in a child's captured stdout.
pub fn protocol_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(MARK))
        .map(str::to_string)
        .collect()
}

/// Parses the `key=value` words of a protocol line into a map.
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

// ---- child processes ---------------------------------------------------------

/// The emitter child built by cargo for the tests: `examples/emitter_child.rs`
/// (see Cargo.toml's `[[example]]`).
pub fn emitter_child_binary() -> PathBuf {
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

/// The CLI (the workspace's `lifesign-cli` package) in the target folder of
/// this test: `make build` (or `cargo build` at the root) puts it there.
pub fn cli() -> &'static str {
    static CLI: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CLI.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test> -> target/<profile>/lifesign
        let p = exe.parent().unwrap().parent().unwrap().join("lifesign");
        assert!(
            p.exists(),
            "{} is missing: build the workspace first (`make build`, or `cargo build --release` at the root)",
            p.display()
        );
        p.to_str().unwrap().to_owned()
    })
}

/// `sh -c SCRIPT`, with the word `LS` in the script standing for the CLI
/// (a word: `LS` inside a path, such as a temporary folder's random name,
/// stays as it is).
pub fn sh_with_cli(script: &str) -> Vec<String> {
    let quoted = format!("\"{}\"", cli());
    let mut out = String::new();
    let mut rest = script;
    while let Some(i) = rest.find("LS") {
        let before = rest[..i].chars().last().or_else(|| out.chars().last());
        let after = rest[i + 2..].chars().next();
        let word = before.is_none_or(|c| c.is_whitespace() || "(;&|".contains(c))
            && after.is_none_or(char::is_whitespace);
        out.push_str(&rest[..i]);
        out.push_str(if word { &quoted } else { "LS" });
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    vec!["sh".into(), "-c".into(), out]
}

/// A child process with a pipe on its stdin and its protocol lines
/// readable; killed and reaped on drop.
pub struct Child {
    pub child: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Every protocol line read so far.
    pub seen: Vec<String>,
}

impl Child {
    /// Starts `cmd` with piped stdin and stdout.
    pub fn spawn(mut cmd: Command) -> Child {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Child {
            child,
            stdin,
            stdout,
            seen: Vec::new(),
        }
    }

    /// The emitter child on `path`, once its first write is done.
    pub fn emitter(path: &Path, interval_ms: u32) -> Child {
        Self::emitter_with_env(path, interval_ms, &[])
    }

    /// The emitter child on `path` with more environment variables, once
    /// its first write is done.
    pub fn emitter_with_env(path: &Path, interval_ms: u32, env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(emitter_child_binary());
        cmd.env("LIFESIGN_FILE", path)
            .env("LIFESIGN_INTERVAL_MS", interval_ms.to_string())
            .envs(env.iter().copied());
        let mut c = Child::spawn(cmd);
        c.started();
        c
    }

    /// A role of this test binary (see [`role_command`]).
    pub fn role(role: &str, args: &Value) -> Child {
        Child::spawn(role_command(role, args, false))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads the child's `started pid=PID` line and checks the PID.
    pub fn started(&mut self) {
        let l = self.line();
        assert_eq!(l, format!("started pid={}", self.pid()));
    }

    /// The next protocol line (without the marker), or None at the end of
    /// the child's output.
    pub fn next(&mut self) -> Option<String> {
        loop {
            let mut s = String::new();
            if self.stdout.read_line(&mut s).ok()? == 0 {
                return None;
            }
            if let Some(rest) = s.trim_end().strip_prefix(MARK) {
                self.seen.push(rest.to_string());
                return Some(rest.to_string());
            }
        }
    }

    /// The next protocol line; panics at the end of the child's output.
    pub fn line(&mut self) -> String {
        match self.next() {
            Some(l) => l,
            None => panic!(
                "the child (pid {}) ended; it said {:?}",
                self.pid(),
                self.seen
            ),
        }
    }

    /// Reads protocol lines until one starts with `prefix`.
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

    /// Sends one command and returns the child's answer (`ok ...` or
    /// `err ...` from an emitter child).
    pub fn send(&mut self, cmd: &str) -> String {
        self.command(cmd);
        self.line()
    }

    /// Sends a command without waiting for its answer (read it with `line`).
    pub fn command(&mut self, cmd: &str) {
        let s = self.stdin.as_mut().expect("stdin is open");
        writeln!(s, "{cmd}").unwrap();
        s.flush().unwrap();
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

    /// Closes stdin (the child's cue to finish) without waiting for it.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Closes stdin (the child's cue to finish), then reads the rest of
    /// its protocol lines and waits for it; panics unless it exited with 0.
    /// Returns every protocol line it said.
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

    /// SIGKILL, then wait until it has exited without reaping it (a zombie).
    pub fn kill_and_leave_zombie(&mut self) {
        kill_and_leave_zombie(self.pid());
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGKILL our own child `pid`, then wait until it has exited without
/// reaping it.
pub fn kill_and_leave_zombie(pid: u32) {
    // SAFETY: signals our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_exited_unreaped(pid);
}

/// Waits until our child `pid` has exited, leaving it unreaped.
fn wait_exited_unreaped(pid: u32) {
    // SAFETY: observes our own child without reaping it.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT);
    }
}

/// A zombie child of ours: its PID exists, its process is gone.
pub struct Zombie(std::process::Child);

impl Zombie {
    pub fn new() -> Zombie {
        let child = Command::new("true").spawn().unwrap();
        wait_exited_unreaped(child.id());
        Zombie(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Zombie {
    fn drop(&mut self) {
        let _ = self.0.wait();
    }
}

// ---- roles: the test binary as its own child ----------------------------------

/// The environment variable naming the role a child process runs.
pub const ROLE_ENV: &str = "LIFESIGN_TEST_ROLE";
/// The environment variable holding the role's arguments (a JSON value).
pub const ROLE_ARGS_ENV: &str = "LIFESIGN_TEST_ROLE_ARGS";
/// The name of the ignored test through which a test binary runs its roles.
pub const ROLE_ENTRY: &str = "child_process_entry";

/// The body of a binary's `child_process_entry` test: runs the role this
/// process was started for (nothing when it was not), then exits without
/// returning to the harness.
pub fn run_role(dispatch: impl FnOnce(&str, &Value)) {
    let Some(role) = std::env::var(ROLE_ENV).ok() else {
        return;
    };
    let args = std::env::var(ROLE_ARGS_ENV)
        .ok()
        .and_then(|a| serde_json::from_str(&a).ok())
        .unwrap_or(Value::Null);
    dispatch(&role, &args);
    finish_role(0)
}

/// Ends a role process: flushes and exits without returning to the harness.
pub fn finish_role(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

/// A command running only the test `test` of this test binary, alone:
/// through `unshare -m` (a private mount namespace, so that a mount can
/// never outlive the test) when `private_mounts` is asked for and works.
fn own_test_command(test: &str, private_mounts: bool) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut c = if private_mounts && private_mounts_available() {
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    c.args([test, "--exact", "--test-threads=1", "--nocapture"]);
    c
}

/// A command running `role` of this test binary: the binary runs only its
/// [`ROLE_ENTRY`] test, with the role and its JSON arguments in the
/// environment (with `private_mounts`, see [`own_test_command`]).
pub fn role_command(role: &str, args: &Value, private_mounts: bool) -> Command {
    let mut c = own_test_command(ROLE_ENTRY, private_mounts);
    c.args(["--ignored", "-q"])
        .env(ROLE_ENV, role)
        .env(ROLE_ARGS_ENV, args.to_string());
    c
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
    let out = own_test_command(test, false)
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

/// Whether `unshare -m` works here.
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

// ---- system-call traces ----------------------------------------------------------

/// Whether `strace` works here (tests/budget/setup.sh installs it).
pub fn strace_usable() -> bool {
    Command::new("strace")
        .args(["-qq", "-e", "trace=none", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `test` can trace: `strace` works, or it is skipped (with a
/// message) unless `LIFESIGN_REQUIRE_STRACE` is set (as `make test` does),
/// where a missing strace fails it.
pub fn have_strace(test: &str) -> bool {
    if strace_usable() {
        return true;
    }
    assert!(
        std::env::var_os("LIFESIGN_REQUIRE_STRACE").is_none(),
        "{test}: strace is required (tests/budget/setup.sh installs it)"
    );
    eprintln!("{test}: skipped, strace is not installed (tests/budget/setup.sh)");
    false
}

/// Runs `cmd` (its program, arguments and environment) under `strace -f
/// -qq OPTIONS`, asserts that it succeeded, and returns the trace, one call
/// a line, each starting with its thread's id.
pub fn strace(cmd: &Command, options: &[&str]) -> String {
    let d = TempDir::new("strace");
    let out = d.path("trace");
    let res = Command::new("strace")
        .args(["-f", "-qq"])
        .args(options)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{:?} failed under strace: {}\n{}",
        cmd.get_program(),
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read_to_string(&out).unwrap()
}

// ---- hang guards, the short/long switch, figures --------------------------------

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

/// Polls (bounded by a minute: a hang, not a slow machine) until `cond`.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..60_000 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("not within a minute: {what}");
}

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

// ---- tmpfs mounts -------------------------------------------------------------

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

// ---- the C ABI ------------------------------------------------------------------

/// A C report prepared as a C caller prepares it (`lifesign_report_init`).
pub fn report() -> lifesign_capi::lifesign_report {
    let mut r = std::mem::MaybeUninit::uninit();
    // SAFETY: report_init writes the whole struct.
    unsafe {
        lifesign_capi::lifesign_report_init(r.as_mut_ptr());
        r.assume_init()
    }
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

/// A manager that does not read: whether the queue of the socket bound at
/// `path` is full, proven by a datagram of our own that does not fit
/// (`WouldBlock`). A datagram that fits is queued: it reads `PROBE`.
pub fn notify_queue_is_full(path: &Path) -> bool {
    let probe = std::os::unix::net::UnixDatagram::unbound().unwrap();
    probe.set_nonblocking(true).unwrap();
    match probe.send_to(PROBE.as_bytes(), path) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(e) => panic!("probe of {}: {e}", path.display()),
    }
}

/// What [`notify_queue_is_full`] leaves in a queue that had room.
pub const PROBE: &str = "PROBE";

/// What a wait saw last, whether it ended ready (`Ok`) or not.
#[allow(dead_code)]
pub fn last_seen(out: &Result<lifesign::Report, lifesign::WaitError>) -> &lifesign::Report {
    match out {
        Ok(report) => report,
        Err(e) => e.report(),
    }
}

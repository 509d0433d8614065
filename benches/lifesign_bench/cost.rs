//! Beat and check against their physical floors, on tmpfs and on disk.
//!
//! - beat floor: the same bytes written to a fresh temporary (open with
//!   O_CREAT|O_EXCL, write, close) and renamed over the target, raw syscalls.
//! - durable floor: the same plus fsync of the temporary and of the folder.
//! - check floor: open, read and close of the heartbeat plus one
//!   kill(pid, 0), on a file kept fresh by another process; and the same
//!   with two such files read in turn, so that every check decodes.
//! - a check's own calls, made raw: the floor's calls as a check makes
//!   them (a `stat` before the `open`, an `epoll_wait` of no time on an
//!   instance watching the writer's pidfd for the `kill`), with nothing
//!   around them: how much of a check's ratio is the kernel's, and how much
//!   is lifesign's own work.

use crate::util::{cpath, emit, fresh_dir, note, own_fds, own_fds_of, paired, pidfd, r2, Proc};
use crate::Config;
use lifesign::check::{self, CheckOptions, Verdict};
use lifesign::emitter::Options;
use lifesign::{Emitter, State};
use serde_json::json;
use std::ffi::CString;
use std::path::Path;
use std::time::Duration;

fn batch_len() -> Duration {
    crate::sized(Duration::from_millis(150), Duration::from_millis(10))
}

/// Repetitions and batch length on a file system: on the disk, whose
/// writeback makes costs drift, three times as many batches a third as long,
/// so that each pair is measured closer together (the same total time).
fn plan(cfg: &Config, fs: &str, batch: Duration) -> (usize, Duration) {
    if fs == "disk" {
        (cfg.reps * 3, batch / 3)
    } else {
        (cfg.reps, batch)
    }
}

/// A heartbeat write with raw syscalls.
struct FloorBeat {
    tmp: CString,
    target: CString,
    dir: CString,
    bytes: Vec<u8>,
    durable: bool,
}

impl FloorBeat {
    fn new(dir: &Path, name: &str, bytes: Vec<u8>, durable: bool) -> FloorBeat {
        FloorBeat {
            tmp: cpath(&dir.join(format!(".{name}.tmp"))),
            target: cpath(&dir.join(name)),
            dir: cpath(dir),
            bytes,
            durable,
        }
    }

    fn write(&self) {
        // SAFETY: valid NUL-terminated paths and a valid buffer; every
        // descriptor opened here is closed here.
        unsafe {
            let fd = libc::open(
                self.tmp.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o644 as libc::c_uint,
            );
            assert!(fd >= 0, "floor open failed");
            let n = libc::write(fd, self.bytes.as_ptr().cast(), self.bytes.len());
            assert_eq!(n, self.bytes.len() as isize, "floor write failed");
            if self.durable {
                libc::fsync(fd);
            }
            libc::close(fd);
            assert_eq!(libc::rename(self.tmp.as_ptr(), self.target.as_ptr()), 0);
            if self.durable {
                let d = libc::open(
                    self.dir.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                );
                libc::fsync(d);
                libc::close(d);
            }
        }
    }
}

/// A heartbeat read with raw syscalls: open, read, close, kill(pid, 0).
fn floor_check(path: &CString, pid: libc::pid_t, buf: &mut [u8; 4096]) -> usize {
    // SAFETY: a valid path and buffer; the descriptor is closed here.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        assert!(fd >= 0, "floor open failed");
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        assert_eq!(libc::kill(pid, 0), 0, "the emitter process is gone");
        n.max(0) as usize
    }
}

/// The calls of a check (docs/PROTOCOL.md 3.4), raw and in its order: a
/// `stat` of the path, then `open` (`O_NONBLOCK | O_NOCTTY | O_NOFOLLOW`),
/// `read` and `close`, and one `epoll_wait` of an instance watching the
/// writer's pidfd.
fn own_calls_check(path: &CString, epoll: libc::c_int, buf: &mut [u8; 4096]) -> usize {
    // SAFETY: a valid path, stat buffer and read buffer; the descriptor is
    // closed here; `epoll` is an epoll instance watching a live pidfd.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        let r = libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW);
        assert_eq!(r, 0, "stat failed");
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        let fd = libc::open(path.as_ptr(), flags);
        assert!(fd >= 0, "open failed");
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        let mut ev = [libc::epoll_event { events: 0, u64: 0 }; 8];
        assert_eq!(libc::epoll_wait(epoll, ev.as_mut_ptr(), 8, 0), 0, "the emitter process is gone");
        n.max(0) as usize
    }
}

/// An epoll instance watching `pidfd` for its exit, as the checker's
/// instance watches the pidfds it keeps (src/process.rs).
fn watched(pidfd: &std::os::fd::OwnedFd) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: a new descriptor, owned by the result; one valid event.
    unsafe {
        let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        if ep < 0 {
            return None;
        }
        let ep = std::os::fd::OwnedFd::from_raw_fd(ep);
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 0 };
        (libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, pidfd.as_raw_fd(), &mut ev) == 0).then_some(ep)
    }
}

/// Reads /proc/<pid>/stat with raw syscalls (what a check without the
/// pidfd cache has to add).
fn proc_stat_read(path: &CString, buf: &mut [u8; 4096]) -> usize {
    // SAFETY: a valid path and buffer; the descriptor is closed here.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        assert!(fd >= 0, "cannot open /proc/<pid>/stat");
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n.max(0) as usize
    }
}

pub fn run(cfg: &Config) {
    for (fs, base) in cfg.filesystems() {
        beat(cfg, fs, &base.join("beat"));
        check(cfg, fs, &base.join("check"));
    }
}

fn beat(cfg: &Config, fs: &str, dir: &Path) {
    fresh_dir(dir);
    let path = dir.join("lib.json");
    let e = Emitter::start(&path, Duration::from_secs(3600)).expect("start");
    e.set_state(State::Ready, Some("serving")).expect("ready");
    let bytes = std::fs::read(&path).expect("read the heartbeat");
    let floor = FloorBeat::new(dir, "floor.json", bytes.clone(), false);
    note(&format!("beat on {fs}: {} bytes a write", bytes.len()));
    // Three times as many batches as a check has (the disk's plan has them
    // already): a beat frees an inode and a dentry that the kernel releases
    // later (RCU), on whichever side runs then, so single batches of beats
    // spread several times wider than a check's.
    let (reps, batch) = plan(cfg, fs, batch_len());
    let reps = if fs == "disk" { reps } else { reps * 3 };
    let p = paired(reps, batch, &mut || floor.write(), &mut || {
        e.beat().expect("beat")
    });
    emit(&p.record(
        &format!("beat.{fs}"),
        json!({"fs": fs, "bytes": bytes.len(), "target": 1.1}),
    ));
    if fs == "tmpfs" {
        emit(
            &json!({"kind": "percall", "lang": "rust", "backend": "native", "op": "beat",
                     "ns_per_call": r2(crate::util::median(&p.lib)), "calls": p.calls.1}),
        );
    }
    let _ = e.stop();

    // Durable mode: fsync of the temporary and of the folder on every write.
    let dpath = dir.join("durable.json");
    let d = Emitter::start_with(&dpath, {
        let mut o = Options::default();
        o.interval = Duration::from_secs(3600);
        o.durable = true;
        o
    })
    .expect("start durable");
    d.set_state(State::Ready, Some("serving")).expect("ready");
    let dbytes = std::fs::read(&dpath).expect("read the heartbeat");
    let dfloor = FloorBeat::new(dir, "dfloor.json", dbytes.clone(), true);
    note(&format!("durable beat on {fs}"));
    let (reps, batch) = plan(
        cfg,
        fs,
        if fs == "disk" {
            batch_len() * 2
        } else {
            batch_len()
        },
    );
    let p = paired(reps, batch, &mut || dfloor.write(), &mut || {
        d.beat().expect("beat")
    });
    emit(&p.record(
        &format!("durable.{fs}"),
        json!({"fs": fs, "bytes": dbytes.len()}),
    ));
    let _ = d.stop();
}

fn check(cfg: &Config, fs: &str, dir: &Path) {
    fresh_dir(dir);
    let path = dir.join("hb.json");
    let mut child = Proc::me(&["child-emitter", path.to_str().expect("UTF-8"), "1000"]);
    child.expect("ready");
    let pid = child.pid();
    let c = cpath(&path);
    let mut buf = [0u8; 4096];

    // What the checker keeps open: count descriptors around the first check.
    let fds_before = own_fds();
    let (pidfds_before, epolls_before) = (own_fds_of("[pidfd]"), own_fds_of("[eventpoll]"));
    let first = check::check(&path, &CheckOptions::default());
    let fds_after = own_fds();
    let (pidfds_after, epolls_after) = (own_fds_of("[pidfd]"), own_fds_of("[eventpoll]"));
    assert_eq!(first.verdict, Verdict::Alive, "{first:?}");
    assert_eq!(first.pid, pid);
    if fs == "tmpfs" {
        emit(
            &json!({"kind": "value", "id": "check.fds", "before": fds_before,
                     "after": fds_after, "added": fds_after as i64 - fds_before as i64,
                     "pidfds_added": pidfds_after as i64 - pidfds_before as i64,
                     "epolls_added": epolls_after as i64 - epolls_before as i64,
                     "epolls": epolls_after}),
        );
    }

    note(&format!("check on {fs}"));
    let mut not_alive = 0u64;
    let opts = CheckOptions::default();
    let (reps, batch) = plan(cfg, fs, batch_len());
    let p = paired(
        reps,
        batch,
        &mut || {
            floor_check(&c, pid as libc::pid_t, &mut buf);
        },
        &mut || {
            if check::check(&path, &opts).verdict != Verdict::Alive {
                not_alive += 1;
            }
        },
    );
    emit(&p.record(
        &format!("check.{fs}"),
        json!({"fs": fs, "target": 1.5, "not_alive": not_alive}),
    ));
    if fs == "tmpfs" {
        emit(
            &json!({"kind": "percall", "lang": "rust", "backend": "native", "op": "check",
                     "ns_per_call": r2(crate::util::median(&p.lib)), "calls": p.calls.1}),
        );
        // Every read new bytes: two heartbeats of two processes checked in
        // turn, so that no check finds the bytes it decoded last (the
        // decoder's cost, which the check above pays once a beat).
        let path2 = dir.join("hb2.json");
        let mut child2 = Proc::me(&["child-emitter", path2.to_str().expect("UTF-8"), "1000"]);
        child2.expect("ready");
        let (pid2, c2) = (child2.pid(), cpath(&path2));
        let mut turn = false;
        let mut turn_lib = false;
        note("check on tmpfs, a new record at every read");
        let q = paired(
            reps,
            batch,
            &mut || {
                turn = !turn;
                match turn {
                    true => floor_check(&c, pid as libc::pid_t, &mut buf),
                    false => floor_check(&c2, pid2 as libc::pid_t, &mut buf),
                };
            },
            &mut || {
                turn_lib = !turn_lib;
                let p = if turn_lib { &path } else { &path2 };
                if check::check(p, &opts).verdict != Verdict::Alive {
                    not_alive += 1;
                }
            },
        );
        emit(&q.record(
            "check.changing.tmpfs",
            json!({"fs": fs, "not_alive": not_alive}),
        ));
        child2.finish();
        // The check's own calls, raw, against the floor: the kernel's part
        // of a check's ratio.
        if let Some((_fd, ep)) = pidfd(pid).and_then(|fd| watched(&fd).map(|ep| (fd, ep))) {
            use std::os::fd::AsRawFd;
            let mut buf2 = [0u8; 4096];
            note("a check's own calls, raw, on tmpfs");
            let q = paired(
                reps,
                batch,
                &mut || {
                    floor_check(&c, pid as libc::pid_t, &mut buf);
                },
                &mut || {
                    own_calls_check(&c, ep.as_raw_fd(), &mut buf2);
                },
            );
            emit(&q.record("check.calls.tmpfs", json!({"fs": fs})));
        }
        // The cost that the pidfd cache avoids: one read of /proc/<pid>/stat.
        let stat = cpath(Path::new(&format!("/proc/{pid}/stat")));
        let mut buf2 = [0u8; 4096];
        let q = paired(
            cfg.reps,
            batch_len(),
            &mut || {
                floor_check(&c, pid as libc::pid_t, &mut buf);
            },
            &mut || {
                proc_stat_read(&stat, &mut buf2);
            },
        );
        emit(&q.record("procstat.tmpfs", json!({"fs": fs})));
    }
    child.finish();
}

//! Atomic replacement of a file: a temporary with a name unique to this
//! writer, created exclusively in the same folder, written whole, optionally
//! synced, then renamed over the target. On any failure the temporary is
//! removed.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The default permission bits of a heartbeat file.
pub const DEFAULT_MODE: u32 = 0o644;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The heartbeat file name a temporary belongs to, and its writer's PID:
/// `.<name>.lifesign-<pid>-<counter>.tmp` gives `(name, pid)`.
pub fn temp_owner(entry_name: &[u8]) -> Option<(&[u8], u32)> {
    let pid = temp_writer_pid(entry_name)?;
    let rest = entry_name.strip_suffix(b".tmp")?;
    let at = rest.windows(10).rposition(|w| w == b".lifesign-")?;
    Some((&entry_name[1..at], pid))
}

/// Writes one path atomically, again and again.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    dir: PathBuf,
    mode: u32,
    durable: bool,
    /// Whether the umask would narrow `mode`, so that each temporary needs
    /// an `fchmod` (decided once, from the umask at start).
    chmod: bool,
    /// Every temporary's path up to its counter: `<dir>/.<name>.lifesign-<pid>-`,
    /// built once: a write only appends the counter (and the writer's PID
    /// is read once: a `getpid` per write is a syscall).
    temp_base: Vec<u8>,
    /// The counter of the temporary that the next write reuses ([`NONE`]:
    /// take a new one). A write takes it, so that a write that overlaps
    /// another (a spare writer while one hangs) names its own, and gives it
    /// back once its temporary is gone again: renamed, or removed.
    reuse: AtomicU64,
}

/// No counter to reuse.
const NONE: u64 = u64::MAX;

/// The process's umask, read once from `/proc/self/status` (`umask(2)`
/// cannot read it without setting it, which would race with other
/// threads); `None` when it cannot be read.
fn umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// Whether a file created with `mode` needs an `fchmod` to have exactly
/// that mode: when the umask clears some of its bits, when the umask
/// cannot be read, and for the set-id and sticky bits.
pub fn needs_chmod(mode: u32) -> bool {
    mode & 0o7000 != 0 || umask().is_none_or(|u| mode & u != 0)
}

/// The name prefix of the temporaries of `path`: `.<file name>.lifesign-`.
pub fn temp_prefix(path: &Path) -> Option<Vec<u8>> {
    let name = path.file_name()?.as_bytes();
    let mut p = Vec::with_capacity(name.len() + 11);
    p.push(b'.');
    p.extend_from_slice(name);
    p.extend_from_slice(b".lifesign-");
    Some(p)
}

/// Whether a folder entry is a lifesign temporary (of any heartbeat), and the
/// PID of its writer: `.<name>.lifesign-<pid>-<counter>.tmp`.
pub fn temp_writer_pid(entry_name: &[u8]) -> Option<u32> {
    let rest = entry_name.strip_suffix(b".tmp")?;
    if !entry_name.starts_with(b".") {
        return None;
    }
    let at = rest.windows(10).rposition(|w| w == b".lifesign-")?;
    let tail = std::str::from_utf8(&rest[at + 10..]).ok()?;
    let (pid, counter) = tail.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

impl AtomicFile {
    /// Prepares to write `path` with the given permission bits.
    pub fn new(path: &Path, mode: u32, durable: bool) -> io::Result<AtomicFile> {
        if path.file_name().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} names no file", path.display()),
            ));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let pid = std::process::id();
        // temp_prefix cannot fail: there is a file name.
        let mut name = temp_prefix(path).unwrap_or_default();
        name.extend_from_slice(format!("{pid}-").as_bytes());
        let temp_base = dir.join(OsString::from_vec(name)).into_os_string().into_vec();
        Ok(AtomicFile {
            path: path.to_path_buf(),
            dir,
            mode: mode & 0o7777,
            durable,
            chmod: needs_chmod(mode & 0o7777),
            temp_base,
            reuse: AtomicU64::new(NONE),
        })
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder the target is in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the missing parent folders, mode 0755 (never wider, whatever
    /// the umask).
    pub fn create_dir(&self) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&self.dir)
    }

    /// The path of the temporary numbered `n`: one allocation, no formatting.
    fn temp_path(&self, n: u64) -> PathBuf {
        let mut p = Vec::with_capacity(self.temp_base.len() + 24);
        p.extend_from_slice(&self.temp_base);
        crate::protocol::push_decimal(&mut p, n);
        p.extend_from_slice(b".tmp");
        PathBuf::from(OsString::from_vec(p))
    }

    /// Replaces the target with `bytes`; the folder is recreated once if it vanished.
    pub fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match self.write_once(bytes) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.create_dir()?;
                self.write_once(bytes)
            }
            other => other,
        }
    }

    fn write_once(&self, bytes: &[u8]) -> io::Result<()> {
        // The name of this file's last write, free again since: creating a
        // name the folder has just seen costs the kernel less than a new
        // one (about 3% of a beat on tmpfs).
        let mut n = self.reuse.swap(NONE, Ordering::Relaxed);
        // A name that is already taken (planted by someone else, or left by
        // an earlier process with our PID) is not ours to remove: take the
        // next counter instead.
        let mut taken = 0;
        let (tmp, file) = loop {
            if n == NONE {
                n = COUNTER.fetch_add(1, Ordering::Relaxed);
            }
            let tmp = self.temp_path(n);
            match self.create_temp(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && taken < 16 => {
                    taken += 1;
                    n = NONE;
                }
                Err(e) => return Err(e),
            }
        };
        let result = self.fill_and_rename(file, &tmp, bytes);
        let gone = match result {
            Ok(()) => true,
            Err(_) => fs::remove_file(&tmp).is_ok(),
        };
        if gone {
            self.reuse.store(n, Ordering::Relaxed);
        }
        result
    }

    fn create_temp(&self, tmp: &Path) -> io::Result<fs::File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(tmp)
    }

    fn fill_and_rename(&self, mut f: fs::File, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
        // The umask at start would have cleared bits of the mode: set it
        // exactly (a beat under a umask that keeps the mode makes no call).
        if self.chmod {
            f.set_permissions(fs::Permissions::from_mode(self.mode))?;
        }
        f.write_all(bytes)?;
        if self.durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(tmp, &self.path)?;
        if self.durable {
            fs::File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_with_their_pid() {
        assert_eq!(temp_writer_pid(b".hb.json.lifesign-123-4.tmp"), Some(123));
        assert_eq!(temp_writer_pid(b".a.lifesign-b.lifesign-9-0.tmp"), Some(9));
        assert_eq!(temp_writer_pid(b"hb.json"), None);
        assert_eq!(temp_writer_pid(b".hb.json.lifesign-x-4.tmp"), None);
        assert_eq!(temp_writer_pid(b"x.lifesign-1-1.tmp"), None);
        assert_eq!(
            temp_owner(b".hb.json.lifesign-123-4.tmp"),
            Some((&b"hb.json"[..], 123))
        );
        assert_eq!(
            temp_owner(b".a.lifesign-b.lifesign-9-0.tmp"),
            Some((&b"a.lifesign-b"[..], 9))
        );
    }

    #[test]
    fn the_mode_is_set_only_where_the_umask_would_change_it() {
        let u = umask().expect("Linux has Umask in /proc/self/status");
        assert_eq!(needs_chmod(0o644), 0o644 & u != 0);
        assert_eq!(needs_chmod(0o777), u != 0);
        assert!(needs_chmod(0o4755), "set-id bits are always set explicitly");
        assert!(!needs_chmod(0o644 & !u));
    }

    #[test]
    fn a_write_reuses_its_last_temporary_name_unless_it_is_taken() {
        let dir = std::env::temp_dir().join(format!("lifesign-write-reuse-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let f = AtomicFile::new(&dir.join("hb.json"), DEFAULT_MODE, false).unwrap();
        f.write(b"one").unwrap();
        let first = f.reuse.load(Ordering::Relaxed);
        assert_ne!(first, NONE, "a write gives its name back");
        f.write(b"two").unwrap();
        assert_eq!(f.reuse.load(Ordering::Relaxed), first, "the next write reused it");
        // Taken since (left by an earlier process with our PID): skipped,
        // left alone, and a new name is reused from then on.
        let planted = f.temp_path(first);
        fs::write(&planted, b"not ours").unwrap();
        f.write(b"three").unwrap();
        assert_eq!(fs::read(&planted).unwrap(), b"not ours");
        assert_eq!(fs::read(dir.join("hb.json")).unwrap(), b"three");
        let next = f.reuse.load(Ordering::Relaxed);
        assert!(next != first && next != NONE);
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "the target and the planted name only: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prefixes_of_sibling_files_differ() {
        let a = temp_prefix(Path::new("/d/a.json")).unwrap();
        let b = temp_prefix(Path::new("/d/a.hb")).unwrap();
        assert!(!a.starts_with(&b) && !b.starts_with(&a));
    }
}

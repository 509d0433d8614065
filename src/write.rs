//! Atomic replacement of a file: a temporary with a name unique to this
//! writer, created exclusively in the same folder, written whole, optionally
//! synced, then renamed over the target. On any failure the temporary is
//! removed.

use std::ffi::{CStr, CString, OsString};
use crate::sys;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
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
    /// `path` as the system calls take it, made once.
    path_c: CString,
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

/// Calls `f` with `parts`, joined, as a C string built on the stack: no
/// allocation, no formatting. A NUL byte in a part is `InvalidInput`; a
/// path longer than the kernel takes (`PATH_MAX` with its NUL) is
/// `ENAMETOOLONG`, as the kernel would say.
pub(crate) fn with_c_path<T>(parts: &[&[u8]], f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    const MAX: usize = libc::PATH_MAX as usize;
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len >= MAX {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    // Not zeroed first: only the path and its NUL are written and read.
    let mut buf = std::mem::MaybeUninit::<[u8; MAX]>::uninit();
    let p: *mut u8 = buf.as_mut_ptr().cast();
    let mut at = 0;
    for part in parts {
        // SAFETY: the parts and the NUL fit in the buffer (len < MAX), which
        // they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), p.add(at), part.len()) };
        at += part.len();
    }
    // SAFETY: as above; strlen stops at the NUL written here, or at an
    // earlier one in a part: it reads initialised bytes only.
    let c = unsafe {
        p.add(len).write(0);
        if libc::strlen(p.cast()) != len {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"));
        }
        CStr::from_bytes_with_nul_unchecked(std::slice::from_raw_parts(p, len + 1))
    };
    f(c)
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
        let path_c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path")
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            path_c,
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

    /// Calls `f` with the path of the temporary numbered `n` ([`with_c_path`]).
    fn with_temp_path<T>(&self, n: u64, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
        let mut digits = itoa::Buffer::new();
        with_c_path(&[&self.temp_base, digits.format(n).as_bytes(), b".tmp"], f)
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
        loop {
            if n == NONE {
                n = COUNTER.fetch_add(1, Ordering::Relaxed);
            }
            // Outside: the temporary could not be created; inside: the write.
            let done = self.with_temp_path(n, |tmp| {
                let file = self.create_temp(tmp)?;
                let result = self.fill_and_rename(file, tmp, bytes);
                // SAFETY: a NUL-terminated path.
                if result.is_ok() || unsafe { libc::unlink(tmp.as_ptr()) } == 0 {
                    self.reuse.store(n, Ordering::Relaxed);
                }
                Ok(result)
            });
            match done {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && taken < 16 => {
                    taken += 1;
                    n = NONE;
                }
                Err(e) => return Err(e),
                Ok(result) => return result,
            }
        }
    }

    fn create_temp(&self, tmp: &CStr) -> io::Result<sys::Fd> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        sys::open(tmp, flags, self.mode as libc::mode_t)
    }

    fn fill_and_rename(&self, file: sys::Fd, tmp: &CStr, bytes: &[u8]) -> io::Result<()> {
        let fd = file.as_raw_fd();
        // The umask at start would have cleared bits of the mode: set it
        // exactly (a beat under a umask that keeps the mode makes no call).
        // SAFETY: a descriptor we own.
        if self.chmod && unsafe { libc::fchmod(fd, self.mode as libc::mode_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            match sys::write(fd, rest)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => rest = &rest[n..],
            }
        }
        if self.durable {
            sys::fsync(fd)?;
        }
        drop(file);
        // SAFETY: two NUL-terminated paths.
        if unsafe { libc::rename(tmp.as_ptr(), self.path_c.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if self.durable {
            fs::File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

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
    fn c_paths_are_joined_and_a_nul_or_an_overlong_path_refused() {
        let joined = with_c_path(&[b"/run/", b"a.json", b".tmp"], |c| Ok(c.to_bytes().to_vec()));
        assert_eq!(joined.unwrap(), b"/run/a.json.tmp");
        let nul = with_c_path(&[b"/run/a\0b"], |_| Ok(())).unwrap_err();
        assert_eq!(nul.kind(), io::ErrorKind::InvalidInput);
        let max = libc::PATH_MAX as usize;
        let fits = with_c_path(&[&vec![b'a'; max - 1]], |c| Ok(c.to_bytes().len()));
        assert_eq!(fits.unwrap(), max - 1);
        let long = with_c_path(&[&vec![b'a'; max - 1], b"b"], |_| Ok(())).unwrap_err();
        assert_eq!(long.raw_os_error(), Some(libc::ENAMETOOLONG));
    }

    #[test]
    fn a_path_with_a_nul_byte_is_refused_at_once() {
        let e = AtomicFile::new(Path::new("/tmp/a\0b.json"), DEFAULT_MODE, false).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_temporary_name_past_path_max_is_too_long_not_truncated() {
        let long = format!("/tmp/{}/hb.json", "d".repeat(libc::PATH_MAX as usize));
        let f = AtomicFile::new(Path::new(&long), DEFAULT_MODE, false).unwrap();
        let e = f.write(b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
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
        let planted = f
            .with_temp_path(first, |c| Ok(PathBuf::from(OsStr::from_bytes(c.to_bytes()))))
            .unwrap();
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

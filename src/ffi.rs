//! The C ABI: the only module that knows C exists.
//!
//! Every export goes through [`guard`]: NULL and UTF-8 checks happen in the
//! closure, panics become `LIFESIGN_ERR_PANIC`, and failures are recorded
//! in the thread-local last error. `include/lifesign.h` is generated from
//! this file by cbindgen.

#![allow(non_camel_case_types)]

use crate::check::{self, CheckOptions, Report, Verdict};
use crate::emitter::{Emitter, ErrorCallback, Options};
use crate::error::{Error, ErrorKind};
use crate::notify::NotifyConfig;
use crate::protocol::{Shape, State};
use crate::wait::{self, Cancel, WaitOptions};
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Major version of this header; equals the library's (see `lifesign_version`).
pub const LIFESIGN_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const LIFESIGN_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const LIFESIGN_VERSION_PATCH: u32 = 0;

/// Success.
pub const LIFESIGN_OK: i32 = 0;
/// A NULL, non-UTF-8 or out-of-range argument, or a malformed environment variable.
pub const LIFESIGN_ERR_INVALID_ARGUMENT: i32 = -1;
/// A filesystem or socket operation failed.
pub const LIFESIGN_ERR_IO: i32 = -2;
/// Not allowed now: the emitter is stopped, or this is a child after fork().
pub const LIFESIGN_ERR_STATE: i32 = -3;
/// An internal panic was caught; the library is still usable.
pub const LIFESIGN_ERR_PANIC: i32 = -4;
/// A wait reached its hard timeout.
pub const LIFESIGN_ERR_TIMEOUT: i32 = -5;
/// A wait was cancelled through its cancel token.
pub const LIFESIGN_ERR_CANCELLED: i32 = -6;

/// State: started, not yet ready.
pub const LIFESIGN_STATE_STARTING: i32 = 0;
/// State: ready.
pub const LIFESIGN_STATE_READY: i32 = 1;
/// State: shutting down.
pub const LIFESIGN_STATE_STOPPING: i32 = 2;
/// State: stopped cleanly (written by `lifesign_stop`).
pub const LIFESIGN_STATE_STOPPED: i32 = 3;
/// State: failed.
pub const LIFESIGN_STATE_FAILED: i32 = 4;

/// Verdict: fresh, and written by a live process.
pub const LIFESIGN_VERDICT_ALIVE: i32 = 0;
/// Verdict: no file.
pub const LIFESIGN_VERDICT_MISSING: i32 = 1;
/// Verdict: not a valid heartbeat file.
pub const LIFESIGN_VERDICT_INVALID: i32 = 2;
/// Verdict: written by another PID than the expected one.
pub const LIFESIGN_VERDICT_PID_MISMATCH: i32 = 3;
/// Verdict: the emitter stopped.
pub const LIFESIGN_VERDICT_STOPPED: i32 = 4;
/// Verdict: the emitter failed.
pub const LIFESIGN_VERDICT_FAILED: i32 = 5;
/// Verdict: the writer's process is gone (exited, zombie, reused PID, earlier boot).
pub const LIFESIGN_VERDICT_PROCESS_GONE: i32 = 6;
/// Verdict: dated ahead of the checker's clock.
pub const LIFESIGN_VERDICT_FUTURE: i32 = 7;
/// Verdict: older than the max age (or, from a wait, the idle timeout passed).
pub const LIFESIGN_VERDICT_STALE: i32 = 8;
/// Verdict: fresh, but work progress has not moved for the stall limit.
pub const LIFESIGN_VERDICT_STALLED: i32 = 9;

/// Shape: nothing was parsed.
pub const LIFESIGN_SHAPE_NONE: i32 = 0;
/// Shape: lifesign protocol v1.
pub const LIFESIGN_SHAPE_V1: i32 = 1;
/// Shape: `{pid, state, updated_at_ms}` without `v`.
pub const LIFESIGN_SHAPE_PLAIN: i32 = 2;
/// Shape: `{timestamp (ISO 8601 with offset), pid, hostname, metadata}`.
pub const LIFESIGN_SHAPE_TIMESTAMP: i32 = 3;
/// Shape: `{pid, status, updatedAtMs}`.
pub const LIFESIGN_SHAPE_CAMEL: i32 = 4;

/// Option flag: fsync the temporary and the folder on every write.
pub const LIFESIGN_OPT_DURABLE: u32 = 1;
/// Option flag: remove the heartbeat file after the final `stopped` write.
pub const LIFESIGN_OPT_REMOVE_ON_STOP: u32 = 2;
/// Option flag: ignore `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
pub const LIFESIGN_OPT_NO_SYSTEMD: u32 = 4;
/// Option flag: ignore the s6 notification descriptor.
pub const LIFESIGN_OPT_NO_S6: u32 = 8;
/// Option flag: send `WATCHDOG=trigger` when the state becomes failed.
pub const LIFESIGN_OPT_WATCHDOG_TRIGGER: u32 = 16;
/// Option flag: hold no lifetime lock (no `.<file>.lifesign.lock`, one
/// descriptor fewer; checkers then rely on `/proc` alone).
pub const LIFESIGN_OPT_NO_LOCK: u32 = 32;

const ALL_FLAGS: u32 = LIFESIGN_OPT_DURABLE
    | LIFESIGN_OPT_REMOVE_ON_STOP
    | LIFESIGN_OPT_NO_SYSTEMD
    | LIFESIGN_OPT_NO_S6
    | LIFESIGN_OPT_WATCHDOG_TRIGGER
    | LIFESIGN_OPT_NO_LOCK;

/// A running emitter. Opaque; create with `lifesign_start*`, release with `lifesign_free`.
pub struct lifesign_emitter {
    inner: Emitter,
}

/// A cancel token for `lifesign_wait_ready_cancel`. Opaque.
pub struct lifesign_cancel {
    inner: Cancel,
}

/// Called for every failed heartbeat write, on the thread that wrote (often
/// the emitter's own thread): `code` is a `LIFESIGN_ERR_*`, `message` is
/// valid only during the call. It must not call `lifesign_stop` or
/// `lifesign_free` on the same emitter.
pub type lifesign_error_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, code: i32, message: *const c_char)>;

/// Emitter options. Initialise with `lifesign_options_init`, then change
/// what you need: the struct starts with its own size so that it can grow.
#[repr(C)]
pub struct lifesign_options {
    /// `sizeof(lifesign_options)`, set by `lifesign_options_init`.
    pub size: u32,
    /// Refresh interval in ms; 0 = 1000; clamped to [10 ms, 1 h].
    pub interval_ms: u32,
    /// Permission bits of the heartbeat file, applied exactly; 0 = 0644.
    /// Never world-writable, no setuid, setgid or sticky bit.
    pub mode: u32,
    /// `LIFESIGN_OPT_*` flags.
    pub flags: u32,
    /// The staleness promise written to the file; 0 = 3 x interval.
    pub stale_after_ms: u64,
    /// The s6 readiness descriptor; -1 = take `LIFESIGN_NOTIFY_FD` from the environment.
    pub notify_fd: i32,
    /// Must be 0.
    pub reserved: u32,
    /// Told about failed writes; may be NULL.
    pub on_error: lifesign_error_fn,
    /// Passed to `on_error` as is.
    pub user_data: *mut c_void,
}

/// The result of a check or a wait. Filled whatever the verdict.
#[repr(C)]
pub struct lifesign_report {
    /// A `LIFESIGN_VERDICT_*`.
    pub verdict: i32,
    /// A `LIFESIGN_STATE_*`, or -1 when the file did not parse.
    pub state: i32,
    /// The PID in the file (0 when it did not parse).
    pub pid: i64,
    /// The write counter.
    pub seq: u64,
    /// The work-progress counter (0 when the file has none).
    pub progress: u64,
    /// When the file was written, Unix ms.
    pub updated_at_ms: u64,
    /// How old the file is; 0 when the timestamp is in the future.
    pub age_ms: u64,
    /// The emitter's interval; 0 when the file has none.
    pub interval_ms: u64,
    /// The emitter's message, NUL-terminated, cut at a UTF-8 boundary.
    pub message: [c_char; 256],
    /// When progress last changed, Unix ms; 0 when the file has none.
    pub progress_at_ms: u64,
    /// How long ago progress last changed; 0 when unknown or in the future.
    pub progress_age_ms: u64,
    /// The max age the verdict applied.
    pub max_age_ms: u64,
    /// A `LIFESIGN_SHAPE_*`: which file layout was read.
    pub shape: i32,
    /// Always 0.
    pub reserved: i32,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

/// Runs an export's body: panics become `LIFESIGN_ERR_PANIC`, errors are
/// recorded as this thread's last error and returned as their code.
fn guard(body: impl FnOnce() -> Result<i32, Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.kind.code()
        }
        Err(_) => {
            set_last_error("internal panic caught at the C boundary");
            LIFESIGN_ERR_PANIC
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| invalid(format!("{what} is not valid UTF-8")))
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn path_arg<'a>(p: *const c_char) -> Result<&'a Path, Error> {
    // SAFETY: forwarded from the caller.
    let s = unsafe { text(p, "path") }?;
    if s.is_empty() {
        return Err(invalid("path is empty"));
    }
    Ok(Path::new(s))
}

/// # Safety
/// `e` is NULL or a live handle from `lifesign_start*`.
unsafe fn emitter<'a>(e: *const lifesign_emitter) -> Result<&'a Emitter, Error> {
    // SAFETY: the caller promises a live handle or NULL.
    unsafe { e.as_ref() }
        .map(|h| &h.inner)
        .ok_or_else(|| invalid("emitter is NULL"))
}

fn out_handle<T>(out: *mut *mut T) -> Result<&'static mut *mut T, Error> {
    // SAFETY: out is NULL or points to writable storage for a pointer, as
    // every export that takes one documents.
    let slot = unsafe { out.as_mut() }.ok_or_else(|| invalid("out is NULL"))?;
    *slot = std::ptr::null_mut();
    Ok(slot)
}

fn ok(_: ()) -> i32 {
    LIFESIGN_OK
}

/// Returns the library version, e.g. `"0.1.0"`.
///
/// The string is static: do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn lifesign_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Starts an emitter on `path` with the default options and `interval_ms`
/// (0 = 1000 ms; clamped to [10 ms, 1 h]).
///
/// Creates missing parent folders, removes temporaries of `path` left by
/// dead writers, writes the first heartbeat (state `starting`, seq 1) before
/// it returns, then refreshes the file from a background thread.
///
/// On success `*out` owns a handle to release with `lifesign_free`. On every
/// error `*out` is NULL (when `out` is not NULL).
///
/// Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` when `path` or
/// `out` is NULL or `path` is not UTF-8; `LIFESIGN_ERR_IO` when the first
/// write fails. Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_start(
    path: *const c_char,
    interval_ms: u32,
    out: *mut *mut lifesign_emitter,
) -> i32 {
    guard(|| {
        let slot = out_handle(out)?;
        // SAFETY: forwarded from the caller.
        let path = unsafe { path_arg(path) }?;
        let e = Emitter::start(path, Duration::from_millis(interval_ms.into()))?;
        *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
        Ok(LIFESIGN_OK)
    })
}

/// Fills `opts` with the defaults: its size, 1000 ms, mode 0644, no flags,
/// stale_after 3 x interval, s6 descriptor from the environment, no callback.
///
/// NULL-safe (does nothing). Thread-safe.
///
/// # Safety
/// `opts` is NULL or points to writable storage for a `lifesign_options`.
#[no_mangle]
pub unsafe extern "C" fn lifesign_options_init(opts: *mut lifesign_options) {
    // SAFETY: the caller promises writable storage or NULL.
    if let Some(o) = unsafe { opts.as_mut() } {
        *o = lifesign_options {
            size: std::mem::size_of::<lifesign_options>() as u32,
            interval_ms: 1000,
            mode: 0o644,
            flags: 0,
            stale_after_ms: 0,
            notify_fd: -1,
            reserved: 0,
            on_error: None,
            user_data: std::ptr::null_mut(),
        };
    }
}

struct UserData(*mut c_void);
// SAFETY: the C caller hands user_data to the emitter's thread knowingly;
// the contract of lifesign_options says the callback runs there.
unsafe impl Send for UserData {}
// SAFETY: as above; we only pass the pointer back.
unsafe impl Sync for UserData {}

fn options_from_c(o: &lifesign_options) -> Result<Options, Error> {
    if (o.size as usize) < std::mem::size_of::<lifesign_options>() {
        return Err(invalid(
            "options.size is too small: initialise the struct with lifesign_options_init",
        ));
    }
    if o.flags & !ALL_FLAGS != 0 {
        return Err(invalid(format!(
            "unknown option flags {:#x}",
            o.flags & !ALL_FLAGS
        )));
    }
    if o.reserved != 0 {
        return Err(invalid("options.reserved must be 0"));
    }
    if o.notify_fd < -1 {
        return Err(invalid(format!(
            "notify_fd {} is not -1 or a descriptor",
            o.notify_fd
        )));
    }
    let on_error: Option<ErrorCallback> = o.on_error.map(|f| {
        let ud = UserData(o.user_data);
        Arc::new(move |e: &Error| {
            let ud = &ud;
            let msg = CString::new(e.message.replace('\0', " ")).unwrap_or_default();
            // SAFETY: the function pointer and user_data come from the caller,
            // who promises they stay valid while the emitter runs.
            unsafe { f(ud.0, e.kind.code(), msg.as_ptr()) };
        }) as ErrorCallback
    });
    Ok(Options {
        interval: Duration::from_millis(o.interval_ms.into()),
        mode: if o.mode == 0 { 0o644 } else { o.mode },
        durable: o.flags & LIFESIGN_OPT_DURABLE != 0,
        remove_on_stop: o.flags & LIFESIGN_OPT_REMOVE_ON_STOP != 0,
        stale_after: (o.stale_after_ms > 0).then(|| Duration::from_millis(o.stale_after_ms)),
        message: None,
        notify: NotifyConfig {
            systemd: o.flags & LIFESIGN_OPT_NO_SYSTEMD == 0,
            s6: o.flags & LIFESIGN_OPT_NO_S6 == 0,
            s6_fd: (o.notify_fd >= 0).then_some(o.notify_fd),
            watchdog_trigger: o.flags & LIFESIGN_OPT_WATCHDOG_TRIGGER != 0,
        },
        on_error,
        log_errors: true,
        lifetime_lock: o.flags & LIFESIGN_OPT_NO_LOCK == 0,
    })
}

/// Starts an emitter with options (NULL `opts` = the defaults); otherwise
/// as `lifesign_start`.
///
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` also when `opts->size` is smaller
/// than this header's `sizeof(lifesign_options)`, a flag is unknown,
/// `reserved` is not 0, or the mode is world-writable or has a setuid,
/// setgid or sticky bit. `*out` is NULL on every error. Thread-safe.
///
/// # Safety
/// `path` as in `lifesign_start`; `opts` is NULL or points to an initialised
/// `lifesign_options`; `on_error` and `user_data` stay valid until
/// `lifesign_free` returns.
#[no_mangle]
pub unsafe extern "C" fn lifesign_start_with(
    path: *const c_char,
    opts: *const lifesign_options,
    out: *mut *mut lifesign_emitter,
) -> i32 {
    guard(|| {
        let slot = out_handle(out)?;
        // SAFETY: forwarded from the caller.
        let path = unsafe { path_arg(path) }?;
        // SAFETY: the caller promises an initialised struct or NULL.
        let options = match unsafe { opts.as_ref() } {
            Some(o) => options_from_c(o)?,
            None => Options::default(),
        };
        let e = Emitter::start_with(path, options)?;
        *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
        Ok(LIFESIGN_OK)
    })
}

/// Starts an emitter from the launcher's environment: `LIFESIGN_FILE` (the
/// path) and `LIFESIGN_INTERVAL_MS` (optional).
///
/// When `LIFESIGN_FILE` is unset or empty, does nothing: `*out` is NULL and
/// the result is `LIFESIGN_OK`. A malformed `LIFESIGN_INTERVAL_MS` gives
/// `LIFESIGN_ERR_INVALID_ARGUMENT` with a message naming it. Never modifies
/// the environment. Thread-safe (reads the environment).
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_start_from_env(out: *mut *mut lifesign_emitter) -> i32 {
    guard(|| {
        let slot = out_handle(out)?;
        if let Some(e) = Emitter::start_from_env()? {
            *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
        }
        Ok(LIFESIGN_OK)
    })
}

/// Writes a heartbeat now.
///
/// Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL;
/// `LIFESIGN_ERR_STATE` after `lifesign_stop` or in a child after fork();
/// `LIFESIGN_ERR_IO` when the write failed (the emitter keeps running and
/// retries on its next beat). Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lifesign_beat(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { emitter(e) }?.beat().map(ok))
}

/// Changes the state (`LIFESIGN_STATE_STARTING`, `_READY`, `_STOPPING`,
/// `_FAILED`) and writes at once. `message` NULL keeps the current message,
/// `""` clears it; longer than 4 KiB it is cut at a UTF-8 boundary.
///
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e`, an unknown state,
/// `LIFESIGN_STATE_STOPPED` (use `lifesign_stop`) or a non-UTF-8 message;
/// otherwise as `lifesign_beat`. Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle; `message` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lifesign_set_state(
    e: *mut lifesign_emitter,
    state: i32,
    message: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let em = unsafe { emitter(e) }?;
        let st =
            State::from_code(state).ok_or_else(|| invalid(format!("unknown state {state}")))?;
        let msg = if message.is_null() {
            None
        } else {
            // SAFETY: forwarded from the caller.
            Some(unsafe { text(message, "message") }?)
        };
        em.set_state(st, msg).map(ok)
    })
}

/// Sets `meta[key] = value` (NULL `value` removes the key); written with the
/// next beat.
///
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e` or `key`, non-UTF-8
/// text, or an entry that would make the file larger than 64 KiB allows
/// (then nothing changes); `LIFESIGN_ERR_STATE` after stop or in a forked child. Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle; `key` and `value` are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lifesign_set_meta(
    e: *mut lifesign_emitter,
    key: *const c_char,
    value: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let em = unsafe { emitter(e) }?;
        // SAFETY: forwarded from the caller.
        let key = unsafe { text(key, "key") }?;
        let value = if value.is_null() {
            None
        } else {
            // SAFETY: forwarded from the caller.
            Some(unsafe { text(value, "value") }?)
        };
        em.set_meta(key, value).map(ok)
    })
}

/// Records one unit of work progress: an atomic increment in memory, safe
/// in a hot loop. The next write records `progress` and `progress_at_ms`.
///
/// Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL;
/// `LIFESIGN_ERR_STATE` after stop or in a forked child. Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lifesign_progress(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { emitter(e) }?.progress().map(ok))
}

/// Stores in `*out` how many heartbeat writes have failed since start.
///
/// Works after `lifesign_stop`. Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for
/// NULL `e` or `out`, `LIFESIGN_ERR_STATE` in a child after fork(). Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_write_failures(e: *const lifesign_emitter, out: *mut u64) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let em = unsafe { emitter(e) }?;
        // SAFETY: the caller promises writable storage or NULL.
        let slot = unsafe { out.as_mut() }.ok_or_else(|| invalid("out is NULL"))?;
        em.ensure_owner()?;
        *slot = em.write_failures();
        Ok(LIFESIGN_OK)
    })
}

/// Stops the emitter: wakes its thread at once, joins it, writes the state
/// `stopped` (and removes the file with `LIFESIGN_OPT_REMOVE_ON_STOP`).
/// Idempotent: a second stop returns `LIFESIGN_OK` and writes nothing.
///
/// In a child after fork() it neither writes nor joins and returns
/// `LIFESIGN_ERR_STATE`. `LIFESIGN_ERR_IO` when the final write failed (the
/// emitter is stopped all the same). Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lifesign_stop(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { emitter(e) }?.stop().map(ok))
}

/// Releases an emitter, stopping it first if it is running. NULL-safe.
///
/// In a child after fork() it only releases memory (no write, no join).
/// Freeing the same handle twice, or using it after, is undefined behaviour.
/// Not to be called while another thread uses the handle.
///
/// # Safety
/// `e` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn lifesign_free(e: *mut lifesign_emitter) {
    if e.is_null() {
        return;
    }
    guard(|| {
        // SAFETY: the caller gives up a handle from Box::into_raw.
        drop(unsafe { Box::from_raw(e) });
        Ok(LIFESIGN_OK)
    });
}

fn check_options(max_age_ms: u64, expected_pid: i64, stall_ms: u64) -> Result<CheckOptions, Error> {
    let expected_pid = match expected_pid {
        0 => None,
        p if (1..=i64::from(i32::MAX)).contains(&p) => Some(p as u32),
        p => return Err(invalid(format!("expected_pid {p} is out of range"))),
    };
    Ok(CheckOptions {
        max_age_ms: Some(max_age_ms),
        expected_pid,
        stall_ms: Some(stall_ms),
        ..CheckOptions::default()
    })
}

/// Returns 1 when the heartbeat at `path` is `alive`, 0 when it is not, and
/// a negative `LIFESIGN_ERR_*` for a NULL or non-UTF-8 path. `max_age_ms` 0
/// uses the file's own rule. Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lifesign_is_alive(path: *const c_char, max_age_ms: u64) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let p = unsafe { path_arg(path) }?;
        Ok(i32::from(check::is_alive(p, max_age_ms)))
    })
}

fn fill(out: &mut lifesign_report, r: &Report) {
    let mut message = [0 as c_char; 256];
    let m = crate::protocol::truncate_utf8(&r.message, 255);
    for (d, s) in message.iter_mut().zip(m.bytes()) {
        *d = s as c_char;
    }
    *out = lifesign_report {
        verdict: r.verdict.code(),
        state: r.state.map_or(-1, State::code),
        pid: i64::from(r.pid),
        seq: r.seq,
        progress: r.progress,
        updated_at_ms: r.updated_at_ms,
        age_ms: r.age_ms,
        interval_ms: r.interval_ms,
        message,
        progress_at_ms: r.progress_at_ms.unwrap_or(0),
        progress_age_ms: r.progress_age_ms,
        max_age_ms: r.max_age_ms,
        shape: r.shape.code(),
        reserved: 0,
    };
}

/// Fills `out` as for a file that could not be judged, so that a caller who
/// ignores the return code still sees "not alive".
fn fill_unjudged(out: *mut lifesign_report) {
    // SAFETY: out is NULL or writable, as the exports document.
    if let Some(o) = unsafe { out.as_mut() } {
        let r = check::verdict(
            &check::Read::Invalid(String::new()),
            check::Facts {
                now_ms: 0,
                identity: crate::process::identity(),
            },
            &CheckOptions::default(),
            |_, _| crate::process::Liveness::Gone,
        );
        fill(o, &r);
    }
}

/// Checks the heartbeat at `path` and fills `*out` whatever the verdict.
///
/// `max_age_ms` 0 uses the file's rule (`stale_after_ms`, else 3 x
/// `interval_ms`, else 30 s); `expected_pid` 0 accepts any PID. The verdict
/// rules are in docs/PROTOCOL.md. Returns `LIFESIGN_OK` when a verdict was
/// reached (read it in `out->verdict`); `LIFESIGN_ERR_INVALID_ARGUMENT` for a
/// NULL or non-UTF-8 path, a NULL `out`, or a negative `expected_pid` (then
/// `out`, when not NULL, holds verdict `invalid`). Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_check(
    path: *const c_char,
    max_age_ms: u64,
    expected_pid: i64,
    out: *mut lifesign_report,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { lifesign_check_stall(path, max_age_ms, expected_pid, 0, out) }
}

/// As `lifesign_check`, and with `stall_ms` non-zero the verdict is
/// `stalled` when the file's `progress_at_ms` is older than `stall_ms`.
///
/// # Safety
/// As `lifesign_check`.
#[no_mangle]
pub unsafe extern "C" fn lifesign_check_stall(
    path: *const c_char,
    max_age_ms: u64,
    expected_pid: i64,
    stall_ms: u64,
    out: *mut lifesign_report,
) -> i32 {
    let rc = guard(|| {
        // SAFETY: the caller promises writable storage or NULL.
        let o = unsafe { out.as_mut() }.ok_or_else(|| invalid("out is NULL"))?;
        // SAFETY: forwarded from the caller.
        let p = unsafe { path_arg(path) }?;
        let opts = check_options(max_age_ms, expected_pid, stall_ms)?;
        fill(o, &check::check(p, &opts));
        Ok(LIFESIGN_OK)
    });
    if rc != LIFESIGN_OK {
        fill_unjudged(out);
    }
    rc
}

/// Waits until the emitter at `path` is ready or never will be; see
/// `lifesign_wait_ready_cancel` (this is that with no cancel token).
///
/// # Safety
/// As `lifesign_wait_ready_cancel`.
#[no_mangle]
pub unsafe extern "C" fn lifesign_wait_ready(
    path: *const c_char,
    expected_pid: i64,
    idle_timeout_ms: u64,
    timeout_ms: u64,
    out: *mut lifesign_report,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        lifesign_wait_ready_cancel(
            path,
            expected_pid,
            idle_timeout_ms,
            timeout_ms,
            std::ptr::null(),
            out,
        )
    }
}

/// Creates a cancel token for `lifesign_wait_ready_cancel`.
///
/// `*out` owns the token (release with `lifesign_cancel_free`); NULL on error.
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `out`, `LIFESIGN_ERR_IO`
/// when no eventfd could be made. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_cancel_new(out: *mut *mut lifesign_cancel) -> i32 {
    guard(|| {
        let slot = out_handle(out)?;
        let c = Cancel::new().map_err(|e| Error::io("cannot create a cancel token", &e))?;
        *slot = Box::into_raw(Box::new(lifesign_cancel { inner: c }));
        Ok(LIFESIGN_OK)
    })
}

/// Triggers a cancel token: every wait using it returns
/// `LIFESIGN_ERR_CANCELLED` promptly, and later waits at once. It stays
/// triggered. Thread-safe; async-signal-safe apart from argument errors.
///
/// # Safety
/// `c` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn lifesign_cancel_trigger(c: *mut lifesign_cancel) -> i32 {
    // SAFETY: the caller promises a live token or NULL.
    match unsafe { c.as_ref() } {
        Some(c) => {
            c.inner.trigger();
            LIFESIGN_OK
        }
        None => guard(|| Err(invalid("cancel token is NULL"))),
    }
}

/// Releases a cancel token. NULL-safe. Not while a wait still uses it.
///
/// # Safety
/// `c` is NULL or a live token that no wait is using.
#[no_mangle]
pub unsafe extern "C" fn lifesign_cancel_free(c: *mut lifesign_cancel) {
    if !c.is_null() {
        // SAFETY: the caller gives up a token from Box::into_raw.
        drop(unsafe { Box::from_raw(c) });
    }
}

/// Waits until the emitter at `path` reports `ready`, or a decision that it
/// never will, event-driven (inotify; polling where it is unavailable).
///
/// - `expected_pid` (0 = any; a process in the caller's PID namespace):
///   before the emitter's first good read, a file of another PID, or of that
///   PID but another process (boot, PID namespace or start time), is ignored
///   (an earlier run); after it, another PID ends the wait with
///   `pid_mismatch`. The process is watched from the start: its exit ends the
///   wait with `process_gone`, also before its first write.
/// - `ready` counts when fresh by the checker's rules, or newer than the
///   first read (a frozen emitter's old `ready` does not end the wait).
/// - `idle_timeout_ms` (0 = none): ends the wait with verdict `stale` when no
///   new heartbeat arrives for that long, on the monotonic clock.
/// - `timeout_ms` (0 = none): the hard timeout.
/// - One missing or invalid read after a good one is tolerated, not two.
/// - `failed`, `stopped`, `process_gone` and `pid_mismatch` end it at once.
///
/// Returns `LIFESIGN_OK` when a decision was reached (alive + ready is
/// success: read `out->verdict` and `out->state`); `LIFESIGN_ERR_TIMEOUT`
/// at the hard timeout; `LIFESIGN_ERR_CANCELLED` when `cancel` was
/// triggered; `LIFESIGN_ERR_INVALID_ARGUMENT` for bad arguments. `*out`
/// holds what was last seen in every case. Blocks the calling thread only;
/// thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `cancel` is NULL or a live
/// token; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lifesign_wait_ready_cancel(
    path: *const c_char,
    expected_pid: i64,
    idle_timeout_ms: u64,
    timeout_ms: u64,
    cancel: *const lifesign_cancel,
    out: *mut lifesign_report,
) -> i32 {
    let mut judged = false;
    let rc = guard(|| {
        // SAFETY: the caller promises writable storage or NULL.
        let o = unsafe { out.as_mut() }.ok_or_else(|| invalid("out is NULL"))?;
        // SAFETY: forwarded from the caller.
        let p = unsafe { path_arg(path) }?;
        let pid = check_options(0, expected_pid, 0)?.expected_pid;
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        let opts = WaitOptions {
            expected_pid: pid,
            idle_timeout: ms(idle_timeout_ms),
            timeout: ms(timeout_ms),
            // SAFETY: the caller promises a live token or NULL.
            cancel: unsafe { cancel.as_ref() }.map(|c| &c.inner),
            force_polling: false,
        };
        let outcome = wait::wait_ready(p, &opts);
        fill(o, &outcome.report);
        judged = true;
        outcome.result.map(|()| LIFESIGN_OK)
    });
    if !judged {
        fill_unjudged(out);
    }
    rc
}

/// The name of a verdict (`"alive"`, `"missing"`, ...), `"unknown"` for
/// any other value. Static string; thread-safe.
#[no_mangle]
pub extern "C" fn lifesign_verdict_name(verdict: i32) -> *const c_char {
    static_name(Verdict::from_code(verdict).map(Verdict::as_str))
}

/// The name of a state (`"starting"`, `"ready"`, ...), `"unknown"` for any
/// other value. Static string; thread-safe.
#[no_mangle]
pub extern "C" fn lifesign_state_name(state: i32) -> *const c_char {
    static_name(State::from_code(state).map(State::as_str))
}

/// The name of a shape (`"none"`, `"v1"`, `"plain"`, `"timestamp"`,
/// `"camel"`), `"unknown"` for any other value. Static string; thread-safe.
#[no_mangle]
pub extern "C" fn lifesign_shape_name(shape: i32) -> *const c_char {
    static_name(Shape::from_code(shape).map(Shape::as_str))
}

/// The name of a return code (`"LIFESIGN_OK"`, `"LIFESIGN_ERR_IO"`, ...),
/// `"unknown"` for any other value. Static string; thread-safe.
#[no_mangle]
pub extern "C" fn lifesign_error_name(code: i32) -> *const c_char {
    let name: &'static [u8] = match code {
        LIFESIGN_OK => b"LIFESIGN_OK\0",
        LIFESIGN_ERR_INVALID_ARGUMENT => b"LIFESIGN_ERR_INVALID_ARGUMENT\0",
        LIFESIGN_ERR_IO => b"LIFESIGN_ERR_IO\0",
        LIFESIGN_ERR_STATE => b"LIFESIGN_ERR_STATE\0",
        LIFESIGN_ERR_PANIC => b"LIFESIGN_ERR_PANIC\0",
        LIFESIGN_ERR_TIMEOUT => b"LIFESIGN_ERR_TIMEOUT\0",
        LIFESIGN_ERR_CANCELLED => b"LIFESIGN_ERR_CANCELLED\0",
        _ => b"unknown\0",
    };
    name.as_ptr().cast()
}

fn static_name(name: Option<&'static str>) -> *const c_char {
    // The names are few and fixed: keep NUL-terminated copies.
    static NAMES: once_cell::sync::Lazy<Vec<(&'static str, CString)>> =
        once_cell::sync::Lazy::new(|| {
            let mut v: Vec<&'static str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
            v.extend(State::ALL.iter().map(|s| s.as_str()));
            v.extend(["none", "v1", "plain", "timestamp", "camel", "unknown"]);
            v.into_iter()
                .map(|s| (s, CString::new(s).unwrap_or_default()))
                .collect()
        });
    let want = name.unwrap_or("unknown");
    NAMES
        .iter()
        .find(|(s, _)| *s == want)
        .map_or(c"unknown".as_ptr(), |(_, c)| c.as_ptr())
}

/// This thread's most recent error message, `""` when there was none.
///
/// Meaningful only right after a call failed. The string belongs to the
/// library and stays valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn lifesign_last_error() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_macros_match_the_crate() {
        let v =
            format!("{LIFESIGN_VERSION_MAJOR}.{LIFESIGN_VERSION_MINOR}.{LIFESIGN_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn codes_match_the_core_enums() {
        assert_eq!(Verdict::Stalled.code(), LIFESIGN_VERDICT_STALLED);
        assert_eq!(State::Failed.code(), LIFESIGN_STATE_FAILED);
        assert_eq!(Shape::Camel.code(), LIFESIGN_SHAPE_CAMEL);
        assert_eq!(ErrorKind::Cancelled.code(), LIFESIGN_ERR_CANCELLED);
    }
}

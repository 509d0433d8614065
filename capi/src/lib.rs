//! The C ABI of lifesign: the only crate that knows C exists. It wraps the
//! library (`lifesign`, the workspace's root package) without changing it;
//! `capi/artifact` (package `lifesign-c`) links it into liblifesign.so and
//! liblifesign.a.
//!
//! Every export is declared with `ffi_fn!`, which writes the
//! `#[no_mangle] extern "C"` function around its body: panics are caught and
//! become the return type's default (`LIFESIGN_ERR_PANIC` for a return
//! code), errors are recorded as the thread's last error and returned as
//! their code. No export exists outside it (tests/exports.rs checks).
//! `include/lifesign.h` is generated from this file by cbindgen, with the
//! constants rendered from `lifesign::codes`.

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

use lifesign::check::{self, CheckOptions, Report};
use lifesign::codes::{LockState, LogLevel, OptionFlag, ProcessState, Shape, State, Verdict, OK};
use lifesign::emitter::{Emitter, ErrorCallback, Options};
use lifesign::error::{Error, ErrorKind};
use lifesign::judge::{judge, Observation};
use lifesign::notify::NotifyConfig;
use lifesign::wait::{self, Cancel, WaitErrorKind, WaitOptions};
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::mem::{offset_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A C return type, and what an export's body gives for it: on a panic,
/// a default that the C caller can tell apart.
trait CReturn: Sized {
    /// What the body returns.
    type Body;
    /// The C value of a body that returned.
    fn from_body(body: Self::Body) -> Self;
    /// The C value of a body that panicked.
    fn on_panic() -> Self;
}

/// Return codes: the body gives `Ok(code)`, or an error that becomes its
/// code (and the thread's last error); a panic is `LIFESIGN_ERR_PANIC`.
impl CReturn for i32 {
    type Body = Result<i32, Error>;
    fn from_body(body: Result<i32, Error>) -> i32 {
        match body {
            Ok(code) => code,
            Err(e) => {
                set_last_error(&e.message);
                e.kind.code()
            }
        }
    }
    fn on_panic() -> i32 {
        ErrorKind::Panic.code()
    }
}

/// Static strings: a panic gives `""`, never NULL, so that a caller may
/// print the result unchecked.
impl CReturn for *const c_char {
    type Body = *const c_char;
    fn from_body(body: *const c_char) -> *const c_char {
        body
    }
    fn on_panic() -> *const c_char {
        c"".as_ptr()
    }
}

/// No result: a panic is a no-op (recorded as the last error).
impl CReturn for () {
    type Body = ();
    fn from_body(_: ()) {}
    fn on_panic() {}
}

/// Runs an export's body behind the panic boundary.
fn boundary<R: CReturn>(body: impl FnOnce() -> R::Body) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => R::from_body(r),
        Err(_) => {
            set_last_error("internal panic caught at the C boundary");
            R::on_panic()
        }
    }
}

// The version node of every export: `symbol_version!`, written by capi/build.rs
// from abi/lifesign.map.
#[cfg(lifesign_symbol_versions)]
include!(concat!(env!("OUT_DIR"), "/symbol_versions.rs"));

/// Gives an export the symbol version of its node (`lifesign_check@@LIFESIGN_0.2`):
/// an assembler directive inside the function, so that it is always in the
/// object that defines the symbol (capi/build.rs says why).
#[cfg(lifesign_symbol_versions)]
macro_rules! attach_symbol_version {
    ($name:ident) => {
        // SAFETY: an assembler directive; it emits no instruction.
        unsafe {
            std::arch::asm!(
                concat!(
                    ".symver ",
                    stringify!($name),
                    ", ",
                    stringify!($name),
                    "@@@",
                    symbol_version!($name)
                ),
                options(nomem, nostack, preserves_flags)
            )
        }
    };
}

/// Without symbol versions (a linker other than lld): nothing.
#[cfg(not(lifesign_symbol_versions))]
macro_rules! attach_symbol_version {
    ($name:ident) => {};
}

/// Declares C exports, each with its guard; `@emit` is the one place that
/// writes `#[no_mangle]`. The body of an export returning `i32` gives a
/// `Result<i32, Error>`; other bodies give the C type itself (see
/// [`CReturn`]).
macro_rules! ffi_fn {
    () => {};
    ($(#[$attr:meta])* unsafe fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block $($rest:tt)*) => {
        ffi_fn!(@emit [unsafe] $(#[$attr])* $name($($arg: $ty),*) [ffi_fn!(@ret $($ret)?)] $body);
        ffi_fn!($($rest)*);
    };
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block $($rest:tt)*) => {
        ffi_fn!(@emit [] $(#[$attr])* $name($($arg: $ty),*) [ffi_fn!(@ret $($ret)?)] $body);
        ffi_fn!($($rest)*);
    };
    (@emit [$($qual:tt)*] $(#[$attr:meta])* $name:ident($($arg:ident: $ty:ty),*) [$ret:ty] $body:block) => {
        $(#[$attr])*
        #[no_mangle]
        // Never inlined: the symbol version stays with the one definition.
        #[inline(never)]
        pub $($qual)* extern "C" fn $name($($arg: $ty),*) -> $ret {
            attach_symbol_version!($name);
            boundary::<$ret>(move || -> <$ret as CReturn>::Body { $body })
        }
    };
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
}

/// A running emitter. Opaque; create with `lifesign_start*`, release with `lifesign_free`.
pub struct lifesign_emitter {
    inner: Emitter,
}

/// A cancel token for `lifesign_wait_ready_cancel`. Opaque.
pub struct lifesign_cancel {
    inner: Cancel,
}

/// Called for every failed heartbeat write, on the thread that wrote (a
/// library writer thread for periodic beats, the caller's for
/// `lifesign_beat`, `lifesign_set_state` and `lifesign_stop`): `code` is a
/// `LIFESIGN_ERR_*`, `message` is valid only during the call.
///
/// Re-entry is safe: the callback may call any function on the same
/// emitter, `lifesign_stop` included, but not `lifesign_free`. A write it
/// makes on that emitter (for example `lifesign_set_state(e, FAILED, ...)`)
/// is done, counted and returned as usual, but its failure does not call
/// the callback again, so the callback never recurses. A callback that
/// blocks holds one writer thread; the library starts a spare one for the
/// other emitters.
pub type lifesign_error_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, code: i32, message: *const c_char)>;

/// Receives the library's log messages (see `lifesign_set_log_handler`):
/// `level` is a `LIFESIGN_LOG_*`, `message` one line without prefix, valid
/// only during the call.
pub type lifesign_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

/// Emitter options. Initialise with `lifesign_options_init`, then change
/// what you need: the struct starts with its own size so that it can grow.
///
/// The library accepts the `size` of every published layout (0.2: 48
/// bytes): fields appended later take their defaults for a caller whose
/// `size` does not cover them. A larger `size` (a program built against a
/// newer header, run on this library) is accepted too: the library reads
/// the fields it knows and ignores the rest, so options that only the
/// newer header has are not applied. Any other `size` (smaller than the
/// first published layout, between two layouts, or not a multiple of 8) is
/// `LIFESIGN_ERR_INVALID_ARGUMENT` with a message naming
/// `lifesign_options_init`.
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

/// The result of a check or a wait, filled whatever the verdict.
///
/// Initialise it with `lifesign_report_init`: the library reads `size` and
/// writes no byte past it, so a program compiled against an older header (a
/// smaller struct) keeps working when fields are appended. New fields are
/// only ever appended.
///
/// The library accepts the `size` of every published layout (0.2: 600
/// bytes) and writes that layout. A larger `size` (a program built against
/// a newer header, run on this library) is accepted too: the library writes
/// the fields it knows and leaves the rest as the caller set them (zero
/// after `lifesign_report_init`). Any other `size` (smaller than the first
/// published layout, between two layouts, or not a multiple of 8: a report
/// nobody initialised) is `LIFESIGN_ERR_INVALID_ARGUMENT` with a message
/// naming `lifesign_report_init`, and the report is not written.
#[repr(C)]
pub struct lifesign_report {
    /// `sizeof(lifesign_report)` as the caller compiled it, set by
    /// `lifesign_report_init`; never written by the library.
    pub size: u32,
    /// A `LIFESIGN_VERDICT_*`.
    pub verdict: i32,
    /// A `LIFESIGN_STATE_*`, or -1 when the file did not parse.
    pub state: i32,
    /// A `LIFESIGN_SHAPE_*`: which file layout was read.
    pub shape: i32,
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
    /// When progress last changed, Unix ms; 0 when the file has none.
    pub progress_at_ms: u64,
    /// How long ago progress last changed; 0 when unknown or in the future.
    pub progress_age_ms: u64,
    /// The max age the verdict applied.
    pub max_age_ms: u64,
    /// The emitter's message, NUL-terminated, cut at a UTF-8 boundary.
    pub message: [c_char; 256],
    /// Why the verdict is what it is ("not JSON: ...", "pid 12 exited"),
    /// NUL-terminated, cut at a UTF-8 boundary; for logs, not for parsing.
    pub detail: [c_char; 256],
}

/// What a reader observed of the world, for `lifesign_judge`: its clocks
/// and identity, the record's lifetime lock and process as it found them,
/// and the checker's options. Initialise with `lifesign_facts_init` (all
/// unknown, no options), then set what you know: the struct starts with
/// its own size so that it can grow.
///
/// Every 0 (and NULL or `""`) means "not known" and errs on the side that
/// decides nothing (docs/PROTOCOL.md 3.1, 3.2, 10): an unknown host or PID
/// namespace makes a record that names one "not written here" (no process
/// state is used), an unknown boot id or time namespace keeps the ages on
/// the wall clock and the lock unused.
///
/// The library accepts the `size` of every published layout (0.2.1: 96
/// bytes), and a larger multiple of 8 from a newer header (the fields it
/// knows are read, the rest ignored). Any other `size` is
/// `LIFESIGN_ERR_INVALID_ARGUMENT` with a message naming
/// `lifesign_facts_init`.
#[repr(C)]
pub struct lifesign_facts {
    /// `sizeof(lifesign_facts)`, set by `lifesign_facts_init`.
    pub size: u32,
    /// A `LIFESIGN_LOCK_*`: what the reader found at the record's lifetime
    /// lock file (the file with the record's `lock_dev` and `lock_ino`).
    pub lock: i32,
    /// A `LIFESIGN_PROCESS_*`: what the reader found about the process of
    /// the record's `pid`.
    pub process: i32,
    /// Must be 0.
    pub reserved: u32,
    /// The reader's wall clock, Unix ms.
    pub now_ms: u64,
    /// The reader's `CLOCK_MONOTONIC`, ms; 0: not read (ages on the wall clock).
    pub mono_ms: u64,
    /// The start time of the process of the record's `pid` (field 22 of
    /// `/proc/<pid>/stat`), compared with the record's `pid_start`; 0: not
    /// known (a running process is then judged as by a probe that cannot
    /// tell, when the record has a `pid_start`).
    pub process_start: u64,
    /// The inode of the reader's PID namespace; 0: not known.
    pub pid_ns: u64,
    /// The inode of the reader's time namespace; 0: not known.
    pub time_ns: u64,
    /// The reader's hostname, NUL-terminated UTF-8; NULL or `""`: not known.
    pub host: *const c_char,
    /// The reader's boot id, NUL-terminated UTF-8; NULL or `""`: not known.
    pub boot_id: *const c_char,
    /// The max age; 0: the record's own rule, as in `lifesign_check`.
    pub max_age_ms: u64,
    /// The PID the reader expects; 0: any.
    pub expected_pid: i64,
    /// The stall limit, as in `lifesign_check_stall`; 0: none.
    pub stall_ms: u64,
}

/// The sizes of `lifesign_report` that releases published, oldest first
/// (0.2.0 was the first with a `size`). A release that appends fields
/// appends its size here; the last is this header's.
const REPORT_SIZES: [usize; 1] = [offset_of!(lifesign_report, detail) + 256];

/// The sizes of `lifesign_options` that releases published, oldest first,
/// as `REPORT_SIZES`.
const OPTIONS_SIZES: [usize; 1] = [offset_of!(lifesign_options, user_data) + size_of::<usize>()];

/// The sizes of `lifesign_facts` that releases published, oldest first, as
/// `REPORT_SIZES` (0.2.1 was the first with it).
const FACTS_SIZES: [usize; 1] = [offset_of!(lifesign_facts, stall_ms) + size_of::<u64>()];

/// How many bytes of a caller's size-prefixed struct the library uses, from
/// the `size` the caller wrote: a published size as is; a larger one (a
/// newer header, whose struct is a multiple of `align`) this library's
/// size. Anything else is refused with a message naming `init`.
#[inline]
fn struct_len(
    size: usize,
    published: &[usize],
    align: usize,
    what: &str,
    init: &str,
) -> Result<usize, Error> {
    let ours = published[published.len() - 1];
    if size == ours || published.contains(&size) || (size > ours && size % align == 0) {
        return Ok(size.min(ours));
    }
    refused(size, published, align, what, init)
}

/// `struct_len`'s refusal.
#[cold]
fn refused(size: usize, published: &[usize], align: usize, what: &str, init: &str) -> Result<usize, Error> {
    let sizes: Vec<String> = published.iter().map(usize::to_string).collect();
    Err(invalid(format!(
        "{what}.size is {size}, not the size of a lifesign_{what} that this library knows \
         ({} bytes, or a larger multiple of {align} from a newer header): initialise it with {init}",
        sizes.join(", ")
    )))
}

/// A caller's size-prefixed struct (its first field a `u32` size): the
/// sizes releases published, and the names its refusal gives.
trait SizePrefixed: Sized {
    /// The published sizes, oldest first; the last is this header's.
    const SIZES: &'static [usize];
    /// The struct's name after `lifesign_`.
    const WHAT: &'static str;
    /// The function that initialises it.
    const INIT: &'static str;
}

impl SizePrefixed for lifesign_report {
    const SIZES: &'static [usize] = &REPORT_SIZES;
    const WHAT: &'static str = "report";
    const INIT: &'static str = "lifesign_report_init";
}

impl SizePrefixed for lifesign_options {
    const SIZES: &'static [usize] = &OPTIONS_SIZES;
    const WHAT: &'static str = "options";
    const INIT: &'static str = "lifesign_options_init";
}

impl SizePrefixed for lifesign_facts {
    const SIZES: &'static [usize] = &FACTS_SIZES;
    const WHAT: &'static str = "facts";
    const INIT: &'static str = "lifesign_facts_init";
}

// `caller_len` reads the size where each of them keeps it.
const _: () = assert!(
    offset_of!(lifesign_report, size) == 0
        && offset_of!(lifesign_options, size) == 0
        && offset_of!(lifesign_facts, size) == 0
);

/// How many bytes of the caller's struct at `p` the library uses
/// ([`struct_len`] of the size it holds).
///
/// # Safety
/// `p` points to a `T` whose first field is the caller's size.
unsafe fn caller_len<T: SizePrefixed>(p: *const T) -> Result<usize, Error> {
    // SAFETY: the caller promises a struct whose first field is a u32 size.
    let size = unsafe { p.cast::<u32>().read() } as usize;
    struct_len(size, T::SIZES, std::mem::align_of::<T>(), T::WHAT, T::INIT)
}

/// Reads the caller's struct at `p`: the fields its size covers, and
/// `defaults` for any appended since.
///
/// # Safety
/// `p` points to a `T` whose first field is the caller's size, with at least
/// that many readable bytes.
unsafe fn read_sized<T: SizePrefixed>(p: *const T, defaults: T) -> Result<T, Error> {
    // SAFETY: forwarded from the caller.
    let len = unsafe { caller_len(p) }?;
    let mut v = defaults;
    // SAFETY: the caller's struct holds `size` >= len readable bytes, and
    // len is no more than a `T` holds.
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&mut v as *mut T).cast::<u8>(), len) };
    Ok(v)
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from the caller.
    let c = unsafe { c_text(p, what) }?;
    // SAFETY: c_text checked that the bytes are UTF-8.
    Ok(unsafe { std::str::from_utf8_unchecked(c.to_bytes()) })
}

/// A string argument as the C string it is: not NULL, and UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn c_text<'a>(p: *const c_char, what: &str) -> Result<&'a CStr, Error> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    // ASCII first: a word at a time, and what almost every path is.
    match c.to_bytes().is_ascii() || std::str::from_utf8(c.to_bytes()).is_ok() {
        true => Ok(c),
        false => Err(invalid(format!("{what} is not valid UTF-8"))),
    }
}

/// A message argument: NULL is `None` (keep the current message).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn message_arg<'a>(p: *const c_char) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(p, "message") }.map(Some)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn path_arg<'a>(p: *const c_char) -> Result<&'a Path, Error> {
    // SAFETY: forwarded from the caller.
    let c = unsafe { c_path_arg(p) }?;
    Ok(Path::new(OsStr::from_bytes(c.to_bytes())))
}

/// A path argument as the C string it is, which the check's system calls
/// take without a copy; checked as `path_arg` checks it.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn c_path_arg<'a>(p: *const c_char) -> Result<&'a CStr, Error> {
    // SAFETY: forwarded from the caller.
    let c = unsafe { c_text(p, "path") }?;
    if c.is_empty() {
        return Err(invalid("path is empty"));
    }
    Ok(c)
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
    OK
}

/// Copies `s` into `buf`, NUL-terminated and NUL-padded, cut at a UTF-8
/// boundary.
fn put_text(buf: &mut [c_char], s: &str) {
    let cut = lifesign::protocol::truncate_utf8(s, buf.len() - 1).as_bytes();
    let (text, rest) = buf.split_at_mut(cut.len());
    for (d, &b) in text.iter_mut().zip(cut) {
        *d = b as c_char;
    }
    rest.fill(0);
}

/// The caller's `out->size`, checked: how many bytes of the report to write.
///
/// # Safety
/// `out` is NULL or points to a report whose first field is the caller's
/// size.
unsafe fn report_len(out: *const lifesign_report) -> Result<usize, Error> {
    if out.is_null() {
        return Err(invalid("out is NULL"));
    }
    // SAFETY: the caller promises a report, whose first field is its size.
    unsafe { caller_len(out) }
}

/// Writes `r` into the caller's report, the layout its `size` names.
/// Nothing is written when `out` is NULL or its size is refused.
fn fill(out: *mut lifesign_report, r: &Report) {
    // SAFETY: out is NULL or a caller's report, as the exports document.
    let Ok(len) = (unsafe { report_len(out) }) else {
        return;
    };
    if len == size_of::<lifesign_report>() {
        // SAFETY: the caller's size says its struct is a whole report of
        // this header, writable, and (a C struct) aligned.
        write_report(unsafe { &mut *out }, r);
        return;
    }
    // An older, shorter layout: the fields it holds, through a whole report.
    // SAFETY: all zero is a valid report (integers and arrays).
    let mut whole: lifesign_report = unsafe { std::mem::zeroed() };
    // SAFETY: report_len read it already.
    whole.size = unsafe { std::ptr::addr_of!((*out).size).read() };
    write_report(&mut whole, r);
    // SAFETY: the caller's struct holds `size` >= len writable bytes, and
    // `whole` is a whole report (len <= its size).
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&whole as *const lifesign_report).cast::<u8>(),
            out.cast::<u8>(),
            len,
        )
    };
}

/// Every field of a report but its `size`, which is the caller's (the
/// pattern names every field: one added to the struct must be written here).
fn write_report(o: &mut lifesign_report, r: &Report) {
    let lifesign_report {
        size: _,
        verdict,
        state,
        shape,
        pid,
        seq,
        progress,
        updated_at_ms,
        age_ms,
        interval_ms,
        progress_at_ms,
        progress_age_ms,
        max_age_ms,
        message,
        detail,
    } = o;
    *verdict = r.verdict.code();
    *state = r.state.map_or(-1, State::code);
    *shape = r.shape.code();
    *pid = i64::from(r.pid);
    *seq = r.seq;
    *progress = r.progress;
    *updated_at_ms = r.updated_at_ms;
    *age_ms = r.age_ms;
    *interval_ms = r.interval_ms;
    *progress_at_ms = r.progress_at_ms.unwrap_or(0);
    *progress_age_ms = r.progress_age_ms;
    *max_age_ms = r.max_age_ms;
    put_text(message, &r.message);
    put_text(detail, &r.detail);
}

/// Fills `out` as for a file that could not be judged (verdict `invalid`,
/// the reason in `detail`), so that a caller who ignores the return code
/// still sees "not alive".
fn fill_unjudged(out: *mut lifesign_report, why: &str) {
    let r = check::verdict(
        &check::Read::Invalid(why.to_string()),
        check::Facts {
            now_ms: 0,
            mono_ms: None,
            identity: lifesign::process::identity(),
        },
        &CheckOptions::default(),
        |_, _| lifesign::process::Liveness::Gone,
    );
    fill(out, &r);
}

/// The body of `lifesign_check` and `lifesign_check_stall` (one boundary,
/// not one inside the other).
///
/// # Safety
/// As `lifesign_check_stall`.
unsafe fn check_into(
    path: *const c_char,
    max_age_ms: u64,
    expected_pid: i64,
    stall_ms: u64,
    out: *mut lifesign_report,
) -> Result<i32, Error> {
    judged(out, |report| {
        // SAFETY: forwarded from the caller.
        let p = unsafe { c_path_arg(path) }?;
        let opts = check_options(max_age_ms, expected_pid, stall_ms)?;
        check::try_check_c_into(p, &opts, report)?;
        Ok(Ok(OK))
    })
}

/// Runs a check or a wait whose report goes to `out`: argument errors and
/// panics still leave a report (verdict `invalid`) that says why. `body`
/// writes the report into one that this thread keeps, so that a loop of
/// checks from C allocates nothing for its messages; `fill` copies it out.
fn judged(
    out: *mut lifesign_report,
    body: impl FnOnce(&mut Report) -> Result<Result<i32, Error>, Error>,
) -> Result<i32, Error> {
    thread_local! {
        static KEPT: RefCell<Report> = RefCell::new(Report::empty(Verdict::Invalid, String::new()));
    }
    // SAFETY: out is NULL or a caller's report, as the exports document.
    unsafe { report_len(out) }?;
    let mut body = Some(body);
    let mut run = |report: &mut Report| match catch_unwind(AssertUnwindSafe(|| {
        (body.take().expect("run once"))(report)
    })) {
        Ok(Ok(rc)) => {
            fill(out, report);
            rc
        }
        Ok(Err(e)) => {
            fill_unjudged(out, &e.message);
            Err(e)
        }
        Err(panic) => {
            fill_unjudged(out, "internal panic caught at the C boundary");
            std::panic::resume_unwind(panic)
        }
    };
    // A check from a callback inside a check, or from a thread's
    // destructors, judges into a report of its own.
    match KEPT.try_with(|kept| kept.try_borrow_mut().ok().map(|mut r| run(&mut r))) {
        Ok(Some(rc)) => rc,
        _ => run(&mut Report::empty(Verdict::Invalid, String::new())),
    }
}

struct UserData(*mut c_void);
// SAFETY: the C caller hands user_data to the library's threads knowingly;
// the contracts of lifesign_options and lifesign_set_log_handler say the
// callbacks run there.
unsafe impl Send for UserData {}
// SAFETY: as above; we only pass the pointer back.
unsafe impl Sync for UserData {}

/// The defaults of `lifesign_options_init`.
fn default_options() -> lifesign_options {
    lifesign_options {
        size: size_of::<lifesign_options>() as u32,
        interval_ms: 1000,
        mode: 0o644,
        flags: 0,
        stale_after_ms: 0,
        notify_fd: -1,
        reserved: 0,
        on_error: None,
        user_data: std::ptr::null_mut(),
    }
}

/// Reads the caller's options: the fields its `size` covers, the defaults
/// for any appended later.
///
/// # Safety
/// `opts` points to options whose first field is the caller's size, with
/// at least that many readable bytes.
unsafe fn read_options(opts: *const lifesign_options) -> Result<lifesign_options, Error> {
    // SAFETY: the caller promises options, whose first field is their size.
    unsafe { read_sized(opts, default_options()) }
}

fn options_from_c(o: &lifesign_options) -> Result<Options, Error> {
    let all = OptionFlag::all_bits();
    if o.flags & !all != 0 {
        return Err(invalid(format!(
            "unknown option flags {:#x}",
            o.flags & !all
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
    let flag = |f: OptionFlag| o.flags & f.code() != 0;
    let mut notify = NotifyConfig::default();
    notify.systemd = !flag(OptionFlag::NoSystemd);
    notify.s6 = !flag(OptionFlag::NoS6);
    notify.s6_fd = (o.notify_fd >= 0).then_some(o.notify_fd);
    notify.watchdog_trigger = flag(OptionFlag::WatchdogTrigger);
    notify.watchdog_on_progress = flag(OptionFlag::WatchdogOnProgress);
    notify.extend_timeout = None;
    let mut opts = Options::default()
        .interval(Duration::from_millis(o.interval_ms.into()))
        .mode(if o.mode == 0 { 0o644 } else { o.mode })
        .durable(flag(OptionFlag::Durable))
        .remove_on_stop(flag(OptionFlag::RemoveOnStop))
        .notify(notify)
        .log_errors(true)
        .lifetime_lock(!flag(OptionFlag::NoLock));
    opts.stale_after = (o.stale_after_ms > 0).then(|| Duration::from_millis(o.stale_after_ms));
    opts.message = None;
    opts.on_error = on_error;
    Ok(opts)
}

/// The defaults of `lifesign_facts_init`: nothing known, no options.
fn default_facts() -> lifesign_facts {
    lifesign_facts {
        size: size_of::<lifesign_facts>() as u32,
        lock: LockState::Unknown.code(),
        process: ProcessState::Unknown.code(),
        reserved: 0,
        now_ms: 0,
        mono_ms: 0,
        process_start: 0,
        pid_ns: 0,
        time_ns: 0,
        host: std::ptr::null(),
        boot_id: std::ptr::null(),
        max_age_ms: 0,
        expected_pid: 0,
        stall_ms: 0,
    }
}

/// Reads the caller's facts (the fields its `size` covers, the defaults for
/// any appended later) into an observation and check options.
///
/// # Safety
/// `facts` is NULL or points to facts whose first field is the caller's
/// size, with at least that many readable bytes, and whose strings are NULL
/// or NUL-terminated.
unsafe fn read_facts(facts: *const lifesign_facts) -> Result<(Observation, CheckOptions), Error> {
    if facts.is_null() {
        return Err(invalid("facts is NULL"));
    }
    // SAFETY: the caller promises facts, whose first field is their size.
    let f = unsafe { read_sized(facts, default_facts()) }?;
    if f.reserved != 0 {
        return Err(invalid("facts.reserved must be 0"));
    }
    let lock = LockState::from_code(f.lock)
        .ok_or_else(|| invalid(format!("facts.lock {} is not a LIFESIGN_LOCK_*", f.lock)))?;
    let process = ProcessState::from_code(f.process).ok_or_else(|| {
        invalid(format!(
            "facts.process {} is not a LIFESIGN_PROCESS_*",
            f.process
        ))
    })?;
    let known_text = |p: *const c_char, what: &str| -> Result<Option<String>, Error> {
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let s = unsafe { text(p, what) }?;
        Ok((!s.is_empty()).then(|| s.to_owned()))
    };
    let known = |v: u64| (v != 0).then_some(v);
    let seen = Observation {
        now_ms: f.now_ms,
        mono_ms: known(f.mono_ms),
        host: known_text(f.host, "facts.host")?,
        boot_id: known_text(f.boot_id, "facts.boot_id")?,
        pid_ns: known(f.pid_ns),
        time_ns: known(f.time_ns),
        lock,
        process,
        process_start: known(f.process_start),
    };
    Ok((
        seen,
        check_options(f.max_age_ms, f.expected_pid, f.stall_ms)?,
    ))
}

fn check_options(max_age_ms: u64, expected_pid: i64, stall_ms: u64) -> Result<CheckOptions, Error> {
    let expected_pid = match expected_pid {
        0 => None,
        p if (1..=i64::from(i32::MAX)).contains(&p) => Some(p as u32),
        p => return Err(invalid(format!("expected_pid {p} is out of range"))),
    };
    // The C ABI counts milliseconds (0: the file's own rule, no stall rule).
    Ok({
        let mut o = CheckOptions::default();
        o.max_age = Some(Duration::from_millis(max_age_ms));
        o.expected_pid = expected_pid;
        o.stall = Some(Duration::from_millis(stall_ms));
        o
    })
}

/// A NUL-terminated copy of one of the library's fixed names, made once.
fn static_name(name: Option<&str>) -> *const c_char {
    static NAMES: once_cell::sync::Lazy<Vec<CString>> = once_cell::sync::Lazy::new(|| {
        let mut v: Vec<String> = Verdict::ALL.iter().map(|v| v.as_str().into()).collect();
        v.extend(State::ALL.iter().map(|s| s.as_str().into()));
        v.extend(Shape::ALL.iter().map(|s| s.as_str().into()));
        v.extend(ErrorKind::ALL.iter().map(|e| e.c_name()));
        v.extend(LogLevel::ALL.iter().map(|l| l.as_str().into()));
        v.push("LIFESIGN_OK".into());
        v.into_iter().filter_map(|s| CString::new(s).ok()).collect()
    });
    let want = name.unwrap_or("unknown");
    NAMES
        .iter()
        .find(|c| c.to_bytes() == want.as_bytes())
        .map_or(c"unknown".as_ptr(), |c| c.as_ptr())
}

ffi_fn! {
/// Returns the library version, e.g. `"0.2.0"`.
///
/// The string is static: do not free it. Thread-safe.
fn lifesign_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Starts an emitter on `path` with the default options and `interval_ms`
/// (0 = 1000 ms; clamped to [10 ms, 1 h]).
///
/// Creates missing parent folders, removes temporaries of `path` left by
/// dead writers, writes the first heartbeat (state `starting`, seq 1) before
/// it returns, then refreshes the file from a background thread.
///
/// The lifetime lock file: the emitter holds a lock on
/// `.<name>.lifesign.lock` beside the heartbeat file (`.hb.json.lifesign.lock`
/// for `hb.json`) while it runs, so that a checker learns of its death at
/// once (docs/PROTOCOL.md section 10). The file stays after a stop (unless
/// the heartbeat is removed on stop) and is reused by the next emitter on
/// that path; it may be removed whenever no emitter runs on that path.
/// `LIFESIGN_OPT_NO_LOCK` makes none.
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
unsafe fn lifesign_start(
    path: *const c_char,
    interval_ms: u32,
    out: *mut *mut lifesign_emitter,
) -> i32 {
    let slot = out_handle(out)?;
    // SAFETY: forwarded from the caller.
    let path = unsafe { path_arg(path) }?;
    let e = Emitter::start(path, Duration::from_millis(interval_ms.into()))?;
    *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
    Ok(OK)
}

/// Fills `opts` with the defaults: its size, 1000 ms, mode 0644, no flags,
/// stale_after 3 x interval, s6 descriptor from the environment, no callback.
///
/// NULL-safe (does nothing). Thread-safe.
///
/// # Safety
/// `opts` is NULL or points to writable storage for a `lifesign_options`.
unsafe fn lifesign_options_init(opts: *mut lifesign_options) {
    // SAFETY: the caller promises writable storage or NULL.
    if let Some(o) = unsafe { opts.as_mut() } {
        *o = default_options();
    }
}

/// Starts an emitter with options (NULL `opts` = the defaults); otherwise
/// as `lifesign_start`.
///
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` also when `opts->size` is not
/// one that `lifesign_options` accepts (see there), a flag is unknown,
/// `reserved` is not 0, or the mode is world-writable or has a setuid,
/// setgid or sticky bit. `*out` is NULL on every error. Thread-safe.
///
/// # Safety
/// `path` as in `lifesign_start`; `opts` is NULL or points to an initialised
/// `lifesign_options`; `on_error` and `user_data` stay valid until
/// `lifesign_free` returns.
unsafe fn lifesign_start_with(
    path: *const c_char,
    opts: *const lifesign_options,
    out: *mut *mut lifesign_emitter,
) -> i32 {
    let slot = out_handle(out)?;
    // SAFETY: forwarded from the caller.
    let path = unsafe { path_arg(path) }?;
    let options = if opts.is_null() {
        Options::default()
    } else {
        // SAFETY: the caller promises an initialised struct.
        options_from_c(&unsafe { read_options(opts) }?)?
    };
    let e = Emitter::start_with(path, options)?;
    *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
    Ok(OK)
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
unsafe fn lifesign_start_from_env(out: *mut *mut lifesign_emitter) -> i32 {
    let slot = out_handle(out)?;
    if let Some(e) = Emitter::start_from_env()? {
        *slot = Box::into_raw(Box::new(lifesign_emitter { inner: e }));
    }
    Ok(OK)
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
unsafe fn lifesign_beat(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { emitter(e) }?.beat().map(ok)
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
unsafe fn lifesign_set_state(
    e: *mut lifesign_emitter,
    state: i32,
    message: *const c_char,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let em = unsafe { emitter(e) }?;
    let st = State::from_code(state).ok_or_else(|| invalid(format!("unknown state {state}")))?;
    // SAFETY: forwarded from the caller.
    let msg = unsafe { message_arg(message) }?;
    em.set_state(st, msg).map(ok)
}

/// Announces a reload: the state becomes `LIFESIGN_STATE_STARTING` (with
/// `message` as in `lifesign_set_state`), the heartbeat's `reloads` count
/// goes up by one, and under systemd `RELOADING=1` with `MONOTONIC_USEC`
/// is sent. Set `LIFESIGN_STATE_READY` when the reload is done: systemd
/// then gets `READY=1` again.
///
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e` or a non-UTF-8
/// message; otherwise as `lifesign_beat`. Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle; `message` is NULL or a NUL-terminated string.
unsafe fn lifesign_reload(e: *mut lifesign_emitter, message: *const c_char) -> i32 {
    // SAFETY: forwarded from the caller.
    let em = unsafe { emitter(e) }?;
    // SAFETY: forwarded from the caller.
    let msg = unsafe { message_arg(message) }?;
    em.reload(msg).map(ok)
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
unsafe fn lifesign_set_meta(
    e: *mut lifesign_emitter,
    key: *const c_char,
    value: *const c_char,
) -> i32 {
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
}

/// Records one unit of work progress: an atomic increment in memory, safe
/// in a hot loop. The next write records `progress` and `progress_at_ms`.
///
/// Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL;
/// `LIFESIGN_ERR_STATE` after stop or in a forked child. Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle.
unsafe fn lifesign_progress(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { emitter(e) }?.progress().map(ok)
}

/// Stores in `*out` how many heartbeat writes have failed since start.
///
/// Works after `lifesign_stop`. Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for
/// NULL `e` or `out`, `LIFESIGN_ERR_STATE` in a child after fork(). Thread-safe.
///
/// # Safety
/// `e` is NULL or a live handle; `out` is NULL or writable.
unsafe fn lifesign_write_failures(e: *const lifesign_emitter, out: *mut u64) -> i32 {
    // SAFETY: forwarded from the caller.
    let em = unsafe { emitter(e) }?;
    // SAFETY: the caller promises writable storage or NULL.
    let slot = unsafe { out.as_mut() }.ok_or_else(|| invalid("out is NULL"))?;
    em.ensure_owner()?;
    *slot = em.write_failures();
    Ok(OK)
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
unsafe fn lifesign_stop(e: *mut lifesign_emitter) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { emitter(e) }?.stop().map(ok)
}

/// Releases an emitter, stopping it first if it is running. NULL-safe.
///
/// In a child after fork() it only releases memory (no write, no join).
/// Freeing the same handle twice, or using it after, is undefined behaviour.
/// Not to be called while another thread uses the handle.
///
/// # Safety
/// `e` is NULL or a live handle that no other thread is using.
unsafe fn lifesign_free(e: *mut lifesign_emitter) {
    if !e.is_null() {
        // SAFETY: the caller gives up a handle from Box::into_raw.
        drop(unsafe { Box::from_raw(e) });
    }
}

/// Returns 1 when the heartbeat at `path` is `alive`, 0 when it is not, and
/// a negative `LIFESIGN_ERR_*` for a NULL or non-UTF-8 path
/// (`LIFESIGN_ERR_INVALID_ARGUMENT`) or when the checker could not read the
/// file for a reason of its own (`LIFESIGN_ERR_CANNOT_TELL`: out of
/// descriptors or memory, an I/O error, no permission; docs/PROTOCOL.md
/// 3.3). `max_age_ms` 0 uses the file's own rule. Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn lifesign_is_alive(path: *const c_char, max_age_ms: u64) -> i32 {
    // SAFETY: forwarded from the caller.
    let p = unsafe { path_arg(path) }?;
    let opts = {
        let mut o = CheckOptions::default();
        o.max_age = Some(Duration::from_millis(max_age_ms));
        o
    };
    Ok(i32::from(check::try_check(p, &opts)?.is_alive()))
}

/// Prepares a report for `lifesign_check*` and `lifesign_wait_ready*`:
/// zeroes it and sets `size` to this header's `sizeof(lifesign_report)`.
///
/// NULL-safe (does nothing). Thread-safe.
///
/// # Safety
/// `out` is NULL or points to writable storage for a `lifesign_report`.
unsafe fn lifesign_report_init(out: *mut lifesign_report) {
    if !out.is_null() {
        // SAFETY: the caller promises writable storage for a whole report.
        unsafe {
            std::ptr::write_bytes(out, 0, 1);
            (*out).size = size_of::<lifesign_report>() as u32;
        }
    }
}

/// Checks the heartbeat at `path` and fills `*out` whatever the verdict.
///
/// `out` must have been prepared with `lifesign_report_init` (its `size`
/// says how much the library may write). `max_age_ms` 0 uses the file's
/// rule (`stale_after_ms`, else 3 x `interval_ms`, else 30 s);
/// `expected_pid` 0 accepts any PID. The verdict rules are in
/// docs/PROTOCOL.md; `out->detail` says which applied.
///
/// Returns `LIFESIGN_OK` when a verdict was reached (read it in
/// `out->verdict`); `LIFESIGN_ERR_INVALID_ARGUMENT` for a NULL or non-UTF-8
/// path, a NULL `out`, an `out->size` that `lifesign_report` refuses (not
/// initialised with `lifesign_report_init`), or an `expected_pid` out of
/// range; `LIFESIGN_ERR_CANNOT_TELL` when the checker could not read the
/// file for a reason of its own (out of descriptors or memory, an I/O error,
/// no permission: no verdict; docs/PROTOCOL.md 3.3). On an error, `out`,
/// when usable, holds verdict `invalid` and the reason in `detail`.
/// Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or an
/// initialised report with at least `out->size` writable bytes.
unsafe fn lifesign_check(
    path: *const c_char,
    max_age_ms: u64,
    expected_pid: i64,
    out: *mut lifesign_report,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { check_into(path, max_age_ms, expected_pid, 0, out) }
}

/// As `lifesign_check`, and with `stall_ms` non-zero the verdict is
/// `stalled` when the file's `progress_at_ms` is older than `stall_ms`.
///
/// # Safety
/// As `lifesign_check`.
unsafe fn lifesign_check_stall(
    path: *const c_char,
    max_age_ms: u64,
    expected_pid: i64,
    stall_ms: u64,
    out: *mut lifesign_report,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { check_into(path, max_age_ms, expected_pid, stall_ms, out) }
}

/// Prepares facts for `lifesign_judge`: zeroes them (nothing known: the
/// clock at the epoch, lock and process `*_UNKNOWN`, no options) and sets
/// `size` to this header's `sizeof(lifesign_facts)`.
///
/// NULL-safe (does nothing). Thread-safe.
///
/// # Safety
/// `facts` is NULL or points to writable storage for a `lifesign_facts`.
unsafe fn lifesign_facts_init(facts: *mut lifesign_facts) {
    // SAFETY: the caller promises writable storage or NULL.
    if let Some(f) = unsafe { facts.as_mut() } {
        *f = default_facts();
    }
}

/// Judges a heartbeat record's bytes under the facts a reader observed, and
/// fills `*out` whatever the verdict: the report `lifesign_check_stall`
/// would give for a file holding these bytes, read by a checker that saw
/// what `facts` says. For a reader that got a record by another route (a
/// fleet value's `record`, a copy) and probed the world itself. Pure: it
/// opens no file, probes no process, reads no clock.
///
/// `record` and `len` are the record's bytes (not NUL-terminated; at most
/// 65,536 are valid, more are verdict `invalid`); `record` NULL (with `len`
/// 0) is no file: verdict `missing`. The bytes are decoded as a check
/// decodes a file (docs/PROTOCOL.md sections 1 and 8), and the rules of
/// section 3 applied in order, with `facts->lock` and `facts->process`
/// taking the place of the lifetime lock and the process probe (used only
/// where a check would use them). `out` must have been prepared with
/// `lifesign_report_init`.
///
/// Returns `LIFESIGN_OK` when a verdict was reached (read it in
/// `out->verdict`); `LIFESIGN_ERR_INVALID_ARGUMENT` for a NULL `record`
/// with a non-zero `len`, a NULL `facts` or `out`, a `facts->size` or
/// `out->size` the library refuses (not initialised with
/// `lifesign_facts_init` or `lifesign_report_init`), a `facts->lock` or
/// `facts->process` that is not one of its constants, a non-zero
/// `facts->reserved`, a non-UTF-8 `facts->host` or `facts->boot_id`, or an
/// `facts->expected_pid` out of range; on an error, `out`, when usable,
/// holds verdict `invalid` and the reason in `detail`. Thread-safe.
///
/// # Safety
/// `record` is NULL or valid for `len` readable bytes; `facts` is NULL or
/// initialised facts with at least `facts->size` readable bytes, whose
/// `host` and `boot_id` are NULL or NUL-terminated; `out` is NULL or an
/// initialised report with at least `out->size` writable bytes.
unsafe fn lifesign_judge(
    record: *const u8,
    len: usize,
    facts: *const lifesign_facts,
    out: *mut lifesign_report,
) -> i32 {
    judged(out, |report| {
        let bytes = match (record.is_null(), len) {
            (true, 0) => None,
            (true, _) => return Err(invalid(format!("record is NULL but len is {len}"))),
            // SAFETY: the caller promises `len` readable bytes at `record`.
            (false, _) => Some(unsafe { std::slice::from_raw_parts(record, len) }),
        };
        // SAFETY: forwarded from the caller.
        let (seen, opts) = unsafe { read_facts(facts) }?;
        *report = judge(bytes, &seen, &opts);
        Ok(Ok(OK))
    })
}

/// Waits until the emitter at `path` is ready or never will be; see
/// `lifesign_wait_ready_cancel` (this is that with no cancel token).
///
/// # Safety
/// As `lifesign_wait_ready_cancel`.
unsafe fn lifesign_wait_ready(
    path: *const c_char,
    expected_pid: i64,
    idle_timeout_ms: u64,
    timeout_ms: u64,
    out: *mut lifesign_report,
) -> i32 {
    // SAFETY: forwarded from the caller.
    Ok(unsafe {
        lifesign_wait_ready_cancel(
            path,
            expected_pid,
            idle_timeout_ms,
            timeout_ms,
            std::ptr::null(),
            out,
        )
    })
}

/// Creates a cancel token for `lifesign_wait_ready_cancel`.
///
/// `*out` owns the token (release with `lifesign_cancel_free`); NULL on error.
/// Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `out`, `LIFESIGN_ERR_IO`
/// when no eventfd could be made. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn lifesign_cancel_new(out: *mut *mut lifesign_cancel) -> i32 {
    let slot = out_handle(out)?;
    let c = Cancel::new().map_err(|e| Error::io("cannot create a cancel token", &e))?;
    *slot = Box::into_raw(Box::new(lifesign_cancel { inner: c }));
    Ok(OK)
}

/// Triggers a cancel token: every wait using it returns
/// `LIFESIGN_ERR_CANCELLED` promptly, and later waits at once. It stays
/// triggered. Thread-safe; async-signal-safe apart from argument errors.
///
/// # Safety
/// `c` is NULL or a live token.
unsafe fn lifesign_cancel_trigger(c: *mut lifesign_cancel) -> i32 {
    // SAFETY: the caller promises a live token or NULL.
    let c = unsafe { c.as_ref() }.ok_or_else(|| invalid("cancel token is NULL"))?;
    c.inner.trigger();
    Ok(OK)
}

/// Releases a cancel token. NULL-safe. Not while a wait still uses it.
///
/// # Safety
/// `c` is NULL or a live token that no wait is using.
unsafe fn lifesign_cancel_free(c: *mut lifesign_cancel) {
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
/// triggered; `LIFESIGN_ERR_INVALID_ARGUMENT` for bad arguments (as in
/// `lifesign_check`). `*out` holds what was last seen in every case, its
/// `detail` the reason. Blocks the calling thread only; thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `cancel` is NULL or a live
/// token; `out` is NULL or an initialised report with at least `out->size`
/// writable bytes.
unsafe fn lifesign_wait_ready_cancel(
    path: *const c_char,
    expected_pid: i64,
    idle_timeout_ms: u64,
    timeout_ms: u64,
    cancel: *const lifesign_cancel,
    out: *mut lifesign_report,
) -> i32 {
    judged(out, |report| {
        // SAFETY: forwarded from the caller.
        let p = unsafe { path_arg(path) }?;
        let pid = check_options(0, expected_pid, 0)?.expected_pid;
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        let mut opts = WaitOptions::default();
        opts.expected_pid = pid;
        opts.idle_timeout = ms(idle_timeout_ms);
        opts.timeout = ms(timeout_ms);
        // SAFETY: the caller promises a live token or NULL.
        opts.cancel = unsafe { cancel.as_ref() }.map(|c| &c.inner);
        opts.force_polling = false;
        // A decision other than ready is a success in C (the report tells);
        // a timeout or a cancellation is its error code.
        let (judged, result) = match wait::wait_ready(p, &opts) {
            Ok(report) => (report, Ok(())),
            Err(e) => {
                let kind = match e.kind() {
                    WaitErrorKind::Timeout => Some(ErrorKind::Timeout),
                    WaitErrorKind::Cancelled => Some(ErrorKind::Cancelled),
                    _ => None,
                };
                let err = kind.map(|k| Error::new(k, e.to_string()));
                (e.into_report(), err.map_or(Ok(()), Err))
            }
        };
        *report = judged;
        Ok(result.map(ok))
    })
}

/// The name of a verdict (`"alive"`, `"missing"`, ...), `"unknown"` for
/// any other value. Static string; thread-safe.
fn lifesign_verdict_name(verdict: i32) -> *const c_char {
    static_name(Verdict::from_code(verdict).map(Verdict::as_str))
}

/// The name of a state (`"starting"`, `"ready"`, ...), `"unknown"` for any
/// other value. Static string; thread-safe.
fn lifesign_state_name(state: i32) -> *const c_char {
    static_name(State::from_code(state).map(State::as_str))
}

/// The name of a shape (`"none"`, `"v1"`, `"plain"`, `"timestamp"`,
/// `"camel"`), `"unknown"` for any other value. Static string; thread-safe.
fn lifesign_shape_name(shape: i32) -> *const c_char {
    static_name(Shape::from_code(shape).map(Shape::as_str))
}

/// The name of a return code (`"LIFESIGN_OK"`, `"LIFESIGN_ERR_IO"`, ...),
/// `"unknown"` for any other value. Static string; thread-safe.
fn lifesign_error_name(code: i32) -> *const c_char {
    if code == OK {
        return static_name(Some("LIFESIGN_OK"));
    }
    static_name(ErrorKind::from_code(code).map(ErrorKind::c_name).as_deref())
}

/// This thread's most recent error message, `""` when there was none.
///
/// Meaningful only right after a call failed. The string belongs to the
/// library and stays valid until the next failing call on this thread.
fn lifesign_last_error() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

/// Routes the library's log messages, process-wide: to `handler` (NULL:
/// back to the default, stderr as `lifesign: <message>`), up to
/// `max_level` (`LIFESIGN_LOG_OFF` silences the library; the default is
/// `LIFESIGN_LOG_WARN`: failed heartbeat writes and shortened intervals).
///
/// `handler` is called on the thread that logs, often an emitter's own
/// background thread, and may be called on several threads at once; it
/// must not call lifesign functions. When this function returns, no call
/// of the previous handler is still running, so its `user_data` may be
/// released. Returns `LIFESIGN_OK`, or `LIFESIGN_ERR_INVALID_ARGUMENT` for
/// an unknown level (then nothing changes). Thread-safe.
///
/// # Safety
/// `handler` and `user_data` stay valid until they are replaced by another
/// call of this function.
unsafe fn lifesign_set_log_handler(
    handler: lifesign_log_fn,
    user_data: *mut c_void,
    max_level: i32,
) -> i32 {
    let level = LogLevel::from_code(max_level)
        .ok_or_else(|| invalid(format!("unknown log level {max_level}")))?;
    let ud = UserData(user_data);
    lifesign::log::set_log_handler(handler.map(|f| {
        Arc::new(move |level: LogLevel, message: &str| {
            let ud = &ud;
            let msg = CString::new(message.replace('\0', " ")).unwrap_or_default();
            // SAFETY: the caller promises the function and user_data stay
            // valid until replaced.
            unsafe { f(ud.0, level.code(), msg.as_ptr()) };
        }) as lifesign::log::LogHandler
    }));
    lifesign::log::set_log_level(level);
    Ok(OK)
}

/// The name of a log level (`"off"`, `"warn"`, `"info"`, `"debug"`),
/// `"unknown"` for any other value. Static string; thread-safe.
fn lifesign_log_level_name(level: i32) -> *const c_char {
    static_name(LogLevel::from_code(level).map(LogLevel::as_str))
}
} // ffi_fn!

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_published_sizes_are_this_headers() {
        assert_eq!(
            REPORT_SIZES[REPORT_SIZES.len() - 1],
            size_of::<lifesign_report>()
        );
        assert_eq!(
            OPTIONS_SIZES[OPTIONS_SIZES.len() - 1],
            size_of::<lifesign_options>()
        );
        assert_eq!(
            FACTS_SIZES[FACTS_SIZES.len() - 1],
            size_of::<lifesign_facts>()
        );
        // The 0.2.1 layout, as released: this number never changes.
        assert_eq!(FACTS_SIZES[0], 96);
        // The 0.2.0 layouts, as released: these numbers never change.
        assert_eq!((REPORT_SIZES[0], OPTIONS_SIZES[0]), (600, 48));
    }

    #[test]
    fn a_size_is_a_published_layout_or_a_larger_newer_one() {
        let len = |size| struct_len(size, &[24, 40], 8, "report", "lifesign_report_init");
        assert_eq!(len(24).unwrap(), 24);
        assert_eq!(len(40).unwrap(), 40);
        assert_eq!(len(48).unwrap(), 40);
        for refused in [0, 4, 16, 32, 44, 0x4141_4141] {
            let e = len(refused).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.contains("lifesign_report_init"), "{}", e.message);
        }
    }

    #[test]
    fn a_panic_in_an_export_body_becomes_its_types_default() {
        assert_eq!(boundary::<i32>(|| panic!("boom")), ErrorKind::Panic.code());
        let s = boundary::<*const c_char>(|| panic!("boom"));
        // SAFETY: on_panic gives a static NUL-terminated string.
        assert_eq!(unsafe { CStr::from_ptr(s) }.to_bytes(), b"");
        boundary::<()>(|| panic!("boom"));
        // SAFETY: the last error is a NUL-terminated string of this thread.
        let last = unsafe { CStr::from_ptr(lifesign_last_error()) };
        assert!(last.to_str().unwrap().contains("panic"));
    }
}

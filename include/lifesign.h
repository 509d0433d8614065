/*
 * lifesign: one process-heartbeat protocol, one implementation.
 * The C ABI of liblifesign (shared: liblifesign.so, SONAME
 * liblifesign.so.0.MINOR while the version is 0.x, liblifesign.so.MAJOR from
 * 1.0; static: liblifesign.a). Protocol: docs/PROTOCOL.md.
 * C89-style comments only; compiles warning-free as C99 and C++11 and later.
 *
 * Generated from src/codes.rs and capi/src/lib.rs (make header); do not edit
 * by hand.
 */

#ifndef LIFESIGN_H
#define LIFESIGN_H

#include <stdint.h>
#include <stddef.h>

/*
 The version of this header; lifesign_version() gives the library's.
 */
#define LIFESIGN_VERSION_STRING "0.2.0"

/*
 Major version of this header; equals the library's (see `lifesign_version`).
 */
#define LIFESIGN_VERSION_MAJOR 0

/*
 Minor version of this header.
 */
#define LIFESIGN_VERSION_MINOR 2

/*
 Patch version of this header.
 */
#define LIFESIGN_VERSION_PATCH 0

/*
 Success.
 */
#define LIFESIGN_OK 0

/*
 A NULL, non-UTF-8 or out-of-range argument, or a malformed environment variable.
 */
#define LIFESIGN_ERR_INVALID_ARGUMENT -1

/*
 A filesystem or socket operation failed.
 */
#define LIFESIGN_ERR_IO -2

/*
 Not allowed now: the emitter is stopped, or this is a child after fork().
 */
#define LIFESIGN_ERR_STATE -3

/*
 An internal panic was caught; the library is still usable.
 */
#define LIFESIGN_ERR_PANIC -4

/*
 A wait reached its hard timeout.
 */
#define LIFESIGN_ERR_TIMEOUT -5

/*
 A wait was cancelled through its cancel token.
 */
#define LIFESIGN_ERR_CANCELLED -6

/*
 No verdict: the checker could not read the heartbeat for a reason of its own (descriptors or memory exhausted, an I/O error, no permission; docs/PROTOCOL.md 3.3); the report's `detail` says why.
 */
#define LIFESIGN_ERR_CANNOT_TELL -7

/*
 State: started, not yet ready.
 */
#define LIFESIGN_STATE_STARTING 0

/*
 State: ready.
 */
#define LIFESIGN_STATE_READY 1

/*
 State: shutting down.
 */
#define LIFESIGN_STATE_STOPPING 2

/*
 State: stopped cleanly (the final write of an emitter).
 */
#define LIFESIGN_STATE_STOPPED 3

/*
 State: failed; the process may still be alive to report why.
 */
#define LIFESIGN_STATE_FAILED 4

/*
 Verdict: fresh, and written by a live process.
 */
#define LIFESIGN_VERDICT_ALIVE 0

/*
 Verdict: no file.
 */
#define LIFESIGN_VERDICT_MISSING 1

/*
 Verdict: not a valid heartbeat file.
 */
#define LIFESIGN_VERDICT_INVALID 2

/*
 Verdict: written by another PID than the expected one.
 */
#define LIFESIGN_VERDICT_PID_MISMATCH 3

/*
 Verdict: the emitter stopped.
 */
#define LIFESIGN_VERDICT_STOPPED 4

/*
 Verdict: the emitter failed.
 */
#define LIFESIGN_VERDICT_FAILED 5

/*
 Verdict: the writer's process is gone (exited, zombie, reused PID, earlier boot).
 */
#define LIFESIGN_VERDICT_PROCESS_GONE 6

/*
 Verdict: dated ahead of the checker's clock.
 */
#define LIFESIGN_VERDICT_FUTURE 7

/*
 Verdict: older than the max age (or, from a wait, the idle timeout passed).
 */
#define LIFESIGN_VERDICT_STALE 8

/*
 Verdict: fresh, but work progress has not moved for the stall limit.
 */
#define LIFESIGN_VERDICT_STALLED 9

/*
 Shape: nothing was parsed.
 */
#define LIFESIGN_SHAPE_NONE 0

/*
 Shape: lifesign protocol v1 (or a later version).
 */
#define LIFESIGN_SHAPE_V1 1

/*
 Shape: `{pid, state, updated_at_ms}` without `v` (desktop launchers).
 */
#define LIFESIGN_SHAPE_PLAIN 2

/*
 Shape: `{timestamp (ISO 8601 with offset), pid, hostname, metadata}`.
 */
#define LIFESIGN_SHAPE_TIMESTAMP 3

/*
 Shape: `{pid, status, updatedAtMs}` (Node daemons).
 */
#define LIFESIGN_SHAPE_CAMEL 4

/*
 Option flag: fsync the temporary and the folder on every write.
 */
#define LIFESIGN_OPT_DURABLE 1

/*
 Option flag: remove the heartbeat file after the final `stopped` write.
 */
#define LIFESIGN_OPT_REMOVE_ON_STOP 2

/*
 Option flag: ignore `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
 */
#define LIFESIGN_OPT_NO_SYSTEMD 4

/*
 Option flag: ignore the s6 notification descriptor.
 */
#define LIFESIGN_OPT_NO_S6 8

/*
 Option flag: send `WATCHDOG=trigger` when the state becomes failed.
 */
#define LIFESIGN_OPT_WATCHDOG_TRIGGER 16

/*
 Option flag: send `WATCHDOG=1` only when `lifesign_progress` was called since the last ping.
 */
#define LIFESIGN_OPT_WATCHDOG_ON_PROGRESS 32

/*
 Option flag: hold no lifetime lock: one descriptor fewer; checkers rely on `/proc` alone.
 */
#define LIFESIGN_OPT_NO_LOCK 64

/*
 Log level: nothing.
 */
#define LIFESIGN_LOG_OFF 0

/*
 Log level: something failed that the library works around (a failed heartbeat write).
 */
#define LIFESIGN_LOG_WARN 1

/*
 Log level: what the library does (starts, stops); also everything at warn.
 */
#define LIFESIGN_LOG_INFO 2

/*
 Log level: details for debugging; also everything at info.
 */
#define LIFESIGN_LOG_DEBUG 3

/*
 A cancel token for `lifesign_wait_ready_cancel`. Opaque.
 */
typedef struct lifesign_cancel lifesign_cancel;

/*
 A running emitter. Opaque; create with `lifesign_start*`, release with `lifesign_free`.
 */
typedef struct lifesign_emitter lifesign_emitter;

/*
 Called for every failed heartbeat write, on the thread that wrote (a
 library writer thread for periodic beats, the caller's for
 `lifesign_beat`, `lifesign_set_state` and `lifesign_stop`): `code` is a
 `LIFESIGN_ERR_*`, `message` is valid only during the call.

 Re-entry is safe: the callback may call any function on the same
 emitter, `lifesign_stop` included, but not `lifesign_free`. A write it
 makes on that emitter (for example `lifesign_set_state(e, FAILED, ...)`)
 is done, counted and returned as usual, but its failure does not call
 the callback again, so the callback never recurses. A callback that
 blocks holds one writer thread; the library starts a spare one for the
 other emitters.
 */
typedef void (*lifesign_error_fn)(void *user_data, int32_t code, const char *message);

/*
 Emitter options. Initialise with `lifesign_options_init`, then change
 what you need: the struct starts with its own size so that it can grow.

 The library accepts the `size` of every published layout (0.2: 48
 bytes): fields appended later take their defaults for a caller whose
 `size` does not cover them. A larger `size` (a program built against a
 newer header, run on this library) is accepted too: the library reads
 the fields it knows and ignores the rest, so options that only the
 newer header has are not applied. Any other `size` (smaller than the
 first published layout, between two layouts, or not a multiple of 8) is
 `LIFESIGN_ERR_INVALID_ARGUMENT` with a message naming
 `lifesign_options_init`.
 */
typedef struct lifesign_options {
  /*
   `sizeof(lifesign_options)`, set by `lifesign_options_init`.
   */
  uint32_t size;
  /*
   Refresh interval in ms; 0 = 1000; clamped to [10 ms, 1 h].
   */
  uint32_t interval_ms;
  /*
   Permission bits of the heartbeat file, applied exactly; 0 = 0644.
   Never world-writable, no setuid, setgid or sticky bit.
   */
  uint32_t mode;
  /*
   `LIFESIGN_OPT_*` flags.
   */
  uint32_t flags;
  /*
   The staleness promise written to the file; 0 = 3 x interval.
   */
  uint64_t stale_after_ms;
  /*
   The s6 readiness descriptor; -1 = take `LIFESIGN_NOTIFY_FD` from the environment.
   */
  int32_t notify_fd;
  /*
   Must be 0.
   */
  uint32_t reserved;
  /*
   Told about failed writes; may be NULL.
   */
  lifesign_error_fn on_error;
  /*
   Passed to `on_error` as is.
   */
  void *user_data;
} lifesign_options;

/*
 The result of a check or a wait, filled whatever the verdict.

 Initialise it with `lifesign_report_init`: the library reads `size` and
 writes no byte past it, so a program compiled against an older header (a
 smaller struct) keeps working when fields are appended. New fields are
 only ever appended.

 The library accepts the `size` of every published layout (0.2: 600
 bytes) and writes that layout. A larger `size` (a program built against
 a newer header, run on this library) is accepted too: the library writes
 the fields it knows and leaves the rest as the caller set them (zero
 after `lifesign_report_init`). Any other `size` (smaller than the first
 published layout, between two layouts, or not a multiple of 8: a report
 nobody initialised) is `LIFESIGN_ERR_INVALID_ARGUMENT` with a message
 naming `lifesign_report_init`, and the report is not written.
 */
typedef struct lifesign_report {
  /*
   `sizeof(lifesign_report)` as the caller compiled it, set by
   `lifesign_report_init`; never written by the library.
   */
  uint32_t size;
  /*
   A `LIFESIGN_VERDICT_*`.
   */
  int32_t verdict;
  /*
   A `LIFESIGN_STATE_*`, or -1 when the file did not parse.
   */
  int32_t state;
  /*
   A `LIFESIGN_SHAPE_*`: which file layout was read.
   */
  int32_t shape;
  /*
   The PID in the file (0 when it did not parse).
   */
  int64_t pid;
  /*
   The write counter.
   */
  uint64_t seq;
  /*
   The work-progress counter (0 when the file has none).
   */
  uint64_t progress;
  /*
   When the file was written, Unix ms.
   */
  uint64_t updated_at_ms;
  /*
   How old the file is; 0 when the timestamp is in the future.
   */
  uint64_t age_ms;
  /*
   The emitter's interval; 0 when the file has none.
   */
  uint64_t interval_ms;
  /*
   When progress last changed, Unix ms; 0 when the file has none.
   */
  uint64_t progress_at_ms;
  /*
   How long ago progress last changed; 0 when unknown or in the future.
   */
  uint64_t progress_age_ms;
  /*
   The max age the verdict applied.
   */
  uint64_t max_age_ms;
  /*
   The emitter's message, NUL-terminated, cut at a UTF-8 boundary.
   */
  char message[256];
  /*
   Why the verdict is what it is ("not JSON: ...", "pid 12 exited"),
   NUL-terminated, cut at a UTF-8 boundary; for logs, not for parsing.
   */
  char detail[256];
} lifesign_report;

/*
 Receives the library's log messages (see `lifesign_set_log_handler`):
 `level` is a `LIFESIGN_LOG_*`, `message` one line without prefix, valid
 only during the call.
 */
typedef void (*lifesign_log_fn)(void *user_data, int32_t level, const char *message);

#ifdef __cplusplus
extern "C" {
#endif /* __cplusplus */

/*
 Returns the library version, e.g. `"0.2.0"`.

 The string is static: do not free it. Thread-safe.
 */
const char *lifesign_version(void);

/*
 Starts an emitter on `path` with the default options and `interval_ms`
 (0 = 1000 ms; clamped to [10 ms, 1 h]).

 Creates missing parent folders, removes temporaries of `path` left by
 dead writers, writes the first heartbeat (state `starting`, seq 1) before
 it returns, then refreshes the file from a background thread.

 The lifetime lock file: the emitter holds a lock on
 `.<name>.lifesign.lock` beside the heartbeat file (`.hb.json.lifesign.lock`
 for `hb.json`) while it runs, so that a checker learns of its death at
 once (docs/PROTOCOL.md section 10). The file stays after a stop (unless
 the heartbeat is removed on stop) and is reused by the next emitter on
 that path; it may be removed whenever no emitter runs on that path.
 `LIFESIGN_OPT_NO_LOCK` makes none.

 On success `*out` owns a handle to release with `lifesign_free`. On every
 error `*out` is NULL (when `out` is not NULL).

 Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` when `path` or
 `out` is NULL or `path` is not UTF-8; `LIFESIGN_ERR_IO` when the first
 write fails. Thread-safe.

 # Safety
 `path` is NULL or a NUL-terminated string; `out` is NULL or writable.
 */
int32_t lifesign_start(const char *path, uint32_t interval_ms, struct lifesign_emitter **out);

/*
 Fills `opts` with the defaults: its size, 1000 ms, mode 0644, no flags,
 stale_after 3 x interval, s6 descriptor from the environment, no callback.

 NULL-safe (does nothing). Thread-safe.

 # Safety
 `opts` is NULL or points to writable storage for a `lifesign_options`.
 */
void lifesign_options_init(struct lifesign_options *opts);

/*
 Starts an emitter with options (NULL `opts` = the defaults); otherwise
 as `lifesign_start`.

 Returns `LIFESIGN_ERR_INVALID_ARGUMENT` also when `opts->size` is not
 one that `lifesign_options` accepts (see there), a flag is unknown,
 `reserved` is not 0, or the mode is world-writable or has a setuid,
 setgid or sticky bit. `*out` is NULL on every error. Thread-safe.

 # Safety
 `path` as in `lifesign_start`; `opts` is NULL or points to an initialised
 `lifesign_options`; `on_error` and `user_data` stay valid until
 `lifesign_free` returns.
 */
int32_t lifesign_start_with(const char *path,
                            const struct lifesign_options *opts,
                            struct lifesign_emitter **out);

/*
 Starts an emitter from the launcher's environment: `LIFESIGN_FILE` (the
 path) and `LIFESIGN_INTERVAL_MS` (optional).

 When `LIFESIGN_FILE` is unset or empty, does nothing: `*out` is NULL and
 the result is `LIFESIGN_OK`. A malformed `LIFESIGN_INTERVAL_MS` gives
 `LIFESIGN_ERR_INVALID_ARGUMENT` with a message naming it. Never modifies
 the environment. Thread-safe (reads the environment).

 # Safety
 `out` is NULL or writable.
 */
int32_t lifesign_start_from_env(struct lifesign_emitter **out);

/*
 Writes a heartbeat now.

 Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL;
 `LIFESIGN_ERR_STATE` after `lifesign_stop` or in a child after fork();
 `LIFESIGN_ERR_IO` when the write failed (the emitter keeps running and
 retries on its next beat). Thread-safe.

 # Safety
 `e` is NULL or a live handle.
 */
int32_t lifesign_beat(struct lifesign_emitter *e);

/*
 Changes the state (`LIFESIGN_STATE_STARTING`, `_READY`, `_STOPPING`,
 `_FAILED`) and writes at once. `message` NULL keeps the current message,
 `""` clears it; longer than 4 KiB it is cut at a UTF-8 boundary.

 Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e`, an unknown state,
 `LIFESIGN_STATE_STOPPED` (use `lifesign_stop`) or a non-UTF-8 message;
 otherwise as `lifesign_beat`. Thread-safe.

 # Safety
 `e` is NULL or a live handle; `message` is NULL or a NUL-terminated string.
 */
int32_t lifesign_set_state(struct lifesign_emitter *e, int32_t state, const char *message);

/*
 Announces a reload: the state becomes `LIFESIGN_STATE_STARTING` (with
 `message` as in `lifesign_set_state`), the heartbeat's `reloads` count
 goes up by one, and under systemd `RELOADING=1` with `MONOTONIC_USEC`
 is sent. Set `LIFESIGN_STATE_READY` when the reload is done: systemd
 then gets `READY=1` again.

 Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e` or a non-UTF-8
 message; otherwise as `lifesign_beat`. Thread-safe.

 # Safety
 `e` is NULL or a live handle; `message` is NULL or a NUL-terminated string.
 */
int32_t lifesign_reload(struct lifesign_emitter *e, const char *message);

/*
 Sets `meta[key] = value` (NULL `value` removes the key); written with the
 next beat.

 Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `e` or `key`, non-UTF-8
 text, or an entry that would make the file larger than 64 KiB allows
 (then nothing changes); `LIFESIGN_ERR_STATE` after stop or in a forked child. Thread-safe.

 # Safety
 `e` is NULL or a live handle; `key` and `value` are NULL or NUL-terminated.
 */
int32_t lifesign_set_meta(struct lifesign_emitter *e, const char *key, const char *value);

/*
 Records one unit of work progress: an atomic increment in memory, safe
 in a hot loop. The next write records `progress` and `progress_at_ms`.

 Returns `LIFESIGN_OK`; `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL;
 `LIFESIGN_ERR_STATE` after stop or in a forked child. Thread-safe.

 # Safety
 `e` is NULL or a live handle.
 */
int32_t lifesign_progress(struct lifesign_emitter *e);

/*
 Stores in `*out` how many heartbeat writes have failed since start.

 Works after `lifesign_stop`. Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for
 NULL `e` or `out`, `LIFESIGN_ERR_STATE` in a child after fork(). Thread-safe.

 # Safety
 `e` is NULL or a live handle; `out` is NULL or writable.
 */
int32_t lifesign_write_failures(const struct lifesign_emitter *e, uint64_t *out);

/*
 Stops the emitter: wakes its thread at once, joins it, writes the state
 `stopped` (and removes the file with `LIFESIGN_OPT_REMOVE_ON_STOP`).
 Idempotent: a second stop returns `LIFESIGN_OK` and writes nothing.

 In a child after fork() it neither writes nor joins and returns
 `LIFESIGN_ERR_STATE`. `LIFESIGN_ERR_IO` when the final write failed (the
 emitter is stopped all the same). Thread-safe.

 # Safety
 `e` is NULL or a live handle.
 */
int32_t lifesign_stop(struct lifesign_emitter *e);

/*
 Releases an emitter, stopping it first if it is running. NULL-safe.

 In a child after fork() it only releases memory (no write, no join).
 Freeing the same handle twice, or using it after, is undefined behaviour.
 Not to be called while another thread uses the handle.

 # Safety
 `e` is NULL or a live handle that no other thread is using.
 */
void lifesign_free(struct lifesign_emitter *e);

/*
 Returns 1 when the heartbeat at `path` is `alive`, 0 when it is not, and
 a negative `LIFESIGN_ERR_*` for a NULL or non-UTF-8 path
 (`LIFESIGN_ERR_INVALID_ARGUMENT`) or when the checker could not read the
 file for a reason of its own (`LIFESIGN_ERR_CANNOT_TELL`: out of
 descriptors or memory, an I/O error, no permission; docs/PROTOCOL.md
 3.3). `max_age_ms` 0 uses the file's own rule. Thread-safe.

 # Safety
 `path` is NULL or a NUL-terminated string.
 */
int32_t lifesign_is_alive(const char *path, uint64_t max_age_ms);

/*
 Prepares a report for `lifesign_check*` and `lifesign_wait_ready*`:
 zeroes it and sets `size` to this header's `sizeof(lifesign_report)`.

 NULL-safe (does nothing). Thread-safe.

 # Safety
 `out` is NULL or points to writable storage for a `lifesign_report`.
 */
void lifesign_report_init(struct lifesign_report *out);

/*
 Checks the heartbeat at `path` and fills `*out` whatever the verdict.

 `out` must have been prepared with `lifesign_report_init` (its `size`
 says how much the library may write). `max_age_ms` 0 uses the file's
 rule (`stale_after_ms`, else 3 x `interval_ms`, else 30 s);
 `expected_pid` 0 accepts any PID. The verdict rules are in
 docs/PROTOCOL.md; `out->detail` says which applied.

 Returns `LIFESIGN_OK` when a verdict was reached (read it in
 `out->verdict`); `LIFESIGN_ERR_INVALID_ARGUMENT` for a NULL or non-UTF-8
 path, a NULL `out`, an `out->size` that `lifesign_report` refuses (not
 initialised with `lifesign_report_init`), or an `expected_pid` out of
 range; `LIFESIGN_ERR_CANNOT_TELL` when the checker could not read the
 file for a reason of its own (out of descriptors or memory, an I/O error,
 no permission: no verdict; docs/PROTOCOL.md 3.3). On an error, `out`,
 when usable, holds verdict `invalid` and the reason in `detail`.
 Thread-safe.

 # Safety
 `path` is NULL or a NUL-terminated string; `out` is NULL or an
 initialised report with at least `out->size` writable bytes.
 */
int32_t lifesign_check(const char *path,
                       uint64_t max_age_ms,
                       int64_t expected_pid,
                       struct lifesign_report *out);

/*
 As `lifesign_check`, and with `stall_ms` non-zero the verdict is
 `stalled` when the file's `progress_at_ms` is older than `stall_ms`.

 # Safety
 As `lifesign_check`.
 */
int32_t lifesign_check_stall(const char *path,
                             uint64_t max_age_ms,
                             int64_t expected_pid,
                             uint64_t stall_ms,
                             struct lifesign_report *out);

/*
 Waits until the emitter at `path` is ready or never will be; see
 `lifesign_wait_ready_cancel` (this is that with no cancel token).

 # Safety
 As `lifesign_wait_ready_cancel`.
 */
int32_t lifesign_wait_ready(const char *path,
                            int64_t expected_pid,
                            uint64_t idle_timeout_ms,
                            uint64_t timeout_ms,
                            struct lifesign_report *out);

/*
 Creates a cancel token for `lifesign_wait_ready_cancel`.

 `*out` owns the token (release with `lifesign_cancel_free`); NULL on error.
 Returns `LIFESIGN_ERR_INVALID_ARGUMENT` for NULL `out`, `LIFESIGN_ERR_IO`
 when no eventfd could be made. Thread-safe.

 # Safety
 `out` is NULL or writable.
 */
int32_t lifesign_cancel_new(struct lifesign_cancel **out);

/*
 Triggers a cancel token: every wait using it returns
 `LIFESIGN_ERR_CANCELLED` promptly, and later waits at once. It stays
 triggered. Thread-safe; async-signal-safe apart from argument errors.

 # Safety
 `c` is NULL or a live token.
 */
int32_t lifesign_cancel_trigger(struct lifesign_cancel *c);

/*
 Releases a cancel token. NULL-safe. Not while a wait still uses it.

 # Safety
 `c` is NULL or a live token that no wait is using.
 */
void lifesign_cancel_free(struct lifesign_cancel *c);

/*
 Waits until the emitter at `path` reports `ready`, or a decision that it
 never will, event-driven (inotify; polling where it is unavailable).

 - `expected_pid` (0 = any; a process in the caller's PID namespace):
   before the emitter's first good read, a file of another PID, or of that
   PID but another process (boot, PID namespace or start time), is ignored
   (an earlier run); after it, another PID ends the wait with
   `pid_mismatch`. The process is watched from the start: its exit ends the
   wait with `process_gone`, also before its first write.
 - `ready` counts when fresh by the checker's rules, or newer than the
   first read (a frozen emitter's old `ready` does not end the wait).
 - `idle_timeout_ms` (0 = none): ends the wait with verdict `stale` when no
   new heartbeat arrives for that long, on the monotonic clock.
 - `timeout_ms` (0 = none): the hard timeout.
 - One missing or invalid read after a good one is tolerated, not two.
 - `failed`, `stopped`, `process_gone` and `pid_mismatch` end it at once.

 Returns `LIFESIGN_OK` when a decision was reached (alive + ready is
 success: read `out->verdict` and `out->state`); `LIFESIGN_ERR_TIMEOUT`
 at the hard timeout; `LIFESIGN_ERR_CANCELLED` when `cancel` was
 triggered; `LIFESIGN_ERR_INVALID_ARGUMENT` for bad arguments (as in
 `lifesign_check`). `*out` holds what was last seen in every case, its
 `detail` the reason. Blocks the calling thread only; thread-safe.

 # Safety
 `path` is NULL or a NUL-terminated string; `cancel` is NULL or a live
 token; `out` is NULL or an initialised report with at least `out->size`
 writable bytes.
 */
int32_t lifesign_wait_ready_cancel(const char *path,
                                   int64_t expected_pid,
                                   uint64_t idle_timeout_ms,
                                   uint64_t timeout_ms,
                                   const struct lifesign_cancel *cancel,
                                   struct lifesign_report *out);

/*
 The name of a verdict (`"alive"`, `"missing"`, ...), `"unknown"` for
 any other value. Static string; thread-safe.
 */
const char *lifesign_verdict_name(int32_t verdict);

/*
 The name of a state (`"starting"`, `"ready"`, ...), `"unknown"` for any
 other value. Static string; thread-safe.
 */
const char *lifesign_state_name(int32_t state);

/*
 The name of a shape (`"none"`, `"v1"`, `"plain"`, `"timestamp"`,
 `"camel"`), `"unknown"` for any other value. Static string; thread-safe.
 */
const char *lifesign_shape_name(int32_t shape);

/*
 The name of a return code (`"LIFESIGN_OK"`, `"LIFESIGN_ERR_IO"`, ...),
 `"unknown"` for any other value. Static string; thread-safe.
 */
const char *lifesign_error_name(int32_t code);

/*
 This thread's most recent error message, `""` when there was none.

 Meaningful only right after a call failed. The string belongs to the
 library and stays valid until the next failing call on this thread.
 */
const char *lifesign_last_error(void);

/*
 Routes the library's log messages, process-wide: to `handler` (NULL:
 back to the default, stderr as `lifesign: <message>`), up to
 `max_level` (`LIFESIGN_LOG_OFF` silences the library; the default is
 `LIFESIGN_LOG_WARN`: failed heartbeat writes and shortened intervals).

 `handler` is called on the thread that logs, often an emitter's own
 background thread, and may be called on several threads at once; it
 must not call lifesign functions. When this function returns, no call
 of the previous handler is still running, so its `user_data` may be
 released. Returns `LIFESIGN_OK`, or `LIFESIGN_ERR_INVALID_ARGUMENT` for
 an unknown level (then nothing changes). Thread-safe.

 # Safety
 `handler` and `user_data` stay valid until they are replaced by another
 call of this function.
 */
int32_t lifesign_set_log_handler(lifesign_log_fn handler, void *user_data, int32_t max_level);

/*
 The name of a log level (`"off"`, `"warn"`, `"info"`, `"debug"`),
 `"unknown"` for any other value. Static string; thread-safe.
 */
const char *lifesign_log_level_name(int32_t level);

#ifdef __cplusplus
} /* extern "C" */
#endif /* __cplusplus */

#endif  /* LIFESIGN_H */

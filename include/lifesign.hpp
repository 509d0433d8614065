// lifesign.hpp: a header-only C++17 wrapper over the C ABI of lifesign.h.
//
// It adds no rule of its own: every verdict, state rule and file-format
// decision is the library's. What it adds is C++: an RAII, move-only
// `lifesign::emitter`, `std::chrono` durations, scoped enums, a `report`
// with `std::optional` where the file may say nothing, and exceptions.
//
//     #include <lifesign.hpp>
//     lifesign::emitter hb("/run/myapp/heartbeat.json", {std::chrono::seconds(1)});
//     hb.set_state(lifesign::state::ready, "serving");
//     ...
//     lifesign::report r = lifesign::check("/run/myapp/heartbeat.json");
//     if (!r.alive()) std::cerr << lifesign::to_string(r.verdict) << ": " << r.detail << '\n';
//
// Link it as the C library (CMake: `lifesign::lifesign` or
// `lifesign::static`; pkg-config: `lifesign`).
//
// Errors are exceptions, and a verdict is never one. C++17 has no
// std::expected; an expected-like type of our own would be one more
// vocabulary type for every caller to adopt, and the failures here are
// rare and usually fatal to the caller's plan (a heartbeat that cannot
// start, a bad argument, a wait that timed out). The common "not fine"
// outcome, a dead or stale process, is a value: check() and wait_ready()
// return a report whatever the verdict. A constructor that acquires the
// emitter can only report failure by throwing, which RAII needs anyway.
// Every exception is a lifesign::error (a std::runtime_error) carrying the
// LIFESIGN_ERR_* code; timeout_error and cancelled_error also carry the
// last report. Code built without exceptions can use lifesign.h directly.
//
// Lifetime: an emitter runs until close() or stop(), or its destructor
// (the end of its scope is its close, as for a Rust value), or until the
// process exits. Nothing else stops it. A process that exits or dies
// without destroying the emitter writes nothing more: the file keeps its
// last state and checkers report `process_gone`. (An emitter of static
// storage duration is destroyed by exit(), and so closed.)
//
// Thread safety: the emitter's member functions may be called from several
// threads at once, except moving, close() and destruction, which must not
// overlap any other call on the same object.

#ifndef LIFESIGN_HPP
#define LIFESIGN_HPP

#include <lifesign.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace lifesign {

/// What a check concluded (LIFESIGN_VERDICT_*).
enum class verdict : std::int32_t {
    alive = LIFESIGN_VERDICT_ALIVE,                ///< fresh, written by a live process
    missing = LIFESIGN_VERDICT_MISSING,            ///< no file
    invalid = LIFESIGN_VERDICT_INVALID,            ///< not a valid heartbeat file
    pid_mismatch = LIFESIGN_VERDICT_PID_MISMATCH,  ///< written by another PID than expected
    stopped = LIFESIGN_VERDICT_STOPPED,            ///< the emitter stopped in order
    failed = LIFESIGN_VERDICT_FAILED,              ///< the emitter announced failed
    process_gone = LIFESIGN_VERDICT_PROCESS_GONE,  ///< the writer's process is gone
    future = LIFESIGN_VERDICT_FUTURE,              ///< dated ahead of our clock
    stale = LIFESIGN_VERDICT_STALE,                ///< older than the max age (wait: idle timeout)
    stalled = LIFESIGN_VERDICT_STALLED,            ///< fresh, but progress has not moved
};

/// The state an emitter announces (LIFESIGN_STATE_*).
enum class state : std::int32_t {
    starting = LIFESIGN_STATE_STARTING,  ///< started, not yet ready
    ready = LIFESIGN_STATE_READY,        ///< ready
    stopping = LIFESIGN_STATE_STOPPING,  ///< shutting down
    stopped = LIFESIGN_STATE_STOPPED,    ///< stopped in order: written by stop()/close() only
    failed = LIFESIGN_STATE_FAILED,      ///< failed; the process may still be alive
};

/// Which file layout the reader recognised (LIFESIGN_SHAPE_*).
enum class shape : std::int32_t {
    none = LIFESIGN_SHAPE_NONE,
    v1 = LIFESIGN_SHAPE_V1,
    plain = LIFESIGN_SHAPE_PLAIN,
    timestamp = LIFESIGN_SHAPE_TIMESTAMP,
    camel = LIFESIGN_SHAPE_CAMEL,
};

/// The library's name of a verdict ("alive", "pid_mismatch", ...).
inline const char *to_string(verdict v) noexcept { return lifesign_verdict_name(static_cast<std::int32_t>(v)); }
/// The library's name of a state ("ready", ...).
inline const char *to_string(state s) noexcept { return lifesign_state_name(static_cast<std::int32_t>(s)); }
/// The library's name of a shape ("v1", ...).
inline const char *to_string(shape s) noexcept { return lifesign_shape_name(static_cast<std::int32_t>(s)); }

/// The version of the linked library, e.g. "0.2.0" (LIFESIGN_VERSION_STRING
/// is the header's).
inline std::string version() { return lifesign_version(); }

/// What a check or a wait saw: lifesign_report in C++ types. Times are on
/// the system clock; durations in milliseconds, as the file has them.
struct report {
    lifesign::verdict verdict = verdict::invalid;
    std::optional<lifesign::state> state;  ///< empty when the file did not parse
    std::int64_t pid = 0;
    std::uint64_t seq = 0;
    std::uint64_t progress = 0;
    std::chrono::system_clock::time_point updated_at{};
    std::chrono::milliseconds age{0};       ///< 0 when dated in the future
    std::chrono::milliseconds interval{0};  ///< 0 when the file has none
    std::optional<std::chrono::system_clock::time_point> progress_at;  ///< empty when the file has none
    std::chrono::milliseconds progress_age{0};
    std::chrono::milliseconds max_age{0};  ///< the max age the verdict applied
    lifesign::shape shape = shape::none;
    std::string message;
    std::string detail;  ///< why the verdict is what it is; empty when alive

    /// Whether the verdict is alive.
    bool alive() const noexcept { return verdict == verdict::alive; }
    /// Whether a wait ended in success: alive and ready.
    bool ready() const noexcept { return alive() && state == lifesign::state::ready; }
};

/// Every failure of this header: the LIFESIGN_ERR_* code and the library's
/// message.
class error : public std::runtime_error {
public:
    error(std::int32_t code, const std::string &what) : std::runtime_error(what), code_(code) {}
    /// The LIFESIGN_ERR_* code.
    std::int32_t code() const noexcept { return code_; }
    /// The code's name, e.g. "LIFESIGN_ERR_IO".
    const char *name() const noexcept { return lifesign_error_name(code_); }

private:
    std::int32_t code_;
};

/// wait_ready reached its timeout; last() is what was last seen.
class timeout_error : public error {
public:
    timeout_error(const std::string &what, report last) : error(LIFESIGN_ERR_TIMEOUT, what), last_(std::move(last)) {}
    const report &last() const noexcept { return last_; }

private:
    report last_;
};

/// wait_ready was cancelled through its cancel_token; last() is what was
/// last seen.
class cancelled_error : public error {
public:
    cancelled_error(const std::string &what, report last) : error(LIFESIGN_ERR_CANCELLED, what), last_(std::move(last)) {}
    const report &last() const noexcept { return last_; }

private:
    report last_;
};

namespace detail {

// The error of a failed call; called right after it, on the same thread
// (the library's message is thread-local).
[[noreturn]] inline void fail(std::int32_t rc, const char *op, const std::string &path) {
    const char *msg = lifesign_last_error();
    std::string what = std::string("lifesign: ") + op;
    if (!path.empty()) what += " " + path;
    what += ": ";
    what += (msg != nullptr && *msg != '\0') ? msg : lifesign_error_name(rc);
    throw error(rc, what);
}

inline void check_rc(std::int32_t rc, const char *op, const std::string &path) {
    if (rc != LIFESIGN_OK) fail(rc, op, path);
}

// A non-negative duration in whole milliseconds, rounded up so that a
// positive duration never becomes 0 ("none"); saturating at `limit`.
template <class Rep, class Period>
std::uint64_t to_ms(std::chrono::duration<Rep, Period> d, const char *what, std::uint64_t limit) {
    if (d < d.zero()) throw error(LIFESIGN_ERR_INVALID_ARGUMENT, std::string("lifesign: ") + what + " is negative");
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    return static_cast<std::uint64_t>(ms) > limit ? limit : static_cast<std::uint64_t>(ms);
}

inline std::chrono::system_clock::time_point at_ms(std::uint64_t ms) {
    const std::uint64_t max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::milliseconds(static_cast<std::int64_t>(ms > max ? max : ms))));
}

inline std::chrono::milliseconds ms(std::uint64_t v) {
    const std::uint64_t max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return std::chrono::milliseconds(static_cast<std::int64_t>(v > max ? max : v));
}

inline report from_c(const lifesign_report &r) {
    report out;
    out.verdict = static_cast<verdict>(r.verdict);
    if (r.state >= 0) out.state = static_cast<state>(r.state);
    out.pid = r.pid;
    out.seq = r.seq;
    out.progress = r.progress;
    out.updated_at = at_ms(r.updated_at_ms);
    out.age = ms(r.age_ms);
    out.interval = ms(r.interval_ms);
    if (r.progress_at_ms != 0) out.progress_at = at_ms(r.progress_at_ms);
    out.progress_age = ms(r.progress_age_ms);
    out.max_age = ms(r.max_age_ms);
    out.shape = static_cast<shape>(r.shape);
    out.message = r.message;
    out.detail = r.detail;
    return out;
}

inline lifesign_report new_report() {
    lifesign_report r{};
    lifesign_report_init(&r);
    return r;
}

}  // namespace detail

/// How an emitter starts (lifesign_options); the defaults are the library's.
struct options {
    /// Refresh interval; the library clamps it to [10 ms, 1 h].
    std::chrono::milliseconds interval{1000};
    /// Permission bits of the file; 0 means 0644.
    std::uint32_t mode = 0;
    /// fsync the temporary file and the folder on every write.
    bool durable = false;
    /// Remove the file after the final "stopped" write.
    bool remove_on_stop = false;
    /// The staleness promise written to the file; 0 means 3 x interval.
    std::chrono::milliseconds stale_after{0};
    /// false: ignore NOTIFY_SOCKET and WATCHDOG_USEC.
    bool systemd = true;
    /// false: ignore the s6 descriptor (LIFESIGN_NOTIFY_FD).
    bool s6 = true;
    /// The s6 readiness descriptor; -1 takes it from LIFESIGN_NOTIFY_FD.
    int notify_fd = -1;
    /// Send WATCHDOG=trigger to systemd when the state becomes failed.
    bool watchdog_trigger = false;
    /// Send WATCHDOG=1 only when progress() was called since the last ping.
    bool watchdog_on_progress = false;
};

/// A running emitter: move-only, closed by its destructor.
class emitter {
public:
    /// Starts an emitter on `path`: missing folders are created and the
    /// first heartbeat (starting, seq 1) is written before it returns.
    /// Throws lifesign::error (LIFESIGN_ERR_IO, _INVALID_ARGUMENT).
    explicit emitter(const std::string &path, const options &o = options()) : path_(path) {
        lifesign_options c;
        lifesign_options_init(&c);
        c.interval_ms = static_cast<std::uint32_t>(detail::to_ms(o.interval, "interval", UINT32_MAX));
        c.mode = o.mode;
        c.stale_after_ms = detail::to_ms(o.stale_after, "stale_after", UINT64_MAX);
        c.notify_fd = o.notify_fd;
        if (o.durable) c.flags |= LIFESIGN_OPT_DURABLE;
        if (o.remove_on_stop) c.flags |= LIFESIGN_OPT_REMOVE_ON_STOP;
        if (!o.systemd) c.flags |= LIFESIGN_OPT_NO_SYSTEMD;
        if (!o.s6) c.flags |= LIFESIGN_OPT_NO_S6;
        if (o.watchdog_trigger) c.flags |= LIFESIGN_OPT_WATCHDOG_TRIGGER;
        if (o.watchdog_on_progress) c.flags |= LIFESIGN_OPT_WATCHDOG_ON_PROGRESS;
        detail::check_rc(lifesign_start_with(path_.c_str(), &c, &h_), "start", path_);
    }

    /// Starts an emitter as a launcher asked through the environment
    /// (LIFESIGN_FILE, LIFESIGN_INTERVAL_MS); empty when LIFESIGN_FILE is
    /// unset or empty.
    static std::optional<emitter> from_env() {
        lifesign_emitter *h = nullptr;
        detail::check_rc(lifesign_start_from_env(&h), "start_from_env", "");
        if (h == nullptr) return std::nullopt;
        const char *file = std::getenv("LIFESIGN_FILE");
        return emitter(h, file != nullptr ? file : "");
    }

    emitter(const emitter &) = delete;
    emitter &operator=(const emitter &) = delete;
    emitter(emitter &&other) noexcept : h_(std::exchange(other.h_, nullptr)), path_(std::move(other.path_)) {}
    emitter &operator=(emitter &&other) noexcept {
        if (this != &other) {
            lifesign_free(h_);
            h_ = std::exchange(other.h_, nullptr);
            path_ = std::move(other.path_);
        }
        return *this;
    }
    /// Closes: writes "stopped" if still running (an error of that final
    /// write is dropped; call close() to see it) and frees the handle.
    ~emitter() { lifesign_free(h_); }

    /// Whether this object holds an emitter (false after close() or a move).
    explicit operator bool() const noexcept { return h_ != nullptr; }
    /// The heartbeat file.
    const std::string &path() const noexcept { return path_; }

    /// Writes a heartbeat now.
    void beat() { detail::check_rc(lifesign_beat(live("beat")), "beat", path_); }
    /// Changes the state and writes at once; the message replaces the
    /// current one ("" clears it). state::stopped is refused: use stop().
    void set_state(lifesign::state s, const std::string &message) {
        detail::check_rc(lifesign_set_state(live("set_state"), static_cast<std::int32_t>(s), message.c_str()),
                         "set_state", path_);
    }
    /// Changes the state and writes at once, keeping the current message.
    void set_state(lifesign::state s) {
        detail::check_rc(lifesign_set_state(live("set_state"), static_cast<std::int32_t>(s), nullptr),
                         "set_state", path_);
    }
    /// Announces a reload: state starting, RELOADING=1 to systemd.
    void reload(const std::string &message) {
        detail::check_rc(lifesign_reload(live("reload"), message.c_str()), "reload", path_);
    }
    /// Sets meta[key] = value, written with the next beat.
    void set_meta(const std::string &key, const std::string &value) {
        detail::check_rc(lifesign_set_meta(live("set_meta"), key.c_str(), value.c_str()), "set_meta", path_);
    }
    /// Removes meta[key] from the next beat on.
    void erase_meta(const std::string &key) {
        detail::check_rc(lifesign_set_meta(live("erase_meta"), key.c_str(), nullptr), "erase_meta", path_);
    }
    /// Counts one unit of work progress; the next beat writes it.
    void progress() { detail::check_rc(lifesign_progress(live("progress")), "progress", path_); }
    /// How many heartbeat writes have failed since the start.
    std::uint64_t write_failures() const {
        std::uint64_t n = 0;
        detail::check_rc(lifesign_write_failures(live("write_failures"), &n), "write_failures", path_);
        return n;
    }
    /// Writes "stopped" and ends the beats; idempotent. Throws
    /// lifesign::error (LIFESIGN_ERR_IO) when the final write failed; the
    /// emitter is stopped all the same.
    void stop() { detail::check_rc(lifesign_stop(live("stop")), "stop", path_); }
    /// stop() if running, then frees the handle; idempotent. Throws as
    /// stop(), after the handle is freed.
    void close() {
        if (h_ == nullptr) return;
        const std::int32_t rc = lifesign_stop(h_);
        const std::string message = rc == LIFESIGN_OK ? std::string() : lifesign_last_error();
        lifesign_free(std::exchange(h_, nullptr));
        if (rc != LIFESIGN_OK) throw error(rc, "lifesign: close " + path_ + ": " + message);
    }

    /// The C handle, for lifesign.h functions this header does not wrap.
    lifesign_emitter *native_handle() const noexcept { return h_; }

private:
    emitter(lifesign_emitter *h, std::string path) : h_(h), path_(std::move(path)) {}

    lifesign_emitter *live(const char *op) const {
        if (h_ == nullptr) {
            throw error(LIFESIGN_ERR_STATE, std::string("lifesign: ") + op + ": the emitter is closed or moved from");
        }
        return h_;
    }

    lifesign_emitter *h_ = nullptr;
    std::string path_;
};

/// What check() applies; every field's default is "none" (0).
struct check_options {
    /// Max age of a fresh heartbeat; 0: the file's own rule.
    std::chrono::milliseconds max_age{0};
    /// The PID that must have written the file; 0: any.
    std::int64_t expected_pid = 0;
    /// A fresh heartbeat whose progress has not moved for this long is stalled; 0: no stall check.
    std::chrono::milliseconds stall_after{0};
};

/// Reads the heartbeat file at `path` and returns the library's verdict.
/// A verdict is a result: this throws only for bad arguments.
[[nodiscard]] inline report check(const std::string &path, const check_options &o = check_options()) {
    lifesign_report r = detail::new_report();
    const std::uint64_t max_age = detail::to_ms(o.max_age, "max_age", UINT64_MAX);
    const std::uint64_t stall = detail::to_ms(o.stall_after, "stall_after", UINT64_MAX);
    const std::int32_t rc = stall == 0 ? lifesign_check(path.c_str(), max_age, o.expected_pid, &r)
                                       : lifesign_check_stall(path.c_str(), max_age, o.expected_pid, stall, &r);
    detail::check_rc(rc, "check", path);
    return detail::from_c(r);
}

/// Whether the heartbeat at `path` is alive (max_age 0: the file's own rule).
[[nodiscard]] inline bool is_alive(const std::string &path, std::chrono::milliseconds max_age = std::chrono::milliseconds(0)) {
    const std::int32_t rc = lifesign_is_alive(path.c_str(), detail::to_ms(max_age, "max_age", UINT64_MAX));
    if (rc < 0) detail::fail(rc, "is_alive", path);
    return rc == 1;
}

/// A cancel token for wait_ready (lifesign_cancel): move-only; cancel() is
/// thread-safe and async-signal-safe. It must outlive the waits using it.
class cancel_token {
public:
    cancel_token() { detail::check_rc(lifesign_cancel_new(&h_), "cancel_token", ""); }
    cancel_token(const cancel_token &) = delete;
    cancel_token &operator=(const cancel_token &) = delete;
    cancel_token(cancel_token &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    cancel_token &operator=(cancel_token &&other) noexcept {
        if (this != &other) {
            lifesign_cancel_free(h_);
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    ~cancel_token() { lifesign_cancel_free(h_); }

    /// Ends every wait using the token, now and later.
    void cancel() noexcept { lifesign_cancel_trigger(h_); }
    /// The C handle.
    const lifesign_cancel *native_handle() const noexcept { return h_; }

private:
    lifesign_cancel *h_ = nullptr;
};

/// What wait_ready waits for; every field's default is "none".
struct wait_options {
    /// The emitter's PID; 0: any (see lifesign_wait_ready_cancel).
    std::int64_t expected_pid = 0;
    /// No new heartbeat for this long ends the wait with verdict stale; 0: none.
    std::chrono::milliseconds idle_timeout{0};
    /// The hard timeout: timeout_error; 0: none.
    std::chrono::milliseconds timeout{0};
    /// Cancelling it ends the wait with cancelled_error; nullptr: none.
    const cancel_token *cancel = nullptr;
};

/// Waits until the emitter writing `path` is ready, or the library decides
/// it never will be (failed, stopped, process_gone, pid_mismatch, or stale
/// after the idle timeout): a decision is returned (report::ready() tells
/// success). Throws timeout_error at the hard timeout, cancelled_error when
/// the token is cancelled, lifesign::error for bad arguments.
[[nodiscard]] inline report wait_ready(const std::string &path, const wait_options &o = wait_options()) {
    lifesign_report r = detail::new_report();
    const std::int32_t rc = lifesign_wait_ready_cancel(
        path.c_str(), o.expected_pid, detail::to_ms(o.idle_timeout, "idle_timeout", UINT64_MAX),
        detail::to_ms(o.timeout, "timeout", UINT64_MAX), o.cancel != nullptr ? o.cancel->native_handle() : nullptr, &r);
    if (rc == LIFESIGN_ERR_TIMEOUT) {
        throw timeout_error("lifesign: wait_ready " + path + ": not ready within the timeout (last verdict " +
                                to_string(static_cast<verdict>(r.verdict)) + ")",
                            detail::from_c(r));
    }
    if (rc == LIFESIGN_ERR_CANCELLED) {
        throw cancelled_error("lifesign: wait_ready " + path + ": cancelled", detail::from_c(r));
    }
    detail::check_rc(rc, "wait_ready", path);
    return detail::from_c(r);
}

}  // namespace lifesign

#endif  // LIFESIGN_HPP

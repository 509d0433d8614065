package lifesign

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"math"
	"os"
	"runtime/cgo"
	"sync"
	"time"
)

// Emitter keeps a heartbeat file fresh from a background thread of the
// library. All methods are safe for concurrent use, including Close
// concurrently with the others: a method called after Close returns
// ErrClosed.
//
// Lifetime: an Emitter runs until Stop or Close is called, or the process
// exits. Garbage collection never stops it: an Emitter that nobody
// references and nobody closed keeps beating (it has no finalizer). At
// process exit without Close (main returns, os.Exit, a signal), nothing more
// is written: the file keeps the last state set, and a checker reports
// VerdictProcessGone, since the process no longer holds the file's lock.
// Only Stop or Close writes "stopped", the program's own word that it ended
// in order; `defer em.Close()` in main says it.
type Emitter struct {
	mu      sync.RWMutex // read-held by calls, write-held by Close
	h       *C.lifesign_emitter
	path    string
	handler cgo.Handle // 0 when no error handler
}

type startConfig struct {
	interval   time.Duration
	mode       os.FileMode
	flags      uint32
	staleAfter time.Duration
	notifyFD   int
	onError    func(error)
}

// Option changes how Start starts an emitter.
type Option func(*startConfig)

// WithInterval sets the refresh interval (default 1 s). The library clamps
// it to [10 ms, 1 h]; a sub-millisecond remainder is rounded up.
func WithInterval(d time.Duration) Option {
	return func(c *startConfig) { c.interval = d }
}

// WithMode sets the permission bits of the heartbeat file (default 0644),
// applied exactly whatever the umask. Only mode.Perm() is used; 0 means the
// default.
func WithMode(mode os.FileMode) Option {
	return func(c *startConfig) { c.mode = mode }
}

// WithDurable makes every write fsync the temporary file and the folder.
func WithDurable() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_DURABLE }
}

// WithRemoveOnStop removes the heartbeat file after the final "stopped" write.
func WithRemoveOnStop() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_REMOVE_ON_STOP }
}

// WithStaleAfter sets the staleness promise written to the file (default
// 3 x interval): checkers with no max age of their own use it.
func WithStaleAfter(d time.Duration) Option {
	return func(c *startConfig) { c.staleAfter = d }
}

// WithoutSystemd makes the emitter ignore NOTIFY_SOCKET and WATCHDOG_USEC.
func WithoutSystemd() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_NO_SYSTEMD }
}

// WithoutS6 makes the emitter ignore the s6 notification descriptor
// (LIFESIGN_NOTIFY_FD).
func WithoutS6() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_NO_S6 }
}

// WithWatchdogTrigger makes the emitter send WATCHDOG=trigger to systemd
// when the state becomes failed.
func WithWatchdogTrigger() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_WATCHDOG_TRIGGER }
}

// WithWatchdogOnProgress makes the emitter send WATCHDOG=1 to systemd only
// when Progress was called since the last ping, so that systemd's watchdog
// proves the work loop runs, not only the emitter's timer. An idle service
// must then count progress from its idle loop, or systemd restarts it.
func WithWatchdogOnProgress() Option {
	return func(c *startConfig) { c.flags |= C.LIFESIGN_OPT_WATCHDOG_ON_PROGRESS }
}

// WithNotifyFD sets the s6 readiness descriptor; by default (-1) it is
// taken from LIFESIGN_NOTIFY_FD.
func WithNotifyFD(fd int) Option {
	return func(c *startConfig) { c.notifyFD = fd }
}

// WithErrorHandler installs a function told about every failed heartbeat
// write (an *Error, usually with Code CodeIO), whether the write came from
// the background thread or from a call such as Beat. It runs on a goroutine
// of its own, so it may call the Emitter's methods.
func WithErrorHandler(fn func(error)) Option {
	return func(c *startConfig) { c.onError = fn }
}

// Start starts an emitter on path. The library creates missing parent
// folders and writes the first heartbeat (state starting, seq 1) before
// Start returns, then refreshes the file every interval.
func Start(path string, opts ...Option) (*Emitter, error) {
	const op = "Start"
	cfg := startConfig{notifyFD: -1}
	for _, o := range opts {
		o(&cfg)
	}
	if err := libraryVersionError(); err != nil {
		return nil, err
	}
	if err := checkText(op, path, "path", path); err != nil {
		return nil, err
	}
	if cfg.interval < 0 {
		return nil, invalidArgument(op, path, "interval %v is negative", cfg.interval)
	}
	if cfg.staleAfter < 0 {
		return nil, invalidArgument(op, path, "stale-after %v is negative", cfg.staleAfter)
	}
	if cfg.notifyFD < -1 || cfg.notifyFD > math.MaxInt32 {
		return nil, invalidArgument(op, path, "notify fd %d is not -1 or a descriptor", cfg.notifyFD)
	}
	interval := durationToMs(cfg.interval)
	if interval > math.MaxUint32 {
		interval = math.MaxUint32
	}
	var handler cgo.Handle
	if cfg.onError != nil {
		handler = cgo.NewHandle(cfg.onError)
	}
	cpath := cString(path)
	r := C.ls_start_with(cpath, C.uint32_t(interval), C.uint32_t(cfg.mode.Perm()), C.uint32_t(cfg.flags),
		C.uint64_t(durationToMs(cfg.staleAfter)), C.int32_t(cfg.notifyFD), C.uintptr_t(handler))
	freeC(cpath)
	if err := newError(op, path, r.rc, r.msg); err != nil {
		if handler != 0 {
			handler.Delete()
		}
		return nil, err
	}
	return newEmitter(r.emitter, path, handler), nil
}

// StartFromEnv starts an emitter as a launcher asked for through the
// environment: LIFESIGN_FILE (the path) and LIFESIGN_INTERVAL_MS (optional).
// It returns nil, nil when LIFESIGN_FILE is unset or empty.
func StartFromEnv() (*Emitter, error) {
	if err := libraryVersionError(); err != nil {
		return nil, err
	}
	r := C.ls_start_from_env()
	if err := newError("StartFromEnv", os.Getenv("LIFESIGN_FILE"), r.rc, r.msg); err != nil {
		return nil, err
	}
	if r.emitter == nil {
		return nil, nil
	}
	return newEmitter(r.emitter, os.Getenv("LIFESIGN_FILE"), 0), nil
}

func newEmitter(h *C.lifesign_emitter, path string, handler cgo.Handle) *Emitter {
	// No finalizer: the library's handle, and the error handler's cgo.Handle
	// that its thread calls, live until Close, whether or not e is reachable.
	return &Emitter{h: h, path: path, handler: handler}
}

// Path returns the heartbeat file's path as given to Start (for
// StartFromEnv, the value of LIFESIGN_FILE).
func (e *Emitter) Path() string {
	return e.path
}

// call runs fn with the live handle under the read lock; ErrClosed after Close.
func (e *Emitter) call(fn func(h *C.lifesign_emitter) error) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.h == nil {
		return ErrClosed
	}
	return fn(e.h)
}

// Beat writes a heartbeat now. It returns an error matching ErrState after
// Stop, ErrIO when the write failed (the emitter keeps running and retries).
func (e *Emitter) Beat() error {
	return e.call(func(h *C.lifesign_emitter) error {
		r := C.ls_beat(h)
		return newError("Emitter.Beat", e.path, r.rc, r.msg)
	})
}

// SetState changes the state and writes at once; message replaces the
// current message ("" clears it). StateStopped is refused (use Stop).
func (e *Emitter) SetState(state State, message string) error {
	const op = "Emitter.SetState"
	if err := checkText(op, e.path, "message", message); err != nil {
		return err
	}
	return e.call(func(h *C.lifesign_emitter) error {
		cmsg := cString(message)
		defer freeC(cmsg)
		r := C.ls_set_state(h, C.int32_t(state), cmsg)
		return newError(op, e.path, r.rc, r.msg)
	})
}

// Reload announces a reload: the state becomes StateStarting with message
// ("" clears it), the heartbeat's reload count goes up, and systemd gets
// RELOADING=1 with MONOTONIC_USEC. SetState(StateReady, ...) when done
// sends READY=1 again.
func (e *Emitter) Reload(message string) error {
	const op = "Emitter.Reload"
	if err := checkText(op, e.path, "message", message); err != nil {
		return err
	}
	return e.call(func(h *C.lifesign_emitter) error {
		cmsg := cString(message)
		defer freeC(cmsg)
		r := C.ls_reload(h, cmsg)
		return newError(op, e.path, r.rc, r.msg)
	})
}

// SetStateKeepMessage changes the state and writes at once, keeping the
// current message.
func (e *Emitter) SetStateKeepMessage(state State) error {
	return e.call(func(h *C.lifesign_emitter) error {
		r := C.ls_set_state(h, C.int32_t(state), nil)
		return newError("Emitter.SetStateKeepMessage", e.path, r.rc, r.msg)
	})
}

// SetMeta sets meta[key] = value in the file, written with the next beat.
func (e *Emitter) SetMeta(key, value string) error {
	const op = "Emitter.SetMeta"
	if err := checkText(op, e.path, "key", key); err != nil {
		return err
	}
	if err := checkText(op, e.path, "value", value); err != nil {
		return err
	}
	return e.call(func(h *C.lifesign_emitter) error {
		ckey, cvalue := cString(key), cString(value)
		defer freeC(ckey)
		defer freeC(cvalue)
		r := C.ls_set_meta(h, ckey, cvalue)
		return newError(op, e.path, r.rc, r.msg)
	})
}

// DeleteMeta removes meta[key] from the file, from the next beat on.
func (e *Emitter) DeleteMeta(key string) error {
	const op = "Emitter.DeleteMeta"
	if err := checkText(op, e.path, "key", key); err != nil {
		return err
	}
	return e.call(func(h *C.lifesign_emitter) error {
		ckey := cString(key)
		defer freeC(ckey)
		r := C.ls_set_meta(h, ckey, nil)
		return newError(op, e.path, r.rc, r.msg)
	})
}

// Progress records one unit of work progress (an in-memory counter); the
// next beat writes progress and progress_at_ms. Checkers using StallAfter
// see "stalled" when progress stops moving.
func (e *Emitter) Progress() error {
	return e.call(func(h *C.lifesign_emitter) error {
		r := C.ls_progress(h)
		return newError("Emitter.Progress", e.path, r.rc, r.msg)
	})
}

// WriteFailures returns how many heartbeat writes have failed since Start.
func (e *Emitter) WriteFailures() (uint64, error) {
	var n uint64
	err := e.call(func(h *C.lifesign_emitter) error {
		r := C.ls_write_failures(h)
		n = uint64(r.value)
		return newError("Emitter.WriteFailures", e.path, r.rc, r.msg)
	})
	return n, err
}

// Stop stops the background thread and writes the state "stopped" (then
// removes the file with WithRemoveOnStop). It is idempotent: a second Stop
// returns nil and writes nothing. An error matching ErrIO means the final
// write failed; the emitter is stopped all the same. Other calls except
// Close then return an error matching ErrState.
func (e *Emitter) Stop() error {
	return e.call(func(h *C.lifesign_emitter) error {
		r := C.ls_stop(h)
		return newError("Emitter.Stop", e.path, r.rc, r.msg)
	})
}

// Close stops the emitter if it is running (as Stop, whose error it
// returns) and frees the library handle. It is idempotent: later calls
// return nil. It waits for calls in progress on other goroutines.
func (e *Emitter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return nil
	}
	r := C.ls_stop(e.h)
	err := newError("Emitter.Close", e.path, r.rc, r.msg)
	C.lifesign_free(e.h)
	e.h = nil
	if e.handler != 0 {
		e.handler.Delete()
		e.handler = 0
	}
	return err
}

//export lifesignGoOnError
func lifesignGoOnError(handle C.uintptr_t, code C.int32_t, message *C.char) {
	fn, ok := cgo.Handle(handle).Value().(func(error))
	if !ok {
		return
	}
	err := &Error{Op: "heartbeat write", Code: Code(code), Message: C.GoString(message)}
	go fn(err)
}

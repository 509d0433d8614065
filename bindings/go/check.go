package lifesign

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

type checkConfig struct {
	maxAgeMs    uint64
	expectedPID int
	stallMs     uint64
	err         error
}

// CheckOption changes what Check applies: MaxAge, MaxAgeMs, ExpectPID,
// StallAfter.
type CheckOption interface {
	applyCheck(*checkConfig)
}

type checkOptionFunc func(*checkConfig)

func (f checkOptionFunc) applyCheck(c *checkConfig) { f(c) }

// MaxAge sets the max age of a fresh heartbeat. By default (or with 0) the
// library uses the file's own rule (its stale_after_ms, else 3 x its
// interval, else 30 s). A sub-millisecond remainder is rounded up.
func MaxAge(d time.Duration) CheckOption {
	return checkOptionFunc(func(c *checkConfig) {
		if d < 0 {
			c.err = invalidArgument("Check", "", "max age %v is negative", d)
			return
		}
		c.maxAgeMs = durationToMs(d)
	})
}

// MaxAgeMs is MaxAge in milliseconds, for ages beyond time.Duration's range.
func MaxAgeMs(ms uint64) CheckOption {
	return checkOptionFunc(func(c *checkConfig) { c.maxAgeMs = ms })
}

// PIDOption names the process ID a heartbeat file must be written by; made
// by ExpectPID, it is both a CheckOption and a WaitOption.
type PIDOption int

func (p PIDOption) applyCheck(c *checkConfig) { c.expectedPID = int(p) }
func (p PIDOption) applyWait(c *waitConfig)   { c.pid = int(p) }

// ExpectPID names the process ID that must have written the heartbeat; 0
// (the default) accepts any.
//
// For Check, a file written by another PID gives VerdictPIDMismatch. For
// WaitReady, before the first good read a file of another PID is ignored
// (an earlier run); after it, another PID ends the wait with
// VerdictPIDMismatch.
func ExpectPID(pid int) PIDOption {
	return PIDOption(pid)
}

// StallAfter makes a fresh heartbeat whose progress has not moved for d give
// VerdictStalled; 0 (the default) disables it.
func StallAfter(d time.Duration) CheckOption {
	return checkOptionFunc(func(c *checkConfig) {
		if d < 0 {
			c.err = invalidArgument("Check", "", "stall limit %v is negative", d)
			return
		}
		c.stallMs = durationToMs(d)
	})
}

// Check reads the heartbeat file at path and returns the library's verdict.
// A verdict is a result, not an error: the error is non-nil only for bad
// arguments (then the Report says VerdictInvalid).
func Check(path string, opts ...CheckOption) (Report, error) {
	const op = "Check"
	var cfg checkConfig
	for _, o := range opts {
		o.applyCheck(&cfg)
	}
	if err := libraryVersionError(); err != nil {
		return Report{Verdict: VerdictInvalid, State: StateNone}, err
	}
	if cfg.err != nil {
		cfg.err.(*Error).Path = path
		return Report{Verdict: VerdictInvalid, State: StateNone}, cfg.err
	}
	if err := checkText(op, path, "path", path); err != nil {
		return Report{Verdict: VerdictInvalid, State: StateNone}, err
	}
	cpath := cString(path)
	r := C.ls_check(cpath, C.uint64_t(cfg.maxAgeMs), C.int64_t(cfg.expectedPID), C.uint64_t(cfg.stallMs))
	freeC(cpath)
	return reportFromC(&r.report), newError(op, path, r.rc, r.msg)
}

// IsAlive reports whether the heartbeat at path is alive. maxAge 0 uses the
// file's own rule. It is false for any argument error.
func IsAlive(path string, maxAge time.Duration) bool {
	if maxAge < 0 || checkText("", "", "", path) != nil || libraryVersionError() != nil {
		return false
	}
	cpath := cString(path)
	r := C.ls_is_alive(cpath, C.uint64_t(durationToMs(maxAge)))
	freeC(cpath)
	takeMessage(r.msg)
	return r.rc == 1
}

type waitConfig struct {
	pid         int
	idleTimeout time.Duration
	timeout     time.Duration
}

// WaitOption changes what WaitReady waits for: ExpectPID, IdleTimeout,
// Timeout.
type WaitOption interface {
	applyWait(*waitConfig)
}

type waitOptionFunc func(*waitConfig)

func (f waitOptionFunc) applyWait(c *waitConfig) { f(c) }

// WaitPID is ExpectPID under its earlier name.
//
// Deprecated: use ExpectPID, the one name of the option for Check and
// WaitReady.
func WaitPID(pid int) WaitOption {
	return ExpectPID(pid)
}

// IdleTimeout ends the wait with VerdictStale when no new heartbeat arrives
// for d (0, the default, means none).
func IdleTimeout(d time.Duration) WaitOption {
	return waitOptionFunc(func(c *waitConfig) { c.idleTimeout = d })
}

// Timeout sets a hard timeout (0, the default, means none); reaching it
// gives an error matching ErrTimeout.
func Timeout(d time.Duration) WaitOption {
	return waitOptionFunc(func(c *waitConfig) { c.timeout = d })
}

// WaitReady waits until the emitter writing path reports ready, or the
// library decides it never will (failed, stopped, process_gone,
// pid_mismatch, or stale after the idle timeout). A decision returns a nil
// error: ready means Report.Verdict == VerdictAlive and Report.State ==
// StateReady.
//
// It returns an error matching ErrTimeout at the hard timeout (Timeout),
// and when ctx is cancelled or its deadline passes, an error that wraps
// ctx.Err() (so errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds) together with
// ErrCancelled or, for a deadline, ErrTimeout. The Report holds what was
// last seen in every case.
func WaitReady(ctx context.Context, path string, opts ...WaitOption) (Report, error) {
	const op = "WaitReady"
	var cfg waitConfig
	for _, o := range opts {
		o.applyWait(&cfg)
	}
	unjudged := Report{Verdict: VerdictInvalid, State: StateNone}
	if err := libraryVersionError(); err != nil {
		return unjudged, err
	}
	if cfg.idleTimeout < 0 || cfg.timeout < 0 {
		return unjudged, invalidArgument(op, path, "negative timeout")
	}
	if cfg.pid < 0 || cfg.pid > math.MaxInt32 {
		return unjudged, invalidArgument(op, path, "expected pid %d is out of range", cfg.pid)
	}
	if err := checkText(op, path, "path", path); err != nil {
		return unjudged, err
	}
	timeoutMs := durationToMs(cfg.timeout)
	deadline, hasDeadline := ctx.Deadline()
	deadlineRules := false
	if hasDeadline {
		left := durationToMs(time.Until(deadline))
		if left == 0 {
			left = 1 // already past: let the library time out at once
		}
		if timeoutMs == 0 || left <= timeoutMs {
			timeoutMs = left
			deadlineRules = true
		}
	}

	var cancel *C.lifesign_cancel
	var watcherDone chan struct{}
	var callDone chan struct{}
	if ctx.Done() != nil {
		cr := C.ls_cancel_new()
		if err := newError(op, path, cr.rc, cr.msg); err != nil {
			return unjudged, err
		}
		cancel = cr.cancel
		if ctx.Err() != nil {
			C.lifesign_cancel_trigger(cancel)
		} else {
			watcherDone = make(chan struct{})
			callDone = make(chan struct{})
			go func() {
				defer close(watcherDone)
				select {
				case <-ctx.Done():
					C.lifesign_cancel_trigger(cancel)
				case <-callDone:
				}
			}()
		}
	}

	cpath := cString(path)
	r := C.ls_wait_ready(cpath, C.int64_t(cfg.pid), C.uint64_t(durationToMs(cfg.idleTimeout)),
		C.uint64_t(timeoutMs), cancel)
	freeC(cpath)
	if callDone != nil {
		close(callDone)
		<-watcherDone // the token must outlive the watcher's last use of it
	}
	if cancel != nil {
		C.lifesign_cancel_free(cancel)
	}

	report := reportFromC(&r.report)
	err := newError(op, path, r.rc, r.msg)
	switch Code(r.rc) {
	case CodeCancelled, CodeTimeout:
		if ctxErr := ctx.Err(); ctxErr != nil || (deadlineRules && Code(r.rc) == CodeTimeout) {
			if ctxErr == nil {
				// The library's clock reached the deadline a moment before
				// the context's timer fired.
				ctxErr = context.DeadlineExceeded
			}
			sentinel := ErrCancelled
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				sentinel = ErrTimeout
			}
			err = fmt.Errorf("lifesign: %s %s: %w (%w)", op, path, ctxErr, sentinel)
		}
	}
	return report, err
}

// Package lifesign is the Go binding of lifesign, a process-heartbeat
// library: an emitter keeps a small JSON heartbeat file fresh, and a checker
// turns such a file into a verdict (alive, missing, stale, ...).
//
// The package is a thin layer over the C ABI of liblifesign (lifesign.h):
// every verdict, state rule and file format decision is made by the
// library. See README.md in this folder for how the package is linked.
package lifesign

// #cgo LDFLAGS: -ldl
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"math"
	"time"
	"unsafe"
)

// HeaderVersion is the version of lifesign.h this package was compiled
// against; Version reports the version of the library actually linked.
const HeaderVersion = C.LIFESIGN_VERSION_STRING

// Version returns the version of the linked library, e.g. "0.2.0".
func Version() string {
	return C.GoString(C.lifesign_version())
}

// libraryFile returns the file liblifesign's code was loaded from, as the
// dynamic loader names it (the executable when linked statically).
func libraryFile() string {
	return C.GoString(C.ls_library_file())
}

// State is the state an emitter announces in its heartbeat file.
type State int32

// The states of lifesign.h. StateNone stands for "no state": the file did
// not parse.
const (
	StateNone     State = -1
	StateStarting State = C.LIFESIGN_STATE_STARTING
	StateReady    State = C.LIFESIGN_STATE_READY
	StateStopping State = C.LIFESIGN_STATE_STOPPING
	StateStopped  State = C.LIFESIGN_STATE_STOPPED
	StateFailed   State = C.LIFESIGN_STATE_FAILED
)

// String returns the library's name of the state ("starting", "ready", ...);
// "unknown" for StateNone and any value the library does not know.
func (s State) String() string {
	return C.GoString(C.lifesign_state_name(C.int32_t(s)))
}

// Verdict is what a check concluded about a heartbeat file.
type Verdict int32

// The verdicts of lifesign.h.
const (
	VerdictAlive       Verdict = C.LIFESIGN_VERDICT_ALIVE
	VerdictMissing     Verdict = C.LIFESIGN_VERDICT_MISSING
	VerdictInvalid     Verdict = C.LIFESIGN_VERDICT_INVALID
	VerdictPIDMismatch Verdict = C.LIFESIGN_VERDICT_PID_MISMATCH
	VerdictStopped     Verdict = C.LIFESIGN_VERDICT_STOPPED
	VerdictFailed      Verdict = C.LIFESIGN_VERDICT_FAILED
	VerdictProcessGone Verdict = C.LIFESIGN_VERDICT_PROCESS_GONE
	VerdictFuture      Verdict = C.LIFESIGN_VERDICT_FUTURE
	VerdictStale       Verdict = C.LIFESIGN_VERDICT_STALE
	VerdictStalled     Verdict = C.LIFESIGN_VERDICT_STALLED
)

// String returns the library's name of the verdict ("alive", "missing",
// "pid_mismatch", ...); "unknown" for a value the library does not know.
func (v Verdict) String() string {
	return C.GoString(C.lifesign_verdict_name(C.int32_t(v)))
}

// Shape tells which file layout the reader recognised.
type Shape int32

// The shapes of lifesign.h.
const (
	ShapeNone      Shape = C.LIFESIGN_SHAPE_NONE
	ShapeV1        Shape = C.LIFESIGN_SHAPE_V1
	ShapePlain     Shape = C.LIFESIGN_SHAPE_PLAIN
	ShapeTimestamp Shape = C.LIFESIGN_SHAPE_TIMESTAMP
	ShapeCamel     Shape = C.LIFESIGN_SHAPE_CAMEL
)

// String returns the library's name of the shape ("none", "v1", "plain",
// "timestamp", "camel"); "unknown" for a value the library does not know.
func (s Shape) String() string {
	return C.GoString(C.lifesign_shape_name(C.int32_t(s)))
}

// Report is the result of a check or a wait, copied from lifesign_report.
// It is filled whatever the verdict; fields the file does not have are zero.
//
// Durations are converted from milliseconds and saturate at the largest
// time.Duration (about 292 years).
type Report struct {
	Verdict Verdict
	// State is StateNone when the file did not parse (see HasState).
	State State
	// PID is the process ID written in the file (0 when it did not parse).
	PID int64
	// Seq is the file's write counter.
	Seq uint64
	// Progress is the work-progress counter.
	Progress uint64
	// UpdatedAt is when the file was written (zero Time when unknown);
	// UpdatedAtMs is the same instant in Unix milliseconds.
	UpdatedAt   time.Time
	UpdatedAtMs uint64
	// Age is how old the file is; 0 when its timestamp is in the future.
	Age time.Duration
	// Interval is the emitter's refresh interval; 0 when the file has none.
	Interval time.Duration
	// Message is the emitter's message (at most 255 bytes).
	Message string
	// ProgressAt is when progress last changed (zero Time when the file
	// has none); ProgressAtMs is the same instant in Unix milliseconds.
	ProgressAt   time.Time
	ProgressAtMs uint64
	// ProgressAge is how long ago progress last changed; 0 when unknown.
	ProgressAge time.Duration
	// MaxAge is the max age the verdict applied.
	MaxAge time.Duration
	// Shape is the file layout that was read.
	Shape Shape
	// Detail says why the verdict is what it is (empty when alive).
	Detail string
}

// HasState reports whether the file parsed and so carries a state.
func (r Report) HasState() bool {
	return r.State != StateNone
}

func msToDuration(ms uint64) time.Duration {
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

func msToTime(ms uint64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	if ms > math.MaxInt64 {
		ms = math.MaxInt64
	}
	return time.UnixMilli(int64(ms))
}

// durationToMs converts a non-negative duration to whole milliseconds,
// rounding up so that a positive duration never becomes 0 ("none").
func durationToMs(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	ms := uint64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

func reportFromC(r *C.lifesign_report) Report {
	return Report{
		Verdict:      Verdict(r.verdict),
		State:        State(r.state),
		PID:          int64(r.pid),
		Seq:          uint64(r.seq),
		Progress:     uint64(r.progress),
		UpdatedAt:    msToTime(uint64(r.updated_at_ms)),
		UpdatedAtMs:  uint64(r.updated_at_ms),
		Age:          msToDuration(uint64(r.age_ms)),
		Interval:     msToDuration(uint64(r.interval_ms)),
		Message:      C.GoString(&r.message[0]),
		ProgressAt:   msToTime(uint64(r.progress_at_ms)),
		ProgressAtMs: uint64(r.progress_at_ms),
		ProgressAge:  msToDuration(uint64(r.progress_age_ms)),
		MaxAge:       msToDuration(uint64(r.max_age_ms)),
		Shape:        Shape(r.shape),
		Detail:       C.GoString(&r.detail[0]),
	}
}

// cString converts s for a C call; the caller frees the result with freeC.
func cString(s string) *C.char {
	return C.CString(s)
}

func freeC(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// takeMessage converts a message allocated by the shim and frees it.
func takeMessage(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.free(unsafe.Pointer(p))
	return s
}

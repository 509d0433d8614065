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
	"encoding/json"
	"fmt"
	"math"
	"strings"
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

// State is the state an emitter announces in its heartbeat file. It
// marshals as text by the library's name ("ready"), as in the protocol and
// the Rust library's serialisation.
type State int32

// The states of lifesign.h.
const (
	// StateNone stands for "no state": the file did not parse. It has no
	// name; a Report with it marshals its state as JSON null.
	StateNone State = -1
	// StateStarting: started, not yet ready (the state Start writes first).
	StateStarting State = C.LIFESIGN_STATE_STARTING
	// StateReady: ready to serve.
	StateReady State = C.LIFESIGN_STATE_READY
	// StateStopping: shutting down.
	StateStopping State = C.LIFESIGN_STATE_STOPPING
	// StateStopped: stopped in order, the final write of Stop or Close
	// (SetState refuses it).
	StateStopped State = C.LIFESIGN_STATE_STOPPED
	// StateFailed: failed; the process may still be alive to report why.
	StateFailed State = C.LIFESIGN_STATE_FAILED
)

// states lists every named State, for parsing names.
var states = []State{StateStarting, StateReady, StateStopping, StateStopped, StateFailed}

// String returns the library's name of the state ("starting", "ready", ...);
// "unknown" for StateNone and any value the library does not know.
func (s State) String() string {
	return C.GoString(C.lifesign_state_name(C.int32_t(s)))
}

// MarshalText implements encoding.TextMarshaler with the library's name;
// a state without a name (StateNone) is an error.
func (s State) MarshalText() ([]byte, error) {
	return marshalName("state", s, states)
}

// UnmarshalText implements encoding.TextUnmarshaler: it accepts the names
// MarshalText gives.
func (s *State) UnmarshalText(text []byte) error {
	return unmarshalName("state", text, s, states)
}

// Verdict is what a check concluded about a heartbeat file. It marshals as
// text by the library's name ("alive", "pid_mismatch").
type Verdict int32

// The verdicts of lifesign.h.
const (
	// VerdictAlive: fresh, and written by a live process.
	VerdictAlive Verdict = C.LIFESIGN_VERDICT_ALIVE
	// VerdictMissing: no file.
	VerdictMissing Verdict = C.LIFESIGN_VERDICT_MISSING
	// VerdictInvalid: not a valid heartbeat file (also the verdict of a
	// Report returned with an argument error).
	VerdictInvalid Verdict = C.LIFESIGN_VERDICT_INVALID
	// VerdictPIDMismatch: written by another PID than the expected one
	// (ExpectPID).
	VerdictPIDMismatch Verdict = C.LIFESIGN_VERDICT_PID_MISMATCH
	// VerdictStopped: the emitter stopped in order (Stop or Close).
	VerdictStopped Verdict = C.LIFESIGN_VERDICT_STOPPED
	// VerdictFailed: the emitter announced StateFailed.
	VerdictFailed Verdict = C.LIFESIGN_VERDICT_FAILED
	// VerdictProcessGone: the writer's process is gone (exited without
	// stopping, a zombie, a reused PID, an earlier boot).
	VerdictProcessGone Verdict = C.LIFESIGN_VERDICT_PROCESS_GONE
	// VerdictFuture: dated ahead of the checker's clock.
	VerdictFuture Verdict = C.LIFESIGN_VERDICT_FUTURE
	// VerdictStale: older than the max age; from WaitReady, the idle
	// timeout passed without a new heartbeat.
	VerdictStale Verdict = C.LIFESIGN_VERDICT_STALE
	// VerdictStalled: fresh, but work progress has not moved for the stall
	// limit (StallAfter).
	VerdictStalled Verdict = C.LIFESIGN_VERDICT_STALLED
)

// verdicts lists every Verdict, for parsing names.
var verdicts = []Verdict{VerdictAlive, VerdictMissing, VerdictInvalid, VerdictPIDMismatch, VerdictStopped,
	VerdictFailed, VerdictProcessGone, VerdictFuture, VerdictStale, VerdictStalled}

// String returns the library's name of the verdict ("alive", "missing",
// "pid_mismatch", ...); "unknown" for a value the library does not know.
func (v Verdict) String() string {
	return C.GoString(C.lifesign_verdict_name(C.int32_t(v)))
}

// MarshalText implements encoding.TextMarshaler with the library's name.
func (v Verdict) MarshalText() ([]byte, error) {
	return marshalName("verdict", v, verdicts)
}

// UnmarshalText implements encoding.TextUnmarshaler: it accepts the names
// MarshalText gives.
func (v *Verdict) UnmarshalText(text []byte) error {
	return unmarshalName("verdict", text, v, verdicts)
}

// Shape tells which file layout the reader recognised. It marshals as text
// by the library's name ("v1", "plain").
type Shape int32

// The shapes of lifesign.h.
const (
	// ShapeNone: nothing was parsed.
	ShapeNone Shape = C.LIFESIGN_SHAPE_NONE
	// ShapeV1: lifesign protocol v1 (or a later version).
	ShapeV1 Shape = C.LIFESIGN_SHAPE_V1
	// ShapePlain: {pid, state, updated_at_ms} without "v" (desktop launchers).
	ShapePlain Shape = C.LIFESIGN_SHAPE_PLAIN
	// ShapeTimestamp: {timestamp (ISO 8601 with offset), pid, hostname, metadata}.
	ShapeTimestamp Shape = C.LIFESIGN_SHAPE_TIMESTAMP
	// ShapeCamel: {pid, status, updatedAtMs} (Node daemons).
	ShapeCamel Shape = C.LIFESIGN_SHAPE_CAMEL
)

// shapes lists every Shape, for parsing names.
var shapes = []Shape{ShapeNone, ShapeV1, ShapePlain, ShapeTimestamp, ShapeCamel}

// String returns the library's name of the shape ("none", "v1", "plain",
// "timestamp", "camel"); "unknown" for a value the library does not know.
func (s Shape) String() string {
	return C.GoString(C.lifesign_shape_name(C.int32_t(s)))
}

// MarshalText implements encoding.TextMarshaler with the library's name.
func (s Shape) MarshalText() ([]byte, error) {
	return marshalName("shape", s, shapes)
}

// UnmarshalText implements encoding.TextUnmarshaler: it accepts the names
// MarshalText gives.
func (s *Shape) UnmarshalText(text []byte) error {
	return unmarshalName("shape", text, s, shapes)
}

// marshalName is MarshalText for a code family: the library's name of v,
// an error for a value outside all.
func marshalName[T ~int32](kind string, v T, all []T) ([]byte, error) {
	for _, known := range all {
		if v == known {
			return []byte(fmt.Sprint(v)), nil
		}
	}
	return nil, fmt.Errorf("lifesign: %s %d has no name", kind, v)
}

// unmarshalName is UnmarshalText for a code family: the value whose name is
// text, an error naming the accepted names otherwise.
func unmarshalName[T ~int32](kind string, text []byte, v *T, all []T) error {
	names := make([]string, len(all))
	for i, known := range all {
		names[i] = fmt.Sprint(known)
		if names[i] == string(text) {
			*v = known
			return nil
		}
	}
	return fmt.Errorf("lifesign: unknown %s %q; expected one of %s", kind, text, strings.Join(names, ", "))
}

// Report is the result of a check or a wait, copied from lifesign_report.
// It is filled whatever the verdict; fields the file does not have are zero.
//
// Durations are converted from milliseconds and saturate at the largest
// time.Duration (about 292 years).
//
// It marshals to JSON (MarshalJSON) with the field names of the protocol
// and of the Rust library's Report: "verdict", "state" (null for
// StateNone), "pid", "seq", "progress", "progress_at_ms" (null when
// unknown), "progress_age_ms", "updated_at_ms", "age_ms", "interval_ms",
// "max_age_ms", "message", "shape", "detail", durations and times in
// milliseconds, enums by name. UnmarshalJSON reads the same form.
type Report struct {
	// Verdict is the check's conclusion.
	Verdict Verdict
	// State is StateNone when the file did not parse (see HasState).
	State State
	// PID is the process ID written in the file (0 when it did not parse).
	PID int64
	// Seq is the file's write counter.
	Seq uint64
	// Progress is the work-progress counter.
	Progress uint64
	// UpdatedAt is when the file was written (zero Time when unknown).
	UpdatedAt time.Time
	// UpdatedAtMs is UpdatedAt in Unix milliseconds.
	UpdatedAtMs uint64
	// Age is how old the file is; 0 when its timestamp is in the future.
	Age time.Duration
	// Interval is the emitter's refresh interval; 0 when the file has none.
	Interval time.Duration
	// Message is the emitter's message (at most 255 bytes).
	Message string
	// ProgressAt is when progress last changed (zero Time when the file
	// has none).
	ProgressAt time.Time
	// ProgressAtMs is ProgressAt in Unix milliseconds (0 when none).
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

// reportJSON is the JSON form of a Report: the protocol's names and units.
type reportJSON struct {
	Verdict       Verdict `json:"verdict"`
	State         *State  `json:"state"`
	PID           int64   `json:"pid"`
	Seq           uint64  `json:"seq"`
	Progress      uint64  `json:"progress"`
	ProgressAtMs  *uint64 `json:"progress_at_ms"`
	ProgressAgeMs uint64  `json:"progress_age_ms"`
	UpdatedAtMs   uint64  `json:"updated_at_ms"`
	AgeMs         uint64  `json:"age_ms"`
	IntervalMs    uint64  `json:"interval_ms"`
	MaxAgeMs      uint64  `json:"max_age_ms"`
	Message       string  `json:"message"`
	Shape         Shape   `json:"shape"`
	Detail        string  `json:"detail"`
}

// MarshalJSON implements json.Marshaler (the form described at Report).
func (r Report) MarshalJSON() ([]byte, error) {
	j := reportJSON{
		Verdict: r.Verdict, PID: r.PID, Seq: r.Seq, Progress: r.Progress,
		ProgressAgeMs: uint64(r.ProgressAge / time.Millisecond), UpdatedAtMs: r.UpdatedAtMs,
		AgeMs: uint64(r.Age / time.Millisecond), IntervalMs: uint64(r.Interval / time.Millisecond),
		MaxAgeMs: uint64(r.MaxAge / time.Millisecond), Message: r.Message, Shape: r.Shape, Detail: r.Detail,
	}
	if r.HasState() {
		state := r.State
		j.State = &state
	}
	if r.ProgressAtMs != 0 {
		at := r.ProgressAtMs
		j.ProgressAtMs = &at
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler (the form described at Report).
func (r *Report) UnmarshalJSON(data []byte) error {
	var j reportJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	state := StateNone
	if j.State != nil {
		state = *j.State
	}
	var progressAt uint64
	if j.ProgressAtMs != nil {
		progressAt = *j.ProgressAtMs
	}
	*r = Report{
		Verdict: j.Verdict, State: state, PID: j.PID, Seq: j.Seq, Progress: j.Progress,
		UpdatedAt: msToTime(j.UpdatedAtMs), UpdatedAtMs: j.UpdatedAtMs,
		Age: msToDuration(j.AgeMs), Interval: msToDuration(j.IntervalMs), Message: j.Message,
		ProgressAt: msToTime(progressAt), ProgressAtMs: progressAt, ProgressAge: msToDuration(j.ProgressAgeMs),
		MaxAge: msToDuration(j.MaxAgeMs), Shape: j.Shape, Detail: j.Detail,
	}
	return nil
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

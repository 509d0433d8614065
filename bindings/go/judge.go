package lifesign

// #include <stdlib.h>
// #include "shim.h"
import "C"

import "unsafe"

// LockState is what a reader found at a record's lifetime lock
// (docs/PROTOCOL.md section 10), for Judge.
type LockState int32

// The lock states of lifesign.h.
const (
	// LockUnknown: not looked at, or nothing proven.
	LockUnknown LockState = C.LIFESIGN_LOCK_UNKNOWN
	// LockHeld: the record's lock file is locked, on the whole file or any part of it.
	LockHeld LockState = C.LIFESIGN_LOCK_HELD
	// LockFree: the record's very lock file is not locked: its writer has exited.
	LockFree LockState = C.LIFESIGN_LOCK_FREE
	// LockAbsent: no file at the lock path; proves nothing, as LockUnknown.
	LockAbsent LockState = C.LIFESIGN_LOCK_ABSENT
)

var lockNames = map[LockState]string{LockUnknown: "unknown", LockHeld: "held", LockFree: "free", LockAbsent: "absent"}

// String returns the state's name ("unknown", "held", "free", "absent").
func (l LockState) String() string {
	if n, ok := lockNames[l]; ok {
		return n
	}
	return "unknown"
}

// ProcessState is what a reader found about the process a record names,
// for Judge.
type ProcessState int32

// The process states of lifesign.h.
const (
	// ProcessUnknown: not looked at, or the probe could not tell.
	ProcessUnknown ProcessState = C.LIFESIGN_PROCESS_UNKNOWN
	// ProcessRunning: a process with that PID runs (not a zombie).
	ProcessRunning ProcessState = C.LIFESIGN_PROCESS_RUNNING
	// ProcessExited: no process with that PID, or a zombie.
	ProcessExited ProcessState = C.LIFESIGN_PROCESS_EXITED
)

var processNames = map[ProcessState]string{ProcessUnknown: "unknown", ProcessRunning: "running", ProcessExited: "exited"}

// String returns the state's name ("unknown", "running", "exited").
func (p ProcessState) String() string {
	if n, ok := processNames[p]; ok {
		return n
	}
	return "unknown"
}

// Facts is what a reader observed of the world, for Judge (the C
// lifesign_facts). Every zero value means "not known" and errs on the side
// that decides nothing: an unknown host or PID namespace makes a record
// that names one "not written here" (its process is not used), an unknown
// boot id or time namespace keeps ages on the wall clock and the lock
// unused.
type Facts struct {
	// NowMs is the reader's wall clock, Unix ms.
	NowMs uint64
	// MonoMs is the reader's CLOCK_MONOTONIC in ms; 0: not read.
	MonoMs uint64
	// Host is the reader's hostname.
	Host string
	// BootID is the reader's /proc/sys/kernel/random/boot_id.
	BootID string
	// PIDNamespace is the inode of the reader's PID namespace.
	PIDNamespace uint64
	// TimeNamespace is the inode of the reader's time namespace.
	TimeNamespace uint64
	// Lock is what the reader found at the record's lifetime lock file.
	Lock LockState
	// Process is what the reader found about the record's PID.
	Process ProcessState
	// ProcessStart is that process's start time (field 22 of
	// /proc/PID/stat), compared with the record's pid_start.
	ProcessStart uint64
}

// Judge returns the verdict of a heartbeat record's bytes under the facts
// a reader observed: the Report Check would give for a file holding record,
// read by a checker that saw what facts says. A nil record is no file
// (VerdictMissing). For a reader that got a record by another route (a
// fleet value's record, a copy); it opens no file and probes no process.
// MaxAge, MaxAgeMs, ExpectPID and StallAfter apply as in Check. The error is
// non-nil only for bad arguments (then the Report says VerdictInvalid).
func Judge(record []byte, facts Facts, opts ...CheckOption) (Report, error) {
	const op = "Judge"
	var cfg checkConfig
	for _, o := range opts {
		o.applyCheck(&cfg)
	}
	bad := Report{Verdict: VerdictInvalid, State: StateNone}
	if err := libraryVersionError(); err != nil {
		return bad, err
	}
	if cfg.err != nil {
		return bad, cfg.err
	}
	if err := checkText(op, "", "host", facts.Host); err != nil {
		return bad, err
	}
	if err := checkText(op, "", "boot id", facts.BootID); err != nil {
		return bad, err
	}
	var bytes unsafe.Pointer
	if len(record) > 0 {
		bytes = C.CBytes(record)
		defer C.free(bytes)
	}
	host, boot := cString(facts.Host), cString(facts.BootID)
	defer freeC(host)
	defer freeC(boot)
	f := C.ls_facts{
		has_record:    C.int(boolInt(record != nil)),
		lock:          C.int32_t(facts.Lock),
		process:       C.int32_t(facts.Process),
		now_ms:        C.uint64_t(facts.NowMs),
		mono_ms:       C.uint64_t(facts.MonoMs),
		process_start: C.uint64_t(facts.ProcessStart),
		pid_ns:        C.uint64_t(facts.PIDNamespace),
		time_ns:       C.uint64_t(facts.TimeNamespace),
		max_age_ms:    C.uint64_t(cfg.maxAgeMs),
		expected_pid:  C.int64_t(cfg.expectedPID),
		stall_ms:      C.uint64_t(cfg.stallMs),
	}
	r := C.ls_judge((*C.uint8_t)(bytes), C.size_t(len(record)), &f, host, boot)
	return reportFromC(&r.report), newError(op, "", r.rc, r.msg)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

package lifesign

// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a return code of the C ABI (LIFESIGN_OK or a LIFESIGN_ERR_*).
type Code int32

// The return codes of lifesign.h.
const (
	// CodeOK: success (never the Code of an *Error).
	CodeOK Code = C.LIFESIGN_OK
	// CodeInvalidArgument: a bad argument (a NUL byte, a negative
	// duration, an out-of-range value) or a malformed environment variable.
	CodeInvalidArgument Code = C.LIFESIGN_ERR_INVALID_ARGUMENT
	// CodeIO: a filesystem or socket operation failed.
	CodeIO Code = C.LIFESIGN_ERR_IO
	// CodeState: not allowed now: the emitter is stopped, or this is a
	// child after fork().
	CodeState Code = C.LIFESIGN_ERR_STATE
	// CodePanic: an internal panic of the library was caught; it is still
	// usable.
	CodePanic Code = C.LIFESIGN_ERR_PANIC
	// CodeTimeout: a wait reached its timeout.
	CodeTimeout Code = C.LIFESIGN_ERR_TIMEOUT
	// CodeCancelled: a wait was cancelled.
	CodeCancelled Code = C.LIFESIGN_ERR_CANCELLED
	// CodeCannotTell: no verdict: the checker could not read the heartbeat
	// for a reason of its own (out of descriptors or memory, an I/O error,
	// no permission).
	CodeCannotTell Code = C.LIFESIGN_ERR_CANNOT_TELL
)

// String returns the library's name of the code, e.g. "LIFESIGN_ERR_IO";
// "unknown" for a value the library does not know.
func (c Code) String() string {
	return C.GoString(C.lifesign_error_name(C.int32_t(c)))
}

// describe is the code in words, for an Error without a message.
func (c Code) describe() string {
	switch c {
	case CodeInvalidArgument:
		return "invalid argument"
	case CodeIO:
		return "input/output error"
	case CodeState:
		return "not allowed in this state"
	case CodePanic:
		return "internal error"
	case CodeTimeout:
		return "timed out"
	case CodeCancelled:
		return "cancelled"
	case CodeCannotTell:
		return "cannot tell: the heartbeat could not be read"
	}
	return c.String()
}

// Error is a failed call: the operation, the file it was about, the return
// code and the library's explanation (lifesign_last_error, read on the
// thread that made the call). Its text reads like the os package's errors:
// "lifesign: WaitReady /run/app/hb.json: not ready after 200 ms ...".
//
// errors.Is(err, ErrIO) (and the other sentinels) holds when err is or
// wraps an *Error with the same Code.
type Error struct {
	// Op names the failed operation by this package's name for it, e.g.
	// "Start", "Emitter.Beat", "WaitReady".
	Op string
	// Path is the heartbeat file the operation was about ("" when none).
	Path string
	// Code is the LIFESIGN_ERR_* the library returned.
	Code Code
	// Message is the library's explanation (may be empty).
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("lifesign: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		if e.Path != "" {
			b.WriteString(" ")
			b.WriteString(e.Path)
		}
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(e.Code.describe())
	}
	return b.String()
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, lifesign.ErrIO) matches every I/O failure.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per LIFESIGN_ERR_* code.
var (
	// ErrInvalidArgument matches errors with CodeInvalidArgument.
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	// ErrIO matches errors with CodeIO.
	ErrIO = &Error{Code: CodeIO}
	// ErrState matches errors with CodeState.
	ErrState = &Error{Code: CodeState}
	// ErrPanic matches errors with CodePanic.
	ErrPanic = &Error{Code: CodePanic}
	// ErrTimeout matches errors with CodeTimeout, and a WaitReady ended by
	// its context's deadline.
	ErrTimeout = &Error{Code: CodeTimeout}
	// ErrCancelled matches errors with CodeCancelled, and a WaitReady
	// ended by its context's cancellation.
	ErrCancelled = &Error{Code: CodeCancelled}
	// ErrCannotTell: no verdict, the checker could not read the heartbeat
	// for a reason of its own (out of descriptors or memory, an I/O error,
	// no permission); the error's Message says why.
	ErrCannotTell = &Error{Code: CodeCannotTell}
)

// ErrClosed is returned by every Emitter method called after Close.
var ErrClosed = errors.New("lifesign: emitter is closed")

// newError builds the error of a failed call; nil when rc is not negative.
// msg is the shim's copy of lifesign_last_error, freed here.
func newError(op, path string, rc C.int32_t, msg *C.char) error {
	m := takeMessage(msg)
	if rc >= 0 {
		return nil
	}
	return &Error{Op: op, Path: path, Code: Code(rc), Message: m}
}

func invalidArgument(op, path, format string, args ...any) error {
	return &Error{Op: op, Path: path, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// checkText refuses strings that C cannot receive intact.
func checkText(op, path, what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalidArgument(op, path, "%s contains a NUL byte", what)
	}
	return nil
}

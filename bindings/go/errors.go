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
	CodeOK              Code = C.LIFESIGN_OK
	CodeInvalidArgument Code = C.LIFESIGN_ERR_INVALID_ARGUMENT
	CodeIO              Code = C.LIFESIGN_ERR_IO
	CodeState           Code = C.LIFESIGN_ERR_STATE
	CodePanic           Code = C.LIFESIGN_ERR_PANIC
	CodeTimeout         Code = C.LIFESIGN_ERR_TIMEOUT
	CodeCancelled       Code = C.LIFESIGN_ERR_CANCELLED
	CodeCannotTell      Code = C.LIFESIGN_ERR_CANNOT_TELL
)

// String returns the library's name of the code, e.g. "LIFESIGN_ERR_IO";
// "unknown" for a value the library does not know.
func (c Code) String() string {
	return C.GoString(C.lifesign_error_name(C.int32_t(c)))
}

// Error is a failed library call: the return code, the library's message
// (lifesign_last_error, read on the thread that made the call) and the
// operation that failed.
//
// errors.Is(err, ErrIO) (and the other sentinels) holds when err is or
// wraps an *Error with the same Code.
type Error struct {
	// Op names the failed operation, e.g. "lifesign_beat".
	Op string
	// Code is the LIFESIGN_ERR_* the library returned.
	Code Code
	// Message is the library's explanation (may be empty).
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("lifesign: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
		b.WriteString(" (")
		b.WriteString(e.Code.String())
		b.WriteString(")")
	} else {
		b.WriteString(e.Code.String())
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
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrIO              = &Error{Code: CodeIO}
	ErrState           = &Error{Code: CodeState}
	ErrPanic           = &Error{Code: CodePanic}
	ErrTimeout         = &Error{Code: CodeTimeout}
	ErrCancelled       = &Error{Code: CodeCancelled}
	// ErrCannotTell: no verdict, the checker could not read the heartbeat
	// for a reason of its own (out of descriptors or memory, an I/O error,
	// no permission); the error's Message says why.
	ErrCannotTell = &Error{Code: CodeCannotTell}
)

// ErrClosed is returned by every Emitter method called after Close.
var ErrClosed = errors.New("lifesign: emitter is closed")

// newError builds the error of a failed call; nil when rc is not negative.
// msg is the shim's copy of lifesign_last_error, freed here.
func newError(op string, rc C.int32_t, msg *C.char) error {
	m := takeMessage(msg)
	if rc >= 0 {
		return nil
	}
	return &Error{Op: op, Code: Code(rc), Message: m}
}

func invalidArgument(op, format string, args ...any) error {
	return &Error{Op: op, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// checkText refuses strings that C cannot receive intact.
func checkText(op, what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalidArgument(op, "%s contains a NUL byte", what)
	}
	return nil
}

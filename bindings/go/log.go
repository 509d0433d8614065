package lifesign

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"sync"
	"time"
)

// The library's log levels, most detailed last, and their slog levels.
var logLevels = []struct {
	code  C.int32_t
	level slog.Level
}{
	{C.LIFESIGN_LOG_WARN, slog.LevelWarn},
	{C.LIFESIGN_LOG_INFO, slog.LevelInfo},
	{C.LIFESIGN_LOG_DEBUG, slog.LevelDebug},
}

var (
	logMu     sync.Mutex // serialises SetLogger
	logHandle cgo.Handle // the installed *slog.Logger; 0 for the default
)

// SetLogger routes the library's log messages (a failed heartbeat write, an
// interval shortened to fit the systemd watchdog) to logger, process-wide,
// as records at slog.LevelWarn, LevelInfo or LevelDebug whose message is
// the library's text. A nil logger restores the library's default: warnings
// to stderr as "lifesign: <message>".
//
// The library is asked only for the levels logger is enabled for when
// SetLogger is called (its handler's Enabled), so a logger enabled at
// nothing up to slog.LevelWarn silences the library at the source, e.g.
// slog.New(slog.DiscardHandler) (Go 1.24). Call SetLogger again after
// changing the logger's level. Tag the records with logger.With, e.g.
// SetLogger(slog.Default().With("lib", "lifesign")).
//
// Records are handled synchronously on the thread that logs, often the
// library's own background thread (not a goroutine of the caller); the
// handler must not call this package. When SetLogger returns, the previous
// logger receives no more records.
func SetLogger(logger *slog.Logger) {
	logMu.Lock()
	defer logMu.Unlock()
	var h cgo.Handle
	level := C.int32_t(C.LIFESIGN_LOG_WARN)
	if logger != nil {
		h = cgo.NewHandle(logger)
		level = libraryLevel(logger)
	}
	r := C.ls_set_log_handler(C.uintptr_t(h), level)
	if err := newError("SetLogger", "", r.rc, r.msg); err != nil {
		// Only an unknown level is refused, and every level here is known.
		panic(err)
	}
	// No call of the previous logger is still running: its handle may go.
	if logHandle != 0 {
		logHandle.Delete()
	}
	logHandle = h
}

// libraryLevel is the most detailed LIFESIGN_LOG_* that logger is enabled
// for; LIFESIGN_LOG_OFF when it is not even enabled for warnings.
func libraryLevel(logger *slog.Logger) C.int32_t {
	most := C.int32_t(C.LIFESIGN_LOG_OFF)
	for _, l := range logLevels {
		if logger.Enabled(context.Background(), l.level) {
			most = l.code
		}
	}
	return most
}

func slogLevel(code C.int32_t) slog.Level {
	for _, l := range logLevels {
		if l.code == code {
			return l.level
		}
	}
	return slog.LevelWarn
}

// lifesignGoOnLog receives the library's messages through the shim's
// trampoline, on whatever thread logs (cgo attaches threads the Go runtime
// did not create).
//
//export lifesignGoOnLog
func lifesignGoOnLog(handle C.uintptr_t, level C.int32_t, message *C.char) {
	// A panicking handler must not unwind into the library's thread.
	defer func() { _ = recover() }()
	logger, ok := cgo.Handle(handle).Value().(*slog.Logger)
	if !ok {
		return
	}
	ctx := context.Background()
	l := slogLevel(level)
	h := logger.Handler()
	if !h.Enabled(ctx, l) {
		return
	}
	_ = h.Handle(ctx, slog.NewRecord(time.Now(), l, C.GoString(message), 0))
}

// logLevelName is the library's name of a LIFESIGN_LOG_* level.
func logLevelName(code C.int32_t) string {
	return C.GoString(C.lifesign_log_level_name(code))
}

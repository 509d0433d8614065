package lifesign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// notOpenFD is a descriptor number that is never open (above any
// RLIMIT_NOFILE): the library warns that the s6 descriptor is not open and
// carries on.
const notOpenFD = 1_000_000

// recorder is a slog.Handler that keeps every record and tells when one
// whose message contains wanted arrives.
type recorder struct {
	min     slog.Level
	wanted  string
	mu      sync.Mutex
	records []slog.Record
	arrived chan struct{}
	once    sync.Once
}

func newRecorder(min slog.Level, wanted string) *recorder {
	return &recorder{min: min, wanted: wanted, arrived: make(chan struct{})}
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.min }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler           { return r }
func (r *recorder) WithGroup(string) slog.Handler                { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
	if strings.Contains(rec.Message, r.wanted) {
		r.once.Do(func() { close(r.arrived) })
	}
	return nil
}

// matching returns the records whose message contains s.
func (r *recorder) matching(s string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.records {
		if strings.Contains(rec.Message, s) {
			out = append(out, rec)
		}
	}
	return out
}

// useLogger installs a logger over rec for the test, and the default after.
func useLogger(t *testing.T, rec *recorder) {
	t.Helper()
	SetLogger(slog.New(rec))
	t.Cleanup(func() { SetLogger(nil) })
}

// breakableFolder returns a folder for a heartbeat file that breakFolder
// can take away at once, however often the library writes: a symbolic
// link to a real folder.
func breakableFolder(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "sub")
	if err := os.Mkdir(filepath.Join(base, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "real"), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// breakFolder puts a regular file in the folder's place in one rename: no
// write can succeed there, and the library cannot recreate the folder.
func breakFolder(t *testing.T, dir string) {
	t.Helper()
	blocker := dir + ".blocker"
	if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(blocker, dir); err != nil {
		t.Fatal(err)
	}
}

func startWithClosedNotifyFD(t *testing.T) {
	t.Helper()
	em, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutSystemd(), WithNotifyFD(notOpenFD))
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestALibraryWarningIsAWarnRecordOfTheLogger(t *testing.T) {
	rec := newRecorder(slog.LevelInfo, "is not open")
	useLogger(t, rec)
	startWithClosedNotifyFD(t)
	got := rec.matching("is not open")
	if len(got) != 1 {
		t.Fatalf("records about the descriptor: %d, want 1 (all: %+v)", len(got), rec.records)
	}
	want := fmt.Sprintf("s6 notification fd %d is not open", notOpenFD)
	if got[0].Level != slog.LevelWarn || got[0].Message != want {
		t.Fatalf("record %v %q, want WARN %q", got[0].Level, got[0].Message, want)
	}
}

func TestAFailedWriteOnTheLibraryThreadReachesTheLogger(t *testing.T) {
	dir := breakableFolder(t)
	path := filepath.Join(dir, "hb.json")
	rec := newRecorder(slog.LevelWarn, "cannot write")
	useLogger(t, rec)
	em, err := Start(path, WithInterval(10*time.Millisecond), WithoutSystemd(), WithoutS6())
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	// The background thread's next write fails.
	breakFolder(t, dir)
	select {
	case <-rec.arrived:
	case <-time.After(hangGuard):
		t.Fatal("the failed write never reached the logger")
	}
	got := rec.matching("cannot write")[0]
	if got.Level != slog.LevelWarn || !strings.Contains(got.Message, path) {
		t.Fatalf("record %v %q, want WARN naming %s", got.Level, got.Message, path)
	}
	if err := em.Stop(); !errors.Is(err, ErrIO) {
		t.Fatalf("Stop with its folder replaced by a file: %v, want ErrIO", err)
	}
}

func TestALoggerNotEnabledForWarningsSilencesTheLibrary(t *testing.T) {
	rec := newRecorder(slog.LevelError, "")
	useLogger(t, rec)
	startWithClosedNotifyFD(t)
	if got := rec.matching("is not open"); len(got) != 0 {
		t.Fatalf("a logger enabled at error only received %+v", got)
	}
}

func TestANilLoggerRestoresTheDefaultAndTheOldLoggerHearsNothing(t *testing.T) {
	rec := newRecorder(slog.LevelWarn, "")
	SetLogger(slog.New(rec))
	SetLogger(nil)
	startWithClosedNotifyFD(t)
	if got := rec.records; len(got) != 0 {
		t.Fatalf("a replaced logger received %+v", got)
	}
}

func TestTheLibraryIsAskedForEveryLevelTheLoggerIsEnabledFor(t *testing.T) {
	cases := []struct {
		min  slog.Level
		want string
	}{
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "off"},
	}
	for _, c := range cases {
		got := logLevelName(libraryLevel(slog.New(newRecorder(c.min, ""))))
		if got != c.want {
			t.Errorf("logger enabled from %v: library level %q, want %q", c.min, got, c.want)
		}
	}
}

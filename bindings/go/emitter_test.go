package lifesign

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestStartWritesTheFirstHeartbeatBeforeReturning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "made", "by", "start", "hb.json")
	em := startEmitter(t, path)
	if em.Path() != path {
		t.Errorf("Path() = %q, want %q", em.Path(), path)
	}
	r := mustCheck(t, path)
	if r.Verdict != VerdictAlive || r.State != StateStarting || r.Seq != 1 {
		t.Fatalf("after Start: %v %v seq %d, want alive starting seq 1", r.Verdict, r.State, r.Seq)
	}
	if r.PID != int64(os.Getpid()) {
		t.Errorf("PID = %d, want %d", r.PID, os.Getpid())
	}
	if r.Shape != ShapeV1 || !r.HasState() {
		t.Errorf("shape %v, HasState %v; want v1, true", r.Shape, r.HasState())
	}
	if r.Interval != time.Hour {
		t.Errorf("Interval = %v, want 1h", r.Interval)
	}
	if r.UpdatedAtMs == 0 || r.UpdatedAt.UnixMilli() != int64(r.UpdatedAtMs) {
		t.Errorf("UpdatedAt %v does not match UpdatedAtMs %d", r.UpdatedAt, r.UpdatedAtMs)
	}
	if r.MaxAge != 3*time.Hour {
		t.Errorf("MaxAge = %v, want the default promise 3 x interval", r.MaxAge)
	}
}

func TestBeatWritesANewSequenceNumber(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	for i := 0; i < 3; i++ {
		if err := em.Beat(); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustCheck(t, path); r.Seq != 4 {
		t.Fatalf("seq after three beats = %d, want 4", r.Seq)
	}
}

func TestTheBackgroundThreadKeepsTheFileFresh(t *testing.T) {
	path := heartbeatPath(t)
	em, err := Start(path, WithInterval(10*time.Millisecond), WithoutSystemd(), WithoutS6())
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	eventually(t, "background beats", path, func(r Report) bool { return r.Seq >= 3 })
}

func TestSetStateChangesStateAndMessage(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)

	if err := em.SetState(StateReady, "serving"); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	if r.State != StateReady || r.Message != "serving" || r.Verdict != VerdictAlive {
		t.Fatalf("got %v %v %q, want alive ready \"serving\"", r.Verdict, r.State, r.Message)
	}

	if err := em.SetStateKeepMessage(StateStopping); err != nil {
		t.Fatal(err)
	}
	r = mustCheck(t, path)
	if r.State != StateStopping || r.Message != "serving" {
		t.Fatalf("keep message: got %v %q, want stopping \"serving\"", r.State, r.Message)
	}

	if err := em.SetState(StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if r = mustCheck(t, path); r.Message != "" {
		t.Fatalf("empty message should clear it, got %q", r.Message)
	}
}

func TestSetStateRefusesStoppedAndUnknownStates(t *testing.T) {
	em := startEmitter(t, heartbeatPath(t))
	for _, s := range []State{StateStopped, State(42), StateNone} {
		err := em.SetState(s, "x")
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SetState(%d): %v, want ErrInvalidArgument", s, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Message == "" || e.Op != "Emitter.SetState" || e.Path != em.Path() {
			t.Errorf("SetState(%d): error %#v lacks the library's message or the operation", s, err)
		}
	}
	if err := em.SetState(StateReady, "a\x00b"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("message with NUL: %v, want ErrInvalidArgument", err)
	}
}

func TestFailedStateGivesVerdictFailed(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetState(StateFailed, "disk full"); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	if r.Verdict != VerdictFailed || r.State != StateFailed || r.Message != "disk full" {
		t.Fatalf("got %v %v %q", r.Verdict, r.State, r.Message)
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestSetMetaIsWrittenWithTheNextBeat(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetMeta("version", "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := em.SetMeta("region", "eu"); err != nil {
		t.Fatal(err)
	}
	if _, ok := readJSON(t, path)["meta"]; ok {
		t.Fatal("meta written before the next beat")
	}
	if err := em.Beat(); err != nil {
		t.Fatal(err)
	}
	meta, _ := readJSON(t, path)["meta"].(map[string]any)
	if meta["version"] != "1.2.3" || meta["region"] != "eu" {
		t.Fatalf("meta = %v", meta)
	}

	if err := em.DeleteMeta("version"); err != nil {
		t.Fatal(err)
	}
	if err := em.Beat(); err != nil {
		t.Fatal(err)
	}
	meta, _ = readJSON(t, path)["meta"].(map[string]any)
	if _, ok := meta["version"]; ok || meta["region"] != "eu" {
		t.Fatalf("after DeleteMeta: meta = %v", meta)
	}
	if err := em.SetMeta("k\x00", "v"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("key with NUL: %v, want ErrInvalidArgument", err)
	}
}

func TestProgressIsRecordedByTheNextBeat(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	for i := 0; i < 3; i++ {
		if err := em.Progress(); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustCheck(t, path); r.Progress != 0 {
		t.Fatalf("progress written before a beat: %d", r.Progress)
	}
	if err := em.Beat(); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	if r.Progress != 3 || r.ProgressAtMs == 0 || r.ProgressAt.UnixMilli() != int64(r.ProgressAtMs) {
		t.Fatalf("progress %d at %d (%v), want 3 at a time", r.Progress, r.ProgressAtMs, r.ProgressAt)
	}
}

func TestStopWritesStoppedAndIsIdempotent(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetState(StateReady, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := em.Stop(); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	if r.Verdict != VerdictStopped || r.State != StateStopped {
		t.Fatalf("after Stop: %v %v", r.Verdict, r.State)
	}
	seq := r.Seq
	if err := em.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if r := mustCheck(t, path); r.Seq != seq {
		t.Fatalf("second Stop wrote again: seq %d -> %d", seq, r.Seq)
	}
	calls := map[string]func() error{
		"Beat":                em.Beat,
		"SetState":            func() error { return em.SetState(StateReady, "") },
		"SetStateKeepMessage": func() error { return em.SetStateKeepMessage(StateReady) },
		"SetMeta":             func() error { return em.SetMeta("k", "v") },
		"DeleteMeta":          func() error { return em.DeleteMeta("k") },
		"Progress":            em.Progress,
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrState) {
			t.Errorf("%s after Stop: %v, want ErrState", name, err)
		}
	}
	if err := em.Close(); err != nil {
		t.Fatalf("Close after Stop: %v", err)
	}
}

func TestUseAfterCloseReturnsErrClosed(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	if r := mustCheck(t, path); r.Verdict != VerdictStopped {
		t.Fatalf("Close should stop the emitter; verdict %v", r.Verdict)
	}
	if err := em.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	calls := map[string]func() error{
		"Beat":                em.Beat,
		"SetState":            func() error { return em.SetState(StateReady, "") },
		"SetStateKeepMessage": func() error { return em.SetStateKeepMessage(StateReady) },
		"SetMeta":             func() error { return em.SetMeta("k", "v") },
		"DeleteMeta":          func() error { return em.DeleteMeta("k") },
		"Progress":            em.Progress,
		"Stop":                em.Stop,
		"WriteFailures":       func() error { _, err := em.WriteFailures(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestConcurrentCallsAndCloseAreSafe(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	started := make(chan struct{}, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch (g + i) % 4 {
				case 0:
					err = em.Beat()
				case 1:
					err = em.Progress()
				case 2:
					err = em.SetMeta("k", "v")
				case 3:
					_, err = em.WriteFailures()
				}
				if i == 10 {
					started <- struct{}{}
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				// A call that raced with the stop inside Close sees ErrState.
				if err != nil && !errors.Is(err, ErrState) {
					errs <- err
					return
				}
			}
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-started
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if r := mustCheck(t, path); r.Verdict != VerdictStopped {
		t.Fatalf("verdict after Close: %v", r.Verdict)
	}
}

func TestRemoveOnStopDeletesTheFile(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path, WithRemoveOnStop())
	if err := em.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file still there after Stop: %v", err)
	}
	if r := mustCheck(t, path); r.Verdict != VerdictMissing {
		t.Fatalf("verdict %v, want missing", r.Verdict)
	}
}

func TestWithModeSetsTheFilePermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644} {
		path := heartbeatPath(t)
		startEmitter(t, path, WithMode(mode))
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("mode %o, want %o", st.Mode().Perm(), mode)
		}
	}
}

func TestWithStaleAfterIsThePromiseCheckersUse(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path, WithStaleAfter(7*time.Minute))
	r := mustCheck(t, path)
	if r.MaxAge != 7*time.Minute {
		t.Fatalf("MaxAge = %v, want the promise of 7m", r.MaxAge)
	}
	if r := mustCheck(t, path, MaxAge(time.Minute)); r.MaxAge != time.Minute {
		t.Fatalf("MaxAge(1m) gave %v", r.MaxAge)
	}
}

func TestWithDurableAndWatchdogTriggerStillWrite(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path, WithDurable(), WithWatchdogTrigger())
	if err := em.SetState(StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if r := mustCheck(t, path); r.Verdict != VerdictAlive || r.State != StateReady {
		t.Fatalf("%v %v", r.Verdict, r.State)
	}
}

// notifySocket binds a datagram socket standing in for systemd's.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "lsn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", addr)
	t.Setenv("WATCHDOG_USEC", "")
	return conn
}

func TestWithoutSystemdSendsNothingToNotifySocket(t *testing.T) {
	conn := notifySocket(t)

	// The first emitter ignores NOTIFY_SOCKET: had it sent anything, it
	// would be the first datagram, since its calls return before the
	// second emitter starts.
	quiet, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutSystemd(), WithoutS6())
	if err != nil {
		t.Fatal(err)
	}
	if err := quiet.SetState(StateReady, "quiet"); err != nil {
		t.Fatal(err)
	}
	if err := quiet.Close(); err != nil {
		t.Fatal(err)
	}

	loud, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutS6())
	if err != nil {
		t.Fatal(err)
	}
	defer loud.Close()
	if err := loud.SetState(StateReady, "loud"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(hangGuard))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	if !strings.Contains(got, "READY=1") || !strings.Contains(got, "STATUS=loud") {
		t.Fatalf("first notification %q, want READY=1 with STATUS=loud", got)
	}
}

// notifyPipe makes a pipe whose write end is only for the library.
func notifyPipe(t *testing.T) (r *os.File, w int) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	// Non-blocking, so that the read end honours read deadlines.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "notify-read"), fds[1]
}

func TestS6ReadinessNewlineGoesToTheNotifyFD(t *testing.T) {
	r, w := notifyPipe(t)
	defer r.Close()
	em, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutSystemd(), WithNotifyFD(w))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.SetState(StateReady, ""); err != nil {
		t.Fatal(err)
	}
	// The library writes one newline and closes its descriptor, so the
	// read ends at end of file.
	r.SetReadDeadline(time.Now().Add(hangGuard))
	got, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got != "\n" {
		t.Fatalf("s6 descriptor received %q, want one newline", got)
	}
}

func TestWithoutS6LeavesTheNotifyFDAlone(t *testing.T) {
	r, w := notifyPipe(t)
	defer r.Close()
	t.Setenv("LIFESIGN_NOTIFY_FD", strconv.Itoa(w))
	em, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutSystemd(), WithoutS6())
	if err != nil {
		t.Fatal(err)
	}
	if err := em.SetState(StateReady, ""); err != nil {
		t.Fatal(err)
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	// Still open: the library did not take it. Close it ourselves.
	if err := syscall.Close(w); err != nil {
		t.Fatalf("notify fd was closed by the library: %v", err)
	}
	r.SetReadDeadline(time.Now().Add(hangGuard))
	got, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got != "" {
		t.Fatalf("s6 descriptor received %q despite WithoutS6", got)
	}
}

func readAll(f *os.File) (string, error) {
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestWriteFailuresAreReportedToTheErrorHandler(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	path := filepath.Join(dir, "hb.json")
	got := make(chan error, 16)
	em := startEmitter(t, path, WithErrorHandler(func(err error) {
		select {
		case got <- err:
		default:
		}
	}))
	if n, err := em.WriteFailures(); err != nil || n != 0 {
		t.Fatalf("WriteFailures before any failure: %d, %v", n, err)
	}
	// The library recreates a removed folder, so put a regular file in
	// its place: no write can succeed there.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := em.Beat()
	if !errors.Is(err, ErrIO) {
		t.Fatalf("Beat with its folder replaced by a file: %v, want ErrIO", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Message == "" || !strings.HasPrefix(err.Error(), "lifesign: Emitter.Beat "+em.Path()+": ") {
		t.Fatalf("error %q lacks the operation, the path or the library's message", err)
	}
	select {
	case herr := <-got:
		if !errors.Is(herr, ErrIO) {
			t.Fatalf("handler got %v, want an ErrIO", herr)
		}
	case <-time.After(hangGuard):
		t.Fatal("the error handler was never called")
	}
	if n, err := em.WriteFailures(); err != nil || n < 1 {
		t.Fatalf("WriteFailures after a failure: %d, %v", n, err)
	}
	// The final write of Stop fails too, and Stop says so.
	if err := em.Stop(); !errors.Is(err, ErrIO) {
		t.Fatalf("Stop with its folder replaced by a file: %v, want ErrIO", err)
	}
}

func TestStartErrorsMatchTheirSentinels(t *testing.T) {
	if em, err := Start(""); !errors.Is(err, ErrInvalidArgument) || em != nil {
		t.Errorf("Start(\"\") = %v, %v; want nil, ErrInvalidArgument", em, err)
	}
	if _, err := Start(heartbeatPath(t) + "\x00x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("path with NUL: %v, want ErrInvalidArgument", err)
	}
	if _, err := Start(heartbeatPath(t), WithInterval(-time.Second)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative interval: %v, want ErrInvalidArgument", err)
	}
	if _, err := Start(heartbeatPath(t), WithNotifyFD(-2)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("notify fd -2: %v, want ErrInvalidArgument", err)
	}
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(filepath.Join(blocker, "hb.json"))
	if !errors.Is(err, ErrIO) || errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("start under a regular file: %v, want only ErrIO", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeIO || e.Message == "" || e.Op != "Start" || strings.Contains(err.Error(), "lifesign_") {
		t.Fatalf("error %#v", err)
	}
}

func TestStartFromEnvWithoutAFileReturnsNil(t *testing.T) {
	t.Setenv("LIFESIGN_FILE", "")
	em, err := StartFromEnv()
	if em != nil || err != nil {
		t.Fatalf("empty LIFESIGN_FILE: %v, %v; want nil, nil", em, err)
	}
	os.Unsetenv("LIFESIGN_FILE")
	em, err = StartFromEnv()
	if em != nil || err != nil {
		t.Fatalf("unset LIFESIGN_FILE: %v, %v; want nil, nil", em, err)
	}
}

func TestStartFromEnvUsesFileAndInterval(t *testing.T) {
	path := heartbeatPath(t)
	t.Setenv("LIFESIGN_FILE", path)
	t.Setenv("LIFESIGN_INTERVAL_MS", "3600000")
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("LIFESIGN_NOTIFY_FD", "")
	em, err := StartFromEnv()
	if err != nil || em == nil {
		t.Fatalf("StartFromEnv: %v, %v", em, err)
	}
	defer em.Close()
	if em.Path() != path {
		t.Errorf("Path() = %q, want %q", em.Path(), path)
	}
	r := mustCheck(t, path)
	if r.Verdict != VerdictAlive || r.Interval != time.Hour || r.PID != int64(os.Getpid()) {
		t.Fatalf("got %+v", r)
	}

	t.Setenv("LIFESIGN_INTERVAL_MS", "soon")
	if em, err := StartFromEnv(); !errors.Is(err, ErrInvalidArgument) || em != nil {
		t.Fatalf("malformed interval: %v, %v; want nil, ErrInvalidArgument", em, err)
	}
}

// unreferencedChild is the child mode of runUnreferencedChild.
const unreferencedChild = "unreferenced"

// startAndDrop starts an emitter from the environment, sets it ready and
// keeps no reference to it. A finalizer set here (the package sets none)
// tells when a collection has found the Emitter unreachable.
//
//go:noinline
func startAndDrop(finalized chan<- struct{}) error {
	em, err := StartFromEnv()
	if err != nil {
		return err
	}
	if err := em.SetState(StateReady, "unreferenced"); err != nil {
		return err
	}
	runtime.SetFinalizer(em, func(*Emitter) { close(finalized) })
	return nil
}

// runUnreferencedChild is a program that starts its emitter, drops it and
// collects garbage until the Emitter has been found unreachable, then says
// "started"; each line "gc" collects again (answer "ok"). At the end of its
// input it returns, and the process exits without closing the emitter.
func runUnreferencedChild(in io.Reader, out io.Writer) int {
	finalized := make(chan struct{})
	if err := startAndDrop(finalized); err != nil {
		fmt.Fprintf(out, "@@ err %v\n", err)
		return 1
	}
	deadline := time.After(hangGuard)
	for collected := false; !collected; {
		runtime.GC()
		select {
		case <-finalized:
			collected = true
		case <-deadline:
			fmt.Fprintln(out, "@@ err no collection found the emitter unreachable")
			return 1
		case <-time.After(5 * time.Millisecond):
		}
	}
	runtime.GC()
	fmt.Fprintf(out, "@@ started pid=%d\n", os.Getpid())
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "gc" {
			runtime.GC()
			fmt.Fprintln(out, "@@ ok")
		} else {
			fmt.Fprintln(out, "@@ err unknown command")
		}
	}
	return 0
}

func TestAnUnreachableEmitterKeepsBeatingThroughGarbageCollection(t *testing.T) {
	path := heartbeatPath(t)
	c := startChildAs(t, unreferencedChild, path, 10)
	// Read from outside, as a supervisor reads it: after the collections the
	// file is alive, ready, and written by a running beat. The beats are the
	// evidence; MaxAge(hangGuard) keeps a slow machine's late beat from
	// counting as stale.
	live := []CheckOption{ExpectPID(c.pid), MaxAge(hangGuard)}
	first := mustCheck(t, path, live...)
	if first.Verdict != VerdictAlive || first.State != StateReady {
		t.Fatalf("after garbage collection the file says %v %v (%s), want alive ready", first.Verdict, first.State, first.Detail)
	}
	r := eventually(t, "three more beats after garbage collection", path, func(r Report) bool {
		c.send("gc")
		return r.Seq >= first.Seq+3
	}, live...)
	if r.Verdict != VerdictAlive || r.State != StateReady {
		t.Fatalf("still beating, yet the file says %v %v", r.Verdict, r.State)
	}
	// The program ends (main returns) without closing: nothing more is
	// written, and the process is gone.
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child exit: %v", err)
	}
	r = mustCheck(t, path)
	if r.Verdict != VerdictProcessGone || r.State != StateReady {
		t.Fatalf("after the program ended: %v %v, want process_gone ready", r.Verdict, r.State)
	}
}

func TestAtExitWithoutCloseTheFileKeepsItsStateAndTheProcessIsGone(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	c.send("ready serving")
	c.exit()
	r := mustCheck(t, path)
	if r.Verdict != VerdictProcessGone || r.State != StateReady || r.Message != "serving" {
		t.Fatalf("after an exit without Close: %v %v %q, want process_gone ready \"serving\"", r.Verdict, r.State, r.Message)
	}
}

// nextDatagram reads one notification, within the hang guard.
func nextDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(hangGuard))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestReloadAndWorkDrivenWatchdogSpeakToSystemdInOrder(t *testing.T) {
	conn := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "7200000000")
	em, err := Start(heartbeatPath(t), WithInterval(time.Hour), WithoutS6(), WithWatchdogOnProgress())
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	steps := []func() error{
		func() error { return em.SetState(StateReady, "up") },
		func() error { return em.Reload("reloading") },
		func() error { return em.SetState(StateReady, "up") },
		em.Beat, // no progress: no ping
		em.Progress,
		em.Beat,
		em.Stop, // the barrier is answered by nobody here: bounded
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"READY=1\nSTATUS=up",
		"RELOADING=1\nMONOTONIC_USEC=",
		"EXTEND_TIMEOUT_USEC=10800000000",
		"READY=1\nSTATUS=up",
		"WATCHDOG=1",
		"STOPPING=1",
		"BARRIER=1",
	}
	for i, w := range want {
		got := nextDatagram(t, conn)
		if i == 1 {
			if !strings.HasPrefix(got, w) || !strings.HasSuffix(got, "\nSTATUS=reloading") {
				t.Fatalf("datagram %d: %q, want %q...\\nSTATUS=reloading", i, got, w)
			}
			continue
		}
		if got != w {
			t.Fatalf("datagram %d: %q, want %q", i, got, w)
		}
	}
}

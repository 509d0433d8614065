package lifesign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersionIsTheHeaderVersion(t *testing.T) {
	v := Version()
	if v == "" || v != HeaderVersion {
		t.Fatalf("Version() = %q, header says %q", v, HeaderVersion)
	}
}

func TestNamesComeFromTheLibrary(t *testing.T) {
	verdicts := map[Verdict]string{
		VerdictAlive: "alive", VerdictMissing: "missing", VerdictInvalid: "invalid",
		VerdictPIDMismatch: "pid_mismatch", VerdictStopped: "stopped", VerdictFailed: "failed",
		VerdictProcessGone: "process_gone", VerdictFuture: "future", VerdictStale: "stale",
		VerdictStalled: "stalled", Verdict(99): "unknown",
	}
	for v, want := range verdicts {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d) = %q, want %q", v, got, want)
		}
	}
	states := map[State]string{
		StateStarting: "starting", StateReady: "ready", StateStopping: "stopping",
		StateStopped: "stopped", StateFailed: "failed", StateNone: "unknown",
	}
	for s, want := range states {
		if got := s.String(); got != want {
			t.Errorf("State(%d) = %q, want %q", s, got, want)
		}
	}
	shapes := map[Shape]string{
		ShapeNone: "none", ShapeV1: "v1", ShapePlain: "plain", ShapeTimestamp: "timestamp",
		ShapeCamel: "camel", Shape(99): "unknown",
	}
	for s, want := range shapes {
		if got := s.String(); got != want {
			t.Errorf("Shape(%d) = %q, want %q", s, got, want)
		}
	}
	codes := map[Code]string{
		CodeOK: "LIFESIGN_OK", CodeInvalidArgument: "LIFESIGN_ERR_INVALID_ARGUMENT",
		CodeIO: "LIFESIGN_ERR_IO", CodeState: "LIFESIGN_ERR_STATE", CodePanic: "LIFESIGN_ERR_PANIC",
		CodeTimeout: "LIFESIGN_ERR_TIMEOUT", CodeCancelled: "LIFESIGN_ERR_CANCELLED",
		CodeCannotTell: "LIFESIGN_ERR_CANNOT_TELL", Code(-99): "unknown",
	}
	for c, want := range codes {
		if got := c.String(); got != want {
			t.Errorf("Code(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestErrorsIsMatchesTheSentinelOfTheSameCode(t *testing.T) {
	sentinels := []*Error{ErrInvalidArgument, ErrIO, ErrState, ErrPanic, ErrTimeout, ErrCancelled, ErrCannotTell}
	for _, s := range sentinels {
		err := fmt.Errorf("wrapped: %w", &Error{Op: "Op", Path: "/p", Code: s.Code, Message: "m"})
		for _, other := range sentinels {
			if got, want := errors.Is(err, other), other == s; got != want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", err, other.Code, got, want)
			}
		}
		if errors.Is(err, ErrClosed) {
			t.Errorf("%v matches ErrClosed", err)
		}
		if !strings.Contains(err.Error(), "lifesign: Op /p: m") {
			t.Errorf("message %q lacks the operation, path or message", err)
		}
		if bare := (&Error{Op: "Op", Code: s.Code}).Error(); strings.Contains(bare, "LIFESIGN_") {
			t.Errorf("an error without a message speaks C: %q", bare)
		}
	}
	if errors.Is(ErrClosed, ErrState) {
		t.Error("ErrClosed matches ErrState")
	}
}

func TestCheckOfAMissingFile(t *testing.T) {
	r := mustCheck(t, filepath.Join(t.TempDir(), "none.json"))
	if r.Verdict != VerdictMissing || r.HasState() || r.Shape != ShapeNone {
		t.Fatalf("got %+v, want missing with no state and shape none", r)
	}
}

func TestCheckOfAFileThatIsNotAHeartbeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.json")
	if err := os.WriteFile(path, []byte("not json at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	if r.Verdict != VerdictInvalid || r.State != StateNone || r.HasState() {
		t.Fatalf("got %+v, want invalid with StateNone", r)
	}
	if strings.TrimSpace(r.Detail) == "" {
		t.Fatalf("an invalid file carries its reason in Detail: %+v", r)
	}
}

func TestCheckWithExpectPID(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path)
	if r := mustCheck(t, path, ExpectPID(os.Getpid())); r.Verdict != VerdictAlive {
		t.Fatalf("own PID: %v", r.Verdict)
	}
	r := mustCheck(t, path, ExpectPID(os.Getpid()+1))
	if r.Verdict != VerdictPIDMismatch || r.PID != int64(os.Getpid()) {
		t.Fatalf("other PID: %v (pid %d), want pid_mismatch", r.Verdict, r.PID)
	}
}

func TestCheckWithMaxAgeGivesStaleOnceTheFileIsOlder(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path)
	if r := mustCheck(t, path, MaxAge(time.Hour)); r.Verdict != VerdictAlive || r.MaxAge != time.Hour {
		t.Fatalf("with 1h: %v (max age %v)", r.Verdict, r.MaxAge)
	}
	r := eventually(t, "stale with a 1 ms max age", path,
		func(r Report) bool { return r.Verdict == VerdictStale }, MaxAge(time.Millisecond))
	if r.State != StateStarting || r.MaxAge != time.Millisecond || r.Age < time.Millisecond {
		t.Fatalf("stale report %+v", r)
	}
	// A sub-millisecond max age is rounded up, never to 0 ("the file's rule").
	if r := mustCheck(t, path, MaxAge(time.Microsecond)); r.MaxAge != time.Millisecond {
		t.Fatalf("MaxAge(1µs) applied %v", r.MaxAge)
	}
}

func TestCheckWithStallAfterGivesStalledWhenProgressStops(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.Progress(); err != nil {
		t.Fatal(err)
	}
	if err := em.Beat(); err != nil {
		t.Fatal(err)
	}
	if r := mustCheck(t, path, StallAfter(time.Hour)); r.Verdict != VerdictAlive {
		t.Fatalf("with a 1h stall limit: %v", r.Verdict)
	}
	// Beats go on, progress does not.
	r := eventually(t, "stalled with a 1 ms stall limit", path, func(r Report) bool {
		if err := em.Beat(); err != nil {
			t.Fatal(err)
		}
		return r.Verdict == VerdictStalled
	}, StallAfter(time.Millisecond), MaxAge(time.Hour))
	if r.Progress != 1 || r.ProgressAge < time.Millisecond {
		t.Fatalf("stalled report %+v", r)
	}
}

func TestCheckArgumentErrors(t *testing.T) {
	cases := map[string]func() (Report, error){
		"empty path":         func() (Report, error) { return Check("") },
		"NUL in path":        func() (Report, error) { return Check("a\x00b") },
		"negative PID":       func() (Report, error) { return Check(heartbeatPath(t), ExpectPID(-5)) },
		"negative max age":   func() (Report, error) { return Check(heartbeatPath(t), MaxAge(-time.Second)) },
		"negative stall age": func() (Report, error) { return Check(heartbeatPath(t), StallAfter(-time.Second)) },
	}
	for name, call := range cases {
		r, err := call()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
		if r.Verdict != VerdictInvalid {
			t.Errorf("%s: report verdict %v, want invalid", name, r.Verdict)
		}
	}
}

func TestIsAlive(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if !IsAlive(path, 0) || !IsAlive(path, time.Hour) {
		t.Fatal("a running emitter is not alive")
	}
	if IsAlive(filepath.Join(t.TempDir(), "none"), 0) {
		t.Fatal("a missing file is alive")
	}
	if IsAlive("", 0) || IsAlive(path, -time.Second) {
		t.Fatal("bad arguments gave alive")
	}
	if err := em.Stop(); err != nil {
		t.Fatal(err)
	}
	if IsAlive(path, 0) {
		t.Fatal("a stopped emitter is alive")
	}
}

func TestAChildProcessHeartbeatIsAliveThenGoneWhenItDies(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	c.send("ready up")
	r := mustCheck(t, path, ExpectPID(c.pid))
	if r.Verdict != VerdictAlive || r.State != StateReady || r.Message != "up" || r.PID != int64(c.pid) {
		t.Fatalf("running child: %+v", r)
	}
	c.send("progress")
	c.send("beat")
	if r := mustCheck(t, path); r.Progress != 1 {
		t.Fatalf("child progress %d, want 1", r.Progress)
	}
	c.exit()
	r = mustCheck(t, path, ExpectPID(c.pid))
	if r.Verdict != VerdictProcessGone || r.State != StateReady {
		t.Fatalf("dead child: %v %v, want process_gone ready", r.Verdict, r.State)
	}
}

func TestAChildProcessThatStopsGivesStopped(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	c.send("stop")
	c.exit()
	if r := mustCheck(t, path); r.Verdict != VerdictStopped {
		t.Fatalf("verdict %v, want stopped", r.Verdict)
	}
}

type vectorCase struct {
	Name        string  `json:"name"`
	File        string  `json:"file"`
	MaxAgeMs    uint64  `json:"max_age_ms"`
	ExpectedPID int     `json:"expected_pid"`
	StallMs     uint64  `json:"stall_ms"`
	Verdict     string  `json:"verdict"`
	State       *string `json:"state"`
	Shape       string  `json:"shape"`
	UpdatedAtMs *uint64 `json:"updated_at_ms"`
	Facts       *struct {
		NowMs        uint64 `json:"now_ms"`
		MonoMs       uint64 `json:"mono_ms"`
		Host         string `json:"host"`
		BootID       string `json:"boot_id"`
		PIDNs        uint64 `json:"pid_ns"`
		TimeNs       uint64 `json:"time_ns"`
		Lock         string `json:"lock"`
		Process      string `json:"process"`
		ProcessStart uint64 `json:"process_start"`
	} `json:"facts"`
}

// judgeVector judges the bytes of a case's file (none when there is no
// file) under the case's facts.
func judgeVector(t *testing.T, c vectorCase, path string, opts []CheckOption) Report {
	t.Helper()
	record, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		record = nil
	} else if err != nil {
		t.Fatal(err)
	}
	f := c.Facts
	facts := Facts{NowMs: f.NowMs, MonoMs: f.MonoMs, Host: f.Host, BootID: f.BootID,
		PIDNamespace: f.PIDNs, TimeNamespace: f.TimeNs, ProcessStart: f.ProcessStart,
		Lock: LockState(-1), Process: ProcessState(-1)}
	for l, name := range lockNames {
		if name == f.Lock || (f.Lock == "" && l == LockUnknown) {
			facts.Lock = l
		}
	}
	for p, name := range processNames {
		if name == f.Process || (f.Process == "" && p == ProcessUnknown) {
			facts.Process = p
		}
	}
	r, err := Judge(record, facts, opts...)
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	return r
}

func TestSharedVectors(t *testing.T) {
	dir := filepath.Join("..", "..", "tests", "vectors")
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []vectorCase
	// A key this runner does not know fails it, rather than being skipped.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	judged := 0
	if len(cases) == 0 {
		t.Fatal("no cases in cases.json")
	}
	seen := map[string]bool{}
	for _, c := range cases {
		c := c
		seen[c.Verdict] = true
		t.Run(c.Name, func(t *testing.T) {
			opts := []CheckOption{MaxAgeMs(c.MaxAgeMs), ExpectPID(c.ExpectedPID)}
			if c.StallMs != 0 {
				opts = append(opts, StallAfter(time.Duration(c.StallMs)*time.Millisecond))
			}
			var r Report
			if c.Facts != nil {
				judged++
				r = judgeVector(t, c, filepath.Join(dir, c.File), opts)
			} else {
				r = mustCheck(t, filepath.Join(dir, c.File), opts...)
			}
			if r.Verdict.String() != c.Verdict {
				t.Errorf("verdict %q, want %q", r.Verdict, c.Verdict)
			}
			if c.State == nil {
				if r.HasState() {
					t.Errorf("state %q, want none", r.State)
				}
			} else if r.State.String() != *c.State {
				t.Errorf("state %q, want %q", r.State, *c.State)
			}
			if r.Shape.String() != c.Shape {
				t.Errorf("shape %q, want %q", r.Shape, c.Shape)
			}
			if c.UpdatedAtMs != nil && r.UpdatedAtMs != *c.UpdatedAtMs {
				t.Errorf("updated_at_ms %d, want %d", r.UpdatedAtMs, *c.UpdatedAtMs)
			}
			applied := r.Verdict == VerdictAlive || r.Verdict == VerdictStale
			if applied && c.MaxAgeMs != 0 && r.MaxAge != msToDuration(c.MaxAgeMs) {
				t.Errorf("max age applied %v, want %d ms", r.MaxAge, c.MaxAgeMs)
			}
		})
	}
	if judged < 60 {
		t.Errorf("%d facts vectors judged, want every one (60 or more)", judged)
	}
	// "missing" needs no file: TestCheckOfAMissingFile covers it.
	seen["missing"] = true
	for v := VerdictAlive; v <= VerdictStalled; v++ {
		if !seen[v.String()] {
			t.Errorf("no shared vector has verdict %q", v)
		}
	}
}

// A reader out of descriptors gets ErrCannotTell, never a verdict; a
// missing file stays a verdict (docs/PROTOCOL.md 3.3).
func TestAReaderOutOfDescriptorsGetsErrCannotTell(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	defer em.Stop()
	none := filepath.Join(t.TempDir(), "none")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []int
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		held = append(held, fd)
	}
	_, err := Check(path)
	missing, errMissing := Check(none)
	for _, fd := range held {
		syscall.Close(fd)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, ErrCannotTell) || !strings.Contains(err.Error(), "Too many open files") {
		t.Fatalf("err %v, want ErrCannotTell with the reason", err)
	}
	if errMissing != nil || missing.Verdict != VerdictMissing {
		t.Fatalf("missing file: %v %v", missing.Verdict, errMissing)
	}
}

// Judge takes the record's bytes, not a path: nil is no file, empty bytes
// are not a heartbeat, and a NUL in a fact is an argument error.
func TestJudgeOfNoBytesEmptyBytesAndBadFacts(t *testing.T) {
	record := []byte(`{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":1000}`)
	r, err := Judge(record, Facts{NowMs: 1500, Process: ProcessRunning})
	if err != nil || r.Verdict != VerdictAlive || r.Age != 500*time.Millisecond {
		t.Fatalf("Judge = %+v, %v; want alive, 500 ms old", r, err)
	}
	if r, err := Judge(nil, Facts{}); err != nil || r.Verdict != VerdictMissing {
		t.Errorf("Judge(nil) = %v, %v; want missing", r.Verdict, err)
	}
	if r, err := Judge([]byte{}, Facts{}); err != nil || r.Verdict != VerdictInvalid {
		t.Errorf("Judge(empty) = %v, %v; want invalid", r.Verdict, err)
	}
	if _, err := Judge(record, Facts{Host: "a\x00b"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a NUL in the host: %v, want ErrInvalidArgument", err)
	}
	if _, err := Judge(record, Facts{Lock: LockState(9)}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("an unknown lock state: %v, want ErrInvalidArgument", err)
	}
	if LockFree.String() != "free" || ProcessExited.String() != "exited" || LockState(9).String() != "unknown" {
		t.Errorf("names: %v %v %v", LockFree, ProcessExited, LockState(9))
	}
}

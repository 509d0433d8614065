package lifesign

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

type waitResult struct {
	r   Report
	err error
}

// waitInBackground runs WaitReady on its own goroutine.
func waitInBackground(ctx context.Context, path string, opts ...WaitOption) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		r, err := WaitReady(ctx, path, opts...)
		ch <- waitResult{r, err}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(hangGuard):
		t.Fatal("WaitReady never returned")
		return waitResult{}
	}
}

func TestWaitReadyReturnsWhenAChildProcessBecomesReady(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	ch := waitInBackground(context.Background(), path, ExpectPID(c.pid), Timeout(hangGuard))
	c.send("ready up")
	res := receive(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	if r.Verdict != VerdictAlive || r.State != StateReady || r.PID != int64(c.pid) || r.Message != "up" {
		t.Fatalf("report %+v", r)
	}
}

func TestWaitReadyWaitsForAFileThatDoesNotExistYet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later", "hb.json")
	ch := waitInBackground(context.Background(), path, Timeout(hangGuard))
	c := startChild(t, path, 3600000)
	c.send("ready")
	res := receive(t, ch)
	if res.err != nil || res.r.State != StateReady || res.r.PID != int64(c.pid) {
		t.Fatalf("%+v, %v", res.r, res.err)
	}
}

func TestWaitReadyEndsWhenTheChildFails(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	ch := waitInBackground(context.Background(), path, ExpectPID(c.pid), Timeout(hangGuard))
	c.send("failed boom")
	res := receive(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Verdict != VerdictFailed || res.r.Message != "boom" {
		t.Fatalf("report %+v, want failed \"boom\"", res.r)
	}
}

func TestWaitReadyEndsWhenTheChildDiesBeforeReady(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	ch := waitInBackground(context.Background(), path, ExpectPID(c.pid), Timeout(hangGuard))
	c.exit()
	res := receive(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Verdict != VerdictProcessGone || res.r.State != StateStarting {
		t.Fatalf("report %v %v, want process_gone starting", res.r.Verdict, res.r.State)
	}
}

func TestWaitReadyOfAnAlreadyReadyEmitter(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetState(StateReady, "now"); err != nil {
		t.Fatal(err)
	}
	r, err := WaitReady(context.Background(), path, ExpectPID(0))
	if err != nil || r.Verdict != VerdictAlive || r.State != StateReady {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestWaitReadyIdleTimeoutGivesStale(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path) // starting, and no beat for an hour
	r, err := WaitReady(context.Background(), path, IdleTimeout(20*time.Millisecond), Timeout(hangGuard))
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictStale || r.State != StateStarting {
		t.Fatalf("report %v %v, want stale starting", r.Verdict, r.State)
	}
}

func TestWaitReadyHardTimeoutIsErrTimeout(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path)
	r, err := WaitReady(context.Background(), path, Timeout(20*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrCancelled) {
		t.Fatalf("err %v matches a context error", err)
	}
	if r.Verdict != VerdictAlive || r.State != StateStarting {
		t.Fatalf("report %v %v, want what was last seen: alive starting", r.Verdict, r.State)
	}
}

func TestWaitReadyIsCancelledByItsContext(t *testing.T) {
	path := heartbeatPath(t)
	c := startChild(t, path, 3600000)
	ctx, cancel := context.WithCancel(context.Background())
	ch := waitInBackground(ctx, path, ExpectPID(c.pid))
	cancel()
	res := receive(t, ch)
	if !errors.Is(res.err, context.Canceled) || !errors.Is(res.err, ErrCancelled) {
		t.Fatalf("err %v, want context.Canceled and ErrCancelled", res.err)
	}
	if errors.Is(res.err, ErrTimeout) {
		t.Fatalf("err %v matches ErrTimeout", res.err)
	}
	// The library reads the file before it looks at the token.
	if res.r.State != StateStarting || res.r.PID != int64(c.pid) {
		t.Fatalf("report %+v, want the child's starting heartbeat", res.r)
	}
}

func TestWaitReadyWithAnAlreadyCancelledContext(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := WaitReady(ctx, path)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if r.State != StateStarting {
		t.Fatalf("report %+v", r)
	}
}

func TestWaitReadyStopsAtTheContextDeadline(t *testing.T) {
	path := heartbeatPath(t)
	startEmitter(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r, err := WaitReady(ctx, path, Timeout(hangGuard))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want context.DeadlineExceeded and ErrTimeout", err)
	}
	if r.State != StateStarting {
		t.Fatalf("report %+v", r)
	}
}

func TestWaitReadyArgumentErrors(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]WaitOption{
		"negative pid":          {ExpectPID(-1)},
		"negative timeout":      {Timeout(-time.Second)},
		"negative idle timeout": {IdleTimeout(-time.Second)},
	}
	for name, opts := range cases {
		if _, err := WaitReady(ctx, heartbeatPath(t), opts...); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := WaitReady(ctx, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty path: %v, want ErrInvalidArgument", err)
	}
}

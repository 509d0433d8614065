package lifesign

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childModeEnv makes the test binary act as a heartbeat emitter process
// instead of running the tests; see runChild.
const childModeEnv = "LIFESIGN_GO_TEST_CHILD"

// hangGuard bounds every wait and polling loop of the tests: reaching it
// means a real hang, not a slow machine.
const hangGuard = 60 * time.Second

func TestMain(m *testing.M) {
	switch os.Getenv(childModeEnv) {
	case "":
	case unreferencedChild:
		os.Exit(runUnreferencedChild(os.Stdin, os.Stdout))
	default:
		os.Exit(runChild(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// runChild is the emitter child of the cross-process tests; it speaks the
// line protocol of tests/README.md (every line it prints starts with "@@ ").
// It starts from the environment (LIFESIGN_FILE, LIFESIGN_INTERVAL_MS),
// says "started pid=PID", then answers each command on stdin with "ok" or
// "err MESSAGE": starting|ready|stopping|failed [MESSAGE], beat, progress,
// meta KEY VALUE, stop, and exit (leave at once, without stopping and
// without an answer, as a crashing process would). At the end of its
// input it stops the emitter and exits 0.
func runChild(in io.Reader, out io.Writer) int {
	em, err := StartFromEnv()
	if err != nil {
		fmt.Fprintf(out, "@@ err %v\n", err)
		return 1
	}
	if em == nil {
		fmt.Fprintln(out, "@@ none")
		return 0
	}
	fmt.Fprintf(out, "@@ started pid=%d\n", os.Getpid())
	states := map[string]State{"starting": StateStarting, "ready": StateReady, "stopping": StateStopping, "failed": StateFailed}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, rest, _ := strings.Cut(sc.Text(), " ")
		var err error
		if state, ok := states[cmd]; ok && rest == "" {
			err = em.SetStateKeepMessage(state)
		} else if ok {
			err = em.SetState(state, rest)
		} else {
			switch cmd {
			case "beat":
				err = em.Beat()
			case "progress":
				err = em.Progress()
			case "meta":
				key, value, _ := strings.Cut(rest, " ")
				err = em.SetMeta(key, value)
			case "stop":
				err = em.Stop()
			case "exit":
				os.Exit(0)
			default:
				err = fmt.Errorf("unknown command %q", cmd)
			}
		}
		if err != nil {
			fmt.Fprintf(out, "@@ err %v\n", err)
		} else {
			fmt.Fprintln(out, "@@ ok")
		}
	}
	if err := em.Close(); err != nil {
		fmt.Fprintf(out, "@@ err %v\n", err)
		return 1
	}
	return 0
}

// child is a running emitter child, read through the line protocol.
type child struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	pid   int
}

// startChild starts the test binary as an emitter child writing path.
func startChild(t testing.TB, path string, intervalMs int) *child {
	t.Helper()
	return startChildAs(t, "1", path, intervalMs)
}

// startChildAs starts the test binary in the child mode named by mode
// (the value of LIFESIGN_GO_TEST_CHILD).
func startChildAs(t testing.TB, mode, path string, intervalMs int) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childModeEnv+"="+mode,
		"LIFESIGN_FILE="+path,
		"LIFESIGN_INTERVAL_MS="+strconv.Itoa(intervalMs),
		"NOTIFY_SOCKET=",
		"LIFESIGN_NOTIFY_FD=",
	)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		c.stdin.Close()
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	})
	if line, want := c.line(), fmt.Sprintf("started pid=%d", cmd.Process.Pid); line != want {
		t.Fatalf("child said %q, want %q", line, want)
	}
	c.pid = cmd.Process.Pid
	return c
}

// line reads the child's next protocol line, without its "@@ " marker.
func (c *child) line() string {
	c.t.Helper()
	for c.out.Scan() {
		if line, ok := strings.CutPrefix(c.out.Text(), "@@ "); ok {
			return line
		}
	}
	c.t.Fatalf("child output ended: %v", c.out.Err())
	return ""
}

// send gives the child a command and waits for its answer.
func (c *child) send(cmd string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		c.t.Fatalf("send %q: %v", cmd, err)
	}
	if got := c.line(); got != "ok" {
		c.t.Fatalf("child answered %q to %q", got, cmd)
	}
}

// exit makes the child leave at once without stopping its emitter, as a
// crashing process would, and waits for the process to end.
func (c *child) exit() {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.stdin, "exit"); err != nil {
		c.t.Fatalf("send exit: %v", err)
	}
	if err := c.cmd.Wait(); err != nil {
		c.t.Fatalf("child exit: %v", err)
	}
}

// heartbeatPath returns a path for a heartbeat file in a fresh folder.
func heartbeatPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "hb.json")
}

// startEmitter starts an emitter that never beats on its own during a test
// (1 h interval) and closes it at the end of the test.
func startEmitter(t testing.TB, path string, opts ...Option) *Emitter {
	t.Helper()
	em, err := Start(path, append([]Option{WithInterval(time.Hour), WithoutSystemd(), WithoutS6()}, opts...)...)
	if err != nil {
		t.Fatalf("Start(%q): %v", path, err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

// mustCheck runs Check and fails the test on an error.
func mustCheck(t testing.TB, path string, opts ...CheckOption) Report {
	t.Helper()
	r, err := Check(path, opts...)
	if err != nil {
		t.Fatalf("Check(%q): %v", path, err)
	}
	return r
}

// eventually re-runs Check until want(report) holds, failing only at the
// hang guard.
func eventually(t testing.TB, what string, path string, want func(Report) bool, opts ...CheckOption) Report {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		r := mustCheck(t, path, opts...)
		if want(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last report %+v", what, r)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

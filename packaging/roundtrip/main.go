// The install round trip of `make test-dist` for the Go module:
// `roundtrip FILE` starts `roundtrip emit FILE` as a child, waits for it to
// become ready, checks it, sees it keep beating while the child collects
// garbage with its emitter unreachable, kills it with SIGKILL and reads
// process_gone.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	lifesign "github.com/lifesign/lifesign/bindings/go"
)

// startAndDrop starts the emitter and keeps no reference to it.
//
//go:noinline
func startAndDrop(path string) error {
	e, err := lifesign.Start(path, lifesign.WithInterval(50*time.Millisecond))
	if err != nil {
		return err
	}
	fmt.Println("started")
	return e.SetState(lifesign.StateReady, "serving")
}

// emit runs an emitter nobody references, collecting garbage all the time:
// the emitter must keep beating.
func emit(path string) error {
	if err := startAndDrop(path); err != nil {
		return err
	}
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func expect(r lifesign.Report, v lifesign.Verdict, ready bool, when string) error {
	if r.Verdict != v || (ready && r.State != lifesign.StateReady) {
		return fmt.Errorf("%s: verdict %v state %v", when, r.Verdict, r.State)
	}
	return nil
}

func roundTrip(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "emit", path)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		return fmt.Errorf("the emitter did not start: %q %v", line, err)
	}
	pid := child.Process.Pid
	r, err := lifesign.WaitReady(context.Background(), path, lifesign.ExpectPID(pid), lifesign.Timeout(time.Minute))
	if err != nil {
		return err
	}
	if err := expect(r, lifesign.VerdictAlive, true, "wait"); err != nil {
		return err
	}
	// The beats are the evidence: a generous max age keeps a slow
	// machine's late beat from counting as stale.
	live := []lifesign.CheckOption{lifesign.ExpectPID(pid), lifesign.MaxAge(time.Minute)}
	if r, err = lifesign.Check(path, live...); err != nil {
		return err
	}
	if err := expect(r, lifesign.VerdictAlive, true, "check"); err != nil {
		return err
	}
	first := r.Seq
	for deadline := time.Now().Add(time.Minute); r.Seq < first+3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the unreferenced emitter stopped beating at seq %d", r.Seq)
		}
		if r, err = lifesign.Check(path, live...); err != nil {
			return err
		}
		if err := expect(r, lifesign.VerdictAlive, true, "check during garbage collection"); err != nil {
			return err
		}
	}
	fmt.Println("garbage collection: still beating")
	_ = child.Process.Kill()
	_ = child.Wait()
	if r, err = lifesign.Check(path); err != nil {
		return err
	}
	if err := expect(r, lifesign.VerdictProcessGone, false, "after kill -9"); err != nil {
		return err
	}
	fmt.Printf("link: %s\nversion: %s\nround trip: ok\n", lifesign.LinkMode, lifesign.Version())
	return nil
}

func main() {
	var err error
	if len(os.Args) == 3 && os.Args[1] == "emit" {
		err = emit(os.Args[2])
	} else {
		err = roundTrip(os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roundtrip:", err)
		os.Exit(1)
	}
}

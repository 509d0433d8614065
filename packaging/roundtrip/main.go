// The install round trip of `make test-dist` for the Go module:
// `roundtrip FILE` starts `roundtrip emit FILE` as a child, waits for it to
// become ready, checks it, kills it with SIGKILL and reads process_gone.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	lifesign "github.com/lifesign/lifesign/bindings/go"
)

func emit(path string) error {
	e, err := lifesign.Start(path, lifesign.WithInterval(time.Second))
	if err != nil {
		return err
	}
	fmt.Println("started")
	if err := e.SetState(lifesign.StateReady, "serving"); err != nil {
		return err
	}
	select {}
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
	r, err := lifesign.WaitReady(context.Background(), path, lifesign.WaitPID(pid), lifesign.Timeout(time.Minute))
	if err != nil {
		return err
	}
	if err := expect(r, lifesign.VerdictAlive, true, "wait"); err != nil {
		return err
	}
	if r, err = lifesign.Check(path, lifesign.ExpectPID(pid)); err != nil {
		return err
	}
	if err := expect(r, lifesign.VerdictAlive, true, "check"); err != nil {
		return err
	}
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

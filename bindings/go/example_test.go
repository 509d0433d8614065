package lifesign_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	lifesign "github.com/lifesign/lifesign/bindings/go"
)

// exampleDir is a fresh folder for one example's heartbeat file.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "lifesign-example-")
	if err != nil {
		log.Fatal(err)
	}
	return dir
}

// A worker announces its life: it starts an emitter, says when it is ready,
// and closes the emitter when it ends in order (the file then says
// "stopped"). Between the two, the library's own thread refreshes the file.
func Example_worker() {
	dir := exampleDir()
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "worker.json")

	em, err := lifesign.Start(path, lifesign.WithInterval(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	// ... set up ...
	if err := em.SetState(lifesign.StateReady, "serving"); err != nil {
		log.Fatal(err)
	}

	r, _ := lifesign.Check(path)
	fmt.Println(r.Verdict, r.State, r.Message)
	// Output: alive ready serving
}

// A supervisor checks a heartbeat file: the verdict is a result, not an
// error.
func ExampleCheck() {
	dir := exampleDir()
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "worker.json")

	r, err := lifesign.Check(path, lifesign.MaxAge(5*time.Second))
	if err != nil {
		log.Fatal(err) // only for bad arguments
	}
	fmt.Println(r.Verdict)

	em, _ := lifesign.Start(path)
	em.Close()
	r, _ = lifesign.Check(path)
	fmt.Println(r.Verdict, r.State)
	// Output:
	// missing
	// stopped stopped
}

// A launcher waits until the process it started is ready, or the library
// decides it never will be.
func ExampleWaitReady() {
	dir := exampleDir()
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "worker.json")

	// The worker: here a goroutine, usually another process.
	em, _ := lifesign.Start(path)
	defer em.Close()
	go em.SetState(lifesign.StateReady, "")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := lifesign.WaitReady(ctx, path, lifesign.ExpectPID(os.Getpid()))
	switch {
	case errors.Is(err, lifesign.ErrTimeout):
		fmt.Println("not ready in time; last seen:", r.Verdict, r.State)
	case err != nil:
		log.Fatal(err)
	case r.Verdict == lifesign.VerdictAlive && r.State == lifesign.StateReady:
		fmt.Println("ready")
	default:
		fmt.Println("never ready:", r.Verdict, r.Detail)
	}
	// Output: ready
}

// A program started by a launcher that sets LIFESIGN_FILE (and maybe
// LIFESIGN_INTERVAL_MS) beats there; without it, StartFromEnv does nothing.
func ExampleStartFromEnv() {
	os.Unsetenv("LIFESIGN_FILE")
	em, err := lifesign.StartFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	if em == nil {
		fmt.Println("no LIFESIGN_FILE: no heartbeat")
		return
	}
	defer em.Close()
	// Output: no LIFESIGN_FILE: no heartbeat
}

// A work loop counts progress, so that a checker with StallAfter can tell a
// live but stuck worker (VerdictStalled) from a working one.
func ExampleEmitter_Progress() {
	dir := exampleDir()
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "worker.json")

	em, _ := lifesign.Start(path)
	defer em.Close()
	em.SetState(lifesign.StateReady, "")
	for i := 0; i < 3; i++ {
		// ... one unit of work ...
		em.Progress()
	}
	em.Beat() // the next beat writes the count; Beat writes it now

	r, _ := lifesign.Check(path, lifesign.StallAfter(time.Minute))
	fmt.Println(r.Verdict, r.Progress)
	// Output: alive 3
}

// A Report marshals with the protocol's names, as the Rust library and the
// command-line tool write it.
func ExampleReport_MarshalJSON() {
	r := lifesign.Report{Verdict: lifesign.VerdictAlive, State: lifesign.StateReady, PID: 42, Seq: 7,
		UpdatedAtMs: 1700000000000, Age: 250 * time.Millisecond, Interval: time.Second,
		MaxAge: 3 * time.Second, Shape: lifesign.ShapeV1}
	data, _ := json.Marshal(r)
	fmt.Println(string(data))
	// Output: {"verdict":"alive","state":"ready","pid":42,"seq":7,"progress":0,"progress_at_ms":null,"progress_age_ms":0,"updated_at_ms":1700000000000,"age_ms":250,"interval_ms":1000,"max_age_ms":3000,"message":"","shape":"v1","detail":""}
}

package lifesign

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEveryVerdictStateAndShapeRoundTripsThroughItsName(t *testing.T) {
	for _, v := range verdicts {
		text, err := v.MarshalText()
		if err != nil || string(text) != v.String() || string(text) == "unknown" {
			t.Fatalf("Verdict(%d).MarshalText() = %q, %v", v, text, err)
		}
		var back Verdict
		if err := back.UnmarshalText(text); err != nil || back != v {
			t.Fatalf("UnmarshalText(%q) = %v, %v", text, back, err)
		}
	}
	for _, s := range states {
		text, err := s.MarshalText()
		var back State
		if err != nil || back.UnmarshalText(text) != nil || back != s {
			t.Fatalf("State %d: %q, %v, back %v", s, text, err, back)
		}
	}
	for _, s := range shapes {
		text, err := s.MarshalText()
		var back Shape
		if err != nil || back.UnmarshalText(text) != nil || back != s {
			t.Fatalf("Shape %d: %q, %v, back %v", s, text, err, back)
		}
	}
	if _, err := StateNone.MarshalText(); err == nil {
		t.Error("StateNone has a name")
	}
	var v Verdict
	if err := v.UnmarshalText([]byte("sleeping")); err == nil || !strings.Contains(err.Error(), "alive, missing") {
		t.Errorf("unknown verdict name: %v, want an error listing the names", err)
	}
}

// rustReportFields are the field names of the Rust library's Report as
// serde writes them (src/check.rs), less `monotonic`, which the C report
// does not carry.
var rustReportFields = []string{"verdict", "state", "pid", "seq", "progress", "progress_at_ms",
	"progress_age_ms", "updated_at_ms", "age_ms", "interval_ms", "max_age_ms", "message", "shape", "detail"}

func TestAReportMarshalsToJSONWithTheProtocolsNames(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetState(StateReady, "serving"); err != nil {
		t.Fatal(err)
	}
	if err := em.Progress(); err != nil {
		t.Fatal(err)
	}
	if err := em.Beat(); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, path)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range rustReportFields {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s lacks %q", data, name)
		}
	}
	if len(fields) != len(rustReportFields) {
		t.Errorf("%s has %d fields, want %d", data, len(fields), len(rustReportFields))
	}
	if fields["verdict"] != "alive" || fields["state"] != "ready" || fields["shape"] != "v1" ||
		fields["pid"] != float64(os.Getpid()) || fields["interval_ms"] != float64(3600000) {
		t.Errorf("%s", data)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
	}

	// A file that did not parse: state and progress_at_ms are null.
	missing, _ := Check(heartbeatPath(t))
	data, err = json.Marshal(missing)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"state":null`) || !strings.Contains(string(data), `"progress_at_ms":null`) ||
		!strings.Contains(string(data), `"verdict":"missing"`) {
		t.Errorf("missing file: %s", data)
	}
	if err := json.Unmarshal(data, &back); err != nil || back.HasState() || back.Verdict != VerdictMissing {
		t.Errorf("missing file round trip: %+v, %v", back, err)
	}
}

func TestExpectPIDIsTheOnePIDOptionOfCheckAndWaitReady(t *testing.T) {
	path := heartbeatPath(t)
	em := startEmitter(t, path)
	if err := em.SetStateKeepMessage(StateReady); err != nil {
		t.Fatal(err)
	}
	other := ExpectPID(os.Getpid() + 1)
	if r := mustCheck(t, path, other); r.Verdict != VerdictPIDMismatch {
		t.Fatalf("Check with another PID: %v", r.Verdict)
	}
	r, err := WaitReady(context.Background(), path, ExpectPID(os.Getpid()), Timeout(hangGuard))
	if err != nil || r.Verdict != VerdictAlive || r.State != StateReady {
		t.Fatalf("WaitReady with our PID: %+v, %v", r, err)
	}
	// The deprecated name is the same option.
	if WaitPID(7) != WaitOption(ExpectPID(7)) {
		t.Fatal("WaitPID is not ExpectPID")
	}
	_, err = WaitReady(context.Background(), path, ExpectPID(-1), Timeout(time.Second))
	if err == nil || !strings.HasPrefix(err.Error(), "lifesign: WaitReady "+path+": ") {
		t.Fatalf("WaitReady with a negative PID: %v", err)
	}
}

package lifesign

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchDir returns a folder on tmpfs when there is one (LIFESIGN_BENCH_DIR,
// then /dev/shm), else the test's temporary folder.
func benchDir(b *testing.B) string {
	b.Helper()
	for _, base := range []string{os.Getenv("LIFESIGN_BENCH_DIR"), "/dev/shm"} {
		if base == "" {
			continue
		}
		if dir, err := os.MkdirTemp(base, "lifesign-go-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return b.TempDir()
}

// BenchmarkCheck measures Check (lifesign_check) of a heartbeat kept by a
// separate process.
func BenchmarkCheck(b *testing.B) {
	path := filepath.Join(benchDir(b), "hb.json")
	c := startChild(b, path, 3600000)
	c.send("ready")
	if r, err := Check(path); err != nil || r.Verdict != VerdictAlive {
		b.Fatalf("%+v, %v", r, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Check(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeat measures Beat (lifesign_beat: one atomic file write).
func BenchmarkBeat(b *testing.B) {
	path := filepath.Join(benchDir(b), "hb.json")
	em, err := Start(path, WithInterval(time.Hour), WithoutSystemd(), WithoutS6())
	if err != nil {
		b.Fatal(err)
	}
	defer em.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := em.Beat(); err != nil {
			b.Fatal(err)
		}
	}
}

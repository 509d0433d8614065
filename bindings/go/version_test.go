package lifesign

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareLibraryVersionAcceptsOnlyTheSameMajorMinor(t *testing.T) {
	for _, c := range []struct {
		library string
		ok      bool
	}{
		{"0.2.0", true}, {"0.2.7", true}, {"0.3.0", false}, {"0.1.0", false},
		{"1.2.0", false}, {"", false}, {"garbage", false},
	} {
		err := compareLibraryVersion(c.library, "0.2.0", "/lib/liblifesign.so")
		if (err == nil) != c.ok {
			t.Errorf("library %q: err %v", c.library, err)
		}
		if err != nil && !errors.Is(err, ErrLibraryVersion) {
			t.Errorf("library %q: %v is not ErrLibraryVersion", c.library, err)
		}
	}
}

// run-tests.sh runs this test alone against a real library of the next
// minor version (tests/abi/mismatched-lib.sh), linked dynamically through a
// link named as this version's SONAME: every entry point refuses it with
// one error naming both versions and the library's file.
func TestALibraryOfAnotherABIIsRefused(t *testing.T) {
	want := os.Getenv("LIFESIGN_GO_EXPECT_MISMATCH")
	if want == "" {
		t.Skip("run by run-tests.sh against a library of another minor (LIFESIGN_GO_EXPECT_MISMATCH)")
	}
	if Version() != want {
		t.Fatalf("linked lifesign %s, want the mismatched %s", Version(), want)
	}
	path := filepath.Join(t.TempDir(), "hb.json")
	_, checkErr := Check(path)
	_, startErr := Start(path)
	_, waitErr := WaitReady(context.Background(), path, Timeout(1))
	_, envErr := StartFromEnv()
	for _, err := range []error{checkErr, startErr, waitErr, envErr} {
		if !errors.Is(err, ErrLibraryVersion) {
			t.Fatalf("error %v is not ErrLibraryVersion", err)
		}
		msg := err.Error()
		for _, part := range []string{"is lifesign " + want, "lifesign.h " + HeaderVersion, libraryFile()} {
			if !strings.Contains(msg, part) {
				t.Errorf("%q does not say %q", msg, part)
			}
		}
	}
	if IsAlive(path, 0) {
		t.Error("IsAlive is true on a library of another ABI")
	}
	t.Log(checkErr)
}

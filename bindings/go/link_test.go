package lifesign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func resolved(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func TestTheLibraryIsLinkedAsTheBuildTagsSay(t *testing.T) {
	file := libraryFile()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LinkMode %s; library code from %q", LinkMode, file)
	switch LinkMode {
	case "static":
		if file != "" && resolved(t, file) != resolved(t, exe) {
			t.Fatalf("static build, yet the library code comes from %s", file)
		}
	case "dynamic", "pkg-config":
		if !strings.HasPrefix(filepath.Base(file), "liblifesign.so") {
			t.Fatalf("%s build, yet the library code comes from %q", LinkMode, file)
		}
		if want := os.Getenv("LIFESIGN_GO_EXPECT_LIB"); want != "" && resolved(t, file) != resolved(t, want) {
			t.Fatalf("library loaded from %s, the run expected %s", resolved(t, file), want)
		}
	default:
		t.Fatalf("unknown LinkMode %q", LinkMode)
	}
	if want := os.Getenv("LIFESIGN_GO_EXPECT_LINK"); want != "" && want != LinkMode {
		t.Fatalf("LinkMode %q, the run expected %q", LinkMode, want)
	}
}

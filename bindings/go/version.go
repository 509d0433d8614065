package lifesign

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrLibraryVersion is matched (errors.Is) by the error that Start,
// StartFromEnv, Check and WaitReady return when the linked library is of
// another ABI (another major.minor) than the lifesign.h this package was
// compiled against; IsAlive then reports false. The error names both
// versions and the library's file. It cannot happen with the default static
// link; a dynamic build can meet it when a link named as the SONAME points
// to a library of another version.
var ErrLibraryVersion = errors.New("lifesign: the linked library is of another ABI than lifesign.h")

// libraryVersionError is the result of comparing the linked library with
// lifesign.h, made once.
var libraryVersionError = sync.OnceValue(func() error {
	return compareLibraryVersion(Version(), HeaderVersion, libraryFile())
})

func compareLibraryVersion(library, header, file string) error {
	majorMinor := func(v string) string { return strings.Join(strings.SplitN(v, ".", 3)[:2], ".") }
	if strings.Count(library, ".") >= 1 && majorMinor(library) == majorMinor(header) {
		return nil
	}
	return fmt.Errorf("%w: %s is lifesign %s, but this package was compiled against lifesign.h %s; "+
		"another major.minor is another ABI: link the library of lifesign %s, or use the package of lifesign %s",
		ErrLibraryVersion, file, library, header, majorMinor(header), library)
}

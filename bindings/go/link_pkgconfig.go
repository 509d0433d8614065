//go:build lifesign_pkgconfig

package lifesign

// With the build tag lifesign_pkgconfig the compiler and linker flags come
// from the installed lifesign.pc (`pkg-config --cflags --libs lifesign`);
// set PKG_CONFIG_PATH when it is not in the default search path.

// #cgo pkg-config: lifesign
import "C"

// LinkMode tells how this build of the package was linked to liblifesign:
// "static" (default), "dynamic" (build tag lifesign_dynamic) or
// "pkg-config" (build tag lifesign_pkgconfig).
const LinkMode = "pkg-config"

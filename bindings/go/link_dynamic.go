//go:build lifesign_dynamic && !lifesign_pkgconfig

package lifesign

// With the build tag lifesign_dynamic the package links the shared library
// from the repository's own build output and records that folder as the
// run-time search path (RUNPATH). The library's SONAME is liblifesign.so.0.2,
// so that name must exist at run time: either next to liblifesign.so in
// target/release, or in a folder named by LD_LIBRARY_PATH (searched first).

// #cgo CFLAGS: -I${SRCDIR}/build/include -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -llifesign -Wl,-rpath,${SRCDIR}/../../target/release
import "C"

// LinkMode tells how this build of the package was linked to liblifesign:
// "static" (default), "dynamic" (build tag lifesign_dynamic) or
// "pkg-config" (build tag lifesign_pkgconfig).
const LinkMode = "dynamic"

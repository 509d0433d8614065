//go:build !lifesign_pkgconfig && !lifesign_dynamic

package lifesign

// The default build links the static library from the repository's own
// build output (run `make build` at the repository root first).
// The paths are relative to this folder, so nothing depends on where the
// checkout lives, and the resulting binaries need no liblifesign.so at run
// time. The extra system libraries are those Rust's standard library needs.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/liblifesign.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"

// LinkMode tells how this build of the package was linked to liblifesign:
// "static" (default), "dynamic" (build tag lifesign_dynamic) or
// "pkg-config" (build tag lifesign_pkgconfig).
const LinkMode = "static"

//go:build !lifesign_pkgconfig && !lifesign_dynamic

package lifesign

// The default build links liblifesign.a statically, so binaries need no
// liblifesign.so at run time. Two places are searched, in this order:
//
//   - build/include and build/<goos>-<goarch> inside this module: a released
//     module carries the header and a prebuilt, stripped liblifesign.a there
//     (the layout wasmtime-go uses), so `go get` needs no Rust and no checkout;
//   - ../../include and ../../target/release: the repository's own header and
//     build output (run `make build` at the repository root), used
//     when building from a checkout, where build/ does not exist.
//
// -l:liblifesign.a names the archive, so a liblifesign.so beside it is never
// picked. The extra system libraries are those Rust's standard library needs.
//
// A released module carries build/linux-amd64 and build/linux-arm64 (glibc
// 2.17 or later) and build/linux-amd64-musl and build/linux-arm64-musl (musl,
// for Alpine): cgo cannot tell the C library apart, so a musl build says so
// with the build tag lifesign_musl (`go build -tags lifesign_musl`). The musl
// archive carries its own unwinder and needs only libc.

// #cgo CFLAGS: -I${SRCDIR}/build/include -I${SRCDIR}/../../include
// #cgo linux,amd64,!lifesign_musl LDFLAGS: -L${SRCDIR}/build/linux-amd64
// #cgo linux,arm64,!lifesign_musl LDFLAGS: -L${SRCDIR}/build/linux-arm64
// #cgo linux,amd64,lifesign_musl LDFLAGS: -L${SRCDIR}/build/linux-amd64-musl
// #cgo linux,arm64,lifesign_musl LDFLAGS: -L${SRCDIR}/build/linux-arm64-musl
// #cgo !lifesign_musl LDFLAGS: -L${SRCDIR}/../../target/release -l:liblifesign.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
// #cgo lifesign_musl LDFLAGS: -L${SRCDIR}/../../target/release -l:liblifesign.a -lc
import "C"

// LinkMode tells how this build of the package was linked to liblifesign:
// "static" (default), "dynamic" (build tag lifesign_dynamic) or
// "pkg-config" (build tag lifesign_pkgconfig).
const LinkMode = "static"

//go:build !cgo

package lifesign

// This package calls liblifesign, a C library, through cgo, and has no
// pure-Go fallback: a heartbeat that cannot be written would only let a
// supervisor declare a running program dead. A build without cgo
// (CGO_ENABLED=0, or a cross-compilation without a C compiler) therefore
// stops here, with the reason in the name below, rather than producing a
// program that fails when it runs. Build with CGO_ENABLED=1 and a C
// compiler (gcc or clang); see README.md.
var _ = lifesign_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler

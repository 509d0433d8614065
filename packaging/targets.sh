# The Linux targets of a release, shared by dist.sh and test-dist.sh
# (sourced after common.sh; docs/INSTALL.md has the table).
#
#   x86_64-unknown-linux-gnu    glibc 2.17 symbol versions (cargo zigbuild)
#   aarch64-unknown-linux-gnu   glibc 2.17 symbol versions (cargo zigbuild)
#   x86_64-unknown-linux-musl   musl 1.2: liblifesign.so for musl hosts,
#   aarch64-unknown-linux-musl  a self-contained liblifesign.a, and the
#                               fully static `lifesign` tool
#
# LIFESIGN_TARGETS (space-separated triples) narrows a run to some of them.

ALL_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
read -r -a TARGETS <<<"${LIFESIGN_TARGETS:-${ALL_TARGETS[*]}}"
GLIBC_BASELINE="${LIFESIGN_GLIBC:-2.17}"
# musllinux_1_2: the musl version whose symbols the musl builds may use
# (Rust's musl targets are built against musl 1.2.3).
MUSL_BASELINE=1.2

# target_vars TRIPLE: sets, for one target,
#   T_TRIPLE   the Rust triple
#   T_ARCH     x86_64 or aarch64;   T_LIBC  gnu or musl
#   T_NAME     x86_64-linux-gnu, ...: in the tarball's name
#   T_NODE     the npm package's prebuilds/ folder: linux-x64-gnu, linux-arm64-musl, ...
#   T_GO       the Go module's build/ folder: linux-amd64, linux-arm64-musl, ...
#   T_GOARCH   amd64 or arm64
#   T_WHEEL    the wheel's platform tag: manylinux_2_17_x86_64, musllinux_1_2_aarch64, ...
#   T_BASELINE what the artifacts need: "glibc 2.17", "musl 1.2"
#   T_ZIG      the target for cargo zigbuild (glibc targets carry the baseline)
#   T_STRIP, T_OBJDUMP, T_AR  binutils that read this architecture
#   T_ZIGCC    the zig cc target of a C program for this target
#   T_EMULATOR empty, or qemu-aarch64-static on another architecture
target_vars() {
    T_TRIPLE="$1"
    case "$1" in
        x86_64-unknown-linux-gnu | x86_64-unknown-linux-musl | aarch64-unknown-linux-gnu | aarch64-unknown-linux-musl) ;;
        *) echo "targets.sh: unknown target $1 (known: ${ALL_TARGETS[*]})" >&2; return 1 ;;
    esac
    T_ARCH="${1%%-*}"
    T_LIBC="${1##*-}"
    T_NAME="$T_ARCH-linux-$T_LIBC"
    local node_arch go_arch
    if [[ "$T_ARCH" == x86_64 ]]; then node_arch=x64 go_arch=amd64; else node_arch=arm64 go_arch=arm64; fi
    T_NODE="linux-$node_arch-$T_LIBC"
    T_GOARCH="$go_arch"
    T_GO="linux-$go_arch"
    if [[ "$T_LIBC" == gnu ]]; then
        T_WHEEL="manylinux_${GLIBC_BASELINE/./_}_$T_ARCH"
        T_BASELINE="glibc $GLIBC_BASELINE"
        T_ZIG="$1.$GLIBC_BASELINE"
        T_ZIGCC="$T_ARCH-linux-gnu.$GLIBC_BASELINE"
    else
        T_GO="$T_GO-musl"
        T_WHEEL="musllinux_${MUSL_BASELINE/./_}_$T_ARCH"
        T_BASELINE="musl $MUSL_BASELINE"
        T_ZIG="$1"
        T_ZIGCC="$T_ARCH-linux-musl"
    fi
    if [[ "$T_ARCH" == "$(uname -m)" ]]; then
        T_STRIP=strip T_OBJDUMP=objdump T_AR=ar T_EMULATOR=""
    else
        T_STRIP="$T_ARCH-linux-gnu-strip" T_OBJDUMP="$T_ARCH-linux-gnu-objdump" T_AR="$T_ARCH-linux-gnu-ar"
        T_EMULATOR="qemu-$T_ARCH-static"
    fi
}

# The system libraries a program linking this target's liblifesign.a needs
# (rustc's --print native-static-libs for glibc; the musl archive carries
# its unwinder, see dist.sh, and needs only libc).
target_static_libs() {
    if [[ "$T_LIBC" == gnu ]]; then echo "gcc_s util rt pthread m dl c"; else echo "c"; fi
}

# check_baseline FILE: FILE needs no more than this target's baseline, or
# the run fails. glibc: the highest GLIBC_x.y symbol version; musl: the
# shared library needs only libc.so, and the tool is fully static (no
# program interpreter, no shared library at all).
check_baseline() {
    local f="$1" need
    if [[ "$T_LIBC" == gnu ]]; then
        need="$(max_glibc "$f" "$T_OBJDUMP")"
        version_le "$need" "$GLIBC_BASELINE" || { echo "$f needs GLIBC_$need, above the baseline $GLIBC_BASELINE" >&2; return 1; }
        echo "$(basename "$f"): GLIBC_$need <= $GLIBC_BASELINE"
        return 0
    fi
    local needed
    needed="$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    case "$f" in
        *.so*)
            [[ "$needed" == "libc.musl-$T_ARCH.so.1 " ]] ||
                { echo "$f needs [$needed], expected only musl's libc.musl-$T_ARCH.so.1" >&2; return 1; }
            echo "$(basename "$f"): needs only libc.musl-$T_ARCH.so.1"
            ;;
        *)
            if readelf -l "$f" | grep -q 'INTERP' || [[ -n "$needed" ]]; then
                echo "$f is not fully static: interpreter or [$needed]" >&2
                return 1
            fi
            echo "$(basename "$f"): fully static, no interpreter, no shared library"
            ;;
    esac
}

# The steps of test-dist.sh for the targets other than the host's own
# (sourced by it, after targets.sh; uses its user, fail, expect_lib, $tmp,
# $rt). Each step takes a target triple: "name:triple" in the step list.
#
# How a target's programs run here:
#   - x86_64 musl: natively; a dynamically linked program names musl's
#     loader (/lib/ld-musl-x86_64.so.1, Debian's musl package) as its
#     interpreter;
#   - aarch64: under qemu-aarch64-static (Debian's qemu-user-static). Every
#     round trip starts a child of the same architecture, so the kernel must
#     hand aarch64 programs to qemu: each run registers Debian's binfmt_misc
#     entry for it in a private binfmt_misc instance of a new user and mount
#     namespace (Linux 6.7 or later), which changes nothing on the host; a
#     system-wide registration is used instead where one exists. The
#     programs' own libraries (glibc, musl's loader, CPython) come from
#     Debian's arm64 packages, unpacked by sysroot.sh into $ARM64_SYSROOT
#     (qemu's QEMU_LD_PREFIX).
# C programs for the target are compiled by musl-gcc (x86_64 musl) or
# `zig cc` (aarch64; the zig of make dist's venv).

ARM64_SYSROOT="${LIFESIGN_ARM64_SYSROOT:-$root/target/dist-sysroot/arm64}"
DIST_VENV="$root/target/dist-venv"

# The per-target steps for the targets of this run, in order.
target_steps() {
    local t
    for t in "${TARGETS[@]}"; do
        target_vars "$t"
        [[ "$T_ARCH" == "$(uname -m)" && "$T_LIBC" == gnu ]] && continue
        echo "features:$t c_target:$t"
        [[ "$T_LIBC" == musl ]] && echo "static_cli:$t"
        [[ "$T_LIBC" == musl && "$T_ARCH" == "$(uname -m)" ]] && echo "go_musl:$t"
        [[ "$T_ARCH" == aarch64 && "$T_LIBC" == gnu ]] && echo "python_target:$t"
    done
    return 0
}

# target_run CMD...: runs CMD as a user of this target would (see above).
target_run() {
    if [[ -z "$T_EMULATOR" ]]; then
        user "$@"
        return
    fi
    local name="qemu-$T_ARCH"
    if [[ -r "/proc/sys/fs/binfmt_misc/$name" ]] && grep -qx enabled "/proc/sys/fs/binfmt_misc/$name"; then
        user env QEMU_LD_PREFIX="$ARM64_SYSROOT" "$@"
        return
    fi
    local conf="/usr/lib/binfmt.d/$name.conf"
    [[ -f "$conf" ]] || fail "no $conf: install qemu-user-static"
    # shellcheck disable=SC2016
    user env QEMU_LD_PREFIX="$ARM64_SYSROOT" unshare --user --map-root-user --mount --fork sh -c '
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
            { echo "binfmt_misc cannot be mounted in a user namespace here (Linux 6.7 or later);" \
                "register qemu-user-static system-wide (binfmt-support) instead" >&2; exit 97; }
        grep -v "^#" "$0" > /proc/sys/fs/binfmt_misc/register
        exec "$@"' "$conf" "$@"
}

# target_cc ARGS...: the target's C compiler.
target_cc() {
    if [[ "$T_ARCH" == "$(uname -m)" && "$T_LIBC" == musl ]]; then
        user musl-gcc "$@"
    elif [[ "$T_LIBC" == musl ]]; then
        # zig links musl statically unless told otherwise.
        user "$DIST_VENV/bin/python" -m ziglang cc -target "$T_ZIGCC" -dynamic "$@"
    else
        user "$DIST_VENV/bin/python" -m ziglang cc -target "$T_ZIGCC" "$@"
    fi
}

# Unpacks the target's tarball into $tmp/<name>/prefix and builds the round
# trip against it, linked to the shared and to the static library (once).
build_c_target() {
    local d="$tmp/$T_NAME" tarball="$DIST_DIR/lifesign-$VERSION-$T_NAME.tar.gz"
    [[ -x "$d/build/c_static" ]] && return 0
    [[ -f "$tarball" ]] || fail "$tarball is missing"
    mkdir -p "$d/prefix" "$d/build" "$d/run"
    tar -xzf "$tarball" -C "$d/prefix" --strip-components=1
    export PKG_CONFIG_PATH="$d/prefix/lib/pkgconfig"
    # shellcheck disable=SC2046
    target_cc -Wall -Wextra -Werror -O2 "$rt/roundtrip.c" $(pkg-config --cflags --libs lifesign) \
        -Wl,-rpath,"$d/prefix/lib" -ldl -o "$d/build/c_shared"
    # shellcheck disable=SC2046
    target_cc -Wall -Wextra -Werror -O2 "$rt/roundtrip.c" $(pkg-config --cflags --libs lifesign-static) \
        -o "$d/build/c_static"
    unset PKG_CONFIG_PATH
}

# Which of lifesign's optional kernel features the target's runner
# provides; the round trips below then say which path ran.
step_features() {
    target_vars "$1"
    local d="$tmp/$T_NAME-features"
    mkdir -p "$d"
    target_cc -Wall -Wextra -Werror -O2 "$rt/features.c" -o "$d/features"
    local how="natively"
    [[ -n "$T_EMULATOR" ]] && how="under $($T_EMULATOR --version | head -n 1)"
    echo "$T_TRIPLE $how:"
    target_run "$d/features" "$d" | sed 's/^/  /'
}

# The C round trip, shared and static, from the target's tarball; then the
# wheel's and the npm package's copies of the library are the same file.
step_c_target() {
    target_vars "$1"
    build_c_target
    local d="$tmp/$T_NAME" exe out
    for exe in c_shared c_static; do
        out="$(cd "$d/run" && target_run "$d/build/$exe" "$d/run/$exe.json")" || fail "$exe: $out"
        echo "$exe ($T_TRIPLE${T_EMULATOR:+, $T_EMULATOR}):"
        if [[ "$exe" == c_shared ]]; then
            expect_lib "$out" "$d/prefix/lib"
            [[ "$T_LIBC" == musl ]] && { readelf -l "$d/build/$exe" | grep -o 'ld-musl-[a-z0-9_]*\.so\.1' | head -n 1 |
                sed 's/^/interpreter: /'; }
        else
            expect_lib "$out" "$d/build"
        fi
        lock_path "$out"
    done
    # The same library in every package of this target.
    local so wheel="$DIST_DIR/lifesign-$VERSION-py3-none-$T_WHEEL.whl"
    so="$(realpath "$d/prefix/lib/liblifesign.so")"
    mkdir -p "$d/pkgs"
    python3 -m zipfile -e "$wheel" "$d/pkgs/wheel"
    tar -xzf "$DIST_DIR/lifesign-$VERSION.tgz" -C "$d/pkgs"
    cmp "$so" "$d/pkgs/wheel/lifesign/liblifesign.so" || fail "the $T_WHEEL wheel's library differs from the tarball's"
    cmp "$so" "$d/pkgs/package/prebuilds/$T_NODE/liblifesign.so" || fail "prebuilds/$T_NODE differs from the tarball's library"
    echo "$(basename "$wheel") and prebuilds/$T_NODE carry this same liblifesign.so"
}

# lock_path OUTPUT: says how the round trip's last check found process_gone.
lock_path() {
    local gone
    gone="$(sed -n 's/^gone: //p' <<<"$1")"
    case "$gone" in
        *"lifetime lock is free"*) echo "process_gone through the lifetime lock: $gone" ;;
        "") fail "the round trip did not say how process_gone was found" ;;
        *) echo "process_gone without the lifetime lock (its fallback): $gone" ;;
    esac
}

# The static tool as a probe where nothing else exists: a root folder that
# holds only bin/lifesign and the heartbeat (with its lock file), entered
# with chroot in new user, mount and PID namespaces, as a container with
# another PID namespace sees a sidecar's heartbeat, with the /proc a
# container runtime mounts (and, for the record, with none). The emitter is
# the C round trip's, outside.
step_static_cli() {
    target_vars "$1"
    build_c_target
    local d="$tmp/$T_NAME" box="$tmp/$T_NAME-box" tarball="$DIST_DIR/lifesign-$VERSION-$T_NAME.tar.gz"
    rm -rf "$box"
    # proc/: the mount point a container runtime mounts /proc on.
    mkdir -p "$box/bin" "$box/run" "$box/proc"
    tar -xzf "$tarball" -C "$box/bin" --strip-components=2 "lifesign-$VERSION-$T_NAME/bin/lifesign"
    check_baseline "$box/bin/lifesign"
    # in_box [--proc] ARGS...: bin/lifesign ARGS in the empty root.
    in_box() {
        local mount_proc=""
        if [[ "$1" == --proc ]]; then mount_proc="mount -t proc proc \"\$0/proc\" &&"; shift; fi
        # shellcheck disable=SC2016
        target_run unshare --user --map-root-user --mount --pid --fork sh -c \
            "$mount_proc exec chroot \"\$0\" /bin/lifesign \"\$@\"" "$box" "$@"
    }
    echo "in $box: $(cd "$box" && find . -mindepth 1 | sort | paste -sd' ')"
    out="$(in_box --version)" || fail "lifesign --version in the empty root: $out"
    echo "lifesign --version: $out"
    # The emitter, outside the box: the C round trip's emit mode.
    local fifo="$d/emitter.out" line pid
    rm -f "$fifo"
    mkfifo "$fifo"
    # (Its stderr aside: unshare complains when its child is killed.)
    (cd "$d/run" && target_run "$d/build/c_static" emit "$box/run/hb.json") >"$fifo" 2>"$d/emitter.err" &
    local emitter=$!
    read -r line <"$fifo" || true
    [[ "$line" == started ]] || { kill "$emitter"; cat "$d/emitter.err"; fail "the emitter did not start: $line"; }
    # The emitter's own pid, as its heartbeat states it.
    pid="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' "$box/run/hb.json")"
    echo "emitter pid $pid writes $box/run/hb.json"
    local rc=0
    out="$(in_box --proc wait /run/hb.json --timeout 60s)" || rc=$?
    [[ "$rc" -eq 0 ]] || { kill -9 "$pid"; fail "wait in the box: exit $rc: $out"; }
    out="$(in_box --proc check /run/hb.json --json)" || { kill -9 "$pid"; fail "check in the box: $out"; }
    grep -q '"verdict":"alive"' <<<"$out" || { kill -9 "$pid"; fail "not alive: $out"; }
    echo "wait, then check (another PID namespace, /proc mounted): alive"
    rc=0
    out="$(in_box check /run/hb.json --json)" || rc=$?
    echo "check with no /proc at all: exit $rc: $(grep -o '"verdict":"[a-z_]*"' <<<"$out")"
    kill -9 "$pid"
    { wait "$emitter" || true; } 2>/dev/null
    rc=0
    out="$(in_box --proc check /run/hb.json --json)" || rc=$?
    [[ "$rc" -eq 1 ]] && grep -q '"verdict":"process_gone"' <<<"$out" || fail "after kill -9: exit $rc: $out"
    echo "after kill -9: exit 1, $(grep -o '"detail":"[^"]*"' <<<"$out")"
    grep -q 'lifetime lock is free' <<<"$out" || fail "process_gone was not found through the lifetime lock: $out"
    # With no /proc the checker cannot read this kernel's boot id, so it
    # cannot know the lock file is on its own kernel: the lock is not
    # consulted and the file's age decides (docs/PROTOCOL.md, section 10).
    rc=0
    out="$(in_box check /run/hb.json --json)" || rc=$?
    echo "after kill -9, no /proc at all: exit $rc, $(grep -o '"verdict":"[a-z_]*"' <<<"$out")" \
        "(no boot id: the lock is not consulted; the file's age decides)"
}

# The manylinux aarch64 wheel with Debian's CPython for arm64, installed
# for that platform by pip (as a cross-building image step does) and run
# under the emulator.
step_python_target() {
    target_vars "$1"
    local d="$tmp/$T_NAME-py" wheel="$DIST_DIR/lifesign-$VERSION-py3-none-$T_WHEEL.whl" out
    local python="$ARM64_SYSROOT/usr/bin/python3.11"
    [[ -x "$python" ]] || fail "no $python: run packaging/sysroot.sh arm64 $ARM64_SYSROOT"
    mkdir -p "$d/run"
    user python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --no-index \
        --platform "$T_WHEEL" --only-binary=:all: --target "$d/site" "$wheel"
    echo "python: $(target_run "$python" -c 'import platform, sys; print(sys.version.split()[0], platform.machine())')"
    out="$(cd "$d/run" && target_run env PYTHONPATH="$d/site" "$python" "$rt/roundtrip.py" "$d/run/hb.json")" || fail "$out"
    expect_lib "$out" "$d/site"
}

# The Go module on musl (x86_64): cgo with musl-gcc and the build tag
# lifesign_musl links build/linux-amd64-musl; linked fully static, as
# Alpine images often are.
step_go_musl() {
    target_vars "$1"
    local g="$tmp/$T_NAME-go" out
    mkdir -p "$g/app" "$g/run"
    cp "$rt/main.go" "$g/app/"
    cd "$g/app"
    export GOPATH="$g/path" GOMODCACHE="$g/modcache" GOCACHE="$g/cache" GOTOOLCHAIN=local CGO_ENABLED=1
    user go mod init example.com/roundtrip >/dev/null 2>&1
    user env GOPROXY="file://$goproxy" GOSUMDB=off go get "$GO_MODULE@v$VERSION"
    user env CC=musl-gcc go build -tags lifesign_musl -ldflags '-linkmode external -extldflags -static'
    if readelf -l roundtrip | grep -q INTERP; then fail "the Go binary is not static"; fi
    cd "$g/run"
    out="$(user "$g/app/roundtrip" "$g/run/hb.json")" || fail "$out"
    grep -qx 'round trip: ok' <<<"$out" || fail "$out"
    echo "static link from $(ls -d "$GOMODCACHE/$GO_MODULE@v$VERSION/build/$T_GO"), musl-gcc, no interpreter"
    chmod -R u+w "$GOMODCACHE"
}

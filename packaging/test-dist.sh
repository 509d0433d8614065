#!/usr/bin/env bash
# `make test-dist`: installs each artifact of dist/ the way its users would and
# runs the round trip of packaging/roundtrip/ with it: start an emitter,
# become ready, wait for ready and check from another process, kill -9, read
# process_gone. Also: the Go emitter beats on through garbage collection,
# TypeScript's `using` passes tsc --strict, mypy --strict rejects a
# misspelt state, and the C++17 consumer of lifesign.hpp builds and runs.
#
# Every step but the Rust one runs with cargo and rustc removed from PATH,
# LIFESIGN_LIB and the library search variables unset, from fresh folders
# under a temporary directory outside the repository, and proves that the
# library it used is the one inside the installed package. Needs what the
# users need: cmake, a C and C++ compiler and pkg-config; python3 with venv;
# node and npm; go. The npm, pip and Go steps may reach their registries.
# The other targets of packaging/targets.sh run the steps of
# packaging/test-targets.sh: aarch64 under qemu-user, musl under the musl
# loader, the static tool in an empty root. LIFESIGN_TARGETS narrows a run.
# Ends with "dist: N passed, N failed".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=packaging/common.sh
source "$root/packaging/common.sh"
# shellcheck source=packaging/targets.sh
source "$root/packaging/targets.sh"
rt="$root/packaging/roundtrip"

tarball="$DIST_DIR/lifesign-$VERSION-x86_64-linux-gnu.tar.gz"
npm_tgz="$DIST_DIR/lifesign-$VERSION.tgz"
crate="$DIST_DIR/lifesign-$VERSION.crate"
goproxy="$DIST_DIR/goproxy"
wheels=("$DIST_DIR"/lifesign-"$VERSION"-py3-none-manylinux_*_x86_64.whl)
wheel="${wheels[0]}"
# The host's own steps need the host target's artifacts (LIFESIGN_TARGETS
# may leave it out: then only the other targets' steps run).
host_steps=(c python node go rust)
if [[ " ${TARGETS[*]} " != *" $(uname -m)-unknown-linux-gnu "* ]]; then
    host_steps=()
    tarball="" wheel=""
fi
for f in $tarball "$npm_tgz" "$crate" $wheel "$goproxy/$GO_MODULE/@v/v$VERSION.zip"; do
    [[ -f "$f" ]] || { echo "test-dist.sh: $f is missing; run 'make dist' first" >&2; exit 1; }
done

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lifesign-test-dist.XXXXXX")"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
case "$tmp/" in "$root"/*) echo "test-dist.sh: the temporary folder is inside the repository" >&2; exit 1 ;; esac

# PATH without any folder holding cargo or rustc.
no_rust_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    [[ -n "$d" && ! -e "$d/cargo" && ! -e "$d/rustc" ]] && no_rust_path="${no_rust_path:+$no_rust_path:}$d"
done
if PATH="$no_rust_path" command -v cargo >/dev/null || PATH="$no_rust_path" command -v rustc >/dev/null; then
    echo "test-dist.sh: could not remove cargo and rustc from PATH" >&2
    exit 1
fi

# Runs a command as a user without Rust would.
user() {
    env -u LIFESIGN_LIB -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH -u CMAKE_PREFIX_PATH -u CARGO_HOME \
        -u RUSTUP_HOME -u CARGO_TARGET_DIR -u RUSTC -u PYTHONPATH -u NODE_PATH -u LIFESIGN_NODE_BACKEND \
        -u GOFLAGS PATH="$no_rust_path" "$@"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_lib OUTPUT DIR: the round trip succeeded with the library under DIR.
expect_lib() {
    grep -qx 'round trip: ok' <<<"$1" || fail "no 'round trip: ok' in: $1"
    local lib
    lib="$(sed -n 's/^library: //p' <<<"$1")"
    [[ -n "$lib" ]] || fail "the round trip did not say which library it used"
    case "$(realpath "$lib")" in
        "$(realpath "$2")"/*) echo "library: $lib" ;;
        *) fail "library $lib is not inside $2" ;;
    esac
}

# No debug info, and nothing above each target's baseline (targets.sh),
# in every target's tarball, wheel, npm prebuilds folder and Go archive.
step_stripped_and_baseline() {
    local t
    mkdir -p "$tmp/elf"
    tar -xzf "$npm_tgz" -C "$tmp/elf"
    python3 -m zipfile -e "$goproxy/$GO_MODULE/@v/v$VERSION.zip" "$tmp/elf/go"
    for t in "${TARGETS[@]}"; do
    target_vars "$t"
    mkdir -p "$tmp/elf/$T_NAME" && cd "$tmp/elf/$T_NAME"
    tar -xzf "$DIST_DIR/lifesign-$VERSION-$T_NAME.tar.gz"
    python3 -m zipfile -e "$DIST_DIR/lifesign-$VERSION-py3-none-$T_WHEEL.whl" wheel
    cp -r "$tmp/elf/package/prebuilds/$T_NODE" npm-prebuilds
    cp -r "$tmp/elf/go/$GO_MODULE@v$VERSION/build/$T_GO" go-build
    local f sections need
    while IFS= read -r f; do
        # Captured first: grep -q would stop reading early and fail the pipe.
        sections="$(readelf -S "$f")"
        if grep -Eq '\.debug_(info|line|str) ' <<<"$sections"; then fail "$f carries debug info"; fi
        if [[ "$f" != *.a ]]; then
            need="$(check_baseline "$f" 2>&1)" || fail "$T_NAME/$f: $need"
            echo "$T_NAME/$f: $need, stripped"
        else
            echo "$T_NAME/$f: stripped"
        fi
    done < <(find . -type f \( -name 'liblifesign.so*' -o -name liblifesign.a -o -path '*/bin/lifesign' \) | sort)
    done
}

step_c() {
    local prefix="$tmp/c/opt-$RANDOM/lifesign"
    mkdir -p "$prefix" "$tmp/c/src" "$tmp/c/run"
    # The README's commands, with the prefix of this run.
    tar -xzf "$tarball" -C "$prefix" --strip-components=1
    # The command line's completions, manual page and documents.
    local f
    for f in share/bash-completion/completions/lifesign share/zsh/site-functions/_lifesign \
        share/fish/vendor_completions.d/lifesign.fish share/man/man1/lifesign.1 \
        share/doc/lifesign/PROTOCOL.md share/doc/lifesign/SECURITY.md; do
        [[ -s "$prefix/$f" ]] || fail "the tarball has no $f"
    done
    bash -c "source '$prefix/share/bash-completion/completions/lifesign' && complete -p lifesign" >/dev/null ||
        fail "the tarball's bash completion does not load"
    # The released CLI has the fleet (docs/FLEET.md): `lifesign relay`, and
    # a nats:// target read from a server, never as a file name (port 1 of
    # 127.0.0.1: nothing listens, so the server cannot be reached).
    user "$prefix/bin/lifesign" relay --help >/dev/null || fail "the tarball's lifesign has no relay"
    local rc=0 nats_out
    nats_out="$(user "$prefix/bin/lifesign" check nats://127.0.0.1:1/lifesign/host.app 2>&1)" || rc=$?
    [[ "$rc" -eq 2 ]] && grep -q 'cannot connect to nats://127.0.0.1:1' <<<"$nats_out" ||
        fail "lifesign check nats://...: exit $rc, not a fleet read: $nats_out"
    echo "bin/lifesign: relay --help exit 0; check nats://127.0.0.1:1/...: exit 2, $nats_out"
    cp "$rt/roundtrip.c" "$rt/CMakeLists.txt" "$tmp/c/src/"
    cd "$tmp/c/src"
    user cmake -S . -B ../build -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    user cmake --build ../build >/dev/null
    cd "$tmp/c"
    local lang out
    for lang in c cxx; do
        # -x c++ for the source only; "-x none" lets the libraries after it be libraries.
        local compiler="cc src/roundtrip.c"
        [[ "$lang" == cxx ]] && compiler="c++ -x c++ src/roundtrip.c -x none"
        # pkg-config, shared (rpath to the prefix's lib, as the README says)
        # and static.
        export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
        # shellcheck disable=SC2046,SC2086
        user $compiler -Wall -Wextra -Werror \
            $(pkg-config --cflags --libs lifesign) -Wl,-rpath,"$(pkg-config --define-prefix --variable=libdir lifesign)" \
            -ldl -o "build/pc_${lang}_shared"
        # shellcheck disable=SC2046,SC2086
        user $compiler -Wall -Wextra -Werror $(pkg-config --cflags --libs lifesign-static) \
            -o "build/pc_${lang}_static"
        unset PKG_CONFIG_PATH
    done
    # The installed C++ wrapper, as a C++17 user compiles it.
    # shellcheck disable=SC2046
    user c++ -std=c++17 -Wall -Wextra -Werror "$root/tests/consumers/consumer_hpp.cpp" \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs lifesign) -Wl,-rpath,"$prefix/lib" \
        -pthread -o build/consumer_hpp
    out="$(user "$tmp/c/build/consumer_hpp")" || fail "consumer_hpp: $out"
    echo "$out"
    # The tarball names the library by its SONAME, and a shared consumer
    # records that name (abi/soname.sh), as the dynamic loader will ask.
    local soname needed
    soname="$(sh "$root/abi/soname.sh" "$prefix/lib/liblifesign.so")"
    [[ -L "$prefix/lib/$soname" ]] || fail "the tarball has no lib/$soname link"
    needed="$(readelf -d "$tmp/c/build/pc_c_shared" | sed -n 's/.*NEEDED.*\[\(liblifesign[^]]*\)\]/\1/p')"
    [[ "$needed" == "$soname" ]] || fail "a shared consumer needs '$needed', not the SONAME $soname"
    echo "shared consumers need $soname"
    # The tarball's .pc files locate themselves; --define-prefix gives the
    # clean folder, which the README's rpath line records as it is.
    local libdir runpath exe
    libdir="$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --define-prefix --variable=libdir lifesign)"
    [[ "$libdir" == "$prefix/lib" ]] || fail "pkg-config --define-prefix --variable=libdir is '$libdir', not $prefix/lib"
    for exe in pc_c_shared pc_cxx_shared; do
        runpath="$(readelf -d "$tmp/c/build/$exe" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
        [[ "$runpath" == "$prefix/lib" ]] || fail "$exe has RUNPATH '$runpath', not $prefix/lib"
    done
    echo "libdir (--define-prefix) and the pkg-config consumers' RUNPATH: $libdir"
    cd "$tmp/c/run"
    for exe in c_shared c_static cxx_shared cxx_static pc_c_shared pc_cxx_shared pc_c_static pc_cxx_static; do
        out="$(user "$tmp/c/build/$exe" "$tmp/c/run/$exe.json")" || fail "$exe: $out"
        echo "$exe:"
        if [[ "$exe" == *_shared ]]; then
            expect_lib "$out" "$prefix/lib"
        else
            expect_lib "$out" "$tmp/c/build"
            if readelf -d "$tmp/c/build/$exe" | grep -q 'NEEDED.*liblifesign'; then fail "$exe needs liblifesign.so"; fi
        fi
    done
}

step_python() {
    mkdir -p "$tmp/py/run"
    cd "$tmp/py"
    # The README's commands.
    user python3 -m venv venv
    user venv/bin/pip install "$wheel" >/dev/null
    cd "$tmp/py/run"
    local out
    out="$(user "$tmp/py/venv/bin/python" "$rt/roundtrip.py" "$tmp/py/run/hb.json")" || fail "$out"
    expect_lib "$out" "$tmp/py/venv"
    # LIFESIGN_LIB still overrides the bundled library.
    cp "$tmp/py/venv"/lib/python3*/site-packages/lifesign/liblifesign.so "$tmp/py/other.so"
    out="$(user env LIFESIGN_LIB="$tmp/py/other.so" "$tmp/py/venv/bin/python" -c \
        'import lifesign; print(lifesign.library_path())')"
    [[ "$out" == "$tmp/py/other.so" ]] || fail "LIFESIGN_LIB did not override: $out"
    echo "LIFESIGN_LIB overrides: $out"
    # mypy --strict on a user's program: the installed types accept set_state("ready")
    # and reject a misspelt state.
    user "$tmp/py/venv/bin/pip" install --require-hashes -r "$root/bindings/python/requirements-test.txt" >/dev/null
    printf 'import lifesign\nhb = lifesign.start("/tmp/x.json")\nhb.set_state("%s")\n' ready >"$tmp/py/good.py"
    printf 'import lifesign\nhb = lifesign.start("/tmp/x.json")\nhb.set_state("%s")\n' redy >"$tmp/py/bad.py"
    user "$tmp/py/venv/bin/python" -m mypy --strict "$tmp/py/good.py" || fail "mypy --strict refused set_state(\"ready\")"
    if user "$tmp/py/venv/bin/python" -m mypy --strict "$tmp/py/bad.py"; then fail "mypy --strict accepted set_state(\"redy\")"; fi
}

step_node() {
    local app="$tmp/node/app" out
    mkdir -p "$app"
    cd "$app"
    # The README's commands.
    user npm init -y >/dev/null
    user npm install "$npm_tgz" >/dev/null 2>"$tmp/node/npm.log" || { cat "$tmp/node/npm.log"; exit 1; }
    [[ -d node_modules/lifesign && ! -L node_modules/lifesign ]] || fail "node_modules/lifesign is not a copy"
    cp "$rt/roundtrip.cjs" "$rt/roundtrip.mjs" "$rt/roundtrip.ts" "$rt/tsconfig.json" .
    local bundled="$app/node_modules/lifesign/prebuilds"
    echo "CommonJS:"
    out="$(user node roundtrip.cjs "$app/cjs.json")" || fail "$out"
    expect_lib "$out" "$bundled"
    echo "ES module:"
    out="$(user node roundtrip.mjs "$app/esm.json")" || fail "$out"
    expect_lib "$out" "$bundled"
    echo "TypeScript (tsc --strict, then run):"
    user npm install --save-dev typescript@5.9.3 @types/node@20 >/dev/null 2>"$tmp/node/npm.log" \
        || { cat "$tmp/node/npm.log"; exit 1; }
    user npx tsc -p tsconfig.json
    out="$(user node roundtrip.js "$app/ts.json")" || fail "$out"
    expect_lib "$out" "$bundled"
    echo "ffi-napi backend:"
    user env FFI_NAPI=1 npm install ffi-napi@4.0.3 ref-napi@3.0.3 ref-struct-di@1.1.1 ref-array-di@1.2.2 \
        >/dev/null 2>"$tmp/node/npm.log" || { cat "$tmp/node/npm.log"; exit 1; }
    out="$(user env LIFESIGN_NODE_BACKEND=ffi-napi node roundtrip.cjs "$app/ffi.json")" || fail "$out"
    grep -qx 'backend: ffi-napi' <<<"$out" || fail "not the ffi-napi backend: $out"
    expect_lib "$out" "$bundled"
}

step_go() {
    local g="$tmp/go" out
    mkdir -p "$g/app" "$g/run"
    cp "$rt/main.go" "$g/app/"
    cd "$g/app"
    export GOPATH="$g/path" GOMODCACHE="$g/modcache" GOCACHE="$g/cache" GOTOOLCHAIN=local CGO_ENABLED=1
    # The README's commands, with this run's file proxy.
    user go mod init example.com/roundtrip >/dev/null 2>&1
    user env GOPROXY="file://$goproxy" GOSUMDB=off go get "$GO_MODULE@v$VERSION"
    user go build
    if readelf -d roundtrip | grep -q 'NEEDED.*liblifesign'; then fail "the Go binary needs liblifesign.so"; fi
    cd "$g/run"
    out="$(user "$g/app/roundtrip" "$g/run/hb.json")" || fail "$out"
    grep -qx 'link: static' <<<"$out" || fail "not linked statically: $out"
    grep -qx 'round trip: ok' <<<"$out" || fail "$out"
    echo "static link from $(ls -d "$GOMODCACHE/$GO_MODULE@v$VERSION/build/linux-amd64"); no liblifesign.so needed"
    chmod -R u+w "$GOMODCACHE"
}

step_rust() {
    local r="$tmp/rust" out
    mkdir -p "$r/app/src" "$r/run"
    tar -xzf "$crate" -C "$r"
    cp "$rt/main.rs" "$r/app/src/main.rs"
    # The crate's own lock file pins the dependencies' versions.
    cp "$r/lifesign-$VERSION/Cargo.lock" "$r/app/Cargo.lock"
    cat >"$r/app/Cargo.toml" <<EOF
[package]
name = "roundtrip"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
lifesign = { path = "../lifesign-$VERSION" }
EOF
    cd "$r/app"
    env -u CARGO_TARGET_DIR -u LIFESIGN_LIB cargo build --quiet
    cd "$r/run"
    out="$(env -u LIFESIGN_LIB "$r/app/target/debug/roundtrip" "$r/run/hb.json")" || fail "$out"
    grep -qx 'round trip: ok' <<<"$out" || fail "$out"
    echo "built from the unpacked $(basename "$crate") alone"
}

passed=0
failed=0
# shellcheck source=packaging/test-targets.sh
source "$root/packaging/test-targets.sh"
# shellcheck disable=SC2046
for step in stripped_and_baseline "${host_steps[@]}" $(target_steps); do
    echo "== $step"
    start=$SECONDS
    set +e
    # "name:triple" runs step_name with the target's triple.
    args=()
    [[ "$step" == *:* ]] && args=("${step#*:}")
    (set -e; "step_${step%%:*}" "${args[@]}") >"$tmp/$step.log" 2>&1
    rc=$?
    set -e
    if [[ "$rc" -eq 0 ]]; then
        sed 's/^/   /' "$tmp/$step.log"
        echo "   ok ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    else
        sed 's/^/   /' "$tmp/$step.log"
        echo "   FAILED ($((SECONDS - start)) s)"
        failed=$((failed + 1))
    fi
done
echo "dist: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]

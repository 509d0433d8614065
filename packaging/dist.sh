#!/usr/bin/env bash
# `make dist`: builds every artifact a release would upload into dist/, for
# each Linux target of packaging/targets.sh (<t>: x86_64-linux-gnu,
# aarch64-linux-gnu, x86_64-linux-musl, aarch64-linux-musl):
#
#   lifesign-<v>-<t>.tar.gz                C/C++ prefix (what `cmake --install --strip` gives, with
#                                          LIFESIGN_RELOCATABLE_PC: the .pc files locate themselves);
#                                          on musl its bin/lifesign is fully static
#   lifesign-<v>-py3-none-<tag>.whl        manylinux_2_17_{x86_64,aarch64}, musllinux_1_2_{x86_64,aarch64}
#   lifesign-<v>.tgz                       npm package, prebuilds/linux-{x64,arm64}-{gnu,musl}/liblifesign.so
#   goproxy/                               the Go module as a GOPROXY serves it, build/linux-{amd64,arm64}[-musl]/
#   lifesign-<v>.crate                     `cargo package`, checked by `cargo publish --dry-run`
#   MANIFEST.txt                           each file's target, size, baseline and SHA-256
#
# Each target is built once, by `cargo zigbuild` (glibc targets against
# glibc $LIFESIGN_GLIBC, default 2.17, symbol versions), without debug info,
# and every artifact takes its copy of that build. On musl the library and
# the tool differ in one link setting (see build_target). ziglang and
# cargo-zigbuild come from PyPI, pinned with hashes in
# packaging/requirements-dist.txt, into the venv target/dist-venv; the Rust
# targets are added with rustup. The version is read from Cargo.toml.
#
# The packages built (docs/ARCHITECTURE.md): `lifesign-c` (liblifesign.so
# and .a) and `lifesign-cli` with its default features, the fleet among
# them (`lifesign relay`, nats:// targets; its TLS is ring, compiled by
# zig's C compiler like everything else here).
#
# Environment:
#   LIFESIGN_GLIBC    the glibc baseline (default 2.17)
#   LIFESIGN_TARGETS  some of the targets only (space-separated triples)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=packaging/common.sh
source "$root/packaging/common.sh"
# shellcheck source=packaging/targets.sh
source "$root/packaging/targets.sh"

c_lib_pkg=(-p lifesign-c)
cli_pkg=(-p lifesign-cli)
work="$root/target/dist"
venv="$root/target/dist-venv"
rm -rf "$DIST_DIR"
mkdir -p "$DIST_DIR" "$work"

say "tools: ziglang + cargo-zigbuild + auditwheel (pinned, hash-checked) in $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet --require-hashes \
    -r "$root/packaging/requirements-dist.txt"
# cargo-zigbuild runs `python3 -m ziglang` when no zig is on PATH.
export PATH="$venv/bin:$PATH"

say "Rust targets: ${TARGETS[*]}"
if command -v rustup >/dev/null 2>&1; then
    rustup target add "${TARGETS[@]}"
fi

# build_target: builds the current target (target_vars) into $bin: the
# shared and static library and the tool, stripped, within the baseline.
# On glibc one `cargo zigbuild`. On musl, Rust links libc statically by
# default (crt-static): right for the tool, which must run in an empty root,
# wrong for a shared library, which must use its host process's libc; so
# the library is linked with -crt-static in a target folder of its own, and
# the tool with the default. The musl archive takes Rust's own unwinder
# (libunwind.a of the target's self-contained folder), so that linking it
# needs nothing but libc.
build_target() {
    local built
    say "build $T_TRIPLE: cargo zigbuild --target $T_ZIG ${c_lib_pkg[*]} ${cli_pkg[*]}"
    bin="$work/bin/$T_NAME"
    rm -rf "$bin"
    mkdir -p "$bin"
    if [[ "$T_LIBC" == gnu ]]; then
        CARGO_TARGET_DIR="$work/cargo" CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
            cargo zigbuild --locked --release --target "$T_ZIG" "${c_lib_pkg[@]}" "${cli_pkg[@]}"
        built="$work/cargo/$T_TRIPLE/release"
        cp "$built/liblifesign.so" "$built/liblifesign.a" "$built/lifesign" "$bin/"
    else
        local flags_var
        flags_var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$T_TRIPLE")_RUSTFLAGS"
        env "$flags_var=-C target-feature=-crt-static" CARGO_TARGET_DIR="$work/cargo-musl-so" \
            CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
            cargo zigbuild --locked --release --target "$T_ZIG" "${c_lib_pkg[@]}"
        built="$work/cargo-musl-so/$T_TRIPLE/release"
        cp "$built/liblifesign.so" "$bin/"
        local unwind
        unwind="$(rustc --print sysroot)/lib/rustlib/$T_TRIPLE/lib/self-contained/libunwind.a"
        [[ -f "$unwind" ]] || { echo "dist.sh: no $unwind" >&2; exit 1; }
        # ar's LTO plugin complains about the bitcode in Rust's objects: filtered.
        printf 'create %s\naddlib %s\naddlib %s\nsave\nend\n' \
            "$bin/liblifesign.a" "$built/liblifesign.a" "$unwind" | "$T_AR" -M 2>&1 | { grep -v '^bfd plugin' || true; }
        CARGO_TARGET_DIR="$work/cargo" CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
            cargo zigbuild --locked --release --target "$T_ZIG" "${cli_pkg[@]}"
        cp "$work/cargo/$T_TRIPLE/release/lifesign" "$bin/"
    fi
    # Debug info only from the archive: its symbols are what consumers link.
    "$T_STRIP" --strip-debug "$bin/liblifesign.a"
    # The symbol versions belong to the shared library (abi/unversion-archive.sh).
    sh "$root/abi/unversion-archive.sh" "$bin/liblifesign.a"
    "$T_STRIP" --strip-unneeded "$bin/liblifesign.so"
    "$T_STRIP" "$bin/lifesign"
    if [[ "$T_LIBC" == musl ]]; then
        # zig names musl's libc "libc.so"; musl systems (Alpine) and the
        # musllinux policy call it libc.musl-<arch>.so.1. musl's loader
        # takes any libc.* name for itself, so either loads.
        patchelf --replace-needed libc.so "libc.musl-$T_ARCH.so.1" "$bin/liblifesign.so"
        # Stripped again, so that the tarball's `cmake --install --strip`
        # leaves it byte for byte as the wheel and the npm package carry it.
        "$T_STRIP" --strip-unneeded "$bin/liblifesign.so"
    fi
    for f in "$bin/liblifesign.so" "$bin/lifesign"; do
        check_baseline "$f" || exit 1
    done
}

# What MANIFEST.txt says of each file of dist/: its target and baseline.
declare -A made_for=()

# The npm package and the Go module gather every target's library.
node="$work/node"
rm -rf "$node"
mkdir -p "$node/prebuilds"
gomod="$work/gomod"
rm -rf "$gomod"
mkdir -p "$gomod/build/include"

# ---- once per target: the blocks from here to "done" (not indented) ----
for triple in "${TARGETS[@]}"; do
target_vars "$triple"
build_target
manylinux="$T_WHEEL"

say "C/C++ tarball: cmake --install --strip of the built library"
prefix_name="lifesign-$VERSION-$T_NAME"
stage="$work/tarball-$T_NAME"
rm -rf "$stage" "$work/cmake-$T_NAME"
static_libs="$(target_static_libs)"
cmake -S "$root/cbuild" -B "$work/cmake-$T_NAME" -DLIFESIGN_PREBUILT_DIR="$bin" \
    -DLIFESIGN_STATIC_LINK_LIBS="${static_libs// /;}" -DCMAKE_STRIP="$(command -v "$T_STRIP")" \
    -DLIFESIGN_BUILD_TESTS=OFF -DLIFESIGN_INSTALL=ON -DCMAKE_INSTALL_LIBDIR=lib -DLIFESIGN_RELOCATABLE_PC=ON >/dev/null
cmake --build "$work/cmake-$T_NAME" >/dev/null
cmake --install "$work/cmake-$T_NAME" --strip --prefix "$stage/$prefix_name" >/dev/null
# The command line's completions and manual page, which the tool generates
# from its own table of commands (run under the target's emulator when it
# is another architecture), and the documents its help refers to.
share="$stage/$prefix_name/share"
mkdir -p "$share/bash-completion/completions" "$share/zsh/site-functions" \
    "$share/fish/vendor_completions.d" "$share/man/man1" "$share/doc/lifesign"
# The same table on every target: generated by a tool that runs here (the
# first target's of this architecture), else under the target's emulator.
if [[ -z "$T_EMULATOR" ]]; then
    host_cli="${host_cli:-$bin/lifesign}"
fi
if [[ -n "${host_cli:-}" ]]; then
    cli=("$host_cli")
else
    cli=("$T_EMULATOR" "$bin/lifesign")
fi
"${cli[@]}" completions bash >"$share/bash-completion/completions/lifesign"
"${cli[@]}" completions zsh >"$share/zsh/site-functions/_lifesign"
"${cli[@]}" completions fish >"$share/fish/vendor_completions.d/lifesign.fish"
"${cli[@]}" man >"$share/man/man1/lifesign.1"
cp docs/PROTOCOL.md docs/SECURITY.md "$share/doc/lifesign/"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -czf "$DIST_DIR/$prefix_name.tar.gz" "$prefix_name"
made_for["$prefix_name.tar.gz"]="$T_TRIPLE|$T_BASELINE"

say "Python wheel ($manylinux)"
py="$work/python-$T_NAME"
rm -rf "$py"
mkdir -p "$py"
cp -r bindings/python/src bindings/python/pyproject.toml bindings/python/README.md LICENSE-MIT LICENSE-APACHE "$py/"
find "$py/src" -name '__pycache__' -prune -exec rm -rf {} +
sed -i "s/^version = \".*\"/version = \"$VERSION\"/" "$py/pyproject.toml"
cp "$bin/liblifesign.so" "$py/src/lifesign/liblifesign.so"
# A pure-Python package (py3-none) whose platform tag says which libc (and
# which glibc) the bundled library needs.
printf '[bdist_wheel]\nplat_name = %s\n' "$manylinux" >"$py/setup.cfg"
SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$venv/bin/python" -m pip wheel --quiet --no-deps \
    --no-build-isolation --no-index -w "$DIST_DIR" "$py"
wheel="$DIST_DIR/lifesign-$VERSION-py3-none-$manylinux.whl"
[[ -f "$wheel" ]] || { echo "dist.sh: expected $wheel" >&2; ls "$DIST_DIR" >&2; exit 1; }
# musl: no library path of this host holds musl's libc for the wheel.
ldpaths=()
if [[ "$T_LIBC" == musl ]]; then mkdir -p "$work/no-ldpaths"; ldpaths=(--ldpaths "$work/no-ldpaths"); fi
audit="$("$venv/bin/auditwheel" show "${ldpaths[@]}" "$wheel" 2>&1)"
if ! grep -q "\"$manylinux\"" <<<"$(tr -d '\n' <<<"$audit" | tr -s ' ')"; then
    echo "dist.sh: auditwheel does not agree with the tag $manylinux:" >&2
    echo "$audit" >&2
    exit 1
fi
echo "auditwheel: consistent with $manylinux"
made_for["$(basename "$wheel")"]="$T_TRIPLE|$T_BASELINE"

mkdir -p "$node/prebuilds/$T_NODE" "$gomod/build/$T_GO"
cp "$bin/liblifesign.so" "$node/prebuilds/$T_NODE/liblifesign.so"
cp "$bin/liblifesign.a" "$gomod/build/$T_GO/"
done
# ---- end of the blocks run once per target ----

say "npm package (prebuilds/$(ls "$node/prebuilds" | paste -sd,))"
cp -r bindings/node/package.json bindings/node/README.md bindings/node/index.js bindings/node/index.mjs \
    bindings/node/index.d.ts bindings/node/lib LICENSE-MIT LICENSE-APACHE "$node/"
(cd "$node" && npm pkg set version="$VERSION" && npm pack --silent --pack-destination "$DIST_DIR" >/dev/null)
[[ -f "$DIST_DIR/lifesign-$VERSION.tgz" ]] || { echo "dist.sh: npm pack made no lifesign-$VERSION.tgz" >&2; exit 1; }
made_for["lifesign-$VERSION.tgz"]="$(ls "$node/prebuilds" | paste -sd' ')|per folder"

say "Go module $GO_MODULE@v$VERSION (file GOPROXY layout)"
git ls-files -z bindings/go | while IFS= read -r -d '' f; do
    mkdir -p "$gomod/$(dirname "${f#bindings/go/}")"
    cp "$f" "$gomod/${f#bindings/go/}"
done
cp LICENSE-MIT LICENSE-APACHE "$gomod/"
cp include/lifesign.h "$gomod/build/include/"
"$venv/bin/python" "$root/packaging/gomodzip.py" "$gomod" "$GO_MODULE" "v$VERSION" \
    "$SOURCE_DATE_EPOCH" "$DIST_DIR/goproxy"

say "Rust crate (cargo publish --dry-run)"
# --allow-dirty: `make dist` also serves to try uncommitted work; a release
# is made from a clean checkout. publish --dry-run builds the crate from the
# packaged files alone.
CARGO_TARGET_DIR="$work/cargo" cargo package --locked --allow-dirty --no-verify -p lifesign
cp "$work/cargo/package/lifesign-$VERSION.crate" "$DIST_DIR/"
CARGO_TARGET_DIR="$work/cargo" cargo publish --dry-run --locked --allow-dirty -p lifesign

made_for["lifesign-$VERSION.crate"]="source|Rust $(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)"
for f in "$DIST_DIR"/goproxy/"$GO_MODULE"/@v/*.zip; do
    made_for["${f#"$DIST_DIR/"}"]="$(ls "$gomod/build" | grep -v '^include$' | paste -sd' ')|per folder"
done

say "dist/MANIFEST.txt"
{
    echo "lifesign $VERSION for Linux: ${TARGETS[*]}"
    echo "glibc targets need glibc $GLIBC_BASELINE or later; musl targets musl $MUSL_BASELINE or later,"
    echo "and their bin/lifesign is fully static (runs in an empty root)"
    echo
    printf '%-62s %-34s %-10s %9s  %s\n' file target baseline bytes sha256
    (cd "$DIST_DIR" && find . -type f ! -name MANIFEST.txt | sed 's|^\./||' | sort) | while IFS= read -r f; do
        what="${made_for[$f]:-every target|}"
        [[ -n "${what#*|}" ]] || what="${what%|}|-"
        printf '%-62s %-34s %-10s %9s  %s\n' "$f" "${what%%|*}" "${what#*|}" \
            "$(stat -c %s "$DIST_DIR/$f")" "$(sha256sum "$DIST_DIR/$f" | cut -d' ' -f1)"
    done
    echo
    echo "unpacked library files"
    printf '%-44s %9s\n' file bytes
    for t in "${TARGETS[@]}"; do
        target_vars "$t"
        for f in liblifesign.so liblifesign.a lifesign; do
            printf '%-44s %9s\n' "$T_NAME/$f" "$(stat -c %s "$work/bin/$T_NAME/$f")"
        done
    done
} >"$DIST_DIR/MANIFEST.txt"
cat "$DIST_DIR/MANIFEST.txt"

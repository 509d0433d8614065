#!/usr/bin/env bash
# `make dist`: builds every artifact a release would upload into dist/:
#
#   lifesign-<v>-x86_64-linux-gnu.tar.gz   C/C++ prefix (what `cmake --install --strip` gives)
#   lifesign-<v>-py3-none-manylinux_<x>_<y>_x86_64.whl
#   lifesign-<v>.tgz                       npm package, prebuilds/linux-x64-gnu/liblifesign.so
#   goproxy/                               the Go module as a GOPROXY serves it
#   lifesign-<v>.crate                     `cargo package`, checked by `cargo publish --dry-run`
#   MANIFEST.txt                           sizes, glibc symbol versions, SHA-256 sums
#
# The library is built once, by `cargo zigbuild` against glibc $LIFESIGN_GLIBC
# (default 2.17) symbol versions, without debug info, and every artifact
# takes its copy of that build. ziglang and cargo-zigbuild come from PyPI,
# pinned with hashes in packaging/requirements-dist.txt, into the venv
# target/dist-venv. The version is read from Cargo.toml.
#
# Environment:
#   LIB_FEATURES    cargo arguments selecting the library's features (set by the Makefile)
#   LIFESIGN_GLIBC  the glibc baseline (default 2.17)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=packaging/common.sh
source "$root/packaging/common.sh"

glibc="${LIFESIGN_GLIBC:-2.17}"
triple=x86_64-unknown-linux-gnu
read -r -a features <<<"${LIB_FEATURES:-}"
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

say "build: cargo zigbuild --target $triple.$glibc ${features[*]:-}"
CARGO_TARGET_DIR="$work/cargo" CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    cargo zigbuild --locked --release --lib --bins --target "$triple.$glibc" "${features[@]}"
built="$work/cargo/$triple/release"
bin="$work/bin"
rm -rf "$bin"
mkdir -p "$bin"
cp "$built/liblifesign.so" "$built/liblifesign.a" "$built/lifesign" "$bin/"
# Debug info only from the archive: its symbols are what consumers link.
strip --strip-debug "$bin/liblifesign.a"
# The symbol versions belong to the shared library (abi/unversion-archive.sh).
sh "$root/abi/unversion-archive.sh" "$bin/liblifesign.a"
strip --strip-unneeded "$bin/liblifesign.so"
strip "$bin/lifesign"

for f in "$bin/liblifesign.so" "$bin/lifesign"; do
    need="$(max_glibc "$f")"
    if ! version_le "$need" "$glibc"; then
        echo "dist.sh: $f needs GLIBC_$need, above the baseline $glibc" >&2
        exit 1
    fi
    echo "$(basename "$f"): highest glibc symbol version GLIBC_$need (baseline $glibc)"
done
manylinux="manylinux_${glibc/./_}_x86_64"

say "C/C++ tarball: cmake --install --strip of the built library"
prefix_name="lifesign-$VERSION-x86_64-linux-gnu"
stage="$work/tarball"
rm -rf "$stage" "$work/cmake"
cmake -S "$root/cbuild" -B "$work/cmake" -DLIFESIGN_PREBUILT_DIR="$bin" \
    -DLIFESIGN_BUILD_TESTS=OFF -DLIFESIGN_INSTALL=ON -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build "$work/cmake" >/dev/null
cmake --install "$work/cmake" --strip --prefix "$stage/$prefix_name" >/dev/null
# The command line's completions and manual page, which the tool generates
# from its own table of commands, and the documents its help refers to.
share="$stage/$prefix_name/share"
mkdir -p "$share/bash-completion/completions" "$share/zsh/site-functions" \
    "$share/fish/vendor_completions.d" "$share/man/man1" "$share/doc/lifesign"
"$bin/lifesign" completions bash >"$share/bash-completion/completions/lifesign"
"$bin/lifesign" completions zsh >"$share/zsh/site-functions/_lifesign"
"$bin/lifesign" completions fish >"$share/fish/vendor_completions.d/lifesign.fish"
"$bin/lifesign" man >"$share/man/man1/lifesign.1"
cp docs/PROTOCOL.md docs/SECURITY.md "$share/doc/lifesign/"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -czf "$DIST_DIR/$prefix_name.tar.gz" "$prefix_name"

say "Python wheel ($manylinux)"
py="$work/python"
rm -rf "$py"
mkdir -p "$py"
cp -r bindings/python/src bindings/python/pyproject.toml bindings/python/README.md LICENSE-MIT LICENSE-APACHE "$py/"
find "$py/src" -name '__pycache__' -prune -exec rm -rf {} +
sed -i "s/^version = \".*\"/version = \"$VERSION\"/" "$py/pyproject.toml"
cp "$bin/liblifesign.so" "$py/src/lifesign/liblifesign.so"
# A pure-Python package (py3-none) whose platform tag says which glibc the
# bundled library needs.
printf '[bdist_wheel]\nplat_name = %s\n' "$manylinux" >"$py/setup.cfg"
SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$venv/bin/python" -m pip wheel --quiet --no-deps \
    --no-build-isolation --no-index -w "$DIST_DIR" "$py"
wheel="$DIST_DIR/lifesign-$VERSION-py3-none-$manylinux.whl"
[[ -f "$wheel" ]] || { echo "dist.sh: expected $wheel" >&2; ls "$DIST_DIR" >&2; exit 1; }
audit="$("$venv/bin/auditwheel" show "$wheel")"
if ! grep -q "\"$manylinux\"" <<<"$(tr -d '\n' <<<"$audit" | tr -s ' ')"; then
    echo "dist.sh: auditwheel does not agree with the tag $manylinux:" >&2
    echo "$audit" >&2
    exit 1
fi
echo "auditwheel: consistent with $manylinux"

say "npm package (prebuilds/linux-x64-gnu)"
node="$work/node"
rm -rf "$node"
mkdir -p "$node/prebuilds/linux-x64-gnu"
cp -r bindings/node/package.json bindings/node/README.md bindings/node/index.js bindings/node/index.mjs \
    bindings/node/index.d.ts bindings/node/lib LICENSE-MIT LICENSE-APACHE "$node/"
cp "$bin/liblifesign.so" "$node/prebuilds/linux-x64-gnu/liblifesign.so"
(cd "$node" && npm pkg set version="$VERSION" && npm pack --silent --pack-destination "$DIST_DIR" >/dev/null)
[[ -f "$DIST_DIR/lifesign-$VERSION.tgz" ]] || { echo "dist.sh: npm pack made no lifesign-$VERSION.tgz" >&2; exit 1; }

say "Go module $GO_MODULE@v$VERSION (file GOPROXY layout)"
gomod="$work/gomod"
rm -rf "$gomod"
mkdir -p "$gomod/build/include" "$gomod/build/linux-amd64"
git ls-files -z bindings/go | while IFS= read -r -d '' f; do
    mkdir -p "$gomod/$(dirname "${f#bindings/go/}")"
    cp "$f" "$gomod/${f#bindings/go/}"
done
cp LICENSE-MIT LICENSE-APACHE "$gomod/"
cp include/lifesign.h "$gomod/build/include/"
cp "$bin/liblifesign.a" "$gomod/build/linux-amd64/"
"$venv/bin/python" "$root/packaging/gomodzip.py" "$gomod" "$GO_MODULE" "v$VERSION" \
    "$SOURCE_DATE_EPOCH" "$DIST_DIR/goproxy"

say "Rust crate (cargo publish --dry-run)"
# --allow-dirty: `make dist` also serves to try uncommitted work; a release
# is made from a clean checkout. publish --dry-run builds the crate from the
# packaged files alone.
CARGO_TARGET_DIR="$work/cargo" cargo package --locked --allow-dirty --no-verify "${features[@]}"
cp "$work/cargo/package/lifesign-$VERSION.crate" "$DIST_DIR/"
CARGO_TARGET_DIR="$work/cargo" cargo publish --dry-run --locked --allow-dirty "${features[@]}"

say "dist/MANIFEST.txt"
{
    echo "lifesign $VERSION, built for x86_64 Linux, glibc $glibc or later"
    echo "liblifesign.so: GLIBC_$(max_glibc "$bin/liblifesign.so"); lifesign: GLIBC_$(max_glibc "$bin/lifesign")"
    echo
    echo "bytes    file"
    (cd "$DIST_DIR" && find . -type f ! -name MANIFEST.txt | sort | xargs stat -c '%-8s %n' | sed 's| \./| |')
    echo
    echo "bytes    unpacked library files"
    stat -c '%-8s %n' "$bin/liblifesign.so" "$bin/liblifesign.a" "$bin/lifesign" | sed "s|$bin/||"
    echo
    (cd "$DIST_DIR" && find . -maxdepth 1 -type f ! -name MANIFEST.txt | sort | xargs sha256sum | sed 's| \./| |')
} >"$DIST_DIR/MANIFEST.txt"
cat "$DIST_DIR/MANIFEST.txt"

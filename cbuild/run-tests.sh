#!/usr/bin/env bash
# The step functions are called indirectly ("step_$2").
# shellcheck disable=SC2317
# Tests of the CMake build and of every way a C or C++ project can consume
# lifesign. From a clean, temporary build folder:
#
#   configure, build (cargo via CMake), rebuild (must not run cargo again),
#   ctest, source edits on a copy of the crate (must run cargo again), install into a temporary prefix, check the installed tree, then
#   consumers: find_package (shared, static, incompatible version refused),
#   pkg-config (shared, --static, lifesign-static, the rpath to its clean
#   libdir), add_subdirectory, and the relocation check (a prefix installed
#   with LIFESIGN_RELOCATABLE_PC moved elsewhere, consumers built again).
#
# Runnable from any folder; needs cmake >= 3.16, a C and a C++ compiler,
# cargo with the crate's dependencies in its cache (`cargo build --release`
# at the repository root puts them there), readelf, and pkg-config for the
# pkg-config steps. Every step runs under `timeout`; the temporary folder is
# removed on exit.
#
# Environment:
#   LIFESIGN_CBUILD_STEP_TIMEOUT  seconds allowed per step (default 900)
#   LIFESIGN_CBUILD_TIMEOUT       seconds allowed for the whole run (default 2700)
#   LIFESIGN_CBUILD_OFFLINE       1 (default): cargo --offline; 0: may fetch from crates.io
#   LIFESIGN_CBUILD_TYPE          CMAKE_BUILD_TYPE of the C tests and consumers (default
#                                 Release; the crate is always `cargo build --release`)
#   LIFESIGN_CBUILD_KEEP          1: keep the temporary folder and print its path
#   LIFESIGN_CBUILD_VERBOSE       1: print every step's output, not only failures
#   CMAKE_GENERATOR               default Ninja when installed, else Unix Makefiles
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CONSUMERS="$ROOT/tests/consumers"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"

# --- helpers shared by the driver and the steps ---------------------------------
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cargo_version() {
  awk '
    /^\[/ { in_pkg = ($0 ~ /^\[workspace\.package\][[:space:]]*$/) }
    in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
      match($0, /"[^"]*"/); print substr($0, RSTART + 1, RLENGTH - 2); exit
    }' "$ROOT/Cargo.toml"
}

needed_of() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

expect_needs_soname() {
  local exe="$1" needed
  needed="$(needed_of "$exe")"
  grep -qx "$SONAME" <<<"$needed" || fail "$exe does not need $SONAME (needs: ${needed//$'\n'/ })"
  if grep -q '/.*liblifesign' <<<"$needed"; then fail "$exe names liblifesign by path"; fi
}

expect_self_contained() {
  local exe="$1"
  if needed_of "$exe" | grep -q liblifesign; then
    fail "$exe needs a liblifesign shared library but was linked statically"
  fi
}

# Configure, build and ctest one consumer project; extra arguments go to cmake.
consumer_cmake() {
  local src="$1" bld="$2"
  shift 2
  cmake -S "$src" -B "$bld" -G "$GENERATOR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
  cmake --build "$bld" -j "$JOBS"
  (cd "$bld" && ctest --output-on-failure --timeout 300)
}

# --- the steps (each runs as `run-tests.sh __step NAME` under timeout) -------------
step_configure() {
  cmake -S "$HERE" -B "$BUILD" -G "$GENERATOR" \
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DLIFESIGN_CARGO_OFFLINE="$OFFLINE"
}

step_build_library() {
  cmake --build "$BUILD" -j "$JOBS" --target lifesign_cargo
}

step_build_tests() {
  cmake --build "$BUILD" -j "$JOBS"
}

step_rebuild_without_changes_does_not_run_cargo() {
  local out
  out="$(cmake --build "$BUILD" -j "$JOBS" 2>&1)"
  echo "$out"
  if grep -q "Building the lifesign crate with cargo" <<<"$out"; then
    fail "a second build with no change ran cargo again"
  fi
}

step_ctest() {
  (cd "$BUILD" && ctest --output-on-failure --timeout 600)
}

step_install() {
  cmake --install "$BUILD" --prefix "$PREFIX"
}

# --strip removes the debug info cargo leaves in the libraries and the tool,
# and keeps the archive's symbols (consumers link them).
step_install_strip_removes_debug_info() {
  local stripped="$PREFIX-stripped" f sections
  cmake --install "$BUILD" --strip --prefix "$stripped"
  for f in "lib/liblifesign.so.$VERSION_NUMERIC" lib/liblifesign.a bin/lifesign; do
    # Captured first: grep -q would stop reading early and fail the pipe.
    sections="$(readelf -S "$stripped/$f")"
    if grep -Eq '\.debug_(info|line|str) ' <<<"$sections"; then fail "$f still carries debug info after --strip"; fi
  done
  local symbols
  symbols="$(nm "$stripped/lib/liblifesign.a" 2>/dev/null || true)"
  grep -q ' T lifesign_version$' <<<"$symbols" || fail "the stripped liblifesign.a lost the symbol lifesign_version"
  stat -c '%s %n' "$stripped/lib/liblifesign.so.$VERSION_NUMERIC" "$stripped/lib/liblifesign.a"
  rm -rf "$stripped"
}

step_installed_tree_is_complete() {
  local lib="$PREFIX/lib" f
  for f in include/lifesign.h "lib/liblifesign.so.$VERSION_NUMERIC" lib/liblifesign.a bin/lifesign \
    lib/pkgconfig/lifesign.pc lib/pkgconfig/lifesign-static.pc \
    lib/cmake/lifesign/lifesignConfig.cmake lib/cmake/lifesign/lifesignConfigVersion.cmake; do
    [[ -f "$PREFIX/$f" && ! -L "$PREFIX/$f" ]] || fail "installed tree lacks the file $f"
  done
  [[ "$(readlink "$lib/liblifesign.so")" == "$SONAME" ]] || fail "lib/liblifesign.so does not point to $SONAME"
  [[ "$(readlink "$lib/$SONAME")" == "liblifesign.so.$VERSION_NUMERIC" ]] ||
    fail "lib/$SONAME does not point to liblifesign.so.$VERSION_NUMERIC"
  readelf -d "$lib/liblifesign.so.$VERSION_NUMERIC" | grep -q "Library soname: \[$SONAME\]" ||
    fail "the installed library has no SONAME $SONAME"
  for f in "$lib/liblifesign.so.$VERSION_NUMERIC" "$PREFIX/bin/lifesign"; do
    if readelf -d "$f" | grep -qE '\((RPATH|RUNPATH)\)'; then fail "$f carries an RPATH/RUNPATH"; fi
  done
  cmp -s "$PREFIX/include/lifesign.h" "$ROOT/include/lifesign.h" || fail "the installed header differs from include/lifesign.h"
  cmp -s "$PREFIX/include/lifesign.hpp" "$ROOT/include/lifesign.hpp" || fail "the installed C++ header differs from include/lifesign.hpp"
  # The .pc files name the prefix (libdir=${prefix}/lib); no other file may,
  # no file may name the build folder, no text file the source checkout
  # (the binaries' debug information does, as usual).
  local naming
  naming="$(cd "$PREFIX" && grep -rlF -e "$PREFIX" . | LC_ALL=C sort | tr '\n' ' ')"
  [[ "$naming" == "./lib/pkgconfig/lifesign-static.pc ./lib/pkgconfig/lifesign.pc " ]] ||
    fail "the files naming the prefix are '$naming', not exactly the two .pc files"
  grep -qxF "prefix=$PREFIX" "$PREFIX/lib/pkgconfig/lifesign.pc" || fail "lifesign.pc does not say prefix=$PREFIX"
  expect_names_no_build_or_checkout "$PREFIX"
  echo "installed tree complete; only the .pc files name the prefix"
}

# expect_names_no_build_or_checkout TREE: no file names a build folder of
# this run, no text file the source checkout.
expect_names_no_build_or_checkout() {
  if grep -rlF -e "$BUILD" -e "$RELOC_BUILD" "$1"; then fail "installed files name a build folder (listed above)"; fi
  if grep -rIlF -e "$ROOT" "$1"; then fail "installed text files name the source checkout (listed above)"; fi
}

# expect_runpath EXE DIR: the program's RUNPATH is exactly DIR, and it runs
# with nothing else telling the loader where liblifesign.so is.
expect_runpath() {
  local exe="$1" dir="$2" runpath out
  runpath="$(readelf -d "$exe" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
  echo "$(basename "$exe"): RUNPATH $runpath"
  [[ "$runpath" == "$dir" ]] || fail "$exe has RUNPATH '$runpath', not $dir"
  out="$(env -u LD_LIBRARY_PATH "$exe")" || fail "$exe did not run with its RUNPATH: $out"
}

# A program linked as the README says, rpath from pkg-config's libdir.
# rpath_consumer NAME PKG_CONFIG_ARGS...: the compile and link flags
# from plain pkg-config, the rpath from pkg-config ARGS --variable=libdir.
rpath_consumer() {
  local name="$1" libdir
  shift
  libdir="$(pkg-config "$@" --variable=libdir lifesign)"
  # shellcheck disable=SC2046
  cc -O2 -Wall -Wextra -Werror -o "$WORK/pc/$name" "$CONSUMERS/consumer.c" \
    $(pkg-config --cflags --libs lifesign) -Wl,-rpath,"$libdir"
}

step_find_package_shared() {
  consumer_cmake "$CONSUMERS/find_package" "$WORK/fp-shared" -DCMAKE_PREFIX_PATH="$PREFIX"
  expect_needs_soname "$WORK/fp-shared/consumer_c"
  expect_needs_soname "$WORK/fp-shared/consumer_cxx"
}

step_find_package_static() {
  # Asked as a component, as find_package(lifesign 0.2 COMPONENTS static).
  consumer_cmake "$CONSUMERS/find_package" "$WORK/fp-static" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DLIFESIGN_CONSUMER_LINK=static -DLIFESIGN_CONSUMER_COMPONENTS=static
  expect_self_contained "$WORK/fp-static/consumer_c"
  expect_self_contained "$WORK/fp-static/consumer_cxx"
}

step_find_package_refuses_another_abi_version() {
  # The next version with another ABI: 0.(minor+1) while 0.x, else (major+1).0.
  local next out
  if [[ "$VERSION_MAJOR" == 0 ]]; then next="0.$((VERSION_MINOR + 1))"; else next="$((VERSION_MAJOR + 1)).0"; fi
  if out="$(cmake -S "$CONSUMERS/find_package" -B "$WORK/fp-major" -G "$GENERATOR" \
    -DCMAKE_PREFIX_PATH="$PREFIX" -DLIFESIGN_CONSUMER_VERSION="$next" 2>&1)"; then
    echo "$out"
    fail "find_package(lifesign $next) accepted version $VERSION"
  fi
  echo "$out"
  grep -q "compatible with requested version" <<<"$out" ||
    fail "find_package(lifesign $next) failed for another reason than the version"
}

step_find_package_names_an_unknown_component() {
  local out
  if out="$(cmake -S "$CONSUMERS/find_package" -B "$WORK/fp-component" -G "$GENERATOR" \
    -DCMAKE_PREFIX_PATH="$PREFIX" -DLIFESIGN_CONSUMER_COMPONENTS="static;nosuch" 2>&1)"; then
    echo "$out"
    fail "find_package(lifesign COMPONENTS static nosuch) succeeded"
  fi
  echo "$out"
  grep -q 'there is no component "nosuch"; the components are shared' <<<"$out" ||
    fail "find_package(lifesign COMPONENTS nosuch) did not name the component and the known ones"
}

pc_build_and_run() {
  # pc_build_and_run NAME COMPILER SOURCE FLAGS...
  local name="$1" compiler="$2" src="$3"
  shift 3
  "$compiler" -O2 -Wall -Wextra -Werror -o "$WORK/pc/$name" "$src" "$@"
  LD_LIBRARY_PATH="$PC_PREFIX/lib" "$WORK/pc/$name"
}

step_pkg_config() {
  command -v pkg-config >/dev/null || fail "pkg-config is not installed"
  export PKG_CONFIG_PATH="$PC_PREFIX/lib/pkgconfig"
  mkdir -p "$WORK/pc"
  local modversion cflags libs static_libs flag
  modversion="$(pkg-config --modversion lifesign)"
  [[ "$modversion" == "$VERSION" ]] || fail "pkg-config --modversion says $modversion, Cargo.toml $VERSION"
  cflags="$(pkg-config --cflags lifesign)"
  libs="$(pkg-config --libs lifesign)"
  static_libs="$(pkg-config --static --libs lifesign)"
  echo "cflags: $cflags"
  echo "libs: $libs"
  echo "static libs: $static_libs"

  # Shared: plain `pkg-config --cflags --libs lifesign`.
  # shellcheck disable=SC2086
  pc_build_and_run c-shared cc "$CONSUMERS/consumer.c" $cflags $libs
  # shellcheck disable=SC2086
  pc_build_and_run cxx-shared c++ "$CONSUMERS/consumer.cpp" $cflags $libs
  expect_needs_soname "$WORK/pc/c-shared"
  expect_needs_soname "$WORK/pc/cxx-shared"

  # --static lists the archive's system libraries (Libs.private).
  # shellcheck disable=SC2013
  for flag in $(sed -n 's/^Libs.private://p' "$PC_PREFIX/lib/pkgconfig/lifesign.pc"); do
    grep -qw -- "$flag" <<<"$static_libs" || fail "pkg-config --static --libs lacks $flag"
  done
  # With both libraries in one folder the linker prefers the .so for
  # -llifesign, so a static link names the archive: -l:liblifesign.a.
  # shellcheck disable=SC2086
  pc_build_and_run c-static cc "$CONSUMERS/consumer.c" $cflags ${static_libs//-llifesign/-l:liblifesign.a}
  # shellcheck disable=SC2086
  pc_build_and_run cxx-static c++ "$CONSUMERS/consumer.cpp" $cflags ${static_libs//-llifesign/-l:liblifesign.a}
  expect_self_contained "$WORK/pc/c-static"
  expect_self_contained "$WORK/pc/cxx-static"

  # The lifesign-static module links the archive by path.
  # shellcheck disable=SC2046
  pc_build_and_run c-static-module cc "$CONSUMERS/consumer.c" $(pkg-config --cflags --libs lifesign-static)
  expect_self_contained "$WORK/pc/c-static-module"
}

# After a plain install, libdir is the prefix's lib folder as written, and a
# program linked with the README's rpath line records that folder.
step_pkg_config_libdir_is_clean() {
  export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
  mkdir -p "$WORK/pc"
  local libdir
  libdir="$(pkg-config --variable=libdir lifesign)"
  echo "libdir: $libdir"
  [[ "$libdir" == "$PREFIX/lib" ]] || fail "pkg-config --variable=libdir lifesign is '$libdir', not $PREFIX/lib"
  rpath_consumer c-rpath
  expect_runpath "$WORK/pc/c-rpath" "$PREFIX/lib"
}

# LIFESIGN_RELOCATABLE_PC, as the release tarball is made: a second build
# folder sharing the cargo output, installed into its own prefix.
step_install_relocatable() {
  cmake -S "$HERE" -B "$RELOC_BUILD" -G "$GENERATOR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DLIFESIGN_CARGO_OFFLINE="$OFFLINE" -DLIFESIGN_CARGO_TARGET_DIR="$BUILD/cargo" \
    -DLIFESIGN_BUILD_TESTS=OFF -DLIFESIGN_RELOCATABLE_PC=ON
  cmake --build "$RELOC_BUILD" -j "$JOBS"
  cmake --install "$RELOC_BUILD" --prefix "$RELOC_PREFIX"
  # shellcheck disable=SC2016
  grep -qxF 'prefix=${pcfiledir}/../..' "$RELOC_PREFIX/lib/pkgconfig/lifesign.pc" ||
    fail "lifesign.pc of a relocatable install does not locate itself: $(head -n 1 "$RELOC_PREFIX/lib/pkgconfig/lifesign.pc")"
  if grep -rlF -e "$RELOC_PREFIX" "$RELOC_PREFIX"; then fail "files of a relocatable install name its prefix (listed above)"; fi
  expect_names_no_build_or_checkout "$RELOC_PREFIX"
  echo "relocatable install: no build, prefix or checkout path in it"
}

step_add_subdirectory() {
  # The consumer's lifesign build shares the main build's cargo folder, so the
  # crate is not compiled again.
  consumer_cmake "$CONSUMERS/add_subdirectory" "$WORK/subdir" \
    -DLIFESIGN_SOURCE_DIR="$ROOT" -DLIFESIGN_CARGO_OFFLINE="$OFFLINE" \
    -DLIFESIGN_CARGO_TARGET_DIR="$BUILD/cargo"
  expect_needs_soname "$WORK/subdir/consumer_c_shared"
  expect_self_contained "$WORK/subdir/consumer_c_static"
  # lifesign's own tests and install rules stay out of a parent project.
  if (cd "$WORK/subdir" && ctest -N) | grep -q "header_and_shared_library_versions"; then
    fail "lifesign registered its own tests inside the consumer's tree"
  fi
}

# newer_than_build FILE...: sets the files' times two seconds ahead.
newer_than_build() {
  touch -d "@$(($(date +%s) + 2))" "$@"
}

step_editing_rust_sources_rebuilds_the_library() {
  # Works on a copy of the crate, never on the checkout: add a module with an
  # exported probe function, build, then edit only that new file and build
  # again. Each build must run cargo and stage a library with the new symbol.
  local copy="$WORK/crate-copy" bld="$WORK/edit-build" item out
  mkdir -p "$copy"
  for item in Cargo.toml Cargo.lock cbindgen.toml README.md src capi cli include abi cbuild examples benches tests; do
    if [[ -e "$ROOT/$item" ]]; then cp -a "$ROOT/$item" "$copy/"; fi
  done
  rm -rf "$copy"/cbuild/build*/
  cmake -S "$copy/cbuild" -B "$bld" -G "$GENERATOR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DLIFESIGN_CARGO_OFFLINE="$OFFLINE" \
    -DLIFESIGN_BUILD_TESTS=OFF
  cmake --build "$bld" -j "$JOBS"

  printf '\n#[doc(hidden)]\npub mod cbuild_probe;\n' >>"$copy/src/lib.rs"
  printf '#[no_mangle]\npub extern "C" fn lifesign_cbuild_probe_a() -> i32 {\n    1\n}\n' \
    >"$copy/src/cbuild_probe.rs"
  # File times come from the kernel's coarse clock: an edit made within the
  # same tick as the last build's outputs would look no newer than them.
  # Date the edits clearly after the build, as a person's edit would be.
  newer_than_build "$copy/src/lib.rs" "$copy/src/cbuild_probe.rs"
  out="$(cmake --build "$bld" -j "$JOBS" 2>&1)" || { echo "$out"; fail "the build after adding a module failed"; }
  echo "$out"
  grep -q "Building the lifesign crate with cargo" <<<"$out" || fail "editing src/lib.rs did not run cargo"
  nm -D --defined-only "$bld/lib/liblifesign.so.$VERSION_NUMERIC" | grep -qw lifesign_cbuild_probe_a ||
    fail "the staged library lacks the function added to the sources"

  sed -i 's/lifesign_cbuild_probe_a/lifesign_cbuild_probe_b/' "$copy/src/cbuild_probe.rs"
  newer_than_build "$copy/src/cbuild_probe.rs"
  out="$(cmake --build "$bld" -j "$JOBS" 2>&1)" || { echo "$out"; fail "the build after editing the new module failed"; }
  echo "$out"
  grep -q "Building the lifesign crate with cargo" <<<"$out" ||
    fail "editing a source file created after configuration did not run cargo"
  nm -D --defined-only "$bld/lib/liblifesign.so.$VERSION_NUMERIC" | grep -qw lifesign_cbuild_probe_b ||
    fail "the staged library does not reflect the edit of the new module"
}

step_relocated_prefix() {
  mkdir -p "$WORK/elsewhere"
  mv "$RELOC_PREFIX" "$MOVED"
  [[ ! -e "$RELOC_PREFIX" ]] || fail "the original prefix still exists"
  consumer_cmake "$CONSUMERS/find_package" "$WORK/moved-shared" -DCMAKE_PREFIX_PATH="$MOVED"
  grep -q "lifesign_DIR:PATH=$MOVED/lib/cmake/lifesign" "$WORK/moved-shared/CMakeCache.txt" ||
    fail "find_package did not take the moved prefix"
  expect_needs_soname "$WORK/moved-shared/consumer_c"
  consumer_cmake "$CONSUMERS/find_package" "$WORK/moved-static" -DCMAKE_PREFIX_PATH="$MOVED" \
    -DLIFESIGN_CONSUMER_LINK=static
  expect_self_contained "$WORK/moved-static/consumer_c"
  PC_PREFIX="$MOVED" step_pkg_config
  # --define-prefix takes the prefix from where the .pc file is: a clean
  # libdir for the rpath, as the README says for the tarball.
  local libdir
  libdir="$(pkg-config --define-prefix --variable=libdir lifesign)"
  echo "libdir (--define-prefix): $libdir"
  [[ "$libdir" == "$MOVED/lib" ]] || fail "pkg-config --define-prefix --variable=libdir is '$libdir', not $MOVED/lib"
  rpath_consumer c-rpath-moved --define-prefix
  expect_runpath "$WORK/pc/c-rpath-moved" "$MOVED/lib"
}

# --- internal entry: run one step ------------------------------------------------
if [[ "${1:-}" == "__step" ]]; then
  "step_$2"
  exit 0
fi

# --- the driver -------------------------------------------------------------------
STEP_TIMEOUT="${LIFESIGN_CBUILD_STEP_TIMEOUT:-900}"
TOTAL_TIMEOUT="${LIFESIGN_CBUILD_TIMEOUT:-2700}"
VERBOSE="${LIFESIGN_CBUILD_VERBOSE:-0}"
KEEP="${LIFESIGN_CBUILD_KEEP:-0}"
BUILD_TYPE="${LIFESIGN_CBUILD_TYPE:-Release}"
if [[ "${LIFESIGN_CBUILD_OFFLINE:-1}" == "1" ]]; then OFFLINE=ON; else OFFLINE=OFF; fi
if [[ -n "${CMAKE_GENERATOR:-}" ]]; then
  GENERATOR="$CMAKE_GENERATOR"
elif command -v ninja >/dev/null; then
  GENERATOR=Ninja
else
  GENERATOR="Unix Makefiles"
fi
unset CMAKE_GENERATOR

for tool in cmake cc c++ readelf timeout; do
  command -v "$tool" >/dev/null || { echo "run-tests.sh: $tool is required" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lifesign-cbuild.XXXXXX")"
cleanup() {
  if [[ "$KEEP" == "1" ]]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

VERSION="$(cargo_version)"
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || { echo "no version in $ROOT/Cargo.toml" >&2; exit 2; }
VERSION_MAJOR="${BASH_REMATCH[1]}"
VERSION_MINOR="${BASH_REMATCH[2]}"
VERSION_NUMERIC="${BASH_REMATCH[0]}"
# capi/artifact/build.rs's rule (the installed file is checked against it below).
if [[ "$VERSION_MAJOR" == 0 ]]; then SONAME="liblifesign.so.0.$VERSION_MINOR"; else SONAME="liblifesign.so.$VERSION_MAJOR"; fi
BUILD="$WORK/build"
PREFIX="$WORK/prefix"
RELOC_BUILD="$WORK/relocatable-build"
RELOC_PREFIX="$WORK/relocatable-prefix"
MOVED="$WORK/elsewhere/moved-prefix"
mkdir -p "$WORK/tmp" "$WORK/logs"
export ROOT HERE CONSUMERS WORK BUILD PREFIX RELOC_BUILD RELOC_PREFIX MOVED VERSION VERSION_MAJOR VERSION_MINOR VERSION_NUMERIC SONAME \
  GENERATOR OFFLINE BUILD_TYPE
export JOBS=2 PC_PREFIX="$PREFIX" TMPDIR="$WORK/tmp" CI="${CI:-true}"

passed=()
failed=()
skipped=()
ctest_summary=""

# run_step NAME [PREREQUISITE...]: skipped when a prerequisite did not pass.
run_step() {
  local name="$1" prereq log rc started elapsed limit
  shift
  for prereq in "$@"; do
    if [[ " ${passed[*]} " != *" $prereq "* ]]; then
      skipped+=("$name")
      echo "SKIP  $name (needs $prereq)"
      return 0
    fi
  done
  limit=$((TOTAL_TIMEOUT - SECONDS))
  if ((limit <= 0)); then
    failed+=("$name")
    echo "FAIL  $name (not started: the overall limit of ${TOTAL_TIMEOUT}s is used up)"
    return 0
  fi
  ((limit < STEP_TIMEOUT)) || limit=$STEP_TIMEOUT
  log="$WORK/logs/$name.log"
  rc=0
  started=$SECONDS
  timeout --kill-after=10 "$limit" "$SELF" __step "$name" </dev/null >"$log" 2>&1 || rc=$?
  elapsed="$((SECONDS - started))s"
  if [[ "$VERBOSE" == "1" ]]; then sed "s/^/  [$name] /" "$log"; fi
  if [[ $rc -eq 0 ]]; then
    passed+=("$name")
    echo "PASS  $name ($elapsed)"
  else
    failed+=("$name")
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      echo "FAIL  $name (timed out after ${limit}s)"
    else
      echo "FAIL  $name (exit $rc, $elapsed); last lines of its output:"
    fi
    tail -n 60 "$log" | sed "s/^/  | /"
  fi
  if [[ "$name" == "ctest" ]]; then
    ctest_summary="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" || true)"
  fi
}

echo "lifesign $VERSION: CMake build and consumer tests ($GENERATOR, $BUILD_TYPE, cargo offline=$OFFLINE)"
run_step configure
run_step build_library configure
run_step build_tests build_library
run_step rebuild_without_changes_does_not_run_cargo build_tests
run_step ctest build_tests
run_step install build_library
run_step installed_tree_is_complete install
run_step install_strip_removes_debug_info install
run_step find_package_shared install
run_step find_package_static install
run_step find_package_refuses_another_abi_version install
run_step find_package_names_an_unknown_component install
if command -v pkg-config >/dev/null; then
  run_step pkg_config install
  run_step pkg_config_libdir_is_clean install
else
  skipped+=(pkg_config pkg_config_libdir_is_clean)
  echo "SKIP  pkg_config, pkg_config_libdir_is_clean (pkg-config is not installed)"
fi
run_step install_relocatable build_library
run_step add_subdirectory build_library
run_step editing_rust_sources_rebuilds_the_library build_library
run_step relocated_prefix install_relocatable

total=$((${#passed[@]} + ${#failed[@]} + ${#skipped[@]}))
echo "ctest: ${ctest_summary:-no summary}"
if [[ ${#failed[@]} -eq 0 ]]; then
  echo "cbuild: PASS: ${#passed[@]} of $total steps passed, ${#skipped[@]} skipped${skipped:+ (${skipped[*]})}"
  exit 0
fi
echo "cbuild: FAIL: ${#failed[@]} of $total steps failed (${failed[*]}), ${#passed[@]} passed, ${#skipped[@]} skipped"
exit 1

#!/usr/bin/env bash
# The ABI guards, each shown to work on a real build (make test-abi):
#
#   1. abi/check.sh: this checkout's liblifesign.so against the committed
#      baseline abi/lifesign.abi.
#   2. The check refuses a library whose lifesign_report has one field moved
#      (a copy of the crate with `verdict` and `state` swapped).
#   3. The check passes a library that only adds (a field appended to
#      lifesign_report, a function in a new version node) and lists both.
#   4. A program built against the 0.1 header (tests/abi/v0.1) refuses to
#      start where only this library is installed: the dynamic loader's
#      "cannot open shared object file", never a 0.2 report written into a
#      0.1 struct.
#
# The changed copies build in target/abi-variants (dependencies built once,
# then only the crate).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/lifesign-abi.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }

# A copy of the crate's sources, changed by the python code in $2.
variant() {
    local dir="$work/$1"
    mkdir -p "$dir"
    (cd "$root" && cp -r Cargo.toml Cargo.lock src capi cli abi benches examples "$dir/")
    python3 - "$dir" <<<"$2" || return 1
    echo "$dir"
}

check_variant() {
    LIFESIGN_ABI_SOURCE="$1" LIFESIGN_ABI_TARGET_DIR="$root/target/abi-variants" \
        bash "$root/abi/check.sh" >"$2" 2>&1
}

# 1. This checkout against the baseline.
if bash "$root/abi/check.sh" >"$work/current.log" 2>&1; then
    pass "this_build_keeps_the_released_abi"
else
    cat "$work/current.log"
    fail "this_build_keeps_the_released_abi" "abi/check.sh refused this checkout (above)"
fi

# 2. One field of lifesign_report moved.
moved="$(variant moved '
import sys, pathlib
p = pathlib.Path(sys.argv[1], "capi/src/lib.rs")
s = p.read_text()
a, b = "    pub verdict: i32,\n", "    pub state: i32,\n"
assert s.count(a) == 1 and s.count(b) == 1
p.write_text(s.replace(a, "@A@").replace(b, a).replace("@A@", b))
')" || { fail "a_moved_field_is_refused" "could not make the copy"; moved=""; }
if [[ -n "$moved" ]]; then
    rc=0
    check_variant "$moved" "$work/moved.log" || rc=$?
    if [[ $rc -eq 1 ]] && grep -q "INCOMPATIBLE" "$work/moved.log" && grep -q "verdict" "$work/moved.log"; then
        grep -E "offset changed|^abi: lifesign_" "$work/moved.log" | sed 's/^ */      /'
        pass "a_moved_field_is_refused"
    else
        cat "$work/moved.log"
        fail "a_moved_field_is_refused" "abi/check.sh exited $rc (expected 1, naming verdict)"
    fi
fi

# 3. A field appended to lifesign_report and a function added in a new node.
grown="$(variant grown '
import sys, pathlib
root = pathlib.Path(sys.argv[1])
p = root / "capi/src/lib.rs"
s = p.read_text()
end = "    pub detail: [c_char; 256],\n}\n"
assert s.count(end) == 1
s = s.replace(end, "    pub detail: [c_char; 256],\n    /// Appended.\n    pub appended: u64,\n}\n")
written = "        detail,\n    } = o;\n"
assert s.count(written) == 1
s = s.replace(written, "        detail,\n        appended: _,\n    } = o;\n")
close = "} // ffi_fn!\n"
assert s.count(close) == 1
s = s.replace(close, "/// Added.\nfn lifesign_added_later() -> i32 {\n    Ok(0)\n}\n" + close)
p.write_text(s)
m = root / "abi/lifesign.map"
import re
nodes = re.findall(r"^(LIFESIGN_[0-9.]+) \{", m.read_text(), re.M)
m.write_text(m.read_text() + "\nLIFESIGN_99.0 {\nglobal:\n        lifesign_added_later;\n} %s;\n" % nodes[-1])
')" || { fail "additions_pass_and_are_listed" "could not make the copy"; grown=""; }
if [[ -n "$grown" ]]; then
    rc=0
    check_variant "$grown" "$work/grown.log" || rc=$?
    if [[ $rc -eq 0 ]] && grep -q "lifesign_added_later" "$work/grown.log" &&
        grep -q "appended" "$work/grown.log" && grep -q "compatible with" "$work/grown.log"; then
        grep -E "Added function|lifesign_added_later|'u64 appended'" "$work/grown.log" | sed 's/^ */      /'
        pass "additions_pass_and_are_listed"
    else
        cat "$work/grown.log"
        fail "additions_pass_and_are_listed" "abi/check.sh exited $rc (expected 0, listing both additions)"
    fi
fi

# 4. A 0.1 program where only this library is installed. It is linked as it
# was against 0.1: -llifesign, resolved by a library whose SONAME is 0.1's
# (the stub; only its name matters), so it records NEEDED liblifesign.so.0.
v01="$root/tests/abi/v0.1"
lib="$root/target/release/liblifesign.so"
mkdir -p "$work/old-lib" "$work/installed"
if ! cc -shared -fPIC -I"$v01" "$v01/stub.c" -Wl,-soname,liblifesign.so.0 -o "$work/old-lib/liblifesign.so" ||
    ! cc -std=c99 -Wall -Wextra -Werror -I"$v01" "$v01/program.c" -L"$work/old-lib" -llifesign \
        -o "$work/program_0_1"; then
    fail "a_0_1_program_refuses_to_start" "could not build the 0.1 program"
elif [[ ! -f "$lib" ]]; then
    fail "a_0_1_program_refuses_to_start" "$lib is not built (make build)"
else
    ln -s liblifesign.so "$work/old-lib/liblifesign.so.0"
    # This library, installed as a package installs it: the file, its SONAME link.
    soname="$(sh "$root/abi/soname.sh" "$lib")"
    cp "$lib" "$work/installed/liblifesign.so"
    ln -s liblifesign.so "$work/installed/$soname"
    needed="$(readelf -d "$work/program_0_1" | sed -n 's/.*NEEDED.*\[\(liblifesign[^]]*\)\]/\1/p')"
    rc=0
    out="$(LD_LIBRARY_PATH="$work/installed" "$work/program_0_1" 2>&1)" || rc=$?
    control="$(LD_LIBRARY_PATH="$work/old-lib" "$work/program_0_1" 2>&1)"
    if [[ "$needed" != liblifesign.so.0 ]]; then
        fail "a_0_1_program_refuses_to_start" "the 0.1 program needs '$needed', not liblifesign.so.0"
    elif [[ "$soname" == liblifesign.so.0 ]]; then
        fail "a_0_1_program_refuses_to_start" "this library still has the 0.1 SONAME liblifesign.so.0"
    elif [[ $rc -ne 127 || "$out" != *"liblifesign.so.0: cannot open shared object file"* ]]; then
        fail "a_0_1_program_refuses_to_start" "exit $rc: $out"
    elif [[ "$control" != started:* ]]; then
        fail "a_0_1_program_refuses_to_start" "the program does not run even with its own library: $control"
    else
        echo "      0.1 program (NEEDED $needed) with only $soname installed: exit $rc: $out"
        pass "a_0_1_program_refuses_to_start"
    fi
fi

echo "abi: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

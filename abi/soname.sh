#!/bin/sh
# Prints the SONAME of a shared library (capi/artifact/build.rs sets it; see there), so
# that scripts name the file the dynamic loader looks for without repeating
# the rule.
set -eu
name="$(objdump -p "$1" | awk '$1 == "SONAME" { print $2 }')"
[ -n "$name" ] || { echo "abi/soname.sh: $1 has no SONAME" >&2; exit 1; }
echo "$name"

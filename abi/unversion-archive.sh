#!/bin/sh
# Removes the symbol versions from a copy of liblifesign.a that is shipped
# (cbuild's install, make dist). capi/build.rs attaches them in the objects
# (`lifesign_check@@LIFESIGN_0.2`) for the shared library; in an archive
# they would make a program that links liblifesign.a into a shared object of
# its own fail with "version node not found". Executables link either form.
set -eu
archive="$1"
renames="$(mktemp)"
trap 'rm -f "$renames"' EXIT
nm -g --defined-only "$archive" 2>/dev/null |
    awk '$3 ~ /^lifesign_[a-z_0-9]*@@/ { split($3, name, "@"); print $3, name[1] }' |
    sort -u >"$renames"
if [ -s "$renames" ]; then
    objcopy --redefine-syms="$renames" "$archive"
fi

# Shared by dist.sh and test-dist.sh (sourced; $root is the repository root).

DIST_DIR="${LIFESIGN_DIST_DIR:-$root/dist}"
GO_MODULE="github.com/lifesign/lifesign/bindings/go"

# The version of every package, from the [workspace.package] section of Cargo.toml.
VERSION="$(awk '
    /^\[/ { in_pkg = ($0 ~ /^\[workspace\.package\][[:space:]]*$/) }
    in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
        match($0, /"[^"]*"/); print substr($0, RSTART + 1, RLENGTH - 2); exit
    }' "$root/Cargo.toml")"
[[ -n "$VERSION" ]] || { echo "no version in $root/Cargo.toml" >&2; exit 1; }

# Timestamps inside the archives: the last commit's, so a rebuild of the
# same commit gives the same bytes.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

say() { printf '\n== %s\n' "$*"; }

# The highest GLIBC_x.y symbol version an ELF file requires (objdump, or
# the one named second, for another architecture).
max_glibc() {
    "${2:-objdump}" -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1
}

# version_le A B: true when version A <= version B.
version_le() {
    [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$1" ]]
}

#!/usr/bin/env bash
# `sysroot.sh ARCH DIR`: unpacks Debian's packages for ARCH (arm64) into DIR,
# a root for qemu-user (QEMU_LD_PREFIX) holding what test-dist.sh runs there:
# glibc and its loader, musl's loader, and CPython with its standard library
# (ctypes, asyncio, subprocess). Debian multiarch: `dpkg --add-architecture`,
# then `apt-get download` of the versions the host's release pins; nothing
# is installed on the host. DIR/.packages records what it holds, so a second
# run with the same list does nothing. As root.
set -euo pipefail
arch="$1"
dir="$2"
packages=(libc6 libgcc-s1 musl python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
    libffi8 zlib1g libexpat1 libbz2-1.0 liblzma5 libcrypt1 libuuid1)
want="$arch ${packages[*]}"
if [[ -f "$dir/.packages" && "$(cat "$dir/.packages")" == "$want" ]]; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "sysroot.sh: needs root and apt-get to fetch Debian's $arch packages" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
    apt-get update >/dev/null
fi
debs="$(mktemp -d)"
trap 'rm -rf "$debs"' EXIT
names=()
for p in "${packages[@]}"; do names+=("$p:$arch"); done
(cd "$debs" && { apt-get download "${names[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get download "${names[@]}" >/dev/null; }; })
rm -rf "$dir"
mkdir -p "$dir"
for d in "$debs"/*.deb; do dpkg -x "$d" "$dir"; done
# Debian's usrmerge: /lib is /usr/lib on the target too.
for l in lib bin sbin; do
    if [[ -d "$dir/$l" && ! -L "$dir/$l" ]]; then
        mkdir -p "$dir/usr/$l"
        cp -a "$dir/$l/." "$dir/usr/$l/"
        rm -rf "${dir:?}/$l"
    fi
    [[ -e "$dir/$l" ]] || ln -s "usr/$l" "$dir/$l"
done
echo "$want" >"$dir/.packages"
echo "sysroot.sh: $dir holds Debian's $arch ${packages[*]}"

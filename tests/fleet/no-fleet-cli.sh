#!/usr/bin/env bash
# A CLI built without the fleet (`-p lifesign-cli --no-default-features`)
# answers a nats:// target with exit 2 and says why, for every command that
# takes one, and never reads it as a file name (which would say `missing`,
# exit 1: a probe reporting "dead" forever). It has no `relay`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release --quiet --target-dir target/nofleet -p lifesign-cli --no-default-features
cli=target/nofleet/release/lifesign
target=nats://127.0.0.1:4222/lifesign/host.app
for cmd in check wait watch scan; do
    rc=0
    out="$("$cli" "$cmd" "$target" 2>&1)" || rc=$?
    if [[ "$rc" -ne 2 ]] || ! grep -q 'this lifesign was built without fleet support' <<<"$out"; then
        echo "no-fleet-cli: lifesign $cmd $target: exit $rc: $out" >&2; exit 1
    fi
done
rc=0
out="$("$cli" relay /tmp 2>&1)" || rc=$?
[[ "$rc" -eq 2 ]] || { echo "no-fleet-cli: lifesign relay: exit $rc: $out" >&2; exit 1; }
echo "no-fleet-cli: check, wait, watch and scan of $target: exit 2, \"this lifesign was built without fleet support\"; relay: exit 2"

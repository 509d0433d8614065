#!/usr/bin/env bash
# Installs the Node binding's dependencies from package-lock.json and runs the
# test suite once per FFI backend (koffi, then ffi-napi).
# Assumes only that `make build` has been run at the repository root.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

for f in "$root/target/release/liblifesign.so" "$root/target/release/lifesign"; do
  if [[ ! -e "$f" ]]; then
    echo "run-tests.sh: $f is missing: run \`make build\` in $root first" >&2
    exit 1
  fi
done

./install-deps.sh

# The tests start their own emitters; nothing from a supervisor may leak in.
unset LIFESIGN_FILE LIFESIGN_INTERVAL_MS LIFESIGN_NOTIFY_FD NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LIFESIGN_LIB

# A library of another minor version, which the package must refuse
# (test/library-version.test.js).
LIFESIGN_TEST_MISMATCHED_LIB="$(bash "$root/tests/abi/mismatched-lib.sh")"
export LIFESIGN_TEST_MISMATCHED_LIB

echo "== type declarations (tsc --noEmit)"
node_modules/.bin/tsc -p test/types/tsconfig.json

passed=0
failed=0
status=0
for backend in koffi ffi-napi; do
  echo "== node --test, backend $backend"
  log="$(mktemp)"
  set +e
  LIFESIGN_NODE_BACKEND="$backend" node --test --test-timeout=120000 --test-reporter=tap test/*.test.js test/*.test.mjs 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  rm -f "$log"
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${c:-0}))
  if [[ $rc -ne 0 || -z "$p" ]]; then status=1; fi
done

echo "node: $passed passed, $failed failed"
exit "$status"

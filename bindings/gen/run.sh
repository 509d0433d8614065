#!/usr/bin/env bash
# Runs bindgen.py in a virtual environment of its own (bindings/gen/.venv)
# with the pinned, hash-checked pycparser of requirements.txt. Arguments go
# to bindgen.py: none writes the tables, --check fails when they are stale,
# --self-test runs the generator's own tests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$here/requirements.txt"
exec "$venv/bin/python" "$here/bindgen.py" "$@" </dev/null

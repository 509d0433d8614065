#!/usr/bin/env bash
# Runs the Python binding's tests in a virtual environment of its own
# (bindings/python/.venv). Assumes `make build` has been run at
# the repository root. Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"

if [[ -z "${LIFESIGN_LIB:-}" && ! -f "$root/target/release/liblifesign.so" ]]; then
    echo "run-tests.sh: $root/target/release/liblifesign.so is missing; run 'make build' in $root first" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$here/requirements-test.txt"
# Editable, so that the package runs from bindings/python/src and finds the
# repository's build output as documented.
"$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation --no-index -e "$here"

# A library of another minor version, which the package must refuse
# (tests/test_library_version.py).
LIFESIGN_TEST_MISMATCHED_LIB="$(bash "$root/tests/abi/mismatched-lib.sh")"
export LIFESIGN_TEST_MISMATCHED_LIB

cd "$here"
# pytest exits 5 when it collected no test: let that fail the run too.
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@" </dev/null

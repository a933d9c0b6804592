#!/bin/sh
# Makes bench/peers/quartet/.venv: QU4RTET and its pinned dependencies, apart from the
# project's own environment. Does nothing when the venv already holds these exact pins.
# PYTHON picks the interpreter (default python3; QU4RTET 4.1 runs on 3.11).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
stamp="$venv/.installed-requirements"

if [ -f "$stamp" ] && cmp -s "$here/requirements.txt" "$stamp"; then
    exit 0
fi
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$here/requirements.txt"
# The stamp is the requirements it was installed from: a changed pin installs again.
cp "$here/requirements.txt" "$stamp"
echo "QU4RTET ready: $venv/bin/python"

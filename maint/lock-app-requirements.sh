#!/usr/bin/env bash
# Regenerates app/requirements.lock, the hash-locked list of every package the image and the
# tests install (`pip install --require-hashes`), from the exact pins in app/requirements.txt.
# Run it after changing app/requirements.txt, then `bash maint/install-deps.sh && npm test`.
#
# pip-tools resolves for the interpreter it runs on: use a Python of the image's minor version
# (3.11, app/Dockerfile) on Linux x86-64, as the image is. `--generate-hashes` records the hash of
# every file PyPI has for each pinned version (wheels of all platforms and the sdist), so the lock
# also installs on other machines; the image and install-deps.sh take wheels only.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_TOOLS_VERSION=7.6.2
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
# Only PyPI: a find-links directory configured on the machine must not end up in the lock.
export PIP_FIND_LINKS= PIP_DISABLE_PIP_VERSION_CHECK=1
"$work/venv/bin/pip" install --quiet "pip-tools==${PIP_TOOLS_VERSION}"
cd app
"$work/venv/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe \
    --no-emit-index-url --no-emit-find-links --output-file requirements.lock requirements.txt
echo "lock-app-requirements: app/requirements.lock written ($("$python" --version), pip-tools ${PIP_TOOLS_VERSION})"

#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 (bookworm) or 13 (trixie) machine:
#  - from Debian's packages: PostgreSQL and Redis (the tests start their own servers on free
#    loopback ports), openssl (the TLS Redis test makes its certificates) and python3-venv;
#  - the image's Python stack in a virtualenv, .venv/ in the repository (git-ignored): exactly the
#    hash-locked pins of app/requirements.lock that app/Dockerfile installs (Django 5.2, psycopg 3,
#    gunicorn, django-redis, django-storages with google-cloud-storage, python-json-logger),
#    wheels only, `pip install --require-hashes`. Every Python test runs on .venv/bin/python;
#  - fsouza/fake-gcs-server, the GCS emulator of `npm run local` (and its tests), built with
#    `go install` from the Go module proxy into .tools/bin/ (git-ignored): pure Go, CGO_ENABLED=0,
#    a static binary that needs no network and no C library at run time;
#  - the npm packages from the lockfile (`npm ci`, skipped when node_modules already holds exactly
#    them: maint/lib/nodeModulesCurrent.cjs).
#
# The interpreter is whatever `python3` comes first on PATH (set PYTHON=... to choose another,
# VENV=... for another directory than .venv):
# pyenv's 3.11 on these machines, /usr/bin/python3 (Debian's 3.11 on bookworm, 3.13 on trixie) on a
# plain Debian. The image runs Python 3.11 (app/Dockerfile); the script says when the minor
# version differs. The venv is rebuilt from scratch whenever the lock or the interpreter changed,
# so it never keeps a package the lock no longer names.
#
# Idempotent; run as root or with sudo available. It never stops, disables or masks a service
# (tests/app-install-deps.test.ts checks).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

export DEBIAN_FRONTEND=noninteractive
sudo_ apt-get update -qq
sudo_ apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-client redis-server redis-tools openssl python3 python3-venv util-linux >/dev/null
# The tests start their own PostgreSQL and Redis on free loopback ports and leave the packaged
# services (if any run) alone.

python=${PYTHON:-python3}
venv=${VENV:-.venv}
lock=app/requirements.lock
image_python=3.11
stamp="$(sha256sum "$lock" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if [ "$(cat "$venv/.installed-from" 2>/dev/null || true)" != "$stamp" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # Only PyPI and the hashes in the lock: a find-links directory configured on the machine is ignored.
    # --no-deps: the lock lists every package already (pip-compile), so pip resolves nothing; pip
    # before 24 refuses a locked file whose packages require extras of each other (procrastinate's
    # `psycopg[pool]`: "all requirements must have their versions pinned"), and the venv's pip is
    # whatever the interpreter bundles. `pip check` then proves the set is consistent.
    PIP_FIND_LINKS= PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet \
        --require-hashes --no-deps --only-binary=:all: -r "$lock"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip check
    echo "$stamp" >"$venv/.installed-from"
fi
# The Django settings helper of this repository (python/django-platform-settings), importable by
# path in the venv (a .pth file names its directory), so the app and the tests run its working copy.
"$venv/bin/python" -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "django-platform-settings.pth").write_text(sys.argv[1] + "\n")' \
    "$(pwd)/python/django-platform-settings"
version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "$image_python" ]; then
    echo "install-deps: note: $venv runs Python $version, the image Python $image_python (app/Dockerfile)" >&2
fi

# The settings helper's own test venvs (tests/settings-package.test.ts pip-installs the package's
# working copy into them): Django 5.2 LTS from app/requirements.lock on this interpreter, and
# Django 6 (it needs Python 3.12 or later) from python/django-platform-settings/tests/requirements-django6.lock
# on a python3.12+ found on PATH or among pyenv's versions (PYTHON_DJANGO6=... to choose one);
# without one the test says so and skips the Django 6 runs. Hash-locked, wheels only, as above.
tools=${TOOLS:-.tools}
settings_tests=python/django-platform-settings/tests
settings_venv() {  # <interpreter> <venv dir> <lock>...
    local python_=$1 dir=$2 stamp_
    shift 2
    stamp_="$(cat "$@" | sha256sum | cut -d' ' -f1) $("$python_" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    if [ "$(cat "$dir/.installed-from" 2>/dev/null || true)" != "$stamp_" ]; then
        rm -rf "$dir"
        "$python_" -m venv "$dir"
        local lock_
        for lock_ in "$@"; do
            PIP_FIND_LINKS= PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/python" -m pip install --quiet \
                --require-hashes --no-deps --only-binary=:all: -r "$lock_"
        done
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/python" -m pip check
        echo "$stamp_" >"$dir/.installed-from"
    fi
}
settings_venv "$venv/bin/python" "$tools/settings-django5" "$lock" "$settings_tests/requirements-build.lock"
python_django6=${PYTHON_DJANGO6:-}
if [ -z "$python_django6" ]; then
    for candidate in python3.14 python3.13 python3.12 $(ls -d "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            python_django6=$(command -v "$candidate")
            break
        fi
    done
fi
if [ -n "$python_django6" ]; then
    settings_venv "$python_django6" "$tools/settings-django6" "$settings_tests/requirements-django6.lock"
else
    rm -rf "$tools/settings-django6"
    echo "install-deps: note: no Python 3.12 or later here, so the settings helper is not tested on Django 6 (set PYTHON_DJANGO6=...)" >&2
fi

# The GCS emulator; its version is FAKE_GCS_SERVER_VERSION in cli/lib/local/gcs.ts (a test checks).
# Rebuilt only when the version changes (Go's module and build caches make a rebuild quick).
fake_gcs_version=v1.56.1
go=$(command -v go || echo /usr/local/go/bin/go)
if [ "$(cat "$tools/fake-gcs-server.version" 2>/dev/null || true)" != "$fake_gcs_version" ] || [ ! -x "$tools/bin/fake-gcs-server" ]; then
    if [ ! -x "$go" ]; then
        echo "install-deps: Go 1.26 or later (what fake-gcs-server $fake_gcs_version's go.mod asks) is needed to build it: https://go.dev/doc/install" >&2
        exit 1
    fi
    mkdir -p "$tools/bin"
    CGO_ENABLED=0 GOBIN="$(cd "$tools/bin" && pwd)" "$go" install "github.com/fsouza/fake-gcs-server@$fake_gcs_version"
    echo "$fake_gcs_version" >"$tools/fake-gcs-server.version"
fi

# After the README's first command (`npm ci && npm run synth …`) node_modules already holds the
# lockfile's packages: a second npm ci would only delete and reinstall them (about 30-50 s).
node maint/lib/nodeModulesCurrent.cjs || npm ci --no-audit --no-fund
echo "install-deps: done ($("$venv/bin/python" -c 'import sys, django; print("Python", sys.version.split()[0], "Django", django.get_version())'), $(redis-server --version | cut -d' ' -f3), $(ls /usr/lib/postgresql))"

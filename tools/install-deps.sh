#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 (bookworm) or 13 (trixie) machine:
# the npm packages from the lockfile, and from Debian's packages PostgreSQL, Redis, Django 4.2
# (bookworm-backports on Debian 12; the default on 13), psycopg2, django-redis, django-storages,
# python-json-logger and gunicorn for the end-to-end contract test, and openssl for the TLS Redis
# test. Idempotent; run as root or with sudo available. It never stops, disables or masks a
# service (tests/app-install-deps.test.ts checks): the tests start their own servers.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

. /etc/os-release
django_release=()
if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
    # Django 4.2 LTS for Debian 12 comes from bookworm-backports, on the mirror apt already uses.
    mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
        | grep -v -- '-security' | grep -oE 'https?://[^ ]+' | head -n 1 || true)
    [ -n "$mirror" ] || { echo "install-deps: no Debian mirror found in /etc/apt sources" >&2; exit 1; }
    if ! grep -qsr 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "deb ${mirror} bookworm-backports main" | sudo_ tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
    fi
    django_release=(-t bookworm-backports)
fi

export DEBIAN_FRONTEND=noninteractive
sudo_ apt-get update -qq
sudo_ apt-get install -y -qq --no-install-recommends "${django_release[@]}" python3-django >/dev/null
sudo_ apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-client redis-server redis-tools \
    python3-psycopg2 python3-django-redis python3-django-storages python3-pythonjsonlogger gunicorn openssl >/dev/null
# The tests start their own PostgreSQL and Redis on free loopback ports and leave the packaged
# services (if any run) alone.

npm ci --no-audit --no-fund
echo "install-deps: done ($(/usr/bin/python3 -c 'import django; print("Django", django.get_version())'), $(redis-server --version | cut -d' ' -f3), $(ls /usr/lib/postgresql))"

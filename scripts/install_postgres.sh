#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the team tracking test (tests/test_team_tracking.py, tests/team_server.py).
# Idempotent: does nothing when initdb and pg_ctl exist under /usr/lib/postgresql/*/bin. Needs root (or sudo) and
# the Debian archive. The package's own cluster is not used: the test runs initdb in a temporary folder of its own.
set -euo pipefail
has_postgres() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then return 0; fi
    done
    return 1
}
if has_postgres; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo -n"; else
    echo "install_postgres.sh: initdb/pg_ctl are missing and this user cannot apt-get install them;" \
         "fix: as root run apt-get install postgresql (the team tracking test is skipped without it)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install_postgres.sh: no apt-get here; install PostgreSQL yourself (the team tracking test is skipped without it)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }; then
    echo "install_postgres.sh: apt-get could not install postgresql (offline, or sudo needs a password);" \
         "the team tracking test is skipped without it" >&2
elif ! has_postgres; then
    echo "install_postgres.sh: postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin;" \
         "the team tracking test is skipped without them" >&2
fi
exit 0

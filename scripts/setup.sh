#!/usr/bin/env bash
# Installs what reframe needs on Debian 12, then builds and installs it.
# Sourced by scripts/demo and scripts/test; safe to run again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi

PACKAGES="build-essential postgresql-15 postgresql-server-dev-15 libopenblas-dev libxgboost-dev
postgresql-15-pgtap postgresql-15-cron libtap-parser-sourcehandler-pgtap-perl
python3-xgboost python3-psycopg2 python3-numpy python3-sklearn"

. scripts/packages.sh
ensure_packages "Debian packages" $PACKAGES

make -s -j2 PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
$SUDO make -s install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null

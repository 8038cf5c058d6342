#!/usr/bin/env bash
# Builds Citus from ../shared/citus once per machine (cached under /var/tmp,
# keyed by the tarball's sha256) and installs it into PostgreSQL 15.
# Exit status 2 (and a message) when there is no Citus source and no Citus
# installed: the caller skips the Citus suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
libdir=$($PG_CONFIG --pkglibdir)
src=${REFRAME_CITUS_SOURCE:-../shared/citus}
tarball=$src/citus-13.2.2.tar.gz
if [ ! -f "$tarball" ]; then
    if [ -f "$libdir/citus.so" ]; then
        exit 0
    fi
    echo "reframe: no Citus source ($tarball) and no Citus installed"
    exit 2
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
src=$(cd "$src" && pwd)
key=$(cat "$tarball" "$src"/*.patch | sha256sum | cut -c1-16)
cache=/var/tmp/reframe-citus-$key
if [ ! -f "$cache/built" ]; then
    . scripts/packages.sh
    ensure_packages "Citus build packages" liblz4-dev libzstd-dev libcurl4-openssl-dev libkrb5-dev \
        libssl-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev
    echo "reframe: building Citus 13.2.2 into $cache (about 2 minutes, once per machine)"
    rm -rf "$cache" && mkdir -p "$cache"
    tar xzf "$tarball" -C "$cache"
    (cd "$cache"/citus-13.2.2 &&
        for p in "$src"/*.patch; do patch -s -p1 < "$p"; done &&
        ./configure -q PG_CONFIG=$PG_CONFIG > "$cache/configure.log" 2>&1 &&
        make -s -j"$(nproc)" > "$cache/make.log" 2>&1)
    touch "$cache/built"
fi
if ! cmp -s "$cache/citus-13.2.2/src/backend/distributed/citus.so" "$libdir/citus.so"; then
    (cd "$cache"/citus-13.2.2 && $SUDO make -s install > "$cache/install.log" 2>&1)
fi

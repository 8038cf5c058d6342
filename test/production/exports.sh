#!/usr/bin/env bash
# Only PostgreSQL's entry points leave reframe.so (reframe.map): every
# symbol it exports is prefixed, so none collides with another extension's
# in the same backend.
. "$(dirname "$0")/lib.sh"
trap - EXIT
so=$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)/reframe.so
[ -f "$so" ] || fail "no $so"
all=$(nm -D --defined-only "$so" | awk '{print $3}')
bad=$(grep -vE '^(reframe_|pg_finfo_reframe_|Pg_magic_func$|_PG_init$)' <<<"$all")
[ -z "$bad" ] || fail "reframe.so exports unprefixed symbols: $(echo $bad | head -c 400)"
n=$(wc -l <<<"$all")
echo "exports: reframe.so exports $n symbols, every one PostgreSQL's entry point or prefixed reframe_"

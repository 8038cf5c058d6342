#!/usr/bin/env bash
# reframe.so exports PostgreSQL's entry points and nothing else: the module
# magic, _PG_init, and each PG_FUNCTION_INFO_V1 function with its info
# function (the Makefile's version script, reframe.exports).  Every other
# global name of the objects carries its module's CamelCase prefix
# (CONVENTIONS.md), so that none is a bare word like "Evaluate".
#   make && bash scripts/check-exports.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f reframe.so ] || { echo "check-exports: no reframe.so: run make first"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed -n 's/^PG_FUNCTION_INFO_V1(\([a-z_0-9]*\));.*/\1/p' src/*/*.c src/reframe.c |
    awk '{ print $1; print "pg_finfo_" $1 }' | sort -u > "$work/entry"
printf 'Pg_magic_func\n_PG_init\n' >> "$work/entry"
sort -u -o "$work/entry" "$work/entry"
nm -D --defined-only reframe.so | awk 'NF == 3 { print $3 }' | sort -u > "$work/exported"
comm -23 "$work/exported" "$work/entry" > "$work/extra"
comm -13 "$work/exported" "$work/entry" > "$work/missing"

# internal globals: a CamelCase word with a prefix (EncoderFit, RfMatrixCreate), or reframe_*
for o in $(find src -name '*.o' | sort); do
    nm --defined-only -g "$o" | awk -v f="${o%.o}.c" 'NF == 3 { print f ": " $3 }'
done | grep -vE ': (reframe_[a-z_0-9]+|pg_finfo_reframe_[a-z_0-9]+|Pg_magic_func|_PG_init|[A-Z][a-z]+[A-Z][A-Za-z0-9]*(\.resolver)?)$' > "$work/bare" || true

echo "check-exports: $(wc -l < "$work/exported") symbols exported, $(wc -l < "$work/extra") beyond the entry points," \
     "$(wc -l < "$work/missing") entry points missing, $(wc -l < "$work/bare") globals without a prefix"
status=0
for f in extra missing bare; do
    if [ -s "$work/$f" ]; then
        case $f in
            extra) echo "check-exports: exported but not an entry point:" ;;
            missing) echo "check-exports: entry points not exported:" ;;
            bare) echo "check-exports: global names without a module prefix:" ;;
        esac
        sed 's/^/  /' "$work/$f"
        status=1
    fi
done
exit $status

#!/usr/bin/env bash
# The layering of src/: each folder's files use only their own folder and
# the folders before it (the Makefile's LAYERS, lowest first; src/reframe.c
# above them all), and no files reach each other in a circle.  From the
# built objects (nm: each file's defined symbols against the others'
# undefined ones) and every #include of reframe's own headers, prints each
# use of a higher layer and each loop (tsort), and each line outside
# src/families that names a family by its string ("trees"), and each SQL
# entry point or SPI call in the library layers below src/store, and fails
# if there is one.
#   make && bash scripts/check-layers.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
layers=$(sed -n 's/^LAYERS = //p' Makefile)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "file.c 2", "file.h 2": each source file's layer
rank=0
for d in $layers; do
    for f in src/$d/*.[ch]; do [ -e "$f" ] && echo "$(basename "$f") $rank"; done
    rank=$((rank + 1))
done > "$work/layer"
echo "reframe.c $rank" >> "$work/layer"

objs=$(find src -name '*.o' | sort)
[ -n "$objs" ] || { echo "check-layers: no objects under src/: run make first"; exit 1; }
# symbol -> the file defining it; then "user.c definer.c" for each use across files
for o in $objs; do
    nm --defined-only -g "$o" | awk -v f="$(basename "$o" .o).c" 'NF == 3 && $2 ~ /[TDBR]/ { print $3, f }'
done | sort -u > "$work/defs"
for o in $objs; do
    nm -u "$o" | awk -v f="$(basename "$o" .o).c" '{ print $2, f }'
done | sort -u > "$work/uses"
join "$work/uses" "$work/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$work/calls"
# "includer header.h" for reframe's own headers
for f in src/*/*.[ch] src/reframe.c; do
    sed -n 's/^#include "\([a-z_]*\.h\)".*/\1/p' "$f" | awk -v f="$(basename "$f")" '{ print f, $1 }'
done | sort -u > "$work/includes"

upward() {	# the lines "a b" of $1 where a's layer is below b's
    awk 'NR == FNR { r[$1] = $2; next } ($1 in r) && ($2 in r) && r[$1] < r[$2] { print }' "$work/layer" "$1"
}
{ upward "$work/calls" | sed 's/^/calls /'; upward "$work/includes" | sed 's/^/includes /'; } > "$work/up"
tsort "$work/calls" > /dev/null 2> "$work/loops" || true
{ grep -v "input contains a loop" "$work/loops" || true; } | sed 's/^tsort: //' | sort -u > "$work/looped"

# a family is named by its string only in the families' files (the table)
families=$(sed -n 's/^\s*\.name = "\([a-z_]*\)",.*/\1/p' src/families/*.c | paste -sd'|')
grep -nE "\\\\?\"($families)\\\\?\"" $(ls src/*/*.[ch] src/reframe.c | grep -v '^src/families/') |
    sed -e 's#/\*.*\*/##' | grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)' |
    grep -E "\\\\?\"($families)\\\\?\"" > "$work/named" || true

# the library layers below the store (as PostGIS keeps liblwgeom apart) define
# no SQL-callable function and run no SQL
library=$(for d in $layers; do [ "$d" = store ] && break; echo "src/$d/*.[ch]"; done)
grep -nE 'PG_FUNCTION_INFO_V1|SPI_[a-z]+\(' $library > "$work/sql" || true

nfiles=$(wc -l < "$work/layer")
ncalls=$(wc -l < "$work/calls")
echo "check-layers: $nfiles files in $rank layers and src/reframe.c, $ncalls uses between files;" \
     "$(wc -l < "$work/up") of a higher layer, $(wc -l < "$work/looped") files in loops," \
     "$(wc -l < "$work/named") families named outside src/families," \
     "$(wc -l < "$work/sql") SQL entry points or SPI calls in the library layers"
status=0
fail() {	# fail FILE MESSAGE: prints MESSAGE and FILE's lines, if it has any
    [ -s "$1" ] || return 0
    echo "check-layers: $2:"
    sed 's/^/  /' "$1"
    status=1
}
fail "$work/up" "a lower layer uses a higher one"
fail "$work/looped" "files that reach each other in a circle"
fail "$work/sql" "SQL in a library layer (below src/store)"
fail "$work/named" "a family named by its string outside its file and the table (src/families)"
exit $status

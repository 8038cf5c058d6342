#!/usr/bin/env bash
# Functions of a screen: no function of src/ is longer than SCREEN lines
# (its body, brace to brace) unless its comment says why ("Longer than a
# screen"), or it is one of those still listed in scripts/long-functions.txt
# to be split.  Fails on a new long function, and on a listed one that is no
# longer long (remove it from the list, so the list only shrinks).
#   bash scripts/check-functions.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCREEN=60
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "file function lines" for each long function without a stated reason
for f in src/*/*.c src/reframe.c; do
    awk -v file="$f" -v screen="$SCREEN" '
        /^\/\*/ { comment = ""; incomment = 1 }
        incomment { comment = comment $0 "\n"; if ($0 ~ /\*\//) { incomment = 0; comment_end = NR } ; next }
        /^[A-Za-z_][A-Za-z0-9_]*\(/ && !inbody { name = $0; sub(/\(.*/, "", name); named = NR;
                                                 reason = (named - comment_end <= 2 && comment ~ /Longer than a screen/) }
        /^\{/ && named { inbody = 1; start = NR; next }
        /^\}/ && inbody { inbody = 0; if (NR - start > screen && !reason) print file, name, NR - start; named = 0 }
    ' "$f"
done | sort > "$work/long"
sed -e 's/#.*//' -e '/^\s*$/d' scripts/long-functions.txt | awk '{ print $1, $2 }' | sort > "$work/known"
awk '{ print $1, $2 }' "$work/long" | sort > "$work/long_names"
comm -23 "$work/long_names" "$work/known" > "$work/new"
comm -13 "$work/long_names" "$work/known" > "$work/gone"

echo "check-functions: $(wc -l < "$work/long") functions longer than $SCREEN lines without a stated reason," \
     "$(wc -l < "$work/known") listed to split, $(wc -l < "$work/new") new, $(wc -l < "$work/gone") listed but no longer long"
status=0
if [ -s "$work/new" ]; then
    echo "check-functions: longer than a screen, with no reason in the comment (split it, or say why):"
    awk 'NR == FNR { want[$1 " " $2] = 1; next } ($1 " " $2) in want { print "  " $1 " " $2 " (" $3 " lines)" }' \
        "$work/new" "$work/long"
    status=1
fi
if [ -s "$work/gone" ]; then
    echo "check-functions: listed in scripts/long-functions.txt but no longer long (remove them):"
    sed 's/^/  /' "$work/gone"
    status=1
fi
exit $status

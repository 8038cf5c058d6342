#!/usr/bin/env bash
# Functions of a screen: no function of src/ has a body (brace to brace)
# longer than SCREEN lines unless the comment above it says why, with the
# words "Longer than a screen".  Prints each one that does not, and fails.
#   bash scripts/check-functions.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCREEN=60
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for f in src/*/*.c src/reframe.c; do
    awk -v file="$f" -v screen="$SCREEN" '
        /^\/\*/ { comment = ""; incomment = 1 }
        incomment { comment = comment $0 "\n"; if ($0 ~ /\*\//) { incomment = 0; comment_end = NR } ; next }
        /^[A-Za-z_][A-Za-z0-9_]*\(/ && !inbody { name = $0; sub(/\(.*/, "", name); named = NR;
                                                 reason = (named - comment_end <= 2 && comment ~ /Longer than a screen/) }
        /^\{/ && named { inbody = 1; start = NR; next }
        /^\}/ && inbody { inbody = 0; total++; if (NR - start > screen) { if (reason) excused++; else print file, name, NR - start }; named = 0 }
        END { print total + 0, excused + 0 > "/dev/stderr" }
    ' "$f" 2>> "$work/counts"
done > "$work/long"
functions=$(awk '{ s += $1 } END { print s }' "$work/counts")
excused=$(awk '{ s += $2 } END { print s }' "$work/counts")
echo "check-functions: $functions functions, $(wc -l < "$work/long") longer than $SCREEN lines without a reason," \
     "$excused with one"
if [ -s "$work/long" ]; then
    echo "check-functions: longer than a screen, with no reason in the comment (split it, or say why):"
    awk '{ print "  " $1 " " $2 " (" $3 " lines)" }' "$work/long"
    exit 1
fi

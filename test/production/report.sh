#!/usr/bin/env bash
# reframe.report in a real browser: Debian's headless Chromium renders the
# page of a binary trees model, a multiclass linear model and a regression
# network; its DOM holds the charts as SVG elements; the page fetches
# nothing; a screenshot is not blank.
DB=reframe_report
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed"
fresh_db || fail "no database"
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --force --if-exists "$DB" >/dev/null 2>&1' EXIT
q "SET client_min_messages = warning;
   CREATE TABLE d AS SELECT i, sin(i)::float8 AS a, cos(i * 0.3)::float8 AS b, (ARRAY['x', 'y', 'z'])[1 + i % 3] AS k,
          (2 * sin(i) + cos(i * 0.3) + (i % 3 = 0)::int)::float8 AS r FROM generate_series(1, 3000) i;
   ALTER TABLE d ADD COLUMN yes bool, ADD COLUMN band text;
   UPDATE d SET yes = r + sin(i * 7) > 1, band = CASE WHEN r < 0 THEN 'low' WHEN r < 1.5 THEN 'mid' ELSE 'high' END;
   SELECT count(*) FROM (SELECT reframe.train('rep_bin', 'SELECT a, b, k, yes FROM d', 'yes', options => '{\"model\": \"trees\"}')
                         UNION ALL SELECT reframe.train('rep_k', 'SELECT a, b, k, band FROM d', 'band')
                         UNION ALL SELECT reframe.train('rep_reg', 'SELECT a, b, k, r FROM d', 'r', options => '{\"hidden\": [8], \"epochs\": 30}')) t" \
    >/dev/null || fail "training"
for m in rep_bin rep_k rep_reg; do
    psql -X -A -t -q -d "$DB" -c "SELECT reframe.report('$m', 'SELECT * FROM d WHERE i % 2 = 0')" > "$dir/$m.html" || fail "report $m"
    grep -qiE '<script|<link|<img|<iframe| src=| href=|url\(' "$dir/$m.html" && fail "$m.html refers to something outside the page"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$dir/$m.html" > "$dir/$m.dom" 2>/dev/null ||
        fail "chromium could not render $m.html"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1200,1600 \
        --screenshot="$dir/$m.png" "file://$dir/$m.html" >/dev/null 2>&1 || fail "no screenshot of $m.html"
done
/usr/bin/python3 - "$dir" <<'PY' || fail "the rendered pages are not as expected"
import re, sys, zlib, struct
d = sys.argv[1]

def pixels(path):
    """Decodes an 8-bit RGB(A) PNG with the standard library: (width, height, rows of bytes)."""
    data = open(path, "rb").read()
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows

ok = True
for m, charts in (("rep_bin", 5), ("rep_k", 2), ("rep_reg", 3)):
    dom = open(f"{d}/{m}.dom").read()
    svgs = len(re.findall(r"<svg\b", dom))
    lines = len(re.findall(r"<polyline\b", dom)) + len(re.findall(r'class="bar"', dom))
    w, h, bpp, rows = pixels(f"{d}/{m}.png")
    ink = sum(1 for r in rows for i in range(0, len(r), bpp) if r[i] < 200 or r[i + 2] < 200)
    colors = len({r[i:i + 3] for r in rows[::4] for i in range(0, len(r), bpp * 4)})
    print(f"{m}: {svgs} svg charts, {lines} lines and bars; screenshot {w}x{h}, {100 * ink / (w * h):.1f}% ink, {colors} colours")
    ok &= svgs >= charts and lines >= charts and f"Model {m}" in dom and ink > 0.01 * w * h and colors > 10
ok &= "Confusion matrix" in open(f"{d}/rep_k.dom").read() and "ROC curve" in open(f"{d}/rep_bin.dom").read()
sys.exit(0 if ok else 1)
PY
echo "report: 3 models' pages render in headless Chromium with their SVG charts, fetch nothing, and screenshots are not blank"

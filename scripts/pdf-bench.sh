#!/usr/bin/env bash
# PDF extraction benchmark: trove's pdf_dump next to poppler's pdftotext on the same files,
# one process per file each, measured by /usr/bin/time (wall seconds, peak RSS), then
# trove's fidelity against the pdftotext references (shared/eval/pdfs/score.py).
#
#   bash scripts/pdf-bench.sh [CACHE_DIR] [OUT_DIR]
#
# CACHE_DIR: what shared/eval/pdfs/build.sh made (default ~/.cache/trove/eval-pdfs).
# Needs pdftotext (apt-get install poppler-utils) and the example built:
#   cargo build --release --workspace --all-targets
# PDF_DUMP overrides the binary (default $CARGO_TARGET_DIR/release/examples/pdf_dump).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${1:-$HOME/.cache/trove/eval-pdfs}"
OUT="${2:-$(mktemp -d)}"
TARGET="${CARGO_TARGET_DIR:-$HERE/../target}"
DUMP="${PDF_DUMP:-$TARGET/release/examples/pdf_dump}"
# shared/eval/pdfs next to the checkout or a folder above it.
EVAL="${EVAL_PDFS:-}"
d="$HERE/.."
while [ -z "$EVAL" ] && [ "$(cd "$d" && pwd)" != / ]; do
    [ -f "$d/shared/eval/pdfs/score.py" ] && EVAL="$(cd "$d/shared/eval/pdfs" && pwd)"
    d="$d/.."
done
[ -n "$EVAL" ] || { echo "shared/eval/pdfs not found; set EVAL_PDFS" >&2; exit 1; }
for tool in "$DUMP" pdftotext pdfinfo /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
mkdir -p "$OUT/trove" "$OUT/pdftotext"
TSV="$OUT/bench.tsv"
printf 'file\tpages\ttrove_s\ttrove_rss_kb\ttrove_outcome\tpdftotext_s\tpdftotext_rss_kb\n' > "$TSV"
for pdf in "$CACHE"/*.pdf; do
    name="$(basename "$pdf" .pdf)"
    pages="$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/{print $2}')"
    t="$( { /usr/bin/time -f '%e %M' "$DUMP" --one "$pdf" "$OUT/trove/$name.txt" > "$OUT/trove/$name.row"; } 2>&1 | tail -n1)"
    outcome="$(cut -f4 "$OUT/trove/$name.row")"
    p="$( { /usr/bin/time -f '%e %M' pdftotext -enc UTF-8 "$pdf" "$OUT/pdftotext/$name.txt"; } 2>&1 | tail -n1)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${pages:-0}" "${t% *}" "${t#* }" "$outcome" "${p% *}" "${p#* }" >> "$TSV"
done
python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
pages = sum(int(r["pages"]) for r in rows)
def col(k, f=float): return [f(r[k]) for r in rows]
ts, ps = sum(col("trove_s")), sum(col("pdftotext_s"))
tr, pr = col("trove_rss_kb", int), col("pdftotext_rss_kb", int)
worst = max(rows, key=lambda r: int(r["trove_rss_kb"]))
print(f"files {len(rows)}, pages {pages}")
print(f"| | wall s (all files) | pages/s | peak RSS max | peak RSS median |")
print(f"| --- | ---: | ---: | ---: | ---: |")
print(f"| trove | {ts:.1f} | {pages / ts:.0f} | {max(tr) / 1024:.0f} MB ({worst['file']}) | {statistics.median(tr) / 1024:.0f} MB |")
print(f"| pdftotext | {ps:.1f} | {pages / ps:.0f} | {max(pr) / 1024:.0f} MB | {statistics.median(pr) / 1024:.0f} MB |")
print(f"trove pages/s = {ps / ts:.2f} x pdftotext")
PY
python3 "$EVAL/score.py" "$OUT/trove" --ref "$CACHE/ref" --tsv "$OUT/score.tsv" --quiet > "$OUT/score.txt"
head -n 4 "$OUT/score.txt"
python3 "$HERE/pdf_tables.py" "$OUT/score.tsv" --files "$EVAL/FILES.tsv"
echo "per-file rows: $TSV"

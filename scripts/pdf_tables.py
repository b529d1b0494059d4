#!/usr/bin/env python3
"""Fidelity tables of a PDF extraction run, per script and per producer.

Usage: python3 scripts/pdf_tables.py SCORE_TSV [RUN_TSV] [--files FILES.tsv]

SCORE_TSV is `score.py --tsv` output (shared/eval/pdfs); RUN_TSV the run.tsv of
`pdf_dump` (outcomes, time, memory). A file passes when recall >= 0.9 AND
precision >= 0.9 against the pdftotext reference; files whose reference has no
text (n/a) are left out. Prints Markdown tables.
"""
import argparse
import collections
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def default_files():
    """shared/eval/pdfs/FILES.tsv next to the checkout or a folder above it."""
    d = HERE
    while True:
        candidate = os.path.join(d, "shared", "eval", "pdfs", "FILES.tsv")
        if os.path.exists(candidate) or os.path.dirname(d) == d:
            return candidate
        d = os.path.dirname(d)


SCRIPTS = {"latin": "Latin", "cyrl": "Cyrillic", "el": "Greek", "ar": "Arabic", "he": "Hebrew",
           "ja": "Japanese", "zh": "Chinese", "ko": "Korean"}

FAMILIES = [
    (r"pdfTeX|pdfeTeX|MiKTeX", "pdfTeX"), (r"XeTeX|xdvipdfmx", "XeTeX / xdvipdfmx"),
    (r"dvipdfm", "dvipdfm(x)"), (r"LuaTeX", "LuaTeX"), (r"Ghostscript", "Ghostscript"),
    (r"LibreOffice|OpenOffice", "LibreOffice / OpenOffice"), (r"Distiller", "Acrobat Distiller"),
    (r"DBLaTeX", "DBLaTeX"), (r"FOP", "Apache FOP"), (r"Microsoft|PDFCreator", "Microsoft Office / PDFCreator"),
    (r"Quartz|pstopdf", "macOS Quartz / pstopdf"), (r"cairo", "cairo"), (r"VTeX", "VTeX"),
    (r"gropdf|groff", "groff"),
]


def family(producer):
    for pattern, name in FAMILIES:
        if re.search(pattern, producer, re.I):
            return name
    return "other"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def table(title, groups):
    print(f"| {title} | files | recall ≥ 0.9 | recall and precision ≥ 0.9 | share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    total = [0, 0, 0]
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        rows = groups[key]
        n = len(rows)
        rec = sum(1 for r in rows if r["ok_recall"])
        both = sum(1 for r in rows if r["ok_both"])
        total = [total[0] + n, total[1] + rec, total[2] + both]
        print(f"| {key} | {n} | {rec} | {both} | {100 * both / n:.0f} % |")
    n, rec, both = total
    print(f"| **all** | {n} | {rec} | {both} | {100 * both / n:.1f} % |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("score")
    ap.add_argument("run", nargs="?")
    ap.add_argument("--files", default=default_files())
    args = ap.parse_args()
    meta = {r["file"][:-4]: r for r in read_tsv(args.files)}
    rows = []
    for r in read_tsv(args.score):
        if r["status"] == "n/a":
            continue
        rec = float(r["recall"]) if r["recall"] != "-" else 0.0
        prec = float(r["precision"]) if r["precision"] != "-" else 0.0
        m = meta.get(r["name"], {})
        rows.append({**r, "ok_recall": rec >= 0.9, "ok_both": rec >= 0.9 and prec >= 0.9,
                     "script": SCRIPTS.get(m.get("lang", ""), m.get("lang", "?")),
                     "family": family(m.get("producer", ""))})
    by_script, by_family = collections.defaultdict(list), collections.defaultdict(list)
    for r in rows:
        by_script[r["script"]].append(r)
        by_family[r["family"]].append(r)
    table("script", by_script)
    table("producer", by_family)
    bad = [r for r in rows if not r["ok_both"]]
    if bad:
        print("Below 0.9: " + ", ".join(f"{r['name']} ({float(r['recall'] if r['recall'] != '-' else 0):.2f}/"
                                         f"{float(r['precision'] if r['precision'] != '-' else 0):.2f})" for r in bad))
        print()
    if args.run:
        run = read_tsv(args.run)
        outcomes = collections.Counter(r["outcome"] for r in run)
        print("Outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
        rss = [int(r["peak_rss_kb"]) for r in run if r["peak_rss_kb"].isdigit()]
        ms = [int(r["ms"]) for r in run if r["ms"].isdigit()]
        pages = sum(int(r["pages"]) for r in run if r["pages"].isdigit())
        if rss and ms:
            worst = max(run, key=lambda r: int(r["peak_rss_kb"]) if r["peak_rss_kb"].isdigit() else 0)
            slow = max(run, key=lambda r: int(r["ms"]) if r["ms"].isdigit() else 0)
            print(f"Peak RSS max {max(rss) / 1024:.0f} MB ({worst['file']}); extraction {sum(ms) / 1000:.1f} s "
                  f"for {pages} pages ({pages / (sum(ms) / 1000):.0f} pages/s), slowest {slow['file']} {int(slow['ms']) / 1000:.1f} s")


if __name__ == "__main__":
    main()

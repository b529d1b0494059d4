#!/usr/bin/env python3
"""Generates core/src/ingest/pdf/std14widths.txt: glyph advance widths of the
standard PDF fonts (Helvetica, Times, Symbol, ZapfDingbats; Courier is 600 for
every glyph), by character, from Adobe's Core 14 AFM metrics as pdfminer.six
ships them (pip download --no-deps pdfminer.six; MIT, data under Adobe's AFM
licence, kept in the output). PDFs may use these fonts without /Widths.

Usage: python3 scripts/gen_std14_widths.py PATH/TO/pdfminer/fontmetrics.py
"""
import importlib.util
import os
import sys

FONTS = ["Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique",
         "Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic", "Symbol", "ZapfDingbats"]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src", "ingest", "pdf",
                   "std14widths.txt")
LICENCE = """\
# Advance widths (1/1000 em) by Unicode character, one font a line, derived from
# Adobe's Core 14 AFM files (modified: only the widths kept, keyed by character).
# The AFM ReadMe's terms, kept as they require:
#
# Adobe Core 35 AFM Files with 314 Glyph Entries - ReadMe
#
# This file and the 35 PostScript(R) AFM files it accompanies may be
# used, copied, and distributed for any purpose and without charge,
# with or without modification, provided that all copyright notices
# are retained; that the AFM files are not distributed without this
# file; that all modifications to this file or any of the AFM files
# are prominently noted in the modified file(s); and that this
# paragraph is not modified. Adobe Systems has no responsibility or
# obligation to support the use of the AFM files.
"""


def main():
    spec = importlib.util.spec_from_file_location("fontmetrics", sys.argv[1])
    fm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fm)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(LICENCE)
        for name in FONTS:
            _, widths = fm.FONT_METRICS[name]
            pairs = sorted((ord(c), w) for c, w in widths.items() if len(c) == 1)
            f.write(name + "\t" + " ".join(f"{c:x}:{int(w)}" for c, w in pairs) + "\n")


if __name__ == "__main__":
    main()

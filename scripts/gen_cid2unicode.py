#!/usr/bin/env python3
"""Generates core/src/ingest/pdf/cid2unicode.bin: CID → Unicode for Adobe's four
CJK character collections, the inverse of Adobe's Uni*-UTF32-H CMaps (BSD-3-Clause,
Adobe; Debian ships them in poppler-data's cMap/ folder, which is all this reads:
`apt-get install poppler-data`). PDF fonts without a ToUnicode map name their
glyphs by these CIDs.

Usage: python3 scripts/gen_cid2unicode.py [CMAP_DIR]   (default /usr/share/poppler/cMap)

Format (zlib-compressed): per collection, a name (u8 length + ASCII), a run count
(u32 LE), then runs of consecutive CIDs mapping to consecutive code points, each as
three LEB128 varints: CID gap after the previous run, zigzag delta of the first code
point from the previous run's, run length - 1.
"""
import os
import re
import sys
import zlib

COLLECTIONS = [("Japan1", "UniJIS-UTF32-H"), ("GB1", "UniGB-UTF32-H"),
               ("CNS1", "UniCNS-UTF32-H"), ("Korea1", "UniKS-UTF32-H")]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src", "ingest", "pdf",
                   "cid2unicode.bin")


def rank(u):
    """Lower is preferred when several code points share a CID."""
    if 0xF900 <= u <= 0xFAFF or 0x2F800 <= u <= 0x2FA1F:  # compatibility ideographs
        return 3
    if 0x2E80 <= u <= 0x2FDF:  # radicals
        return 2
    if 0xFE10 <= u <= 0xFE4F or 0xE000 <= u <= 0xF8FF:  # vertical forms, private use
        return 2
    return 0


def inverse(path):
    text = open(path, "rb").read().decode("latin-1")
    best = {}

    def offer(cid, u):
        if cid not in best or (rank(u), u) < (rank(best[cid]), best[cid]):
            best[cid] = u

    for block in re.findall(r"begincidrange(.*?)endcidrange", text, re.S):
        for lo, hi, cid in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\d+)", block):
            lo, hi, cid = int(lo, 16), int(hi, 16), int(cid)
            for k in range(hi - lo + 1):
                offer(cid + k, lo + k)
    for block in re.findall(r"begincidchar(.*?)endcidchar", text, re.S):
        for code, cid in re.findall(r"<([0-9a-fA-F]+)>\s*(\d+)", block):
            offer(int(cid), int(code, 16))
    return best


def varint(n, out):
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def main():
    cmap_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/poppler/cMap"
    out = bytearray()
    for name, cmap in COLLECTIONS:
        best = inverse(os.path.join(cmap_dir, "Adobe-" + name, cmap))
        runs = []
        for cid in sorted(best):
            u = best[cid]
            if runs and cid == runs[-1][0] + runs[-1][2] and u == runs[-1][1] + runs[-1][2]:
                runs[-1][2] += 1
            else:
                runs.append([cid, u, 1])
        out.append(len(name))
        out += name.encode()
        out += len(runs).to_bytes(4, "little")
        prev_end, prev_u = 0, 0
        for cid, u, n in runs:
            varint(cid - prev_end, out)
            d = u - prev_u
            varint((d << 1) if d >= 0 else ((-d << 1) - 1), out)
            varint(n - 1, out)
            prev_end, prev_u = cid + n, u
        print(f"Adobe-{name}: {len(best)} CIDs in {len(runs)} runs", file=sys.stderr)
    data = zlib.compress(bytes(out), 9)
    with open(OUT, "wb") as f:
        f.write(data)
    print(f"{OUT}: {len(data)} bytes ({len(out)} raw)", file=sys.stderr)


if __name__ == "__main__":
    main()

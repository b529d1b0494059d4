"""Writes two LoRA adapters for a GGUF base model, for trove's LoRA tests.

    make_test_lora.py BASE.gguf OUT_DIR

- OUT_DIR/zero.gguf: B = 0, so the model's output is unchanged (greedy
  generation must be identical to the base model's);
- OUT_DIR/random.gguf: seeded random A and B on every attention query and
  value projection, strong enough to change greedy output.

Rank 8, alpha 8 (scale 1), f32 tensors, in the layout llama.cpp's
convert_lora_to_gguf.py writes (general.type "adapter", adapter.type
"lora", tensors `<weight>.lora_a` with numpy shape (rank, n_in) and
`<weight>.lora_b` with (n_out, rank)). Deterministic: same base, same bytes.
"""

import os
import sys

import gguf
import numpy as np

RANK = 8
TARGETS = ("attn_q.weight", "attn_v.weight")


def main(base_path: str, out_dir: str) -> None:
    base = gguf.GGUFReader(base_path)
    arch = bytes(base.fields["general.architecture"].parts[-1]).decode()
    # GGUF lists dimensions innermost first: ne = [n_in, n_out].
    shapes = {
        t.name: (int(t.shape[0]), int(t.shape[1]))
        for t in base.tensors
        if t.name.endswith(TARGETS)
    }
    if not shapes:
        sys.exit(f"{base_path}: no {' or '.join(TARGETS)} tensors")
    os.makedirs(out_dir, exist_ok=True)
    for kind in ("zero", "random"):
        rng = np.random.default_rng(20261202)
        path = os.path.join(out_dir, f"{kind}.gguf")
        writer = gguf.GGUFWriter(path, arch)
        writer.add_string("general.type", "adapter")
        writer.add_string("general.name", f"trove test LoRA ({kind})")
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", float(RANK))
        for name in sorted(shapes):
            n_in, n_out = shapes[name]
            a = rng.normal(0.0, 0.3, (RANK, n_in)).astype(np.float32)
            b = rng.normal(0.0, 0.3, (n_out, RANK)).astype(np.float32)
            if kind == "zero":
                b[:] = 0.0
            writer.add_tensor(f"{name}.lora_a", a)
            writer.add_tensor(f"{name}.lora_b", b)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

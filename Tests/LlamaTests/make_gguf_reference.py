#!/usr/bin/env python3
"""Reference values for the GGUF reader, from llama.cpp's own Python package gguf-py (`pip install gguf numpy`).

  python make_gguf_reference.py SmolLM2-135M-Instruct.Q4_1.gguf OUT_DIR

Writes OUT_DIR/gguf_small.gguf: a small file made with gguf-py's GGUFWriter holding a metadata
value of every type and one tensor of each readable type (F32, F16, Q8_0, Q4_0, Q4_1) whose blocks
are random bytes (scales drawn as finite halves); and OUT_DIR/gguf_reference.json: the values
gguf-py's dequantize gives for each small tensor, plus, for the real model, its metadata (without
the 49K-entry arrays, whose lengths and first/last items are given), its tensor table, and the
first 64 values, the sum and the sum of squares (float64) of five of its tensors.
"""
import hashlib
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType
from gguf.quants import dequantize

model_path, out_dir = sys.argv[1:3]
rng = np.random.default_rng(7)


def random_blocks(qtype, rows, cols):
    """Random bytes in the type's block layout, with finite f16 scales in [-0.1, 0.1]."""
    if qtype == GGMLQuantizationType.F32:
        return rng.standard_normal((rows, cols)).astype(np.float32)
    if qtype == GGMLQuantizationType.F16:
        return rng.standard_normal((rows, cols)).astype(np.float16)
    block = {GGMLQuantizationType.Q8_0: 34, GGMLQuantizationType.Q4_0: 18, GGMLQuantizationType.Q4_1: 20}[qtype]
    nblocks = rows * cols // 32
    raw = rng.integers(0, 256, size=(nblocks, block), dtype=np.uint8)
    halves = 2 if qtype == GGMLQuantizationType.Q4_1 else 1
    for h in range(halves):
        scales = (rng.uniform(-0.1, 0.1, size=nblocks)).astype(np.float16)
        raw[:, 2 * h:2 * h + 2] = scales.view(np.uint8).reshape(nblocks, 2)
    return raw.reshape(rows, cols // 32 * block)


small = f"{out_dir}/gguf_small.gguf"
w = GGUFWriter(small, "llama")
w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100); w.add_uint16("t.u16", 65000); w.add_int16("t.i16", -32000)
w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -2000000000); w.add_float32("t.f32", 0.1)
w.add_uint64("t.u64", 2**63 + 5); w.add_int64("t.i64", -2**62); w.add_float64("t.f64", 1 / 3)
w.add_bool("t.bool", True); w.add_string("t.string", "café 🦙 \"quoted\"\n")
w.add_array("t.array_i32", [1, -2, 3]); w.add_array("t.array_str", ["a", "", "ünï"])
w.add_array("t.array_f32", [0.5, -1.25])
tensors = {}
for name, qtype, rows, cols in [("f32", GGMLQuantizationType.F32, 3, 64), ("f16", GGMLQuantizationType.F16, 2, 64),
                                ("q8_0", GGMLQuantizationType.Q8_0, 4, 64), ("q4_0", GGMLQuantizationType.Q4_0, 3, 96),
                                ("q4_1", GGMLQuantizationType.Q4_1, 2, 128)]:
    data = random_blocks(qtype, rows, cols)
    if qtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
        w.add_tensor(name, data)
    else:
        w.add_tensor(name, data, raw_dtype=qtype)  # the shape is read from the byte shape
    tensors[name] = (qtype, data, rows, cols)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

reference = {"small": {"tensors": {}}}
r = GGUFReader(small)
for t in r.tensors:
    values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
    reference["small"]["tensors"][t.name] = {"type": t.tensor_type.name, "shape": [int(x) for x in t.shape],
                                             "values": [float(v) for v in values]}

m = GGUFReader(model_path)
meta = {}
for k, f in m.fields.items():
    if k.startswith("GGUF."):
        continue
    v = f.contents()
    if isinstance(v, list) and len(v) > 64:
        meta[k] = {"length": len(v), "first": v[:3], "last": v[-3:]}
    else:
        meta[k] = v
chosen = ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight", "blk.7.attn_k.weight"]
stats = {}
for t in m.tensors:
    if t.name in chosen:
        values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        stats[t.name] = {"first": [float(v) for v in values[:64]], "sum": float(values.astype(np.float64).sum()),
                         "sum_squares": float((values.astype(np.float64) ** 2).sum())}
reference["model"] = {
    "sha256": hashlib.sha256(open(model_path, "rb").read()).hexdigest(),
    "metadata": meta,
    "tensors": [{"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in t.shape],
                 "offset": int(t.data_offset), "bytes": int(t.n_bytes)} for t in m.tensors],
    "stats": stats,
}
with open(f"{out_dir}/gguf_reference.json", "w") as f:
    json.dump(reference, f, separators=(",", ":"))

#!/usr/bin/env python3
"""PyTorch CPU training throughput for the Llama architecture Herd trains (baseline for herd-bench).

Usage:
    python bench_train_torch.py (--config tiny20m|smollm2-135m | --gguf PATH)
                                [--batch B] [--context T] [--steps N] [--threads 2] [--seed S]

Float32, CPU.  Each step is forward + backward + clip_grad_norm_(1.0) + AdamW (weight decay on
2-D tensors) over B random sequences of T tokens (every position has a target, the next token;
one document per sequence, so attention is plain causal via scaled_dot_product_attention).
One untimed warm-up step, then N timed steps.  --config draws random weights (numpy
default_rng(seed), matrices N(0, 0.02^2), norms 1); --gguf trains the model in the file
(quantized tensors are dequantized to float32).  Prints exactly one JSON line:
    {"tokens_per_s", "seconds", "steps", "tokens_per_step", "peak_rss_mib", "params", "torch", "threads"}
Needs torch, numpy and gguf (gguf-py); the model is herd_torch_llama.py next to this script.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import herd_torch_llama as hl  # noqa: E402

CONFIGS = {
    # ~19M parameters, most of them the tied 49152-token embedding.
    "tiny20m": hl.LlamaShape(vocab=49152, dim=256, layers=8, heads=4, kv_heads=4, ffn=768,
                             context=512, rope_base=10000.0, eps=1e-5, tied=True),
    # SmolLM2-135M's shape (134.5M parameters).
    "smollm2-135m": hl.LlamaShape(vocab=49152, dim=576, layers=30, heads=9, kv_heads=3, ffn=1536,
                                  context=8192, rope_base=100000.0, eps=1e-5, tied=True),
}


def random_batch(rng, shape, B, T):
    """(tok, pos, doc_start, target) for B one-document sequences of T rows, flattened."""
    seq = torch.from_numpy(rng.integers(0, shape.vocab, size=(B, T + 1)))
    r = torch.arange(B * T)
    return seq[:, :T].reshape(-1), r % T, r - r % T, seq[:, 1:].reshape(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", choices=sorted(CONFIGS))
    src.add_argument("--gguf", help="train this llama GGUF model instead of random weights")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=3e-4)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.gguf:
        shape, weights = hl.load_gguf(args.gguf)
    else:
        shape = CONFIGS[args.config]
        weights = hl.random_params(shape, args.seed, std=0.02)
    if args.context > shape.context:
        sys.exit(f"--context {args.context} exceeds the model's context length {shape.context}")
    params = hl.to_torch(weights, torch.float32)
    del weights
    opt = hl.make_optimizer(params, args.lr)

    rng = np.random.default_rng(args.seed + 1)
    B, T = args.batch, args.context
    batches = [random_batch(rng, shape, B, T) for _ in range(args.steps + 1)]

    def step(batch):
        hl.train_step(params, shape, opt, [batch], args.lr, max_norm=1.0, seq_len=T)

    step(batches[0])  # warm-up (allocates the AdamW state), not timed
    start = time.perf_counter()
    for batch in batches[1:]:
        step(batch)
    seconds = time.perf_counter() - start

    print(json.dumps({
        "tokens_per_s": args.steps * B * T / seconds,
        "seconds": seconds,
        "steps": args.steps,
        "tokens_per_step": B * T,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,  # KiB on Linux
        "params": sum(t.numel() for t in params.values()),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()

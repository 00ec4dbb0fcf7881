#!/usr/bin/env python3
"""Generate the Llama trainer reference fixture for Tests/TrainTests.

Usage:
    python make_train_reference.py [OUT_DIR]      (default: Tests/TrainTests of this repository)

Needs torch, numpy and gguf (gguf-py); see herd_torch_llama.py for the model.  Writes
  train_reference_init.gguf   tiny tied Llama (V=64, D=32, H=4, KVH=2, F=64, 2 layers), float32
  train_reference.json        the packed micro-batches, hyperparameters and expected numbers
  train_reference_after.gguf  the parameters after the two optimizer steps (float64 run, rounded)
The reference runs in float64 from the float32 initial weights, so its numbers are the exact
answer for those inputs.  Everything is deterministic (same bytes on every run).  Before writing,
the script checks autograd against central finite differences, that accumulating M micro-batches
equals one concatenated batch, and that the fast attention path matches the explicit mask.
"""

import dataclasses
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import herd_torch_llama as hl  # noqa: E402

SEED = 1
SHAPE = hl.LlamaShape(vocab=64, dim=32, layers=2, heads=4, kv_heads=2, ffn=64, context=64,
                      rope_base=10000.0, eps=1e-5, tied=True)
INIT_STD = 0.15       # matrices ~ N(0, 0.15^2): healthy, non-trivial gradients
NORM_JITTER = 0.1     # norm weights 1 + 0.1 * N(0, 1)
B, T, M = 2, 16, 2    # sequences per micro-batch, rows per sequence, micro-batches per step
PAD = 0               # token id of padding rows
LRS = [0.01, 0.005]   # learning rate of optimizer step 1 and 2
WD, BETAS, ADAM_EPS = 0.1, (0.9, 0.95), 1e-8
MAX_NORM = 3.5        # between the total norms of step 1 (~3.81: clips) and step 2 (~3.08: does not)
FIRST = 8             # leading gradient / parameter values recorded per tensor

# Packing of every sequence: (document lengths, prompt rows per document, padding rows at the end).
# Rows of a document get targets = the next token of that document; its first `prompt` rows get -1.
# Each padding row is a document of its own (doc_start = itself, pos 0) with target -1.
LAYOUTS = [
    # step 1, micro-batch 1
    ([16], [3], 0),
    ([5, 7], [2, 0], 4),
    # step 1, micro-batch 2
    ([4, 6, 6], [1, 0, 2], 0),
    ([10], [0], 6),
    # step 2, micro-batch 1
    ([7, 9], [0, 3], 0),
    ([3, 3, 8], [0, 1, 0], 2),
    # step 2, micro-batch 2
    ([12], [5], 4),
    ([1, 5, 10], [0, 0, 0], 0),
]

ABOUT = """\
Reference for Herd's Llama trainer (trainer math v1), computed by scripts/make_train_reference.py \
with PyTorch in float64 from the float32 weights of train_reference_init.gguf; \
train_reference_after.gguf holds the parameters after both steps, rounded to float32. \
Fields: model = shape of the GGUF model (vocab, dim, layers, heads, kv_heads, ffn, context, rope_base, \
eps = the rms-norm epsilon as the GGUF stores it (float32 1e-5) and as the reference used it, tied: no \
output.weight, the head uses token_embd.weight) plus seed/init_std/norm_jitter of the numpy \
default_rng init. hyper = AdamW and clipping settings shared by all steps (weight_decay only on \
2-D tensors, betas, eps, max_norm) and the batch geometry (batch sequences x seq_len rows per \
micro-batch, micro_batches per step). steps[s] (s = 0, 1 are optimizer steps t = 1, 2): lr; \
micro_batches = list of {tok, pos, doc_start, target}, each a list of batch*seq_len ints (flattened \
rows; doc_start indexes rows within its own micro-batch; target -1 = no loss); target_rows = rows with \
target >= 0 over all micro-batches of the step; loss = L (summed cross-entropy over those rows divided \
by target_rows); grad_norm = total L2 norm of all gradients before clipping; clip_coef = \
max_norm/(grad_norm+1e-6); clipped = clip_coef < 1 (gradients were multiplied by clip_coef); grads = \
{tensor name: {norm: L2 norm of dL/dtensor before clipping, first: its first 8 values before clipping, \
row-major over (rows, cols) = (out, in)}}. after = {tensor name: {first: first 8 float64 values after \
step 2, sum: sum of all its float64 values after step 2}}; loss_after = L of step 1's micro-batches \
evaluated with the float64 parameters after step 2. schedule = lr_at(s) for s = 0..total-1 of the \
warm-up + cosine schedule with the given warmup, total, lr, min_ratio. torch = the PyTorch version \
that computed it. All floats are float64."""


def make_sequence(rng, lengths, prompts, padding):
    """tok, pos, local doc_start, target for one sequence of T rows."""
    assert sum(lengths) + padding == T and len(lengths) == len(prompts)
    tok, pos, start, target = [], [], [], []
    for n, p in zip(lengths, prompts):
        doc = rng.integers(1, SHAPE.vocab, size=n + 1).tolist()  # the document; ids >= 1 (0 is PAD)
        s = len(tok)
        for j in range(n):
            tok.append(doc[j])
            pos.append(j)
            start.append(s)
            target.append(doc[j + 1] if j >= p else -1)
    for _ in range(padding):
        start.append(len(tok))
        tok.append(PAD)
        pos.append(0)
        target.append(-1)
    return tok, pos, start, target


def make_micro_batches(rng):
    """All M * len(LRS) micro-batches as dicts of python int lists (flattened B*T rows)."""
    out = []
    layouts = iter(LAYOUTS)
    for _ in range(M * len(LRS)):
        mb = {"tok": [], "pos": [], "doc_start": [], "target": []}
        for b in range(B):
            tok, pos, start, target = make_sequence(rng, *next(layouts))
            mb["tok"] += tok
            mb["pos"] += pos
            mb["doc_start"] += [b * T + s for s in start]
            mb["target"] += target
        out.append(mb)
    return out


def as_tensors(mb):
    return tuple(torch.tensor(mb[k], dtype=torch.int64) for k in ("tok", "pos", "doc_start", "target"))


def concatenate(mbs):
    """One batch made of several micro-batches (doc_start shifted to the concatenated rows)."""
    tok, pos, start, target = [], [], [], []
    for mb in mbs:
        off = len(tok)
        tok += mb["tok"]
        pos += mb["pos"]
        start += [off + s for s in mb["doc_start"]]
        target += mb["target"]
    return as_tensors({"tok": tok, "pos": pos, "doc_start": start, "target": target})


def step_loss(params, shape, batches):
    """L of a step without touching gradients."""
    with torch.no_grad():
        sums = [hl.forward(params, shape, *b) for b in batches]
    return sum(s.item() for s, _ in sums) / sum(n for _, n in sums)


def check_finite_differences(params, shape, batches):
    """Central differences of L (float64) against autograd at a few parameter entries."""
    for t in params.values():
        t.grad = None
    hl.accumulate(params, shape, batches)
    probes = [("token_embd.weight", (5, 3)), ("token_embd.weight", (0, 7)),
              ("blk.0.attn_q.weight", (2, 9)), ("blk.0.attn_k.weight", (11, 4)),
              ("blk.1.attn_v.weight", (3, 30)), ("blk.1.attn_output.weight", (17, 6)),
              ("blk.0.ffn_gate.weight", (40, 1)), ("blk.1.ffn_down.weight", (8, 50)),
              ("blk.0.attn_norm.weight", (13,)), ("output_norm.weight", (2,))]
    h = 1e-5  # float64: truncation ~h^2, rounding ~1e-16/h, both far below the tolerance
    worst = 0.0
    for name, idx in probes:
        t = params[name]
        auto = t.grad[idx].item()
        with torch.no_grad():
            orig = t[idx].item()
            t[idx] = orig + h
            up = step_loss(params, shape, batches)
            t[idx] = orig - h
            down = step_loss(params, shape, batches)
            t[idx] = orig
        fd = (up - down) / (2 * h)
        err = abs(fd - auto)
        worst = max(worst, err)
        print(f"  {name}{list(idx)}: autograd {auto:+.12e}  fd {fd:+.12e}  |diff| {err:.1e}")
    for t in params.values():
        t.grad = None
    assert worst < 1e-9, f"finite differences disagree (|diff| {worst:.2e})"
    print(f"finite differences: OK (worst |diff| {worst:.1e})")


def check_accumulation(params, shape, mbs):
    """M accumulated micro-batches == one concatenated batch (loss and gradients)."""
    for t in params.values():
        t.grad = None
    loss_acc, _ = hl.accumulate(params, shape, [as_tensors(mb) for mb in mbs])
    g_acc = {k: t.grad.clone() for k, t in params.items()}
    for t in params.values():
        t.grad = None
    loss_cat, _ = hl.accumulate(params, shape, [concatenate(mbs)])
    gdiff = max((params[k].grad - g_acc[k]).abs().max().item() for k in params)
    for t in params.values():
        t.grad = None
    print(f"accumulation: L(M={len(mbs)}) {loss_acc:.15f}  L(concatenated) {loss_cat:.15f}  "
          f"|dL| {abs(loss_acc - loss_cat):.1e}  max |dgrad| {gdiff:.1e}")
    assert abs(loss_acc - loss_cat) < 1e-12 and gdiff < 1e-12, "accumulation differs from one batch"


def check_fast_attention(params, shape, rng):
    """The SDPA causal path equals the explicit mask when each sequence is one document."""
    r = torch.arange(B * T)
    tok = torch.tensor(rng.integers(0, shape.vocab, size=B * T))
    target = torch.tensor(rng.integers(0, shape.vocab, size=B * T))
    pos, start = r % T, r - r % T
    with torch.no_grad():
        exact, n = hl.forward(params, shape, tok, pos, start, target)
        fast, _ = hl.forward(params, shape, tok, pos, start, target, seq_len=T)
    d = abs(exact.item() - fast.item()) / n
    print(f"fast attention path: per-row loss difference {d:.1e}")
    assert d < 1e-12, "fast attention path differs"


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TrainTests")
    out_dir = os.path.normpath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)  # fixed reduction order: identical bytes on every run

    # Write the initial model, then compute from what the file holds: the same float32 weights and
    # the float32-rounded epsilon (1e-5 -> 9.999999747378752e-06) that Herd will read.
    init = hl.random_params(SHAPE, SEED, std=INIT_STD, norm_jitter=NORM_JITTER)
    init_path = os.path.join(out_dir, "train_reference_init.gguf")
    hl.save_gguf(init_path, SHAPE, init)
    shape, loaded = hl.load_gguf(init_path)
    assert shape == dataclasses.replace(SHAPE, eps=float(np.float32(SHAPE.eps)))
    assert all(np.array_equal(loaded[k], init[k]) for k in init)
    params = hl.to_torch(loaded, torch.float64)
    mbs = make_micro_batches(np.random.default_rng(SEED + 1))

    steps_mbs = [mbs[s * M:(s + 1) * M] for s in range(len(LRS))]
    check_finite_differences(params, shape, [as_tensors(mb) for mb in steps_mbs[0]])
    check_accumulation(params, shape, steps_mbs[0])
    check_fast_attention(params, shape, np.random.default_rng(SEED + 2))

    opt = hl.make_optimizer(params, LRS[0], weight_decay=WD, betas=BETAS, eps=ADAM_EPS)
    steps = []
    for s, lr in enumerate(LRS):
        batches = [as_tensors(mb) for mb in steps_mbs[s]]
        opt.zero_grad(set_to_none=True)
        loss, count = hl.accumulate(params, shape, batches)
        grads = {}
        for name, t in params.items():
            g = t.grad.detach()
            grads[name] = {"norm": g.norm().item(), "first": g.reshape(-1)[:FIRST].tolist()}
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), MAX_NORM).item()
        coef = MAX_NORM / (norm + 1e-6)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        steps.append({"step": s + 1, "lr": lr, "micro_batches": steps_mbs[s], "target_rows": count,
                      "loss": loss, "grad_norm": norm, "clip_coef": coef, "clipped": coef < 1.0,
                      "grads": grads})
        print(f"step {s + 1}: lr {lr}  L {loss:.15f}  rows {count}  grad norm {norm:.15f}  "
              f"clipped {coef < 1.0} (coef {coef:.6f})")
    assert steps[0]["clipped"], "max_norm must make step 1 clip"

    after = {k: {"first": t.detach().reshape(-1)[:FIRST].tolist(), "sum": t.detach().sum().item()}
             for k, t in params.items()}
    loss_after = step_loss(params, shape, [as_tensors(mb) for mb in steps_mbs[0]])
    print(f"L of step 1's batches after step 2: {loss_after:.15f}")

    sched = {"warmup": 3, "total": 10, "lr": 0.01, "min_ratio": 0.1}
    sched["values"] = [hl.lr_at(s, sched["warmup"], sched["total"], sched["lr"], sched["min_ratio"])
                       for s in range(sched["total"])]

    doc = {
        "about": ABOUT,
        "model": {"init_gguf": "train_reference_init.gguf", "after_gguf": "train_reference_after.gguf",
                  "vocab": SHAPE.vocab, "dim": SHAPE.dim, "layers": SHAPE.layers, "heads": SHAPE.heads,
                  "kv_heads": SHAPE.kv_heads, "ffn": SHAPE.ffn, "context": SHAPE.context,
                  "rope_base": shape.rope_base, "eps": shape.eps, "tied": SHAPE.tied,
                  "seed": SEED, "init_std": INIT_STD, "norm_jitter": NORM_JITTER},
        "hyper": {"weight_decay": WD, "beta1": BETAS[0], "beta2": BETAS[1], "eps": ADAM_EPS,
                  "max_norm": MAX_NORM, "batch": B, "seq_len": T, "micro_batches": M},
        "steps": steps,
        "after": after,
        "loss_after": loss_after,
        "schedule": sched,
        "torch": torch.__version__.split("+")[0],
    }

    hl.save_gguf(os.path.join(out_dir, "train_reference_after.gguf"), SHAPE,
                 {k: t.detach().numpy().astype(np.float32) for k, t in params.items()})
    path = os.path.join(out_dir, "train_reference.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {out_dir}/train_reference_init.gguf, train_reference.json "
          f"({os.path.getsize(path)} bytes), train_reference_after.gguf")


if __name__ == "__main__":
    main()

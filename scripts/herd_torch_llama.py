"""PyTorch reference for Herd's Llama trainer ("Herd trainer math (v1)").

A plain-function implementation of exactly what Herd's Swift trainer computes:

  * parameters live in an ordered dict keyed by their GGUF tensor names, each a
    leaf tensor of shape (rows, cols) = (out, in) for matrices, (n,) for norms;
    a model without `output.weight` is tied (the head is `token_embd.weight`);
  * one micro-batch is N = B*T flattened rows with tok, pos, doc_start, target
    (int64 tensors of length N): row i attends to rows doc_start[i]..i, pos
    restarts at 0 for each packed document, target -1 means "no loss";
  * rope rotates ADJACENT pairs (x[2i], x[2i+1]) (ggml "normal" mode), with the
    angles pos * base^(-2i/hd) computed in float64;
  * `forward` returns (summed cross-entropy over rows with target >= 0, count);
    a step divides every micro-batch's sum by the count over all micro-batches;
  * AdamW is torch.optim.AdamW with two groups (2-D tensors decayed, 1-D not),
    clipping is torch.nn.utils.clip_grad_norm_.

Used by make_train_reference.py (fixture, float64) and bench_train_torch.py
(CPU throughput, float32).  Needs torch, numpy and gguf (gguf-py).
"""

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LlamaShape:
    vocab: int
    dim: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    context: int
    rope_base: float = 10000.0
    eps: float = 1e-5
    tied: bool = True

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def __post_init__(self):
        if self.dim % self.heads or self.heads % self.kv_heads or self.head_dim % 2:
            raise ValueError(f"inconsistent shape {self}")


def param_shapes(shape: LlamaShape) -> "OrderedDict[str, tuple]":
    """GGUF tensor name -> numpy/torch shape, in the order the files list them."""
    D, KV, Fh = shape.dim, shape.kv_dim, shape.ffn
    out = OrderedDict()
    out["token_embd.weight"] = (shape.vocab, D)
    for l in range(shape.layers):
        p = f"blk.{l}."
        out[p + "attn_norm.weight"] = (D,)
        out[p + "attn_q.weight"] = (D, D)
        out[p + "attn_k.weight"] = (KV, D)
        out[p + "attn_v.weight"] = (KV, D)
        out[p + "attn_output.weight"] = (D, D)
        out[p + "ffn_norm.weight"] = (D,)
        out[p + "ffn_gate.weight"] = (Fh, D)
        out[p + "ffn_up.weight"] = (Fh, D)
        out[p + "ffn_down.weight"] = (D, Fh)
    out["output_norm.weight"] = (D,)
    if not shape.tied:
        out["output.weight"] = (shape.vocab, D)
    return out


def random_params(shape: LlamaShape, seed: int, std: float = 0.02, norm_jitter: float = 0.0):
    """Float32 numpy weights from numpy's default_rng(seed), drawn in param_shapes order:
    matrices normal * std, norm weights 1 + norm_jitter * normal."""
    rng = np.random.default_rng(seed)
    params = OrderedDict()
    for name, shp in param_shapes(shape).items():
        z = rng.standard_normal(shp)
        params[name] = (1.0 + norm_jitter * z if len(shp) == 1 else std * z).astype(np.float32)
    return params


# ---------------------------------------------------------------------------- GGUF

def save_gguf(path, shape: LlamaShape, params) -> None:
    """Writes float32 tensors and the llama.* metadata (general.alignment left at its default)."""
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")  # also writes general.architecture = llama
    w.add_context_length(shape.context)
    w.add_embedding_length(shape.dim)
    w.add_block_count(shape.layers)
    w.add_feed_forward_length(shape.ffn)
    w.add_head_count(shape.heads)
    w.add_head_count_kv(shape.kv_heads)
    w.add_rope_freq_base(float(shape.rope_base))
    w.add_layer_norm_rms_eps(float(shape.eps))
    w.add_rope_dimension_count(shape.head_dim)
    w.add_vocab_size(shape.vocab)
    for name, shp in param_shapes(shape).items():
        a = params[name]
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a, dtype=np.float32)
        assert a.shape == shp, (name, a.shape, shp)
        w.add_tensor(name, a)  # numpy (rows, cols); the file lists the dims reversed
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def load_gguf(path):
    """(LlamaShape, OrderedDict name -> float32 numpy array) from a llama GGUF file.
    Quantized tensors are dequantized with gguf-py."""
    import gguf

    r = gguf.GGUFReader(str(path))

    def meta(key, default=None):
        f = r.fields.get(key)
        return default if f is None else f.contents()

    if meta("general.architecture") != "llama":
        raise ValueError(f"{path}: not a llama model")
    tensors = {t.name: t for t in r.tensors}
    heads = int(meta("llama.attention.head_count"))
    vocab = meta("llama.vocab_size")
    if vocab is None:
        vocab = int(tensors["token_embd.weight"].shape[1])
    shape = LlamaShape(
        vocab=int(vocab),
        dim=int(meta("llama.embedding_length")),
        layers=int(meta("llama.block_count")),
        heads=heads,
        kv_heads=int(meta("llama.attention.head_count_kv", heads)),
        ffn=int(meta("llama.feed_forward_length")),
        context=int(meta("llama.context_length")),
        rope_base=float(meta("llama.rope.freq_base", 10000.0)),
        eps=float(meta("llama.attention.layer_norm_rms_epsilon", 1e-5)),
        tied="output.weight" not in tensors,
    )
    params = OrderedDict()
    for name, shp in param_shapes(shape).items():
        t = tensors[name]
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        params[name] = np.ascontiguousarray(a, dtype=np.float32).reshape(shp)
    return shape, params


# ---------------------------------------------------------------------------- model

def to_torch(params, dtype=torch.float32):
    """Leaf tensors (requires_grad) of the given dtype, same names and order."""
    return OrderedDict(
        (k, torch.tensor(np.asarray(v), dtype=dtype).requires_grad_(True)) for k, v in params.items()
    )


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope_tables(pos, shape: LlamaShape, dtype):
    """cos, sin of shape [N, hd/2]; the angles pos * base^(-2i/hd) in float64."""
    hd = shape.head_dim
    i = torch.arange(hd // 2, dtype=torch.float64)
    inv = torch.pow(torch.tensor(float(shape.rope_base), dtype=torch.float64), -2.0 * i / hd)
    theta = pos.to(torch.float64)[:, None] * inv[None, :]
    return torch.cos(theta).to(dtype), torch.sin(theta).to(dtype)


def rope(x, cos, sin):
    """x [N, heads, hd]; rotates the adjacent pairs (x[2i], x[2i+1])."""
    N, nh, hd = x.shape
    x = x.reshape(N, nh, hd // 2, 2)
    a, b = x[..., 0], x[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).reshape(N, nh, hd)


def document_mask(doc_start):
    """[N, N] bool: row i may attend to row t iff doc_start[i] <= t <= i."""
    N = doc_start.shape[0]
    t = torch.arange(N)
    return (t[None, :] >= doc_start[:, None]) & (t[None, :] <= t[:, None])


def is_one_document_per_sequence(pos, doc_start, seq_len):
    """True when every length-seq_len sequence is a single document starting at its first row."""
    r = torch.arange(pos.shape[0])
    return bool(torch.equal(doc_start, r - r % seq_len) and torch.equal(pos, r % seq_len))


def attention(q, k, v, doc_start, shape: LlamaShape, seq_len=None):
    """q [N, H, hd], k/v [N, KVH, hd] -> o [N, D].

    seq_len None: exact, with the explicit [N, N] document mask (any packing).
    seq_len T: fast path with scaled_dot_product_attention(is_causal=True) over [N/T, T] sequences;
    only valid when each sequence is one document (the caller checks)."""
    N, H, hd = q.shape
    group = H // shape.kv_heads
    k = k.repeat_interleave(group, dim=1)  # query head j uses kv head j // group
    v = v.repeat_interleave(group, dim=1)
    if seq_len is None:
        qh, kh, vh = (t.transpose(0, 1) for t in (q, k, v))  # [H, N, hd]
        scores = qh @ kh.transpose(1, 2) / math.sqrt(hd)
        scores = scores.masked_fill(~document_mask(doc_start)[None], float("-inf"))
        o = torch.softmax(scores, dim=-1) @ vh  # [H, N, hd]
        return o.transpose(0, 1).reshape(N, H * hd)
    B = N // seq_len
    qh, kh, vh = (t.reshape(B, seq_len, H, hd).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
    o = F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
    return o.transpose(1, 2).reshape(N, H * hd)


def forward(params, shape: LlamaShape, tok, pos, doc_start, target, seq_len=None):
    """(sum of -log softmax(logits_i)[target_i] over rows with target >= 0, number of such rows).

    seq_len: pass T to use the fast causal attention path (one document per sequence)."""
    if seq_len is not None and not is_one_document_per_sequence(pos, doc_start, seq_len):
        raise ValueError("fast attention path needs one document per sequence")
    P = params
    E = P["token_embd.weight"]
    dtype = E.dtype
    N = tok.shape[0]
    H, KVH, hd = shape.heads, shape.kv_heads, shape.head_dim
    cos, sin = rope_tables(pos, shape, dtype)
    x = E[tok]
    for l in range(shape.layers):
        p = f"blk.{l}."
        h = rms_norm(x, P[p + "attn_norm.weight"], shape.eps)
        q = (h @ P[p + "attn_q.weight"].T).reshape(N, H, hd)
        k = (h @ P[p + "attn_k.weight"].T).reshape(N, KVH, hd)
        v = (h @ P[p + "attn_v.weight"].T).reshape(N, KVH, hd)
        o = attention(rope(q, cos, sin), rope(k, cos, sin), v, doc_start, shape, seq_len)
        x = x + o @ P[p + "attn_output.weight"].T
        h2 = rms_norm(x, P[p + "ffn_norm.weight"], shape.eps)
        a = F.silu(h2 @ P[p + "ffn_gate.weight"].T) * (h2 @ P[p + "ffn_up.weight"].T)
        x = x + a @ P[p + "ffn_down.weight"].T
    rows = target >= 0
    hf = rms_norm(x[rows], P["output_norm.weight"], shape.eps)
    W_out = E if shape.tied else P["output.weight"]
    logits = hf @ W_out.T
    loss_sum = F.cross_entropy(logits, target[rows], reduction="sum")
    return loss_sum, int(rows.sum())


# ---------------------------------------------------------------------------- training

def make_optimizer(params, lr, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-8):
    """AdamW with weight decay on the 2-D tensors only (the tied embedding is one tensor)."""
    decay = [t for t in params.values() if t.dim() == 2]
    no_decay = [t for t in params.values() if t.dim() != 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=betas, eps=eps,
    )


def accumulate(params, shape: LlamaShape, micro_batches, seq_len=None):
    """Forward + backward over micro-batches (each a (tok, pos, doc_start, target) tuple) with the
    step's loss normalisation: every summed loss is divided by the target count over ALL of them,
    so the accumulated gradient is that of one concatenated batch.  Returns (L, count); leaves the
    gradients in .grad (added to whatever was there: zero them first)."""
    counts = [int((mb[3] >= 0).sum()) for mb in micro_batches]
    total = sum(counts)
    if total == 0:
        raise ValueError("no target rows in the step")
    loss = 0.0
    for mb in micro_batches:
        s, _ = forward(params, shape, *mb, seq_len=seq_len)
        (s / total).backward()
        loss += s.item()
    return loss / total, total


def train_step(params, shape: LlamaShape, optimizer, micro_batches, lr, max_norm, seq_len=None):
    """One optimizer step: accumulate, clip, AdamW.  Returns (L, total grad norm before clipping)."""
    optimizer.zero_grad(set_to_none=True)
    loss, _ = accumulate(params, shape, micro_batches, seq_len)
    norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
    for g in optimizer.param_groups:
        g["lr"] = lr
    optimizer.step()
    return loss, float(norm)


def lr_at(step, warmup, total, lr, min_ratio):
    """Learning rate for 0-based step: linear warm-up over `warmup` steps, then cosine to min_ratio*lr."""
    if step < warmup:
        return lr * (step + 1) / warmup
    lr_min = min_ratio * lr
    progress = (step - warmup) / max(1, total - warmup)
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))

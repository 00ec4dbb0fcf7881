#!/usr/bin/env python3
"""scripts/bench_embed_st.py — the reference side of Herd's embedding benchmark.

Measures how fast the Python sentence-transformers stack (PyTorch, CPU) embeds a list of texts
with a given sentence-transformers model folder, so Herd's own embedder can be compared with it:

  * load SentenceTransformer(DIR, device="cpu") with torch limited to --threads threads
    (torch.set_num_threads, and torch.set_num_interop_threads where torch still allows it) and
    the Hugging Face libraries forced offline (nothing is ever fetched from a hub);
  * warm up on the first 64 texts (not timed);
  * time model.encode(texts, batch_size=B, convert_to_numpy=True, normalize_embeddings=False,
    show_progress_bar=False) over all texts with time.perf_counter, best of --repeat runs;
  * report the peak resident memory of the whole process (resource.getrusage ru_maxrss).

Usage (as Herd's bench program runs it):

  .venv-bench/bin/python scripts/bench_embed_st.py --model DIR --texts FILE \\
      [--batch-size 32] [--threads 2] [--repeat 1]

  DIR   a sentence-transformers folder, e.g. ~/.cache/herd/models/all-MiniLM-L6-v2
  FILE  UTF-8 text, one text per line (empty lines are skipped)

Output: exactly one JSON line on stdout,

  {"texts": N, "seconds": S, "sentences_per_s": R, "peak_rss_mib": M, "torch": "…",
   "sentence_transformers": "…", "threads": T, "batch_size": B, "dim": D}

where S is the best wall time of one full encode and R = N / S. Everything else (library
logging, progress notes) goes to stderr. A missing model folder or texts file is an error: a
message on stderr and a non-zero exit status.

This script is for benchmarking only. It needs torch and sentence-transformers, which Herd itself
never uses; `make test` and the rest of the build never run or need it.
"""

import argparse
import json
import os
import sys


def die(msg, code=2):
    print(f"bench_embed_st: error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Time sentence-transformers encoding of a file of texts (CPU).")
    p.add_argument("--model", required=True, help="sentence-transformers model folder")
    p.add_argument("--texts", required=True, help="UTF-8 file, one text per line")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="timed runs; the best is reported")
    a = p.parse_args(argv)
    if a.batch_size < 1:
        p.error("--batch-size must be at least 1")
    if a.threads < 1:
        p.error("--threads must be at least 1")
    if a.repeat < 1:
        p.error("--repeat must be at least 1")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    # Keep stdout for the one JSON line: anything the libraries print, from Python or from native
    # code, goes to stderr instead.
    json_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    model_dir = os.path.expanduser(args.model)
    if not os.path.isdir(model_dir):
        die(f"model folder not found: {model_dir}")
    if not os.path.isfile(os.path.join(model_dir, "modules.json")) and \
            not os.path.isfile(os.path.join(model_dir, "config.json")):
        die(f"not a sentence-transformers folder (no modules.json or config.json): {model_dir}")
    texts_path = os.path.expanduser(args.texts)
    if not os.path.isfile(texts_path):
        die(f"texts file not found: {texts_path}")

    with open(texts_path, encoding="utf-8") as f:
        texts = [line.rstrip("\r\n") for line in f]
    texts = [t for t in texts if t.strip()]
    if not texts:
        die(f"texts file holds no non-empty lines: {texts_path}")

    # Set before torch / transformers are imported: thread pools are sized at import or first use,
    # and the HF libraries read their offline switches at import.
    t = str(args.threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = t
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"

    import resource
    import time

    try:
        import torch
        import sentence_transformers
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        die(f"cannot import torch / sentence-transformers ({e}); "
            "run this with the bench venv (.venv-bench/bin/python)")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError as e:  # only allowed once, before any parallel work has started
        print(f"bench_embed_st: note: set_num_interop_threads not applied ({e})", file=sys.stderr)

    print(f"bench_embed_st: loading {model_dir}", file=sys.stderr)
    try:
        model = SentenceTransformer(model_dir, device="cpu")
    except Exception as e:  # noqa: BLE001 — report any load failure plainly
        die(f"cannot load model from {model_dir}: {type(e).__name__}: {e}", code=1)
    model.eval()

    def encode(batch):
        return model.encode(batch, batch_size=args.batch_size, convert_to_numpy=True,
                            normalize_embeddings=False, show_progress_bar=False)

    print(f"bench_embed_st: warm-up on {min(64, len(texts))} texts", file=sys.stderr)
    warm = encode(texts[:64])
    dim = int(warm.shape[1])

    best = None
    for i in range(args.repeat):
        t0 = time.perf_counter()
        emb = encode(texts)
        dt = time.perf_counter() - t0
        if emb.shape != (len(texts), dim):
            die(f"unexpected embedding shape {emb.shape}", code=1)
        print(f"bench_embed_st: run {i + 1}/{args.repeat}: {len(texts)} texts in {dt:.3f} s "
              f"({len(texts) / dt:.1f}/s)", file=sys.stderr)
        best = dt if best is None else min(best, dt)

    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024

    out = {
        "texts": len(texts),
        "seconds": round(best, 4),
        "sentences_per_s": round(len(texts) / best, 2),
        "peak_rss_mib": round(rss_mib, 1),
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "dim": dim,
    }
    json_out.write(json.dumps(out) + "\n")
    json_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

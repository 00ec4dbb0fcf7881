#!/usr/bin/env python3
"""scripts/bench_tsne_opentsne.py — the reference side of Herd's t-SNE benchmark (openTSNE, CPU).

Runs openTSNE's TSNE on a float32 .npy matrix with openTSNE's own defaults except for the options
below, times the whole fit, and writes the 2-D embedding, so `herd project` can be compared with it.

Usage:

  python scripts/bench_tsne_opentsne.py --input X.npy --out Y.npy [--perplexity 30] \\
      [--early-iterations 250] [--iterations 500] [--threads 2] [--seed 1] [--method auto|bh|fft]

  X.npy  N x D, any float dtype (Herd's embeddings are '<f4'); it is converted to float64
         before timing starts (openTSNE computes in float64 whatever it is given; PCA and the
         exact neighbour search would otherwise run in float32).
  Y.npy  written as float32 N x 2, NumPy .npy, C order.

What is run (openTSNE 1.0.4; the timed part is exactly what TSNE.fit does, phase by phase):

  tsne = TSNE(n_components=2, perplexity=P, early_exaggeration_iter=E, n_iter=I,
              n_jobs=T, random_state=S, negative_gradient_method=M)   # everything else default:
      neighbors="auto", initialization="pca", learning_rate="auto", early_exaggeration="auto"
      (=12), exaggeration=None (=1), initial_momentum=final_momentum=0.8, max_step_norm=5,
      theta=0.5, n_interpolation_points=3, min_num_intervals=50, ints_in_interval=1, dof=1
  emb = tsne.prepare_initial(X)                       # kNN, P, PCA init   -> seconds_prepare
  emb.optimize(E, exaggeration=12, momentum=0.8)      # learning rate N/12 -> seconds_optimize
  emb.optimize(I, exaggeration=None, momentum=0.8)    # learning rate N    -> (both phases)

  neighbors="auto" picks exact search (sklearn NearestNeighbors, brute force) below 1,000 points
  and Annoy (openTSNE's vendored copy, 50 trees, seeded from --seed, k+1 neighbours per item)
  from 1,000 points on (openTSNE/affinity.py get_knn_index), with k = min(N-1, int(3*P)) (90 at
  perplexity 30). --method auto picks Barnes-Hut below 10,000 points and FFT interpolation from
  10,000 on (openTSNE/tsne.py _handle_nice_params); the JSON says which ran. The FFT of the
  openTSNE wheel is numpy's (the wheel is built without FFTW).

  Threads: openTSNE's OpenMP loops, Annoy's build and the kNN queries use --threads; the BLAS
  (OpenBLAS under numpy/scipy, used by the PCA) is limited to the same number through
  OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS set before numpy is imported.

Output: exactly one JSON line on stdout,

  {"points": N, "dim": D, "seconds": S, "seconds_prepare": S1, "seconds_optimize": S2,
   "kl": KL, "peak_rss_mib": M, "opentsne": "1.0.4", "method": "bh"|"fft",
   "neighbors": "exact"|"annoy", "threads": T, "perplexity": P, "iterations": [E, I], "seed": S}

  seconds     perf_counter wall time of prepare_initial + both optimize calls (= TSNE.fit);
              loading X and writing Y are not included.
  kl          the KL divergence openTSNE reports after the last iteration (embedding.kl_divergence):
              sum over the nonzeros of P of p_ij log(p_ij / q_ij), where the normaliser
              sum_{k!=l} q_kl comes from the same approximation as the gradient (BH tree or FFT
              grid), not an exact sum; BH's estimate can be off by a few hundredths (see
              Tests/ProjectionTests/tsne_reference.json, "kl_750_exact").
  peak_rss_mib  resource.getrusage(RUSAGE_SELF).ru_maxrss / 1024 at the end: the peak resident
              memory of the whole process, the Python interpreter, numpy, scipy and sklearn included
              (about 100 MiB before any data is loaded).

Everything else (openTSNE's own log with --verbose, notes) goes to stderr. A missing or malformed
input is an error: a message on stderr and exit status 2.

Needs: numpy, scipy, scikit-learn==1.9.1, openTSNE==1.0.4 (pip install openTSNE==1.0.4; it brings
its own Annoy; pynndescent is not needed and, for the Euclidean metric on dense data, not used).
Measured with Python 3.11.7, numpy 2.4.6, scipy 1.17.1, 2 threads on this 2-core machine (1-minute
load 0.5-0.6 before each run, the tail of the previous run; idle 0.1), defaults as above:

  input (384-d MiniLM)   method  neighbours  seconds (prepare + optimise)  kl     peak RSS
  real-10000             fft     annoy       49.7 (5.0 + 44.6)             2.3895  349 MiB
  gen-10000              fft     annoy       40.5 (5.0 + 35.5)             2.8619  339 MiB
  gen-50000              fft     annoy       132.2 (45.0 + 87.2)           3.5709  727 MiB

  (repeat runs: 50.3 s and 133.0 s, same KL; prepare at 50,000 is almost all Annoy: 44 s.)
  In all three the early-exaggeration phase collapses the embedding to (nearly) a point: openTSNE's
  KL stays constant from iteration 50 to 250 (5.4592, 7.1693 at 10K/50K) and the structure forms
  in the last 500 iterations; see Tests/ProjectionTests/make_tsne_reference.py.

How the benchmark inputs were made (outside the repository): MiniLM embeddings
(SentenceTransformer.encode(texts, batch_size=32, normalize_embeddings=False), float32) of
  real-10000: the first 10,000 texts, distinct after lower-casing and whitespace folding, of every
              text field of ../shared/data in the order of Tests/EmbedTests/make_embed_reference.py's
              load_records (Alpaca, Self-Instruct, P3 prompts and completions, FLAN CoT questions,
              answers and rationales), and
  gen-50000:  the first 50,000 such distinct lines of bench-data/dedup-100000.txt (sentences
              generated from a word-bigram model of the real instructions, see README.md) -- real
              texts do not reach 50,000 here.

This script is for benchmarking only; `make test` and the rest of the build never run or need it.
"""

import argparse
import json
import os
import sys


def die(msg, code=2):
    print(f"bench_tsne_opentsne: error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Time openTSNE's t-SNE on an .npy matrix (CPU).")
    p.add_argument("--input", required=True, help="N x D .npy (float)")
    p.add_argument("--out", required=True, help="where to write the N x 2 float32 .npy")
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument("--early-iterations", type=int, default=250)
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--method", choices=("auto", "bh", "fft"), default="auto")
    p.add_argument("--initial-momentum", type=float, default=0.8,
                   help="momentum during early exaggeration (openTSNE's default 0.8; Herd's default is 0.5)")
    p.add_argument("--verbose", action="store_true", help="openTSNE's progress log (stderr)")
    a = p.parse_args(argv)
    if a.perplexity <= 0:
        p.error("--perplexity must be positive")
    if a.early_iterations < 0 or a.iterations < 0:
        p.error("iteration counts must be at least 0")
    if a.threads < 1:
        p.error("--threads must be at least 1")
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    # openTSNE's verbose output goes to stdout through print(): keep stdout for the JSON line.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr

    import resource
    import time
    import numpy as np
    try:
        import openTSNE
        from openTSNE import TSNE
    except ImportError as e:
        die(f"openTSNE is not installed ({e}); pip install openTSNE==1.0.4")

    if not os.path.isfile(a.input):
        die(f"no such file: {a.input}")
    try:
        X = np.load(a.input, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        die(f"cannot read {a.input}: {e}")
    if X.ndim != 2 or X.shape[0] < 2 or not np.issubdtype(X.dtype, np.floating):
        die(f"{a.input}: expected a 2-D float matrix with at least 2 rows, got {X.dtype} {X.shape}")
    if not np.isfinite(X).all():
        die(f"{a.input}: contains NaN or infinity")
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, dim = X.shape
    method = a.method if a.method != "auto" else ("bh" if n < 10_000 else "fft")
    neighbors = "exact" if n < 1000 else "annoy"  # what neighbors="auto" resolves to (Euclidean, dense)

    tsne = TSNE(n_components=2, perplexity=a.perplexity, early_exaggeration_iter=a.early_iterations,
                n_iter=a.iterations, n_jobs=a.threads, random_state=a.seed, initial_momentum=a.initial_momentum,
                negative_gradient_method=a.method, neighbors="auto", verbose=a.verbose)
    print(f"bench_tsne_opentsne: {n} x {dim}, method {method}, neighbours {neighbors}, "
          f"{a.threads} threads", file=sys.stderr)

    t0 = time.perf_counter()
    emb = tsne.prepare_initial(X)
    t1 = time.perf_counter()
    if a.early_iterations > 0:
        emb.optimize(n_iter=a.early_iterations, exaggeration=tsne.early_exaggeration,
                     momentum=tsne.initial_momentum, inplace=True, propagate_exception=True)
    if a.iterations > 0:
        emb.optimize(n_iter=a.iterations, exaggeration=tsne.exaggeration,
                     momentum=tsne.final_momentum, inplace=True, propagate_exception=True)
    t2 = time.perf_counter()

    kl = getattr(emb, "kl_divergence", None)
    knn = type(emb.affinities.knn_index).__name__
    resolved = {"Sklearn": "exact", "Annoy": "annoy", "NNDescent": "pynndescent",
                "HNSW": "hnsw"}.get(knn, knn)
    if resolved != neighbors:
        print(f"note: neighbours resolved to {resolved}, expected {neighbors}", file=sys.stderr)
    Y = np.ascontiguousarray(np.asarray(emb), dtype="<f4")
    np.save(a.out, Y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB

    line = {
        "points": n, "dim": dim,
        "seconds": round(t2 - t0, 4),
        "seconds_prepare": round(t1 - t0, 4),
        "seconds_optimize": round(t2 - t1, 4),
        "kl": None if kl is None else round(float(kl), 6),
        "peak_rss_mib": round(peak, 1),
        "opentsne": openTSNE.__version__,
        "method": method,
        "neighbors": resolved,
        "threads": a.threads,
        "perplexity": a.perplexity,
        "iterations": [a.early_iterations, a.iterations],
        "seed": a.seed,
    }
    sys.stdout = real_stdout
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

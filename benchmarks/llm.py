#!/usr/bin/env python
"""Text to logic against asking the model, on ProofWriter-style problems (issue 10, item 5).

Problems come from :mod:`plait.llm.proofwriter` (seeded; answers and depths
computed by plait). For each depth, each problem is answered five ways:

- ``direct``: a few-shot prompt asks for the answer word at once (greedy);
- ``cot``: a few-shot prompt with worked reasoning, then "Answer: ..." (greedy);
- ``ttl-1``: text to logic, one greedy translation under the grammar;
- ``ttl-K``: K sampled translations under the grammar, majority vote;
- ``ttl-K-free``: K sampled translations without the grammar, majority vote.

Closed world (default): the translation is a plait program, answers True/False.
Open world (``--world open``): first-order logic decided by Z3, answers
True/False/Uncertain. A reply the script cannot read (no answer word; a
translation that does not parse) counts as wrong, and the parse failures of the
translations are reported per method. The section between the ``llm-benchmark``
markers of ``docs/llm.md`` is replaced (appended if absent); ``--print`` only
prints it. Usage, from the repository root::

    .venv/bin/python benchmarks/llm.py                          # packaged SmolLM2-135M, ~15 min on a shared 2-core machine
    .venv/bin/python benchmarks/llm.py --model path/to/model.gguf --threads 8
    .venv/bin/python benchmarks/llm.py --endpoint http://127.0.0.1:8080 --model-name qwen2.5-7b
    .venv/bin/python benchmarks/llm.py --per-depth 2 --depths 0,1 --print   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from plait.llm.proofwriter import Problem, generate
from plait.llm.translate import TextToLogic, Verdict, decide_translation
from plait.llm.translate.pipeline import TOKENS_PER_LINE

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- llm-benchmark:begin -->", "<!-- llm-benchmark:end -->"
METHODS = ("direct", "cot", "ttl-1", "ttl-K", "ttl-K-free")

DIRECT_SHOTS = (
    ("Bob is big. If someone is big then they are kind.", "Bob is kind.", "True"),
    ("Anne is red. If someone is big then they are kind.", "Anne is kind.", "False"),
)
COT_SHOTS = (
    (
        "Bob is big. If someone is big and not red then they are kind.",
        "Bob is kind.",
        "Bob is big. Bob is not known to be red. So Bob is kind.",
        "True",
    ),
    (
        "Anne is red. If someone is big then they are kind.",
        "Anne is kind.",
        "Anne is not known to be big. Nothing else makes Anne kind. So Anne is not kind.",
        "False",
    ),
)
OPEN_DIRECT_SHOTS = (
    ("Bob is big. If someone is big then they are not kind.", "Bob is kind.", "False"),
    ("Anne is red. If someone is big then they are kind.", "Anne is kind.", "Unknown"),
)
OPEN_COT_SHOTS = (
    (
        "Bob is big. If someone is big then they are not kind.",
        "Bob is kind.",
        "Bob is big, so Bob is not kind.",
        "False",
    ),
    (
        "Anne is red. If someone is big then they are kind.",
        "Anne is kind.",
        "Nothing says whether Anne is big or kind.",
        "Unknown",
    ),
)


def _labels(world: str) -> tuple[str, ...]:
    return ("True", "False") if world == "closed" else ("True", "False", "Unknown")


def _read_label(text: str, world: str) -> Verdict | None:
    """The answer word in a reply (the last 'Answer: X' if any, else the first word), or None."""
    found = re.findall(r"Answer:\s*(True|False|Unknown)", text)
    word = found[-1] if found else (text.strip().split() or [""])[0].strip(".,")
    if word not in _labels(world):
        return None
    return Verdict.UNCERTAIN if word == "Unknown" else Verdict(word)


def direct_prompt(p: Problem) -> str:
    labels = " or ".join(_labels(p.world))
    shots = DIRECT_SHOTS if p.world == "closed" else OPEN_DIRECT_SHOTS
    parts = [f"Decide whether the statement follows from the premises. Answer {labels}.", ""]
    for premises, statement, answer in shots:
        parts += [f"Premises: {premises}", f"Statement: {statement}", f"Answer: {answer}", ""]
    parts += [f"Premises: {p.context}", f"Statement: {p.statement}", "Answer:"]
    return "\n".join(parts)


def cot_prompt(p: Problem) -> str:
    labels = " or ".join(_labels(p.world))
    shots = COT_SHOTS if p.world == "closed" else OPEN_COT_SHOTS
    parts = [f"Decide whether the statement follows from the premises. Reason step by step, then answer {labels}.", ""]
    for premises, statement, reasoning, answer in shots:
        parts += [
            f"Premises: {premises}",
            f"Statement: {statement}",
            f"Reasoning: {reasoning}",
            f"Answer: {answer}",
            "",
        ]
    parts += [f"Premises: {p.context}", f"Statement: {p.statement}", "Reasoning:"]
    return "\n".join(parts)


def load_model(args):
    t = time.perf_counter()
    if args.endpoint:
        from plait.llm import OpenAICompatibleModel

        model = OpenAICompatibleModel(args.endpoint, args.model_name or "default")
    else:
        from plait.llm import LlamaCppModel

        model = LlamaCppModel(args.model, n_threads=args.threads, n_ctx=args.n_ctx)
    return model, time.perf_counter() - t


def run(args) -> dict:
    model, load_s = load_model(args)
    target = "plait" if args.world == "closed" else "fol"
    common = {"target": target, "max_tokens": args.max_tokens, "seed": args.seed}
    solvers = {
        "ttl-1": TextToLogic(model, samples=1, temperature=0.0, **common),
        "ttl-K": TextToLogic(model, samples=args.samples, temperature=args.temperature, **common),
        "ttl-K-free": TextToLogic(
            model, samples=args.samples, temperature=args.temperature, constrained=False, **common
        ),
    }
    problems = [
        p for depth in args.depths for p in generate(args.per_depth, depth=depth, world=args.world, seed=args.seed)
    ]
    rows = [{"depth": p.depth, "answer": p.answer.value, "methods": {}} for p in problems]
    # the solver side on its own: each problem's correct translation, decided the same way
    gold_correct = sum(
        decide_translation(p.program if p.world == "closed" else p.fol, target).verdict is p.answer for p in problems
    )
    # method by method, so that consecutive prompts share their instruction and worked examples, which
    # llama.cpp keeps evaluated (only each problem's own lines are new)
    for name in METHODS:
        for p, row in zip(problems, rows, strict=True):
            t = time.perf_counter()
            if name in ("direct", "cot"):
                prompt, tokens = (direct_prompt(p), 4) if name == "direct" else (cot_prompt(p), args.cot_tokens)
                reply = model.complete(prompt, max_tokens=tokens, temperature=0.0, stop=("\n\n", "Premises:"))
                row["methods"][name] = {"verdict": _v(_read_label(reply, p.world)), "s": time.perf_counter() - t}
            else:
                a = solvers[name].answer(p.premises, p.statement)
                row["methods"][name] = {
                    "verdict": None if a.winner is None else a.verdict.value,
                    "s": time.perf_counter() - t,
                    "samples": len(a.samples),
                    "parse_failures": a.parse_failures,
                    "decide_failures": a.decide_failures,
                    "translations": [s.text for s in a.samples],
                    "errors": [s.error for s in a.samples],
                }
            if args.verbose:
                got = row["methods"][name]["verdict"]
                print(f"{name} depth {p.depth}: gold {p.answer.value}, got {got}", file=sys.stderr, flush=True)
    return {
        "model": f"{model.name} at {args.endpoint}" if args.endpoint else model.name,
        "gold_correct": gold_correct,
        "load_s": load_s,
        "args": {k: v for k, v in vars(args).items() if k != "func"},
        "rows": rows,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }


def _v(verdict: Verdict | None) -> str | None:
    return None if verdict is None else verdict.value


def report(result: dict) -> str:
    args, rows = result["args"], result["rows"]
    depths = sorted({r["depth"] for r in rows})
    acc: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for r in rows:
        for m in METHODS:
            acc[(m, r["depth"])].append(r["methods"][m]["verdict"] == r["answer"])
    labels = _labels(args["world"])
    gold = [r["answer"] for r in rows]
    majority = max(set(gold), key=gold.count)
    n = len(rows)
    world = "closed world: plait decides" if args["world"] == "closed" else "open world: Z3 decides"
    lines = [
        BEGIN,
        f"Model `{result['model']}`, {n} problems ({args['per_depth']} per depth, seed {args['seed']}, "
        f"{world}), K = {args['samples']} samples at temperature {args['temperature']}, "
        + (
            f"at most {args['max_tokens']} tokens"
            if args["max_tokens"]
            else "a token budget sized from the grammar's line bound "
            f"({TOKENS_PER_LINE} a line; 256 without the grammar)"
        )
        + f" per translation and {args['cot_tokens']} for chain of thought. "
        f"Model load: {result['load_s']:.1f} s. Machine: {result['cpus']} CPUs shared with other jobs "
        f"(load average {result['load_average']:.1f} at the end), llama.cpp threads: {args['threads']}.",
        "",
        "Accuracy by depth (a reply without an answer, or with no decided translation, counts as wrong; "
        f"answers are {'/'.join(labels)}, the most frequent gold answer here is {majority} "
        f"at {gold.count(majority) / n:.0%}):",
        "",
        "| method | " + " | ".join(f"depth {d}" for d in depths) + " | all | s / problem |",
        "|---|" + "---|" * (len(depths) + 2),
    ]
    for m in METHODS:
        cells = [f"{sum(acc[(m, d)]) / len(acc[(m, d)]):.0%}" for d in depths]
        total = sum(sum(acc[(m, d)]) for d in depths) / n
        secs = sum(r["methods"][m]["s"] for r in rows) / n
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {total:.0%} | {secs:.1f} |")
    lines += [
        "",
        "Translations that fail (a vote for nothing), over all samples:",
        "",
        "| method | samples | parse failures | failures to decide | problems with no decided sample |",
        "|---|---|---|---|---|",
    ]
    for m in ("ttl-1", "ttl-K", "ttl-K-free"):
        samples = sum(r["methods"][m]["samples"] for r in rows)
        pf = sum(r["methods"][m]["parse_failures"] for r in rows)
        df = sum(r["methods"][m]["decide_failures"] for r in rows)
        none = sum(r["methods"][m]["verdict"] is None for r in rows)
        lines.append(f"| {m} | {samples} | {pf} ({pf / samples:.0%}) | {df} ({df / samples:.0%}) | {none} |")
    no_answer = {m: sum(r["methods"][m]["verdict"] is None for r in rows) for m in ("direct", "cot")}
    lines += [
        "",
        f"Replies with no answer word: direct {no_answer['direct']}, chain of thought {no_answer['cot']} of {n}. "
        f"The problems' own correct translations, decided the same way: {result['gold_correct']} of {n} right "
        f"(the solver side is exact; what is lost is lost in translation). Total time {result['total_s'] / 60:.1f} min.",
        "",
        "Regenerate with `python benchmarks/llm.py "
        + " ".join(
            f"--{k.replace('_', '-')} {','.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in args.items()
            if k in ("world", "depths", "per_depth", "samples", "max_tokens", "cot_tokens", "threads", "seed")
            and v is not None
        )
        + "`.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path) -> None:
    doc = path.read_text()
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + text.rstrip("\n") + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="a GGUF file (default: the packaged SmolLM2-135M-Instruct)")
    ap.add_argument("--endpoint", default=None, help="an OpenAI-compatible server instead of a local model")
    ap.add_argument("--model-name", default=None, help="the endpoint's model name")
    ap.add_argument("--world", choices=("closed", "open"), default="closed")
    ap.add_argument("--depths", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--per-depth", type=int, default=2)
    ap.add_argument("--samples", type=int, default=3, help="K")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="tokens per translation (default: sized from the grammar's line bound)",
    )
    ap.add_argument("--cot-tokens", type=int, default=80)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the raw results here")
    ap.add_argument("--print", action="store_true", help="print the section instead of writing docs/llm.md")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    result = run(args)
    result["total_s"] = time.perf_counter() - t
    text = report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.print:
        print(text)
    else:
        write_section(text, ROOT / "docs" / "llm.md")
    print(f"total {result['total_s']:.0f} s", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()

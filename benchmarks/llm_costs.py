"""What the llm extra costs at run time: model load times, time per scored query, embedding time.

    python benchmarks/llm_costs.py            # about a minute; rewrites its section in docs/llm.md
    python benchmarks/llm_costs.py --no-docs  # print the table only

Each model loads in a fresh process (so the load time includes importing
llama_cpp or sentence-transformers), then: one LLM-predicate query
(a 3-value domain, a chat prompt, nothing cached), the same query again (from the
cache), a greedy 16-token completion, a grammar-constrained completion, and
embedding 64 short sentences one call at a time and in one batch. Medians of
``--repeats`` runs. The machine's load average is recorded: it is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "llm.md"
START, END = "<!-- costs:start -->", "<!-- costs:end -->"

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
kind, threads = sys.argv[1], int(sys.argv[2])
out = {}
if kind == "llm":
    from plait.llm import LlamaCppModel, LLMPredicate
    lm = LlamaCppModel(n_threads=threads)
    out["load"] = time.perf_counter() - t0
    net = LLMPredicate(lm, "{}\nWhich pet is mentioned: dog, cat or none? Answer with one word.", ["dog", "cat", "none"], chat=True)
    t = time.perf_counter(); net.distribution("Alice walks her dog Rex in the park every morning."); out["query"] = time.perf_counter() - t
    t = time.perf_counter(); net.distribution("Alice walks her dog Rex in the park every morning."); out["cached"] = time.perf_counter() - t
    t = time.perf_counter(); net.distribution("Bob's cat Luna sleeps on the sofa all day."); out["query2"] = time.perf_counter() - t
    t = time.perf_counter(); lm.complete("Write one sentence about the sea.", max_tokens=16); out["complete16"] = time.perf_counter() - t
    t = time.perf_counter(); lm.complete("Is water wet? Answer:", max_tokens=4, grammar='root ::= " yes" | " no"'); out["grammar"] = time.perf_counter() - t
else:
    from plait.llm import SentenceEmbedder
    emb = SentenceEmbedder()
    out["load"] = time.perf_counter() - t0
    texts = [f"Sentence number {i} is about topic {i % 7}." for i in range(64)]
    t = time.perf_counter()
    for s in texts[:32]:
        emb.encode([s])
    out["one"] = (time.perf_counter() - t) / 32
    t = time.perf_counter(); emb.encode(texts[32:]); out["batch32"] = time.perf_counter() - t
print(json.dumps(out))
"""


def run(kind: str, threads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(threads)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    runs = {"llm": [], "emb": []}
    for _ in range(args.repeats):
        for kind in runs:
            runs[kind].append(run(kind, args.threads))

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    rows = [
        ("SmolLM2-135M-Instruct Q4_1: import llama_cpp + load", med("llm", "load")),
        ("LLM-predicate query, 3 values, chat prompt (not cached)", med("llm", "query")),
        ("the same query again (cache hit)", med("llm", "cached")),
        ("another text, same prompt template", med("llm", "query2")),
        ("greedy completion, 16 tokens", med("llm", "complete16")),
        ("grammar-constrained completion (yes/no)", med("llm", "grammar")),
        ("all-MiniLM-L6-v2: import sentence-transformers + load", med("emb", "load")),
        ("embedding one sentence (per call)", med("emb", "one")),
        ("embedding 32 sentences in one call", med("emb", "batch32")),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"Measured with `python benchmarks/llm_costs.py` ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs, load average {load:.1f}; llama.cpp with "
        f"{args.threads} threads; median of {args.repeats} fresh processes).",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {name} | {s:.4f} |" if s < 0.01 else f"| {name} | {s:.3f} |" for name, s in rows]
    table = "\n".join(lines)
    print(table)
    if not args.no_docs:
        text = DOCS.read_text()
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        DOCS.write_text(head + START + "\n" + table + "\n" + END + tail)
    return table


if __name__ == "__main__":
    main()

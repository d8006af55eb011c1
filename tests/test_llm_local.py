"""The local backends with the packaged models (the optional extra plait[llm]): SmolLM2 via llama.cpp, MiniLM.

Skipped, with the reason, where the extra is not installed. Oracles: llama.cpp's
own log-probabilities of an echoed prompt for scoring, numpy for cosines, ProbLog
for programs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from problog import get_evaluatable
from problog.program import PrologString

import plait
from plait.llm import (
    Calibration,
    LLMPredicate,
    ModelFileError,
    SimilarityPredicate,
    retrieve,
)

# find_spec, not importorskip: importing sentence-transformers here would hide whether the embedder's own
# import order keeps it offline (tested in a fresh process below)
if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("sentence_transformers") is None:
    pytest.skip("the llm extra is not installed: pip install 'plait[llm]'", allow_module_level=True)

from plait.llm import LlamaCppModel, SentenceEmbedder  # noqa: E402


@pytest.fixture(scope="module")
def lm():
    return LlamaCppModel(n_threads=1)


@pytest.fixture(scope="module")
def embedder():
    return SentenceEmbedder()


def fresh_logprob(lm, prompt: str, completion: str) -> float:
    """Brute force: forget every kept state, evaluate prompt + completion (tokenized together) from scratch."""
    llm = lm.llama
    n_prompt = len(lm.tokens(prompt, bos=True))
    tokens = lm.tokens(prompt + completion, bos=True)
    llm.reset()
    llm.eval(tokens)
    rows = np.asarray(llm.scores[: len(tokens)], dtype=np.float64)
    logp = rows - np.logaddexp.reduce(rows, axis=1, keepdims=True)
    return float(sum(logp[i - 1, tokens[i]] for i in range(n_prompt, len(tokens))))


def test_score_matches_a_fresh_evaluation(lm):
    prompt = "The capital of France is"
    completions = [" Paris", " Rome", " a city in Europe"]
    for completion in completions:
        # the split into tokens is the same whether the two are tokenized apart or together
        assert lm.tokens(prompt, bos=True) + lm.tokens(completion, bos=False) == lm.tokens(
            prompt + completion, bos=True
        )
    got = lm.score(prompt, completions)
    want = [fresh_logprob(lm, prompt, c) for c in completions]
    assert got == pytest.approx(want, abs=1e-3)
    assert got[0] > got[1]  # even a 135M model knows this one
    # and greedy decoding picks the most probable first token
    assert lm.complete(prompt, max_tokens=1) == " Paris"


def test_score_reuses_state_without_changing_results(lm):
    a = lm.score("Q: Is a robin a bird?\nA:", [" yes", " no", " maybe not"])
    lm.score("Something else entirely", [" x"])
    b = [lm.score("Q: Is a robin a bird?\nA:", [c])[0] for c in (" maybe not", " no", " yes")][::-1]
    assert a == pytest.approx(b, abs=1e-4)


def test_greedy_completion_is_repeatable_and_grammar_constrains_it(lm):
    prompt = "Is the sky green? Answer yes or no.\nAnswer:"
    first = lm.complete(prompt, max_tokens=8, stop=["\n"])
    assert first == lm.complete(prompt, max_tokens=8, stop=["\n"])
    constrained = {
        lm.complete(prompt, max_tokens=4, temperature=1.0, seed=s, grammar='root ::= " yes" | " no"') for s in range(4)
    }
    assert constrained <= {" yes", " no"} and constrained


def test_chat_prompt_uses_the_gguf_chat_template(lm):
    text = lm.chat_prompt([{"role": "user", "content": "Hi"}])
    assert "<|im_start|>user\nHi<|im_end|>" in text and text.endswith("<|im_start|>assistant\n")
    assert lm.chat([{"role": "user", "content": "Say hello."}], max_tokens=8).strip()


def test_llm_predicate_with_smollm2_is_exact_and_explained(lm):
    net = LLMPredicate(lm, "Is {} an animal? Answer yes or no.", [" yes", " no"], chat=True)
    program = "nn(animal_llm, [X], Y, [yes, no]) :: animal(X, Y).\nthing(dog). thing(chair).\nzoo :- thing(X), animal(X, yes)."
    model = plait.Model(program, {"animal_llm": net})
    p_dog, p_chair = net.distribution("dog")[0], net.distribution("chair")[0]
    oracle = get_evaluatable().create_from(
        PrologString(f"{p_dog!r}::a(dog). {p_chair!r}::a(chair). zoo :- a(dog). zoo :- a(chair). query(zoo).")
    )
    assert float(model("zoo")[0, 0]) == pytest.approx(list(oracle.evaluate().values())[0], abs=1e-12)
    (e,) = model.explain("zoo")
    assert "[animal_llm]" in e.text
    assert net.model_calls == 2


def test_missing_and_broken_model_files(tmp_path):
    with pytest.raises(
        ModelFileError, match=r"no GGUF model file at .*missing\.gguf.*LlamaCppModel\(\) for the packaged"
    ):
        LlamaCppModel(tmp_path / "missing.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"llama.cpp cannot load .*junk\.gguf"):
        LlamaCppModel(junk)
    with pytest.raises(ModelFileError, match=r"no sentence-transformers model folder at .*nowhere"):
        SentenceEmbedder(tmp_path / "nowhere")


def test_embeddings_load_offline_without_touching_the_network():
    # a fresh process in which every socket connection fails: loading and embedding must not need one
    code = """
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError(f"a network connection was attempted: {args}")
socket.socket.connect = refuse
socket.create_connection = refuse
from plait.llm import SentenceEmbedder
v = SentenceEmbedder().encode(["a cat sat on the mat"])
import os
print(v.shape, round(float((v * v).sum()), 4), os.environ["HF_HUB_OFFLINE"])
"""
    env = dict(os.environ, PYTHONPATH=str(Path(plait.__file__).resolve().parents[1]))
    env.pop("HF_HUB_OFFLINE", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(1, 384) 1.0 1"


def test_cosines_and_calibration(embedder):
    a = ["A cat sat on the mat.", "The stock market fell today."]
    b = ["A kitten was sitting on the rug.", "A kitten was sitting on the rug."]
    cos = embedder.cosine(a, b)
    ea, eb = embedder.encode(a), embedder.encode(b)
    assert cos == pytest.approx(
        np.sum(ea * eb, axis=1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1), abs=1e-5
    )
    assert cos[0] > 0.5 > cos[1]
    c = Calibration()
    assert c(cos[0]) > 0.5 > c(cos[1])
    hits = retrieve(embedder, "Where is the feline?", {"k1": a[0], "k2": a[1]}, k=1)
    assert [h.key for h in hits] == ["k1"] and hits[0].probability == pytest.approx(c(hits[0].cosine))


def test_similarity_predicate_in_a_program(embedder):
    program = (
        "nn(sim, [X, Y]) :: similar(X, Y).\n"
        'doc(d1, "The Eiffel Tower is in Paris."). doc(d2, "Bananas are yellow.").\n'
        "city(d1, paris). city(d2, none).\n"
        "answer(Q, C) :- doc(D, T), similar(Q, T), city(D, C).\n"
    )
    net = SimilarityPredicate(embedder)
    model = plait.Model(program, {"sim": net})
    q = "Which city has the famous iron tower?"
    probs = model("answer(Q, C)", Q=[q])[0]
    t = model.template("answer(Q, C)", {"Q": [q]})
    cos = embedder.cosine([q, q], ["The Eiffel Tower is in Paris.", "Bananas are yellow."])
    want = {"paris": Calibration()(cos[0]), "none": Calibration()(cos[1])}
    assert {v: float(p) for v, p in zip(t.answer_values, probs)} == pytest.approx(want, abs=1e-9)
    assert want["paris"] > 0.6 > 0.1 > want["none"]


def test_calibration_defaults_are_the_fit_on_the_documented_pairs(embedder):
    from plait.llm.embeddings import CALIBRATION_PAIRS

    cos = embedder.cosine([a for a, _, _ in CALIBRATION_PAIRS], [b for _, b, _ in CALIBRATION_PAIRS])
    fitted = Calibration.fit(cos.tolist(), [label for _, _, label in CALIBRATION_PAIRS])
    default = Calibration()
    assert round(fitted.midpoint, 1) == default.midpoint and round(fitted.slope) == default.slope

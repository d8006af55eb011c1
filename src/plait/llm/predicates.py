"""LLM predicates: a neural annotated disjunction whose distribution a language model gives.

An :class:`LLMPredicate` is registered as a network of a :class:`plait.Model`,
exactly like an ``nn/4`` network::

    nn(sentiment_llm, [Text], Y, [pos, neg]) :: sentiment(Text, Y).

For each example it fills its prompt template with the predicate's inputs
(strings and atoms; numbers too), asks the model for the log-probability of each
domain value's completion text (:meth:`LanguageModel.score`), and returns their
softmax: one row of ``P(Y = value)`` per example. Scores are cached per
(prompt, completions), so repeated queries and explanations do not run the model
again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .base import LanguageModel, choose
from .errors import EmptyAnswerError

__all__ = ["LLMPredicate"]


class LLMPredicate(nn.Module):
    """A network for a neural predicate whose domain values a language model scores.

    ``prompt`` is a :meth:`str.format` template: ``{0}``, ``{1}``, ... are the
    predicate's inputs in order (``{}`` for a single one). ``choices`` are the
    completion texts of the domain values, in the order of the ``nn(...)``
    declaration's domain (``[" positive", " negative"]`` for ``[pos, neg]``).
    With ``chat=True`` the filled prompt is a user message in the model's chat
    template (``system`` an optional system message) and the choices are scored as
    the assistant's answer.

    ``method="score"`` (the default) gives the softmax of the completions'
    log-probabilities. ``method="vote"`` is for endpoints without
    log-probabilities: ``samples`` answers are generated (at ``temperature``, seeds
    0, 1, ...) and each must name a choice (:func:`plait.llm.choose`: otherwise an
    :class:`~plait.llm.OutOfDomainError`); the distribution is their frequencies.

    >>> class Toy(LanguageModel):  # a model that prefers short completions
    ...     def complete(self, prompt, **kw): return " no"
    ...     def score(self, prompt, completions): return [-len(c) for c in completions]
    >>> net = LLMPredicate(Toy(), "Is {} a bird? Answer:", [" yes", " no"])
    >>> net(["a robin"]).tolist()  # softmax of [-4, -3]
    [[0.2689414213699951, 0.7310585786300049]]
    """

    takes_terms = True  # plait.Model passes the program's strings and atoms as Python values

    def __init__(
        self,
        model: LanguageModel,
        prompt: str,
        choices: Sequence[str],
        *,
        chat: bool = False,
        system: str | None = None,
        method: str = "score",
        samples: int = 5,
        temperature: float = 0.7,
        max_tokens: int = 8,
    ) -> None:
        super().__init__()
        if method not in ("score", "vote"):
            raise ValueError(f"method must be 'score' or 'vote', not {method!r}")
        if len(choices) < 1 or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct completion texts, one per domain value: {list(choices)}")
        self.lm = model
        self.prompt = prompt
        self.choices = list(choices)
        self.chat = chat
        self.system = system
        self.method = method
        self.samples = samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._cache: dict[str, list[float]] = {}
        self.model_calls = 0  # prompts sent to the model (cache misses)

    def extra_repr(self) -> str:
        return f"model={self.lm.name!r}, prompt={self.prompt!r}, choices={self.choices}, method={self.method!r}"

    def render(self, *args: object) -> str:
        """The text sent to the model for one example's inputs (with the chat template if ``chat``)."""
        text = self.prompt.format(*args)
        if not self.chat:
            return text
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + [
            {"role": "user", "content": text}
        ]
        return self.lm.chat_prompt(messages)

    def distribution(self, *args: object) -> list[float]:
        """``P(value)`` for each domain value, for one example's inputs (cached)."""
        text = self.render(*args)
        probs = self._cache.get(text)
        if probs is None:
            self.model_calls += 1
            probs = self._vote(text) if self.method == "vote" else self._score(text)
            self._cache[text] = probs
        return probs

    def _score(self, text: str) -> list[float]:
        scores = self.lm.score(text, self.choices)
        if len(scores) != len(self.choices) or not all(math.isfinite(s) for s in scores):
            raise EmptyAnswerError(
                f"{self.lm.name} gave the log-probabilities {scores} for the {len(self.choices)} choices "
                f"{self.choices} (prompt {text[-200:]!r})",
                hint="every choice needs a finite log-probability",
            )
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        return [w / total for w in weights]

    def _vote(self, text: str) -> list[float]:
        counts = [0] * len(self.choices)
        for seed in range(self.samples):
            answer = self.lm.complete(
                text, max_tokens=self.max_tokens, temperature=self.temperature, seed=seed, stop=["\n"]
            )
            counts[choose(answer, self.choices, model=self.lm.name, prompt=text)] += 1
        return [c / self.samples for c in counts]

    def forward(self, *inputs: Sequence[object] | torch.Tensor) -> torch.Tensor:
        """``[batch, len(choices)]`` probabilities, one row per example (inputs: one column per argument)."""
        columns = [x.tolist() if isinstance(x, torch.Tensor) else list(x) for x in inputs]
        rows = [self.distribution(*args) for args in zip(*columns)]
        return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), len(self.choices))

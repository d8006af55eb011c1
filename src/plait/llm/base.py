"""The one small interface every language-model backend implements.

A :class:`LanguageModel` does two things: :meth:`~LanguageModel.complete`
generates text (optionally constrained by a GBNF grammar, which llama.cpp
understands), and :meth:`~LanguageModel.score` gives the log-probability of each
of several completions of one prompt (the sum of their tokens' log-probabilities),
which is what LLM predicates need. :meth:`~LanguageModel.chat` generates an
assistant turn from chat messages, in the model's own chat format.

>>> class Echo(LanguageModel):
...     name = "echo"
...     def complete(self, prompt, *, max_tokens=64, temperature=0.0, seed=0, grammar=None, stop=()):
...         return prompt[-max_tokens:]
...     def score(self, prompt, completions):
...         return [-float(len(c)) for c in completions]
>>> Echo().score("Q: ", ["yes", "no"])
[-3.0, -2.0]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from .errors import EmptyAnswerError, OutOfDomainError

__all__ = ["LanguageModel", "Message", "choose"]

# A chat message as the OpenAI API and llama.cpp take it: {"role": "user", "content": "..."}
Message = Mapping[str, str]


class LanguageModel(ABC):
    """A text model: generation (:meth:`complete`, :meth:`chat`) and scoring of given completions (:meth:`score`).

    Implementations: :class:`plait.llm.LlamaCppModel` (a local GGUF model) and
    :class:`plait.llm.OpenAICompatibleModel` (an HTTP endpoint). ``name`` says
    which model it is in error messages.
    """

    name: str = "language model"

    @abstractmethod
    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] = (),
    ) -> str:
        """The text the model writes after ``prompt`` (without the prompt).

        ``temperature=0`` decodes greedily; ``seed`` makes sampling repeatable;
        ``grammar`` is a GBNF grammar the output must follow; generation ends at
        ``max_tokens`` tokens or at the first string of ``stop`` (not included).
        """

    @abstractmethod
    def score(self, prompt: str, completions: Sequence[str]) -> list[float]:
        """``log P(completion | prompt)`` for each completion: the sum of its tokens' log-probabilities."""

    def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] = (),
    ) -> str:
        """The assistant's answer to chat ``messages`` (the model's chat template applies).

        The default renders the messages with :meth:`chat_prompt` and calls
        :meth:`complete`; backends with a chat endpoint override it.
        """
        return self.complete(
            self.chat_prompt(messages),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            grammar=grammar,
            stop=stop,
        )

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        """The raw prompt text of ``messages`` followed by the start of the assistant's turn.

        The default is a plain transcript (``user: ...`` lines, then ``assistant:``);
        local models use the chat template stored in their GGUF file.
        """
        lines = [f"{m['role']}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nassistant:"


def choose(text: str, domain: Sequence[str], *, model: str = "the model", prompt: str | None = None) -> int:
    """The index of the domain value that a generated answer names (case and surrounding space ignored).

    The answer is trimmed and cut at its first line; a trailing full stop is
    ignored. An empty answer raises :class:`EmptyAnswerError`, any other text
    :class:`OutOfDomainError`: an answer is never guessed.

    >>> choose(" Positive.\\n", ["negative", "positive"])
    1
    """
    stripped = text.strip()
    if not stripped:
        raise EmptyAnswerError(
            f"{model} gave an empty answer" + (f" to {prompt!r}" if prompt else ""),
            hint="raise max_tokens, remove a stop string that matches at once, or check the prompt",
        )
    answer = stripped.splitlines()[0].strip().rstrip(".").strip().lower()
    for i, value in enumerate(domain):
        if answer == value.strip().lower():
            return i
    raise OutOfDomainError(
        f"{model} answered {stripped[:200]!r}, which is none of {list(domain)}"
        + (f" (prompt {prompt[-200:]!r})" if prompt else ""),
        hint="score the domain values instead of generating (LLMPredicate(method='score')), "
        "or constrain generation with a grammar",
    )

"""A language model behind any OpenAI-compatible HTTP endpoint (llama.cpp's server, vLLM, Ollama, ...).

Only the standard library is used (:mod:`urllib`). Generation goes to
``/v1/completions`` (:meth:`~OpenAICompatibleModel.complete`) or
``/v1/chat/completions`` (:meth:`~OpenAICompatibleModel.chat`); scoring asks
``/v1/completions`` to echo the prompt with its tokens' log-probabilities
(``echo=true, logprobs=0``) and adds those of the completion's tokens, found by
their character offsets. Grammars are sent as the ``grammar`` field, which
llama.cpp's server understands; other servers may ignore it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from .base import LanguageModel, Message
from .errors import EmptyAnswerError, ModelTimeoutError, ServerError

__all__ = ["OpenAICompatibleModel"]

# How much of an error response's body a message quotes: enough for the server's own explanation.
BODY_EXCERPT = 300


class OpenAICompatibleModel(LanguageModel):
    """A model served over HTTP with the OpenAI API.

    >>> lm = OpenAICompatibleModel("http://127.0.0.1:8080", "smollm2", timeout=30)
    >>> lm.name
    'smollm2 at http://127.0.0.1:8080'
    >>> # lm.complete("Q: 2+2=\\nA:", max_tokens=4); lm.score("The sky is", [" blue", " green"])
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        if self.base_url.endswith("/v1"):  # both "http://host:port" and "http://host:port/v1" are common
            self.base_url = self.base_url[: -len("/v1")]
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"{model} at {self.base_url}"

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            excerpt = e.read()[:BODY_EXCERPT].decode("utf-8", "replace")
            raise ServerError(
                f"{self.name} answered HTTP {e.code} ({e.reason}) to POST {path}: {excerpt}",
                hint="check the model name, the request's size and the server's log",
            ) from e
        except TimeoutError as e:
            raise ModelTimeoutError(
                f"{self.name} did not answer POST {path} within {self.timeout:g} s",
                hint="raise timeout=, ask for fewer tokens, or check that the server is running",
            ) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise ModelTimeoutError(
                    f"{self.name} did not answer POST {path} within {self.timeout:g} s",
                    hint="raise timeout=, ask for fewer tokens, or check that the server is running",
                ) from e
            raise ServerError(
                f"cannot reach {self.name} (POST {path}): {e.reason}",
                hint="check base_url and that the server is running",
            ) from e
        try:
            data = json.loads(raw)
        except ValueError as e:
            excerpt = raw[:BODY_EXCERPT].decode("utf-8", "replace")
            raise ServerError(f"{self.name} answered POST {path} with a body that is not JSON: {excerpt!r}") from e
        if not isinstance(data, dict) or not data.get("choices"):
            excerpt = json.dumps(data)[:BODY_EXCERPT]
            raise EmptyAnswerError(
                f"{self.name} answered POST {path} without choices: {excerpt}",
                hint="the endpoint must implement the OpenAI completions API",
            )
        return data

    def _options(
        self, max_tokens: int, temperature: float, seed: int, grammar: str | None, stop: Sequence[str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature, "seed": seed}
        if stop:
            body["stop"] = list(stop)
        if grammar is not None:
            body["grammar"] = grammar
        return body

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
        body = self._options(max_tokens, temperature, seed, grammar, stop) | {"prompt": prompt}
        data = self._post("/v1/completions", body)
        text = data["choices"][0].get("text")
        return self._text(text, "/v1/completions")

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
        body = self._options(max_tokens, temperature, seed, grammar, stop) | {"messages": [dict(m) for m in messages]}
        data = self._post("/v1/chat/completions", body)
        message = data["choices"][0].get("message") or {}
        return self._text(message.get("content"), "/v1/chat/completions")

    def _text(self, text: object, path: str) -> str:
        if not isinstance(text, str) or not text.strip():
            raise EmptyAnswerError(
                f"{self.name} gave an empty answer to POST {path}",
                hint="raise max_tokens, or check the prompt and the stop strings",
            )
        return text

    def score(self, prompt: str, completions: Sequence[str]) -> list[float]:
        out = []
        for completion in completions:
            body = {"model": self.model, "prompt": prompt + completion, "max_tokens": 0, "echo": True, "logprobs": 0}
            body["temperature"] = 0.0
            data = self._post("/v1/completions", body)
            lp = data["choices"][0].get("logprobs") or {}
            tokens, offsets = lp.get("token_logprobs"), lp.get("text_offset")
            if not tokens or not offsets or len(tokens) != len(offsets):
                raise EmptyAnswerError(
                    f"{self.name} returned no prompt log-probabilities for {completion!r}",
                    hint="scoring needs a server that echoes the prompt's logprobs (echo=true, logprobs=0), "
                    "e.g. vLLM; for a chat-only endpoint use LLMPredicate(method='vote')",
                )
            # the completion's tokens are those that start at or after the end of the prompt
            # (a token that straddles the boundary belongs to the prompt, as it does when scoring locally)
            total = 0.0
            n = 0
            for logprob, offset in zip(tokens, offsets):
                if offset >= len(prompt) and offset < len(prompt) + len(completion):
                    if logprob is None:
                        raise EmptyAnswerError(f"{self.name} returned a null log-probability inside {completion!r}")
                    total += float(logprob)
                    n += 1
            if n == 0 and completion:
                raise EmptyAnswerError(f"{self.name} returned no tokens for the completion {completion!r}")
            out.append(total)
        return out

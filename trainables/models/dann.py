"""DANN modules (Ganin et al., JMLR 2016): the gradient-reversal layer, the shallow network of
section 5.1.1 (two moons) and the deep network of Figure 4(a) (MNIST -> MNIST-M).

Each model has three parts: a feature extractor G_f, a label predictor G_y and a domain classifier
G_d that reads the features through a gradient-reversal layer. The domain classifier outputs one
logit: the log-odds that an input comes from the *target* domain.

Departures in the deep network (Figure 4(a) fixes the layers, not these details): convolutions
without padding (768 features, as fungtion/DANN's; tf-dann pads to 7x7x48 = 2,352); PyTorch's
default initialisation (tf-dann: truncated normal, std 0.1, biases 0.1); one logistic output for
the domain (as the paper; tf-dann uses a 2-way softmax); MNIST's grey digits repeated to three
channels (tf-dann binarises them first); the per-channel mean of both domains' training images is
subtracted (tf-dann's ``pixel_mean``; the paper says "mean subtraction").
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainables.dann_config import DANNConfig, MoonsConfig

MNIST_M_SHAPE = (3, 28, 28)  # network input: MNIST is repeated to 3 channels
NUM_CLASSES = 10


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coeff * grad, None


def grad_reverse(x: torch.Tensor, coeff: float) -> torch.Tensor:
    """The gradient-reversal layer R_lambda: identity forward, ``-coeff * grad`` backward (eq. 13-14).

    ``coeff = 0`` stops the gradient: what lies before the layer is not trained by what lies after.
    """
    return _GradReverse.apply(x, float(coeff))


class ShallowDANN(nn.Module):
    """One hidden layer of sigmoid units (G_f), a softmax label layer (G_y) and a logistic domain
    regressor on the hidden layer (G_d), as in Algorithm 1 and the authors' ``DANN.py``.

    Initialisation as ``DANN.py``: hidden and label weights uniform in +-sqrt(6 / (fan_in + fan_out)),
    biases and the domain regressor zero.
    """

    def __init__(self, hidden: int, in_features: int = 2, num_classes: int = 2):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.label = nn.Linear(hidden, num_classes)
        self.domain = nn.Linear(hidden, 1)
        for layer in (self.hidden, self.label):
            bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.domain.weight)
        nn.init.zeros_(self.domain.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.hidden(x))  # (B, hidden)

    def forward(self, x: torch.Tensor, coeff: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``(label logits (B, 2), domain logit (B,))``; ``coeff`` is the reversal's strength."""
        h = self.features(x)
        return self.label(h), self.domain(grad_reverse(h, coeff)).squeeze(1)


class DeepDANN(nn.Module):
    """Figure 4(a): conv 5x5-32, max-pool 2, conv 5x5-48, max-pool 2 (ReLU after each conv; no
    padding: 28 -> 24 -> 12 -> 8 -> 4, so 768 features); label predictor 100-100-10 and domain
    classifier 100-1, ReLU between.

    Inputs are images in [0, 1] with 1 or 3 channels (one is repeated to three, as MNIST is in the
    released code); ``pixel_mean`` (a buffer, saved with the weights) is subtracted first: the
    paper's mean subtraction, with the per-channel mean of both domains' training images.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("pixel_mean", torch.zeros(3, 1, 1))
        self.extractor = nn.Sequential(
            nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 12, 12)
            nn.Conv2d(32, 48, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 48, 4, 4)
            nn.Flatten())  # (B, 768)
        self.label = nn.Sequential(nn.Linear(768, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                                   nn.Linear(100, NUM_CLASSES))
        self.domain = nn.Sequential(nn.Linear(768, 100), nn.ReLU(), nn.Linear(100, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 768-d output of G_f for images ``(B, 1 or 3, 28, 28)`` in [0, 1]."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.extractor(x - self.pixel_mean)

    def forward(self, x: torch.Tensor, coeff: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``(label logits (B, 10), domain logit (B,))``; ``coeff`` is lambda_p."""
        f = self.features(x)
        return self.label(f), self.domain(grad_reverse(f, coeff)).squeeze(1)


def build_moons_model(cfg: MoonsConfig) -> ShallowDANN:
    return ShallowDANN(cfg.hidden)


def build_dann(cfg: DANNConfig) -> DeepDANN:
    return DeepDANN()

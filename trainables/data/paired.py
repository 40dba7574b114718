"""The cycle-consistent VAE family's data: labelled images in three splits, batched as pairs that
share the label (the forward cycle) and as independent or different-label pairs (the reverse cycle).

The label is the specified factor (MNIST: the digit; Sprites: the character). ``labels_shared``
says whether the three splits draw from one label set (MNIST) or from disjoint ones (Sprites: the
official split is by character), which decides how the probes are fitted (:meth:`probe_tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainables.data.arrays import ImageData, WrapsImages

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PairedData(WrapsImages):
    """Labelled images in three splits (uint8 ``(N, C, H, W)``, integer labels) and how their labels relate
    across splits; satisfies ``SplitData``."""

    images: ImageData
    labels_shared: bool = True  # False: each split has its own labels (Sprites' characters)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` of split ``name`` (train, val or test)."""
        return getattr(self.images, f"x_{name}"), getattr(self.images, f"y_{name}")

    def subset(self, train_size: int | None) -> "PairedData":
        """The first ``train_size`` training images (all for ``None``); validation and test are kept whole."""
        return PairedData(self.images.subset(train_size), self.labels_shared)

    def probe_tasks(self, n_fit: int, n_eval: int | None, seed: int) -> dict[str, "ProbeTask"]:
        """Which encodings each split's probe accuracy is fitted on and scored on.

        Shared labels (MNIST): one probe per latent, fitted on ``n_fit`` training images (a fixed
        seeded sample); ``train`` scores it on those same images (the paper's train accuracy), ``val``
        and ``test`` on the first ``n_eval`` images of their split (all for ``None``).
        Disjoint labels (Sprites): a probe per split, fitted on a seeded half of every label's images of
        that split (at most ``n_fit`` in all) and scored on the other half (at most ``n_eval``);
        ``train`` again scores on the fitted half.
        """
        rng = np.random.default_rng(seed)
        if self.labels_shared:
            fit = ("train", np.sort(rng.permutation(self.split_sizes()["train"])[:n_fit]))
            tasks = {"train": ProbeTask(fit, fit)}
            for split in ("val", "test"):
                tasks[split] = ProbeTask(fit, (split, np.arange(min(len(self.split(split)[1]), n_eval or 1 << 62))))
            return tasks
        tasks = {}
        for split in SPLITS:
            a, b = _halves(self.split(split)[1], rng)
            fit = (split, a[:n_fit])
            tasks[split] = ProbeTask(fit, fit if split == "train" else (split, b[:n_eval]))
        return tasks


@dataclass(frozen=True)
class ProbeTask:
    """A probe fitted on ``fit`` and scored on ``score``: each ``(split, indices into that split)``."""

    fit: tuple[str, np.ndarray]
    score: tuple[str, np.ndarray]


def _halves(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every label's indices shuffled and cut in two halves; both halves shuffled across labels."""
    first, second = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        cut = (len(idx) + 1) // 2
        first.append(idx[:cut])
        second.append(idx[cut:])
    return rng.permutation(np.concatenate(first)), rng.permutation(np.concatenate(second))


class PairSampler:
    """Draws partners by label on one device: ``same(idx)`` an image of the same label (possibly itself,
    as the release's ``random.choice`` over the class allows), ``different(idx)`` one of another label."""

    def __init__(self, labels: torch.Tensor):
        classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
        self.n_classes = len(classes)
        self.class_of = inverse  # (N,) position of each image's label among the classes
        self.order = torch.argsort(inverse, stable=True)  # image indices grouped by class
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts

    def _member(self, cls: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(cls.shape, generator=generator, device=cls.device)
        offset = (u * self.counts[cls]).long().clamp_max(self.counts[cls] - 1)
        return self.order[self.starts[cls] + offset]

    def same(self, idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self._member(self.class_of[idx], generator)

    def different(self, idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.n_classes < 2:
            raise ValueError("different-label pairs need at least two labels")
        shift = torch.randint(1, self.n_classes, idx.shape, generator=generator, device=idx.device)
        return self._member((self.class_of[idx] + shift) % self.n_classes, generator)


def epoch_batches(n: int, batch_size: int, sampler: PairSampler, reverse_pairs: str,
                  generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """One epoch's index batches ``(forward_1, forward_2, reverse_1, reverse_2)``, each (n_batches, B).

    ``forward_1`` is a permutation of the training images cut into full batches (the release drops the
    last partial one), ``forward_2`` a same-label partner for each; the reverse cycle takes two further
    independent permutations (``reverse_pairs="random"``, the release's two extra loader batches) or
    one permutation and a different-label partner for each (``"different"``).
    """
    n_batches = n // batch_size
    if n_batches < 1:
        raise ValueError(f"{n} training images make no batch of {batch_size}")
    device = sampler.order.device
    cut = n_batches * batch_size

    def perm() -> torch.Tensor:
        return torch.randperm(n, generator=generator, device=device)[:cut]

    f1 = perm()
    f2 = sampler.same(f1, generator)
    r1 = perm()
    r2 = perm() if reverse_pairs == "random" else sampler.different(r1, generator)
    return tuple(t.view(n_batches, batch_size) for t in (f1, f2, r1, r2))

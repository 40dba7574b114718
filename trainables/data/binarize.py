"""Stochastic binarisation of grey-level images, so that a Bernoulli decoder's likelihood is a probability.

The ``binarize`` data option takes one of :data:`BINARIZE_MODES`:

- ``none``: the grey levels as they are (a Bernoulli cross-entropy on them is not a log-likelihood).
- ``dynamic``: every training image is drawn afresh each epoch, pixel ~ Bernoulli(intensity / 255), as in
  Burda et al.'s IWAE experiments; the draw is a function of (trial seed, epoch) only, so a trial resumed
  from a checkpoint repeats its next epoch's draw exactly.
- ``static``: the training images drawn once with a fixed seed (the same binary training set in every
  trial and every epoch: the "fixed binarisation" benchmark style, which overfits more).

Validation and test images are binarised once, with a fixed seed per split that no trial seed changes,
for both ``dynamic`` and ``static``: every trial of every study is scored on the same binary images, so
their numbers compare.

The functions are pure: uint8 (N, C, H, W) in, uint8 (N, C, H, W) out, with values {0, 255}. uint8 (not
float {0, 1}) because the rest of the data path keeps images as uint8 and converts each batch with
``trainables.images.uint8_to_float``, which maps {0, 255} to exactly {0.0, 1.0}; a binarised split then
costs one byte a pixel and travels through the same code as a grey one. The uniforms are drawn on the
CPU, in fixed slices of rows, whatever the images' device, so a draw is the same on a GPU and a CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from trainables.vae_config import BINARIZE_MODES

SLICE_ROWS = 4096  # images per draw: bounds the float32 uniforms to 4096 x 784 x 4 B = 13 MB for MNIST
_TRAIN, _STATIC = 1, 2  # seed-sequence tags: each stream of draws gets its own
_EVAL_TAGS = {"val": 3, "test": 4}
_FIXED_SEED = 20_160_502  # the eval and static draws' seed (IWAE at ICLR, 2 May 2016); never a trial's seed


def check_mode(mode: str) -> None:
    """Raise ValueError naming the valid modes when ``mode`` is not one of them."""
    if mode not in BINARIZE_MODES:
        raise ValueError(f"binarize must be one of {', '.join(BINARIZE_MODES)}; got {mode!r}")


def stream_seed(*parts: int) -> int:
    """A 64-bit torch seed mixed from non-negative integers (numpy's SeedSequence): nearby (seed, epoch)
    pairs give unrelated streams, unlike ``seed * c + epoch``."""
    if any(p < 0 for p in parts):
        raise ValueError(f"seed parts must be >= 0, got {parts}")
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0])


def bernoulli_draw(images: torch.Tensor, seed: int) -> torch.Tensor:
    """Each pixel 255 with probability intensity / 255, else 0, from a generator seeded with ``seed``.

    Args:
        images: uint8 (N, C, H, W), any device.
        seed: the torch generator's seed (see :func:`stream_seed`).
    Returns:
        uint8 (N, C, H, W) in {0, 255} on ``images``' device; 0 stays 0 and 255 stays 255.
    """
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(images.shape, dtype=torch.uint8)
    for i in range(0, len(images), SLICE_ROWS):
        grey = images[i:i + SLICE_ROWS].cpu()
        u = torch.rand(grey.shape, generator=gen)  # [0, 1): u < 1 always, u < 0 never
        out[i:i + SLICE_ROWS] = (u < grey.float().div_(255.0)).to(torch.uint8).mul_(255)
    return out.to(images.device)


def binarize_train(images: torch.Tensor, mode: str, seed: int, epoch: int) -> torch.Tensor:
    """The training images an epoch sees.

    Args:
        images: uint8 (N, C, H, W) grey levels.
        mode: one of :data:`BINARIZE_MODES`.
        seed: the trial's seed (``dynamic`` only).
        epoch: the epoch, from 1 (``dynamic`` only).
    Returns:
        ``images`` itself for ``none``; else uint8 {0, 255} of the same shape.
    """
    check_mode(mode)
    if mode == "none":
        return images
    if mode == "static":
        return bernoulli_draw(images, stream_seed(_STATIC, _FIXED_SEED))
    return bernoulli_draw(images, stream_seed(_TRAIN, seed, epoch))


def binarize_eval(images: torch.Tensor, mode: str, split: str) -> torch.Tensor:
    """A validation or test split, binarised once with that split's fixed seed (the same in every trial).

    Args:
        images: uint8 (N, C, H, W) grey levels.
        mode: one of :data:`BINARIZE_MODES`; ``dynamic`` and ``static`` both give the fixed draw.
        split: ``val`` or ``test``.
    Returns:
        ``images`` itself for ``none``; else uint8 {0, 255} of the same shape.
    """
    check_mode(mode)
    if split not in _EVAL_TAGS:
        raise ValueError(f"split must be one of {sorted(_EVAL_TAGS)}, got {split!r}")
    if mode == "none":
        return images
    return bernoulli_draw(images, stream_seed(_EVAL_TAGS[split], _FIXED_SEED))
